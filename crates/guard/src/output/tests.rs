//! Tests of the output channels against real files, sockets, processes and
//! an HTTP server on the loopback interface. No assertion depends on timing.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

/// Long enough never to be reached by a working test; only bounds a hang.
const PATIENCE: Duration = Duration::from_secs(30);

const TEXT: &str =
    "2016-08-04T16:17:57.881781397+0000: Warning An open was seen (command=cat /dev/null)";
const JSON: &str = r#"{"hostname":"h","output":"x","priority":"Warning","rule":"open_from_cat","source":"syscall","tags":[],"time":"2016-08-04T16:17:57.881781397Z"}"#;

fn alert(priority: Priority) -> Alert<'static> {
    Alert {
        priority,
        rule: "open_from_cat",
        time_ns: 1_470_327_477_881_781_397,
        text: TEXT,
        json: JSON,
    }
}

/// Only the channels a test enables.
fn quiet() -> OutputsConfig {
    OutputsConfig {
        stdout_output: StdoutConfig { enabled: false },
        syslog_output: SyslogConfig {
            enabled: false,
            ..SyslogConfig::default()
        },
        ..OutputsConfig::default()
    }
}

/// A stdout stand-in recording the bytes and the number of flushes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<(Vec<u8>, usize)>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().0.clone()).unwrap()
    }
    fn flushes(&self) -> usize {
        self.0.lock().unwrap().1
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap().1 += 1;
        Ok(())
    }
}

fn stdout_outputs(config: OutputsConfig) -> (Outputs, Capture) {
    let cap = Capture::default();
    let config = OutputsConfig {
        stdout_output: StdoutConfig { enabled: true },
        ..config
    };
    (
        Outputs::with_stdout(&config, Box::new(cap.clone())).unwrap(),
        cap,
    )
}

fn stats_of(stats: &Stats, kind: OutputKind) -> OutputStats {
    *stats.outputs.iter().find(|o| o.kind == kind).unwrap()
}

// ---------------------------------------------------------------- basics

#[test]
fn outputs_can_move_to_another_thread() {
    fn is_send<T: Send>() {}
    is_send::<Outputs>();
}

#[test]
fn priority_names_parse_case_insensitively() {
    for p in Priority::ALL {
        assert_eq!(parse_priority(p.as_str()).unwrap(), p);
        assert_eq!(parse_priority(&p.as_str().to_uppercase()).unwrap(), p);
        assert_eq!(parse_priority(&p.as_str().to_lowercase()).unwrap(), p);
    }
    assert_eq!(parse_priority("INFO").unwrap(), Priority::Informational);
    assert_eq!(parse_priority("info").unwrap(), Priority::Informational);
    assert_eq!(Priority::Informational.to_string(), "Informational");
    assert!(matches!(
        parse_priority("warn"),
        Err(Error::UnknownPriority { value }) if value == "warn"
    ));
    assert!(Priority::Emergency < Priority::Debug);
    assert_eq!(syslog_severity(Priority::Warning), 4);
    assert_eq!(syslog_severity(Priority::Emergency), 0);
    assert_eq!(syslog_severity(Priority::Debug), 7);
}

