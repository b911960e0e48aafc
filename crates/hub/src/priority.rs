//! Falco alert priorities, parsed and ordered as Falcosidekick does.

/// A Falco alert priority. The order is Falcosidekick's threshold order:
/// `Default` (unknown or empty) is the lowest, `Emergency` the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// Empty or unrecognised priority; an alert with it fails validation.
    #[default]
    Default = 0,
    /// `debug`.
    Debug = 1,
    /// `informational` (or `info`).
    Informational = 2,
    /// `notice`.
    Notice = 3,
    /// `warning`.
    Warning = 4,
    /// `error`.
    Error = 5,
    /// `critical`.
    Critical = 6,
    /// `alert`.
    Alert = 7,
    /// `emergency`.
    Emergency = 8,
}

impl Priority {
    /// All real priorities, lowest first (without `Default`).
    pub const ALL: [Priority; 8] = [
        Priority::Debug,
        Priority::Informational,
        Priority::Notice,
        Priority::Warning,
        Priority::Error,
        Priority::Critical,
        Priority::Alert,
        Priority::Emergency,
    ];

    /// Parses a priority name case-insensitively; unknown names give `Default`.
    pub fn parse(s: &str) -> Priority {
        let s = s.trim();
        let eq = |name: &str| s.eq_ignore_ascii_case(name);
        if eq("emergency") {
            Priority::Emergency
        } else if eq("alert") {
            Priority::Alert
        } else if eq("critical") {
            Priority::Critical
        } else if eq("error") {
            Priority::Error
        } else if eq("warning") {
            Priority::Warning
        } else if eq("notice") {
            Priority::Notice
        } else if eq("informational") || eq("info") {
            Priority::Informational
        } else if eq("debug") {
            Priority::Debug
        } else {
            Priority::Default
        }
    }

    /// The name Falcosidekick writes when it serialises an alert ("Warning"; "" for `Default`).
    pub fn name(self) -> &'static str {
        match self {
            Priority::Default => "",
            Priority::Debug => "Debug",
            Priority::Informational => "Informational",
            Priority::Notice => "Notice",
            Priority::Warning => "Warning",
            Priority::Error => "Error",
            Priority::Critical => "Critical",
            Priority::Alert => "Alert",
            Priority::Emergency => "Emergency",
        }
    }

    /// The lower-case name used as the `priority_raw` metric label.
    pub fn lower_name(self) -> &'static str {
        match self {
            Priority::Default => "",
            Priority::Debug => "debug",
            Priority::Informational => "informational",
            Priority::Notice => "notice",
            Priority::Warning => "warning",
            Priority::Error => "error",
            Priority::Critical => "critical",
            Priority::Alert => "alert",
            Priority::Emergency => "emergency",
        }
    }

    /// The numeric level (0 for `Default` … 8 for `Emergency`).
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The priority of a numeric level; out-of-range levels give `Default`.
    pub fn from_u8(n: u8) -> Priority {
        match n {
            1..=8 => Priority::ALL[usize::from(n) - 1],
            _ => Priority::Default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        assert_eq!(Priority::parse("WARNING"), Priority::Warning);
        assert_eq!(Priority::parse("info"), Priority::Informational);
        assert_eq!(Priority::parse("Informational"), Priority::Informational);
        assert_eq!(Priority::parse("bogus"), Priority::Default);
        assert!(Priority::Debug < Priority::Emergency);
        for p in Priority::ALL {
            assert_eq!(Priority::from_u8(p.as_u8()), p);
            assert_eq!(Priority::parse(p.name()), p);
        }
        assert_eq!(Priority::from_u8(9), Priority::Default);
    }
}
