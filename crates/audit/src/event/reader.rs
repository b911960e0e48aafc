//! Reading events from JSON lines, `EventList` objects and JSON arrays.
//!
//! The input is one byte slice holding any sequence of top-level JSON values
//! separated by whitespace (so both JSON lines and pretty-printed documents work):
//!
//! - an object whose `kind` is `EventList` contributes its `items`;
//! - any other object is one event (`kind` and `apiVersion` may be absent or
//!   v1beta1, as in older logs and Falco's samples);
//! - an array contributes its elements.
//!
//! Each event comes out as `Ok(Event)` or as an `Err` naming the source, line,
//! column and byte offset. A bad event does not end the stream: a value that is
//! valid JSON but not an event is skipped, and after a JSON syntax error reading
//! resumes at the next line, so one broken line of a log costs one event.

use super::Event;
use crate::Error;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;

/// Iterator over the events in one input (see the module docs).
#[derive(Debug)]
pub struct Events<'a> {
    input: &'a [u8],
    source: &'a str,
    pos: usize,
    pending: VecDeque<&'a RawValue>,
}

/// The part of an `EventList` the reader needs once `kind` says it is one.
#[derive(Deserialize)]
struct ListItems<'a> {
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

impl<'a> Events<'a> {
    /// Reads `input`; `source` names it in errors (a path, or `<stdin>`).
    pub fn new(input: &'a [u8], source: &'a str) -> Self {
        Events {
            input,
            source,
            pos: 0,
            pending: VecDeque::new(),
        }
    }

    /// Where `raw` (a slice of the input) starts in the input.
    fn offset_of(&self, raw: &RawValue) -> usize {
        (raw.get().as_ptr() as usize).saturating_sub(self.input.as_ptr() as usize)
    }

    /// An error at `offset` in the input.
    fn error_at(&self, offset: usize, message: String) -> Error {
        let offset = offset.min(self.input.len());
        let before = &self.input[..offset];
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        Error::Json {
            source_name: self.source.to_owned(),
            line,
            column: offset - line_start + 1,
            offset,
            message,
        }
    }

    /// Converts a serde_json error about `text` (which starts at `base`).
    fn json_error(&self, base: usize, text: &[u8], e: &serde_json::Error) -> Error {
        let offset = base + offset_in(text, e.line(), e.column());
        self.error_at(offset, strip_location(e))
    }

    /// Parses one event out of `raw`.
    fn event(&self, raw: &RawValue) -> Result<Event, Error> {
        serde_json::from_str(raw.get())
            .map_err(|e| self.json_error(self.offset_of(raw), raw.get().as_bytes(), &e))
    }

    /// Queues the items of the `EventList` object `text` (at `base` in the input).
    fn queue_items(&mut self, text: &'a [u8], base: usize) -> Result<(), Error> {
        match serde_json::from_slice::<ListItems<'a>>(text) {
            Ok(list) => {
                self.pending.extend(list.items.unwrap_or_default());
                Ok(())
            }
            Err(e) => Err(self.json_error(base, text, &e)),
        }
    }

    /// Handles a top-level value that is not an object: an array's elements are
    /// queued in `pending`; anything else is an error.
    fn top_level(&mut self, raw: &'a RawValue) -> Option<Result<Event, Error>> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'[') => match serde_json::from_str::<Vec<&'a RawValue>>(text) {
                Ok(items) => {
                    self.pending.extend(items);
                    None
                }
                Err(e) => Some(Err(self.json_error(
                    self.offset_of(raw),
                    text.as_bytes(),
                    &e,
                ))),
            },
            _ => Some(Err(self.error_at(
                self.offset_of(raw),
                "expected an audit Event, an EventList or an array of events".to_owned(),
            ))),
        }
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = Result<Event, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(raw) = self.pending.pop_front() {
                return Some(self.event(raw));
            }
            let rest = &self.input[self.pos..];
            let skip = rest
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(rest.len());
            self.pos += skip;
            if self.pos >= self.input.len() {
                return None;
            }
            let input: &'a [u8] = self.input;
            let rest = &input[self.pos..];
            if rest[0] == b'{' {
                // The common case (a log line): parse the event in one pass.
                let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<Event>();
                match stream.next() {
                    Some(Ok(ev)) => {
                        let start = self.pos;
                        self.pos += stream.byte_offset().max(1);
                        if ev.kind.as_deref() != Some("EventList") {
                            return Some(Ok(ev));
                        }
                        if let Err(e) = self.queue_items(&input[start..self.pos], start) {
                            return Some(Err(e));
                        }
                        continue;
                    }
                    Some(Err(e)) if e.is_data() => {
                        // Valid JSON that is not an event: report it, skip the value.
                        let err = self.json_error(self.pos, rest, &e);
                        let mut raw = serde_json::Deserializer::from_slice(rest)
                            .into_iter::<serde::de::IgnoredAny>();
                        match raw.next() {
                            Some(Ok(_)) => self.pos += raw.byte_offset().max(1),
                            _ => self.skip_line_after(&err),
                        }
                        return Some(Err(err));
                    }
                    Some(Err(e)) => {
                        let err = self.json_error(self.pos, rest, &e);
                        self.skip_line_after(&err);
                        return Some(Err(err));
                    }
                    None => return None,
                }
            }
            let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<&RawValue>();
            match stream.next() {
                Some(Ok(raw)) => {
                    self.pos += stream.byte_offset().max(1);
                    if let Some(item) = self.top_level(raw) {
                        return Some(item);
                    }
                }
                Some(Err(e)) => {
                    let err = self.json_error(self.pos, rest, &e);
                    self.skip_line_after(&err);
                    return Some(Err(err));
                }
                None => return None,
            }
        }
    }
}

