//! The hub's error type.

/// Everything that can go wrong in the hub library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request body is not valid JSON.
    #[error("invalid JSON at line {line}, column {column}: {msg}")]
    Json {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde_json reported.
        msg: String,
    },
    /// The alert parsed but misses a required field or has an unusable value.
    #[error("invalid alert: field `{field}` {msg}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// Why it is rejected.
        msg: &'static str,
    },
    /// The configuration is invalid.
    #[error("config: {key}: {msg}")]
    Config {
        /// The key path (`storage.maxage`) or file the problem is in.
        key: String,
        /// What is wrong.
        msg: String,
    },
    /// A storage backend failed.
    #[error("storage ({backend}): {msg}")]
    Store {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The backend's message.
        msg: String,
    },
    /// A TLS certificate or key could not be loaded.
    #[error("tls: {path}: {msg}")]
    Tls {
        /// The file that failed.
        path: String,
        /// What is wrong.
        msg: String,
    },
    /// An I/O error (binding the listener, reading the config).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store {
            backend: "sqlite",
            msg: e.to_string(),
        }
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Store {
            backend: "postgres",
            msg: e.to_string(),
        }
    }
}
