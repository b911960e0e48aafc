//! File descriptors: [`Fd`] entries, their [`FdType`], and the per-process [`FdTable`].

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use osprey_event::snapshot::{FdAddr, FdInfo, FdKind};
use rustc_hash::FxHashMap;

use crate::param::Tuple;

/// The kind of a file descriptor, as sysdig classifies it (`fd.type`, `fd.typechar`).
#[allow(missing_docs)] // variant names are the fd kinds themselves
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FdType {
    #[default]
    Unknown,
    File,
    Directory,
    Ipv4,
    Ipv6,
    Unix,
    Pipe,
    Event,
    SignalFd,
    EventPoll,
    Inotify,
    TimerFd,
    Netlink,
    Bpf,
    UserFaultFd,
    IoUring,
    Memfd,
    PidFd,
    Unsupported,
}

impl FdType {
    /// Maps a snapshot `scap_fd_type` to the sysdig classification.
    pub fn from_kind(k: FdKind) -> FdType {
        match k {
            FdKind::Unknown => FdType::Unknown,
            FdKind::File | FdKind::FileV2 => FdType::File,
            FdKind::Directory => FdType::Directory,
            FdKind::Ipv4Sock | FdKind::Ipv4ServSock => FdType::Ipv4,
            FdKind::Ipv6Sock | FdKind::Ipv6ServSock => FdType::Ipv6,
            FdKind::Fifo => FdType::Pipe,
            FdKind::UnixSock => FdType::Unix,
            FdKind::Event => FdType::Event,
            FdKind::Unsupported => FdType::Unsupported,
            FdKind::SignalFd => FdType::SignalFd,
            FdKind::EventPoll => FdType::EventPoll,
            FdKind::Inotify => FdType::Inotify,
            FdKind::TimerFd => FdType::TimerFd,
            FdKind::Netlink => FdType::Netlink,
            FdKind::Bpf => FdType::Bpf,
            FdKind::UserFaultFd => FdType::UserFaultFd,
            FdKind::IoUring => FdType::IoUring,
            FdKind::Memfd => FdType::Memfd,
            FdKind::PidFd => FdType::PidFd,
        }
    }

    /// The `fd.typechar` character.
    pub fn typechar(self) -> u8 {
        match self {
            FdType::File => b'f',
            FdType::Directory => b'd',
            FdType::Ipv4 => b'4',
            FdType::Ipv6 => b'6',
            FdType::Unix => b'u',
            FdType::Pipe => b'p',
            FdType::Event => b'e',
            FdType::SignalFd => b's',
            FdType::EventPoll => b'l',
            FdType::Inotify => b'i',
            FdType::TimerFd => b't',
            FdType::Netlink => b'n',
            FdType::Bpf => b'b',
            FdType::UserFaultFd => b'u',
            FdType::IoUring => b'r',
            FdType::Memfd => b'm',
            FdType::PidFd => b'P',
            FdType::Unknown | FdType::Unsupported => b'o',
        }
    }

    /// The `fd.type` string; `None` where sysdig prints `<NA>`.
    pub fn as_str(self) -> Option<&'static str> {
        Some(match self {
            FdType::File => "file",
            FdType::Directory => "directory",
            FdType::Ipv4 => "ipv4",
            FdType::Ipv6 => "ipv6",
            FdType::Unix => "unix",
            FdType::Pipe => "pipe",
            FdType::Event => "event",
            FdType::SignalFd => "signalfd",
            FdType::EventPoll => "eventpoll",
            FdType::Inotify => "inotify",
            FdType::TimerFd => "timerfd",
            FdType::Netlink => "netlink",
            FdType::Bpf => "bpf",
            FdType::UserFaultFd => "userfaultfd",
            FdType::IoUring => "io_uring",
            FdType::Memfd => "memfd",
            FdType::PidFd => "pidfd",
            FdType::Unknown | FdType::Unsupported => return None,
        })
    }

    /// Whether this is an IP socket.
    pub fn is_ip(self) -> bool {
        matches!(self, FdType::Ipv4 | FdType::Ipv6)
    }
}

/// Which end of a connection the owning process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Not known (not a socket, or neither connect nor accept/bind seen).
    #[default]
    None,
    /// The process connected (`connect`).
    Client,
    /// The process accepted or bound/listened.
    Server,
}

