//! Live test of the driver's network and I/O decoders (bpf/fill_net.h; needs
//! root and BTF; under `CI=true` their absence fails the test, elsewhere it is
//! SKIPPED).
//!
//! The binary re-executes itself as a child (env `OSPREY_NET_CHILD`) that runs
//! a TCP connection over loopback, a unix socket pair, a UDP datagram, file
//! reads and writes at offsets, an eventfd and epoll instance and a few other
//! calls, and writes the fds and ports it got to `report.txt`; the parent
//! captures with the driver and checks each exit event's type and parameters.

// The child makes its syscalls through libc, each with a SAFETY comment.
#![allow(unsafe_code)]

mod common;

use common::{capture, Capture, Ev};
use osprey_probe::driver::Config;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::mem::size_of;
use std::path::Path;

const CHILD_ENV: &str = "OSPREY_NET_CHILD";

/// Panics with the OS error when a libc call failed.
fn ok(r: i64, what: &str) -> i64 {
    assert!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
    r
}

fn sin(port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
        },
        sin_zero: [0; 8],
    }
}

const SIN_LEN: libc::socklen_t = size_of::<libc::sockaddr_in>() as libc::socklen_t;

fn local_port(fd: i32) -> u16 {
    let mut a = sin(0);
    let mut len = SIN_LEN;
    // SAFETY: `a` is a sockaddr_in of `len` bytes.
    let r = unsafe { libc::getsockname(fd, (&raw mut a).cast(), &raw mut len) };
    ok(r.into(), "getsockname");
    u16::from_be(a.sin_port)
}

fn iov(b: &[u8]) -> libc::iovec {
    libc::iovec {
        iov_base: b.as_ptr().cast_mut().cast(),
        iov_len: b.len(),
    }
}

