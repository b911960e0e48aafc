//! `osprey-audit send` → a flaky loopback proxy → `osprey-audit serve`: blocking
//! modes deliver everything through 500s and dropped connections, batch mode counts
//! what it drops when its buffer is full, blocking-strict fails on a dead receiver.

mod serve_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serve_support::{audit_ids, counters, event, kubeconfig, log_lines, start, stop_counters, BIN};

/// An HTTP/1.1 proxy in front of `upstream` that fails every `every`-th request:
/// alternately with a 500 answer and by closing the connection without one, and
/// also the first `fail_first` requests.
struct Flaky {
    url: String,
    requests: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
    auth: Arc<Mutex<Vec<String>>>,
}

fn flaky_proxy(upstream: &str, every: u64, fail_first: u64) -> Flaky {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    let flaky = Flaky {
        url: format!("http://127.0.0.1:{port}/audit"),
        requests: Arc::default(),
        failures: Arc::default(),
        auth: Arc::default(),
    };
    let (requests, failures, auth) = (
        Arc::clone(&flaky.requests),
        Arc::clone(&flaky.failures),
        Arc::clone(&flaky.auth),
    );
    let upstream = upstream.to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { break };
            let (requests, failures, auth, upstream) = (
                Arc::clone(&requests),
                Arc::clone(&failures),
                Arc::clone(&auth),
                upstream.clone(),
            );
            std::thread::spawn(move || {
                serve_conn(
                    conn,
                    &upstream,
                    (every, fail_first),
                    &requests,
                    &failures,
                    &auth,
                );
            });
        }
    });
    flaky
}

fn serve_conn(
    conn: TcpStream,
    upstream: &str,
    (every, fail_first): (u64, u64),
    requests: &AtomicU64,
    failures: &AtomicU64,
    auth: &Mutex<Vec<String>>,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let mut out = conn.try_clone().expect("clone");
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').unwrap_or((h, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => len = value.trim().parse().unwrap_or(0),
                "authorization" => auth.lock().expect("lock").push(value.trim().to_string()),
                "content-type" => assert_eq!(value.trim(), "application/json"),
                _ => {}
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        assert!(line.starts_with("POST /audit "), "{line}");
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= fail_first || n.is_multiple_of(every) {
            failures.fetch_add(1, Ordering::SeqCst);
            if (n / every).is_multiple_of(2) {
                return; // drop the connection, no answer
            }
            let _ = out
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nflaky");
            continue;
        }
        let status = match agent
            .post(upstream)
            .header("Content-Type", "application/json")
            .send(&body[..])
        {
            Ok(resp) => resp.status().as_u16(),
            Err(_) => 502,
        };
        let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// `n` JSON lines of events `0..n`.
fn events_file(dir: &Path, n: u64) -> std::path::PathBuf {
    let path = dir.join("events.jsonl");
    let text: String = (0..n).map(|i| event(i) + "\n").collect();
    std::fs::write(&path, text).expect("events");
    path
}

/// Runs `osprey-audit send ARGS`; returns success and stderr.
fn send(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("send")
        .args(args)
        .output()
        .expect("run send");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

#[test]
fn blocking_mode_delivers_everything_through_failures() {
    for mode in ["blocking", "blocking-strict"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let logdir = dir.path().join("log");
        let served = start(&[
            "--audit-log-path",
            path_str(&logdir.join("audit.log")),
            "--audit-log-maxsize-bytes",
            "4000",
            "--audit-log-compress",
        ]);
        let proxy = flaky_proxy(&served.url, 3, 0);
        let kc = kubeconfig(dir.path(), &proxy.url, "t0ken");
        let events = events_file(dir.path(), 40);
        let (ok, stderr) = send(&[
            "--webhook-config",
            path_str(&kc),
            "--audit-webhook-mode",
            mode,
            "--audit-webhook-initial-backoff",
            "5ms",
            path_str(&events),
        ]);
        assert!(ok, "{stderr}");
        let c = counters(&stderr, "osprey-audit send: ");
        let failures = proxy.failures.load(Ordering::SeqCst);
        assert!(failures >= 10, "only {failures} injected failures");
        assert_eq!(
            (
                c["events"],
                c["sent"],
                c["batches"],
                c["failed"],
                c["dropped"]
            ),
            (40, 40, 40, 0, 0)
        );
        assert_eq!(c["failed_attempts"], failures);
        let sc = stop_counters(served);
        assert_eq!(sc["written"], 40);
        // Every event exactly once, in order, across the rotated files.
        let want: Vec<String> = (0..40).map(|i| format!("id-{i}")).collect();
        assert_eq!(audit_ids(&log_lines(&logdir)), want, "{mode}");
        let auth = proxy.auth.lock().expect("lock");
        assert!(auth.iter().all(|a| a == "Bearer t0ken"), "{auth:?}");
    }
}

#[test]
fn batch_mode_delivers_everything_when_the_buffer_has_room() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logdir = dir.path().join("log");
    let served = start(&["--audit-log-path", path_str(&logdir.join("audit.log"))]);
    let proxy = flaky_proxy(&served.url, 4, 0);
    let kc = kubeconfig(dir.path(), &proxy.url, "t");
    let events = events_file(dir.path(), 500);
    let (ok, stderr) = send(&[
        "--webhook-config",
        path_str(&kc),
        "--audit-webhook-batch-max-size",
        "40",
        "--audit-webhook-batch-max-wait",
        "20ms",
        "--audit-webhook-batch-throttle-qps",
        "1000",
        "--audit-webhook-initial-backoff",
        "5ms",
        path_str(&events),
    ]);
    assert!(ok, "{stderr}");
    let c = counters(&stderr, "osprey-audit send: ");
    assert_eq!(
        (c["events"], c["sent"], c["dropped"], c["failed"]),
        (500, 500, 0, 0)
    );
    assert!(c["batches"] >= 13, "{c:?}");
    assert!(c["failed_attempts"] >= 1, "{c:?}");
    stop_counters(served);
    // Batches run concurrently, so compare as sets; each event exactly once.
    let mut got = audit_ids(&log_lines(&logdir));
    got.sort();
    let mut want: Vec<String> = (0..500).map(|i| format!("id-{i}")).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn batch_mode_drops_and_counts_when_the_buffer_is_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logdir = dir.path().join("log");
    let served = start(&["--audit-log-path", path_str(&logdir.join("audit.log"))]);
    let proxy = flaky_proxy(&served.url, 3, 0);
    let kc = kubeconfig(dir.path(), &proxy.url, "t");
    let events = events_file(dir.path(), 3000);
    let (ok, stderr) = send(&[
        "--webhook-config",
        path_str(&kc),
        "--audit-webhook-batch-buffer-size",
        "10",
        "--audit-webhook-batch-max-size",
        "5",
        "--audit-webhook-batch-throttle-qps",
        "20",
        "--audit-webhook-batch-throttle-burst",
        "1",
        "--audit-webhook-initial-backoff",
        "5ms",
        path_str(&events),
    ]);
    assert!(ok, "{stderr}");
    let c = counters(&stderr, "osprey-audit send: ");
    assert_eq!(c["events"], 3000);
    assert!(c["dropped"] > 0, "{c:?}");
    assert_eq!(c["sent"] + c["dropped"] + c["failed"], 3000, "{c:?}");
    let sc = stop_counters(served);
    assert_eq!(sc["written"], c["sent"]);
    let mut got = audit_ids(&log_lines(&logdir));
    let n = got.len();
    got.sort();
    got.dedup();
    assert_eq!((got.len(), n as u64), (n, c["sent"]));
}

#[test]
fn blocking_strict_fails_when_the_receiver_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A port that refuses connections: bound, then closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let kc = kubeconfig(dir.path(), &format!("http://127.0.0.1:{port}/audit"), "t");
    let events = events_file(dir.path(), 3);
    let (ok, stderr) = send(&[
        "--webhook-config",
        path_str(&kc),
        "--audit-webhook-mode",
        "blocking-strict",
        "--audit-webhook-attempts",
        "3",
        "--audit-webhook-initial-backoff",
        "1ms",
        path_str(&events),
    ]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("gave up after 3 attempts"), "{stderr}");
    // blocking (not strict) reports the loss in its counters and exit code instead.
    let (ok, stderr) = send(&[
        "--webhook-config",
        path_str(&kc),
        "--audit-webhook-mode",
        "blocking",
        "--audit-webhook-attempts",
        "2",
        "--audit-webhook-initial-backoff",
        "1ms",
        path_str(&events),
    ]);
    assert!(!ok, "{stderr}");
    let c = counters(&stderr, "osprey-audit send: ");
    assert_eq!((c["failed"], c["failed_attempts"], c["sent"]), (3, 6, 0));
}