#[test]
fn config_reads_falco_yaml_keys_with_defaults() {
    let config: OutputsConfig = serde_json::from_value(serde_json::json!({
        "priority": "INFO",
        "json_output": true,
        "rules_files": ["/etc/falco/falco_rules.yaml"],
        "outputs": {"rate": 1, "max_burst": 5},
        "file_output": {"enabled": true, "keep_alive": true, "filename": "/tmp/x"},
        "program_output": {"enabled": true, "program": "jq ."},
        "http_output": {"enabled": true, "url": "http://h:2801/", "insecure": false}
    }))
    .unwrap();
    assert_eq!(config.priority, Priority::Informational);
    assert!(config.json_output);
    assert!(!config.buffered_outputs);
    assert_eq!(
        config.outputs,
        RateConfig {
            rate: 1.0,
            max_burst: 5
        }
    );
    assert!(config.stdout_output.enabled);
    assert!(config.syslog_output.enabled);
    assert_eq!(config.syslog_output.socket, Path::new("/dev/log"));
    assert!(config.file_output.keep_alive);
    assert_eq!(config.file_output.filename, Path::new("/tmp/x"));
    assert!(!config.program_output.keep_alive);
    assert_eq!(config.program_output.program, "jq .");
    assert_eq!(config.http_output.user_agent, "falcosecurity/falco");
    assert_eq!(config.http_output.queue_capacity, 10_000);

    let defaults: OutputsConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(defaults, OutputsConfig::default());
    assert_eq!(defaults.priority, Priority::Debug);
    assert_eq!(defaults.outputs.rate, 0.0);
    assert_eq!(defaults.file_output.filename, Path::new("./events.txt"));

    let bad = serde_json::from_str::<OutputsConfig>(r#"{"priority": "loud"}"#);
    assert!(bad.unwrap_err().to_string().contains("loud"));
}

#[test]
fn bad_configs_are_refused() {
    let mut c = quiet();
    c.program_output.enabled = true;
    assert!(matches!(
        Outputs::new(&c),
        Err(Error::Config {
            output: OutputKind::Program,
            ..
        })
    ));
    let mut c = quiet();
    c.file_output = FileConfig {
        enabled: true,
        keep_alive: false,
        filename: "".into(),
    };
    assert!(matches!(Outputs::new(&c), Err(Error::Config { .. })));
    for url in ["https://h/", "ftp://h/", "", "not a url", "http:///path"] {
        let mut c = quiet();
        c.http_output.enabled = true;
        c.http_output.url = url.to_owned();
        match Outputs::new(&c) {
            Err(Error::Config { output, target, .. }) => {
                assert_eq!(output, OutputKind::Http);
                assert_eq!(target, url);
            }
            other => panic!("{url:?}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- stdout, threshold, rate

#[test]
fn stdout_text_line_flushed_per_alert() {
    let (mut out, cap) = stdout_outputs(quiet());
    assert_eq!(
        out.send(&alert(Priority::Warning)).unwrap(),
        Disposition::Dispatched
    );
    assert_eq!(cap.flushes(), 1);
    out.send(&alert(Priority::Error)).unwrap();
    assert_eq!(cap.flushes(), 2);
    assert_eq!(cap.text(), format!("{TEXT}\n{TEXT}\n"));
    let stats = out.stats();
    assert_eq!(stats.alerts, 2);
    assert_eq!(
        stats_of(&stats, OutputKind::Stdout),
        OutputStats {
            kind: OutputKind::Stdout,
            sent: 2,
            dropped: 0,
            errors: 0,
            retries: 0
        }
    );
}

#[test]
fn stdout_json_line_buffered() {
    let mut c = quiet();
    c.json_output = true;
    c.buffered_outputs = true;
    let (mut out, cap) = stdout_outputs(c);
    out.send(&alert(Priority::Warning)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    assert_eq!(cap.flushes(), 0);
    out.flush().unwrap();
    assert_eq!(cap.flushes(), 1);
    assert_eq!(cap.text(), format!("{JSON}\n{JSON}\n"));
}

#[test]
fn alerts_below_the_priority_threshold_are_not_sent() {
    let mut c = quiet();
    c.priority = Priority::Warning;
    let (mut out, cap) = stdout_outputs(c);
    for p in Priority::ALL {
        let expected = if p <= Priority::Warning {
            Disposition::Dispatched
        } else {
            Disposition::BelowPriority
        };
        assert_eq!(out.send(&alert(p)).unwrap(), expected, "{p}");
    }
    assert_eq!(cap.text().lines().count(), 5);
    let stats = out.stats();
    assert_eq!((stats.alerts, stats.below_priority), (8, 3));
    assert_eq!(stats_of(&stats, OutputKind::Stdout).sent, 5);
}

#[test]
fn rate_limiter_refuses_beyond_the_burst() {
    let mut c = quiet();
    // Refilling one token would take ~30 years: the burst alone decides.
    c.outputs = RateConfig {
        rate: 1e-9,
        max_burst: 2,
    };
    let (mut out, cap) = stdout_outputs(c);
    let got: Vec<_> = (0..5)
        .map(|_| out.send(&alert(Priority::Error)).unwrap())
        .collect();
    assert_eq!(got[..2], [Disposition::Dispatched; 2]);
    assert_eq!(got[2..], [Disposition::RateLimited; 3]);
    assert_eq!(cap.text().lines().count(), 2);
    assert_eq!(out.stats().rate_limited, 3);
}

#[test]
fn send_at_uses_the_callers_clock() {
    let mut c = quiet();
    // One token per second, bursts of one.
    c.outputs = RateConfig {
        rate: 1.0,
        max_burst: 1,
    };
    let (mut out, cap) = stdout_outputs(c);
    let a = alert(Priority::Error);
    let s = Duration::from_secs;
    // A whole batch at one clock reading: only the burst passes.
    assert_eq!(out.send_at(&a, s(0)).unwrap(), Disposition::Dispatched);
    assert_eq!(out.send_at(&a, s(0)).unwrap(), Disposition::RateLimited);
    assert_eq!(out.send_at(&a, s(0)).unwrap(), Disposition::RateLimited);
    // The next batch, a second later: refilled by one.
    assert_eq!(out.send_at(&a, s(1)).unwrap(), Disposition::Dispatched);
    assert_eq!(out.send_at(&a, s(1)).unwrap(), Disposition::RateLimited);
    assert_eq!(cap.text().lines().count(), 2);
    assert_eq!(out.stats().rate_limited, 3);
}

#[test]
fn unlimited_outputs_do_not_read_the_clock() {
    let mut c = quiet();
    c.outputs = RateConfig {
        rate: 0.0,
        max_burst: 1,
    };
    let (out, _cap) = stdout_outputs(c);
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(out.clock(), Duration::ZERO);
}

#[test]
fn rate_zero_is_unlimited() {
    let mut c = quiet();
    c.outputs = RateConfig {
        rate: 0.0,
        max_burst: 1,
    };
    let (mut out, cap) = stdout_outputs(c);
    for _ in 0..50 {
        assert_eq!(
            out.send(&alert(Priority::Debug)).unwrap(),
            Disposition::Dispatched
        );
    }
    assert_eq!(cap.text().lines().count(), 50);
}

// ---------------------------------------------------------------- file

fn file_config(path: &Path, keep_alive: bool) -> OutputsConfig {
    let mut c = quiet();
    c.file_output = FileConfig {
        enabled: true,
        keep_alive,
        filename: path.to_owned(),
    };
    c
}

#[test]
fn file_without_keep_alive_reopens_per_alert() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.txt");
    let rotated = dir.path().join("events.txt.1");
    let mut out = Outputs::new(&file_config(&path, false)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("{TEXT}\n{TEXT}\n")
    );
    // Nothing is held open: after a rename the next alert makes a new file.
    fs::rename(&path, &rotated).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), format!("{TEXT}\n"));
    assert_eq!(fs::read_to_string(&rotated).unwrap().lines().count(), 2);
    let stats = out.close(PATIENCE).unwrap();
    assert_eq!(stats_of(&stats, OutputKind::File).sent, 3);
}

#[test]
fn file_keep_alive_follows_the_rename_until_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.txt");
    let rotated = dir.path().join("events.txt.1");
    let mut c = file_config(&path, true);
    c.json_output = true;
    let mut out = Outputs::new(&c).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    // Unbuffered: the line is in the file already.
    assert_eq!(fs::read_to_string(&path).unwrap(), format!("{JSON}\n"));
    fs::rename(&path, &rotated).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    assert!(!path.exists(), "kept-open file was reopened by name");
    assert_eq!(
        fs::read_to_string(&rotated).unwrap(),
        format!("{JSON}\n{JSON}\n")
    );
    out.reopen().unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), format!("{JSON}\n"));
    assert_eq!(fs::read_to_string(&rotated).unwrap().lines().count(), 2);
    out.close(PATIENCE).unwrap();
}

