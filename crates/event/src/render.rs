//! Rendering of event parameters as text, the way sysdig 0.29.3 prints them
//! in `evt.info`, `evt.args`, `evt.arg.NAME` and `evt.rawarg.NAME`.
//!
//! Everything writes into a caller-owned `Vec<u8>`; nothing allocates per call.
//! State-dependent parts (fd names, thread names, user names, the cwd) come
//! from a [`Resolver`] that the state library implements.

use std::io::Write as _;

use crate::errno::{errno_name, signal_name};
use crate::flags::{self, FlagTable};
use crate::syscalls::syscall_name;
use crate::table::{ParamType, PrintFormat};
use crate::EventRef;

/// `AT_FDCWD` as the drivers encode it.
pub const AT_FDCWD: i64 = -100;

/// What a file descriptor refers to, for the `fd=3(<f>/etc/passwd)` form.
#[derive(Debug, Clone, Copy)]
pub struct FdDesc<'a> {
    /// The type characters inside `<...>`: the fd type (`f`, `4`, `6`, `u`,
    /// `p`, `e`, `i`, `d`, ...) optionally followed by the l4 protocol
    /// character (`t`, `u`, `i`, `r`), e.g. `b"4t"`.
    pub type_chars: &'a [u8],
    /// The fd name (path, socket tuple, ...).
    pub name: &'a [u8],
}

/// Access to the state needed to resolve parameters of the event being
/// rendered (the event's thread is implied).
pub trait Resolver {
    /// Whether the event's thread is known; without it sysdig resolves nothing
    /// that depends on the thread (fds, fd lists, relative paths).
    fn has_thread(&self) -> bool;
    /// The fd `fd` of the event's thread.
    fn fd_info(&self, fd: i64) -> Option<FdDesc<'_>>;
    /// The `comm` of thread `tid`.
    fn thread_comm(&self, tid: i64) -> Option<&[u8]>;
    /// The working directory of the event's thread (with a trailing `/`).
    fn cwd(&self) -> Option<&[u8]>;
    /// The user name of `uid`.
    fn user_name(&self, uid: u32) -> Option<&[u8]>;
    /// The group name of `gid`.
    fn group_name(&self, gid: u32) -> Option<&[u8]>;
}

/// A [`Resolver`] that knows nothing (no thread, no fds).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoState;

impl Resolver for NoState {
    fn has_thread(&self) -> bool {
        false
    }
    fn fd_info(&self, _fd: i64) -> Option<FdDesc<'_>> {
        None
    }
    fn thread_comm(&self, _tid: i64) -> Option<&[u8]> {
        None
    }
    fn cwd(&self) -> Option<&[u8]> {
        None
    }
    fn user_name(&self, _uid: u32) -> Option<&[u8]> {
        None
    }
    fn group_name(&self, _gid: u32) -> Option<&[u8]> {
        None
    }
}

/// How byte buffers (`BYTEBUF` parameters such as `data`) are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BufFormat {
    /// Default: non-printable bytes become `.`.
    #[default]
    Normal,
    /// `-A`: a leading newline, printable bytes only, `\r` becomes `\n`.
    Ascii,
    /// `-x`: hex rows.
    Hex,
    /// `-X`: hex rows with an ASCII column.
    HexAscii,
    /// `-b`: base64.
    Base64,
    /// `-j`: like [`BufFormat::Normal`] (the JSON writer escapes later).
    Json,
    /// `-j -A`: like [`BufFormat::Ascii`].
    JsonAscii,
    /// `-j -x`.
    JsonHex,
    /// `-j -X`.
    JsonHexAscii,
    /// `-j -b`.
    JsonBase64,
}

/// Rendering options.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// The byte-buffer format.
    pub buf: BufFormat,
    /// Cap on a buffer's printed length in [`BufFormat::Normal`] (80 by default;
    /// `-v` and chisels remove it): longer forms are cut to the cap with the
    /// last 3 characters replaced by `...`.
    pub buf_limit: Option<usize>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            buf: BufFormat::Normal,
            buf_limit: Some(80),
        }
    }
}

/// Which part of a parameter to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgStyle {
    /// `value(resolved)`, as in `evt.info`/`evt.args`.
    Full,
    /// The resolved part when there is one, else the value, as `evt.arg.NAME`.
    Resolved,
}

