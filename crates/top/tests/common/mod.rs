//! Helpers of the osprey-top tests: fixtures, tmux sessions, live checks.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A capture of the shared fixtures, or `None` (after saying so loudly) when
/// it is missing outside CI. Under CI a missing fixture fails the test.
pub(crate) fn capture(name: &str) -> Option<String> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures"
    ))
    .join(name);
    if p.exists() {
        return Some(p.to_string_lossy().into_owned());
    }
    skip_or_fail("fixture", &format!("{} not found", p.display()))
}

/// Under CI a missing requirement fails the test; elsewhere it says loudly
/// that the test skipped.
pub(crate) fn skip_or_fail<T>(what: &str, why: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what}: {why} (required under CI)");
    }
    eprintln!("SKIPPED: {what}: {why}");
    None
}

/// Whether tmux is installed (scripts/setup installs it).
pub(crate) fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok || skip_or_fail::<()>("tmux", "not installed; run scripts/setup").is_some()
}

/// Whether a live capture can run: root and kernel BTF.
pub(crate) fn can_capture() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let btf = std::path::Path::new("/sys/kernel/btf/vmlinux").exists();
    (root && btf)
        || skip_or_fail::<()>(
            "live osprey-top",
            &format!("needs root and kernel BTF (root: {root}, btf: {btf})"),
        )
        .is_some()
}

/// `osprey-top` running in a detached tmux session of a fixed size, killed
/// when dropped.
pub(crate) struct Top {
    session: String,
}

impl Top {
    /// Starts `osprey-top args...` in a `width` × `height` terminal.
    pub(crate) fn start(args: &[&str], width: u16, height: u16) -> Top {
        static N: AtomicU32 = AtomicU32::new(0);
        let session = format!(
            "osprey-top-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut cmd = vec![shell_quote(env!("CARGO_BIN_EXE_osprey-top"))];
        cmd.extend(args.iter().map(|a| shell_quote(a)));
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(format!("TZ=UTC {}", cmd.join(" ")))
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        Top { session }
    }

    /// The screen, one string per line.
    pub(crate) fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends tmux key names (`Enter`, `BSpace`, `F2`, `Down`) or text.
    pub(crate) fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Sends text literally.
    pub(crate) fn text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-l", "-t", &self.session, text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Waits until the screen satisfies `pred` (or `secs` pass); returns the
    /// last screen and panics with it on timeout.
    pub(crate) fn wait(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the session (and so osprey-top) is still running.
    pub(crate) fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["has-session", "-t", &self.session])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Top {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .stderr(Stdio::null())
            .status();
    }
}

/// Quotes a word for the shell tmux runs the command with.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The line of `screen` containing `needle`.
pub(crate) fn line_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(needle))
}
