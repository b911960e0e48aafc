//! Benchmarked processes: pinning them to a CPU, and waiting for one with its
//! resource usage.

use anyhow::Result;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Pins the calling thread (and what it later spawns) to `cpu`.
///
/// # Errors
/// `sched_setaffinity`'s, e.g. for a CPU the machine does not have.
#[allow(unsafe_code)] // std has no CPU affinity
pub fn pin_self(cpu: usize) -> std::io::Result<()> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set; CPU_SET bounds-checks
    // `cpu` against the set's size; the set outlives the call.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Makes `cmd`'s process run on `cpu` only, from its first instruction.
#[allow(unsafe_code)] // `pre_exec` is unsafe
pub fn pin_command(cmd: &mut Command, cpu: usize) {
    // SAFETY: the closure only calls sched_setaffinity (async-signal-safe) on
    // a stack value; it neither allocates nor takes locks.
    unsafe {
        cmd.pre_exec(move || pin_self(cpu));
    }
}

/// `wait4` on `pid`: returns (exited with status 0, max RSS in KiB, CPU
/// seconds, user + system).
#[allow(unsafe_code)] // std's `Child::wait` does not give the rusage
pub fn wait4(pid: u32) -> Result<(bool, i64, f64)> {
    let pid = libc::pid_t::try_from(pid)?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `ru` are valid, writable and outlive the call.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if rc >= 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err.into());
        }
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    #[allow(clippy::cast_precision_loss)] // CPU times for display
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok((ok, ru.ru_maxrss, secs(ru.ru_utime) + secs(ru.ru_stime)))
}
