//! `osprey-guard` live (modern eBPF driver, root): one tiny rule fired by a
//! real `open` of a unique file, delivered end to end to every output at
//! once: stdout, a real HTTP server, the real `/dev/log` socket, a file and a
//! program reading its stdin (`cat >> FILE`).
//!
//! Needs root and kernel BTF: under `CI=true` their absence fails the test,
//! elsewhere it is skipped loudly.

mod common;

use common::{live_ready, Guard};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// How long the driver may take to attach, and each output to deliver.
const DEADLINE: Duration = Duration::from_secs(90);

/// One HTTP request as the test server read it.
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 (std only): each request's head and
/// body go to the returned channel, each answer is `200 OK`.
fn http_server() -> (u16, Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            // Keep-alive: several requests may come on one connection.
            loop {
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if line == "\r\n" => break,
                        Ok(_) => head.push_str(&line),
                    }
                }
                if head.is_empty() {
                    break;
                }
                let mut req = Request {
                    head,
                    body: Vec::new(),
                };
                let len: usize = req
                    .header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                req.body.resize(len, 0);
                if reader.read_exact(&mut req.body).is_err() {
                    break;
                }
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                if tx.send(req).is_err() {
                    return;
                }
            }
        }
    });
    (port, rx)
}

/// What was at `/dev/log` before the test took it.
enum Previous {
    Nothing,
    Symlink(PathBuf),
    /// A socket file nobody listened on: removed, not put back.
    StaleSocket,
}

/// The test acting as the syslog daemon on the real `/dev/log`, when no
/// daemon listens there. Dropping it removes its socket and puts back a
/// symlink that was there.
struct FakeSyslog {
    socket: UnixDatagram,
    previous: Previous,
}

impl FakeSyslog {
    /// `None` when a live daemon already listens on `/dev/log` (the test
    /// then cannot see the datagrams) or something else is there.
    fn bind() -> Option<FakeSyslog> {
        let path = Path::new("/dev/log");
        let previous = match std::fs::symlink_metadata(path) {
            Err(_) => Previous::Nothing,
            Ok(meta) if meta.file_type().is_symlink() => {
                if UnixDatagram::unbound().unwrap().connect(path).is_ok() {
                    return None;
                }
                let target = std::fs::read_link(path).unwrap();
                std::fs::remove_file(path).unwrap();
                Previous::Symlink(target)
            }
            Ok(meta) if meta.file_type().is_socket() => {
                if UnixDatagram::unbound().unwrap().connect(path).is_ok() {
                    return None;
                }
                std::fs::remove_file(path).unwrap();
                Previous::StaleSocket
            }
            Ok(_) => return None,
        };
        let socket = UnixDatagram::bind(path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Some(FakeSyslog { socket, previous })
    }

    /// The next datagram, or `None` once `DEADLINE` passes.
    fn recv(&self, start: Instant) -> Option<String> {
        let mut buf = vec![0; 65536];
        while start.elapsed() < DEADLINE {
            if let Ok(n) = self.socket.recv(&mut buf) {
                return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        None
    }
}

impl Drop for FakeSyslog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file("/dev/log");
        match &self.previous {
            Previous::Symlink(target) => {
                let _ = std::os::unix::fs::symlink(target, "/dev/log");
            }
            Previous::Nothing | Previous::StaleSocket => {}
        }
    }
}

/// Polls `path` until it holds a line containing `needle`.
fn file_line(path: &Path, needle: &str) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            return Some(line.to_owned());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Checks one Falco JSON alert of `rule`; returns what is wrong.
fn check_json(what: &str, line: &str, rule: &str, marker: &str) -> Vec<String> {
    let v: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return vec![format!("{what}: not JSON ({e}): {line}")],
    };
    let mut bad = Vec::new();
    let keys: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let want = [
        "hostname",
        "output",
        "output_fields",
        "priority",
        "rule",
        "source",
        "tags",
        "time",
    ];
    for k in want {
        if !keys.contains(&k) {
            bad.push(format!("{what}: key {k} missing in {line}"));
        }
    }
    let expect = [
        ("hostname", serde_json::json!("live-test-host")),
        ("priority", serde_json::json!("Warning")),
        ("rule", serde_json::json!(rule)),
        ("source", serde_json::json!("syscall")),
        ("tags", serde_json::json!(["live", "test"])),
    ];
    for (k, want) in expect {
        if v[k] != want {
            bad.push(format!("{what}: {k} is {} not {want}", v[k]));
        }
    }
    if v["output_fields"]["fd.name"] != serde_json::json!(marker) {
        bad.push(format!(
            "{what}: output_fields.fd.name is not {marker}: {line}"
        ));
    }
    if !v["output"].as_str().is_some_and(|o| o.contains(marker)) {
        bad.push(format!("{what}: output does not name {marker}: {line}"));
    }
    let time = v["time"].as_str().unwrap_or_default();
    if !(time.len() == 30 && time.ends_with('Z') && time.as_bytes()[10] == b'T') {
        bad.push(format!(
            "{what}: time {time:?} is not RFC 3339 in UTC with ns"
        ));
    }
    bad
}

/// Checks one alert line in the form `json` selects; returns what is wrong.
fn check(json: bool, what: &str, line: &str, rule: &str, marker: &str) -> Vec<String> {
    if json {
        return check_json(what, line, rule, marker);
    }
    // `HH:MM:SS.nnnnnnnnn: Warning marker opened (file=... command=cat ...)`
    let want = format!(": Warning marker opened (file={marker} command=cat {marker})");
    let ok = line.len() == 18 + want.len() && line.ends_with(&want) && line.as_bytes()[8] == b'.';
    if ok {
        Vec::new()
    } else {
        vec![format!("{what}: text line {line:?} is not <time>{want}")]
    }
}

