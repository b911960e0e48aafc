//! `guardbench`: rule-evaluation throughput of `osprey-guard` replaying a capture.
//!
//! ```text
//! cargo build --release -p osprey-guard -p osprey-bench
//! target/release/guardbench [--events N] [--runs R] [--threads T] [--source FILE]...
//!                           [--guard PATH] [--falco-rules FILE] [--keep]
//!                           [--cpus LIST] [--scaling] [--rt]
//! ```
//!
//! It builds a capture of at least N events (default 1,000,000) by repeating
//! real captures (by default a mix of `inspect_502Error.scap` and the process-,
//! file- and network-heavy `falco_*`/`libs_*` captures; `--source` replaces the
//! mix, and may be repeated). Each repetition of each source is shifted in time
//! to follow the previous one; the written snapshot is the union of the sources'
//! snapshots (threads already known keep the first source's entry). Then it
//! times `osprey-guard -r RULES -e CAPTURE` with the outputs off and
//! `--threads T` (default 1, when the binary has the option), best of R runs
//! (default 3) of wall time and, separately, of CPU time (user + system, from
//! `wait4`: the reader thread and the rules worker may run on two cores), for:
//! - (a) Falco's stable rules (`../shared/compat/falco-rules/falco_rules.yaml`,
//!   read in place);
//! - (b) Osprey's default rules (`rules/osprey_rules.yaml`);
//! - (c) the stable rules plus a catch-all rule (`evt.type != switch`, three
//!   output fields) loaded after them;
//! - (d) an empty rules file: reading, parsing and state alone.
//!
//! If the stable rules fail to load because a rule needs a field Osprey does
//! not have, a copy in the temporary directory marks those rules
//! `skip-if-unknown-filter: true` (so they are dropped) and the table says
//! which. Per case it prints events/s, the alert count and the event count
//! `osprey-guard` reports, the child's max RSS (`wait4`), and the ratio to
//! Falco 0.44.1's figures measured on the same machine kind (Falco cannot run
//! here, so these are fixed anchors, not a same-run comparison).
//!
//! `--cpus LIST` (`0`, `0,1`, `0-3`) pins `osprey-guard` to those CPUs with
//! `sched_setaffinity` (in the child, before it runs). The engine is a reader
//! thread plus rules workers; on one CPU they share it. `--scaling` runs each
//! case twice, on the first CPU of the set and on the whole set (the `--cpus`
//! list, or every CPU this process may use), and prints both rates and their
//! ratio (same `--threads` in both runs).
//!
//! `--rt` runs `osprey-guard` under `SCHED_FIFO` priority 10 (root only), so
//! that other work on the machine (a build, other tests) cannot take its CPUs:
//! on a loaded machine a time-shared second core measures the load, not the
//! engine. The kernel's real-time throttling (95 % by default) still leaves
//! the rest of the machine running.

use anyhow::{bail, Context, Result};
use osprey_bench::child::wait4;
use osprey_bench::mix::{build_capture, default_sources, SHARED};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The repository's top level.
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
/// The catch-all rule of case (c).
const CATCH_ALL: &str = "- rule: guardbench catch-all\n  \
    desc: matches every event\n  \
    condition: evt.type != switch\n  \
    output: \"%evt.type %proc.name %fd.name\"\n  \
    priority: DEBUG\n";
/// Falco 0.44.1 replaying a 1.26 M-event capture on this machine kind, in
/// events/s, per case (None: not measured). Its parser alone ran at 2.45 M/s.
const FALCO_ANCHOR: [Option<f64>; 4] = [Some(1.235e6), None, Some(0.99e6), Some(2.45e6)];

struct Opts {
    events: u64,
    runs: usize,
    threads: Option<usize>,
    sources: Vec<PathBuf>,
    guard: PathBuf,
    falco_rules: PathBuf,
    keep: bool,
    cpus: Option<Vec<usize>>,
    scaling: bool,
    rt: bool,
}

