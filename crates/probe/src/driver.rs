//! The eBPF driver: loads the committed CO-RE object (`bpf/osprey.bpf.o`,
//! built from `bpf/osprey.bpf.c` by `cargo xtask bpf`) with aya, attaches it to
//! the syscall and process-exit tracepoints and hands out the events it writes
//! into its ring buffer as [`EventRef`]s, in the same v2 layout as capture files.
//!
//! What the BPF side emits (exit-only, one event per syscall):
//! `open`, `openat` (OPENAT_2_X, 307), `openat2` (327), `creat`, `close`, `read`,
//! `write`, `connect` (IPv4/IPv6 tuple from the socket, `addr` from the user
//! sockaddr), `execve` (EXECVE_19_X, 293), `clone`/`fork`/`vfork` (`_20_X`) and
//! `clone3` exits (in parent and child), and `procexit` (PROCEXIT_1_E, 186) per
//! exiting thread. Every other syscall is a generic event (GENERIC_X, type 1)
//! whose `nativeID` is the x86_64 syscall number and whose `ID` is the
//! `PPM_SC_*` code of the same name in [`osprey_event::syscalls`] (0, shown as
//! `<unknown>`, when that table has no such name). `exit` and `exit_group`
//! never return, so they produce no syscall event; `procexit` covers them.
//! Clone and execve exits carry `cgroups`: `subsys=path` entries, each
//! NUL-terminated, for cpuset, cpu, cpuacct, blkio (`io` on cgroup v2) and
//! memory, in that order, with absolute paths, at most 1024 bytes.
//! Parameters the driver does not collect yet are empty (length 0).
//!
//! Only the syscalls in [`Config::only`] are sent at all (kernel-side
//! selection); `procexit` always is. [`STATE_SYSCALLS`] lists those that keep
//! the thread and fd tables right, for callers that narrow the selection.
//!
//! Events are submitted without waking userspace, into one ring per group of
//! [`Config::cpus_per_ring`] CPUs (at most 8 rings; more groups share them);
//! [`Driver::next_event`] polls
//! the rings on a timer ([`Config::poll_interval`]), reads records in place
//! and merges the rings in timestamp order. Events the kernel could not queue
//! because a ring was full are counted ([`Stats::drops`]) and announced by a
//! `drop` event (DROP_E, type 148) whose `ratio` is the number lost since the
//! previous one.

mod ring;
mod sys;
mod x86_64;

use aya::maps::{Array, Map, MapData, MapError, PerCpuArray};
use aya::programs::{BtfTracePoint, ProgramError, RawTracePoint};
use aya::{Btf, Ebpf, EbpfError, EbpfLoader};
use osprey_event::{EventError, EventRef};
use std::path::Path;
use std::time::{Duration, Instant};

/// Wrapper giving the embedded object the 8-byte alignment the ELF parser needs.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!("../bpf/osprey.bpf.o"));

/// The compiled BPF object (CO-RE; relocated against the kernel's BTF at load).
pub static OBJECT: &[u8] = &ALIGNED.0;

/// Largest snaplen the BPF side honours (it caps one buffer at 8191 bytes).
pub const MAX_SNAPLEN: u32 = 8191;

/// Number of ring buffer maps in the object (`ring0` .. `ring7`).
const RINGS: usize = 8;

/// The ring map names, by index.
const RING_NAMES: [&str; RINGS] = [
    "ring0", "ring1", "ring2", "ring3", "ring4", "ring5", "ring6", "ring7",
];

/// Event type of the drop announcement (`PPME_DROP_E`).
const DROP_E: u16 = 148;

