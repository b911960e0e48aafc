//! Falco alerts as the hub receives them: parsing, Falcosidekick's validation and enrichment.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::{Error, Priority};
use osprey_forward::template::Template;

/// Rule name of the synthetic event `POST /test` injects.
pub const TEST_RULE: &str = "Test rule";

/// One validated, enriched alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// A fresh UUIDv4 (any `uuid` sent in is replaced, as Falcosidekick does).
    pub uuid: String,
    /// The alert time in nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The priority (never `Default` after validation).
    pub priority: Priority,
    /// The rule name.
    pub rule: String,
    /// The source (`syscalls` when empty, `internal` for the test rule).
    pub source: String,
    /// The hostname ("" when Falco sent none).
    pub hostname: String,
    /// Tags, custom tags appended, sorted.
    pub tags: Vec<String>,
    /// The human-readable message.
    pub output: String,
    /// The alert's fields, custom and templated fields included.
    pub output_fields: Map<String, Value>,
}

#[derive(Deserialize)]
struct RawAlert {
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    output_fields: Option<Map<String, Value>>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    hostname: Option<String>,
}

#[derive(Deserialize)]
struct RawUiPayload {
    event: Option<Value>,
}

/// Applies Falcosidekick's enrichment (custom fields, custom tags, templated fields,
/// bracket replacement, truncation) to parsed alerts.
#[derive(Debug, Clone, Default)]
pub struct Enricher {
    customfields: Vec<(String, String)>,
    customtags: Vec<String>,
    templated: Vec<(String, Template)>,
    bracket_replacer: Option<String>,
    output_format: Option<String>,
    truncate: bool,
}

