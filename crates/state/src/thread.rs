//! [`Thread`]: one entry of the thread table.

use std::sync::Arc;

use osprey_event::container::{container_id_from_cgroups, Runtime, SHORT_ID_LEN};
use osprey_event::snapshot::ProcInfo;

use crate::fd::{Fd, FdTable};
use crate::state::CpuShare;
use osprey_event::EventRef;

/// A thread's container: its runtime and full id (`None` on the host).
pub(crate) type ContainerRef = Option<(Runtime, Arc<[u8]>)>;

/// `PPM_CL_*` clone flags that change how state is shared.
pub mod clone_flags {
    /// The thread shares the fd table of its process (`CLONE_FILES`).
    pub const CLONE_FILES: u32 = 1 << 0;
    /// The thread shares cwd/root with its process (`CLONE_FS`).
    pub const CLONE_FS: u32 = 1 << 1;
    /// The thread belongs to the caller's thread group (`CLONE_THREAD`).
    pub const CLONE_THREAD: u32 = 1 << 13;
    /// The child-side clone exit arrived before the parent's (`PPM_CL_CLONE_INVERTED`).
    pub const CLONE_INVERTED: u32 = 1 << 16;
    /// The thread exited (`PPM_CL_CLOSED`).
    pub const CLOSED: u32 = 1 << 18;
}

/// An empty shared byte string.
pub(crate) fn empty() -> Arc<[u8]> {
    Arc::from(&b""[..])
}

