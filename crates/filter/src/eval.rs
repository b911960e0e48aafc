//! Per-event evaluation of a compiled [`Filter`]: no allocation once the
//! scratch buffers have grown to their working size.
//!
//! Semantics (falco-engine.md §2.4):
//! - a field that cannot be extracted makes its check false (`not` makes it true);
//! - `!=` is true when the field is present and differs;
//! - for fields with several values, every operator is true if *any* value
//!   satisfies it, except `in`, which needs *every* value to be in the set
//!   (libsinsp semantics; `intersects` is the any-value form);
//! - numbers compare across signed, unsigned and floating values; strings
//!   compare bytewise (lexically for `<`, `>`...);
//! - `icontains` and `iglob` ignore ASCII case only.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;

use crate::ast::{Op, Transformer};
use crate::compile::{
    cmp_num, CheckNode, Filter, Lit, LitKind, LitSet, Node, Num, Scratch, Src, Test,
};
use crate::field::{Extract, Fast, Value, Values};

impl Filter {
    /// Whether the event seen through `ev` matches, using the filter's own
    /// scratch buffers (so a `Filter` is not `Sync`; see [`Filter::matches_with`]).
    pub fn matches<E: Extract + ?Sized>(&self, ev: &E) -> bool {
        match self.scratch_cell().try_borrow_mut() {
            Ok(mut s) => self.matches_with(ev, &mut s),
            // Re-entrant use (an extractor evaluating this same filter): use fresh buffers.
            Err(_) => self.matches_with(ev, &mut Scratch::new()),
        }
    }

    /// Whether the event matches, using caller-provided buffers.
    pub fn matches_with<E: Extract + ?Sized>(&self, ev: &E, scratch: &mut Scratch) -> bool {
        // Events of a type the filter cannot match fail without evaluation
        // (`evt.type = procinfo` then costs a bit test, not a string compare).
        if let Some(types) = self.type_gate() {
            if let Some((etype, code)) = ev.event_type_key() {
                if !types.admits(etype, code) {
                    return false;
                }
            }
        }
        if scratch.slots.len() < self.slots {
            scratch.slots.resize_with(self.slots, Values::new);
        }
        eval_node(&self.root, ev, &mut scratch.slots)
    }
}

fn eval_node<E: Extract + ?Sized>(n: &Node, ev: &E, slots: &mut [Values]) -> bool {
    match n {
        Node::And(c) => c.iter().all(|n| eval_node(n, ev, slots)),
        Node::Or(c) => c.iter().any(|n| eval_node(n, ev, slots)),
        Node::Not(n) => !eval_node(n, ev, slots),
        Node::Check(c) => eval_check(c, ev, slots),
    }
}

pub(crate) fn eval_check<E: Extract + ?Sized>(c: &CheckNode, ev: &E, slots: &mut [Values]) -> bool {
    // A field whose value is one borrowed string is tested without a copy.
    if let Src::Field(f) = &c.lhs {
        if !matches!(c.test, Test::Field { .. }) {
            match ev.borrow_bytes(f) {
                Fast::Done(b) => return test_bytes(&c.test, b),
                Fast::Missing => return false,
                Fast::Unsupported => {}
            }
        }
    }
    let (l, rest) = slots.split_at_mut(c.lhs_slots.min(slots.len()));
    if !eval_src(&c.lhs, ev, l) {
        return false;
    }
    let Some(vals) = l.first() else {
        return false;
    };
    match &c.test {
        Test::Exists => true,
        Test::Set { set, all: true } => {
            !vals.is_empty() && vals.items().iter().all(|&v| set_contains(set, v, vals))
        }
        Test::Field { op, rhs, rhs_slots } => {
            let n = (*rhs_slots).min(rest.len());
            let r = &mut rest[..n];
            if !eval_src(rhs, ev, r) {
                return false;
            }
            match r.first() {
                Some(rv) => field_test(*op, vals, rv),
                None => false,
            }
        }
        t => vals.items().iter().any(|&v| test_one(t, v, vals)),
    }
}

