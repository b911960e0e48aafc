//! The native system-state and slow-call chisels (netstat, lsof, ps,
//! lscontainers, iobytes*, bottlenecks, fileslower, netlower, scallslower)
//! against sysdig 0.29.3 on every capture, and live with known ground truth:
//! a child's loopback sockets in netstat, its open file in lsof and ps, a real
//! Docker container in lscontainers.
//!
//! Row order: netstat and lsof list the thread table through Lua's `pairs`,
//! whose order for sparse tids and fds follows LuaJIT's hash table, and
//! lscontainers lists sysdig's container hash map; osprey lists tids, fds and
//! container ids in ascending order. For those three the header must match
//! exactly and the rows as a sorted set. Everything else is byte for byte.

mod common;

use common::{
    can_capture, captures, one_at_a_time, ready, sysdig_available, Container, Engine, Mismatch,
};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Chisel and its argument token (`-c NAME TOKEN`).
const CASES: &[(&str, Option<&str>)] = &[
    ("netstat", None),
    ("lsof", None),
    ("ps", None),
    ("lscontainers", None),
    ("lscontainers", Some("desc")),
    ("iobytes", None),
    ("iobytes_net", None),
    ("iobytes_file", None),
    ("bottlenecks", None),
    ("fileslower", Some("0")),
    ("fileslower", Some("0 disable_color")),
    ("netlower", Some("0")),
    ("scallslower", Some("0")),
    ("scallslower", Some("0.01")),
];

/// Chisels whose rows sysdig prints in hash-table order, with the number of
/// header lines.
const ORDER_FREE: &[(&str, usize)] = &[("netstat", 1), ("lsof", 1), ("lscontainers", 2)];

/// Differences that come from below the chisels (capture, chisel, why). Each
/// is checked to still differ, so that a fix shows up here.
const KNOWN: &[(&str, &str, &str)] = &[(
    "inspect_502Error.scap",
    "netlower",
    "state: fd.name of a UDP socket sending to 145.216.3.255:514 shows 127.0.0.1 on both ends",
)];

/// Runs `bin -r file [pre...] -c chisel [token]`; `None` when it fails (sysdig
/// cannot read every capture).
fn run(bin: &str, file: &Path, pre: &[&str], chisel: &str, token: Option<&str>) -> Option<Vec<u8>> {
    let out = Command::new(bin)
        .env("TZ", "UTC")
        .arg("-r")
        .arg(file)
        .args(pre)
        .args(["-c", chisel])
        .args(token)
        .output()
        .expect("run");
    out.status.success().then_some(out.stdout)
}

/// The header lines as they are, then the other lines sorted.
fn header_then_sorted(b: &[u8], header: usize) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    let n = header.min(lines.len());
    lines[n..].sort_unstable();
    lines.join(&b'\n')
}

/// Compares one case; `Some(mismatch)` when the outputs differ, `None` when
/// they match or sysdig cannot read the capture.
fn compare(file: &Path, pre: &[&str], chisel: &str, token: Option<&str>) -> Option<Mismatch> {
    let want = run("sysdig", file, pre, chisel, token)?;
    let got = run(env!("CARGO_BIN_EXE_osprey"), file, pre, chisel, token)
        .unwrap_or_else(|| panic!("osprey failed on {} -c {chisel}", file.display()));
    let (want, got) = match ORDER_FREE.iter().find(|(c, _)| *c == chisel) {
        Some(&(_, header)) => (
            header_then_sorted(&want, header),
            header_then_sorted(&got, header),
        ),
        None => (want, got),
    };
    let mut args = pre.to_vec();
    args.extend(["-c", chisel]);
    args.extend(token);
    let name = file
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Mismatch::check(&name, &args, &want, &got)
}

