//! Live test of the `cgroups` parameter the eBPF driver fills in clone and
//! execve exits (needs root and BTF; under `CI=true` their absence, or a
//! failing `scripts/docker-up`, fails the test, elsewhere it is SKIPPED).
//!
//! On the host, the test binary re-executes itself as a child (env
//! `OSPREY_CG_CHILD`) that moves itself into a new cgroup when it can (three
//! levels; 17, too deep to send; five of 250 characters, too long for the
//! 1024-byte cap), saves its `/proc/self/cgroup` and execs /bin/true: the
//! child-side clone exit must carry the test's cgroups, the execve exit the
//! saved ones.
//! In Docker, `cat /proc/self/cgroup` in a container must carry the
//! container's (`cpu=/docker/<id>` with the cgroupfs driver).

mod common;

use common::{capture, skip_or_fail, Capture};
use osprey_probe::driver::{Config, Driver};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "OSPREY_CG_CHILD";
/// The cgroup directory the child moves itself into, when set.
const MOVE_ENV: &str = "OSPREY_CG_MOVE";
/// Index of `cgroups` in clone and execve exits.
const CGROUPS: usize = 14;
const CLONE_TYPES: [u16; 4] = [223, 225, 227, 335];
const EXECVE_X: u16 = 293;
const CONTAINER: &str = "osprey-cg-test";
/// The cap on the whole param, and the deepest cgroup path sent.
const CAP: usize = 1024;
const DEPTH: usize = 16;

fn child(dir: &str) -> ! {
    if let Ok(cg) = std::env::var(MOVE_ENV) {
        let procs = Path::new(&cg).join("cgroup.procs");
        std::fs::write(&procs, std::process::id().to_string()).expect("join the cgroup");
    }
    let own = std::fs::read("/proc/self/cgroup").expect("/proc/self/cgroup");
    std::fs::write(Path::new(dir).join("cgroup"), own).expect("save cgroup");
    let err = std::process::Command::new("/bin/true").exec();
    panic!("exec failed: {err}");
}

/// The controllers enabled on the cgroup-v2 hierarchy (none when it is not
/// mounted at /sys/fs/cgroup, as on a v1 or hybrid host).
fn v2_controllers() -> Vec<String> {
    std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// What the driver should send for a task whose `/proc/PID/cgroup` is
/// `text`: "subsys=path\0" for cpuset, cpu, cpuacct, blkio (io on v2) and
/// memory, in that order, each from its v1 line or else, when the v2
/// hierarchy has it, from the v2 line (the /proc scan's conversion,
/// restricted to those controllers).
fn expected(text: &str, v2: &[String]) -> Vec<u8> {
    let lines: Vec<(Vec<&str>, &str)> = text
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ':');
            let (_, ctrls, path) = (p.next()?, p.next()?, p.next()?);
            Some((ctrls.split(',').filter(|c| !c.is_empty()).collect(), path))
        })
        .collect();
    let v2_path = lines.iter().find(|(c, _)| c.is_empty()).map(|(_, p)| *p);
    let mut out = Vec::new();
    for (v1, v2_name) in [
        ("cpuset", Some("cpuset")),
        ("cpu", Some("cpu")),
        ("cpuacct", None),
        ("blkio", Some("io")),
        ("memory", Some("memory")),
    ] {
        let entry = if let Some((_, path)) = lines.iter().find(|(c, _)| c.contains(&v1)) {
            Some((v1, *path))
        } else {
            v2_name.filter(|n| v2.iter().any(|c| c == n)).zip(v2_path)
        };
        if let Some((name, path)) = entry {
            // Whole entries within 1024 bytes, paths at most 16 levels deep.
            let e = format!("{name}={path}\0");
            if out.len() + e.len() <= CAP && path.matches('/').count() <= DEPTH {
                out.extend_from_slice(e.as_bytes());
            }
        }
    }
    out
}

/// A fresh cgroup under the test's own cpu cgroup (v1) or v2 cgroup, one
/// level per name in `names` below a top level, or `None` if it cannot be
/// made. Returns the levels, top first.
fn make_cgroup(own: &str, names: &[String]) -> Option<Vec<PathBuf>> {
    let (mount, ctrl) = if Path::new("/sys/fs/cgroup/cpu/cgroup.procs").exists() {
        ("/sys/fs/cgroup/cpu", "cpu")
    } else {
        ("/sys/fs/cgroup", "")
    };
    let path = own.lines().find_map(|l| {
        let mut p = l.splitn(3, ':');
        let (_, ctrls, path) = (p.next()?, p.next()?, p.next()?);
        let hit = if ctrl.is_empty() {
            ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == ctrl)
        };
        hit.then_some(path)
    })?;
    let top = Path::new(mount)
        .join(path.trim_start_matches('/'))
        .join(format!("osprey-cg-{}", std::process::id()));
    let mut levels = vec![top];
    for n in names {
        let next = levels[levels.len() - 1].join(n);
        levels.push(next);
    }
    match std::fs::create_dir_all(&levels[levels.len() - 1]) {
        Ok(()) => Some(levels),
        Err(e) => {
            eprintln!("driver_cgroups: cannot make a cgroup under {mount}: {e}");
            remove_cgroup(&levels);
            None
        }
    }
}

fn remove_cgroup(levels: &[PathBuf]) {
    for l in levels.iter().rev() {
        let _ = std::fs::remove_dir(l);
    }
}

