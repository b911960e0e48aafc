//! `osprey-audit simulate`: replay audit logs through a policy and report what it
//! would record: matches per rule, the level distribution, events dropped by
//! `omitStages`, and bytes written versus bytes read.
//!
//! Bytes are measured by serialising: "input" is each event as read (compact JSON
//! plus a newline); "kept" is each recorded event after [`apply`] dropped the
//! bodies its level excludes, written as the log backend writes it (with
//! `kind: Event` and `apiVersion: audit.k8s.io/v1`). A log only holds the bodies
//! its own policy kept, so a more verbose policy cannot add bytes that are not there.

use crate::event::{apply, display_name, read_input, Event, Events, Level};
use crate::policy::Policy;
use crate::{Error, Result};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `osprey-audit simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The audit policy to simulate.
    #[arg(long, value_name = "POLICY.yaml")]
    pub policy: PathBuf,
    /// Print the report as one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Audit logs: JSON lines, EventList objects or arrays; `-` is stdin.
    #[arg(value_name = "LOG", required = true)]
    pub logs: Vec<PathBuf>,
}

/// Matches of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleStats {
    /// Rule index.
    pub index: usize,
    /// 1-based line of the rule in the policy.
    pub line: usize,
    /// The rule's level.
    pub level: Level,
    /// Events whose first matching rule is this one.
    pub matched: u64,
}

/// Events per decided level.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Levels {
    /// Level None (not recorded).
    pub none: u64,
    /// Level Metadata.
    pub metadata: u64,
    /// Level Request.
    pub request: u64,
    /// Level RequestResponse.
    pub request_response: u64,
}

/// The simulation report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Events read.
    pub events: u64,
    /// Per-rule matches, in rule order.
    pub rules: Vec<RuleStats>,
    /// Events no rule matched (level None).
    pub unmatched: u64,
    /// Events per decided level.
    pub levels: Levels,
    /// Events at a level above None whose stage is omitted.
    pub omitted_by_stage: u64,
    /// Events that would be recorded.
    pub recorded: u64,
    /// Bytes of the input events (compact JSON lines).
    pub bytes_in: u64,
    /// Bytes of the recorded events.
    pub bytes_kept: u64,
}

/// Accumulates a [`Report`]; reuses one output buffer for all events.
#[derive(Debug)]
pub struct Simulation<'p> {
    policy: &'p Policy,
    report: Report,
    buf: Vec<u8>,
}

impl<'p> Simulation<'p> {
    /// A new simulation of `policy`.
    pub fn new(policy: &'p Policy) -> Self {
        Simulation {
            policy,
            report: Report {
                events: 0,
                rules: policy
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(index, r)| RuleStats {
                        index,
                        line: r.line,
                        level: r.level,
                        matched: 0,
                    })
                    .collect(),
                unmatched: 0,
                levels: Levels::default(),
                omitted_by_stage: 0,
                recorded: 0,
                bytes_in: 0,
                bytes_kept: 0,
            },
            buf: Vec::with_capacity(4096),
        }
    }

    /// Adds one event (consumed: its bodies are dropped in place).
    pub fn add(&mut self, mut event: Event) -> Result<()> {
        let r = &mut self.report;
        r.events += 1;
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &event).map_err(|e| Error::Write(e.into()))?;
        r.bytes_in += self.buf.len() as u64 + 1;
        let d = self.policy.evaluate_event(&event);
        match d.rule {
            Some(i) => r.rules[i].matched += 1,
            None => r.unmatched += 1,
        }
        match d.level {
            Level::None => r.levels.none += 1,
            Level::Metadata => r.levels.metadata += 1,
            Level::Request => r.levels.request += 1,
            Level::RequestResponse => r.levels.request_response += 1,
        }
        if !apply(&mut event, &d) {
            if d.level != Level::None {
                r.omitted_by_stage += 1;
            }
            return Ok(());
        }
        r.recorded += 1;
        if event.kind.as_deref() != Some("Event") {
            event.kind = Some("Event".to_owned());
        }
        if event.api_version.as_deref() != Some("audit.k8s.io/v1") {
            event.api_version = Some("audit.k8s.io/v1".to_owned());
        }
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &event).map_err(|e| Error::Write(e.into()))?;
        r.bytes_kept += self.buf.len() as u64 + 1;
        Ok(())
    }

    /// The report so far.
    pub fn report(&self) -> &Report {
        &self.report
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        // Display only: precision loss above 2^53 events is irrelevant.
        #[allow(clippy::cast_precision_loss)]
        let p = part as f64 * 100.0 / whole as f64;
        p
    }
}

/// Writes the report as readable tables.
pub fn write_table(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let n = report.events;
    writeln!(out, "events: {n}")?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<6} {:>5}  {:<16} {:>10} {:>7}",
        "RULE", "LINE", "LEVEL", "MATCHED", "SHARE"
    )?;
    for r in &report.rules {
        writeln!(
            out,
            "{:<6} {:>5}  {:<16} {:>10} {:>6.1}%",
            r.index,
            r.line,
            r.level.as_str(),
            r.matched,
            percent(r.matched, n)
        )?;
    }
    writeln!(
        out,
        "{:<6} {:>5}  {:<16} {:>10} {:>6.1}%",
        "none",
        "-",
        "None",
        report.unmatched,
        percent(report.unmatched, n)
    )?;
    writeln!(out)?;
    writeln!(out, "{:<16} {:>10} {:>7}", "LEVEL", "EVENTS", "SHARE")?;
    let l = &report.levels;
    for (name, count) in [
        ("None", l.none),
        ("Metadata", l.metadata),
        ("Request", l.request),
        ("RequestResponse", l.request_response),
    ] {
        writeln!(out, "{name:<16} {count:>10} {:>6.1}%", percent(count, n))?;
    }
    writeln!(out)?;
    writeln!(out, "omitted by omitStages: {}", report.omitted_by_stage)?;
    writeln!(out, "recorded: {} of {n} events", report.recorded)?;
    writeln!(
        out,
        "bytes: {} kept of {} read ({:.1}%)",
        report.bytes_kept,
        report.bytes_in,
        percent(report.bytes_kept, report.bytes_in)
    )
}

/// Runs the subcommand, writing the report to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<ExitCode> {
    let policy = Policy::load(&args.policy)?.policy;
    let mut sim = Simulation::new(&policy);
    for path in &args.logs {
        let data = read_input(path)?;
        let name = display_name(path);
        for event in Events::new(&data, &name) {
            sim.add(event?)?;
        }
    }
    if args.json {
        serde_json::to_writer(&mut *out, sim.report()).map_err(|e| Error::Write(e.into()))?;
        out.write_all(b"\n").map_err(Error::Write)?;
    } else {
        write_table(sim.report(), out).map_err(Error::Write)?;
    }
    Ok(ExitCode::SUCCESS)
}
