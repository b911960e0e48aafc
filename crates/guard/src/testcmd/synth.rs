//! Synthetic events: a process list for the snapshot and exit events in the
//! newest exit layout of the event table, their parameters written from
//! spec values, the event's process, or neutral defaults.

use super::yaml::{Kind, Node};
use osprey_event::snapshot::ProcInfo;
use osprey_event::table::{flags as ef, Direction, ParamType, EVENTS};

/// `AT_FDCWD`, the default of `dirfd` parameters.
const AT_FDCWD: i64 = -100;
/// `PPM_AF_UNIX`, `PPM_AF_INET`, `PPM_AF_INET6`.
const AF_UNIX: u8 = 1;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// The newest exit event type of system call `name`: the last exit entry of
/// the table with that name that is neither unused nor an old version.
pub(crate) fn newest_exit(name: &str) -> Option<u16> {
    EVENTS
        .iter()
        .enumerate()
        .rev()
        .find(|(_, e)| {
            e.name == name
                && e.dir == Direction::Exit
                && e.flags & (ef::UNUSED | ef::OLD_VERSION) == 0
        })
        .and_then(|(i, _)| u16::try_from(i).ok())
}

/// The byte width of a fixed-size parameter type (0 for the others). An
/// IPv4 address is written from its text form, so it counts as variable here.
fn width(ty: ParamType) -> usize {
    match ty {
        ParamType::Ipv4Addr => 0,
        t => t.fixed_width(),
    }
}

/// Writes `v` as a little-endian integer of `w` bytes (truncating).
fn push_int(out: &mut Vec<u8>, v: i64, w: usize) {
    out.extend_from_slice(&v.to_le_bytes()[..w.min(8)]);
}

/// Writes NUL-terminated strings one after the other.
fn push_strs<'a>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'a [u8]>) {
    for s in items {
        out.extend_from_slice(s);
        out.push(0);
    }
}

/// The value a parameter takes when the spec does not give it: the
/// event's process for the parameters that describe one (execve, clone),
/// `AT_FDCWD` for directory fds, else zero or empty.
pub(crate) fn default_param(out: &mut Vec<u8>, name: &str, ty: ParamType, p: &ProcInfo) {
    let w = width(ty);
    let int = match name {
        "tid" => Some(p.tid as i64),
        "pid" => Some(p.pid as i64),
        "ptid" => Some(p.ptid as i64),
        "vtid" => Some(p.vtid),
        "vpid" => Some(p.vpid),
        "pgid" => Some(p.pgid),
        "vpgid" => Some(p.vpgid as i64),
        "uid" => Some(i64::from(p.uid)),
        "gid" => Some(i64::from(p.gid)),
        "loginuid" => Some(i64::from(p.loginuid)),
        "tty" => Some(i64::from(p.tty)),
        "fdlimit" => Some(p.fdlimit as i64),
        "cap_inheritable" => Some(p.cap_inheritable as i64),
        "cap_permitted" => Some(p.cap_permitted as i64),
        "cap_effective" => Some(p.cap_effective as i64),
        "dirfd" => Some(AT_FDCWD),
        _ => None,
    };
    if w > 0 {
        push_int(out, int.unwrap_or(0), w);
        return;
    }
    let text: Option<&[u8]> = match name {
        "exe" => Some(&p.exe),
        "comm" => Some(&p.comm),
        "cwd" => Some(&p.cwd),
        "exepath" | "trusted_exepath" | "filename" => Some(&p.exepath),
        _ => None,
    };
    match (text, name, ty) {
        (Some(t), ..) => push_strs(out, [t]),
        // Already NUL-separated lists.
        (None, "args", _) => out.extend_from_slice(&p.args),
        (None, "env", _) => out.extend_from_slice(&p.env),
        (None, "cgroups", _) => out.extend_from_slice(&p.cgroups),
        (None, _, ParamType::CharBuf | ParamType::FsPath | ParamType::FsRelPath) => out.push(0),
        _ => {}
    }
}

/// The number a name from the flag table `table` stands for.
fn flag_value(table: &osprey_event::flags::FlagTable, name: &str) -> Option<i64> {
    table
        .entries
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| i64::from(v))
}

/// Parses an integer: decimal, `0x` hex, or (with `octal`) a leading-zero
/// octal number.
fn parse_int(s: &str, octal: bool) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = body.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if octal && body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(body, 8).ok()
    } else if let Ok(u) = body.parse::<u64>() {
        Some(u as i64)
    } else {
        None
    }?;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// A `ADDR:PORT` endpoint: IPv4, `[IPv6]`, as (family, address bytes, port).
fn endpoint(s: &str) -> Option<(u8, Vec<u8>, u16)> {
    let (addr, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    if let Some(v6) = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
        let ip: std::net::Ipv6Addr = v6.parse().ok()?;
        return Some((AF_INET6, ip.octets().to_vec(), port));
    }
    let ip: std::net::Ipv4Addr = addr.parse().ok()?;
    Some((AF_INET, ip.octets().to_vec(), port))
}

