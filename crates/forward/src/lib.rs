//! Alert forwarders for Osprey: Falco alerts in, many destinations out, shaped like
//! Vector (source → transform → sink).
//!
//! - [`Alert`] is Falco's JSON alert: [`Alert::from_json`] parses and validates it as
//!   Falcosidekick does, [`Alert::to_json`] writes Falco's exact JSON back.
//! - [`Forwarders`] owns one pipeline per configured output instance: a routing filter
//!   (minimum priority, rules, tags, sources), a bounded persistent queue on disk with
//!   retries and exponential backoff, and a sink that speaks the destination's protocol
//!   with Falcosidekick's payload shapes.

pub mod alert;
mod error;

pub use alert::{Alert, Priority};
pub use error::{Error, Result};
