//! Helpers shared by the tests that need real runtimes.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// Runs `scripts/docker-up` (starts dockerd, imports the test images).
/// Under `CI=true` a failure fails the test; elsewhere it prints a loud
/// SKIPPED and returns false.
pub(crate) fn docker_up(test: &str) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/docker-up");
    let out = Command::new("bash")
        .arg(script)
        .stdin(Stdio::null())
        .output();
    let why = match out {
        Ok(o) if o.status.success() => return true,
        Ok(o) => format!(
            "scripts/docker-up failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => format!("cannot run scripts/docker-up: {e}"),
    };
    skip(test, &why)
}

/// Fails under `CI=true`, else prints a loud SKIPPED; returns false.
pub(crate) fn skip(test: &str, why: &str) -> bool {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {why}"
    );
    eprintln!("\n*** SKIPPED {test}: {why} ***\n");
    false
}

/// Runs `docker ARGS`, returning trimmed stdout; panics with stderr on failure.
pub(crate) fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Removes the named containers when dropped, also when the test fails.
pub(crate) struct Containers(pub(crate) Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker")
                .args(["rm", "-f", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