/// Evaluates `src` into `slots[0]`, using the following slots as temporaries.
fn eval_src<E: Extract + ?Sized>(src: &Src, ev: &E, slots: &mut [Values]) -> bool {
    let Some((dst, rest)) = slots.split_first_mut() else {
        return false;
    };
    match src {
        Src::Field(f) => {
            dst.clear();
            ev.extract(f, dst)
        }
        Src::Tr { kind, inner, list } => {
            if !eval_src(inner, ev, rest) {
                return false;
            }
            let Some(input) = rest.first() else {
                return false;
            };
            dst.clear();
            transform(*kind, *list, input, dst)
        }
    }
}

fn transform(kind: Transformer, list: bool, input: &Values, out: &mut Values) -> bool {
    if kind == Transformer::Len {
        let n = if list || input.len() != 1 {
            input.len()
        } else {
            match input.items()[0] {
                Value::Bytes(s, e) => input.bytes(s, e).len(),
                _ => 1,
            }
        };
        out.push(Value::Uint(n as u64));
        return true;
    }
    for &v in input.items() {
        let Value::Bytes(s, e) = v else {
            continue;
        };
        let b = input.bytes(s, e);
        let start = out.begin_bytes();
        let buf = out.bytes_mut();
        match kind {
            Transformer::ToLower => buf.extend(b.iter().map(u8::to_ascii_lowercase)),
            Transformer::ToUpper => buf.extend(b.iter().map(u8::to_ascii_uppercase)),
            Transformer::Basename => {
                let base = b.rsplit(|&c| c == b'/').next().unwrap_or(b);
                buf.extend_from_slice(base);
            }
            Transformer::B64 => {
                if base64::engine::general_purpose::STANDARD
                    .decode_vec(b, buf)
                    .is_err()
                {
                    buf.truncate(start);
                    continue;
                }
            }
            Transformer::Len | Transformer::Val => buf.extend_from_slice(b),
        }
        out.end_bytes(start);
    }
    !out.is_empty() || input.is_empty()
}

/// Calls `f` with the text of a value (numbers and booleans formatted on the stack).
fn with_text<R>(v: Value, vals: &Values, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let mut ib = itoa::Buffer::new();
    let text: &[u8] = match v {
        Value::Bytes(s, e) => vals.bytes(s, e),
        Value::Int(i) => ib.format(i).as_bytes(),
        Value::Uint(u) => ib.format(u).as_bytes(),
        Value::Bool(b) => {
            if b {
                b"true"
            } else {
                b"false"
            }
        }
        Value::Double(_) | Value::Ipv4(_) | Value::Ipv6(_) => return None,
    };
    Some(f(text))
}

fn num_of(v: Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::I(i.into())),
        Value::Uint(u) => Some(Num::I(u.into())),
        Value::Double(d) => Some(Num::F(d)),
        Value::Bool(b) => Some(Num::I(b.into())),
        _ => None,
    }
}

fn ip_of(v: Value) -> Option<IpAddr> {
    match v {
        Value::Ipv4(a) => Some(IpAddr::V4(Ipv4Addr::from(a))),
        Value::Ipv6(a) => Some(IpAddr::V6(Ipv6Addr::from(a))),
        _ => None,
    }
}

fn lit_num(k: LitKind) -> Option<Num> {
    match k {
        LitKind::Int(n) => Some(Num::I(n)),
        LitKind::Float(f) => Some(Num::F(f)),
        LitKind::Bool(b) => Some(Num::I(b.into())),
        _ => None,
    }
}

/// Typed equality of an extracted value with a literal.
fn eq_lit(v: Value, vals: &Values, lit: &Lit) -> bool {
    match lit.kind {
        LitKind::Addr(a) => ip_of(v).is_some_and(|ip| ip.to_canonical() == a.to_canonical()),
        LitKind::Net(n) => ip_of(v).is_some_and(|ip| n.contains(ip)),
        LitKind::Bytes => with_text(v, vals, |t| t == &*lit.text).unwrap_or(false),
        k => match (num_of(v), lit_num(k)) {
            (Some(a), Some(b)) => cmp_num(a, b) == Some(Ordering::Equal),
            _ => with_text(v, vals, |t| t == &*lit.text).unwrap_or(false),
        },
    }
}

fn cmp_lit(v: Value, vals: &Values, lit: &Lit) -> Option<Ordering> {
    match (num_of(v), lit_num(lit.kind)) {
        (Some(a), Some(b)) => cmp_num(a, b),
        _ => match v {
            Value::Bytes(s, e) => Some(vals.bytes(s, e).cmp(&lit.text)),
            _ => None,
        },
    }
}

