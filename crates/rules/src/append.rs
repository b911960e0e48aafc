//! falco.yaml's `append_output` (Falco 0.39+): text appended to the output
//! of the rules an entry matches, and extra fields for their JSON
//! `output_fields`.
//!
//! An entry matches a rule when each of its `match` keys that is set
//! agrees: `source` equals the rule's source, every one of `tags` is among
//! the rule's tags, `rule` equals the rule's name. Entries apply in order:
//! each `extra_output` is appended to the output after a space (so it shows
//! in the text line and in JSON `output`), and `extra_fields` are added to
//! JSON `output_fields` only (they are not checked against the text).

use std::collections::BTreeSet;

/// One extra field of an `append_output` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraField {
    /// A field name (`- evt.hostname`): its value, typed as for a `%field` of
    /// the output, under its own name.
    Field(String),
    /// `- name: format`: the format rendered as text (missing values as
    /// `<NA>`), a JSON string under `name`.
    Formatted {
        /// The key in `output_fields`.
        name: String,
        /// An output format (`%field` tokens and text).
        format: String,
    },
}

/// One `append_output` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendOutput {
    /// `match.source`: only rules of this source.
    pub source: Option<String>,
    /// `match.tags`: only rules carrying all of these tags.
    pub tags: BTreeSet<String>,
    /// `match.rule`: only the rule of this name.
    pub rule: Option<String>,
    /// `extra_output`: appended to the rule's output after a space (empty:
    /// nothing appended).
    pub extra_output: String,
    /// `extra_fields`, in order.
    pub extra_fields: Vec<ExtraField>,
}

impl AppendOutput {
    /// Whether the entry applies to a rule of this name, source and tags.
    pub fn matches(&self, name: &str, source: &str, tags: &BTreeSet<String>) -> bool {
        self.source.as_deref().is_none_or(|s| s == source)
            && self.rule.as_deref().is_none_or(|r| r == name)
            && self.tags.is_subset(tags)
    }
}

/// Writes the JSON object `obj` (from `Format::write_json`: keys sorted,
/// each key a field name without escapes) with the `extra` entries (sorted
/// by name; values are JSON-escaped strings written by the caller into
/// `values`, each a byte range) merged in key order. An extra entry
/// replaces a field of the same name, as Falco's JSON map does.
pub(crate) fn merge_object(
    obj: &[u8],
    extra: &[(&str, (usize, usize))],
    values: &[u8],
    out: &mut Vec<u8>,
) {
    let mut members = Vec::with_capacity(8);
    let mut i = 1; // after '{'
    while i < obj.len() && obj[i] != b'}' {
        if obj[i] == b',' {
            i += 1;
        }
        // "key":value
        let key_start = i + 1;
        let Some(q) = obj[key_start..].iter().position(|&c| c == b'"') else {
            break;
        };
        let key_end = key_start + q;
        let value_start = key_end + 2;
        let value_end = skip_value(obj, value_start);
        members.push((&obj[key_start..key_end], &obj[value_start..value_end]));
        i = value_end;
    }
    out.push(b'{');
    let (mut a, mut b) = (members.iter().peekable(), extra.iter().peekable());
    let mut first = true;
    let mut member = |out: &mut Vec<u8>, key: &[u8], value: &[u8]| {
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        out.extend_from_slice(key);
        out.extend_from_slice(b"\":");
        out.extend_from_slice(value);
    };
    loop {
        match (a.peek(), b.peek()) {
            (Some(&&(k, v)), Some(&&(name, _))) if k < name.as_bytes() => {
                member(out, k, v);
                a.next();
            }
            (Some(&&(k, _)), Some(&&(name, (s, e)))) => {
                if k == name.as_bytes() {
                    a.next();
                }
                member(out, name.as_bytes(), &values[s..e]);
                b.next();
            }
            (Some(&&(k, v)), None) => {
                member(out, k, v);
                a.next();
            }
            (None, Some(&&(name, (s, e)))) => {
                member(out, name.as_bytes(), &values[s..e]);
                b.next();
            }
            (None, None) => break,
        }
    }
    out.push(b'}');
}

/// The end of the JSON value starting at `i`.
fn skip_value(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' if depth == 0 => return i,
                b']' | b'}' => depth -= 1,
                b',' if depth == 0 => return i,
                _ => {}
            }
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> BTreeSet<String> {
        t.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn matching_by_source_tags_and_rule() {
        let all = AppendOutput::default();
        assert!(all.matches("r", "syscall", &tags(&[])));
        let e = AppendOutput {
            source: Some("syscall".into()),
            tags: tags(&["a", "b"]),
            rule: Some("r".into()),
            ..AppendOutput::default()
        };
        assert!(e.matches("r", "syscall", &tags(&["a", "b", "c"])));
        assert!(!e.matches("r", "syscall", &tags(&["a"])));
        assert!(!e.matches("r", "k8s_audit", &tags(&["a", "b"])));
        assert!(!e.matches("other", "syscall", &tags(&["a", "b"])));
    }

    #[test]
    fn merges_in_key_order_and_replaces_same_names() {
        let obj = br#"{"evt.time":1,"fd.name":"a,\"}b","proc.args":["x","y"],"z":null}"#;
        let values = br#""H""Q""R""#;
        let extra = [("a", (0, 3)), ("fd.name", (3, 6)), ("proc.zz", (6, 9))];
        let mut out = Vec::new();
        merge_object(obj, &extra, values, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":"H","evt.time":1,"fd.name":"Q","proc.args":["x","y"],"proc.zz":"R","z":null}"#
        );
        let mut out = Vec::new();
        merge_object(b"{}", &[("k", (0, 3))], values, &mut out);
        assert_eq!(out, br#"{"k":"H"}"#);
    }
}
