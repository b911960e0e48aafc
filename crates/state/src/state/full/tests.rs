//! Exit-only event sequences in full mode, one family of syscalls per test.

use osprey_event::snapshot::{FdInfo, FdKind, ProcInfo, Snapshot, UserInfo};
use osprey_event::{encode, EventRef};

use super::FULL_EXIT_EVENTS;
use crate::fd::{l4, Fd, FdType, Role};
use crate::state::{Current, State};
use osprey_event::table::{flags as ef, info, Direction, EVENTS};

struct T {
    st: State,
    buf: Vec<u8>,
    ts: u64,
}

fn proc_info(tid: u64, fds: Vec<FdInfo>) -> ProcInfo {
    ProcInfo {
        tid,
        pid: tid,
        ptid: 1,
        comm: b"bash".to_vec(),
        exe: b"bash".to_vec(),
        cwd: b"/home/u/".to_vec(),
        uid: 1000,
        gid: 1000,
        fds,
        ..ProcInfo::default()
    }
}

fn file(fd: i64, name: &[u8]) -> FdInfo {
    FdInfo {
        fd,
        kind: FdKind::File,
        name: name.to_vec(),
        ..FdInfo::default()
    }
}

impl T {
    /// A full-mode state with bash (100, fd 0 = /dev/pts/0) and a second
    /// process (200, fd 7 = /etc/secret).
    fn new() -> T {
        let mut st = State::new();
        st.set_full(true);
        assert!(st.is_full());
        st.load(&Snapshot {
            procs: vec![
                proc_info(100, vec![file(0, b"/dev/pts/0")]),
                proc_info(200, vec![file(7, b"/etc/secret")]),
            ],
            users: vec![UserInfo {
                uid: 1000,
                name: b"u".to_vec(),
                ..UserInfo::default()
            }],
            ..Snapshot::default()
        });
        T {
            st,
            buf: Vec::new(),
            ts: 1000,
        }
    }

    fn ev(&mut self, tid: u64, etype: u16, params: &[&[u8]]) -> &Current {
        self.ts += 10;
        encode(&mut self.buf, self.ts, tid, etype, params);
        let ev = EventRef::parse(&self.buf, 0, 0).expect("test event");
        self.st.process(&ev);
        self.st.current()
    }

    fn fd(&self, tid: i64, fd: i64) -> Option<&Fd> {
        let t = self.st.thread(tid)?;
        self.st.fds(t).get(fd)
    }

    fn name(&self, tid: i64, fd: i64) -> String {
        let f = self
            .fd(tid, fd)
            .unwrap_or_else(|| panic!("fd {fd} of {tid}"));
        String::from_utf8_lossy(&f.name).into_owned()
    }

    fn ty(&self, tid: i64, fd: i64) -> FdType {
        self.fd(tid, fd)
            .unwrap_or_else(|| panic!("fd {fd} of {tid}"))
            .ty
    }
}

fn i64b(v: i64) -> [u8; 8] {
    v.to_le_bytes()
}

