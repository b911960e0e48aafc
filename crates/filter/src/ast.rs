//! The syntax tree of a filter, with byte spans, and its canonical printing.
//!
//! `Display` prints the canonical form used by the rules engine tests: single
//! spaces around operators, every `and`/`or` group in parentheses, lists as
//! `(a, b)`, values quoted only when they contain blanks, quotes or backslashes.

use std::fmt;

use crate::lexer::escape;

/// A byte range in the filter text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
}

/// A boolean expression node.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// The kinds of boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `a and b and ...` (two or more children).
    And(Vec<Expr>),
    /// `a or b or ...` (two or more children).
    Or(Vec<Expr>),
    /// `not a`.
    Not(Box<Expr>),
    /// A bare identifier: a macro reference.
    Macro(String),
    /// A field check.
    Check(Box<Check>),
}

/// A check: `lhs op [modifier] rhs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Left side: a field or a transformer.
    pub lhs: Operand,
    /// The operator.
    pub op: Op,
    /// Where the operator is.
    pub op_span: Span,
    /// `oneof` / `anyof` / `allof`, if given.
    pub modifier: Option<Modifier>,
    /// Right side.
    pub rhs: Rhs,
}

/// A field or a transformer applied to an operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A field.
    Field(FieldExpr),
    /// `name(inner)`.
    Transform {
        /// Which transformer (or `val`).
        kind: Transformer,
        /// The operand it applies to.
        inner: Box<Operand>,
        /// Where the whole transformer call is.
        span: Span,
    },
}

impl Operand {
    /// Where the operand is.
    pub fn span(&self) -> Span {
        match self {
            Operand::Field(f) => f.span,
            Operand::Transform { span, .. } => *span,
        }
    }
}

/// A field reference as written: name and optional bracketed argument.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldExpr {
    /// The dotted name (`evt.arg.name` keeps its dotted suffix here).
    pub name: String,
    /// The `[...]` argument, unescaped.
    pub arg: Option<Literal>,
    /// Where the field is, argument included.
    pub span: Span,
}

/// A string value with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// The value (quoted strings are unescaped).
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// The right side of a check.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    /// No right side (`exists`).
    None,
    /// A single value.
    Value(Literal),
    /// A list `(a, b)`; the span covers the parentheses.
    List(Vec<Literal>, Span),
    /// A list name (an identifier after a list operator).
    ListRef(Literal),
    /// A field or transformer: `val(f)`, `tolower(f)`.
    Operand(Operand),
}

/// The check operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the variant names are the operators
pub enum Op {
    Exists,
    Eq,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Regex,
    In,
    Intersects,
    PMatch,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Exists => "exists",
            Op::Eq => "=",
            Op::EqEq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::Regex => "regex",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::PMatch => "pmatch",
        }
    }

    /// Whether the operator takes a list (`in`, `intersects`, `pmatch`).
    pub fn is_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

/// List modifiers after a string operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// True if the operator matches any element.
    OneOf,
    /// Same as `oneof`.
    AnyOf,
    /// True if the operator matches every element.
    AllOf,
}

impl Modifier {
    /// The modifier as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::OneOf => "oneof",
            Modifier::AnyOf => "anyof",
            Modifier::AllOf => "allof",
        }
    }
}

/// Field transformers, plus `val` (field reference on the right side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformer {
    /// ASCII lower case.
    ToLower,
    /// ASCII upper case.
    ToUpper,
    /// Base64 decode.
    B64,
    /// Last path component.
    Basename,
    /// Length of a string, or number of values of a list field.
    Len,
    /// The value of another field (right side only).
    Val,
}

impl Transformer {
    /// The transformer name as written (without the parenthesis).
    pub fn as_str(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
            Transformer::Val => "val",
        }
    }

    /// All transformers usable on either side (not `val`).
    pub const ALL: [Transformer; 5] = [
        Transformer::ToLower,
        Transformer::ToUpper,
        Transformer::B64,
        Transformer::Basename,
        Transformer::Len,
    ];
}

impl Expr {
    /// Replaces every macro reference for which `f` returns an expression.
    /// The replacement is not itself searched again, so the caller controls
    /// nesting (expand a macro's body before handing it out).
    pub fn substitute_macros(&mut self, f: &mut dyn FnMut(&str, Span) -> Option<Expr>) {
        match &mut self.kind {
            ExprKind::And(c) | ExprKind::Or(c) => {
                for e in c {
                    e.substitute_macros(f);
                }
            }
            ExprKind::Not(e) => e.substitute_macros(f),
            ExprKind::Macro(name) => {
                if let Some(e) = f(name, self.span) {
                    *self = e;
                }
            }
            ExprKind::Check(_) => {}
        }
    }

    /// Calls `f` for every macro reference, in text order.
    pub fn for_each_macro(&self, f: &mut dyn FnMut(&str, Span)) {
        match &self.kind {
            ExprKind::And(c) | ExprKind::Or(c) => c.iter().for_each(|e| e.for_each_macro(f)),
            ExprKind::Not(e) => e.for_each_macro(f),
            ExprKind::Macro(name) => f(name, self.span),
            ExprKind::Check(_) => {}
        }
    }

    /// Calls `f` for every check, in text order.
    pub fn for_each_check(&self, f: &mut dyn FnMut(&Check)) {
        match &self.kind {
            ExprKind::And(c) | ExprKind::Or(c) => c.iter().for_each(|e| e.for_each_check(f)),
            ExprKind::Not(e) => e.for_each_check(f),
            ExprKind::Macro(_) => {}
            ExprKind::Check(c) => f(c),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::And(c) | ExprKind::Or(c) => {
                let op = if matches!(self.kind, ExprKind::And(_)) {
                    " and "
                } else {
                    " or "
                };
                f.write_str("(")?;
                for (i, e) in c.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str(")")
            }
            ExprKind::Not(e) => write!(f, "not {e}"),
            ExprKind::Macro(m) => f.write_str(m),
            ExprKind::Check(c) => write!(f, "{c}"),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.lhs, self.op.as_str())?;
        if let Some(m) = self.modifier {
            write!(f, " {}", m.as_str())?;
        }
        match &self.rhs {
            Rhs::None => Ok(()),
            Rhs::Value(v) | Rhs::ListRef(v) => write!(f, " {}", escape(&v.text)),
            Rhs::List(items, _) => {
                f.write_str(" (")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&escape(&v.text))?;
                }
                f.write_str(")")
            }
            Rhs::Operand(o) => write!(f, " {o}"),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(fe) => write!(f, "{fe}"),
            Operand::Transform { kind, inner, .. } => write!(f, "{}({inner})", kind.as_str()),
        }
    }
}

impl fmt::Display for FieldExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match &self.arg {
            Some(a) => write!(f, "[{}]", escape(&a.text)),
            None => Ok(()),
        }
    }
}
