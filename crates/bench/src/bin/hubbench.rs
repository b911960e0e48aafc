//! `hubbench`: osprey-hub's ingest rate over HTTP and its dashboard query latency.
//!
//! ```text
//! cargo build --release -p osprey-bench --bin hubbench
//! target/release/hubbench ingest [--events N] [--conns C] [--batch B]
//! target/release/hubbench query  [--events N] [--iters K] [--db PATH] [--keep] [--only TEXT]
//! ```
//!
//! `ingest` starts a hub in process on a fresh SQLite file (the default storage) and
//! posts N Falco alerts (default 200,000) over C keep-alive HTTP/1.1 connections (default
//! 4), each request one alert as Falco sends it. It prints the rate at which the hub
//! answered (accepted) and the sustained rate: all N alerts accepted *and* committed to
//! SQLite (the clock stops when the writer has stored the last one). `--batch B` sets
//! `storage.batchsize` (events per write transaction; default the hub's default).
//!
//! `query` fills a SQLite store with N events (default 1,000,000) spread over the last 7
//! days (30 rules, 8 priorities, 3 sources, 20 hosts, 1–3 tags each) through the store's
//! own batched insert (so indexes, full-text index and roll-ups are all maintained), then
//! starts a hub on it and times K (default 40) rounds of the dashboard's HTTP queries:
//! the count, the five counts by priority/rule/source/hostname/tags, the hourly time line
//! and the first page of events, for `since=24h` and `since=7d`, plus a rule-filtered
//! search and a full-text search. It prints p50 and p95 per query, and the hub's CPU time
//! per query (its threads' user + system time, 10 ms ticks averaged over the rounds: on a
//! loaded machine wall times measure the load too). `--db PATH` reuses
//! (or keeps, with `--keep`) the generated database; `--only TEXT` runs only the queries
//! whose name contains TEXT.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use osprey_hub::store::{SqliteBackend, HOUR_NS};
use osprey_hub::{Config, Event, Priority, Record, Store};

const RULES: [&str; 30] = [
    "Write below etc",
    "Read sensitive file untrusted",
    "Terminal shell in container",
    "Launch Privileged Container",
    "Contact K8S API Server From Container",
    "Outbound Connection to C2 Servers",
    "Modify binary dirs",
    "Create files below dev",
    "Non sudo setuid",
    "Clear Log Activities",
    "Run shell untrusted",
    "System user interactive",
    "Redirect STDOUT/STDIN to Network Connection in Container",
    "Search Private Keys or Passwords",
    "Packet socket created in container",
    "Netcat Remote Code Execution in Container",
    "Drop and execute new binary in container",
    "Disallowed SSH Connection",
    "Unexpected UDP Traffic",
    "Change thread namespace",
    "Launch Suspicious Network Tool in Container",
    "Delete or rename shell history",
    "Set Setuid or Setgid bit",
    "Create Hidden Files or Directories",
    "Fileless execution via memfd_create",
    "Directory traversal monitored file read",
    "Mount Launched in Privileged Container",
    "PTRACE attached to process",
    "Find AWS Credentials",
    "Linux Kernel Module Injection Detected",
];
const TAGS: [&str; 8] = [
    "filesystem",
    "process",
    "network",
    "container",
    "mitre_persistence",
    "mitre_discovery",
    "T1059",
    "host",
];
const SOURCES: [&str; 3] = ["syscall", "syscall", "k8s_audit"];

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .context(format!("{name} needs a value"))?
            .parse()
            .ok()
            .context(format!("bad {name}")),
        None => Ok(default),
    }
}

/// A small deterministic generator (xorshift) so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn event(rng: &mut Rng, ts: i64) -> Event {
    let r = rng.below(RULES.len());
    let mut output_fields = serde_json::Map::new();
    let proc_name = ["bash", "cat", "nc", "curl", "python3", "sshd"][rng.below(6)];
    let file = format!("/etc/app/conf-{}.yaml", rng.below(500));
    output_fields.insert("proc.name".into(), proc_name.into());
    output_fields.insert("fd.name".into(), file.clone().into());
    output_fields.insert("user.name".into(), "root".into());
    output_fields.insert(
        "container.id".into(),
        format!("{:012x}", rng.next() & 0xffff_ffff_ffff).into(),
    );
    output_fields.insert("evt.time".into(), serde_json::Value::from(ts));
    let ntags = 1 + rng.below(3);
    let mut tags: Vec<String> = (0..ntags)
        .map(|_| TAGS[rng.below(TAGS.len())].to_owned())
        .collect();
    tags.sort();
    tags.dedup();
    Event {
        uuid: format!("{:016x}{:016x}", rng.next(), rng.next()),
        time_ns: ts,
        // The rule decides the priority, as in real rule sets.
        priority: Priority::ALL[r % 8],
        rule: RULES[r].to_owned(),
        source: SOURCES[r % 3].to_owned(),
        hostname: format!("node-{:02}", rng.below(20)),
        tags,
        output: format!(
            "{} (user=root command={proc_name} -x file={file})",
            RULES[r]
        ),
        output_fields,
    }
}

