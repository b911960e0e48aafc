//! Alert forwarders for Osprey: Falco alerts in, many destinations out, shaped like
//! Vector (source → transform → sink).
//!
//! - [`Alert`] is Falco's JSON alert: [`Alert::from_json`] parses and validates it as
//!   Falcosidekick does, [`Alert::to_json`] writes Falco's exact JSON back.
//! - [`Forwarders`] owns one pipeline per configured output instance:
//!   1. *transform*: a routing filter ([`config::Route`]: minimum priority, rules, tags,
//!      sources), applied in [`Forwarders::submit`];
//!   2. *buffer*: a small in-memory hand-off channel drained by a writer thread into a
//!      bounded persistent queue on disk (one `redb` file per instance); when the queue
//!      is full the overflow policy drops the oldest (default) or the newest alert and
//!      counts it;
//!   3. *sink*: a delivery task that takes batches from the queue, sends them with the
//!      destination's protocol and Falcosidekick's payload shapes, removes them from the
//!      queue once the destination accepted them, and otherwise retries with exponential
//!      backoff and jitter. A destination that is down only makes its own queue grow.
//!
//! Delivery is at-least-once: an alert leaves its queue only after the destination
//! accepted it, so a crash between acceptance and removal re-sends it. Sinks that can
//! deduplicate do so with a stable per-alert id (`<instance>-<queue epoch>-<queue id>`): Elasticsearch
//! (`_id` with `create`), JetStream (`Nats-Msg-Id`), PostgreSQL (primary key), Redis hashes.
//! Permanent rejections (HTTP 4xx other than 408/429) are counted as errors and the alert
//! is discarded, so one bad alert cannot block a queue forever.

pub mod alert;
pub mod config;
mod error;
mod queue;
mod sinks;
pub mod template;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};

pub use alert::{Alert, Priority};
pub use config::Config;
pub use error::{Error, Result};

use config::{Common, Instance, Instances, QueueConfig, Route};
use queue::DiskQueue;
use sinks::{Queued, Sink};

/// Capacity of the in-memory hand-off between [`Forwarders::submit`] and an output's
/// queue writer; alerts beyond it (a disk that cannot keep up) are counted as dropped.
const HANDOFF_CAPACITY: usize = 8192;
/// Most alerts the writer thread commits to the disk queue in one transaction.
const WRITE_BATCH: usize = 4096;

/// Delivery counters of one output instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputStats {
    /// The instance's name (unique).
    pub name: String,
    /// The output type, as Falcosidekick's `destination` label (`webhook`, `slack`,
    /// `alertmanager`, `smtp`, `loki`, `elasticsearch`, `nats`, `redis`, `postgresql`,
    /// `syslog`, `file`).
    pub destination: &'static str,
    /// Alerts the destination accepted (sidekick's `status="ok"`).
    pub sent: u64,
    /// Failed delivery attempts plus permanently rejected alerts (`status="error"`).
    pub errors: u64,
    /// Alerts discarded because the queue or the hand-off was full.
    pub dropped: u64,
    /// Alerts waiting in the persistent queue now.
    pub queued: u64,
    /// The last delivery error, if the last attempt failed.
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn set_error(&self, e: Option<String>) {
        if let Ok(mut g) = self.last_error.lock() {
            *g = e;
        }
    }
}

#[derive(Debug)]
struct Output {
    name: String,
    destination: &'static str,
    route: Route,
    tx: mpsc::Sender<Arc<Alert>>,
    counters: Arc<Counters>,
    queue: Arc<DiskQueue>,
}

