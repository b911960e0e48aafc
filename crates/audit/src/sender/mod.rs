//! The webhook backend of kube-apiserver (`--audit-webhook-*`): POSTs audit events as
//! `EventList` bodies to the server of a kubeconfig, in `batch`, `blocking` or
//! `blocking-strict` mode, with the apiserver's buffering, throttling and retries.
//!
//! * **batch**: [`Webhook::process`] enqueues without waiting into a buffer of
//!   `buffer_size` events; when it is full the event is dropped and counted
//!   ([`Stats::dropped`]). A worker thread collects up to `max_batch_size` events or
//!   until `max_batch_wait` has passed since the previous batch, waits on the token
//!   bucket (`throttle_qps`, `throttle_burst`) and sends each batch from its own
//!   thread. [`Webhook::shutdown`] drains the buffer and waits for every batch.
//! * **blocking**: each call sends one `EventList` and waits through the retries;
//!   a final failure is counted ([`Stats::failed`]) but not returned.
//! * **blocking-strict**: as blocking, but a final failure is returned.
//!
//! Every error (transport or any non-2xx status) is retried: at most `attempts`
//! tries (5; 0 = until delivered), waiting `initial_backoff` (10 s) × 1.5 per step
//! (capped at 60 s) plus up to 20 % jitter.

pub mod cli;
pub mod input;
pub mod kubeconfig;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use kubeconfig::Client;

/// Errors of the webhook sender.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The kubeconfig is invalid.
    #[error("webhook config {path}: {msg}")]
    Config {
        /// The kubeconfig file.
        path: PathBuf,
        /// What is wrong (with line and column for YAML errors).
        msg: String,
    },
    /// The request failed before a response arrived.
    #[error("POST {url}: {msg}")]
    Http {
        /// The webhook URL.
        url: String,
        /// The transport error.
        msg: String,
    },
    /// The server answered with a non-2xx status.
    #[error("POST {url}: HTTP status {code}: {body}")]
    Status {
        /// The webhook URL.
        url: String,
        /// The HTTP status.
        code: u16,
        /// The start of the response body.
        body: String,
    },
    /// Every attempt failed; `last` is the final error.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: Box<Error>,
    },
    /// The sender was shut down.
    #[error("audit backend shut down")]
    ShutDown,
    /// An option is invalid (the apiserver's validation message).
    #[error("{0}")]
    Invalid(String),
}

/// How events are handed to the webhook (`--audit-webhook-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Asynchronous, buffered; drops when the buffer is full.
    Batch,
    /// Synchronous per call; final failures are ignored (counted).
    Blocking,
    /// Synchronous per call; final failures are returned.
    BlockingStrict,
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "batch" => Ok(Mode::Batch),
            "blocking" => Ok(Mode::Blocking),
            "blocking-strict" => Ok(Mode::BlockingStrict),
            _ => Err(Error::Invalid(format!(
                "invalid audit webhook mode {s}, allowed modes are \"batch,blocking,blocking-strict\""
            ))),
        }
    }
}

/// Webhook options; [`Options::default`] has the apiserver's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--audit-webhook-mode` (batch).
    pub mode: Mode,
    /// `--audit-webhook-batch-buffer-size` (10000).
    pub buffer_size: usize,
    /// `--audit-webhook-batch-max-size` (400).
    pub max_batch_size: usize,
    /// `--audit-webhook-batch-max-wait` (30 s).
    pub max_batch_wait: Duration,
    /// `--audit-webhook-batch-throttle-enable` (true).
    pub throttle_enable: bool,
    /// `--audit-webhook-batch-throttle-qps` (10 batches/s).
    pub throttle_qps: f64,
    /// `--audit-webhook-batch-throttle-burst` (15).
    pub throttle_burst: u32,
    /// `--audit-webhook-initial-backoff` (10 s).
    pub initial_backoff: Duration,
    /// Attempts per batch before giving up (the apiserver's backoff `Steps`, 5);
    /// 0 retries until delivered.
    pub attempts: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Batch,
            buffer_size: 10_000,
            max_batch_size: 400,
            max_batch_wait: Duration::from_secs(30),
            throttle_enable: true,
            throttle_qps: 10.0,
            throttle_burst: 15,
            initial_backoff: Duration::from_secs(10),
            attempts: 5,
        }
    }
}

