//! The crate's error type.

use std::io;

use osprey_event::EventError;

/// Where in a capture a problem was found.
///
/// `offset` counts bytes of the *decompressed* stream from its start; for
/// block-level problems it is the offset of the block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Byte offset of the block (or of the read that failed).
    pub offset: u64,
    /// Name of the block type, e.g. `"EV_V2"`, `"PL_V9"`; `"block header"` when the
    /// header itself could not be read, `"unknown"` for unknown types.
    pub block: &'static str,
    /// Index (0-based) the event would have had, for event blocks.
    pub event_index: Option<u64>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} block at byte {}", self.block, self.offset)?;
        if let Some(i) = self.event_index {
            write!(f, " (event #{})", i + 1)?;
        }
        Ok(())
    }
}

/// Everything that can go wrong reading or writing a capture.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The underlying reader or writer failed.
    #[error("I/O error at {loc}: {source}")]
    Io {
        /// Where.
        loc: Location,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The stream ended in the middle of a block.
    #[error("capture truncated: {loc} ends early")]
    Truncated {
        /// Where.
        loc: Location,
    },
    /// The input is empty or does not start with a section header block.
    #[error("not a scap capture: {what} at byte {offset}")]
    NotScap {
        /// Byte offset.
        offset: u64,
        /// What was found.
        what: &'static str,
    },
    /// The section header's byte-order magic is wrong (or byte-swapped).
    #[error("bad byte-order magic {magic:#010x} in {loc}")]
    BadMagic {
        /// Where.
        loc: Location,
        /// The magic found.
        magic: u32,
    },
    /// The capture's major version is newer than this reader understands.
    #[error("unsupported capture version {major}.{minor} in {loc}")]
    UnsupportedVersion {
        /// Where.
        loc: Location,
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// A block's trailing length differs from its header length.
    #[error("block length mismatch in {loc}: header {header}, trailer {trailer}")]
    TrailerMismatch {
        /// Where.
        loc: Location,
        /// Length in the header.
        header: u32,
        /// Length in the trailer.
        trailer: u32,
    },
    /// A block's length or contents are inconsistent.
    #[error("malformed {loc}: {reason}")]
    Malformed {
        /// Where.
        loc: Location,
        /// What is wrong.
        reason: &'static str,
    },
    /// An event record is inconsistent.
    #[error("bad event in {loc}: {source}")]
    BadEvent {
        /// Where.
        loc: Location,
        /// Why the record was rejected.
        #[source]
        source: EventError,
    },
    /// A metadata block appeared after the first event block.
    #[error("unexpected {loc} after the first event")]
    UnexpectedBlock {
        /// Where.
        loc: Location,
    },
}

impl Error {
    /// Where the error happened, when it is tied to a block.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Io { loc, .. }
            | Error::Truncated { loc }
            | Error::BadMagic { loc, .. }
            | Error::UnsupportedVersion { loc, .. }
            | Error::TrailerMismatch { loc, .. }
            | Error::Malformed { loc, .. }
            | Error::BadEvent { loc, .. }
            | Error::UnexpectedBlock { loc } => Some(loc),
            Error::NotScap { .. } => None,
        }
    }

    /// Byte offset of the problem in the decompressed stream.
    pub fn offset(&self) -> u64 {
        match self {
            Error::NotScap { offset, .. } => *offset,
            _ => self.location().map_or(0, |l| l.offset),
        }
    }

    /// Name of the block involved (`"EV_V2"`, `"PL_V9"`...), if any.
    pub fn block(&self) -> Option<&'static str> {
        self.location().map(|l| l.block)
    }

    /// Whether the error means the input ended early (a capture cut short).
    pub fn is_truncated(&self) -> bool {
        matches!(self, Error::Truncated { .. })
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
