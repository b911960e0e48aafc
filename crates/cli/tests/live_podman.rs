//! Live capture of a real podman container: `osprey container.type=podman`
//! shows its syscalls with the container's short id, name, runtime and image,
//! taken from its `/libpod_parent/libpod-<id>` cgroups and podman's API.
//!
//! Needs root, BPF and podman (`scripts/podman-up` loads the test images and
//! starts the API service). Under `CI=true` a missing part fails the test;
//! elsewhere the test says loudly that it skipped.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The image as podman names it after `podman load`.
const IMAGE: &str = "localhost/osprey-test/busybox:1.0";

/// The container loop: reads /etc/hostname every 200 ms. `cat` is run by its
/// path: busybox's shell runs a bare applet name through /proc/self/exe, which
/// the kernel then names `exe`.
const LOOP: &str = "while true; do /bin/cat /etc/hostname >/dev/null; sleep 0.2; done";

fn skip_or_fail(why: &str) -> bool {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "live podman test: {why}"
    );
    eprintln!("\n*** SKIPPED: live podman test: {why} ***\n");
    false
}

/// Root, BTF and a working podman with the test images and its API service.
fn ready() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root || !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return skip_or_fail("needs root and kernel BTF");
    }
    let up = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/podman-up");
    match Command::new("bash").arg(up).stdin(Stdio::null()).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => skip_or_fail(&format!(
            "scripts/podman-up failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => skip_or_fail(&format!("cannot run scripts/podman-up: {e}")),
    }
}

/// A running podman container, removed when dropped (also when an assertion
/// fails).
struct Container {
    name: String,
    id: String,
}

impl Container {
    fn run(name: &str, cmd: &str) -> Container {
        remove(name);
        // Explicit ulimits: without CAP_SYS_RESOURCE podman cannot raise the
        // defaults it would set.
        let out = Command::new("podman")
            .args([
                "run",
                "-d",
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
                "--name",
                name,
                IMAGE,
                "sh",
                "-c",
                cmd,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("podman run");
        // Removed by Drop even if the checks below fail.
        let container = Container {
            name: name.to_owned(),
            id: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        };
        assert!(
            out.status.success(),
            "podman run {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(container.id.len(), 64, "container id {:?}", container.id);
        container
    }

    fn short(&self) -> &str {
        &self.id[..12]
    }
}

fn remove(name: &str) {
    let _ = Command::new("podman")
        .args(["rm", "-f", "-t", "0", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for Container {
    fn drop(&mut self) {
        remove(&self.name);
    }
}

/// Stops `osprey` (SIGINT) when dropped, so that a failed assertion does not
/// leave it running.
struct Osprey(Child);

impl Drop for Osprey {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn podman_container_with_its_metadata() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("podman.out");
    let mut osprey = Osprey(
        Command::new(env!("CARGO_BIN_EXE_osprey"))
            .env("TZ", "UTC")
            .args([
                "-p",
                "%container.id|%container.name|%container.type|%container.image|%proc.name",
                "container.type=podman and evt.type=openat and fd.name=/etc/hostname",
            ])
            .stdout(std::fs::File::create(&out).expect("output file"))
            .stderr(Stdio::piped())
            .spawn()
            .expect("start osprey"),
    );
    // Started while osprey runs: found from its tasks' cgroups.
    std::thread::sleep(Duration::from_secs(2));
    let web = Container::run(&format!("osprey-podman-{}", std::process::id()), LOOP);
    let want = format!("{}|{}|podman|{IMAGE}|cat", web.short(), web.name);

    let deadline = Instant::now() + Duration::from_secs(60);
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    while !read().lines().any(|l| l == want) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill")
        .args(["-INT", &osprey.0.id().to_string()])
        .status();
    let status = osprey.0.wait().expect("wait osprey");
    let mut err = String::new();
    if let Some(mut e) = osprey.0.stderr.take() {
        e.read_to_string(&mut err).ok();
    }
    assert!(status.success(), "osprey failed: {err}");
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
