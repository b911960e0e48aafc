//! `chiselbench`: chisels in `osprey` against `sysdig`, on one capture, in one run.
//!
//! ```text
//! cargo build --release -p osprey-cli -p osprey-bench
//! target/release/chiselbench [--events N] [--runs R] [--source FILE]... [--capture FILE]
//!                            [--osprey PATH] [--sysdig PATH] [--keep]
//! ```
//!
//! It builds a capture of at least N events (default 1,000,000) from the
//! shared captures, as `guardbench` does ([`osprey_bench::mix`]; `--source`
//! replaces the mix, `--capture` uses an existing file instead), and checks
//! that both tools read the same number of events from it (`Captured Events:`
//! of `-v -q`). Then, for
//! each case, it runs `TZ=UTC osprey -r CAPTURE ARGS` and `TZ=UTC sysdig -r
//! CAPTURE ARGS` with stdout to /dev/null, alternately, R times each (default
//! 3), and keeps per tool the least wall time, the least CPU time (user +
//! system, `wait4`) and the largest max RSS:
//! - `-c topprocs_cpu` (native in osprey; Lua in sysdig);
//! - `-c fdbytes_by fd.name` (native in osprey; Lua in sysdig);
//! - `-c /usr/share/sysdig/chisels/spy_file.lua`: the stock Lua chisel, by
//!   path, in both tools;
//! - `-c spy_file`: osprey's native chisel against sysdig's Lua one.
//!
//! One more run of each tool writes its output to a file, and the outputs are
//! compared: the same bytes; or the same lines in another order (sysdig's top
//! tables order ties at random); or else the count of lines only one tool
//! printed and the first few of them. The load average (from /proc/loadavg)
//! is printed with every case, since a busy machine slows wall time more than
//! CPU time.

use anyhow::{bail, Context, Result};
use osprey_bench::child::wait4;
use osprey_bench::mix::{build_capture, default_sources};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The stock Lua `spy_file` chisel installed by Debian's sysdig package.
const SPY_FILE_LUA: &str = "/usr/share/sysdig/chisels/spy_file.lua";
/// Targets of issue 5: osprey's speed-up over sysdig, native and Lua chisels.
const TARGET_NATIVE: f64 = 3.0;
/// See [`TARGET_NATIVE`].
const TARGET_LUA: f64 = 1.0;
/// How many differing lines of each tool are shown.
const SHOW_DIFF: usize = 3;

struct Opts {
    events: u64,
    runs: usize,
    sources: Vec<PathBuf>,
    capture: Option<PathBuf>,
    osprey: PathBuf,
    sysdig: PathBuf,
    keep: bool,
}

fn parse_opts() -> Result<Opts> {
    let here = std::env::current_exe()?;
    let mut o = Opts {
        events: 1_000_000,
        runs: 3,
        sources: Vec::new(),
        capture: None,
        osprey: here.with_file_name("osprey"),
        sysdig: PathBuf::from("/usr/bin/sysdig"),
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--events" => o.events = val()?.parse()?,
            "--runs" => o.runs = val()?.parse()?,
            "--source" => o.sources.push(val()?.into()),
            "--capture" => o.capture = Some(val()?.into()),
            "--osprey" => o.osprey = val()?.into(),
            "--sysdig" => o.sysdig = val()?.into(),
            "--keep" => o.keep = true,
            _ => bail!("unknown argument {a}; see the doc comment at the top of chiselbench.rs"),
        }
    }
    if o.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if o.sources.is_empty() {
        o.sources = default_sources();
    }
    Ok(o)
}

/// One benchmark case: the chisel arguments and the target it is held to.
struct Case {
    name: &'static str,
    args: Vec<&'static str>,
    target: f64,
}

/// The best of several runs of one tool on one case.
#[derive(Clone, Copy)]
struct Best {
    wall: f64,
    cpu: f64,
    maxrss_kib: i64,
}

impl Best {
    const NONE: Best = Best {
        wall: f64::INFINITY,
        cpu: f64::INFINITY,
        maxrss_kib: 0,
    };

    fn add(&mut self, r: Best) {
        self.wall = self.wall.min(r.wall);
        self.cpu = self.cpu.min(r.cpu);
        self.maxrss_kib = self.maxrss_kib.max(r.maxrss_kib);
    }
}

