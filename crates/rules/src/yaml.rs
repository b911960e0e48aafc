//! A small YAML document tree with source positions, built from the events
//! of `libyaml-safer` (a safe Rust port of libyaml).
//!
//! Rules files need the line and column of every item, key and value for
//! diagnostics, which tree-building YAML libraries drop; the event API keeps
//! them, so this module folds the events into [`Node`]s. libyaml is chosen
//! over the spec-strict pure-Rust parsers because it accepts what Falco's
//! YAML library accepts: the upstream rules files close multi-line flow
//! sequences with a `]` at the parent key's indentation, which `yaml-rust2`
//! and `saphyr` reject.

use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};

/// A position in a rules file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// 0-based offset: from the start of the file for YAML positions, into
    /// the condition text for a "condition expression" location.
    pub offset: usize,
}

impl Pos {
    fn from_mark(m: Mark) -> Self {
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Self {
            line: n(m.line).saturating_add(1),
            col: n(m.column).saturating_add(1),
            offset: n(m.index),
        }
    }
}

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) pos: Pos,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `~`, `null` or an empty plain scalar.
    Null,
    /// A scalar (quoted or not).
    Scalar(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if the node is a scalar.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of key `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(m) => m
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A YAML core-schema boolean.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.as_str()? {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) pos: Pos,
    pub(crate) msg: String,
}

/// Builds nodes from events.
#[derive(Default)]
struct Builder {
    /// Open containers: the node, a pending mapping key, and the anchor.
    stack: Vec<(Node, Option<Node>, Option<String>)>,
    /// Finished documents.
    docs: Vec<Node>,
    /// Anchored nodes.
    anchors: Vec<(String, Node)>,
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: Option<String>) {
        if let Some(a) = anchor {
            self.anchors.push((a, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, pending, _)) => match &mut parent.kind {
                Kind::Seq(items) => items.push(node),
                Kind::Map(entries) => match pending.take() {
                    None => *pending = Some(node),
                    Some(k) => entries.push((k, node)),
                },
                Kind::Null | Kind::Scalar(_) => {}
            },
        }
    }

    fn event(&mut self, ev: EventData, pos: Pos) {
        match ev {
            EventData::Scalar {
                anchor,
                value,
                style,
                ..
            } => {
                let null = style == ScalarStyle::Plain
                    && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL");
                let kind = if null {
                    Kind::Null
                } else {
                    Kind::Scalar(value)
                };
                self.push_value(Node { kind, pos }, anchor);
            }
            EventData::SequenceStart { anchor, .. } => {
                let node = Node {
                    kind: Kind::Seq(Vec::new()),
                    pos,
                };
                self.stack.push((node, None, anchor));
            }
            EventData::MappingStart { anchor, .. } => {
                let node = Node {
                    kind: Kind::Map(Vec::new()),
                    pos,
                };
                self.stack.push((node, None, anchor));
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                if let Some((node, _, anchor)) = self.stack.pop() {
                    self.push_value(node, anchor);
                }
            }
            EventData::Alias { anchor } => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == anchor)
                    .map_or(
                        Node {
                            kind: Kind::Null,
                            pos,
                        },
                        |(_, n)| n.clone(),
                    );
                self.push_value(node, None);
            }
            EventData::StreamStart { .. }
            | EventData::StreamEnd
            | EventData::DocumentStart { .. }
            | EventData::DocumentEnd { .. } => {}
        }
    }
}

/// Parses every document of `src`.
pub(crate) fn parse(src: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut b = Builder::default();
    let mut input = src.as_bytes();
    let mut p = Parser::new();
    p.set_input_string(&mut input);
    for ev in p {
        match ev {
            Ok(ev) => b.event(ev.data, Pos::from_mark(ev.start_mark)),
            Err(e) => {
                let pos = e.problem_mark().map(Pos::from_mark).unwrap_or_default();
                let msg = match e.context() {
                    Some(c) => format!("{} {c}", e.problem()),
                    None => e.problem().to_string(),
                };
                return Err(SyntaxError { pos, msg });
            }
        }
    }
    Ok(b.docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_kinds() {
        let docs = parse("- rule: a\n  tags: [x, 'y']\n  n: ~\n---\n- list: l\n").unwrap();
        assert_eq!(docs.len(), 2);
        let Kind::Seq(items) = &docs[0].kind else {
            panic!()
        };
        let item = &items[0];
        assert_eq!((item.pos.line, item.pos.col), (1, 3));
        let tags = item.get("tags").unwrap();
        assert_eq!((tags.pos.line, tags.pos.col), (2, 9));
        assert_eq!(item.get("n").unwrap().kind, Kind::Null);
        assert_eq!(item.get("rule").unwrap().as_str(), Some("a"));
    }

    #[test]
    fn flow_sequence_closed_at_the_key_indentation() {
        // As in the upstream sandbox rules: libyaml accepts it.
        let docs = parse("- list: a\n  items: [\n    \"x\",\n    \"y\"\n  ]\n").unwrap();
        let Kind::Seq(items) = &docs[0].kind else {
            panic!()
        };
        let Kind::Seq(v) = &items[0].get("items").unwrap().kind else {
            panic!()
        };
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = parse("- rule: a\n  cond: [x\n- b: c\n").unwrap_err();
        assert!(e.pos.line >= 2, "{e:?}");
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let docs = parse("- a: &x [1, 2]\n  b: *x\n").unwrap();
        let Kind::Seq(items) = &docs[0].kind else {
            panic!()
        };
        assert_eq!(
            items[0].get("a").unwrap().kind,
            items[0].get("b").unwrap().kind
        );
    }
}
