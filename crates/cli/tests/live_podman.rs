//! Live capture of a real podman container: `osprey container.type=podman`
//! shows its syscalls with the container's short id, name, runtime and image,
//! taken from its `/libpod_parent/libpod-<id>` cgroups and podman's API.
//!
//! Needs root, BPF and podman (`scripts/podman-up` loads the test images and
//! starts the API service). Under `CI=true` a missing part fails the test;
//! elsewhere the test says loudly that it skipped.

mod common;

use common::{ready, Container, Engine, Osprey};
use std::time::{Duration, Instant};

/// The image as podman names it after `podman load`.
const IMAGE: &str = "localhost/osprey-test/busybox:1.0";

/// The container loop: reads /etc/hostname every 200 ms. `cat` is run by its
/// path: busybox's shell runs a bare applet name through /proc/self/exe, which
/// the kernel then names `exe`.
const LOOP: &str = "while true; do /bin/cat /etc/hostname >/dev/null; sleep 0.2; done";

#[test]
fn podman_container_with_its_metadata() {
    if !ready("live podman test", Engine::Podman) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("podman.out");
    let osprey = Osprey::start(
        &[
            "-p",
            "%container.id|%container.name|%container.type|%container.image|%proc.name",
            "container.type=podman and evt.type=openat and fd.name=/etc/hostname",
        ],
        &out,
    );
    // Started while osprey runs: found from its tasks' cgroups.
    std::thread::sleep(Duration::from_secs(2));
    let web = Container::run(
        Engine::Podman,
        &format!("osprey-podman-{}", std::process::id()),
        IMAGE,
        &["sh", "-c", LOOP],
    );
    let want = format!("{}|{}|podman|{IMAGE}|cat", web.short(), web.name);

    let deadline = Instant::now() + Duration::from_secs(60);
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    while !read().lines().any(|l| l == want) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let err = osprey.stop();
    let text = read();
    assert!(
        text.lines().any(|l| l == want),
        "no line {want:?} in:\n{text}\nstderr:\n{err}"
    );
    // Only this container's reads of /etc/hostname pass the filter (no other
    // podman container runs the loop), and every line carries its metadata.
    for l in text.lines() {
        assert_eq!(l, want, "unexpected line");
    }
}