/// Encodes a scalar or list spec value as parameter `idx` (of type `ty`) of
/// event type `etype`. The error is a message for the value's position.
pub(crate) fn encode_value(
    out: &mut Vec<u8>,
    etype: u16,
    idx: usize,
    ty: ParamType,
    node: &Node,
) -> Result<(), String> {
    use ParamType as T;
    let w = width(ty);
    let scalar = || {
        node.as_str()
            .ok_or_else(|| format!("expected a single value for a {ty:?} parameter"))
    };
    match ty {
        T::Flags8
        | T::Flags16
        | T::Flags32
        | T::EnumFlags8
        | T::EnumFlags16
        | T::EnumFlags32
        | T::Mode => {
            let table = if ty == T::Mode {
                osprey_event::flags::mode_table(etype, idx)
            } else {
                osprey_event::flags::flag_table(etype, idx)
            };
            let names: Vec<&str> = match &node.kind {
                Kind::Seq(items) => items.iter().filter_map(Node::as_str).collect(),
                _ => scalar()?.split('|').map(str::trim).collect(),
            };
            let mut v = 0i64;
            for n in names {
                let bits = parse_int(n, ty == T::Mode)
                    .or_else(|| table.and_then(|t| flag_value(t, n)))
                    .ok_or_else(|| {
                        let known = table.map_or_else(String::new, |t| {
                            let all: Vec<&str> = t.entries.iter().map(|e| e.0).collect();
                            format!(" (known: {})", all.join(", "))
                        });
                        format!("unknown flag '{n}'{known}")
                    })?;
                v |= bits;
            }
            push_int(out, v, w);
        }
        T::Bool => {
            let v = match scalar()? {
                "true" => 1,
                "false" => 0,
                s => parse_int(s, false).ok_or_else(|| format!("'{s}' is not a boolean"))?,
            };
            push_int(out, v, w);
        }
        T::Double => {
            let s = scalar()?;
            let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
            out.extend_from_slice(&v.to_le_bytes());
        }
        _ if w > 0 => {
            // Results (errno, fd, pid) may be written as an errno name.
            let s = scalar()?;
            let v = match parse_int(s, false) {
                Some(v) => v,
                None if s == "SUCCESS" => 0,
                None => (1..4096)
                    .find(|&e| osprey_event::errno::errno_name(e) == Some(s))
                    .map(i64::wrapping_neg)
                    .ok_or_else(|| format!("'{s}' is neither an integer nor an errno name"))?,
            };
            push_int(out, v, w);
        }
        T::CharBuf | T::FsPath | T::FsRelPath => push_strs(out, [scalar()?.as_bytes()]),
        T::ByteBuf | T::CharBufArray => match &node.kind {
            Kind::Seq(items) => {
                let strs = items
                    .iter()
                    .map(|n| n.as_str().ok_or("expected a list of strings"))
                    .collect::<Result<Vec<_>, _>>()?;
                push_strs(out, strs.iter().map(|s| s.as_bytes()));
            }
            _ if ty == T::CharBufArray => push_strs(out, [scalar()?.as_bytes()]),
            _ => out.extend_from_slice(scalar()?.as_bytes()),
        },
        T::Ipv4Addr => {
            let s = scalar()?;
            let ip: std::net::Ipv4Addr = s
                .parse()
                .map_err(|_| format!("'{s}' is not an IPv4 address"))?;
            out.extend_from_slice(&ip.octets());
        }
        T::Ipv6Addr => {
            let s = scalar()?;
            let ip: std::net::Ipv6Addr = s
                .parse()
                .map_err(|_| format!("'{s}' is not an IPv6 address"))?;
            out.extend_from_slice(&ip.octets());
        }
        T::SockAddr => {
            let s = scalar()?;
            if s.starts_with('/') || s.starts_with('@') {
                out.push(AF_UNIX);
                push_strs(out, [s.as_bytes()]);
            } else {
                let (fam, ip, port) = endpoint(s).ok_or_else(|| {
                    format!("'{s}' is not ADDR:PORT, [ADDR6]:PORT or a unix path")
                })?;
                out.push(fam);
                out.extend_from_slice(&ip);
                out.extend_from_slice(&port.to_le_bytes());
            }
        }
        T::SockTuple => {
            let s = scalar()?;
            let bad = || format!("'{s}' is not SRC:PORT->DST:PORT");
            let (a, b) = s.split_once("->").ok_or_else(bad)?;
            let (fa, ipa, pa) = endpoint(a.trim()).ok_or_else(bad)?;
            let (fb, ipb, pb) = endpoint(b.trim()).ok_or_else(bad)?;
            if fa != fb {
                return Err(format!("'{s}' mixes IPv4 and IPv6"));
            }
            out.push(fa);
            out.extend_from_slice(&ipa);
            out.extend_from_slice(&pa.to_le_bytes());
            out.extend_from_slice(&ipb);
            out.extend_from_slice(&pb.to_le_bytes());
        }
        _ => return Err(format!("{ty:?} parameters cannot be written in a spec")),
    }
    Ok(())
}

/// A NUL-terminated list (arguments, environment, cgroups) from spec strings.
pub(crate) fn nul_list(items: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    push_strs(&mut out, items.iter().map(String::as_bytes));
    out
}