impl Enricher {
    /// Builds the enricher from the config; `%NAME` custom-field values are read from
    /// the environment through `env`.
    pub fn new(cfg: &Config, env: impl Fn(&str) -> Option<String>) -> Result<Enricher, Error> {
        let customfields = cfg
            .customfields
            .iter()
            .map(|(k, v)| {
                let v = match v.strip_prefix('%') {
                    Some(name) => env(name).unwrap_or_default(),
                    None => v.clone(),
                };
                (k.clone(), v)
            })
            .collect();
        let templated = cfg
            .templatedfields
            .iter()
            .map(|(k, v)| {
                Template::parse(v)
                    .map(|t| (k.clone(), t))
                    .map_err(|e| Error::Config {
                        key: format!("templatedfields.{k}"),
                        msg: e.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Enricher {
            customfields,
            customtags: cfg.customtags.clone(),
            templated,
            bracket_replacer: (!cfg.bracketreplacer.is_empty())
                .then(|| cfg.bracketreplacer.clone()),
            output_format: (!cfg.outputfieldformat.is_empty())
                .then(|| cfg.outputfieldformat.clone()),
            truncate: cfg.truncatefields,
        })
    }

    /// Keys of the custom and templated fields (they become metric labels).
    pub fn field_keys(&self) -> impl Iterator<Item = &str> {
        self.customfields
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(self.templated.iter().map(|(k, _)| k.as_str()))
    }

    /// Parses, validates and enriches one Falco JSON alert (the body of `POST /`).
    pub fn parse(&self, body: &[u8]) -> Result<Event, Error> {
        let raw: RawAlert = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
        let mut ev = validate(raw)?;
        self.enrich(&mut ev);
        Ok(ev)
    }

    /// Parses a Falcosidekick-UI payload `{"event": {...}, "outputs": [...]}`: the event is
    /// validated but not enriched again (the sending Falcosidekick did that).
    pub fn parse_ui_payload(&self, body: &[u8]) -> Result<Event, Error> {
        let p: RawUiPayload = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
        let Some(event) = p.event else {
            return Err(Error::Invalid {
                field: "event",
                msg: "is missing",
            });
        };
        let raw: RawAlert = serde_json::from_value(event).map_err(|e| json_error(&e))?;
        let mut ev = validate(raw)?;
        ev.tags.sort();
        Ok(ev)
    }

    /// Applies the enrichment steps, in Falcosidekick's order, to an already valid event.
    pub fn enrich(&self, ev: &mut Event) {
        for (k, v) in &self.customfields {
            ev.output_fields.insert(k.clone(), Value::String(v.clone()));
        }
        ev.tags.extend(self.customtags.iter().cloned());
        if ev.rule == TEST_RULE {
            ev.source = "internal".into();
        }
        let mut rendered = Vec::with_capacity(self.templated.len());
        for (k, t) in &self.templated {
            let mut s = String::new();
            t.render(&ev.output_fields, &mut s);
            rendered.push((k.clone(), s));
        }
        let templated_text = self
            .output_format
            .as_ref()
            .map(|_| pairs_text(rendered.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
        for (k, s) in rendered {
            ev.output_fields.insert(k, Value::String(s));
        }
        ev.tags.sort();
        if let Some(rep) = &self.bracket_replacer {
            if ev.output_fields.keys().any(|k| k.contains('[')) {
                let old = std::mem::take(&mut ev.output_fields);
                for (k, v) in old {
                    let k = if k.contains('[') {
                        k.replace(']', "").replace('[', rep)
                    } else {
                        k
                    };
                    ev.output_fields.insert(k, v);
                }
            }
        }
        if let (Some(format), Some(templated)) = (&self.output_format, &templated_text) {
            let custom = pairs_text(
                self.customfields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            if let Some(out) = format_output(format, ev, &custom, templated) {
                ev.output = out;
            }
        }
        if self.truncate {
            truncate_long_fields(ev);
        }
    }
}

/// `k=v k2=v2`: the text `<custom_fields>` and `<templated_fields>` stand for.
fn pairs_text<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = String::new();
    for (k, v) in pairs {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}

const PRIORITY_WORDS: [&str; 9] = [
    "Debug",
    "Info",
    "Informational",
    "Notice",
    "Warning",
    "Error",
    "Critical",
    "Alert",
    "Emergency",
];

/// Whether `output` contains Falco's `<time>.<frac>: <Priority> ` prefix shape, which is
/// where Falcosidekick applies `outputFieldFormat` (anywhere in the text, any case).
fn has_falco_prefix(output: &str) -> bool {
    let b = output.as_bytes();
    let mut from = 0;
    while let Some(p) = output[from..].find(": ") {
        let colon = from + p;
        from = colon + 1;
        let mut j = colon;
        while j > 0 && b[j - 1].is_ascii_digit() {
            j -= 1;
        }
        let time_like = j < colon
            && j >= 2
            && b[j - 1] == b'.'
            && (b[j - 2].is_ascii_digit() || b[j - 2] == b':');
        if !time_like {
            continue;
        }
        let rest = &b[colon + 2..];
        if PRIORITY_WORDS.iter().any(|w| {
            rest.len() > w.len()
                && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes())
                && rest[w.len()] == b' '
        }) {
            return true;
        }
    }
    false
}

/// Falcosidekick's `outputFieldFormat` rewrite: the first word of `output` (its `:`
/// dropped) is `<timestamp>`, the words after the second are `<output>`; the
/// placeholders are replaced in order, then one trailing ` `, `( )`, `()`, ` ` each
/// trimmed. `None` when the output does not have Falco's shape.
fn format_output(format: &str, ev: &Event, custom: &str, templated: &str) -> Option<String> {
    if !has_falco_prefix(&ev.output) {
        return None;
    }
    let words: Vec<&str> = ev.output.split(' ').collect();
    if words.len() < 3 {
        return None;
    }
    let timestamp = words[0].strip_suffix(':').unwrap_or(words[0]);
    let text = words[2..].join(" ");
    let mut n = format.replace("<timestamp>", timestamp);
    n = n.replace("<priority>", ev.priority.name());
    n = n.replace("<output>", &text);
    n = n.replace("<custom_fields>", custom);
    n = n.replace("<templated_fields>", templated);
    n = n.replace("<tags>", &ev.tags.join(","));
    let mut s = n.as_str();
    for suffix in [" ", "( )", "()", " "] {
        s = s.strip_suffix(suffix).unwrap_or(s);
    }
    Some(s.to_owned())
}

fn json_error(e: &serde_json::Error) -> Error {
    Error::Json {
        line: e.line(),
        column: e.column(),
        msg: e.to_string(),
    }
}

fn validate(raw: RawAlert) -> Result<Event, Error> {
    let priority = Priority::parse(raw.priority.as_deref().unwrap_or(""));
    if priority == Priority::Default {
        return Err(Error::Invalid {
            field: "priority",
            msg: "is missing or unknown",
        });
    }
    let rule = raw.rule.unwrap_or_default();
    if rule.is_empty() {
        return Err(Error::Invalid {
            field: "rule",
            msg: "is missing or empty",
        });
    }
    let time = raw.time.unwrap_or_default();
    let time_ns = parse_time(&time).ok_or(Error::Invalid {
        field: "time",
        msg: "is missing or not RFC 3339",
    })?;
    let output_fields = raw.output_fields.unwrap_or_default();
    if output_fields.is_empty() {
        return Err(Error::Invalid {
            field: "output_fields",
            msg: "is missing or empty",
        });
    }
    let mut source = raw.source.unwrap_or_default();
    if source.is_empty() {
        source = "syscalls".into();
    }
    Ok(Event {
        uuid: uuid::Uuid::new_v4().to_string(),
        time_ns,
        priority,
        rule,
        source,
        hostname: raw.hostname.unwrap_or_default(),
        tags: raw.tags.unwrap_or_default(),
        output: raw.output.unwrap_or_default(),
        output_fields,
    })
}

/// Parses an RFC 3339 timestamp to nanoseconds since the epoch; the zero time
/// (`0001-01-01T00:00:00Z`) and out-of-range times give `None`.
pub fn parse_time(s: &str) -> Option<i64> {
    let t = DateTime::parse_from_rfc3339(s.trim()).ok()?;
    if t.year() <= 1 {
        return None;
    }
    t.with_timezone(&Utc).timestamp_nanos_opt()
}

/// Formats nanoseconds since the epoch as Go's RFC3339Nano in UTC (trailing zeros of the
/// fraction trimmed), appending to `out`.
pub fn format_time(ns: i64, out: &mut String) {
    let t = DateTime::<Utc>::from_timestamp_nanos(ns);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let frac = t.nanosecond() % 1_000_000_000;
    if frac != 0 {
        let mut digits = [b'0'; 9];
        let mut f = frac;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (f % 10) as u8;
            f /= 10;
        }
        let mut len = 9;
        while len > 0 && digits[len - 1] == b'0' {
            len -= 1;
        }
        out.push('.');
        out.extend(digits[..len].iter().map(|&b| char::from(b)));
    }
    out.push('Z');
}

const TRUNCATE_OVER: usize = 4096;
const LONG_FIELD: usize = 512;
const KEEP_CHARS: usize = 507;

fn truncate_long_fields(ev: &mut Event) {
    if ev.to_json().len() <= TRUNCATE_OVER {
        return;
    }
    for v in ev.output_fields.values_mut() {
        if let Value::String(s) = v {
            if s.chars().count() > LONG_FIELD {
                let cut: String = s.chars().take(KEEP_CHARS).collect::<String>() + "[...]";
                if !s.is_empty() && ev.output.contains(s.as_str()) {
                    ev.output = ev.output.replace(s.as_str(), &cut);
                }
                *s = cut;
            }
        }
    }
}

impl Event {
    /// The event as Falcosidekick serialises it (`uuid, output, priority, rule, time,
    /// output_fields, source, tags, hostname`; empty tags and hostname omitted).
    pub fn to_json(&self) -> String {
        let mut b: Vec<u8> = Vec::with_capacity(384 + self.output.len());
        b.extend_from_slice(b"{\"uuid\":");
        push_json(&mut b, &self.uuid);
        b.extend_from_slice(b",\"output\":");
        push_json(&mut b, &self.output);
        b.extend_from_slice(b",\"priority\":");
        push_json(&mut b, self.priority.name());
        b.extend_from_slice(b",\"rule\":");
        push_json(&mut b, &self.rule);
        b.extend_from_slice(b",\"time\":\"");
        let mut t = String::with_capacity(32);
        format_time(self.time_ns, &mut t);
        b.extend_from_slice(t.as_bytes());
        b.extend_from_slice(b"\",\"output_fields\":");
        push_json(&mut b, &self.output_fields);
        b.extend_from_slice(b",\"source\":");
        push_json(&mut b, &self.source);
        if !self.tags.is_empty() {
            b.extend_from_slice(b",\"tags\":");
            push_json(&mut b, &self.tags);
        }
        if !self.hostname.is_empty() {
            b.extend_from_slice(b",\"hostname\":");
            push_json(&mut b, &self.hostname);
        }
        b.push(b'}');
        String::from_utf8(b).expect("serde_json writes UTF-8 and every literal here is ASCII")
    }

    /// The synthetic event of `POST /test`.
    pub fn test_event(now_ns: i64) -> Event {
        let mut output_fields = Map::new();
        output_fields.insert("proc.name".into(), Value::String("falcosidekick".into()));
        output_fields.insert("user.name".into(), Value::String("falcosidekick".into()));
        Event {
            uuid: uuid::Uuid::new_v4().to_string(),
            time_ns: now_ns,
            priority: Priority::Debug,
            rule: TEST_RULE.into(),
            source: "debug".into(),
            hostname: "falcosidekick".into(),
            tags: vec!["test".into(), "example".into()],
            output: "This is a test from falcosidekick".into(),
            output_fields,
        }
    }

    /// All output-field values joined by spaces (what full-text search indexes besides
    /// output, rule, hostname and tags).
    pub fn fields_text(&self) -> String {
        let mut s = String::new();
        for v in self.output_fields.values() {
            if !s.is_empty() {
                s.push(' ');
            }
            match v {
                Value::String(x) => s.push_str(x),
                other => s.push_str(&other.to_string()),
            }
        }
        s
    }
}

fn push_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Strings, string lists and JSON maps always serialise; writing into a Vec cannot fail.
    let _ = serde_json::to_writer(out, v);
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALERT: &str = r#"{"output":"16:31:56.746609046: Error File below /etc opened (user=root command=touch /etc/x)","priority":"Error","rule":"Write below etc","time":"2019-05-17T15:31:56.746609046Z","output_fields":{"evt.time":1558107116746609046,"fd.name":"/etc/x","proc.aname[2]":"bash","k8s.ns.name":"prod"},"tags":["filesystem","mitre_persistence"],"hostname":"node-1"}"#;

    fn enricher(yaml: &str) -> Enricher {
        let cfg = Config::from_yaml_and_env(yaml, |_| None).unwrap();
        Enricher::new(&cfg, |k| (k == "CLUSTER").then(|| "eu-1".to_owned())).unwrap()
    }

    #[test]
    fn parses_and_enriches_like_sidekick() {
        let e = enricher(
            "customfields:\n  cluster: '%CLUSTER'\n  team: sec\ncustomtags: [zz, aa]\n\
             templatedfields:\n  ns: '{{ or (index . \"k8s.ns.name\") \"none\" }}'\nbracketreplacer: _\n",
        );
        let ev = e.parse(ALERT.as_bytes()).unwrap();
        assert_eq!(ev.priority, Priority::Error);
        assert_eq!(ev.source, "syscalls");
        assert_eq!(ev.tags, vec!["aa", "filesystem", "mitre_persistence", "zz"]);
        assert_eq!(ev.output_fields["cluster"], "eu-1");
        assert_eq!(ev.output_fields["team"], "sec");
        assert_eq!(ev.output_fields["ns"], "prod");
        assert_eq!(ev.output_fields["proc.aname_2"], "bash");
        assert_eq!(
            ev.output_fields["evt.time"].as_u64(),
            Some(1_558_107_116_746_609_046)
        );
        assert_eq!(ev.time_ns, 1_558_107_116_746_609_046);
        assert_eq!(
            uuid::Uuid::parse_str(&ev.uuid)
                .map(|u| u.get_version_num())
                .ok(),
            Some(4)
        );
        let json = ev.to_json();
        assert!(
            json.contains("\"time\":\"2019-05-17T15:31:56.746609046Z\""),
            "{json}"
        );
        assert!(json.contains("\"priority\":\"Error\""));
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["hostname"], "node-1");
    }

    #[test]
    fn output_field_format_rewrites_falco_outputs() {
        let e = enricher(
            "customfields: {cluster: '%CLUSTER', team: sec}\ncustomtags: [hub]\n\
             templatedfields:\n  ns: '{{ index . \"k8s.ns.name\" }}'\n\
             outputfieldformat: '<timestamp>: <priority> <output> (<custom_fields> <templated_fields>) [<tags>]'\n",
        );
        let ev = e.parse(ALERT.as_bytes()).unwrap();
        assert_eq!(
            ev.output,
            "16:31:56.746609046: Error File below /etc opened (user=root command=touch /etc/x) \
             (cluster=eu-1 team=sec ns=prod) [filesystem,hub,mitre_persistence]"
        );
        // Empty parts leave a trailing "()" that is trimmed, as sidekick does.
        let e = enricher("outputfieldformat: '<priority> | <output> (<custom_fields>)'\n");
        let ev = e.parse(ALERT.as_bytes()).unwrap();
        assert_eq!(
            ev.output,
            "Error | File below /etc opened (user=root command=touch /etc/x)"
        );
        // An output without Falco's "time: Priority" shape is left alone.
        let plain = ALERT.replace("16:31:56.746609046: Error ", "");
        let ev = e.parse(plain.as_bytes()).unwrap();
        assert_eq!(
            ev.output,
            "File below /etc opened (user=root command=touch /etc/x)"
        );
        assert!(has_falco_prefix("x 1:2.3: notice y"));
        assert!(!has_falco_prefix("12.5: Errors y"));
        assert!(!has_falco_prefix(".5: Error y"));
        assert!(!has_falco_prefix("1.5: Error"));
    }

    #[test]
    fn rejects_what_sidekick_rejects() {
        let e = enricher("");
        for (body, field) in [
            (
                r#"{"priority":"bogus","rule":"r","time":"2020-01-01T00:00:00Z","output_fields":{"a":1}}"#,
                "priority",
            ),
            (
                r#"{"priority":"info","rule":"","time":"2020-01-01T00:00:00Z","output_fields":{"a":1}}"#,
                "rule",
            ),
            (
                r#"{"priority":"info","rule":"r","output_fields":{"a":1}}"#,
                "time",
            ),
            (
                r#"{"priority":"info","rule":"r","time":"0001-01-01T00:00:00Z","output_fields":{"a":1}}"#,
                "time",
            ),
            (
                r#"{"priority":"info","rule":"r","time":"2020-01-01T00:00:00Z","output_fields":{}}"#,
                "output_fields",
            ),
        ] {
            match e.parse(body.as_bytes()) {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(
            e.parse(b"{\"rule\": "),
            Err(Error::Json { line: 1, .. })
        ));
        assert!(matches!(e.parse(b"[1,2]"), Err(Error::Json { .. })));
        assert!(matches!(
            e.parse(b"{\"priority\": 3}"),
            Err(Error::Json { .. })
        ));
    }

    #[test]
    fn test_rule_becomes_internal_and_long_fields_are_cut() {
        let e = enricher("");
        let mut ev = Event::test_event(1_700_000_000_000_000_000);
        e.enrich(&mut ev);
        assert_eq!(ev.source, "internal");
        assert_eq!(ev.tags, vec!["example", "test"]);

        let long = "x".repeat(5000);
        let body = serde_json::json!({"output": format!("msg {long}"), "priority": "notice", "rule": "r",
            "time": "2020-01-01T00:00:00.5Z", "output_fields": {"cmd": long, "n": 1}});
        let ev = e.parse(body.to_string().as_bytes()).unwrap();
        let cut = ev.output_fields["cmd"].as_str().unwrap();
        assert_eq!(cut.len(), 512);
        assert!(cut.ends_with("[...]"));
        assert_eq!(ev.output, format!("msg {cut}"));
        let mut t = String::new();
        format_time(ev.time_ns, &mut t);
        assert_eq!(t, "2020-01-01T00:00:00.5Z");
    }

    #[test]
    fn ui_payload() {
        let e = enricher("customtags: [x]");
        let body = format!(r#"{{"event":{ALERT},"outputs":["slack"]}}"#);
        let ev = e.parse_ui_payload(body.as_bytes()).unwrap();
        assert_eq!(ev.rule, "Write below etc");
        assert!(!ev.tags.contains(&"x".to_owned()));
        assert!(e.parse_ui_payload(b"{\"outputs\":[]}").is_err());
    }
}
