//! Output formats: `-p` format strings, rendered as text lines or JSON objects.
//!
//! A format is parsed once against a [`FieldCatalog`] into literal text and field
//! slots. Per event, each slot's values are extracted through [`Extract`] and
//! written straight into the caller's buffer: no allocation once buffers are warm.
//!
//! Syntax (sysdig's): `%field`, `%field[arg]`, `%NNfield` (pad or cut to NN
//! characters), literal text, the escapes `\n`, `\t`, `\e` and `\\`, and a leading
//! `*` meaning "print even when some fields have no value" (they show as `<NA>`,
//! or `null` in JSON). Without the `*`, an event with a missing field is skipped.

use crate::field::{Extract, Fast, FieldArg, FieldCatalog, FieldRef, Value, Values};
use std::io::Write as _;

/// Why a format string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// A `%` at the very end of the format.
    #[error("invalid formatting syntax: formatting cannot end with a %")]
    TrailingPercent,
    /// A `%` not followed by a known field.
    #[error("invalid formatting token {token} (at column {column})")]
    BadToken {
        /// The text after the `%`.
        token: String,
        /// 1-based column of the `%`.
        column: usize,
    },
    /// A `%NN` width larger than [`MAX_WIDTH`].
    #[error("field width {width} is too large (at most {MAX_WIDTH}) (at column {column})")]
    BadWidth {
        /// The width as written.
        width: String,
        /// 1-based column of the `%`.
        column: usize,
    },
    /// A known field with a bad argument.
    #[error("{message} (at column {column})")]
    BadField {
        /// The catalogue's message.
        message: String,
        /// 1-based column of the `%`.
        column: usize,
    },
}

/// The widest `%NNfield` accepted: a wider column is a typo, and would make
/// every line that large.
pub const MAX_WIDTH: usize = 4096;

/// One field slot of a format.
#[derive(Debug, Clone)]
struct Slot {
    field: FieldRef,
    /// The field to extract for JSON output, when it differs (time strings become ns).
    json_field: Option<FieldRef>,
    width: Option<usize>,
    /// Minimum digits of integers in text output.
    zero_pad: usize,
}

#[derive(Debug, Clone)]
enum Part {
    Text(Vec<u8>),
    Field(Slot),
}

/// Literal format text. Short pieces (the separators between fields, JSON
/// keys) are copied as one fixed 32-byte block and cut, rather than through `memcpy`.
#[derive(Debug, Clone)]
struct Lit {
    short: [u8; 32],
    len: usize,
    long: Box<[u8]>,
}

impl Lit {
    fn new(t: &[u8]) -> Lit {
        let mut short = [0u8; 32];
        if let Some(s) = short.get_mut(..t.len()) {
            s.copy_from_slice(t);
        }
        Lit {
            short,
            len: t.len(),
            long: t.into(),
        }
    }

    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        if self.len <= self.short.len() {
            let at = out.len();
            out.extend_from_slice(&self.short);
            out.truncate(at + self.len);
        } else {
            out.extend_from_slice(&self.long);
        }
    }
}

/// A parsed output format.
#[derive(Debug, Clone)]
pub struct Format {
    all_optional: bool,
    /// The fields, in order.
    slots: Vec<Slot>,
    /// The text before each field (as many as `slots`).
    before: Vec<Lit>,
    /// The text after the last field.
    tail: Lit,
    /// Field indices in JSON key order (sorted by field name, duplicates
    /// removed), each with the text written before its value: `{"key":` or `,"key":`.
    json_order: Vec<(usize, Lit)>,
}

/// Catalogue hook for JSON output: which field to print in place of another.
///
/// sysdig prints time strings (`evt.time`, `evt.outputtime`, …) as integers of
/// nanoseconds in JSON. Catalogues without such fields use the default.
pub trait JsonFields: FieldCatalog {
    /// The field whose value JSON output shows for `field`, if not `field` itself.
    fn json_variant(&self, _field: &FieldRef) -> Option<FieldRef> {
        None
    }

