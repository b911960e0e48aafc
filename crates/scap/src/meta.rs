//! Decoding of the metadata blocks (MI, PL, FDL, IL, UL) into a [`Snapshot`].

use std::collections::HashMap;

use osprey_event::snapshot::{
    FdAddr, FdInfo, FdKind, GroupInfo, InterfaceInfo, MachineInfo, ProcInfo, Snapshot, UserInfo,
};

use crate::block;

/// Why a metadata block body could not be decoded.
pub(crate) type Reason = &'static str;

/// Limit on comm/exe/exepath/cwd/root lengths.
const MAX_PATH: usize = 1024;
/// Limit on args/env/cgroups lengths.
const MAX_ARGS: usize = 4096;
/// Limit (exclusive) on user/group string lengths.
const MAX_CRED: usize = 256;

/// Size of the machine-info body.
pub(crate) const MI_LEN: usize = 180;

/// A bounds-checked little-endian cursor over a block body.
pub(crate) struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

const OVERRUN: Reason = "entry runs past the end of the block";

impl<'a> Cur<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Cur { b, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Reason> {
        let end = self.pos.checked_add(n).ok_or(OVERRUN)?;
        let s = self.b.get(self.pos..end).ok_or(OVERRUN)?;
        self.pos = end;
        Ok(s)
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], Reason> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, Reason> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Reason> {
        self.arr().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Reason> {
        self.arr().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Reason> {
        self.arr().map(u64::from_le_bytes)
    }

    fn i64(&mut self) -> Result<i64, Reason> {
        self.arr().map(i64::from_le_bytes)
    }

    /// A `u16`-length-prefixed string of at most `max` bytes.
    fn str16(&mut self, max: usize, too_long: Reason) -> Result<Vec<u8>, Reason> {
        let n = usize::from(self.u16()?);
        if n > max {
            return Err(too_long);
        }
        Ok(self.take(n)?.to_vec())
    }

    /// Skips to `start + sub_len`, failing if more than `sub_len` bytes were consumed.
    fn finish_entry(&mut self, start: usize, sub_len: u32) -> Result<(), Reason> {
        if sub_len == 0 {
            return Ok(());
        }
        let read = self.pos - start;
        let sub_len = sub_len as usize;
        if read > sub_len {
            return Err("entry longer than its recorded length");
        }
        self.take(sub_len - read).map(|_| ())
    }
}

/// Appends a NUL to a non-empty NUL-separated list that lacks the final one.
fn nul_terminate(mut v: Vec<u8>) -> Vec<u8> {
    if v.last().is_some_and(|&c| c != 0) {
        v.push(0);
    }
    v
}

/// Decodes the machine-info body.
pub(crate) fn parse_mi(body: &[u8]) -> Result<MachineInfo, Reason> {
    if body.len() < MI_LEN {
        return Err("machine info shorter than 180 bytes");
    }
    let mut c = Cur::new(body);
    let num_cpus = c.u32()?;
    let memory_size_bytes = c.u64()?;
    let max_pid = c.u64()?;
    let host = c.take(128)?;
    let hlen = host.iter().position(|&b| b == 0).unwrap_or(host.len());
    let boot_ts_epoch = c.u64()?;
    let flags = c.u64()?;
    Ok(MachineInfo {
        num_cpus,
        memory_size_bytes,
        max_pid,
        hostname: host[..hlen].to_vec(),
        boot_ts_epoch,
        flags,
    })
}

/// The process-list format version (1..=9) of a PL block type.
fn pl_version(btype: u32) -> u8 {
    match btype {
        block::PL_V1 | block::PL_V1_INT => 1,
        block::PL_V2 | block::PL_V2_INT => 2,
        block::PL_V3 | block::PL_V3_INT => 3,
        block::PL_V4 => 4,
        block::PL_V5 => 5,
        block::PL_V6 => 6,
        block::PL_V7 => 7,
        block::PL_V8 => 8,
        _ => 9,
    }
}

/// Whether `btype` is a process-list block.
pub(crate) fn is_pl(btype: u32) -> bool {
    block::name(btype).starts_with("PL_")
}

/// Defaults for fields an entry may lack, matching what libscap assumes.
fn proc_defaults() -> ProcInfo {
    ProcInfo {
        sid: u64::MAX,
        vpgid: u64::MAX,
        pgid: -1,
        vtid: -1,
        vpid: -1,
        loginuid: u32::MAX,
        ..ProcInfo::default()
    }
}

/// Threads collected so far, indexed by tid so fd lists can find their owner.
#[derive(Debug, Default)]
pub(crate) struct Procs {
    pub(crate) by_tid: HashMap<u64, usize>,
}

impl Procs {
    fn insert(&mut self, snap: &mut Snapshot, p: ProcInfo) {
        if let Some(&i) = self.by_tid.get(&p.tid) {
            let fds = std::mem::take(&mut snap.procs[i].fds);
            snap.procs[i] = ProcInfo { fds, ..p };
        } else {
            self.by_tid.insert(p.tid, snap.procs.len());
            snap.procs.push(p);
        }
    }
}

/// Decodes a process-list block body (any version) into `snap`.
pub(crate) fn parse_pl(
    body: &[u8],
    btype: u32,
    snap: &mut Snapshot,
    procs: &mut Procs,
) -> Result<(), Reason> {
    let v = pl_version(btype);
    let mut c = Cur::new(body);
    while c.remaining() >= 4 {
        let start = c.pos;
        let sub_len = if v == 9 { c.u32()? } else { 0 };
        let mut p = proc_defaults();
        p.tid = c.u64()?;
        p.pid = c.u64()?;
        p.ptid = c.u64()?;
        if v >= 6 {
            p.sid = c.u64()?;
        }
        if v >= 8 {
            p.vpgid = c.u64()?;
        }
        p.comm = c.str16(MAX_PATH, "comm too long")?;
        p.exe = c.str16(MAX_PATH, "exe too long")?;
        if v >= 7 {
            p.exepath = c.str16(MAX_PATH, "exepath too long")?;
        }
        p.args = nul_terminate(c.str16(MAX_ARGS, "args too long")?);
        p.cwd = c.str16(MAX_PATH, "cwd too long")?;
        p.fdlimit = c.u64()?;
        p.flags = c.u32()?;
        p.uid = c.u32()?;
        p.gid = c.u32()?;
        if v >= 2 {
            p.vmsize_kb = c.u32()?;
            p.vmrss_kb = c.u32()?;
            p.vmswap_kb = c.u32()?;
            p.pfmajor = c.u64()?;
            p.pfminor = c.u64()?;
        }
        if v >= 3 {
            p.env = nul_terminate(c.str16(MAX_ARGS, "env too long")?);
        }
        if v >= 4 {
            p.vtid = c.i64()?;
            p.vpid = c.i64()?;
            p.cgroups = c.str16(MAX_ARGS, "cgroups too long")?;
        }
        if v >= 5 {
            p.root = c.str16(MAX_PATH, "root too long")?;
        }
        if sub_len != 0 {
            parse_pl_tail(&mut c, start, sub_len as usize, &mut p)?;
        }
        c.finish_entry(start, sub_len)?;
        procs.insert(snap, p);
    }
    Ok(())
}

/// Reads the optional PL_V9 fields that `sub_len` says are present.
fn parse_pl_tail(
    c: &mut Cur<'_>,
    start: usize,
    sub_len: usize,
    p: &mut ProcInfo,
) -> Result<(), Reason> {
    let fits = |c: &Cur<'_>, n: usize| c.pos - start + n <= sub_len;
    // Writers before libs 0.10 put loginuid, exe_writable and three capability sets
    // (29 bytes) right after `root`; 0.10 inserted pidns_init_start_ts and tty first.
    // A tail of at most 29 bytes therefore means the old layout.
    let pre_0_10 = sub_len.wrapping_sub(c.pos - start) <= 29;
    if !pre_0_10 {
        if fits(c, 8) {
            p.pidns_init_start_ts = c.u64()?;
        }
        if fits(c, 4) {
            p.tty = c.u32()?;
        }
    }
    if fits(c, 4) {
        p.loginuid = c.u32()?;
    }
    if fits(c, 1) {
        p.exe_writable = c.u8()? != 0;
    }
    if fits(c, 8) {
        p.cap_inheritable = c.u64()?;
    }
    if fits(c, 8) {
        p.cap_permitted = c.u64()?;
    }
    if fits(c, 8) {
        p.cap_effective = c.u64()?;
    }
    if fits(c, 1) {
        p.exe_upper_layer = c.u8()? != 0;
    }
    if fits(c, 8) {
        p.exe_ino = c.u64()?;
    }
    if fits(c, 8) {
        p.exe_ino_ctime = c.u64()?;
    }
    if fits(c, 8) {
        p.exe_ino_mtime = c.u64()?;
    }
    if fits(c, 1) {
        p.exe_from_memfd = c.u8()? != 0;
    }
    if fits(c, 1) {
        p.exe_lower_layer = c.u8()? != 0;
    }
    if fits(c, 8) {
        p.pgid = c.i64()?;
    }
    Ok(())
}

/// Decodes an fd-list block body and attaches the fds to their thread.
///
/// Fds of a thread absent from the process list are dropped.
pub(crate) fn parse_fdl(
    body: &[u8],
    btype: u32,
    snap: &mut Snapshot,
    procs: &Procs,
) -> Result<(), Reason> {
    let v2 = btype == block::FDL_V2;
    let mut c = Cur::new(body);
    let tid = c.u64()?;
    let mut fds = Vec::new();
    while c.remaining() >= 4 {
        let start = c.pos;
        let sub_len = if v2 { c.u32()? } else { 0 };
        let mut fd = FdInfo {
            fd: c.i64()?,
            ino: c.u64()?,
            ..FdInfo::default()
        };
        let t = c.u8()?;
        fd.kind = FdKind::from_u8(t);
        match fd.kind {
            FdKind::Ipv4Sock => {
                fd.addr = FdAddr::Ipv4 {
                    sip: c.arr()?,
                    dip: c.arr()?,
                    sport: c.u16()?,
                    dport: c.u16()?,
                    l4proto: c.u8()?,
                };
            }
            FdKind::Ipv4ServSock => {
                fd.addr = FdAddr::Ipv4Server {
                    ip: c.arr()?,
                    port: c.u16()?,
                    l4proto: c.u8()?,
                };
            }
            FdKind::Ipv6Sock => {
                fd.addr = FdAddr::Ipv6 {
                    sip: c.arr()?,
                    dip: c.arr()?,
                    sport: c.u16()?,
                    dport: c.u16()?,
                    l4proto: c.u8()?,
                };
            }
            FdKind::Ipv6ServSock => {
                fd.addr = FdAddr::Ipv6Server {
                    ip: c.arr()?,
                    port: c.u16()?,
                    l4proto: c.u8()?,
                };
            }
            FdKind::UnixSock => {
                fd.addr = FdAddr::Unix {
                    source: c.u64()?,
                    dest: c.u64()?,
                };
                fd.name = c.str16(MAX_PATH - 1, "fd name too long")?;
            }
            FdKind::FileV2 => {
                fd.open_flags = c.u32()?;
                fd.name = c.str16(MAX_PATH - 1, "fd name too long")?;
                if sub_len != 0 && (c.pos - start) + 4 <= sub_len as usize {
                    fd.dev = c.u32()?;
                }
            }
            FdKind::Unknown => {}
            FdKind::Unsupported if t != FdKind::Unsupported as u8 => {
                // A type newer than this reader: nothing more can be decoded.
                fd.name = format!("unknown-type:[{t}]").into_bytes();
            }
            _ => fd.name = c.str16(MAX_PATH - 1, "fd name too long")?,
        }
        c.finish_entry(start, sub_len)?;
        fds.push(fd);
    }
    if let Some(&i) = procs.by_tid.get(&tid) {
        snap.procs[i].fds.extend(fds);
    }
    Ok(())
}

/// Interface entry types.
const II_IPV4: u16 = 1;
const II_IPV6: u16 = 2;
const II_IPV4_NOLINKSPEED: u16 = 3;
const II_IPV6_NOLINKSPEED: u16 = 4;

/// Decodes an interface-list block body.
pub(crate) fn parse_il(body: &[u8], btype: u32, snap: &mut Snapshot) -> Result<(), Reason> {
    let v2 = btype == block::IL_V2;
    let mut c = Cur::new(body);
    while c.remaining() >= 4 {
        let entry_len = if v2 { c.u32()? as usize } else { 0 };
        let start = c.pos;
        let ty = c.u16()?;
        let namelen = usize::from(c.u16()?);
        if namelen >= MAX_PATH {
            return Err("interface name too long");
        }
        let info = match ty {
            II_IPV4 | II_IPV4_NOLINKSPEED => {
                let addr = c.arr()?;
                let netmask = c.arr()?;
                let bcast = c.arr()?;
                let linkspeed = if ty == II_IPV4 { c.u64()? } else { 0 };
                InterfaceInfo::V4 {
                    name: c.take(namelen)?.to_vec(),
                    addr,
                    netmask,
                    bcast,
                    linkspeed,
                }
            }
            II_IPV6 | II_IPV6_NOLINKSPEED => {
                let addr = c.arr()?;
                let netmask = c.arr()?;
                let bcast = c.arr()?;
                let linkspeed = if ty == II_IPV6 { c.u64()? } else { 0 };
                InterfaceInfo::V6 {
                    name: c.take(namelen)?.to_vec(),
                    addr,
                    netmask,
                    bcast,
                    linkspeed,
                }
            }
            _ => return Err("unknown interface type"),
        };
        if entry_len != 0 {
            let read = c.pos - start;
            if read > entry_len {
                return Err("interface entry longer than its recorded length");
            }
            c.take(entry_len - read)?;
        }
        snap.interfaces.push(info);
    }
    Ok(())
}

/// Decodes a user-list block body.
pub(crate) fn parse_ul(body: &[u8], btype: u32, snap: &mut Snapshot) -> Result<(), Reason> {
    let v2 = btype == block::UL_V2;
    let mut c = Cur::new(body);
    while c.remaining() >= 4 {
        let start = c.pos;
        let sub_len = if v2 { c.u32()? } else { 0 };
        let ty = c.u8()?;
        if ty == 0 {
            snap.users.push(UserInfo {
                uid: c.u32()?,
                gid: c.u32()?,
                name: c.str16(MAX_CRED - 1, "user name too long")?,
                homedir: c.str16(MAX_CRED - 1, "user homedir too long")?,
                shell: c.str16(MAX_CRED - 1, "user shell too long")?,
            });
        } else {
            snap.groups.push(GroupInfo {
                gid: c.u32()?,
                name: c.str16(MAX_CRED - 1, "group name too long")?,
            });
        }
        c.finish_entry(start, sub_len)?;
    }
    Ok(())
}
