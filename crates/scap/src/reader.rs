//! [`Reader`]: streaming decoder of .scap captures.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use osprey_event::snapshot::Snapshot;
use osprey_event::table::{self, EVENT_COUNT};
use osprey_event::{EventRef, HEADER_LEN};

use crate::block;
use crate::error::{Error, Location, Result};
use crate::mapping::Whole;
use crate::meta::{self, Procs};

/// Size of the v1 event header (no `nparams`).
const V1_HEADER_LEN: usize = 22;
/// Largest body (everything after the 8-byte block header) of a non-large event block.
const MAX_SMALL_BODY: usize = 64 * 1024;
/// Event types whose v1 length is 3 bytes too long.
const NOTIFICATION_E: u16 = 280;
const INFRASTRUCTURE_EVENT_E: u16 = 286;
/// Block bodies up to this size are read with one `read_exact`; larger ones grow
/// the buffer only as data actually arrives, so a corrupt length cannot make the
/// reader allocate gigabytes.
const EAGER_READ: usize = 1 << 20;
/// The first bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A streaming reader of one .scap capture (raw or gzip-compressed).
///
/// Opening reads the section header and every metadata block up to the first event
/// into a [`Snapshot`]; [`Reader::next_event`] then yields the events one by one,
/// each a view into one reused buffer, or, for an uncompressed capture file
/// ([`Reader::open`]) or bytes in memory ([`Reader::from_bytes`]), into the
/// capture itself.
pub struct Reader {
    input: Input,
    /// Bytes consumed from the decompressed stream.
    pos: u64,
    version: (u16, u16),
    snapshot: Snapshot,
    /// Body of the current block (everything after its 8-byte header) when it
    /// was read from a stream or converted; see [`Reader::span`].
    body: Vec<u8>,
    /// With a whole input, where the current block's body lies in it; `None`
    /// when the body is in `body`.
    span: Option<(usize, usize)>,
    /// The first event block's header, read while scanning the metadata.
    pending: Option<Header>,
    /// Offset of the block of the event returned last.
    ev_offset: u64,
    /// Events returned so far.
    events: u64,
    /// Set at the end of the stream or after an error.
    done: bool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("whole", &matches!(self.input, Input::Whole(_)))
            .field("pos", &self.pos)
            .field("version", &self.version)
            .field("events", &self.events)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Where the bytes come from.
enum Input {
    /// A byte stream (gzip-decompressed if need be), copied block by block.
    Stream(BufReader<Box<dyn Read + Send>>),
    /// The whole uncompressed capture, viewed in place.
    Whole(Whole),
}

/// The current block's body: in the whole input at `span`, else in `buf`.
#[inline]
fn body_of<'a>(input: &'a Input, span: Option<(usize, usize)>, buf: &'a [u8]) -> &'a [u8] {
    match (input, span) {
        (Input::Whole(w), Some((s, e))) => w.bytes().get(s..e).unwrap_or_default(),
        _ => buf,
    }
}

/// A block header: type, total length and the offset it was read at.
#[derive(Debug, Clone, Copy)]
struct Header {
    btype: u32,
    total: u32,
    offset: u64,
}

impl Header {
    fn loc(&self, event_index: Option<u64>) -> Location {
        Location {
            offset: self.offset,
            block: block::name(self.btype),
            event_index,
        }
    }
}

/// A v2 event block of a whole input, found by [`Reader::fast_block`]: offsets
/// in the input.
#[derive(Clone, Copy)]
struct FastBlock {
    /// The block header.
    at: usize,
    /// The end of the block.
    end: usize,
    /// The event record.
    start: usize,
    cpu: u16,
    flags: u32,
    btype: u32,
}

/// Where the event lies in `body` after a successful [`Reader::advance`].
struct Found {
    start: usize,
    cpu: u16,
    flags: u32,
    header: Header,
}

impl Reader {
    /// Opens the capture at `path`. An uncompressed regular file is mapped into
    /// memory and its events are viewed in place; anything else is streamed.
    pub fn open(path: impl AsRef<Path>) -> Result<Reader> {
        let f = File::open(path).map_err(|source| Error::Io {
            loc: Location {
                offset: 0,
                block: "file",
                event_index: None,
            },
            source,
        })?;
        match Whole::map(&f) {
            Some(w) if !w.bytes().starts_with(&GZIP_MAGIC) => Reader::start(Input::Whole(w)),
            _ => Reader::new(f),
        }
    }

    /// Reads a capture held in memory; an uncompressed one is viewed in place,
    /// a gzip-compressed one is decompressed as it is read.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Reader> {
        if bytes.starts_with(&GZIP_MAGIC) {
            Reader::new(io::Cursor::new(bytes))
        } else {
            Reader::start(Input::Whole(Whole::Bytes(bytes)))
        }
    }

