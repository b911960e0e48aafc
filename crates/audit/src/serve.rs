//! `osprey-audit serve`: an HTTP receiver for kube-apiserver's audit webhook
//! backend that writes what it receives through the log backend ([`crate::log`]).
//!
//! * `POST <path>` (default `/audit`) with an `EventList` body (a single `Event`, an
//!   array or JSON lines are accepted too). Other paths answer 404, other methods 405.
//! * The whole body is parsed first: any malformed event rejects the request with
//!   **400** and the reader's message (file, line, column, byte offset); a body over
//!   `--max-body-bytes` gets **413**. Nothing of a rejected request is written.
//! * With `--policy`, each event is evaluated as the apiserver would: level `None`
//!   or an omitted stage drops it, bodies are cut to the level, managed fields
//!   stripped when asked ([`crate::event::apply`]).
//! * **200** is sent only after every kept event was handed to the kernel (flushed
//!   to the log file). A write error answers **500** with the error, and the
//!   unflushed lines of that request are discarded, so the sender's retry writes
//!   them once. Delivery is at least once: if the file rotated in the middle of a
//!   failing request, the lines before the rotation are written twice.
//! * With `--audit-webhook-config-file`, every written event is also forwarded to
//!   another webhook ([`crate::sender`]), in the configured mode.
//! * SIGTERM or SIGINT stops accepting connections, lets running requests finish,
//!   then flushes, fsyncs and closes the log and drains the forwarder.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

use crate::event::{apply, Events};
use crate::log::{Format, LogBackend, LogOptions, MEGABYTE};
use crate::policy::Policy;
use crate::sender::cli::WebhookArgs;
use crate::sender::{self, Webhook};

/// Errors of `serve`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option is invalid (the apiserver's message where it has one).
    #[error("{0}")]
    Invalid(String),
    /// The policy could not be loaded.
    #[error(transparent)]
    Policy(#[from] crate::Error),
    /// The log could not be opened or closed.
    #[error(transparent)]
    Log(#[from] crate::log::Error),
    /// The forwarding webhook could not be set up.
    #[error(transparent)]
    Webhook(#[from] sender::Error),
    /// Binding, serving or the runtime failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The `--audit-log-*` flags, with kube-apiserver 1.36's defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Where to write: a file (rotated) or `-` for standard output.
    #[arg(long = "audit-log-path", value_name = "PATH")]
    pub path: PathBuf,
    /// json or legacy.
    #[arg(long = "audit-log-format", default_value = "json", value_parser = parse_format)]
    pub format: Format,
    /// Rotate before the file would exceed this many MiB; 0 never rotates.
    #[arg(
        long = "audit-log-maxsize",
        default_value_t = 100,
        allow_negative_numbers = true
    )]
    pub max_size: i64,
    /// The rotation size in bytes instead of MiB (overrides --audit-log-maxsize; for tests).
    #[arg(long = "audit-log-maxsize-bytes", value_name = "BYTES")]
    pub max_size_bytes: Option<u64>,
    /// Delete backups older than this many days; 0 keeps them.
    #[arg(
        long = "audit-log-maxage",
        default_value_t = 366,
        allow_negative_numbers = true
    )]
    pub max_age: i64,
    /// Keep at most this many backups; 0 keeps all.
    #[arg(
        long = "audit-log-maxbackup",
        default_value_t = 100,
        allow_negative_numbers = true
    )]
    pub max_backup: i64,
    /// Gzip rotated backups.
    #[arg(long = "audit-log-compress")]
    pub compress: bool,
    /// fsync the log at most this often (milliseconds) while writing; 0 syncs only
    /// on rotation and shutdown.
    #[arg(long = "audit-log-fsync-interval-ms", default_value_t = 1000)]
    pub fsync_interval_ms: u64,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
        .map_err(|e: crate::log::format::UnknownFormat| e.to_string())
}

