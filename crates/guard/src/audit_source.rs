//! The `k8s_audit` event source: Kubernetes audit events through the rules.
//!
//! Events arrive as Falco's k8saudit plugin takes them:
//!
//! - **webhook**: an HTTP endpoint (default `/k8s-audit`) that the API
//!   server's webhook backend POSTs `EventList`s (or single `Event`s) to.
//!   Non-POST requests get 405, a body that is not `application/json` 400,
//!   a body over the size limit 400; an accepted body is queued (50
//!   bodies) for the rules thread and answered 200 before it is parsed, as
//!   the plugin does;
//! - **file**: an audit log (JSON lines, or one JSON document), replayed
//!   once through the rules.
//!
//! Configuration (falco.yaml, as for Falco with the plugin):
//!
//! ```yaml
//! load_plugins: [k8saudit, json]
//! plugins:
//!   - name: k8saudit
//!     library_path: libk8saudit.so        # ignored: the source is built in
//!     init_config:
//!       maxEventSize: 262144
//!       webhookMaxBatchSize: 12582912
//!     open_params: "http://:9765/k8s-audit"   # or file:///var/log/audit.log, or a path
//! ```
//!
//! Falco's older form, `webserver: {listen_port: 8765, k8s_audit_endpoint:
//! /k8s-audit}` (with `listen_address`, and `enabled: false` to turn it
//! off), is accepted too. `osprey-guard --k8s-audit-file FILE` replays a
//! file without any configuration. Alerts go through the usual outputs with
//! `"source":"k8s_audit"`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use osprey_audit::fields::{input, KaCatalog, KaEvent, KaFields, PLUGINS, SOURCE};
use osprey_filter::timefmt::LocalClock;
use osprey_rules::{
    AlertFormatter, AlertOptions, LoadOptions, Matching, RuleId, RulesFile, Ruleset, SourceCatalogs,
};
use serde_json::Value;

use crate::config::Raw;
use crate::output::{self, Outputs};

/// Osprey's default audit rules, built in (the editable copy is
/// `rules/osprey_k8s_audit_rules.yaml`).
pub const DEFAULT_RULES: &str = include_str!("../../../rules/osprey_k8s_audit_rules.yaml");

/// The built-in audit rules as a rules file.
pub fn builtin_rules() -> RulesFile<'static> {
    RulesFile {
        name: "osprey_k8s_audit_rules.yaml (built in)",
        content: DEFAULT_RULES,
    }
}

/// The k8saudit plugin's defaults.
const MAX_EVENT_SIZE: usize = 262_144;
const MAX_BATCH_SIZE: usize = 12_582_912;
/// Bodies queued between the HTTP server and the rules thread.
const QUEUE: usize = 50;

/// Why the audit source could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is wrong.
    #[error("k8saudit configuration: {0}")]
    Config(String),
    /// Reading an audit file failed.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An output failed.
    #[error(transparent)]
    Output(#[from] output::Error),
}

/// Where audit events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Replay these files, in order.
    Files(Vec<PathBuf>),
    /// Serve the webhook endpoint.
    Http {
        /// `host:port` to listen on (`0.0.0.0` when the host is empty).
        addr: String,
        /// The endpoint path (`/k8s-audit`).
        path: String,
    },
}

/// The audit source's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The input.
    pub input: Input,
    /// Events larger than this (bytes of JSON) are dropped.
    pub max_event_size: usize,
    /// Webhook bodies larger than this are refused (400).
    pub max_batch_size: usize,
}

/// What the source did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Audit events read.
    pub events: u64,
    /// Inputs rejected (not JSON, not an event, no stageTimestamp, too large).
    pub rejected: u64,
    /// Alerts raised.
    pub alerts: u64,
}

/// `opts` with the `k8s_audit` source (and the k8saudit and json plugins).
pub fn load_options(opts: LoadOptions) -> LoadOptions {
    let sources: SourceCatalogs = opts
        .sources
        .clone()
        .with(SOURCE, Arc::new(KaCatalog), &PLUGINS);
    LoadOptions { sources, ..opts }
}