    /// Reads a capture from any byte stream; gzip is detected by its magic bytes.
    pub fn new<R: Read + Send + 'static>(mut inner: R) -> Result<Reader> {
        let mut head = [0u8; 2];
        let mut n = 0;
        while n < 2 {
            match inner.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io {
                        loc: Location {
                            offset: 0,
                            block: "SHB",
                            event_index: None,
                        },
                        source,
                    })
                }
            }
        }
        let chained = io::Cursor::new(head).take(n as u64).chain(inner);
        let src: Box<dyn Read + Send> = if head[..n] == GZIP_MAGIC {
            Box::new(MultiGzDecoder::new(chained))
        } else {
            Box::new(chained)
        };
        Reader::start(Input::Stream(BufReader::with_capacity(256 * 1024, src)))
    }

    /// Reads the section header and the metadata from `input`.
    fn start(input: Input) -> Result<Reader> {
        let body = match input {
            Input::Stream(_) => Vec::with_capacity(MAX_SMALL_BODY),
            Input::Whole(_) => Vec::new(),
        };
        let mut r = Reader {
            input,
            pos: 0,
            version: (0, 0),
            snapshot: Snapshot::default(),
            body,
            span: None,
            pending: None,
            ev_offset: 0,
            events: 0,
            done: false,
        };
        r.read_section_header()?;
        r.read_metadata()?;
        Ok(r)
    }

    /// The capture format version `(major, minor)` from the section header.
    pub fn version(&self) -> (u16, u16) {
        self.version
    }

    /// The machine, processes (with their fds), users and interfaces recorded
    /// before the first event.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Moves the snapshot out, leaving an empty one.
    pub fn take_snapshot(&mut self) -> Snapshot {
        std::mem::take(&mut self.snapshot)
    }

    /// Byte offset (in the decompressed stream) of the block holding the event
    /// returned last.
    pub fn event_offset(&self) -> u64 {
        self.ev_offset
    }

    /// Number of events returned so far; the event returned last has index
    /// `events_read() - 1` (sysdig's `evt.num` is that plus one).
    pub fn events_read(&self) -> u64 {
        self.events
    }

    /// Bytes of the decompressed stream consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The next event, or `None` at the end of the capture.
    ///
    /// Events of types this build does not know are skipped. Old v1 records are
    /// converted to the v2 layout. After an error, further calls return `None`.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<EventRef<'_>>> {
        if !self.done {
            if let Some(b) = self.fast_block() {
                return self.fast_event(b);
            }
        }
        self.next_event_slow()
    }

    /// [`Reader::next_event`] for what the fast path leaves: streams, v1 and
    /// meta blocks, the end and errors.
    fn next_event_slow(&mut self) -> Result<Option<EventRef<'_>>> {
        if self.done {
            return Ok(None);
        }
        let found = match self.advance() {
            Ok(Some(f)) => f,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        let body = body_of(&self.input, self.span, &self.body);
        match EventRef::parse(
            body.get(found.start..).unwrap_or_default(),
            found.cpu,
            found.flags,
        ) {
            Ok(ev) => {
                self.ev_offset = found.header.offset;
                self.events += 1;
                Ok(Some(ev))
            }
            Err(source) => {
                self.done = true;
                Err(Error::BadEvent {
                    loc: found.header.loc(Some(self.events)),
                    source,
                })
            }
        }
    }

    /// With a whole input: the next block when it is a complete v2 event block
    /// of a known type, which [`Reader::fast_event`] then returns in place.
    /// `None` for anything else, left to the general path (which reads the same
    /// block again and reports any problem it has).
    #[inline]
    fn fast_block(&self) -> Option<FastBlock> {
        let Input::Whole(w) = &self.input else {
            return None;
        };
        if self.pending.is_some() {
            return None;
        }
        let bytes = w.bytes();
        let at = usize::try_from(self.pos).ok()?;
        let h: &[u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
        let btype = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let total = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let (large, with_flags) = match btype {
            block::EV_V2 => (false, false),
            block::EVF_V2 => (false, true),
            block::EV_V2_LARGE => (true, false),
            block::EVF_V2_LARGE => (true, true),
            _ => return None,
        };
        let start = if with_flags { 6 } else { 2 };
        let body_len = total.checked_sub(8)?;
        if body_len < start + HEADER_LEN || (!large && body_len > MAX_SMALL_BODY) {
            return None;
        }
        let body = bytes.get(at + 8..(at + 8).checked_add(body_len)?)?;
        let etype = u16::from_le_bytes([body[start + 20], body[start + 21]]);
        if usize::from(etype) >= EVENT_COUNT {
            return None;
        }
        Some(FastBlock {
            at,
            end: at + total,
            start: at + 8 + start,
            cpu: u16::from_le_bytes([body[0], body[1]]),
            flags: if with_flags {
                u32::from_le_bytes([body[2], body[3], body[4], body[5]])
            } else {
                0
            },
            btype,
        })
    }

    /// Returns the event of the block [`Reader::fast_block`] found.
    #[inline]
    fn fast_event(&mut self, b: FastBlock) -> Result<Option<EventRef<'_>>> {
        if let Input::Whole(w) = &mut self.input {
            w.release(b.at);
        }
        self.pos = b.end as u64;
        self.span = Some((b.start, b.end));
        let raw = match &self.input {
            Input::Whole(w) => {
                prefetch(w.bytes(), b.end + PREFETCH_AHEAD);
                w.bytes().get(b.start..b.end).unwrap_or_default()
            }
            Input::Stream(_) => &[],
        };
        match EventRef::parse(raw, b.cpu, b.flags) {
            Ok(ev) => {
                self.ev_offset = b.at as u64;
                self.events += 1;
                Ok(Some(ev))
            }
            Err(source) => {
                self.done = true;
                Err(Error::BadEvent {
                    loc: Location {
                        offset: b.at as u64,
                        block: block::name(b.btype),
                        event_index: Some(self.events),
                    },
                    source,
                })
            }
        }
    }

    /// Reads event blocks until one of a known type, leaving it (v2 layout) in `body`.
    fn advance(&mut self) -> Result<Option<Found>> {
        loop {
            let h = match self.pending.take() {
                Some(h) => h,
                None => match self.read_header()? {
                    Some(h) => h,
                    None => return Ok(None),
                },
            };
            let idx = Some(self.events);
            if !block::is_event(h.btype) {
                return Err(Error::UnexpectedBlock { loc: h.loc(idx) });
            }
            let large = matches!(h.btype, block::EV_V2_LARGE | block::EVF_V2_LARGE);
            let v1 = matches!(h.btype, block::EV | block::EV_INT | block::EVF);
            let with_flags = matches!(h.btype, block::EVF | block::EVF_V2 | block::EVF_V2_LARGE);
            let start = if with_flags { 6 } else { 2 };
            let hdr_len = if v1 { V1_HEADER_LEN } else { HEADER_LEN };
            let body_len = (h.total as usize).saturating_sub(8);
            if h.total < 12 || body_len < start + hdr_len {
                return Err(Error::Malformed {
                    loc: h.loc(idx),
                    reason: "event block too short",
                });
            }
            if !large && body_len > MAX_SMALL_BODY {
                return Err(Error::Malformed {
                    loc: h.loc(idx),
                    reason: "non-large event block longer than 64 KiB",
                });
            }
            self.read_body(&h, idx)?;
            let b = body_of(&self.input, self.span, &self.body);
            let etype = u16::from_le_bytes([b[start + 20], b[start + 21]]);
            if usize::from(etype) >= EVENT_COUNT {
                continue;
            }
            let cpu = u16::from_le_bytes([b[0], b[1]]);
            let flags = if with_flags {
                u32::from_le_bytes([b[2], b[3], b[4], b[5]])
            } else {
                0
            };
            if v1 {
                if body_len + 4 > MAX_SMALL_BODY {
                    return Err(Error::Malformed {
                        loc: h.loc(idx),
                        reason: "v1 event too long to convert",
                    });
                }
                if let Some((s, e)) = self.span.take() {
                    // A whole input is never written to: convert a copy.
                    if let Input::Whole(w) = &self.input {
                        self.body.clear();
                        self.body
                            .extend_from_slice(w.bytes().get(s..e).unwrap_or_default());
                    }
                }
                upgrade_v1(&mut self.body, start, etype).map_err(|reason| Error::Malformed {
                    loc: h.loc(idx),
                    reason,
                })?;
            }
            return Ok(Some(Found {
                start,
                cpu,
                flags,
                header: h,
            }));
        }
    }

    /// Reads the section header block.
    fn read_section_header(&mut self) -> Result<()> {
        let Some(h) = self.read_header()? else {
            return Err(Error::NotScap {
                offset: 0,
                what: "empty input",
            });
        };
        if h.btype != block::SHB {
            return Err(Error::NotScap {
                offset: 0,
                what: "first block is not a section header",
            });
        }
        if h.total < 28 {
            return Err(Error::Malformed {
                loc: h.loc(None),
                reason: "section header shorter than 28 bytes",
            });
        }
        self.read_body(&h, None)?;
        self.check_trailer(&h)?;
        let b = body_of(&self.input, self.span, &self.body);
        let magic = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if magic != block::SHB_MAGIC {
            return Err(Error::BadMagic {
                loc: h.loc(None),
                magic,
            });
        }
        let major = u16::from_le_bytes([b[4], b[5]]);
        let minor = u16::from_le_bytes([b[6], b[7]]);
        if major > 1 {
            return Err(Error::UnsupportedVersion {
                loc: h.loc(None),
                major,
                minor,
            });
        }
        // pcapng options (if any) follow the 16 fixed bytes; they carry nothing we use.
        self.version = (major, minor);
        Ok(())
    }

    /// Reads metadata blocks until the first event block (kept pending) or the end.
    fn read_metadata(&mut self) -> Result<()> {
        let mut procs = Procs::default();
        loop {
            let Some(h) = self.read_header()? else {
                // A capture without events: nothing to show, not an error.
                self.done = true;
                return Ok(());
            };
            if block::is_event(h.btype) {
                self.pending = Some(h);
                return Ok(());
            }
            if h.total < 12 {
                return Err(Error::Malformed {
                    loc: h.loc(None),
                    reason: "block shorter than 12 bytes",
                });
            }
            self.read_body(&h, None)?;
            self.check_trailer(&h)?;
            let body = body_of(&self.input, self.span, &self.body);
            let body = &body[..body.len() - 4];
            let snap = &mut self.snapshot;
            let res = match h.btype {
                block::MI | block::MI_INT => meta::parse_mi(body).map(|m| snap.machine = Some(m)),
                t if meta::is_pl(t) => meta::parse_pl(body, t, snap, &mut procs),
                block::FDL | block::FDL_INT | block::FDL_V2 => {
                    meta::parse_fdl(body, h.btype, snap, &procs)
                }
                block::IL | block::IL_INT | block::IL_V2 => meta::parse_il(body, h.btype, snap),
                block::UL | block::UL_INT | block::UL_V2 => meta::parse_ul(body, h.btype, snap),
                block::CUSTOM => {
                    if body
                        .get(4..)
                        .is_some_and(|p| p.starts_with(block::EXIT_ONLY_TAG))
                    {
                        snap.exit_only = true;
                    }
                    Ok(())
                }
                // Unknown blocks (and stray section headers) are skipped.
                _ => Ok(()),
            };
            res.map_err(|reason| Error::Malformed {
                loc: h.loc(None),
                reason,
            })?;
        }
    }

    /// Checks a metadata block's trailer (the last 4 bytes of `body`).
    fn check_trailer(&self, h: &Header) -> Result<()> {
        let body = body_of(&self.input, self.span, &self.body);
        let t = &body[body.len() - 4..];
        let trailer = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        if trailer != h.total {
            return Err(Error::TrailerMismatch {
                loc: h.loc(None),
                header: h.total,
                trailer,
            });
        }
        Ok(())
    }

    /// Reads the next 8-byte block header; `None` on a clean end of stream.
    fn read_header(&mut self) -> Result<Option<Header>> {
        let offset = self.pos;
        let mut hb = [0u8; 8];
        let mut n = 0;
        let src = match &mut self.input {
            Input::Stream(src) => src,
            Input::Whole(w) => {
                let at = usize::try_from(offset).unwrap_or(usize::MAX);
                w.release(at);
                let rest = w.bytes().get(at..).unwrap_or_default();
                n = rest.len().min(8);
                hb[..n].copy_from_slice(&rest[..n]);
                self.pos += n as u64;
                return header_from(hb, n, offset);
            }
        };
        while n < 8 {
            match src.read(&mut hb[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let loc = Location {
                        offset,
                        block: "block header",
                        event_index: None,
                    };
                    return Err(io_error(loc, e));
                }
            }
        }
        self.pos += n as u64;
        header_from(hb, n, offset)
    }

    /// Reads the body of the block `h` (total length - 8 bytes, trailer included)
    /// into `self.body`. The caller has checked `h.total >= 12`.
    fn read_body(&mut self, h: &Header, event_index: Option<u64>) -> Result<()> {
        let len = h.total as usize - 8;
        let src = match &mut self.input {
            Input::Stream(src) => src,
            Input::Whole(w) => {
                let start = usize::try_from(self.pos).unwrap_or(usize::MAX);
                let end = start.checked_add(len).filter(|&e| e <= w.bytes().len());
                let Some(end) = end else {
                    return Err(Error::Truncated {
                        loc: h.loc(event_index),
                    });
                };
                self.span = Some((start, end));
                self.pos += len as u64;
                return Ok(());
            }
        };
        self.body.clear();
        let res = if len <= EAGER_READ.max(self.body.capacity()) {
            self.body.resize(len, 0);
            src.read_exact(&mut self.body)
        } else {
            match src.take(len as u64).read_to_end(&mut self.body) {
                Ok(n) if n < len => Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        };
        res.map_err(|e| io_error(h.loc(event_index), e))?;
        self.pos += len as u64;
        Ok(())
    }
}

