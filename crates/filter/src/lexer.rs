//! Token recognisers for the filter grammar, working on a byte cursor.
//!
//! The grammar is scanner-less: the parser asks "is there a field name here?",
//! "is there a quoted string here?" and the cursor answers and advances. Every
//! token is delimited by ASCII bytes, so byte offsets always fall on UTF-8
//! character boundaries.

use crate::error::Error;

/// A position in the filter text plus the recognisers.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    src: &'a str,
    pos: usize,
}

#[inline]
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x08 | b'\r' | b'\n')
}

#[inline]
fn is_space(b: u8) -> bool {
    // POSIX [:space:]: blank characters plus vertical tab and form feed.
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

#[inline]
fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

#[inline]
fn is_ident_cont(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    /// Current byte offset.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Whether the whole input was consumed.
    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    #[inline]
    fn rest(&self) -> &'a [u8] {
        self.src.as_bytes().get(self.pos..).unwrap_or_default()
    }

    #[inline]
    fn peek_at(&self, i: usize) -> Option<u8> {
        self.rest().get(i).copied()
    }

    /// The text between two offsets.
    #[inline]
    pub(crate) fn slice(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or_default()
    }

    /// Skips blanks; true if at least one was skipped.
    pub(crate) fn blank(&mut self) -> bool {
        let n = self.rest().iter().take_while(|&&b| is_blank(b)).count();
        self.pos += n;
        n > 0
    }

    /// Consumes `s` if the input continues with it.
    pub(crate) fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s.as_bytes()) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Whether the input continues with `s` (without consuming).
    pub(crate) fn peek_str(&self, s: &str) -> bool {
        self.rest().starts_with(s.as_bytes())
    }

    /// Whether the input continues with `s` after `skip` bytes.
    pub(crate) fn peek_str_at(&self, skip: usize, s: &str) -> bool {
        self.rest()
            .get(skip..)
            .is_some_and(|r| r.starts_with(s.as_bytes()))
    }

    /// Consumes a word (`not`, `and`, `glob`...) that must be followed by a blank,
    /// without consuming the blank.
    pub(crate) fn eat_word_blank(&mut self, w: &str) -> bool {
        if self.peek_str(w) && self.peek_at(w.len()).is_some_and(is_blank) {
            self.pos += w.len();
            true
        } else {
            false
        }
    }

    fn ident_len_at(&self, i: usize) -> usize {
        let r = self.rest().get(i..).unwrap_or_default();
        match r.first() {
            Some(&b) if is_ident_start(b) => r.iter().take_while(|&&b| is_ident_cont(b)).count(),
            _ => 0,
        }
    }

    /// `[a-zA-Z]+[a-zA-Z0-9_]*`
    pub(crate) fn identifier(&mut self) -> Option<(usize, &'a str)> {
        let n = self.ident_len_at(0);
        (n > 0).then(|| self.take(n))
    }

    /// `ident(.ident)+`
    pub(crate) fn field_name(&mut self) -> Option<(usize, &'a str)> {
        let mut n = self.ident_len_at(0);
        if n == 0 {
            return None;
        }
        let mut parts = 1;
        while self.peek_at(n) == Some(b'.') {
            let m = self.ident_len_at(n + 1);
            if m == 0 {
                break;
            }
            n += 1 + m;
            parts += 1;
        }
        (parts > 1).then(|| self.take(n))
    }

    /// `[^][\"'[:space:]]+`
    pub(crate) fn field_arg_bare(&mut self) -> Option<(usize, &'a str)> {
        let n = self
            .rest()
            .iter()
            .take_while(|&&b| !matches!(b, b'[' | b']' | b'"' | b'\'') && !is_space(b))
            .count();
        (n > 0).then(|| self.take(n))
    }

    /// `[^()"'[:space:]=,]+`
    pub(crate) fn bare_str(&mut self) -> Option<(usize, &'a str)> {
        let n = self
            .rest()
            .iter()
            .take_while(|&&b| {
                !matches!(b, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_space(b)
            })
            .count();
        (n > 0).then(|| self.take(n))
    }

    /// `0[xX][0-9a-fA-F]+` or `[+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?`.
    pub(crate) fn number(&mut self) -> Option<(usize, &'a str)> {
        let r = self.rest();
        if r.len() > 2 && r[0] == b'0' && (r[1] | 0x20) == b'x' {
            let h = r[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if h > 0 {
                return Some(self.take(2 + h));
            }
        }
        let mut i = usize::from(matches!(r.first(), Some(b'+' | b'-')));
        let digits = r[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        i += digits;
        if r.get(i) == Some(&b'.') {
            i += 1;
            i += r[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        }
        if matches!(r.get(i), Some(b'e' | b'E')) && matches!(r.get(i + 1), Some(b'+' | b'-')) {
            let e = r
                .get(i + 2..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if e > 0 {
                i += 2 + e;
            }
        }
        Some(self.take(i))
    }

    /// A `"…"` or `'…'` string, unescaped. `Ok(None)` if there is no quote here.
    pub(crate) fn quoted_str(&mut self) -> Result<Option<(usize, String)>, Error> {
        let r = self.rest();
        let Some(&q) = r.first().filter(|&&b| b == b'"' || b == b'\'') else {
            return Ok(None);
        };
        let mut i = 1;
        while let Some(&b) = r.get(i) {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == q {
                let start = self.pos;
                let body = self.slice(start + 1, start + i);
                let s = unescape(body, q).map_err(|(off, m)| Error::parse(start + 1 + off, m))?;
                self.pos += i + 1;
                return Ok(Some((start, s)));
            }
            i += 1;
        }
        Ok(None)
    }

    fn take(&mut self, n: usize) -> (usize, &'a str) {
        let start = self.pos;
        self.pos += n;
        (start, self.slice(start, start + n))
    }
}

/// Unescapes the body of a quoted string delimited by `quote`.
/// On error, returns the byte offset of the backslash within `body`.
pub(crate) fn unescape(body: &str, quote: u8) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            // A trailing lone backslash cannot occur: the lexer skips the closing quote after it.
            out.push('\\');
            break;
        };
        match e {
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            // Legacy: "\ " stands for a backslash (the space is dropped).
            ' ' | '\\' => out.push('\\'),
            '/' => out.push('/'),
            '"' if quote == b'"' => out.push('"'),
            '\'' if quote == b'\'' => out.push('\''),
            '"' => return Err((i, "invalid \\\" escape in '-quoted string".into())),
            '\'' => return Err((i, "invalid \\' escape in \"-quoted string".into())),
            other => {
                return Err((i, format!("unsupported string escape sequence: \\{other}")));
            }
        }
    }
    Ok(out)
}

/// Quotes a value for canonical printing when it contains blanks, quotes or backslashes.
pub(crate) fn escape(s: &str) -> String {
    let mut res = String::with_capacity(s.len() + 2);
    let mut quoted = false;
    for c in s.chars() {
        let rep = match c {
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\\' => "\\\\",
            '"' => "\\\"",
            ' ' | '\'' => {
                quoted = true;
                res.push(c);
                continue;
            }
            _ => {
                res.push(c);
                continue;
            }
        };
        quoted = true;
        res.push_str(rep);
    }
    if quoted {
        format!("\"{res}\"")
    } else {
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_supported_sequences() {
        assert_eq!(unescape(r"a\tb\n\\\/", b'"').unwrap(), "a\tb\n\\/");
        assert_eq!(unescape(r#"\""#, b'"').unwrap(), "\"");
        assert_eq!(unescape(r"\'", b'\'').unwrap(), "'");
        assert_eq!(unescape(r"a\ b", b'"').unwrap(), "a\\b");
        assert_eq!(unescape(r"\b\f\r", b'"').unwrap(), "\u{8}\u{c}\r");
    }

    #[test]
    fn unescape_rejects_mismatched_and_unknown() {
        assert_eq!(
            unescape(r#"x\""#, b'\'').unwrap_err(),
            (1, "invalid \\\" escape in '-quoted string".to_string())
        );
        assert_eq!(
            unescape(r"\'", b'"').unwrap_err().1,
            "invalid \\' escape in \"-quoted string"
        );
        assert!(unescape(r"\d", b'"').unwrap_err().1.contains("\\d"));
    }

    #[test]
    fn escape_round_trips_special_characters() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a b"), "\"a b\"");
        assert_eq!(escape("a\"b"), "\"a\\\"b\"");
        assert_eq!(escape("t\tx"), "\"t\\tx\"");
    }

    #[test]
    fn numbers_and_names() {
        let mut c = Cursor::new("0x1F rest");
        assert_eq!(c.number(), Some((0, "0x1F")));
        let mut c = Cursor::new("-12.5e+3x");
        assert_eq!(c.number(), Some((0, "-12.5e+3")));
        let mut c = Cursor::new("proc.name=1");
        assert_eq!(c.field_name(), Some((0, "proc.name")));
        let mut c = Cursor::new("proc=1");
        assert_eq!(c.field_name(), None);
        assert_eq!(c.identifier(), Some((0, "proc")));
        let mut c = Cursor::new("a.b.");
        assert_eq!(c.field_name(), Some((0, "a.b")));
    }
}
