//! Compilation of a parsed filter against a field catalogue.
//!
//! Fields are resolved once; right-hand literals are parsed into the field's
//! type (numbers, booleans, IP addresses and networks, byte strings); regexes,
//! globs, path sets and `in` sets are prepared so evaluation never allocates.

use std::cell::{OnceCell, RefCell};
use std::cmp::Ordering;
use std::collections::HashSet;
use std::net::IpAddr;

use osprey_event::ParamType;

use crate::ast::{
    Check, Expr, ExprKind, FieldExpr, Literal, Modifier, Op, Operand, Rhs, Span, Transformer,
};
use crate::error::Error;
use crate::evttypes::EventTypeSet;
use crate::field::{FieldArg, FieldCatalog, FieldError, FieldRef, Values};
use crate::parser;

/// Supplies macros and lists referenced by name in a condition.
///
/// The rules engine implements this; plain filters use [`NoResolver`].
pub trait Resolver {
    /// The expression a macro stands for.
    fn macro_expr(&self, _name: &str) -> Option<&Expr> {
        None
    }
    /// The items of a list named after `in`, `intersects` or `pmatch`.
    fn list(&self, _name: &str) -> Option<&[String]> {
        None
    }
}

/// A resolver that knows no macros and no lists.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoResolver;

impl Resolver for NoResolver {}

/// How deeply macros may reference other macros during compilation.
const MAX_MACRO_DEPTH: u32 = 256;

/// A compiled filter, ready to be evaluated on events.
#[derive(Debug)]
pub struct Filter {
    pub(crate) root: Node,
    pub(crate) slots: usize,
    scratch: RefCell<Scratch>,
    /// The event types the filter can match ([`Filter::event_types`]), worked
    /// out on first use; `None` inside when that is every type.
    types: OnceCell<Option<EventTypeSet>>,
}

/// Reusable per-evaluation buffers. One per thread evaluating a [`Filter`].
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) slots: Vec<Values>,
}

impl Scratch {
    /// Empty buffers; they grow on first use and are then reused.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Filter {
    /// Parses and compiles `src`; macro and list references are errors.
    pub fn compile(src: &str, catalog: &dyn FieldCatalog) -> Result<Self, Error> {
        Self::compile_with(src, catalog, &NoResolver)
    }

    /// Parses and compiles `src`, resolving macros and lists with `resolver`.
    pub fn compile_with(
        src: &str,
        catalog: &dyn FieldCatalog,
        resolver: &dyn Resolver,
    ) -> Result<Self, Error> {
        let ast = parser::parse(src)?;
        Self::from_ast(&ast, catalog, resolver)
    }

    /// Compiles an already parsed (and possibly macro-substituted) expression.
    pub fn from_ast(
        expr: &Expr,
        catalog: &dyn FieldCatalog,
        resolver: &dyn Resolver,
    ) -> Result<Self, Error> {
        let mut c = Compiler {
            catalog,
            resolver,
            slots: 0,
            macro_depth: 0,
        };
        let root = c.expr(expr)?;
        Ok(Self {
            root,
            slots: c.slots,
            scratch: RefCell::new(Scratch::default()),
            types: OnceCell::new(),
        })
    }

    pub(crate) fn scratch_cell(&self) -> &RefCell<Scratch> {
        &self.scratch
    }

    /// The event types the filter can match, `None` when it can match every type.
    #[inline]
    pub(crate) fn type_gate(&self) -> Option<&EventTypeSet> {
        self.types
            .get_or_init(|| {
                let t = self.analyse_event_types();
                (!t.is_all()).then_some(t)
            })
            .as_ref()
    }

    /// Buffers sized for this filter, for [`Filter::matches_with`].
    pub fn new_scratch(&self) -> Scratch {
        Scratch {
            slots: (0..self.slots).map(|_| Values::new()).collect(),
        }
    }
}

/// A compiled boolean node.
#[derive(Debug)]
pub(crate) enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Check(Box<CheckNode>),
}

/// A compiled check: where the values come from and how they are tested.
#[derive(Debug)]
pub(crate) struct CheckNode {
    pub(crate) lhs: Src,
    pub(crate) lhs_slots: usize,
    pub(crate) test: Test,
}

/// A source of values: a field, or a transformer over another source.
#[derive(Debug)]
pub(crate) enum Src {
    Field(FieldRef),
    Tr {
        kind: Transformer,
        inner: Box<Src>,
        /// The inner field is list-typed (`len` counts values).
        list: bool,
    },
}

impl Src {
    /// Number of value buffers needed to evaluate this source.
    fn slots(&self) -> usize {
        match self {
            Src::Field(_) => 1,
            Src::Tr { inner, .. } => 1 + inner.slots(),
        }
    }
}

