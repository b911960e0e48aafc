//! `kabench`: throughput of rules over Kubernetes audit events.
//!
//! Loads a k8s_audit rules file (default: Falco's upstream
//! `k8s_audit_rules.yaml` from the shared compat material) and the sample
//! audit events, then runs the events round robin through the rules for a
//! fixed time, three ways:
//!
//! - `rules`: evaluation only (events parsed once beforehand);
//! - `parse+rules`: each event parsed from its JSON text, then evaluated
//!   (what the webhook and file sources do per event);
//! - `parse+rules+alerts`: as above, plus formatting every alert as text
//!   and JSON.
//!
//! ```text
//! cargo run --release -p osprey-bench --bin kabench -- [--rules FILE] [--events DIR] [--secs N] [--first]
//! ```

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use osprey_audit::fields::{input, KaCatalog, KaEvent, KaFields, PLUGINS, SOURCE};
use osprey_filter::timefmt::LocalClock;
use osprey_rules::{
    AlertFormatter, AlertOptions, LoadOptions, Matching, RulesFile, Ruleset, SourceCatalogs,
};

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/")).join(rel)
}

struct Opts {
    rules: PathBuf,
    events: PathBuf,
    secs: f64,
    mode: Matching,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        rules: shared("compat/k8s-audit/k8s_audit_rules.yaml"),
        events: shared("compat/k8s-audit/events"),
        secs: 3.0,
        mode: Matching::All,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rules" => o.rules = args.next().context("--rules FILE")?.into(),
            "--events" => o.events = args.next().context("--events DIR")?.into(),
            "--secs" => o.secs = args.next().context("--secs N")?.parse()?,
            "--first" => o.mode = Matching::First,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(o)
}

/// The JSON text of every event in `dir`'s files (one event per line).
fn event_texts(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| dir.display().to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut texts = Vec::new();
    for f in files {
        for line in std::fs::read_to_string(&f)?.lines() {
            if KaEvent::parse(line).is_ok() {
                texts.push(line.to_string());
            }
        }
    }
    if texts.is_empty() {
        bail!("no audit events in {}", dir.display());
    }
    Ok(texts)
}

/// CPU time of the calling thread (user + system): on a busy machine the
/// meaningful measure, wall time depending on what else runs.
#[allow(unsafe_code)] // getrusage has no std wrapper
fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to an rusage for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_usec).unwrap_or(0) * 1000,
        )
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Runs `step(i)` round robin for about `secs` of wall time; returns
/// (events, wall time, CPU time).
fn timed(secs: f64, n: usize, mut step: impl FnMut(usize)) -> (u64, Duration, Duration) {
    let start = Instant::now();
    let cpu0 = thread_cpu();
    let budget = Duration::from_secs_f64(secs);
    let mut done = 0u64;
    while start.elapsed() < budget {
        for i in 0..n {
            step(i);
        }
        done += n as u64;
    }
    (done, start.elapsed(), thread_cpu().saturating_sub(cpu0))
}

fn report(name: &str, (events, wall, cpu): (u64, Duration, Duration), alerts: u64) {
    let per = |d: Duration| events as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "{name:<20} {events:>9} events: {:>9.0} events/s per CPU-second ({:.2} us/event), {:>9.0} events/s wall; {alerts} alerts",
        per(cpu),
        1e6 / per(cpu),
        per(wall),
    );
}

fn main() -> anyhow::Result<()> {
    let o = opts()?;
    let text = std::fs::read_to_string(&o.rules).with_context(|| o.rules.display().to_string())?;
    let name = o.rules.display().to_string();
    let load = LoadOptions {
        sources: SourceCatalogs::new().with(SOURCE, Arc::new(KaCatalog), &PLUGINS),
        ..LoadOptions::default()
    };
    let (rules, res) = Ruleset::load(
        &[RulesFile {
            name: &name,
            content: &text,
        }],
        &load,
    );
    if !res.successful() {
        bail!("{res}");
    }
    let texts = event_texts(&o.events)?;
    let events: Vec<KaEvent> = texts
        .iter()
        .filter_map(|t| KaEvent::parse(t).ok())
        .collect();
    println!(
        "{} rules ({} for k8s_audit), {} sample events, rule_matching {:?}",
        rules.rules().len(),
        rules.rules_for_source(SOURCE).len(),
        events.len(),
        o.mode
    );
    let clock = LocalClock::new();
    let mut hits = Vec::new();

    let mut alerts = 0u64;
    let r = timed(o.secs, events.len(), |i| {
        hits.clear();
        rules.evaluate_source(
            SOURCE,
            &KaFields::new(&events[i], &clock),
            o.mode,
            &mut hits,
        );
        alerts += hits.len() as u64;
    });
    report("rules", r, alerts);

    let mut alerts = 0u64;
    let r = timed(o.secs, texts.len(), |i| {
        let mut ok = None;
        let _ = input::read_payload(texts[i].as_bytes(), &mut |e| {
            ok = e.ok();
            ControlFlow::Continue(())
        });
        if let Some(ev) = ok {
            hits.clear();
            rules.evaluate_source(SOURCE, &KaFields::new(&ev, &clock), o.mode, &mut hits);
            alerts += hits.len() as u64;
        }
    });
    report("parse+rules", r, alerts);

    let mut fmt = AlertFormatter::new(AlertOptions::default());
    let (mut t, mut j) = (Vec::new(), Vec::new());
    let mut alerts = 0u64;
    let r = timed(o.secs, texts.len(), |i| {
        let Ok(ev) = KaEvent::parse(&texts[i]) else {
            return;
        };
        let ctx = KaFields::new(&ev, &clock);
        hits.clear();
        rules.evaluate_source(SOURCE, &ctx, o.mode, &mut hits);
        for &id in &hits {
            if let Some(rule) = rules.rule(id) {
                t.clear();
                j.clear();
                if fmt.write_both(rule, &ctx, ev.ts(), &mut t, &mut j) {
                    alerts += 1;
                }
            }
        }
    });
    report("parse+rules+alerts", r, alerts);
    Ok(())
}
