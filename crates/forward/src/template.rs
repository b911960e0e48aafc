//! A small subset of Go's `text/template`, enough for Falcosidekick's `templatedfields`
//! (over an alert's output fields) and chat `messageformat` (over the whole alert).
//!
//! Supported: literal text, actions `{{ ... }}` (with `{{-`/`-}}` trimming), and inside an
//! action the expressions `.` (the output fields), `.Name`, `"string"`, numbers,
//! `index EXPR "key"...`, `or EXPR EXPR...` and parentheses. A missing key renders as
//! Go does, `<no value>`.

use serde_json::{Map, Value};

use crate::Error;

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Action(Expr),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Dot,
    Field(String),
    Str(String),
    Num(String),
    Index(Box<Expr>, Vec<Expr>),
    Or(Vec<Expr>),
}

/// The result of evaluating an expression.
enum Val<'a> {
    Root,
    Json(&'a Value),
    Owned(String),
    Nil,
}

impl Template {
    /// Compiles `src`; errors carry the byte offset of the problem.
    pub fn parse(src: &str) -> Result<Template, Error> {
        let mut parts = Vec::new();
        let mut rest = 0usize;
        let bytes = src.as_bytes();
        let mut text = String::new();
        while rest < src.len() {
            let Some(open) = src[rest..].find("{{").map(|o| o + rest) else {
                text.push_str(&src[rest..]);
                break;
            };
            let mut lit = &src[rest..open];
            let mut start = open + 2;
            if bytes.get(start) == Some(&b'-')
                && bytes.get(start + 1).is_some_and(u8::is_ascii_whitespace)
            {
                lit = lit.trim_end();
                start += 1;
            }
            text.push_str(lit);
            let Some(close) = src[start..].find("}}").map(|c| c + start) else {
                return Err(Error::Template {
                    offset: open,
                    message: "unclosed action".into(),
                });
            };
            let mut body_end = close;
            let mut after = close + 2;
            if close > start
                && bytes[close - 1] == b'-'
                && close >= 2
                && bytes[close - 2].is_ascii_whitespace()
            {
                body_end = close - 1;
                let skip = src[after..].len() - src[after..].trim_start().len();
                after += skip;
            }
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            let mut p = Parser {
                src,
                pos: start,
                end: body_end,
            };
            let expr = p.pipeline()?;
            p.skip_ws();
            if p.pos != p.end {
                return Err(Error::Template {
                    offset: p.pos,
                    message: "unexpected text in action".into(),
                });
            }
            parts.push(Part::Action(expr));
            rest = after;
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// Renders the template against `fields` (the map `.` stands for), appending to `out`.
    pub fn render(&self, fields: &Map<String, Value>, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Action(e) => print_val(&eval(e, fields), fields, out),
            }
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    end: usize,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while self.pos < self.end && self.src.as_bytes()[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn err(&self, message: &str) -> Error {
        Error::Template {
            offset: self.pos,
            message: message.into(),
        }
    }

    /// A command: a function call with arguments or a single operand.
    fn pipeline(&mut self) -> Result<Expr, Error> {
        self.skip_ws();
        let word_start = self.pos;
        let word = self.ident();
        match word {
            "index" | "or" => {
                let mut args = Vec::new();
                loop {
                    self.skip_ws();
                    if self.pos >= self.end || self.src.as_bytes()[self.pos] == b')' {
                        break;
                    }
                    args.push(self.operand()?);
                }
                if word == "index" {
                    let mut it = args.into_iter();
                    let Some(base) = it.next() else {
                        return Err(self.err("index needs an argument"));
                    };
                    Ok(Expr::Index(Box::new(base), it.collect()))
                } else if args.is_empty() {
                    Err(self.err("or needs arguments"))
                } else {
                    Ok(Expr::Or(args))
                }
            }
            "" => self.operand(),
            _ => {
                self.pos = word_start;
                Err(self.err("unknown function"))
            }
        }
    }

    fn ident(&mut self) -> &'a str {
        let start = self.pos;
        while self.pos < self.end {
            let c = self.src.as_bytes()[self.pos];
            if c.is_ascii_alphanumeric() || c == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.src[start..self.pos]
    }

    fn operand(&mut self) -> Result<Expr, Error> {
        self.skip_ws();
        let Some(&c) = self
            .src
            .as_bytes()
            .get(self.pos)
            .filter(|_| self.pos < self.end)
        else {
            return Err(self.err("missing operand"));
        };
        match c {
            b'.' => {
                self.pos += 1;
                let name = self.ident().to_owned();
                Ok(if name.is_empty() {
                    Expr::Dot
                } else {
                    Expr::Field(name)
                })
            }
            b'"' => self.string(),
            b'(' => {
                self.pos += 1;
                let e = self.pipeline()?;
                self.skip_ws();
                if self.src.as_bytes().get(self.pos) != Some(&b')') || self.pos >= self.end {
                    return Err(self.err("missing )"));
                }
                self.pos += 1;
                Ok(e)
            }
            b'0'..=b'9' | b'-' => {
                let start = self.pos;
                self.pos += 1;
                while self.pos < self.end
                    && matches!(
                        self.src.as_bytes()[self.pos],
                        b'0'..=b'9' | b'.' | b'e' | b'E'
                    )
                {
                    self.pos += 1;
                }
                Ok(Expr::Num(self.src[start..self.pos].to_owned()))
            }
            _ => Err(self.err("unexpected character")),
        }
    }

    fn string(&mut self) -> Result<Expr, Error> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        let mut chars = self.src[self.pos..self.end].char_indices();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '"' => {
                    self.pos += i + 1;
                    return Ok(Expr::Str(s));
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => s.push('\n'),
                    Some((_, 't')) => s.push('\t'),
                    Some((_, c)) => s.push(c),
                    None => break,
                },
                c => s.push(c),
            }
        }
        self.pos = start;
        Err(self.err("unterminated string"))
    }
}