    /// Minimum number of digits for integer values of `field` in text output
    /// (zero-padded on the left; 0 means no padding). sysdig pads the
    /// nanosecond parts of times to 9 digits.
    fn zero_pad(&self, _field: &FieldRef) -> usize {
        0
    }
}

fn is_field_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

impl Format {
    /// Parses `src` against `catalog`.
    pub fn parse(src: &str, catalog: &dyn JsonFields) -> Result<Format, FormatError> {
        let b = src.as_bytes();
        let (all_optional, mut i) = if b.first() == Some(&b'*') {
            (true, 1)
        } else {
            (false, 0)
        };
        let mut parts = Vec::new();
        let mut text = Vec::new();
        while i < b.len() {
            match b[i] {
                b'\\' if i + 1 < b.len() => {
                    let esc = match b[i + 1] {
                        b'n' => Some(b'\n'),
                        b't' => Some(b'\t'),
                        b'e' => Some(0x1b),
                        b'\\' => Some(b'\\'),
                        _ => None,
                    };
                    if let Some(c) = esc {
                        text.push(c);
                        i += 2;
                    } else {
                        text.push(b'\\');
                        i += 1;
                    }
                }
                b'%' => {
                    let column = i + 1;
                    i += 1;
                    if i >= b.len() {
                        return Err(FormatError::TrailingPercent);
                    }
                    let wstart = i;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    let width = if i > wstart {
                        match src[wstart..i].parse::<usize>() {
                            Ok(w) if w <= MAX_WIDTH => Some(w),
                            _ => {
                                return Err(FormatError::BadWidth {
                                    width: src[wstart..i].to_string(),
                                    column,
                                })
                            }
                        }
                    } else {
                        None
                    };
                    let start = i;
                    while i < b.len() && is_field_char(b[i]) {
                        i += 1;
                    }
                    let mut end = i;
                    // An argument in brackets belongs to the field.
                    let mut arg_end = end;
                    if end < b.len() && b[end] == b'[' {
                        if let Some(close) = src[end..].find(']') {
                            arg_end = end + close + 1;
                        }
                    }
                    // Longest known field name, cutting at dots; the rest is text.
                    let mut found = None;
                    loop {
                        let name = &src[start..end];
                        if name.is_empty() {
                            break;
                        }
                        let with_arg = if end == i && arg_end > end {
                            parse_bracket_arg(&src[end + 1..arg_end - 1])
                        } else {
                            FieldArg::None
                        };
                        match catalog.resolve(name, with_arg.clone()) {
                            Ok(f) => {
                                found = Some((f, if end == i { arg_end } else { end }));
                                break;
                            }
                            Err(crate::FieldError::BadArg { field, reason })
                                if end == i || !name.contains('.') =>
                            {
                                return Err(FormatError::BadField {
                                    message: format!("bad argument for field {field}: {reason}"),
                                    column,
                                })
                            }
                            Err(_) => {}
                        }
                        match name.rfind('.') {
                            Some(dot) if dot > 0 => end = start + dot,
                            _ => break,
                        }
                    }
                    let Some((field, next)) = found else {
                        let tok_end = b[start..]
                            .iter()
                            .position(u8::is_ascii_whitespace)
                            .map_or(b.len(), |p| start + p);
                        return Err(FormatError::BadToken {
                            token: src[wstart.min(start)..tok_end].to_string(),
                            column,
                        });
                    };
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    let json_field = catalog.json_variant(&field);
                    let zero_pad = catalog.zero_pad(&field);
                    parts.push(Part::Field(Slot {
                        field,
                        json_field,
                        width,
                        zero_pad,
                    }));
                    i = next;
                }
                c => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        let mut slots = Vec::new();
        let mut before = Vec::new();
        let mut text: Vec<u8> = Vec::new();
        for p in parts {
            match p {
                Part::Text(t) => text.extend_from_slice(&t),
                Part::Field(slot) => {
                    before.push(Lit::new(&std::mem::take(&mut text)));
                    slots.push(slot);
                }
            }
        }
        let tail = Lit::new(&text);
        let mut json_order: Vec<usize> = (0..slots.len()).collect();
        let key = |i: &usize| slots[*i].field.name.clone();
        json_order.sort_by_key(key);
        // jsoncpp keeps the last value written for a repeated key.
        let mut dedup: Vec<usize> = Vec::with_capacity(json_order.len());
        for idx in json_order {
            if let Some(last) = dedup.last_mut() {
                if key(last) == key(&idx) {
                    *last = idx;
                    continue;
                }
            }
            dedup.push(idx);
        }
        let json_order = dedup
            .into_iter()
            .enumerate()
            .map(|(n, idx)| {
                let mut key = vec![if n == 0 { b'{' } else { b',' }];
                write_json_string(&mut key, slots[idx].field.name.as_bytes());
                key.push(b':');
                (idx, Lit::new(&key))
            })
            .collect();
        Ok(Format {
            all_optional,
            slots,
            before,
            tail,
            json_order,
        })
    }

    /// The fields this format prints, in order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldRef> {
        self.slots.iter().map(|s| &s.field)
    }

    /// Writes one text line for the event (without a trailing newline).
    /// Returns `false`, leaving `out` as it was, when a field has no value and the
    /// format has no leading `*`.
    pub fn write_text<E: Extract + ?Sized>(
        &self,
        ex: &E,
        scratch: &mut Values,
        out: &mut Vec<u8>,
    ) -> bool {
        let mark = out.len();
        for (slot, before) in self.slots.iter().zip(&self.before) {
            before.write(out);
            let start = out.len();
            let found = match ex.write_text(&slot.field, out) {
                Fast::Done(()) => true,
                Fast::Missing => false,
                Fast::Unsupported => {
                    // Extract straight into the line: the scratch buffer's
                    // byte store *is* the output while we write, so a
                    // string value lands in place, uncopied.
                    std::mem::swap(out, &mut scratch.bytes);
                    let found = extract_text_in_place(ex, &slot.field, scratch);
                    std::mem::swap(out, &mut scratch.bytes);
                    found
                }
            };
            if found {
                if slot.zero_pad > 0 {
                    zero_pad(out, start, slot.zero_pad);
                }
            } else if self.all_optional {
                out.truncate(start);
                out.extend_from_slice(b"<NA>");
            } else {
                out.truncate(mark);
                return false;
            }
            if let Some(w) = slot.width {
                fit_width(out, start, w);
            }
        }
        self.tail.write(out);
        true
    }

    /// Writes one JSON object for the event (keys sorted, no trailing newline).
    /// Returns `false`, leaving `out` as it was, when a field has no value and the
    /// format has no leading `*`.
    pub fn write_json<E: Extract + ?Sized>(
        &self,
        ex: &E,
        scratch: &mut Values,
        out: &mut Vec<u8>,
    ) -> bool {
        let mark = out.len();
        if self.json_order.is_empty() {
            out.push(b'{');
        }
        for (idx, key) in &self.json_order {
            let Some(slot) = self.slots.get(*idx) else {
                continue;
            };
            key.write(out);
            let f = slot.json_field.as_ref().unwrap_or(&slot.field);
            let found = match ex.write_json(f, out) {
                Fast::Done(()) => true,
                Fast::Missing => false,
                Fast::Unsupported => {
                    scratch.clear();
                    let found = ex.extract(f, scratch);
                    if found {
                        write_values_json(scratch, out);
                    }
                    found
                }
            };
            if !found {
                if self.all_optional {
                    out.extend_from_slice(b"null");
                } else {
                    out.truncate(mark);
                    return false;
                }
            }
        }
        out.push(b'}');
        true
    }
}

/// Extracts `field` into `v`, whose byte buffer is the output line, and leaves
/// its text at the end of the line; `false` (the line as it was) when it has
/// no value.
fn extract_text_in_place<E: Extract + ?Sized>(ex: &E, field: &FieldRef, v: &mut Values) -> bool {
    v.items.clear();
    let start = v.bytes.len();
    if !ex.extract(field, v) {
        v.bytes.truncate(start);
        return false;
    }
    let in_place = matches!(
        v.items[..],
        [Value::Bytes(s, e)] if s as usize == start && e as usize == v.bytes.len()
    );
    if !in_place {
        // Numbers, or several values: render them after the bytes they refer
        // to, then move the text down.
        let end = v.bytes.len();
        let items = std::mem::take(&mut v.items);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                v.bytes.push(b',');
            }
            match *item {
                Value::Bytes(s, e) => {
                    v.bytes.extend_from_within(s as usize..e as usize);
                }
                _ => write_value_text_into(item, &mut v.bytes),
            }
        }
        v.items = items;
        v.bytes.drain(start..end);
    }
    true
}

