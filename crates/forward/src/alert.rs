//! Falco's JSON alert: parsing (with located errors), validation as Falcosidekick
//! does it, and serialisation back to Falco's exact JSON layout.
//!
//! Falco builds its alert with an ordered-map JSON library, so the keys of the object
//! (and of `output_fields`) come out sorted by name:
//! `hostname, output, output_fields, priority, rule, source, tags, time`. The time is
//! RFC 3339 in UTC with nine fractional digits (`2026-11-27T06:56:56.123456789Z`).
//! [`Alert::to_json`] writes that layout, so an alert Falco emitted serialises back to
//! the same bytes. Keys this crate does not know (for instance a newer Falco's
//! `message`) are ignored on input, as Falcosidekick ignores them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Utc};
use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The rule name Falcosidekick's `/test` endpoint uses: alerts of this rule bypass every
/// output's `minimumpriority`.
pub const TEST_RULE: &str = "Test rule";

/// Falco's alert priority (syslog-like severity), ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// `Debug`.
    Debug,
    /// `Informational` (also accepted as `info`).
    Informational,
    /// `Notice`.
    Notice,
    /// `Warning`.
    Warning,
    /// `Error`.
    Error,
    /// `Critical`.
    Critical,
    /// `Alert`.
    Alert,
    /// `Emergency`.
    Emergency,
}

impl Priority {
    /// Every priority, least severe first.
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

    /// The name Falco writes (`"Warning"`, `"Informational"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
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

    /// The lower-case name (`"warning"`), as used in NATS subjects and Loki labels.
    pub fn as_lower_str(self) -> &'static str {
        match self {
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

    /// Parses a priority case-insensitively (`info` is `Informational`), as Falco and
    /// Falcosidekick do. Returns `None` for anything else.
    pub fn parse(s: &str) -> Option<Priority> {
        if s.eq_ignore_ascii_case("info") {
            return Some(Priority::Informational);
        }
        Priority::ALL
            .into_iter()
            .find(|p| s.eq_ignore_ascii_case(p.as_str()))
    }

    /// The syslog severity number (0 = emergency ... 7 = debug).
    pub fn syslog_severity(self) -> u8 {
        match self {
            Priority::Emergency => 0,
            Priority::Alert => 1,
            Priority::Critical => 2,
            Priority::Error => 3,
            Priority::Warning => 4,
            Priority::Notice => 5,
            Priority::Informational => 6,
            Priority::Debug => 7,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Priority::parse(s).ok_or(Error::Invalid {
            field: "priority",
            reason: "not one of emergency, alert, critical, error, warning, notice, informational, debug",
        })
    }
}

impl Serialize for Priority {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Priority::parse(&s).ok_or_else(|| de::Error::custom(format_args!("unknown priority {s:?}")))
    }
}

/// One Falco alert, as Falco sends it with `json_output: true`.
///
/// The optional keys are `None` when the input did not carry them (Falco leaves out
/// `output` and `tags` when their `json_include_*_property` is off), so serialisation
/// reproduces the input's set of keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The formatted message (`"<time>: <Priority> <text>"`).
    pub output: Option<String>,
    /// The rule's priority.
    pub priority: Priority,
    /// The rule name (never empty in a valid alert).
    pub rule: String,
    /// When the event happened (UTC, nanosecond precision).
    pub time: DateTime<Utc>,
    /// The values of the fields the rule's output names (`proc.name`, `evt.time`, ...),
    /// sorted by name as Falco writes them; integers stay exact.
    pub output_fields: BTreeMap<String, serde_json::Value>,
    /// The event source (`syscall`, `k8s_audit`, a plugin's name, ...).
    pub source: Option<String>,
    /// The rule's tags.
    pub tags: Option<Vec<String>>,
    /// The host Falco runs on.
    pub hostname: Option<String>,
    /// The id Falcosidekick adds to forwarded alerts; kept when present.
    pub uuid: Option<String>,
}

/// Source name Falcosidekick substitutes when an alert has none.
pub const DEFAULT_SOURCE: &str = "syscalls";
/// Hostname Falcosidekick uses for metrics when an alert has none.
pub const UNKNOWN_HOSTNAME: &str = "unknown";

