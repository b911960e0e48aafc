//! Where events come from: a capture file, or the running system through the
//! eBPF driver, behind one [`Source`] that hands out events, idle moments
//! (a chance to flush output) and the end. `osprey` and `osprey-guard` read
//! events through it.
//!
//! A live source also names the containers its processes run in: the id comes
//! from each task's cgroups (in the /proc scan and in the clone and execve
//! events), a background [`Resolver`] asks the runtime (Docker, podman, CRI)
//! about it, and the answer enters the stream as a container event, the way
//! sysdig carries container metadata, so state, filters and written captures
//! all see it. Until it arrives, container fields are empty rather than wrong.

use osprey_container::Resolver;
pub use osprey_container::ResolverOptions;
use osprey_event::container::container_id_from_cgroups;
use osprey_event::snapshot::Snapshot;
use osprey_event::EventRef;
use osprey_probe::driver::{self, Driver};
use osprey_probe::proc::{self, ScanOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a live source waits for an event before reporting itself idle.
const IDLE: Duration = Duration::from_millis(100);
/// A live source checks for finished container lookups every this many events
/// (and whenever it is idle).
const CONTAINER_CHECK: u32 = 1024;
/// The event type container metadata travels in (`container`, JSON).
const CONTAINER_JSON_E: u16 = 324;

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
        /// Container metadata lookups (`None` when turned off).
        containers: Option<Box<Containers>>,
        /// Set by Ctrl-C or SIGTERM.
        stop: Arc<AtomicBool>,
    },
}

/// The container side of a live source: lookups in flight, and the buffer a
/// finished one is encoded into as a container event.
#[derive(Debug)]
pub struct Containers {
    resolver: Resolver,
    /// Per event type, the index of its `cgroups` parameter (`u8::MAX`: none).
    cgroups_param: Vec<u8>,
    /// Events until the next check for finished lookups.
    countdown: u32,
    /// Time of the last event, which an injected event takes.
    last_ts: u64,
    json: Vec<u8>,
    event: Vec<u8>,
}

impl Containers {
    fn start(opts: ResolverOptions, snapshot: &Snapshot) -> Option<Containers> {
        let resolver = Resolver::start(opts).ok()?;
        let cgroups_param = (0..osprey_event::table::EVENTS.len())
            .map(|t| {
                osprey_event::table::info(u16::try_from(t).unwrap_or(u16::MAX))
                    .and_then(|i| i.params.iter().position(|p| p.name == "cgroups"))
                    .and_then(|i| u8::try_from(i).ok())
                    .unwrap_or(u8::MAX)
            })
            .collect();
        let mut c = Containers {
            resolver,
            cgroups_param,
            countdown: 1,
            last_ts: 0,
            json: Vec::new(),
            event: Vec::new(),
        };
        for p in &snapshot.procs {
            c.request(&p.cgroups);
        }
        Some(c)
    }

    /// Asks about the container of a task with these cgroups, once per id.
    fn request(&mut self, cgroups: &[u8]) {
        if let Some(id) =
            container_id_from_cgroups(cgroups).and_then(|(_, id)| std::str::from_utf8(id).ok())
        {
            self.resolver.request(id);
        }
    }

    /// Notes a driver event: its time, and the container of a new task.
    fn note(&mut self, ev: &EventRef<'_>) {
        self.last_ts = ev.ts();
        let idx = self
            .cgroups_param
            .get(usize::from(ev.etype()))
            .copied()
            .unwrap_or(u8::MAX);
        if idx != u8::MAX {
            if let Some(cg) = ev.param(usize::from(idx)) {
                self.request(cg);
            }
        }
    }

    /// Encodes a finished lookup, if one is ready, as a container event into
    /// [`Containers::event`]; returns whether it did.
    fn ready(&mut self) -> bool {
        let Some(info) = self.resolver.try_recv() else {
            return false;
        };
        self.json.clear();
        info.to_sysdig_json(&mut self.json);
        self.json.push(0);
        // Container events belong to no thread (tid -1), as sysdig writes them.
        osprey_event::encode(
            &mut self.event,
            self.last_ts,
            u64::MAX,
            CONTAINER_JSON_E,
            &[&self.json],
        );
        true
    }

    /// The event [`Containers::ready`] encoded.
    fn injected(&self) -> Option<EventRef<'_>> {
        EventRef::parse(&self.event, 0, 0).ok()
    }
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
    /// scan, so that nothing between the two is missed. Container metadata
    /// comes from the runtimes at their default sockets.
    pub fn live(opts: LiveOptions, stop: Arc<AtomicBool>) -> Result<Source, Error> {
        Source::live_with(opts, Some(ResolverOptions::default()), stop)
    }

    /// [`Source::live`] with the container runtimes to ask (`None`: none, and
    /// no container metadata).
    pub fn live_with(
        opts: LiveOptions,
        runtimes: Option<ResolverOptions>,
        stop: Arc<AtomicBool>,
    ) -> Result<Source, Error> {
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
        let containers = runtimes
            .and_then(|r| Containers::start(r, &snapshot))
            .map(Box::new);
        Ok(Source::Live {
            driver: Box::new(driver),
            snapshot,
            containers,
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
    #[inline]
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
            Source::Live { .. } => self.poll_live(),
        }
    }

    /// [`Source::poll`] for a live capture (kept out of the file path, which
    /// is inlined into the caller's loop).
    fn poll_live(&mut self) -> Result<Next<'_>, Error> {
        match self {
            Source::File { .. } => Ok(Next::End),
            Source::Live {
                driver,
                containers,
                stop,
                ..
            } => {
                if stop.load(Ordering::Relaxed) {
                    return Ok(Next::End);
                }
                let injected = containers.as_deref_mut().is_some_and(|c| {
                    c.countdown -= 1;
                    if c.countdown > 0 {
                        return false;
                    }
                    // After a hit more may be waiting: look again next time.
                    let hit = c.ready();
                    c.countdown = if hit { 1 } else { CONTAINER_CHECK };
                    hit
                });
                if injected {
                    // An event this source encoded itself always parses; were
                    // it not to, the moment passes as an idle one.
                    return Ok(containers
                        .as_deref()
                        .and_then(Containers::injected)
                        .map_or(Next::Idle, Next::Event));
                }
                match driver.next_event(IDLE) {
                    Ok(Some(ev)) => {
                        if let Some(c) = containers.as_deref_mut() {
                            c.note(&ev);
                        }
                        Ok(Next::Event(ev))
                    }
                    Ok(None) => {
                        if let Some(c) = containers.as_deref_mut() {
                            c.countdown = 1;
                        }
                        Ok(Next::Idle)
                    }
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