/// Checks the clone and execve exits of a child that moves into a new cgroup
/// with levels `names`; false if the test skipped.
fn host(v2: &[String], names: &[String]) -> bool {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let own = std::fs::read_to_string("/proc/self/cgroup").expect("/proc/self/cgroup");
    let levels = make_cgroup(&own, names);
    let extra: Vec<(&str, String)> = levels
        .iter()
        .map(|l| (MOVE_ENV, l[l.len() - 1].display().to_string()))
        .collect();
    let cap = capture("driver_cgroups", &Config::default(), CHILD_ENV, dir, &extra);
    if let Some(l) = &levels {
        remove_cgroup(l);
    }
    let Some(Capture { evs, .. }) = cap else {
        return false;
    };
    let clone = evs
        .iter()
        .find(|e| CLONE_TYPES.contains(&e.etype) && e.i64(0) == 0)
        .unwrap_or_else(|| panic!("no child-side clone exit in {evs:#?}"));
    let want = expected(&own, v2);
    assert!(!want.is_empty(), "no controllers in {own:?}");
    assert_eq!(
        String::from_utf8_lossy(clone.str(CGROUPS)),
        String::from_utf8_lossy(&want),
        "clone exit cgroups (the test's: {own:?})"
    );
    let saved = std::fs::read_to_string(dir.join("cgroup")).expect("child's cgroup");
    let exec = evs
        .iter()
        .find(|e| e.etype == EXECVE_X && e.i64(0) == 0 && e.str(13) == b"true\0")
        .unwrap_or_else(|| panic!("no successful execve of /bin/true in {evs:#?}"));
    let want = expected(&saved, v2);
    assert_eq!(
        String::from_utf8_lossy(exec.str(CGROUPS)),
        String::from_utf8_lossy(&want),
        "execve exit cgroups (the child's: {saved:?})"
    );
    assert!(
        levels.is_none() || saved.contains(&format!("/{}\n", names[names.len() - 1])),
        "the child did not move: {saved:?}"
    );
    eprintln!(
        "driver_cgroups: host clone {:?}\ndriver_cgroups: host execve {:?}",
        String::from_utf8_lossy(clone.str(CGROUPS)),
        String::from_utf8_lossy(exec.str(CGROUPS))
    );
    true
}

fn docker(args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("run docker")
}

fn in_docker(v2: &[String]) {
    let up = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/docker-up");
    let ok = std::process::Command::new("bash")
        .arg(up)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip_or_fail("driver_cgroups (docker)", "scripts/docker-up failed");
        return;
    }
    let _ = docker(&["rm", "-f", CONTAINER]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let cidfile = tmp.path().join("cid");
    let cfg = Config {
        only: Some(vec!["execve".to_string()]),
        ..Config::default()
    };
    let mut driver = Driver::open(&cfg).expect("driver open");
    let mut run = std::process::Command::new("docker")
        .args([
            "run",
            "--rm",
            "--cgroupns",
            "host",
            "--name",
            CONTAINER,
            "--cidfile",
        ])
        .arg(&cidfile)
        .args(["osprey-test/busybox:1.0", "cat", "/proc/self/cgroup"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("docker run");
    let mut cats = Vec::new();
    let mut exited: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if exited.is_none() && run.try_wait().expect("wait docker run").is_some() {
            exited = Some(Instant::now());
        }
        if exited.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
            break;
        }
        if let Some(e) = driver
            .next_event(Duration::from_millis(100))
            .expect("event")
        {
            if e.etype() == EXECVE_X && e.param(13) == Some(b"cat\0".as_slice()) {
                cats.push(common::Ev::from(&e));
            }
        }
    }
    let out = run.wait_with_output().expect("docker run output");
    assert!(out.status.success(), "docker run failed: {out:?}");
    let inside = String::from_utf8(out.stdout).expect("utf-8 cgroup");
    let cid = std::fs::read_to_string(&cidfile).expect("cidfile");
    let cid = cid.trim();
    assert!(
        cid.len() == 64 && cid.bytes().all(|b| b.is_ascii_hexdigit()),
        "container id {cid:?}"
    );
    let want = expected(&inside, v2);
    let cat = cats
        .iter()
        .find(|e| e.i64(0) == 0 && e.str(CGROUPS) == want.as_slice())
        .unwrap_or_else(|| {
            panic!(
                "no execve of cat with cgroups {:?}; cat execves: {:?}",
                String::from_utf8_lossy(&want),
                cats.iter()
                    .map(|e| String::from_utf8_lossy(e.str(CGROUPS)).into_owned())
                    .collect::<Vec<_>>()
            )
        });
    let param = String::from_utf8_lossy(cat.str(CGROUPS)).into_owned();
    let cpu = param
        .split('\0')
        .find_map(|e| e.strip_prefix("cpu="))
        .unwrap_or_else(|| panic!("no cpu entry in {param:?}"));
    assert!(
        cpu == format!("/docker/{cid}") || cpu.ends_with(&format!("docker-{cid}.scope")),
        "cpu cgroup {cpu:?} of container {cid}"
    );
    eprintln!("driver_cgroups: docker execve {param:?}");
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    }
    let v2 = v2_controllers();
    // Three levels; 17 levels (too deep: no cpu entry); five levels of 250
    // characters (too long for the cap: no cpu entry, the others still sent).
    let three = ["lvl2".to_string(), "lvl3".to_string()];
    let deep: Vec<String> = (2..=17).map(|i| format!("d{i}")).collect();
    let long: Vec<String> = (0..5).map(|i| format!("{i}{}", "x".repeat(249))).collect();
    for names in [&three[..], &deep, &long] {
        if !host(&v2, names) {
            return;
        }
    }
    in_docker(&v2);
    eprintln!("driver_cgroups: ok");
}
