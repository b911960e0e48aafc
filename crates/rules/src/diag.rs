//! Load diagnostics: Falco's error and warning codes, location chains and the
//! [`LoadResult`] of loading rules files.

use std::fmt;

pub use crate::yaml::Pos;

/// A load error code (Falco's `LOAD_ERR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The file could not be read.
    FileRead,
    /// The YAML could not be parsed.
    YamlParse,
    /// Wrong structure or value types.
    YamlValidate,
    /// A condition could not be compiled.
    CompileCondition,
    /// An output could not be compiled.
    CompileOutput,
    /// Semantic errors: undefined macro, version mismatch, append without base...
    Validate,
    /// An error in an extension item.
    Extension,
}

impl ErrorCode {
    /// The code as Falco prints it (`LOAD_ERR_VALIDATE`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FileRead => "LOAD_ERR_FILE_READ",
            ErrorCode::YamlParse => "LOAD_ERR_YAML_PARSE",
            ErrorCode::YamlValidate => "LOAD_ERR_YAML_VALIDATE",
            ErrorCode::CompileCondition => "LOAD_ERR_COMPILE_CONDITION",
            ErrorCode::CompileOutput => "LOAD_ERR_COMPILE_OUTPUT",
            ErrorCode::Validate => "LOAD_ERR_VALIDATE",
            ErrorCode::Extension => "LOAD_ERR_EXTENSION",
        }
    }

    /// Falco's short description of the code.
    pub fn desc(self) -> &'static str {
        match self {
            ErrorCode::FileRead => "File read error",
            ErrorCode::YamlParse => "YAML parse error",
            ErrorCode::YamlValidate => "Error validating internal structure of YAML file",
            ErrorCode::CompileCondition => "Error compiling condition",
            ErrorCode::CompileOutput => "Error compiling output",
            ErrorCode::Validate => "Error validating rule/macro/list/exception objects",
            ErrorCode::Extension => "Error in extension item",
        }
    }
}

/// A load warning code (Falco's `LOAD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningCode {
    /// Unknown event source: the rule is skipped.
    UnknownSource,
    /// A comparison with `<NA>`.
    UnsafeNaCheck,
    /// The rule matches no or too many (> 100) event types.
    NoEvttype,
    /// Unknown field or event type in a rule with `skip-if-unknown-filter`.
    UnknownFilter,
    /// A macro nothing refers to.
    UnusedMacro,
    /// A list nothing refers to.
    UnusedList,
    /// An unknown top-level item.
    UnknownItem,
    /// A deprecated item or field.
    DeprecatedItem,
    /// A warning in an extension item.
    WarningExtension,
    /// An append/override of an exception without values.
    AppendNoValues,
    /// Two exceptions with the same name in one rule.
    ExceptionNameNotUnique,
    /// A macro name outside `[a-zA-Z]+[a-zA-Z0-9_]*`.
    InvalidMacroName,
    /// A list name with forbidden characters.
    InvalidListName,
    /// A compiler warning on a condition.
    CompileCondition,
    /// An unknown key in an item.
    UnknownKey,
}

impl WarningCode {
    /// The code as Falco prints it (`LOAD_UNKNOWN_KEY`).
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::UnknownSource => "LOAD_UNKNOWN_SOURCE",
            WarningCode::UnsafeNaCheck => "LOAD_UNSAFE_NA_CHECK",
            WarningCode::NoEvttype => "LOAD_NO_EVTTYPE",
            WarningCode::UnknownFilter => "LOAD_UNKNOWN_FILTER",
            WarningCode::UnusedMacro => "LOAD_UNUSED_MACRO",
            WarningCode::UnusedList => "LOAD_UNUSED_LIST",
            WarningCode::UnknownItem => "LOAD_UNKNOWN_ITEM",
            WarningCode::DeprecatedItem => "LOAD_DEPRECATED_ITEM",
            WarningCode::WarningExtension => "LOAD_WARNING_EXTENSION",
            WarningCode::AppendNoValues => "LOAD_APPEND_NO_VALUES",
            WarningCode::ExceptionNameNotUnique => "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
            WarningCode::InvalidMacroName => "LOAD_INVALID_MACRO_NAME",
            WarningCode::InvalidListName => "LOAD_INVALID_LIST_NAME",
            WarningCode::CompileCondition => "LOAD_COMPILE_CONDITION",
            WarningCode::UnknownKey => "LOAD_UNKNOWN_KEY",
        }
    }

    /// Falco's short description of the code.
    pub fn desc(self) -> &'static str {
        match self {
            WarningCode::UnknownSource => "Unknown event source",
            WarningCode::UnsafeNaCheck => "Unsafe <NA> comparison in condition",
            WarningCode::NoEvttype => "No event types in condition",
            WarningCode::UnknownFilter => "Unknown field or event-type in condition or output",
            WarningCode::UnusedMacro => "Unused macro",
            WarningCode::UnusedList => "Unused list",
            WarningCode::UnknownItem => "Unknown rules file item",
            WarningCode::DeprecatedItem => "Used deprecated item",
            WarningCode::WarningExtension => "Warning in extension item",
            WarningCode::AppendNoValues => "Overriding/appending list with no values",
            WarningCode::ExceptionNameNotUnique => "Multiple exceptions defined with the same name",
            WarningCode::InvalidMacroName => "Invalid macro name",
            WarningCode::InvalidListName => "Invalid list name",
            WarningCode::CompileCondition => "Warning in rule condition",
            WarningCode::UnknownKey => "Unknown key in item",
        }
    }
}