fn push_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(v).as_bytes());
}

fn push_hex(out: &mut Vec<u8>, v: u64, upper: bool) {
    // `write!` into a Vec<u8> does not allocate beyond the Vec's growth.
    let _ = if upper {
        write!(out, "{v:X}")
    } else {
        write!(out, "{v:x}")
    };
}

fn push_oct(out: &mut Vec<u8>, v: u64) {
    // printf "%#o": a leading 0 unless the value is 0.
    let _ = if v == 0 {
        write!(out, "0")
    } else {
        write!(out, "0{v:o}")
    };
}

fn le<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.get(..N)?.try_into().ok()
}

/// Bytes of a NUL-terminated string parameter, without the NUL (the whole
/// slice when it was truncated without one).
pub fn cstr(b: &[u8]) -> &[u8] {
    match memchr::memchr(0, b) {
        Some(n) => &b[..n],
        None => b,
    }
}

/// Writes an integer with a print format, the way sysdig's printf formats do:
/// `signed` selects how `Dec` shows values with the top bit set
/// (sysdig prints `UINT32`/`UINT64` with `%d`-style signed conversions).
fn push_num(out: &mut Vec<u8>, raw: u64, width: u32, signed: bool, fmt: PrintFormat) {
    let mask = if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let u = raw & mask;
    let s = if width >= 64 {
        u as i64
    } else {
        let shift = 64 - width;
        ((u << shift) as i64) >> shift
    };
    match fmt {
        PrintFormat::Oct => push_oct(out, u),
        PrintFormat::Hex => push_hex(out, u, true),
        PrintFormat::PaddedDec => {
            let _ = if signed {
                write!(out, "{s:09}")
            } else {
                write!(out, "{u:09}")
            };
        }
        _ if signed => push_int(out, s),
        _ => push_int(out, u),
    }
}

/// Writes `N(A|B)`-style resolution of a flags value (the part inside the
/// parentheses) following sysdig 0.29.3: entries are walked in table order until
/// one equals the whole value; every earlier entry whose bits are all still set
/// is printed (and its bits cleared), then the exactly-equal entry, if any.
/// A zero-valued entry only matches a zero value.
pub fn write_flag_names(out: &mut Vec<u8>, table: &FlagTable, value: u32) {
    let mut rest = value;
    let mut first = true;
    for &(name, v) in table.entries {
        let hit = if v == value {
            true
        } else {
            v != 0 && rest != 0 && rest & v == v
        };
        if hit {
            if !first {
                out.push(b'|');
            }
            first = false;
            out.extend_from_slice(name.as_bytes());
            if v == value {
                return;
            }
            rest &= !v;
        }
    }
}

/// Writes the names of mode bits (`S_IRUSR|...`) for a `MODE` value.
fn write_mode_names(out: &mut Vec<u8>, table: &FlagTable, value: u32) {
    let mut first = true;
    for &(name, v) in table.entries {
        if v != 0 && value & v == v {
            if !first {
                out.push(b'|');
            }
            first = false;
            out.extend_from_slice(name.as_bytes());
        }
    }
}

/// Writes an IPv4 address given in network byte order.
pub fn write_ipv4(out: &mut Vec<u8>, ip: [u8; 4]) {
    for (i, o) in ip.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        push_int(out, *o);
    }
}

/// Writes an IPv6 address like `inet_ntop` (RFC 5952: lower-case hex, the
/// longest run of two or more zero groups as `::`, IPv4-mapped/compatible
/// addresses with a dotted tail).
pub fn write_ipv6(out: &mut Vec<u8>, ip: [u8; 16]) {
    let g: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([ip[2 * i], ip[2 * i + 1]]));
    // longest run of zeros (length >= 2)
    let (mut best, mut best_len, mut cur, mut cur_len) = (usize::MAX, 0, 0, 0);
    for (i, &w) in g.iter().enumerate() {
        if w == 0 {
            if cur_len == 0 {
                cur = i;
            }
            cur_len += 1;
            if cur_len > best_len {
                best = cur;
                best_len = cur_len;
            }
        } else {
            cur_len = 0;
        }
    }
    if best_len < 2 {
        best = usize::MAX;
    }
    // glibc prints a dotted tail for ::ffff:a.b.c.d and ::a.b.c.d (not ::1, ::)
    let v4_tail = best == 0 && (best_len == 6 || (best_len == 5 && g[5] == 0xffff));
    let mut i = 0;
    while i < 8 {
        if i == best {
            out.extend_from_slice(b"::");
            i += best_len;
            if v4_tail {
                if best_len == 5 {
                    out.extend_from_slice(b"ffff:");
                }
                write_ipv4(out, [ip[12], ip[13], ip[14], ip[15]]);
                return;
            }
            continue;
        }
        if i > 0 && !(best != usize::MAX && i == best + best_len) {
            out.push(b':');
        }
        push_hex(out, u64::from(g[i]), false);
        i += 1;
    }
}