/// What a compiled literal means for the field it is compared to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LitKind {
    Int(i128),
    Float(f64),
    Bool(bool),
    Bytes,
    Addr(IpAddr),
    Net(Net),
}

/// A right-hand literal: typed meaning plus its text for string compares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lit {
    pub(crate) kind: LitKind,
    pub(crate) text: Box<[u8]>,
}

/// An IP network (`10.0.0.0/8`, `fe80::/10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net {
    pub(crate) addr: IpAddr,
    pub(crate) prefix: u8,
}

impl Net {
    /// Whether `ip` lies in the network.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let (a, b, bits): (u128, u128, u32) = match (self.addr.to_canonical(), ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n).into(), u32::from(i).into(), 32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let host_bits = bits - u32::from(self.prefix).min(bits);
        if host_bits >= 128 {
            return true;
        }
        (a >> host_bits) == (b >> host_bits)
    }
}

/// A set of literals for `in` / `intersects`.
#[derive(Debug)]
pub(crate) enum LitSet {
    /// Few or mixed literals: linear scan with typed equality.
    Linear(Box<[Lit]>),
    /// Many string literals.
    Hash(HashSet<Box<[u8]>>),
    /// Integer literals, sorted.
    Ints(Box<[i128]>),
}

/// The test applied to the extracted values of a check.
#[derive(Debug)]
pub(crate) enum Test {
    Exists,
    Eq(Lit),
    Ne(Lit),
    Ord(Op, Lit),
    Contains(Box<memchr::memmem::Finder<'static>>),
    IContains(Box<[u8]>),
    StartsWith(Box<[u8]>),
    EndsWith(Box<[u8]>),
    Glob {
        pat: Box<[u8]>,
        icase: bool,
    },
    Regex(regex::bytes::Regex),
    /// `in` (`all`: every value must be in the set) or `intersects` (any).
    Set {
        set: LitSet,
        all: bool,
    },
    PMatch(Box<[Box<[u8]>]>),
    /// `op oneof/anyof/allof (...)`.
    Many {
        tests: Box<[Test]>,
        all: bool,
    },
    /// Right side is a field or transformer.
    Field {
        op: Op,
        rhs: Src,
        rhs_slots: usize,
    },
}

/// How a field type's literals are parsed and compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Class {
    Int { min: i128, max: i128 },
    Float,
    Bool,
    Str,
    Addr,
    Net,
}

impl Class {
    fn describe(self) -> &'static str {
        match self {
            Class::Int { .. } | Class::Float => "numeric",
            Class::Bool => "boolean",
            Class::Str => "string",
            Class::Addr => "IP address",
            Class::Net => "IP network",
        }
    }
}

fn uint(bits: u32) -> Class {
    Class::Int {
        min: 0,
        max: (1i128 << bits) - 1,
    }
}

fn sint(bits: u32) -> Class {
    Class::Int {
        min: -(1i128 << (bits - 1)),
        max: (1i128 << (bits - 1)) - 1,
    }
}

/// The literal class of a parameter type.
pub(crate) fn class_of(ty: ParamType) -> Class {
    use ParamType as T;
    match ty {
        T::Int8 => sint(8),
        T::Int16 => sint(16),
        T::Int32 | T::Fd32 | T::Pid32 => sint(32),
        T::Int64 | T::Errno | T::Fd | T::Pid => sint(64),
        T::Uint8 | T::Flags8 | T::EnumFlags8 | T::SigType | T::L4Proto | T::SockFamily => uint(8),
        T::Uint16 | T::Flags16 | T::EnumFlags16 | T::Port | T::SyscallId => uint(16),
        T::Uint32 | T::Flags32 | T::EnumFlags32 | T::Uid | T::Gid | T::Mode => uint(32),
        T::Uint64 | T::RelTime | T::AbsTime | T::SigSet => uint(64),
        T::Double => Class::Float,
        T::Bool => Class::Bool,
        T::Ipv4Addr | T::Ipv6Addr | T::IpAddr => Class::Addr,
        T::Ipv4Net | T::Ipv6Net | T::IpNet => Class::Net,
        T::None
        | T::CharBuf
        | T::ByteBuf
        | T::SockAddr
        | T::SockTuple
        | T::FdList
        | T::FsPath
        | T::Dyn
        | T::CharBufArray
        | T::CharBufPairArray
        | T::FsRelPath => Class::Str,
    }
}

fn is_list_type(ty: ParamType) -> bool {
    matches!(
        ty,
        ParamType::CharBufArray | ParamType::CharBufPairArray | ParamType::FdList
    )
}