#[test]
fn file_buffered_keep_alive_writes_on_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.txt");
    let mut c = file_config(&path, true);
    c.buffered_outputs = true;
    let mut out = Outputs::new(&c).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "");
    out.flush().unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), format!("{TEXT}\n"));
    out.send(&alert(Priority::Warning)).unwrap();
    out.close(PATIENCE).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2);
}

#[test]
fn file_failure_is_reported_counted_and_does_not_stop_other_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("events.txt");
    let (mut out, cap) = stdout_outputs(file_config(&path, false));
    match out.send(&alert(Priority::Warning)) {
        Err(Error::Io { output, target, .. }) => {
            assert_eq!(output, OutputKind::File);
            assert_eq!(target, path.display().to_string());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cap.text(), format!("{TEXT}\n"));
    let stats = out.stats();
    let file = stats_of(&stats, OutputKind::File);
    assert_eq!((file.sent, file.dropped, file.errors), (0, 1, 1));
    assert_eq!(stats_of(&stats, OutputKind::Stdout).sent, 1);
}

// ---------------------------------------------------------------- syslog

fn syslog_config(socket: &Path) -> OutputsConfig {
    let mut c = quiet();
    c.syslog_output = SyslogConfig {
        enabled: true,
        socket: socket.to_owned(),
        ident: Some("osprey-test".to_owned()),
    };
    c
}

