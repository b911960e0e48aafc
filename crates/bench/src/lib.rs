//! Support shared by the `osprey-bench` binaries (see `src/bin/`).
//!
//! - [`mix`] builds a capture of a million events or more by repeating real
//!   captures back to back, so that both Osprey and its peer read the same
//!   large, realistic input;
//! - [`child`] waits for a timed child process and returns its resource usage.
//!
//! These helpers serve whole-process benchmarks only, so they report errors
//! with `anyhow` like the binaries that call them.

pub mod child;
pub mod mix;
