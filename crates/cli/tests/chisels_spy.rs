//! The spy, echo and HTTP chisels (`spy_users`, `spy_file`, `spy_port`,
//! `spy_ip`, `echo_fds`, `stdin`, `stdout`, `stderr`, `httplog`, `httptop`,
//! `list_login_shells`, `proc_exec_time`) against sysdig 0.29.3 on every
//! capture, byte for byte; plus a live ground truth for `spy_file` and
//! `echo_fds` (root with BTF; elsewhere the live test says loudly it skipped).

mod common;

use common::{can_capture, captures, one_at_a_time, sysdig_available, Mismatch, Osprey};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// `osprey`/`sysdig -r FILE [FLAGS] -c NAME [ARGS]` with TZ=UTC.
fn run(bin: &str, file: &Path, flags: &[&str], chisel: &str, args: Option<&str>) -> Output {
    let mut c = Command::new(bin);
    c.env("TZ", "UTC").arg("-r").arg(file).args(flags);
    c.args(["-c", chisel]);
    if let Some(a) = args {
        c.arg(a);
    }
    c.output().expect("run")
}

/// How a case's outputs are compared.
#[derive(Clone, Copy, PartialEq)]
enum Cmp {
    /// Byte for byte.
    Exact,
    /// As sorted lines: sysdig orders equal rows by LuaJIT's table hashing,
    /// which changes from run to run.
    Sorted,
}

/// A capture whose output has a known difference outside the chisel, and
/// the lines it affects (left out of the comparison).
type Known<'a> = (&'a str, fn(&[u8]) -> bool);

