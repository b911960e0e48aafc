//! [`State`]: the thread, fd, user and group tables, and the per-event update logic.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use osprey_event::container::{ContainerInfo, Runtime, SHORT_ID_LEN};
use osprey_event::snapshot::{GroupInfo, InterfaceInfo, MachineInfo, Snapshot, UserInfo};
use osprey_event::table::{category, flags as ef, EventInfo};
use osprey_event::{Direction, EventRef};
use rustc_hash::FxHashMap;

use crate::fd::{l4, server_name, Endpoints, Fd, FdTable, FdType, Role};
use crate::param::{self, SockAddr, Tuple};
use crate::thread::{clone_flags as cl, ContainerRef, Thread};
use osprey_event::render::write_joined_path;

/// A user-table entry (`user.*`).
pub type User = UserInfo;
/// A group-table entry (`group.*`).
pub type Group = GroupInfo;

/// Number of event types sysdig 0.29.3 knows (`PPM_EVENT_MAX` of libs 2022-03).
/// Newer types are ignored by its state engine, and so by this one, except the
/// user/group meta events.
pub const LEGACY_EVENT_MAX: u16 = 336;

/// Event type numbers this module dispatches on.
mod et {
    pub(super) const OPEN_X: u16 = 3;
    pub(super) const CLOSE_X: u16 = 5;
    pub(super) const WRITE_X: u16 = 9;
    pub(super) const PROCEXIT_E: u16 = 16;
    pub(super) const SOCKET_X: u16 = 19;
    pub(super) const BIND_X: u16 = 21;
    pub(super) const CONNECT_X: u16 = 23;
    pub(super) const ACCEPT_X: u16 = 27;
    pub(super) const SENDTO_X: u16 = 31;
    pub(super) const RECVFROM_X: u16 = 35;
    pub(super) const SOCKETPAIR_X: u16 = 43;
    pub(super) const SENDMSG_X: u16 = 49;
    pub(super) const RECVMSG_X: u16 = 53;
    pub(super) const ACCEPT4_X: u16 = 57;
    pub(super) const CREAT_X: u16 = 59;
    pub(super) const PIPE_X: u16 = 61;
    pub(super) const EVENTFD_X: u16 = 63;
    pub(super) const CHDIR_X: u16 = 95;
    pub(super) const FCHDIR_X: u16 = 97;
    pub(super) const OPENAT_X: u16 = 103;
    pub(super) const DUP_X: u16 = 125;
    pub(super) const SIGNALFD_X: u16 = 127;
    pub(super) const TIMERFD_CREATE_X: u16 = 137;
    pub(super) const INOTIFY_INIT_X: u16 = 139;
    pub(super) const FCNTL_X: u16 = 151;
    pub(super) const PROCEXIT_1_E: u16 = 186;
    pub(super) const SETRESUID_X: u16 = 193;
    pub(super) const SETRESGID_X: u16 = 195;
    pub(super) const SETUID_X: u16 = 199;
    pub(super) const SETGID_X: u16 = 201;
    pub(super) const ACCEPT_5_X: u16 = 247;
    pub(super) const ACCEPT4_5_X: u16 = 249;
    pub(super) const SETSID_X: u16 = 275;
    pub(super) const BPF_X: u16 = 297;
    pub(super) const OPENAT_2_X: u16 = 307;
    pub(super) const USERFAULTFD_X: u16 = 321;
    pub(super) const OPENAT2_X: u16 = 327;
    pub(super) const EXECVEAT_E: u16 = 330;
    pub(super) const EXECVEAT_X: u16 = 331;
    pub(super) const CLONE3_X: u16 = 335;
    pub(super) const USER_ADDED_E: u16 = 354;
    pub(super) const USER_DELETED_E: u16 = 356;
    pub(super) const GROUP_ADDED_E: u16 = 358;
    pub(super) const GROUP_DELETED_E: u16 = 360;
    pub(super) const SCHEDSWITCH_6_E: u16 = 152;
    pub(super) const PROCINFO_E: u16 = 234;
    pub(super) const CONTAINER_E: u16 = 228;
    pub(super) const CONTAINER_JSON_E: u16 = 272;
    pub(super) const CONTAINER_JSON_2_E: u16 = 324;

    /// clone/fork/vfork exits of every version.
    pub(super) const CLONE_XS: [u16; 11] =
        [15, 157, 217, 223, 183, 219, 225, 185, 221, 227, CLONE3_X];
    /// execve exits of every version.
    pub(super) const EXECVE_XS: [u16; 9] = [13, 155, 173, 215, 231, 283, 289, 293, EXECVEAT_X];
}

/// The last-event type of a thread whose next exit has no matching enter.
pub(crate) const NO_ENTER: u16 = u16::MAX;
/// `PPM_O_DIRECTORY`.
const O_DIRECTORY: u32 = 1 << 10;
/// `-EINPROGRESS`.
const EINPROGRESS: i64 = -115;
/// `PPM_AT_FDCWD`.
const AT_FDCWD: i64 = -100;
/// fcntl commands that duplicate an fd (`PPM_FCNTL_F_DUPFD`, `PPM_FCNTL_F_DUPFD_CLOEXEC`).
const F_DUPFD: u64 = 1;
const F_DUPFD_CLOEXEC: u64 = 26;

/// The context of the last processed event, what `evt.*`, `fd.*` and the
/// thread-relative fields read.
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// Event timestamp.
    pub ts: u64,
    /// Timestamp of the previous processed event (0 for the first).
    pub prev_ts: u64,
    /// Event type.
    pub etype: u16,
    /// Thread id of the event.
    pub tid: i64,
    /// Whether the thread is in the table (`proc.*`/`thread.*` fields resolve).
    pub thread_known: bool,
    /// `fd.num`: the fd the event refers to, for events that create, use or
    /// destroy fds (from the enter event for exits, or the created fd); `None` otherwise.
    pub fd_num: Option<i64>,
    /// A copy of that fd's entry as it was after this event (a closed fd still
    /// shows); read it with [`Current::fd`]. The copy outlives the event and is
    /// overwritten in place by the next one, which spares cloning its shared
    /// names while they stay the same.
    fd_copy: Option<Fd>,
    /// Whether `fd_copy` belongs to this event.
    fd_set: bool,
    /// Timestamp of the matching enter event, for exit events whose enter event
    /// was seen.
    pub enter_ts: Option<u64>,
    /// Whether the event resolved [`Current::fd`] itself (sysdig's per-event fd,
    /// which `evt.buflen` needs): enter events naming a known fd and exit events
    /// whose enter event was seen; an unmatched exit only shows the thread's last
    /// fd. Under a capture filter, write exits always resolve it, as in sysdig.
    pub event_fd: bool,
    /// Whether the event renamed the fd it refers to (e.g. a connect that gave a
    /// socket its tuple).
    pub name_changed: bool,
    /// `evt.latency`: exit minus enter for exits; for events that leave the
    /// thread's syscall state alone (scheduler switches), the latency of the
    /// thread's last syscall, as sysdig shows it; 0 otherwise.
    pub latency: u64,
    /// Whether this is a container-metadata event: its thread is then a pseudo
    /// thread (tid/pid -1, comm `container:<id>`, uid 0), as sysdig shows it.
    pub container_event: bool,
    /// `thread.cpu`, `thread.cpu.user`, `thread.cpu.system` of a `procinfo`
    /// event of a known thread: the CPU ticks (user + system, user, system)
    /// since the thread's previous `procinfo` event, each at most 100; 0 on
    /// the thread's first one. `None` on other events.
    pub cpu: Option<CpuShare>,
}

impl Current {
    /// A copy of the entry of the fd the event refers to ([`Current::fd_num`])
    /// as it was after this event (a closed fd still shows); `None` when the
    /// event refers to no fd or to one the thread does not have.
    #[inline]
    pub fn fd(&self) -> Option<&Fd> {
        self.fd_copy.as_ref().filter(|_| self.fd_set)
    }
}

/// A thread's CPU use between two `procinfo` events, in ticks (see
/// [`Current::cpu`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuShare {
    /// User + system.
    pub total: f64,
    /// User.
    pub user: f64,
    /// System.
    pub system: f64,
}

