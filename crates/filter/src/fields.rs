//! The field classes of syscall events: their catalogue and the `-l`/`-L` listings.
//!
//! - [`catalog`]: every field's name, type, flags and description, and
//!   [`SyscallCatalog`](catalog::SyscallCatalog), which resolves names;
//! - [`syscall`]: extraction of every field for one event ([`syscall::EventCtx`]);
//! - [`listing`]: the `sysdig -l`, `-lv` and `-L` listings;
//! - [`dns`]: the names behind `fd.*ip.name`.

pub mod catalog;
pub mod dns;
pub mod listing;
pub mod syscall;
