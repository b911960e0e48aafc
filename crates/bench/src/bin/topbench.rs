//! `topbench`: the CPU `osprey-top` uses at a 1 s refresh on a busy system,
//! next to `osprey -c topprocs_cpu` in the same run.
//!
//! ```text
//! cargo build --release -p osprey-top -p osprey-cli
//! cargo run --release -p osprey-bench --bin topbench -- [--top PATH] [--osprey PATH] [--secs S]
//! ```
//!
//! Must run as root (live capture). The load is a re-exec of this binary
//! pinned to CPU 0 (when there are two CPUs): for S seconds (default 10) it
//! loops over open a temp file, write 64 bytes, `pread` them back, close, and
//! a 64-byte request and its echo over loopback TCP. Each tool runs pinned to
//! CPU 1, one after the other, under the same load: `osprey-top -d 1000` in a
//! tmux terminal of 200×50 (the UI, drawing every second), `osprey-top -j -d
//! 1000` (the engine alone, JSON to /dev/null), and `osprey -c topprocs_cpu`
//! (output to /dev/null). A tool starts 3 s before the load (driver attach
//! and /proc scan), and its CPU is its user + system ticks over the load's
//! wall time (from /proc/PID/stat). Also reported: the load's iterations per
//! second, against a run without any tool.

#![allow(unsafe_code)] // sched_setaffinity for pinning

use anyhow::{bail, Context, Result};
use osprey_bench::child::pin_command;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable that makes this binary the load.
const ROLE_ENV: &str = "TOPBENCH_LOAD_SECS";

/// The load: iterations of the mixed loop for `secs` seconds; prints the count.
fn load(secs: u64) -> Result<()> {
    let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir())?;
    let path = dir.path().join("f");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        let mut buf = [0u8; 64];
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            s.write_all(&buf[..n])?;
        }
    });
    let mut conn = TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    let data = [0x5a_u8; 64];
    let mut back = [0u8; 64];
    let end = Instant::now() + Duration::from_secs(secs);
    let mut iters: u64 = 0;
    while Instant::now() < end {
        for _ in 0..100 {
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)?;
            f.write_all(&data)?;
            f.read_exact_at(&mut back, 0)?;
            drop(f);
            conn.write_all(&data)?;
            conn.read_exact(&mut back)?;
            iters += 1;
        }
    }
    drop(conn);
    let _ = server.join();
    println!("{iters}");
    Ok(())
}

/// User + system ticks of a process.
fn ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("odd stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    match (f.get(11), f.get(12)) {
        (Some(u), Some(s)) => Ok(u.parse::<u64>()? + s.parse::<u64>()?),
        _ => bail!("short stat"),
    }
}

/// Clock ticks per second.
fn hz() -> f64 {
    // SAFETY: sysconf has no memory preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    #[allow(clippy::cast_precision_loss)]
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Runs the load; returns (iterations per second, wall seconds).
fn run_load(secs: u64, cpus: usize) -> Result<(f64, f64)> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.env(ROLE_ENV, secs.to_string()).stdin(Stdio::null());
    if cpus > 1 {
        pin_command(&mut cmd, 0);
    }
    let t = Instant::now();
    let out = cmd.output()?;
    let wall = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("load failed");
    }
    let iters: f64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    Ok((iters / wall, wall))
}

/// A tool under test: how to start it and how to find the pid measured.
enum Tool {
    /// A plain child process.
    Plain(Vec<String>),
    /// Runs in a tmux session (a terminal for the UI).
    Tmux(Vec<String>),
}

fn measure(name: &str, tool: &Tool, secs: u64, cpus: usize, base: f64) -> Result<()> {
    let session = format!("topbench-{}", std::process::id());
    let (pid, mut child) = match tool {
        Tool::Plain(args) => {
            let mut cmd = Command::new(&args[0]);
            cmd.args(&args[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if cpus > 1 {
                pin_command(&mut cmd, 1);
            }
            let c = cmd.spawn()?;
            (c.id(), Some(c))
        }
        Tool::Tmux(args) => {
            let pinned = if cpus > 1 { "taskset -c 1 " } else { "" };
            let line = format!("exec {pinned}{}", args.join(" "));
            let ok = Command::new("tmux")
                .args([
                    "new-session",
                    "-d",
                    "-s",
                    &session,
                    "-x",
                    "200",
                    "-y",
                    "50",
                    &line,
                ])
                .status()?
                .success();
            if !ok {
                bail!("tmux failed");
            }
            let out = Command::new("tmux")
                .args(["list-panes", "-t", &session, "-F", "#{pane_pid}"])
                .output()?;
            let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
            (pid, None)
        }
    };
    std::thread::sleep(Duration::from_secs(3));
    let before = ticks(pid)?;
    let (rate, wall) = run_load(secs, cpus)?;
    let after = ticks(pid)?;
    #[allow(clippy::cast_precision_loss)]
    let cpu = (after - before) as f64 / hz() / wall * 100.0;
    match &mut child {
        Some(c) => {
            // SAFETY: kill has no memory preconditions.
            unsafe {
                libc::kill(libc::pid_t::try_from(pid)?, libc::SIGINT);
            }
            let _ = c.wait();
        }
        None => {
            let _ = Command::new("tmux")
                .args(["kill-session", "-t", &session])
                .status();
        }
    }
    println!(
        "{name:<40} CPU {cpu:>6.1}%   load {rate:>9.0} it/s ({:+.1}% vs no tool)",
        (rate / base - 1.0) * 100.0
    );
    Ok(())
}

fn main() -> Result<()> {
    if let Ok(secs) = std::env::var(ROLE_ENV) {
        return load(secs.parse()?);
    }
    let exe = std::env::current_exe()?;
    let mut top = exe.with_file_name("osprey-top");
    let mut osprey = exe.with_file_name("osprey");
    let mut secs = 10;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--top" => top = PathBuf::from(val()?),
            "--osprey" => osprey = PathBuf::from(val()?),
            "--secs" => secs = val()?.parse()?,
            _ => bail!("unknown argument {a}; see the doc comment of topbench.rs"),
        }
    }
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let (base, _) = run_load(secs, cpus)?;
    println!("{:<40} load {base:>9.0} it/s", "no tool");
    let t = top.display().to_string();
    let o = osprey.display().to_string();
    measure(
        "osprey-top -d 1000 (UI in tmux)",
        &Tool::Tmux(vec![t.clone(), "-d".into(), "1000".into()]),
        secs,
        cpus,
        base,
    )?;
    measure(
        "osprey-top -j -d 1000",
        &Tool::Plain(vec![t, "-j".into(), "-d".into(), "1000".into()]),
        secs,
        cpus,
        base,
    )?;
    measure(
        "osprey -c topprocs_cpu",
        &Tool::Plain(vec![o, "-c".into(), "topprocs_cpu".into()]),
        secs,
        cpus,
        base,
    )?;
    Ok(())
}