/// One comparison: sysdig flags, chisel, its argument string, how to compare.
type Case<'a> = (&'a [&'a str], &'a str, Option<&'a str>, Cmp);

/// Drops the lines `skip` selects (a known difference outside the chisel).
fn without(out: &[u8], skip: fn(&[u8]) -> bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(out.len());
    for l in out.split_inclusive(|&c| c == b'\n') {
        if !skip(l) {
            v.extend_from_slice(l);
        }
    }
    v
}

fn sorted(out: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = out.split_inclusive(|&c| c == b'\n').collect();
    lines.sort_unstable();
    lines.concat()
}

/// Compares `-c NAME ARGS` (with `flags`) on every capture sysdig reads;
/// returns the mismatches and how many captures had more output than the
/// least any capture gave (the chisel's fixed header or trailer).
fn compare(
    flags: &[&str],
    chisel: &str,
    args: Option<&str>,
    cmp: Cmp,
    known: &[Known<'_>],
) -> (Vec<String>, usize) {
    let mut bad = Vec::new();
    let mut counts = Vec::new();
    for cap in captures() {
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let want = run("sysdig", &cap, flags, chisel, args);
        if !want.status.success() {
            // sysdig cannot read this file (libs_curl_google_comments.scap).
            continue;
        }
        let got = run(env!("CARGO_BIN_EXE_osprey"), &cap, flags, chisel, args);
        let (mut w, mut g) = (want.stdout, got.stdout);
        if let Some((_, skip)) = known.iter().find(|(c, _)| *c == name) {
            w = without(&w, *skip);
            g = without(&g, *skip);
        }
        if cmp == Cmp::Sorted {
            w = sorted(&w);
            g = sorted(&g);
        }
        counts.push(w.iter().filter(|&&c| c == b'\n').count());
        let mut all = vec![chisel];
        all.extend(args);
        all.extend(flags);
        if let Some(m) = Mismatch::check(name, &all, &w, &g) {
            bad.push(m.to_string());
        }
        if !got.status.success() {
            bad.push(format!(
                "{name} {all:?}: osprey failed: {}",
                String::from_utf8_lossy(&got.stderr)
            ));
        }
    }
    let least = counts.iter().copied().min().unwrap_or(0);
    (bad, counts.iter().filter(|&&n| n > least).count())
}

/// Runs the cases and fails with every mismatch.
fn check(cases: &[Case<'_>], known: &[Known<'_>]) {
    if !sysdig_available() || captures().is_empty() {
        return;
    }
    let mut bad = Vec::new();
    for &(flags, chisel, args, cmp) in cases {
        let (b, n) = compare(flags, chisel, args, cmp, known);
        bad.extend(b);
        assert!(
            n > 0,
            "{chisel} {args:?} {flags:?}: no capture has output to compare"
        );
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// On inspect_502Error.scap sysdig names haproxy's syslog `sendmsg` socket
/// `192.168.128.156:55441->145.216.3.255:514` where osprey's state says
/// `127.0.0.1:55441->127.0.0.1:514` (the same difference shows in plain
/// `-p %fd.name`, outside the chisels): those header lines are left out.
fn haproxy_syslog(l: &[u8]) -> bool {
    l.ends_with(b":514 (haproxy)\n")
}

#[test]
fn io_echo_chisels_match_sysdig() {
    const NONE: &[&str] = &[];
    check(
        &[
            (NONE, "stdin", None, Cmp::Exact),
            (NONE, "stdout", None, Cmp::Exact),
            (&["-X"], "stdout", None, Cmp::Exact),
            (NONE, "stderr", None, Cmp::Exact),
            (&["-pc"], "stderr", None, Cmp::Exact),
            (&["-pc"], "stderr", Some("disable_color"), Cmp::Exact),
            (NONE, "echo_fds", None, Cmp::Exact),
            (NONE, "echo_fds", Some("disable_color"), Cmp::Exact),
            (&["-pc"], "echo_fds", None, Cmp::Exact),
            (&["-x"], "echo_fds", None, Cmp::Exact),
        ],
        &[("inspect_502Error.scap", haproxy_syslog)],
    );
}

#[test]
fn spy_chisels_match_sysdig() {
    const NONE: &[&str] = &[];
    check(
        &[
            (NONE, "spy_file", None, Cmp::Exact),
            (NONE, "spy_file", Some("R"), Cmp::Exact),
            (NONE, "spy_file", Some("W"), Cmp::Exact),
            (
                NONE,
                "spy_file",
                Some("RW /lib/x86_64-linux-gnu/libc.so.6"),
                Cmp::Exact,
            ),
            (&["-X"], "spy_file", None, Cmp::Exact),
            (NONE, "spy_port", Some("80"), Cmp::Exact),
            (NONE, "spy_port", Some("80 disable_colors"), Cmp::Exact),
            (&["-A"], "spy_port", Some("80"), Cmp::Exact),
            (NONE, "spy_ip", Some("192.168.0.3"), Cmp::Exact),
            (
                NONE,
                "spy_ip",
                Some("192.168.0.2 disable_colors"),
                Cmp::Exact,
            ),
            (NONE, "spy_users", None, Cmp::Exact),
            (NONE, "spy_users", Some("0 disable_color"), Cmp::Exact),
            (&["-pc"], "spy_users", None, Cmp::Exact),
            (NONE, "list_login_shells", None, Cmp::Exact),
            (NONE, "list_login_shells", Some("curl"), Cmp::Exact),
            (&["-pc"], "list_login_shells", Some("* http"), Cmp::Exact),
        ],
        &[],
    );
}

#[test]
fn http_chisels_match_sysdig() {
    const NONE: &[&str] = &[];
    check(
        &[
            (NONE, "httplog", None, Cmp::Exact),
            (&["-pc"], "httplog", None, Cmp::Exact),
            (NONE, "httptop", None, Cmp::Sorted),
            (NONE, "httptop", Some("time"), Cmp::Sorted),
            (NONE, "httptop", Some("bytes"), Cmp::Sorted),
            (&["-pc"], "httptop", None, Cmp::Sorted),
        ],
        &[],
    );
}

/// proc_exec_time, on the captures where osprey's `proc.duration` agrees with
/// sysdig's: on inspect_502Error.scap and libs_curl_google.scap the exiting
/// threads were cloned during the capture, and sysdig measures from the
/// thread's own clone while osprey measures from its process's main thread
/// (unknown there), so osprey prints no row.
#[test]
fn proc_exec_time_matches_sysdig() {
    const NONE: &[&str] = &[];
    fn all(_: &[u8]) -> bool {
        true
    }
    check(
        &[
            (NONE, "proc_exec_time", None, Cmp::Exact),
            (NONE, "proc_exec_time", Some("disable_colors"), Cmp::Exact),
            (&["-pc"], "proc_exec_time", None, Cmp::Exact),
        ],
        &[
            ("inspect_502Error.scap", all),
            ("libs_curl_google.scap", all),
        ],
    );
}

#[test]
fn httptop_rejects_an_unknown_ranking() {
    let out = common::osprey_args(&["-r", "/dev/null", "-c", "httptop", "calls"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Invalid argument! Valid options: ncalls, bytes, time"));
}

/// What the skip message calls the live tests.
const WHAT: &str = "live spy chisels";

/// Runs `osprey ARGS` live while a child writes `payload` to a new file in a
/// temp dir (again each round, until `seen` finds it in the output or 40 s
/// pass); returns the output and the file's path.
fn live(args: &[&str], payload: &str, seen: impl Fn(&str, &str) -> bool) -> (String, String) {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("osprey.out");
    let osprey = Osprey::start(args, &out_path);
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut text;
    let mut target;
    let mut i = 0;
    loop {
        target = dir.path().join(format!("spy{i}.txt")).display().to_string();
        i += 1;
        let status = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("printf '%s' '{payload}' > {target}"))
            .status()
            .expect("child");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(1500));
        text = String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()).into_owned();
        if seen(&text, &target) || Instant::now() > deadline {
            break;
        }
    }
    osprey.stop();
    (text, target)
}

/// The payload the child writes: its length shows as `{N}B`.
const PAYLOAD: &str = "osprey-spy-ground-truth-0123456789";

#[test]
fn live_spy_file_shows_the_childs_write() {
    if !can_capture(WHAT) {
        return;
    }
    let n = PAYLOAD.len();
    let row = |text: &str, target: &str| {
        let head = format!(") W {n}B {target} ");
        let lines: Vec<&str> = text.lines().collect();
        lines
            .windows(2)
            .any(|w| w[0].contains(&head) && w[0].contains("sh(") && w[1] == PAYLOAD)
    };
    let (text, target) = live(&["-c", "spy_file", "W"], PAYLOAD, row);
    assert!(
        row(&text, &target),
        "no write of {n}B by sh to {target} followed by its data; got:\n{}",
        text.lines()
            .filter(|l| l.contains("spy"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn live_echo_fds_shows_the_childs_write() {
    if !can_capture(WHAT) {
        return;
    }
    let n = PAYLOAD.len();
    let row = |text: &str, target: &str| {
        let head = format!("\x1b[34m------ Write {n}B to  \x1b[34m {target} (sh)");
        let lines: Vec<&str> = text.lines().collect();
        lines.windows(2).any(|w| w[0] == head && w[1] == PAYLOAD)
    };
    let (text, target) = live(&["fd.type=file", "-c", "echo_fds"], PAYLOAD, row);
    assert!(
        row(&text, &target),
        "no echo_fds write of {n}B to {target} with its data; got:\n{}",
        text.lines()
            .filter(|l| l.contains("spy"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