fn is_v4_mapped(ip: &[u8]) -> bool {
    ip.len() == 16 && ip[..10].iter().all(|&b| b == 0) && ip[10] == 0xff && ip[11] == 0xff
}

/// Writes a `SOCKADDR` parameter: `1.2.3.4:80`, `::1:80`, a unix path,
/// `NULL` when empty or `family N` for other families.
pub fn write_sockaddr(out: &mut Vec<u8>, b: &[u8]) {
    let Some(&fam) = b.first() else {
        out.extend_from_slice(b"NULL");
        return;
    };
    match (fam, b.len()) {
        (1, _) => out.extend_from_slice(cstr(&b[1..])),
        (2, 7) => {
            write_ipv4(out, [b[1], b[2], b[3], b[4]]);
            out.push(b':');
            push_int(out, u16::from_le_bytes([b[5], b[6]]));
        }
        (2, _) => out.extend_from_slice(b"INVALID IPv4"),
        (10, 19) => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&b[1..17]);
            write_ipv6(out, ip);
            out.push(b':');
            push_int(out, u16::from_le_bytes([b[17], b[18]]));
        }
        (10, _) => out.extend_from_slice(b"INVALID IPv6"),
        _ => {
            out.extend_from_slice(b"family ");
            push_int(out, fam);
        }
    }
}

/// Writes a `SOCKTUPLE` parameter: `sip:sport->dip:dport` (IPv4, IPv6 and
/// IPv4-mapped IPv6 shown as IPv4), `srcptr->dstptr path` for unix sockets
/// (pointers in lower-case hex), `NULL` when empty, `family N` otherwise.
pub fn write_socktuple(out: &mut Vec<u8>, b: &[u8]) {
    let Some(&fam) = b.first() else {
        out.extend_from_slice(b"NULL");
        return;
    };
    match (fam, b.len()) {
        (2, 13) => {
            write_ipv4(out, [b[1], b[2], b[3], b[4]]);
            out.push(b':');
            push_int(out, u16::from_le_bytes([b[5], b[6]]));
            out.extend_from_slice(b"->");
            write_ipv4(out, [b[7], b[8], b[9], b[10]]);
            out.push(b':');
            push_int(out, u16::from_le_bytes([b[11], b[12]]));
        }
        (2, _) => out.extend_from_slice(b"INVALID IPv4"),
        (10, 37) => {
            let (sip, dip) = (&b[1..17], &b[19..35]);
            let sport = u16::from_le_bytes([b[17], b[18]]);
            let dport = u16::from_le_bytes([b[35], b[36]]);
            if is_v4_mapped(sip) && is_v4_mapped(dip) {
                write_ipv4(out, [sip[12], sip[13], sip[14], sip[15]]);
            } else {
                write_ipv6(out, sip.try_into().unwrap_or([0; 16]));
            }
            out.push(b':');
            push_int(out, sport);
            out.extend_from_slice(b"->");
            if is_v4_mapped(sip) && is_v4_mapped(dip) {
                write_ipv4(out, [dip[12], dip[13], dip[14], dip[15]]);
            } else {
                write_ipv6(out, dip.try_into().unwrap_or([0; 16]));
            }
            out.push(b':');
            push_int(out, dport);
        }
        (10, _) => out.extend_from_slice(b"INVALID IPv6"),
        (1, n) if n >= 17 => {
            let src = u64::from_le_bytes(le::<8>(&b[1..]).unwrap_or_default());
            let dst = u64::from_le_bytes(le::<8>(&b[9..]).unwrap_or_default());
            push_hex(out, src, false);
            out.extend_from_slice(b"->");
            push_hex(out, dst, false);
            out.push(b' ');
            out.extend_from_slice(cstr(&b[17..]));
        }
        _ => {
            out.extend_from_slice(b"family ");
            push_int(out, fam);
        }
    }
}

