//! [`EventRef`]: a borrowed, zero-copy view of one event record.

use crate::table::{self, EventInfo};

/// Size of the v2 event header (`ppm_evt_hdr`): ts, tid, len, type, nparams.
pub const HEADER_LEN: usize = 26;

/// Why a byte slice is not a well-formed event record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// Fewer bytes than a header.
    #[error("event shorter than its 26-byte header ({0} bytes)")]
    ShortHeader(usize),
    /// The header's `len` disagrees with the bytes available.
    #[error("event length {len} does not fit the {avail} bytes available")]
    BadLength {
        /// Length stated in the header.
        len: u32,
        /// Bytes actually available.
        avail: usize,
    },
    /// The parameter lengths do not fit inside the event.
    #[error("parameter lengths overflow the event ({nparams} params, {len} bytes)")]
    ParamsOverflow {
        /// Parameter count in the header.
        nparams: u32,
        /// Event length.
        len: u32,
    },
}

/// A borrowed view of one event in the v2 layout:
/// a 26-byte header, then `nparams` lengths (`u16`, or `u32` for large-payload
/// types), then the parameter values back to back.
///
/// Construction validates that every parameter lies inside the record, so
/// accessors never fail on bounds. Parameters are decoded lazily.
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    raw: &'a [u8],
    /// CPU the event was captured on.
    pub cpu: u16,
    /// Dump flags from EVF blocks (bit 0: state-only, not to be shown).
    pub dump_flags: u32,
    ts: u64,
    tid: u64,
    etype: u16,
    nparams: u32,
    large: bool,
}

#[inline]
fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

#[inline]
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[inline]
fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

impl<'a> EventRef<'a> {
    /// Validates `raw` (one v2 event record, exactly `len` bytes or more) and wraps it.
    ///
    /// Bytes past the header's `len` are ignored (block padding).
    #[inline]
    pub fn parse(raw: &'a [u8], cpu: u16, dump_flags: u32) -> Result<Self, EventError> {
        if raw.len() < HEADER_LEN {
            return Err(EventError::ShortHeader(raw.len()));
        }
        let len = u32_at(raw, 16);
        if (len as usize) < HEADER_LEN || len as usize > raw.len() {
            return Err(EventError::BadLength {
                len,
                avail: raw.len(),
            });
        }
        let raw = &raw[..len as usize];
        let etype = u16_at(raw, 20);
        let nparams = u32_at(raw, 22);
        let large = table::info(etype).is_some_and(EventInfo::is_large);
        let lsize: usize = if large { 4 } else { 2 };
        let overflow = EventError::ParamsOverflow { nparams, len };
        let lens_end = (nparams as usize)
            .checked_mul(lsize)
            .and_then(|n| n.checked_add(HEADER_LEN))
            .filter(|&n| n <= raw.len())
            .ok_or(overflow.clone())?;
        // At most `len / lsize` lengths of at most 2^(8 * lsize) - 1 each: their
        // sum cannot overflow a u64, so it is checked once, at the end.
        let lens = &raw[HEADER_LEN..lens_end];
        let values: u64 = if large {
            lens.chunks_exact(4)
                .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .sum()
        } else {
            lens.chunks_exact(2)
                .map(|c| u64::from(u16::from_le_bytes([c[0], c[1]])))
                .sum()
        };
        if values > (raw.len() - lens_end) as u64 {
            return Err(overflow);
        }
        Ok(EventRef {
            raw,
            cpu,
            dump_flags,
            ts: u64_at(raw, 0),
            tid: u64_at(raw, 8),
            etype,
            nparams,
            large,
        })
    }

    /// Timestamp, nanoseconds since the Unix epoch.
    #[inline]
    pub fn ts(&self) -> u64 {
        self.ts
    }

    /// Thread id (host pid namespace).
    #[inline]
    pub fn tid(&self) -> u64 {
        self.tid
    }

    /// Event type number.
    #[inline]
    pub fn etype(&self) -> u16 {
        self.etype
    }

