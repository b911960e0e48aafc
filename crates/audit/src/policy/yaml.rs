//! A small YAML node tree with positions, built from yaml-rust2's event stream.
//!
//! Why not serde_yaml: it is unmaintained, and the policy loader needs the
//! position of every node (validation errors name a field path *and* a line),
//! plus the apiserver's lenient handling of unknown and duplicate keys, which is
//! easier over a plain tree than through serde derive.
//!
//! Plain scalars are typed as go-yaml v2 (YAML 1.1, which the apiserver uses)
//! types them, so `level: yes` or `users: [1]` are type errors as they are there.
//! Aliases share their anchor's node (`Rc`), so alias bombs cost nothing.

use std::collections::HashMap;
use std::rc::Rc;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting accepted (keeps recursive drops and walks shallow).
const MAX_DEPTH: usize = 256;

/// A position in the policy text (1-based line and column, in characters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl From<Marker> for Mark {
    fn from(m: Marker) -> Self {
        Mark {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

/// What a scalar resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarKind {
    Null,
    Bool(bool),
    Number,
    Str,
}

/// One node.
#[derive(Debug)]
pub(crate) enum Value {
    Scalar(String, ScalarKind),
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

/// A node and where it starts.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) mark: Mark,
}

impl Node {
    /// "a string", "a list", ... for type errors.
    pub(crate) fn describe(&self) -> &'static str {
        match &self.value {
            Value::Scalar(_, ScalarKind::Null) => "null",
            Value::Scalar(_, ScalarKind::Bool(_)) => "a boolean",
            Value::Scalar(_, ScalarKind::Number) => "a number",
            Value::Scalar(_, ScalarKind::Str) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A parse error: message and position.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub(crate) message: String,
    pub(crate) mark: Mark,
}

/// Parses the first document of `text`; `None` for an empty stream.
pub(crate) fn parse(text: &str) -> Result<Option<Rc<Node>>, ParseError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| ParseError {
        message: e.info().to_owned(),
        mark: (*e.marker()).into(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.doc)
}

enum Partial {
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>, Option<Rc<Node>>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<(Partial, Mark, usize)>,
    anchors: HashMap<usize, Rc<Node>>,
    doc: Option<Rc<Node>>,
    error: Option<ParseError>,
}

impl Builder {
    fn push_node(&mut self, node: Rc<Node>) {
        match self.stack.last_mut() {
            None => {
                if self.doc.is_none() {
                    self.doc = Some(node);
                }
            }
            Some((Partial::Seq(items), _, _)) => items.push(node),
            Some((Partial::Map(pairs, key), _, _)) => match key.take() {
                Some(k) => pairs.push((k, node)),
                None => *key = Some(node),
            },
        }
    }

    fn anchor(&mut self, id: usize, node: &Rc<Node>) {
        if id > 0 {
            self.anchors.insert(id, Rc::clone(node));
        }
    }

    fn fail(&mut self, message: &str, mark: Mark) {
        if self.error.is_none() {
            self.error = Some(ParseError {
                message: message.to_owned(),
                mark,
            });
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, marker: Marker) {
        if self.error.is_some() {
            return;
        }
        let mark = Mark::from(marker);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let explicit_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let kind = if style == TScalarStyle::Plain && !explicit_str {
                    resolve_plain(&text)
                } else {
                    ScalarKind::Str
                };
                let node = Rc::new(Node {
                    value: Value::Scalar(text, kind),
                    mark,
                });
                self.anchor(anchor, &node);
                self.push_node(node);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.fail("nesting too deep", mark);
                    return;
                }
                let partial = if matches!(ev, Event::SequenceStart(..)) {
                    Partial::Seq(Vec::new())
                } else {
                    Partial::Map(Vec::new(), None)
                };
                self.stack.push((partial, mark, anchor));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((partial, start, anchor)) = self.stack.pop() {
                    let value = match partial {
                        Partial::Seq(items) => Value::Seq(items),
                        Partial::Map(pairs, _) => Value::Map(pairs),
                    };
                    let node = Rc::new(Node { value, mark: start });
                    self.anchor(anchor, &node);
                    self.push_node(node);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(node) => {
                    let node = Rc::clone(node);
                    self.push_node(node);
                }
                None => self.fail("unknown anchor", mark),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// go-yaml v2's resolution of plain scalars (YAML 1.1 booleans included).
fn resolve_plain(text: &str) -> ScalarKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => ScalarKind::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            ScalarKind::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            ScalarKind::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => ScalarKind::Number,
        _ if looks_numeric(text) => ScalarKind::Number,
        _ => ScalarKind::Str,
    }
}

fn looks_numeric(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let first_ok = body
        .as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_digit() || *b == b'.');
    if !first_ok {
        return false;
    }
    let plain = body.replace('_', "");
    plain.parse::<f64>().is_ok()
        || plain
            .strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        || plain
            .strip_prefix("0b")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b == b'0' || b == b'1'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_typed_like_go_yaml_v2() {
        assert_eq!(resolve_plain("yes"), ScalarKind::Bool(true));
        assert_eq!(resolve_plain("Off"), ScalarKind::Bool(false));
        assert_eq!(resolve_plain("12"), ScalarKind::Number);
        assert_eq!(resolve_plain("1.5e3"), ScalarKind::Number);
        assert_eq!(resolve_plain("0x1F"), ScalarKind::Number);
        assert_eq!(resolve_plain("inf"), ScalarKind::Str);
        assert_eq!(resolve_plain("get"), ScalarKind::Str);
        assert_eq!(resolve_plain("~"), ScalarKind::Null);
        assert_eq!(resolve_plain("/logs*"), ScalarKind::Str);
    }

    #[test]
    fn builds_positions_and_aliases() {
        let doc = parse("a: &x [1, 2]\nb: *x\n").unwrap().unwrap();
        let Value::Map(pairs) = &doc.value else {
            panic!("not a map")
        };
        assert_eq!(pairs.len(), 2);
        assert!(Rc::ptr_eq(&pairs[0].1, &pairs[1].1));
        assert_eq!(pairs[1].0.mark, Mark { line: 2, column: 1 });
        assert!(parse("").unwrap().is_none());
        let err = parse("a: [").unwrap_err();
        assert!(err.mark.line >= 1);
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }
}
