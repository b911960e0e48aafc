//! Parsers for the text formats of `/proc` and `/etc`.
//!
//! Pure functions on bytes: no I/O, and no panics on any input (a malformed
//! line or field is skipped or reads as "unknown").

use std::collections::HashMap;

use osprey_event::snapshot::{FdAddr, FdKind, GroupInfo, UserInfo};

/// Splits on ASCII whitespace, skipping empty pieces.
fn words(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty())
}

/// Lines of a text file, without their `\n`.
fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c == b'\n')
}

/// Parses an unsigned number in `radix`, ignoring surrounding whitespace.
pub(super) fn num(b: &[u8], radix: u32) -> Option<u64> {
    let s = std::str::from_utf8(b.trim_ascii()).ok()?;
    u64::from_str_radix(s, radix).ok()
}

/// Parses a signed decimal number, ignoring surrounding whitespace.
fn signed(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b.trim_ascii()).ok()?.parse().ok()
}

/// Narrows to `u32`, saturating.
fn sat32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The fields of `/proc/<pid>/task/<tid>/status` the scan uses.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Status {
    /// `Tgid:`.
    pub(super) tgid: Option<u64>,
    /// `PPid:`.
    pub(super) ppid: u64,
    /// Effective uid (second `Uid:` field).
    pub(super) euid: u32,
    /// Effective gid (second `Gid:` field).
    pub(super) egid: u32,
    /// `CapInh:`.
    pub(super) cap_inh: u64,
    /// `CapPrm:`.
    pub(super) cap_prm: u64,
    /// `CapEff:`.
    pub(super) cap_eff: u64,
    /// `VmSize:` in KiB.
    pub(super) vmsize_kb: u32,
    /// `VmRSS:` in KiB.
    pub(super) vmrss_kb: u32,
    /// `VmSwap:` in KiB.
    pub(super) vmswap_kb: u32,
    /// Last `NSpid:` entry: the tid in the innermost pid namespace.
    pub(super) vtid: Option<i64>,
    /// Last `NStgid:` entry: the pid in the innermost pid namespace.
    pub(super) vpid: Option<i64>,
    /// First and last `NSpgid:` entries.
    pub(super) pgid: Option<(i64, i64)>,
}

/// Parses a `status` file.
pub(super) fn status(text: &[u8]) -> Status {
    let mut s = Status::default();
    for line in lines(text) {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let (key, rest) = (&line[..colon], &line[colon + 1..]);
        let nth = |n: usize| words(rest).nth(n);
        let dec = |n: usize| nth(n).and_then(|w| num(w, 10));
        let hex = || nth(0).and_then(|w| num(w, 16)).unwrap_or(0);
        let last = || words(rest).last().and_then(signed);
        match key {
            b"Tgid" => s.tgid = dec(0),
            b"PPid" => s.ppid = dec(0).unwrap_or(0),
            b"Uid" => s.euid = dec(1).map_or(u32::MAX, sat32),
            b"Gid" => s.egid = dec(1).map_or(u32::MAX, sat32),
            b"CapInh" => s.cap_inh = hex(),
            b"CapPrm" => s.cap_prm = hex(),
            b"CapEff" => s.cap_eff = hex(),
            b"VmSize" => s.vmsize_kb = dec(0).map_or(0, sat32),
            b"VmRSS" => s.vmrss_kb = dec(0).map_or(0, sat32),
            b"VmSwap" => s.vmswap_kb = dec(0).map_or(0, sat32),
            b"NSpid" => s.vtid = last(),
            b"NStgid" => s.vpid = last(),
            b"NSpgid" => s.pgid = words(rest).next().and_then(signed).zip(last()),
            _ => {}
        }
    }
    s
}

/// The fields of `/proc/<pid>/task/<tid>/stat` the scan uses.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stat {
    /// Process group (field 5).
    pub(super) pgrp: i64,
    /// Session id (field 6).
    pub(super) session: u64,
    /// Controlling terminal (field 7).
    pub(super) tty: u32,
    /// Minor faults (field 10).
    pub(super) minflt: u64,
    /// Major faults (field 12).
    pub(super) majflt: u64,
}