/// Socket endpoints of an fd (addresses in network byte order, ports host order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Endpoints {
    /// Not a socket, or nothing known yet.
    #[default]
    None,
    /// IPv4 pair; for servers from bind/listen only the `d*` side is set.
    V4 {
        /// Source address.
        sip: [u8; 4],
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: [u8; 4],
        /// Destination port.
        dport: u16,
    },
    /// IPv6 pair.
    V6 {
        /// Source address.
        sip: [u8; 16],
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: [u8; 16],
        /// Destination port.
        dport: u16,
    },
    /// Unix socket kernel pointers.
    Unix {
        /// Source endpoint.
        source: u64,
        /// Destination endpoint.
        dest: u64,
    },
}

/// Layer-4 protocol codes (`SCAP_L4_*`).
pub mod l4 {
    /// Unknown.
    pub const UNKNOWN: u8 = 0;
    /// Not applicable (e.g. unix sockets).
    pub const NA: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 2;
    /// UDP.
    pub const UDP: u8 = 3;
    /// ICMP.
    pub const ICMP: u8 = 4;
    /// Raw IP.
    pub const RAW: u8 = 5;
}

/// One open file descriptor.
///
/// Cloning is cheap: the name is shared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fd {
    /// The sysdig kind.
    pub ty: FdType,
    /// Name as `fd.name` shows it: absolute normalised path for files, the tuple
    /// `sip:sport->dip:dport` for IP sockets, `src->dst path` (hex pointers) for unix sockets.
    pub name: Arc<[u8]>,
    /// For files opened in an event, the path as the caller passed it
    /// (relative, not normalised: `fd.nameraw`); empty otherwise.
    pub name_raw: Arc<[u8]>,
    /// Open flags (`PPM_O_*`) for files.
    pub open_flags: u32,
    /// Inode number (0 when unknown).
    pub ino: u64,
    /// Device number (0 when unknown).
    pub dev: u32,
    /// Socket endpoints.
    pub endpoints: Endpoints,
    /// Client/server role.
    pub role: Role,
    /// Layer-4 protocol ([`l4`]).
    pub l4proto: u8,
    /// Whether this is a bound server socket (`SCAP_FD_IPV*_SERVSOCK`): its
    /// endpoints hold the bound address and port on the `d*` side.
    pub server_socket: bool,
    /// Whether a successful `connect` named it (sysdig keeps that name when
    /// the socket is connected again).
    pub connected: bool,
    /// For a pidfd made by `pidfd_open`: the process it refers to (0 otherwise),
    /// which `pidfd_getfd` reads to find the fd it copies.
    pub pid: i64,
}

/// Appends `a:port` to `out`.
fn push_v4(out: &mut Vec<u8>, a: [u8; 4], port: u16) {
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{}:{port}", Ipv4Addr::from(a));
}

fn push_v6(out: &mut Vec<u8>, a: [u8; 16], port: u16) {
    let _ = write!(out, "{}:{port}", Ipv6Addr::from(a));
}

/// Builds the sysdig name of a socket from its endpoints (`path` for unix sockets).
pub(crate) fn socket_name(out: &mut Vec<u8>, ep: &Endpoints, path: &[u8]) {
    match *ep {
        Endpoints::None => out.extend_from_slice(path),
        Endpoints::V4 {
            sip,
            sport,
            dip,
            dport,
        } => {
            push_v4(out, sip, sport);
            out.extend_from_slice(b"->");
            push_v4(out, dip, dport);
        }
        Endpoints::V6 {
            sip,
            sport,
            dip,
            dport,
        } => {
            push_v6(out, sip, sport);
            out.extend_from_slice(b"->");
            push_v6(out, dip, dport);
        }
        Endpoints::Unix { source, dest } => {
            let _ = write!(out, "{source:x}->{dest:x}");
            if !path.is_empty() {
                out.push(b' ');
                out.extend_from_slice(path);
            }
        }
    }
}

