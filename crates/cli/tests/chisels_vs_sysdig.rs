//! Native chisels against sysdig 0.29.3 on every capture: `osprey -r F -c X`
//! and `sysdig -r F -c X` must print the same table.
//!
//! sysdig sorts rows with Lua's unstable `table.sort` over a hash table, so
//! rows of equal value come in no fixed order. The comparison is exact for
//! the header, for the sequence of values and for the set of rows of each
//! value; only which of several equal rows survive a top-N cut is free.

mod common;

use common::{captures, osprey_args, sysdig_available};
use std::process::Command;

/// Chisel, its argument words, its top-N (0: all), and whether rows are
/// `key<TAB>count` (fdcount_by) rather than a table.
const CHISELS: &[(&str, &[&str], usize, bool)] = &[
    ("topprocs_cpu", &[], 10, false),
    ("topcontainers_cpu", &[], 10, false),
    ("topprocs_net", &[], 100, false),
    ("topprocs_file", &[], 10, false),
    ("topprocs_errors", &[], 100, false),
    ("topfiles_bytes", &[], 10, false),
    ("topfiles_time", &[], 10, false),
    ("topfiles_errors", &[], 100, false),
    ("topscalls", &[], 30, false),
    ("topscalls_time", &[], 30, false),
    ("topconns", &[], 30, false),
    ("topports_server", &[], 100, false),
    ("topcontainers_net", &[], 100, false),
    ("topcontainers_file", &[], 10, false),
    ("topcontainers_error", &[], 100, false),
    ("fdbytes_by", &["fd.name"], 30, false),
    ("fdbytes_by", &["proc.name"], 30, false),
    ("fdtime_by", &["fd.name"], 10, false),
    ("fdtime_by", &["proc.name"], 10, false),
    ("fdcount_by", &["proc.name"], 0, true),
    ("fdcount_by", &["fd.type"], 0, true),
];

/// Known differences that come from below the chisels (capture, chisel, key
/// argument, why). Each is checked to still differ, so a fix shows up here.
const KNOWN: &[(&str, &str, &str, &str)] = &[
    (
        "inspect_502Error.scap",
        "topconns",
        "",
        "state: fd.name of a UDP socket sending to 145.216.3.255:514 shows 127.0.0.1 on both ends",
    ),
    ("inspect_502Error.scap", "fdbytes_by", "fd.name", "same"),
    ("inspect_502Error.scap", "fdtime_by", "fd.name", "same"),
];

fn run(bin: &str, file: &str, chisel: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin)
        .env("TZ", "UTC")
        .args(["-r", file, "-c", chisel])
        .args(args)
        .output()
        .expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Rows grouped by value: (value, sorted rows).
fn groups(rows: &[&str], tab: bool) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for r in rows {
        let v = if tab {
            r.rsplit('\t').next().unwrap_or("").to_owned()
        } else {
            r.get(..20).unwrap_or(r).to_owned()
        };
        match out.last_mut() {
            Some((last, g)) if *last == v => g.push((*r).to_owned()),
            _ => out.push((v, vec![(*r).to_owned()])),
        }
    }
    for (_, g) in &mut out {
        g.sort();
    }
    out
}

/// Whether two outputs are the same table up to the order of equal rows.
fn same_table(want: &str, got: &str, top: usize, tab: bool) -> Result<(), String> {
    let w: Vec<&str> = want.split('\n').collect();
    let g: Vec<&str> = got.split('\n').collect();
    let skip = if tab { 0 } else { 2 };
    if w.get(..skip) != g.get(..skip) {
        return Err(format!(
            "header differs: {:?} vs {:?}",
            w.get(..skip),
            g.get(..skip)
        ));
    }
    if w.len() != g.len() {
        return Err(format!("{} lines vs {}", w.len(), g.len()));
    }
    let rows = |v: &[&str]| -> Vec<String> { v.iter().map(|s| (*s).to_owned()).collect() };
    let (wr, gr) = (rows(&w[skip..]), rows(&g[skip..]));
    let wr: Vec<&str> = wr.iter().map(String::as_str).collect();
    let gr: Vec<&str> = gr.iter().map(String::as_str).collect();
    let (wg, gg) = (groups(&wr, tab), groups(&gr, tab));
    let shape = |v: &[(String, Vec<String>)]| -> Vec<(String, usize)> {
        v.iter().map(|(k, g)| (k.clone(), g.len())).collect()
    };
    if shape(&wg) != shape(&gg) {
        return Err("values differ".to_owned());
    }
    let cut = top > 0 && wr.iter().filter(|r| !r.is_empty()).count() >= top;
    // The last group is the trailing empty line; the one before may be cut.
    let n = wg.len();
    for (i, ((_, a), (_, b))) in wg.iter().zip(&gg).enumerate() {
        if a != b && !(cut && i + 2 >= n) {
            return Err(format!("rows differ: {a:?} vs {b:?}"));
        }
    }
    Ok(())
}