/// Runs `tool -r capture args` once, stdout to `out` (or /dev/null).
fn run_once(tool: &Path, capture: &Path, args: &[&str], out: Option<&Path>) -> Result<Best> {
    let stdout = match out {
        Some(p) => Stdio::from(File::create(p)?),
        None => Stdio::null(),
    };
    let t = Instant::now();
    let child = Command::new(tool)
        .arg("-r")
        .arg(capture)
        .args(args)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("running {}", tool.display()))?;
    let (ok, maxrss_kib, cpu) = wait4(child.id())?;
    let wall = t.elapsed().as_secs_f64();
    if !ok {
        bail!(
            "{} -r {} {} failed",
            tool.display(),
            capture.display(),
            args.join(" ")
        );
    }
    Ok(Best {
        wall,
        cpu,
        maxrss_kib,
    })
}

/// The load averages over 1, 5 and 15 minutes, as /proc/loadavg shows them.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// The first word of the last non-empty line: in a top table, the value of
/// the last row shown, where the cut-off falls.
fn cutoff_value(out: &[u8]) -> Option<&[u8]> {
    out.split(|&b| b == b'\n')
        .rev()
        .find(|l| !l.is_empty())
        .and_then(|l| l.split(u8::is_ascii_whitespace).next())
}

/// How two outputs compare: identical; the same lines in another order; the
/// same except which rows tied at a top table's cut-off value are shown (the
/// tools pick among ties in their own orders); or the lines only one tool
/// printed, apart from those tied rows.
fn compare(ours: &[u8], theirs: &[u8]) -> String {
    if ours == theirs {
        return format!(
            "identical ({} lines)",
            ours.split(|&b| b == b'\n').count() - 1
        );
    }
    // Count lines as a multiset: +1 for osprey, -1 for sysdig.
    let mut counts: HashMap<&[u8], i64> = HashMap::new();
    for l in ours.split(|&b| b == b'\n') {
        *counts.entry(l).or_default() += 1;
    }
    for l in theirs.split(|&b| b == b'\n') {
        *counts.entry(l).or_default() -= 1;
    }
    counts.retain(|_, c| *c != 0);
    if counts.is_empty() {
        return "same lines, other order".to_owned();
    }
    // Rows tied at the cut-off, as many in both outputs, may differ.
    let cut = cutoff_value(ours).filter(|&c| Some(c) == cutoff_value(theirs));
    let tied = |l: &[u8]| cut.is_some_and(|c| l.starts_with(c) && l.get(c.len()) == Some(&b' '));
    let tied_sum: i64 = counts.iter().filter(|(l, _)| tied(l)).map(|(_, c)| c).sum();
    let ties = if tied_sum == 0 {
        let n = counts.iter().filter(|(l, c)| tied(l) && **c > 0).count();
        counts.retain(|l, _| !tied(l));
        (n > 0).then(|| {
            format!(
                "{n} rows tied at {} differ (tie order)",
                String::from_utf8_lossy(cut.unwrap_or_default())
            )
        })
    } else {
        None
    };
    let only = |sign: i64| {
        let mut v: Vec<(&[u8], i64)> = counts
            .iter()
            .filter(|(_, &c)| c * sign > 0)
            .map(|(l, &c)| (*l, c * sign))
            .collect();
        v.sort_unstable();
        v
    };
    let (o, s) = (only(1), only(-1));
    let total = |v: &[(&[u8], i64)]| v.iter().map(|(_, c)| c).sum::<i64>();
    let show = |v: &[(&[u8], i64)]| {
        v.iter()
            .take(SHOW_DIFF)
            .map(|(l, _)| format!("{:?}", String::from_utf8_lossy(l)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rest = (!o.is_empty() || !s.is_empty()).then(|| {
        format!(
            "{} lines only in osprey [{}], {} only in sysdig [{}]",
            total(&o),
            show(&o),
            total(&s),
            show(&s)
        )
    });
    match (ties, rest) {
        (Some(t), Some(r)) => format!("{t}; {r}"),
        (Some(t), None) => format!("same rows except {t}"),
        (None, Some(r)) => r,
        (None, None) => "same lines, other order".to_owned(),
    }
}

/// The `Captured Events:` count `tool -r capture -v -q` prints on stderr.
fn events_read(tool: &Path, capture: &Path) -> Result<u64> {
    let out = Command::new(tool)
        .arg("-r")
        .arg(capture)
        .args(["-v", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {}", tool.display()))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let count = text
        .split("Captured Events:")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok());
    match count {
        Some(n) if out.status.success() => Ok(n),
        _ => bail!(
            "{} -r {} -v -q failed: {text}",
            tool.display(),
            capture.display()
        ),
    }
}

fn main() -> Result<()> {
    let o = parse_opts()?;
    let tmp = tempfile::tempdir()?;
    let capture = if let Some(c) = &o.capture {
        c.clone()
    } else {
        let dest = if o.keep {
            std::env::temp_dir().join(format!("osprey-chiselbench-{}.scap", o.events))
        } else {
            tmp.path().join("capture.scap")
        };
        build_capture(&o.sources, &dest, o.events)?;
        dest
    };
    let (n, ns) = (
        events_read(&o.osprey, &capture)?,
        events_read(&o.sysdig, &capture)?,
    );
    if n != ns {
        bail!("osprey reads {n} events of the capture, sysdig {ns}");
    }
    println!(
        "capture: {} MB at {}; osprey and sysdig both read {n} events",
        std::fs::metadata(&capture)?.len() / 1_000_000,
        capture.display(),
    );
    let cases = [
        Case {
            name: "-c topprocs_cpu",
            args: vec!["-c", "topprocs_cpu"],
            target: TARGET_NATIVE,
        },
        Case {
            name: "-c fdbytes_by fd.name",
            args: vec!["-c", "fdbytes_by", "fd.name"],
            target: TARGET_NATIVE,
        },
        Case {
            name: "-c spy_file.lua (Lua in both)",
            args: vec!["-c", SPY_FILE_LUA],
            target: TARGET_LUA,
        },
        Case {
            name: "-c spy_file (osprey native)",
            args: vec!["-c", "spy_file"],
            target: TARGET_NATIVE,
        },
    ];
    println!(
        "osprey {}, sysdig {}, best of {} runs each (alternating), TZ=UTC, stdout to /dev/null",
        o.osprey.display(),
        o.sysdig.display(),
        o.runs
    );
    println!(
        "| case | osprey wall | sysdig wall | ratio (wall) | osprey CPU | sysdig CPU | \
         ratio (CPU) | target | osprey max RSS | sysdig max RSS | load avg | output |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for case in &cases {
        let load = loadavg();
        let (mut ob, mut sb) = (Best::NONE, Best::NONE);
        for _ in 0..o.runs {
            ob.add(run_once(&o.osprey, &capture, &case.args, None)?);
            sb.add(run_once(&o.sysdig, &capture, &case.args, None)?);
        }
        let (oo, so) = (tmp.path().join("osprey.out"), tmp.path().join("sysdig.out"));
        run_once(&o.osprey, &capture, &case.args, Some(&oo))?;
        run_once(&o.sysdig, &capture, &case.args, Some(&so))?;
        let same = compare(&std::fs::read(&oo)?, &std::fs::read(&so)?);
        let (rw, rc) = (sb.wall / ob.wall, sb.cpu / ob.cpu);
        println!(
            "| {} | {:.3} s | {:.3} s | {rw:.2}x | {:.3} s | {:.3} s | {rc:.2}x | {:.0}x {} | \
             {} MB | {} MB | {load} | {same} |",
            case.name,
            ob.wall,
            sb.wall,
            ob.cpu,
            sb.cpu,
            case.target,
            if rw >= case.target { "met" } else { "missed" },
            ob.maxrss_kib / 1024,
            sb.maxrss_kib / 1024,
        );
    }
    println!("load average at the end: {}", loadavg());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::compare;

    const HEAD: &str = "Bytes   fd.name\n-------\n";

    #[test]
    fn compare_tells_order_ties_and_differences_apart() {
        let a = format!("{HEAD}9KB x\n5KB a\n5KB b\n");
        assert_eq!(compare(a.as_bytes(), a.as_bytes()), "identical (5 lines)");
        let reordered = format!("{HEAD}9KB x\n5KB b\n5KB a\n");
        assert_eq!(
            compare(a.as_bytes(), reordered.as_bytes()),
            "same lines, other order"
        );
        let other_tie = format!("{HEAD}9KB x\n5KB a\n5KB c\n");
        assert_eq!(
            compare(a.as_bytes(), other_tie.as_bytes()),
            "same rows except 1 rows tied at 5KB differ (tie order)"
        );
        let other_value = format!("{HEAD}8KB x\n5KB a\n5KB b\n");
        assert_eq!(
            compare(a.as_bytes(), other_value.as_bytes()),
            "1 lines only in osprey [\"9KB x\"], 1 only in sysdig [\"8KB x\"]"
        );
    }
}
