//! The crate's error type.

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The alert is not well-formed JSON of the right shape (line and column are 1-based).
    #[error("alert JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser reported.
        message: String,
    },
    /// A field Falcosidekick requires is missing or has an unusable value.
    #[error("alert field `{field}`: {reason}")]
    Invalid {
        /// The JSON key at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The forwarder configuration is wrong (line and column in the YAML when known).
    #[error("config{}: {message}", location(*line, *column))]
    Config {
        /// 1-based YAML line, 0 when unknown.
        line: usize,
        /// 1-based YAML column, 0 when unknown.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// An output instance could not be set up (bad URL, unreadable queue, ...).
    #[error("output `{output}`: {message}")]
    Output {
        /// The output instance's name.
        output: String,
        /// What failed.
        message: String,
    },
    /// A persistent queue failed on disk.
    #[error("queue `{output}`: {message}")]
    Queue {
        /// The output instance's name.
        output: String,
        /// The storage error.
        message: String,
    },
    /// A template (`messageformat`, the hub's `templatedfields`) does not compile.
    #[error("template error at byte {offset}: {message}")]
    Template {
        /// Byte offset in the template source.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// An I/O error outside a queue.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn location(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" at line {line}, column {column}")
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