fn printable(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}

/// Writes a byte buffer in the given format (without any length cap).
pub fn write_buffer(out: &mut Vec<u8>, b: &[u8], fmt: BufFormat) {
    if b.is_empty() {
        return;
    }
    match fmt {
        BufFormat::Normal | BufFormat::Json => {
            out.extend(b.iter().map(|&c| if printable(c) { c } else { b'.' }));
        }
        BufFormat::Ascii | BufFormat::JsonAscii => {
            out.push(b'\n');
            for (j, &c) in b.iter().enumerate() {
                if printable(c) {
                    out.push(c);
                } else if c == b'\r' || (c == b'\n' && j > 0 && b[j - 1] != b'\r') {
                    out.push(b'\n');
                }
            }
        }
        BufFormat::Hex | BufFormat::JsonHex => write_hex_rows(out, b, false),
        BufFormat::HexAscii | BufFormat::JsonHexAscii => write_hex_rows(out, b, true),
        BufFormat::Base64 | BufFormat::JsonBase64 => {
            use base64::Engine as _;
            let start = out.len();
            let n = base64::encoded_len(b.len(), true).unwrap_or(0);
            out.resize(start + n, 0);
            let w = base64::engine::general_purpose::STANDARD
                .encode_slice(b, &mut out[start..])
                .unwrap_or(0);
            out.truncate(start + w);
        }
    }
}

fn write_hex_rows(out: &mut Vec<u8>, b: &[u8], ascii: bool) {
    for (r, row) in b.chunks(16).enumerate() {
        let _ = write!(out, "\n\t0x{:04x}:", r * 16);
        let mut groups = 0;
        for pair in row.chunks(2) {
            let _ = match pair {
                [a, c] => write!(out, " {a:02x}{c:02x}"),
                [a] => write!(out, " {a:02x}"),
                _ => Ok(()),
            };
            groups += 1;
        }
        if ascii {
            for _ in groups..8 {
                out.extend_from_slice(b"     ");
            }
            out.extend_from_slice(b"  ");
            out.extend(row.iter().map(|&c| if printable(c) { c } else { b'.' }));
        }
    }
    out.push(b'\n');
}