/// The files of an open parameter that is a path: the file, or a
/// directory's files by modification time (as the plugin reads them).
fn files_of(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            m.is_file()
                .then(|| (m.modified().unwrap_or(std::time::UNIX_EPOCH), e.path()))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

/// The input an `open_params` string names.
pub fn parse_open_params(p: &str) -> Result<Input, Error> {
    let p = p.trim();
    if let Some((scheme, rest)) = p.split_once("://") {
        return match scheme {
            "http" => {
                let (hostport, path) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, "/k8s-audit"),
                };
                let addr = match hostport.strip_prefix(':') {
                    Some(port) => format!("0.0.0.0:{port}"),
                    None if hostport.contains(':') => hostport.to_string(),
                    None => format!("{hostport}:80"),
                };
                Ok(Input::Http {
                    addr,
                    path: path.to_string(),
                })
            }
            "https" => Err(Error::Config(
                "https is not supported by osprey-guard: terminate TLS in front of it".into(),
            )),
            "file" => Ok(Input::Files(files_of(Path::new(rest)))),
            other => Err(Error::Config(format!(
                "scheme \"{other}\" is not supported"
            ))),
        };
    }
    if p.is_empty() {
        return Err(Error::Config("empty open_params".into()));
    }
    Ok(Input::Files(files_of(Path::new(p))))
}

/// A size from `init_config` (a number, or a string holding one).
fn size_of(cfg: &Value, key: &str, default: usize) -> Result<usize, Error> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| Error::Config(format!("init_config.{key} is not a size: {v}"))),
    }
}

/// The audit source falco.yaml (or `--k8s-audit-file`) asks for: `None`
/// when it is off (no file given and `k8saudit` not in `load_plugins`).
pub fn plan(raw: &Raw, file: Option<&Path>) -> Result<Option<Plan>, Error> {
    let loaded = raw
        .tree
        .get("load_plugins")
        .and_then(Value::as_array)
        .is_some_and(|l| l.iter().any(|n| n.as_str() == Some("k8saudit")));
    let entry = raw
        .tree
        .get("plugins")
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter()
                .find(|p| p.get("name").and_then(Value::as_str) == Some("k8saudit"))
        });
    let init = match entry.and_then(|e| e.get("init_config")) {
        Some(Value::String(s)) if !s.trim().is_empty() => serde_json::from_str(s)
            .map_err(|e| Error::Config(format!("init_config is not JSON: {e}")))?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => Value::Null,
    };
    let max_event_size = size_of(&init, "maxEventSize", MAX_EVENT_SIZE)?;
    let max_batch_size = size_of(&init, "webhookMaxBatchSize", MAX_BATCH_SIZE)?;
    // Falco before 0.32 served the endpoint from its own web server.
    let web = raw.tree.get("webserver");
    let legacy = web
        .filter(|w| w.get("enabled").and_then(Value::as_bool) != Some(false))
        .and_then(|w| w.get("k8s_audit_endpoint"))
        .and_then(Value::as_str);
    let input = if let Some(f) = file {
        Input::Files(files_of(f))
    } else if let (Some(path), false) = (legacy, loaded) {
        let host = web
            .and_then(|w| w.get("listen_address"))
            .and_then(Value::as_str)
            .unwrap_or("0.0.0.0");
        let port = web
            .and_then(|w| w.get("listen_port"))
            .and_then(Value::as_u64)
            .unwrap_or(8765);
        Input::Http {
            addr: format!("{host}:{port}"),
            path: path.to_string(),
        }
    } else if loaded {
        let params = entry
            .and_then(|e| e.get("open_params"))
            .and_then(Value::as_str)
            .unwrap_or("http://:9765/k8s-audit");
        parse_open_params(params)?
    } else {
        return Ok(None);
    };
    Ok(Some(Plan {
        input,
        max_event_size,
        max_batch_size,
    }))
}

