//! `scapbench`: capture-reading throughput of `osprey` against `sysdig`, in one run.
//!
//! ```text
//! cargo build --release -p osprey-cli -p osprey-bench
//! target/release/scapbench [--events N] [--runs R] [--source FILE] [--osprey PATH]
//! ```
//!
//! It builds a capture of at least N events (default 1,000,000) by repeating a real
//! capture's events with shifted timestamps, then times three cases for both tools,
//! taking the best of R runs (default 3) of wall time:
//! - `-q` with a filter that matches nothing;
//! - default text output to /dev/null;
//! - `-j` to /dev/null.
//!
//! and prints events/s for each tool and the ratio osprey/sysdig.

use anyhow::{bail, Context, Result};
use osprey_event::EventRef;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

struct Opts {
    events: u64,
    runs: usize,
    source: PathBuf,
    osprey: PathBuf,
}

fn parse_opts() -> Result<Opts> {
    let here = std::env::current_exe()?;
    let mut o = Opts {
        events: 1_000_000,
        runs: 3,
        source: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/captures/inspect_502Error.scap"
        )),
        osprey: here.with_file_name("osprey"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--events" => o.events = val()?.parse()?,
            "--runs" => o.runs = val()?.parse()?,
            "--source" => o.source = val()?.into(),
            "--osprey" => o.osprey = val()?.into(),
            _ => bail!("unknown argument {a}; see the doc comment at the top of scapbench.rs"),
        }
    }
    Ok(o)
}

/// Writes `dest` with the source's events repeated until at least `want` events,
/// each repetition shifted in time past the previous one. Returns the event count.
fn build_capture(source: &Path, dest: &Path, want: u64) -> Result<u64> {
    let mut first = None;
    let mut last = 0;
    {
        let mut r = osprey_scap::Reader::open(source)?;
        while let Some(ev) = r.next_event()? {
            first.get_or_insert(ev.ts());
            last = ev.ts();
        }
    }
    let span = last - first.context("source capture has no events")? + 1_000_000;
    let mut w = osprey_scap::Writer::create(dest, false)?;
    let mut written = 0u64;
    let mut rep = 0u64;
    let mut buf = Vec::new();
    while written < want {
        let mut r = osprey_scap::Reader::open(source)?;
        if rep == 0 {
            w.write_snapshot(r.snapshot())?;
        }
        while let Some(ev) = r.next_event()? {
            buf.clear();
            buf.extend_from_slice(ev.raw());
            buf[..8].copy_from_slice(&(ev.ts() + rep * span).to_le_bytes());
            let shifted = EventRef::parse(&buf, ev.cpu, ev.dump_flags)?;
            w.write_event(&shifted)?;
            written += 1;
        }
        rep += 1;
    }
    w.finish()?;
    Ok(written)
}

/// Best wall time of `runs` runs of `cmd args`, stdout to /dev/null.
fn time_best(cmd: &Path, args: &[&str], runs: usize) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        let st = Command::new(cmd)
            .args(args)
            .env("TZ", "UTC")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running {}", cmd.display()))?;
        let el = t.elapsed().as_secs_f64();
        if !st.success() {
            bail!("{} {args:?} failed: {st}", cmd.display());
        }
        best = best.min(el);
    }
    Ok(best)
}

fn main() -> Result<()> {
    let o = parse_opts()?;
    let dest = std::env::temp_dir().join(format!("osprey-bench-{}.scap", o.events));
    let n = build_capture(&o.source, &dest, o.events)?;
    let file = dest.to_string_lossy().to_string();
    println!(
        "capture: {} events ({} MB) from {}",
        n,
        std::fs::metadata(&dest)?.len() / 1_000_000,
        o.source.display()
    );
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "-q, filter matching nothing",
            vec!["-r", &file, "-q", "proc.name=zzzz_nomatch"],
        ),
        ("text output", vec!["-r", &file]),
        ("-j output", vec!["-r", &file, "-j"]),
    ];
    let sysdig = Path::new("sysdig");
    println!("| case | osprey ev/s | sysdig ev/s | ratio |");
    println!("|---|---|---|---|");
    for (name, args) in &cases {
        let a = time_best(&o.osprey, args, o.runs)?;
        let s = time_best(sysdig, args, o.runs)?;
        #[allow(clippy::cast_precision_loss)] // event counts are far below 2^52
        let (ra, rs) = (n as f64 / a, n as f64 / s);
        println!(
            "| {name} | {:.2} M ({a:.3} s) | {:.2} M ({s:.3} s) | {:.2}x |",
            ra / 1e6,
            rs / 1e6,
            ra / rs
        );
    }
    std::fs::remove_file(&dest).ok();
    Ok(())
}