fn recv_datagram(server: &UnixDatagram) -> String {
    server.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = vec![0u8; 65536];
    let n = server.recv(&mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Splits `<PRI>Mmm dd hh:mm:ss ident[pid]: msg` and checks its shape.
fn parse_syslog(datagram: &str) -> (u32, String) {
    let (pri, rest) = datagram[1..].split_once('>').unwrap();
    assert!(datagram.starts_with('<'));
    let (stamp, rest) = rest.split_at(15);
    let b = stamp.as_bytes();
    assert!(b[..3].iter().all(u8::is_ascii_alphabetic), "{stamp:?}");
    assert_eq!(
        (b[3], b[6], b[9], b[12]),
        (b' ', b' ', b':', b':'),
        "{stamp:?}"
    );
    let tag = format!(" osprey-test[{}]: ", std::process::id());
    let msg = rest
        .strip_prefix(&tag)
        .unwrap_or_else(|| panic!("{rest:?}"));
    (pri.parse().unwrap(), msg.to_owned())
}

#[test]
fn syslog_datagram_to_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log");
    let server = UnixDatagram::bind(&sock).unwrap();
    let mut out = Outputs::new(&syslog_config(&sock)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    // Facility user (8) + warning (4).
    assert_eq!(parse_syslog(&recv_datagram(&server)), (12, TEXT.to_owned()));
    out.send(&alert(Priority::Emergency)).unwrap();
    assert_eq!(parse_syslog(&recv_datagram(&server)).0, 8);
    out.send(&alert(Priority::Debug)).unwrap();
    assert_eq!(parse_syslog(&recv_datagram(&server)).0, 15);

    // The daemon restarts: the output reconnects on its own.
    drop(server);
    fs::remove_file(&sock).unwrap();
    let server = UnixDatagram::bind(&sock).unwrap();
    out.send(&alert(Priority::Notice)).unwrap();
    assert_eq!(parse_syslog(&recv_datagram(&server)), (13, TEXT.to_owned()));
    let stats = out.close(PATIENCE).unwrap();
    let s = stats_of(&stats, OutputKind::Syslog);
    assert_eq!((s.sent, s.dropped), (4, 0));
}

#[test]
fn syslog_json_and_missing_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log");
    let server = UnixDatagram::bind(&sock).unwrap();
    let mut c = syslog_config(&sock);
    c.json_output = true;
    let mut out = Outputs::new(&c).unwrap();
    out.send(&alert(Priority::Critical)).unwrap();
    assert_eq!(parse_syslog(&recv_datagram(&server)), (10, JSON.to_owned()));
    drop(server);
    fs::remove_file(&sock).unwrap();
    assert!(matches!(
        out.send(&alert(Priority::Critical)),
        Err(Error::Io {
            output: OutputKind::Syslog,
            ..
        })
    ));
    let stats = out.stats();
    assert_eq!(stats_of(&stats, OutputKind::Syslog).dropped, 1);
}

/// Best effort: where a syslog daemon listens on /dev/log, one Debug alert
/// goes to the real system log. Without one (containers, CI) this is skipped.
#[test]
fn syslog_dev_log_best_effort() {
    let probe = UnixDatagram::unbound().unwrap();
    if let Err(e) = probe.connect("/dev/log") {
        eprintln!("SKIPPED: no syslog daemon on /dev/log ({e})");
        return;
    }
    let mut c = quiet();
    c.syslog_output.enabled = true;
    let mut out = Outputs::new(&c).unwrap();
    let a = Alert {
        text: "osprey-guard output test: please ignore",
        ..alert(Priority::Debug)
    };
    assert_eq!(out.send(&a).unwrap(), Disposition::Dispatched);
}

// ---------------------------------------------------------------- program

fn program_config(program: String, keep_alive: bool) -> OutputsConfig {
    let mut c = quiet();
    c.program_output = ProgramConfig {
        enabled: true,
        keep_alive,
        program,
    };
    c
}

#[test]
fn program_without_keep_alive_runs_once_per_alert() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    let marks = dir.path().join("starts");
    let program = format!(
        "echo start >> '{}'; cat > '{}'",
        marks.display(),
        file.display()
    );
    let mut out = Outputs::new(&program_config(program, false)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    // Each alert's process has exited before send returns.
    assert_eq!(fs::read_to_string(&file).unwrap(), format!("{TEXT}\n"));
    let second = Alert {
        text: "second",
        ..alert(Priority::Warning)
    };
    out.send(&second).unwrap();
    // `cat >` truncated: a new process per alert.
    assert_eq!(fs::read_to_string(&file).unwrap(), "second\n");
    assert_eq!(fs::read_to_string(&marks).unwrap(), "start\nstart\n");
    let stats = out.close(PATIENCE).unwrap();
    assert_eq!(stats_of(&stats, OutputKind::Program).sent, 2);
}

#[test]
fn program_keep_alive_uses_one_process_until_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    let marks = dir.path().join("starts");
    let program = format!(
        "echo start >> '{}'; cat >> '{}'",
        marks.display(),
        file.display()
    );
    let mut c = program_config(program, true);
    c.json_output = true;
    let mut out = Outputs::new(&c).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    // reopen closes the pipe and waits for the program, as on SIGUSR1.
    out.reopen().unwrap();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        format!("{JSON}\n{JSON}\n")
    );
    assert_eq!(fs::read_to_string(&marks).unwrap(), "start\n");
    out.send(&alert(Priority::Warning)).unwrap();
    let stats = out.close(PATIENCE).unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap().lines().count(), 3);
    assert_eq!(fs::read_to_string(&marks).unwrap(), "start\nstart\n");
    assert_eq!(stats_of(&stats, OutputKind::Program).sent, 3);
}