/// Runs the rules over audit events and sends the alerts.
pub struct Processor {
    rules: Ruleset,
    names: Vec<Arc<str>>,
    mode: Matching,
    formatter: AlertFormatter,
    clock: LocalClock,
    max_event_size: usize,
    hits: Vec<RuleId>,
    text: Vec<u8>,
    json: Vec<u8>,
    size: Vec<u8>,
    summary: Summary,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl Processor {
    /// A processor for `rules` (their `k8s_audit` rules run).
    pub fn new(rules: Ruleset, mode: Matching, alerts: AlertOptions, plan: &Plan) -> Self {
        let names = rules
            .rules()
            .iter()
            .map(|r| Arc::from(r.name.as_str()))
            .collect();
        Processor {
            rules,
            names,
            mode,
            formatter: AlertFormatter::new(alerts),
            clock: LocalClock::new(),
            max_event_size: plan.max_event_size,
            hits: Vec::new(),
            text: Vec::new(),
            json: Vec::new(),
            size: Vec::new(),
            summary: Summary::default(),
        }
    }

    /// What was done so far.
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// Counts an input that was rejected.
    pub fn reject(&mut self, why: &dyn std::fmt::Display) {
        self.summary.rejected += 1;
        eprintln!("k8s_audit: event dropped: {why}");
    }

    /// Evaluates the rules on one event; alerts go to `outputs`.
    pub fn process(&mut self, ev: &KaEvent, outputs: &mut Outputs) -> Result<(), Error> {
        self.size.clear();
        // Writing a JSON tree into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.size, ev.json());
        let (size, max) = (self.size.len(), self.max_event_size);
        if size > max {
            self.reject(&format_args!(
                "event of {size} bytes is larger than maxEventSize {max}"
            ));
            return Ok(());
        }
        self.summary.events += 1;
        let ctx = KaFields::new(ev, &self.clock).with_num(self.summary.events);
        self.hits.clear();
        self.rules
            .evaluate_source(SOURCE, &ctx, self.mode, &mut self.hits);
        for &id in &self.hits {
            let Some(rule) = self.rules.rule(id) else {
                continue;
            };
            self.text.clear();
            self.json.clear();
            if !self
                .formatter
                .write_both(rule, &ctx, ev.ts(), &mut self.text, &mut self.json)
            {
                continue;
            }
            self.summary.alerts += 1;
            let name = self
                .names
                .get(id.0 as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from(""));
            let alert = output::Alert {
                priority: rule.priority,
                rule: &name,
                time_ns: ev.ts(),
                text: std::str::from_utf8(&self.text).unwrap_or_default(),
                json: std::str::from_utf8(&self.json).unwrap_or_default(),
            };
            outputs.send(&alert)?;
        }
        Ok(())
    }

    /// Processes every event of a payload or stream.
    fn feed(
        &mut self,
        outputs: &mut Outputs,
        read: impl FnOnce(
            &mut dyn FnMut(Result<KaEvent, input::InputError>) -> ControlFlow<()>,
        ) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        let mut failed = None;
        let _ = read(&mut |r| match r {
            Ok(ev) => match self.process(&ev, outputs) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            },
            Err(e) => {
                self.reject(&e);
                ControlFlow::Continue(())
            }
        });
        failed.map_or(Ok(()), Err)
    }

    /// Replays audit log files (plain or gzip) through the rules.
    pub fn replay(&mut self, files: &[PathBuf], outputs: &mut Outputs) -> Result<(), Error> {
        for path in files {
            let read_err = |source| Error::Read {
                path: path.display().to_string(),
                source,
            };
            let mut f = std::fs::File::open(path).map_err(read_err)?;
            let mut magic = [0u8; 2];
            let n = f.read(&mut magic).map_err(read_err)?;
            drop(f);
            let f = std::fs::File::open(path).map_err(read_err)?;
            let reader: Box<dyn BufRead> = if n == 2 && magic == [0x1f, 0x8b] {
                Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(f)))
            } else {
                Box::new(BufReader::with_capacity(1 << 16, f))
            };
            self.feed(outputs, |cb| input::read_stream(reader, cb))?;
        }
        outputs.flush()?;
        Ok(())
    }
}

/// A running webhook server.
#[derive(Debug)]
pub struct Server {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
    rules: Option<std::thread::JoinHandle<Result<(Summary, Outputs), Error>>>,
}

impl Server {
    /// Starts serving `plan`'s endpoint: a thread accepts connections (one
    /// thread each), another runs `processor` on the queued bodies and owns
    /// `outputs`. Stops when `stop` is set.
    pub fn start(
        plan: &Plan,
        mut processor: Processor,
        mut outputs: Outputs,
        stop: Arc<AtomicBool>,
    ) -> Result<Server, Error> {
        let Input::Http { addr, path } = &plan.input else {
            return Err(Error::Config("the audit input is not http".into()));
        };
        let listen_err = |source| Error::Listen {
            addr: addr.clone(),
            source,
        };
        let listener = TcpListener::bind(addr.as_str()).map_err(listen_err)?;
        listener.set_nonblocking(true).map_err(listen_err)?;
        let local = listener.local_addr().map_err(listen_err)?;
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE);
        let rules_stop = Arc::clone(&stop);
        let rules = std::thread::Builder::new()
            .name("k8s-audit-rules".into())
            .spawn(move || {
                rules_loop(&mut processor, &mut outputs, &rx, &rules_stop)?;
                Ok((processor.summary(), outputs))
            })
            .map_err(|e| Error::Config(format!("cannot start a thread: {e}")))?;
        let (path, max) = (path.clone(), plan.max_batch_size);
        let accept_stop = Arc::clone(&stop);
        let accept = std::thread::Builder::new()
            .name("k8s-audit-http".into())
            .spawn(move || accept_loop(&listener, &path, max, &tx, &accept_stop))
            .map_err(|e| Error::Config(format!("cannot start a thread: {e}")))?;
        Ok(Server {
            addr: local,
            stop,
            accept: Some(accept),
            rules: Some(rules),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Stops the server, processes what was queued and returns the summary
    /// and the outputs.
    pub fn stop(mut self) -> Result<(Summary, Outputs), Error> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        match self.rules.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Err(Error::Config("the audit rules thread stopped".into())),
        }
    }
}

