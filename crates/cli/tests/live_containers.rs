//! Live capture of real Docker containers: `osprey container.name=...` shows a
//! container's syscalls with the container's id, name and image, `-pc` adds
//! the container columns, and `topcontainers_cpu` lists the container.
//!
//! One container runs before `osprey` starts (found by the /proc scan), one is
//! started after (found from its tasks' clone/execve cgroups). Both get their
//! metadata from dockerd in the background.
//!
//! Needs root, BPF and Docker (`scripts/docker-up` starts dockerd and imports
//! the test images). Under `CI=true` a missing part fails the test; elsewhere
//! the test says loudly that it skipped.

mod common;

use common::{one_at_a_time, ready, Container, Engine, Osprey};
use std::path::Path;
use std::time::{Duration, Instant};

/// What the skip message calls these tests.
const WHAT: &str = "live container test";

/// The image the containers run (busybox, tagged like nginx).
const IMAGE: &str = "osprey-test/nginx:1.0";

/// The container loop: reads /etc/hostname every 200 ms. `cat` is run by its
/// path: busybox's shell runs a bare applet name through /proc/self/exe, which
/// the kernel then names `exe`.
const LOOP: &str = "while true; do /bin/cat /etc/hostname >/dev/null; sleep 0.2; done";

/// Runs `LOOP` in a new Docker container `name`.
fn run(name: &str) -> Container {
    Container::run(Engine::Docker, name, IMAGE, &["sh", "-c", LOOP])
}

/// Waits until `done(output)` holds or 60 s pass, then stops `osprey` with
/// SIGINT and returns its output.
fn collect(osprey: Osprey, out: &Path, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(&std::fs::read_to_string(out).unwrap_or_default()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    osprey.stop();
    std::fs::read_to_string(out).unwrap_or_default()
}

#[test]
fn containers_by_name_with_their_metadata() {
    let _one = one_at_a_time();
    if !ready(WHAT, Engine::Docker) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = std::process::id();
    let before = run(&format!("osprey-web1-{tag}"));
    let out = dir.path().join("fields.out");
    let osprey = Osprey::start(
        &[
            "-p",
            "%container.id|%container.name|%container.image|%container.image.repository|%container.image.tag|%container.type|%proc.name|%fd.name",
            &format!(
                "(container.name={} or container.name=osprey-web2-{tag}) and evt.type=openat and fd.name=/etc/hostname",
                before.name
            ),
        ],
        &out,
    );
    // Started while osprey runs: found from its tasks' cgroups.
    std::thread::sleep(Duration::from_secs(2));
    let after = run(&format!("osprey-web2-{tag}"));
    let line = |c: &Container| {
        format!(
            "{}|{}|{IMAGE}|osprey-test/nginx|1.0|docker|cat|/etc/hostname",
            c.short(),
            c.name
        )
    };
    let (want1, want2) = (line(&before), line(&after));
    let text = collect(osprey, &out, |t| {
        t.lines().any(|l| l == want1) && t.lines().any(|l| l == want2)
    });
    assert!(
        text.lines().any(|l| l == want1),
        "no line {want1:?} in:\n{text}"
    );
    assert!(
        text.lines().any(|l| l == want2),
        "no line {want2:?} in:\n{text}"
    );
    // Every line is one of the two containers: nothing else passes the filter,
    // and no line carries another container's metadata.
    for l in text.lines() {
        assert!(l == want1 || l == want2, "unexpected line {l:?}");
    }
}

#[test]
fn dash_pc_shows_the_container_columns() {
    let _one = one_at_a_time();
    if !ready(WHAT, Engine::Docker) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let web = run(&format!("osprey-pc-{}", std::process::id()));
    let out = dir.path().join("pc.out");
    let osprey = Osprey::start(
        &[
            "-pc",
            &format!(
                "container.name={} and evt.type=openat and fd.name=/etc/hostname",
                web.name
            ),
        ],
        &out,
    );
    let text = collect(osprey, &out, |t| t.lines().count() >= 3);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 3, "too few lines:\n{text}");
    for l in lines {
        // num time cpu name (id) proc (tid:vtid) dir type info
        let f: Vec<&str> = l.split(' ').collect();
        assert!(f.len() >= 9, "short -pc line {l:?}");
        assert_eq!(f[3], web.name, "{l}");
        assert_eq!(f[4], format!("({})", web.short()), "{l}");
        assert_eq!(f[5], "cat", "{l}");
        // The thread as the host and as the container see it.
        let ids = f[6].trim_start_matches('(').trim_end_matches(')');
        let (tid, vtid) = ids.split_once(':').expect("tid:vtid");
        let (tid, vtid): (u64, u64) = (tid.parse().unwrap(), vtid.parse().unwrap());
        assert!(
            vtid < tid,
            "vtid {vtid} should be the container's own pid number (host tid {tid})"
        );
        assert_eq!(&f[7..9], &["<", "openat"], "{l}");
        assert!(l.contains("/etc/hostname"), "{l}");
    }
}

/// A capture written live keeps its containers' metadata (as container
/// events, the way sysdig stores it): read back, the container's events show
/// its name and image, in osprey and in sysdig 0.29.3.
#[test]
fn a_written_capture_keeps_the_container_names() {
    let _one = one_at_a_time();
    if !ready(WHAT, Engine::Docker) || !common::sysdig_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let web = run(&format!("osprey-w-{}", std::process::id()));
    let file = dir.path().join("live.scap");
    let osprey = Osprey::start(&["-w", file.to_str().unwrap()], &dir.path().join("w.out"));
    std::thread::sleep(Duration::from_secs(5));
    osprey.stop();
    let args = [
        "-p",
        "%container.id|%container.name|%container.image|%proc.name",
        &format!(
            "container.name={} and evt.type=openat and fd.name=/etc/hostname",
            web.name
        ),
    ];
    let want = format!("{}|{}|{IMAGE}|cat", web.short(), web.name);
    let ours = common::osprey(file.to_str().unwrap(), &args);
    assert!(ours.status.success());
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert!(ours.lines().count() >= 3, "too few lines:\n{ours}");
    assert!(
        ours.lines().all(|l| l == want),
        "want {want:?}, got:\n{ours}"
    );
    let theirs = std::process::Command::new("sysdig")
        .env("TZ", "UTC")
        .arg("-r")
        .arg(&file)
        .args(args)
        .output()
        .expect("run sysdig");
    assert_eq!(String::from_utf8_lossy(&theirs.stdout), ours);
}
