//! Reading and writing sysdig/Falco `.scap` capture files.
//!
//! # The block model
//!
//! A capture is a pcapng-like sequence of blocks, optionally gzip-compressed as a
//! whole. Every block is `u32 type, u32 total_length, body, padding to 4,
//! u32 total_length`. The file starts with a section header (SHB, format version
//! `major.minor`), followed by metadata blocks that describe the system when the
//! capture started, then event blocks until the end:
//!
//! ```text
//! SHB | MI | IL | UL | PL | FDL FDL ... | EV EV EVF EV ...
//!       machine  users   threads  fds      events (one per block)
//! ```
//!
//! Each metadata kind has several versions (PL_V1..PL_V9, FDL/FDL_V2, ...); all of
//! them decode into one neutral [`Snapshot`](osprey_event::snapshot::Snapshot).
//! Event blocks carry a CPU number, optional dump flags and one event record; old
//! (v1) records lack the parameter count and are converted to the v2 layout that
//! [`EventRef`](osprey_event::EventRef) views.
//!
//! # Main types
//!
//! - [`Reader`]: opens a capture, decodes its metadata eagerly and streams events
//!   through one reused buffer ([`Reader::next_event`]); an uncompressed capture
//!   file is mapped into memory instead, and its events are viewed in place.
//! - [`Writer`]: writes a snapshot and events in the current format (1.2), raw or
//!   gzip, readable by sysdig 0.29.3 and current libs.
//! - [`Error`]: every failure, with the byte offset, block name and event index.
//!
//! ```
//! use osprey_event::{encode, snapshot::Snapshot, EventRef};
//! use osprey_scap::{Reader, Writer};
//!
//! // write a capture with one close() enter event into memory...
//! let mut w = Writer::new(Vec::new());
//! w.write_snapshot(&Snapshot::default())?;
//! let mut rec = Vec::new();
//! encode(&mut rec, 1_000, 42, 4, &[&3i64.to_le_bytes()]);
//! w.write_event(&EventRef::parse(&rec, 0, 0).unwrap())?;
//! let bytes = w.finish()?;
//!
//! // ...and read it back
//! let mut r = Reader::new(std::io::Cursor::new(bytes))?;
//! assert_eq!(r.version(), (1, 2));
//! let ev = r.next_event()?.expect("one event");
//! assert_eq!((ev.tid(), ev.info().unwrap().name), (42, "close"));
//! assert!(r.next_event()?.is_none());
//! # Ok::<(), osprey_scap::Error>(())
//! ```

pub mod block;
mod error;
mod mapping;
mod meta;
mod reader;
mod writer;

pub use error::{Error, Location, Result};
pub use reader::Reader;
pub use writer::Writer;