impl Events<'_> {
    /// Resumes reading after the line holding `err` (JSON lines recovery).
    fn skip_line_after(&mut self, err: &Error) {
        let at = match err {
            Error::Json { offset, .. } => *offset,
            _ => self.pos,
        };
        let input = self.input;
        self.pos = memchr::memchr(b'\n', &input[at.min(input.len())..])
            .map_or(input.len(), |i| at + i + 1)
            .max(self.pos + 1);
    }
}

/// Byte offset of serde_json's (1-based line, 1-based column) in `text`.
fn offset_in(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match memchr::memchr(b'\n', &text[start..]) {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    (start + column.saturating_sub(1)).min(text.len())
}

/// serde_json's message without its " at line L column C" suffix (we add our own).
fn strip_location(e: &serde_json::Error) -> String {
    let mut msg = e.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    msg
}

/// Reads a whole file, or standard input for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, Error> {
    let mut data = Vec::new();
    let res = if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut data).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut data).map(|_| ()))
    };
    res.map_err(|source| Error::Io {
        path: display_name(path).into_owned(),
        source,
    })?;
    Ok(data)
}

/// How a path is named in messages (`<stdin>` for `-`).
pub fn display_name(path: &Path) -> std::borrow::Cow<'_, str> {
    if path.as_os_str() == "-" {
        "<stdin>".into()
    } else {
        path.to_string_lossy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(input: &str) -> Vec<Result<String, String>> {
        Events::new(input.as_bytes(), "t")
            .map(|r| {
                r.map(|e| e.audit_id().to_owned())
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    #[test]
    fn json_lines_list_and_array() {
        let input = concat!(
            "{\"auditID\":\"a\"}\n",
            "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[{\"auditID\":\"b\"},{\"auditID\":\"c\"}]}\n",
            "[{\"auditID\":\"d\"}]\n",
            "{\n  \"auditID\": \"e\"\n}\n",
        );
        let got: Vec<_> = ids(input).into_iter().map(Result::unwrap).collect();
        assert_eq!(got, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn errors_carry_location_and_reading_resumes() {
        let input =
            "{\"auditID\":\"a\"}\n{\"auditID\": nope}\n{\"kind\": 0}\n{\"auditID\":\"z\"}\n";
        let got = ids(input);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], Ok("a".to_owned()));
        let e1 = got[1].clone().unwrap_err();
        assert!(e1.starts_with("t:2:14: expected ident"), "{e1}");
        assert!(e1.contains("byte offset 29"), "{e1}");
        let e2 = got[2].clone().unwrap_err();
        assert!(e2.starts_with("t:3:"), "{e2}");
        assert!(e2.contains("invalid type: integer `0`"), "{e2}");
        assert_eq!(got[3], Ok("z".to_owned()));
    }

    #[test]
    fn errors_inside_lists_point_into_the_list() {
        let input = "[\n{\"auditID\":\"a\"},\n{\"level\":\"Bogus\"}\n]";
        let got = ids(input);
        assert_eq!(got[0], Ok("a".to_owned()));
        let e = got[1].clone().unwrap_err();
        assert!(e.starts_with("t:3:"), "{e}");
        assert!(e.contains("unknown variant `Bogus`"), "{e}");
    }

    #[test]
    fn scalars_and_truncation_are_errors_not_panics() {
        for input in [
            "5",
            "\"x\"",
            "{",
            "[",
            "{\"a\":",
            "\u{0}",
            "]]]",
            "{\"items\":[1]}",
        ] {
            for r in Events::new(input.as_bytes(), "t") {
                let _ = r.map_err(|e| e.to_string());
            }
        }
        assert!(ids("5")[0].is_err());
        assert!(ids("").is_empty());
        assert!(ids("  \n ").is_empty());
    }
}