fn ord_holds(op: Op, o: Option<Ordering>) -> bool {
    match o {
        Some(o) => match op {
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
            _ => false,
        },
        None => false,
    }
}

fn set_contains(set: &LitSet, v: Value, vals: &Values) -> bool {
    match set {
        LitSet::Linear(lits) => lits.iter().any(|l| eq_lit(v, vals, l)),
        LitSet::Hash(h) => with_text(v, vals, |t| h.contains(t)).unwrap_or(false),
        LitSet::Ints(sorted) => match num_of(v) {
            Some(Num::I(i)) => sorted.binary_search(&i).is_ok(),
            _ => false,
        },
    }
}

fn icontains(hay: &[u8], lowered_needle: &[u8]) -> bool {
    lowered_needle.is_empty()
        || hay
            .windows(lowered_needle.len())
            .any(|w| w.eq_ignore_ascii_case(lowered_needle))
}

fn pmatch(paths: &[Box<[u8]>], t: &[u8]) -> bool {
    paths
        .iter()
        .any(|p| t.starts_with(p) && (t.len() == p.len() || t.get(p.len()) == Some(&b'/')))
}

/// Typed equality of a byte-string value with a literal.
#[inline]
fn eq_bytes(b: &[u8], lit: &Lit) -> bool {
    match lit.kind {
        LitKind::Addr(_) | LitKind::Net(_) => false,
        _ => b == &*lit.text,
    }
}

/// A byte-string value against a single-value test (what [`test_one`] does
/// for a [`Value::Bytes`]).
fn test_bytes(t: &Test, b: &[u8]) -> bool {
    match t {
        Test::Exists => true,
        Test::Eq(l) => eq_bytes(b, l),
        Test::Ne(l) => !eq_bytes(b, l),
        Test::Ord(op, l) => ord_holds(*op, Some(b.cmp(&l.text))),
        Test::Contains(f) => f.find(b).is_some(),
        Test::IContains(n) => icontains(b, n),
        Test::StartsWith(p) => b.starts_with(p),
        Test::EndsWith(p) => b.ends_with(p),
        Test::Glob { pat, icase } => glob_match(pat, b, *icase),
        Test::Regex(re) => re.is_match(b),
        Test::Set { set, .. } => match set {
            LitSet::Linear(lits) => lits.iter().any(|l| eq_bytes(b, l)),
            LitSet::Hash(h) => h.contains(b),
            LitSet::Ints(_) => false,
        },
        Test::PMatch(paths) => pmatch(paths, b),
        Test::Many { tests, all: true } => tests.iter().all(|t| test_bytes(t, b)),
        Test::Many { tests, all: false } => tests.iter().any(|t| test_bytes(t, b)),
        Test::Field { .. } => false,
    }
}

/// One value against a single-value test.
fn test_one(t: &Test, v: Value, vals: &Values) -> bool {
    if let Value::Bytes(s, e) = v {
        return test_bytes(t, vals.bytes(s, e));
    }
    match t {
        Test::Exists => true,
        Test::Eq(l) => eq_lit(v, vals, l),
        Test::Ne(l) => !eq_lit(v, vals, l),
        Test::Ord(op, l) => ord_holds(*op, cmp_lit(v, vals, l)),
        Test::Contains(f) => with_text(v, vals, |t| f.find(t).is_some()).unwrap_or(false),
        Test::IContains(n) => with_text(v, vals, |t| icontains(t, n)).unwrap_or(false),
        Test::StartsWith(p) => with_text(v, vals, |t| t.starts_with(p)).unwrap_or(false),
        Test::EndsWith(p) => with_text(v, vals, |t| t.ends_with(p)).unwrap_or(false),
        Test::Glob { pat, icase } => {
            with_text(v, vals, |t| glob_match(pat, t, *icase)).unwrap_or(false)
        }
        Test::Regex(re) => with_text(v, vals, |t| re.is_match(t)).unwrap_or(false),
        Test::Set { set, .. } => set_contains(set, v, vals),
        Test::PMatch(paths) => with_text(v, vals, |t| pmatch(paths, t)).unwrap_or(false),
        Test::Many { tests, all: true } => tests.iter().all(|t| test_one(t, v, vals)),
        Test::Many { tests, all: false } => tests.iter().any(|t| test_one(t, v, vals)),
        // Field tests are handled in `eval_check`: they need the other side's values.
        Test::Field { .. } => false,
    }
}

