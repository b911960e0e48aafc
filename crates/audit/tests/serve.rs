//! `osprey-audit serve` over loopback: policy applied, malformed and oversized bodies
//! rejected, 200 only once written (500 on a full disk, then the retry lands once),
//! legacy lines on standard output, SIGTERM flushes.

mod serve_support;

use std::io::Read;
use std::process::{Command, Stdio};

use serve_support::{audit_ids, event, event_list, log_lines, post, skip, start, stop_counters};

const POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [watch]
- level: Request
  resources:
  - group: \"\"
    resources: [pods]
- level: Metadata
";

#[test]
fn policy_filters_events_and_cuts_bodies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).expect("policy");
    let logdir = dir.path().join("log");
    let log = logdir.join("audit.log");
    let served = start(&[
        "--policy",
        policy.to_str().expect("utf8"),
        "--audit-log-path",
        log.to_str().expect("utf8"),
    ]);
    let body = r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[
      {"level":"RequestResponse","auditID":"w","stage":"ResponseComplete","requestURI":"/api/v1/pods?watch=1","verb":"watch","user":{"username":"u"},"objectRef":{"resource":"pods"}},
      {"level":"RequestResponse","auditID":"p","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/d/pods","verb":"create","user":{"username":"u"},"objectRef":{"resource":"pods","namespace":"d"},"requestObject":{"kind":"Pod"},"responseObject":{"kind":"Pod","status":{}}},
      {"level":"RequestResponse","auditID":"s","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/d/secrets/x","verb":"get","user":{"username":"u"},"objectRef":{"resource":"secrets","namespace":"d","name":"x"},"responseObject":{"kind":"Secret","data":{"k":"c2VjcmV0"}}},
      {"level":"RequestResponse","auditID":"r","stage":"RequestReceived","requestURI":"/api/v1/namespaces/d/pods","verb":"create","user":{"username":"u"},"objectRef":{"resource":"pods","namespace":"d"}}
    ]}"#;
    let (status, text) = post(&served.url, body.as_bytes());
    assert_eq!((status, text.trim()), (200, "{\"written\":2}"));
    // Written before the answer: visible now, while the server still runs.
    let lines = log_lines(&logdir);
    assert_eq!(audit_ids(&lines), ["p", "s"]);
    assert_eq!(
        lines[0],
        "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Request\",\"auditID\":\"p\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/d/pods\",\"verb\":\"create\",\"user\":{\"username\":\"u\"},\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"d\"},\"requestObject\":{\"kind\":\"Pod\"}}"
    );
    assert!(lines[1].contains("\"level\":\"Metadata\""), "{}", lines[1]);
    assert!(!lines[1].contains("c2VjcmV0"), "{}", lines[1]);
    let c = stop_counters(served);
    assert_eq!((c["events"], c["written"], c["filtered"]), (4, 2, 2));
}

#[test]
fn malformed_oversized_and_misrouted_requests_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.log");
    let served = start(&[
        "--audit-log-path",
        log.to_str().expect("utf8"),
        "--max-body-bytes",
        "4096",
    ]);
    let (status, text) = post(
        &served.url,
        format!(
            "{{\"kind\":\"EventList\",\"items\":[{},{{\"auditID\":",
            event(1)
        )
        .as_bytes(),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("malformed audit events"), "{text}");
    assert!(text.contains("byte offset"), "{text}");
    let (status, _) = post(&served.url, &vec![b' '; 5000]);
    assert_eq!(status, 413);
    let other = served.url.replace("/audit", "/other");
    assert_eq!(post(&other, b"{}").0, 404);
    let (status, _) = post(&served.url, event_list(&[event(7)]).as_bytes());
    assert_eq!(status, 200);
    let c = stop_counters(served);
    assert_eq!((c["requests_ok"], c["requests_rejected"]), (1, 1));
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        audit_ids(&text.lines().map(str::to_string).collect::<Vec<_>>()),
        ["id-7"]
    );
}

#[test]
fn legacy_lines_on_stdout_are_flushed_at_sigterm() {
    let mut served = serve_support::start_with_stdout(
        &["--audit-log-path", "-", "--audit-log-format", "legacy"],
        Stdio::piped(),
    );
    let mut stdout = served.take_stdout().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).expect("read stdout");
        s
    });
    for batch in 0..5u64 {
        let items: Vec<String> = (batch * 20..batch * 20 + 20).map(event).collect();
        assert_eq!(post(&served.url, event_list(&items).as_bytes()).0, 200);
    }
    let (status, stderr) = served.stop();
    assert!(status.success(), "{status:?} {stderr}");
    let out = reader.join().expect("reader");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 100);
    assert_eq!(
        lines[3],
        "2026-07-23T18:32:12.123456Z AUDIT: id=\"id-3\" stage=\"ResponseComplete\" ip=\"10.0.0.3\" method=\"get\" user=\"alice\" groups=\"\\\"dev\\\"\" as=\"<self>\" asgroups=\"<lookup>\" user-agent=\"\" namespace=\"default\" uri=\"/api/v1/namespaces/default/pods/p3\" response=\"200\""
    );
    assert!(stderr.contains("written=100"), "{stderr}");
}

/// A tmpfs mounted on a temp dir, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn full_disk_answers_500_and_the_retry_is_written_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        return skip("cannot mount a tmpfs (needs root)");
    }
    let fs_ = Tmpfs(dir);
    let filler = fs_.0.path().join("filler");
    std::fs::write(&filler, vec![0u8; 16 * 1024]).expect("filler");
    let logdir = fs_.0.path().join("log");
    let log = logdir.join("audit.log");
    let served = start(&["--audit-log-path", log.to_str().expect("utf8")]);
    let mut sent = Vec::new();
    let mut next = 0;
    let failed_batch = loop {
        let items: Vec<String> = (next..next + 10).map(event).collect();
        next += 10;
        let (status, text) = post(&served.url, event_list(&items).as_bytes());
        if status == 500 {
            assert!(text.contains("No space left on device"), "{text}");
            break items;
        }
        assert_eq!(status, 200, "{text}");
        sent.extend(items);
        assert!(next < 10_000, "the disk never filled up");
    };
    // Nothing accepted was lost or cut, and the failed request left no partial line.
    let before = log_lines(&logdir);
    assert_eq!(before.len(), sent.len());
    std::fs::remove_file(&filler).expect("free space");
    let (status, text) = post(&served.url, event_list(&failed_batch).as_bytes());
    assert_eq!(status, 200, "{text}");
    sent.extend(failed_batch);
    let c = stop_counters(served);
    assert_eq!(c["requests_rejected"], 1);
    let expected: Vec<String> = sent
        .iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(e).expect("event");
            v["auditID"].as_str().expect("id").to_string()
        })
        .collect();
    assert_eq!(audit_ids(&log_lines(&logdir)), expected);
    drop(fs_);
}
