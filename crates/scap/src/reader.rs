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

/// A streaming reader of one .scap capture (raw or gzip-compressed).
///
/// Opening reads the section header and every metadata block up to the first event
/// into a [`Snapshot`]; [`Reader::next_event`] then yields the events one by one,
/// each a view into one reused buffer.
pub struct Reader {
    src: BufReader<Box<dyn Read>>,
    /// Bytes consumed from the decompressed stream.
    pos: u64,
    version: (u16, u16),
    snapshot: Snapshot,
    /// Body of the current block: everything after its 8-byte header.
    body: Vec<u8>,
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
            .field("pos", &self.pos)
            .field("version", &self.version)
            .field("events", &self.events)
            .field("done", &self.done)
            .finish_non_exhaustive()
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

/// Where the event lies in `body` after a successful [`Reader::advance`].
struct Found {
    start: usize,
    cpu: u16,
    flags: u32,
    header: Header,
}

impl Reader {
    /// Opens the capture at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Reader> {
        let f = File::open(path).map_err(|source| Error::Io {
            loc: Location {
                offset: 0,
                block: "file",
                event_index: None,
            },
            source,
        })?;
        Reader::new(f)
    }

    /// Reads a capture from any byte stream; gzip is detected by its magic bytes.
    pub fn new<R: Read + 'static>(mut inner: R) -> Result<Reader> {
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
        let src: Box<dyn Read> = if head[..n] == [0x1f, 0x8b] {
            Box::new(MultiGzDecoder::new(chained))
        } else {
            Box::new(chained)
        };
        let mut r = Reader {
            src: BufReader::with_capacity(256 * 1024, src),
            pos: 0,
            version: (0, 0),
            snapshot: Snapshot::default(),
            body: Vec::with_capacity(MAX_SMALL_BODY),
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
    pub fn next_event(&mut self) -> Result<Option<EventRef<'_>>> {
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
        match EventRef::parse(&self.body[found.start..], found.cpu, found.flags) {
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
            let b = &self.body;
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
        let b = &self.body;
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
            let body = &self.body[..self.body.len() - 4];
            let snap = &mut self.snapshot;
            let res = match h.btype {
                block::MI | block::MI_INT => meta::parse_mi(body).map(|m| snap.machine = Some(m)),
                t if meta::is_pl(t) => meta::parse_pl(body, t, snap, &mut procs),
                block::FDL | block::FDL_INT | block::FDL_V2 => {
                    meta::parse_fdl(body, h.btype, snap, &procs)
                }
                block::IL | block::IL_INT | block::IL_V2 => meta::parse_il(body, h.btype, snap),
                block::UL | block::UL_INT | block::UL_V2 => meta::parse_ul(body, h.btype, snap),
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
        let n = self.body.len();
        let t = &self.body[n - 4..];
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
        while n < 8 {
            match self.src.read(&mut hb[n..]) {
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

    /// Reads the body of the block `h` (total length - 8 bytes, trailer included)
    /// into `self.body`. The caller has checked `h.total >= 12`.
    fn read_body(&mut self, h: &Header, event_index: Option<u64>) -> Result<()> {
        let len = h.total as usize - 8;
        let loc = h.loc(event_index);
        self.body.clear();
        let res = if len <= EAGER_READ.max(self.body.capacity()) {
            self.body.resize(len, 0);
            self.src.read_exact(&mut self.body)
        } else {
            match (&mut self.src).take(len as u64).read_to_end(&mut self.body) {
                Ok(n) if n < len => Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        };
        res.map_err(|e| io_error(loc, e))?;
        self.pos += len as u64;
        Ok(())
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
