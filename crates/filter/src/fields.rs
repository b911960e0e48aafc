//! The field classes of syscall events: their catalogue and the `-l`/`-L` listings.
//!
//! - [`catalog`]: every field's name, type, flags and description, and
//!   [`SyscallCatalog`](catalog::SyscallCatalog), which resolves names;
//! - [`listing`]: the `sysdig -l`, `-lv` and `-L` listings.

pub mod catalog;
pub mod listing;