/// The header from its first `n` bytes in `hb`: `None` when there are none
/// (a clean end), an error when there are some but fewer than 8.
fn header_from(hb: [u8; 8], n: usize, offset: u64) -> Result<Option<Header>> {
    let btype = u32::from_le_bytes([hb[0], hb[1], hb[2], hb[3]]);
    match n {
        0 => Ok(None),
        8 => Ok(Some(Header {
            btype,
            total: u32::from_le_bytes([hb[4], hb[5], hb[6], hb[7]]),
            offset,
        })),
        _ => Err(Error::Truncated {
            loc: Location {
                offset,
                block: if n >= 4 {
                    block::name(btype)
                } else {
                    "block header"
                },
                event_index: None,
            },
        }),
    }
}

/// Maps an I/O error: an unexpected end of stream means a truncated capture.
fn io_error(loc: Location, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Error::Truncated { loc }
    } else {
        Error::Io { loc, source: e }
    }
}

/// Converts the v1 event at `body[start..]` into the v2 layout in place: inserts the
/// `nparams` field and infers its value from the lengths, like libscap does.
fn upgrade_v1(
    body: &mut Vec<u8>,
    start: usize,
    etype: u16,
) -> std::result::Result<(), &'static str> {
    let at = |b: &[u8], o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let old_len = at(body, start + 16) as usize;
    if old_len < V1_HEADER_LEN || old_len > body.len() - start {
        return Err("v1 event length does not fit its block");
    }
    let n = body.len();
    body.resize(n + 4, 0);
    body.copy_within(start + V1_HEADER_LEN..n, start + HEADER_LEN);
    let mut len = old_len + 4;
    if etype == NOTIFICATION_E || etype == INFRASTRUCTURE_EVENT_E {
        len -= 3;
    }
    body[start + 16..start + 20].copy_from_slice(&(len as u32).to_le_bytes());
    let ev = &body[start..start + len];
    let max = table::info(etype).map_or(0, |i| i.params.len());
    let mut found = None;
    for np in (0..=max).rev() {
        let mut valptr = HEADER_LEN + 2 * np;
        if valptr > len {
            continue;
        }
        for i in 0..np {
            let o = HEADER_LEN + 2 * i;
            valptr += usize::from(u16::from_le_bytes([ev[o], ev[o + 1]]));
        }
        if valptr < len {
            return Err("cannot infer the parameter count of a v1 event");
        }
        if valptr == len {
            found = Some(np);
            break;
        }
    }
    let np = found.ok_or("cannot infer the parameter count of a v1 event")?;
    body[start + 22..start + 26].copy_from_slice(&(np as u32).to_le_bytes());
    Ok(())
}