/// Renders a raw `PT_SOCKTUPLE` parameter the way `fd.name` shows a socket
/// (`sip:sport->dip:dport`, or `src->dst path` for unix sockets) into `out`.
/// Returns `false` (writing nothing) when the bytes are not a tuple.
///
/// sysdig shows `fd.name` of a `connect` exit from the event's tuple rather than
/// from the fd, so a failed connect still names its target.
pub fn render_tuple(raw: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(t) = crate::param::tuple(raw) else {
        return false;
    };
    let ep = match t {
        Tuple::V4 {
            sip,
            sport,
            dip,
            dport,
        } => Endpoints::V4 {
            sip,
            sport,
            dip,
            dport,
        },
        Tuple::V6 {
            sip,
            sport,
            dip,
            dport,
        } => Endpoints::V6 {
            sip,
            sport,
            dip,
            dport,
        },
        Tuple::Unix { source, dest, .. } => Endpoints::Unix { source, dest },
    };
    let path = match t {
        Tuple::Unix { path, .. } => path,
        _ => b"",
    };
    socket_name(out, &ep, path);
    true
}

/// Name of a bound/listening server address: `ip:port`.
pub(crate) fn server_name(out: &mut Vec<u8>, ep: &Endpoints) {
    match *ep {
        Endpoints::V4 { dip, dport, .. } => push_v4(out, dip, dport),
        Endpoints::V6 { dip, dport, .. } => push_v6(out, dip, dport),
        _ => {}
    }
}

fn v4_mapped(a: &[u8; 16]) -> Option<[u8; 4]> {
    (a[..10].iter().all(|&b| b == 0) && a[10] == 0xff && a[11] == 0xff)
        .then(|| [a[12], a[13], a[14], a[15]])
}

impl Fd {
    /// Makes `self` a copy of `src`, touching a shared name only when it is
    /// another allocation (a clone or drop of an `Arc` is an atomic operation,
    /// and this runs for most events). Returns whether the name changed.
    pub(crate) fn assign(&mut self, src: &Fd) -> bool {
        let Fd {
            ty,
            name,
            name_raw,
            open_flags,
            ino,
            dev,
            endpoints,
            role,
            l4proto,
            server_socket,
            connected,
            pid,
        } = src;
        let mut renamed = false;
        if !Arc::ptr_eq(&self.name, name) {
            renamed = self.name != *name;
            self.name = Arc::clone(name);
        }
        if !Arc::ptr_eq(&self.name_raw, name_raw) {
            self.name_raw = Arc::clone(name_raw);
        }
        self.ty = *ty;
        self.open_flags = *open_flags;
        self.ino = *ino;
        self.dev = *dev;
        self.endpoints = *endpoints;
        self.role = *role;
        self.l4proto = *l4proto;
        self.server_socket = *server_socket;
        self.connected = *connected;
        self.pid = *pid;
        renamed
    }

    /// The layer-4 protocol sysdig reports (`fd.l4proto`, the `t` of `<4t>`):
    /// [`l4::NA`] for non-IP fds and for IP sockets nobody connected, accepted
    /// or bound yet (raw sockets always show theirs).
    pub fn shown_l4proto(&self) -> u8 {
        if !self.ty.is_ip() {
            l4::NA
        } else if self.server_socket || self.l4proto == l4::RAW || self.role != Role::None {
            self.l4proto
        } else {
            l4::NA
        }
    }