/// One thread, with what `proc.*` and `thread.*` fields read.
///
/// String fields are shared (`Arc<[u8]>`) so cloning a thread on fork is cheap.
/// Process-wide data (fds, cwd) is read through [`crate::State::fds`] and
/// [`crate::State::cwd`], which follow `CLONE_FILES`/`CLONE_FS` to the main thread.
#[derive(Debug, Clone)]
pub struct Thread {
    /// Thread id.
    pub tid: i64,
    /// Process id (thread-group leader); the tid itself for threads first seen in an event.
    pub pid: i64,
    /// Parent thread id; -1 when unknown.
    pub ptid: i64,
    /// Session id.
    pub sid: i64,
    /// Process group id in the process's pid namespace.
    pub vpgid: i64,
    /// Thread id in its pid namespace.
    pub vtid: i64,
    /// Process id in its pid namespace.
    pub vpid: i64,
    /// `comm` (what `proc.name` shows); `<NA>` for threads first seen in an event.
    pub comm: Arc<[u8]>,
    /// `argv[0]` (`proc.exe`).
    pub exe: Arc<[u8]>,
    /// Full executable path (`proc.exepath`).
    pub exepath: Arc<[u8]>,
    /// Arguments after `argv[0]`, each NUL-terminated (see [`Thread::args`]).
    pub args: Arc<[u8]>,
    /// Environment, each `KEY=VALUE` NUL-terminated.
    pub env: Arc<[u8]>,
    /// Cgroups, each `subsys=path` NUL-terminated. Write them with
    /// [`Thread::set_cgroups`], which also finds the container they name.
    pub cgroups: Arc<[u8]>,
    /// Root directory.
    pub root: Arc<[u8]>,
    /// This thread's own cwd, with a trailing `/`; read [`crate::State::cwd`] instead,
    /// which follows `CLONE_FS` to the main thread.
    pub cwd: Arc<[u8]>,
    /// Maximum number of fds.
    pub fdlimit: i64,
    /// `PPM_CL_*` flags ([`clone_flags`]).
    pub flags: u32,
    /// User id (`u32::MAX` when unknown).
    pub uid: u32,
    /// Group id (`u32::MAX` when unknown).
    pub gid: u32,
    /// Login uid (`u32::MAX` when unset).
    pub loginuid: u32,
    /// Virtual memory, KiB.
    pub vmsize_kb: u32,
    /// Resident memory, KiB.
    pub vmrss_kb: u32,
    /// Swapped memory, KiB.
    pub vmswap_kb: u32,
    /// Major page faults.
    pub pfmajor: u64,
    /// Minor page faults.
    pub pfminor: u64,
    /// Controlling terminal.
    pub tty: u32,
    /// When the thread was created by a clone seen in the capture (0 otherwise; `proc.duration`).
    pub clone_ts: u64,
    /// When the last successful execve happened (0 if none seen).
    pub lastexec_ts: u64,
    /// Whether the executable is writable by the process's user.
    pub exe_writable: bool,
    /// Whether the executable lives in the upper (writable) layer of an
    /// overlay file system (`PPM_EXE_UPPER_LAYER` of the execve flags).
    pub exe_upper_layer: bool,
    /// Whether the executable is a memfd (`PPM_EXE_FROM_MEMFD`).
    pub exe_from_memfd: bool,
    /// Inheritable capabilities (bit `n` is capability `n`).
    pub cap_inheritable: u64,
    /// Permitted capabilities.
    pub cap_permitted: u64,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// Inode number of the executable (0 when unknown).
    pub exe_ino: u64,
    /// Status change time of the executable's inode, ns since the epoch (0 when unknown).
    pub exe_ino_ctime: u64,
    /// Modification time of the executable's inode, ns since the epoch (0 when unknown).
    pub exe_ino_mtime: u64,
    /// `clone_ts - exe_ino_ctime` (wrapping, as libsinsp computes it) at the
    /// last execve of a thread whose clone was seen; 0 when not computed.
    pub exe_ino_ctime_duration_clone_ts: u64,
    /// Start time of the init process of the thread's pid namespace, ns
    /// since the epoch (0 when unknown).
    pub pidns_init_start_ts: u64,
    /// Number of child threads (`proc.nchilds` on the main thread).
    pub nchilds: u32,
    pub(crate) fds: FdTable,
    /// The container the cgroups name (runtime and full id), found once when
    /// they are set so that field lookups need not scan them again.
    pub(crate) container: ContainerRef,
    /// Type of the last enter event of this thread (the one `last_data` holds).
    pub(crate) last_type: u16,
    /// The fd the last enter event referred to (`-1` for none).
    pub(crate) last_fd: i64,
    /// Raw copy of the last enter event (reused buffer).
    pub(crate) last_data: Vec<u8>,
    /// CPU of the last enter event.
    pub(crate) last_cpu: u16,
    /// Timestamp of the last enter event, even one a filter rejected (0 before
    /// any): sysdig measures every exit's latency from it.
    pub(crate) enter_ts: u64,
    /// Latency of the thread's last syscall (0 after an enter event): what
    /// sysdig shows as `evt.latency` of events that do not reset it (switch).
    pub(crate) latency: u64,
    /// User and system CPU ticks of the thread's last `procinfo` event
    /// (0 before any).
    pub(crate) cpu_ticks: (u64, u64),
}