impl Alert {
    /// Parses one alert from Falco's JSON and validates it ([`Alert::validate`]).
    ///
    /// Errors: [`Error::Json`] (with line and column) for malformed JSON or a field of the
    /// wrong type or an unknown priority, [`Error::Invalid`] for a missing or empty
    /// required field.
    pub fn from_json(bytes: &[u8]) -> Result<Alert, Error> {
        let raw: RawAlert = serde_json::from_slice(bytes).map_err(|e| Error::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let alert = Alert {
            output: raw.output,
            priority: raw.priority.ok_or(Error::Invalid {
                field: "priority",
                reason: "missing",
            })?,
            rule: raw.rule.unwrap_or_default(),
            time: raw.time.map_or(DateTime::<Utc>::MIN_UTC, |t| t.0),
            output_fields: raw.output_fields.unwrap_or_default(),
            source: raw.source,
            tags: raw.tags,
            hostname: raw.hostname,
            uuid: raw.uuid,
        };
        alert.validate()?;
        Ok(alert)
    }

    /// Checks what Falcosidekick requires of an accepted alert: a non-empty `rule`, a
    /// non-zero `time` and a non-empty `output_fields` (the priority is valid by type).
    pub fn validate(&self) -> Result<(), Error> {
        if self.rule.is_empty() {
            return Err(Error::Invalid {
                field: "rule",
                reason: "missing or empty",
            });
        }
        if self.time.year() <= 1 {
            return Err(Error::Invalid {
                field: "time",
                reason: "missing or zero",
            });
        }
        if self.output_fields.is_empty() {
            return Err(Error::Invalid {
                field: "output_fields",
                reason: "missing or empty",
            });
        }
        Ok(())
    }

    /// Appends the alert as Falco's compact JSON (sorted keys, no trailing newline).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Serialising plain strings, maps and numbers into a Vec cannot fail.
        serde_json::to_writer(out, self).expect("serialising an Alert into memory cannot fail");
    }

    /// The alert as Falco's compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(512);
        self.write_json(&mut v);
        v
    }

    /// The source, or Falcosidekick's default `syscalls` when absent or empty.
    pub fn source_or_default(&self) -> &str {
        match self.source.as_deref() {
            Some(s) if !s.is_empty() => s,
            _ => DEFAULT_SOURCE,
        }
    }

    /// The hostname, or `unknown` when absent or empty.
    pub fn hostname_or_unknown(&self) -> &str {
        match self.hostname.as_deref() {
            Some(s) if !s.is_empty() => s,
            _ => UNKNOWN_HOSTNAME,
        }
    }

    /// The tags (empty when absent).
    pub fn tags(&self) -> &[String] {
        self.tags.as_deref().unwrap_or(&[])
    }

    /// The output message (empty when absent).
    pub fn output_text(&self) -> &str {
        self.output.as_deref().unwrap_or("")
    }

    /// Appends the time as Falco writes it: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
    pub fn write_time(&self, out: &mut impl fmt::Write) -> fmt::Result {
        write!(out, "{}", self.time.format("%Y-%m-%dT%H:%M:%S%.9fZ"))
    }

    /// The time as nanoseconds since the Unix epoch (saturating outside ±292 years).
    pub fn time_unix_nanos(&self) -> i64 {
        self.time
            .timestamp_nanos_opt()
            .unwrap_or(if self.time.timestamp() < 0 {
                i64::MIN
            } else {
                i64::MAX
            })
    }

    /// A string rendering of one output field's value (strings unquoted, `null` as
    /// empty), or `None` if the alert has no such field.
    pub fn field_str(&self, key: &str) -> Option<String> {
        self.output_fields.get(key).map(value_to_string)
    }
}

/// Renders a JSON value as label text: strings as-is, `null` empty, others as JSON.
pub(crate) fn value_to_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

struct TimeDisplay<'a>(&'a DateTime<Utc>);

impl fmt::Display for TimeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.9fZ"))
    }
}

impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Keys in sorted order, as Falco's ordered JSON map writes them.
        let mut m = s.serialize_map(None)?;
        if let Some(h) = &self.hostname {
            m.serialize_entry("hostname", h)?;
        }
        if let Some(o) = &self.output {
            m.serialize_entry("output", o)?;
        }
        m.serialize_entry("output_fields", &self.output_fields)?;
        m.serialize_entry("priority", &self.priority)?;
        m.serialize_entry("rule", &self.rule)?;
        if let Some(src) = &self.source {
            m.serialize_entry("source", src)?;
        }
        if let Some(t) = &self.tags {
            m.serialize_entry("tags", t)?;
        }
        m.serialize_entry("time", &format_args!("{}", TimeDisplay(&self.time)))?;
        if let Some(u) = &self.uuid {
            m.serialize_entry("uuid", u)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Alert {
    /// Deserialises and validates (errors become the deserialiser's custom errors).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawAlert::deserialize(d)?;
        let alert = Alert {
            output: raw.output,
            priority: raw
                .priority
                .ok_or_else(|| de::Error::missing_field("priority"))?,
            rule: raw.rule.unwrap_or_default(),
            time: raw.time.map_or(DateTime::<Utc>::MIN_UTC, |t| t.0),
            output_fields: raw.output_fields.unwrap_or_default(),
            source: raw.source,
            tags: raw.tags,
            hostname: raw.hostname,
            uuid: raw.uuid,
        };
        alert.validate().map_err(de::Error::custom)?;
        Ok(alert)
    }
}

/// Wire shape before validation: everything optional, nulls accepted as absent.
#[derive(Deserialize)]
struct RawAlert {
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    time: Option<RawTime>,
    #[serde(default)]
    output_fields: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    uuid: Option<String>,
}

