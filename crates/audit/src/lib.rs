//! Kubernetes API-server auditing: the `audit.k8s.io/v1` event schema and reader
//! ([`event`]), audit policies with the apiserver's validation and first-match
//! evaluation ([`policy`]), and the `osprey-audit` subcommands built on them
//! ([`evaluate`], [`policy::check`], [`lint`], [`simulate`]).
//!
//! This crate leaves Falco-style detection to `osprey-rules` (it only provides
//! the `ka.*` field source) and printing and exit codes to its thin binary.
//!
//! ```
//! use osprey_audit::event::{Event, Level};
//! use osprey_audit::policy::Policy;
//!
//! let policy = Policy::from_yaml(
//!     "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  verbs: [watch]\n- level: Metadata\n",
//! )
//! .unwrap()
//! .policy;
//! let ev: Event = serde_json::from_str(r#"{"verb":"get","requestURI":"/healthz"}"#).unwrap();
//! assert_eq!(policy.evaluate_event(&ev).level, Level::Metadata);
//! ```

pub mod evaluate;
pub mod event;
pub mod fields;
pub mod lint;
pub mod log;
pub mod policy;
pub mod query;
pub mod sender;
pub mod serve;
pub mod simulate;

use std::path::PathBuf;

/// Errors of this crate. Each carries where it happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file (or standard input) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file, or `<stdin>`.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed JSON, or JSON that is not an audit event.
    #[error("{source_name}:{line}:{column}: {message} (byte offset {offset})")]
    Json {
        /// The file, or `<stdin>`.
        source_name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in bytes.
        column: usize,
        /// Byte offset in the input.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// The policy could not be loaded: decoding or validation errors.
    #[error("{path}: {}", policy::Diagnostic::summary(.diagnostics))]
    Policy {
        /// The policy file.
        path: PathBuf,
        /// Every error, in the apiserver's order.
        diagnostics: Vec<policy::Diagnostic>,
    },
    /// Writing output failed.
    #[error("writing output: {0}")]
    Write(#[source] std::io::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