/// The state engine: thread table (with fd tables), users and groups.
#[derive(Debug, Default, Clone)]
pub struct State {
    threads: FxHashMap<i64, Thread>,
    users: FxHashMap<u32, User>,
    groups: FxHashMap<u32, Group>,
    cur: Current,
    /// Thread to remove before the next event (after procexit).
    tid_to_remove: Option<i64>,
    /// fd to remove before the next event (after close): (tid, fd).
    fd_to_remove: Option<(i64, i64)>,
    /// The cgroups the clone parser last set and the container they name:
    /// children share their parent's, so the next clone usually reuses both.
    last_cgroups: Option<(Arc<[u8]>, ContainerRef)>,
    /// Counts changes to fd tables and to threads' last fd (every change goes
    /// through [`State::fds_mut`], [`State::set_last_fd`] or the clone parser).
    fd_changes: u64,
    /// [`State::fd_changes`] when [`State::begin`] filled [`Current::fd`]:
    /// while it has not moved, the parser left that fd alone and
    /// [`State::finish`] need not look it up again.
    fd_filled_at: Option<u64>,
    /// Scratch buffer for building names.
    scratch: Vec<u8>,
    /// The pseudo-thread sysdig attaches to container events.
    container_thread: Option<Thread>,
    /// The capture's IPv4 interface addresses and netmasks.
    ifaces_v4: Vec<([u8; 4], [u8; 4])>,
    /// The capture's IPv6 interface addresses.
    ifaces_v6: Vec<[u8; 16]>,
    /// Containers by short id ([`SHORT_ID_LEN`] characters): from container
    /// events and [`State::add_container`].
    containers: FxHashMap<Box<[u8]>, Arc<ContainerInfo>>,
    /// Full mode ([`State::set_full`]): every event type of the table is
    /// parsed, from its exit event alone.
    full: bool,
    /// The machine's host name (`evt.hostname`), when known.
    hostname: Option<Arc<[u8]>>,
    /// Boot time, ns since the epoch (0 when unknown): turns the monotonic
    /// `pidns_init_start_ts` of clone exits into an epoch time.
    boot_ts_epoch: u64,
    /// The snapshot's machine information (CPUs, memory, ...), when it had one.
    machine: Option<Arc<MachineInfo>>,
}

impl State {
    /// An empty state, in the default sysdig-0.29.3-compatible mode.
    pub fn new() -> State {
        State::default()
    }

    /// Selects the mode (off by default; set it before the first event).
    ///
    /// - Off: sysdig 0.29.3 reading a capture file. Event types from
    ///   [`LEGACY_EVENT_MAX`] on are ignored (except the user/group meta
    ///   events), the event flags are those of its 2022 table, and several
    ///   exits take their arguments and fd from the enter event.
    /// - On ("full" mode), for live capture and for captures written by
    ///   Osprey, whose events are exit-only (one exit event per syscall, of
    ///   the newest type, carrying the arguments): every syscall event type of
    ///   the table is parsed with the current table's flags; an exit's fd comes
    ///   from the exit itself (`fd`, or `oldfd` for the dup family) and is
    ///   none when neither the exit nor a matching enter names one; and the
    ///   exits listed in [`FULL_EXIT_EVENTS`] create, copy, rename or close
    ///   fds, change the cwd or the ids. Enter events, where present, are
    ///   still used as in the default mode.
    pub fn set_full(&mut self, full: bool) {
        self.full = full;
    }

    /// The machine's host name, from the snapshot's machine information or
    /// [`State::set_hostname`]; `None` when neither gave one (`evt.hostname`).
    pub fn hostname(&self) -> Option<&[u8]> {
        self.hostname.as_deref()
    }

    /// The machine the events come from (CPUs, memory, max pid, host name,
    /// boot time), from the last snapshot loaded that described it.
    pub fn machine(&self) -> Option<&MachineInfo> {
        self.machine.as_deref()
    }

    /// Replaces the host name (as Falco's `FALCO_HOSTNAME` does).
    pub fn set_hostname(&mut self, name: &[u8]) {
        self.hostname = Some(Arc::from(name));
    }

    /// Whether full mode is on ([`State::set_full`]).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Whether this mode's state engine leaves `etype` alone: in the default
    /// mode the types sysdig 0.29.3 does not know; in full mode the meta and
    /// unused types past its table (the user/group events are parsed apart).
    fn beyond_table(&self, etype: u16, info: Option<&EventInfo>) -> bool {
        if etype < LEGACY_EVENT_MAX {
            return false;
        }
        !self.full
            || info
                .is_none_or(|i| i.category & category::METAEVENT != 0 || i.flags & ef::UNUSED != 0)
    }

    /// The event flags this mode uses: the current table's in full mode,
    /// those of sysdig 0.29.3's table otherwise.
    #[inline]
    fn event_flags(&self, etype: u16, info: &EventInfo) -> u32 {
        if self.full {
            info.flags
        } else {
            legacy_flags(etype, info.flags)
        }
    }

    /// Loads threads (with their fds), users and groups from a snapshot.
    pub fn load(&mut self, snap: &Snapshot) {
        if let Some(m) = &snap.machine {
            self.hostname = Some(Arc::from(&m.hostname[..]));
            self.boot_ts_epoch = m.boot_ts_epoch;
            self.machine = Some(Arc::new(m.clone()));
        }
        for p in &snap.procs {
            let t = Thread::from_info(p);
            self.threads.insert(t.tid, t);
        }
        for u in &snap.users {
            self.users.insert(u.uid, u.clone());
        }
        for g in &snap.groups {
            self.groups.insert(g.gid, g.clone());
        }
        for i in &snap.interfaces {
            match i {
                InterfaceInfo::V4 { addr, netmask, .. } => self.ifaces_v4.push((*addr, *netmask)),
                InterfaceInfo::V6 { addr, .. } => self.ifaces_v6.push(*addr),
            }
        }
        self.fix_proc_sockets();
        let mut counts: FxHashMap<i64, u32> = FxHashMap::default();
        for t in self.threads.values().filter(|t| !t.is_main() && t.pid > 0) {
            *counts.entry(t.pid).or_default() += 1;
        }
        for (pid, n) in counts {
            if let Some(m) = self.threads.get_mut(&pid) {
                m.nchilds = n;
            }
        }
    }

    /// Sockets listed up front carry the local end as source. Like sysdig, turn
    /// the ones whose local port is a listening port around (client first) and
    /// mark them as server ends; the others are clients.
    fn fix_proc_sockets(&mut self) {
        let mut server_ports = rustc_hash::FxHashSet::default();
        for t in self.threads.values() {
            for (_, f) in t.fds.iter() {
                if f.server_socket {
                    if let Endpoints::V4 { dport, .. } | Endpoints::V6 { dport, .. } = f.endpoints {
                        server_ports.insert(dport);
                    }
                }
            }
        }
        let mut scratch = Vec::new();
        for t in self.threads.values_mut() {
            for (_, f) in t.fds.iter_mut() {
                if f.server_socket {
                    continue;
                }
                let swapped = match f.endpoints {
                    Endpoints::V4 {
                        sip,
                        sport,
                        dip,
                        dport,
                    } if server_ports.contains(&sport) => Endpoints::V4 {
                        sip: dip,
                        sport: dport,
                        dip: sip,
                        dport: sport,
                    },
                    Endpoints::V6 {
                        sip,
                        sport,
                        dip,
                        dport,
                    } if server_ports.contains(&sport) => Endpoints::V6 {
                        sip: dip,
                        sport: dport,
                        dip: sip,
                        dport: sport,
                    },
                    Endpoints::V4 { .. } | Endpoints::V6 { .. } => {
                        f.role = Role::Client;
                        continue;
                    }
                    _ => continue,
                };
                f.endpoints = swapped;
                f.role = Role::Server;
                scratch.clear();
                crate::fd::socket_name(&mut scratch, &f.endpoints, b"");
                f.name = Arc::from(&scratch[..]);
            }
        }
    }

    /// The last processed event's context.
    #[inline]
    pub fn current(&self) -> &Current {
        &self.cur
    }

    /// Whether `addr` is one of the capture's IPv4 interface addresses (what
    /// sysdig calls an address of the local machine).
    pub fn is_local_v4(&self, addr: [u8; 4]) -> bool {
        self.ifaces_v4.iter().any(|&(a, _)| a == addr)
    }

    /// Whether `addr` is local for thread `t`: for a thread in a container the
    /// capture describes, the container's address (0.0.0.0 when its metadata
    /// has none, as sysdig compares it); otherwise [`State::is_local_v4`].
    pub fn is_local_v4_for(&self, t: Option<&Thread>, addr: [u8; 4]) -> bool {
        match t.and_then(|t| self.container(t)) {
            Some(c) => c.ip == addr,
            None => self.is_local_v4(addr),
        }
    }