/// Parses a `stat` file; the command name may contain spaces and parentheses,
/// so fields are counted from the last `)`.
pub(super) fn stat(text: &[u8]) -> Option<Stat> {
    let close = text.iter().rposition(|&c| c == b')')?;
    let f: Vec<&[u8]> = words(&text[close + 1..]).take(10).collect();
    if f.len() < 10 {
        return None;
    }
    Some(Stat {
        pgrp: signed(f[2])?,
        session: signed(f[3])?.try_into().unwrap_or(0),
        // tty_nr is printed as a signed int but is a device number.
        tty: signed(f[4]).map_or(0, |v| v as u32),
        minflt: num(f[7], 10).unwrap_or(0),
        majflt: num(f[9], 10).unwrap_or(0),
    })
}

/// The soft "Max open files" limit from a `limits` file (`u64::MAX` when unlimited).
pub(super) fn fd_limit(text: &[u8]) -> Option<u64> {
    let line = lines(text).find(|l| l.starts_with(b"Max open files"))?;
    let soft = words(&line[b"Max open files".len()..]).next()?;
    if soft == b"unlimited" {
        Some(u64::MAX)
    } else {
        num(soft, 10)
    }
}

/// Converts `/proc/<pid>/cgroup` into `subsys=path` entries, each NUL-terminated,
/// at most `cap` bytes in all (whole entries only). A cgroup-v2 line (empty
/// controller list) yields one entry per controller in `v2_controllers`.
pub(super) fn cgroups(text: &[u8], v2_controllers: &[Vec<u8>], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let push = |out: &mut Vec<u8>, subsys: &[u8], path: &[u8]| {
        if subsys.is_empty() || out.len() + subsys.len() + path.len() + 2 > cap {
            return;
        }
        out.extend_from_slice(subsys);
        out.push(b'=');
        out.extend_from_slice(path);
        out.push(0);
    };
    for line in lines(text) {
        let mut parts = line.splitn(3, |&c| c == b':');
        let (Some(_id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if ctrls.is_empty() {
            for c in v2_controllers {
                push(&mut out, c, path);
            }
        } else {
            for c in ctrls.split(|&c| c == b',') {
                push(&mut out, c, path);
            }
        }
    }
    out
}

/// `flags:` (octal kernel open flags) and `mnt_id:` of an `fdinfo` file.
pub(super) fn fdinfo(text: &[u8]) -> (Option<u64>, Option<u64>) {
    let (mut flags, mut mnt) = (None, None);
    for line in lines(text) {
        if let Some(v) = line.strip_prefix(b"flags:") {
            flags = num(v, 8);
        } else if let Some(v) = line.strip_prefix(b"mnt_id:") {
            mnt = num(v, 10);
        }
    }
    (flags, mnt)
}

/// `PPM_O_*` driver codes (the values of the event crate's `file_flags` table).
pub(super) mod ppm {
    pub(crate) const RDONLY: u32 = 1;
    pub(crate) const WRONLY: u32 = 2;
    pub(crate) const RDWR: u32 = 3;
    pub(crate) const CREAT: u32 = 4;
    pub(crate) const APPEND: u32 = 8;
    pub(crate) const DSYNC: u32 = 16;
    pub(crate) const EXCL: u32 = 32;
    pub(crate) const NONBLOCK: u32 = 64;
    pub(crate) const SYNC: u32 = 128;
    pub(crate) const TRUNC: u32 = 256;
    pub(crate) const DIRECT: u32 = 512;
    pub(crate) const DIRECTORY: u32 = 1024;
    pub(crate) const LARGEFILE: u32 = 2048;
    pub(crate) const CLOEXEC: u32 = 4096;
    pub(crate) const TMPFILE: u32 = 8192;
}

/// Converts Linux (generic/x86 layout) open flags to `PPM_O_*` codes.
pub(super) fn open_flags_to_ppm(k: u64) -> u32 {
    const O_ACCMODE: u64 = 0o3;
    const O_WRONLY: u64 = 0o1;
    const O_RDWR: u64 = 0o2;
    const O_DIRECTORY: u64 = 0o200000;
    const O_DSYNC: u64 = 0o10000;
    const O_SYNC: u64 = 0o4000000 | O_DSYNC;
    const O_TMPFILE: u64 = 0o20000000 | O_DIRECTORY;
    const BITS: [(u64, u32); 9] = [
        (0o100, ppm::CREAT),
        (0o200, ppm::EXCL),
        (0o1000, ppm::TRUNC),
        (0o2000, ppm::APPEND),
        (0o4000, ppm::NONBLOCK),
        (0o40000, ppm::DIRECT),
        (0o100000, ppm::LARGEFILE),
        (0o2000000, ppm::CLOEXEC),
        (O_DSYNC, ppm::DSYNC),
    ];
    let mut r = match k & O_ACCMODE {
        O_WRONLY => ppm::WRONLY,
        O_RDWR => ppm::RDWR,
        _ => ppm::RDONLY,
    };
    for (bit, code) in BITS {
        if k & bit != 0 {
            r |= code;
        }
    }
    if k & O_SYNC == O_SYNC {
        r |= ppm::SYNC;
    }
    if k & O_TMPFILE == O_TMPFILE {
        r |= ppm::TMPFILE;
    } else if k & O_DIRECTORY != 0 {
        r |= ppm::DIRECTORY;
    }
    r
}

/// `glibc`'s `makedev`, narrowed to 32 bits as the capture format stores it.
fn makedev(major: u64, minor: u64) -> u32 {
    let d = (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12);
    d as u32
}

/// `(mount id, device)` pairs of a `mountinfo` file.
pub(super) fn mountinfo(text: &[u8]) -> impl Iterator<Item = (u64, u32)> + '_ {
    lines(text).filter_map(|l| {
        let mut w = words(l);
        let id = num(w.next()?, 10)?;
        let mm = w.nth(1)?;
        let colon = mm.iter().position(|&c| c == b':')?;
        Some((
            id,
            makedev(num(&mm[..colon], 10)?, num(&mm[colon + 1..], 10)?),
        ))
    })
}

/// What a socket inode resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SockEntry {
    /// The fd kind.
    pub(super) kind: FdKind,
    /// Its addresses.
    pub(super) addr: FdAddr,
    /// Its name (the path of a unix socket).
    pub(super) name: Vec<u8>,
}