/// The child's syscalls; every pointer handed to libc is to a live local.
#[allow(clippy::too_many_lines)]
fn child(dir: &str) -> ! {
    let mut rep = String::new();
    let mut buf = [0u8; 64];
    // SAFETY: plain syscalls on fds this function owns and pointers to locals
    // that outlive each call.
    unsafe {
        // TCP listener on 127.0.0.1:0, a client, accept4.
        let lfd = ok(
            libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0).into(),
            "socket",
        ) as i32;
        let one: i32 = 1;
        ok(
            libc::setsockopt(
                lfd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&raw const one).cast(),
                4,
            )
            .into(),
            "setsockopt",
        );
        let a = sin(0);
        ok(
            libc::bind(lfd, (&raw const a).cast(), SIN_LEN).into(),
            "bind",
        );
        ok(libc::listen(lfd, 5).into(), "listen");
        let port = local_port(lfd);
        let cfd = ok(
            libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0).into(),
            "socket",
        ) as i32;
        let a = sin(port);
        ok(
            libc::connect(cfd, (&raw const a).cast(), SIN_LEN).into(),
            "connect",
        );
        let cport = local_port(cfd);
        let afd = ok(
            libc::accept4(
                lfd,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
            .into(),
            "accept4",
        ) as i32;
        rep += &format!("lfd={lfd}\nport={port}\ncfd={cfd}\ncport={cport}\nafd={afd}\n");

        // sendto / recvfrom over the connection.
        ok(
            libc::sendto(cfd, b"hello".as_ptr().cast(), 5, 0, std::ptr::null(), 0) as i64,
            "sendto",
        );
        let n = libc::recvfrom(
            afd,
            buf.as_mut_ptr().cast(),
            64,
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        assert_eq!(n, 5, "recvfrom");

        // sendmsg of two iovecs / recvmsg into one.
        let parts = [iov(b"ab"), iov(b"cde")];
        let mut m: libc::msghdr = std::mem::zeroed();
        m.msg_iov = parts.as_ptr().cast_mut();
        m.msg_iovlen = 2;
        assert_eq!(libc::sendmsg(afd, &raw const m, 0), 5, "sendmsg");
        let into = [iov(&buf)];
        let mut m: libc::msghdr = std::mem::zeroed();
        m.msg_iov = into.as_ptr().cast_mut();
        m.msg_iovlen = 1;
        assert_eq!(libc::recvmsg(cfd, &raw mut m, 0), 5, "recvmsg");

        // writev / readv.
        let parts = [iov(b"xy"), iov(b"z")];
        assert_eq!(libc::writev(cfd, parts.as_ptr(), 2), 3, "writev");
        let b2 = [0u8; 2];
        let into = [iov(&b2), iov(&buf)];
        assert_eq!(libc::readv(afd, into.as_ptr(), 2), 3, "readv");

        // getsockopt SO_TYPE, shutdown, a failing sendto on a closed fd.
        let mut ty: i32 = 0;
        let mut tylen: libc::socklen_t = 4;
        ok(
            libc::getsockopt(
                cfd,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&raw mut ty).cast(),
                &raw mut tylen,
            )
            .into(),
            "getsockopt",
        );
        ok(libc::shutdown(cfd, libc::SHUT_WR).into(), "shutdown");
        assert_eq!(
            libc::sendto(999, b"x".as_ptr().cast(), 1, 0, std::ptr::null(), 0),
            -1
        );

        // A unix socket pair.
        let mut sv = [0i32; 2];
        ok(
            libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()).into(),
            "socketpair",
        );
        ok(
            libc::sendto(sv[0], b"unix".as_ptr().cast(), 4, 0, std::ptr::null(), 0) as i64,
            "sendto unix",
        );
        rep += &format!("sv0={}\nsv1={}\n", sv[0], sv[1]);

        // UDP: an unconnected sendto to a bound loopback port, recvfrom.
        let u2 = ok(
            libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0).into(),
            "socket udp",
        ) as i32;
        let a = sin(0);
        ok(
            libc::bind(u2, (&raw const a).cast(), SIN_LEN).into(),
            "bind udp",
        );
        let uport = local_port(u2);
        let u = ok(
            libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0).into(),
            "socket udp",
        ) as i32;
        let a = sin(uport);
        ok(
            libc::sendto(
                u,
                b"udp!".as_ptr().cast(),
                4,
                0,
                (&raw const a).cast(),
                SIN_LEN,
            ) as i64,
            "sendto udp",
        );
        let mut from = sin(0);
        let mut flen = SIN_LEN;
        let n = libc::recvfrom(
            u2,
            buf.as_mut_ptr().cast(),
            64,
            0,
            (&raw mut from).cast(),
            &raw mut flen,
        );
        assert_eq!(n, 4, "recvfrom udp");
        rep += &format!(
            "u={u}\nu2={u2}\nuport={uport}\nusrc={}\n",
            u16::from_be(from.sin_port)
        );

        // A file: pwrite/pread, pwritev/preadv at offsets.
        let path = CString::new(format!("{dir}/data.bin")).expect("path");
        let fd = ok(
            libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CREAT, 0o600).into(),
            "open",
        ) as i32;
        assert_eq!(libc::pwrite(fd, b"pdata".as_ptr().cast(), 5, 10), 5);
        assert_eq!(libc::pread(fd, buf.as_mut_ptr().cast(), 5, 10), 5);
        let parts = [iov(b"AB"), iov(b"C")];
        assert_eq!(libc::pwritev(fd, parts.as_ptr(), 2, 20), 3);
        let into = [iov(&buf[..3])];
        assert_eq!(libc::preadv(fd, into.as_ptr(), 1, 20), 3);
        rep += &format!("file={fd}\n");

        // eventfd2, epoll, poll, fcntl, ioctl, nanosleep.
        let efd = ok(
            libc::syscall(
                libc::SYS_eventfd2,
                3,
                libc::EFD_CLOEXEC | libc::EFD_NONBLOCK,
            ),
            "eventfd2",
        ) as i32;
        let ep = ok(
            libc::epoll_create1(libc::EPOLL_CLOEXEC).into(),
            "epoll_create1",
        ) as i32;
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 7,
        };
        ok(
            libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, efd, &raw mut ev).into(),
            "epoll_ctl",
        );
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
        let n = libc::syscall(libc::SYS_epoll_wait, ep, evs.as_mut_ptr(), 4, 0);
        assert_eq!(n, 1, "epoll_wait");
        let mut pfd = [libc::pollfd {
            fd: efd,
            events: libc::POLLIN,
            revents: 0,
        }];
        assert_eq!(
            libc::syscall(libc::SYS_poll, pfd.as_mut_ptr(), 1, 0),
            1,
            "poll"
        );
        ok(libc::fcntl(efd, libc::F_GETFL).into(), "fcntl");
        let mut avail: i32 = 0;
        ok(
            libc::ioctl(cfd, libc::FIONREAD, &raw mut avail).into(),
            "ioctl",
        );
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 1000,
        };
        ok(
            libc::syscall(
                libc::SYS_nanosleep,
                &raw const ts,
                std::ptr::null_mut::<libc::timespec>(),
            ),
            "nanosleep",
        );
        rep += &format!("efd={efd}\nep={ep}\n");
    }
    std::fs::write(Path::new(dir).join("report.txt"), rep).expect("report");
    std::process::exit(0);
}

