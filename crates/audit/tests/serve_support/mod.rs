//! Shared helpers of tests/serve.rs and tests/webhook.rs: start `osprey-audit serve`
//! on a free loopback port, stop it with SIGTERM, POST to it, read its log files.

#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_osprey-audit");

/// A running `osprey-audit serve`.
pub(crate) struct Served {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT/audit`.
    pub(crate) url: String,
    stderr: mpsc::Receiver<String>,
}

/// Starts `osprey-audit serve --listen 127.0.0.1:0 ARGS...` and waits until it listens.
pub(crate) fn start(args: &[&str]) -> Served {
    start_with_stdout(args, Stdio::null())
}

/// As [`start`], with the child's standard output configured by the caller.
pub(crate) fn start_with_stdout(args: &[&str], stdout: Stdio) -> Served {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn osprey-audit serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(url) = line.split("listening on ").nth(1) {
                    return Served {
                        child: Some(child),
                        url: url.trim().to_string(),
                        stderr: rx,
                    };
                }
                eprintln!("serve: {line}");
            }
            Err(_) => {
                let _ = child.kill();
                panic!("osprey-audit serve did not start: {:?}", child.wait());
            }
        }
    }
}

impl Served {
    /// The child's standard output (when started with a pipe).
    pub(crate) fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.as_mut().and_then(|c| c.stdout.take())
    }

    /// Sends SIGTERM and waits for the exit; returns the status and the rest of stderr.
    pub(crate) fn stop(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("osprey-audit serve ignored SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut rest = String::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            rest.push_str(&line);
            rest.push('\n');
        }
        (status, rest)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One POST; returns the status and the body.
pub(crate) fn post(url: &str, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .expect("POST");
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (status, text)
}

/// A kubeconfig pointing at `url` with a bearer token.
pub(crate) fn kubeconfig(dir: &Path, url: &str, token: &str) -> PathBuf {
    let path = dir.join("webhook.kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: audit\n  cluster:\n    server: {url}\n\
         users:\n- name: apiserver\n  user:\n    token: {token}\n\
         contexts:\n- name: default\n  context:\n    cluster: audit\n    user: apiserver\n\
         current-context: default\n"
    );
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

/// An audit event as an EventList item (no kind/apiVersion), with id `n`.
pub(crate) fn event(n: u64) -> String {
    format!(
        "{{\"level\":\"Metadata\",\"auditID\":\"id-{n}\",\"stage\":\"ResponseComplete\",\
         \"requestURI\":\"/api/v1/namespaces/default/pods/p{n}\",\"verb\":\"get\",\
         \"user\":{{\"username\":\"alice\",\"groups\":[\"dev\"]}},\"sourceIPs\":[\"10.0.0.{}\"],\
         \"objectRef\":{{\"resource\":\"pods\",\"namespace\":\"default\",\"name\":\"p{n}\"}},\
         \"responseStatus\":{{\"metadata\":{{}},\"code\":200}},\
         \"requestReceivedTimestamp\":\"2026-07-23T18:32:12.123456Z\",\
         \"stageTimestamp\":\"2026-07-23T18:32:12.133456Z\"}}",
        n % 250
    )
}

/// `{"kind":"EventList",...,"items":[...]}` of the given events.
pub(crate) fn event_list(items: &[String]) -> String {
    format!(
        "{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{{}},\"items\":[{}]}}",
        items.join(",")
    )
}

/// Every line of every file in `dir` (backups gunzipped), oldest file first.
pub(crate) fn log_lines(dir: &Path) -> Vec<String> {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("ls") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(entry.path()).expect("read");
        let text = if name.ends_with(".gz") {
            let mut s = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut s)
                .expect("gunzip");
            s
        } else {
            String::from_utf8(bytes).expect("utf8")
        };
        // The live file sorts last: backups carry a timestamp after the stem.
        let key = if name == "audit.log" {
            "~".to_string()
        } else {
            name
        };
        files.insert(key, text);
    }
    files
        .values()
        .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// The `auditID`s of JSON log lines, in order.
pub(crate) fn audit_ids(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("whole JSON line");
            v["auditID"].as_str().expect("auditID").to_string()
        })
        .collect()
}

/// `k=v` counters from a summary line that starts with `prefix`.
pub(crate) fn counters(stderr: &str, prefix: &str) -> BTreeMap<String, u64> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in {stderr:?}"));
    line[prefix.len()..]
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// Panics under CI=true, else prints SKIPPED.
pub(crate) fn skip(why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// Stops the server (SIGTERM), checks it exited 0, returns its summary counters.
pub(crate) fn stop_counters(served: Served) -> BTreeMap<String, u64> {
    let (status, stderr) = served.stop();
    assert!(status.success(), "{status:?}: {stderr}");
    counters(&stderr, "osprey-audit serve: ")
}
