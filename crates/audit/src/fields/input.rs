//! Audit events as the `k8s_audit` source takes them in.
//!
//! A payload (a webhook POST body, or a file) is one `Event` object, an
//! `EventList` (its `items`), or a JSON array of either; a file may also be
//! JSON lines, one payload per line (the log backend writes one `Event` per
//! line). As in Falco's k8saudit plugin, each event needs a `stageTimestamp`
//! in RFC 3339 form, which becomes its time; malformed events are reported
//! one by one and the rest of the stream goes on.

use std::io::BufRead;
use std::ops::ControlFlow;

use serde_json::Value;

/// Why a payload or one of its events was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Not JSON.
    #[error("line {line}, column {column}: invalid JSON: {message}")]
    Json {
        /// 1-based line of the input.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// JSON that is neither an `Event` nor an `EventList`.
    #[error("line {line}: data not recognized as a k8s audit event")]
    NotAnEvent {
        /// 1-based line of the input.
        line: usize,
    },
    /// An event without a valid `stageTimestamp`.
    #[error("line {line}: can't read stageTimestamp")]
    NoTimestamp {
        /// 1-based line of the input.
        line: usize,
    },
    /// Reading the input failed.
    #[error("read error after line {line}: {source}")]
    Io {
        /// Lines read before.
        line: usize,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Receives each event (or the error that rejected an input); returning
/// [`ControlFlow::Break`] stops the reading.
pub type Sink<'a> = dyn FnMut(Result<KaEvent, InputError>) -> ControlFlow<()> + 'a;

/// A [`Sink`] that is also given the text of an event that was a line of
/// its own.
pub type RawSink<'a> =
    dyn FnMut(Result<KaEvent, InputError>, Option<&[u8]>) -> ControlFlow<()> + 'a;

/// One audit event: its JSON tree, parsed once, and its time.
#[derive(Debug, Clone, PartialEq)]
pub struct KaEvent {
    json: Value,
    ts: u64,
}

/// Nanoseconds since the epoch of an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<u64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    u64::try_from(t.timestamp_nanos_opt()?).ok()
}

impl KaEvent {
    /// Parses one event object (`stageTimestamp` required).
    pub fn parse(text: &str) -> Result<KaEvent, InputError> {
        let v: Value = serde_json::from_str(text).map_err(|e| json_error(&e, 0))?;
        KaEvent::from_value(v, 1)
    }

    /// An event from its JSON tree (`line` is for messages).
    pub fn from_value(json: Value, line: usize) -> Result<KaEvent, InputError> {
        if !json.is_object() {
            return Err(InputError::NotAnEvent { line });
        }
        let ts = json
            .get("stageTimestamp")
            .and_then(Value::as_str)
            .and_then(parse_time)
            .ok_or(InputError::NoTimestamp { line })?;
        Ok(KaEvent { json, ts })
    }

    /// The event's JSON tree.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The event time (`stageTimestamp`), in nanoseconds since the epoch.
    pub fn ts(&self) -> u64 {
        self.ts
    }
}

fn json_error(e: &serde_json::Error, line_base: usize) -> InputError {
    let mut message = e.to_string();
    // serde_json ends its messages with its own (relative) position.
    if let Some(p) = message.rfind(" at line ") {
        message.truncate(p);
    }
    InputError::Json {
        line: line_base + e.line().max(1),
        column: e.column(),
        message,
    }
}

/// Calls `f` with each event of a parsed payload (an `Event`, an
/// `EventList`, or an array of them), or with the error that rejected it.
pub fn split_payload(v: Value, line: usize, f: &mut Sink<'_>) -> ControlFlow<()> {
    match v {
        Value::Array(items) => {
            for it in items {
                split_payload(it, line, f)?;
            }
            ControlFlow::Continue(())
        }
        Value::Object(mut o) => match o.get("kind").and_then(Value::as_str) {
            Some("EventList") => match o.remove("items") {
                Some(Value::Array(items)) => {
                    for it in items {
                        // Items carry no kind of their own.
                        f(KaEvent::from_value(it, line))?;
                    }
                    ControlFlow::Continue(())
                }
                _ => f(Err(InputError::NotAnEvent { line })),
            },
            Some("Event") => f(KaEvent::from_value(Value::Object(o), line)),
            _ => f(Err(InputError::NotAnEvent { line })),
        },
        _ => f(Err(InputError::NotAnEvent { line })),
    }
}

/// Calls `f` with each event of a payload's bytes (a webhook body).
pub fn read_payload(body: &[u8], f: &mut Sink<'_>) -> ControlFlow<()> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => split_payload(v, 1, f),
        Err(e) => f(Err(json_error(&e, 0))),
    }
}