impl LogArgs {
    /// The [`LogOptions`] these flags select, validated as the apiserver does.
    pub fn options(&self) -> Result<LogOptions, Error> {
        for (name, v) in [
            ("maxage", self.max_age),
            ("maxbackup", self.max_backup),
            ("maxsize", self.max_size),
        ] {
            if v < 0 {
                return Err(Error::Invalid(format!(
                    "--audit-log-{name} {v} can't be a negative number"
                )));
            }
        }
        let mut opts = LogOptions::new(&self.path);
        opts.format = self.format;
        opts.max_size = self
            .max_size_bytes
            .unwrap_or_else(|| self.max_size.unsigned_abs().saturating_mul(MEGABYTE));
        opts.max_age_days = u32::try_from(self.max_age).unwrap_or(u32::MAX);
        opts.max_backups = usize::try_from(self.max_backup).unwrap_or(usize::MAX);
        opts.compress = self.compress;
        opts.sync_interval =
            (self.fsync_interval_ms > 0).then(|| Duration::from_millis(self.fsync_interval_ms));
        Ok(opts)
    }
}

/// Arguments of `osprey-audit serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: SocketAddr,
    /// URL path that accepts the POSTs.
    #[arg(long = "path", default_value = "/audit")]
    pub url_path: String,
    /// Audit policy to apply to received events (none: write them as received).
    #[arg(long, value_name = "POLICY.yaml")]
    pub policy: Option<PathBuf>,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 32 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// The log backend.
    #[command(flatten)]
    pub log: LogArgs,
    /// Optional forwarding of written events to another webhook.
    #[command(flatten)]
    pub webhook: WebhookArgs,
}

/// Counters of a server run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests answered 200.
    pub accepted_requests: u64,
    /// Requests answered 4xx (malformed) or 5xx (write errors).
    pub rejected_requests: u64,
    /// Events in accepted requests.
    pub events: u64,
    /// Events written to the log.
    pub written: u64,
    /// Events dropped by the policy (level None or an omitted stage).
    pub filtered: u64,
    /// Counters of the forwarding webhook, if any.
    pub forward: Option<sender::Stats>,
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "requests_ok={} requests_rejected={} events={} written={} filtered={}",
            self.accepted_requests,
            self.rejected_requests,
            self.events,
            self.written,
            self.filtered
        )?;
        if let Some(fwd) = &self.forward {
            write!(f, " forward: {fwd}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    events: AtomicU64,
    written: AtomicU64,
    filtered: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    log: Mutex<Option<LogBackend>>,
    policy: Option<Policy>,
    forward: Option<Webhook>,
    counters: Counters,
}

/// Why a request was not accepted.
enum Reject {
    Malformed(String),
    Write(String),
    ShutDown,
}

impl Shared {
    /// Parses, filters and writes one request body; returns the events written.
    fn ingest(&self, body: &[u8]) -> Result<u64, Reject> {
        let mut events = Vec::new();
        for ev in Events::new(body, "request body") {
            events.push(ev.map_err(|e| Reject::Malformed(format!("malformed audit events: {e}")))?);
        }
        let n_events = events.len() as u64;
        let mut forward: Vec<Vec<u8>> = Vec::new();
        let mut written = 0;
        let mut filtered = 0;
        {
            let mut guard = self.log.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(log) = guard.as_mut() else {
                return Err(Reject::ShutDown);
            };
            for mut ev in events {
                if let Some(policy) = &self.policy {
                    let decision = policy.evaluate_event(&ev);
                    if !apply(&mut ev, &decision) {
                        filtered += 1;
                        continue;
                    }
                }
                if let Err(e) = log.write_event(&mut ev) {
                    log.discard_pending();
                    return Err(Reject::Write(e.to_string()));
                }
                written += 1;
                if self.forward.is_some() {
                    ev.kind = None;
                    ev.api_version = None;
                    if let Ok(bytes) = serde_json::to_vec(&ev) {
                        forward.push(bytes);
                    }
                }
            }
            if let Err(e) = log.flush() {
                log.discard_pending();
                return Err(Reject::Write(e.to_string()));
            }
        }
        if let Some(fwd) = &self.forward {
            let items: Vec<&[u8]> = forward.iter().map(Vec::as_slice).collect();
            // The events are written already; a forwarding failure is counted in
            // the forwarder's stats and must not make the sender resend them.
            let _ = fwd.process_many(&items);
        }
        let c = &self.counters;
        c.events.fetch_add(n_events, Ordering::Relaxed);
        c.written.fetch_add(written, Ordering::Relaxed);
        c.filtered.fetch_add(filtered, Ordering::Relaxed);
        Ok(written)
    }
}

async fn receive(State(shared): State<Arc<Shared>>, body: Bytes) -> (StatusCode, String) {
    let worker = Arc::clone(&shared);
    let result = tokio::task::spawn_blocking(move || worker.ingest(&body)).await;
    let (status, msg) = match result {
        Ok(Ok(n)) => {
            shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::OK, format!("{{\"written\":{n}}}\n"));
        }
        Ok(Err(Reject::Malformed(m))) => (StatusCode::BAD_REQUEST, m),
        Ok(Err(Reject::Write(m))) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        Ok(Err(Reject::ShutDown)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "audit backend shut down".to_string(),
        ),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
    (status, msg + "\n")
}

/// A configured server, ready to run on a listener.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    url_path: String,
    max_body_bytes: usize,
}