#[test]
fn program_keep_alive_cat_to_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    let program = format!("cat > '{}'", file.display());
    let mut c = program_config(program, true);
    c.buffered_outputs = true;
    let mut out = Outputs::new(&c).unwrap();
    for _ in 0..100 {
        out.send(&alert(Priority::Warning)).unwrap();
    }
    out.close(PATIENCE).unwrap();
    let text = fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 100);
    assert!(text.lines().all(|l| l == TEXT));
}

// ---------------------------------------------------------------- http

#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(stream: &mut impl BufRead) -> Request {
    let mut line = String::new();
    stream.read_line(&mut line).unwrap();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap().to_owned();
    let path = parts.next().unwrap().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        stream.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let mut req = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    let len: usize = req
        .header("content-length")
        .expect("the client sends a Content-Length")
        .parse()
        .unwrap();
    req.body = vec![0; len];
    stream.read_exact(&mut req.body).unwrap();
    req
}

/// A one-connection-per-request HTTP/1.1 server on 127.0.0.1 that answers
/// `statuses` in turn (200 once they run out), reports every request, and
/// stops after `max_requests`. With `hold`, it waits for one message on it
/// before answering the first request.
fn http_server(
    statuses: Vec<u16>,
    max_requests: usize,
    hold: Option<Receiver<()>>,
) -> (String, Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..max_requests {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let req = read_request(&mut reader);
            let _ = tx.send(req);
            if i == 0 {
                if let Some(h) = &hold {
                    let _ = h.recv();
                }
            }
            let status = statuses.get(i).copied().unwrap_or(200);
            let answer =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    (url, rx)
}

fn http_config(url: &str) -> OutputsConfig {
    let mut c = quiet();
    c.http_output = HttpConfig {
        enabled: true,
        url: url.to_owned(),
        retry_backoff_ms: 1,
        retry_backoff_max_ms: 4,
        timeout_ms: PATIENCE.as_millis() as u64 * 2,
        ..HttpConfig::default()
    };
    c
}

fn next(rx: &Receiver<Request>) -> Request {
    rx.recv_timeout(PATIENCE).expect("the server got a request")
}

#[test]
fn http_posts_the_json_line() {
    let (url, rx) = http_server(vec![], 2, None);
    let mut c = http_config(&format!("\"{url}\""));
    c.json_output = true;
    c.http_output.user_agent = "osprey-test/1".to_owned();
    let mut out = Outputs::new(&c).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    out.send(&alert(Priority::Error)).unwrap();
    let stats = out.close(PATIENCE).unwrap();
    for _ in 0..2 {
        let req = next(&rx);
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/alerts");
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(req.header("user-agent"), Some("osprey-test/1"));
        assert_eq!(req.header("te"), None);
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            serde_json::from_str::<serde_json::Value>(JSON).unwrap()
        );
        assert_eq!(req.body, JSON.as_bytes());
    }
    assert_eq!(
        stats_of(&stats, OutputKind::Http),
        OutputStats {
            kind: OutputKind::Http,
            sent: 2,
            dropped: 0,
            errors: 0,
            retries: 0
        }
    );
}

