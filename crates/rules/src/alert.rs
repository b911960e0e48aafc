//! Alerts: the text line and Falco's JSON object for a rule that matched.
//!
//! Text: `<time>: <Priority> <message>`, the time as local `HH:MM:SS.nnnnnnnnn`
//! or, with `time_format_iso_8601`, `2016-08-04T16:17:57.881781397+0000`.
//!
//! JSON (keys in alphabetical order, as Falco's JSON library writes them):
//! `hostname`, `message` (optional), `output` (the text line), `output_fields`
//! (every `%field` of the output plus the time field, typed: numbers for
//! numeric fields, the raw nanosecond integer for the time, strings, `null`
//! when missing), `priority`, `rule`, `source`, `tags` (sorted), `time`
//! (UTC, 9 fractional digits, `Z`).

use osprey_filter::format::write_json_string;
use osprey_filter::timefmt::{self, LocalClock};
use osprey_filter::{Extract, Values};

use crate::ruleset::{Rule, RuleId};

/// One alert: which rule matched, on the event of which timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// The rule.
    pub rule: RuleId,
    /// The event timestamp (ns since the epoch).
    pub ts: u64,
}

/// The falco.yaml options that shape alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOptions {
    /// `time_format_iso_8601` (default false).
    pub time_format_iso_8601: bool,
    /// `json_include_output_property` (default true).
    pub json_include_output_property: bool,
    /// `json_include_tags_property` (default true).
    pub json_include_tags_property: bool,
    /// `json_include_output_fields_property` (default true).
    pub json_include_output_fields_property: bool,
    /// `json_include_message_property` (default false).
    pub json_include_message_property: bool,
    /// The `hostname` of JSON alerts (`FALCO_HOSTNAME` or the host name).
    pub hostname: String,
}

impl Default for AlertOptions {
    fn default() -> Self {
        Self {
            time_format_iso_8601: false,
            json_include_output_property: true,
            json_include_tags_property: true,
            json_include_output_fields_property: true,
            json_include_message_property: false,
            hostname: String::new(),
        }
    }
}

/// Renders alerts into caller buffers, reusing its own buffers.
#[derive(Debug, Default)]
pub struct AlertFormatter {
    opts: AlertOptions,
    clock: LocalClock,
    scratch: Values,
    message: Vec<u8>,
    line: Vec<u8>,
    /// The UTC `YYYY-MM-DDTHH:MM:SS` of second `.0`: consecutive alerts
    /// mostly share their second.
    utc_sec: Option<(u64, Vec<u8>)>,
}

/// Room for the JSON object around its variable parts.
const JSON_OVERHEAD: usize = 160;

impl AlertFormatter {
    /// A formatter with these options.
    pub fn new(opts: AlertOptions) -> Self {
        Self {
            opts,
            ..Self::default()
        }
    }

    /// The options.
    pub fn options(&self) -> &AlertOptions {
        &self.opts
    }

