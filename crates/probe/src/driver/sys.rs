//! The libc calls the driver needs that std does not offer.
#![allow(unsafe_code)]

/// Whether the effective user is root.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call;
    // the clock ids used are supported by every kernel that runs BPF.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// Nanoseconds to add to `CLOCK_BOOTTIME` (what BPF reads) to get the Unix
/// epoch time.
pub(crate) fn boot_to_epoch_ns() -> u64 {
    let boot = clock_ns(libc::CLOCK_BOOTTIME);
    clock_ns(libc::CLOCK_REALTIME).saturating_sub(boot)
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn epoch_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

/// Gives the heap pages freed after loading (the parsed kernel BTF is tens of
/// MB) back to the system, so they do not stay in the resident set.
pub(crate) fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free heap memory; no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
