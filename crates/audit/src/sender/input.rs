//! Splits audit input into raw event objects without re-encoding them.
//!
//! Accepted shapes, which may be mixed and concatenated (JSON lines is a sequence of
//! objects separated by newlines): a single `Event` object, an `EventList` object
//! (`{"kind":"EventList",...,"items":[...]}`), or a JSON array whose elements are
//! events or event lists. Each event is passed on byte for byte.

use serde::Deserialize;
use serde_json::value::RawValue;

/// A malformed input, with the byte offset where parsing stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not valid JSON at `offset` (line and column are 1-based).
    #[error("invalid JSON at byte offset {offset} (line {line}, column {column}): {msg}")]
    Json {
        /// Byte offset of the value that failed.
        offset: usize,
        /// Line of the error, 1-based.
        line: usize,
        /// Column of the error, 1-based.
        column: usize,
        /// The parser's message.
        msg: String,
    },
    /// A value that is neither an object nor an array.
    #[error("expected an audit Event, an EventList or an array at byte offset {offset}")]
    NotAnEvent {
        /// Byte offset of the value.
        offset: usize,
    },
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(default, borrow)]
    kind: Option<&'a str>,
    #[serde(default, borrow)]
    items: Option<Vec<&'a RawValue>>,
}

fn json_err(e: &serde_json::Error, offset: usize) -> Error {
    Error::Json {
        offset,
        line: e.line(),
        column: e.column(),
        msg: e.to_string(),
    }
}

/// Calls `each` with every event object in `input` and returns how many there were.
pub fn for_each_event<'a>(
    input: &'a [u8],
    mut each: impl FnMut(&'a RawValue),
) -> Result<usize, Error> {
    let mut count = 0;
    let mut stream = serde_json::Deserializer::from_slice(input).into_iter::<&'a RawValue>();
    loop {
        let offset = stream.byte_offset();
        let Some(value) = stream.next() else {
            return Ok(count);
        };
        let value = value.map_err(|e| json_err(&e, offset))?;
        count += visit(value, offset, 0, &mut each)?;
    }
}

fn visit<'a>(
    value: &'a RawValue,
    offset: usize,
    depth: u32,
    each: &mut impl FnMut(&'a RawValue),
) -> Result<usize, Error> {
    match value.get().as_bytes().first() {
        Some(b'[') if depth == 0 => {
            let items: Vec<&'a RawValue> =
                serde_json::from_str(value.get()).map_err(|e| json_err(&e, offset))?;
            let mut n = 0;
            for item in items {
                n += visit(item, offset, depth + 1, each)?;
            }
            Ok(n)
        }
        Some(b'{') => {
            let probe: Probe<'a> =
                serde_json::from_str(value.get()).map_err(|e| json_err(&e, offset))?;
            match (probe.kind, probe.items) {
                (Some("EventList"), Some(items)) if depth < 2 => {
                    let n = items.len();
                    for item in items {
                        if !item.get().starts_with('{') {
                            return Err(Error::NotAnEvent { offset });
                        }
                        each(item);
                    }
                    Ok(n)
                }
                (Some("EventList"), None) => Ok(0),
                _ => {
                    each(value);
                    Ok(1)
                }
            }
        }
        _ => Err(Error::NotAnEvent { offset }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &str) -> Result<Vec<String>, Error> {
        let mut v = Vec::new();
        for_each_event(input.as_bytes(), |e| v.push(e.get().to_string()))?;
        Ok(v)
    }

    #[test]
    fn reads_lines_lists_and_arrays() {
        let got = collect(
            "{\"a\":1}\n{\"kind\":\"EventList\",\"items\":[{\"b\":2},{\"c\": 3}]}\n\
             [{\"d\":4},{\"kind\":\"EventList\",\"items\":[{\"e\":5}]}]",
        )
        .expect("valid");
        assert_eq!(
            got,
            [
                "{\"a\":1}",
                "{\"b\":2}",
                "{\"c\": 3}",
                "{\"d\":4}",
                "{\"e\":5}"
            ]
        );
        assert_eq!(
            collect("{\"kind\":\"EventList\",\"metadata\":{}}")
                .expect("ok")
                .len(),
            0
        );
    }

    #[test]
    fn reports_offsets() {
        match collect("{\"a\":1}\n{\"b\":") {
            Err(Error::Json { offset, line, .. }) => assert_eq!((offset, line), (7, 2)),
            other => panic!("{other:?}"),
        }
        match collect("{\"a\":1} 42") {
            Err(Error::NotAnEvent { offset }) => assert_eq!(offset, 7),
            other => panic!("{other:?}"),
        }
        assert!(collect("[[{}]]").is_err());
        assert!(collect("{\"kind\":\"EventList\",\"items\":[1]}").is_err());
    }
}