impl Output {
    fn offer(&self, alert: Arc<Alert>) {
        if self.tx.try_send(alert).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The running forwarders: one routed, queued, retried pipeline per output instance.
#[derive(Debug)]
pub struct Forwarders {
    outputs: Vec<Output>,
    writers: Vec<std::thread::JoinHandle<()>>,
    senders: Vec<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
    drain: watch::Sender<bool>,
    drain_timeout: Duration,
}

/// Everything needed to start one instance, before threads and tasks exist.
struct Planned {
    common: Common,
    destination: &'static str,
    sink: Sink,
}

fn plan<T>(
    out: &mut Vec<Planned>,
    instances: &Instances<T>,
    destination: &'static str,
    enabled: impl Fn(&T) -> bool,
    build: impl Fn(&T, &str, &Config) -> Result<Sink>,
    config: &Config,
) -> Result<()> {
    let n = instances.0.iter().filter(|i| enabled(&i.settings)).count();
    for (k, Instance { common, settings }) in instances
        .0
        .iter()
        .filter(|i| enabled(&i.settings))
        .enumerate()
    {
        let name = match &common.name {
            Some(n) if !n.is_empty() => n.clone(),
            _ if n == 1 => destination.to_owned(),
            _ => format!("{destination}-{}", k + 1),
        };
        let sink = build(settings, &name, config)?;
        let mut common = common.clone();
        common.name = Some(name);
        out.push(Planned {
            common,
            destination,
            sink,
        });
    }
    Ok(())
}

impl Forwarders {
    /// Builds every enabled output instance of `config` (an instance is enabled when its
    /// type's key field is non-empty, as in Falcosidekick), opens their queues under
    /// `config.queue.dir` and starts their writer threads and delivery tasks.
    ///
    /// Must be called within a Tokio runtime (the delivery tasks run on it). Errors:
    /// an invalid setting, a duplicate instance name, or a queue that cannot be opened.
    pub fn from_config(config: &Config) -> Result<Forwarders> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::Config {
            line: 0,
            column: 0,
            message: "Forwarders::from_config must run inside a Tokio runtime".into(),
        })?;
        let q = &config.queue;
        let mut planned = Vec::new();
        plan(
            &mut planned,
            &config.webhook,
            "webhook",
            |s| !s.address.is_empty(),
            sinks::http::webhook,
            config,
        )?;
        plan(
            &mut planned,
            &config.slack,
            "slack",
            |s| !s.webhookurl.is_empty(),
            sinks::http::slack,
            config,
        )?;
        plan(
            &mut planned,
            &config.alertmanager,
            "alertmanager",
            |s| !s.hostport.is_empty(),
            sinks::http::alertmanager,
            config,
        )?;
        plan(
            &mut planned,
            &config.smtp,
            "smtp",
            |s| !s.hostport.is_empty(),
            |s, n, c| sinks::smtp::build(s, n, &c.queue),
            config,
        )?;
        plan(
            &mut planned,
            &config.loki,
            "loki",
            |s| !s.hostport.is_empty(),
            sinks::http::loki,
            config,
        )?;
        plan(
            &mut planned,
            &config.elasticsearch,
            "elasticsearch",
            |s| !s.hostport.is_empty(),
            sinks::http::elasticsearch,
            config,
        )?;
        plan(
            &mut planned,
            &config.nats,
            "nats",
            |s| !s.hostport.is_empty(),
            |s, n, c| sinks::nats::build(s, n, &c.queue),
            config,
        )?;
        plan(
            &mut planned,
            &config.redis,
            "redis",
            |s| !s.address.is_empty(),
            |s, n, c| sinks::redis::build(s, n, &c.queue),
            config,
        )?;
        plan(
            &mut planned,
            &config.postgresql,
            "postgresql",
            |s| !s.connection.is_empty(),
            |s, n, c| sinks::postgres::build(s, n, &c.queue),
            config,
        )?;
        plan(
            &mut planned,
            &config.syslog,
            "syslog",
            |s| !s.host.is_empty() || !s.path.is_empty(),
            |s, n, c| sinks::syslog::build(s, n, &c.queue),
            config,
        )?;
        plan(
            &mut planned,
            &config.file,
            "file",
            |s| !s.path.as_os_str().is_empty(),
            |s, n, c| sinks::file::build(s, n, &c.queue),
            config,
        )?;

        let mut names = std::collections::BTreeSet::new();
        for p in &planned {
            let name = p.common.name.as_deref().unwrap_or_default();
            if !names.insert(name.to_owned()) {
                return Err(Error::Config {
                    line: 0,
                    column: 0,
                    message: format!("duplicate output name {name:?}"),
                });
            }
            if name.contains(['/', '\\']) || name.starts_with('.') {
                return Err(Error::Config {
                    line: 0,
                    column: 0,
                    message: format!("output name {name:?} cannot name a queue file"),
                });
            }
        }
        if !planned.is_empty() {
            std::fs::create_dir_all(&q.dir).map_err(|source| Error::Io {
                context: format!("creating queue directory {}", q.dir.display()),
                source,
            })?;
        }

        let (stop, stop_rx) = watch::channel(false);
        let (drain, drain_rx) = watch::channel(false);
        let mut f = Forwarders {
            outputs: Vec::new(),
            writers: Vec::new(),
            senders: Vec::new(),
            stop,
            drain,
            drain_timeout: Duration::from_secs(q.draintimeoutseconds),
        };
        for p in planned {
            f.start(p, q, &q.dir, &handle, stop_rx.clone(), drain_rx.clone())?;
        }
        Ok(f)
    }

