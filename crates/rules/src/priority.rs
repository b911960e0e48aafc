//! Rule priorities (syslog severities).

use std::fmt;

/// A rule priority, from most to least severe. `Ord` follows severity:
/// `Emergency < Alert < ... < Debug`, so "at least as severe as `p`" is `<= p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// `Emergency`.
    Emergency,
    /// `Alert`.
    Alert,
    /// `Critical`.
    Critical,
    /// `Error`.
    Error,
    /// `Warning`.
    Warning,
    /// `Notice`.
    Notice,
    /// `Informational` (also written `info`).
    Informational,
    /// `Debug`.
    Debug,
}

impl Priority {
    /// Every priority, most severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// Parses a priority name, case-insensitively; `info` means `Informational`.
    pub fn parse(s: &str) -> Option<Priority> {
        if s.eq_ignore_ascii_case("info") {
            return Some(Priority::Informational);
        }
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }

    /// The name alerts print (`Informational`, never `INFO`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_info_is_informational() {
        assert_eq!(Priority::parse("INFO"), Some(Priority::Informational));
        assert_eq!(Priority::parse("info"), Some(Priority::Informational));
        assert_eq!(Priority::parse("WARNING"), Some(Priority::Warning));
        assert_eq!(
            Priority::parse("Informational"),
            Some(Priority::Informational)
        );
        assert_eq!(Priority::parse("warn"), None);
        assert!(Priority::Critical < Priority::Warning);
        assert_eq!(Priority::Informational.to_string(), "Informational");
    }
}
