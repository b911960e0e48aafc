//! [`Writer`]: encoder of .scap captures in the current (1.2) format.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use osprey_event::snapshot::{FdAddr, FdInfo, FdKind, InterfaceInfo, ProcInfo, Snapshot};
use osprey_event::EventRef;

use crate::block;
use crate::error::{Error, Location, Result};
use crate::meta::MI_LEN;

/// Where the bytes go: straight through, or through gzip.
enum Sink<W: Write> {
    Plain(W),
    Gzip(GzEncoder<W>),
}

/// Writes a capture: [`Writer::write_snapshot`] once, then [`Writer::write_event`]
/// per event, then [`Writer::finish`].
///
/// Blocks written: SHB 1.2 (no options), MI, IL_V2, UL_V2, PL_V9, one FDL_V2 per
/// thread with fds, then EV_V2 / EVF_V2 (when dump flags are set) and their
/// `_LARGE` forms for large-payload event types.
pub struct Writer<W: Write> {
    sink: Sink<W>,
    /// Bytes written (uncompressed).
    pos: u64,
    /// Scratch buffer for one block body.
    buf: Vec<u8>,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("pos", &self.pos)
            .field("gzip", &matches!(self.sink, Sink::Gzip(_)))
            .finish_non_exhaustive()
    }
}

impl Writer<BufWriter<File>> {
    /// Creates (truncates) the file at `path`; `gzip` compresses the whole stream.
    pub fn create(path: impl AsRef<Path>, gzip: bool) -> Result<Self> {
        let f = File::create(path).map_err(|source| Error::Io {
            loc: Location {
                offset: 0,
                block: "file",
                event_index: None,
            },
            source,
        })?;
        let w = BufWriter::with_capacity(256 * 1024, f);
        Ok(if gzip {
            Writer::new_gzip(w)
        } else {
            Writer::new(w)
        })
    }
}

