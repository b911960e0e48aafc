//! What the live osprey-guard tests share.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Whether live tests can run here: root and kernel BTF. Outside CI a
/// missing requirement skips the test loudly; under `CI=true` it fails.
pub(crate) fn live_ready() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0");
    let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    let missing = match (root, btf) {
        (true, true) => return true,
        (false, _) => "root (the eBPF driver needs it)",
        (true, false) => "kernel BTF (/sys/kernel/btf/vmlinux)",
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "live test needs {missing}"
    );
    eprintln!("SKIPPED: live osprey-guard test needs {missing}");
    false
}

/// The shared capture `name`, or `None` when it is missing outside CI (after
/// saying loudly that the test skipped); under `CI=true` a missing capture
/// fails the test.
pub(crate) fn capture(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures/"
    ))
    .join(name);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing capture {}",
        p.display()
    );
    eprintln!("SKIPPED: missing capture {}", p.display());
    None
}

/// One alert: its rule name and output line.
#[derive(Debug, Clone)]
pub(crate) struct Alert {
    pub(crate) rule: String,
    pub(crate) output: String,
}

/// A running `osprey-guard`; every JSON alert read so far by
/// [`Guard::saw_alert`] is in `seen`. Dropping it sends SIGINT, then kills it
/// if it lingers.
pub(crate) struct Guard {
    child: Child,
    lines: Receiver<String>,
    pub(crate) seen: Vec<Alert>,
    stderr: PathBuf,
}

impl Guard {
    /// Starts `osprey-guard args...`, its stderr to the file `stderr`.
    pub(crate) fn start(args: &[&str], stderr: PathBuf) -> Guard {
        Guard::start_with_env(args, &[], stderr)
    }

    /// [`Guard::start`] with the extra environment variables `env`.
    pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &str)], stderr: PathBuf) -> Guard {
        let mut child = Command::new(env!("CARGO_BIN_EXE_osprey-guard"))
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start osprey-guard");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Guard {
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line as it is (not read as an alert), waiting up to
    /// `wait` for it.
    pub(crate) fn next_line(&self, wait: Duration) -> Option<String> {
        self.lines.recv_timeout(wait).ok()
    }

    /// Runs `trigger` until a stdout line contains `needle` (the driver
    /// attaches after the process starts) or `deadline` passes, then returns
    /// that line. Reads lines as they are, not as alerts; panics at the
    /// deadline or if osprey-guard exits.
    pub(crate) fn wait_for(
        &mut self,
        needle: &str,
        deadline: Duration,
        mut trigger: impl FnMut(),
    ) -> String {
        let start = Instant::now();
        while start.elapsed() < deadline {
            trigger();
            let round = Instant::now();
            while round.elapsed() < Duration::from_millis(500) {
                match self.lines.recv_timeout(Duration::from_millis(100)) {
                    Ok(line) if line.contains(needle) => return line,
                    Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        panic!("osprey-guard exited early:\n{}", self.stderr_text())
                    }
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("osprey-guard exited ({status}):\n{}", self.stderr_text());
            }
        }
        panic!(
            "no alert containing {needle:?} after {deadline:?}:\n{}",
            self.stderr_text()
        );
    }

    /// Waits up to `within` for the driver to attach: runs `find dir -name
    /// id_rsa` until the rule *Search for private keys or passwords* alerts
    /// on `dir` (the rules must include it); fails the test at the deadline.
    pub(crate) fn wait_attached(&mut self, dir: &Path, within: Duration) {
        let search_dir = dir.to_str().unwrap().to_owned();
        let start = Instant::now();
        loop {
            run("find", &[&search_dir, "-name", "id_rsa"]);
            if self.saw(
                "Search for private keys or passwords",
                &search_dir,
                Duration::from_millis(500),
            ) {
                return;
            }
            assert!(
                start.elapsed() < within,
                "no alert after {within:?}:\n{}",
                self.stderr_text()
            );
        }
    }

    /// Sends SIGINT (as Ctrl-C) and waits up to 20 s for it to exit, then
    /// kills it; its exit status if it stopped by itself.
    pub(crate) fn stop(&mut self) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    pub(crate) fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Reads alerts for up to `wait`; true once one of `rule` whose output
    /// contains `needle` has been seen.
    pub(crate) fn saw(&mut self, rule: &str, needle: &str, wait: Duration) -> bool {
        self.saw_alert(|a| a.rule == rule && a.output.contains(needle), wait)
    }

    /// Reads alerts for up to `wait`; true once one that satisfies `want`
    /// has been seen.
    pub(crate) fn saw_alert(&mut self, want: impl Fn(&Alert) -> bool, wait: Duration) -> bool {
        let start = Instant::now();
        loop {
            if self.seen.iter().any(&want) {
                return true;
            }
            let left = wait.saturating_sub(start.elapsed());
            if left.is_zero() {
                return false;
            }
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(line) => {
                    let v: serde_json::Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("not a JSON alert ({e}): {line}"));
                    self.seen.push(Alert {
                        rule: v["rule"].as_str().unwrap_or_default().to_owned(),
                        output: v["output"].as_str().unwrap_or_default().to_owned(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("osprey-guard exited early:\n{}", self.stderr_text())
                }
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

/// Runs `program` with `args`; its outcome does not matter (some triggers
/// fail on purpose once the event has happened).
pub(crate) fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) {
    let _ = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Removes `paths` when dropped, so system directories are cleaned up even
/// when an assertion fails.
pub(crate) struct Cleanup(pub(crate) Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}
