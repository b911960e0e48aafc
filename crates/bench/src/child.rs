//! Waiting for a benchmarked child process with its resource usage.

use anyhow::Result;

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
