//! A whole uncompressed capture in memory: a read-only map of the file, or bytes
//! the caller handed over. Events are then viewed where they lie, with no copy.

use std::fs::File;

use memmap2::{Advice, Mmap, UncheckedAdvice};

/// Mapped bytes already read are handed back to the kernel in steps of this
/// size, so the process's resident size does not grow with the file.
const RELEASE_STEP: usize = 1 << 20;

/// The bytes of a capture held whole.
#[derive(Debug)]
pub(crate) enum Whole {
    /// A read-only map of a capture file.
    Map {
        /// The mapping.
        map: Mmap,
        /// Bytes before this offset have been handed back ([`Whole::release`]).
        released: usize,
    },
    /// Bytes in memory.
    Bytes(Vec<u8>),
}

impl Whole {
    /// Maps `f` when it is a non-empty regular file; `None` (read it as a stream
    /// then) for pipes, devices, empty files or when mapping fails.
    pub(crate) fn map(f: &File) -> Option<Whole> {
        let meta = f.metadata().ok()?;
        if !meta.is_file() || meta.len() == 0 {
            return None;
        }
        // SAFETY: the map is read-only and private to this reader. Its bytes could
        // change only if another process rewrote the file while we read it, which
        // a capture being read never is (a file appended to is fine: the map
        // covers the length it had at open). Every access is bounds-checked
        // against the map's length.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(f) }.ok()?;
        // Readahead is a hint: failing to set it changes nothing but speed.
        let _ = map.advise(Advice::Sequential);
        Some(Whole::Map { map, released: 0 })
    }

    /// All the bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Whole::Map { map, .. } => map,
            Whole::Bytes(b) => b,
        }
    }

    /// Says that no byte before `offset` will be read again: a map drops its
    /// pages (in large steps) from the process, though they stay in the page cache.
    #[inline]
    pub(crate) fn release(&mut self, offset: usize) {
        let Whole::Map { map, released } = self else {
            return;
        };
        // Whole 64 KiB units, so the page holding the next block stays mapped.
        let offset = offset & !0xffff;
        if offset < *released + RELEASE_STEP {
            return;
        }
        // SAFETY: the map is read-only, so dropping its pages loses nothing: a
        // later access would fault the same file bytes back in. No borrow of
        // the bytes before `offset` is alive (the reader holds `&mut self`).
        #[allow(unsafe_code)]
        let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, 0, offset) };
        *released = offset;
    }
}