/// Typed equality/order between two extracted values.
fn cmp_values(a: Value, va: &Values, b: Value, vb: &Values) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (num_of(a), num_of(b)) {
        return cmp_num(x, y);
    }
    if let (Some(x), Some(y)) = (ip_of(a), ip_of(b)) {
        return (x.to_canonical() == y.to_canonical()).then_some(Ordering::Equal);
    }
    match (a, b) {
        (Value::Bytes(s1, e1), Value::Bytes(s2, e2)) => {
            Some(va.bytes(s1, e1).cmp(vb.bytes(s2, e2)))
        }
        _ => None,
    }
}

/// `lhs op val(rhs)`: any left value against the first right value; `in`
/// needs every left value among the right values, `intersects` any.
fn field_test(op: Op, lhs: &Values, rhs: &Values) -> bool {
    let member = |v: Value| {
        rhs.items()
            .iter()
            .any(|&r| cmp_values(v, lhs, r, rhs) == Some(Ordering::Equal))
    };
    match op {
        Op::In => !lhs.is_empty() && lhs.items().iter().all(|&v| member(v)),
        Op::Intersects => lhs.items().iter().any(|&v| member(v)),
        _ => {
            let Some(&r) = rhs.items().first() else {
                return false;
            };
            lhs.items()
                .iter()
                .any(|&v| field_test_one(op, v, lhs, r, rhs))
        }
    }
}

fn field_test_one(op: Op, v: Value, lhs: &Values, r: Value, rhs: &Values) -> bool {
    match op {
        Op::Eq | Op::EqEq => cmp_values(v, lhs, r, rhs) == Some(Ordering::Equal),
        Op::Ne => cmp_values(v, lhs, r, rhs) != Some(Ordering::Equal),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => ord_holds(op, cmp_values(v, lhs, r, rhs)),
        _ => with_text(v, lhs, |t| {
            with_text(r, rhs, |p| match op {
                Op::Contains | Op::BContains => memchr::memmem::find(t, p).is_some(),
                Op::IContains => {
                    t.windows(p.len().max(1)).any(|w| w.eq_ignore_ascii_case(p)) || p.is_empty()
                }
                Op::StartsWith | Op::BStartsWith => t.starts_with(p),
                Op::EndsWith => t.ends_with(p),
                Op::Glob => glob_match(p, t, false),
                Op::IGlob => glob_match(p, t, true),
                _ => false,
            })
            .unwrap_or(false)
        })
        .unwrap_or(false),
    }
}

#[inline]
fn fold(b: u8, icase: bool) -> u8 {
    if icase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// Matches a bracket expression at `pat[0] == b'['` against byte `c`.
/// Returns the match result and the length of the bracket expression, or
/// `None` if the bracket is not closed (then `[` is literal).
fn bracket(pat: &[u8], c: u8, icase: bool) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &p = pat.get(i)?;
        if p == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let (lo, step) = if p == b'\\' {
            (*pat.get(i + 1)?, 2)
        } else {
            (p, 1)
        };
        i += step;
        if pat.get(i) == Some(&b'-') && pat.get(i + 1).is_some_and(|&b| b != b']') {
            let hi = *pat.get(i + 1)?;
            i += 2;
            let c = fold(c, icase);
            let (lo, hi) = (fold(lo, icase), fold(hi, icase));
            matched |= lo <= c && c <= hi;
        } else {
            matched |= fold(lo, icase) == fold(c, icase);
        }
    }
}

/// fnmatch-style glob over the whole text: `*`, `?`, `[...]` (with `!`/`^`
/// negation and ranges) and `\` escapes; `*` also matches `/`.
pub(crate) fn glob_match(pat: &[u8], text: &[u8], icase: bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let c = text[t];
        let step = match pat.get(p) {
            Some(b'*') => {
                star = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => match bracket(&pat[p..], c, icase) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                None => (c == b'[').then_some(1),
            },
            Some(b'\\') if p + 1 < pat.len() => {
                (fold(pat[p + 1], icase) == fold(c, icase)).then_some(2)
            }
            Some(&q) => (fold(q, icase) == fold(c, icase)).then_some(1),
            None => None,
        };
        match step {
            Some(n) => {
                p += n;
                t += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    p = sp;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests;