    /// The short (12-character) id of the container `t` runs in, from its
    /// cgroups ([`Thread::container_id`]); `None` on the host.
    #[inline]
    pub fn container_id<'a>(&self, t: &'a Thread) -> Option<&'a [u8]> {
        t.container_id()
    }

    /// What is known of the container `t` runs in: `None` on the host and
    /// while the container's metadata has not arrived.
    #[inline]
    pub fn container(&self, t: &Thread) -> Option<&ContainerInfo> {
        self.containers.get(t.container_id()?).map(|c| &**c)
    }

    /// Looks a container up by id, full or short.
    pub fn container_by_id(&self, id: &[u8]) -> Option<&ContainerInfo> {
        self.containers.get(short_key(id)).map(|c| &**c)
    }

    /// All known containers, in no particular order.
    pub fn containers(&self) -> impl Iterator<Item = &ContainerInfo> {
        self.containers.values().map(|c| &**c)
    }

    /// Adds (or replaces) a container's metadata, as the live side learns it
    /// from the runtime; threads whose cgroups name the container see it at once.
    pub fn add_container(&mut self, info: ContainerInfo) {
        let key = Box::from(short_key(info.id.as_bytes()));
        self.containers.insert(key, Arc::new(info));
    }

    /// Forgets a container (full or short id), as the live side does when the
    /// runtime reports it gone; returns its metadata.
    pub fn remove_container(&mut self, id: &[u8]) -> Option<Arc<ContainerInfo>> {
        self.containers.remove(short_key(id))
    }

    /// Whether `addr` shares its first 64 bits with one of the capture's IPv6
    /// interface addresses (sysdig's test for an address of the local machine).
    pub fn is_local_v6(&self, addr: [u8; 16]) -> bool {
        self.ifaces_v6.iter().any(|a| a[..8] == addr[..8])
    }

    /// The local address sysdig assumes for traffic to `dst`: `dst` itself when
    /// it is an interface address, else the first interface on its network,
    /// else the first interface other than loopback (0.0.0.0 without interfaces).
    fn infer_v4(&self, dst: [u8; 4]) -> [u8; 4] {
        let net = |a: [u8; 4], m: [u8; 4]| u32::from_be_bytes(a) & u32::from_be_bytes(m);
        self.ifaces_v4
            .iter()
            .find(|&&(a, _)| a == dst)
            .or_else(|| {
                self.ifaces_v4
                    .iter()
                    .find(|&&(a, m)| net(a, m) == net(dst, m))
            })
            .or_else(|| self.ifaces_v4.iter().find(|&&(a, _)| a != [127, 0, 0, 1]))
            .map_or([0; 4], |&(a, _)| a)
    }

    /// [`State::infer_v4`] for IPv6, where a network is the first 64 bits.
    fn infer_v6(&self, dst: [u8; 16]) -> [u8; 16] {
        let lo = std::net::Ipv6Addr::LOCALHOST.octets();
        self.ifaces_v6
            .iter()
            .find(|&&a| a == dst)
            .or_else(|| self.ifaces_v6.iter().find(|a| a[..8] == dst[..8]))
            .or_else(|| self.ifaces_v6.iter().find(|&&a| a != lo))
            .copied()
            .unwrap_or([0; 16])
    }

    /// Completes a tuple with an unspecified address from the interface list,
    /// as sysdig does for data calls on unconnected sockets.
    fn fill_tuple(&self, t: &mut Tuple<'_>) {
        match t {
            Tuple::V4 {
                sip,
                sport,
                dip,
                dport,
            } => fill_unspecified(sip, *sport, dip, *dport, |a| self.infer_v4(a)),
            Tuple::V6 {
                sip,
                sport,
                dip,
                dport,
            } => fill_unspecified(sip, *sport, dip, *dport, |a| self.infer_v6(a)),
            Tuple::Unix { .. } => {}
        }
    }

    /// The thread of the last processed event.
    #[inline]
    pub fn current_thread(&self) -> Option<&Thread> {
        if self.cur.container_event {
            return self.container_thread.as_ref();
        }
        if self.cur.thread_known {
            self.threads.get(&self.cur.tid)
        } else {
            None
        }
    }

    /// The enter event matching the last processed exit event, if it was seen.
    pub fn current_enter(&self) -> Option<EventRef<'_>> {
        self.cur.enter_ts?;
        let t = self.current_thread()?;
        EventRef::parse(&t.last_data, t.last_cpu, 0).ok()
    }

    /// Looks up a thread.
    #[inline]
    pub fn thread(&self, tid: i64) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// All threads, in no particular order.
    pub fn threads(&self) -> impl Iterator<Item = &Thread> {
        self.threads.values()
    }

    /// Looks up a user.
    #[inline]
    pub fn user(&self, uid: u32) -> Option<&User> {
        self.users.get(&uid)
    }

    /// Looks up a group.
    #[inline]
    pub fn group(&self, gid: u32) -> Option<&Group> {
        self.groups.get(&gid)
    }

    /// The main thread of `t`'s process (`t` itself for a main thread).
    #[inline]
    pub fn main_thread<'a>(&'a self, t: &'a Thread) -> Option<&'a Thread> {
        if t.is_main() {
            Some(t)
        } else {
            self.threads.get(&t.pid)
        }
    }

    /// The parent process's main thread, as `proc.pname`/`proc.ppid` read it:
    /// the main thread's `ptid`, looked up.
    pub fn parent<'a>(&'a self, t: &'a Thread) -> Option<&'a Thread> {
        let m = self.main_thread(t)?;
        let p = self.threads.get(&m.ptid)?;
        self.main_thread(p)
    }

    /// `t`'s process and its ancestors: index 0 is `t`'s main thread
    /// (`proc.apid[0]`), 1 the parent, and so on, stopping at a missing parent or a loop.
    pub fn ancestors<'a>(&'a self, t: &'a Thread) -> impl Iterator<Item = &'a Thread> + 'a {
        let mut next = self.main_thread(t);
        let mut n = 0usize;
        std::iter::from_fn(move || {
            let cur = next?;
            n += 1;
            next = if n > self.threads.len() {
                None
            } else {
                self.parent(cur).filter(|p| p.tid != cur.tid)
            };
            Some(cur)
        })
    }

    /// The fd table `t` uses: its main thread's when it shares fds (`CLONE_FILES`).
    pub fn fds<'a>(&'a self, t: &'a Thread) -> &'a FdTable {
        fds_in(&self.threads, t)
    }

    /// The cwd `t` uses (with a trailing `/`): its main thread's when it shares it (`CLONE_FS`).
    pub fn cwd<'a>(&'a self, t: &'a Thread) -> &'a [u8] {
        if t.flags & cl::CLONE_FS != 0 {
            if let Some(m) = self.main_thread(t) {
                return &m.cwd;
            }
        }
        &t.cwd
    }

    /// Number of live threads of `pid` (`proc.nthreads`).
    pub fn nthreads(&self, pid: i64) -> usize {
        self.threads
            .values()
            .filter(|t| t.pid == pid && !t.is_closed())
            .count()
    }

    /// Updates state with one event and records its context ([`State::current`]):
    /// [`State::begin`] then [`State::finish`]. This is what sysdig does for every
    /// event when no filter is set or the filter is a display filter (`-d`).
    pub fn process(&mut self, ev: &EventRef<'_>) {
        self.begin(ev);
        self.finish(ev);
    }

    /// Updates state with one event when a capture filter `matches` it, as sysdig
    /// does with a filter given without `-d`, and tells whether the event passed.
    ///
    /// Events that change state ([`State::parses_before_filter`]) are parsed and
    /// then filtered. The others are begun ([`State::begin`]) and filtered on that
    /// context: a match is parsed ([`State::finish`]), a rejection is not, and it
    /// also makes the thread's next exit event unmatched ([`State::reject`]).
    /// `matches` reads the event's context through the state it is given.
    pub fn process_filtered(
        &mut self,
        ev: &EventRef<'_>,
        matches: impl FnOnce(&State) -> bool,
    ) -> bool {
        let first = if self.full {
            ev.info().is_some_and(|i| {
                i.flags & ef::MODIFIES_STATE != 0 || i.category & category::METAEVENT != 0
            })
        } else {
            Self::parses_before_filter(ev)
        };
        if first {
            self.process(ev);
            return matches(self);
        }
        self.begin(ev);
        // sysdig's check for tracer writes resolves a write exit's fd even
        // without its enter event.
        if ev.etype() == et::WRITE_X && self.cur.fd().is_some() {
            self.cur.event_fd = true;
        }
        if matches(self) {
            self.finish(ev);
            true
        } else {
            self.reject(ev);
            false
        }
    }

    /// Whether sysdig parses `ev` before running a capture filter on it: events
    /// that change state (`EF_MODIFIES_STATE` in its 2022 table: fd creation and
    /// removal, clone, execve, ...), and the meta events newer than that table.
    /// (In full mode, [`State::process_filtered`] reads the current table's
    /// `EF_MODIFIES_STATE` and meta categories instead.)
    pub fn parses_before_filter(ev: &EventRef<'_>) -> bool {
        ev.etype() >= LEGACY_EVENT_MAX
            || ev
                .info()
                .is_some_and(|i| legacy_flags(ev.etype(), i.flags) & ef::MODIFIES_STATE != 0)
    }

    /// First half of [`State::process`], sysdig's per-event reset: applies the
    /// removals left by the previous event, finds (or creates) the event's thread,
    /// records an enter event as the thread's last one (type, fd, timestamp),
    /// matches an exit with that enter event and measures its latency, and fills
    /// [`State::current`] with that context. No parser runs.
    pub fn begin(&mut self, ev: &EventRef<'_>) {
        self.apply_removals();
        let etype = ev.etype();
        let tid = ev.tid() as i64;
        let ts = ev.ts();
        self.cur.prev_ts = self.cur.ts;
        self.cur.ts = ts;
        self.cur.etype = etype;
        self.cur.tid = tid;
        self.cur.thread_known = false;
        self.cur.fd_num = None;
        self.cur.fd_set = false;
        self.fd_filled_at = None;
        self.cur.enter_ts = None;
        self.cur.event_fd = false;
        self.cur.name_changed = false;
        self.cur.latency = 0;
        self.cur.container_event = false;
        self.cur.cpu = None;

        if self.beyond_table(etype, ev.info())
            || matches!(etype, et::CONTAINER_JSON_E | et::CONTAINER_JSON_2_E)
        {
            return;
        }
        let Some(info) = ev.info() else { return };
        let flags = self.event_flags(etype, info);
        let full = self.full;
        if flags & ef::SKIPPARSERESET != 0 || etype == et::SCHEDSWITCH_6_E {
            // Internal events look their thread up but never create one.
            if let Some(t) = self.threads.get_mut(&tid) {
                self.cur.thread_known = true;
                self.cur.latency = t.latency;
                if etype == et::PROCINFO_E {
                    self.cur.cpu = Some(t.cpu_sample(ev));
                }
            }
            return;
        }
        let t = match self.threads.entry(tid) {
            Entry::Occupied(e) => e.into_mut(),
            // A clone exit of an unknown thread is left to the clone parser.
            Entry::Vacant(_) if et::CLONE_XS.contains(&etype) => return,
            Entry::Vacant(e) => e.insert(Thread::unknown(tid)),
        };
        self.cur.thread_known = true;
        let mut own_fd = false;
        if info.dir == Direction::Enter {
            t.last_type = etype;
            t.last_fd = -1;
            if flags & ef::USES_FD != 0 {
                if let Some(fd) = param::int(ev, 0) {
                    t.last_fd = fd;
                }
            }
            t.enter_ts = ts;
            t.latency = 0;
        } else {
            let valid = t.last_type.wrapping_add(1) == etype
                || (t.last_type == et::EXECVEAT_E && et::EXECVE_XS.contains(&etype));
            // An exit that only creates an fd (open, socket, ...) refers to no
            // existing fd: its fd is its result, set by the parser. Old captures
            // got the same from the enter event; exit-only events have none.
            if flags & ef::CREATES_FD != 0 && flags & ef::USES_FD == 0 {
                t.last_fd = -1;
            }
            // Exit-only events (live capture, current libs) carry the fd
            // themselves; old captures' exits do not, and use the enter's.
            if flags & ef::USES_FD != 0 {
                let at = if full {
                    full::exit_fd_index(etype, info)
                } else {
                    info.param_index("fd").filter(|&i| i > 0)
                };
                match at.and_then(|i| param::int(ev, i)) {
                    Some(fd) => {
                        t.last_fd = fd;
                        own_fd = true;
                    }
                    // In full mode an exit naming no fd, without its enter
                    // event, refers to none (not to the thread's last one).
                    None if full && !valid => t.last_fd = -1,
                    None => {}
                }
            }
            if t.enter_ts != 0 {
                t.latency = ts.saturating_sub(t.enter_ts);
            }
            self.cur.latency = t.latency;
            if valid {
                self.cur.enter_ts = stored_ts(&t.last_data);
            }
        }
        self.fill_fd(flags, true);
        self.cur.event_fd = self.cur.fd_set
            && flags & ef::USES_FD != 0
            && (info.dir == Direction::Enter || self.cur.enter_ts.is_some() || own_fd);
    }

    /// Second half of [`State::process`], after [`State::begin`] on the same
    /// event: runs the event's parser (fd creation and removal, clone, execve,
    /// cwd, ids, users, containers, ...), keeps an enter event for its exit, and
    /// updates [`State::current`] to the state after the event.
    pub fn finish(&mut self, ev: &EventRef<'_>) {
        let etype = ev.etype();
        let tid = ev.tid() as i64;
        // Set by the fd refresh after the parser, when it runs.
        self.cur.name_changed = false;
        self.finish_parse(ev, etype, tid);
    }

    fn finish_parse(&mut self, ev: &EventRef<'_>, etype: u16, tid: i64) {
        match etype {
            et::CONTAINER_E => return self.parse_old_container(ev),
            et::USER_ADDED_E | et::USER_DELETED_E => return self.parse_user(ev),
            et::GROUP_ADDED_E | et::GROUP_DELETED_E => return self.parse_group(ev),
            _ => {}
        }
        if self.beyond_table(etype, ev.info()) {
            return;
        }
        if matches!(etype, et::CONTAINER_JSON_E | et::CONTAINER_JSON_2_E) {
            return self.parse_container(ev);
        }
        let Some(info) = ev.info() else { return };
        let flags = self.event_flags(etype, info);
        if flags & ef::SKIPPARSERESET != 0 || etype == et::SCHEDSWITCH_6_E {
            return;
        }
        let Some(t) = self.threads.get_mut(&tid) else {
            if et::CLONE_XS.contains(&etype) {
                self.parse_clone_exit(ev);
                self.fill_fd(flags, false);
            }
            return;
        };
        if info.dir == Direction::Enter {
            t.last_data.clear();
            t.last_data.extend_from_slice(ev.raw());
            t.last_cpu = ev.cpu;
            if etype == et::PROCEXIT_E || etype == et::PROCEXIT_1_E {
                self.tid_to_remove = Some(tid);
            }
        } else {
            let valid = self.cur.enter_ts.is_some();
            // The enter buffer is lent to the parsers and put back afterwards, so
            // exits never copy it.
            let buf = if valid {
                std::mem::take(&mut t.last_data)
            } else {
                Vec::new()
            };
            let enter = if valid {
                EventRef::parse(&buf, 0, 0).ok()
            } else {
                None
            };
            if !(self.full && self.parse_full_exit(ev, etype, enter.as_ref())) {
                self.parse_exit(ev, etype, enter.as_ref());
            }
            if valid {
                if let Some(t) = self.threads.get_mut(&tid) {
                    if t.last_data.is_empty() {
                        t.last_data = buf;
                    }
                }
            }
        }
        self.fill_fd(flags, false);
    }

    /// Undoes what [`State::begin`] let an event promise when a filter rejects
    /// it unparsed: like sysdig, the thread's next exit event is then taken as
    /// unmatched (no enter parameters, no event fd), though the thread keeps the
    /// fd and timestamp of the rejected enter event.
    pub fn reject(&mut self, ev: &EventRef<'_>) {
        let etype = ev.etype();
        let Some(info) = ev.info() else { return };
        if self.beyond_table(etype, Some(info))
            || self.event_flags(etype, info) & ef::SKIPPARSERESET != 0
            || etype == et::SCHEDSWITCH_6_E
        {
            return;
        }
        if let Some(t) = self.threads.get_mut(&(ev.tid() as i64)) {
            t.last_type = NO_ENTER;
        }
    }

    /// Fills the fd part of [`Current`] from the thread's last fd: in
    /// [`State::begin`] (`begin`), or after the parser in [`State::finish`],
    /// where it also tells whether the event renamed the fd
    /// ([`Current::name_changed`]).
    ///
    /// The copy in [`Current::fd`] is only cloned from the table when it
    /// differs from the one already held (the previous event's in `begin`,
    /// the pre-parser one in `finish`): most events use an fd the event
    /// before used too, or leave it alone.
    fn fill_fd(&mut self, flags: u32, begin: bool) {
        if flags & (ef::CREATES_FD | ef::USES_FD | ef::DESTROYS_FD) == 0
            || (!begin && self.fd_filled_at == Some(self.fd_changes))
        {
            return;
        }
        let cur = &mut self.cur;
        let Some(t) = self.threads.get(&cur.tid) else {
            return;
        };
        cur.thread_known = true;
        cur.fd_num = Some(t.last_fd);
        let had = cur.fd_set;
        let now = fds_in(&self.threads, t).get(t.last_fd);
        let renamed = match (&mut cur.fd_copy, now) {
            // Most parsers leave the name alone: the same allocation.
            (Some(copy), Some(now)) => {
                let renamed = copy.assign(now);
                // An fd the event created, if it got a name (a new socket has none).
                if had {
                    renamed
                } else {
                    !now.name.is_empty()
                }
            }
            (copy @ None, Some(now)) => {
                *copy = Some(now.clone());
                !now.name.is_empty()
            }
            (_, None) => false,
        };
        cur.fd_set = now.is_some();
        if begin {
            self.fd_filled_at = Some(self.fd_changes);
        } else {
            self.cur.name_changed = renamed;
        }
    }

    fn apply_removals(&mut self) {
        if let Some((tid, fd)) = self.fd_to_remove.take() {
            if let Some(table) = self.fds_mut(tid) {
                table.remove(fd);
            }
        }
        if let Some(tid) = self.tid_to_remove.take() {
            self.remove_thread(tid);
        }
    }

    fn remove_thread(&mut self, tid: i64) {
        let Some(t) = self.threads.get(&tid) else {
            return;
        };
        let pid = t.pid;
        if t.is_main() {
            let others = self
                .threads
                .values()
                .any(|o| o.pid == pid && o.tid != tid && !o.is_closed());
            if others {
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.flags |= cl::CLOSED;
                }
                return;
            }
            self.threads.remove(&tid);
            return;
        }
        self.threads.remove(&tid);
        let main_closed_alone = self.threads.get(&pid).is_some_and(|m| {
            m.is_closed() && !self.threads.values().any(|o| o.pid == pid && o.tid != pid)
        });
        if let Some(m) = self.threads.get_mut(&pid) {
            m.nchilds = m.nchilds.saturating_sub(1);
        }
        if main_closed_alone {
            self.threads.remove(&pid);
        }
    }

    /// The fd table thread `tid` uses, mutably.
    fn fds_mut(&mut self, tid: i64) -> Option<&mut FdTable> {
        self.fd_changes += 1;
        let t = self.threads.get(&tid)?;
        let owner = if t.flags & cl::CLONE_FILES != 0
            && !t.is_main()
            && self.threads.contains_key(&t.pid)
        {
            t.pid
        } else {
            tid
        };
        self.threads.get_mut(&owner).map(|t| &mut t.fds)
    }

    /// The thread whose `cwd` `tid` uses.
    fn cwd_owner(&self, tid: i64) -> i64 {
        match self.threads.get(&tid) {
            Some(t)
                if t.flags & cl::CLONE_FS != 0
                    && !t.is_main()
                    && self.threads.contains_key(&t.pid) =>
            {
                t.pid
            }
            _ => tid,
        }
    }

    /// Sets the current thread's "last fd" (what `fd.num` shows) to a created fd.
    fn set_last_fd(&mut self, tid: i64, fd: i64) {
        self.fd_changes += 1;
        if let Some(t) = self.threads.get_mut(&tid) {
            t.last_fd = fd;
        }
    }

    fn add_fd(&mut self, tid: i64, num: i64, fd: Fd) {
        if let Some(table) = self.fds_mut(tid) {
            table.insert(num, fd);
        }
        self.set_last_fd(tid, num);
    }

    fn parse_exit(&mut self, ev: &EventRef<'_>, etype: u16, enter: Option<&EventRef<'_>>) {
        let tid = ev.tid() as i64;
        match etype {
            et::OPEN_X | et::CREAT_X | et::OPENAT_X | et::OPENAT_2_X | et::OPENAT2_X => {
                self.parse_open(ev, enter);
            }
            et::CLOSE_X if param::int(ev, 0).is_some_and(|r| r >= 0) => {
                if let Some(t) = self.threads.get(&tid) {
                    self.fd_to_remove = Some((tid, t.last_fd));
                }
            }
            et::SOCKET_X => self.parse_socket(ev, enter),
            et::BIND_X => self.parse_bind(ev),
            et::CONNECT_X => self.parse_connect(ev),
            et::ACCEPT_X | et::ACCEPT4_X | et::ACCEPT_5_X | et::ACCEPT4_5_X => {
                self.parse_accept(ev);
            }
            et::SENDTO_X | et::RECVFROM_X | et::SENDMSG_X | et::RECVMSG_X => {
                self.parse_rw_tuple(ev, enter);
            }
            et::SOCKETPAIR_X => self.parse_socketpair(ev),
            et::PIPE_X => self.parse_pipe(ev),
            et::EVENTFD_X => self.parse_simple(ev, FdType::Event),
            et::SIGNALFD_X => self.parse_simple(ev, FdType::SignalFd),
            et::TIMERFD_CREATE_X => self.parse_simple(ev, FdType::TimerFd),
            et::INOTIFY_INIT_X => self.parse_simple(ev, FdType::Inotify),
            et::BPF_X => self.parse_simple(ev, FdType::Bpf),
            et::USERFAULTFD_X => self.parse_simple(ev, FdType::UserFaultFd),
            et::DUP_X => self.parse_dup(ev),
            et::FCNTL_X => self.parse_fcntl(ev, enter),
            et::CHDIR_X => self.parse_chdir(ev),
            et::FCHDIR_X => self.parse_fchdir(ev),
            et::SETUID_X | et::SETGID_X | et::SETRESUID_X | et::SETRESGID_X => {
                self.parse_setid(ev, etype, enter);
            }
            et::SETSID_X => {
                if let (Some(r), Some(t)) = (param::int(ev, 0), self.threads.get_mut(&tid)) {
                    if r >= 0 {
                        t.sid = r;
                    }
                }
            }
            _ if et::CLONE_XS.contains(&etype) => self.parse_clone_exit(ev),
            _ if et::EXECVE_XS.contains(&etype) => {
                self.parse_execve(ev, enter);
            }
            _ => {}
        }
    }

    fn parse_open(&mut self, ev: &EventRef<'_>, enter: Option<&EventRef<'_>>) {
        let tid = ev.tid() as i64;
        let Some(fd) = param::int(ev, 0) else { return };
        // The exit carries the arguments in newer versions; older ones only on the enter.
        let pick = |name: &str| -> Option<Vec<u8>> {
            param::bytes_named(ev, name)
                .filter(|b| !b.is_empty())
                .or_else(|| enter.and_then(|e| param::bytes_named(e, name)))
                .map(<[u8]>::to_vec)
        };
        let name = pick("name").or_else(|| pick("path")).unwrap_or_default();
        let name = param::cstr(&name);
        let flags = param::uint_named(ev, "flags")
            .or_else(|| enter.and_then(|e| param::uint_named(e, "flags")))
            .unwrap_or(0) as u32;
        let dirfd = param::int_named(ev, "dirfd")
            .or_else(|| enter.and_then(|e| param::int_named(e, "dirfd")));
        if fd < 0 {
            return;
        }
        let Some(t) = self.threads.get(&tid) else {
            return;
        };
        let base: Arc<[u8]> = match dirfd {
            Some(d) if d != AT_FDCWD => match self.fds(t).get(d) {
                Some(f) => {
                    let mut b = f.name.to_vec();
                    b.push(b'/');
                    b.into()
                }
                None => Arc::from(&b""[..]),
            },
            _ => Arc::from(self.cwd(t)),
        };
        self.scratch.clear();
        write_joined_path(&mut self.scratch, &base, name);
        let entry = Fd {
            name_raw: Arc::from(name),
            ty: if flags & O_DIRECTORY != 0 {
                FdType::Directory
            } else {
                FdType::File
            },
            name: Arc::from(&self.scratch[..]),
            open_flags: flags,
            ino: param::uint_named(ev, "ino").unwrap_or(0),
            dev: param::uint_named(ev, "dev").unwrap_or(0) as u32,
            ..Fd::default()
        };
        self.add_fd(tid, fd, entry);
    }

    fn parse_socket(&mut self, ev: &EventRef<'_>, enter: Option<&EventRef<'_>>) {
        let tid = ev.tid() as i64;
        let Some(fd) = param::int(ev, 0) else { return };
        if fd < 0 {
            return;
        }
        let get = |name: &str| {
            param::uint_named(ev, name).or_else(|| enter.and_then(|e| param::uint_named(e, name)))
        };
        let domain = get("domain").unwrap_or(0);
        let ty = get("type").unwrap_or(0);
        let proto = get("proto").unwrap_or(0);
        let mut entry = Fd::default();
        match domain {
            1 => {
                entry.ty = FdType::Unix;
                entry.l4proto = l4::NA;
            }
            2 | 10 => {
                entry.ty = if domain == 2 {
                    FdType::Ipv4
                } else {
                    FdType::Ipv6
                };
                // SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3 (type may carry flag bits).
                entry.l4proto = match (ty & 0xf, proto) {
                    (_, 6) | (1, 0) => l4::TCP,
                    (_, 17) | (2, 0) => l4::UDP,
                    (_, 1) | (_, 58) => l4::ICMP,
                    (3, _) => l4::RAW,
                    _ => l4::UNKNOWN,
                };
            }
            16 => entry.ty = FdType::Netlink,
            _ => entry.ty = FdType::Unsupported,
        }
        entry.name = crate::thread::empty();
        self.add_fd(tid, fd, entry);
    }

    fn cur_fd_mut(&mut self, tid: i64) -> Option<&mut Fd> {
        let last = self.threads.get(&tid)?.last_fd;
        self.fds_mut(tid)?.get_mut(last)
    }

    fn parse_bind(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        if param::int(ev, 0).is_none_or(|r| r < 0) {
            return;
        }
        let Some(addr) = ev.param(1).and_then(param::sockaddr) else {
            return;
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        if let Some(f) = self.cur_fd_mut(tid) {
            // Only a bind to a port makes a server socket; the name is always
            // the bound address.
            let ep = match addr {
                SockAddr::V4(ip, port) => Endpoints::V4 {
                    sip: [0; 4],
                    sport: 0,
                    dip: ip,
                    dport: port,
                },
                SockAddr::V6(ip, port) => Endpoints::V6 {
                    sip: [0; 16],
                    sport: 0,
                    dip: ip,
                    dport: port,
                },
                SockAddr::Unix(path) => {
                    f.ty = FdType::Unix;
                    f.name = Arc::from(path);
                    self.scratch = scratch;
                    return;
                }
            };
            server_name(&mut scratch, &ep);
            f.name = Arc::from(&scratch[..]);
            if let Endpoints::V4 { dport, .. } | Endpoints::V6 { dport, .. } = ep {
                if dport > 0 {
                    f.ty = if matches!(ep, Endpoints::V4 { .. }) {
                        FdType::Ipv4
                    } else {
                        FdType::Ipv6
                    };
                    f.endpoints = ep;
                    f.role = Role::Server;
                    f.server_socket = true;
                }
            }
        }
        self.scratch = scratch;
    }

    fn parse_connect(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        // A failed connect leaves the fd alone, except a non-blocking one in progress.
        if param::int(ev, 0).is_some_and(|r| r < 0 && r != EINPROGRESS) {
            return;
        }
        let Some(t) = ev.param(1).and_then(param::tuple) else {
            return;
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        // A socket connected before (e.g. a UDP socket connected again) keeps its
        // first tuple, as in sysdig.
        if let Some(f) = self.cur_fd_mut(tid).filter(|f| !f.connected) {
            f.set_tuple(&t, &mut scratch);
            f.role = Role::Client;
            f.connected = true;
        }
        self.scratch = scratch;
    }

    fn parse_accept(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        let Some(fd) = param::int(ev, 0) else { return };
        if fd < 0 {
            return;
        }
        let mut entry = Fd::default();
        if let Some(t) = ev.param(1).and_then(param::tuple) {
            let mut scratch = std::mem::take(&mut self.scratch);
            entry.set_tuple(&t, &mut scratch);
            self.scratch = scratch;
        }
        entry.role = Role::Server;
        if entry.ty.is_ip() {
            entry.l4proto = l4::TCP;
        }
        self.add_fd(tid, fd, entry);
    }

    fn parse_rw_tuple(&mut self, ev: &EventRef<'_>, enter: Option<&EventRef<'_>>) {
        let tid = ev.tid() as i64;
        if param::int(ev, 0).is_none_or(|r| r < 0) {
            return;
        }
        let raw = param::bytes_named(ev, "tuple")
            .filter(|b| !b.is_empty())
            .or_else(|| enter.and_then(|e| param::bytes_named(e, "tuple")));
        let Some(mut tp) = raw.and_then(param::tuple) else {
            return;
        };
        let incoming = matches!(
            ev.etype(),
            et::RECVFROM_X | et::RECVMSG_X | full::RECV_X | full::RECVMMSG_X
        );
        // Only sockets without a TCP name take their name from the data calls.
        let (role, bound) = match self.cur_fd_mut(tid) {
            Some(f) if f.ty.is_ip() && (f.name.is_empty() || f.l4proto != l4::TCP) => {
                if same_pair(&f.endpoints, &tp) {
                    return;
                }
                (f.role, guess_port(&tp))
            }
            _ => return,
        };
        // A tuple with an unspecified end is completed from the interfaces.
        self.fill_tuple(&mut tp);
        // An fd of unknown role is a server if its process listens on the
        // destination port, else a client.
        let role = match role {
            Role::None => {
                let listens = self.threads.get(&tid).is_some_and(|t| {
                    self.fds(t).iter().any(|(_, o)| {
                        o.server_socket
                            && matches!(o.endpoints,
                                Endpoints::V4 { dport, .. } | Endpoints::V6 { dport, .. }
                                    if dport == bound)
                    })
                });
                if listens {
                    Role::Server
                } else {
                    Role::Client
                }
            }
            r => r,
        };
        // Names read local -> remote: a server's send and a client's receive
        // carry the tuple the other way round.
        if (role == Role::Server && !incoming) || (role == Role::Client && incoming) {
            tp = tp.swapped();
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        if let Some(f) = self.cur_fd_mut(tid) {
            f.set_tuple(&tp, &mut scratch);
            f.role = role;
            if f.l4proto == l4::UNKNOWN {
                f.l4proto = l4::UDP;
            }
        }
        self.scratch = scratch;
    }

    fn parse_socketpair(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        if param::int(ev, 0).is_none_or(|r| r < 0) {
            return;
        }
        let (Some(fd1), Some(fd2)) = (param::int(ev, 1), param::int(ev, 2)) else {
            return;
        };
        let src = param::uint(ev, 3).unwrap_or(0);
        let peer = param::uint(ev, 4).unwrap_or(0);
        let mut scratch = std::mem::take(&mut self.scratch);
        for (num, a, b) in [(fd1, src, peer), (fd2, peer, src)] {
            scratch.clear();
            let ep = Endpoints::Unix { source: a, dest: b };
            crate::fd::socket_name(&mut scratch, &ep, b"");
            let entry = Fd {
                ty: FdType::Unix,
                name: Arc::from(&scratch[..]),
                endpoints: ep,
                l4proto: l4::NA,
                ..Fd::default()
            };
            self.add_fd(tid, num, entry);
        }
        self.scratch = scratch;
    }

    fn parse_pipe(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        if param::int(ev, 0).is_none_or(|r| r < 0) {
            return;
        }
        let ino = param::uint_named(ev, "ino").unwrap_or(0);
        // pipe2 carries its flags (pipe has none).
        let open_flags = param::uint_named(ev, "flags").unwrap_or(0) as u32;
        for i in [1, 2] {
            if let Some(num) = param::int(ev, i) {
                let entry = Fd {
                    ty: FdType::Pipe,
                    name: crate::thread::empty(),
                    ino,
                    open_flags,
                    ..Fd::default()
                };
                self.add_fd(tid, num, entry);
            }
        }
    }

    /// fd-creating calls whose result is the only fd information (`res` = new fd).
    fn parse_simple(&mut self, ev: &EventRef<'_>, ty: FdType) {
        self.add_simple(ev, ty, 0);
    }

    /// Adds an unnamed fd of type `ty` with `open_flags` at the event's result.
    fn add_simple(&mut self, ev: &EventRef<'_>, ty: FdType, open_flags: u32) {
        let tid = ev.tid() as i64;
        let Some(fd) = param::int(ev, 0) else { return };
        if fd < 0 {
            return;
        }
        let entry = Fd {
            ty,
            name: crate::thread::empty(),
            open_flags,
            ..Fd::default()
        };
        self.add_fd(tid, fd, entry);
    }

    /// Copies the current fd (the enter event's) to `newfd`.
    fn dup_to(&mut self, tid: i64, newfd: i64) {
        let last = self.threads.get(&tid).map_or(-1, |t| t.last_fd);
        let Some(table) = self.fds_mut(tid) else {
            return;
        };
        if let Some(src) = table.get(last).cloned() {
            table.insert(newfd, src);
        }
    }

    fn parse_dup(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        if let Some(r) = param::int(ev, 0).filter(|&r| r >= 0) {
            self.dup_to(tid, r);
        }
    }

    fn parse_fcntl(&mut self, ev: &EventRef<'_>, enter: Option<&EventRef<'_>>) {
        let tid = ev.tid() as i64;
        let Some(r) = param::int(ev, 0).filter(|&r| r >= 0) else {
            return;
        };
        let cmd = param::uint_named(ev, "cmd")
            .or_else(|| enter.and_then(|e| param::uint_named(e, "cmd")));
        if matches!(cmd, Some(F_DUPFD | F_DUPFD_CLOEXEC)) {
            self.dup_to(tid, r);
        }
    }

    fn set_cwd(&mut self, tid: i64, dir: &[u8], relative_to_cwd: bool) {
        let owner = self.cwd_owner(tid);
        let Some(t) = self.threads.get(&owner) else {
            return;
        };
        self.scratch.clear();
        if relative_to_cwd {
            let base = t.cwd.clone();
            write_joined_path(&mut self.scratch, &base, dir);
        } else {
            self.scratch.extend_from_slice(dir);
        }
        if self.scratch.last() != Some(&b'/') {
            self.scratch.push(b'/');
        }
        let cwd: Arc<[u8]> = Arc::from(&self.scratch[..]);
        if let Some(t) = self.threads.get_mut(&owner) {
            t.cwd = cwd;
        }
    }

    fn parse_chdir(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        if param::int(ev, 0).is_none_or(|r| r < 0) {
            return;
        }
        let Some(path) = ev.param(1) else { return };
        let path = param::cstr(path).to_vec();
        self.set_cwd(tid, &path, true);
    }

    fn parse_fchdir(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        if param::int(ev, 0).is_none_or(|r| r < 0) {
            return;
        }
        let Some(t) = self.threads.get(&tid) else {
            return;
        };
        let Some(name) = self.fds(t).get(t.last_fd).map(|f| f.name.clone()) else {
            return;
        };
        self.set_cwd(tid, &name, false);
    }

    fn parse_setid(&mut self, ev: &EventRef<'_>, etype: u16, enter: Option<&EventRef<'_>>) {
        let tid = ev.tid() as i64;
        if param::int(ev, 0).is_none_or(|r| r != 0) {
            return;
        }
        let (name, is_uid) = match etype {
            et::SETUID_X => ("uid", true),
            et::SETGID_X => ("gid", false),
            et::SETRESUID_X | full::SETREUID_X => ("euid", true),
            _ => ("egid", false),
        };
        let v =
            param::uint_named(ev, name).or_else(|| enter.and_then(|e| param::uint_named(e, name)));
        let Some(v) = v
            .and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v != u32::MAX)
        else {
            return;
        };
        if let Some(t) = self.threads.get_mut(&tid) {
            if is_uid {
                t.uid = v;
            } else {
                t.gid = v;
            }
        }
    }

    /// Fills the process description fields carried by clone and execve exits.
    fn fill_from_exit(t: &mut Thread, ev: &EventRef<'_>) {
        if let Some(b) = param::bytes_named(ev, "exe") {
            t.exe = Arc::from(param::cstr(b));
        }
        if let Some(b) = param::bytes_named(ev, "args") {
            t.args = Arc::from(b);
        }
        match param::bytes_named(ev, "comm") {
            Some(b) if !b.is_empty() => t.comm = Arc::from(param::cstr(b)),
            _ => t.comm = t.exe.clone(),
        }
        if let Some(v) = param::int_named(ev, "fdlimit") {
            t.fdlimit = v;
        }
        if let Some(v) = param::uint_named(ev, "pgft_maj") {
            t.pfmajor = v;
        }
        if let Some(v) = param::uint_named(ev, "pgft_min") {
            t.pfminor = v;
        }
        if let Some(v) = param::uint_named(ev, "vm_size") {
            t.vmsize_kb = v as u32;
        }
        if let Some(v) = param::uint_named(ev, "vm_rss") {
            t.vmrss_kb = v as u32;
        }
        if let Some(v) = param::uint_named(ev, "vm_swap") {
            t.vmswap_kb = v as u32;
        }
        if let Some(b) = param::bytes_named(ev, "cgroups").filter(|b| !b.is_empty()) {
            t.set_cgroups(b);
        }
    }

    fn parse_clone_exit(&mut self, ev: &EventRef<'_>) {
        // It may replace a thread entry, fd table included.
        self.fd_changes += 1;
        let Some(res) = param::int(ev, 0) else { return };
        if res < 0 {
            return;
        }
        let caller_tid = ev.tid() as i64;
        let flags = param::uint_named(ev, "flags").unwrap_or(0) as u32;
        let (child_tid, inverted) = if res == 0 {
            (caller_tid, true)
        } else {
            (res, false)
        };
        // A child already in the table (its own exit came first, or it was
        // already running) is kept as it is.
        if self.threads.contains_key(&child_tid) {
            return;
        }
        // The parent-side exit carries the caller's namespace ids. A caller in
        // a pid namespace (vtid differs from tid) leaves the child to its own
        // clone exit, as sysdig does; otherwise the child's ids are its real ones.
        let caller_vtid = param::int_named(ev, "vtid");
        if !inverted && caller_vtid.is_some_and(|v| v != caller_tid) {
            self.cur.thread_known = self.threads.contains_key(&caller_tid);
            return;
        }
        let ev_pid = param::int_named(ev, "pid").unwrap_or(-1);
        let ev_ptid = param::int_named(ev, "ptid").unwrap_or(-1);
        // The thread the child takes fds/cwd/env from: the caller, or for the
        // child-side exit the parent named in the event.
        let parent_tid = if inverted {
            if flags & cl::CLONE_THREAD != 0 {
                ev_pid
            } else {
                ev_ptid
            }
        } else {
            caller_tid
        };
        let mut child = Thread::unknown(child_tid);
        child.flags = flags | if inverted { cl::CLONE_INVERTED } else { 0 };
        child.clone_ts = ev.ts();
        // Set first, so that the same cgroups in the event are not read again.
        let has_cgroups = param::bytes_named(ev, "cgroups").is_some_and(|b| !b.is_empty());
        if let Some((cgroups, container)) = self.last_cgroups.as_ref().filter(|_| has_cgroups) {
            child.cgroups = cgroups.clone();
            child.container = container.clone();
        }
        Self::fill_from_exit(&mut child, ev);
        if has_cgroups {
            self.last_cgroups = Some((child.cgroups.clone(), child.container.clone()));
        }
        if let Some(v) = param::uint_named(ev, "uid") {
            child.uid = v as u32;
        }
        if let Some(v) = param::uint_named(ev, "gid") {
            child.gid = v as u32;
        }
        // A new thread's parent (`proc.pname`) is the thread that made it:
        // its process's main thread when the creator is not known.
        if inverted {
            child.pid = ev_pid;
            child.ptid = if flags & cl::CLONE_THREAD != 0 {
                ev_pid
            } else {
                ev_ptid
            };
        } else {
            let caller = self.threads.entry(caller_tid).or_insert_with(|| {
                let mut c = Thread::unknown(caller_tid);
                c.pid = ev_pid;
                c.ptid = ev_ptid;
                c
            });
            if flags & cl::CLONE_THREAD != 0 {
                child.pid = caller.pid;
                child.ptid = caller_tid;
            } else {
                child.pid = child_tid;
                child.ptid = caller_tid;
            }
        }
        // Clone events that predate namespaces leave both unknown (-1).
        child.vtid = match caller_vtid {
            Some(_) if !inverted => child_tid,
            Some(v) => v,
            None => -1,
        };
        child.vpid = match caller_vtid {
            Some(_) if !inverted => child.pid,
            _ => param::int_named(ev, "vpid").unwrap_or(-1),
        };
        if let Some(p) = self.threads.get(&parent_tid) {
            child.sid = p.sid;
            child.vpgid = p.vpgid;
            child.loginuid = p.loginuid;
            child.tty = p.tty;
            child.exepath = p.exepath.clone();
            child.exe_upper_layer = p.exe_upper_layer;
            child.exe_from_memfd = p.exe_from_memfd;
            child.cap_inheritable = p.cap_inheritable;
            child.cap_permitted = p.cap_permitted;
            child.cap_effective = p.cap_effective;
            child.exe_ino = p.exe_ino;
            child.exe_ino_ctime = p.exe_ino_ctime;
            child.exe_ino_mtime = p.exe_ino_mtime;
            child.exe_ino_ctime_duration_clone_ts = p.exe_ino_ctime_duration_clone_ts;
            child.pidns_init_start_ts = p.pidns_init_start_ts;
            child.root = p.root.clone();
            child.env = p.env.clone();
            child.lastexec_ts = if flags & cl::CLONE_THREAD != 0 {
                p.lastexec_ts
            } else {
                0
            };
            if flags & cl::CLONE_THREAD == 0 {
                child.cwd = Arc::from(self.cwd(p));
                child.fds = self.fds(p).clone();
            }
        }
        // The child-side exit tells when the child's pid namespace started
        // (monotonic time, made an epoch time with the boot time).
        if let Some(v) = param::uint_named(ev, "pidns_init_start_ts") {
            if inverted && v != 0 && self.boot_ts_epoch != 0 {
                child.pidns_init_start_ts = self.boot_ts_epoch.saturating_add(v);
            }
        }
        if flags & cl::CLONE_THREAD != 0 {
            child.flags |= cl::CLONE_FILES | cl::CLONE_FS;
            let pid = child.pid;
            match self.threads.get_mut(&pid) {
                Some(m) => m.nchilds += 1,
                None if pid > 0 => {
                    // Like sysdig, a missing main thread is built from what
                    // the new thread tells about its process.
                    let mut m = Thread::unknown(pid);
                    m.nchilds = 1;
                    m.comm = child.comm.clone();
                    m.exe = child.exe.clone();
                    m.exepath = child.exepath.clone();
                    m.args = child.args.clone();
                    self.threads.insert(pid, m);
                }
                None => {}
            }
        }
        self.threads.insert(child_tid, child);
        self.cur.thread_known = self.threads.contains_key(&caller_tid);
    }

    fn parse_execve(&mut self, ev: &EventRef<'_>, enter: Option<&EventRef<'_>>) {
        let tid = ev.tid() as i64;
        if param::int(ev, 0).is_none_or(|r| r < 0) {
            return;
        }
        let ts = ev.ts();
        let Some(t) = self.threads.get_mut(&tid) else {
            return;
        };
        Self::fill_from_exit(t, ev);
        if let Some(v) = param::int_named(ev, "pid") {
            t.pid = v;
        }
        if let Some(v) = param::int_named(ev, "ptid") {
            t.ptid = v;
        }
        if let Some(b) = param::bytes_named(ev, "env").filter(|b| !b.is_empty()) {
            t.env = Arc::from(b);
        }
        if let Some(v) = param::uint_named(ev, "tty") {
            t.tty = v as u32;
        }
        if let Some(v) = param::int_named(ev, "vpgid") {
            t.vpgid = v;
        }
        if let Some(v) = param::uint_named(ev, "loginuid") {
            t.loginuid = v as u32;
        }
        if let Some(v) = param::uint_named(ev, "uid") {
            t.uid = v as u32;
        }
        if let Some(v) = param::uint_named(ev, "gid") {
            t.gid = v as u32;
        }
        let exepath = param::bytes_named(ev, "trusted_exepath")
            .filter(|b| !b.is_empty())
            .or_else(|| {
                enter.and_then(|e| {
                    param::bytes_named(e, "filename").or_else(|| param::bytes_named(e, "pathname"))
                })
            });
        if let Some(p) = exepath {
            t.exepath = Arc::from(param::cstr(p));
        }
        Self::fill_exe_details(t, ev);
        t.lastexec_ts = ts;
    }

    /// The details of the new executable that current execve exits carry:
    /// the `flags` (`PPM_EXE_*`), capabilities and inode times. Older event
    /// versions, and drivers that leave a parameter empty, change nothing.
    fn fill_exe_details(t: &mut Thread, ev: &EventRef<'_>) {
        /// `PPM_EXE_WRITABLE`, `PPM_EXE_UPPER_LAYER`, `PPM_EXE_FROM_MEMFD`.
        const WRITABLE: u64 = 1 << 0;
        const UPPER_LAYER: u64 = 1 << 1;
        const FROM_MEMFD: u64 = 1 << 2;
        if let Some(f) = param::uint_named(ev, "flags") {
            t.exe_writable = f & WRITABLE != 0;
            t.exe_upper_layer = f & UPPER_LAYER != 0;
            t.exe_from_memfd = f & FROM_MEMFD != 0;
        }
        Self::fill_caps(t, ev);
        let ino = (
            param::uint_named(ev, "exe_ino"),
            param::uint_named(ev, "exe_ino_ctime"),
            param::uint_named(ev, "exe_ino_mtime"),
        );
        if let (Some(ino), Some(ctime), Some(mtime)) = ino {
            t.exe_ino = ino;
            t.exe_ino_ctime = ctime;
            t.exe_ino_mtime = mtime;
            if t.clone_ts != 0 {
                t.exe_ino_ctime_duration_clone_ts = t.clone_ts.wrapping_sub(ctime);
            }
        }
    }

    /// The capability sets of an execve or capset exit, when it has all three.
    pub(super) fn fill_caps(t: &mut Thread, ev: &EventRef<'_>) {
        let caps = (
            param::uint_named(ev, "cap_inheritable"),
            param::uint_named(ev, "cap_permitted"),
            param::uint_named(ev, "cap_effective"),
        );
        if let (Some(i), Some(p), Some(e)) = caps {
            t.cap_inheritable = i;
            t.cap_permitted = p;
            t.cap_effective = e;
        }
    }

    /// Container metadata (a JSON document): the container joins the table, and
    /// sysdig shows the event on a pseudo thread named after the container id.
    fn parse_container(&mut self, ev: &EventRef<'_>) {
        let json = ev.param(0).unwrap_or_default();
        let (id, runtime): (Arc<[u8]>, Runtime) = match ContainerInfo::from_sysdig_json(json) {
            Ok(info) => {
                let short: Arc<[u8]> = Arc::from(info.short_id().as_bytes());
                let rt = info.runtime;
                if !info.id.is_empty() {
                    self.add_container(info);
                }
                (short, rt)
            }
            // A document sysdig could not read either: keep the pseudo thread.
            Err(_) => (Arc::from(json_id(json)), Runtime::default()),
        };
        let mut t = Thread::unknown(-1);
        t.pid = -1;
        t.ptid = 0;
        t.uid = 0;
        t.gid = 0;
        let mut comm = b"container:".to_vec();
        comm.extend_from_slice(&id);
        t.comm = Arc::from(&comm[..]);
        t.exe = Arc::from(&b""[..]);
        t.vtid = -2;
        t.vpid = -2;
        if !id.is_empty() {
            t.container = Some((runtime, id));
        }
        self.container_thread = Some(t);
        self.cur.container_event = true;
    }

    /// The container event of old captures: id, type, name and image as parameters.
    fn parse_old_container(&mut self, ev: &EventRef<'_>) {
        let s = |i| {
            String::from_utf8_lossy(ev.param(i).map(param::cstr).unwrap_or_default()).into_owned()
        };
        let id = s(0);
        if id.is_empty() {
            return;
        }
        let runtime = param::uint(ev, 1)
            .and_then(Runtime::from_number)
            .unwrap_or_default();
        self.add_container(ContainerInfo {
            id,
            runtime,
            name: s(2),
            image: s(3),
            ..ContainerInfo::default()
        });
    }

    fn parse_user(&mut self, ev: &EventRef<'_>) {
        let (Some(uid), Some(gid)) = (param::uint(ev, 0), param::uint(ev, 1)) else {
            return;
        };
        let uid = uid as u32;
        if ev.etype() == et::USER_DELETED_E {
            self.users.remove(&uid);
            return;
        }
        let s = |i| {
            ev.param(i)
                .map(|b| param::cstr(b).to_vec())
                .unwrap_or_default()
        };
        self.users.insert(
            uid,
            User {
                uid,
                gid: gid as u32,
                name: s(2),
                homedir: s(3),
                shell: s(4),
            },
        );
    }

    fn parse_group(&mut self, ev: &EventRef<'_>) {
        let Some(gid) = param::uint(ev, 0) else {
            return;
        };
        let gid = gid as u32;
        if ev.etype() == et::GROUP_DELETED_E {
            self.groups.remove(&gid);
            return;
        }
        let name = ev
            .param(1)
            .map(|b| param::cstr(b).to_vec())
            .unwrap_or_default();
        self.groups.insert(gid, Group { gid, name });
    }
}

/// Whether `ep` already holds the pair `t`, either way round.
fn same_pair(ep: &Endpoints, t: &Tuple<'_>) -> bool {
    match (*ep, *t) {
        (
            Endpoints::V4 {
                sip,
                sport,
                dip,
                dport,
            },
            Tuple::V4 {
                sip: a,
                sport: ap,
                dip: b,
                dport: bp,
            },
        ) => {
            (sip, sport, dip, dport) == (a, ap, b, bp) || (sip, sport, dip, dport) == (b, bp, a, ap)
        }
        (
            Endpoints::V6 {
                sip,
                sport,
                dip,
                dport,
            },
            Tuple::V6 {
                sip: a,
                sport: ap,
                dip: b,
                dport: bp,
            },
        ) => {
            (sip, sport, dip, dport) == (a, ap, b, bp) || (sip, sport, dip, dport) == (b, bp, a, ap)
        }
        _ => false,
    }
}

/// The port sysdig checks against the process's listening ports when it
/// guesses a socket's role: the destination port of an IPv4 tuple; for IPv6 it
/// reads the same bytes of its IPv4 view, which fall inside the source address.
fn guess_port(t: &Tuple<'_>) -> u16 {
    match *t {
        Tuple::V4 { dport, .. } => dport,
        Tuple::V6 { sip, .. } => u16::from_le_bytes([sip[10], sip[11]]),
        Tuple::Unix { .. } => 0,
    }
}

/// Replaces the unspecified (all-zero) address of a tuple with the local address
/// `infer` gives for the other end, unless that changes nothing (a tuple of one
/// address talking to itself keeps its zero).
fn fill_unspecified<const N: usize>(
    sip: &mut [u8; N],
    sport: u16,
    dip: &mut [u8; N],
    dport: u16,
    infer: impl Fn([u8; N]) -> [u8; N],
) {
    if *sip != [0; N] && *dip != [0; N] {
        return;
    }
    let (known, missing) = if *sip == [0; N] {
        (dip, sip)
    } else {
        (sip, dip)
    };
    let new = infer(*known);
    if new == *known && sport == dport {
        return;
    }
    *missing = new;
}

/// The value of the first `"id":"..."` member of a container JSON document.
fn json_id(json: &[u8]) -> &[u8] {
    const KEY: &[u8] = b"\"id\":\"";
    let Some(pos) = memchr::memmem::find(json, KEY) else {
        return b"";
    };
    let rest = &json[pos + KEY.len()..];
    let end = memchr::memchr(b'"', rest).unwrap_or(rest.len());
    &rest[..end]
}

/// The table key of a container id: its first [`SHORT_ID_LEN`] bytes.
fn short_key(id: &[u8]) -> &[u8] {
    id.get(..SHORT_ID_LEN).unwrap_or(id)
}

/// The fd table `t` uses: its main thread's when it shares it (`CLONE_FILES`).
#[inline]
fn fds_in<'a>(threads: &'a FxHashMap<i64, Thread>, t: &'a Thread) -> &'a FdTable {
    if t.flags & cl::CLONE_FILES != 0 && !t.is_main() {
        if let Some(m) = threads.get(&t.pid) {
            return &m.fds;
        }
    }
    &t.fds
}

/// The timestamp of a stored enter event (`Thread::last_data`, empty or a
/// record that was validated when stored), without validating it again.
#[inline]
fn stored_ts(data: &[u8]) -> Option<u64> {
    let b: [u8; 8] = data.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// The event flags as libscap of 2022-03 had them: the current table marks a
/// few more events as using an fd (mmap, the `*at` exits, ...), which sysdig
/// 0.29.3 did not, and one fewer (fstat64 exit).
fn legacy_flags(etype: u16, flags: u32) -> u32 {
    match etype {
        51 | 55 | 160..=163 | 181 | 303 | 305 | 313 | 317 => flags & !ef::USES_FD,
        77 => flags | ef::USES_FD,
        _ => flags,
    }
}

mod full;
pub use full::FULL_EXIT_EVENTS;

#[cfg(test)]
mod tests;
