//! `livebench`: what live capture with `osprey` costs a busy process, and whether
//! `osprey` keeps up.
//!
//! ```text
//! cargo build --release -p osprey-cli
//! cargo run --release -p osprey-bench --bin livebench -- [--osprey PATH] [--n N] [--m M]
//!     [--runs R] [--settle-ms MS] [--guard PATH]
//! ```
//!
//! Must run as root (live capture loads eBPF programs) on a machine with at least
//! two CPUs. Two loads run pinned to CPU 0, each a re-exec of this binary through a
//! symlink whose name becomes the process's `comm` (`ospstorm`, `ospmixed`), so
//! that `proc.name=` selects it from its `execve` on:
//! - getppid storm: N (default 5,000,000) `getppid` calls;
//! - mixed: M (default 500,000) iterations of: open a temp file (on /dev/shm
//!   when it exists), write 64 bytes, `pread` them back, close; then a 64-byte
//!   request and its echo over a loopback TCP connection to a thread of the same
//!   process. Every syscall of the timed loop is counted (8 per iteration when no
//!   read or write comes back short).
//!
//! Each load runs without capture, then with each `osprey` mode (`-q`, text to
//! /dev/null, `-j` to /dev/null, `-w FILE`, and for getppid a filter that needs
//! no getppid event), R times each (default 3), keeping the least disturbed run:
//! the one where the load and osprey spent the least time runnable but waiting
//! for their CPU (from /proc/PID/task/*/schedstat), since other processes on a
//! shared machine skew both (runs alongside another tracer come last).
//! `osprey -v` runs pinned to CPU 1 and starts first; the load starts
//! `--settle-ms` (default 1000) after osprey has mapped its rings (done after the
//! last program is attached) and finished its /proc scan (no read for 250 ms).
//! When the load is done, `osprey` gets SIGINT once it has caught up (its CPU
//! time stops growing). Reported per run: the load's syscalls/s, ns/syscall and
//! slowdown against the run without capture; `Captured Events:` and
//! `Driver Drops:` from `osprey -v`; osprey's CPU % over the load's wall time
//! (from /proc/PID/stat); its total CPU time and max RSS (from `wait4`); and how
//! long it took to catch up after the load ended. Runs made while another process
//! had eBPF programs attached are marked `(*)`: their tracing slows every syscall.
//!
//! `--guard PATH` measures `osprey-guard` instead of `osprey`: the one mode is
//! `osprey-guard -r rules/osprey_rules.yaml` live (stdout output on, to
//! /dev/null; syslog off), pinned to CPU 1 like osprey, under both loads. Its
//! events and drops come from the summary it prints on stderr when it stops
//! (`events read: N; driver drops: N`); RSS and CPU are measured the same way.
//! It captures only the syscalls its rules need, so under the getppid storm
//! it reads few events: that run shows what the storm costs it (RSS, CPU).

use anyhow::{bail, Context, Result};
use osprey_bench::child::{pin_command, pin_self};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the role of a re-executed child.
const ROLE_ENV: &str = "LIVEBENCH_ROLE";
/// Environment variable with the child's loop count.
const COUNT_ENV: &str = "LIVEBENCH_COUNT";
/// CPU the loads run on.
const LOAD_CPU: usize = 0;
/// CPU `osprey` (and this process) run on.
const OSPREY_CPU: usize = 1;
/// Bytes per write/read in the mixed load.
const CHUNK: usize = 64;

/// The few libc calls std does not offer.
mod sys {
    #![allow(unsafe_code)]

    use std::io;

