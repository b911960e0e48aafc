//! Live test of the overlayfs layer bits of the execve exit `flags`
//! (`PPM_EXE_UPPER_LAYER`, `PPM_EXE_LOWER_LAYER`) that the eBPF driver sets
//! (needs root, BTF and Docker; under `CI=true` their absence, or a failing
//! `scripts/docker-up`, fails the test, elsewhere it is SKIPPED).
//!
//! A container copies busybox into its writable layer and runs the copy (the
//! upper layer), then runs /bin/true (busybox from the image: a lower layer);
//! /bin/true run on the host (not on overlayfs) carries neither bit.

mod common;

use common::{skip_or_fail, Ev};
use osprey_probe::driver::{Config, Driver, Error};
use std::time::{Duration, Instant};

const EXECVE_X: u16 = 293;
/// Indexes of `args`, `comm` and `flags` in execve exits.
const ARGS: usize = 2;
const COMM: usize = 13;
const FLAGS: usize = 19;
const UPPER: u32 = 2;
const LOWER: u32 = 8;
/// OVERLAYFS_SUPER_MAGIC as `stat -f -c %t` prints it.
const OVERLAYFS_SUPER_MAGIC: &str = "794c7630";
const CONTAINER: &str = "osprey-ovl-test";
/// An argument that tells the test's execs from any other.
const MARK: &str = "osprey-ovl-mark";

fn has_mark(e: &Ev) -> bool {
    e.str(ARGS).split(|&b| b == 0).any(|a| a == MARK.as_bytes())
}

/// Whether `path` is on overlayfs (then the host check does not apply), by
/// the file system type `stat -f` reports.
fn on_overlay(path: &str) -> bool {
    std::process::Command::new("stat")
        .args(["-f", "-c", "%t", path])
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == OVERLAYFS_SUPER_MAGIC.as_bytes())
}

/// Drains `driver` for up to `secs` seconds, until `done` says stop, keeping
/// the successful execve exits that carry [`MARK`].
fn collect(driver: &mut Driver, secs: u64, mut done: impl FnMut(&[Ev]) -> bool) -> Vec<Ev> {
    let mut evs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline && !done(&evs) {
        if let Some(e) = driver
            .next_event(Duration::from_millis(100))
            .expect("event")
        {
            if e.etype() == EXECVE_X {
                let ev = Ev::from(&e);
                if ev.i64(0) == 0 && has_mark(&ev) {
                    evs.push(ev);
                }
            }
        }
    }
    evs
}

fn find<'a>(evs: &'a [Ev], comm: &[u8], what: &str) -> &'a Ev {
    evs.iter()
        .find(|e| e.str(COMM) == comm)
        .unwrap_or_else(|| panic!("no execve exit of {what} in {evs:#?}"))
}

fn main() {
    let cfg = Config {
        only: Some(vec!["execve".to_string()]),
        ..Config::default()
    };
    let mut driver = match Driver::open(&cfg) {
        Ok(d) => d,
        Err(e @ (Error::NotRoot | Error::NoBtf)) => {
            skip_or_fail("driver_overlay", &e.to_string());
            return;
        }
        Err(e) => panic!("driver open: {e}"),
    };

    // On the host.
    let status = std::process::Command::new("/bin/true")
        .arg(MARK)
        .status()
        .expect("run /bin/true");
    assert!(status.success(), "/bin/true: {status}");
    let evs = collect(&mut driver, 10, |evs| !evs.is_empty());
    let host = find(&evs, b"true\0", "/bin/true on the host");
    let flags = host.u32(FLAGS);
    if on_overlay("/bin/true") {
        eprintln!("driver_overlay: the host's /bin/true is on overlayfs, flags {flags:#x}");
    } else {
        assert_eq!(
            flags & (UPPER | LOWER),
            0,
            "host /bin/true flags {flags:#x}"
        );
    }
    eprintln!("driver_overlay: host /bin/true flags {flags:#x}");

    // In a container.
    let up = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/docker-up");
    let ok = std::process::Command::new("bash")
        .arg(up)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip_or_fail("driver_overlay (docker)", "scripts/docker-up failed");
        return;
    }
    let _ = std::process::Command::new("docker")
        .args(["rm", "-f", CONTAINER])
        .output();
    let script = format!("cp /bin/busybox /tmp/bbcopy; /tmp/bbcopy true {MARK}; /bin/true {MARK}");
    let mut run = std::process::Command::new("docker")
        .args(["run", "--rm", "--name", CONTAINER])
        .args(["osprey-test/busybox:1.0", "/bin/sh", "-c", &script])
        .spawn()
        .expect("docker run");
    let mut exited: Option<Instant> = None;
    let evs = collect(&mut driver, 60, |_| {
        if exited.is_none() && run.try_wait().expect("wait docker run").is_some() {
            exited = Some(Instant::now());
        }
        exited.is_some_and(|t| t.elapsed() > Duration::from_secs(2))
    });
    let status = run.wait().expect("docker run");
    assert!(status.success(), "docker run: {status}");
    let copy = find(&evs, b"bbcopy\0", "/tmp/bbcopy in the container");
    let flags = copy.u32(FLAGS);
    assert_eq!(
        flags & (UPPER | LOWER),
        UPPER,
        "/tmp/bbcopy (written in the container) flags {flags:#x}"
    );
    eprintln!("driver_overlay: container /tmp/bbcopy flags {flags:#x}");
    let image = find(&evs, b"true\0", "/bin/true in the container");
    let flags = image.u32(FLAGS);
    assert_eq!(
        flags & (UPPER | LOWER),
        LOWER,
        "/bin/true (from the image) flags {flags:#x}"
    );
    eprintln!("driver_overlay: container /bin/true flags {flags:#x}");
    eprintln!("driver_overlay: ok");
}
