//! Recursive-descent parser for the condition language (falco-engine.md §2.1).
//!
//! Precedence is `not` > `and` > `or`; `and`/`or` chains become flat n-ary nodes.
//! A bare identifier is a macro reference; an identifier after a list operator is
//! a list reference. Errors carry the byte offset where parsing stopped.

use crate::ast::{
    Check, Expr, ExprKind, FieldExpr, Literal, Modifier, Op, Operand, Rhs, Span, Transformer,
};
use crate::error::Error;
use crate::lexer::Cursor;

/// Default maximum recursion depth (Falco raises it to 1000 for rules).
pub const DEFAULT_MAX_DEPTH: u32 = 100;

/// Parses a filter with the default depth limit.
pub fn parse(src: &str) -> Result<Expr, Error> {
    parse_with_max_depth(src, DEFAULT_MAX_DEPTH)
}

/// Parses a filter with a custom recursion depth limit.
pub fn parse_with_max_depth(src: &str, max_depth: u32) -> Result<Expr, Error> {
    if src.is_empty() {
        return Err(Error::parse(0, "filter input string is empty"));
    }
    let mut p = Parser {
        cur: Cursor::new(src),
        depth: 0,
        max_depth,
        last_token: String::new(),
    };
    let e = p.parse_or()?;
    if !p.cur.at_end() {
        return Err(Error::parse(
            p.cur.pos(),
            format!(
                "unexpected token after '{}', expecting 'or', 'and'",
                p.last_token
            ),
        ));
    }
    Ok(e)
}

const NUM_OPS: [(&str, Op); 4] = [("<=", Op::Le), ("<", Op::Lt), (">=", Op::Ge), (">", Op::Gt)];
const SYM_STR_OPS: [(&str, Op); 3] = [("==", Op::EqEq), ("=", Op::Eq), ("!=", Op::Ne)];
const WORD_STR_OPS: [(&str, Op); 9] = [
    ("glob", Op::Glob),
    ("iglob", Op::IGlob),
    ("contains", Op::Contains),
    ("icontains", Op::IContains),
    ("bcontains", Op::BContains),
    ("startswith", Op::StartsWith),
    ("bstartswith", Op::BStartsWith),
    ("endswith", Op::EndsWith),
    ("regex", Op::Regex),
];
const LIST_OPS: [(&str, Op); 3] = [
    ("intersects", Op::Intersects),
    ("in", Op::In),
    ("pmatch", Op::PMatch),
];
const MODIFIERS: [(&str, Modifier); 3] = [
    ("oneof", Modifier::OneOf),
    ("anyof", Modifier::AnyOf),
    ("allof", Modifier::AllOf),
];

fn operator_list() -> String {
    let mut names = vec!["exists"];
    names.extend(NUM_OPS.iter().map(|o| o.0));
    names.extend(SYM_STR_OPS.iter().map(|o| o.0));
    names.extend(WORD_STR_OPS.iter().map(|o| o.0));
    names.extend(LIST_OPS.iter().map(|o| o.0));
    quote_list(&names)
}

fn transformer_list() -> String {
    let mut names = vec![Transformer::Val.as_str()];
    names.extend(Transformer::ALL.iter().map(|t| t.as_str()));
    quote_list(&names)
}

fn quote_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Parser<'a> {
    cur: Cursor<'a>,
    depth: u32,
    max_depth: u32,
    last_token: String,
}