/// Layer-4 protocol codes (`SCAP_L4_*`).
pub(super) const L4_TCP: u8 = 2;
/// UDP.
pub(super) const L4_UDP: u8 = 3;
/// Raw IP.
pub(super) const L4_RAW: u8 = 5;

/// Parses a hex `ADDR:PORT` of an IPv4 or IPv6 table into network-order bytes.
/// The kernel prints each 32-bit word of the address as a native integer, so
/// converting each word back with native byte order restores memory order.
fn inet_addr<const N: usize>(field: &[u8]) -> Option<([u8; N], u16)> {
    let colon = field.iter().rposition(|&c| c == b':')?;
    let (hex, port) = (&field[..colon], &field[colon + 1..]);
    if hex.len() != N * 2 {
        return None;
    }
    let mut ip = [0u8; N];
    for (word, chunk) in ip.chunks_mut(4).zip(hex.chunks(8)) {
        let v = u32::try_from(num(chunk, 16)?).ok()?;
        word.copy_from_slice(&v.to_ne_bytes());
    }
    Some((ip, u16::try_from(num(port, 16)?).ok()?))
}

/// Adds the sockets of `/proc/net/{tcp,udp,raw}` (`N` = 4) or their `6`
/// variants (`N` = 16) to `out`. A socket without a peer address is a server.
pub(super) fn inet_table<const N: usize>(
    text: &[u8],
    l4proto: u8,
    out: &mut HashMap<u64, SockEntry>,
) {
    for line in lines(text).skip(1) {
        let w: Vec<&[u8]> = words(line).take(10).collect();
        if w.len() < 10 {
            continue;
        }
        let (Some((sip, sport)), Some((dip, dport)), Some(ino)) =
            (inet_addr::<N>(w[1]), inet_addr::<N>(w[2]), num(w[9], 10))
        else {
            continue;
        };
        let server = dip.iter().all(|&b| b == 0);
        let (kind, addr) = match (
            N,
            <[u8; 4]>::try_from(&sip[..]),
            <[u8; 4]>::try_from(&dip[..]),
        ) {
            (4, Ok(ip), _) if server => (
                FdKind::Ipv4ServSock,
                FdAddr::Ipv4Server {
                    ip,
                    port: sport,
                    l4proto,
                },
            ),
            (4, Ok(sip), Ok(dip)) => (
                FdKind::Ipv4Sock,
                FdAddr::Ipv4 {
                    sip,
                    dip,
                    sport,
                    dport,
                    l4proto,
                },
            ),
            _ => {
                let (Ok(sip), Ok(dip)) = (
                    <[u8; 16]>::try_from(&sip[..]),
                    <[u8; 16]>::try_from(&dip[..]),
                ) else {
                    continue;
                };
                if server {
                    (
                        FdKind::Ipv6ServSock,
                        FdAddr::Ipv6Server {
                            ip: sip,
                            port: sport,
                            l4proto,
                        },
                    )
                } else {
                    (
                        FdKind::Ipv6Sock,
                        FdAddr::Ipv6 {
                            sip,
                            dip,
                            sport,
                            dport,
                            l4proto,
                        },
                    )
                }
            }
        };
        out.insert(
            ino,
            SockEntry {
                kind,
                addr,
                name: Vec::new(),
            },
        );
    }
}