/// Parses an integer literal: decimal (optionally signed) or `0x` hex.
fn parse_int(s: &str) -> Option<i128> {
    let t = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok().map(i128::from);
    }
    t.parse::<i128>().ok()
}

fn parse_net(s: &str) -> Option<Net> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max)?,
        None => max,
    };
    Some(Net { addr, prefix })
}

fn parse_hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.is_empty() || s.len() & 1 == 1 {
        return None;
    }
    s.chunks(2)
        .map(|c| {
            let hi = (c[0] as char).to_digit(16)?;
            let lo = (c[1] as char).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// Compiles a literal for a field of class `class`.
pub(crate) fn compile_lit(lit: &Literal, class: Class, field: &str) -> Result<Lit, Error> {
    let s = lit.text.as_str();
    let at = lit.span.start;
    let kind = match class {
        Class::Int { min, max } => {
            let n = parse_int(s)
                .ok_or_else(|| Error::compile(at, format!("{s} is not a valid number")))?;
            if n < min || n > max {
                return Err(Error::compile(
                    at,
                    format!("{s} is out of range for field '{field}' ({min}..={max})"),
                ));
            }
            LitKind::Int(n)
        }
        Class::Float => LitKind::Float(
            s.parse::<f64>()
                .map_err(|_| Error::compile(at, format!("{s} is not a valid number")))?,
        ),
        Class::Bool => match s {
            "true" => LitKind::Bool(true),
            "false" => LitKind::Bool(false),
            _ => {
                return Err(Error::compile(
                    at,
                    format!("unrecognized boolean value {s}"),
                ))
            }
        },
        Class::Str => LitKind::Bytes,
        Class::Addr if !s.contains('/') => LitKind::Addr(
            s.parse()
                .map_err(|_| Error::compile(at, format!("unrecognized IP address {s}")))?,
        ),
        Class::Addr | Class::Net => LitKind::Net(
            parse_net(s)
                .ok_or_else(|| Error::compile(at, format!("unrecognized IP network {s}")))?,
        ),
    };
    Ok(Lit {
        kind,
        text: s.as_bytes().into(),
    })
}

/// Above this many string items an `in` list uses a hash set.
const HASH_THRESHOLD: usize = 8;

struct Compiler<'a> {
    catalog: &'a dyn FieldCatalog,
    resolver: &'a dyn Resolver,
    slots: usize,
    macro_depth: u32,
}

impl Compiler<'_> {
    fn expr(&mut self, e: &Expr) -> Result<Node, Error> {
        Ok(match &e.kind {
            ExprKind::And(c) => {
                Node::And(c.iter().map(|x| self.expr(x)).collect::<Result<_, _>>()?)
            }
            ExprKind::Or(c) => Node::Or(c.iter().map(|x| self.expr(x)).collect::<Result<_, _>>()?),
            ExprKind::Not(x) => Node::Not(Box::new(self.expr(x)?)),
            ExprKind::Macro(name) => self.macro_ref(name, e.span)?,
            ExprKind::Check(c) => Node::Check(Box::new(self.check(c)?)),
        })
    }

    fn macro_ref(&mut self, name: &str, span: Span) -> Result<Node, Error> {
        let resolver = self.resolver;
        let Some(body) = resolver.macro_expr(name) else {
            return Err(Error::compile(
                span.start,
                format!("undefined macro '{name}'"),
            ));
        };
        if self.macro_depth >= MAX_MACRO_DEPTH {
            return Err(Error::compile(
                span.start,
                format!("macro '{name}' nests too deeply (recursive macro?)"),
            ));
        }
        self.macro_depth += 1;
        let r = self
            .expr(body)
            .map_err(|e| Error::compile(span.start, format!("in macro '{name}': {}", e.message())));
        self.macro_depth -= 1;
        r
    }

    fn field(&self, f: &FieldExpr) -> Result<FieldRef, Error> {
        let arg = match &f.arg {
            None => FieldArg::None,
            Some(a) => match a.text.parse::<i64>() {
                Ok(i) => FieldArg::Index(i),
                Err(_) => FieldArg::Name(a.text.as_str().into()),
            },
        };
        let no_arg = arg == FieldArg::None;
        let first = self.catalog.resolve(&f.name, arg);
        let resolved = match first {
            Ok(r) => Ok(r),
            Err(e @ FieldError::Unknown(_)) if no_arg => {
                // `evt.arg.name`: try the longest known prefix, the rest as a name argument.
                let mut found = None;
                let mut cut = f.name.len();
                while let Some(dot) = f.name.get(..cut).and_then(|p| p.rfind('.')) {
                    let (prefix, rest) = (&f.name[..dot], &f.name[dot + 1..]);
                    if !prefix.contains('.') {
                        break;
                    }
                    if let Ok(r) = self.catalog.resolve(prefix, FieldArg::Name(rest.into())) {
                        found = Some(r);
                        break;
                    }
                    cut = dot;
                }
                found.ok_or(e)
            }
            Err(e) => Err(e),
        };
        let mut r = resolved.map_err(|e| Error::compile(f.span.start, e.to_string()))?;
        r.name = f.to_string().into_boxed_str();
        Ok(r)
    }

    /// Compiles an operand; returns the source and its value type.
    fn operand(&self, o: &Operand) -> Result<(Src, ParamType), Error> {
        match o {
            Operand::Field(f) => {
                let r = self.field(f)?;
                let ty = r.ty;
                Ok((Src::Field(r), ty))
            }
            Operand::Transform {
                kind: Transformer::Val,
                inner,
                ..
            } => self.operand(inner),
            Operand::Transform { kind, inner, span } => {
                let (src, ty) = self.operand(inner)?;
                let out = if *kind == Transformer::Len {
                    ParamType::Uint64
                } else {
                    if class_of(ty) != Class::Str {
                        return Err(Error::compile(
                            span.start,
                            format!(
                                "transformer '{}' needs a string value, but '{inner}' is {}",
                                kind.as_str(),
                                class_of(ty).describe()
                            ),
                        ));
                    }
                    ParamType::CharBuf
                };
                Ok((
                    Src::Tr {
                        kind: *kind,
                        inner: Box::new(src),
                        list: is_list_type(ty),
                    },
                    out,
                ))
            }
        }
    }

    fn check(&mut self, c: &Check) -> Result<CheckNode, Error> {
        let (lhs, ty) = self.operand(&c.lhs)?;
        let class = class_of(ty);
        let name = c.lhs.to_string();
        let op = c.op;
        let string_only = matches!(
            op,
            Op::Contains
                | Op::IContains
                | Op::BContains
                | Op::StartsWith
                | Op::BStartsWith
                | Op::EndsWith
                | Op::Glob
                | Op::IGlob
                | Op::Regex
                | Op::PMatch
        );
        let ordered = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
        if (string_only && class != Class::Str)
            || (ordered && matches!(class, Class::Bool | Class::Addr | Class::Net))
        {
            return Err(Error::compile(
                c.op_span.start,
                format!(
                    "operator '{}' is not supported for {} field '{name}'",
                    op.as_str(),
                    class.describe()
                ),
            ));
        }
        let lhs_slots = lhs.slots();
        let mut rhs_slots = 0;
        let test = match &c.rhs {
            Rhs::None => Test::Exists,
            Rhs::Operand(o) => {
                if matches!(op, Op::Regex | Op::PMatch) {
                    return Err(Error::compile(
                        o.span().start,
                        format!(
                            "operator '{}' doesn't support right-hand side fields",
                            op.as_str()
                        ),
                    ));
                }
                let (rhs, _) = self.operand(o)?;
                rhs_slots = rhs.slots();
                Test::Field { op, rhs, rhs_slots }
            }
            Rhs::Value(lit) => single_test(op, lit, class, &name)?,
            Rhs::List(items, _) => self.list_test(op, c.modifier, items, class, &name)?,
            Rhs::ListRef(id) => {
                let resolver = self.resolver;
                let Some(items) = resolver.list(&id.text) else {
                    return Err(Error::compile(
                        id.span.start,
                        format!("undefined list '{}'", id.text),
                    ));
                };
                let lits: Vec<Literal> = items
                    .iter()
                    .map(|t| Literal {
                        text: t.clone(),
                        span: id.span,
                    })
                    .collect();
                self.list_test(op, c.modifier, &lits, class, &name)?
            }
        };
        if let Src::Field(f) = &lhs {
            let values: Vec<&str> = match &c.rhs {
                Rhs::Value(lit) => vec![lit.text.as_str()],
                Rhs::List(items, _) => items.iter().map(|l| l.text.as_str()).collect(),
                Rhs::ListRef(id) => self
                    .resolver
                    .list(&id.text)
                    .map(|items| items.iter().map(String::as_str).collect())
                    .unwrap_or_default(),
                Rhs::None | Rhs::Operand(_) => Vec::new(),
            };
            if !values.is_empty() {
                self.catalog.note_literals(f, &values);
            }
        }
        let test = match test {
            Test::Set { set, all: true } if matches!(&lhs, Src::Field(f) if self.catalog.in_matches_any(f)) => {
                Test::Set { set, all: false }
            }
            t => t,
        };
        self.slots = self.slots.max(lhs_slots + rhs_slots);
        Ok(CheckNode {
            lhs,
            lhs_slots,
            test,
        })
    }

    fn list_test(
        &self,
        op: Op,
        modifier: Option<Modifier>,
        items: &[Literal],
        class: Class,
        name: &str,
    ) -> Result<Test, Error> {
        if let Some(m) = modifier {
            let tests = items
                .iter()
                .map(|l| single_test(op, l, class, name))
                .collect::<Result<_, _>>()?;
            return Ok(Test::Many {
                tests,
                all: m == Modifier::AllOf,
            });
        }
        match op {
            Op::PMatch => {
                let paths = items
                    .iter()
                    .map(|l| {
                        let t = l.text.as_bytes();
                        let end = t.iter().rposition(|&b| b != b'/').map_or(0, |p| p + 1);
                        t[..end].into()
                    })
                    .collect();
                Ok(Test::PMatch(paths))
            }
            Op::In | Op::Intersects => {
                let lits = items
                    .iter()
                    .map(|l| compile_lit(l, class, name))
                    .collect::<Result<Vec<_>, _>>()?;
                let set = match class {
                    Class::Int { .. } => {
                        let mut v: Vec<i128> = lits
                            .iter()
                            .filter_map(|l| match l.kind {
                                LitKind::Int(n) => Some(n),
                                _ => None,
                            })
                            .collect();
                        v.sort_unstable();
                        v.dedup();
                        LitSet::Ints(v.into())
                    }
                    Class::Str if lits.len() > HASH_THRESHOLD => {
                        LitSet::Hash(lits.into_iter().map(|l| l.text).collect())
                    }
                    _ => LitSet::Linear(lits.into()),
                };
                Ok(Test::Set {
                    set,
                    all: op == Op::In,
                })
            }
            // The parser only builds lists for list operators or with a modifier.
            _ => Err(Error::compile(
                items.first().map_or(0, |l| l.span.start),
                format!("operator '{}' does not take a list", op.as_str()),
            )),
        }
    }
}