/// Calls `f` with each event of a file or stream: JSON lines (each line a
/// payload), or, when the first line alone is not JSON, the whole input as
/// one payload (a pretty-printed `EventList`, say).
pub fn read_stream(r: impl BufRead, f: &mut Sink<'_>) -> ControlFlow<()> {
    read_stream_raw(r, &mut |ev, _| f(ev))
}

/// As [`read_stream`], also giving the text of an event that was a line of
/// its own (a log line), so it can be copied unchanged.
pub fn read_stream_raw(mut r: impl BufRead, f: &mut RawSink<'_>) -> ControlFlow<()> {
    let mut line = Vec::new();
    let mut n = 0usize;
    let mut first = true;
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) => return ControlFlow::Continue(()),
            Ok(_) => n += 1,
            Err(source) => return f(Err(InputError::Io { line: n, source }), None),
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Value>(text) {
            Ok(v) => {
                let single = v.get("kind").and_then(Value::as_str) == Some("Event");
                if single {
                    f(KaEvent::from_value(v, n), Some(text))?;
                } else {
                    split_payload(v, n, &mut |ev| f(ev, None))?;
                }
            }
            Err(_) if first && e_is_eof(text) => {
                let mut all = std::mem::take(&mut line);
                if let Err(source) = r.read_to_end(&mut all) {
                    return f(Err(InputError::Io { line: n, source }), None);
                }
                return match serde_json::from_slice::<Value>(&all) {
                    Ok(v) => split_payload(v, n, &mut |ev| f(ev, None)),
                    Err(e) => f(Err(json_error(&e, n - 1)), None),
                };
            }
            Err(e) => f(Err(json_error(&e, n - 1)), None)?,
        }
        first = false;
    }
}

/// Whether `text` fails to parse only because it ends too early (the start
/// of a multi-line JSON document).
fn e_is_eof(text: &[u8]) -> bool {
    serde_json::from_slice::<Value>(text).is_err_and(|e| e.is_eof())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &str) -> (Vec<KaEvent>, Vec<String>) {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        let _ = read_stream(input.as_bytes(), &mut |r| {
            match r {
                Ok(e) => ok.push(e),
                Err(e) => bad.push(e.to_string()),
            }
            ControlFlow::Continue(())
        });
        (ok, bad)
    }

    const EV: &str =
        r#"{"kind":"Event","auditID":"a","stageTimestamp":"2018-10-25T13:58:49.730588Z"}"#;

    #[test]
    fn lines_lists_and_arrays() {
        let list = r#"{"kind":"EventList","items":[{"auditID":"b","stageTimestamp":"2018-10-25T13:58:49Z"},{"auditID":"c"}]}"#;
        let input = format!("{EV}\n\n{list}\n[{EV},{EV}]\n{{\"kind\": 0}}\nnot json\n");
        let (ok, bad) = collect(&input);
        assert_eq!(ok.len(), 4);
        assert_eq!(ok[0].ts(), 1_540_475_929_730_588_000);
        assert_eq!(ok[1].ts(), 1_540_475_929_000_000_000);
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert_eq!(bad[0], "line 3: can't read stageTimestamp");
        assert_eq!(bad[1], "line 5: data not recognized as a k8s audit event");
        assert!(
            bad[2].starts_with("line 6, column 2: invalid JSON: expected ident"),
            "{}",
            bad[2]
        );
    }

    #[test]
    fn a_pretty_printed_document() {
        let input = format!("[\n  {EV},\n  {EV}\n]\n");
        let (ok, bad) = collect(&input);
        assert_eq!((ok.len(), bad.len()), (2, 0));
    }
}
