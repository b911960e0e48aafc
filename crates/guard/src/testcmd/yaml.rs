//! A small YAML tree with the line and column of every node, folded from
//! the marked events of `yaml-rust2`, so spec errors can point at the
//! offending value.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in a spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column.
    pub(crate) col: usize,
}

impl Pos {
    fn from_marker(m: Marker) -> Pos {
        Pos {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// What it holds.
    pub(crate) kind: Kind,
    /// Where it starts.
    pub(crate) pos: Pos,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `~`, `null` or an empty plain scalar.
    Null,
    /// A scalar, and whether it was quoted or a block.
    Scalar(String, bool),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if the node is a scalar.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Where.
    pub(crate) pos: Pos,
    /// What.
    pub(crate) msg: String,
}

/// Folds events into nodes.
#[derive(Default)]
struct Builder {
    /// Open containers with their pending mapping key.
    stack: Vec<(Node, Option<Node>)>,
    /// Anchored nodes, by anchor id.
    anchors: Vec<(usize, Node)>,
    /// Anchor ids of the open containers.
    open_anchors: Vec<usize>,
    /// Finished documents.
    docs: Vec<Node>,
}

impl Builder {
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, pending)) => match &mut parent.kind {
                Kind::Seq(items) => items.push(node),
                Kind::Map(entries) => match pending.take() {
                    None => *pending = Some(node),
                    Some(k) => entries.push((k, node)),
                },
                Kind::Null | Kind::Scalar(..) => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        match ev {
            Event::Scalar(s, style, anchor, _) => {
                let plain = style == TScalarStyle::Plain;
                let kind = if plain && matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                    Kind::Null
                } else {
                    Kind::Scalar(s, !plain)
                };
                self.push(Node { kind, pos }, anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.open_anchors.push(anchor);
                self.stack.push((
                    Node {
                        kind: Kind::Seq(Vec::new()),
                        pos,
                    },
                    None,
                ));
            }
            Event::MappingStart(anchor, _) => {
                self.open_anchors.push(anchor);
                self.stack.push((
                    Node {
                        kind: Kind::Map(Vec::new()),
                        pos,
                    },
                    None,
                ));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let (Some((node, _)), Some(anchor)) = (self.stack.pop(), self.open_anchors.pop())
                {
                    self.push(node, anchor);
                }
            }
            Event::Alias(id) => {
                let node = self.anchors.iter().rev().find(|(a, _)| *a == id).map_or(
                    Node {
                        kind: Kind::Null,
                        pos,
                    },
                    |(_, n)| n.clone(),
                );
                self.push(node, 0);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Parses `text`'s first document (`Null` for an empty file).
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut b = Builder::default();
    Parser::new_from_str(text)
        .load(&mut b, false)
        .map_err(|e| SyntaxError {
            pos: Pos::from_marker(*e.marker()),
            msg: e.info().to_string(),
        })?;
    Ok(b.docs.into_iter().next().unwrap_or(Node {
        kind: Kind::Null,
        pos: Pos { line: 1, col: 1 },
    }))
}