/// A CPU list: `0`, `0,1`, `0-3,6`.
fn parse_cpus(s: &str) -> Result<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.trim().parse::<usize>()?..=b.trim().parse::<usize>()?),
            None => cpus.push(part.trim().parse()?),
        }
    }
    if cpus.is_empty() || cpus.iter().any(|&c| c >= libc::CPU_SETSIZE as usize) {
        bail!("bad CPU list {s:?}");
    }
    Ok(cpus)
}

/// The CPUs this process may run on.
#[allow(unsafe_code)] // sched_getaffinity has no std wrapper
fn allowed_cpus() -> Result<Vec<usize>> {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: CPU_ISSET reads the set; every index is below CPU_SETSIZE.
    Ok((0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect())
}

/// Makes `cmd`'s child run only on `cpus` (all when empty) and, with `rt`,
/// under `SCHED_FIFO`.
#[allow(unsafe_code)] // pre_exec, sched_setaffinity and sched_setscheduler
fn pin(cmd: &mut Command, cpus: &[usize], rt: bool) {
    use std::os::unix::process::CommandExt;
    // SAFETY: an all-zero cpu_set_t is the empty set; CPU_SET writes inside it
    // for indices below CPU_SETSIZE (checked by parse_cpus / allowed_cpus).
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let cpus_empty = cpus.is_empty();
    for &c in cpus {
        // SAFETY: as above.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: the closure only makes one system call (async-signal-safe) on
    // a set copied into it; no allocation or lock between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if !cpus_empty
                && libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            let param = libc::sched_param { sched_priority: 10 };
            if rt && libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn parse_opts() -> Result<Opts> {
    let here = std::env::current_exe()?;
    let mut o = Opts {
        events: 1_000_000,
        runs: 3,
        threads: None,
        sources: Vec::new(),
        guard: here.with_file_name("osprey-guard"),
        falco_rules: Path::new(SHARED).join("compat/falco-rules/falco_rules.yaml"),
        keep: false,
        cpus: None,
        scaling: false,
        rt: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--events" => o.events = val()?.parse()?,
            "--runs" => o.runs = val()?.parse()?,
            "--threads" => o.threads = Some(val()?.parse()?),
            "--source" => o.sources.push(val()?.into()),
            "--guard" => o.guard = val()?.into(),
            "--falco-rules" => o.falco_rules = val()?.into(),
            "--keep" => o.keep = true,
            "--cpus" => o.cpus = Some(parse_cpus(&val()?)?),
            "--scaling" => o.scaling = true,
            "--rt" => o.rt = true,
            _ => bail!("unknown argument {a}; see the doc comment at the top of guardbench.rs"),
        }
    }
    if o.sources.is_empty() {
        o.sources = default_sources();
    }
    Ok(o)
}

/// What one `osprey-guard` run did.
struct RunResult {
    secs: f64,
    cpu_secs: f64,
    alerts: u64,
    events: u64,
    maxrss_kib: i64,
    stderr: String,
}

/// The number after `key` in `text` (`Events detected: 12;`).
fn number_after(text: &str, key: &str) -> Option<u64> {
    let rest = &text[text.find(key)? + key.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Runs `osprey-guard` once with `rules` on `capture`, pinned to `cpus`.
fn run_guard(
    o: &Opts,
    rules: &[&Path],
    capture: &Path,
    cpus: Option<&[usize]>,
) -> Result<RunResult> {
    let mut cmd = Command::new(&o.guard);
    if cpus.is_some() || o.rt {
        pin(&mut cmd, cpus.unwrap_or_default(), o.rt);
    }
    for r in rules {
        cmd.arg("-r").arg(r);
    }
    cmd.arg("-e")
        .arg(capture)
        .args(["-o", "syslog_output.enabled=false"])
        .args(["-o", "stdout_output.enabled=false"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(t) = o.threads {
        cmd.args(["--threads", &t.to_string()]);
    }
    let t = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {}", o.guard.display()))?;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut stderr)?;
    }
    let (ok, maxrss_kib, cpu_secs) = wait4(child.id())?;
    let secs = t.elapsed().as_secs_f64();
    Ok(RunResult {
        secs,
        cpu_secs,
        alerts: number_after(&stderr, "Events detected:").unwrap_or(0),
        events: number_after(&stderr, "events read:").unwrap_or(0),
        maxrss_kib,
        stderr: if ok { String::new() } else { stderr },
    })
}

/// Best of `o.runs` runs: the least wall time and, separately, the least CPU
/// time; the max RSS over all runs.
fn time_best(
    o: &Opts,
    rules: &[&Path],
    capture: &Path,
    cpus: Option<&[usize]>,
) -> Result<RunResult> {
    let mut best: Option<RunResult> = None;
    for _ in 0..o.runs {
        let r = run_guard(o, rules, capture, cpus)?;
        if !r.stderr.is_empty() {
            bail!("osprey-guard failed with {rules:?}:\n{}", r.stderr);
        }
        best = Some(match best {
            Some(b) => RunResult {
                secs: b.secs.min(r.secs),
                cpu_secs: b.cpu_secs.min(r.cpu_secs),
                maxrss_kib: b.maxrss_kib.max(r.maxrss_kib),
                ..r
            },
            None => r,
        });
    }
    best.context("--runs must be at least 1")
}

/// The stable rules as loadable here: the file itself, or a copy in `tmp`
/// with the rules that need missing fields marked `skip-if-unknown-filter`.
/// Returns the path and the skipped rules' names.
fn loadable_falco_rules(o: &Opts, tmp: &Path, probe: &Path) -> Result<(PathBuf, Vec<String>)> {
    let text = std::fs::read_to_string(&o.falco_rules)
        .with_context(|| format!("reading {}", o.falco_rules.display()))?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut skipped = Vec::new();
    let copy = tmp.join("falco_rules.yaml");
    let mut path = o.falco_rules.clone();
    // One rule per round: the loader stops at the first error.
    for _ in 0..32 {
        let r = run_guard(o, &[&path], probe, None)?;
        if r.stderr.is_empty() {
            return Ok((path, skipped));
        }
        // `FILE:L:C: LOAD_ERR_COMPILE_CONDITION ... nonexistent field ...
        // [rules content item: (FILE:RL:RC) / rule 'NAME': ...`
        let first = r.stderr.lines().next().unwrap_or("");
        let item = first
            .contains("nonexistent field")
            .then(|| first.split("rule '").nth(1))
            .flatten()
            .and_then(|s| s.split('\'').next());
        let line = first
            .split("rules content item: (")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .and_then(|s| s.rsplit(':').nth(1))
            .and_then(|l| l.parse::<usize>().ok());
        let (Some(name), Some(line)) = (item, line) else {
            bail!("the stable rules do not load:\n{}", r.stderr);
        };
        let idx = line.checked_sub(1).context("line 0")?;
        if !lines.get(idx).is_some_and(|l| l.starts_with("- rule:")) {
            bail!("unexpected rule position {line}:\n{}", r.stderr);
        }
        lines.insert(idx + 1, "  skip-if-unknown-filter: true".to_owned());
        skipped.push(name.to_owned());
        std::fs::write(&copy, lines.join("\n") + "\n")?;
        path.clone_from(&copy);
    }
    bail!("too many rules with unknown fields in the stable rules")
}

/// Whether `guard --help` lists `--threads`.
fn has_threads_option(guard: &Path) -> Result<bool> {
    let out = Command::new(guard)
        .arg("--help")
        .output()
        .with_context(|| format!("running {} --help", guard.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).contains("--threads"))
}

fn main() -> Result<()> {
    let mut o = parse_opts()?;
    if o.threads.is_none() && has_threads_option(&o.guard)? {
        o.threads = Some(1);
    }
    let tmp = tempfile::tempdir()?;
    let dest = if o.keep {
        std::env::temp_dir().join(format!("osprey-guardbench-{}.scap", o.events))
    } else {
        tmp.path().join("capture.scap")
    };
    let n = build_capture(&o.sources, &dest, o.events)?;
    let names: Vec<_> = o
        .sources
        .iter()
        .filter_map(|p| p.file_name())
        .map(|f| f.to_string_lossy())
        .collect();
    println!(
        "capture: {} events ({} MB) from {}{}",
        n,
        std::fs::metadata(&dest)?.len() / 1_000_000,
        names.join(", "),
        if o.keep {
            format!(" (kept at {})", dest.display())
        } else {
            String::new()
        }
    );
    let (falco, skipped) = loadable_falco_rules(&o, tmp.path(), &o.sources[0])?;
    if !skipped.is_empty() {
        println!(
            "stable rules: skipped (fields missing in Osprey): {}",
            skipped.join("; ")
        );
    }
    let catch_all = tmp.path().join("catch_all.yaml");
    std::fs::write(&catch_all, CATCH_ALL)?;
    let empty = tmp.path().join("empty.yaml");
    std::fs::write(&empty, "")?;
    let ours = Path::new(REPO).join("rules/osprey_rules.yaml");
    let cases: [(&str, Vec<&Path>); 4] = [
        ("(a) stable rules", vec![&falco]),
        ("(b) osprey_rules.yaml", vec![&ours]),
        ("(c) stable + catch-all", vec![&falco, &catch_all]),
        ("(d) empty rules", vec![&empty]),
    ];
    let threads = o
        .threads
        .map_or(String::new(), |t| format!(" --threads {t}"));
    if o.scaling {
        let all = match &o.cpus {
            Some(c) => c.clone(),
            None => allowed_cpus()?,
        };
        let one = vec![all[0]];
        let list = |c: &[usize]| {
            c.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        println!(
            "osprey-guard{threads}, best of {} runs, on CPU {} then on CPUs {}",
            o.runs,
            list(&one),
            list(&all)
        );
        println!(
            "| case | ev/s, 1 CPU | CPU-s, 1 CPU | ev/s, {n} CPUs | CPU-s, {n} CPUs | ratio |",
            n = all.len()
        );
        println!("|---|---|---|---|---|---|");
        for (name, rules) in &cases {
            let r1 = time_best(&o, rules, &dest, Some(&one))?;
            let rn = time_best(&o, rules, &dest, Some(&all))?;
            #[allow(clippy::cast_precision_loss)] // event counts are far below 2^52
            let (rate1, raten) = (n as f64 / r1.secs, n as f64 / rn.secs);
            println!(
                "| {name} | {:.2} M | {:.3} s | {:.2} M | {:.3} s | {:.2}x |",
                rate1 / 1e6,
                r1.cpu_secs,
                raten / 1e6,
                rn.cpu_secs,
                raten / rate1
            );
        }
        return Ok(());
    }
    let pinned = o.cpus.as_deref();
    let on = pinned.map_or(String::new(), |c| {
        let l: Vec<String> = c.iter().map(ToString::to_string).collect();
        format!(", pinned to CPUs {}", l.join(","))
    });
    println!("osprey-guard{threads}, best of {} runs{on}", o.runs);
    println!(
        "| case | ev/s | wall | ev/CPU-s | CPU | alerts | events read | max RSS | \
         Falco 0.44.1 anchor | ratio (ev/s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for ((name, rules), anchor) in cases.iter().zip(FALCO_ANCHOR) {
        let r = time_best(&o, rules, &dest, pinned)?;
        #[allow(clippy::cast_precision_loss)] // event counts are far below 2^52
        let (rate, cpu_rate) = (n as f64 / r.secs, n as f64 / r.cpu_secs);
        let (anchor_s, ratio_s) = anchor.map_or(("-".to_owned(), "-".to_owned()), |a| {
            (format!("{:.2} M", a / 1e6), format!("{:.2}x", rate / a))
        });
        println!(
            "| {name} | {:.2} M | {:.3} s | {:.2} M | {:.3} s | {} | {} | {} MB | {anchor_s} | {ratio_s} |",
            rate / 1e6,
            r.secs,
            cpu_rate / 1e6,
            r.cpu_secs,
            r.alerts,
            r.events,
            r.maxrss_kib / 1024,
        );
    }
    Ok(())
}