/// SOCKTUPLE bytes of an IPv4 pair.
fn tuple4(sip: [u8; 4], sport: u16, dip: [u8; 4], dport: u16) -> Vec<u8> {
    let mut v = vec![2];
    v.extend_from_slice(&sip);
    v.extend_from_slice(&sport.to_le_bytes());
    v.extend_from_slice(&dip);
    v.extend_from_slice(&dport.to_le_bytes());
    v
}

const LO: [u8; 4] = [127, 0, 0, 1];

struct Found<'a> {
    by_type: BTreeMap<u16, Vec<&'a Ev>>,
}

impl<'a> Found<'a> {
    /// The one event of `etype` whose parameter `idx` is the fd `fd`.
    fn on_fd(&self, etype: u16, idx: usize, fd: i64) -> &'a Ev {
        let found: Vec<&Ev> = self
            .by_type
            .get(&etype)
            .map(|v| v.iter().copied().filter(|e| e.i64(idx) == fd).collect())
            .unwrap_or_default();
        assert_eq!(found.len(), 1, "events {etype} on fd {fd}: {found:#?}");
        found[0]
    }
    fn first(&self, etype: u16) -> &'a Ev {
        self.by_type
            .get(&etype)
            .and_then(|v| v.first().copied())
            .unwrap_or_else(|| panic!("no event {etype}"))
    }
}

fn check_np(e: &Ev) {
    let info = osprey_event::table::info(e.etype).expect("known type");
    assert_eq!(e.params.len(), info.params.len(), "param count of {e:?}");
}