impl Parser<'_> {
    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth >= self.max_depth {
            return Err(Error::parse(
                self.cur.pos(),
                format!("exceeded max depth limit of {}", self.max_depth),
            ));
        }
        Ok(())
    }

    fn leave<T>(&mut self, r: T) -> T {
        self.depth -= 1;
        r
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, Error> {
        Err(Error::parse(self.cur.pos(), msg))
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.cur.eat(s) {
            s.clone_into(&mut self.last_token);
            true
        } else {
            false
        }
    }

    fn parse_or(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let r = self.parse_chain("or", true);
        self.leave(r)
    }

    fn parse_and(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let r = self.parse_chain("and", false);
        self.leave(r)
    }

    /// `sub (kw sub)*` where sub is `and` (for `or`) or `not` (for `and`).
    fn parse_chain(&mut self, kw: &str, is_or: bool) -> Result<Expr, Error> {
        self.cur.blank();
        let start = self.cur.pos();
        let mut children = vec![self.parse_sub(is_or)?];
        self.cur.blank();
        while self.eat(kw) {
            let child = if self.cur.blank() {
                self.parse_sub(is_or)?
            } else if self.eat("(") {
                self.parse_embedded_remainder()?
            } else {
                return self.err(format!("expected blank or '(' after '{kw}'"));
            };
            children.push(child);
            self.cur.blank();
        }
        let children = match <[Expr; 1]>::try_from(children) {
            Ok([only]) => return Ok(only),
            Err(many) => many,
        };
        let end = children.last().map_or(start, |c| c.span.end);
        let kind = if is_or {
            ExprKind::Or(children)
        } else {
            ExprKind::And(children)
        };
        Ok(Expr {
            kind,
            span: Span::new(start, end),
        })
    }

    fn parse_sub(&mut self, is_or: bool) -> Result<Expr, Error> {
        if is_or {
            self.parse_and()
        } else {
            self.parse_not()
        }
    }

    fn parse_not(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let r = self.parse_not_inner();
        self.leave(r)
    }

    fn parse_not_inner(&mut self) -> Result<Expr, Error> {
        self.cur.blank();
        let start = self.cur.pos();
        let mut negate = false;
        while self.cur.eat_word_blank("not") {
            "not".clone_into(&mut self.last_token);
            self.cur.blank();
            negate = !negate;
        }
        let child = if self.eat("not(") {
            negate = !negate;
            self.parse_embedded_remainder()?
        } else {
            self.parse_check()?
        };
        if negate {
            let end = child.span.end.max(self.cur.pos());
            Ok(Expr {
                kind: ExprKind::Not(Box::new(child)),
                span: Span::new(start, end),
            })
        } else {
            Ok(child)
        }
    }

    /// After a `(`: `Expr ')'`.
    fn parse_embedded_remainder(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let r = self.parse_embedded_inner();
        self.leave(r)
    }

    fn parse_embedded_inner(&mut self) -> Result<Expr, Error> {
        self.cur.blank();
        let child = self.parse_or()?;
        self.cur.blank();
        if !self.eat(")") {
            return self.err("expected a ')' token");
        }
        Ok(child)
    }

    fn parse_check(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let r = self.parse_check_inner();
        self.leave(r)
    }

    fn parse_check_inner(&mut self) -> Result<Expr, Error> {
        self.cur.blank();
        let start = self.cur.pos();
        if self.eat("(") {
            return self.parse_embedded_remainder();
        }
        if let Some((s, name)) = self.cur.field_name() {
            name.clone_into(&mut self.last_token);
            let f = self.parse_field_remainder(s, name)?;
            return self.parse_condition(Operand::Field(f), start);
        }
        if let Some(t) = self.lex_transformer(false) {
            let lhs = self.parse_transformer_remainder(t, start)?;
            return self.parse_condition(lhs, start);
        }
        if let Some((s, id)) = self.cur.identifier() {
            id.clone_into(&mut self.last_token);
            return Ok(Expr {
                kind: ExprKind::Macro(id.to_owned()),
                span: Span::new(s, s + id.len()),
            });
        }
        self.err("expected a '(' token, a field check, or an identifier")
    }

    /// After a field name: the optional `[arg]`.
    fn parse_field_remainder(&mut self, start: usize, name: &str) -> Result<FieldExpr, Error> {
        let mut arg = None;
        if self.eat("[") {
            let lit = if let Some((s, text)) = self.cur.quoted_str()? {
                Literal {
                    span: Span::new(s, self.cur.pos()),
                    text,
                }
            } else if let Some((s, text)) = self.cur.field_arg_bare() {
                Literal {
                    text: text.to_owned(),
                    span: Span::new(s, s + text.len()),
                }
            } else {
                return self
                    .err("expected a valid field argument: a quoted string or a bare string");
            };
            lit.text.clone_into(&mut self.last_token);
            arg = Some(lit);
            if !self.eat("]") {
                return self.err("expected a ']' token");
            }
        }
        Ok(FieldExpr {
            name: name.to_owned(),
            arg,
            span: Span::new(start, self.cur.pos()),
        })
    }

    /// Lexes `name(` for a transformer (and `val(` if allowed).
    fn lex_transformer(&mut self, allow_val: bool) -> Option<Transformer> {
        let val = allow_val.then_some(Transformer::Val);
        for t in val.into_iter().chain(Transformer::ALL) {
            let name = t.as_str();
            if self.cur.peek_str(name) && self.cur.peek_str_at(name.len(), "(") {
                self.eat(name);
                self.eat("(");
                return Some(t);
            }
        }
        None
    }

    /// After `name(`: the argument (field or nested transformer) and `)`.
    fn parse_transformer_remainder(
        &mut self,
        kind: Transformer,
        start: usize,
    ) -> Result<Operand, Error> {
        self.enter()?;
        let r = self.parse_transformer_inner(kind, start);
        self.leave(r)
    }

    fn parse_transformer_inner(
        &mut self,
        kind: Transformer,
        start: usize,
    ) -> Result<Operand, Error> {
        self.cur.blank();
        let arg_start = self.cur.pos();
        let inner = if kind != Transformer::Val {
            if let Some(t) = self.lex_transformer(false) {
                Some(self.parse_transformer_remainder(t, arg_start)?)
            } else {
                None
            }
        } else {
            None
        };
        let inner = match inner {
            Some(i) => i,
            None => match self.cur.field_name() {
                Some((s, name)) => {
                    name.clone_into(&mut self.last_token);
                    Operand::Field(self.parse_field_remainder(s, name)?)
                }
                None if kind == Transformer::Val => {
                    return self.err("expected a field within 'val' transformer");
                }
                None => {
                    return self.err(format!(
                        "expected a field or a nested valid transformer: {}",
                        transformer_list()
                    ));
                }
            },
        };
        self.cur.blank();
        if !self.eat(")") {
            return self.err("expected a ')' token closing the transformer");
        }
        Ok(Operand::Transform {
            kind,
            inner: Box::new(inner),
            span: Span::new(start, self.cur.pos()),
        })
    }

    /// `val(...)` or a transformer on the right side, if present.
    fn try_rhs_operand(&mut self) -> Result<Option<Operand>, Error> {
        let start = self.cur.pos();
        match self.lex_transformer(true) {
            Some(t) => Ok(Some(self.parse_transformer_remainder(t, start)?)),
            None => Ok(None),
        }
    }

    fn lex_op(&mut self) -> Option<Op> {
        if self.eat("exists") {
            return Some(Op::Exists);
        }
        for (s, op) in NUM_OPS.iter().chain(SYM_STR_OPS.iter()) {
            if self.eat(s) {
                return Some(*op);
            }
        }
        for (s, op) in WORD_STR_OPS {
            if self.cur.eat_word_blank(s) {
                s.clone_into(&mut self.last_token);
                return Some(op);
            }
        }
        for (s, op) in LIST_OPS {
            if self.eat(s) {
                return Some(op);
            }
        }
        None
    }

    fn parse_condition(&mut self, lhs: Operand, start: usize) -> Result<Expr, Error> {
        self.enter()?;
        let r = self.parse_condition_inner(lhs, start);
        self.leave(r)
    }

    fn parse_condition_inner(&mut self, lhs: Operand, start: usize) -> Result<Expr, Error> {
        self.cur.blank();
        let op_start = self.cur.pos();
        let Some(op) = self.lex_op() else {
            return self.err(format!(
                "expected a valid check operator: one of {}",
                operator_list()
            ));
        };
        let op_span = Span::new(op_start, self.cur.pos());
        let mut modifier = None;
        let rhs = match op {
            Op::Exists => Rhs::None,
            Op::In | Op::Intersects | Op::PMatch => self.parse_list_rhs()?,
            _ => {
                self.cur.blank();
                let is_num = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
                if !is_num {
                    modifier = self.lex_modifier();
                }
                if modifier.is_some() {
                    self.parse_list_rhs()?
                } else if let Some(o) = self.try_rhs_operand()? {
                    Rhs::Operand(o)
                } else if let Some(lit) = self.lex_value(is_num)? {
                    Rhs::Value(lit)
                } else if is_num {
                    return self.err(format!(
                        "expected a number value or a field with a valid transformer: {}",
                        transformer_list()
                    ));
                } else {
                    return self.err(format!(
                        "expected a string value or a field with a valid transformer: {}",
                        transformer_list()
                    ));
                }
            }
        };
        let check = Check {
            lhs,
            op,
            op_span,
            modifier,
            rhs,
        };
        Ok(Expr {
            kind: ExprKind::Check(Box::new(check)),
            span: Span::new(start, self.cur.pos()),
        })
    }

    fn lex_modifier(&mut self) -> Option<Modifier> {
        for (s, m) in MODIFIERS {
            if self.cur.eat_word_blank(s) || self.cur.peek_str_at(s.len(), "(") && self.cur.eat(s) {
                s.clone_into(&mut self.last_token);
                self.cur.blank();
                return Some(m);
            }
        }
        None
    }

    /// A number (for numeric operators), or a quoted or bare string.
    /// Numeric operators also accept strings: sysdig 0.29 compares strings lexically.
    fn lex_value(&mut self, number_first: bool) -> Result<Option<Literal>, Error> {
        if number_first {
            let save = self.cur.clone();
            if let Some((s, n)) = self.cur.number() {
                // A number must end at a delimiter, otherwise take the whole bare string.
                if self.cur.clone().bare_str().is_none() {
                    n.clone_into(&mut self.last_token);
                    return Ok(Some(Literal {
                        text: n.to_owned(),
                        span: Span::new(s, s + n.len()),
                    }));
                }
                self.cur = save;
            }
        }
        self.lex_string()
    }

    fn lex_string(&mut self) -> Result<Option<Literal>, Error> {
        if let Some((s, text)) = self.cur.quoted_str()? {
            text.clone_into(&mut self.last_token);
            return Ok(Some(Literal {
                text,
                span: Span::new(s, self.cur.pos()),
            }));
        }
        if let Some((s, text)) = self.cur.bare_str() {
            text.clone_into(&mut self.last_token);
            return Ok(Some(Literal {
                text: text.to_owned(),
                span: Span::new(s, s + text.len()),
            }));
        }
        Ok(None)
    }

    fn parse_list_rhs(&mut self) -> Result<Rhs, Error> {
        self.enter()?;
        let r = self.parse_list_inner();
        self.leave(r)
    }

    fn parse_list_inner(&mut self) -> Result<Rhs, Error> {
        self.cur.blank();
        let start = self.cur.pos();
        if self.eat("(") {
            let mut items = Vec::new();
            self.cur.blank();
            if let Some(first) = self.lex_string()? {
                items.push(first);
                self.cur.blank();
                while self.eat(",") {
                    self.cur.blank();
                    match self.lex_string()? {
                        Some(v) => items.push(v),
                        None => return self.err("expected a string value"),
                    }
                    self.cur.blank();
                }
            }
            if !self.eat(")") {
                return self.err("expected a ')' token");
            }
            return Ok(Rhs::List(items, Span::new(start, self.cur.pos())));
        }
        if let Some(o) = self.try_rhs_operand()? {
            return Ok(Rhs::Operand(o));
        }
        if let Some((s, id)) = self.cur.identifier() {
            id.clone_into(&mut self.last_token);
            return Ok(Rhs::ListRef(Literal {
                text: id.to_owned(),
                span: Span::new(s, s + id.len()),
            }));
        }
        self.err(format!(
            "expected a list, an identifier, or a field with a valid transformer: {}",
            transformer_list()
        ))
    }
}

#[cfg(test)]
mod tests;
