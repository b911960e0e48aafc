//! The single error type of the filter language: parse and compile errors with a location.

/// A parse or compile error, located by a byte offset into the filter string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text does not follow the grammar.
    #[error("{msg}")]
    Parse {
        /// Byte offset into the filter string.
        offset: usize,
        /// What is wrong, in the style of the reference parser.
        msg: String,
    },
    /// The text parses but cannot be compiled (unknown field, bad literal, bad regex...).
    #[error("{msg}")]
    Compile {
        /// Byte offset into the filter string.
        offset: usize,
        /// What is wrong.
        msg: String,
    },
}

impl Error {
    pub(crate) fn parse(offset: usize, msg: impl Into<String>) -> Self {
        Error::Parse {
            offset,
            msg: msg.into(),
        }
    }

    pub(crate) fn compile(offset: usize, msg: impl Into<String>) -> Self {
        Error::Compile {
            offset,
            msg: msg.into(),
        }
    }

    /// Byte offset into the filter string where the problem was found.
    pub fn offset(&self) -> usize {
        match self {
            Error::Parse { offset, .. } | Error::Compile { offset, .. } => *offset,
        }
    }

    /// The message without location.
    pub fn message(&self) -> &str {
        match self {
            Error::Parse { msg, .. } | Error::Compile { msg, .. } => msg,
        }
    }

    /// The 1-based column (in characters) of [`Error::offset`] within `src`.
    pub fn column(&self, src: &str) -> usize {
        let off = self.offset().min(src.len());
        let prefix = src.get(..off).unwrap_or(src);
        prefix.chars().count() + 1
    }

    /// A one-line message for users: `filter error at column 17: <message>`.
    pub fn display_with_caret(&self, src: &str) -> String {
        format!(
            "filter error at column {}: {}",
            self.column(src),
            self.message()
        )
    }

    /// Two lines: the filter text, then a caret under the error column.
    pub fn snippet(&self, src: &str) -> String {
        let one_line: String = src
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("{one_line}\n{}^", " ".repeat(self.column(src) - 1))
    }
}