#[test]
fn native_chisels_match_sysdig() {
    if !sysdig_available() {
        return;
    }
    let osprey = env!("CARGO_BIN_EXE_osprey");
    let mut failures = Vec::new();
    let mut compared = 0;
    for cap in captures() {
        let file = cap.to_str().expect("utf-8 path");
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or("");
        for &(chisel, args, top, tab) in CHISELS {
            let (ok, want) = run("sysdig", file, chisel, args);
            if !ok {
                // sysdig cannot read this capture (truncated files).
                continue;
            }
            let (_, got) = run(osprey, file, chisel, args);
            let res = same_table(&want, &got, top, tab);
            let key = args.first().copied().unwrap_or("");
            let known = KNOWN
                .iter()
                .find(|k| k.0 == name && k.1 == chisel && k.2 == key);
            compared += 1;
            match (res, known) {
                (Ok(()), None) => {}
                (Err(e), None) => failures.push(format!("{name} -c {chisel} {args:?}: {e}")),
                (Err(_), Some(k)) => eprintln!("known difference: {name} -c {chisel}: {}", k.3),
                (Ok(()), Some(_)) => failures.push(format!(
                    "{name} -c {chisel} {args:?} now matches: remove it from KNOWN"
                )),
            }
        }
    }
    assert!(compared > 0, "nothing compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_large_capture_matches_byte_for_byte() {
    if !sysdig_available() {
        return;
    }
    let Some(cap) = common::shared("captures/inspect_502Error.scap") else {
        return;
    };
    let file = cap.to_str().expect("utf-8 path");
    // No ties in these tables: the outputs must be identical.
    for (chisel, args) in [
        ("topcontainers_cpu", &[][..]),
        ("topfiles_bytes", &[]),
        ("topfiles_errors", &[]),
        ("topprocs_net", &[]),
        ("topports_server", &[]),
        ("topcontainers_net", &[]),
        ("topcontainers_error", &[]),
        ("fdcount_by", &["proc.name"]),
        ("fdbytes_by", &["proc.name"]),
        ("fdtime_by", &["proc.name"]),
    ] {
        let (_, want) = run("sysdig", file, chisel, args);
        let (_, got) = run(env!("CARGO_BIN_EXE_osprey"), file, chisel, args);
        assert_eq!(got, want, "-c {chisel} {args:?}");
    }
}

#[test]
fn container_columns_with_pc() {
    if !sysdig_available() {
        return;
    }
    let Some(cap) = common::shared("captures/inspect_502Error.scap") else {
        return;
    };
    let file = cap.to_str().expect("utf-8 path");
    for chisel in [
        "topprocs_net",
        "topprocs_cpu",
        "topfiles_bytes",
        "topports_server",
    ] {
        let args = ["-r", file, "-pc", "-c", chisel];
        let want = Command::new("sysdig")
            .env("TZ", "UTC")
            .args(args)
            .output()
            .expect("sysdig");
        let got = osprey_args(&args);
        let (want, got) = (
            String::from_utf8_lossy(&want.stdout).into_owned(),
            String::from_utf8_lossy(&got.stdout).into_owned(),
        );
        assert!(want.contains("container.name"), "{want}");
        same_table(&want, &got, 100, false).unwrap_or_else(|e| panic!("-pc -c {chisel}: {e}"));
    }
}

#[test]
fn argument_errors_match_sysdig() {
    if !sysdig_available() {
        return;
    }
    let Some(cap) = common::shared("captures/libs_sample.scap") else {
        return;
    };
    let file = cap.to_str().expect("utf-8 path");
    for args in [
        &["-c", "fdbytes_by"][..],
        &["-c", "fdbytes_by", "a b"],
        &["-c", "fdbytes_by", "'a b"],
        &["-c", "nosuch_chisel"],
        &["-i", "nosuch_chisel"],
    ] {
        let want = Command::new("sysdig")
            .env("TZ", "UTC")
            .args(["-r", file])
            .args(args)
            .output()
            .expect("sysdig");
        let got = osprey_args(&[&["-r", file][..], args].concat());
        assert_eq!(got.status.code(), want.status.code(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&got.stderr).trim_end(),
            String::from_utf8_lossy(&want.stderr).trim_end(),
            "{args:?}"
        );
    }
}

#[test]
fn a_filter_after_the_chisel_restricts_it() {
    if !sysdig_available() {
        return;
    }
    let Some(cap) = common::shared("captures/libs_sample.scap") else {
        return;
    };
    let file = cap.to_str().expect("utf-8 path");
    // fdbytes_by takes "proc.name" as its key; the rest is the filter.
    let args = ["proc.name", "proc.name!=multipathd"];
    let (_, want) = run("sysdig", file, "fdbytes_by", &args);
    let (_, got) = run(env!("CARGO_BIN_EXE_osprey"), file, "fdbytes_by", &args);
    assert!(want.lines().count() > 2, "sysdig printed no rows");
    same_table(&want, &got, 30, false).unwrap();
    let (_, unfiltered) = run(env!("CARGO_BIN_EXE_osprey"), file, "fdbytes_by", &args[..1]);
    assert_ne!(got, unfiltered, "the filter had no effect");
}

#[test]
fn several_chisels_each_see_every_event() {
    let Some(cap) = common::shared("captures/libs_sample.scap") else {
        return;
    };
    let file = cap.to_str().expect("utf-8 path");
    let both = osprey_args(&["-r", file, "-c", "topscalls", "-c", "topfiles_bytes"]);
    let one = osprey_args(&["-r", file, "-c", "topscalls"]);
    let two = osprey_args(&["-r", file, "-c", "topfiles_bytes"]);
    assert!(both.status.success());
    let mut want = one.stdout.clone();
    want.extend_from_slice(&two.stdout);
    assert_eq!(
        String::from_utf8_lossy(&both.stdout),
        String::from_utf8_lossy(&want)
    );
}

#[test]
fn chisel_info_and_list_layout() {
    let out = osprey_args(&["-i", "topscalls"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("\nCategory: Performance\n---------------------\ntopscalls       "),
        "{text}"
    );
    assert!(text.ends_with("Args:\n(None)\n"), "{text}");
    let out = osprey_args(&["-cl"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\nCategory: I/O\n-------------\n"), "{text}");
    assert!(
        text.contains("\ntopcontainers_error\n                "),
        "{text}"
    );
    assert!(
        text.ends_with("\nUse the -i flag to get detailed information about a specific chisel\n")
    );
}