impl<W: Write> Writer<W> {
    /// Writes an uncompressed capture to `w`.
    pub fn new(w: W) -> Self {
        Writer {
            sink: Sink::Plain(w),
            pos: 0,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Writes a gzip-compressed capture to `w`.
    pub fn new_gzip(w: W) -> Self {
        Writer {
            sink: Sink::Gzip(GzEncoder::new(w, Compression::default())),
            pos: 0,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Writes the section header and the metadata blocks describing `snap`.
    pub fn write_snapshot(&mut self, snap: &Snapshot) -> Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        b.extend_from_slice(&block::SHB_MAGIC.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        self.block(block::SHB, &b)?;
        if snap.exit_only {
            b.clear();
            b.extend_from_slice(&0u32.to_le_bytes()); // private enterprise number
            b.extend_from_slice(block::EXIT_ONLY_TAG);
            self.block(block::CUSTOM, &b)?;
        }

        if let Some(m) = &snap.machine {
            b.clear();
            b.extend_from_slice(&m.num_cpus.to_le_bytes());
            b.extend_from_slice(&m.memory_size_bytes.to_le_bytes());
            b.extend_from_slice(&m.max_pid.to_le_bytes());
            let mut host = [0u8; 128];
            let n = m.hostname.len().min(127);
            host[..n].copy_from_slice(&m.hostname[..n]);
            b.extend_from_slice(&host);
            b.extend_from_slice(&m.boot_ts_epoch.to_le_bytes());
            b.extend_from_slice(&m.flags.to_le_bytes());
            b.extend_from_slice(&[0u8; 16]);
            debug_assert_eq!(b.len(), MI_LEN);
            self.block(block::MI, &b)?;
        }

        if !snap.interfaces.is_empty() {
            b.clear();
            let v4 = snap
                .interfaces
                .iter()
                .filter(|i| matches!(i, InterfaceInfo::V4 { .. }));
            let v6 = snap
                .interfaces
                .iter()
                .filter(|i| matches!(i, InterfaceInfo::V6 { .. }));
            for i in v4.chain(v6) {
                put_interface(&mut b, i);
            }
            self.block(block::IL_V2, &b)?;
        }

        if !snap.users.is_empty() || !snap.groups.is_empty() {
            b.clear();
            for u in &snap.users {
                let start = begin_entry(&mut b);
                b.push(0);
                b.extend_from_slice(&u.uid.to_le_bytes());
                b.extend_from_slice(&u.gid.to_le_bytes());
                put_str16(&mut b, &u.name);
                put_str16(&mut b, &u.homedir);
                put_str16(&mut b, &u.shell);
                end_entry(&mut b, start);
            }
            for g in &snap.groups {
                let start = begin_entry(&mut b);
                b.push(1);
                b.extend_from_slice(&g.gid.to_le_bytes());
                put_str16(&mut b, &g.name);
                end_entry(&mut b, start);
            }
            self.block(block::UL_V2, &b)?;
        }

        if !snap.procs.is_empty() {
            b.clear();
            for p in &snap.procs {
                put_proc(&mut b, p);
            }
            self.block(block::PL_V9, &b)?;
        }

        for p in snap.procs.iter().filter(|p| !p.fds.is_empty()) {
            b.clear();
            b.extend_from_slice(&p.tid.to_le_bytes());
            for fd in &p.fds {
                put_fd(&mut b, fd);
            }
            self.block(block::FDL_V2, &b)?;
        }
        self.buf = b;
        Ok(())
    }

    /// Writes one event: EV_V2, or EVF_V2 when it has dump flags, in the `_LARGE`
    /// block type for large-payload event types.
    pub fn write_event(&mut self, ev: &EventRef<'_>) -> Result<()> {
        let large = ev.info().is_some_and(osprey_event::EventInfo::is_large);
        let btype = match (ev.dump_flags != 0, large) {
            (false, false) => block::EV_V2,
            (false, true) => block::EV_V2_LARGE,
            (true, false) => block::EVF_V2,
            (true, true) => block::EVF_V2_LARGE,
        };
        let raw = ev.raw();
        let head_len = if ev.dump_flags != 0 { 6 } else { 2 };
        let body_len = head_len + raw.len();
        let pad = (4 - body_len % 4) % 4;
        let total = u32::try_from(8 + body_len + pad + 4).map_err(|_| Error::Malformed {
            loc: self.loc(block::name(btype)),
            reason: "event too large for a block",
        })?;
        let mut head = [0u8; 18];
        head[0..4].copy_from_slice(&btype.to_le_bytes());
        head[4..8].copy_from_slice(&total.to_le_bytes());
        head[8..10].copy_from_slice(&ev.cpu.to_le_bytes());
        head[10..14].copy_from_slice(&ev.dump_flags.to_le_bytes());
        let mut tail = [0u8; 7];
        tail[pad..pad + 4].copy_from_slice(&total.to_le_bytes());
        self.put(&head[..8 + head_len], btype)?;
        self.put(raw, btype)?;
        self.put(&tail[..pad + 4], btype)
    }

    /// Flushes everything (and ends the gzip stream) and returns the inner writer.
    pub fn finish(self) -> Result<W> {
        let loc = self.loc("end");
        let io = |source| Error::Io { loc, source };
        match self.sink {
            Sink::Plain(mut w) => {
                w.flush().map_err(io)?;
                Ok(w)
            }
            Sink::Gzip(g) => {
                let mut w = g.finish().map_err(io)?;
                w.flush().map_err(io)?;
                Ok(w)
            }
        }
    }

    fn loc(&self, block: &'static str) -> Location {
        Location {
            offset: self.pos,
            block,
            event_index: None,
        }
    }

    /// Writes one whole block with `body`, padding and trailer.
    fn block(&mut self, btype: u32, body: &[u8]) -> Result<()> {
        let pad = (4 - body.len() % 4) % 4;
        let total = u32::try_from(12 + body.len() + pad).map_err(|_| Error::Malformed {
            loc: self.loc(block::name(btype)),
            reason: "block too large",
        })?;
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&btype.to_le_bytes());
        head[4..].copy_from_slice(&total.to_le_bytes());
        let mut tail = [0u8; 7];
        tail[pad..pad + 4].copy_from_slice(&total.to_le_bytes());
        self.put(&head, btype)?;
        self.put(body, btype)?;
        self.put(&tail[..pad + 4], btype)
    }

    fn put(&mut self, bytes: &[u8], btype: u32) -> Result<()> {
        let r = match &mut self.sink {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Gzip(w) => w.write_all(bytes),
        };
        r.map_err(|source: io::Error| Error::Io {
            loc: self.loc(block::name(btype)),
            source,
        })?;
        self.pos += bytes.len() as u64;
        Ok(())
    }
}

/// Appends a `u16`-length-prefixed string (cut at `u16::MAX` bytes).
fn put_str16(b: &mut Vec<u8>, s: &[u8]) {
    let n = s.len().min(usize::from(u16::MAX));
    b.extend_from_slice(&(n as u16).to_le_bytes());
    b.extend_from_slice(&s[..n]);
}

/// Starts an entry whose `u32` length (including itself) is patched by [`end_entry`].
fn begin_entry(b: &mut Vec<u8>) -> usize {
    let start = b.len();
    b.extend_from_slice(&[0u8; 4]);
    start
}

fn end_entry(b: &mut [u8], start: usize) {
    let len = u32::try_from(b.len() - start).unwrap_or(u32::MAX);
    b[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

fn put_interface(b: &mut Vec<u8>, i: &InterfaceInfo) {
    let start = begin_entry(b);
    let (kind, name, addrs, linkspeed): (u16, &[u8], [&[u8]; 3], u64) = match i {
        InterfaceInfo::V4 {
            name,
            addr,
            netmask,
            bcast,
            linkspeed,
        } => (1, name, [addr, netmask, bcast], *linkspeed),
        InterfaceInfo::V6 {
            name,
            addr,
            netmask,
            bcast,
            linkspeed,
        } => (2, name, [addr, netmask, bcast], *linkspeed),
    };
    b.extend_from_slice(&kind.to_le_bytes());
    let n = name.len().min(1023);
    b.extend_from_slice(&u16::try_from(n).unwrap_or(1023).to_le_bytes());
    for a in addrs {
        b.extend_from_slice(a);
    }
    b.extend_from_slice(&linkspeed.to_le_bytes());
    b.extend_from_slice(&name[..n]);
    // IL_V2 entry lengths exclude the length field itself.
    let len = u32::try_from(b.len() - start - 4).unwrap_or(u32::MAX);
    b[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// Appends one PL_V9 entry.
///
/// The optional tail uses the pre-0.10 layout (loginuid, exe_writable, capabilities:
/// 29 bytes) when the fields only the newer layout carries are all at their
/// defaults: readers of every age (sysdig 0.29.3 included) then decode it exactly.
/// Otherwise the full current layout is written, as current libs do.
fn put_proc(b: &mut Vec<u8>, p: &ProcInfo) {
    let start = begin_entry(b);
    for v in [p.tid, p.pid, p.ptid, p.sid, p.vpgid] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    put_str16(b, &p.comm);
    put_str16(b, &p.exe);
    put_str16(b, &p.exepath);
    put_str16(b, &p.args);
    put_str16(b, &p.cwd);
    b.extend_from_slice(&p.fdlimit.to_le_bytes());
    for v in [p.flags, p.uid, p.gid, p.vmsize_kb, p.vmrss_kb, p.vmswap_kb] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&p.pfmajor.to_le_bytes());
    b.extend_from_slice(&p.pfminor.to_le_bytes());
    put_str16(b, &p.env);
    b.extend_from_slice(&p.vtid.to_le_bytes());
    b.extend_from_slice(&p.vpid.to_le_bytes());
    put_str16(b, &p.cgroups);
    put_str16(b, &p.root);
    let compact = p.pidns_init_start_ts == 0
        && p.tty == 0
        && !p.exe_upper_layer
        && p.exe_ino == 0
        && p.exe_ino_ctime == 0
        && p.exe_ino_mtime == 0
        && !p.exe_from_memfd
        && !p.exe_lower_layer
        && p.pgid == -1;
    if !compact {
        b.extend_from_slice(&p.pidns_init_start_ts.to_le_bytes());
        b.extend_from_slice(&p.tty.to_le_bytes());
    }
    b.extend_from_slice(&p.loginuid.to_le_bytes());
    b.push(u8::from(p.exe_writable));
    b.extend_from_slice(&p.cap_inheritable.to_le_bytes());
    b.extend_from_slice(&p.cap_permitted.to_le_bytes());
    b.extend_from_slice(&p.cap_effective.to_le_bytes());
    if !compact {
        b.push(u8::from(p.exe_upper_layer));
        b.extend_from_slice(&p.exe_ino.to_le_bytes());
        b.extend_from_slice(&p.exe_ino_ctime.to_le_bytes());
        b.extend_from_slice(&p.exe_ino_mtime.to_le_bytes());
        b.push(u8::from(p.exe_from_memfd));
        b.push(u8::from(p.exe_lower_layer));
        b.extend_from_slice(&p.pgid.to_le_bytes());
    }
    end_entry(b, start);
}

/// Appends one FDL_V2 entry.
fn put_fd(b: &mut Vec<u8>, fd: &FdInfo) {
    let start = begin_entry(b);
    b.extend_from_slice(&fd.fd.to_le_bytes());
    b.extend_from_slice(&fd.ino.to_le_bytes());
    b.push(fd.kind as u8);
    match (&fd.kind, &fd.addr) {
        (
            FdKind::Ipv4Sock,
            FdAddr::Ipv4 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            },
        ) => {
            b.extend_from_slice(sip);
            b.extend_from_slice(dip);
            b.extend_from_slice(&sport.to_le_bytes());
            b.extend_from_slice(&dport.to_le_bytes());
            b.push(*l4proto);
        }
        (
            FdKind::Ipv6Sock,
            FdAddr::Ipv6 {
                sip,
                dip,
                sport,
                dport,
                l4proto,
            },
        ) => {
            b.extend_from_slice(sip);
            b.extend_from_slice(dip);
            b.extend_from_slice(&sport.to_le_bytes());
            b.extend_from_slice(&dport.to_le_bytes());
            b.push(*l4proto);
        }
        (FdKind::Ipv4ServSock, FdAddr::Ipv4Server { ip, port, l4proto }) => {
            b.extend_from_slice(ip);
            b.extend_from_slice(&port.to_le_bytes());
            b.push(*l4proto);
        }
        (FdKind::Ipv6ServSock, FdAddr::Ipv6Server { ip, port, l4proto }) => {
            b.extend_from_slice(ip);
            b.extend_from_slice(&port.to_le_bytes());
            b.push(*l4proto);
        }
        (FdKind::Ipv4Sock, _) => b.extend_from_slice(&[0u8; 13]),
        (FdKind::Ipv6Sock, _) => b.extend_from_slice(&[0u8; 37]),
        (FdKind::Ipv4ServSock, _) => b.extend_from_slice(&[0u8; 7]),
        (FdKind::Ipv6ServSock, _) => b.extend_from_slice(&[0u8; 19]),
        (FdKind::UnixSock, addr) => {
            let (source, dest) = match addr {
                FdAddr::Unix { source, dest } => (*source, *dest),
                _ => (0, 0),
            };
            b.extend_from_slice(&source.to_le_bytes());
            b.extend_from_slice(&dest.to_le_bytes());
            put_str16(b, &fd.name[..fd.name.len().min(1023)]);
        }
        (FdKind::FileV2, _) => {
            b.extend_from_slice(&fd.open_flags.to_le_bytes());
            put_str16(b, &fd.name[..fd.name.len().min(1023)]);
            b.extend_from_slice(&fd.dev.to_le_bytes());
        }
        (FdKind::Unknown, _) => {}
        _ => put_str16(b, &fd.name[..fd.name.len().min(1023)]),
    }
    end_entry(b, start);
}
