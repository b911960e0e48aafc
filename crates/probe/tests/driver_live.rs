//! Live test of the eBPF driver (needs root and BTF; under `CI=true` their
//! absence fails the test, elsewhere it is SKIPPED).
//!
//! The binary re-executes itself as a child (env `OSPREY_DRIVER_CHILD`) that
//! opens and writes a file, fails to open a missing path and execs /bin/true;
//! the parent captures with the driver and checks the exact parameters.

mod common;

use common::{capture, Capture, Ev};
use osprey_probe::driver::Config;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;

const CHILD_ENV: &str = "OSPREY_DRIVER_CHILD";
const ARGS: [&str; 2] = ["osprey-arg1", "arg two"];

fn child(dir: &str) -> ! {
    let path = Path::new(dir).join("f.txt");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .expect("create file");
    f.write_all(b"hello").expect("write");
    drop(f);
    let missing = Path::new(dir).join("missing");
    assert!(std::fs::File::open(missing).is_err());
    let err = std::process::Command::new("/bin/true").args(ARGS).exec();
    panic!("exec failed: {err}");
}

/// A capture of the child with `cfg`; its large environment (OSPREY_PAD)
/// makes the execve event larger than 4 KiB.
fn live_capture(cfg: &Config, dir: &Path) -> Option<Capture> {
    capture(
        "driver_live",
        cfg,
        CHILD_ENV,
        dir,
        &[("OSPREY_PAD", "x".repeat(5000))],
    )
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let Some(Capture { evs, .. }) = live_capture(&Config::default(), dir) else {
        return;
    };
    let file = dir.join("f.txt");
    let file_c = format!("{}\0", file.display());
    let missing_c = format!("{}\0", dir.join("missing").display());
    let mut by_type: BTreeMap<u16, Vec<&Ev>> = BTreeMap::new();
    for e in &evs {
        by_type.entry(e.etype).or_default().push(e);
    }

    // openat(AT_FDCWD, file, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666)
    let opens = by_type.get(&307).cloned().unwrap_or_default();
    let open = opens
        .iter()
        .find(|e| e.params[2] == file_c.as_bytes())
        .unwrap_or_else(|| panic!("no openat of {file_c:?} in {evs:#?}"));
    assert_eq!(open.params.len(), 7);
    let fd = open.i64(0);
    assert!(fd >= 0, "open fd {fd}");
    assert_eq!(open.i64(1), -100, "dirfd AT_FDCWD");
    assert_eq!(
        open.u32(3),
        2 | 4 | 256 | 4096,
        "flags WRONLY|CREAT|TRUNC|CLOEXEC"
    );
    assert_eq!(open.u32(4), 0o666, "mode");
    assert_eq!(open.params[6].len(), 8, "ino present");
    let ino = std::fs::metadata(&file).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    assert_eq!(Ok(open.i64(6) as u64), ino.map_err(|_| ()), "ino");

    // write(fd, "hello", 5) = 5
    let write = by_type
        .get(&9)
        .and_then(|w| w.iter().find(|e| e.i64(2) == fd))
        .unwrap_or_else(|| panic!("no write to fd {fd} in {evs:#?}"));
    assert_eq!(write.i64(0), 5);
    assert_eq!(write.params[1], b"hello");
    assert_eq!(write.u32(3), 5);

    // close(fd) = 0
    let close = by_type
        .get(&5)
        .and_then(|c| c.iter().find(|e| e.i64(1) == fd))
        .unwrap_or_else(|| panic!("no close of fd {fd}"));
    assert_eq!(close.i64(0), 0);

    // the failed open: -ENOENT
    let failed = opens
        .iter()
        .find(|e| e.params[2] == missing_c.as_bytes())
        .unwrap_or_else(|| panic!("no openat of {missing_c:?}"));
    assert_eq!(failed.i64(0), -2);
    assert_eq!(failed.u32(3), 1 | 4096, "flags RDONLY|CLOEXEC");
    assert!(failed.params[5].is_empty() && failed.params[6].is_empty());

    // execve("/bin/true", ["/bin/true", ARGS...]) = 0 (the child's first
    // execve is the one that started this test binary in it)
    let exec = by_type
        .get(&293)
        .and_then(|x| x.iter().find(|e| e.params[30] == b"/bin/true\0"))
        .unwrap_or_else(|| panic!("no successful execve in {evs:#?}"));
    assert_eq!(exec.params.len(), 31);
    assert_eq!(exec.i64(0), 0);
    assert_eq!(exec.params[1], b"/bin/true\0");
    assert_eq!(exec.params[2], b"osprey-arg1\0arg two\0");
    let pid = exec.i64(3);
    assert_eq!(exec.i64(4), pid, "pid == tid");
    assert_eq!(
        exec.i64(5),
        i64::from(std::process::id()),
        "ptid is the test"
    );
    assert_eq!(exec.params[13], b"true\0", "comm");
    assert_eq!(exec.params[30], b"/bin/true\0", "filename");
    // The new executable's inode and times, and whether root can write it.
    let meta = std::fs::metadata("/bin/true").expect("stat /bin/true");
    assert_eq!(
        exec.i64(23) as u64,
        std::os::unix::fs::MetadataExt::ino(&meta),
        "exe_ino"
    );
    let mtime = std::os::unix::fs::MetadataExt::mtime(&meta) * 1_000_000_000
        + std::os::unix::fs::MetadataExt::mtime_nsec(&meta);
    assert_eq!(exec.i64(25), mtime, "exe_ino_mtime");
    assert_eq!(
        exec.u32(19) & 1,
        1,
        "EXE_WRITABLE (root has CAP_DAC_OVERRIDE)"
    );
    // The child stays in the test's process group.
    // /proc/self/stat: pid (comm) state ppid pgrp ...
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let pgid: i64 = stat[stat.rfind(')').expect("comm") + 2..]
        .split(' ')
        .nth(2)
        .and_then(|f| f.parse().ok())
        .expect("pgrp");
    assert_eq!(exec.i64(28), pgid, "pgid");
    assert_eq!(exec.i64(17), pgid, "vpgid (no pid namespace)");
    // The child's own clone exit: res 0, its own tid as vtid, and flags.
    let clone = evs
        .iter()
        .find(|e| [223u16, 225, 227, 335].contains(&e.etype) && e.i64(0) == 0)
        .unwrap_or_else(|| panic!("no child-side clone exit in {evs:#?}"));
    assert_eq!(clone.i64(18), pid, "vtid");
    assert_eq!(clone.i64(19), pid, "vpid");

    // procexit with status 0
    let exit = by_type
        .get(&186)
        .and_then(|x| x.first())
        .unwrap_or_else(|| panic!("no procexit in {evs:#?}"));
    assert_eq!(exit.i64(0), 0);

    // other syscalls arrive as generic events with a native number
    assert!(by_type.contains_key(&1), "no generic events");

    // snaplen 3
    let cfg = Config {
        snaplen: 3,
        ..Config::default()
    };
    let Some(Capture { evs, .. }) = live_capture(&cfg, dir) else {
        return;
    };
    let write = evs
        .iter()
        .find(|e| e.etype == 9 && e.i64(0) == 5)
        .unwrap_or_else(|| panic!("no write with snaplen 3 in {evs:#?}"));
    assert_eq!(write.params[1], b"hel");
    assert_eq!(write.u32(3), 5);

    // Kernel-side selection: only write (and procexit, always) arrive.
    let cfg = Config {
        only: Some(vec!["write".to_string()]),
        ..Config::default()
    };
    let Some(Capture { evs, .. }) = live_capture(&cfg, dir) else {
        return;
    };
    let types: std::collections::BTreeSet<u16> = evs.iter().map(|e| e.etype).collect();
    assert_eq!(
        types,
        [9, 186].into_iter().collect(),
        "selected write only: {evs:#?}"
    );

    // A one-page ring cannot hold the execve event (its environment is cut
    // at 4 KiB and OSPREY_PAD makes it that long): it is dropped, counted,
    // and announced by drop events.
    let cfg = Config {
        ring_size: 4096,
        ..Config::default()
    };
    let Some(cap) = live_capture(&cfg, dir) else {
        return;
    };
    assert!(cap.stats.drops > 0, "no drops with a 4 KiB ring");
    assert!(
        !cap.evs
            .iter()
            .any(|e| e.etype == 293 && e.params[30] == b"/bin/true\0"),
        "the execve fit in a 4 KiB ring?"
    );
    let announced: u64 = cap.drop_events.iter().map(|&r| u64::from(r)).sum();
    assert!(
        announced > 0 && announced <= cap.stats.drops,
        "drop events announce {announced} of {} drops",
        cap.stats.drops
    );
    eprintln!("driver_live: ok");
}
