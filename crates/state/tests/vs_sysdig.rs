//! Compares the state this crate keeps with sysdig 0.29.3's, event by event, on
//! every capture sysdig can read: the process, thread, fd and user fields of each
//! event must print the same.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use osprey_event::{Direction, EventRef};
use osprey_scap::Reader;
use osprey_state::{render_tuple, State};

const FORMAT: &str = "*%evt.num %proc.name %proc.pid %thread.tid %proc.ppid %proc.cwd %fd.num %fd.name %fd.type %user.name";

/// The one known difference: haproxy's fd 8 in inspect_502Error.scap. The
/// capture's fd table lists this UDP socket as a server bound to
/// 0.0.0.0:55441; after sendmsg sysdig 0.29.3 names it
/// 192.168.128.156:55441->145.216.3.255:514, addresses that appear nowhere in
/// the capture (it reads the socket's address union through the wrong member).
/// We name it from the tuple, with the unspecified source filled in from the
/// interfaces: 127.0.0.1:55441->127.0.0.1:514. A line is accepted only when
/// this rewrite of sysdig's line gives exactly ours.
fn known_rewrite(capture: &str, sysdig_line: &str) -> Option<String> {
    (capture == "inspect_502Error.scap").then(|| {
        sysdig_line
            .replace("192.168.128.156", "127.0.0.1")
            .replace("145.216.3.255", "127.0.0.1")
    })
}

/// The capture sysdig 0.29.3 cannot read (pcapng options in the section header).
const SYSDIG_CANNOT_READ: &str = "libs_curl_google_comments.scap";

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn captures() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures"
    ));
    match std::fs::read_dir(&dir) {
        Ok(rd) => {
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "scap"))
                .filter(|p| !p.ends_with(SYSDIG_CANNOT_READ))
                .collect();
            v.sort();
            Some(v)
        }
        Err(e) if ci() => panic!("captures {} missing under CI: {e}", dir.display()),
        Err(e) => {
            eprintln!("SKIPPED: captures {} not available ({e})", dir.display());
            None
        }
    }
}

fn have_sysdig() -> bool {
    match Command::new("sysdig").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        r => {
            assert!(!ci(), "sysdig is required under CI ({r:?})");
            eprintln!("SKIPPED: sysdig is not installed; state comparison not run");
            false
        }
    }
}

/// sysdig's lines keyed by evt.num.
fn sysdig_lines(file: &Path) -> HashMap<u64, String> {
    let out = Command::new("sysdig")
        .env("TZ", "UTC")
        .arg("-r")
        .arg(file)
        .arg("-p")
        .arg(FORMAT)
        .output()
        .expect("sysdig runs");
    assert!(out.status.success(), "sysdig failed on {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let num = l.split(' ').next()?.parse().ok()?;
            Some((num, l.to_owned()))
        })
        .collect()
}

fn na_or(out: &mut Vec<u8>, v: Option<&[u8]>) {
    out.extend_from_slice(v.unwrap_or(b"<NA>"));
}

/// `fd.name` when the event's fd is not in the table, as sysdig's field
/// extraction does it: exits name what they tried to create (`open` the path,
/// `accept` its tuple, `NULL` when absent), other exits show an empty name,
/// enter events `<NA>`.
fn null_fd_name(st: &State, ev: &EventRef<'_>, out: &mut Vec<u8>) {
    let Some(info) = ev.info() else {
        out.extend_from_slice(b"<NA>");
        return;
    };
    if info.dir == Direction::Enter {
        out.extend_from_slice(b"<NA>");
        return;
    }
    match ev.etype() {
        3 | 59 | 103 | 307 | 327 => {
            let enter = st.current_enter();
            let name = ev
                .param(1)
                .filter(|b| !b.is_empty())
                .or_else(|| enter.as_ref().and_then(|e| e.param(0)))
                .unwrap_or_default();
            let name = name.strip_suffix(b"\0").unwrap_or(name);
            out.extend_from_slice(name);
        }
        // The tuple is rendered by the guard when present.
        27 | 57 | 247 | 249 if !ev.param(1).is_some_and(|p| render_tuple(p, out)) => {
            out.extend_from_slice(b"NULL");
        }
        _ => {}
    }
}

