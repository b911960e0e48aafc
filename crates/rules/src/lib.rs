//! Falco-compatible rules: loading rules files (rules, macros, lists,
//! exceptions, append and override), compiling conditions and outputs with
//! `osprey-filter`, indexing rules by event type, evaluating them per event
//! and describing the alerts they raise.