fn alert_body(rng: &mut Rng) -> String {
    let ts = now_ns();
    let mut t = String::new();
    osprey_hub::event::format_time(ts, &mut t);
    let e = event(rng, ts);
    format!(
        "{{\"hostname\":\"{}\",\"output\":\"{}\",\"output_fields\":{},\"priority\":\"{}\",\"rule\":\"{}\",\"source\":\"{}\",\"tags\":{},\"time\":\"{t}\"}}",
        e.hostname,
        e.output,
        serde_json::Value::Object(e.output_fields),
        e.priority.name(),
        e.rule,
        e.source,
        serde_json::Value::from(e.tags),
    )
}

/// Sends one request on a keep-alive connection and reads the response; returns the status.
fn roundtrip(
    w: &mut TcpStream,
    r: &mut BufReader<TcpStream>,
    req: &[u8],
    body: &mut Vec<u8>,
) -> Result<u16> {
    w.write_all(req)?;
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    let mut len = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse()?;
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    body.clear();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim(), 16)?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(len, 0);
        r.read_exact(body)?;
    }
    Ok(status)
}

/// CPU seconds (user + system) used so far by this process's threads whose name starts
/// with `hub-` (the hub's runtime, blocking pool and writer; not the benchmark's clients).
fn hub_cpu_secs() -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            if !comm.starts_with("hub-") {
                continue;
            }
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            // Fields after the ")" of the command: state is field 3, utime 14, stime 15.
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                total += num(11) + num(12);
            }
        }
    }
    total as f64 / tick
}

fn connect(addr: SocketAddr) -> Result<(TcpStream, BufReader<TcpStream>)> {
    let s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let r = BufReader::with_capacity(64 << 10, s.try_clone()?);
    Ok((s, r))
}