    /// Whether the effective user is root.
    pub(crate) fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    /// One real `getppid` system call (glibc's wrapper is bypassed).
    pub(crate) fn getppid() -> i64 {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) }
    }

    /// Sends SIGINT to `pid`.
    pub(crate) fn interrupt(pid: u32) -> io::Result<()> {
        let pid = libc::pid_t::try_from(pid).map_err(|_| io::ErrorKind::InvalidInput)?;
        // SAFETY: kill has no memory preconditions.
        if unsafe { libc::kill(pid, libc::SIGINT) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// How a reaped child ended, with its resource usage.
    #[derive(Debug)]
    pub(crate) struct Exit {
        /// Whether it exited with status 0.
        pub(crate) success: bool,
        /// Raw wait status, for messages.
        pub(crate) status: i32,
        /// User + system CPU seconds.
        pub(crate) cpu_secs: f64,
        /// Maximum resident set size in KiB.
        pub(crate) maxrss_kib: i64,
    }

    /// `wait4` on `pid`: `Some` once it has ended (then it is reaped), `None`
    /// when `block` is false and it still runs.
    pub(crate) fn wait4(pid: u32, block: bool) -> io::Result<Option<Exit>> {
        let pid = libc::pid_t::try_from(pid).map_err(|_| io::ErrorKind::InvalidInput)?;
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value to be overwritten.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if block { 0 } else { libc::WNOHANG };
        let rc = loop {
            // SAFETY: `status` and `ru` are valid, writable and outlive the call.
            let rc = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
            if rc >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break rc;
            }
        };
        match rc {
            0 => Ok(None),
            r if r < 0 => Err(io::Error::last_os_error()),
            _ => {
                #[allow(clippy::cast_precision_loss)] // CPU times for display
                let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
                Ok(Some(Exit {
                    success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                    status,
                    cpu_secs: secs(ru.ru_utime) + secs(ru.ru_stime),
                    maxrss_kib: ru.ru_maxrss,
                }))
            }
        }
    }

    /// Clock ticks per second (the unit of /proc/PID/stat times).
    pub(crate) fn clock_ticks() -> f64 {
        // SAFETY: sysconf has no memory preconditions.
        let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        #[allow(clippy::cast_precision_loss)] // a small constant, usually 100
        if t > 0 {
            t as f64
        } else {
            100.0
        }
    }
}

// ---------------------------------------------------------------- child roles

/// What a load child reports on stdout: `syscalls=N iters=M secs=F wait=F`.
#[derive(Debug, Clone, Copy)]
struct LoadResult {
    syscalls: u64,
    iters: u64,
    secs: f64,
    /// Seconds its threads spent runnable but waiting for a CPU during the loop.
    wait: f64,
}

impl LoadResult {
    fn parse(text: &str) -> Result<LoadResult> {
        let mut r = LoadResult {
            syscalls: 0,
            iters: 0,
            secs: 0.0,
            wait: 0.0,
        };
        for word in text.split_whitespace() {
            match word.split_once('=') {
                Some(("syscalls", v)) => r.syscalls = v.parse()?,
                Some(("iters", v)) => r.iters = v.parse()?,
                Some(("secs", v)) => r.secs = v.parse()?,
                Some(("wait", v)) => r.wait = v.parse()?,
                _ => bail!("unexpected load output {text:?}"),
            }
        }
        if r.secs <= 0.0 {
            bail!("load output without a duration: {text:?}");
        }
        Ok(r)
    }

    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    fn syscalls_per_sec(&self) -> f64 {
        self.syscalls as f64 / self.secs
    }

    #[allow(clippy::cast_precision_loss)]
    fn iters_per_sec(&self) -> f64 {
        self.iters as f64 / self.secs
    }

    fn ns_per_syscall(&self) -> f64 {
        1e9 / self.syscalls_per_sec()
    }
}

fn report(r: LoadResult) {
    println!(
        "syscalls={} iters={} secs={} wait={}",
        r.syscalls, r.iters, r.secs, r.wait
    );
}

/// Nanoseconds the threads of `pid` (`self` or a number) have spent runnable
/// but waiting for a CPU (second field of each thread's schedstat); 0 when the
/// kernel does not say.
fn run_delay_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|st| st.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// Seconds between two [`run_delay_ns`] readings.
#[allow(clippy::cast_precision_loss)] // durations for display
fn delay_secs(before: u64, after: u64) -> f64 {
    after.saturating_sub(before) as f64 / 1e9
}

fn storm(n: u64) {
    let w = run_delay_ns("self");
    let t = Instant::now();
    for _ in 0..n {
        sys::getppid();
    }
    let secs = t.elapsed().as_secs_f64();
    report(LoadResult {
        syscalls: n,
        iters: n,
        secs,
        wait: delay_secs(w, run_delay_ns("self")),
    });
}

/// `write` until all of `buf` is written, counting the calls.
fn write_counted(w: &mut impl Write, buf: &[u8], calls: &mut u64) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        *calls += 1;
        match w.write(&buf[done..])? {
            0 => bail!("write returned 0"),
            k => done += k,
        }
    }
    Ok(())
}

