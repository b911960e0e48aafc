//! Cost of capture, measured, not asserted: a child pinned to CPU 0 with
//! `taskset` calls getppid N times, once without capture and once with the
//! driver attached and this process consuming every event.
//!
//! ```text
//! cargo bench -p osprey-probe --bench getppid      # as root; OSPREY_BENCH_N=N (default 5,000,000)
//! ```

use osprey_probe::driver::{Config, Driver};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROLE: &str = "OSPREY_BENCH_CHILD";

fn n() -> u64 {
    std::env::var("OSPREY_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000)
}

/// The pinned child: runs the loop and prints its duration in ns.
fn child_loop() {
    let n = n();
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 0..n {
        sum = sum.wrapping_add(u64::from(std::os::unix::process::parent_id()));
    }
    println!("BENCH_NS {} {sum}", start.elapsed().as_nanos());
}

fn spawn_child() -> std::process::Child {
    Command::new("taskset")
        .args(["-c", "0"])
        .arg(std::env::current_exe().expect("exe"))
        .env(ROLE, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn taskset (util-linux)")
}

fn child_ns(child: std::process::Child) -> f64 {
    let out = child.wait_with_output().expect("child output");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| Some(&l[l.find("BENCH_NS ")? + 9..]))
        .and_then(|l| l.split(' ').next()?.parse().ok())
        .expect("child printed BENCH_NS")
}

#[allow(clippy::cast_precision_loss)] // rates for display
fn main() {
    if std::env::var(ROLE).is_ok() {
        child_loop();
        return;
    }
    let n = n() as f64;
    let base = child_ns(spawn_child());
    println!(
        "untraced:  {:.0} ns/syscall, {:.2} M syscalls/s",
        base / n,
        n / base * 1e3
    );
    let mut driver = match Driver::open(&Config::default()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("getppid bench needs the driver: {e}");
            std::process::exit(1);
        }
    };
    let mut child = spawn_child();
    let mut events = 0u64;
    let mut done = false;
    loop {
        match driver.next_event(Duration::from_millis(10)).expect("event") {
            Some(_) => {
                events += 1;
                // Checking the child costs a syscall: do it now and then.
                if !events.is_multiple_of(65536) {
                    continue;
                }
            }
            None if done => break,
            None => {}
        }
        if !done && child.try_wait().expect("try_wait").is_some() {
            done = true;
        }
    }
    let ns = child_ns(child);
    let stats = driver.stats().expect("stats");
    println!(
        "captured:  {:.0} ns/syscall, {:.2} M syscalls/s, {:.2} M events/s delivered, {} events, {} drops",
        ns / n,
        n / ns * 1e3,
        events as f64 / ns * 1e3,
        stats.delivered,
        stats.drops
    );
}
