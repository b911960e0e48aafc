//! `auditlogbench`: write throughput of the audit log backend on one thread.
//!
//! ```text
//! cargo build --release -p osprey-bench --bin auditlogbench
//! taskset -c 1 target/release/auditlogbench [--events N] [--runs R] [--dir DIR]
//! ```
//!
//! It builds one `EventList` body of N synthetic events (default 200,000: pods,
//! secrets, configmaps, watches and health checks, about a third with request and
//! response bodies) and a typical policy, then measures, keeping the best of R runs
//! (default 3), per case:
//!
//! - `parse+policy+json`: read the body as the `serve` handler does, evaluate the
//!   policy, cut bodies ([`osprey_audit::event::apply`]) and write JSON lines to a
//!   rotating file (100 MiB, fsync every second);
//! - `policy+json`: the same from already parsed events (the backend's own cost);
//! - `policy+legacy`: as above with the legacy text format;
//! - `parse+policy+json, 1 MiB rotation + gzip`: small files, compressed backups.
//!
//! Figures are events (offered to the policy) per CPU-second of the process (user +
//! system, all threads, from /proc/self/stat; robust to a busy machine) and per
//! wall-clock second, and the MB of log written. The best run is the one with the
//! least CPU time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use osprey_audit::event::{apply, Event, Events};
use osprey_audit::log::{Format, LogBackend, LogOptions, MEGABYTE};
use osprey_audit::policy::Policy;

const POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-proxy]
  verbs: [watch]
  resources:
  - group: \"\"
    resources: [endpoints, services, services/status]
- level: None
  nonResourceURLs: [/healthz*, /version, /readyz, /livez]
- level: Metadata
  resources:
  - group: \"\"
    resources: [secrets, configmaps]
- level: Request
  verbs: [create, update, patch, delete]
  resources:
  - group: \"\"
    resources: [pods]
  omitManagedFields: true
- level: Metadata
";

/// One synthetic event (an `EventList` item) of kind `n % 5`.
fn event(n: u64, out: &mut String) {
    use std::fmt::Write;
    let ns = ["default", "kube-system", "prod", "dev"][(n % 4) as usize];
    let (verb, uri, objref, bodies, user) = match n % 5 {
        0 => (
            "create",
            format!("/api/v1/namespaces/{ns}/pods"),
            format!("{{\"resource\":\"pods\",\"namespace\":\"{ns}\",\"name\":\"web-{n}\",\"apiVersion\":\"v1\"}}"),
            format!(",\"requestObject\":{{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{{\"name\":\"web-{n}\",\"namespace\":\"{ns}\",\"labels\":{{\"app\":\"web\"}},\"managedFields\":[{{\"manager\":\"kubectl\",\"operation\":\"Update\"}}]}},\"spec\":{{\"containers\":[{{\"name\":\"web\",\"image\":\"nginx:1.27\",\"ports\":[{{\"containerPort\":80}}]}}]}}}},\"responseObject\":{{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{{\"name\":\"web-{n}\",\"uid\":\"0f4c-{n}\"}},\"status\":{{\"phase\":\"Pending\"}}}}"),
            "alice",
        ),
        1 => (
            "get",
            format!("/api/v1/namespaces/{ns}/secrets/token-{n}"),
            format!("{{\"resource\":\"secrets\",\"namespace\":\"{ns}\",\"name\":\"token-{n}\",\"apiVersion\":\"v1\"}}"),
            ",\"responseObject\":{\"kind\":\"Secret\",\"data\":{\"token\":\"c2VjcmV0LXt7bn19\"}}".to_string(),
            "system:serviceaccount:kube-system:controller",
        ),
        2 => (
            "watch",
            "/api/v1/endpoints?watch=true&resourceVersion=1234".to_string(),
            "{\"resource\":\"endpoints\",\"apiVersion\":\"v1\"}".to_string(),
            String::new(),
            "system:kube-proxy",
        ),
        3 => (
            "get",
            "/healthz".to_string(),
            String::new(),
            String::new(),
            "system:anonymous",
        ),
        _ => (
            "list",
            format!("/api/v1/namespaces/{ns}/configmaps?limit=500"),
            format!("{{\"resource\":\"configmaps\",\"namespace\":\"{ns}\",\"apiVersion\":\"v1\"}}"),
            String::new(),
            "bob",
        ),
    };
    let objref = if objref.is_empty() {
        String::new()
    } else {
        format!(",\"objectRef\":{objref}")
    };
    let _ = write!(
        out,
        "{{\"level\":\"RequestResponse\",\"auditID\":\"4d2a9b7e-1c3f-4e5a-9b8c-{n:012}\",\"stage\":\"ResponseComplete\",\
         \"requestURI\":\"{uri}\",\"verb\":\"{verb}\",\"user\":{{\"username\":\"{user}\",\"groups\":[\"system:authenticated\"]}},\
         \"sourceIPs\":[\"10.0.{}.{}\"],\"userAgent\":\"kubectl/v1.35.0 (linux/amd64) kubernetes/abcdef0\"{objref},\
         \"responseStatus\":{{\"metadata\":{{}},\"code\":200}}{bodies},\
         \"requestReceivedTimestamp\":\"2026-07-23T18:32:12.123456Z\",\"stageTimestamp\":\"2026-07-23T18:32:12.133456Z\",\
         \"annotations\":{{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"RBAC: allowed by ClusterRoleBinding\"}}}}",
        (n >> 8) % 256,
        n % 256
    );
}