#[allow(clippy::too_many_lines)]
fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let Some(Capture { evs, .. }) = capture("driver_net", &Config::default(), CHILD_ENV, dir, &[])
    else {
        return;
    };
    let report = std::fs::read_to_string(dir.join("report.txt")).expect("child report");
    let r: BTreeMap<&str, i64> = report
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k, v.parse().expect("number")))
        .collect();
    let get = |k: &str| r[k];
    let port16 = |k: &str| u16::try_from(r[k]).expect("port");
    let mut by_type: BTreeMap<u16, Vec<&Ev>> = BTreeMap::new();
    for e in &evs {
        by_type.entry(e.etype).or_default().push(e);
    }
    for e in &evs {
        if e.etype != 1 && e.etype != 186 {
            check_np(e);
        }
    }
    let f = Found { by_type };
    let (lfd, cfd, afd) = (get("lfd"), get("cfd"), get("afd"));
    let (port, cport) = (port16("port"), port16("cport"));

    // socket(AF_INET, SOCK_STREAM, 0) = lfd
    let s = f.on_fd(19, 0, lfd);
    assert_eq!((s.u32(1), s.u32(2), s.u32(3)), (2, 1, 0));
    let s = f.on_fd(19, 0, cfd);
    assert_eq!(s.u32(2), 1 | 0o2000000, "type with SOCK_CLOEXEC");

    // setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, 1, 4)
    let so = f.on_fd(45, 1, lfd);
    assert_eq!(so.i64(0), 0);
    assert_eq!((so.u8(2), so.u8(3)), (1, 2), "SOL_SOCKET, SO_REUSEADDR");
    assert_eq!(so.params[4], [2, 1, 0, 0, 0], "DYN u32 1");
    assert_eq!(so.u32(5), 4);

    // bind(lfd, 127.0.0.1:0) = 0
    let b = f.on_fd(21, 2, lfd);
    assert_eq!(b.i64(0), 0);
    assert_eq!(b.params[1], [2, 127, 0, 0, 1, 0, 0], "addr 127.0.0.1:0");

    // listen(lfd, 5) = 0
    let l = f.on_fd(25, 1, lfd);
    assert_eq!((l.i64(0), l.u32(2)), (0, 5));

    // accept4(lfd, .., SOCK_CLOEXEC) = afd: tuple client -> server
    let acc = f.first(389);
    assert_eq!(acc.i64(0), afd);
    assert_eq!(acc.params[1], tuple4(LO, cport, LO, port), "accept tuple");
    assert_eq!(acc.u32(4), 5, "queuemax is the backlog");
    assert_eq!(acc.u32(5), 0o2000000, "flags");

    // sendto(cfd, "hello") = 5: local -> remote
    let st = f.on_fd(31, 2, cfd);
    assert_eq!(st.i64(0), 5);
    assert_eq!(st.params[1], b"hello");
    assert_eq!(st.u32(3), 5);
    assert_eq!(st.params[4], tuple4(LO, cport, LO, port));

    // recvfrom(afd, .., 64) = 5: remote -> local
    let rf = f.on_fd(35, 3, afd);
    assert_eq!(rf.i64(0), 5);
    assert_eq!(rf.params[1], b"hello");
    assert_eq!(rf.params[2], tuple4(LO, cport, LO, port));
    assert_eq!(rf.u32(4), 64);

    // sendmsg(afd, ["ab", "cde"]) = 5
    let sm = f.on_fd(49, 2, afd);
    assert_eq!(sm.i64(0), 5);
    assert_eq!(sm.params[1], b"abcde");
    assert_eq!(sm.u32(3), 5);
    assert_eq!(sm.params[4], tuple4(LO, port, LO, cport), "server's send");

    // recvmsg(cfd) = 5
    let rm = f.on_fd(53, 5, cfd);
    assert_eq!(rm.i64(0), 5);
    assert_eq!(rm.u32(1), 5);
    assert_eq!(rm.params[2], b"abcde");
    assert_eq!(rm.params[3], tuple4(LO, port, LO, cport), "from the server");
    assert!(rm.params[4].is_empty(), "no control data");

    // writev(cfd, ["xy", "z"]) = 3; readv(afd, [2, 64]) = 3
    let wv = f.on_fd(119, 2, cfd);
    assert_eq!(
        (wv.i64(0), wv.params[1].as_slice(), wv.u32(3)),
        (3, &b"xyz"[..], 3)
    );
    let rv = f.on_fd(117, 3, afd);
    assert_eq!(
        (rv.i64(0), rv.u32(1), rv.params[2].as_slice()),
        (3, 3, &b"xyz"[..])
    );

    // getsockopt(cfd, SOL_SOCKET, SO_TYPE) = 0, val SOCK_STREAM
    let go = f.on_fd(47, 1, cfd);
    assert_eq!((go.i64(0), go.u8(2), go.u8(3)), (0, 1, 3));
    assert_eq!(go.params[4], [2, 1, 0, 0, 0]);
    assert_eq!(go.u32(5), 4);

    // shutdown(cfd, SHUT_WR) = 0
    let sh = f.on_fd(37, 1, cfd);
    assert_eq!((sh.i64(0), sh.u8(2)), (0, 1));

    // sendto(999) = -EBADF
    let bad = f.on_fd(31, 2, 999);
    assert_eq!(bad.i64(0), -9);
    assert_eq!(bad.params[1], b"x");
    assert!(bad.params[4].is_empty());

    // socketpair(AF_UNIX, SOCK_STREAM, 0) = 0, then sendto(sv0, "unix")
    let sp = f.first(43);
    assert_eq!(
        (sp.i64(0), sp.i64(1), sp.i64(2)),
        (0, get("sv0"), get("sv1"))
    );
    let (src, peer) = (sp.i64(3), sp.i64(4));
    assert!(
        src != 0 && peer != 0 && src != peer,
        "sock pointers {src:x} {peer:x}"
    );
    assert_eq!((sp.u32(5), sp.u32(6), sp.u32(7)), (1, 1, 0));
    let us = f.on_fd(31, 2, get("sv0"));
    assert_eq!((us.i64(0), us.params[1].as_slice()), (4, &b"unix"[..]));
    let mut want = vec![1];
    want.extend_from_slice(&peer.to_le_bytes());
    want.extend_from_slice(&src.to_le_bytes());
    want.push(0);
    assert_eq!(us.params[4], want, "unix tuple: peer, self, no path");

    // UDP: unconnected sendto to 127.0.0.1:uport, recvfrom with a sockaddr
    let (u, u2, uport, usrc) = (get("u"), get("u2"), port16("uport"), port16("usrc"));
    let ust = f.on_fd(31, 2, u);
    assert_eq!((ust.i64(0), ust.params[1].as_slice()), (4, &b"udp!"[..]));
    assert_eq!(
        ust.params[4],
        tuple4([0; 4], usrc, LO, uport),
        "udp send tuple"
    );
    let urf = f.on_fd(35, 3, u2);
    assert_eq!(urf.params[2], tuple4(LO, usrc, LO, uport), "udp recv tuple");

    // pwrite/pread at 10, pwritev/preadv at 20
    let file = get("file");
    let pw = f.on_fd(115, 2, file);
    assert_eq!(
        (pw.i64(0), pw.params[1].as_slice(), pw.u32(3), pw.i64(4)),
        (5, &b"pdata"[..], 5, 10)
    );
    let pr = f.on_fd(113, 2, file);
    assert_eq!(
        (pr.i64(0), pr.params[1].as_slice(), pr.u32(3), pr.i64(4)),
        (5, &b"pdata"[..], 5, 10)
    );
    let pwv = f.on_fd(123, 2, file);
    assert_eq!(
        (pwv.i64(0), pwv.params[1].as_slice(), pwv.u32(3), pwv.i64(4)),
        (3, &b"ABC"[..], 3, 20)
    );
    let prv = f.on_fd(121, 3, file);
    assert_eq!(
        (prv.i64(0), prv.u32(1), prv.params[2].as_slice(), prv.i64(4)),
        (3, 3, &b"ABC"[..], 20)
    );

    // eventfd2(3, EFD_CLOEXEC|EFD_NONBLOCK), epoll_create1(EPOLL_CLOEXEC)
    let (efd, ep) = (get("efd"), get("ep"));
    let e2 = f.first(397);
    assert_eq!((e2.i64(0), e2.u16(1), e2.i64(2)), (efd, 2 | 4, 3));
    let ec = f.first(377);
    assert_eq!((ec.i64(0), ec.u32(1)), (ep, 1));

    // epoll_wait(ep, .., 4, 0) = 1; poll([efd POLLIN]) = 1 with revents POLLIN
    let ew = f.first(79);
    assert_eq!((ew.i64(0), ew.i64(1)), (1, 4));
    // (the Rust runtime's own start-up poll of fds 0-2 is another one)
    let mut fdl = vec![1, 0];
    fdl.extend_from_slice(&efd.to_le_bytes());
    fdl.extend_from_slice(&1u16.to_le_bytes());
    let pl = f.by_type[&81]
        .iter()
        .find(|e| e.params[1] == fdl)
        .unwrap_or_else(|| panic!("no poll of {fdl:?} in {:#?}", f.by_type[&81]));
    assert_eq!(pl.i64(0), 1);
    assert_eq!(pl.i64(2), 0, "timeout");

    // fcntl(efd, F_GETFL), ioctl(cfd, FIONREAD), nanosleep(1 us)
    let fc = f.on_fd(151, 1, efd);
    assert_eq!(fc.u8(2), 4, "F_GETFL");
    let io = f.on_fd(171, 1, cfd);
    assert_eq!((io.i64(0), io.i64(2)), (0, 0x541b));
    let ns = f.first(135);
    assert_eq!((ns.i64(0), ns.i64(1)), (0, 1000));

    // epoll_ctl stays generic (no event type of its own)
    assert!(
        f.by_type
            .get(&1)
            .is_some_and(|g| g.iter().any(|e| e.u16(1) == 233)),
        "generic epoll_ctl"
    );

    let mut shown = Vec::new();
    osprey_event::render::write_socktuple(&mut shown, &st.params[4]);
    eprintln!(
        "driver_net: sendto tuple {}",
        String::from_utf8_lossy(&shown)
    );
    eprintln!("driver_net: ok");
}
