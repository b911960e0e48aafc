//! The `syslog.*` fields, on a capture built here: no public capture has
//! traffic to /dev/log. The same file is read by sysdig when it is installed.

mod common;

use common::{osprey, sysdig_available};
use osprey_event::snapshot::{FdAddr, FdInfo, FdKind, ProcInfo, Snapshot};
use osprey_event::{encode, EventRef};
use std::process::Command;

/// A capture in which process 100 (`logger`) writes three messages to its fd 3,
/// a unix socket connected to /dev/log, as enter and exit events.
fn syslog_capture(dir: &std::path::Path) -> String {
    let path = dir.join("syslog.scap");
    let mut w = osprey_scap::Writer::create(&path, false).unwrap();
    let snap = Snapshot {
        procs: vec![ProcInfo {
            tid: 100,
            pid: 100,
            ptid: 1,
            comm: b"logger".to_vec(),
            exe: b"logger".to_vec(),
            exepath: b"/usr/bin/logger".to_vec(),
            cwd: b"/".to_vec(),
            fdlimit: 1024,
            fds: vec![FdInfo {
                fd: 3,
                ino: 1,
                kind: FdKind::UnixSock,
                name: b"/dev/log".to_vec(),
                addr: FdAddr::Unix {
                    source: 0x10,
                    dest: 0x20,
                },
                ..FdInfo::default()
            }],
            ..ProcInfo::default()
        }],
        ..Snapshot::default()
    };
    w.write_snapshot(&snap).unwrap();
    let mut buf = Vec::new();
    let mut ts = 1_000_000_000u64;
    for msg in [&b"<14>hello world"[..], b"<165>disk full", b"no priority"] {
        // write enter (type 8): fd, size; write exit (type 9) in the
        // 2-parameter layout that sysdig 0.29.3 knows: res, data.
        let len = u32::try_from(msg.len()).unwrap();
        encode(
            &mut buf,
            ts,
            100,
            8,
            &[&3i64.to_le_bytes(), &len.to_le_bytes()],
        );
        w.write_event(&EventRef::parse(&buf, 0, 0).unwrap())
            .unwrap();
        encode(
            &mut buf,
            ts + 1000,
            100,
            9,
            &[&i64::from(len).to_le_bytes(), msg],
        );
        w.write_event(&EventRef::parse(&buf, 0, 0).unwrap())
            .unwrap();
        ts += 1_000_000;
    }
    w.finish().unwrap();
    path.to_string_lossy().into_owned()
}

const FORMAT: &str = "*%evt.num %evt.dir %fd.name %evt.is_syslog %syslog.facility %syslog.facility.str %syslog.severity %syslog.severity.str %syslog.message";

#[test]
fn syslog_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = syslog_capture(dir.path());
    let ours = osprey(&path, &["-p", FORMAT]);
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let text = String::from_utf8(ours.stdout.clone()).unwrap();
    let exits: Vec<&str> = text.lines().filter(|l| l.contains(" < ")).collect();
    assert_eq!(
        exits,
        [
            // <14>: facility 1 (user), severity 6 (info).
            "2 < /dev/log true 1 user 6 info hello world",
            // <165>: facility 20 (local4), severity 5 (notice).
            "4 < /dev/log true 20 local4 5 notice disk full",
            "6 < /dev/log true <NA> <NA> <NA> <NA> <NA>",
        ],
        "{text}"
    );
    if sysdig_available() {
        let theirs = Command::new("sysdig")
            .env("TZ", "UTC")
            .args(["-r", &path, "-p", FORMAT])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&theirs.stdout),
            text,
            "sysdig disagrees"
        );
    }
}
