//! Live capture of the running system.
//!
//! - [`proc`]: the bootstrap: threads, fds, users, groups, machine and
//!   interfaces read from `/proc` and `/etc` into an
//!   [`osprey_event::snapshot::Snapshot`], so names resolve from the first event.
//! - [`driver`]: the eBPF driver: a CO-RE object compiled from `bpf/*.bpf.c`
//!   (committed, embedded with `include_bytes!`), loaded with aya, whose ring
//!   buffers deliver events in the same v2 layout as capture files, so a live
//!   event and a `.scap` event are the same thing downstream.
//!
//! This crate produces snapshots and events; `osprey-state` consumes them and the
//! binary connects the two.

pub mod driver;
pub mod proc;
