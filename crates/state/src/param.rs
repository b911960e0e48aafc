//! Decoding of the raw parameter bytes that state updates need.
//!
//! Every decoder tolerates short or empty input (absent parameters) by returning
//! `None`, so malformed events never panic.

use osprey_event::EventRef;

/// Reads parameter `i` as a little-endian signed integer of its own width (1, 2, 4 or 8 bytes).
#[inline]
pub(crate) fn int(ev: &EventRef<'_>, i: usize) -> Option<i64> {
    let b = ev.param(i)?;
    Some(match b.len() {
        1 => i64::from(b[0] as i8),
        2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
        4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => i64::from_le_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

/// Reads parameter `i` as an unsigned integer of its own width.
#[inline]
pub(crate) fn uint(ev: &EventRef<'_>, i: usize) -> Option<u64> {
    let b = ev.param(i)?;
    Some(match b.len() {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_le_bytes([b[0], b[1]])),
        4 => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => u64::from_le_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

/// Reads the parameter called `name` (looked up in the event's table entry) as a signed integer.
pub(crate) fn int_named(ev: &EventRef<'_>, name: &str) -> Option<i64> {
    int(ev, ev.info()?.param_index(name)?)
}

/// Reads the parameter called `name` as an unsigned integer.
pub(crate) fn uint_named(ev: &EventRef<'_>, name: &str) -> Option<u64> {
    uint(ev, ev.info()?.param_index(name)?)
}

/// Raw bytes of the parameter called `name`.
pub(crate) fn bytes_named<'a>(ev: &EventRef<'a>, name: &str) -> Option<&'a [u8]> {
    ev.param(ev.info()?.param_index(name)?)
}

/// A string parameter without its trailing NUL(s).
#[inline]
pub(crate) fn cstr(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// Address family codes used inside sockaddr/socktuple parameters (`PPM_AF_*`).
pub(crate) const AF_UNIX: u8 = 1;
/// IPv4.
pub(crate) const AF_INET: u8 = 2;
/// IPv6.
pub(crate) const AF_INET6: u8 = 10;

/// A decoded `PT_SOCKTUPLE` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tuple<'a> {
    /// IPv4 source and destination.
    V4 {
        sip: [u8; 4],
        sport: u16,
        dip: [u8; 4],
        dport: u16,
    },
    /// IPv6 source and destination.
    V6 {
        sip: [u8; 16],
        sport: u16,
        dip: [u8; 16],
        dport: u16,
    },
    /// Unix socket: kernel pointers and path.
    Unix {
        source: u64,
        dest: u64,
        path: &'a [u8],
    },
}

fn arr<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off + N)?.try_into().ok()
}

fn port(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(arr(b, off)?))
}

/// Decodes a socket tuple parameter (family byte, then addresses and ports).
pub(crate) fn tuple(b: &[u8]) -> Option<Tuple<'_>> {
    match *b.first()? {
        AF_INET => Some(Tuple::V4 {
            sip: arr(b, 1)?,
            sport: port(b, 5)?,
            dip: arr(b, 7)?,
            dport: port(b, 11)?,
        }),
        AF_INET6 => Some(Tuple::V6 {
            sip: arr(b, 1)?,
            sport: port(b, 17)?,
            dip: arr(b, 19)?,
            dport: port(b, 35)?,
        }),
        AF_UNIX => Some(Tuple::Unix {
            source: u64::from_le_bytes(arr(b, 1)?),
            dest: u64::from_le_bytes(arr(b, 9)?),
            path: cstr(b.get(17..)?),
        }),
        _ => None,
    }
}

impl Tuple<'_> {
    /// The same tuple with source and destination exchanged.
    pub(crate) fn swapped(self) -> Self {
        match self {
            Tuple::V4 {
                sip,
                sport,
                dip,
                dport,
            } => Tuple::V4 {
                sip: dip,
                sport: dport,
                dip: sip,
                dport: sport,
            },
            Tuple::V6 {
                sip,
                sport,
                dip,
                dport,
            } => Tuple::V6 {
                sip: dip,
                sport: dport,
                dip: sip,
                dport: sport,
            },
            Tuple::Unix { source, dest, path } => Tuple::Unix {
                source: dest,
                dest: source,
                path,
            },
        }
    }
}

/// A decoded `PT_SOCKADDR` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SockAddr<'a> {
    /// IPv4 address and port.
    V4([u8; 4], u16),
    /// IPv6 address and port.
    V6([u8; 16], u16),
    /// Unix socket path.
    Unix(&'a [u8]),
}

/// Decodes a socket address parameter.
pub(crate) fn sockaddr(b: &[u8]) -> Option<SockAddr<'_>> {
    match *b.first()? {
        AF_INET => Some(SockAddr::V4(arr(b, 1)?, port(b, 5)?)),
        AF_INET6 => Some(SockAddr::V6(arr(b, 1)?, port(b, 17)?)),
        AF_UNIX => Some(SockAddr::Unix(cstr(b.get(1..)?))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_v4_tuple() {
        let mut b = vec![AF_INET, 127, 0, 0, 1];
        b.extend_from_slice(&80u16.to_le_bytes());
        b.extend_from_slice(&[10, 0, 0, 2]);
        b.extend_from_slice(&443u16.to_le_bytes());
        assert_eq!(
            tuple(&b),
            Some(Tuple::V4 {
                sip: [127, 0, 0, 1],
                sport: 80,
                dip: [10, 0, 0, 2],
                dport: 443
            })
        );
        assert_eq!(tuple(&b[..5]), None);
        assert_eq!(tuple(&[]), None);
    }

    #[test]
    fn decodes_unix_sockaddr() {
        assert_eq!(sockaddr(b"\x01/run/x\0"), Some(SockAddr::Unix(b"/run/x")));
    }
}