    fn start(
        &mut self,
        p: Planned,
        q: &QueueConfig,
        dir: &Path,
        handle: &tokio::runtime::Handle,
        stop: watch::Receiver<bool>,
        drain: watch::Receiver<bool>,
    ) -> Result<()> {
        let name = p.common.name.clone().unwrap_or_default();
        let route = Route::new(&p.common)?;
        let queue = Arc::new(DiskQueue::open(
            &name,
            &dir.join(format!("{name}.redb")),
            p.common.maxqueued.unwrap_or(q.maxqueued),
            p.common.overflow.unwrap_or(q.overflow),
        )?);
        let counters = Arc::new(Counters::default());
        let notify = Arc::new(Notify::new());
        let (tx, rx) = mpsc::channel(HANDOFF_CAPACITY);
        let writer = {
            let (queue, counters, notify) = (queue.clone(), counters.clone(), notify.clone());
            std::thread::Builder::new()
                .name(format!("fwd-{name}"))
                .spawn(move || write_loop(rx, &queue, &counters, &notify))
                .map_err(|source| Error::Io {
                    context: format!("starting the queue writer of {name}"),
                    source,
                })?
        };
        let delivery = Delivery {
            name: name.clone(),
            queue: queue.clone(),
            counters: counters.clone(),
            notify,
            stop,
            drain,
            sink: p.sink,
            batch: q.batchsize.max(1),
            initial: Duration::from_millis(q.retryinitialms.max(1)),
            max: Duration::from_millis(q.retrymaxms.max(q.retryinitialms.max(1))),
            timeout: Duration::from_secs(q.timeoutseconds.max(1)),
        };
        self.senders.push(handle.spawn(delivery.run()));
        self.writers.push(writer);
        self.outputs.push(Output {
            name,
            destination: p.destination,
            route,
            tx,
            counters,
            queue,
        });
        Ok(())
    }

    /// Routes one alert to every output whose filter accepts it. Never blocks: the alert
    /// is handed to each output's queue writer; if a hand-off is full (its disk cannot
    /// keep up) the alert is counted as dropped for that output.
    pub fn submit(&self, alert: Arc<Alert>) {
        // The last matching output takes the caller's reference; the others a clone.
        let mut last: Option<&Output> = None;
        for o in &self.outputs {
            if o.route.matches(&alert) {
                if let Some(prev) = last.replace(o) {
                    prev.offer(alert.clone());
                }
            }
        }
        if let Some(o) = last {
            o.offer(alert);
        }
    }

