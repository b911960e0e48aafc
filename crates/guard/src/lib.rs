//! `osprey-guard`'s engine pieces: configuration (falco.yaml), alert outputs
//! (stdout, file, syslog, program, http) with rate limiting, and the event
//! loop that feeds rules from a capture file or the live driver.

pub mod audit_source;
pub mod config;
pub mod engine;
pub mod output;
pub mod testcmd;
pub mod validate;