/// Takes the next whitespace-separated field off the front of `rest`.
fn next_field<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let start = rest.iter().position(|c| !c.is_ascii_whitespace())?;
    let tail = &rest[start..];
    let end = tail
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(tail.len());
    *rest = &tail[end..];
    Some(&tail[..end])
}

/// Adds the sockets of `/proc/net/unix` to `out`: source is the kernel
/// pointer (`Num`, zero when hidden), the name is the bound path.
pub(super) fn unix_table(text: &[u8], max_name: usize, out: &mut HashMap<u64, SockEntry>) {
    for line in lines(text).skip(1) {
        let mut rest = line;
        let Some(num_f) = next_field(&mut rest) else {
            continue;
        };
        let source = num(num_f.strip_suffix(b":").unwrap_or(num_f), 16).unwrap_or(0);
        let mut ino = None;
        // RefCount, Protocol, Flags, Type, St, then Inode.
        for _ in 0..6 {
            ino = next_field(&mut rest);
        }
        let Some(ino) = ino.and_then(|f| num(f, 10)) else {
            continue;
        };
        let path = rest.trim_ascii();
        let name = path[..path.len().min(max_name)].to_vec();
        out.insert(
            ino,
            SockEntry {
                kind: FdKind::UnixSock,
                addr: FdAddr::Unix { source, dest: 0 },
                name,
            },
        );
    }
}

/// Adds the sockets of `/proc/net/netlink` (inode in the tenth column) to `out`.
pub(super) fn netlink_table(text: &[u8], out: &mut HashMap<u64, SockEntry>) {
    for line in lines(text).skip(1) {
        if let Some(ino) = words(line).nth(9).and_then(|w| num(w, 10)) {
            out.insert(
                ino,
                SockEntry {
                    kind: FdKind::Netlink,
                    addr: FdAddr::None,
                    name: Vec::new(),
                },
            );
        }
    }
}

/// The fd kind of an anonymous inode from its link text (`anon_inode:[eventfd]`, ...).
pub(super) fn anon_kind(link: &[u8]) -> FdKind {
    let Some(what) = link.strip_prefix(b"anon_inode:") else {
        return FdKind::Unsupported;
    };
    match what {
        b"[eventfd]" => FdKind::Event,
        b"[signalfd]" => FdKind::SignalFd,
        b"[eventpoll]" => FdKind::EventPoll,
        b"inotify" => FdKind::Inotify,
        b"[timerfd]" => FdKind::TimerFd,
        b"[io_uring]" => FdKind::IoUring,
        b"[userfaultfd]" => FdKind::UserFaultFd,
        b"[pidfd]" => FdKind::PidFd,
        w if w.starts_with(b"bpf") || w.starts_with(b"[bpf") => FdKind::Bpf,
        _ => FdKind::Unsupported,
    }
}

