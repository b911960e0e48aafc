//! `http_output`: one POST per alert, sent by a background thread so that
//! [`super::Outputs::send`] never waits for the network.
//!
//! The alert goes into a bounded queue (`try_send`: a full queue drops the
//! alert and counts it). The worker POSTs it with `Content-Type:
//! application/json` (`json_output`) or `text/plain`, as Falco does, and
//! retries connection failures and 408/429/5xx answers with exponential
//! backoff; when the retries run out the alert is dropped and counted.
//! Plain `http://` only: this build has no TLS.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Error, HttpConfig, OutputKind, OutputStats};

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    /// Dropped by the worker (retries exhausted, rejected, past the deadline).
    dropped: AtomicU64,
    errors: AtomicU64,
    retries: AtomicU64,
}

/// State shared with the worker thread.
#[derive(Debug, Default)]
struct Shared {
    counters: Counters,
    /// Set when closing: past this instant the worker stops retrying and
    /// drops what is left.
    deadline: Mutex<Option<Instant>>,
    /// Wakes a worker waiting out a backoff when the deadline is set.
    wake: Condvar,
}

impl Shared {
    fn deadline(&self) -> MutexGuard<'_, Option<Instant>> {
        self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expired(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Waits `delay`, cut short by the close deadline; false when the
    /// deadline has passed (the caller should give up).
    fn pause(&self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        let mut guard = self.deadline();
        loop {
            let now = Instant::now();
            let deadline = *guard;
            if deadline.is_some_and(|d| now >= d) {
                return false;
            }
            if now >= until {
                return true;
            }
            let mut wait = until - now;
            if let Some(d) = deadline {
                wait = wait.min(d - now);
            }
            guard = self
                .wake
                .wait_timeout(guard, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[derive(Debug)]
pub(super) struct HttpOutput {
    tx: Option<SyncSender<Vec<u8>>>,
    shared: Arc<Shared>,
    /// Receives one message (or a disconnect) when the worker ends.
    done: Receiver<()>,
    worker: Option<JoinHandle<()>>,
    /// Alerts the queue accepted.
    accepted: u64,
    /// Alerts refused because the queue was full (or already closed).
    queue_full: u64,
    /// The counters as frozen by `shutdown`.
    frozen: Option<OutputStats>,
}

impl HttpOutput {
    pub(super) fn new(config: &HttpConfig, json: bool) -> Result<HttpOutput, Error> {
        let url = unquote(config.url.trim());
        let invalid = |reason: &str| Error::Config {
            output: OutputKind::Http,
            target: config.url.clone(),
            reason: reason.to_owned(),
        };
        let uri: ureq::http::Uri = url.parse().map_err(|_| invalid("not a valid URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(invalid("https is not supported (built without TLS)")),
            _ => return Err(invalid("the URL must start with http://")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(invalid("the URL has no host"));
        }
        if config.queue_capacity == 0 {
            return Err(invalid("queue_capacity must be at least 1"));
        }
        let timeout = (config.timeout_ms > 0).then(|| clamped_ms(config.timeout_ms));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(timeout)
            .http_status_as_error(false)
            .user_agent(config.user_agent.as_str())
            .build()
            .into();
        let shared = Arc::new(Shared::default());
        let worker = Worker {
            agent,
            url: url.to_owned(),
            content_type: if json {
                "application/json"
            } else {
                "text/plain"
            },
            te_gzip: config.compress_uploads,
            max_retries: config.max_retries,
            backoff: clamped_ms(config.retry_backoff_ms),
            backoff_max: clamped_ms(config.retry_backoff_max_ms),
            shared: Arc::clone(&shared),
        };
        let (tx, rx) = mpsc::sync_channel(config.queue_capacity);
        let (done_tx, done) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("osprey-http-output".to_owned())
            .spawn(move || {
                worker.run(&rx);
                // The receiver is gone only if the output was dropped.
                let _ = done_tx.send(());
            })
            .map_err(|source| Error::Io {
                output: OutputKind::Http,
                target: config.url.clone(),
                source,
            })?;
        Ok(HttpOutput {
            tx: Some(tx),
            shared,
            done,
            worker: Some(handle),
            accepted: 0,
            queue_full: 0,
            frozen: None,
        })
    }

    /// Queues one alert body without blocking; a full queue drops it.
    pub(super) fn enqueue(&mut self, body: &[u8]) {
        let queued = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.try_send(body.to_vec()).is_ok());
        if queued {
            self.accepted += 1;
        } else {
            self.queue_full += 1;
        }
    }

    pub(super) fn stats(&self) -> OutputStats {
        if let Some(frozen) = self.frozen {
            return frozen;
        }
        let c = &self.shared.counters;
        OutputStats {
            kind: OutputKind::Http,
            sent: c.sent.load(Ordering::Relaxed),
            dropped: self.queue_full + c.dropped.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
        }
    }

    /// Lets the worker deliver what is queued until `timeout` has passed,
    /// then stops it; alerts still queued or in flight count as dropped.
    pub(super) fn shutdown(&mut self, timeout: Duration) {
        let Some(handle) = self.worker.take() else {
            return;
        };
        // A timeout too large for an Instant means no deadline.
        *self.shared.deadline() = Instant::now().checked_add(timeout);
        self.shared.wake.notify_all();
        // Disconnecting makes the worker stop once the queue is empty.
        self.tx = None;
        let mut stats = self.stats();
        match self.done.recv_timeout(timeout) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                // The worker has finished: joining is immediate.
                let _ = handle.join();
                stats = self.stats();
            }
            Err(RecvTimeoutError::Timeout) => {
                // Stuck in a request: leave the thread behind and count
                // everything it has not finished as dropped.
                let c = &self.shared.counters;
                stats.sent = c.sent.load(Ordering::Relaxed);
                let worker_dropped = c.dropped.load(Ordering::Relaxed);
                let unfinished = self.accepted.saturating_sub(stats.sent + worker_dropped);
                stats.dropped = self.queue_full + worker_dropped + unfinished;
                stats.errors = c.errors.load(Ordering::Relaxed);
                stats.retries = c.retries.load(Ordering::Relaxed);
            }
        }
        self.frozen = Some(stats);
    }
}

/// Delays and timeouts from the config, capped at a day so that adding them
/// to an `Instant` cannot overflow.
fn clamped_ms(ms: u64) -> Duration {
    Duration::from_millis(ms.min(86_400_000))
}

/// Falco accepts a URL in quotes; so do we.
fn unquote(url: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = url.strip_prefix(q).and_then(|u| u.strip_suffix(q)) {
            return inner;
        }
    }
    url
}

enum Outcome {
    Delivered,
    /// A status that retrying will not fix (e.g. 400, 404).
    Rejected,
    Retry,
}

struct Worker {
    agent: ureq::Agent,
    url: String,
    content_type: &'static str,
    te_gzip: bool,
    max_retries: u32,
    backoff: Duration,
    backoff_max: Duration,
    shared: Arc<Shared>,
}

impl Worker {
    fn run(&self, rx: &Receiver<Vec<u8>>) {
        while let Ok(body) = rx.recv() {
            if self.shared.expired() {
                count(&self.shared.counters.dropped);
            } else {
                self.deliver(&body);
            }
        }
    }

    fn deliver(&self, body: &[u8]) {
        let c = &self.shared.counters;
        let mut backoff = self.backoff;
        let mut attempt = 0;
        loop {
            match self.post(body) {
                Outcome::Delivered => return count(&c.sent),
                Outcome::Rejected => {
                    count(&c.errors);
                    return count(&c.dropped);
                }
                Outcome::Retry => count(&c.errors),
            }
            if attempt >= self.max_retries || !self.shared.pause(backoff) {
                return count(&c.dropped);
            }
            attempt += 1;
            count(&c.retries);
            backoff = backoff.saturating_mul(2).min(self.backoff_max);
        }
    }

    fn post(&self, body: &[u8]) -> Outcome {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", self.content_type);
        if self.te_gzip {
            request = request.header("TE", "gzip");
        }
        match request.send(body) {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read the answer out so the connection can be reused; its
                // content does not matter.
                let _ = io::copy(&mut response.into_body().into_reader(), &mut io::sink());
                match status {
                    200..=299 => Outcome::Delivered,
                    408 | 429 | 500..=599 => Outcome::Retry,
                    _ => Outcome::Rejected,
                }
            }
            Err(_) => Outcome::Retry,
        }
    }
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