/// The live alert goes out to every channel; `json` picks `json_output`,
/// `keep_alive` the file and program outputs' `keep_alive`.
fn every_output(json: bool, keep_alive: bool) {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("osprey-live-marker");
    std::fs::write(&marker, "x").unwrap();
    let marker = marker.to_str().unwrap().to_owned();
    let rule = "Live outputs test open";
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        format!(
            "- rule: {rule}\n  desc: the test opened its marker file\n  \
             condition: evt.type in (open, openat, openat2) and fd.name = {marker}\n  \
             output: marker opened (file=%fd.name command=%proc.cmdline)\n  \
             priority: WARNING\n  tags: [live, test]\n"
        ),
    )
    .unwrap();
    let (port, requests) = http_server();
    let syslog = FakeSyslog::bind();
    if syslog.is_none() {
        eprintln!("SKIPPED (syslog part only): a syslog daemon owns /dev/log");
    }
    let file_out = dir.path().join("file_output.txt");
    let prog_out = dir.path().join("program_output.txt");
    let json_opt = format!("json_output={json}");
    let url = format!("http_output.url=http://127.0.0.1:{port}/");
    let file_opt = format!("file_output.filename={}", file_out.display());
    let prog_opt = format!("program_output.program=cat >> {}", prog_out.display());
    let file_keep = format!("file_output.keep_alive={keep_alive}");
    let prog_keep = format!("program_output.keep_alive={keep_alive}");
    let syslog_on = format!("syslog_output.enabled={}", syslog.is_some());
    let mut args = vec![
        "-r",
        rules.to_str().unwrap(),
        "-U",
        "-o",
        &json_opt,
        "-o",
        "stdout_output.enabled=true",
        "-o",
        &syslog_on,
        "-o",
        "http_output.enabled=true",
        "-o",
        &url,
        "-o",
        "file_output.enabled=true",
        "-o",
        &file_opt,
        "-o",
        &file_keep,
        "-o",
        "program_output.enabled=true",
        "-o",
        &prog_opt,
        "-o",
        &prog_keep,
    ];
    if !json {
        args.extend(["-o", "time_format_iso_8601=false"]);
    }
    let mut guard = Guard::start_with_env(
        &args,
        &[("FALCO_HOSTNAME", "live-test-host")],
        dir.path().join("stderr.txt"),
    );
    let pid = guard.pid();
    let started = Instant::now();
    let stdout = guard.wait_for(&marker, DEADLINE, || {
        let st = Command::new("cat")
            .arg(&marker)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    });

    let mut bad = check(json, "stdout", &stdout, rule, &marker);

    // HTTP: the first POST of an alert.
    let content_type = if json {
        "application/json"
    } else {
        "text/plain"
    };
    match requests.recv_timeout(DEADLINE) {
        Ok(req) => {
            if !req.head.starts_with("POST / HTTP/1.1") {
                bad.push(format!("http: request line: {}", req.head));
            }
            if req.header("content-type") != Some(content_type) {
                bad.push(format!(
                    "http: content-type: {:?}",
                    req.header("content-type")
                ));
            }
            let body = String::from_utf8_lossy(&req.body);
            bad.extend(check(json, "http", &body, rule, &marker));
        }
        Err(e) => bad.push(format!("http: no request ({e})")),
    }

    // Syslog: `<PRI>Mmm dd hh:mm:ss ident[pid]: message`, PRI = user (8) +
    // warning (4).
    if let Some(syslog) = &syslog {
        match syslog.recv(started) {
            Some(dgram) => {
                let prefix = format!("osprey-guard[{pid}]: ");
                match dgram.split_once(&prefix) {
                    Some((head, msg)) if head.starts_with("<12>") && head.len() == 20 => {
                        bad.extend(check(json, "syslog", msg, rule, &marker));
                    }
                    _ => bad.push(format!("syslog: datagram {dgram:?}")),
                }
                if dgram.ends_with('\n') {
                    bad.push("syslog: datagram ends with a newline".into());
                }
            }
            None => bad.push("syslog: no datagram on /dev/log".into()),
        }
    }

    // File and program: one line each per alert.
    match file_line(&file_out, &marker) {
        Some(line) => bad.extend(check(json, "file", &line, rule, &marker)),
        None => bad.push("file: no alert line".into()),
    }
    match file_line(&prog_out, &marker) {
        Some(line) => bad.extend(check(json, "program", &line, rule, &marker)),
        None => bad.push("program: no alert line".into()),
    }

    let status = guard.stop();
    let stderr = guard.stderr_text();
    if !status.is_some_and(|s| s.success()) {
        bad.push(format!("SIGINT did not stop it cleanly: {status:?}"));
    }
    if !stderr.contains("Events detected:") {
        bad.push("no summary on stderr after SIGINT".into());
    }
    // After the stop every alert on stdout is in the file and went through
    // the program: nothing is left in a buffer.
    let alerts = std::iter::from_fn(|| guard.next_line(Duration::from_secs(5)))
        .filter(|l| l.contains(&marker))
        .count()
        + 1;
    for (what, path) in [("file", &file_out), ("program", &prog_out)] {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let n = text.lines().filter(|l| l.contains(&marker)).count();
        if n != alerts {
            bad.push(format!("{what}: {n} alert lines, stdout had {alerts}"));
        }
    }
    assert!(bad.is_empty(), "{}\nstderr:\n{stderr}", bad.join("\n"));
}

/// The tests share `/dev/log`: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn live_json_alert_reaches_every_output() {
    let _one = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if live_ready() {
        every_output(true, false);
    }
}

#[test]
fn live_text_alert_reaches_every_output_kept_alive() {
    let _one = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if live_ready() {
        every_output(false, true);
    }
}
