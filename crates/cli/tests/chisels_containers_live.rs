//! Live CPU chisels against a real Docker container: `topcontainers_cpu`
//! and `-pc -c topprocs_cpu` show a container that spins a CPU.
//!
//! A live capture has no `procinfo` events (the probe makes none), so these
//! chisels sample `/proc` every interval and map each thread to its container
//! through the state (or the thread's cgroups); this checks the mapping and
//! the shares end to end.
//!
//! Needs root, BPF and Docker (`scripts/docker-up` starts dockerd and imports
//! the test images). Under `CI=true` a missing part fails the test; elsewhere
//! the test says loudly that it skipped.

mod common;

use common::{one_at_a_time, ready, Container, Engine, Osprey};
use std::time::{Duration, Instant};

/// What the skip message calls these tests.
const WHAT: &str = "live container chisel test";

/// The image the container runs (busybox, tagged like nginx).
const IMAGE: &str = "osprey-test/nginx:1.0";

/// A shell loop that keeps one CPU busy without making system calls.
const SPIN: &str = "while :; do :; done";

/// Runs [`SPIN`] in a new Docker container `name`.
fn spin(name: &str) -> Container {
    Container::run(Engine::Docker, name, IMAGE, &["sh", "-c", SPIN])
}

/// The lines of a live table chisel's output, screen-control sequences removed.
fn plain_lines(raw: &str) -> Vec<String> {
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters final-letter.
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        text.push(c);
    }
    text.lines().map(str::to_owned).collect()
}

/// The CPU share (percent) of a table row, if the row starts with one.
fn pct(row: &str) -> Option<f64> {
    row.split_whitespace()
        .next()?
        .strip_suffix('%')?
        .parse()
        .ok()
}

/// Runs `osprey ARGS` live until `done(lines)` holds or 60 s pass, then stops
/// it with SIGINT and returns the plain lines it printed.
fn run_until(args: &[&str], done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chisel.out");
    let osprey = Osprey::start(args, &out);
    let read = || plain_lines(&std::fs::read_to_string(&out).unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(&read()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    osprey.stop();
    read()
}

#[test]
fn topcontainers_cpu_shows_a_busy_container() {
    let _one = one_at_a_time();
    if !ready(WHAT, Engine::Docker) {
        return;
    }
    let busy = spin(&format!("osprey-cpu-{}", std::process::id()));
    // A row: CPU% (20 columns), then container.name.
    let hit = |l: &String| {
        l.split_whitespace().last() == Some(busy.name.as_str()) && pct(l).is_some_and(|p| p > 10.0)
    };
    let lines = run_until(&["-c", "topcontainers_cpu"], |ls| ls.iter().any(hit));
    assert!(
        lines.iter().any(hit),
        "no row for {} above 10% in:\n{}",
        busy.name,
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CPU%") && l.contains("container.name")),
        "no table header in:\n{}",
        lines.join("\n")
    );
}

#[test]
fn topprocs_cpu_with_pc_names_the_container() {
    let _one = one_at_a_time();
    if !ready(WHAT, Engine::Docker) {
        return;
    }
    let busy = spin(&format!("osprey-pccpu-{}", std::process::id()));
    // A row: CPU%, Process, Host_pid, Container_pid (20 columns each), then
    // container.name. The spinning shell is the container's first process.
    let hit = |l: &String| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() == 5
            && f[1] == "sh"
            && f[3] == "1"
            && f[4] == busy.name
            && f[2].parse::<u32>().is_ok_and(|pid| pid > 1)
            && pct(l).is_some_and(|p| p > 10.0)
    };
    let lines = run_until(&["-pc", "-c", "topprocs_cpu"], |ls| ls.iter().any(hit));
    assert!(
        lines.iter().any(hit),
        "no row for sh in {} above 10% in:\n{}",
        busy.name,
        lines.join("\n")
    );
}