/// Number of CPUs in a cpu list such as `/sys/devices/system/cpu/online` (`0-3,6`).
pub(super) fn cpu_count(text: &[u8]) -> u32 {
    let mut n = 0u32;
    for part in text.trim_ascii().split(|&c| c == b',') {
        let mut ends = part.splitn(2, |&c| c == b'-');
        let lo = ends.next().and_then(|v| num(v, 10));
        let hi = ends.next().map_or(lo, |v| num(v, 10));
        if let (Some(lo), Some(hi)) = (lo, hi) {
            n = n.saturating_add(sat32(hi.saturating_sub(lo).saturating_add(1)));
        }
    }
    n
}

/// The value of a `Key:  N kB` line of `/proc/meminfo`, in bytes.
pub(super) fn meminfo_bytes(text: &[u8], key: &[u8]) -> Option<u64> {
    let line = lines(text).find(|l| l.starts_with(key) && l.get(key.len()) == Some(&b':'))?;
    let kb = num(words(&line[key.len() + 1..]).next()?, 10)?;
    Some(kb.saturating_mul(1024))
}

/// The `btime` (boot time, seconds since the epoch) of `/proc/stat`.
pub(super) fn btime(text: &[u8]) -> Option<u64> {
    let line = lines(text).find(|l| l.starts_with(b"btime "))?;
    num(&line[b"btime ".len()..], 10)
}

/// Users of an `/etc/passwd` file (`name:pw:uid:gid:gecos:home:shell`).
pub(super) fn passwd(text: &[u8]) -> Vec<UserInfo> {
    lines(text)
        .filter_map(|l| {
            let f: Vec<&[u8]> = l.split(|&c| c == b':').collect();
            if f.len() < 7 || l.starts_with(b"#") {
                return None;
            }
            Some(UserInfo {
                uid: sat32(num(f[2], 10)?),
                gid: sat32(num(f[3], 10)?),
                name: f[0].to_vec(),
                homedir: f[5].to_vec(),
                shell: f[6].to_vec(),
            })
        })
        .collect()
}

