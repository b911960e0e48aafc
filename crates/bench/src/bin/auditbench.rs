//! `auditbench`: audit policy throughput of `osprey-audit` on one core.
//!
//! ```text
//! cargo build --release -p osprey-bench --bin auditbench
//! target/release/auditbench [--events N] [--runs R] [--dir DIR] [--policy FILE]
//! ```
//!
//! It reads the sample events (default `../shared/compat/k8s-audit/events`,
//! malformed samples skipped) and cycles through them until N events (default
//! 1,000,000; at least 200,000) have been processed, on one thread, best of R runs
//! (default 3), for three stages:
//!
//! - `read`: parsing the events from JSON lines (the samples concatenated and
//!   repeated to about N events);
//! - `evaluate`: the policy decision alone (`Policy::evaluate_event`);
//! - `evaluate+write`: decision, body dropping per level and serialisation of the
//!   recorded event into a reused `Vec<u8>` (`event::write_recorded`), as a log
//!   writer does before its `write(2)`.
//!
//! The policy is falcosecurity/plugins' `audit-policy.yaml` shape (10 rules,
//! `--policy` replaces it), plus a one-rule `RequestResponse` catch-all (every
//! body kept: the most bytes to write). It prints events/s and, for the write
//! stage, output MB/s and the share of events recorded.

use anyhow::{bail, Context, Result};
use osprey_audit::event::{write_recorded, Event, Events};
use osprey_audit::policy::Policy;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const EVENTS_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/compat/k8s-audit/events"
);

/// falcosecurity/plugins `configs/audit-policy.yaml` (spec §5.3).
const FALCO_POLICY: &str = include_str!("../../../audit/testdata/falco-audit-policy.yaml");

const CATCH_ALL: &str =
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n";

struct Opts {
    events: usize,
    runs: usize,
    dir: PathBuf,
    policy: Option<PathBuf>,
}

fn parse_args() -> Result<Opts> {
    let mut o = Opts {
        events: 1_000_000,
        runs: 3,
        dir: PathBuf::from(EVENTS_DIR),
        policy: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--events" => o.events = value()?.parse()?,
            "--runs" => o.runs = value()?.parse()?,
            "--dir" => o.dir = PathBuf::from(value()?),
            "--policy" => o.policy = Some(PathBuf::from(value()?)),
            other => bail!("unknown argument {other}"),
        }
    }
    if o.events < 200_000 {
        bail!("--events must be at least 200000");
    }
    o.runs = o.runs.max(1);
    Ok(o)
}

/// The sample files, concatenated as JSON lines.
fn load_samples(dir: &PathBuf) -> Result<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut data = Vec::new();
    for p in paths {
        let bytes = std::fs::read(&p)?;
        // Keep only the lines that parse: the benchmark measures events, not errors.
        if Events::new(&bytes, "").all(|r| r.is_ok()) {
            data.extend_from_slice(&bytes);
            if !data.ends_with(b"\n") {
                data.push(b'\n');
            }
        }
    }
    Ok(data)
}

/// CPU time this thread has run (`/proc/thread-self/schedstat`), or `None`.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

/// Best of `runs`: the shortest CPU time on this thread (wall time when the
/// kernel does not report it), so a loaded machine measures the work, not the wait.
fn best<F: FnMut() -> u64>(runs: usize, mut f: F) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut best_wall = Duration::MAX;
    let mut out = 0;
    for _ in 0..runs {
        let (t, c) = (Instant::now(), thread_cpu());
        out = f();
        let wall = t.elapsed().max(Duration::from_nanos(1));
        let spent = match (c, thread_cpu()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => wall,
        };
        best = best.min(spent.max(Duration::from_nanos(1)));
        best_wall = best_wall.min(wall);
    }
    WALL.with(|w| w.set(best_wall));
    (best, out)
}

thread_local! {
    /// The best wall time of the last [`best`] call, printed beside the CPU-time rate.
    static WALL: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::MAX) };
}

fn wall_rate(n: usize) -> f64 {
    rate(n, WALL.with(std::cell::Cell::get))
}

#[allow(clippy::cast_precision_loss)] // rates for display
fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

#[allow(clippy::cast_precision_loss)] // shares for display
fn percent(part: u64, whole: usize) -> f64 {
    part as f64 * 100.0 / whole as f64
}

fn main() -> Result<()> {
    let o = parse_args()?;
    let samples = load_samples(&o.dir)?;
    let base: Vec<Event> = Events::new(&samples, "samples").collect::<Result<_, _>>()?;
    if base.is_empty() {
        bail!("no events in {}", o.dir.display());
    }
    let reps = o.events.div_ceil(base.len());
    let n = reps * base.len();
    println!(
        "{} sample events ({} bytes), cycled to {n} events; best of {} runs, one thread, CPU time",
        base.len(),
        samples.len(),
        o.runs
    );

    let input = samples.repeat(reps);
    let (d, count) = best(o.runs, || {
        Events::new(&input, "input").filter(Result::is_ok).count() as u64
    });
    println!(
        "{:<44} {:>12.0} events/s  ({:.0} MB/s in; wall {:.0}/s)",
        "read (JSON lines)",
        rate(usize::try_from(count)?, d),
        rate(input.len(), d) / 1e6,
        wall_rate(usize::try_from(count)?)
    );
    drop(input);

    let custom = match &o.policy {
        Some(p) => Some((p.display().to_string(), Policy::load(p)?.policy)),
        None => None,
    };
    let mut policies = vec![
        (
            "falco audit-policy.yaml".to_owned(),
            Policy::from_yaml(FALCO_POLICY)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?
                .policy,
        ),
        (
            "catch-all RequestResponse".to_owned(),
            Policy::from_yaml(CATCH_ALL)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?
                .policy,
        ),
    ];
    if let Some(c) = custom {
        policies.insert(0, c);
    }
    let mut events = base;
    for (name, policy) in &policies {
        let (d, _) = best(o.runs, || {
            let mut acc = 0u64;
            for i in 0..n {
                let dec = policy.evaluate_event(black_box(&events[i % events.len()]));
                acc += dec.level as u64;
            }
            black_box(acc)
        });
        println!(
            "{:<44} {:>12.0} events/s  (wall {:.0}/s)",
            format!("evaluate [{name}]"),
            rate(n, d),
            wall_rate(n)
        );
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
        let mut recorded = 0u64;
        let (d, bytes) = best(o.runs, || {
            let mut bytes = 0u64;
            recorded = 0;
            for i in 0..n {
                let len = events.len();
                let ev = &mut events[i % len];
                let dec = policy.evaluate_event(ev);
                let before = buf.len();
                if write_recorded(ev, &dec, &mut buf).unwrap_or(false) {
                    buf.push(b'\n');
                    recorded += 1;
                }
                bytes += (buf.len() - before) as u64;
                if buf.len() > (1 << 20) {
                    black_box(&buf);
                    buf.clear();
                }
            }
            bytes
        });
        println!(
            "{:<44} {:>12.0} events/s  ({:.0} MB/s out, {:.0}% recorded; wall {:.0}/s)",
            format!("evaluate+write [{name}]"),
            rate(n, d),
            rate(usize::try_from(bytes)?, d) / 1e6,
            percent(recorded, n),
            wall_rate(n)
        );
    }
    Ok(())
}