impl Server {
    /// Loads the policy, opens the log and starts the forwarder, as `args` say.
    pub fn new(args: &Args) -> Result<Server, Error> {
        if !args.url_path.starts_with('/') {
            return Err(Error::Invalid(format!(
                "--path {:?} must start with /",
                args.url_path
            )));
        }
        let opts = args.log.options()?;
        let policy = match &args.policy {
            Some(p) => Some(Policy::load(p)?.policy),
            None => None,
        };
        let forward = args.webhook.start()?;
        let log = LogBackend::open(&opts)?;
        Ok(Server {
            shared: Arc::new(Shared {
                log: Mutex::new(Some(log)),
                policy,
                forward,
                counters: Counters::default(),
            }),
            url_path: args.url_path.clone(),
            max_body_bytes: args.max_body_bytes,
        })
    }

    /// Serves on `listener` until `shutdown` completes, then finishes running
    /// requests, closes the log and drains the forwarder.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Stats, Error> {
        let app = Router::new()
            .route(&self.url_path, post(receive))
            .layer(DefaultBodyLimit::max(self.max_body_bytes))
            .with_state(Arc::clone(&self.shared));
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| Error::Io {
                what: "serving".into(),
                source,
            });
        let shared = self.shared;
        let log = shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let closed = log.map_or(Ok(()), LogBackend::close);
        let forward = shared.forward.as_ref().map(Webhook::shutdown);
        served?;
        closed?;
        let c = &shared.counters;
        Ok(Stats {
            accepted_requests: c.accepted.load(Ordering::Relaxed),
            rejected_requests: c.rejected.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            filtered: c.filtered.load(Ordering::Relaxed),
            forward,
        })
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed before the first poll,
/// so a signal arriving early is not lost.
fn termination() -> Result<impl Future<Output = ()> + Send + 'static, std::io::Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// Runs `osprey-audit serve` until SIGTERM/SIGINT. `on_ready` gets the bound
/// address once the server accepts connections.
pub fn run(args: &Args, on_ready: impl FnOnce(SocketAddr)) -> Result<Stats, Error> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| Error::Io { what, source }
    };
    let server = Server::new(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("starting the runtime"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(io(&format!("listening on {}", args.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(io("reading the bound address"))?;
        let shutdown = termination().map_err(io("installing signal handlers"))?;
        on_ready(addr);
        server.run(listener, shutdown).await
    })
}