/// `read` until `buf` is full, counting the calls; false on end of stream
/// before any byte (that last call is not counted).
fn read_counted(r: &mut impl Read, buf: &mut [u8], calls: &mut u64) -> Result<bool> {
    let mut done = 0;
    while done < buf.len() {
        match r.read(&mut buf[done..])? {
            0 if done == 0 => return Ok(false),
            0 => bail!("short message"),
            k => done += k,
        }
        *calls += 1;
    }
    Ok(true)
}

/// The echo side of the mixed load; returns its syscall count.
fn echo_server(listener: &TcpListener) -> Result<u64> {
    let (mut s, _) = listener.accept()?;
    s.set_nodelay(true)?;
    let mut buf = [0u8; CHUNK];
    let mut calls = 0;
    while read_counted(&mut s, &mut buf, &mut calls)? {
        write_counted(&mut s, &buf, &mut calls)?;
    }
    Ok(calls)
}

fn mixed(m: u64) -> Result<()> {
    // tmpfs when there is one: a disk file system's journal makes the run time
    // vary far more than capture does.
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)?
    } else {
        tempfile::tempdir()?
    };
    let path = dir.path().join("f");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = std::thread::spawn(move || echo_server(&listener));
    let mut conn = TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    let data = [0x5a_u8; CHUNK];
    let mut back = [0u8; CHUNK];
    let mut calls = 0;
    let w = run_delay_ns("self");
    let t = Instant::now();
    for _ in 0..m {
        // openat, write, pread64, close.
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        calls += 1;
        write_counted(&mut f, &data, &mut calls)?;
        let mut done = 0;
        while done < CHUNK {
            calls += 1;
            match f.read_at(&mut back[done..], done as u64)? {
                0 => bail!("temp file shorter than written"),
                k => done += k,
            }
        }
        drop(f);
        calls += 1;
        // sendto, recvfrom here; recvfrom, sendto in the server.
        write_counted(&mut conn, &data, &mut calls)?;
        if !read_counted(&mut conn, &mut back, &mut calls)? {
            bail!("echo server hung up");
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let wait = delay_secs(w, run_delay_ns("self"));
    drop(conn);
    let server_calls = server
        .join()
        .map_err(|_| anyhow::anyhow!("echo server panicked"))??;
    report(LoadResult {
        syscalls: calls + server_calls,
        iters: m,
        secs,
        wait,
    });
    Ok(())
}

// ---------------------------------------------------------------- parent

struct Opts {
    osprey: PathBuf,
    guard: Option<PathBuf>,
    n: u64,
    m: u64,
    runs: usize,
    settle: Duration,
}

fn default_osprey() -> PathBuf {
    let sibling = std::env::current_exe()
        .ok()
        .map(|e| e.with_file_name("osprey"));
    match sibling {
        Some(p) if p.is_file() => p,
        _ => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/release/osprey"
        )),
    }
}

fn parse_opts() -> Result<Opts> {
    let mut o = Opts {
        osprey: default_osprey(),
        guard: None,
        n: 5_000_000,
        m: 500_000,
        runs: 3,
        settle: Duration::from_millis(1000),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--osprey" => o.osprey = val()?.into(),
            "--guard" => o.guard = Some(val()?.into()),
            "--n" => o.n = val()?.parse()?,
            "--m" => o.m = val()?.parse()?,
            "--runs" => o.runs = val()?.parse()?,
            "--settle-ms" => o.settle = Duration::from_millis(val()?.parse()?),
            _ => bail!("unknown argument {a}; see the doc comment at the top of livebench.rs"),
        }
    }
    Ok(o)
}

/// A load: which symlink (hence comm) runs which role how many times.
struct Load {
    title: &'static str,
    comm: &'static str,
    role: &'static str,
    count: u64,
}

/// Runs a load child pinned to [`LOAD_CPU`] and returns what it reports.
fn run_load(dir: &Path, load: &Load) -> Result<LoadResult> {
    let mut cmd = Command::new(dir.join(load.comm));
    cmd.env(ROLE_ENV, load.role)
        .env(COUNT_ENV, load.count.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    pin_command(&mut cmd, LOAD_CPU);
    let out = cmd.output().context("starting the load")?;
    if !out.status.success() {
        bail!("the {} load failed: {}", load.role, out.status);
    }
    LoadResult::parse(&String::from_utf8_lossy(&out.stdout))
}

/// User + system CPU ticks of a running process.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("odd /proc/PID/stat")?;
    // Fields after the command: state is field 3, utime 14, stime 15.
    let f: Vec<&str> = rest.split_whitespace().collect();
    match (f.get(11), f.get(12)) {
        (Some(u), Some(s)) => Ok(u.parse::<u64>()? + s.parse::<u64>()?),
        _ => bail!("short /proc/PID/stat"),
    }
}