    /// The counters of every output instance, in configuration order.
    pub fn stats(&self) -> Vec<OutputStats> {
        self.outputs
            .iter()
            .map(|o| OutputStats {
                name: o.name.clone(),
                destination: o.destination,
                sent: o.counters.sent.load(Ordering::Relaxed),
                errors: o.counters.errors.load(Ordering::Relaxed),
                dropped: o.counters.dropped.load(Ordering::Relaxed),
                queued: o.queue.len(),
                last_error: o.counters.last_error.lock().ok().and_then(|g| g.clone()),
            })
            .collect()
    }

    /// Names of the running output instances.
    pub fn names(&self) -> Vec<String> {
        self.outputs.iter().map(|o| o.name.clone()).collect()
    }

    /// Stops accepting alerts and writes every submitted alert to its queue. Then the
    /// deliveries get a grace period (`queue.draintimeoutseconds`) to flush their queues:
    /// a delivery waiting out a retry backoff tries once more at once, and shutdown
    /// returns as soon as every queue is empty. When the time is up the delivery tasks
    /// stop; an attempt in flight is abandoned, and whatever was not delivered stays in
    /// the persistent queues for the next start (nothing is lost).
    pub async fn shutdown(self) {
        let Forwarders {
            outputs,
            writers,
            senders,
            stop,
            drain,
            drain_timeout,
        } = self;
        let queues: Vec<Arc<DiskQueue>> = outputs.iter().map(|o| o.queue.clone()).collect();
        drop(outputs);
        // The writers exit once their channel is closed and drained.
        let _ = tokio::task::spawn_blocking(move || {
            for w in writers {
                let _ = w.join();
            }
        })
        .await;
        let _ = drain.send(true);
        let deadline = tokio::time::Instant::now() + drain_timeout;
        while queues.iter().any(|q| q.len() > 0) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop.send(true);
        for s in senders {
            let _ = s.await;
        }
    }
}

/// Appends the output counters as Prometheus text exposition:
///
/// - `falcosecurity_falcosidekick_outputs_total{destination,status="ok|error"}`, summed
///   over the instances of each output type (Falcosidekick's metric, so its dashboards
///   keep working);
/// - `osprey_forward_alerts_total{output,destination,status="ok|error|dropped"}` and the
///   gauge `osprey_forward_queued{output,destination}`, per instance.
pub fn write_prometheus(stats: &[OutputStats], out: &mut String) {
    use std::fmt::Write as _;
    let mut by_type: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for s in stats {
        let e = by_type.entry(s.destination).or_default();
        e.0 += s.sent;
        e.1 += s.errors;
    }
    out.push_str("# HELP falcosecurity_falcosidekick_outputs_total Alerts sent to outputs, by destination type and status.\n");
    out.push_str("# TYPE falcosecurity_falcosidekick_outputs_total counter\n");
    for (d, (ok, err)) in &by_type {
        let _ = writeln!(
            out,
            "falcosecurity_falcosidekick_outputs_total{{destination=\"{d}\",status=\"ok\"}} {ok}"
        );
        let _ = writeln!(out, "falcosecurity_falcosidekick_outputs_total{{destination=\"{d}\",status=\"error\"}} {err}");
    }
    out.push_str("# HELP osprey_forward_alerts_total Alerts per output instance: delivered, failed attempts, dropped.\n");
    out.push_str("# TYPE osprey_forward_alerts_total counter\n");
    for s in stats {
        let name = escape_label(&s.name);
        for (status, v) in [("ok", s.sent), ("error", s.errors), ("dropped", s.dropped)] {
            let _ = writeln!(
                out,
                "osprey_forward_alerts_total{{output=\"{name}\",destination=\"{}\",status=\"{status}\"}} {v}",
                s.destination
            );
        }
    }
    out.push_str("# HELP osprey_forward_queued Alerts waiting in an output's persistent queue.\n");
    out.push_str("# TYPE osprey_forward_queued gauge\n");
    for s in stats {
        let _ = writeln!(
            out,
            "osprey_forward_queued{{output=\"{}\",destination=\"{}\"}} {}",
            escape_label(&s.name),
            s.destination,
            s.queued
        );
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Drains the hand-off channel into the disk queue, batching what is available.
fn write_loop(
    mut rx: mpsc::Receiver<Arc<Alert>>,
    queue: &DiskQueue,
    counters: &Counters,
    notify: &Notify,
) {
    let mut batch: Vec<Vec<u8>> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        batch.clear();
        batch.push(first.to_json());
        while batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(a) => batch.push(a.to_json()),
                Err(_) => break,
            }
        }
        match queue.push(&batch) {
            Ok(dropped) => {
                counters.dropped.fetch_add(dropped, Ordering::Relaxed);
                notify.notify_one();
            }
            Err(e) => {
                counters
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                counters.set_error(Some(e.to_string()));
            }
        }
    }
}

