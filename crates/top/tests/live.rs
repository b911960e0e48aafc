//! osprey-top on the live system, in a tmux terminal: a process the test
//! starts appears in the processes view and drilling into it shows the file
//! it holds open; the containers view lists a Docker container the test runs.
//!
//! Needs root and kernel BTF (and Docker with the test images from
//! `scripts/docker-up` for the container test). Under `CI=true` a missing part
//! fails the test; elsewhere the test says loudly that it skipped.

mod common;

use common::{line_with, Top};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One live capture at a time in this test binary.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LIVE: Mutex<()> = Mutex::new(());
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A child process killed when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A container removed when dropped.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn a_started_process_and_the_file_it_holds() {
    let _one = one_at_a_time();
    if !common::tmux_available() || !common::can_capture() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!("held-{}.txt", std::process::id());
    let held = dir.path().join(&name);
    std::fs::write(&held, "osprey\n").unwrap();
    // Holds the file open as fd 3 and reads it (at its end) five times a second.
    let script = format!(
        "exec 3<'{}'; while :; do read -r x <&3; sleep 0.2; done",
        held.display()
    );
    let _child = Kill(
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .spawn()
            .expect("start sh"),
    );
    let top = Top::start(&["-d", "1000", "--no-containers"], 220, 50);
    top.wait("the processes view", 60, |s| {
        s.contains("Viewing: Processes For: whole machine") && s.contains("Live System")
    });
    // The process appears (its command line names the held file).
    let s = top.wait("the test's process", 30, |s| {
        s.contains("CPU") && s.lines().count() > 5
    });
    assert!(s.contains("Command"), "{s}");
    top.keys(&["/"]);
    top.wait("the search box", 10, |s| s.contains("Search"));
    top.text(&name);
    top.keys(&["Enter"]);
    let s = top.wait("the process found", 30, |s| {
        !s.contains("Search") && s.contains(&name) && !s.contains("not found")
    });
    let line = line_with(&s, &name).unwrap();
    assert!(line.contains("sh -c exec 3<"), "{line}");
    top.keys(&["Enter"]);
    top.wait("its threads", 30, |s| {
        s.contains("Viewing: Threads For: proc.pid=") && s.contains(&name)
    });
    top.keys(&["Enter"]);
    let s = top.wait("the held file", 30, |s| {
        s.contains("Viewing: Files For: proc.pid=") && s.contains(&held.display().to_string())
    });
    assert!(s.contains("thread.tid="), "{s}");
    top.keys(&["BSpace"]);
    top.wait("back to its threads", 30, |s| {
        s.contains("Viewing: Threads")
    });
    top.keys(&["q"]);
    top.wait("exit", 20, |_| !top.alive());
}

#[test]
fn the_containers_view_lists_a_test_container() {
    let _one = one_at_a_time();
    if !common::tmux_available() || !common::can_capture() {
        return;
    }
    let up = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/docker-up");
    match Command::new(up).stdin(Stdio::null()).output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            common::skip_or_fail::<()>(
                "live containers",
                &format!(
                    "scripts/docker-up failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                ),
            );
            return;
        }
        Err(e) => {
            common::skip_or_fail::<()>("live containers", &format!("scripts/docker-up: {e}"));
            return;
        }
    }
    let name = format!("osprey-top-test-{}", std::process::id());
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    let out = Command::new("docker")
        .args([
            "run",
            "-d",
            "--name",
            &name,
            "osprey-test/busybox:1.0",
            "sh",
            "-c",
            "while true; do /bin/cat /etc/hostname >/dev/null; sleep 0.2; done",
        ])
        .output()
        .expect("docker run");
    let _container = Container(name.clone());
    assert!(
        out.status.success(),
        "docker run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let top = Top::start(&["-d", "1000", "-v", "containers"], 220, 40);
    let s = top.wait("the test container", 90, |s| s.contains(&name));
    assert!(s.contains("Viewing: Containers"), "{s}");
    let line = line_with(&s, &name).unwrap();
    assert!(line.contains(&id[..12]), "{line}");
    assert!(
        line.contains("docker") && line.contains("osprey-test/busybox:1.0"),
        "{line}"
    );
    top.keys(&["q"]);
    top.wait("exit", 20, |_| !top.alive());
}