struct RawTime(DateTime<Utc>);

impl<'de> Deserialize<'de> for RawTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| RawTime(t.with_timezone(&Utc)))
            .map_err(|e| de::Error::custom(format_args!("time {s:?} is not RFC 3339: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FALCO: &str = r#"{"hostname":"node-1","output":"06:56:56.123456789: Warning Shell spawned (user=root proc=bash)","output_fields":{"evt.time":1795762616123456789,"proc.name":"bash","user.name":"root"},"priority":"Warning","rule":"Terminal shell in container","source":"syscall","tags":["container","mitre_execution","shell"],"time":"2026-11-27T06:56:56.123456789Z"}"#;

    #[test]
    fn round_trips_falco_bytes_exactly() {
        let a = Alert::from_json(FALCO.as_bytes()).unwrap();
        assert_eq!(a.priority, Priority::Warning);
        assert_eq!(a.rule, "Terminal shell in container");
        assert_eq!(
            a.output_fields["evt.time"].as_u64(),
            Some(1_795_762_616_123_456_789)
        );
        assert_eq!(String::from_utf8(a.to_json()).unwrap(), FALCO);
    }

    #[test]
    fn unordered_input_serialises_sorted() {
        let input = r#"{"time":"2026-11-27T06:56:56.5Z","rule":"r","priority":"info","output_fields":{"b":1,"a":null}}"#;
        let a = Alert::from_json(input.as_bytes()).unwrap();
        assert_eq!(a.priority, Priority::Informational);
        assert_eq!(
            String::from_utf8(a.to_json()).unwrap(),
            r#"{"output_fields":{"a":null,"b":1},"priority":"Informational","rule":"r","time":"2026-11-27T06:56:56.500000000Z"}"#
        );
    }

    #[test]
    fn priorities_parse_case_insensitively() {
        for (s, p) in [
            ("EMERGENCY", Priority::Emergency),
            ("Alert", Priority::Alert),
            ("critical", Priority::Critical),
            ("ERROR", Priority::Error),
            ("warning", Priority::Warning),
            ("Notice", Priority::Notice),
            ("INFO", Priority::Informational),
            ("informational", Priority::Informational),
            ("debug", Priority::Debug),
        ] {
            assert_eq!(Priority::parse(s), Some(p), "{s}");
        }
        assert_eq!(Priority::parse("verbose"), None);
        assert!(Priority::Emergency > Priority::Debug);
        assert!(Priority::Warning > Priority::Notice);
    }

    #[test]
    fn errors_are_located() {
        let err = Alert::from_json(b"{\n  \"rule\": \"x\",\n  \"priority\": 3\n}").unwrap_err();
        match err {
            Error::Json { line, column, .. } => {
                assert_eq!(line, 3);
                assert!(column > 0);
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = Alert::from_json(br#"{"rule":"x","priority":"loud"}"#).unwrap_err();
        assert!(matches!(err, Error::Json { line: 1, .. }), "{err:?}");
    }

    #[test]
    fn validation_matches_sidekick() {
        let base = r#""priority":"Debug","time":"2026-01-01T00:00:00Z","output_fields":{"a":1}"#;
        assert!(Alert::from_json(format!(r#"{{"rule":"r",{base}}}"#).as_bytes()).is_ok());
        let e = Alert::from_json(format!(r#"{{"rule":"",{base}}}"#).as_bytes()).unwrap_err();
        assert!(matches!(e, Error::Invalid { field: "rule", .. }));
        let e = Alert::from_json(
            br#"{"rule":"r","priority":"Debug","time":"2026-01-01T00:00:00Z","output_fields":{}}"#,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Invalid {
                field: "output_fields",
                ..
            }
        ));
        let e = Alert::from_json(br#"{"rule":"r","priority":"Debug","output_fields":{"a":1}}"#)
            .unwrap_err();
        assert!(matches!(e, Error::Invalid { field: "time", .. }));
        let e = Alert::from_json(
            br#"{"rule":"r","time":"2026-01-01T00:00:00Z","output_fields":{"a":1}}"#,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Invalid {
                field: "priority",
                ..
            }
        ));
    }

    #[test]
    fn defaults_follow_sidekick() {
        let a = Alert::from_json(
            br#"{"rule":"r","priority":"Debug","time":"2026-01-01T00:00:00Z","output_fields":{"a":1},"source":""}"#,
        )
        .unwrap();
        assert_eq!(a.source_or_default(), "syscalls");
        assert_eq!(a.hostname_or_unknown(), "unknown");
        assert!(a.tags().is_empty());
    }

    #[test]
    fn serde_deserialize_validates() {
        let a: Alert = serde_json::from_str(FALCO).unwrap();
        assert_eq!(a.hostname.as_deref(), Some("node-1"));
        assert!(serde_json::from_str::<Alert>(r#"{"rule":"r","priority":"Debug"}"#).is_err());
    }
}
