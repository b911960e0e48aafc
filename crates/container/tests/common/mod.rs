//! Helpers shared by the tests that need real runtimes.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Runs `scripts/docker-up` (starts dockerd, imports the test images).
/// Under `CI=true` a failure fails the test; elsewhere it prints a loud
/// SKIPPED and returns false.
pub(crate) fn docker_up(test: &str) -> bool {
    // Once per test binary: the tests in it run in parallel.
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    script_up(test, "docker-up", &UP)
}

/// Runs `scripts/podman-up` (loads the test images into podman, starts its
/// API service), as [`docker_up`] does.
pub(crate) fn podman_up(test: &str) -> bool {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    script_up(test, "podman-up", &UP)
}

/// Runs `scripts/<name>` once per test binary (the outcome kept in `once`).
fn script_up(test: &str, name: &str, once: &OnceLock<Result<(), String>>) -> bool {
    let result = once.get_or_init(|| {
        let script = format!("{}/../../scripts/{name}", env!("CARGO_MANIFEST_DIR"));
        match Command::new("bash")
            .arg(script)
            .stdin(Stdio::null())
            .output()
        {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!(
                "scripts/{name} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => Err(format!("cannot run scripts/{name}: {e}")),
        }
    });
    match result {
        Ok(()) => true,
        Err(why) => skip(test, why),
    }
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