/// Whether `pid` has mapped its event rings, which it does once all its
/// programs are attached.
fn rings_mapped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|m| m.contains("bpf-map"))
}

/// How many read-family syscalls `pid` has made (`syscr` of /proc/PID/io).
fn read_calls(pid: u32) -> Result<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io"))?;
    io.lines()
        .find_map(|l| l.strip_prefix("syscr:"))
        .context("no syscr in /proc/PID/io")?
        .trim()
        .parse()
        .context("odd syscr in /proc/PID/io")
}

/// Other processes holding an attached eBPF program (their tracing slows
/// every syscall, so runs made alongside them are marked).
fn other_tracers(ours: Option<u32>) -> Vec<String> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if Some(pid) == ours {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        let traces = fds.flatten().any(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().contains("bpf_link"))
        });
        if traces {
            let comm = std::fs::read_to_string(p.path().join("comm")).unwrap_or_default();
            found.push(format!("{pid} ({})", comm.trim()));
        }
    }
    found
}

/// What one capture run measured.
struct Capture {
    events: u64,
    drops: u64,
    cpu_pct: f64,
    /// Seconds osprey waited for CPU 1 during the load.
    wait: f64,
    cpu_secs: f64,
    drain_secs: f64,
    /// Resident set at the end of the load (VmRSS).
    rss_kib: u64,
    maxrss_kib: i64,
    file_bytes: Option<u64>,
}

/// VmRSS of `pid` in KiB (0 when unreadable).
fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

impl Capture {
    /// Dropped events as a share of all the driver saw.
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    fn drop_pct(&self) -> f64 {
        self.drops as f64 * 100.0 / (self.events + self.drops).max(1) as f64
    }
}

