//! Full mode ([`State::set_full`]): the exit events of current drivers, each
//! parsed on its own, as current libsinsp does with exit-only events.

use std::io::Write;
use std::sync::Arc;

use osprey_event::table::EventInfo;
use osprey_event::EventRef;

use super::{et, State};
use crate::fd::{l4, Fd, FdType};
use crate::param::{self, Tuple};

/// Event type numbers only full mode parses (from the scap event table).
pub(super) const RECV_X: u16 = 33;
pub(super) const SEND_X: u16 = 29;
pub(super) const SENDMMSG_X: u16 = 51;
pub(super) const RECVMMSG_X: u16 = 55;
const GETCWD_X: u16 = 93;
const OPEN_BY_HANDLE_AT_X: u16 = 337;
const IO_URING_SETUP_X: u16 = 339;
const DUP2_X: u16 = 363;
const DUP3_X: u16 = 365;
const DUP_1_X: u16 = 367;
const BPF_2_X: u16 = 369;
const EPOLL_CREATE_X: u16 = 375;
const EPOLL_CREATE1_X: u16 = 377;
const ACCEPT4_6_X: u16 = 389;
const PIPE2_X: u16 = 393;
const INOTIFY_INIT1_X: u16 = 395;
const EVENTFD2_X: u16 = 397;
const SIGNALFD4_X: u16 = 399;
const MEMFD_CREATE_X: u16 = 405;
const PIDFD_GETFD_X: u16 = 407;
const PIDFD_OPEN_X: u16 = 409;
pub(super) const SETREUID_X: u16 = 427;
const CAPSET_X: u16 = 353;
const SETREGID_X: u16 = 429;
/// The newest clone/fork/vfork/execve exits (parsed by the default parsers).
const CLONE_20_X: u16 = 223;
const FORK_20_X: u16 = 225;
const VFORK_20_X: u16 = 227;
const EXECVE_19_X: u16 = 293;

/// `PPM_O_CLOEXEC`.
const O_CLOEXEC: u32 = 1 << 12;

/// The exit event types full mode parses, one per system call: the newest
/// exit type the event table has for it (`(syscall, event type)`). Older
/// types of the same calls (from older captures) are parsed too.
pub const FULL_EXIT_EVENTS: &[(&str, u16)] = &[
    ("open", et::OPEN_X),
    ("creat", et::CREAT_X),
    ("openat", et::OPENAT_2_X),
    ("openat2", et::OPENAT2_X),
    ("open_by_handle_at", OPEN_BY_HANDLE_AT_X),
    ("close", et::CLOSE_X),
    ("socket", et::SOCKET_X),
    ("socketpair", et::SOCKETPAIR_X),
    ("bind", et::BIND_X),
    ("connect", et::CONNECT_X),
    ("accept", et::ACCEPT_5_X),
    ("accept4", ACCEPT4_6_X),
    ("send", SEND_X),
    ("sendto", et::SENDTO_X),
    ("sendmsg", et::SENDMSG_X),
    ("sendmmsg", SENDMMSG_X),
    ("recv", RECV_X),
    ("recvfrom", et::RECVFROM_X),
    ("recvmsg", et::RECVMSG_X),
    ("recvmmsg", RECVMMSG_X),
    ("dup", DUP_1_X),
    ("dup2", DUP2_X),
    ("dup3", DUP3_X),
    ("fcntl", et::FCNTL_X),
    ("pipe", et::PIPE_X),
    ("pipe2", PIPE2_X),
    ("eventfd", et::EVENTFD_X),
    ("eventfd2", EVENTFD2_X),
    ("signalfd", et::SIGNALFD_X),
    ("signalfd4", SIGNALFD4_X),
    ("timerfd_create", et::TIMERFD_CREATE_X),
    ("inotify_init", et::INOTIFY_INIT_X),
    ("inotify_init1", INOTIFY_INIT1_X),
    ("epoll_create", EPOLL_CREATE_X),
    ("epoll_create1", EPOLL_CREATE1_X),
    ("memfd_create", MEMFD_CREATE_X),
    ("pidfd_open", PIDFD_OPEN_X),
    ("pidfd_getfd", PIDFD_GETFD_X),
    ("userfaultfd", et::USERFAULTFD_X),
    ("bpf", BPF_2_X),
    ("io_uring_setup", IO_URING_SETUP_X),
    ("chdir", et::CHDIR_X),
    ("fchdir", et::FCHDIR_X),
    ("getcwd", GETCWD_X),
    ("setuid", et::SETUID_X),
    ("setgid", et::SETGID_X),
    ("setresuid", et::SETRESUID_X),
    ("setresgid", et::SETRESGID_X),
    ("setreuid", SETREUID_X),
    ("setregid", SETREGID_X),
    ("setsid", et::SETSID_X),
    ("capset", CAPSET_X),
    ("clone", CLONE_20_X),
    ("fork", FORK_20_X),
    ("vfork", VFORK_20_X),
    ("clone3", et::CLONE3_X),
    ("execve", EXECVE_19_X),
    ("execveat", et::EXECVEAT_X),
];