/// Syscalls whose events keep the thread, fd and user tables right: what a
/// caller that only needs a few syscalls should still select (like Falco's
/// base syscalls). `procexit` is always sent.
pub const STATE_SYSCALLS: &[&str] = &[
    "open",
    "openat",
    "openat2",
    "creat",
    "close",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "socket",
    "socketpair",
    "connect",
    "accept",
    "accept4",
    "bind",
    "eventfd",
    "eventfd2",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "inotify_init",
    "inotify_init1",
    "epoll_create",
    "epoll_create1",
    "memfd_create",
    "pidfd_open",
    "pidfd_getfd",
    "userfaultfd",
    "fcntl",
    "chdir",
    "fchdir",
    "chroot",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "setreuid",
    "setregid",
    "setsid",
    "prctl",
];

/// Where the kernel publishes its BTF.
const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// Driver settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bytes of I/O data kept per read/write buffer (default 80, at most [`MAX_SNAPLEN`]).
    pub snaplen: u32,
    /// Size in bytes of each ring buffer: a power of two, multiple of the
    /// page size (default 8 MiB).
    pub ring_size: u32,
    /// How many CPUs share one ring buffer: a power of two (default 2, as
    /// Falco does; 1 gives each CPU its own). Each ring costs `2 * ring_size`
    /// of mapped memory (its data area is mapped twice), sharing costs some
    /// contention between the CPUs of a group.
    pub cpus_per_ring: u32,
    /// Names of the syscalls to capture; `None` captures all of them. Names
    /// this architecture does not have are ignored.
    pub only: Option<Vec<String>>,
    /// Process (tgid) whose events are not captured (default: this process).
    pub exclude_tgid: u32,
    /// How long [`Driver::next_event`] sleeps when the ring is empty (default 10 ms).
    pub poll_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            snaplen: 80,
            ring_size: 8 << 20,
            cpus_per_ring: 2,
            only: None,
            exclude_tgid: std::process::id(),
            poll_interval: Duration::from_millis(10),
        }
    }
}

