//! The detection loop, on every core.
//!
//! ```text
//!  source ──► reader (this thread): events copied into batches
//!                 │ each batch to every worker, in order
//!        ┌────────┼────────┐
//!    worker 0  worker 1 … worker N-1: each keeps a full state engine (it
//!        │        │        │ parses every event), and evaluates rules only
//!        │        │        │ for the processes of its shard (pid mod N)
//!        └────────┼────────┘
//!                 ▼ alerts, per batch and worker
//!  reader: merges each batch's alerts by event number ──► outputs
//! ```
//!
//! The reader and the workers form a pipeline: with one worker (the default
//! on two CPUs) reading the source and parsing plus evaluating run on
//! separate cores. More workers split the evaluation by process, so
//! per-process state stays consistent; each still parses every event, so
//! they pay off only where evaluation, not parsing, dominates (many rules
//! matching many events). Alerts come out in the same order as with one
//! worker. A new ruleset (SIGHUP) travels with the batches, so no event is
//! evaluated by a mix of rulesets or lost.

use crate::config::{Config, EngineKind, RuleMatching};
use crate::output::{self, Outputs};
use osprey_capture::{LiveOptions, Next, Source};
use osprey_event::snapshot::Snapshot;
use osprey_event::EventRef;
use osprey_filter::fields::syscall::{Env, EventCtx};
use osprey_rules::{generic_code, AlertFormatter, AlertOptions, Matching, Priority, Ruleset};
use osprey_state::State;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events per batch.
const BATCH: usize = 2048;
/// Batches in flight per worker.
const DEPTH: usize = 8;