fn ingest(args: &[String]) -> Result<()> {
    let n: usize = arg(args, "--events", 200_000)?;
    let conns: usize = arg(args, "--conns", 4)?;
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::from_yaml_and_env("listenaddress: 127.0.0.1\nlistenport: 0\n", |_| None)?;
    cfg.storage.batchsize = arg(args, "--batch", cfg.storage.batchsize)?;
    cfg.storage.path = dir.path().join("hub.db").display().to_string();
    let hub = osprey_hub::start(cfg)?;
    let addr = hub.addr;
    // Bodies are prepared up front so the clients measure the hub, not themselves.
    let per = n / conns;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let reqs: Vec<Vec<Vec<u8>>> = (0..conns)
        .map(|_| {
            (0..per)
                .map(|_| {
                    let body = alert_body(&mut rng);
                    format!(
                        "POST / HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes()
                })
                .collect()
        })
        .collect();
    let total = per * conns;
    let cpu0 = hub_cpu_secs();
    let start = Instant::now();
    let workers: Vec<_> = reqs
        .into_iter()
        .map(|batch| {
            std::thread::spawn(move || -> Result<()> {
                let (mut w, mut r) = connect(addr)?;
                let mut body = Vec::new();
                for req in &batch {
                    let st = roundtrip(&mut w, &mut r, req, &mut body)?;
                    if st != 200 {
                        bail!("status {st}: {}", String::from_utf8_lossy(&body));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join()
            .map_err(|_| anyhow::anyhow!("client thread panicked"))??;
    }
    let accepted = start.elapsed();
    while hub.hub.metrics.stored_count() < total as u64 {
        if start.elapsed() > Duration::from_secs(600) {
            bail!(
                "only {} of {total} stored after 10 minutes",
                hub.hub.metrics.stored_count()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let stored = start.elapsed();
    let cpu = hub_cpu_secs() - cpu0;
    println!("hubbench ingest: {total} alerts over {conns} connections, SQLite");
    println!(
        "  accepted (HTTP 200): {:>10.0} alerts/s ({:.2} s)",
        total as f64 / accepted.as_secs_f64(),
        accepted.as_secs_f64()
    );
    println!(
        "  stored (committed):  {:>10.0} alerts/s ({:.2} s)",
        total as f64 / stored.as_secs_f64(),
        stored.as_secs_f64()
    );
    println!(
        "  hub CPU:             {:>10.0} alerts per CPU-second ({cpu:.2} CPU-s in hub threads)",
        total as f64 / cpu
    );
    hub.stop();
    Ok(())
}

fn fill(store: &Store, n: usize) -> Result<()> {
    let now = now_ns();
    let span = 7 * 24 * HOUR_NS;
    let step = span / n as i64;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let start = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        let ts = now - span + step * i as i64;
        batch.push(Record::new(event(&mut rng, ts)));
        if batch.len() == 10_000 {
            store.insert(&batch)?;
            batch.clear();
        }
        if i > 0 && i % 1_000_000 == 0 {
            eprintln!(
                "  {i} events ({:.0}/s)",
                i as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    store.insert(&batch)?;
    eprintln!(
        "generated {n} events in {:.1} s ({:.0}/s), {} MB",
        start.elapsed().as_secs_f64(),
        n as f64 / start.elapsed().as_secs_f64(),
        store.size_bytes()? >> 20
    );
    Ok(())
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn query(args: &[String]) -> Result<()> {
    let n: usize = arg(args, "--events", 1_000_000)?;
    let iters: usize = arg(args, "--iters", 40)?;
    let keep = args.iter().any(|a| a == "--keep");
    let tmp = tempfile::tempdir()?;
    let db: PathBuf = arg(args, "--db", tmp.path().join("hub.db"))?;
    let existing = db.exists();
    let store = Arc::new(Store::new(Box::new(SqliteBackend::open(&db, 4)?)));
    if !existing {
        fill(&store, n)?;
    }
    let stored = store.count(&osprey_hub::Filter::default())?;
    let mut cfg = Config::from_yaml_and_env("listenaddress: 127.0.0.1\nlistenport: 0\n", |_| None)?;
    cfg.storage.path = db.display().to_string();
    let hub = osprey_hub::start_with_store(cfg, store)?;
    let (mut w, mut r) = connect(hub.addr)?;
    let mut queries: Vec<(String, String)> = Vec::new();
    for since in ["24h", "7d"] {
        queries.push((
            format!("count since={since}"),
            format!("/api/v1/events/count?since={since}"),
        ));
        for g in ["priority", "rule", "source", "hostname", "tags"] {
            queries.push((
                format!("count/{g} since={since}"),
                format!("/api/v1/events/count/{g}?since={since}"),
            ));
        }
        queries.push((
            format!("timeline since={since}"),
            format!("/api/hub/timeline?since={since}&groupby=priority"),
        ));
        queries.push((
            format!("search page 1 since={since}"),
            format!("/api/v1/events/search?since={since}&limit=100"),
        ));
    }
    queries.push((
        "search rule=..., page 3".into(),
        "/api/v1/events/search?since=7d&rule=Write%20below%20etc&limit=100&page=3".into(),
    ));
    queries.push((
        "search priority+host".into(),
        "/api/v1/events/search?since=24h&priority=critical&hostname=node-07&limit=100".into(),
    ));
    for since in ["24h", "7d"] {
        // `conf` is in every event; `conf-42` asks for the words `conf` and `42`.
        for text in ["conf", "conf-42"] {
            queries.push((
                format!("search text '{text}' since={since}"),
                format!("/api/v1/events/search?since={since}&filter={text}&limit=100"),
            ));
        }
    }
    queries.push((
        "count text 'conf' since=7d".into(),
        "/api/v1/events/count?since=7d&filter=conf".into(),
    ));
    queries.push((
        "count tags=T1059 since=24h".into(),
        "/api/v1/events/count?since=24h&tags=T1059".into(),
    ));
    if let Some(only) = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
    {
        queries.retain(|(name, _)| name.contains(only.as_str()));
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(iters); queries.len()];
    let mut cpu = vec![0.0f64; queries.len()];
    let mut body = Vec::new();
    for round in 0..=iters {
        for (i, (_, path)) in queries.iter().enumerate() {
            let req = format!("GET {path} HTTP/1.1\r\nHost: hub\r\n\r\n");
            let c0 = hub_cpu_secs();
            let t = Instant::now();
            let st = roundtrip(&mut w, &mut r, req.as_bytes(), &mut body)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if round > 0 {
                cpu[i] += hub_cpu_secs() - c0;
            }
            if st != 200 {
                bail!("{path}: status {st}");
            }
            if round > 0 {
                times[i].push(ms);
            }
        }
    }
    println!("hubbench query: {stored} stored events (SQLite), {iters} rounds, HTTP on loopback");
    println!(
        "  {:<32} {:>9} {:>9} {:>12}",
        "query", "p50 ms", "p95 ms", "CPU ms/query"
    );
    for (((name, _), t), c) in queries.iter().zip(times.iter_mut()).zip(&cpu) {
        let per = c * 1000.0 / iters.max(1) as f64;
        println!(
            "  {name:<32} {:>9.1} {:>9.1} {per:>12.1}",
            percentile(t, 0.5),
            percentile(t, 0.95)
        );
    }
    hub.stop();
    if keep {
        let kept = tmp.keep();
        println!("kept {}", kept.display());
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ingest") => ingest(&args[1..]),
        Some("query") => query(&args[1..]),
        _ => bail!("usage: hubbench ingest [--events N] [--conns C] [--batch B] | query [--events N] [--iters K] [--db PATH] [--keep] [--only TEXT]"),
    }
}
