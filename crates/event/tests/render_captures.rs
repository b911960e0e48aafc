//! Renders `evt.info` for every event of the shared captures and compares it
//! with `sysdig -r FILE -p "%evt.num %evt.info"` (Debian sysdig 0.29.3) for the
//! events whose parameters do not depend on thread or fd state.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use osprey_event::{render_info, NoState, ParamType, RenderOptions};
use osprey_scap::Reader;

fn fixture_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures"
    ));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("captures {} missing under CI", dir.display());
    }
    eprintln!("SKIPPED: captures {} not available", dir.display());
    None
}

/// sysdig's `evt.num -> evt.info` for one capture, `None` without sysdig.
fn sysdig_info(path: &PathBuf) -> Option<HashMap<u64, Vec<u8>>> {
    let out = Command::new("sysdig")
        .env("TZ", "UTC")
        .arg("-r")
        .arg(path)
        .arg("-p")
        .arg("%evt.num %evt.info")
        .output()
        .ok()?;
    let mut m = HashMap::new();
    for line in out.stdout.split(|&c| c == b'\n') {
        let Some(sp) = line.iter().position(|&c| c == b' ') else {
            continue;
        };
        let Some(num) = std::str::from_utf8(&line[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
        else {
            continue;
        };
        m.insert(num, line[sp + 1..].to_vec());
    }
    Some(m)
}

fn state_dependent(ev: &osprey_event::EventRef<'_>) -> bool {
    let Some(info) = ev.info() else { return true };
    info.params
        .iter()
        .enumerate()
        .take(ev.nparams())
        .any(|(i, p)| {
            let b = ev.param(i).unwrap_or_default();
            match p.ty {
                ParamType::Fd
                | ParamType::Fd32
                | ParamType::Pid
                | ParamType::Pid32
                | ParamType::Uid
                | ParamType::Gid
                | ParamType::FdList => true,
                ParamType::FsPath | ParamType::FsRelPath => {
                    b.first().is_some_and(|&c| c != b'/' && c != 0)
                }
                _ => false,
            }
        })
}

#[test]
fn evt_info_matches_sysdig() {
    let Some(dir) = fixture_dir() else { return };
    if Command::new("sysdig").arg("--version").output().is_err() {
        eprintln!("SKIPPED: sysdig not installed");
        return;
    }
    let opts = RenderOptions::default();
    let mut compared = 0usize;
    let mut failures = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    files.sort();
    for f in files {
        let Some(want) = sysdig_info(&f) else {
            continue;
        };
        let Ok(mut r) = Reader::open(&f) else {
            continue;
        };
        let mut num = 0u64;
        let mut out = Vec::new();
        while let Ok(Some(ev)) = r.next_event() {
            // sysdig 0.29.3 knows 336 event types and skips (does not number) newer ones
            if ev.etype() >= 336 {
                continue;
            }
            num += 1;
            if ev.is_state_only() || state_dependent(&ev) {
                continue;
            }
            let Some(w) = want.get(&num) else { continue };
            out.clear();
            render_info(&mut out, &ev, &NoState, &opts);
            compared += 1;
            // sysdig's output is split into lines: compare up to an embedded newline
            if let Some(nl) = out.iter().position(|&c| c == b'\n') {
                out.truncate(nl);
            }
            if &out != w && failures.len() < 60 {
                failures.push(format!(
                    "{} #{num} {}:\n  ours:   {}\n  sysdig: {}",
                    f.file_name().unwrap().to_string_lossy(),
                    ev.info().map_or("?", |i| i.name),
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(w)
                ));
            }
        }
    }
    eprintln!("compared {compared} events");
    assert!(compared > 1000, "only {compared} events compared");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