/// The test-only dumper: our rendering of [`FORMAT`] for the current event.
fn dump(st: &State, ev: &EventRef<'_>, num: u64, out: &mut Vec<u8>) {
    out.clear();
    let cur = st.current();
    let t = st.current_thread();
    let num_s = |v: Option<i64>| v.map_or_else(|| "<NA>".to_owned(), |v| v.to_string());
    // thread.tid is the event's tid, known thread or not.
    write!(out, "{num} ").unwrap();
    na_or(out, t.map(|t| &*t.comm));
    let ppid = t.and_then(|t| st.main_thread(t)).map(|m| m.ptid);
    write!(
        out,
        " {} {} {} ",
        num_s(t.map(|t| t.pid)),
        cur.tid,
        num_s(ppid)
    )
    .unwrap();
    na_or(out, t.map(|t| st.cwd(t)));
    write!(out, " {} ", num_s(cur.fd_num)).unwrap();
    let fd = cur.fd();
    // A connect exit shows the event's target tuple unless the fd was already a
    // connected client (then the fd keeps, and shows, its first tuple).
    let connect_tuple = ev.etype() == 23
        && fd.is_none_or(|f| !f.connected)
        && ev.param(1).is_some_and(|p| render_tuple(p, out));
    if !connect_tuple {
        match fd {
            // sysdig's output drops control characters (a unix path read from
            // /proc/net/unix may end with a newline).
            Some(f) => out.extend(f.name.iter().filter(|&&c| c >= 0x20)),
            None if cur.fd_num.is_some() => null_fd_name(st, ev, out),
            None => out.extend_from_slice(b"<NA>"),
        }
    }
    out.push(b' ');
    na_or(out, fd.and_then(|f| f.ty.as_str()).map(str::as_bytes));
    out.push(b' ');
    na_or(out, t.and_then(|t| st.user(t.uid)).map(|u| &u.name[..]));
}

/// Which field (by column) differs, for the summary.
fn differing_columns(ours: &str, theirs: &str) -> Vec<usize> {
    let a: Vec<&str> = ours.split(' ').collect();
    let b: Vec<&str> = theirs.split(' ').collect();
    if a.len() != b.len() {
        return vec![usize::MAX];
    }
    (0..a.len()).filter(|&i| a[i] != b[i]).collect()
}

#[test]
fn state_fields_match_sysdig() {
    let Some(files) = captures() else { return };
    if !have_sysdig() {
        return;
    }
    let mut report = String::new();
    let mut total = 0usize;
    let mut compared = 0usize;
    for file in files {
        let theirs = sysdig_lines(&file);
        let mut r = Reader::open(&file).expect("capture opens");
        let mut st = State::new();
        st.load(r.snapshot());
        let mut line = Vec::new();
        let mut shown = 0;
        let mut bad = 0;
        // sysdig 0.29.3 neither counts nor processes event types it does not know.
        let mut num = 0u64;
        while let Some(ev) = r.next_event().expect("capture reads") {
            if ev.etype() >= osprey_state::LEGACY_EVENT_MAX {
                continue;
            }
            num += 1;
            st.process(&ev);
            let (ename, etype) = (ev.info().map_or("?", |i| i.name), ev.etype());
            let Some(want) = theirs.get(&num) else {
                continue;
            };
            compared += 1;
            dump(&st, &ev, num, &mut line);
            let got = String::from_utf8_lossy(&line);
            let capture = file.file_name().unwrap().to_string_lossy();
            if got != *want && known_rewrite(&capture, want).as_deref() != Some(&*got) {
                bad += 1;
                if shown < 10 {
                    shown += 1;
                    let cols = differing_columns(&got, want);
                    report.push_str(&format!(
                        "{}: cols {cols:?} {} ({})\n  ours:   {got}\n  sysdig: {want}\n",
                        file.file_name().unwrap().to_string_lossy(),
                        ename,
                        etype
                    ));
                }
            }
        }
        if bad > 0 {
            report.push_str(&format!(
                "{}: {bad} of {} lines differ\n",
                file.file_name().unwrap().to_string_lossy(),
                theirs.len()
            ));
        }
        total += bad;
    }
    assert!(compared > 0, "nothing compared");
    assert!(
        total == 0,
        "{total} lines differ from sysdig beyond the known differences:\n{report}"
    );
}