fn u32b(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

fn v4_tuple(sip: [u8; 4], sport: u16, dip: [u8; 4], dport: u16) -> Vec<u8> {
    let mut t = vec![2u8];
    t.extend_from_slice(&sip);
    t.extend_from_slice(&sport.to_le_bytes());
    t.extend_from_slice(&dip);
    t.extend_from_slice(&dport.to_le_bytes());
    t
}

fn v4_addr(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut a = vec![2u8];
    a.extend_from_slice(&ip);
    a.extend_from_slice(&port.to_le_bytes());
    a
}

/// socket(domain, type, proto) = fd, exit only.
fn socket(t: &mut T, fd: i64, domain: u32, ty: u32, proto: u32) {
    t.ev(
        100,
        19,
        &[&i64b(fd), &u32b(domain), &u32b(ty), &u32b(proto), &u32b(0)],
    );
}

#[test]
fn default_mode_ignores_new_types_full_mode_parses_them() {
    let dup2 = |full: bool| {
        let mut t = T::new();
        t.st.set_full(full);
        t.ev(100, 363, &[&i64b(5), &i64b(0), &i64b(5)]);
        t.fd(100, 5).map(|f| f.name.to_vec())
    };
    assert_eq!(dup2(false), None);
    assert_eq!(dup2(true), Some(b"/dev/pts/0".to_vec()));
    // User meta events keep working in full mode.
    let mut t = T::new();
    t.ev(
        u64::MAX,
        354,
        &[&u32b(5), &u32b(5), b"x\0", b"/h\0", b"/sh\0", b"\0"],
    );
    assert_eq!(t.st.user(5).map(|u| &u.name[..]), Some(&b"x"[..]));
    assert!(t.st.thread(-1).is_none(), "meta events make no thread");
}

#[test]
fn open_family_and_close_from_exits() {
    let mut t = T::new();
    // open: fd, name, flags, mode, dev, ino
    let c = t.ev(
        100,
        3,
        &[
            &i64b(3),
            b"../x/f.txt\0",
            &u32b(1),
            &u32b(0),
            &u32b(0x801),
            &42u64.to_le_bytes(),
        ],
    );
    assert_eq!(c.fd_num, Some(3));
    assert_eq!(t.name(100, 3), "/home/x/f.txt");
    assert_eq!(t.fd(100, 3).map(|f| (f.ino, f.dev)), Some((42, 0x801)));
    // openat2 relative to AT_FDCWD, O_DIRECTORY
    t.ev(
        100,
        327,
        &[
            &i64b(4),
            &i64b(-100),
            b"sub\0",
            &u32b(1 << 10),
            &u32b(0),
            &u32b(0),
            &u32b(0),
            &0u64.to_le_bytes(),
        ],
    );
    assert_eq!(t.name(100, 4), "/home/u/sub");
    assert_eq!(t.ty(100, 4), FdType::Directory);
    // openat relative to that directory fd
    t.ev(
        100,
        307,
        &[
            &i64b(5),
            &i64b(4),
            b"a\0",
            &u32b(1),
            &u32b(0),
            &u32b(0),
            &0u64.to_le_bytes(),
        ],
    );
    assert_eq!(t.name(100, 5), "/home/u/sub/a");
    // creat: fd, name, mode, dev, ino, creat_flags
    t.ev(
        100,
        59,
        &[
            &i64b(6),
            b"/tmp/c\0",
            &u32b(0o644),
            &u32b(0),
            &0u64.to_le_bytes(),
            &0u16.to_le_bytes(),
        ],
    );
    assert_eq!(t.name(100, 6), "/tmp/c");
    // open_by_handle_at: fd, mountfd, flags, path, dev, ino
    t.ev(
        100,
        337,
        &[
            &i64b(8),
            &i64b(4),
            &u32b(1),
            b"/mnt/h\0",
            &u32b(0),
            &0u64.to_le_bytes(),
        ],
    );
    assert_eq!(t.name(100, 8), "/mnt/h");
    // close(3) exit only: res, fd. Shown by the close, gone after the next event.
    let c = t.ev(100, 5, &[&i64b(0), &i64b(3)]);
    assert_eq!(c.fd_num, Some(3));
    assert_eq!(c.fd().map(|f| &f.name[..]), Some(&b"/home/x/f.txt"[..]));
    t.ev(
        100,
        3,
        &[
            &i64b(-2),
            b"/nope\0",
            &u32b(1),
            &u32b(0),
            &u32b(0),
            &0u64.to_le_bytes(),
        ],
    );
    assert!(t.fd(100, 3).is_none());
    // A failed close keeps the fd.
    t.ev(100, 5, &[&i64b(-9), &i64b(4)]);
    t.ev(100, 5, &[&i64b(-9), &i64b(4)]);
    assert!(t.fd(100, 4).is_some());
}

#[test]
fn tcp_sockets_bind_listen_connect_accept() {
    let mut t = T::new();
    socket(&mut t, 3, 2, 1, 0);
    assert_eq!(t.ty(100, 3), FdType::Ipv4);
    assert_eq!(t.fd(100, 3).map(|f| f.l4proto), Some(l4::TCP));
    assert_eq!(t.name(100, 3), "");
    // bind: res, addr, fd
    let c = t.ev(100, 21, &[&i64b(0), &v4_addr([0, 0, 0, 0], 8080), &i64b(3)]);
    assert_eq!(c.fd_num, Some(3));
    assert_eq!(t.name(100, 3), "0.0.0.0:8080");
    assert!(t
        .fd(100, 3)
        .is_some_and(|f| f.server_socket && f.role == Role::Server));
    // listen: res, fd, backlog (changes nothing)
    let c = t.ev(100, 25, &[&i64b(0), &i64b(3), &u32b(128)]);
    assert_eq!(c.fd_num, Some(3));
    assert_eq!(t.name(100, 3), "0.0.0.0:8080");
    // accept4: fd, tuple, queuepct, queuelen, queuemax, flags
    let tuple = v4_tuple([10, 0, 0, 9], 40000, [10, 0, 0, 1], 8080);
    let c = t.ev(
        100,
        389,
        &[&i64b(4), &tuple, &[0u8], &u32b(0), &u32b(0), &u32b(0)],
    );
    assert_eq!(c.fd_num, Some(4));
    assert_eq!(t.name(100, 4), "10.0.0.9:40000->10.0.0.1:8080");
    assert_eq!(t.fd(100, 4).map(|f| f.role), Some(Role::Server));
    // accept (ACCEPT_5_X): fd, tuple, queuepct, queuelen, queuemax
    t.ev(100, 247, &[&i64b(5), &tuple, &[0u8], &u32b(0), &u32b(0)]);
    assert_eq!(t.ty(100, 5), FdType::Ipv4);
    // connect: res, tuple, fd, addr
    socket(&mut t, 6, 2, 1, 6);
    let out = v4_tuple([10, 0, 0, 1], 5555, [10, 0, 0, 2], 80);
    let c = t.ev(
        100,
        23,
        &[&i64b(0), &out, &i64b(6), &v4_addr([10, 0, 0, 2], 80)],
    );
    assert_eq!(c.fd_num, Some(6));
    assert!(c.name_changed);
    assert_eq!(t.name(100, 6), "10.0.0.1:5555->10.0.0.2:80");
    assert_eq!(t.fd(100, 6).map(|f| f.role), Some(Role::Client));
    // A non-blocking connect in progress names the socket too.
    socket(&mut t, 7, 10, 1, 0);
    assert_eq!(t.ty(100, 7), FdType::Ipv6);
    let mut v6 = vec![10u8];
    v6.extend_from_slice(&[0; 15]);
    v6.push(1);
    v6.extend_from_slice(&1234u16.to_le_bytes());
    v6.extend_from_slice(&[0; 15]);
    v6.push(1);
    v6.extend_from_slice(&443u16.to_le_bytes());
    t.ev(100, 23, &[&i64b(-115), &v6, &i64b(7), b""]);
    assert_eq!(t.name(100, 7), "::1:1234->::1:443");
}

#[test]
fn unix_sockets_and_socketpair() {
    let mut t = T::new();
    socket(&mut t, 3, 1, 1, 0);
    assert_eq!(t.ty(100, 3), FdType::Unix);
    // connect to a unix path: tuple = family, source, dest, path
    let mut tu = vec![1u8];
    tu.extend_from_slice(&0x1111u64.to_le_bytes());
    tu.extend_from_slice(&0x2222u64.to_le_bytes());
    tu.extend_from_slice(b"/run/x.sock\0");
    t.ev(100, 23, &[&i64b(0), &tu, &i64b(3), b"\x01/run/x.sock\0"]);
    assert_eq!(t.name(100, 3), "/run/x.sock");
    // socketpair: res, fd1, fd2, source, peer, domain, type, proto
    t.ev(
        100,
        43,
        &[
            &i64b(0),
            &i64b(4),
            &i64b(5),
            &0xaau64.to_le_bytes(),
            &0xbbu64.to_le_bytes(),
            &u32b(1),
            &u32b(1),
            &u32b(0),
        ],
    );
    assert_eq!((t.ty(100, 4), t.ty(100, 5)), (FdType::Unix, FdType::Unix));
    assert_eq!(t.name(100, 4), "aa->bb");
    assert_eq!(t.name(100, 5), "bb->aa");
}

#[test]
fn udp_tuples_from_send_and_receive_exits() {
    let mut t = T::new();
    // An unconnected UDP socket gets its tuple from sendto (res, data, fd, size, tuple).
    socket(&mut t, 3, 2, 2, 0);
    let tuple = v4_tuple([10, 0, 0, 1], 5353, [8, 8, 8, 8], 53);
    let c = t.ev(100, 31, &[&i64b(4), b"abcd", &i64b(3), &u32b(4), &tuple]);
    assert_eq!(c.fd_num, Some(3));
    assert!(c.event_fd);
    assert_eq!(t.name(100, 3), "10.0.0.1:5353->8.8.8.8:53");
    assert_eq!(
        t.fd(100, 3).map(|f| (f.role, f.l4proto)),
        Some((Role::Client, l4::UDP))
    );
    // recvfrom: res, data, tuple, fd, size — same pair, name kept.
    let back = v4_tuple([8, 8, 8, 8], 53, [10, 0, 0, 1], 5353);
    t.ev(100, 35, &[&i64b(4), b"wxyz", &back, &i64b(3), &u32b(64)]);
    assert_eq!(t.name(100, 3), "10.0.0.1:5353->8.8.8.8:53");
    // sendmsg on an fd whose socket call was not seen: a UDP socket is assumed.
    // sendmsg: res, data, fd, size, tuple
    let c = t.ev(100, 49, &[&i64b(1), b"a", &i64b(9), &u32b(1), &tuple]);
    assert_eq!(c.fd_num, Some(9));
    assert_eq!(t.ty(100, 9), FdType::Ipv4);
    assert_eq!(t.name(100, 9), "10.0.0.1:5353->8.8.8.8:53");
    // recvmsg: res, size, data, tuple, msgcontrol, fd
    socket(&mut t, 10, 2, 2, 0);
    t.ev(
        100,
        53,
        &[&i64b(4), &u32b(4), b"wxyz", &back, b"", &i64b(10)],
    );
    assert_eq!(t.name(100, 10), "10.0.0.1:5353->8.8.8.8:53");
    // A failed send names nothing.
    socket(&mut t, 11, 2, 2, 0);
    t.ev(100, 31, &[&i64b(-1), b"", &i64b(11), &u32b(4), &tuple]);
    assert_eq!(t.name(100, 11), "");
}

#[test]
fn dup_family_and_fcntl_copy_the_old_fd() {
    let mut t = T::new();
    t.ev(
        100,
        3,
        &[
            &i64b(3),
            b"/etc/hosts\0",
            &u32b(1),
            &u32b(0),
            &u32b(0),
            &0u64.to_le_bytes(),
        ],
    );
    // dup: res, oldfd
    let c = t.ev(100, 367, &[&i64b(4), &i64b(3)]);
    assert_eq!(c.fd_num, Some(3));
    assert_eq!(t.name(100, 4), "/etc/hosts");
    // dup2: res, oldfd, newfd — replaces fd 0
    t.ev(100, 363, &[&i64b(0), &i64b(3), &i64b(0)]);
    assert_eq!(t.name(100, 0), "/etc/hosts");
    // dup3 with O_CLOEXEC, then without it
    t.ev(100, 365, &[&i64b(5), &i64b(3), &i64b(5), &u32b(1 << 12)]);
    assert_eq!(
        t.fd(100, 5).map(|f| f.open_flags & (1 << 12)),
        Some(1 << 12)
    );
    t.ev(100, 365, &[&i64b(6), &i64b(5), &i64b(6), &u32b(0)]);
    assert_eq!(t.fd(100, 6).map(|f| f.open_flags & (1 << 12)), Some(0));
    assert_eq!(t.name(100, 6), "/etc/hosts");
    // A failed dup and a dup of an unknown fd add nothing.
    t.ev(100, 367, &[&i64b(-9), &i64b(3)]);
    t.ev(100, 367, &[&i64b(12), &i64b(99)]);
    assert!(t.fd(100, 12).is_none());
    // fcntl F_DUPFD: res, fd, cmd, arg
    let c = t.ev(
        100,
        151,
        &[&i64b(7), &i64b(3), &[1u8], &10u64.to_le_bytes()],
    );
    assert_eq!(c.fd_num, Some(3));
    assert_eq!(t.name(100, 7), "/etc/hosts");
    // fcntl F_GETFL copies nothing.
    t.ev(100, 151, &[&i64b(8), &i64b(3), &[3u8], &0u64.to_le_bytes()]);
    assert!(t.fd(100, 8).is_none());
    // The old dup exit (res only) without its enter event copies nothing.
    let c = t.ev(100, 125, &[&i64b(9)]);
    assert_eq!(c.fd_num, Some(-1));
    assert!(t.fd(100, 9).is_none());
}

#[test]
fn pipes() {
    let mut t = T::new();
    // pipe: res, fd1, fd2, ino
    let c = t.ev(
        100,
        61,
        &[&i64b(0), &i64b(3), &i64b(4), &77u64.to_le_bytes()],
    );
    assert_eq!(c.fd_num, Some(4));
    for fd in [3, 4] {
        let f = t.fd(100, fd).expect("pipe end");
        assert_eq!((f.ty, f.ino, &f.name[..]), (FdType::Pipe, 77, &b""[..]));
        assert_eq!((f.ty.as_str(), f.ty.typechar()), (Some("pipe"), b'p'));
    }
    // pipe2: res, fd1, fd2, ino, flags
    t.ev(
        100,
        393,
        &[
            &i64b(0),
            &i64b(5),
            &i64b(6),
            &78u64.to_le_bytes(),
            &u32b(1 << 12),
        ],
    );
    assert_eq!(
        t.fd(100, 6).map(|f| (f.ty, f.ino, f.open_flags)),
        Some((FdType::Pipe, 78, 1 << 12))
    );
    t.ev(
        100,
        393,
        &[
            &i64b(-24),
            &i64b(7),
            &i64b(8),
            &0u64.to_le_bytes(),
            &u32b(0),
        ],
    );
    assert!(t.fd(100, 7).is_none());
}

/// Event type, parameters, and the fd's type, `fd.type` and `fd.typechar`.
type Case = (u16, Vec<Vec<u8>>, FdType, &'static str, u8);

#[test]
fn single_fd_calls_get_their_types() {
    let mut t = T::new();
    let zero8 = 0u64.to_le_bytes();
    let cases: Vec<Case> = vec![
        (
            63,
            vec![i64b(3).into(), zero8.into(), u32b(0).into()],
            FdType::Event,
            "event",
            b'e',
        ),
        (
            397,
            vec![i64b(4).into(), 1u16.to_le_bytes().into(), zero8.into()],
            FdType::Event,
            "event",
            b'e',
        ),
        (
            127,
            vec![i64b(5).into(), i64b(-1).into(), u32b(0).into(), vec![0]],
            FdType::SignalFd,
            "signalfd",
            b's',
        ),
        (
            399,
            vec![
                i64b(6).into(),
                0u16.to_le_bytes().into(),
                i64b(-1).into(),
                u32b(0).into(),
            ],
            FdType::SignalFd,
            "signalfd",
            b's',
        ),
        (
            137,
            vec![i64b(7).into(), vec![1], vec![0]],
            FdType::TimerFd,
            "timerfd",
            b't',
        ),
        (
            139,
            vec![i64b(8).into(), vec![0]],
            FdType::Inotify,
            "inotify",
            b'i',
        ),
        (
            395,
            vec![i64b(9).into(), 0u16.to_le_bytes().into()],
            FdType::Inotify,
            "inotify",
            b'i',
        ),
        (
            375,
            vec![i64b(10).into(), u32b(1).into()],
            FdType::EventPoll,
            "eventpoll",
            b'l',
        ),
        (
            377,
            vec![i64b(11).into(), u32b(0).into()],
            FdType::EventPoll,
            "eventpoll",
            b'l',
        ),
        (
            321,
            vec![i64b(12).into(), u32b(0).into()],
            FdType::UserFaultFd,
            "userfaultfd",
            b'u',
        ),
        (
            369,
            vec![i64b(13).into(), u32b(0).into()],
            FdType::Bpf,
            "bpf",
            b'b',
        ),
        (
            339,
            vec![
                i64b(14).into(),
                u32b(8).into(),
                u32b(8).into(),
                u32b(16).into(),
                u32b(0).into(),
                u32b(0).into(),
                u32b(0).into(),
                u32b(0).into(),
            ],
            FdType::IoUring,
            "io_uring",
            b'r',
        ),
    ];
    for (etype, params, ty, s, ch) in cases {
        let refs: Vec<&[u8]> = params.iter().map(Vec::as_slice).collect();
        let fd = i64::from_le_bytes(params[0].as_slice().try_into().expect("fd"));
        let c = t.ev(100, etype, &refs);
        assert_eq!(c.fd_num, Some(fd), "type {etype}");
        let f = t.fd(100, fd).unwrap_or_else(|| panic!("type {etype}"));
        assert_eq!(
            (f.ty, f.ty.as_str(), f.ty.typechar()),
            (ty, Some(s), ch),
            "type {etype}"
        );
        assert_eq!(&*f.name, b"", "type {etype}");
    }
    // eventfd2 keeps its flags; a failed call adds nothing.
    assert_eq!(t.fd(100, 4).map(|f| f.open_flags), Some(1));
    t.ev(100, 397, &[&i64b(-24), &0u16.to_le_bytes(), &zero8]);
    assert!(t.fd(100, -24).is_none());
}

#[test]
fn memfd_and_pidfds() {
    let mut t = T::new();
    // memfd_create: fd, name, flags
    t.ev(100, 405, &[&i64b(3), b"libstest\0", &u32b(1)]);
    let f = t.fd(100, 3).expect("memfd");
    assert_eq!(
        (f.ty, &f.name[..], f.open_flags),
        (FdType::Memfd, &b"libstest"[..], 1)
    );
    assert_eq!((f.ty.as_str(), f.ty.typechar()), (Some("memfd"), b'm'));
    // pidfd_open: fd, pid, flags
    t.ev(100, 409, &[&i64b(4), &i64b(200), &u32b(0)]);
    assert_eq!(t.ty(100, 4), FdType::PidFd);
    assert_eq!(t.name(100, 4), "/proc/200");
    // pidfd_getfd: fd, pid_fd, target_fd, flags — a copy of 200's fd 7
    t.ev(100, 407, &[&i64b(5), &i64b(4), &i64b(7), &u32b(0)]);
    assert_eq!(t.name(100, 5), "/etc/secret");
    // ... but not through an fd that is not a pidfd.
    t.ev(100, 407, &[&i64b(6), &i64b(3), &i64b(7), &u32b(0)]);
    assert!(t.fd(100, 6).is_none());
}

#[test]
fn cwd_from_chdir_fchdir_getcwd_exits() {
    let mut t = T::new();
    let cwd = |t: &T| t.st.cwd(t.st.thread(100).expect("bash")).to_vec();
    // chdir: res, path
    t.ev(100, 95, &[&i64b(0), b"../v/./w\0"]);
    assert_eq!(cwd(&t), b"/home/v/w/");
    t.ev(100, 95, &[&i64b(-2), b"/nope\0"]);
    assert_eq!(cwd(&t), b"/home/v/w/");
    // fchdir: res, fd — to a directory opened before
    t.ev(
        100,
        307,
        &[
            &i64b(3),
            &i64b(-100),
            b"/srv/d\0",
            &u32b(1 << 10),
            &u32b(0),
            &u32b(0),
            &0u64.to_le_bytes(),
        ],
    );
    let c = t.ev(100, 97, &[&i64b(0), &i64b(3)]);
    assert_eq!(c.fd_num, Some(3));
    assert_eq!(cwd(&t), b"/srv/d/");
    // getcwd: res, path
    t.ev(100, 93, &[&i64b(8), b"/opt\0"]);
    assert_eq!(cwd(&t), b"/opt/");
}

#[test]
fn ids_from_set_id_exits() {
    let mut t = T::new();
    let ids = |t: &T| t.st.thread(100).map(|th| (th.uid, th.gid));
    t.ev(100, 199, &[&i64b(0), &u32b(0)]);
    t.ev(100, 201, &[&i64b(0), &u32b(0)]);
    assert_eq!(ids(&t), Some((0, 0)));
    // setresuid/setresgid: res, r, e, s — the effective id counts
    t.ev(100, 193, &[&i64b(0), &u32b(1), &u32b(2), &u32b(3)]);
    t.ev(100, 195, &[&i64b(0), &u32b(4), &u32b(5), &u32b(6)]);
    assert_eq!(ids(&t), Some((2, 5)));
    // setreuid/setregid: res, r, e
    t.ev(100, 427, &[&i64b(0), &u32b(7), &u32b(8)]);
    t.ev(100, 429, &[&i64b(0), &u32b(9), &u32b(10)]);
    assert_eq!(ids(&t), Some((8, 10)));
    // -1 (unchanged) and failures leave the ids alone.
    t.ev(
        100,
        193,
        &[&i64b(0), &u32b(u32::MAX), &u32b(u32::MAX), &u32b(u32::MAX)],
    );
    t.ev(100, 199, &[&i64b(-1), &u32b(0)]);
    assert_eq!(ids(&t), Some((8, 10)));
}

#[test]
fn exit_fd_comes_from_the_exit_or_is_none() {
    let mut t = T::new();
    // read: res, data, fd, size — the fd of the exit itself
    let c = t.ev(100, 7, &[&i64b(1), b"x", &i64b(0), &u32b(1)]);
    assert_eq!(c.fd_num, Some(0));
    assert!(c.event_fd);
    assert_eq!(c.fd().map(|f| &f.name[..]), Some(&b"/dev/pts/0"[..]));
    // A capture filter parses state changes of the current table first.
    let mut buf = Vec::new();
    encode(&mut buf, 5000, 100, 367, &[&i64b(4), &i64b(0)]);
    let ev = EventRef::parse(&buf, 0, 0).expect("dup exit");
    assert!(!t.st.process_filtered(&ev, |_| false));
    assert_eq!(t.name(100, 4), "/dev/pts/0");
}

/// Each listed type is an exit of that syscall, and no newer exit type
/// of the same syscall exists in the table.
#[test]
fn full_exit_table_names_the_newest_exit_of_each_call() {
    for &(name, n) in FULL_EXIT_EVENTS {
        let i = info(n).unwrap_or_else(|| panic!("{name}: {n} not in the table"));
        assert_eq!(i.dir, Direction::Exit, "{name}: {n}");
        assert_eq!(i.name, name, "{name}: {n} is {}", i.enum_name);
        assert_eq!(
            i.flags & ef::OLD_VERSION,
            0,
            "{name}: {n} is an old version"
        );
        let newer = EVENTS.iter().enumerate().find(|(k, e)| {
            *k > usize::from(n)
                && e.name == name
                && e.dir == Direction::Exit
                && e.flags & ef::OLD_VERSION == 0
        });
        assert!(newer.is_none(), "{name}: newer exit {newer:?}");
    }
}