/// The number after `key` in osprey's `-v` statistics.
fn stat_value(stderr: &str, key: &str) -> Option<u64> {
    let at = stderr.find(key)? + key.len();
    let digits: String = stderr[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// One run of a load, with or without capture.
struct Run {
    result: LoadResult,
    capture: Option<Capture>,
    /// Other eBPF tracers seen just before or after the load.
    tracers: Vec<String>,
}

/// Runs `load` without capture.
fn run_plain(dir: &Path, load: &Load) -> Result<Run> {
    let mut tracers = other_tracers(None);
    let result = run_load(dir, load)?;
    tracers.extend(other_tracers(None));
    Ok(Run {
        result,
        capture: None,
        tracers,
    })
}

/// The capturing program a run measures, and where its statistics are.
struct Tool {
    /// The binary.
    path: PathBuf,
    /// Arguments before each mode's own.
    args: Vec<String>,
    /// The stderr key before the count of events it read.
    events_key: &'static str,
    /// The stderr key before the count of driver drops.
    drops_key: &'static str,
}

impl Tool {
    /// `osprey -v`: its statistics on exit.
    fn osprey(path: &Path) -> Tool {
        Tool {
            path: path.to_owned(),
            args: vec!["-v".into()],
            events_key: "Captured Events:",
            drops_key: "Driver Drops:",
        }
    }

    /// `osprey-guard -r RULES`, alerts to stdout (not syslog): its summary
    /// on exit.
    fn guard(path: &Path, rules: &Path) -> Tool {
        Tool {
            path: path.to_owned(),
            args: vec![
                "-r".into(),
                rules.to_string_lossy().into_owned(),
                "-o".into(),
                "syslog_output.enabled=false".into(),
                "-o".into(),
                "stdout_output.enabled=true".into(),
            ],
            events_key: "events read:",
            drops_key: "driver drops:",
        }
    }
}

/// Starts the tool with `args`, runs `load` once it is capturing, stops it
/// when it has caught up, and collects its statistics.
fn run_captured(tool: &Tool, o: &Opts, dir: &Path, load: &Load, args: &[String]) -> Result<Run> {
    let mut cmd = Command::new(&tool.path);
    cmd.args(&tool.args)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    pin_command(&mut cmd, OSPREY_CPU);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", tool.path.display()))?;
    let pid = child.id();
    let mut stderr = child.stderr.take().context("osprey's stderr")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let fail = |what: &str, exit: Option<sys::Exit>, reader: std::thread::JoinHandle<_>| {
        let err: String = reader.join().ok().and_then(Result::ok).unwrap_or_default();
        anyhow::anyhow!(
            "osprey {args:?} {what} (wait status {:?}); its stderr:\n{err}",
            exit.map(|e| e.status)
        )
    };
    // Wait until the programs are attached (the rings are mapped after the
    // last one) and the /proc scan that follows is over (no read for 250 ms).
    let t = Instant::now();
    let mut reads = None;
    let mut quiet_since = Instant::now();
    loop {
        if let Some(exit) = sys::wait4(pid, false)? {
            return Err(fail("ended before capturing", Some(exit), reader));
        }
        if t.elapsed() > Duration::from_secs(60) {
            sys::interrupt(pid).ok();
            let exit = sys::wait4(pid, true)?;
            return Err(fail("was not capturing after 60 s", exit, reader));
        }
        if rings_mapped(pid) {
            let now = read_calls(pid)?;
            if reads != Some(now) {
                reads = Some(now);
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= Duration::from_millis(250) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    std::thread::sleep(o.settle);
    let mut tracers = other_tracers(Some(pid));
    let ticks0 = cpu_ticks(pid)?;
    let wait0 = run_delay_ns(&pid.to_string());
    let t0 = Instant::now();
    let result = run_load(dir, load);
    let load_secs = t0.elapsed().as_secs_f64();
    let ticks1 = cpu_ticks(pid)?;
    let rss_kib = vm_rss_kib(pid);
    let wait = delay_secs(wait0, run_delay_ns(&pid.to_string()));
    tracers.extend(other_tracers(Some(pid)));
    // Caught up when the CPU time stops growing (at most a tick in 300 ms).
    let t1 = Instant::now();
    let mut last = ticks1;
    let mut last_busy = t1;
    while last_busy.elapsed() < Duration::from_millis(300)
        && t1.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(100));
        let now = cpu_ticks(pid)?;
        if now > last + 1 {
            last = now;
            last_busy = Instant::now();
        }
    }
    let drain_secs = last_busy.duration_since(t1).as_secs_f64();
    sys::interrupt(pid)?;
    let exit = sys::wait4(pid, true)?.context("osprey vanished")?;
    if !exit.success {
        return Err(fail("failed", Some(exit), reader));
    }
    let err = reader
        .join()
        .map_err(|_| anyhow::anyhow!("stderr reader panicked"))??;
    let result = result?;
    #[allow(clippy::cast_precision_loss)] // tick counts
    let cpu_pct = (ticks1 - ticks0) as f64 / sys::clock_ticks() / load_secs * 100.0;
    let capture = Capture {
        events: stat_value(&err, tool.events_key)
            .with_context(|| format!("no {} in the stderr:\n{err}", tool.events_key))?,
        drops: stat_value(&err, tool.drops_key)
            .with_context(|| format!("no {} in the stderr:\n{err}", tool.drops_key))?,
        cpu_pct,
        wait,
        cpu_secs: exit.cpu_secs,
        drain_secs,
        rss_kib,
        maxrss_kib: exit.maxrss_kib,
        file_bytes: None,
    };
    tracers.sort();
    tracers.dedup();
    Ok(Run {
        result,
        capture: Some(capture),
        tracers,
    })
}

impl Run {
    /// Share of the load's time that the load and osprey spent waiting for
    /// their CPUs: what other processes took from them.
    fn disturbance(&self) -> f64 {
        (self.result.wait + self.capture.as_ref().map_or(0.0, |c| c.wait)) / self.result.secs
    }
}

/// The least disturbed of `runs` (not empty), preferring runs without other
/// tracers.
fn least_disturbed(runs: Vec<Run>) -> Result<Run> {
    runs.into_iter()
        .min_by(|a, b| {
            (a.tracers.is_empty().cmp(&b.tracers.is_empty()).reverse())
                .then(a.disturbance().total_cmp(&b.disturbance()))
        })
        .context("no runs")
}

/// One row of the results.
struct Row {
    load: &'static str,
    mode: String,
    run: Run,
    base: LoadResult,
}

fn with_commas(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `mode` with a mark when other tracers were seen during the run.
fn mode_label(r: &Row) -> String {
    if r.run.tracers.is_empty() {
        r.mode.clone()
    } else {
        format!("{} (*)", r.mode)
    }
}

#[allow(clippy::cast_precision_loss)] // counts and sizes for display
fn print_table(rows: &[Row], runs: usize) {
    println!();
    println!(
        "Least disturbed of {runs} run(s) each; `wait %`: share of the load's time the load \
         (L) and osprey (O) were runnable but waiting for their CPU."
    );
    println!();
    println!(
        "| load | osprey | syscalls/s | ns/syscall | slowdown | iters/s | events | drops | drop % \
         | osprey CPU % (load) | osprey CPU s | catch-up s | RSS MB | max RSS MB | wait % L/O |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let res = &r.run.result;
        let mut line = format!(
            "| {} | {} | {:.3} M | {:.0} | {:.2}x | {:.0} |",
            r.load,
            mode_label(r),
            res.syscalls_per_sec() / 1e6,
            res.ns_per_syscall(),
            res.ns_per_syscall() / r.base.ns_per_syscall(),
            res.iters_per_sec(),
        );
        match &r.run.capture {
            Some(c) => {
                let _ = write!(
                    line,
                    " {} | {} | {:.2} | {:.0} | {:.2} | {:.1} | {:.1} | {:.1} | {:.0}/{:.0} |",
                    with_commas(c.events),
                    with_commas(c.drops),
                    c.drop_pct(),
                    c.cpu_pct,
                    c.cpu_secs,
                    c.drain_secs,
                    c.rss_kib as f64 / 1024.0,
                    c.maxrss_kib as f64 / 1024.0,
                    res.wait * 100.0 / res.secs,
                    c.wait * 100.0 / res.secs,
                );
            }
            None => {
                let _ = write!(
                    line,
                    " - | - | - | - | - | - | - | - | {:.0}/- |",
                    res.wait * 100.0 / res.secs
                );
            }
        }
        println!("{line}");
    }
    let mut tracers: Vec<&String> = rows.iter().flat_map(|r| &r.run.tracers).collect();
    if !tracers.is_empty() {
        tracers.sort();
        tracers.dedup();
        let list: Vec<&str> = tracers.iter().map(|t| t.as_str()).collect();
        println!();
        println!(
            "(*) other eBPF tracers were attached during the run, which slows every \
             syscall: {}",
            list.join(", ")
        );
    }
    println!();
    for r in rows {
        let res = &r.run.result;
        let mut line = format!(
            "- {}, {}: {:.3} M syscalls/s ({:.0} ns/syscall",
            r.load,
            mode_label(r),
            res.syscalls_per_sec() / 1e6,
            res.ns_per_syscall(),
        );
        if r.run.capture.is_some() {
            let _ = write!(
                line,
                ", {:.2}x the run without capture",
                res.ns_per_syscall() / r.base.ns_per_syscall()
            );
        }
        if res.iters != res.syscalls {
            let _ = write!(line, ", {:.0} iterations/s", res.iters_per_sec());
        }
        line.push(')');
        if let Some(c) = &r.run.capture {
            let _ = write!(
                line,
                "; {} events captured, {} dropped ({:.2} %); osprey {:.0} % of a CPU \
                 during the load, {:.2} s CPU in all, caught up {:.1} s after the load, \
                 RSS {:.1} MB (peak {:.1} MB)",
                with_commas(c.events),
                with_commas(c.drops),
                c.drop_pct(),
                c.cpu_pct,
                c.cpu_secs,
                c.drain_secs,
                c.rss_kib as f64 / 1024.0,
                c.maxrss_kib as f64 / 1024.0,
            );
            if let Some(b) = c.file_bytes {
                let _ = write!(line, "; capture file {:.1} MB", b as f64 / 1e6);
            }
        }
        println!("{line}");
    }
}

/// Prints one run's progress line.
fn progress(title: &str, mode: &str, run: &Run) {
    let mut line = format!(
        "{title}: {mode}: {:.3} M syscalls/s",
        run.result.syscalls_per_sec() / 1e6
    );
    if let Some(c) = &run.capture {
        let _ = write!(line, ", {} events, {} drops", c.events, c.drops);
    }
    let _ = write!(line, ", disturbance {:.0} %", run.disturbance() * 100.0);
    if !run.tracers.is_empty() {
        let _ = write!(line, " (other tracers: {})", run.tracers.join(", "));
    }
    println!("{line}");
}

fn parent() -> Result<()> {
    let o = parse_opts()?;
    if !sys::is_root() {
        bail!("livebench must run as root: live capture loads eBPF programs (try sudo)");
    }
    let tool = match &o.guard {
        Some(g) => Tool::guard(
            g,
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/osprey_rules.yaml"),
        ),
        None => Tool::osprey(&o.osprey),
    };
    if !tool.path.is_file() {
        bail!("{} not found", tool.path.display());
    }
    if o.guard.is_none() && !o.osprey.is_file() {
        bail!(
            "osprey not found at {}: build it with `cargo build --release -p osprey-cli` \
             or pass --osprey PATH",
            o.osprey.display()
        );
    }
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
        bail!("livebench needs two CPUs: the load runs on CPU 0 and osprey on CPU 1");
    }
    if o.runs == 0 {
        bail!("--runs must be at least 1");
    }
    pin_self(OSPREY_CPU).context("pinning livebench to CPU 1")?;
    let dir = tempfile::Builder::new().prefix("livebench").tempdir()?;
    let exe = std::env::current_exe()?;
    let loads = [
        Load {
            title: "getppid storm",
            comm: "ospstorm",
            role: "storm",
            count: o.n,
        },
        Load {
            title: "mixed file+TCP",
            comm: "ospmixed",
            role: "mixed",
            count: o.m,
        },
    ];
    for l in &loads {
        std::os::unix::fs::symlink(&exe, dir.path().join(l.comm))?;
    }
    let scap = dir.path().join("x.scap");
    let scap_arg = scap.to_string_lossy().into_owned();
    println!(
        "tool: {}; loads on CPU {LOAD_CPU}, the tool on CPU {OSPREY_CPU}; N={}, M={}, runs={}",
        tool.path.display(),
        o.n,
        o.m,
        o.runs
    );
    let mut rows = Vec::new();
    for l in &loads {
        let filter = format!("proc.name={}", l.comm);
        let mut modes: Vec<(String, Vec<String>)> = vec![
            (format!("-q {filter}"), vec!["-q".into(), filter.clone()]),
            (format!("text {filter}"), vec![filter.clone()]),
            (format!("-j {filter}"), vec!["-j".into(), filter.clone()]),
            (
                format!("-w FILE {filter}"),
                vec!["-w".into(), scap_arg.clone(), filter.clone()],
            ),
        ];
        if l.role == "storm" {
            let f = format!("evt.type=open and {filter}");
            modes.push((format!("-q {f}"), vec!["-q".into(), f]));
        }
        if o.guard.is_some() {
            modes = vec![("-r rules/osprey_rules.yaml".into(), Vec::new())];
        }
        let tool_name = if o.guard.is_some() {
            "osprey-guard"
        } else {
            "osprey -v"
        };
        let mut runs = Vec::new();
        for _ in 0..o.runs {
            let run = run_plain(dir.path(), l)?;
            progress(l.title, "no capture", &run);
            runs.push(run);
        }
        let base = least_disturbed(runs)?;
        let base_result = base.result;
        rows.push(Row {
            load: l.title,
            mode: "no capture".into(),
            run: base,
            base: base_result,
        });
        for (name, args) in modes {
            let mut runs = Vec::new();
            for _ in 0..o.runs {
                let mut run = run_captured(&tool, &o, dir.path(), l, &args)?;
                if let (true, Some(c)) = (args.iter().any(|a| a == "-w"), run.capture.as_mut()) {
                    c.file_bytes = Some(std::fs::metadata(&scap)?.len());
                    std::fs::remove_file(&scap)?;
                }
                progress(l.title, &name, &run);
                runs.push(run);
            }
            rows.push(Row {
                load: l.title,
                mode: format!("`{tool_name} {name}`"),
                run: least_disturbed(runs)?,
                base: base_result,
            });
        }
    }
    print_table(&rows, o.runs);
    Ok(())
}

fn main() -> Result<()> {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return parent();
    };
    let count: u64 = std::env::var(COUNT_ENV)
        .context("load child without a count")?
        .parse()?;
    match role.as_str() {
        "storm" => {
            storm(count);
            Ok(())
        }
        "mixed" => mixed(count),
        _ => bail!("unknown {ROLE_ENV} {role}"),
    }
}