impl Thread {
    /// Takes the CPU ticks of a `procinfo` event (user, then system) and
    /// returns the use since the previous one, as sysdig's `thread.cpu*`
    /// fields give it: each part is its ticks minus the previous sample's,
    /// at most 100, and 0 when that part had no previous (non-zero) sample.
    pub(crate) fn cpu_sample(&mut self, ev: &EventRef<'_>) -> CpuShare {
        let tick = |i| {
            ev.param(i)
                .and_then(|b| b.get(..8))
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        let (user, system) = (tick(0), tick(1));
        let (last_user, last_system) = self.cpu_ticks;
        let delta = |now: u64, last: u64| {
            if last == 0 {
                0.0
            } else {
                // Ticks of one sampling period: exact in a double.
                #[allow(clippy::cast_precision_loss)]
                let d = now.wrapping_sub(last) as f64;
                d.min(100.0)
            }
        };
        let share = CpuShare {
            total: delta(
                user.wrapping_add(system),
                last_user.wrapping_add(last_system),
            ),
            user: delta(user, last_user),
            system: delta(system, last_system),
        };
        self.cpu_ticks = (user, system);
        share
    }

    /// A thread first seen in an event, with sysdig's defaults for unknown threads.
    pub(crate) fn unknown(tid: i64) -> Thread {
        let na: Arc<[u8]> = Arc::from(&b"<NA>"[..]);
        Thread {
            tid,
            pid: tid,
            ptid: -1,
            sid: -1,
            vpgid: 0,
            vtid: -1,
            vpid: -1,
            comm: na.clone(),
            exe: na,
            exepath: empty(),
            args: empty(),
            env: empty(),
            cgroups: empty(),
            root: empty(),
            cwd: empty(),
            fdlimit: -1,
            flags: 0,
            uid: u32::MAX,
            gid: u32::MAX,
            loginuid: u32::MAX,
            vmsize_kb: 0,
            vmrss_kb: 0,
            vmswap_kb: 0,
            pfmajor: 0,
            pfminor: 0,
            tty: 0,
            clone_ts: 0,
            lastexec_ts: 0,
            exe_writable: false,
            exe_upper_layer: false,
            exe_from_memfd: false,
            cap_inheritable: 0,
            cap_permitted: 0,
            cap_effective: 0,
            exe_ino: 0,
            exe_ino_ctime: 0,
            exe_ino_mtime: 0,
            exe_ino_ctime_duration_clone_ts: 0,
            pidns_init_start_ts: 0,
            nchilds: 0,
            fds: FdTable::default(),
            container: None,
            last_type: crate::state::NO_ENTER,
            // sysdig starts every thread with 0 here, so an exit whose enter was
            // never seen refers to fd 0.
            last_fd: 0,
            last_data: Vec::new(),
            last_cpu: 0,
            enter_ts: 0,
            latency: 0,
            cpu_ticks: (0, 0),
        }
    }

    /// Builds a thread from a snapshot entry (with its fds).
    pub fn from_info(p: &ProcInfo) -> Thread {
        let mut t = Thread::unknown(p.tid as i64);
        t.pid = p.pid as i64;
        t.ptid = p.ptid as i64;
        t.sid = p.sid as i64;
        t.vpgid = p.vpgid as i64;
        t.vtid = p.vtid;
        t.vpid = p.vpid;
        t.comm = Arc::from(&p.comm[..]);
        t.exe = Arc::from(&p.exe[..]);
        t.exepath = Arc::from(&p.exepath[..]);
        t.args = Arc::from(&p.args[..]);
        t.env = Arc::from(&p.env[..]);
        t.set_cgroups(&p.cgroups);
        t.root = Arc::from(&p.root[..]);
        t.cwd = if p.cwd.is_empty() || p.cwd.ends_with(b"/") {
            Arc::from(&p.cwd[..])
        } else {
            let mut c = p.cwd.clone();
            c.push(b'/');
            Arc::from(c)
        };
        t.fdlimit = p.fdlimit as i64;
        t.flags = p.flags;
        t.uid = p.uid;
        t.gid = p.gid;
        t.loginuid = p.loginuid;
        t.vmsize_kb = p.vmsize_kb;
        t.vmrss_kb = p.vmrss_kb;
        t.vmswap_kb = p.vmswap_kb;
        t.pfmajor = p.pfmajor;
        t.pfminor = p.pfminor;
        t.tty = p.tty;
        t.exe_writable = p.exe_writable;
        t.exe_upper_layer = p.exe_upper_layer;
        t.exe_from_memfd = p.exe_from_memfd;
        t.cap_inheritable = p.cap_inheritable;
        t.cap_permitted = p.cap_permitted;
        t.cap_effective = p.cap_effective;
        t.exe_ino = p.exe_ino;
        t.exe_ino_ctime = p.exe_ino_ctime;
        t.exe_ino_mtime = p.exe_ino_mtime;
        t.pidns_init_start_ts = p.pidns_init_start_ts;
        for fi in &p.fds {
            t.fds.insert(fi.fd, Fd::from_info(fi));
        }
        t
    }

    /// Whether this is the main thread of its process (`thread.ismain`).
    #[inline]
    pub fn is_main(&self) -> bool {
        self.pid == self.tid
    }

    /// Whether the thread exited but is kept because other threads still use its
    /// fd table or cwd.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.flags & clone_flags::CLOSED != 0
    }