/// Groups of an `/etc/group` file (`name:pw:gid:members`).
pub(super) fn group(text: &[u8]) -> Vec<GroupInfo> {
    lines(text)
        .filter_map(|l| {
            let f: Vec<&[u8]> = l.split(|&c| c == b':').collect();
            if f.len() < 3 || l.starts_with(b"#") {
                return None;
            }
            Some(GroupInfo {
                gid: sat32(num(f[2], 10)?),
                name: f[0].to_vec(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use osprey_event::flags::FILE_FLAGS;

    #[test]
    fn ppm_codes_match_the_event_table() {
        let v = |n: &str| {
            FILE_FLAGS
                .entries
                .iter()
                .find(|(name, _)| *name == n)
                .map(|&(_, v)| v)
        };
        for (name, code) in [
            ("O_RDONLY", ppm::RDONLY),
            ("O_WRONLY", ppm::WRONLY),
            ("O_RDWR", ppm::RDWR),
            ("O_CREAT", ppm::CREAT),
            ("O_APPEND", ppm::APPEND),
            ("O_DSYNC", ppm::DSYNC),
            ("O_EXCL", ppm::EXCL),
            ("O_NONBLOCK", ppm::NONBLOCK),
            ("O_SYNC", ppm::SYNC),
            ("O_TRUNC", ppm::TRUNC),
            ("O_DIRECT", ppm::DIRECT),
            ("O_DIRECTORY", ppm::DIRECTORY),
            ("O_LARGEFILE", ppm::LARGEFILE),
            ("O_CLOEXEC", ppm::CLOEXEC),
            ("O_TMPFILE", ppm::TMPFILE),
        ] {
            assert_eq!(v(name), Some(code), "{name}");
        }
    }

    #[test]
    fn open_flags() {
        // O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE|O_CLOEXEC
        assert_eq!(
            open_flags_to_ppm(0o2101101),
            ppm::WRONLY | ppm::CREAT | ppm::TRUNC | ppm::LARGEFILE | ppm::CLOEXEC
        );
        assert_eq!(open_flags_to_ppm(0), ppm::RDONLY);
        assert_eq!(open_flags_to_ppm(0o2 | 0o4000), ppm::RDWR | ppm::NONBLOCK);
        assert_eq!(open_flags_to_ppm(0o10000), ppm::RDONLY | ppm::DSYNC);
        assert_eq!(
            open_flags_to_ppm(0o4010001),
            ppm::WRONLY | ppm::DSYNC | ppm::SYNC
        );
        assert_eq!(open_flags_to_ppm(0o20200002), ppm::RDWR | ppm::TMPFILE);
    }

    #[test]
    fn status_fields() {
        let t = b"Name:\tcat\nTgid:\t42\nNgid:\t0\nPid:\t43\nPPid:\t7\nUid:\t1000\t1001\t1000\t1000\n\
Gid:\t5\t6\t5\t5\nNStgid:\t42\t3\nNSpid:\t43\t4\nNSpgid:\t40\t1\nVmSize:\t  1024 kB\nVmRSS:\t 12 kB\n\
VmSwap:\t 0 kB\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n";
        let s = status(t);
        assert_eq!(s.tgid, Some(42));
        assert_eq!(s.ppid, 7);
        assert_eq!((s.euid, s.egid), (1001, 6));
        assert_eq!((s.vtid, s.vpid, s.pgid), (Some(4), Some(3), Some((40, 1))));
        assert_eq!((s.vmsize_kb, s.vmrss_kb, s.vmswap_kb), (1024, 12, 0));
        assert_eq!(
            (s.cap_inh, s.cap_prm, s.cap_eff),
            (0, 0x1ff_ffff_ffff, 0x1ff_ffff_ffff)
        );
        assert_eq!(
            status(b"garbage\n::::\nUid:\n\xff:\xff"),
            Status {
                euid: u32::MAX,
                ..Status::default()
            }
        );
    }

    #[test]
    fn stat_fields() {
        let t = b"42 (a) b) (c) S 1 40 41 34816 40 4194304 100 0 7 0 1 2 0 0 20 0 1 0";
        assert_eq!(
            stat(t),
            Some(Stat {
                pgrp: 40,
                session: 41,
                tty: 34816,
                minflt: 100,
                majflt: 7
            })
        );
        assert_eq!(stat(b"1 (x) S 1 2"), None);
        assert_eq!(stat(b"no paren"), None);
    }

    #[test]
    fn limits_and_cgroups() {
        let l = b"Limit                     Soft Limit           Hard Limit           Units     \n\
Max open files            1024                 524288               files     \n";
        assert_eq!(fd_limit(l), Some(1024));
        assert_eq!(
            fd_limit(b"Max open files  unlimited unlimited files\n"),
            Some(u64::MAX)
        );
        let c = b"12:cpu,cpuacct:/a:b\n1:name=systemd:/init.scope\n0::/user.slice\nbad\n";
        let v2 = vec![b"memory".to_vec(), b"pids".to_vec()];
        assert_eq!(
            cgroups(c, &v2, 4096),
            b"cpu=/a:b\0cpuacct=/a:b\0name=systemd=/init.scope\0memory=/user.slice\0pids=/user.slice\0"
        );
        assert_eq!(cgroups(c, &v2, 20), b"cpu=/a:b\0");
    }

    #[test]
    fn fdinfo_and_mountinfo() {
        assert_eq!(
            fdinfo(b"pos:\t0\nflags:\t02100001\nmnt_id:\t27\nino:\t5\n"),
            (Some(0o2100001), Some(27))
        );
        let m = b"27 1 259:1 / / rw - ext4 /dev/x rw\n28 27 0:5 / /dev rw - devtmpfs\nshort\n";
        let v: Vec<_> = mountinfo(m).collect();
        assert_eq!(v, vec![(27, (259 << 8) | 1), (28, 5)]);
    }

    #[test]
    fn inet_tables() {
        let tcp = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0 100 0 0 10 0\n\
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 1235 1 0 20 4 30 10 -1\n\
   2: garbage\n";
        let mut m = HashMap::new();
        inet_table::<4>(tcp, L4_TCP, &mut m);
        assert_eq!(m.len(), 2);
        let lo = if cfg!(target_endian = "little") {
            [127, 0, 0, 1]
        } else {
            [1, 0, 0, 127]
        };
        assert_eq!(
            m[&1234].addr,
            FdAddr::Ipv4Server {
                ip: lo,
                port: 8080,
                l4proto: L4_TCP
            }
        );
        assert_eq!(m[&1234].kind, FdKind::Ipv4ServSock);
        assert_eq!(
            m[&1235].addr,
            FdAddr::Ipv4 {
                sip: lo,
                dip: lo,
                sport: 8080,
                dport: 50000,
                l4proto: L4_TCP
            }
        );
        let tcp6 = b"header\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0\n";
        let mut m6 = HashMap::new();
        inet_table::<16>(tcp6, L4_TCP, &mut m6);
        let mut one = [0u8; 16];
        one[12..].copy_from_slice(&0x0100_0000u32.to_ne_bytes());
        assert_eq!(m6[&77].kind, FdKind::Ipv6ServSock);
        assert_eq!(
            m6[&77].addr,
            FdAddr::Ipv6Server {
                ip: one,
                port: 22,
                l4proto: L4_TCP
            }
        );
    }

    #[test]
    fn unix_and_netlink_tables() {
        let u = b"Num       RefCount Protocol Flags    Type St Inode Path\n\
ffff8880:  00000002 00000000 00010000 0001 01 5555 /run/a b.sock\n\
0000000000000000: 00000003 00000000 00000000 0001 03 5556\n\
x\n";
        let mut m = HashMap::new();
        unix_table(u, 1023, &mut m);
        assert_eq!(m[&5555].name, b"/run/a b.sock");
        assert_eq!(
            m[&5555].addr,
            FdAddr::Unix {
                source: 0xffff8880,
                dest: 0
            }
        );
        assert_eq!(m[&5556].name, b"");
        assert_eq!(m.len(), 2);
        let n = b"sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\n\
ffff 0 1 00000000 0 0 0 2 0 13\n";
        netlink_table(n, &mut m);
        assert_eq!(m[&13].kind, FdKind::Netlink);
    }

    #[test]
    fn anon_kinds() {
        assert_eq!(anon_kind(b"anon_inode:[eventfd]"), FdKind::Event);
        assert_eq!(anon_kind(b"anon_inode:inotify"), FdKind::Inotify);
        assert_eq!(anon_kind(b"anon_inode:bpf-map"), FdKind::Bpf);
        assert_eq!(anon_kind(b"anon_inode:[pidfd]"), FdKind::PidFd);
        assert_eq!(anon_kind(b"anon_inode:[perf_event]"), FdKind::Unsupported);
        assert_eq!(anon_kind(b"/x"), FdKind::Unsupported);
    }

    #[test]
    fn machine_files() {
        assert_eq!(cpu_count(b"0-3,6\n"), 5);
        assert_eq!(cpu_count(b"0\n"), 1);
        assert_eq!(cpu_count(b"x-\n"), 0);
        assert_eq!(
            meminfo_bytes(b"MemTotalX: 1 kB\nMemTotal:  2048 kB\n", b"MemTotal"),
            Some(2 << 20)
        );
        assert_eq!(btime(b"cpu 1 2\nbtime 1700000000\n"), Some(1_700_000_000));
    }

    #[test]
    fn users_and_groups() {
        let p = b"root:x:0:0:root:/root:/bin/bash\n#c:x:1:1:::\nbad\nnobody:x:65534:65534:n:/nonexistent:/usr/sbin/nologin\n";
        let u = passwd(p);
        assert_eq!(u.len(), 2);
        assert_eq!(
            (u[0].uid, &u[0].name[..], &u[0].shell[..]),
            (0, &b"root"[..], &b"/bin/bash"[..])
        );
        let g = group(b"root:x:0:\nadm:x:4:syslog,me\nx:y\n");
        assert_eq!(g.iter().map(|g| g.gid).collect::<Vec<_>>(), vec![0, 4]);
    }
}