    fn write_message<E: Extract + ?Sized>(&mut self, rule: &Rule, ev: &E) -> bool {
        self.message.clear();
        let Some(f) = rule.format() else {
            return false;
        };
        f.write_text(ev, &mut self.scratch, &mut self.message)
    }

    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` in UTC, the date and time of day
    /// cached per second.
    fn push_utc(&mut self, out: &mut Vec<u8>, ts: u64) {
        let sec = ts / 1_000_000_000;
        let text = match &mut self.utc_sec {
            Some((s, text)) if *s == sec => text,
            cached => {
                let (_, text) = cached.insert((sec, Vec::with_capacity(32)));
                timefmt::iso8601(text, sec * 1_000_000_000);
                // Up to the '.' of the fraction.
                let dot = text.iter().rposition(|&c| c == b'.').unwrap_or(text.len());
                text.truncate(dot);
                text
            }
        };
        out.extend_from_slice(text);
        out.push(b'.');
        timefmt::push_ns9(out, ts);
    }

    fn write_prefix(&mut self, rule: &Rule, ts: u64, out: &mut Vec<u8>) {
        if self.opts.time_format_iso_8601 {
            self.push_utc(out, ts);
            out.extend_from_slice(b"+0000");
        } else {
            self.clock.time(out, ts);
        }
        out.extend_from_slice(b": ");
        out.extend_from_slice(rule.priority.as_str().as_bytes());
        out.push(b' ');
    }

    /// Appends the text line `<time>: <Priority> <message>` (no newline).
    /// Returns false (nothing written) for a rule that is not compiled.
    pub fn write_text<E: Extract + ?Sized>(
        &mut self,
        rule: &Rule,
        ev: &E,
        ts: u64,
        out: &mut Vec<u8>,
    ) -> bool {
        if !self.write_message(rule, ev) {
            return false;
        }
        self.push_text(rule, ts, out);
        true
    }

    /// The text line, from the message already formatted.
    fn push_text(&mut self, rule: &Rule, ts: u64, out: &mut Vec<u8>) {
        out.reserve(48 + self.message.len());
        self.write_prefix(rule, ts, out);
        out.extend_from_slice(&self.message);
    }

    /// Appends both the text line (as [`AlertFormatter::write_text`]) to
    /// `text` and the JSON object (as [`AlertFormatter::write_json`]) to
    /// `json`, formatting the rule's output once. Returns false (nothing
    /// written) for a rule that is not compiled.
    pub fn write_both<E: Extract + ?Sized>(
        &mut self,
        rule: &Rule,
        ev: &E,
        ts: u64,
        text: &mut Vec<u8>,
        json: &mut Vec<u8>,
    ) -> bool {
        if !self.write_message(rule, ev) {
            return false;
        }
        self.push_text(rule, ts, text);
        self.push_json(rule, ev, ts, json);
        true
    }

    /// Appends Falco's JSON object for the alert (no newline). Returns false
    /// (nothing written) for a rule that is not compiled.
    pub fn write_json<E: Extract + ?Sized>(
        &mut self,
        rule: &Rule,
        ev: &E,
        ts: u64,
        out: &mut Vec<u8>,
    ) -> bool {
        if !self.write_message(rule, ev) {
            return false;
        }
        self.push_json(rule, ev, ts, out);
        true
    }

    /// `output_fields` with `append_output`'s formatted extra fields merged
    /// in key order (alerts of rules with such fields only).
    fn push_fields_with_extra<E: Extract + ?Sized>(
        &mut self,
        fmts: &crate::ruleset::Formats,
        f: &osprey_filter::format::Format,
        ev: &E,
        out: &mut Vec<u8>,
    ) {
        let mut obj = std::mem::take(&mut self.line);
        obj.clear();
        f.write_json(ev, &mut self.scratch, &mut obj);
        let mut values = Vec::new();
        let mut text = Vec::new();
        let mut spans = Vec::with_capacity(fmts.extra.len());
        for (name, fmt) in &fmts.extra {
            text.clear();
            fmt.write_text(ev, &mut self.scratch, &mut text);
            let start = values.len();
            write_json_string(&mut values, &text);
            spans.push((name.as_str(), (start, values.len())));
        }
        crate::append::merge_object(&obj, &spans, &values, out);
        self.line = obj;
    }

    /// The JSON object, from the message already formatted.
    fn push_json<E: Extract + ?Sized>(&mut self, rule: &Rule, ev: &E, ts: u64, out: &mut Vec<u8>) {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        self.push_text(rule, ts, &mut line);
        // One allocation for most alerts: the escaped strings are rarely
        // longer than twice their text.
        out.reserve(
            JSON_OVERHEAD
                + self.opts.hostname.len()
                + 2 * (line.len() + self.message.len())
                + rule.name.len()
                + rule.tags.iter().map(|t| t.len() + 3).sum::<usize>(),
        );

        out.extend_from_slice(b"{\"hostname\":");
        write_json_string(out, self.opts.hostname.as_bytes());
        if self.opts.json_include_message_property {
            out.extend_from_slice(b",\"message\":");
            write_json_string(out, &self.message);
        }
        if self.opts.json_include_output_property {
            out.extend_from_slice(b",\"output\":");
            write_json_string(out, &line);
        }
        self.line = line;
        if self.opts.json_include_output_fields_property {
            if let Some(fmts) = &rule.formats {
                let f = if self.opts.time_format_iso_8601 {
                    &fmts.json_iso
                } else {
                    &fmts.json_time
                };
                out.extend_from_slice(b",\"output_fields\":");
                if fmts.extra.is_empty() {
                    f.write_json(ev, &mut self.scratch, out);
                } else {
                    self.push_fields_with_extra(fmts, f, ev, out);
                }
            }
        }
        out.extend_from_slice(b",\"priority\":");
        write_json_string(out, rule.priority.as_str().as_bytes());
        out.extend_from_slice(b",\"rule\":");
        write_json_string(out, rule.name.as_bytes());
        out.extend_from_slice(b",\"source\":");
        write_json_string(out, rule.source.as_bytes());
        if self.opts.json_include_tags_property {
            out.extend_from_slice(b",\"tags\":[");
            for (i, t) in rule.tags.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(out, t.as_bytes());
            }
            out.push(b']');
        }
        out.extend_from_slice(b",\"time\":\"");
        self.push_utc(out, ts);
        out.extend_from_slice(b"Z\"}");
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` in UTC.
pub fn utc_z(out: &mut Vec<u8>, ts: u64) {
    let start = out.len();
    timefmt::iso8601(out, ts);
    if out.ends_with(b"+0000") {
        out.truncate(out.len() - 5);
    }
    if out.len() > start {
        out.push(b'Z');
    }
}
