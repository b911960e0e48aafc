//! Shared helpers of the forwarder integration tests: alerts, polling, a recording HTTP
//! receiver that can be stopped and restarted on its port, and external-tool checks.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use osprey_forward::{Alert, Forwarders, OutputStats};

/// A valid alert whose `output_fields.seq` is `seq`.
pub fn alert(seq: u64, priority: &str, rule: &str) -> Alert {
    let json = format!(
        r#"{{"hostname":"node-{}","output":"06:56:56.123456789: {priority} Alert number {seq} (proc=bash)","output_fields":{{"container.id":"c{seq}","evt.time":1795762616123456789,"proc.name":"bash","seq":{seq}}},"priority":"{priority}","rule":"{rule}","source":"syscall","tags":["container","shell"],"time":"2026-11-27T06:56:56.123456789Z"}}"#,
        seq % 3
    );
    Alert::from_json(json.as_bytes()).expect("test alert is valid")
}

/// Submits alerts `range` with priority Warning and rule "Test shell".
pub fn submit_range(f: &Forwarders, range: std::ops::Range<u64>) {
    for i in range {
        f.submit(Arc::new(alert(i, "Warning", "Test shell")));
    }
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after `secs`.
pub async fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Async variant of [`wait_for`].
pub async fn wait_for_async<F, Fut>(secs: u64, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The stats of the instance named `name`.
pub fn stats(f: &Forwarders, name: &str) -> OutputStats {
    f.stats()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no output {name}"))
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The queue/retry part of a test config: small backoff so outages resolve quickly, and
/// a one-second shutdown drain so tests with a destination down end quickly.
pub fn queue_yaml(dir: &Path) -> String {
    format!(
        "queue:\n  dir: {}\n  retryinitialms: 20\n  retrymaxms: 200\n  timeoutseconds: 5\n  draintimeoutseconds: 1\n",
        dir.display()
    )
}

/// Whether an external program exists; when not, panics under CI=true, else prints a
/// loud SKIPPED line and returns false.
pub fn have(program: &str, test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
        || Path::new(program).is_file();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {program} is missing (scripts/setup installs it)"
        );
        eprintln!("SKIPPED: {test}: {program} is not installed");
    }
    found
}

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A recording HTTP server on a fixed loopback port; answers 200 (and a well-formed
/// `_bulk` response on paths ending in `_bulk`), or 400 on paths containing `reject`.
pub struct Receiver {
    pub port: u16,
    pub hits: Arc<Mutex<Vec<Hit>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

async fn record(
    hits: Arc<Mutex<Vec<Hit>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let path = uri.path().to_owned();
    let reply = if path.ends_with("_bulk") {
        let n = body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
            / 2;
        let items = vec![r#"{"create":{"status":201}}"#; n].join(",");
        format!(r#"{{"errors":false,"items":[{items}]}}"#)
    } else {
        String::new()
    };
    let status = if path.contains("reject") {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    hits.lock().unwrap().push(Hit {
        method,
        path,
        headers,
        body,
    });
    (status, reply)
}

impl Receiver {
    /// Starts on a free port.
    pub async fn start() -> Receiver {
        Receiver::start_on(free_port(), Arc::new(Mutex::new(Vec::new()))).await
    }

    /// Starts on `port`, appending to `hits`.
    pub async fn start_on(port: u16, hits: Arc<Mutex<Vec<Hit>>>) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind receiver");
        let h = hits.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                record(h.clone(), method, uri, headers, body)
            },
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Receiver {
            port,
            hits,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops serving (in-flight requests complete, idle connections close).
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }

    /// Serves again on the same port with the same record.
    pub async fn restart(&mut self) {
        self.stop().await;
        *self = Receiver::start_on(self.port, self.hits.clone()).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.hits.lock().unwrap().len()
    }
}

/// A child process killed (and reaped) on drop.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A temp dir, as a PathBuf plus its guard.
pub fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().to_path_buf();
    (d, p)
}

/// Extracts `output_fields.seq` of a JSON alert.
pub fn seq_of(v: &serde_json::Value) -> u64 {
    v["output_fields"]["seq"].as_u64().expect("seq")
}