/// One link of a location chain: what item, which one, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Falco's item type string: "rules content", "rules content item", "rule",
    /// "rule condition", "condition expression", "macro", "list", "exception"...
    pub item_type: &'static str,
    /// The item's name (empty when it has none).
    pub item_name: String,
    /// The file name.
    pub file: String,
    /// Where in the file (for "condition expression": line and column of the
    /// condition value, `offset` is the byte offset inside the condition text).
    pub pos: Pos,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.item_type)?;
        if !self.item_name.is_empty() {
            write!(f, " '{}'", self.item_name)?;
        }
        write!(f, ": ({}:{}:{})", self.file, self.pos.line, self.pos.col)
    }
}

/// An error or a warning code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// An error: the load fails.
    Error(ErrorCode),
    /// A warning.
    Warning(WarningCode),
}

impl Code {
    /// The code string.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Error(c) => c.as_str(),
            Code::Warning(c) => c.as_str(),
        }
    }

    /// The code's short description.
    pub fn desc(self) -> &'static str {
        match self {
            Code::Error(c) => c.desc(),
            Code::Warning(c) => c.desc(),
        }
    }
}

/// One error or warning, with its location chain (outermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The code.
    pub code: Code,
    /// The message, in Falco's words where known.
    pub message: String,
    /// Where: from the file (`rules content`) down to the innermost item.
    pub locations: Vec<Location>,
}

impl Diagnostic {
    /// The innermost location, if any.
    pub fn location(&self) -> Option<&Location> {
        self.locations.last()
    }

    /// The item type and name the diagnostic is about, as Falco's testing
    /// suite checks them: the outermost location below the file and its
    /// top-level entry (a rule, macro, list, `required_engine_version`...).
    pub fn item(&self) -> (&str, &str) {
        self.locations
            .iter()
            .find(|l| !matches!(l.item_type, "rules content" | "rules content item"))
            .or(self.locations.last())
            .map_or(("", ""), |l| (l.item_type, l.item_name.as_str()))
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: CODE (desc): message [in rule 'x': (f:l:c) / ...]`, one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.location() {
            write!(f, "{}:{}:{}: ", l.file, l.pos.line, l.pos.col)?;
        }
        write!(
            f,
            "{} ({}): {}",
            self.code.as_str(),
            self.code.desc(),
            self.message
        )?;
        let mut first = true;
        for l in &self.locations {
            if matches!(l.item_type, "rules content") {
                continue;
            }
            f.write_str(if first { " [" } else { " / " })?;
            first = false;
            write!(f, "{l}")?;
        }
        if !first {
            f.write_str("]")?;
        }
        Ok(())
    }
}

/// The outcome of loading rules files: errors (the load failed when there is
/// any) and warnings, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadResult {
    /// Errors.
    pub errors: Vec<Diagnostic>,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
}

impl LoadResult {
    /// Whether the load succeeded (no error).
    pub fn successful(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether there is a warning with this code.
    pub fn has_warning(&self, code: WarningCode) -> bool {
        self.warnings.iter().any(|w| w.code == Code::Warning(code))
    }

    /// Whether there is an error with this code.
    pub fn has_error(&self, code: ErrorCode) -> bool {
        self.errors.iter().any(|w| w.code == Code::Error(code))
    }

    pub(crate) fn error(&mut self, code: ErrorCode, message: impl Into<String>, loc: &[Location]) {
        self.errors.push(Diagnostic {
            code: Code::Error(code),
            message: message.into(),
            locations: loc.to_vec(),
        });
    }

    pub(crate) fn warn(&mut self, code: WarningCode, message: impl Into<String>, loc: &[Location]) {
        self.warnings.push(Diagnostic {
            code: Code::Warning(code),
            message: message.into(),
            locations: loc.to_vec(),
        });
    }
}

impl fmt::Display for LoadResult {
    /// Falco's summary: `Ok` / `Ok, with warnings` / `Invalid`, then one line
    /// per error and warning.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = if !self.errors.is_empty() {
            "Invalid"
        } else if !self.warnings.is_empty() {
            "Ok, with warnings"
        } else {
            "Ok"
        };
        writeln!(f, "{head}")?;
        if !self.errors.is_empty() {
            writeln!(f, "{} Errors:", self.errors.len())?;
            for e in &self.errors {
                writeln!(f, "  {e}")?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "{} Warnings:", self.warnings.len())?;
            for w in &self.warnings {
                writeln!(f, "  {w}")?;
            }
        }
        Ok(())
    }
}