fn lookup<'a>(base: &Val<'a>, key: &str, fields: &'a Map<String, Value>) -> Val<'a> {
    let map = match base {
        Val::Root => Some(fields),
        Val::Json(Value::Object(m)) => Some(m),
        _ => None,
    };
    match map.and_then(|m| m.get(key)) {
        Some(Value::Null) | None => Val::Nil,
        Some(v) => Val::Json(v),
    }
}

fn eval<'a>(e: &Expr, fields: &'a Map<String, Value>) -> Val<'a> {
    match e {
        Expr::Dot => Val::Root,
        Expr::Field(name) => lookup(&Val::Root, name, fields),
        Expr::Str(s) | Expr::Num(s) => Val::Owned(s.clone()),
        Expr::Index(base, keys) => {
            let mut v = eval(base, fields);
            for k in keys {
                let key = match eval(k, fields) {
                    Val::Owned(s) => s,
                    Val::Json(Value::String(s)) => s.clone(),
                    _ => return Val::Nil,
                };
                v = lookup(&v, &key, fields);
            }
            v
        }
        Expr::Or(args) => {
            let mut last = Val::Nil;
            for a in args {
                last = eval(a, fields);
                if truthy(&last, fields) {
                    return last;
                }
            }
            last
        }
    }
}

fn truthy(v: &Val<'_>, fields: &Map<String, Value>) -> bool {
    match v {
        Val::Root => !fields.is_empty(),
        Val::Nil => false,
        Val::Owned(s) => !s.is_empty(),
        Val::Json(j) => match j {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        },
    }
}

fn print_val(v: &Val<'_>, fields: &Map<String, Value>, out: &mut String) {
    match v {
        Val::Nil => out.push_str("<no value>"),
        Val::Owned(s) => out.push_str(s),
        Val::Root => out.push_str(&Value::Object(fields.clone()).to_string()),
        Val::Json(Value::String(s)) => out.push_str(s),
        Val::Json(j) => out.push_str(&j.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str, fields: &Value) -> String {
        let t = Template::parse(src).unwrap();
        let mut out = String::new();
        t.render(fields.as_object().unwrap(), &mut out);
        out
    }

    #[test]
    fn index_or_and_text() {
        let f = serde_json::json!({"k8s.ns.name": "prod", "proc.name": "bash", "n": 3});
        assert_eq!(
            render(r#"{{ or (index . "k8s.ns.name") "none" }}"#, &f),
            "prod"
        );
        assert_eq!(
            render(r#"{{ or (index . "k8s.pod.name") "none" }}"#, &f),
            "none"
        );
        assert_eq!(
            render(r#"ns={{ index . "k8s.ns.name" }}/{{index . "x"}}"#, &f),
            "ns=prod/<no value>"
        );
        assert_eq!(render("a {{- .n -}} b", &f), "a3b");
        assert_eq!(render("plain", &f), "plain");
    }

    #[test]
    fn errors_have_offsets() {
        match Template::parse("ab {{ index . ") {
            Err(Error::Template { offset, .. }) => assert_eq!(offset, 3),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Template::parse("{{ printf \"x\" }}"),
            Err(Error::Template { offset: 3, .. })
        ));
        assert!(matches!(
            Template::parse("{{ \"abc }}"),
            Err(Error::Template { .. })
        ));
        assert!(Template::parse("{{ ( index . \"a\" }}").is_err());
    }
}