/// The delivery task of one output.
struct Delivery {
    name: String,
    queue: Arc<DiskQueue>,
    counters: Arc<Counters>,
    notify: Arc<Notify>,
    stop: watch::Receiver<bool>,
    /// Becomes true when shutdown starts draining: cuts a retry backoff short once.
    drain: watch::Receiver<bool>,
    sink: Sink,
    batch: usize,
    initial: Duration,
    max: Duration,
    timeout: Duration,
}

impl Delivery {
    async fn run(mut self) {
        let mut failures: u32 = 0;
        loop {
            if *self.stop.borrow() {
                return;
            }
            let items = {
                let (q, n) = (self.queue.clone(), self.batch);
                match tokio::task::spawn_blocking(move || q.peek(n)).await {
                    Ok(Ok(items)) => items,
                    Ok(Err(e)) => {
                        self.counters.set_error(Some(e.to_string()));
                        if !self.pause(&mut failures).await {
                            return;
                        }
                        continue;
                    }
                    Err(_) => return,
                }
            };
            if items.is_empty() {
                let mut stop = self.stop.clone();
                tokio::select! {
                    () = self.notify.notified() => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            let mut batch = Vec::with_capacity(items.len());
            let mut discard = Vec::new();
            for (id, bytes) in items {
                match Alert::from_json(&bytes) {
                    Ok(alert) => batch.push(Queued {
                        id,
                        epoch: self.queue.epoch(),
                        key: sinks::delivery_key(&self.name, self.queue.epoch(), id),
                        alert,
                    }),
                    Err(_) => discard.push(id),
                }
            }
            self.counters
                .errors
                .fetch_add(discard.len() as u64, Ordering::Relaxed);
            if batch.is_empty() {
                // Only unreadable entries (a damaged queue file): drop them and go on.
                let q = self.queue.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || q.ack(&discard)).await {
                    self.counters.set_error(Some(e.to_string()));
                    if !self.pause(&mut failures).await {
                        return;
                    }
                }
                continue;
            }
            let mut stop = self.stop.clone();
            // Sinks time out each request themselves; this bound only catches a stuck
            // connection, so it grows with the requests a batch may take.
            let limit = self.timeout.saturating_mul(
                u32::try_from(batch.len())
                    .unwrap_or(u32::MAX)
                    .saturating_add(1),
            );
            let outcome = tokio::select! {
                r = tokio::time::timeout(limit, self.sink.send(&batch)) => match r {
                    Ok(o) => o,
                    Err(_) => sinks::Outcome::failed(0, false, "timed out"),
                },
                _ = stop.changed() => return,
            };
            let mut acked: Vec<u64> = batch[..outcome.delivered.min(batch.len())]
                .iter()
                .map(|q| q.id)
                .collect();
            let delivered = acked.len() as u64;
            acked.extend(discard);
            let retry = match outcome.failure {
                None => {
                    self.counters.set_error(None);
                    false
                }
                Some(f) => {
                    self.counters.errors.fetch_add(1, Ordering::Relaxed);
                    self.counters.set_error(Some(f.message));
                    if f.permanent {
                        if let Some(q) = batch.get(outcome.delivered) {
                            acked.push(q.id);
                        }
                        false
                    } else {
                        true
                    }
                }
            };
            let q = self.queue.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || q.ack(&acked)).await {
                self.counters.set_error(Some(e.to_string()));
            }
            // Counted once removed from the queue, so `sent + queued` never double-counts.
            self.counters.sent.fetch_add(delivered, Ordering::Relaxed);
            if retry {
                if !self.pause(&mut failures).await {
                    return;
                }
            } else {
                failures = 0;
            }
        }
    }

