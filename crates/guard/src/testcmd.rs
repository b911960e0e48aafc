//! `osprey-guard test`: runs rules over capture files or synthetic events
//! described in YAML spec files and checks the number of alerts of each
//! rule. Falco has no such command; the spec schema is documented in
//! rules/tests/README.md.
//!
//! ```text
//! osprey-guard test -r rules/osprey_rules.yaml rules/tests/*.yaml
//! ```
//!
//! Each case prints `PASS name` or `FAIL name: rule X expected N got M`,
//! then a summary; the exit status is 0 when every case passes.

mod spec;
mod synth;
mod yaml;

#[cfg(test)]
mod tests;

use clap::Parser;
use osprey_capture::{Next, Source};
use osprey_event::EventRef;
use osprey_filter::fields::syscall::{Env, EventCtx};
use osprey_rules::{generic_code, LoadOptions, Matching, RuleId, RulesFile, Ruleset};
use osprey_state::State;
use spec::{Case, Input, Spec};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Why a spec file or a case could not be run. Each message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A spec file is not valid YAML or does not follow the schema.
    #[error("{path}:{line}:{column}: {message}")]
    Spec {
        /// The spec file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The rules did not load.
    #[error("{0}")]
    Rules(String),
    /// A capture could not be read.
    #[error(transparent)]
    Capture(#[from] osprey_capture::Error),
    /// A synthetic event did not decode (an encoding bug).
    #[error("synthetic event {index}: {message}")]
    Event {
        /// 0-based index of the event in its case.
        index: usize,
        /// The decoder's message.
        message: String,
    },
}

/// The command line of `osprey-guard test`.
#[derive(Debug, Parser)]
#[command(
    name = "osprey-guard test",
    about = "Run rules over captures or synthetic events and check the expected alerts"
)]
pub struct TestArgs {
    /// Rules file or directory (repeatable); spec files may add their own.
    #[arg(short = 'r', value_name = "RULES")]
    pub rules: Vec<PathBuf>,
    /// Print, under each case, how many alerts each rule raised.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Spec files.
    #[arg(required = true, value_name = "SPEC.yaml")]
    pub specs: Vec<PathBuf>,
}

/// Outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case name.
    pub name: String,
    /// Mismatches (`rule X expected N got M`) or the error that stopped
    /// the case; empty when it passed.
    pub failures: Vec<String>,
    /// Alerts raised: (rule name, alert count), in rule order.
    pub counts: Vec<(String, u64)>,
}

impl CaseResult {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs `osprey-guard test` with `args` (the words after `test`), writing
/// results to `out` and errors to `err`; returns the exit status (0 when
/// every case passes, 1 otherwise, 2 for a bad command line).
pub fn command<I: IntoIterator<Item = OsString>>(
    args: I,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let argv = std::iter::once(OsString::from("osprey-guard test")).chain(args);
    let parsed = match TestArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let text = e.render().to_string();
            let _ = if e.use_stderr() {
                err.write_all(text.as_bytes())
            } else {
                out.write_all(text.as_bytes())
            };
            return code;
        }
    };
    u8::from(!run(&parsed, out, err))
}

/// Runs every case of every spec file of `args`, printing one line per case
/// and a summary to `out`, errors to `err`. Returns whether all passed.
pub fn run(args: &TestArgs, out: &mut dyn Write, err: &mut dyn Write) -> bool {
    let mut base = Vec::new();
    for p in crate::config::rules_files(&args.rules) {
        match std::fs::read_to_string(&p) {
            Ok(c) => base.push((p.display().to_string(), c)),
            Err(e) => {
                let _ = writeln!(err, "{}: {e}", p.display());
                return false;
            }
        }
    }
    let (mut passed, mut failed, mut broken) = (0usize, 0usize, 0usize);
    for path in &args.specs {
        let spec = match load_spec(path) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(err, "{e}");
                broken += 1;
                continue;
            }
        };
        let rules = match ruleset(&base, &spec) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "{}: {e}", path.display());
                broken += 1;
                continue;
            }
        };
        if let Some(e) = check_names(path, &spec, &rules) {
            let _ = writeln!(err, "{e}");
            broken += 1;
            continue;
        }
        for case in &spec.cases {
            let res = run_case(case, &rules);
            if res.passed() {
                passed += 1;
                let _ = writeln!(out, "PASS {}", res.name);
            } else {
                failed += 1;
                let _ = writeln!(out, "FAIL {}: {}", res.name, res.failures.join("; "));
            }
            if args.verbose {
                for (rule, n) in &res.counts {
                    let _ = writeln!(out, "    {n} x {rule}");
                }
            }
        }
    }
    let _ = write!(out, "{passed} passed, {failed} failed");
    if broken > 0 {
        let _ = write!(out, ", {broken} spec file(s) not run");
    }
    let _ = writeln!(out);
    failed == 0 && broken == 0
}

