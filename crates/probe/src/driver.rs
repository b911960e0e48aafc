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
//! Parameters the driver does not collect yet are empty (length 0).
//!
//! Events are submitted without waking userspace; [`Driver::next_event`] polls
//! the ring on a timer ([`Config::poll_interval`]). One ring is shared by all
//! CPUs, so events come in submission order, which can differ from timestamp
//! order by a few microseconds across CPUs.

mod sys;
mod x86_64;

use aya::maps::{Array, MapData, MapError, PerCpuArray, RingBuf};
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

/// Where the kernel publishes its BTF.
const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// Driver settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bytes of I/O data kept per read/write buffer (default 80, at most [`MAX_SNAPLEN`]).
    pub snaplen: u32,
    /// Ring buffer size in bytes: a power of two, multiple of the page size (default 8 MiB).
    pub ring_size: u32,
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
    /// Events lost because the ring was full, summed over CPUs.
    pub drops: u64,
}

/// A loaded and attached eBPF driver. Dropping it detaches the programs.
pub struct Driver {
    ring: RingBuf<MapData>,
    drops: PerCpuArray<MapData, u64>,
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
fn config_bytes(cfg: &Config) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[0..4].copy_from_slice(&cfg.snaplen.to_le_bytes());
    v[4..8].copy_from_slice(&cfg.exclude_tgid.to_le_bytes());
    v[8..16].copy_from_slice(&sys::boot_to_epoch_ns().to_le_bytes());
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
        if !sys::is_root() {
            return Err(Error::NotRoot);
        }
        if !Path::new(BTF_PATH).exists() {
            return Err(Error::NoBtf);
        }
        let btf = Btf::from_sys_fs().map_err(|_| Error::NoBtf)?;
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .set_max_entries("events", cfg.ring_size)
            .load(OBJECT)
            .map_err(|e| Error::Load(Box::new(e)))?;

        {
            let map = ebpf.map_mut("config").ok_or(Error::MissingMap("config"))?;
            let mut config: Array<_, [u8; 16]> = Array::try_from(map).map_err(map_err("config"))?;
            config
                .set(0, config_bytes(cfg), 0)
                .map_err(map_err("config"))?;
        }
        {
            let map = ebpf.map_mut("sc_ids").ok_or(Error::MissingMap("sc_ids"))?;
            let mut ids: Array<_, u16> = Array::try_from(map).map_err(map_err("sc_ids"))?;
            for (nr, id) in sc_ids() {
                if nr < ids.len() {
                    ids.set(nr, id, 0).map_err(map_err("sc_ids"))?;
                }
            }
        }

        let mut fallback = false;
        fallback |= attach(
            &mut ebpf,
            &btf,
            "sys_enter",
            "sys_enter_btf",
            "sys_enter_raw",
        )?;
        fallback |= attach(&mut ebpf, &btf, "sys_exit", "sys_exit_btf", "sys_exit_raw")?;
        fallback |= attach(
            &mut ebpf,
            &btf,
            "sched_process_exit",
            "procexit_btf",
            "procexit_raw",
        )?;

        let ring = ebpf.take_map("events").ok_or(Error::MissingMap("events"))?;
        let ring = RingBuf::try_from(ring).map_err(map_err("events"))?;
        let drops = ebpf.take_map("drops").ok_or(Error::MissingMap("drops"))?;
        let drops = PerCpuArray::try_from(drops).map_err(map_err("drops"))?;
        Ok(Driver {
            ring,
            drops,
            buf: Vec::with_capacity(64 * 1024),
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

    /// The next event, waiting at most `timeout` for one (polling the ring
    /// every [`Config::poll_interval`]); `None` when none arrived in time.
    /// The event borrows an internal buffer reused by the next call.
    pub fn next_event(&mut self, timeout: Duration) -> Result<Option<EventRef<'_>>, Error> {
        let start = Instant::now();
        loop {
            if let Some(item) = self.ring.next() {
                self.buf.clear();
                self.buf.extend_from_slice(&item);
                break;
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Ok(None);
            }
            std::thread::sleep(self.poll.min(timeout - waited));
        }
        let index = self.delivered;
        self.delivered += 1;
        let bad = |source| Error::BadEvent { index, source };
        let (cpu, event) = match self.buf.as_slice() {
            [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
            short => return Err(bad(EventError::ShortHeader(short.len()))),
        };
        EventRef::parse(event, cpu, 0).map(Some).map_err(bad)
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