impl Options {
    /// The apiserver's validation of batch options (checked in batch mode only).
    pub fn validate(&self) -> Result<(), Error> {
        if self.mode != Mode::Batch {
            return Ok(());
        }
        let bad = |what: &str, v: &dyn std::fmt::Display| {
            Err(Error::Invalid(format!(
                "invalid audit batch webhook {what} {v}, must be a positive number"
            )))
        };
        if self.buffer_size == 0 {
            return bad("buffer size", &self.buffer_size);
        }
        if self.max_batch_size == 0 {
            return bad("max batch size", &self.max_batch_size);
        }
        if self.throttle_enable {
            if self.throttle_qps <= 0.0 || self.throttle_qps.is_nan() {
                return bad("throttle QPS", &self.throttle_qps);
            }
            if self.throttle_burst == 0 {
                return bad("throttle burst", &self.throttle_burst);
            }
        }
        Ok(())
    }
}

/// Counters of a [`Webhook`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events handed to [`Webhook::process`].
    pub events: u64,
    /// Events delivered (2xx).
    pub sent: u64,
    /// Batches (`EventList` bodies) delivered.
    pub batches: u64,
    /// Events dropped because the batch buffer was full.
    pub dropped: u64,
    /// Events given up on after every attempt failed.
    pub failed: u64,
    /// Failed attempts (each one retried or given up).
    pub failed_attempts: u64,
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "events={} sent={} batches={} dropped={} failed={} failed_attempts={}",
            self.events, self.sent, self.batches, self.dropped, self.failed, self.failed_attempts
        )
    }
}

#[derive(Debug, Default)]
struct Counters {
    events: AtomicU64,
    sent: AtomicU64,
    batches: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    failed_attempts: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> Stats {
        Stats {
            events: self.events.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            failed_attempts: self.failed_attempts.load(Ordering::Relaxed),
        }
    }
}

/// Longest wait between two attempts (unless the initial backoff is longer). The
/// apiserver's 5 attempts from 10 s never reach it; it bounds unlimited retries.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The body prefix of every request.
const LIST_HEAD: &[u8] =
    b"{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[";

/// Builds an `EventList` body from raw event objects.
pub fn event_list<'a>(items: impl IntoIterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(LIST_HEAD);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"]}");
}

#[derive(Debug)]
struct Shared {
    client: Client,
    opts: Options,
    counters: Counters,
}

