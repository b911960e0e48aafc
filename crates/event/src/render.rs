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

/// Appends the normalised concatenation of `base` (a directory, usually with a
/// trailing `/`) and `name`, the way sysdig builds paths (`fd.name`, `proc.cwd`,
/// relative path arguments). An absolute `name` ignores `base`. `.`, `..` and
/// repeated slashes are resolved; `..` never climbs above `/`; a trailing slash
/// is dropped unless the result is `/`.
pub fn write_joined_path(out: &mut Vec<u8>, base: &[u8], name: &[u8]) {
    let absolute = name.first() == Some(&b'/') || base.first() == Some(&b'/');
    let start = out.len();
    let parts = if name.first() == Some(&b'/') {
        [name, &b""[..]]
    } else {
        [base, name]
    };
    for part in parts {
        for comp in part.split(|&c| c == b'/') {
            match comp {
                b"" | b"." => {}
                b".." => {
                    let cut = out[start..]
                        .iter()
                        .rposition(|&c| c == b'/')
                        .map_or(start, |p| start + p);
                    out.truncate(cut);
                }
                _ => {
                    if absolute || out.len() > start {
                        out.push(b'/');
                    }
                    out.extend_from_slice(comp);
                }
            }
        }
    }
    if absolute && out.len() == start {
        out.push(b'/');
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
    match ev.param(idx) {
        Some(b) => render_param_bytes(out, ev, idx, b, res, opts, style),
        None => false,
    }
}

/// [`render_param`] for a parameter whose bytes the caller already has
/// (`b` must be `ev.param(idx)`), so a walk over all parameters stays linear.
fn render_param_bytes(
    out: &mut Vec<u8>,
    ev: &EventRef<'_>,
    idx: usize,
    b: &[u8],
    res: &dyn Resolver,
    opts: &RenderOptions,
    style: ArgStyle,
) -> bool {
    let Some(info) = ev.info() else {
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
    let (ty, fmt) = flags::compat_param(ev.etype(), idx).map_or((p.ty, p.fmt), |c| (c.1, c.2));
    let split = write_value(out, &ctx, ty, fmt, b);
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
    let width = ty.fixed_width();
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
        T::Ipv6Addr => write_ipv6(out, le::<16>(b).unwrap_or_default()),
        // An address of either family, told apart by its length.
        T::IpAddr => match b.len() {
            4 => write_ipv4(out, le::<4>(b).unwrap_or_default()),
            16 => write_ipv6(out, le::<16>(b).unwrap_or_default()),
            _ => {}
        },
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
        // NUL-terminated strings back to back, shown comma-separated; pairs
        // alternate key and value and show as `key=value`.
        T::CharBufArray | T::CharBufPairArray => {
            let pairs = ty == T::CharBufPairArray;
            let body = b.strip_suffix(b"\0").unwrap_or(b);
            if !body.is_empty() {
                for (i, item) in body.split(|&c| c == 0).enumerate() {
                    if i > 0 {
                        out.push(if pairs && i % 2 == 1 { b'=' } else { b',' });
                    }
                    out.extend(item.iter().filter(|&&c| c >= 0x20 && c != 0x7f));
                }
            }
            return None;
        }
        // Filter-field types: no event parameter has them.
        T::None | T::Ipv4Net | T::Ipv6Net | T::IpNet => {}
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
            // sysdig keeps only printable ASCII in fd names (a unix socket path
            // read from /proc may end in a newline, for one).
            out.extend(d.name.iter().copied().filter(|c| (0x20..0x7f).contains(c)));
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
    let ty = flags::compat_param(ev.etype(), idx).map_or(p.ty, |c| c.1);
    let ok = match ty {
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

/// The event name sysdig 0.29.3 shows for `etype` (`evt.type`, `-S`): the
/// table's name, except where it was renamed since (`scapevent` was
/// `sysdigevent`). `None` past the table.
pub fn event_name(etype: u16) -> Option<&'static str> {
    let info = crate::table::info(etype)?;
    Some(match info.name {
        "scapevent" => "sysdigevent",
        n => n,
    })
}

/// The parameter name sysdig 0.29.3 shows for parameter `idx` of `etype`
/// (a few were renamed since), `None` past the table.
pub fn param_name(etype: u16, idx: usize) -> Option<&'static str> {
    flags::compat_param(etype, idx)
        .map(|c| c.0)
        .or_else(|| Some(crate::table::info(etype)?.params.get(idx)?.name))
}

/// Renders the whole `evt.info`/`evt.args` text: `name=value ` for every
/// parameter present (each followed by one space, so a non-empty result ends
/// with a space). Generic `syscall` events (types 0 and 1) render nothing.
#[inline]
pub fn render_info(out: &mut Vec<u8>, ev: &EventRef<'_>, res: &dyn Resolver, opts: &RenderOptions) {
    // Generic syscall events (the commonest in a storm) show nothing: decided
    // here, inlined, without the call to the renderer.
    if ev.etype() >= 2 {
        render_params(out, ev, res, opts);
    }
}

/// [`render_info`] for events of a specific type.
fn render_params(out: &mut Vec<u8>, ev: &EventRef<'_>, res: &dyn Resolver, opts: &RenderOptions) {
    let Some(info) = ev.info() else { return };
    for (i, (p, b)) in info.params.iter().zip(ev.params()).enumerate() {
        let name = flags::compat_param(ev.etype(), i).map_or(p.name, |c| c.0);
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        render_param_bytes(out, ev, i, b, res, opts, ArgStyle::Full);
        out.push(b' ');
    }
}

impl ParamType {
    /// Byte width of a fixed-size parameter's value as events store it
    /// (1, 2, 4 or 8), or 0 for the variable-size types (strings, buffers,
    /// socket addresses, ...).
    pub fn fixed_width(self) -> usize {
        use ParamType as T;
        match self {
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
            T::Int64
            | T::Uint64
            | T::Errno
            | T::Fd
            | T::Pid
            | T::RelTime
            | T::AbsTime
            | T::Double => 8,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode;

    struct St;
    impl Resolver for St {
        fn has_thread(&self) -> bool {
            true
        }
        fn fd_info(&self, fd: i64) -> Option<FdDesc<'_>> {
            match fd {
                3 => Some(FdDesc {
                    type_chars: b"f",
                    name: b"/etc/ld.so.cache",
                }),
                4 => Some(FdDesc {
                    type_chars: b"4t",
                    name: b"127.0.0.1:46310->127.0.0.1:80",
                }),
                7 => Some(FdDesc {
                    type_chars: b"d",
                    name: b"/tmp/dir",
                }),
                11 => Some(FdDesc {
                    type_chars: b"u",
                    name: b"/run/x.sock\n\x7f",
                }),
                _ => None,
            }
        }
        fn thread_comm(&self, tid: i64) -> Option<&[u8]> {
            (tid == 20072).then_some(&b"cat"[..])
        }
        fn cwd(&self) -> Option<&[u8]> {
            Some(b"/home/u/")
        }
        fn user_name(&self, uid: u32) -> Option<&[u8]> {
            (uid == 0).then_some(&b"root"[..])
        }
        fn group_name(&self, gid: u32) -> Option<&[u8]> {
            (gid == 0).then_some(&b"root"[..])
        }
    }

    fn info_of(etype: u16, params: &[&[u8]], res: &dyn Resolver, opts: &RenderOptions) -> String {
        let mut raw = Vec::new();
        encode(&mut raw, 1, 20072, etype, params);
        let ev = EventRef::parse(&raw, 0, 0).unwrap();
        let mut out = Vec::new();
        render_info(&mut out, &ev, res, opts);
        String::from_utf8(out).unwrap()
    }

    fn t(enum_name: &str) -> u16 {
        crate::table::EVENTS
            .iter()
            .position(|e| e.enum_name == enum_name)
            .unwrap() as u16
    }

    fn info(etype: u16, params: &[&[u8]]) -> String {
        info_of(etype, params, &St, &RenderOptions::default())
    }

    fn arg(etype: u16, params: &[&[u8]], idx: usize) -> String {
        let mut raw = Vec::new();
        encode(&mut raw, 1, 20072, etype, params);
        let ev = EventRef::parse(&raw, 0, 0).unwrap();
        let mut out = Vec::new();
        assert!(render_param(
            &mut out,
            &ev,
            idx,
            &St,
            &RenderOptions::default(),
            ArgStyle::Resolved
        ));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn open_exit() {
        // open_x: fd, name, flags, mode, dev
        let s = info(
            3,
            &[
                &3i64.to_le_bytes(),
                b"/etc/ld.so.cache\0",
                &4097u32.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
        );
        assert_eq!(
            s,
            "fd=3(<f>/etc/ld.so.cache) name=/etc/ld.so.cache flags=4097(O_RDONLY|O_CLOEXEC) mode=0 "
        );
        let s = info(
            3,
            &[
                &(-2i64).to_le_bytes(),
                b"x\0",
                &5185u32.to_le_bytes(),
                &0o644u32.to_le_bytes(),
            ],
        );
        assert_eq!(
            s,
            "fd=-2(ENOENT) name=x(/home/u/x) flags=5185(O_DIRECTORY|O_NONBLOCK|O_RDONLY|O_CLOEXEC) mode=0644 "
        );
        assert_eq!(arg(3, &[&3i64.to_le_bytes()], 0), "<f>/etc/ld.so.cache");
        // Control characters in an fd name are dropped, as sysdig does.
        assert_eq!(arg(3, &[&11i64.to_le_bytes()], 0), "<u>/run/x.sock");
    }

    #[test]
    fn joins_and_normalises_paths() {
        let j = |base: &str, name: &str| {
            let mut v = Vec::new();
            write_joined_path(&mut v, base.as_bytes(), name.as_bytes());
            String::from_utf8(v).unwrap()
        };
        assert_eq!(j("/home/u/", "a.txt"), "/home/u/a.txt");
        assert_eq!(j("/home/u/", "/etc//passwd"), "/etc/passwd");
        assert_eq!(j("/home/u/", "../x/./y"), "/home/x/y");
        assert_eq!(j("/", "../../.."), "/");
        assert_eq!(j("/a/", "b/"), "/a/b");
        assert_eq!(j("", "rel/x"), "rel/x");
        assert_eq!(j("/", "."), "/");
    }

    #[test]
    fn ipv6_address_params() {
        // task_file_socket_inet6 (442): local_ip (param 3) is an IPV6ADDR.
        let mut ip = [0u8; 16];
        ip[15] = 1;
        let params: [&[u8]; 4] = [
            &3i32.to_le_bytes(),
            &1u16.to_le_bytes(),
            &6u16.to_le_bytes(),
            &ip,
        ];
        assert_eq!(arg(442, &params, 3), "::1");
    }

    #[test]
    fn charbuf_arrays() {
        // task iterator event (430): argv (param 5) is a CHARBUFARRAY.
        let mut params: Vec<&[u8]> = vec![b""; 5];
        params.push(b"ls\0-l\0/tmp\0");
        assert_eq!(arg(430, &params, 5), "ls,-l,/tmp");
        params[5] = b"";
        assert_eq!(arg(430, &params, 5), "");
        // tracer event (268): args (param 2) is a CHARBUF_PAIR_ARRAY.
        let p: [&[u8]; 3] = [&7i64.to_le_bytes(), b"a\0b\0", b"k\0v\0k2\0v2\0"];
        assert_eq!(arg(268, &p, 1), "a,b");
        assert_eq!(arg(268, &p, 2), "k=v,k2=v2");
    }

    #[test]
    fn no_state() {
        let s = info_of(
            3,
            &[&3i64.to_le_bytes(), b"rel\0"],
            &NoState,
            &RenderOptions::default(),
        );
        assert_eq!(s, "fd=3 name=rel ");
    }

    #[test]
    fn numbers_and_flags() {
        // mmap_e: addr(HEX) length prot flags fd offset
        let s = info(
            160,
            &[
                &0u64.to_le_bytes(),
                &8192u64.to_le_bytes(),
                &3u32.to_le_bytes(),
                &10u32.to_le_bytes(),
                &0xffff_ffffi64.to_le_bytes(),
                &0u64.to_le_bytes(),
            ],
        );
        assert_eq!(
            s,
            "addr=0 length=8192 prot=3(PROT_READ|PROT_WRITE) flags=10(MAP_PRIVATE|MAP_ANONYMOUS) fd=4294967295 offset=0 "
        );
        // mmap_x res is UINT64/HEX
        assert!(info(161, &[&0x7FAD_4878_2000u64.to_le_bytes()]).starts_with("res=7FAD48782000 "));
        // futex op and access mode (zero-valued entry)
        assert_eq!(
            arg(64, &[&0u64.to_le_bytes(), &129u16.to_le_bytes()], 1),
            "FUTEX_PRIVATE_FLAG|FUTEX_WAKE"
        );
        assert_eq!(
            arg(64, &[&0u64.to_le_bytes(), &0u16.to_le_bytes()], 1),
            "FUTEX_WAIT"
        );
        assert_eq!(info(264, &[&0u32.to_le_bytes()]), "mode=0(F_OK) ");
        // fcntl cmd: exact match among overlapping values
        assert_eq!(
            arg(150, &[&3i64.to_le_bytes(), &5u8.to_le_bytes()], 1),
            "F_SETFL"
        );
        // 2022 semantics: enum-like tables are matched bitwise too
        assert_eq!(
            info(36, &[&3i64.to_le_bytes(), &7u8.to_le_bytes()]),
            "fd=3(<f>/etc/ld.so.cache) how=7(SHUT_RDWR|SHUT_WR) "
        );
    }

    #[test]
    fn errno_pid_sig_reltime_uid() {
        assert_eq!(
            info(265, &[&(-2i64).to_le_bytes(), b"/etc/x\0"])
                .split(' ')
                .next()
                .unwrap(),
            "res=-2(ENOENT)"
        );
        assert_eq!(arg(265, &[&(-9999i64).to_le_bytes()], 0), "-9999");
        // kill_e: pid, sig
        assert_eq!(
            info(
                t("PPME_SYSCALL_KILL_E"),
                &[&20072i64.to_le_bytes(), &17u8.to_le_bytes()]
            ),
            "pid=20072(cat) sig=17(SIGCHLD) "
        );
        assert_eq!(
            info(
                t("PPME_SYSCALL_KILL_E"),
                &[&1i64.to_le_bytes(), &0u8.to_le_bytes()]
            ),
            "pid=1 sig=0 "
        );
        // nanosleep_e: interval
        assert_eq!(
            info(
                t("PPME_SYSCALL_NANOSLEEP_E"),
                &[&1_000_000_000u64.to_le_bytes()]
            ),
            "interval=1000000000(1s) "
        );
        assert_eq!(
            info(t("PPME_SYSCALL_NANOSLEEP_E"), &[&1_500u64.to_le_bytes()]),
            "interval=1500(1.5e-06s) "
        );
        assert_eq!(
            info(
                t("PPME_SYSCALL_NANOSLEEP_E"),
                &[&250_000_000u64.to_le_bytes()]
            ),
            "interval=250000000(0.25s) "
        );
        // geteuid_x: euid
        let t = crate::table::EVENTS
            .iter()
            .position(|e| e.name == "geteuid")
            .unwrap() as u16
            + 1;
        assert_eq!(info(t, &[&0u32.to_le_bytes()]), "euid=0(root) ");
    }

    #[test]
    fn buffers() {
        // read_x: res, data
        let s = info(7, &[&5i64.to_le_bytes(), b"\x7fELF\n"]);
        assert_eq!(s, "res=5 data=.ELF. ");
        let long = [b'a'; 100];
        let s = info(7, &[&100i64.to_le_bytes(), &long]);
        assert_eq!(s, format!("res=100 data={}... ", "a".repeat(77)));
        let opts = RenderOptions {
            buf_limit: None,
            ..RenderOptions::default()
        };
        let s = info_of(7, &[&100i64.to_le_bytes(), &long], &St, &opts);
        assert_eq!(s.len(), "res=100 data= ".len() + 100);
        let mut out = Vec::new();
        write_buffer(&mut out, b"ab\r\ncd\ne\x01", BufFormat::Ascii);
        assert_eq!(out, b"\nab\ncd\ne");
        out.clear();
        write_buffer(&mut out, b"abc", BufFormat::Hex);
        assert_eq!(out, b"\n\t0x0000: 6162 63\n");
        out.clear();
        write_buffer(&mut out, b"abc", BufFormat::HexAscii);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            format!("\n\t0x0000: 6162 63{}  abc\n", " ".repeat(30))
        );
        out.clear();
        write_buffer(&mut out, b"abcd", BufFormat::Base64);
        assert_eq!(out, b"YWJjZA==");
        // empty buffer
        assert_eq!(
            info(7, &[&(-11i64).to_le_bytes(), b""]),
            "res=-11(EAGAIN) data= "
        );
    }

    #[test]
    fn sockets() {
        let mut t = vec![2u8, 127, 0, 0, 1];
        t.extend_from_slice(&46310u16.to_le_bytes());
        t.extend_from_slice(&[127, 0, 0, 1]);
        t.extend_from_slice(&80u16.to_le_bytes());
        let mut out = Vec::new();
        write_socktuple(&mut out, &t);
        assert_eq!(out, b"127.0.0.1:46310->127.0.0.1:80");
        // connect_x: res, tuple
        let s = info(23, &[&(-115i64).to_le_bytes(), &t]);
        assert_eq!(
            s,
            "res=-115(EINPROGRESS) tuple=127.0.0.1:46310->127.0.0.1:80 "
        );
        assert_eq!(info(23, &[&0i64.to_le_bytes(), b""]), "res=0 tuple=NULL ");
        // ipv6
        let mut a = vec![10u8];
        a.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        a.extend_from_slice(&1234u16.to_le_bytes());
        out.clear();
        write_sockaddr(&mut out, &a);
        assert_eq!(out, b"2001:db8::3:1234");
        // mapped v6 tuple shows as v4
        let mut t6 = vec![10u8];
        for port in [1000u16, 80] {
            t6.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
            t6.extend_from_slice(&port.to_le_bytes());
        }
        out.clear();
        write_socktuple(&mut out, &t6);
        assert_eq!(out, b"10.0.0.1:1000->10.0.0.1:80");
        // unix
        let mut u = vec![1u8];
        u.extend_from_slice(&0xffff_8800_1234_5678u64.to_le_bytes());
        u.extend_from_slice(&0u64.to_le_bytes());
        u.extend_from_slice(b"/run/x.sock\0");
        out.clear();
        write_socktuple(&mut out, &u);
        assert_eq!(out, b"ffff880012345678->0 /run/x.sock");
        out.clear();
        write_sockaddr(&mut out, &[16]);
        assert_eq!(out, b"family 16");
        for (ip, want) in [
            ([0u8; 16], "::"),
            ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], "::1"),
            (
                [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                "fe80::1",
            ),
            ([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], "1:0:1::1"),
            (
                [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4],
                "::ffff:1.2.3.4",
            ),
        ] {
            out.clear();
            write_ipv6(&mut out, ip);
            assert_eq!(String::from_utf8_lossy(&out), want);
        }
    }

    #[test]
    fn fdlist_and_generic() {
        let mut l = 2u16.to_le_bytes().to_vec();
        l.extend_from_slice(&4i64.to_le_bytes());
        l.extend_from_slice(&1u16.to_le_bytes());
        l.extend_from_slice(&9i64.to_le_bytes());
        l.extend_from_slice(&0x19u16.to_le_bytes());
        // poll_e: fds, timeout
        assert_eq!(
            info(t("PPME_SYSCALL_POLL_E"), &[&l, &100i64.to_le_bytes()]),
            "fds=4:41 9:?19 timeout=100 "
        );
        assert_eq!(
            info(
                t("PPME_SYSCALL_POLL_E"),
                &[&0u16.to_le_bytes(), &0i64.to_le_bytes()]
            ),
            "fds= timeout=0 "
        );
        // generic events show no arguments, but the ID resolves to a name
        assert_eq!(info(0, &[&3u16.to_le_bytes(), &0u16.to_le_bytes()]), "");
        assert_eq!(arg(0, &[&3u16.to_le_bytes()], 0), "read");
    }

    #[test]
    fn relpath_with_dirfd() {
        // openat_e (new): dirfd, name, flags, mode
        let at = crate::table::EVENTS
            .iter()
            .position(|e| e.enum_name == "PPME_SYSCALL_OPENAT_2_E")
            .unwrap() as u16;
        let s = info(
            at,
            &[
                &7i64.to_le_bytes(),
                b"../etc/./passwd\0",
                &1u32.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
        );
        assert_eq!(
            s,
            "dirfd=7(<d>/tmp/dir) name=../etc/./passwd(/tmp/etc/passwd) flags=1(O_RDONLY) mode=0 "
        );
        let s = info(
            at,
            &[
                &(-100i64).to_le_bytes(),
                b"a\0",
                &0u32.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
        );
        assert_eq!(
            s,
            "dirfd=-100(AT_FDCWD) name=a(/home/u/a) flags=0(O_NONE) mode=0 "
        );
        let mut out = Vec::new();
        write_joined_path(&mut out, b"/", b".");
        assert_eq!(out, b"/");
    }

    #[test]
    fn raw_args() {
        let mut raw = Vec::new();
        encode(
            &mut raw,
            1,
            1,
            3,
            &[&3i64.to_le_bytes(), b"/x\0", &1u32.to_le_bytes()],
        );
        let ev = EventRef::parse(&raw, 0, 0).unwrap();
        let mut out = Vec::new();
        assert!(render_raw_param(&mut out, &ev, 1));
        assert_eq!(out, b"/x");
        out.clear();
        assert!(!render_raw_param(&mut out, &ev, 0)); // FD: no raw form
        assert!(!render_raw_param(&mut out, &ev, 2)); // FLAGS: no raw form
        assert!(!render_raw_param(&mut out, &ev, 5));
    }
}
