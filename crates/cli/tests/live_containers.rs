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

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One live capture at a time.
static LIVE: Mutex<()> = Mutex::new(());

/// The image the containers run (busybox, tagged like nginx).
const IMAGE: &str = "osprey-test/nginx:1.0";

/// The container loop: reads /etc/hostname every 200 ms. `cat` is run by its
/// path: busybox's shell runs a bare applet name through /proc/self/exe, which
/// the kernel then names `exe`.
const LOOP: &str = "while true; do /bin/cat /etc/hostname >/dev/null; sleep 0.2; done";

fn skip_or_fail(why: &str) -> bool {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "live container test: {why}"
    );
    eprintln!("\n*** SKIPPED: live container test: {why} ***\n");
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
    id: String,
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
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(id.len(), 64, "container id {id:?}");
        Container {
            name: name.to_owned(),
            id,
        }
    }

    fn short(&self) -> &str {
        &self.id[..12]
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

/// `osprey` live with `args`, stdout to `out`.
fn start(args: &[&str], out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_osprey"))
        .env("TZ", "UTC")
        .args(args)
        .stdout(std::fs::File::create(out).expect("output file"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("start osprey")
}

/// Waits until `done(output)` holds or 60 s pass, then stops `osprey` with
/// SIGINT and returns its output.
fn collect(mut osprey: Child, out: &Path, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(&std::fs::read_to_string(out).unwrap_or_default()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
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
    std::fs::read_to_string(out).unwrap_or_default()
}

#[test]
fn containers_by_name_with_their_metadata() {
    let _one = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = std::process::id();
    let before = Container::run(&format!("osprey-web1-{tag}"), LOOP);
    let out = dir.path().join("fields.out");
    let osprey = start(
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
    let after = Container::run(&format!("osprey-web2-{tag}"), LOOP);
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
    let _one = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let web = Container::run(&format!("osprey-pc-{}", std::process::id()), LOOP);
    let out = dir.path().join("pc.out");
    let osprey = start(
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
