//! A consumer of one BPF ring buffer map, reading records in place.
//!
//! aya's `RingBuf` publishes the consumer position after every record, and
//! each publication is a cache line the producing CPU then has to fetch
//! back; at millions of events per second that bouncing, plus copying each
//! record out, was most of the consumer's time. This reader maps the ring
//! itself (the kernel's documented layout: a consumer page, a producer page,
//! then the data area mapped twice so that records never wrap), hands out
//! records as slices of the mapping, and publishes its position in batches.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Record header flag: reserved, not yet committed by the producer.
const BUSY: u32 = 1 << 31;
/// Record header flag: discarded by the producer; skip it.
const DISCARD: u32 = 1 << 30;
/// Size of a record header (length and flags, page offset).
const HDR: u64 = 8;

/// One mapped ring buffer.
pub(crate) struct Ring {
    /// The consumer page (read-write); its first word is the consumer position.
    cons: NonNull<u8>,
    /// The producer page followed by the data area twice (read-only).
    prod: NonNull<u8>,
    page: usize,
    size: u64,
    /// Position of the next record to read.
    pos: u64,
    /// Position last published to the kernel.
    published: u64,
    /// Producer position last read (records below it are visible).
    seen_prod: u64,
}

// SAFETY: the mappings are owned by this value and only accessed through it.
unsafe impl Send for Ring {}

impl Ring {
    /// Maps the ring buffer map `fd` of `size` data bytes (a power of two).
    pub(crate) fn new(fd: impl AsFd, size: u64) -> io::Result<Ring> {
        let raw = fd.as_fd().as_raw_fd();
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .map_err(|_| io::Error::other("no page size"))?;
        let data = usize::try_from(size).map_err(|_| io::Error::other("ring too large"))?;
        // SAFETY: a fresh shared mapping of the map's consumer page.
        let cons = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                raw,
                0,
            )
        };
        if cons == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the producer page and the doubly mapped data area, read-only.
        let prod = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page + 2 * data,
                libc::PROT_READ,
                libc::MAP_SHARED,
                raw,
                libc::off_t::try_from(page).map_err(|_| io::Error::other("page size"))?,
            )
        };
        if prod == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            // SAFETY: unmapping what was mapped above.
            unsafe { libc::munmap(cons, page) };
            return Err(err);
        }
        let (Some(cons), Some(prod)) = (NonNull::new(cons.cast()), NonNull::new(prod.cast()))
        else {
            return Err(io::Error::other("mmap returned null"));
        };
        let mut ring = Ring {
            cons,
            prod,
            page,
            size,
            pos: 0,
            published: 0,
            seen_prod: 0,
        };
        ring.pos = ring.cons_word().load(Ordering::Acquire);
        ring.published = ring.pos;
        Ok(ring)
    }

    fn cons_word(&self) -> &AtomicU64 {
        // SAFETY: the consumer page starts with the kernel's u64 position,
        // page-aligned, valid for the mapping's lifetime.
        unsafe { &*self.cons.as_ptr().cast::<AtomicU64>() }
    }

    fn prod_word(&self) -> &AtomicU64 {
        // SAFETY: as above, for the producer page.
        unsafe { &*self.prod.as_ptr().cast::<AtomicU64>() }
    }

    fn data(&self, off: u64) -> *const u8 {
        // SAFETY: off < size, inside the first copy of the data area.
        unsafe {
            self.prod
                .as_ptr()
                .add(self.page + (off & (self.size - 1)) as usize)
        }
    }

    /// The next committed record, without consuming it: its bytes and the
    /// number of ring bytes it occupies. Discarded records are skipped.
    pub(crate) fn peek(&mut self) -> Option<(&[u8], u64)> {
        loop {
            if self.pos >= self.seen_prod {
                self.seen_prod = self.prod_word().load(Ordering::Acquire);
                if self.pos >= self.seen_prod {
                    return None;
                }
            }
            let hdr = self.data(self.pos);
            // SAFETY: the header is a u32 the producer commits atomically.
            let len = unsafe { &*hdr.cast::<AtomicU32>() }.load(Ordering::Acquire);
            if len & BUSY != 0 {
                return None;
            }
            let body = u64::from(len & !(BUSY | DISCARD));
            let total = (body + HDR + 7) & !7;
            if len & DISCARD != 0 || body > self.size {
                self.pos += total;
                continue;
            }
            // SAFETY: the record is committed and lies within the double
            // mapping, so it is contiguous; it stays valid until consumed.
            let bytes = unsafe { std::slice::from_raw_parts(hdr.add(HDR as usize), body as usize) };
            return Some((bytes, total));
        }
    }

    /// Marks `total` bytes (a record [`Ring::peek`] returned) as read.
    /// The kernel learns of it at the next [`Ring::publish`], or once a
    /// quarter of the ring has been read.
    pub(crate) fn consume(&mut self, total: u64) {
        self.pos += total;
        if self.pos - self.published >= self.size / 4 {
            self.publish();
        }
    }

    /// Tells the kernel how far the ring has been read.
    pub(crate) fn publish(&mut self) {
        if self.published != self.pos {
            self.cons_word().store(self.pos, Ordering::Release);
            self.published = self.pos;
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping the two mappings made in `new`.
        unsafe {
            libc::munmap(self.cons.as_ptr().cast(), self.page);
            libc::munmap(
                self.prod.as_ptr().cast(),
                self.page + 2 * self.size as usize,
            );
        }
    }
}
