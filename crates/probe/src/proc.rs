//! The /proc bootstrap: the state of the running system at the start of a
//! live capture, read the way sysdig's `scap` reads it.
//!
//! [`scan`] walks `/proc/<pid>` and `/proc/<pid>/task/<tid>` for every thread,
//! `/proc/<pid>/fd` for every open fd of each process (attached to its main
//! thread, since threads share the table), resolves sockets through the
//! `/proc/<pid>/net/*` tables of the process's network namespace, and reads
//! users and groups from `/etc`, machine facts from `/proc` and `/sys`, and the
//! interface addresses. Processes and fds vanish during a scan: whatever cannot
//! be read any more, or may not be read, is skipped silently.

mod fds;
mod parse;
mod system;
mod threads;

use std::path::{Path, PathBuf};

use osprey_event::snapshot::Snapshot;

/// Options of a [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Read `/etc/passwd` and `/etc/group` into the user and group tables
    /// (sysdig's `-E` turns this off).
    pub users: bool,
    /// Keep the whole environment of each thread; by default it is cut at
    /// 4096 bytes, the most a capture file's process entry can carry, so a
    /// snapshot taken with this option must not be written to a file as is.
    pub large_environment: bool,
    /// Processes left out of the snapshot (all their threads and fds), e.g. the
    /// capturing process itself. A thread id listed here leaves out that thread.
    pub exclude_pids: Vec<i64>,
    /// Root of the host's file system: `/proc`, `/sys` and `/etc` are read
    /// below it (sysdig's `HOST_ROOT`, for running inside a container).
    pub host_root: PathBuf,
    /// Record fds only with the kinds sysdig 0.29.3 can read: bpf, userfaultfd,
    /// io_uring and pidfd fds become `Unsupported` and memfds plain files
    /// (`FileV2`), as that version's scan wrote them. Without this, a capture
    /// file holding any of those kinds is rejected whole by sysdig 0.29.3
    /// ("wrong fd type").
    pub legacy_fd_kinds: bool,
}

impl Default for ScanOptions {
    /// Users on, environment capped, nothing excluded, host root `/`, current fd kinds.
    fn default() -> Self {
        ScanOptions {
            users: true,
            large_environment: false,
            exclude_pids: Vec::new(),
            host_root: PathBuf::from("/"),
            legacy_fd_kinds: false,
        }
    }
}

/// Errors of a [`scan`]: only a missing or unreadable `/proc` fails a scan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The process directory could not be listed.
    #[error("cannot list {}: {source}", path.display())]
    ProcUnavailable {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Reads the state of the running system into a [`Snapshot`]: threads with
/// their fds, users and groups (unless `opts.users` is off), machine info and
/// interfaces.
///
/// Threads come in `/proc` order, each process's main thread first and then its
/// other threads; fds are attached to the main thread. Kernel threads and
/// zombies (no command line and no executable) are left out, as sysdig does.
pub fn scan(opts: &ScanOptions) -> Result<Snapshot, Error> {
    let proc_root = opts.host_root.join("proc");
    let mut snap = Snapshot {
        procs: threads::scan_all(&proc_root, opts)?,
        machine: Some(system::machine(&opts.host_root)),
        interfaces: system::interfaces(),
        ..Snapshot::default()
    };
    if opts.users {
        (snap.users, snap.groups) = system::users(&opts.host_root.join("etc"));
    }
    Ok(snap)
}

/// Reads at most `cap` bytes of a file.
fn read_capped(path: &Path, cap: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(u64::try_from(cap).unwrap_or(u64::MAX))
        .read_to_end(&mut out)?;
    Ok(out)
}

/// The target of a symbolic link as raw bytes, at most `cap` bytes.
fn read_link(path: &Path, cap: usize) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    let mut v = std::fs::read_link(path).ok()?.into_os_string().into_vec();
    v.truncate(cap);
    Some(v)
}