fn parse_bracket_arg(s: &str) -> FieldArg {
    let t = s.trim_matches(|c| c == '"' || c == '\'');
    match t.parse::<i64>() {
        Ok(n) if t == s => FieldArg::Index(n),
        _ => FieldArg::Name(t.into()),
    }
}

/// Left-pads the integer written since `start` with zeros to `digits` digits.
fn zero_pad(out: &mut Vec<u8>, start: usize, digits: usize) {
    let len = out.len() - start;
    if len > 0 && len < digits && out[start..].iter().all(u8::is_ascii_digit) {
        let pad = digits - len;
        out.splice(start..start, std::iter::repeat_n(b'0', pad));
    }
}

/// Pads with spaces or cuts the bytes written since `start` to exactly `w` characters.
fn fit_width(out: &mut Vec<u8>, start: usize, w: usize) {
    let len = out.len() - start;
    if len > w {
        out.truncate(start + w);
    } else {
        out.resize(start + w, b' ');
    }
}

/// Writes values as text: one value as is, several separated by commas.
pub fn write_values_text(v: &Values, out: &mut Vec<u8>) {
    for (i, item) in v.items().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value_text(v, item, out);
    }
}

/// Writes one value as text.
pub fn write_value_text(v: &Values, item: &Value, out: &mut Vec<u8>) {
    match *item {
        Value::Bytes(s, e) => out.extend_from_slice(v.bytes(s, e)),
        _ => write_value_text_into(item, out),
    }
}