/// Writes `a` joined with `b` and normalised like sysdig's path concatenation:
/// `.` and empty components dropped, `..` removes the previous component.
pub fn write_joined_path(out: &mut Vec<u8>, base: &[u8], rel: &[u8]) {
    let start = out.len();
    out.push(b'/');
    for comp in base.split(|&c| c == b'/').chain(rel.split(|&c| c == b'/')) {
        match comp {
            b"" | b"." => {}
            b".." => {
                // drop the last component (never the leading '/')
                let cut = out[start..]
                    .iter()
                    .rposition(|&c| c == b'/')
                    .map_or(start + 1, |p| (start + p).max(start + 1));
                out.truncate(cut);
                if out.len() > start + 1 {
                    // remove the separator left behind
                    if out.last() == Some(&b'/') {
                        out.pop();
                    }
                }
            }
            c => {
                if out.len() > start + 1 {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
}

/// `%g`-style (6 significant digits) rendering of a double, as C's `%lg`.
fn push_g(out: &mut Vec<u8>, v: f64) {
    if v == 0.0 || !v.is_finite() {
        let _ = write!(out, "{v}");
        return;
    }
    let start = out.len();
    let _ = write!(out, "{v:.5e}");
    let epos = out[start..]
        .iter()
        .position(|&c| c == b'e')
        .map_or(out.len(), |p| start + p);
    let exp: i32 = std::str::from_utf8(&out[(epos + 1).min(out.len())..])
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    if !(-4..6).contains(&exp) {
        out.truncate(epos);
        trim_zeros(out, start);
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
    } else {
        out.truncate(start);
        let decimals = usize::try_from(5 - exp).unwrap_or(0);
        let _ = write!(out, "{v:.decimals$}");
        trim_zeros(out, start);
    }
}

/// Removes trailing zeros (and a trailing `.`) of a decimal fraction in `out[start..]`.
fn trim_zeros(out: &mut Vec<u8>, start: usize) {
    if !out[start..].contains(&b'.') {
        return;
    }
    while out.last() == Some(&b'0') {
        out.pop();
    }
    if out.last() == Some(&b'.') {
        out.pop();
    }
}

/// Renders parameter `idx` of `ev` into `out` (without `name=`).
/// Returns `false` (writing nothing) when the event has no such parameter.
pub fn render_param(
    out: &mut Vec<u8>,
    ev: &EventRef<'_>,
    idx: usize,
    res: &dyn Resolver,
    opts: &RenderOptions,
    style: ArgStyle,
) -> bool {
    let (Some(info), Some(b)) = (ev.info(), ev.param(idx)) else {
        return false;
    };
    let Some(p) = info.params.get(idx) else {
        return false;
    };
    let start = out.len();
    let mut tmp_dirfd = None;
    if p.ty == ParamType::FsRelPath {
        tmp_dirfd = flags::dirfd_param(ev.etype(), idx)
            .and_then(|d| ev.param(d))
            .and_then(|d| le::<8>(d).map(i64::from_le_bytes));
    }
    let ctx = Ctx {
        etype: ev.etype(),
        idx,
        res,
        opts,
        dirfd: tmp_dirfd,
    };
    let split = write_value(out, &ctx, p.ty, p.fmt, b);
    if let Some(mid) = split {
        // out[start..mid] = value, out[mid..] = resolved
        if mid == out.len() {
            return true;
        }
        match style {
            ArgStyle::Full => {
                out.insert(mid, b'(');
                out.push(b')');
            }
            ArgStyle::Resolved => {
                out.drain(start..mid);
            }
        }
    }
    true
}

struct Ctx<'r> {
    etype: u16,
    idx: usize,
    res: &'r dyn Resolver,
    opts: &'r RenderOptions,
    dirfd: Option<i64>,
}

/// Writes the value, then the resolved part right after it; returns the offset
/// where the resolved part starts (equal to the end when there is none).
fn write_value(
    out: &mut Vec<u8>,
    cx: &Ctx<'_>,
    ty: ParamType,
    fmt: PrintFormat,
    b: &[u8],
) -> Option<usize> {
    use ParamType as T;
    let width = match ty {
        T::Int8
        | T::Uint8
        | T::SigType
        | T::L4Proto
        | T::SockFamily
        | T::Flags8
        | T::EnumFlags8 => 1,
        T::Int16 | T::Uint16 | T::Port | T::SyscallId | T::Flags16 | T::EnumFlags16 => 2,
        T::Int32
        | T::Uint32
        | T::Bool
        | T::Flags32
        | T::EnumFlags32
        | T::Uid
        | T::Gid
        | T::SigSet
        | T::Mode
        | T::Fd32
        | T::Pid32
        | T::Ipv4Addr => 4,
        T::Int64 | T::Uint64 | T::Errno | T::Fd | T::Pid | T::RelTime | T::AbsTime | T::Double => 8,
        _ => 0,
    };
    let mut raw = 0u64;
    if width > 0 {
        if b.is_empty() {
            return None;
        }
        let mut a = [0u8; 8];
        let n = b.len().min(width);
        a[..n].copy_from_slice(&b[..n]);
        raw = u64::from_le_bytes(a);
    }
    let bits = (width * 8) as u32;
    match ty {
        T::Int8 | T::Int16 | T::Int32 | T::Int64 => push_num(out, raw, bits, true, fmt),
        T::Uint8 | T::Uint16 | T::Port | T::SigSet => push_num(out, raw, bits, false, fmt),
        T::Uint32 | T::Uint64 => push_num(out, raw, bits, true, fmt),
        T::Bool => push_int(out, raw as u32),
        T::L4Proto | T::SockFamily => push_int(out, raw as u8),
        T::Double => {
            let _ = write!(out, "{:.6}", f64::from_bits(raw));
        }
        T::AbsTime => push_int(out, raw),
        T::Errno => {
            let v = raw as i64;
            push_int(out, v);
            let mid = out.len();
            if v < 0 {
                if let Some(n) = v.checked_neg().and_then(errno_name) {
                    out.extend_from_slice(n.as_bytes());
                }
            }
            return Some(mid);
        }
        T::Fd | T::Fd32 => {
            let v = if ty == T::Fd32 {
                i64::from(raw as u32 as i32)
            } else {
                raw as i64
            };
            push_int(out, v);
            let mid = out.len();
            write_fd_resolved(out, cx.res, v);
            return Some(mid);
        }
        T::Pid | T::Pid32 => {
            let v = if ty == T::Pid32 {
                i64::from(raw as u32 as i32)
            } else {
                raw as i64
            };
            push_int(out, v);
            let mid = out.len();
            if let Some(c) = cx.res.thread_comm(v) {
                out.extend_from_slice(c);
            }
            return Some(mid);
        }
        T::Uid | T::Gid => {
            let v = raw as u32;
            push_int(out, v);
            let mid = out.len();
            let name = if ty == T::Uid {
                cx.res.user_name(v)
            } else {
                cx.res.group_name(v)
            };
            if let Some(n) = name {
                out.extend_from_slice(n);
            }
            return Some(mid);
        }
        T::SyscallId => {
            let v = raw as u16;
            match syscall_name(v) {
                Some(n) => {
                    push_int(out, v);
                    let mid = out.len();
                    out.extend_from_slice(n.as_bytes());
                    return Some(mid);
                }
                None => out.extend_from_slice(b"<unknown syscall>"),
            }
        }
        T::SigType => {
            let v = raw as u8;
            push_int(out, v);
            let mid = out.len();
            if let Some(n) = signal_name(v) {
                out.extend_from_slice(n.as_bytes());
            }
            return Some(mid);
        }
        T::RelTime => {
            if raw == u64::MAX {
                out.extend_from_slice(b"none");
                return None;
            }
            push_int(out, raw);
            let mid = out.len();
            push_g(out, raw as f64 / 1e9);
            out.push(b's');
            return Some(mid);
        }
        T::Flags8 | T::Flags16 | T::Flags32 | T::EnumFlags8 | T::EnumFlags16 | T::EnumFlags32 => {
            let v = raw as u32;
            push_int(out, v);
            let mid = out.len();
            if let Some(t) = flags::flag_table(cx.etype, cx.idx) {
                write_flag_names(out, t, v);
            }
            return Some(mid);
        }
        T::Mode => {
            let v = raw as u32;
            push_num(out, u64::from(v), 32, true, fmt);
            let mid = out.len();
            if let Some(t) = flags::mode_table(cx.etype, cx.idx) {
                write_mode_names(out, t, v);
            }
            return Some(mid);
        }
        T::Ipv4Addr => write_ipv4(out, le::<4>(b).unwrap_or_default()),
        T::CharBuf => out.extend_from_slice(cstr(b)),
        T::FsPath | T::FsRelPath => {
            let path = cstr(b);
            out.extend(path.iter().copied().filter(|&c| printable(c) || c >= 0x80));
            let mid = out.len();
            if cx.res.has_thread() && path != b"<NA>" && !path.is_empty() && path[0] != b'/' {
                let base = match cx.dirfd {
                    Some(fd) if fd != AT_FDCWD => cx.res.fd_info(fd).map(|d| d.name),
                    _ => cx.res.cwd(),
                };
                if let Some(base) = base {
                    write_joined_path(out, base, path);
                }
            }
            return Some(mid);
        }
        T::ByteBuf => {
            let s = out.len();
            write_buffer(out, b, cx.opts.buf);
            if cx.opts.buf == BufFormat::Normal {
                if let Some(lim) = cx.opts.buf_limit {
                    if out.len() - s > lim {
                        out.truncate(s + lim);
                        if lim > 3 {
                            let n = out.len();
                            out[n - 3..].copy_from_slice(b"...");
                        }
                    }
                }
            }
        }
        T::SockAddr => write_sockaddr(out, b),
        T::SockTuple => write_socktuple(out, b),
        T::FdList => {
            if cx.res.has_thread() && b.len() >= 2 {
                let n = usize::from(u16::from_le_bytes([b[0], b[1]]));
                for (j, e) in b[2..].chunks_exact(10).take(n).enumerate() {
                    if j > 0 {
                        out.push(b' ');
                    }
                    let fd = i64::from_le_bytes(le::<8>(e).unwrap_or_default());
                    let fl = u16::from_le_bytes([e[8], e[9]]);
                    push_int(out, fd);
                    out.push(b':');
                    match cx
                        .res
                        .fd_info(fd)
                        .and_then(|d| d.type_chars.first().copied())
                    {
                        Some(c) => out.push(c),
                        None => out.push(b'?'),
                    }
                    push_hex(out, u64::from(fl), false);
                }
            }
        }
        T::Dyn => {
            let (Some(&i), Some(types)) = (b.first(), flags::dyn_types(cx.etype, cx.idx)) else {
                return None;
            };
            let (dty, dfmt) = *types.get(usize::from(i))?;
            return write_value(out, cx, dty, dfmt, &b[1..]);
        }
        T::None
        | T::CharBufArray
        | T::CharBufPairArray
        | T::Ipv4Net
        | T::Ipv6Addr
        | T::Ipv6Net
        | T::IpAddr
        | T::IpNet => {}
    }
    None
}

/// Writes what follows an fd number: `<f>/etc/passwd` for a known fd,
/// `AT_FDCWD` for -100, the errno name for other negative values.
fn write_fd_resolved(out: &mut Vec<u8>, res: &dyn Resolver, fd: i64) {
    if !res.has_thread() {
        return;
    }
    if fd >= 0 {
        if let Some(d) = res.fd_info(fd) {
            out.push(b'<');
            out.extend_from_slice(d.type_chars);
            out.push(b'>');
            out.extend_from_slice(d.name);
        }
    } else if fd == AT_FDCWD {
        out.extend_from_slice(b"AT_FDCWD");
    } else if let Some(n) = fd.checked_neg().and_then(errno_name) {
        out.extend_from_slice(n.as_bytes());
    }
}

/// Renders the `evt.rawarg` text of parameter `idx`: numbers in decimal
/// (signed types signed), strings and buffers up to their first NUL, errno as
/// a number. Returns `false` when the parameter is missing or its type has no
/// raw text form in sysdig 0.29.3 (FD, FLAGS, SIGTYPE, UID, DYN, FDLIST, ...:
/// sysdig aborts with `wrong event type N` on those).
pub fn render_raw_param(out: &mut Vec<u8>, ev: &EventRef<'_>, idx: usize) -> bool {
    use ParamType as T;
    let (Some(info), Some(b)) = (ev.info(), ev.param(idx)) else {
        return false;
    };
    let Some(p) = info.params.get(idx) else {
        return false;
    };
    let int = |n: usize| -> Option<u64> {
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(b.get(..n)?);
        Some(u64::from_le_bytes(a))
    };
    let ok = match p.ty {
        T::Int8 => int(1).map(|v| push_int(out, v as u8 as i8)),
        T::Int16 => int(2).map(|v| push_int(out, v as u16 as i16)),
        T::Int32 => int(4).map(|v| push_int(out, v as u32 as i32)),
        T::Int64 | T::Errno | T::Pid => int(8).map(|v| push_int(out, v as i64)),
        T::Uint8 | T::L4Proto | T::SockFamily => int(1).map(|v| push_int(out, v)),
        T::Uint16 | T::Port | T::SyscallId => int(2).map(|v| push_int(out, v)),
        T::Uint32 | T::Bool => int(4).map(|v| push_int(out, v)),
        T::Uint64 | T::RelTime | T::AbsTime => int(8).map(|v| push_int(out, v)),
        T::Double => int(8).map(|v| {
            let _ = write!(out, "{:.6}", f64::from_bits(v));
        }),
        T::CharBuf | T::FsPath | T::FsRelPath | T::ByteBuf => {
            out.extend_from_slice(cstr(b));
            Some(())
        }
        T::Ipv4Addr => le::<4>(b).map(|ip| write_ipv4(out, ip)),
        _ => None,
    };
    ok.is_some()
}

/// Renders the whole `evt.info`/`evt.args` text: `name=value ` for every
/// parameter present (each followed by one space, so a non-empty result ends
/// with a space). Generic `syscall` events (types 0 and 1) render nothing.
pub fn render_info(out: &mut Vec<u8>, ev: &EventRef<'_>, res: &dyn Resolver, opts: &RenderOptions) {
    if ev.etype() < 2 {
        return;
    }
    let Some(info) = ev.info() else { return };
    let n = ev.nparams().min(info.params.len());
    for (i, p) in info.params.iter().enumerate().take(n) {
        out.extend_from_slice(p.name.as_bytes());
        out.push(b'=');
        render_param(out, ev, i, res, opts, ArgStyle::Full);
        out.push(b' ');
    }
}