#[test]
fn http_text_mode_and_compress_uploads_header() {
    let (url, rx) = http_server(vec![], 1, None);
    let mut c = http_config(&url);
    c.http_output.compress_uploads = true;
    let mut out = Outputs::new(&c).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    let stats = out.close(PATIENCE).unwrap();
    let req = next(&rx);
    assert_eq!(req.header("content-type"), Some("text/plain"));
    assert_eq!(req.header("user-agent"), Some("falcosecurity/falco"));
    assert_eq!(req.header("te"), Some("gzip"));
    assert_eq!(req.body, TEXT.as_bytes());
    assert_eq!(stats_of(&stats, OutputKind::Http).sent, 1);
}

#[test]
fn http_retries_server_errors_then_delivers() {
    let (url, rx) = http_server(vec![503, 500, 200], 3, None);
    let mut out = Outputs::new(&http_config(&url)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    let stats = out.close(PATIENCE).unwrap();
    for _ in 0..3 {
        assert_eq!(next(&rx).body, TEXT.as_bytes());
    }
    let h = stats_of(&stats, OutputKind::Http);
    assert_eq!((h.sent, h.dropped, h.errors, h.retries), (1, 0, 2, 2));
}

#[test]
fn http_client_errors_are_not_retried() {
    let (url, rx) = http_server(vec![400, 200], 2, None);
    let mut out = Outputs::new(&http_config(&url)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    let stats = out.close(PATIENCE).unwrap();
    next(&rx);
    next(&rx);
    let h = stats_of(&stats, OutputKind::Http);
    assert_eq!((h.sent, h.dropped, h.errors, h.retries), (1, 1, 1, 0));
}

#[test]
fn http_server_down_retries_then_drops() {
    // A port that was just free: connections are refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = http_config(&format!("http://127.0.0.1:{port}/"));
    c.http_output.max_retries = 2;
    let mut out = Outputs::new(&c).unwrap();
    for _ in 0..3 {
        assert_eq!(
            out.send(&alert(Priority::Warning)).unwrap(),
            Disposition::Dispatched
        );
    }
    // No deadline (too large for an Instant): waits for the retries to end.
    let stats = out.close(Duration::MAX).unwrap();
    let h = stats_of(&stats, OutputKind::Http);
    // Three attempts per alert, all failed.
    assert_eq!((h.sent, h.dropped, h.errors, h.retries), (0, 3, 9, 6));
}

#[test]
fn http_full_queue_drops_without_blocking() {
    let (hold_tx, hold_rx) = mpsc::channel::<()>();
    let capacity = 3;
    let (url, rx) = http_server(vec![], 1 + capacity, Some(hold_rx));
    let mut c = http_config(&url);
    c.http_output.queue_capacity = capacity;
    let mut out = Outputs::new(&c).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    // The worker is now inside its first request, which the server holds
    // until we say so: every send below happens while the network is stuck,
    // so none of them can have waited for it.
    next(&rx);
    for _ in 0..capacity + 5 {
        assert_eq!(
            out.send(&alert(Priority::Warning)).unwrap(),
            Disposition::Dispatched
        );
    }
    let h = stats_of(&out.stats(), OutputKind::Http);
    assert_eq!((h.sent, h.dropped), (0, 5));
    hold_tx.send(()).unwrap();
    let stats = out.close(PATIENCE).unwrap();
    let h = stats_of(&stats, OutputKind::Http);
    assert_eq!((h.sent, h.dropped, h.errors), (1 + capacity as u64, 5, 0));
}

#[test]
fn http_close_deadline_abandons_a_stuck_request() {
    let (hold_tx, hold_rx) = mpsc::channel::<()>();
    let (url, rx) = http_server(vec![], 1, Some(hold_rx));
    let mut out = Outputs::new(&http_config(&url)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    next(&rx);
    out.send(&alert(Priority::Warning)).unwrap();
    out.send(&alert(Priority::Warning)).unwrap();
    // The server never answers before close gives up: the one in flight
    // and the two queued are dropped.
    let stats = out.close(Duration::from_millis(50)).unwrap();
    let h = stats_of(&stats, OutputKind::Http);
    assert_eq!((h.sent, h.dropped), (0, 3));
    // Lets the server thread finish; it may already have given up.
    let _ = hold_tx.send(());
}