/// Why the driver could not start or deliver events. Each message is one line
/// a command-line tool can print as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The process is not running as root.
    #[error("live capture needs root: run it with sudo")]
    NotRoot,
    /// The kernel has no BTF, which the CO-RE object needs.
    #[error("the kernel publishes no BTF at {BTF_PATH} (it needs CONFIG_DEBUG_INFO_BTF=y)")]
    NoBtf,
    /// A configuration value is out of range.
    #[error("invalid driver configuration: {0}")]
    Config(&'static str),
    /// The object or one of its maps could not be loaded (kernel without BPF, ring too big, ...).
    #[error("loading the eBPF object failed (does the kernel support BPF ring buffers?): {0}")]
    Load(#[source] Box<EbpfError>),
    /// The kernel rejected or could not attach a program.
    #[error("eBPF program {program} could not be loaded or attached: {source}")]
    Program {
        /// The program's name in the object.
        program: &'static str,
        /// What went wrong.
        #[source]
        source: Box<ProgramError>,
    },
    /// A map of the object was missing or could not be read or written.
    #[error("eBPF map {map}: {source}")]
    Map {
        /// The map's name in the object.
        map: &'static str,
        /// What went wrong.
        #[source]
        source: Box<MapError>,
    },
    /// A ring buffer could not be mapped into memory.
    #[error("eBPF ring buffer {map} could not be mapped: {source}")]
    Mmap {
        /// The map's name in the object.
        map: &'static str,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A map the object must contain is missing (the embedded object is stale).
    #[error("eBPF map {0} is missing from the object (rebuild it with `cargo xtask bpf`)")]
    MissingMap(&'static str),
    /// The ring delivered a record that is not a valid event.
    #[error("invalid event #{index} from the ring buffer: {source}")]
    BadEvent {
        /// Zero-based number of the record among those delivered.
        index: u64,
        /// What is wrong with it.
        #[source]
        source: EventError,
    },
}

/// How the syscall programs are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachMode {
    /// BTF-enabled raw tracepoints (`tp_btf`) for all programs.
    TpBtf,
    /// At least one program fell back to a plain raw tracepoint.
    RawTracepoint,
}

/// Counters of a running driver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events handed out by [`Driver::next_event`].
    pub delivered: u64,
    /// Events lost because a ring was full, summed over CPUs.
    pub drops: u64,
}

/// The ring record [`Driver::next_event`] handed out last, consumed at the next call.
#[derive(Debug, Clone, Copy)]
enum Pending {
    /// Nothing to consume.
    None,
    /// `total` bytes of ring `ring`.
    Record { ring: usize, total: u64 },
}

/// A loaded and attached eBPF driver. Dropping it detaches the programs.
pub struct Driver {
    rings: Vec<ring::Ring>,
    pending: Pending,
    drops: PerCpuArray<MapData, u64>,
    /// Drops already announced by a drop event.
    drops_told: u64,
    /// Events delivered when the drop counter was last read.
    drops_checked_at: u64,
    buf: Vec<u8>,
    delivered: u64,
    poll: Duration,
    mode: AttachMode,
    // Last: owns the programs and links, detached on drop.
    _ebpf: Ebpf,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("delivered", &self.delivered)
            .field("poll", &self.poll)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Record layout of the BPF `config` map value (see `struct config` in the C).
fn config_bytes(cfg: &Config) -> [u8; 24] {
    let mut v = [0u8; 24];
    v[0..4].copy_from_slice(&cfg.snaplen.to_le_bytes());
    v[4..8].copy_from_slice(&cfg.exclude_tgid.to_le_bytes());
    v[8..16].copy_from_slice(&sys::boot_to_epoch_ns().to_le_bytes());
    v[16..20].copy_from_slice(&cfg.cpus_per_ring.trailing_zeros().to_le_bytes());
    v
}

/// Value of the BPF `sc_map` for syscall `name` (see `struct sc_info`): its
/// `PPM_SC_*` code and whether it is emitted.
fn sc_info(ppm: u16, emit: bool) -> [u8; 4] {
    let mut v = [0u8; 4];
    v[0..2].copy_from_slice(&ppm.to_le_bytes());
    v[2..4].copy_from_slice(&u16::from(emit).to_le_bytes());
    v
}

/// `PPM_SC_*` code for each x86_64 syscall number (0 when unknown).
fn sc_ids() -> impl Iterator<Item = (u32, u16)> {
    let ppm: Vec<(&str, u16)> = (1..osprey_event::syscalls::PPM_SC_MAX)
        .filter_map(|i| {
            let id = u16::try_from(i).ok()?;
            Some((osprey_event::syscalls::syscall_name(id)?, id))
        })
        .collect();
    x86_64::NATIVE_NAMES
        .iter()
        .enumerate()
        .filter_map(move |(nr, name)| {
            let id = ppm.iter().find(|(n, _)| n == name)?.1;
            Some((u32::try_from(nr).ok()?, id))
        })
}

fn map_err(map: &'static str) -> impl FnOnce(MapError) -> Error {
    move |e| Error::Map {
        map,
        source: Box::new(e),
    }
}

fn prog_err(program: &'static str) -> impl FnOnce(ProgramError) -> Error {
    move |e| Error::Program {
        program,
        source: Box::new(e),
    }
}

/// Loads and attaches the BTF-enabled program `btf_prog` on `tp`; when that
/// fails, the raw-tracepoint program `raw_prog` instead. Returns whether the
/// fallback was used.
fn attach(
    ebpf: &mut Ebpf,
    btf: &Btf,
    tp: &str,
    btf_prog: &'static str,
    raw_prog: &'static str,
) -> Result<bool, Error> {
    if let Some(p) = ebpf.program_mut(btf_prog) {
        let p: &mut BtfTracePoint = p.try_into().map_err(prog_err(btf_prog))?;
        if p.load(tp, btf).is_ok() && p.attach().is_ok() {
            return Ok(false);
        }
        // Leave nothing half-loaded behind before falling back.
        let _ = p.unload();
    }
    let p = ebpf
        .program_mut(raw_prog)
        .ok_or(Error::MissingMap(raw_prog))?;
    let p: &mut RawTracePoint = p.try_into().map_err(prog_err(raw_prog))?;
    p.load().map_err(prog_err(raw_prog))?;
    p.attach(tp).map_err(prog_err(raw_prog))?;
    Ok(true)
}

impl Driver {
    /// Loads the embedded object, configures it and attaches its programs.
    pub fn open(cfg: &Config) -> Result<Driver, Error> {
        if cfg.snaplen > MAX_SNAPLEN {
            return Err(Error::Config("snaplen is larger than 8191"));
        }
        if !cfg.ring_size.is_power_of_two() || cfg.ring_size < 4096 {
            return Err(Error::Config(
                "ring_size must be a power of two of at least 4096",
            ));
        }
        if !cfg.cpus_per_ring.is_power_of_two() {
            return Err(Error::Config("cpus_per_ring must be a power of two"));
        }
        if !sys::is_root() {
            return Err(Error::NotRoot);
        }
        if !Path::new(BTF_PATH).exists() {
            return Err(Error::NoBtf);
        }
        let btf = Btf::from_sys_fs().map_err(|_| Error::NoBtf)?;
        let cpus = aya::util::nr_cpus().unwrap_or(RINGS);
        let per = cfg.cpus_per_ring as usize;
        let rings_used = cpus.div_ceil(per).clamp(1, RINGS);
        let mut loader = EbpfLoader::new();
        loader.btf(Some(&btf));
        for (i, name) in RING_NAMES.iter().enumerate() {
            // Rings no CPU writes to get the smallest size the kernel takes.
            loader.set_max_entries(name, if i < rings_used { cfg.ring_size } else { 4096 });
        }
        let mut ebpf = loader.load(OBJECT).map_err(|e| Error::Load(Box::new(e)))?;

        {
            let map = ebpf.map_mut("config").ok_or(Error::MissingMap("config"))?;
            let mut config: Array<_, [u8; 24]> = Array::try_from(map).map_err(map_err("config"))?;
            config
                .set(0, config_bytes(cfg), 0)
                .map_err(map_err("config"))?;
        }
        {
            let map = ebpf.map_mut("sc_map").ok_or(Error::MissingMap("sc_map"))?;
            let mut sc: Array<_, [u8; 4]> = Array::try_from(map).map_err(map_err("sc_map"))?;
            let ppm: Vec<(u32, u16)> = sc_ids().collect();
            for nr in 0..sc.len() {
                let name = x86_64::NATIVE_NAMES.get(nr as usize).copied().unwrap_or("");
                let emit = cfg
                    .only
                    .as_ref()
                    .is_none_or(|only| only.iter().any(|n| n == name));
                let id = ppm.iter().find(|(n, _)| *n == nr).map_or(0, |(_, id)| *id);
                sc.set(nr, sc_info(id, emit), 0)
                    .map_err(map_err("sc_map"))?;
            }
        }

        let mut fallback = false;
        fallback |= attach(
            &mut ebpf,
            &btf,
            "sched_process_exec",
            "exec_btf",
            "exec_raw",
        )?;
        fallback |= attach(&mut ebpf, &btf, "sys_exit", "sys_exit_btf", "sys_exit_raw")?;
        fallback |= attach(
            &mut ebpf,
            &btf,
            "sched_process_exit",
            "procexit_btf",
            "procexit_raw",
        )?;

        let mut rings = Vec::with_capacity(rings_used);
        for name in &RING_NAMES[..rings_used] {
            let Some(Map::RingBuf(map)) = ebpf.map(name) else {
                return Err(Error::MissingMap(name));
            };
            let ring =
                ring::Ring::new(map.fd(), u64::from(cfg.ring_size)).map_err(|e| Error::Mmap {
                    map: name,
                    source: e,
                })?;
            rings.push(ring);
        }
        let drops = ebpf.take_map("drops").ok_or(Error::MissingMap("drops"))?;
        let drops = PerCpuArray::try_from(drops).map_err(map_err("drops"))?;
        drop(btf);
        sys::trim_heap();
        Ok(Driver {
            rings,
            pending: Pending::None,
            drops,
            drops_told: 0,
            drops_checked_at: 0,
            buf: Vec::with_capacity(64),
            delivered: 0,
            poll: cfg.poll_interval,
            mode: if fallback {
                AttachMode::RawTracepoint
            } else {
                AttachMode::TpBtf
            },
            _ebpf: ebpf,
        })
    }

    /// How the programs were attached.
    pub fn attach_mode(&self) -> AttachMode {
        self.mode
    }

    /// The next event in timestamp order, waiting at most `timeout` for one
    /// (polling the rings every [`Config::poll_interval`]); `None` when none
    /// arrived in time. The event borrows the ring it lies in, which gets it
    /// back at the next call.
    pub fn next_event(&mut self, timeout: Duration) -> Result<Option<EventRef<'_>>, Error> {
        if let Pending::Record { ring, total } = self.pending {
            self.rings[ring].consume(total);
            self.pending = Pending::None;
        }
        // Drops are read now and then, and whenever the rings run dry.
        if self.delivered - self.drops_checked_at >= 1 << 16 && self.drop_event()? {
            return self.drop_ref().map(Some);
        }
        let mut deadline = None;
        loop {
            let mut best: Option<(usize, u64)> = None;
            for (i, ring) in self.rings.iter_mut().enumerate() {
                if let Some((rec, _)) = ring.peek() {
                    let ts = rec
                        .get(2..10)
                        .map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
                    if best.is_none_or(|(_, t)| ts < t) {
                        best = Some((i, ts));
                    }
                }
            }
            if let Some((i, _)) = best {
                return self.take(i).map(Some);
            }
            for ring in &mut self.rings {
                ring.publish();
            }
            if self.drop_event()? {
                return self.drop_ref().map(Some);
            }
            let now = Instant::now();
            let end = *deadline.get_or_insert(now + timeout);
            if now >= end {
                return Ok(None);
            }
            std::thread::sleep(self.poll.min(end - now));
        }
    }

    /// Hands out the head record of ring `i`.
    fn take(&mut self, i: usize) -> Result<EventRef<'_>, Error> {
        let index = self.delivered;
        self.delivered += 1;
        let bad = |source| Error::BadEvent { index, source };
        let Some((rec, total)) = self.rings[i].peek() else {
            return Err(bad(EventError::ShortHeader(0)));
        };
        self.pending = Pending::Record { ring: i, total };
        let (cpu, event) = match rec {
            [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
            short => return Err(bad(EventError::ShortHeader(short.len()))),
        };
        EventRef::parse(event, cpu, 0).map_err(bad)
    }

    /// Reads the drop counters; when they grew, builds a drop event in the
    /// internal buffer and says so.
    fn drop_event(&mut self) -> Result<bool, Error> {
        self.drops_checked_at = self.delivered;
        let drops = self.stats()?.drops;
        if drops <= self.drops_told {
            return Ok(false);
        }
        let ratio = u32::try_from(drops - self.drops_told).unwrap_or(u32::MAX);
        self.drops_told = drops;
        let ts = sys::epoch_ns();
        osprey_event::encode(&mut self.buf, ts, u64::MAX, DROP_E, &[&ratio.to_le_bytes()]);
        Ok(true)
    }

    /// The drop event [`Driver::drop_event`] built.
    fn drop_ref(&mut self) -> Result<EventRef<'_>, Error> {
        let index = self.delivered;
        self.delivered += 1;
        EventRef::parse(&self.buf, 0, 0).map_err(|source| Error::BadEvent { index, source })
    }

    /// Events delivered so far and events dropped by the kernel side.
    pub fn stats(&self) -> Result<Stats, Error> {
        let per_cpu = self.drops.get(&0, 0).map_err(map_err("drops"))?;
        Ok(Stats {
            delivered: self.delivered,
            drops: per_cpu.iter().sum(),
        })
    }
}
