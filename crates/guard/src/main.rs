//! `osprey-guard`: Falco-compatible detection. Reads falco.yaml (`-c`) and
//! rules files (`-r` or `rules_files`), then runs the rules over a capture
//! (`-e FILE`, or `engine.kind: replay`) or the live system, sending alerts
//! to the configured outputs.

use clap::Parser;
use osprey_guard::config::{EngineKind, Raw, RuleSelector, RuleToggle};
use osprey_guard::engine::{self, Run, Signals};
use osprey_guard::output::Outputs;
use osprey_rules::{AlertOptions, LoadOptions, Priority, Rule, RulesFile, Ruleset};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Command-line flags, as Falco's.
#[derive(Debug, Parser)]
// No `version` here: -V is Falco's --validate; --version is a flag below.
#[command(name = "osprey-guard", about = "Falco-compatible detection engine")]
struct Args {
    /// Configuration file (falco.yaml).
    #[arg(short = 'c')]
    config: Option<PathBuf>,
    /// Rules file or directory (repeatable; replaces rules_files).
    #[arg(short = 'r')]
    rules: Vec<PathBuf>,
    /// Set a configuration value: key=value, dotted (repeatable).
    #[arg(short = 'o')]
    options: Vec<String>,
    /// Replay this capture file (engine.kind=replay).
    #[arg(short = 'e')]
    capture: Option<String>,
    /// Validate these rules files and exit (repeatable).
    #[arg(short = 'V', long = "validate")]
    validate: Vec<PathBuf>,
    /// List the loaded rules and exit.
    #[arg(short = 'L')]
    list_rules: bool,
    /// List the fields rules can use (the syscall source) and exit.
    #[arg(long = "list")]
    list_fields: bool,
    /// Describe one rule and exit.
    #[arg(short = 'l')]
    describe: Option<String>,
    /// Load everything, process nothing.
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// Stop after this many seconds.
    #[arg(short = 'M')]
    max_secs: Option<u64>,
    /// Unbuffered outputs.
    #[arg(short = 'U')]
    unbuffered: bool,
    /// Print the version and exit.
    #[arg(long = "version")]
    version: bool,
    /// Rules worker threads (default: one per CPU but the reader's).
    #[arg(long = "threads")]
    threads: Option<usize>,
    /// Replay this Kubernetes audit log (JSON lines, plain or gzip) through
    /// the k8s_audit rules, then exit (the syscall source does not run).
    #[arg(long = "k8s-audit-file")]
    k8s_audit_file: Option<PathBuf>,
}