fn spec_error(path: &Path, e: spec::SpecError) -> Error {
    Error::Spec {
        path: path.display().to_string(),
        line: e.pos.line,
        column: e.pos.col,
        message: e.msg,
    }
}

fn load_spec(path: &Path) -> Result<Spec, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    spec::parse(path, &text).map_err(|e| spec_error(path, e))
}

/// The `-r` rules plus the spec's own.
fn ruleset(base: &[(String, String)], spec: &Spec) -> Result<Ruleset, Error> {
    let files: Vec<RulesFile<'_>> = base
        .iter()
        .chain(&spec.rules)
        .map(|(name, content)| RulesFile { name, content })
        .collect();
    if files.is_empty() {
        return Err(Error::Rules(
            "no rules: give -r FILE or 'rules:' in the spec".into(),
        ));
    }
    let (rules, res) = Ruleset::load(&files, &LoadOptions::default());
    if !res.successful() {
        let msgs: Vec<String> = res.errors.iter().map(ToString::to_string).collect();
        return Err(Error::Rules(msgs.join("\n")));
    }
    Ok(rules)
}

/// The first expectation naming a rule the ruleset lacks.
fn check_names(path: &Path, spec: &Spec, rules: &Ruleset) -> Option<Error> {
    let x = spec
        .cases
        .iter()
        .flat_map(|c| &c.expect)
        .find(|x| rules.find(&x.rule).is_none())?;
    Some(spec_error(
        path,
        spec::SpecError {
            pos: x.pos,
            msg: format!("no rule named '{}' is loaded", x.rule),
        },
    ))
}

/// Counts alerts per rule over one event stream.
struct Counter<'r> {
    rules: &'r Ruleset,
    mode: Matching,
    state: State,
    env: Env,
    hits: Vec<RuleId>,
    counts: Vec<u64>,
    num: u64,
}

impl<'r> Counter<'r> {
    fn new(rules: &'r Ruleset, mode: Matching, snap: &osprey_event::snapshot::Snapshot) -> Self {
        let mut state = State::new();
        state.set_full(snap.exit_only);
        state.load(snap);
        Counter {
            rules,
            mode,
            state,
            env: Env::default(),
            hits: Vec::new(),
            counts: vec![0; rules.rules().len()],
            num: 0,
        }
    }

    fn event(&mut self, ev: &EventRef<'_>) {
        self.num += 1;
        self.state.process(ev);
        let ctx = EventCtx {
            ev,
            state: &self.state,
            num: self.num,
            env: &self.env,
        };
        self.hits.clear();
        self.rules.evaluate(
            &ctx,
            ev.etype(),
            generic_code(ev),
            self.mode,
            &mut self.hits,
        );
        for id in &self.hits {
            if let Some(c) = usize::try_from(id.0)
                .ok()
                .and_then(|i| self.counts.get_mut(i))
            {
                *c += 1;
            }
        }
    }
}

/// Runs the rules over one case's events.
fn counts(case: &Case, rules: &Ruleset) -> Result<Vec<u64>, Error> {
    match &case.input {
        Input::Capture(path) => {
            let mut src = Source::file(
                &path.display().to_string(),
                Arc::new(AtomicBool::new(false)),
            )?;
            let mut c = Counter::new(rules, case.matching, src.snapshot());
            loop {
                match src.poll()? {
                    Next::Event(ev) => c.event(&ev),
                    Next::Idle => {}
                    Next::End => break,
                }
            }
            Ok(c.counts)
        }
        Input::Events { snapshot, events } => {
            let mut c = Counter::new(rules, case.matching, snapshot);
            for (index, raw) in events.iter().enumerate() {
                let ev = EventRef::parse(raw, 0, 0).map_err(|e| Error::Event {
                    index,
                    message: e.to_string(),
                })?;
                c.event(&ev);
            }
            Ok(c.counts)
        }
    }
}

/// Runs one case and compares its alert counts with the expected ones.
fn run_case(case: &Case, rules: &Ruleset) -> CaseResult {
    let mut res = CaseResult {
        name: case.name.clone(),
        failures: Vec::new(),
        counts: Vec::new(),
    };
    let got = match counts(case, rules) {
        Ok(g) => g,
        Err(e) => {
            res.failures.push(e.to_string());
            return res;
        }
    };
    let count_of = |name: &str| -> u64 {
        rules
            .find(name)
            .and_then(|id| usize::try_from(id.0).ok())
            .and_then(|i| got.get(i).copied())
            .unwrap_or(0)
    };
    for x in &case.expect {
        let n = count_of(&x.rule);
        if n != x.count {
            res.failures
                .push(format!("rule {} expected {} got {n}", x.rule, x.count));
        }
    }
    for (rule, &n) in rules.rules().iter().zip(&got) {
        if n == 0 {
            continue;
        }
        res.counts.push((rule.name.clone(), n));
        if case.strict && !case.expect.iter().any(|x| x.rule == rule.name) {
            res.failures
                .push(format!("rule {} expected 0 got {n}", rule.name));
        }
    }
    res
}