/// How far past the current event [`Reader::fast_event`] asks the CPU to load
/// the mapped capture: a few events ahead, so the next ones are in cache when
/// read (the hardware prefetcher stops at each page boundary).
const PREFETCH_AHEAD: usize = 1024;

/// Hints the CPU to bring the cache line of `bytes[at]` in (nothing past the end).
#[inline]
fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = bytes.get(at) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is only a hint; it reads nothing the program sees
        // and cannot fault. The address is in bounds anyway.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(b).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Writer;
    use osprey_event::encode;
    use osprey_event::snapshot::{
        FdAddr, FdInfo, FdKind, GroupInfo, InterfaceInfo, MachineInfo, ProcInfo, UserInfo,
    };

    fn blk(btype: u32, body: &[u8]) -> Vec<u8> {
        let pad = (4 - body.len() % 4) % 4;
        let total = (12 + body.len() + pad) as u32;
        let mut v = btype.to_le_bytes().to_vec();
        v.extend_from_slice(&total.to_le_bytes());
        v.extend_from_slice(body);
        v.resize(v.len() + pad, 0);
        v.extend_from_slice(&total.to_le_bytes());
        v
    }

    fn shb(major: u16, options: &[u8]) -> Vec<u8> {
        let mut b = block::SHB_MAGIC.to_le_bytes().to_vec();
        b.extend_from_slice(&major.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        b.extend_from_slice(options);
        blk(block::SHB, &b)
    }

    /// An EV_V2 block holding `rec`.
    fn ev2(rec: &[u8]) -> Vec<u8> {
        let mut b = 3u16.to_le_bytes().to_vec();
        b.extend_from_slice(rec);
        blk(block::EV_V2, &b)
    }

    /// A v1 EV block: the v2 record minus its nparams field, with `len` adjusted by `extra`.
    fn ev1(rec: &[u8], extra: u32) -> Vec<u8> {
        let mut v1 = rec[..22].to_vec();
        let len = u32::from_le_bytes(rec[16..20].try_into().unwrap()) - 4 + extra;
        v1[16..20].copy_from_slice(&len.to_le_bytes());
        v1.extend_from_slice(&rec[26..]);
        v1.resize(v1.len() + extra as usize, 0);
        let mut b = 1u16.to_le_bytes().to_vec();
        b.extend_from_slice(&v1);
        blk(block::EV, &b)
    }

    /// Raw record, cpu and dump flags of one event read back.
    type Ev = (Vec<u8>, u16, u32);

    /// Reads `bytes` streamed and in place, checks that both give the same
    /// events and errors, and returns the streamed result.
    fn read(bytes: Vec<u8>) -> Result<(Reader, Vec<Ev>)> {
        let in_place = read_from(Reader::from_bytes(bytes.clone()));
        let streamed = read_from(Reader::new(io::Cursor::new(bytes)));
        match (&in_place, &streamed) {
            (Ok((a, x)), Ok((b, y))) => {
                assert_eq!(x, y, "events in place and streamed");
                assert_eq!(a.events_read(), b.events_read());
                assert_eq!(a.position(), b.position());
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("in place and streamed disagree: {in_place:?} / {streamed:?}"),
        }
        streamed
    }

    fn read_from(r: Result<Reader>) -> Result<(Reader, Vec<Ev>)> {
        let mut r = r?;
        let mut evs = Vec::new();
        while let Some(e) = r.next_event()? {
            evs.push((e.raw().to_vec(), e.cpu, e.dump_flags));
        }
        Ok((r, evs))
    }

    #[test]
    fn files_are_mapped_unless_compressed() {
        let mut rec = Vec::new();
        let mut file = shb(1, &[]);
        encode(&mut rec, 1, 1, 4, &[&3i64.to_le_bytes()]);
        file.extend(ev2(&rec));
        file.extend(ev2(&rec));
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.scap");
        std::fs::write(&plain, &file).unwrap();
        let mut r = Reader::open(&plain).unwrap();
        assert!(matches!(r.input, Input::Whole(Whole::Map { .. })));
        assert_eq!(r.next_event().unwrap().unwrap().raw(), &rec[..]);
        assert_eq!(r.event_offset(), 28);
        assert!(r.next_event().unwrap().is_some());
        assert!(r.next_event().unwrap().is_none());

        // a truncated file: the same error as a stream gives
        let cut = dir.path().join("cut.scap");
        std::fs::write(&cut, &file[..file.len() - 3]).unwrap();
        let mut r = Reader::open(&cut).unwrap();
        assert!(r.next_event().unwrap().is_some());
        let e = r.next_event().unwrap_err();
        assert!(e.is_truncated(), "{e}");
        let second = (28 + ev2(&rec).len()) as u64;
        assert_eq!((e.offset(), e.block()), (second, Some("EV_V2")));
        assert!(r.next_event().unwrap().is_none(), "fused after an error");

        let mut w = Writer::new_gzip(Vec::new());
        w.write_snapshot(&Snapshot::default()).unwrap();
        w.write_event(&EventRef::parse(&rec, 0, 0).unwrap())
            .unwrap();
        let gz = dir.path().join("gz.scap");
        std::fs::write(&gz, w.finish().unwrap()).unwrap();
        let mut r = Reader::open(&gz).unwrap();
        assert!(matches!(r.input, Input::Stream(_)));
        assert_eq!(r.next_event().unwrap().unwrap().raw(), &rec[..]);

        let empty = dir.path().join("empty.scap");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(Reader::open(&empty), Err(Error::NotScap { .. })));
    }

    fn rich_snapshot() -> Snapshot {
        let fd = |fd: i64, kind: FdKind, name: &[u8], addr: FdAddr| FdInfo {
            fd,
            ino: 1000 + fd as u64,
            kind,
            open_flags: if kind == FdKind::FileV2 { 0x41 } else { 0 },
            dev: if kind == FdKind::FileV2 { 0xfd01 } else { 0 },
            name: name.to_vec(),
            addr,
        };
        let base = ProcInfo {
            tid: 10,
            pid: 10,
            ptid: 1,
            sid: 10,
            vpgid: 10,
            pgid: -1,
            comm: b"bash".to_vec(),
            exe: b"/bin/bash".to_vec(),
            exepath: b"/usr/bin/bash".to_vec(),
            args: b"-c\0echo hi\0".to_vec(),
            cwd: b"/root/".to_vec(),
            fdlimit: 1024,
            uid: 0,
            gid: 0,
            env: b"A=1\0B=2\0".to_vec(),
            vtid: 10,
            vpid: 10,
            cgroups: b"cpu=/\0".to_vec(),
            root: b"/".to_vec(),
            loginuid: 1000,
            cap_effective: 0x3f,
            fds: vec![
                fd(0, FdKind::FileV2, b"/dev/null", FdAddr::None),
                fd(1, FdKind::File, b"/tmp/x", FdAddr::None),
                fd(2, FdKind::Directory, b"/tmp", FdAddr::None),
                fd(
                    3,
                    FdKind::Ipv4Sock,
                    b"",
                    FdAddr::Ipv4 {
                        sip: [127, 0, 0, 1],
                        dip: [10, 0, 0, 2],
                        sport: 4000,
                        dport: 80,
                        l4proto: 2,
                    },
                ),
                fd(
                    4,
                    FdKind::Ipv6Sock,
                    b"",
                    FdAddr::Ipv6 {
                        sip: [1; 16],
                        dip: [2; 16],
                        sport: 1,
                        dport: 2,
                        l4proto: 3,
                    },
                ),
                fd(
                    5,
                    FdKind::Ipv4ServSock,
                    b"",
                    FdAddr::Ipv4Server {
                        ip: [0; 4],
                        port: 22,
                        l4proto: 2,
                    },
                ),
                fd(
                    6,
                    FdKind::Ipv6ServSock,
                    b"",
                    FdAddr::Ipv6Server {
                        ip: [0; 16],
                        port: 443,
                        l4proto: 2,
                    },
                ),
                fd(
                    7,
                    FdKind::UnixSock,
                    b"/run/sock",
                    FdAddr::Unix {
                        source: 0xffff_0001,
                        dest: 0xffff_0002,
                    },
                ),
                fd(8, FdKind::EventPoll, b"", FdAddr::None),
                fd(9, FdKind::Unknown, b"", FdAddr::None),
            ],
            ..ProcInfo::default()
        };
        let full = ProcInfo {
            tid: 11,
            pidns_init_start_ts: 77,
            tty: 34816,
            exe_ino: 99,
            pgid: 11,
            exe_from_memfd: true,
            fds: Vec::new(),
            ..base.clone()
        };
        Snapshot {
            machine: Some(MachineInfo {
                num_cpus: 4,
                memory_size_bytes: 1 << 33,
                max_pid: 32768,
                hostname: b"host".to_vec(),
                boot_ts_epoch: 5,
                flags: 0,
            }),
            procs: vec![base, full],
            users: vec![UserInfo {
                uid: 0,
                gid: 0,
                name: b"root".to_vec(),
                homedir: b"/root".to_vec(),
                shell: b"/bin/sh".to_vec(),
            }],
            groups: vec![GroupInfo {
                gid: 0,
                name: b"root".to_vec(),
            }],
            interfaces: vec![
                InterfaceInfo::V4 {
                    name: b"lo".to_vec(),
                    addr: [127, 0, 0, 1],
                    netmask: [255, 0, 0, 0],
                    bcast: [127, 255, 255, 255],
                    linkspeed: 0,
                },
                InterfaceInfo::V6 {
                    name: b"eth0".to_vec(),
                    addr: [3; 16],
                    netmask: [4; 16],
                    bcast: [0; 16],
                    linkspeed: 1000,
                },
            ],
            exit_only: false,
        }
    }

    #[test]
    fn snapshot_round_trips_through_writer() {
        for (gzip, exit_only) in [(false, false), (true, false), (false, true)] {
            let snap = Snapshot {
                exit_only,
                ..rich_snapshot()
            };
            let mut w = if gzip {
                Writer::new_gzip(Vec::new())
            } else {
                Writer::new(Vec::new())
            };
            w.write_snapshot(&snap).unwrap();
            let bytes = w.finish().unwrap();
            assert_eq!(bytes.starts_with(&[0x1f, 0x8b]), gzip);
            let (r, evs) = read(bytes).unwrap();
            assert!(
                evs.is_empty(),
                "metadata-only capture has no events, no error"
            );
            assert_eq!(r.version(), (1, 2));
            let got = r.snapshot();
            assert_eq!(got.machine, snap.machine);
            assert_eq!(got.procs, snap.procs);
            assert_eq!(got.users, snap.users);
            assert_eq!(got.groups, snap.groups);
            assert_eq!(got.interfaces, snap.interfaces);
            assert_eq!(got.exit_only, exit_only, "custom block");
        }
    }

    #[test]
    fn events_round_trip_with_flags_and_large_payloads() {
        let mut w = Writer::new(Vec::new());
        w.write_snapshot(&Snapshot::default()).unwrap();
        let mut recs = Vec::new();
        let mut rec = Vec::new();
        encode(&mut rec, 1, 2, 4, &[&3i64.to_le_bytes()]);
        recs.push((rec.clone(), 0u32));
        // PLUGINEVENT_E (322) is large: u32 lengths, EV_V2_LARGE/EVF_V2_LARGE blocks
        encode(&mut rec, 2, 2, 322, &[&7u32.to_le_bytes(), &[0xab; 70_000]]);
        recs.push((rec.clone(), 0));
        recs.push((rec.clone(), 1));
        encode(
            &mut rec,
            3,
            2,
            7,
            &[&5i64.to_le_bytes(), b"data", &3i64.to_le_bytes(), b""],
        );
        recs.push((rec.clone(), 1));
        for (r, flags) in &recs {
            w.write_event(&EventRef::parse(r, 1, *flags).unwrap())
                .unwrap();
        }
        let bytes = w.finish().unwrap();
        let types: Vec<u32> = {
            let mut v = Vec::new();
            let mut off = 0;
            while off < bytes.len() {
                v.push(u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()));
                off += u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
            }
            v
        };
        assert_eq!(
            types,
            [
                block::SHB,
                block::EV_V2,
                block::EV_V2_LARGE,
                block::EVF_V2_LARGE,
                block::EVF_V2
            ]
        );
        let (r, evs) = read(bytes).unwrap();
        assert_eq!(r.events_read(), 4);
        for ((raw, cpu, flags), (want, wflags)) in evs.iter().zip(&recs) {
            assert_eq!((raw, *cpu, flags), (want, 1, wflags));
        }
    }

    #[test]
    fn v1_events_get_their_parameter_count() {
        let mut rec = Vec::new();
        let mut file = shb(1, &[]);
        // read exit with the old 2 params (res, data): the table now has 4
        encode(&mut rec, 5, 9, 7, &[&4i64.to_le_bytes(), b"abcd"]);
        file.extend(ev1(&rec, 0));
        let want_read = rec.clone();
        // a 0-param enter event
        encode(&mut rec, 6, 9, 16, &[]);
        file.extend(ev1(&rec, 0));
        let want_exit = rec.clone();
        // NOTIFICATION_E: old writers stored a length 3 bytes too long
        encode(
            &mut rec,
            7,
            9,
            NOTIFICATION_E,
            &[&1u64.to_le_bytes(), b"hi\0"],
        );
        file.extend(ev1(&rec, 3));
        let want_notif = rec.clone();
        let (r, evs) = read(file).unwrap();
        assert_eq!(r.version(), (1, 0));
        assert_eq!(evs[0].0, want_read);
        assert_eq!(evs[1].0, want_exit);
        assert_eq!(evs[2].0, want_notif);
        assert_eq!(evs[0].1, 1);
    }

    #[test]
    fn unknown_types_and_blocks_are_skipped() {
        let mut rec = Vec::new();
        let mut file = shb(1, &[0x01, 0, 4, 0, b'h', b'i', b'!', b'!', 0, 0, 0, 0]);
        file.extend(blk(0x7777, b"whatever"));
        encode(&mut rec, 1, 1, 4, &[&3i64.to_le_bytes()]);
        file.extend(ev2(&rec));
        // an event type newer than our table
        let mut future = rec.clone();
        future[20..22].copy_from_slice(&(EVENT_COUNT as u16).to_le_bytes());
        file.extend(ev2(&future));
        file.extend(ev2(&rec));
        let (r, evs) = read(file.clone()).unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(r.events_read(), 2);

        // a metadata block after the first event is an error, after that event
        file.extend(blk(block::UL_V2, &[]));
        let mut r = Reader::new(io::Cursor::new(file)).unwrap();
        assert!(r.next_event().unwrap().is_some());
        assert!(r.next_event().unwrap().is_some());
        let e = r.next_event().unwrap_err();
        assert!(matches!(e, Error::UnexpectedBlock { .. }), "{e}");
        assert_eq!(e.block(), Some("UL_V2"));
    }

    #[test]
    fn header_errors() {
        let mut swapped = shb(1, &[]);
        swapped[8..12].copy_from_slice(&block::SHB_MAGIC.to_be_bytes());
        assert!(matches!(read(swapped), Err(Error::BadMagic { .. })));
        assert!(matches!(
            read(shb(2, &[])),
            Err(Error::UnsupportedVersion { major: 2, .. })
        ));
        let mut bad_trailer = shb(1, &[]);
        let n = bad_trailer.len();
        bad_trailer[n - 1] = 9;
        assert!(matches!(
            read(bad_trailer),
            Err(Error::TrailerMismatch { .. })
        ));
        assert!(matches!(read(Vec::new()), Err(Error::NotScap { .. })));
        let mut short_event = shb(1, &[]);
        short_event.extend(blk(block::EV_V2, &[0; 10]));
        let e = read(short_event).unwrap_err();
        assert_eq!((e.offset(), e.block()), (28, Some("EV_V2")));
        assert!(e.to_string().contains("event #1"), "{e}");
    }
}
