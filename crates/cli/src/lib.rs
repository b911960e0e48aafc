//! The Osprey command-line tools. Each binary in `src/bin` is a thin wrapper
//! around one module here:
//!
//! - [`inspect`]: `osprey`, sysdig-compatible reading, filtering and printing of
//!   capture files.

pub mod inspect;