fn body(n: u64) -> Vec<u8> {
    let mut s = String::from(
        "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[",
    );
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        event(i, &mut s);
    }
    s.push_str("]}");
    s.into_bytes()
}

fn log_options(dir: &Path, format: Format, max_size: u64, compress: bool) -> LogOptions {
    let mut o = LogOptions::new(dir.join("audit.log"));
    o.format = format;
    o.max_size = max_size;
    o.compress = compress;
    o.max_backups = 0;
    o.max_age_days = 0;
    o
}

/// Bytes in `dir` (all files), then empties it.
fn drain(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        total += e.metadata()?.len();
        std::fs::remove_file(e.path())?;
    }
    Ok(total)
}

struct Run {
    secs: f64,
    cpu: f64,
    written: u64,
    bytes: u64,
}

/// CPU time (user + system) of this process so far, in seconds, from /proc/self/stat
/// (clock ticks, assumed 100 per second as on every Linux build of note).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn write_events(
    policy: &Policy,
    events: impl Iterator<Item = Result<Event, osprey_audit::Error>>,
    log: &mut LogBackend,
) -> Result<u64> {
    let mut written = 0;
    for ev in events {
        let mut ev = ev?;
        let d = policy.evaluate_event(&ev);
        if apply(&mut ev, &d) {
            log.write_event(&mut ev)?;
            written += 1;
        }
    }
    log.flush()?;
    Ok(written)
}

fn run_parse(policy: &Policy, body: &[u8], opts: &LogOptions, dir: &Path) -> Result<Run> {
    let mut log = LogBackend::open(opts)?;
    let (start, cpu0) = (Instant::now(), cpu_secs());
    let written = write_events(policy, Events::new(body, "bench"), &mut log)?;
    log.close()?;
    let secs = start.elapsed().as_secs_f64();
    Ok(Run {
        secs,
        cpu: cpu_secs() - cpu0,
        written,
        bytes: drain(dir)?,
    })
}

fn run_parsed(policy: &Policy, body: &[u8], opts: &LogOptions, dir: &Path) -> Result<Run> {
    let events: Vec<Event> = Events::new(body, "bench").collect::<Result<_, _>>()?;
    let mut log = LogBackend::open(opts)?;
    let (start, cpu0) = (Instant::now(), cpu_secs());
    let written = write_events(policy, events.into_iter().map(Ok), &mut log)?;
    log.close()?;
    let secs = start.elapsed().as_secs_f64();
    Ok(Run {
        secs,
        cpu: cpu_secs() - cpu0,
        written,
        bytes: drain(dir)?,
    })
}

fn main() -> Result<()> {
    let mut n: u64 = 200_000;
    let mut runs = 3;
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--events" => n = val()?.parse()?,
            "--runs" => runs = val()?.parse()?,
            "--dir" => dir = Some(PathBuf::from(val()?)),
            _ => bail!("unknown argument {a}"),
        }
    }
    let policy = Policy::from_yaml(POLICY)
        .map_err(|d| anyhow::anyhow!("{d:?}"))?
        .policy;
    let body = body(n);
    let tmp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    println!(
        "auditlogbench: {n} events, EventList body {:.1} MB, log dir {}",
        body.len() as f64 / 1e6,
        dir.display()
    );
    type Case = fn(&Policy, &[u8], &LogOptions, &Path) -> Result<Run>;
    let cases: [(&str, Case, Format, u64, bool); 4] = [
        (
            "parse+policy+json",
            run_parse,
            Format::Json,
            100 * MEGABYTE,
            false,
        ),
        (
            "policy+json",
            run_parsed,
            Format::Json,
            100 * MEGABYTE,
            false,
        ),
        (
            "policy+legacy",
            run_parsed,
            Format::Legacy,
            100 * MEGABYTE,
            false,
        ),
        (
            "parse+policy+json, 1 MiB rotation + gzip",
            run_parse,
            Format::Json,
            MEGABYTE,
            true,
        ),
    ];
    for (name, case, format, max_size, compress) in cases {
        let opts = log_options(&dir, format, max_size, compress);
        let mut best: Option<Run> = None;
        for _ in 0..runs {
            let r = case(&policy, &body, &opts, &dir)?;
            if best.as_ref().is_none_or(|b| r.cpu < b.cpu) {
                best = Some(r);
            }
        }
        let Some(b) = best else { continue };
        println!(
            "{name:<42} {:>9.0} ev/s per CPU-second ({:>9.0} ev/s wall)  {:>6.1} MB written  ({} of {n} events kept, {:.2} s CPU, {:.2} s wall)",
            n as f64 / b.cpu.max(0.01),
            n as f64 / b.secs,
            b.bytes as f64 / 1e6,
            b.written,
            b.cpu,
            b.secs
        );
    }
    Ok(())
}