impl Shared {
    /// POSTs `body` carrying `n` events, retrying with exponential backoff.
    fn deliver(&self, body: &[u8], n: u64) -> Result<(), Error> {
        let mut wait = self.opts.initial_backoff;
        let mut attempt = 1;
        loop {
            match self.client.post(body) {
                Ok(()) => {
                    self.counters.sent.fetch_add(n, Ordering::Relaxed);
                    self.counters.batches.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(e) => {
                    self.counters
                        .failed_attempts
                        .fetch_add(1, Ordering::Relaxed);
                    if self.opts.attempts > 0 && attempt >= self.opts.attempts {
                        self.counters.failed.fetch_add(n, Ordering::Relaxed);
                        return Err(Error::GaveUp {
                            attempts: attempt,
                            last: Box::new(e),
                        });
                    }
                }
            }
            std::thread::sleep(wait.mul_f64(1.0 + 0.2 * fastrand::f64()));
            wait = wait
                .mul_f64(1.5)
                .min(MAX_BACKOFF.max(self.opts.initial_backoff));
            attempt += 1;
        }
    }
}

/// A token bucket like golang.org/x/time/rate: starts full with `burst` tokens.
#[derive(Debug)]
struct Throttle {
    qps: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Throttle {
    fn new(qps: f64, burst: u32) -> Self {
        Throttle {
            qps,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    fn wait(&mut self) {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.qps).min(self.burst);
        self.last = now;
        if self.tokens < 1.0 {
            std::thread::sleep(Duration::from_secs_f64((1.0 - self.tokens) / self.qps));
            self.tokens = 1.0;
            self.last = Instant::now();
        }
        self.tokens -= 1.0;
    }
}

#[derive(Debug)]
struct Batcher {
    tx: Mutex<Option<SyncSender<Vec<u8>>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// A webhook backend. It is `Sync`: several threads may call [`Webhook::process`].
#[derive(Debug)]
pub struct Webhook {
    shared: Arc<Shared>,
    batcher: Option<Batcher>,
}

impl Webhook {
    /// Starts a webhook backend (and, in batch mode, its worker thread).
    pub fn new(client: Client, opts: Options) -> Result<Webhook, Error> {
        opts.validate()?;
        let shared = Arc::new(Shared {
            client,
            opts,
            counters: Counters::default(),
        });
        let batcher = if shared.opts.mode == Mode::Batch {
            let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(shared.opts.buffer_size);
            let worker_shared = Arc::clone(&shared);
            let worker = std::thread::Builder::new()
                .name("audit-webhook-batch".into())
                .spawn(move || batch_worker(&worker_shared, &rx))
                .map_err(|e| Error::Invalid(format!("cannot start the batch worker: {e}")))?;
            Some(Batcher {
                tx: Mutex::new(Some(tx)),
                worker: Mutex::new(Some(worker)),
            })
        } else {
            None
        };
        Ok(Webhook { shared, batcher })
    }

    /// The options in use.
    pub fn options(&self) -> &Options {
        &self.shared.opts
    }

    /// Hands over one event (a JSON object). Batch mode never waits and drops the
    /// event when the buffer is full; blocking modes send it now (see the module docs).
    pub fn process(&self, event: &[u8]) -> Result<(), Error> {
        self.process_many(&[event])
    }

    /// Hands over the events of one apiserver `ProcessEvents` call: one `EventList`
    /// request in blocking modes, one buffered entry each in batch mode.
    pub fn process_many(&self, events: &[&[u8]]) -> Result<(), Error> {
        let c = &self.shared.counters;
        c.events.fetch_add(events.len() as u64, Ordering::Relaxed);
        match &self.batcher {
            Some(b) => {
                let guard =
                    b.tx.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                let Some(tx) = guard.as_ref() else {
                    c.dropped.fetch_add(events.len() as u64, Ordering::Relaxed);
                    return Err(Error::ShutDown);
                };
                for ev in events {
                    match tx.try_send(ev.to_vec()) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                            c.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Ok(())
            }
            None => {
                if events.is_empty() {
                    return Ok(());
                }
                let mut body = Vec::new();
                event_list(events.iter().copied(), &mut body);
                match self.shared.deliver(&body, events.len() as u64) {
                    Ok(()) => Ok(()),
                    Err(e) if self.shared.opts.mode == Mode::BlockingStrict => Err(e),
                    Err(_) => Ok(()),
                }
            }
        }
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Stops accepting events, delivers everything buffered (waiting through
    /// retries), and returns the final counters.
    pub fn shutdown(&self) -> Stats {
        if let Some(b) = &self.batcher {
            b.tx.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let worker = b
                .worker
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(w) = worker {
                let _ = w.join();
            }
        }
        self.stats()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The batch worker: collect, throttle, send each batch from its own thread.
fn batch_worker(shared: &Arc<Shared>, rx: &mpsc::Receiver<Vec<u8>>) {
    let opts = &shared.opts;
    let mut throttle = opts
        .throttle_enable
        .then(|| Throttle::new(opts.throttle_qps, opts.throttle_burst));
    let mut in_flight: Vec<JoinHandle<()>> = Vec::new();
    let mut open = true;
    while open {
        let deadline = Instant::now() + opts.max_batch_wait;
        let mut batch: Vec<Vec<u8>> = Vec::new();
        while batch.len() < opts.max_batch_size {
            let got = if opts.max_batch_size == 1 {
                rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            };
            match got {
                Ok(ev) => batch.push(ev),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        if let Some(t) = throttle.as_mut() {
            t.wait();
        }
        in_flight.retain(|h| !h.is_finished());
        let s = Arc::clone(shared);
        let batch = Arc::new(batch);
        let send = move || {
            let mut body = Vec::new();
            event_list(batch.iter().map(Vec::as_slice), &mut body);
            // A final failure is counted in `failed`; batch mode reports nothing else.
            let _ = s.deliver(&body, batch.len() as u64);
        };
        match std::thread::Builder::new()
            .name("audit-webhook-send".into())
            .spawn(send.clone())
        {
            Ok(h) => in_flight.push(h),
            Err(_) => send(),
        }
    }
    for h in in_flight {
        let _ = h.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_event_lists() {
        let mut out = Vec::new();
        event_list([&b"{\"a\":1}"[..], b"{}"], &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[{\"a\":1},{}]}"
        );
    }

    #[test]
    fn validates_like_the_apiserver() {
        assert_eq!(
            "bogus".parse::<Mode>().expect_err("bad").to_string(),
            "invalid audit webhook mode bogus, allowed modes are \"batch,blocking,blocking-strict\""
        );
        let o = Options {
            throttle_burst: 0,
            ..Options::default()
        };
        assert!(o.validate().is_err());
        let o = Options {
            mode: Mode::Blocking,
            buffer_size: 0,
            ..Options::default()
        };
        assert!(o.validate().is_ok());
    }

    #[test]
    fn throttle_starts_full() {
        let mut t = Throttle::new(1.0, 3);
        for _ in 0..3 {
            t.wait();
        }
        assert!(t.tokens < 1.0);
    }
}