    /// The arguments after `argv[0]`.
    pub fn args(&self) -> impl Iterator<Item = &[u8]> {
        split_nul(&self.args)
    }

    /// The environment entries.
    pub fn env(&self) -> impl Iterator<Item = &[u8]> {
        split_nul(&self.env)
    }

    /// The cgroup entries (`subsys=path`).
    pub fn cgroups(&self) -> impl Iterator<Item = &[u8]> {
        split_nul(&self.cgroups)
    }

    /// Replaces the cgroups (NUL-terminated `subsys=path` entries) and the
    /// container id found in them.
    pub fn set_cgroups(&mut self, cgroups: &[u8]) {
        // The same cgroups name the same container.
        if !cgroups.is_empty() && *self.cgroups == *cgroups {
            return;
        }
        self.container = container_id_from_cgroups(cgroups).map(|(rt, id)| (rt, Arc::from(id)));
        self.cgroups = Arc::from(cgroups);
    }

    /// The short (12-character) id of the container the thread runs in, from
    /// its cgroups (or, for the pseudo-thread of a container event, the
    /// event's); `None` on the host.
    #[inline]
    pub fn container_id(&self) -> Option<&[u8]> {
        let (_, id) = self.container.as_ref()?;
        Some(id.get(..SHORT_ID_LEN).unwrap_or(id))
    }

    /// The full container id as the cgroups name it (64 hex digits for
    /// Docker and CRI runtimes); `None` on the host.
    #[inline]
    pub fn full_container_id(&self) -> Option<&[u8]> {
        self.container.as_ref().map(|(_, id)| &id[..])
    }

    /// The container runtime the cgroup path names; `None` on the host.
    #[inline]
    pub fn container_runtime(&self) -> Option<Runtime> {
        self.container.as_ref().map(|(rt, _)| *rt)
    }

    /// This thread's own fd table; read [`crate::State::fds`] instead, which follows
    /// `CLONE_FILES` to the main thread.
    pub fn own_fds(&self) -> &FdTable {
        &self.fds
    }
}

/// Splits a NUL-terminated list (the last terminator optional).
fn split_nul(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let b = b.strip_suffix(b"\0").unwrap_or(b);
    b.split(|&c| c == 0).filter(move |_| !b.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_args() {
        let mut t = Thread::unknown(1);
        t.args = Arc::from(&b"-l\0/tmp\0"[..]);
        assert_eq!(t.args().collect::<Vec<_>>(), vec![&b"-l"[..], b"/tmp"]);
        t.args = empty();
        assert_eq!(t.args().count(), 0);
    }

    #[test]
    fn caches_the_container_of_its_cgroups() {
        let id = "697956520d891b5cb0e215093970c733549a3f745f52263c05b37f8a488994f2";
        let mut t = Thread::unknown(1);
        assert_eq!(t.container_id(), None);
        t.set_cgroups(format!("cpuset=/docker/{id}\0cpu=/docker/{id}\0").as_bytes());
        assert_eq!(t.container_id(), Some(&b"697956520d89"[..]));
        assert_eq!(t.full_container_id(), Some(id.as_bytes()));
        assert_eq!(t.container_runtime(), Some(Runtime::Docker));
        t.set_cgroups(b"cpu=/user.slice\0");
        assert_eq!(t.container_id(), None);
        assert_eq!(&t.cgroups[..], b"cpu=/user.slice\0");
    }
}
