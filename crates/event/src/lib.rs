//! The bottom of the Osprey stack: what an event *is*.
//!
//! This crate owns:
//! - the event table ([`table`]): every event type's name, direction, category,
//!   flags and typed parameter list, generated from the upstream table dump;
//! - [`EventRef`], a zero-copy, validated view of one event record in the v2
//!   layout, with lazy access to parameter bytes;
//! - the neutral [`snapshot`] types (processes, fds, users, machine) that capture
//!   sources produce and the state library consumes.
//!
//! It leaves files to `osprey-scap`, the live driver to `osprey-probe`, thread and
//! fd tracking to `osprey-state`, and fields and filters to `osprey-filter`.
//!
//! ```
//! use osprey_event::{encode, EventRef, table};
//! let mut buf = Vec::new();
//! // close enter event: one FD parameter
//! encode(&mut buf, 1_000, 42, 4, &[&3i64.to_le_bytes()]);
//! let ev = EventRef::parse(&buf, 0, 0).unwrap();
//! assert_eq!(ev.info().unwrap().name, "close");
//! assert_eq!(table::EVENTS[4].params[0].name, "fd");
//! ```

pub mod container;
pub mod errno;
pub mod event;
pub mod flags;
pub mod render;
pub mod snapshot;
pub mod syscalls;
pub mod table;

pub use event::{encode, EventError, EventRef, HEADER_LEN};
pub use render::{
    render_info, render_param, render_raw_param, ArgStyle, BufFormat, FdDesc, NoState,
    RenderOptions, Resolver,
};
pub use table::{info, Direction, EventInfo, ParamInfo, ParamType, PrintFormat};
