//! The detection loop: events from a capture file or the live driver update
//! the state engine, the rules of each event's type are evaluated on it, and
//! each match becomes an alert sent to the outputs.

use crate::config::{Config, EngineKind, RuleMatching};
use crate::output::{self, Outputs};
use osprey_capture::{LiveOptions, Next, Source};
use osprey_filter::fields::syscall::{Env, EventCtx};
use osprey_rules::{generic_code, AlertFormatter, Matching, Ruleset};
use osprey_state::State;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Runs the rules over the configured source until it ends, `stop` is set,
/// or `max` has passed, sending alerts to `outputs`.
pub fn run(
    cfg: &Config,
    rules: &Ruleset,
    formatter: &mut AlertFormatter,
    outputs: &mut Outputs,
    stop: &Arc<AtomicBool>,
    max: Option<Duration>,
) -> Result<Summary, Error> {
    let mut source = match cfg.engine.kind {
        EngineKind::Replay if cfg.engine.replay.capture_file.is_empty() => {
            return Err(Error::NoCapture)
        }
        EngineKind::Replay => Source::file(&cfg.engine.replay.capture_file, Arc::clone(stop))?,
        EngineKind::ModernEbpf => Source::live(
            LiveOptions {
                snaplen: cfg.falco_libs.snaplen,
                users: true,
                for_writing: false,
                only: selection(rules, cfg),
            },
            Arc::clone(stop),
        )?,
        EngineKind::Nodriver => return Ok(Summary::default()),
        EngineKind::Kmod => return Err(Error::Engine("kmod")),
    };
    let mode = match cfg.rule_matching {
        RuleMatching::First => Matching::First,
        RuleMatching::All => Matching::All,
    };
    let mut state = State::new();
    state.set_full(source.snapshot().exit_only);
    state.load(source.snapshot());
    let env = Env::default();
    let started = Instant::now();
    let mut summary = Summary::default();
    let (mut text, mut json, mut hits) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        if max.is_some_and(|m| started.elapsed() >= m) {
            break;
        }
        let ev = match source.poll()? {
            Next::Event(ev) => ev,
            Next::Idle => {
                outputs.flush()?;
                continue;
            }
            Next::End => break,
        };
        summary.events += 1;
        // Falco's state engine parses every event before rules run.
        state.process(&ev);
        let ctx = EventCtx {
            ev: &ev,
            state: &state,
            num: summary.events,
            env: &env,
        };
        hits.clear();
        rules.evaluate(&ctx, ev.etype(), generic_code(&ev), mode, &mut hits);
        for &id in &hits {
            let Some(rule) = rules.rule(id) else { continue };
            text.clear();
            json.clear();
            if !formatter.write_text(rule, &ctx, ev.ts(), &mut text)
                || !formatter.write_json(rule, &ctx, ev.ts(), &mut json)
            {
                continue;
            }
            summary.alerts += 1;
            let priority: output::Priority = rule
                .priority
                .as_str()
                .parse()
                .unwrap_or(output::Priority::Debug);
            outputs.send(&output::Alert {
                priority,
                rule: &rule.name,
                time_ns: ev.ts(),
                text: std::str::from_utf8(&text).unwrap_or_default(),
                json: std::str::from_utf8(&json).unwrap_or_default(),
            })?;
        }
    }
    summary.drops = source.drops();
    outputs.flush()?;
    Ok(summary)
}