/// Where an exit event that uses an fd names it: `oldfd` for the dup family,
/// else its `fd` parameter when that is not the result.
pub(super) fn exit_fd_index(etype: u16, info: &EventInfo) -> Option<usize> {
    let name = match etype {
        DUP_1_X | DUP2_X | DUP3_X => "oldfd",
        _ => "fd",
    };
    info.param_index(name).filter(|&i| i > 0)
}

impl State {
    /// Runs the full-mode parser of an exit, if it has one of its own; the
    /// other exits go to the default parsers.
    pub(super) fn parse_full_exit(
        &mut self,
        ev: &EventRef<'_>,
        etype: u16,
        enter: Option<&EventRef<'_>>,
    ) -> bool {
        let flags_at = |i| param::uint(ev, i).unwrap_or(0) as u32;
        match etype {
            OPEN_BY_HANDLE_AT_X => self.parse_open(ev, enter),
            ACCEPT4_6_X => self.parse_accept(ev),
            DUP_1_X | DUP2_X | DUP3_X => self.parse_dup_full(ev, etype),
            PIPE2_X => self.parse_pipe(ev),
            EVENTFD2_X => self.add_simple(ev, FdType::Event, flags_at(1)),
            SIGNALFD4_X => self.add_simple(ev, FdType::SignalFd, flags_at(1)),
            INOTIFY_INIT1_X => self.add_simple(ev, FdType::Inotify, flags_at(1)),
            EPOLL_CREATE_X | EPOLL_CREATE1_X => self.add_simple(ev, FdType::EventPoll, 0),
            BPF_2_X => self.add_simple(ev, FdType::Bpf, 0),
            IO_URING_SETUP_X => self.add_simple(ev, FdType::IoUring, 0),
            MEMFD_CREATE_X => self.parse_memfd(ev),
            PIDFD_OPEN_X => self.parse_pidfd_open(ev),
            PIDFD_GETFD_X => self.parse_pidfd_getfd(ev),
            SETREUID_X | SETREGID_X => self.parse_setid(ev, etype, enter),
            // capset: the thread's new capability sets.
            CAPSET_X => {
                if param::int(ev, 0).is_some_and(|r| r >= 0) {
                    if let Some(t) = self.threads.get_mut(&(ev.tid() as i64)) {
                        Self::fill_caps(t, ev);
                    }
                }
            }
            GETCWD_X => {
                if param::int(ev, 0).is_some_and(|r| r >= 0) {
                    if let Some(path) = ev.param(1) {
                        let path = param::cstr(path).to_vec();
                        self.set_cwd(ev.tid() as i64, &path, true);
                    }
                }
            }
            et::SENDTO_X | et::SENDMSG_X | SEND_X => {
                self.infer_udp_socket(ev);
                self.parse_rw_tuple(ev, enter);
            }
            RECV_X | SENDMMSG_X | RECVMMSG_X => self.parse_rw_tuple(ev, enter),
            _ => return false,
        }
        true
    }