#[test]
fn chisels_match_sysdig_on_every_capture() {
    if !sysdig_available() {
        return;
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for file in captures() {
        let name = file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        for &(chisel, token) in CASES {
            let known = KNOWN.iter().find(|(c, ch, _)| *c == name && *ch == chisel);
            match (compare(&file, &[], chisel, token), known) {
                (None, None) => compared += 1,
                (Some(m), None) => failures.push(m.to_string()),
                (Some(_), Some(_)) => {}
                (None, Some((_, _, why))) => {
                    // sysdig may also have failed to read it; only a real match counts.
                    if run("sysdig", &file, &[], chisel, token).is_some() {
                        failures.push(format!(
                            "--- {name} -c {chisel}: now matches sysdig, remove it from KNOWN ({why})"
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared > 100, "only {compared} comparisons ran");
}

/// Container columns (`-pc`) and the filter argument of the state chisels.
#[test]
fn container_columns_and_filters_match_sysdig() {
    if !sysdig_available() {
        return;
    }
    let cases: &[(&[&str], &str, Option<&str>)] = &[
        (&["-pc"], "fileslower", Some("0")),
        (&["-pc"], "netlower", Some("0")),
        (&["-pc"], "scallslower", Some("0")),
        (&[], "netstat", Some("proc.name=sshd")),
        (&[], "netstat", Some("fd.port=22")),
        (&[], "lsof", Some("proc.name=sshd")),
        (&[], "lsof", Some("fd.type=ipv4")),
        (&[], "lsof", Some("'not fd.directory contains /dev'")),
        (&[], "lsof", Some("fd.filename=null")),
        (&[], "ps", Some("fd.name contains /etc")),
        (&[], "ps", Some("fd.directory=/etc")),
        (&[], "ps", Some("proc.name=bash")),
    ];
    let mut failures = Vec::new();
    for cap in [
        "libs_sample.scap",
        "inspect_502Error.scap",
        "falco_psp_run_as_user_0_container.scap",
        "libs_curl_google.scap",
    ] {
        let Some(file) = common::shared(&format!("captures/{cap}")) else {
            return;
        };
        for &(pre, chisel, token) in cases {
            let known = KNOWN.iter().any(|(c, ch, _)| *c == cap && *ch == chisel);
            if let Some(m) = compare(&file, pre, chisel, token).filter(|_| !known) {
                failures.push(m.to_string());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `-i` describes each chisel (arguments included) in sysdig's words.
#[test]
fn info_matches_sysdig() {
    if !sysdig_available() {
        return;
    }
    let mut failures = Vec::new();
    for chisel in [
        "netstat",
        "lsof",
        "ps",
        "lscontainers",
        "iobytes",
        "iobytes_net",
        "iobytes_file",
        "bottlenecks",
        "fileslower",
        "netlower",
        "scallslower",
    ] {
        let want = Command::new("sysdig")
            .args(["-i", chisel])
            .output()
            .expect("sysdig -i");
        let got = common::osprey_args(&["-i", chisel]);
        if let Some(m) = Mismatch::check("-i", &[chisel], &want.stdout, &got.stdout) {
            failures.push(m.to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_bad_threshold_or_filter_is_an_error() {
    let out = common::osprey_args(&["-c", "fileslower", "x"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must be a number"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::osprey_args(&["-c", "lsof", "proc.name="]);
    assert!(!out.status.success());
}

// ---- live ----

/// What the skip message calls the live tests.
const WHAT: &str = "live chisel test";

/// Runs `osprey args` live until it ends by itself (the snapshot chisels end
/// at their first event) or 60 s pass; returns its stdout.
fn live(args: &[&str]) -> String {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .env("TZ", "UTC")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start osprey");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait osprey").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait().expect("wait osprey");
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).ok();
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).ok();
    }
    assert!(status.success(), "osprey {args:?} failed: {err}\n{out}");
    out
}

/// A child process, killed when dropped (also when an assertion fails).
struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn live_netstat_lsof_and_ps_show_a_childs_sockets_and_file() {
    let _one = one_at_a_time();
    if !can_capture(WHAT) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let held = dir.path().join("held.txt");
    std::fs::write(&held, b"held open by the child\n").expect("write");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let cport = client.local_addr().expect("addr").port();
    let (_server_end, _) = listener.accept().expect("accept");
    // The child holds the listening socket as fd 0, the connected client
    // socket as fd 1 and the file as fd 2.
    let kid = Kid(Command::new("sleep")
        .arg("60")
        .stdin(Stdio::from(OwnedFd::from(listener)))
        .stdout(Stdio::from(OwnedFd::from(client)))
        .stderr(Stdio::from(std::fs::File::open(&held).expect("open")))
        .spawn()
        .expect("spawn sleep"));
    let pid = kid.0.id();
    let filter = format!("proc.pid={pid}");

    let text = live(&["-c", "netstat", &filter]);
    let listen = format!(
        "{:<6}{:<25}{:<25}{:<15}{pid}/{pid}/sleep",
        "tcp",
        format!("127.0.0.1:{port}"),
        "0.0.0.0:*",
        "LISTEN"
    );
    let established = format!(
        "{:<6}{:<25}{:<25}{:<15}{pid}/{pid}/sleep",
        "tcp",
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:{cport}"),
        "ESTABLISHED"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("Proto Server Address           Client Address           State          TID/PID/Program Name"),
        "{text}"
    );
    assert!(
        lines.contains(&listen.as_str()),
        "no {listen:?} in:\n{text}"
    );
    assert!(
        lines.contains(&established.as_str()),
        "no {established:?} in:\n{text}"
    );
    assert_eq!(lines.len(), 3, "only the child's two sockets:\n{text}");

    let text = live(&["-c", "lsof", &filter]);
    let row = format!(
        "{:<20}{:<8}{:<8}{:<8}{:<8}{:<12}{}",
        "sleep",
        pid,
        pid,
        "root",
        2,
        "file",
        held.display()
    );
    assert!(text.lines().any(|l| l == row), "no {row:?} in:\n{text}");
    assert!(
        text.lines().any(|l| l.starts_with(&format!(
            "{:<20}{pid:<8}{pid:<8}{:<8}{:<8}ipv4",
            "sleep", "root", 0
        ))),
        "no listening socket on fd 0 in:\n{text}"
    );

    let text = live(&["-c", "ps", &format!("fd.name={}", held.display())]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "the header and the child:\n{text}");
    assert!(
        lines[1].starts_with(&format!("{pid:<8}{pid:<8}{:<12}", "root"))
            && lines[1].ends_with("sleep"),
        "{text}"
    );
}

#[test]
fn live_lscontainers_lists_a_docker_container() {
    let _one = one_at_a_time();
    if !ready(WHAT, Engine::Docker) {
        return;
    }
    let container = Container::run(
        Engine::Docker,
        &format!("osprey-lsc-{}", std::process::id()),
        "osprey-test/nginx:1.0",
        &["sleep", "120"],
    );
    let (name, short) = (&container.name, container.short());

    let text = live(&["-c", "lscontainers"]);
    // The image is cut to 15 characters and a space, as extend_string does.
    let row = format!(
        "{:<15}{:<16}{:<20}{:<13}",
        "docker", "osprey-test/ngi", name, short
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("container.type container.image container.name      container.id "),
        "{text}"
    );
    assert!(lines.contains(&row.as_str()), "no {row:?} in:\n{text}");

    let text = live(&["-c", "lscontainers", "desc"]);
    for want in [
        format!("  name = \"{name}\","),
        "  image = \"osprey-test/nginx:1.0\",".to_owned(),
        format!("  id = \"{short}\","),
        "  type = \"docker\",".to_owned(),
    ] {
        assert!(text.lines().any(|l| l == want), "no {want:?} in:\n{text}");
    }
}
