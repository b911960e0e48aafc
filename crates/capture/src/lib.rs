//! Where events come from: a capture file, or the running system through the
//! eBPF driver, behind one [`Source`] that hands out events, idle moments
//! (a chance to flush output) and the end. `osprey` and `osprey-guard` read
//! events through it.

use osprey_event::snapshot::Snapshot;
use osprey_event::EventRef;
use osprey_probe::driver::{self, Driver};
use osprey_probe::proc::{self, ScanOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a live source waits for an event before reporting itself idle.
const IDLE: Duration = Duration::from_millis(100);

/// What [`Source::poll`] found.
#[derive(Debug)]
pub enum Next<'a> {
    /// An event.
    Event(EventRef<'a>),
    /// No event for a moment (live capture): a chance to flush output.
    Idle,
    /// The end: the file ended, or the capture was interrupted.
    End,
}

/// Why a source could not start or deliver events. Each message is one line
/// a command-line tool can print as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The capture file could not be opened or read.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// What went wrong, with its location in the file.
        #[source]
        source: osprey_scap::Error,
    },
    /// The snaplen is larger than the driver takes.
    #[error("snaplen {0} is too large for live capture (at most {max})", max = driver::MAX_SNAPLEN)]
    Snaplen(u32),
    /// The driver could not start.
    #[error("cannot start live capture: {0}")]
    Driver(#[source] driver::Error),
    /// The /proc scan failed.
    #[error("cannot read the system state: {0}")]
    Scan(#[source] proc::Error),
    /// The driver failed while capturing.
    #[error("live capture: {0}")]
    Live(#[source] driver::Error),
}

/// An event source with the state it reports before its first event.
#[derive(Debug)]
pub enum Source {
    /// A capture file.
    File {
        /// The path, for error messages.
        path: String,
        /// The reader.
        reader: osprey_scap::Reader,
        /// Set by Ctrl-C or SIGTERM.
        stop: Arc<AtomicBool>,
    },
    /// The running system.
    Live {
        /// The eBPF driver.
        driver: Box<Driver>,
        /// Threads, fds, users and machine read from /proc at start.
        snapshot: Snapshot,
        /// Set by Ctrl-C or SIGTERM.
        stop: Arc<AtomicBool>,
    },
}

/// Options of a live capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Bytes kept of each I/O buffer (`-s`).
    pub snaplen: u32,
    /// Read users and groups (`-E` turns this off).
    pub users: bool,
    /// The snapshot will be written to a capture file: keep fd kinds that
    /// sysdig 0.29.3 can read.
    pub for_writing: bool,
    /// Syscalls the kernel sends (`None`: all), from [`kernel_selection`].
    pub only: Option<Vec<String>>,
}

/// The syscalls a live capture needs the kernel to send for `filter`: `None`
/// for all of them, else those the filter can match plus those that keep the
/// thread and fd tables right ([`driver::STATE_SYSCALLS`]).
pub fn kernel_selection(filter: Option<&osprey_filter::Filter>) -> Option<Vec<String>> {
    selection_for(&filter?.event_types())
}

/// The syscalls a live capture needs the kernel to send for events of the
/// types in `set`: `None` for all of them, else those plus
/// [`driver::STATE_SYSCALLS`].
pub fn selection_for(set: &osprey_filter::EventTypeSet) -> Option<Vec<String>> {
    // Syscalls without a PPM_SC code can only be selected all together.
    if set.is_all() || set.contains_generic(0) {
        return None;
    }
    let mut names: Vec<String> = set.syscall_names().into_iter().map(String::from).collect();
    names.extend(driver::STATE_SYSCALLS.iter().map(|s| (*s).to_string()));
    names.sort_unstable();
    names.dedup();
    Some(names)
}

impl Source {
    /// Opens a capture file.
    pub fn file(path: &str, stop: Arc<AtomicBool>) -> Result<Source, Error> {
        let reader = osprey_scap::Reader::open(path).map_err(|source| Error::File {
            path: path.to_string(),
            source,
        })?;
        Ok(Source::File {
            path: path.to_string(),
            reader,
            stop,
        })
    }

    /// Starts capturing the running system: the driver first, then the /proc
    /// scan, so that nothing between the two is missed.
    pub fn live(opts: LiveOptions, stop: Arc<AtomicBool>) -> Result<Source, Error> {
        if opts.snaplen > driver::MAX_SNAPLEN {
            return Err(Error::Snaplen(opts.snaplen));
        }
        let cfg = driver::Config {
            snaplen: opts.snaplen,
            only: opts.only,
            ..driver::Config::default()
        };
        let driver = Driver::open(&cfg).map_err(Error::Driver)?;
        let mut snapshot = proc::scan(&ScanOptions {
            users: opts.users,
            exclude_pids: vec![i64::from(std::process::id())],
            legacy_fd_kinds: opts.for_writing,
            ..ScanOptions::default()
        })
        .map_err(Error::Scan)?;
        // The driver's events are exit-only; a capture written from them says so.
        snapshot.exit_only = true;
        Ok(Source::Live {
            driver: Box::new(driver),
            snapshot,
            stop,
        })
    }

    /// The state before the first event.
    pub fn snapshot(&self) -> &Snapshot {
        match self {
            Source::File { reader, .. } => reader.snapshot(),
            Source::Live { snapshot, .. } => snapshot,
        }
    }

    /// Waits for the next event, an idle moment, or the end.
    pub fn poll(&mut self) -> Result<Next<'_>, Error> {
        match self {
            Source::File { path, reader, stop } => {
                if stop.load(Ordering::Relaxed) {
                    return Ok(Next::End);
                }
                match reader.next_event() {
                    Ok(Some(ev)) => Ok(Next::Event(ev)),
                    Ok(None) => Ok(Next::End),
                    Err(source) => Err(Error::File {
                        path: path.clone(),
                        source,
                    }),
                }
            }
            Source::Live { driver, stop, .. } => {
                if stop.load(Ordering::Relaxed) {
                    return Ok(Next::End);
                }
                match driver.next_event(IDLE) {
                    Ok(Some(ev)) => Ok(Next::Event(ev)),
                    Ok(None) => Ok(Next::Idle),
                    Err(e) => Err(Error::Live(e)),
                }
            }
        }
    }

    /// Drops counted by the driver (0 for files).
    pub fn drops(&self) -> u64 {
        match self {
            Source::File { .. } => 0,
            Source::Live { driver, .. } => driver.stats().map_or(0, |s| s.drops),
        }
    }
}