    /// dup/dup2/dup3: the new fd (the result) becomes a copy of the old one
    /// (replacing what it was); dup3 sets the copy's close-on-exec flag from
    /// its flags, or clears it.
    fn parse_dup_full(&mut self, ev: &EventRef<'_>, etype: u16) {
        let tid = ev.tid() as i64;
        let Some(res) = param::int(ev, 0).filter(|&r| r >= 0) else {
            return;
        };
        let old = self.threads.get(&tid).map_or(-1, |t| t.last_fd);
        let Some(table) = self.fds_mut(tid) else {
            return;
        };
        let Some(mut copy) = table.get(old).cloned() else {
            return;
        };
        if etype == DUP3_X {
            match param::uint(ev, 3).unwrap_or(0) as u32 {
                0 => copy.open_flags &= !O_CLOEXEC,
                f => copy.open_flags |= f,
            }
        }
        table.insert(res, copy);
    }

    /// memfd_create: fd type memfd, named by the name the caller gave.
    fn parse_memfd(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        let Some(fd) = param::int(ev, 0).filter(|&r| r >= 0) else {
            return;
        };
        let entry = Fd {
            ty: FdType::Memfd,
            name: Arc::from(param::cstr(ev.param(1).unwrap_or_default())),
            open_flags: param::uint(ev, 2).unwrap_or(0) as u32,
            ..Fd::default()
        };
        self.add_fd(tid, fd, entry);
    }

    /// pidfd_open: fd type pidfd, named `/proc/PID`, remembering the pid.
    fn parse_pidfd_open(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        let Some(fd) = param::int(ev, 0).filter(|&r| r >= 0) else {
            return;
        };
        let pid = param::int(ev, 1).unwrap_or(0);
        self.scratch.clear();
        // Writing into a Vec cannot fail.
        let _ = write!(self.scratch, "/proc/{pid}");
        let entry = Fd {
            ty: FdType::PidFd,
            name: Arc::from(&self.scratch[..]),
            open_flags: param::uint(ev, 2).unwrap_or(0) as u32,
            pid,
            ..Fd::default()
        };
        self.add_fd(tid, fd, entry);
    }

    /// pidfd_getfd: the result becomes a copy of fd `target_fd` of the process
    /// the pidfd `pid_fd` refers to, when both are known.
    fn parse_pidfd_getfd(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        let Some(fd) = param::int(ev, 0).filter(|&r| r >= 0) else {
            return;
        };
        let (Some(pidfd), Some(target)) = (param::int(ev, 1), param::int(ev, 2)) else {
            return;
        };
        let copy = self.threads.get(&tid).and_then(|t| {
            let pidfd = self.fds(t).get(pidfd).filter(|f| f.ty == FdType::PidFd)?;
            let owner = self.threads.get(&pidfd.pid)?;
            self.fds(owner).get(target).cloned()
        });
        if let Some(copy) = copy {
            self.add_fd(tid, fd, copy);
        }
    }

    /// A successful send on an fd the table does not have (its socket call
    /// was not seen) with an IP tuple: like libsinsp, assume a UDP socket of
    /// that family, so the tuple can name it.
    fn infer_udp_socket(&mut self, ev: &EventRef<'_>) {
        let tid = ev.tid() as i64;
        if param::int(ev, 0).is_none_or(|r| r < 0) {
            return;
        }
        let Some(t) = self.threads.get(&tid) else {
            return;
        };
        let fd = t.last_fd;
        if fd < 0 || self.fds(t).get(fd).is_some() {
            return;
        }
        let ty = match param::bytes_named(ev, "tuple").and_then(param::tuple) {
            Some(Tuple::V4 { .. }) => FdType::Ipv4,
            Some(Tuple::V6 { .. }) => FdType::Ipv6,
            _ => return,
        };
        let entry = Fd {
            ty,
            name: crate::thread::empty(),
            l4proto: l4::UDP,
            ..Fd::default()
        };
        if let Some(table) = self.fds_mut(tid) {
            table.insert(fd, entry);
        }
    }
}

#[cfg(test)]
mod tests;