/// Compiles `op literal` for a field of class `class`.
fn single_test(op: Op, lit: &Literal, class: Class, name: &str) -> Result<Test, Error> {
    let text = || -> Box<[u8]> { lit.text.as_bytes().into() };
    let hex = || -> Result<Vec<u8>, Error> {
        parse_hex_bytes(&lit.text).ok_or_else(|| {
            Error::compile(
                lit.span.start,
                format!(
                    "{} needs a hexadecimal byte string, got '{}'",
                    op.as_str(),
                    lit.text
                ),
            )
        })
    };
    Ok(match op {
        Op::Exists => Test::Exists,
        Op::Eq | Op::EqEq => Test::Eq(compile_lit(lit, class, name)?),
        Op::Ne => Test::Ne(compile_lit(lit, class, name)?),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => Test::Ord(op, compile_lit(lit, class, name)?),
        Op::Contains => Test::Contains(Box::new(
            memchr::memmem::Finder::new(lit.text.as_bytes()).into_owned(),
        )),
        Op::BContains => {
            Test::Contains(Box::new(memchr::memmem::Finder::new(&hex()?).into_owned()))
        }
        Op::IContains => Test::IContains(lit.text.to_ascii_lowercase().into_bytes().into()),
        Op::StartsWith => Test::StartsWith(text()),
        Op::BStartsWith => Test::StartsWith(hex()?.into()),
        Op::EndsWith => Test::EndsWith(text()),
        Op::Glob => Test::Glob {
            pat: text(),
            icase: false,
        },
        Op::IGlob => Test::Glob {
            pat: lit.text.to_ascii_lowercase().into_bytes().into(),
            icase: true,
        },
        Op::Regex => {
            let re = regex::bytes::Regex::new(&format!("^(?:{})$", lit.text)).map_err(|e| {
                let msg = e
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                Error::compile(lit.span.start, format!("invalid regex pattern: {msg}"))
            })?;
            Test::Regex(re)
        }
        Op::In | Op::Intersects | Op::PMatch => {
            // A single value after a list operator only comes from a modifier list.
            return Err(Error::compile(
                lit.span.start,
                format!("operator '{}' needs a list", op.as_str()),
            ));
        }
    })
}

/// Orders two numbers given as i128 or f64.
pub(crate) fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::I(x), Num::F(y)) => (x as f64).partial_cmp(&y),
        (Num::F(x), Num::I(y)) => x.partial_cmp(&(y as f64)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
    }
}

/// A number extracted from a value or literal.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    I(i128),
    F(f64),
}