/// Whether `name` matches the glob `pat` (`*` any run, `?` one character).
fn glob(pat: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Osprey's default rules, built in (the editable copy is
/// `rules/osprey_rules.yaml`).
const DEFAULT_RULES: &str = include_str!("../../../rules/osprey_rules.yaml");

/// Loads the rules of `paths`, or the built-in defaults when `paths` is
/// empty; `warn` prints the load warnings.
fn load_rules(paths: &[PathBuf], opts: &LoadOptions, warn: bool) -> Result<Ruleset, String> {
    let (rules, result) = if paths.is_empty() {
        let builtin = RulesFile {
            name: "osprey_rules.yaml (built in)",
            content: DEFAULT_RULES,
        };
        Ruleset::load(
            &[builtin, osprey_guard::audit_source::builtin_rules()],
            opts,
        )
    } else {
        let files = osprey_guard::config::rules_files(paths);
        let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        Ruleset::load_paths(&refs, opts)
    };
    for w in result.warnings.iter().filter(|_| warn) {
        eprintln!("warning: {w}");
    }
    if !result.successful() {
        return Err(result
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"));
    }
    Ok(rules)
}

/// falco.yaml's `rules:` toggles, in order.
fn apply_toggles(rules: &mut Ruleset, toggles: &[RuleToggle]) {
    for toggle in toggles {
        let (sel, on) = match toggle {
            RuleToggle::Enable(s) => (s, true),
            RuleToggle::Disable(s) => (s, false),
        };
        match sel {
            RuleSelector::Rule(g) => rules.set_enabled(|r| glob(g, &r.name), on),
            RuleSelector::Tag(t) => rules.set_enabled(|r| r.tags.contains(t), on),
        }
    }
}

fn describe(rule: &Rule) -> String {
    format!(
        "{}\n  desc: {}\n  condition: {}\n  output: {}\n  priority: {}\n  tags: [{}]",
        rule.name,
        rule.desc,
        rule.condition,
        rule.output,
        rule.priority.as_str(),
        rule.tags.iter().cloned().collect::<Vec<_>>().join(", ")
    )
}

/// `-V`: loads each file on its own and prints its result (text, or one
/// JSON object for all); fails (exit 1, as Falco) when any file is invalid.
fn validate(files: &[PathBuf], json: bool) -> Result<(), String> {
    use osprey_guard::validate;
    let mut ok = true;
    let mut results = Vec::new();
    for f in files {
        let opts = osprey_guard::audit_source::load_options(LoadOptions::default());
        let (_, res) = Ruleset::load_paths(&[f.as_path()], &opts);
        ok &= res.successful();
        let name = f.display().to_string();
        if json {
            let content = std::fs::read_to_string(f).ok();
            results.push(validate::json(&name, content.as_deref(), &res));
        } else {
            print!("{}", validate::text(&name, &res));
        }
    }
    if json {
        println!("{}", validate::json_results(&results));
    }
    if ok {
        Ok(())
    } else {
        Err(String::new())
    }
}

fn run(args: &Args) -> Result<(), String> {
    if args.version {
        println!("osprey-guard {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    if args.list_fields {
        let mut out = std::io::stdout().lock();
        return osprey_filter::fields::listing::list_fields_with(&mut out, false, true)
            .map_err(|e| e.to_string());
    }
    let mut raw = match &args.config {
        Some(p) => Raw::load(p).map_err(|e| e.to_string())?,
        None => Raw::empty(),
    };
    if let Some(cap) = &args.capture {
        raw.set("engine.kind=replay").map_err(|e| e.to_string())?;
        let cap_opt = format!("engine.replay.capture_file={cap}");
        raw.set(&cap_opt).map_err(|e| e.to_string())?;
    }
    for o in &args.options {
        raw.set(o).map_err(|e| e.to_string())?;
    }
    let cfg = raw.typed().map_err(|e| e.to_string())?;
    if !args.validate.is_empty() {
        return validate(&args.validate, cfg.json_output);
    }
    let mut out_cfg = raw.outputs().map_err(|e| e.to_string())?;
    if args.unbuffered {
        out_cfg.buffered_outputs = false;
    }
    let min_priority = Priority::parse(&cfg.priority)
        .ok_or_else(|| format!("invalid priority '{}' in the configuration", cfg.priority))?;
    // Without -r, the rules files the configuration names that exist (Falco's
    // /etc/falco defaults, then /etc/osprey/rules.d, where scripts/install
    // puts the editable copy of our defaults); none: the built-in rules.
    let paths: Vec<PathBuf> = if args.rules.is_empty() {
        let existing: Vec<PathBuf> = cfg
            .rules_files
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect();
        osprey_guard::config::rules_files(&existing)
    } else {
        args.rules.clone()
    };
    let opts = osprey_guard::audit_source::load_options(LoadOptions {
        min_priority,
        append_output: raw.append_output().map_err(|e| e.to_string())?,
        ..LoadOptions::default()
    });
    let mut rules = load_rules(&paths, &opts, true)?;
    apply_toggles(&mut rules, &cfg.rules);
    if args.list_rules {
        for r in rules.rules() {
            // One line per rule: the description's lines are joined.
            let desc: Vec<&str> = r.desc.split_whitespace().collect();
            println!("{}  {}", r.name, desc.join(" "));
        }
        return Ok(());
    }
    if let Some(name) = &args.describe {
        let id = rules
            .find(name)
            .ok_or_else(|| format!("no rule named '{name}'"))?;
        let rule = rules.rule(id).ok_or("no such rule")?;
        println!("{}", describe(rule));
        return Ok(());
    }
    if args.dry_run {
        return Ok(());
    }
    if cfg.engine.kind == EngineKind::Kmod {
        return Err("engine.kind kmod is not supported: use modern_ebpf or replay".into());
    }
    let hostname = std::env::var("FALCO_HOSTNAME").unwrap_or_else(|_| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    });
    let alert_options = AlertOptions {
        time_format_iso_8601: cfg.time_format_iso_8601,
        json_include_output_property: cfg.json_include_output_property,
        json_include_tags_property: cfg.json_include_tags_property,
        json_include_output_fields_property: cfg.json_include_output_fields_property,
        json_include_message_property: cfg.json_include_message_property,
        hostname,
    };
    let mut outputs = Outputs::new(&out_cfg).map_err(|e| e.to_string())?;
    let signals = Signals::default();
    let handlers = [
        (signal_hook::consts::SIGINT, &signals.stop),
        (signal_hook::consts::SIGTERM, &signals.stop),
        (signal_hook::consts::SIGHUP, &signals.reload),
        (signal_hook::consts::SIGUSR1, &signals.reopen),
    ];
    for (sig, flag) in handlers {
        signal_hook::flag::register(sig, std::sync::Arc::clone(flag))
            .map_err(|e| format!("cannot install the signal handler: {e}"))?;
    }
    // The k8s_audit source: a replayed file ends the run; the webhook
    // server runs beside the syscall source.
    let audit_plan = osprey_guard::audit_source::plan(&raw, args.k8s_audit_file.as_deref())
        .map_err(|e| e.to_string())?;
    let audit_stop = std::sync::Arc::clone(&signals.stop);
    let audit = match audit_plan {
        Some(plan) => {
            let mut rules = load_rules(&paths, &opts, false)?;
            apply_toggles(&mut rules, &cfg.rules);
            let (alerts, stop) = (alert_options.clone(), &signals.stop);
            let launched = osprey_guard::audit_source::launch(
                &plan,
                rules,
                &cfg,
                alerts,
                &mut outputs,
                &out_cfg,
                stop,
            )
            .map_err(|e| e.to_string())?;
            Some(launched)
        }
        None => None,
    };
    if let Some(osprey_guard::audit_source::Launched::Done(s)) = &audit {
        outputs
            .close(Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        eprintln!(
            "Events detected: {}; audit events read: {}; audit events dropped: {}",
            s.alerts, s.events, s.rejected
        );
        return Ok(());
    }
    // The reader (source, batching, outputs) keeps a CPU of its own.
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
    });
    // Each worker loads its own rules; SIGHUP reads the files again.
    drop(rules);
    let reload = {
        let (paths, toggles) = (paths.clone(), cfg.rules.clone());
        move || -> Result<Ruleset, String> {
            let mut rules = load_rules(&paths, &opts, false)?;
            apply_toggles(&mut rules, &toggles);
            Ok(rules)
        }
    };
    let summary = engine::run(
        Run {
            config: &cfg,
            alerts: alert_options,
            threads,
            max: args.max_secs.map(Duration::from_secs),
            signals,
            load: Box::new(reload),
        },
        &mut outputs,
    )
    .map_err(|e| e.to_string())?;
    outputs
        .close(Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    if let Some(a) = audit {
        let alone = cfg.engine.kind == EngineKind::Nodriver;
        let max = args.max_secs.map(Duration::from_secs);
        let s = a
            .finish(alone, &audit_stop, max)
            .map_err(|e| e.to_string())?;
        eprintln!(
            "k8s_audit: events detected: {}; audit events read: {}; audit events dropped: {}",
            s.alerts, s.events, s.rejected
        );
    }
    eprintln!(
        "Events detected: {}; events read: {}; driver drops: {}; rules reloads: {}",
        summary.alerts, summary.events, summary.drops, summary.reloads
    );
    Ok(())
}

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == "test") {
        let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
        let args = std::env::args_os().skip(2);
        return ExitCode::from(osprey_guard::testcmd::command(args, &mut out, &mut err));
    }
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own consistency checks (they only run in debug builds): for
    /// example, no two flags share a short name.
    #[test]
    fn flags_are_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }

    #[test]
    fn globs() {
        assert!(glob("*", "anything"));
        assert!(glob("open_*", "open_from_cat"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(!glob("open_*", "read_x"));
    }
}