    /// Number of parameters present in this record.
    #[inline]
    pub fn nparams(&self) -> usize {
        self.nparams as usize
    }

    /// The table entry for this event type, `None` for types newer than this build.
    #[inline]
    pub fn info(&self) -> Option<&'static EventInfo> {
        table::info(self.etype)
    }

    /// The whole record (header, lengths, values).
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the record was marked state-only (EVF flag bit 0): it updates state
    /// but is not shown.
    #[inline]
    pub fn is_state_only(&self) -> bool {
        self.dump_flags & 1 != 0
    }

    /// The raw bytes of parameter `i`, `None` if the record has fewer parameters.
    /// An empty slice means the parameter is present but empty (absent value).
    #[inline]
    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.nparams as usize {
            return None;
        }
        let lsize = if self.large { 4 } else { 2 };
        let mut off = HEADER_LEN + self.nparams as usize * lsize;
        let mut len = 0;
        for j in 0..=i {
            off += len;
            let lo = HEADER_LEN + j * lsize;
            len = if self.large {
                u32_at(self.raw, lo) as usize
            } else {
                usize::from(u16_at(self.raw, lo))
            };
        }
        Some(&self.raw[off..off + len])
    }

    /// Iterates over all parameters' raw bytes in order.
    pub fn params(&self) -> Params<'a> {
        let lsize = if self.large { 4 } else { 2 };
        Params {
            raw: self.raw,
            large: self.large,
            idx: 0,
            n: self.nparams as usize,
            off: HEADER_LEN + self.nparams as usize * lsize,
        }
    }
}

/// Iterator over the raw bytes of an event's parameters.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    raw: &'a [u8],
    large: bool,
    idx: usize,
    n: usize,
    off: usize,
}

impl<'a> Iterator for Params<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.idx >= self.n {
            return None;
        }
        let len = if self.large {
            u32_at(self.raw, HEADER_LEN + self.idx * 4) as usize
        } else {
            usize::from(u16_at(self.raw, HEADER_LEN + self.idx * 2))
        };
        let v = &self.raw[self.off..self.off + len];
        self.off += len;
        self.idx += 1;
        Some(v)
    }
}

/// Builds a v2 event record into `out` (cleared first). Used by writers and tests.
pub fn encode(out: &mut Vec<u8>, ts: u64, tid: u64, etype: u16, params: &[&[u8]]) {
    let large = table::info(etype).is_some_and(EventInfo::is_large);
    let lsize = if large { 4 } else { 2 };
    let len = HEADER_LEN + params.len() * lsize + params.iter().map(|p| p.len()).sum::<usize>();
    out.clear();
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&tid.to_le_bytes());
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&etype.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(params.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    for p in params {
        if large {
            out.extend_from_slice(&u32::try_from(p.len()).unwrap_or(u32::MAX).to_le_bytes());
        } else {
            out.extend_from_slice(&u16::try_from(p.len()).unwrap_or(u16::MAX).to_le_bytes());
        }
    }
    for p in params {
        out.extend_from_slice(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let mut buf = Vec::new();
        encode(&mut buf, 42, 7, 3, &[&5i64.to_le_bytes(), b"/etc\0", b""]);
        let e = EventRef::parse(&buf, 1, 0).unwrap();
        assert_eq!((e.ts(), e.tid(), e.etype(), e.nparams()), (42, 7, 3, 3));
        assert_eq!(e.param(1), Some(&b"/etc\0"[..]));
        assert_eq!(e.param(2), Some(&b""[..]));
        assert_eq!(e.param(3), None);
        assert_eq!(e.params().count(), 3);
    }

    #[test]
    fn rejects_overflow() {
        let mut buf = Vec::new();
        encode(&mut buf, 1, 1, 3, &[b"abcd"]);
        buf[26] = 200; // param length past the end
        assert!(matches!(
            EventRef::parse(&buf, 0, 0),
            Err(EventError::ParamsOverflow { .. })
        ));
        assert!(EventRef::parse(&buf[..10], 0, 0).is_err());
    }
}
