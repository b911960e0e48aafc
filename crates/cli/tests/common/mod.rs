//! Helpers shared by the end-to-end tests: fixtures, running the binaries, diffs.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::fmt;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The shared fixture directory, or `None` (after saying so loudly) when it is
/// missing outside CI. Under CI a missing fixture fails the test.
pub(crate) fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("fixture {} is missing under CI", p.display());
    }
    eprintln!(
        "SKIPPED: fixture {} not found (no ../shared beside the repo)",
        p.display()
    );
    None
}

/// All capture files, sorted by name.
pub(crate) fn captures() -> Vec<PathBuf> {
    let Some(dir) = shared("captures") else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read captures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "scap"))
        .collect();
    v.sort();
    v
}

/// Whether Debian's sysdig is installed; says so loudly (or fails under CI) if not.
pub(crate) fn sysdig_available() -> bool {
    let ok = Command::new("sysdig").arg("--version").output().is_ok();
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("sysdig is not installed under CI (scripts/setup installs it)");
        }
        eprintln!("SKIPPED: sysdig not installed; run scripts/setup");
    }
    ok
}

/// Runs `osprey -r file args...` with TZ=UTC.
pub(crate) fn osprey(file: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_osprey"))
        .env("TZ", "UTC")
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .expect("run osprey")
}

/// Runs `osprey args...` with TZ=UTC.
pub(crate) fn osprey_args(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_osprey"))
        .env("TZ", "UTC")
        .args(args)
        .output()
        .expect("run osprey")
}

/// A difference between expected and actual output.
pub(crate) struct Mismatch {
    what: String,
    line: usize,
    want: String,
    got: String,
    want_lines: usize,
    got_lines: usize,
}

impl Mismatch {
    /// Compares two outputs; `None` when they are identical.
    pub(crate) fn check(capture: &str, args: &[&str], want: &[u8], got: &[u8]) -> Option<Mismatch> {
        if want == got {
            return None;
        }
        let w: Vec<&[u8]> = want.split(|&c| c == b'\n').collect();
        let g: Vec<&[u8]> = got.split(|&c| c == b'\n').collect();
        let line = w
            .iter()
            .zip(&g)
            .position(|(a, b)| a != b)
            .unwrap_or(w.len().min(g.len()));
        let show = |v: &[&[u8]]| {
            v.get(line)
                .map(|l| String::from_utf8_lossy(l).chars().take(300).collect())
                .unwrap_or_else(|| "<end of output>".to_string())
        };
        Some(Mismatch {
            what: format!("{capture} {args:?}"),
            line: line + 1,
            want: show(&w),
            got: show(&g),
            want_lines: w.len(),
            got_lines: g.len(),
        })
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--- {} (lines: sysdig {}, osprey {}) first difference at line {}:\n  sysdig: {}\n  osprey: {}",
            self.what, self.want_lines, self.got_lines, self.line, self.want, self.got
        )
    }
}