#[test]
fn serve_forwards_what_it_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let downstream_dir = dir.path().join("down");
    let downstream = start(&[
        "--audit-log-path",
        path_str(&downstream_dir.join("audit.log")),
    ]);
    let kc = kubeconfig(dir.path(), &downstream.url, "t");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  users: [nobody]\n- level: Metadata\n",
    )
    .expect("policy");
    let upstream_dir = dir.path().join("up");
    let upstream = start(&[
        "--audit-log-path",
        path_str(&upstream_dir.join("audit.log")),
        "--policy",
        path_str(&policy),
        "--audit-webhook-config-file",
        path_str(&kc),
        "--audit-webhook-batch-max-wait",
        "10ms",
    ]);
    let mut items: Vec<String> = (0..30).map(event).collect();
    items.push(event(30).replace("\"alice\"", "\"nobody\""));
    let (status, _) =
        serve_support::post(&upstream.url, serve_support::event_list(&items).as_bytes());
    assert_eq!(status, 200);
    let up = stop_counters(upstream); // drains the forwarder before exiting
    assert_eq!((up["written"], up["filtered"], up["sent"]), (30, 1, 30));
    let down = stop_counters(downstream);
    assert_eq!(down["written"], 30);
    let want: Vec<String> = (0..30).map(|i| format!("id-{i}")).collect();
    assert_eq!(audit_ids(&log_lines(&downstream_dir)), want);
    assert_eq!(log_lines(&downstream_dir), log_lines(&upstream_dir));
}

#[test]
fn attempts_zero_retries_until_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logdir = dir.path().join("log");
    let served = start(&["--audit-log-path", path_str(&logdir.join("audit.log"))]);
    let proxy = flaky_proxy(&served.url, u64::MAX, 8);
    let kc = kubeconfig(dir.path(), &proxy.url, "t");
    let events = events_file(dir.path(), 2);
    let (ok, stderr) = send(&[
        "--webhook-config",
        path_str(&kc),
        "--audit-webhook-mode",
        "blocking-strict",
        "--audit-webhook-attempts",
        "0",
        "--audit-webhook-initial-backoff",
        "1ms",
        path_str(&events),
    ]);
    assert!(ok, "{stderr}");
    let c = counters(&stderr, "osprey-audit send: ");
    assert_eq!((c["sent"], c["failed"], c["failed_attempts"]), (2, 0, 8));
    stop_counters(served);
    assert_eq!(audit_ids(&log_lines(&logdir)), ["id-0", "id-1"]);
}