fn rules_loop(
    p: &mut Processor,
    outputs: &mut Outputs,
    rx: &Receiver<Vec<u8>>,
    stop: &AtomicBool,
) -> Result<(), Error> {
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(body) => {
                p.feed(outputs, |cb| input::read_payload(&body, cb))?;
                outputs.flush()?;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if stop.load(Ordering::Relaxed) {
                    // The acceptor has stopped too; take what is left.
                    while let Ok(body) = rx.try_recv() {
                        p.feed(outputs, |cb| input::read_payload(&body, cb))?;
                    }
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    outputs.flush()?;
    Ok(())
}

fn accept_loop(
    listener: &TcpListener,
    path: &str,
    max: usize,
    tx: &SyncSender<Vec<u8>>,
    stop: &Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((conn, _)) => {
                let (path, tx, stop) = (path.to_string(), tx.clone(), Arc::clone(stop));
                let _ = std::thread::Builder::new()
                    .name("k8s-audit-conn".into())
                    .spawn(move || {
                        let _ = serve_conn(conn, &path, max, &tx, &stop);
                    });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn respond(
    conn: &mut TcpStream,
    code: u16,
    reason: &str,
    body: &str,
    close: bool,
) -> std::io::Result<()> {
    let conn_hdr = if close { "close" } else { "keep-alive" };
    write!(
        conn,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: {conn_hdr}\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

/// Serves one connection: requests until it closes (keep-alive).
fn serve_conn(
    conn: TcpStream,
    path: &str,
    max: usize,
    tx: &SyncSender<Vec<u8>>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    let mut head = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        head.clear();
        // The request head, up to the blank line.
        loop {
            let before = head.len();
            if r.read_until(b'\n', &mut head)? == 0 {
                return Ok(());
            }
            let line = &head[before..];
            if line == b"\r\n" || line == b"\n" {
                if before == 0 {
                    head.clear();
                    continue;
                }
                break;
            }
            if head.len() > 64 * 1024 {
                return respond(&mut out, 431, "Request Header Fields Too Large", "", true);
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        if !matches!(req.parse(&head), Ok(httparse::Status::Complete(_))) {
            return respond(&mut out, 400, "Bad Request", "bad request", true);
        }
        let method = req.method.unwrap_or("").to_string();
        let target = req.path.unwrap_or("").to_string();
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        let length: usize = header("content-length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let ctype = header("content-type").unwrap_or_default();
        let close = header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"))
            || req.version == Some(0);
        let chunked = header("transfer-encoding").is_some_and(|t| t.contains("chunked"));
        if chunked {
            return respond(
                &mut out,
                411,
                "Length Required",
                "chunked bodies are not supported",
                true,
            );
        }
        if length > max {
            return respond(
                &mut out,
                400,
                "Bad Request",
                &format!("bad request: body of {length} bytes exceeds the maximum of {max}"),
                true,
            );
        }
        let mut body = vec![0u8; length];
        r.read_exact(&mut body)?;
        let target_path = target.split('?').next().unwrap_or("");
        if target_path != path {
            respond(&mut out, 404, "Not Found", "404 page not found", close)?;
        } else if method != "POST" {
            respond(
                &mut out,
                405,
                "Method Not Allowed",
                &format!("{method} method not allowed"),
                close,
            )?;
        } else if !ctype.contains("application/json") {
            respond(&mut out, 400, "Bad Request", "wrong Content Type", close)?;
        } else {
            // Queued before the 200 goes out (still before any parsing, as
            // the plugin): an acknowledged batch is never lost on a stop.
            match tx.try_send(body) {
                Ok(()) => {}
                Err(TrySendError::Full(body)) => {
                    // Wait for the rules thread rather than drop the batch.
                    if tx.send(body).is_err() {
                        return respond(&mut out, 503, "Service Unavailable", "stopping", true);
                    }
                }
                Err(TrySendError::Disconnected(_)) => {
                    return respond(&mut out, 503, "Service Unavailable", "stopping", true);
                }
            }
            respond(&mut out, 200, "OK", "", close)?;
        }
        if close {
            return Ok(());
        }
    }
    Ok(())
}

/// The audit source started by [`launch`].
#[derive(Debug)]
pub enum Launched {
    /// Files were replayed: nothing else is to run.
    Done(Summary),
    /// The webhook server runs in the background.
    Serving(Server),
}

impl Launched {
    /// Ends a background server: first waits for `stop` or `max` when
    /// `wait` (no other source runs), then stops it and closes its outputs.
    pub fn finish(
        self,
        wait: bool,
        stop: &AtomicBool,
        max: Option<Duration>,
    ) -> Result<Summary, Error> {
        match self {
            Launched::Done(s) => Ok(s),
            Launched::Serving(server) => {
                let started = std::time::Instant::now();
                while wait
                    && !stop.load(Ordering::Relaxed)
                    && max.is_none_or(|m| started.elapsed() < m)
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let (summary, outputs) = server.stop()?;
                outputs.close(Duration::from_secs(5))?;
                Ok(summary)
            }
        }
    }
}

/// Starts the audit source of `plan` over `rules`: files are replayed now
/// into `outputs`; the webhook server starts in the background with outputs
/// of its own (from `out_cfg`) and runs until `stop` is set.
pub fn launch(
    plan: &Plan,
    rules: Ruleset,
    cfg: &crate::config::Config,
    alerts: AlertOptions,
    outputs: &mut Outputs,
    out_cfg: &crate::output::OutputsConfig,
    stop: &Arc<AtomicBool>,
) -> Result<Launched, Error> {
    let mode = match cfg.rule_matching {
        crate::config::RuleMatching::First => Matching::First,
        crate::config::RuleMatching::All => Matching::All,
    };
    let mut p = Processor::new(rules, mode, alerts, plan);
    match &plan.input {
        Input::Files(files) => {
            p.replay(files, outputs)?;
            Ok(Launched::Done(p.summary()))
        }
        Input::Http { .. } => {
            let own = Outputs::new(out_cfg)?;
            Ok(Launched::Serving(Server::start(
                plan,
                p,
                own,
                Arc::clone(stop),
            )?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_params() {
        assert_eq!(
            parse_open_params("http://:9765/k8s-audit").unwrap(),
            Input::Http {
                addr: "0.0.0.0:9765".into(),
                path: "/k8s-audit".into()
            }
        );
        assert_eq!(
            parse_open_params("http://127.0.0.1:8765/audit").unwrap(),
            Input::Http {
                addr: "127.0.0.1:8765".into(),
                path: "/audit".into()
            }
        );
        assert_eq!(
            parse_open_params("file:///x/a.log").unwrap(),
            Input::Files(vec![PathBuf::from("/x/a.log")])
        );
        assert!(parse_open_params("ftp://x")
            .unwrap_err()
            .to_string()
            .contains("scheme \"ftp\" is not supported"));
    }

    #[test]
    fn plan_from_falco_yaml() {
        let raw = Raw::parse(
            "falco.yaml",
            "load_plugins: [k8saudit, json]\nplugins:\n  - name: k8saudit\n    library_path: libk8saudit.so\n    init_config: '{\"maxEventSize\": 1000}'\n    open_params: 'http://127.0.0.1:0/k8s-audit'\n",
        )
        .unwrap();
        let p = plan(&raw, None).unwrap().unwrap();
        assert_eq!(p.max_event_size, 1000);
        assert_eq!(p.max_batch_size, MAX_BATCH_SIZE);
        assert!(matches!(p.input, Input::Http { .. }));
        assert!(plan(&Raw::empty(), None).unwrap().is_none());
        let legacy = Raw::parse(
            "falco.yaml",
            "webserver:\n  enabled: true\n  listen_port: 8766\n  k8s_audit_endpoint: /audit\n",
        )
        .unwrap();
        assert_eq!(
            plan(&legacy, None).unwrap().unwrap().input,
            Input::Http {
                addr: "0.0.0.0:8766".into(),
                path: "/audit".into()
            }
        );
        let f = plan(&Raw::empty(), Some(Path::new("/x.log")))
            .unwrap()
            .unwrap();
        assert_eq!(f.input, Input::Files(vec![PathBuf::from("/x.log")]));
    }
}
