//! Helpers shared by the end-to-end tests: fixtures, running the binaries, diffs.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

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

// ---- live tests: root, BTF, Docker/podman, containers, a running osprey ----

/// Fails the live test `what` under CI (`CI=true`); elsewhere says loudly that
/// it skipped because of `why`. Returns `false`, so `ready()`-style checks can
/// end with it.
pub(crate) fn skip_or_fail(what: &str, why: &str) -> bool {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what}: {why}"
    );
    eprintln!("\n*** SKIPPED: {what}: {why} ***\n");
    false
}

/// Whether a live capture can run here (root and kernel BTF); if not, see
/// [`skip_or_fail`].
pub(crate) fn can_capture(what: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    if root && btf {
        return true;
    }
    skip_or_fail(
        what,
        &format!("needs root and kernel BTF (root: {root}, btf: {btf})"),
    )
}

/// One live capture at a time in a test binary: two attached drivers and
/// their consumers load the machine enough to drop events. Hold the guard for
/// the whole test.
pub(crate) fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LIVE: Mutex<()> = Mutex::new(());
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A live capture can run and `engine` answers with the test images loaded
/// (`scripts/docker-up` or `scripts/podman-up` succeeds); if not, see
/// [`skip_or_fail`].
pub(crate) fn ready(what: &str, engine: Engine) -> bool {
    if !can_capture(what) {
        return false;
    }
    let script = match engine {
        Engine::Docker => "docker-up",
        Engine::Podman => "podman-up",
    };
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts")).join(script);
    match Command::new(&path).stdin(Stdio::null()).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => skip_or_fail(
            what,
            &format!(
                "scripts/{script} failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => skip_or_fail(what, &format!("cannot run scripts/{script}: {e}")),
    }
}

/// A container engine the live tests drive through its command line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// `docker`.
    Docker,
    /// `podman`.
    Podman,
}

impl Engine {
    fn program(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }

    /// Removes the container `name` if it exists, without waiting for it to stop.
    fn remove(self, name: &str) {
        let mut cmd = Command::new(self.program());
        cmd.args(["rm", "-f"]);
        if self == Engine::Podman {
            cmd.args(["-t", "0"]);
        }
        let _ = cmd
            .arg(name)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A running container, removed when dropped (also when an assertion fails).
pub(crate) struct Container {
    engine: Engine,
    /// Its name.
    pub(crate) name: String,
    /// Its full (64-digit) id.
    pub(crate) id: String,
}

impl Container {
    /// Runs `cmd` detached in a new container `name` (replacing any old one of
    /// that name) from `image`.
    pub(crate) fn run(engine: Engine, name: &str, image: &str, cmd: &[&str]) -> Container {
        engine.remove(name);
        let mut run = Command::new(engine.program());
        run.args(["run", "-d"]);
        if engine == Engine::Podman {
            // Without CAP_SYS_RESOURCE podman cannot raise the defaults it
            // would set.
            run.args([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ]);
        }
        let out = run
            .args(["--name", name, image])
            .args(cmd)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{} run: {e}", engine.program()));
        // Removed by Drop even if the checks below fail.
        let container = Container {
            engine,
            name: name.to_owned(),
            id: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        };
        assert!(
            out.status.success(),
            "{} run {name}: {}",
            engine.program(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(container.id.len(), 64, "container id {:?}", container.id);
        container
    }

    /// The 12-digit short id.
    pub(crate) fn short(&self) -> &str {
        &self.id[..12]
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.engine.remove(&self.name);
    }
}

/// A live `osprey`, killed when dropped while still running (so that a failed
/// assertion does not leave it capturing).
pub(crate) struct Osprey(pub(crate) Child);

impl Osprey {
    /// Starts `osprey args...` live with TZ=UTC, stdout to the file `out`.
    pub(crate) fn start(args: &[&str], out: &Path) -> Osprey {
        Osprey(
            Command::new(env!("CARGO_BIN_EXE_osprey"))
                .env("TZ", "UTC")
                .args(args)
                .stdout(std::fs::File::create(out).expect("output file"))
                .stderr(Stdio::piped())
                .spawn()
                .expect("start osprey"),
        )
    }

    /// Stops it with SIGINT, checks that it exited successfully and returns
    /// its stderr.
    pub(crate) fn stop(mut self) -> String {
        Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status()
            .expect("kill");
        let status = self.0.wait().expect("wait osprey");
        let mut err = String::new();
        if let Some(mut e) = self.0.stderr.take() {
            e.read_to_string(&mut err).ok();
        }
        assert!(status.success(), "osprey failed: {err}");
        err
    }
}

impl Drop for Osprey {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