/// Why the loop could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The event source failed.
    #[error(transparent)]
    Source(#[from] osprey_capture::Error),
    /// An output failed.
    #[error(transparent)]
    Output(#[from] output::Error),
    /// The configuration asks for an engine Osprey does not have.
    #[error("engine.kind {0}: not supported (use modern_ebpf or replay)")]
    Engine(&'static str),
    /// `engine.kind: replay` without `engine.replay.capture_file`.
    #[error("engine.kind replay needs engine.replay.capture_file")]
    NoCapture,
    /// The rules could not be loaded.
    #[error("{0}")]
    Rules(String),
    /// A worker thread died.
    #[error("a rules worker stopped unexpectedly")]
    Worker,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events read.
    pub events: u64,
    /// Alerts raised (before the outputs' priority and rate limits).
    pub alerts: u64,
    /// Events the driver dropped (live).
    pub drops: u64,
    /// Times the rules were reloaded (SIGHUP).
    pub reloads: u64,
}

/// Signals the loop watches, set by handlers (or tests).
#[derive(Debug, Clone, Default)]
pub struct Signals {
    /// Stop (SIGINT, SIGTERM).
    pub stop: Arc<AtomicBool>,
    /// Reload rules (SIGHUP).
    pub reload: Arc<AtomicBool>,
    /// Reopen file outputs (SIGUSR1).
    pub reopen: Arc<AtomicBool>,
}

/// How the loop runs.
pub struct Run<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// Alert formatting options.
    pub alerts: AlertOptions,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Stop after this long.
    pub max: Option<Duration>,
    /// The signal flags.
    pub signals: Signals,
    /// Builds a ruleset: once per worker at start (a compiled ruleset keeps
    /// per-evaluation scratch space, so each worker has its own), and again
    /// on SIGHUP (an error then keeps the current rules).
    #[allow(clippy::type_complexity)]
    pub load: Box<dyn FnMut() -> Result<Ruleset, String> + 'a>,
}

impl std::fmt::Debug for Run<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("threads", &self.threads)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// Events copied out of the source: raw records and their CPUs.
#[derive(Debug, Default)]
struct Batch {
    /// Sequence number.
    seq: u64,
    /// `evt.num` of the first event.
    first_num: u64,
    /// The records, back to back.
    data: Vec<u8>,
    /// (start, end, cpu) of each record in `data`.
    spans: Vec<(u32, u32, u16)>,
}

/// What the reader sends a worker.
#[derive(Debug)]
enum ToWorker {
    /// Events to process.
    Events(Arc<Batch>),
    /// From now on, evaluate this ruleset.
    Rules(Box<Ruleset>),
}

/// One alert, formatted by a worker; its lines are ranges of the batch's
/// [`Done::text`].
#[derive(Debug)]
struct AlertMsg {
    num: u64,
    ts: u64,
    priority: Priority,
    rule: Arc<str>,
    text: (u32, u32),
    json: (u32, u32),
}

/// A worker's alerts for one batch, their lines in one buffer.
#[derive(Debug)]
struct Done {
    seq: u64,
    alerts: Vec<AlertMsg>,
    text: Vec<u8>,
}

/// A ruleset with each rule's name ready to hand out.
struct Rules {
    set: Ruleset,
    names: Vec<Arc<str>>,
}

impl Rules {
    fn new(set: Ruleset) -> Rules {
        let names = set
            .rules()
            .iter()
            .map(|r| Arc::from(r.name.as_str()))
            .collect();
        Rules { set, names }
    }
}

/// The syscalls a live capture must send for `rules` and `cfg`'s
/// `base_syscalls`: `None` for all.
fn selection(rules: &Ruleset, cfg: &Config) -> Option<Vec<String>> {
    if cfg.base_syscalls.all {
        return None;
    }
    let mut names = osprey_capture::selection_for(&rules.event_types())?;
    for s in &cfg.base_syscalls.custom_set {
        match s.strip_prefix('!') {
            Some(drop) => names.retain(|n| n != drop),
            None => names.push(s.clone()),
        }
    }
    names.sort_unstable();
    names.dedup();
    Some(names)
}

/// One worker: full state, rules for shard `me` of `n`.
#[allow(clippy::needless_pass_by_value)] // the thread owns its inputs
fn worker(
    (me, n): (usize, usize),
    snapshot: Arc<Snapshot>,
    rules: Ruleset,
    mode: Matching,
    alert_opts: AlertOptions,
    rx: Receiver<ToWorker>,
    tx: SyncSender<Done>,
) {
    let mut state = State::new();
    state.set_full(snapshot.exit_only);
    state.load(&snapshot);
    drop(snapshot);
    let env = Env::default();
    let mut formatter = AlertFormatter::new(alert_opts);
    let mut hits = Vec::new();
    let mut rules = Rules::new(rules);
    let mut json = Vec::new();
    for msg in rx {
        let batch = match msg {
            ToWorker::Rules(r) => {
                rules = Rules::new(*r);
                continue;
            }
            ToWorker::Events(b) => b,
        };
        let mut alerts = Vec::new();
        let mut text = Vec::new();
        for (i, &(start, end, cpu)) in batch.spans.iter().enumerate() {
            let raw = &batch.data[start as usize..end as usize];
            let Ok(ev) = EventRef::parse(raw, cpu, 0) else {
                continue;
            };
            // Falco's state engine parses every event before rules run.
            state.process(&ev);
            if n > 1 {
                let key = state.current_thread().map_or(ev.tid(), |t| t.pid as u64);
                if key % n as u64 != me as u64 {
                    continue;
                }
            }
            let num = batch.first_num + i as u64;
            let ctx = EventCtx {
                ev: &ev,
                state: &state,
                num,
                env: &env,
            };
            hits.clear();
            rules
                .set
                .evaluate(&ctx, ev.etype(), generic_code(&ev), mode, &mut hits);
            for &id in &hits {
                let Some(rule) = rules.set.rule(id) else {
                    continue;
                };
                let start = text.len();
                json.clear();
                if !formatter.write_both(rule, &ctx, ev.ts(), &mut text, &mut json) {
                    text.truncate(start);
                    continue;
                }
                let mid = text.len();
                text.extend_from_slice(&json);
                let span = |a: usize, b: usize| {
                    (
                        u32::try_from(a).unwrap_or(u32::MAX),
                        u32::try_from(b).unwrap_or(u32::MAX),
                    )
                };
                let i = id.0 as usize;
                alerts.push(AlertMsg {
                    num,
                    ts: ev.ts(),
                    priority: rule.priority,
                    rule: rules.names.get(i).cloned().unwrap_or_else(|| Arc::from("")),
                    text: span(start, mid),
                    json: span(mid, text.len()),
                });
            }
        }
        if tx
            .send(Done {
                seq: batch.seq,
                alerts,
                text,
            })
            .is_err()
        {
            return;
        }
    }
}

/// The reader's side: batches out, alerts back in order.
struct Pool {
    to: Vec<SyncSender<ToWorker>>,
    from: Receiver<Done>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Batches sent and not yet merged: seq -> (replies, workers' alerts).
    pending: BTreeMap<u64, (usize, Vec<Done>)>,
    next_seq: u64,
    next_out: u64,
}

impl Pool {
    fn send(&mut self, batch: &Arc<Batch>) -> Result<(), Error> {
        for tx in &self.to {
            tx.send(ToWorker::Events(Arc::clone(batch)))
                .map_err(|_| Error::Worker)?;
        }
        Ok(())
    }

    /// Receives worker replies (blocking while more than `max_pending`
    /// batches are out) and sends the alerts of completed batches, in order.
    fn drain(
        &mut self,
        max_pending: u64,
        outputs: &mut Outputs,
        summary: &mut Summary,
    ) -> Result<(), Error> {
        loop {
            let outstanding = self.next_seq - self.next_out;
            let done = if outstanding > max_pending {
                self.from.recv().map_err(|_| Error::Worker)?
            } else {
                match self.from.try_recv() {
                    Ok(d) => d,
                    Err(mpsc::TryRecvError::Empty) => return Ok(()),
                    Err(mpsc::TryRecvError::Disconnected) => return Err(Error::Worker),
                }
            };
            let entry = self.pending.entry(done.seq).or_default();
            entry.0 += 1;
            entry.1.push(done);
            while let Some((replies, _)) = self.pending.get(&self.next_out) {
                if *replies < self.to.len() {
                    break;
                }
                let (_, lists) = self
                    .pending
                    .remove(&self.next_out)
                    .expect("entry seen just above");
                let mut all: Vec<(&AlertMsg, &[u8])> = lists
                    .iter()
                    .flat_map(|d| d.alerts.iter().map(move |a| (a, d.text.as_slice())))
                    .collect();
                all.sort_by_key(|(a, _)| a.num);
                // One clock reading for the rate limiter per batch.
                let now = outputs.clock();
                for (a, buf) in &all {
                    summary.alerts += 1;
                    let line = |(s, e): (u32, u32)| {
                        buf.get(s as usize..e as usize)
                            .and_then(|b| std::str::from_utf8(b).ok())
                            .unwrap_or_default()
                    };
                    let alert = output::Alert {
                        priority: a.priority,
                        rule: &a.rule,
                        time_ns: a.ts,
                        text: line(a.text),
                        json: line(a.json),
                    };
                    outputs.send_at(&alert, now)?;
                }
                self.next_out += 1;
            }
        }
    }
}

/// Runs the rules over the configured source until it ends, a stop is
/// signalled, or `max` has passed, sending alerts to `outputs`.
pub fn run(run: Run<'_>, outputs: &mut Outputs) -> Result<Summary, Error> {
    let Run {
        config: cfg,
        alerts: alert_opts,
        threads,
        max,
        signals,
        mut load,
    } = run;
    let n = threads.max(1);
    let mut rulesets = (0..n)
        .map(|_| load().map_err(Error::Rules))
        .collect::<Result<Vec<_>, _>>()?;
    let rules = &rulesets[0];
    let mut source = match cfg.engine.kind {
        EngineKind::Replay if cfg.engine.replay.capture_file.is_empty() => {
            return Err(Error::NoCapture)
        }
        EngineKind::Replay => {
            Source::file(&cfg.engine.replay.capture_file, Arc::clone(&signals.stop))?
        }
        EngineKind::ModernEbpf => Source::live(
            LiveOptions {
                snaplen: cfg.falco_libs.snaplen,
                users: true,
                for_writing: false,
                only: if cfg.base_syscalls.all {
                    None
                } else {
                    selection(rules, cfg)
                },
            },
            Arc::clone(&signals.stop),
        )?,
        EngineKind::Nodriver => return Ok(Summary::default()),
        EngineKind::Kmod => return Err(Error::Engine("kmod")),
    };
    let mode = match cfg.rule_matching {
        RuleMatching::First => Matching::First,
        RuleMatching::All => Matching::All,
    };
    let snapshot = Arc::new(source.snapshot().clone());
    let (done_tx, done_rx) = mpsc::sync_channel(n * DEPTH);
    let mut pool = Pool {
        to: Vec::with_capacity(n),
        from: done_rx,
        threads: Vec::with_capacity(n),
        pending: BTreeMap::new(),
        next_seq: 0,
        next_out: 0,
    };
    for (me, rules) in rulesets.drain(..).enumerate() {
        let (tx, rx) = mpsc::sync_channel(DEPTH);
        let (snap, opts, done) = (Arc::clone(&snapshot), alert_opts.clone(), done_tx.clone());
        pool.to.push(tx);
        pool.threads.push(
            std::thread::Builder::new()
                .name(format!("rules-{me}"))
                .spawn(move || worker((me, n), snap, rules, mode, opts, rx, done))
                .map_err(|_| Error::Worker)?,
        );
    }
    drop(done_tx);
    drop(snapshot);

    let started = Instant::now();
    let mut summary = Summary::default();
    let mut batch = Batch::default();
    let result = (|| -> Result<(), Error> {
        loop {
            if max.is_some_and(|m| started.elapsed() >= m) {
                break;
            }
            if signals.reopen.swap(false, Ordering::Relaxed) {
                outputs.reopen()?;
            }
            let next = source.poll()?;
            let (idle, end) = match next {
                Next::Event(ev) => {
                    let start = u32::try_from(batch.data.len()).unwrap_or(u32::MAX);
                    batch.data.extend_from_slice(ev.raw());
                    let end = u32::try_from(batch.data.len()).unwrap_or(u32::MAX);
                    batch.spans.push((start, end, ev.cpu));
                    summary.events += 1;
                    (false, false)
                }
                Next::Idle => (true, false),
                Next::End => (false, true),
            };
            if batch.spans.len() >= BATCH || ((idle || end) && !batch.spans.is_empty()) {
                let first_num = summary.events + 1 - batch.spans.len() as u64;
                let full = std::mem::take(&mut batch);
                pool.send(&Arc::new(Batch {
                    seq: pool.next_seq,
                    first_num,
                    ..full
                }))?;
                pool.next_seq += 1;
                pool.drain((n * DEPTH / 2) as u64, outputs, &mut summary)?;
            }
            if signals.reload.swap(false, Ordering::Relaxed) {
                match (0..n).map(|_| load()).collect::<Result<Vec<_>, _>>() {
                    Ok(new) => {
                        for (tx, r) in pool.to.iter().zip(new) {
                            tx.send(ToWorker::Rules(Box::new(r)))
                                .map_err(|_| Error::Worker)?;
                        }
                        summary.reloads += 1;
                    }
                    Err(e) => eprintln!("rules not reloaded: {e}"),
                }
            }
            if idle {
                pool.drain(0, outputs, &mut summary)?;
                outputs.flush()?;
            }
            if end {
                break;
            }
        }
        if !batch.spans.is_empty() {
            let first_num = summary.events + 1 - batch.spans.len() as u64;
            let full = std::mem::take(&mut batch);
            pool.send(&Arc::new(Batch {
                seq: pool.next_seq,
                first_num,
                ..full
            }))?;
            pool.next_seq += 1;
        }
        pool.drain(0, outputs, &mut summary)
    })();
    pool.to.clear();
    for t in pool.threads.drain(..) {
        let _ = t.join();
    }
    result?;
    summary.drops = source.drops();
    outputs.flush()?;
    Ok(summary)
}