    /// Builds an entry from a snapshot fd.
    pub fn from_info(fi: &FdInfo) -> Fd {
        let mut fd = Fd {
            ty: FdType::from_kind(fi.kind),
            open_flags: fi.open_flags,
            ino: fi.ino,
            dev: fi.dev,
            ..Fd::default()
        };
        let mut name = Vec::new();
        match fi.addr {
            FdAddr::None => name.extend_from_slice(&fi.name),
            FdAddr::Ipv4 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            } => {
                fd.endpoints = Endpoints::V4 {
                    sip,
                    sport,
                    dip,
                    dport,
                };
                fd.l4proto = l4proto;
                socket_name(&mut name, &fd.endpoints, b"");
            }
            FdAddr::Ipv6 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            } => {
                fd.endpoints = Endpoints::V6 {
                    sip,
                    sport,
                    dip,
                    dport,
                };
                fd.l4proto = l4proto;
                socket_name(&mut name, &fd.endpoints, b"");
            }
            FdAddr::Ipv4Server { ip, port, l4proto } => {
                fd.endpoints = Endpoints::V4 {
                    sip: [0; 4],
                    sport: 0,
                    dip: ip,
                    dport: port,
                };
                fd.l4proto = l4proto;
                fd.server_socket = true;
                server_name(&mut name, &fd.endpoints);
            }
            FdAddr::Ipv6Server { ip, port, l4proto } => {
                fd.endpoints = Endpoints::V6 {
                    sip: [0; 16],
                    sport: 0,
                    dip: ip,
                    dport: port,
                };
                fd.l4proto = l4proto;
                fd.server_socket = true;
                server_name(&mut name, &fd.endpoints);
            }
            FdAddr::Unix { source, dest } => {
                // sysdig names unix sockets by their path only (empty when unnamed).
                fd.endpoints = Endpoints::Unix { source, dest };
                name.extend_from_slice(&fi.name);
            }
        }
        fd.name = name.into();
        fd
    }

    /// Sets endpoints (and the name) from a socket tuple, converting IPv4-mapped
    /// IPv6 pairs to IPv4 as sysdig does.
    pub(crate) fn set_tuple(&mut self, t: &Tuple<'_>, scratch: &mut Vec<u8>) {
        scratch.clear();
        if !matches!(t, Tuple::Unix { .. }) {
            self.server_socket = false;
        }
        match *t {
            Tuple::V4 {
                sip,
                sport,
                dip,
                dport,
            } => {
                self.ty = FdType::Ipv4;
                self.endpoints = Endpoints::V4 {
                    sip,
                    sport,
                    dip,
                    dport,
                };
                socket_name(scratch, &self.endpoints, b"");
            }
            Tuple::V6 {
                sip,
                sport,
                dip,
                dport,
            } => {
                if let (Some(s4), Some(d4)) = (v4_mapped(&sip), v4_mapped(&dip)) {
                    self.ty = FdType::Ipv4;
                    self.endpoints = Endpoints::V4 {
                        sip: s4,
                        sport,
                        dip: d4,
                        dport,
                    };
                } else {
                    self.ty = FdType::Ipv6;
                    self.endpoints = Endpoints::V6 {
                        sip,
                        sport,
                        dip,
                        dport,
                    };
                }
                socket_name(scratch, &self.endpoints, b"");
            }
            Tuple::Unix { source, dest, path } => {
                self.ty = FdType::Unix;
                self.endpoints = Endpoints::Unix { source, dest };
                scratch.extend_from_slice(path);
            }
        }
        self.name = Arc::from(&scratch[..]);
    }
}

/// The fds of one process (or of one thread that does not share its table).
#[derive(Debug, Clone, Default)]
pub struct FdTable {
    map: FxHashMap<i64, Fd>,
}

impl FdTable {
    /// Looks up an fd.
    #[inline]
    pub fn get(&self, fd: i64) -> Option<&Fd> {
        self.map.get(&fd)
    }

    /// Looks up an fd for modification.
    #[inline]
    pub(crate) fn get_mut(&mut self, fd: i64) -> Option<&mut Fd> {
        self.map.get_mut(&fd)
    }

    /// Adds or replaces an fd.
    #[inline]
    pub(crate) fn insert(&mut self, num: i64, fd: Fd) {
        self.map.insert(num, fd);
    }

    /// All fds, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (i64, &mut Fd)> {
        self.map.iter_mut().map(|(&k, v)| (k, v))
    }

    /// Removes an fd.
    #[inline]
    pub(crate) fn remove(&mut self, num: i64) -> Option<Fd> {
        self.map.remove(&num)
    }

    /// Number of open fds (`proc.fdopencount`).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no fd is open.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// All fds, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &Fd)> {
        self.map.iter().map(|(&k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sockets_like_sysdig() {
        let mut out = Vec::new();
        socket_name(
            &mut out,
            &Endpoints::Unix {
                source: 0,
                dest: 0xffff8edcfda06800,
            },
            b"/var/run/nscd/socket",
        );
        assert_eq!(out, b"0->ffff8edcfda06800 /var/run/nscd/socket");
        let mut fd = Fd::default();
        let mut scratch = Vec::new();
        let mut mapped = [0u8; 16];
        mapped[10] = 0xff;
        mapped[11] = 0xff;
        mapped[12] = 127;
        mapped[15] = 1;
        fd.set_tuple(
            &Tuple::V6 {
                sip: mapped,
                sport: 1,
                dip: mapped,
                dport: 2,
            },
            &mut scratch,
        );
        assert_eq!(fd.ty, FdType::Ipv4);
        assert_eq!(&*fd.name, b"127.0.0.1:1->127.0.0.1:2");
    }

    #[test]
    fn typechars() {
        assert_eq!(FdType::from_kind(FdKind::FileV2).typechar(), b'f');
        assert_eq!(FdType::Unsupported.as_str(), None);
    }
}