/// Writes a value that holds no bytes (a number, boolean or address) as text;
/// byte values write nothing (their bytes live in a [`Values`]).
fn write_value_text_into(item: &Value, out: &mut Vec<u8>) {
    match *item {
        Value::Bytes(..) => {}
        Value::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::Uint(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Double(d) => {
            let _ = write!(out, "{d:.2}");
        }
        Value::Ipv4(a) => {
            let _ = write!(out, "{}", std::net::Ipv4Addr::from(a));
        }
        Value::Ipv6(a) => {
            let _ = write!(out, "{}", std::net::Ipv6Addr::from(a));
        }
    }
}

fn write_values_json(v: &Values, out: &mut Vec<u8>) {
    match v.items() {
        [one] => write_value_json(v, one, out),
        many => {
            out.push(b'[');
            for (i, item) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value_json(v, item, out);
            }
            out.push(b']');
        }
    }
}

fn write_value_json(v: &Values, item: &Value, out: &mut Vec<u8>) {
    match *item {
        Value::Int(_) | Value::Uint(_) | Value::Bool(_) => write_value_text(v, item, out),
        Value::Double(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Bytes(s, e) => write_json_string(out, v.bytes(s, e)),
        Value::Ipv4(_) | Value::Ipv6(_) => {
            out.push(b'"');
            write_value_text(v, item, out);
            out.push(b'"');
        }
    }
}

/// Whether JSON writes byte `c` as is in a string (printable ASCII but `"` and `\\`).
#[inline]
pub(crate) fn json_plain(c: u8) -> bool {
    (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\'
}

/// Writes `s` as a JSON string literal. Bytes that are not valid UTF-8 are
/// written as `\u00XX` escapes of their Latin-1 reading, so output is always valid JSON.
pub fn write_json_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    if s.iter().all(|&c| json_plain(c)) {
        // The common case: printable ASCII, copied whole.
        out.extend_from_slice(s);
    } else {
        write_json_escaped(out, s);
    }
    out.push(b'"');
}

/// The body of a JSON string that needs escapes.
fn write_json_escaped(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rest = s;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(v) => (v.as_bytes(), None),
            Err(e) => (
                &rest[..e.valid_up_to()],
                Some(e.error_len().unwrap_or(rest.len() - e.valid_up_to())),
            ),
        };
        let mut run = valid;
        while let Some(at) = run
            .iter()
            .position(|&c| c < 0x20 || matches!(c, b'"' | b'\\' | 0x7f))
        {
            out.extend_from_slice(&run[..at]);
            match run[at] {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                c => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(c >> 4)]);
                    out.push(HEX[usize::from(c & 15)]);
                }
            }
            run = &run[at + 1..];
        }
        out.extend_from_slice(run);
        let consumed = valid.len();
        match bad {
            Some(n) => {
                for &c in &rest[consumed..consumed + n] {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(c >> 4)]);
                    out.push(HEX[usize::from(c & 15)]);
                }
                rest = &rest[consumed + n..];
            }
            None => rest = &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldError;
    use osprey_event::ParamType;

    struct Cat;
    impl FieldCatalog for Cat {
        fn resolve(&self, name: &str, arg: FieldArg) -> Result<FieldRef, FieldError> {
            let (id, ty) = match name {
                "proc.name" => (0, ParamType::CharBuf),
                "evt.num" => (1, ParamType::Uint64),
                "evt.time" => (2, ParamType::CharBuf),
                "evt.rawtime" => (3, ParamType::AbsTime),
                "fd.name" => (4, ParamType::CharBuf),
                "evt.arg" => {
                    if arg == FieldArg::None {
                        return Err(FieldError::BadArg {
                            field: name.into(),
                            reason: "needs an argument".into(),
                        });
                    }
                    (5, ParamType::CharBuf)
                }
                n if n.starts_with("evt.arg.") => {
                    return self.resolve("evt.arg", FieldArg::Name(n[8..].into()))
                }
                _ => return Err(FieldError::Unknown(name.into())),
            };
            Ok(FieldRef {
                id,
                arg,
                ty,
                name: name.into(),
            })
        }
    }
    impl JsonFields for Cat {
        fn json_variant(&self, f: &FieldRef) -> Option<FieldRef> {
            (f.id == 2).then(|| self.resolve("evt.rawtime", FieldArg::None).unwrap())
        }
    }
    struct Ev;
    impl Extract for Ev {
        fn extract(&self, f: &FieldRef, out: &mut Values) -> bool {
            match f.id {
                0 => out.push_bytes(b"cat"),
                1 => out.push(Value::Uint(146)),
                2 => out.push_bytes(b"16:17:57.881788861"),
                3 => out.push(Value::Uint(1_470_327_477_881_788_861)),
                5 => out.push_bytes(match &f.arg {
                    FieldArg::Name(n) => n.as_bytes(),
                    _ => b"?",
                }),
                _ => return false,
            }
            true
        }
    }

    fn text(fmt: &str) -> Option<String> {
        let f = Format::parse(fmt, &Cat).unwrap();
        let mut out = Vec::new();
        f.write_text(&Ev, &mut Values::new(), &mut out)
            .then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn text_output() {
        assert_eq!(text("%evt.num %proc.name").as_deref(), Some("146 cat"));
        assert_eq!(
            text("[%5proc.name][%2proc.name]").as_deref(),
            Some("[cat  ][ca]")
        );
        assert_eq!(text("%proc.name.x\\t\\\\").as_deref(), Some("cat.x\t\\"));
        assert_eq!(text("%evt.arg.fd %evt.arg[res]").as_deref(), Some("fd res"));
        assert_eq!(text("%evt.num %fd.name"), None);
        assert_eq!(text("*%evt.num %fd.name").as_deref(), Some("146 <NA>"));
    }

    #[test]
    fn zero_padding() {
        let mut out = b"x".to_vec();
        zero_pad(&mut out, 1, 9);
        assert_eq!(out, b"x");
        out.extend_from_slice(b"320");
        zero_pad(&mut out, 1, 9);
        assert_eq!(out, b"x000000320");
        let mut big = b"1881788862".to_vec();
        zero_pad(&mut big, 0, 9);
        assert_eq!(big, b"1881788862");
    }

    #[test]
    fn json_output() {
        let f = Format::parse("*%proc.name x %evt.time %evt.num %fd.name %evt.num", &Cat).unwrap();
        let mut out = Vec::new();
        assert!(f.write_json(&Ev, &mut Values::new(), &mut out));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"evt.num":146,"evt.time":1470327477881788861,"fd.name":null,"proc.name":"cat"}"#
        );
    }

    #[test]
    fn huge_widths_are_errors() {
        // Found by the format fuzzer: this width used to pad lines to 300 GB.
        assert!(matches!(
            Format::parse("%299999999999proc.name", &Cat),
            Err(FormatError::BadWidth { column: 1, .. })
        ));
        assert!(matches!(
            Format::parse("x %99999999999999999999999proc.name", &Cat),
            Err(FormatError::BadWidth { column: 3, .. })
        ));
        assert!(Format::parse("%4096proc.name", &Cat).is_ok());
    }

    #[test]
    fn errors() {
        assert_eq!(
            Format::parse("abc%", &Cat).unwrap_err(),
            FormatError::TrailingPercent
        );
        assert!(matches!(
            Format::parse("x %zz.zz", &Cat),
            Err(FormatError::BadToken { column: 3, .. })
        ));
        assert!(matches!(
            Format::parse("%evt.arg", &Cat),
            Err(FormatError::BadField { .. })
        ));
    }

    /// `Ev` with the borrowed fast path for `proc.name`, used by the default
    /// `write_text` and `write_json`.
    struct Fast0;
    impl Extract for Fast0 {
        fn extract(&self, f: &FieldRef, out: &mut Values) -> bool {
            Ev.extract(f, out)
        }
        fn borrow_bytes(&self, f: &FieldRef) -> Fast<&[u8]> {
            match f.id {
                0 => Fast::Done(b"ca\"t"),
                4 => Fast::Missing,
                _ => Fast::Unsupported,
            }
        }
    }

    #[test]
    fn fast_paths_write_what_extraction_writes() {
        struct Quoted;
        impl Extract for Quoted {
            fn extract(&self, f: &FieldRef, out: &mut Values) -> bool {
                if f.id == 0 {
                    out.push_bytes(b"ca\"t");
                    return true;
                }
                Ev.extract(f, out)
            }
        }
        for fmt in [
            "%evt.num %proc.name %5proc.name %fd.name",
            "*%evt.num %proc.name %2proc.name %fd.name %evt.time",
            "*%fd.name",
        ] {
            let f = Format::parse(fmt, &Cat).unwrap();
            let (mut a, mut b) = (b"x".to_vec(), b"x".to_vec());
            let (mut va, mut vb) = (Values::new(), Values::new());
            assert_eq!(
                f.write_text(&Fast0, &mut va, &mut a),
                f.write_text(&Quoted, &mut vb, &mut b)
            );
            assert_eq!(a, b, "{fmt}");
            assert_eq!(
                f.write_json(&Fast0, &mut va, &mut a),
                f.write_json(&Quoted, &mut vb, &mut b)
            );
            assert_eq!(a, b, "{fmt}");
        }
    }

    #[test]
    fn json_strings_are_valid() {
        let mut out = Vec::new();
        write_json_string(&mut out, b"a\"b\\\n\x01\xff\xc3\xa9");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\\\n\\u0001\\u00ff\u{e9}\""
        );
    }
}