    /// Sleeps the backoff delay of the `failures`-th consecutive failure (exponential,
    /// capped, with jitter in its upper half); false when asked to stop meanwhile.
    async fn pause(&mut self, failures: &mut u32) -> bool {
        let exp = self
            .initial
            .saturating_mul(1u32 << (*failures).min(20))
            .min(self.max);
        *failures = failures.saturating_add(1);
        let half = exp / 2;
        let jitter = half.mul_f64(fastrand::f64());
        let mut stop = self.stop.clone();
        tokio::select! {
            () = tokio::time::sleep(half + jitter) => true,
            _ = stop.changed() => false,
            Ok(()) = self.drain.changed() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(yaml: &str) -> Result<Forwarders> {
        Forwarders::from_config(&Config::from_yaml(yaml).unwrap())
    }

    #[tokio::test]
    async fn setup_errors_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let q = format!("queue: {{dir: {}}}\n", dir.path().display());
        let e = build(&format!("{q}webhook:\n  - {{name: a, address: 'http://x/'}}\n  - {{name: a, address: 'http://y/'}}\n")).unwrap_err();
        assert!(e.to_string().contains("duplicate output name"), "{e}");
        let e = build(&format!("{q}webhook: {{address: 'ftp://x/'}}\n")).unwrap_err();
        assert!(matches!(e, Error::Output { .. }), "{e}");
        let e = build(&format!(
            "{q}webhook: {{address: 'http://x/', minimumpriority: loud}}\n"
        ))
        .unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e}");
        let e = build(&format!(
            "{q}webhook: {{name: ../x, address: 'http://x/'}}\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("queue file"), "{e}");
        // Disabled (empty key) sections start nothing; unnamed instances get numbered.
        let f = build(&format!(
            "{q}slack: {{webhookurl: ''}}\nfile:\n  - path: {0}/a\n  - path: {0}/b\n",
            dir.path().display()
        ))
        .unwrap();
        assert_eq!(f.names(), ["file-1", "file-2"]);
        f.shutdown().await;
    }

    #[test]
    fn from_config_needs_a_runtime() {
        let e = Forwarders::from_config(&Config::default()).unwrap_err();
        assert!(e.to_string().contains("Tokio runtime"), "{e}");
    }

    #[test]
    fn prometheus_text_sums_types_and_lists_instances() {
        let stat = |name: &str, d, sent, errors| OutputStats {
            name: name.into(),
            destination: d,
            sent,
            errors,
            dropped: 1,
            queued: 2,
            last_error: None,
        };
        let mut out = String::new();
        write_prometheus(
            &[
                stat("a", "webhook", 3, 1),
                stat("b\"x", "webhook", 4, 0),
                stat("s", "slack", 1, 0),
            ],
            &mut out,
        );
        assert!(out.contains(
            "falcosecurity_falcosidekick_outputs_total{destination=\"webhook\",status=\"ok\"} 7\n"
        ));
        assert!(out.contains("falcosecurity_falcosidekick_outputs_total{destination=\"webhook\",status=\"error\"} 1\n"));
        assert!(out.contains("osprey_forward_alerts_total{output=\"b\\\"x\",destination=\"webhook\",status=\"dropped\"} 1\n"));
        assert!(out.contains("osprey_forward_queued{output=\"s\",destination=\"slack\"} 2\n"));
    }
}
