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

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One live capture at a time.
static LIVE: Mutex<()> = Mutex::new(());

/// The image the container runs (busybox, tagged like nginx).
const IMAGE: &str = "osprey-test/nginx:1.0";

/// A shell loop that keeps one CPU busy without making system calls.
const SPIN: &str = "while :; do :; done";

fn skip_or_fail(why: &str) -> bool {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "live container chisel test: {why}"
    );
    eprintln!("\n*** SKIPPED: live container chisel test: {why} ***\n");
    false
}

/// Root, BTF and a working Docker with the test images.
fn ready() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root || !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return skip_or_fail("needs root and kernel BTF");
    }
    let up = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/docker-up");
    match Command::new(up).status() {
        Ok(s) if s.success() => true,
        Ok(s) => skip_or_fail(&format!("scripts/docker-up failed ({s})")),
        Err(e) => skip_or_fail(&format!("cannot run scripts/docker-up: {e}")),
    }
}

/// A running container, removed when dropped (also when an assertion fails).
struct Container {
    name: String,
}

impl Container {
    fn run(name: &str, cmd: &str) -> Container {
        let _ = Command::new("docker")
            .args(["rm", "-f", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let out = Command::new("docker")
            .args(["run", "-d", "--name", name, IMAGE, "sh", "-c", cmd])
            .output()
            .expect("docker run");
        assert!(
            out.status.success(),
            "docker run {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Container {
            name: name.to_owned(),
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
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
    let mut osprey: Child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .env("TZ", "UTC")
        .args(args)
        .stdout(std::fs::File::create(&out).expect("output file"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("start osprey");
    let read = || plain_lines(&std::fs::read_to_string(&out).unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(&read()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = Command::new("kill")
        .args(["-INT", &osprey.id().to_string()])
        .status();
    let status = osprey.wait().expect("wait osprey");
    let mut err = String::new();
    if let Some(mut e) = osprey.stderr.take() {
        e.read_to_string(&mut err).ok();
    }
    assert!(status.success(), "osprey failed: {err}");
    read()
}

#[test]
fn topcontainers_cpu_shows_a_busy_container() {
    let _one = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !ready() {
        return;
    }
    let busy = Container::run(&format!("osprey-cpu-{}", std::process::id()), SPIN);
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
    let _one = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !ready() {
        return;
    }
    let busy = Container::run(&format!("osprey-pccpu-{}", std::process::id()), SPIN);
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
