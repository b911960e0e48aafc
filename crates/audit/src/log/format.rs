//! The two line formats of kube-apiserver's log backend (`--audit-log-format`).
//!
//! * **json**: `{"kind":"Event","apiVersion":"audit.k8s.io/v1",...}` + `\n`, the
//!   other members in the Go struct order (see [`crate::event::Event`]).
//! * **legacy**: `<requestReceivedTimestamp RFC3339Nano> AUDIT: id="…" stage="…"
//!   ip="…" method="…" user="…" groups="…" as="…" asgroups="…" user-agent="…"
//!   namespace="…" uri="…" response="…"` + `\n`, every value quoted like Go's `%q`.

use std::str::FromStr;

use crate::event::Event;

/// `kind` and `apiVersion` that start every JSON log line.
const JSON_HEAD: &[u8] = b"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\"";

/// A log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON object per line (the default).
    #[default]
    Json,
    /// The legacy one-line text format.
    Legacy,
}

/// An unknown `--audit-log-format` value (the apiserver's message).
#[derive(Debug, thiserror::Error)]
#[error("invalid audit log format {0}, allowed formats are \"legacy,json\"")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        match s {
            "json" => Ok(Format::Json),
            "legacy" => Ok(Format::Legacy),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

impl Format {
    /// Appends one line for `event` to `out`. JSON output always carries the v1
    /// `kind` and `apiVersion` (whatever the event said), as the apiserver writes them.
    pub fn encode(self, event: &mut Event, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match self {
            Format::Json => encode_json(event, out),
            Format::Legacy => {
                encode_legacy(event, out);
                Ok(())
            }
        }
    }
}

/// Appends `{"kind":"Event","apiVersion":"audit.k8s.io/v1",...}\n` to `out`.
/// The event's own `kind` and `apiVersion` are cleared.
pub fn encode_json(event: &mut Event, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    event.kind = None;
    event.api_version = None;
    let start = out.len();
    out.extend_from_slice(JSON_HEAD);
    let body = out.len();
    if let Err(e) = serde_json::to_writer(&mut *out, event) {
        out.truncate(start);
        return Err(e);
    }
    // `body..` is `{...}`: replace its `{` by `,` unless it is empty (`{}`).
    if out.len() - body > 2 {
        out[body] = b',';
    } else {
        out.truncate(body);
        out.push(b'}');
    }
    out.push(b'\n');
    Ok(())
}

/// Appends the legacy text line (see the module docs) to `out`.
pub fn encode_legacy(event: &Event, out: &mut Vec<u8>) {
    let mut username = "<none>";
    let mut groups: Option<&[String]> = None;
    if let Some(u) = event.user.as_ref().and_then(|u| u.username.as_deref()) {
        if !u.is_empty() {
            username = u;
            groups = Some(event.user_groups()).filter(|g| !g.is_empty());
        }
    }
    let (as_user, as_groups) = match &event.impersonated_user {
        Some(imp) => (imp.username.as_deref().unwrap_or(""), imp.groups.as_deref()),
        None => ("<self>", None),
    };
    let namespace = event
        .object_ref
        .as_ref()
        .and_then(|o| o.namespace.as_deref())
        .filter(|n| !n.is_empty())
        .unwrap_or("<none>");
    let ip = event
        .source_ips
        .as_ref()
        .and_then(|ips| ips.first())
        .map_or("<unknown>", String::as_str);

    rfc3339_nano(event.request_received_timestamp.as_deref(), out);
    out.extend_from_slice(b" AUDIT: id=");
    go_quote(event.audit_id(), out);
    out.extend_from_slice(b" stage=");
    go_quote(event.stage.map_or("", |s| s.as_str()), out);
    out.extend_from_slice(b" ip=");
    go_quote(ip, out);
    out.extend_from_slice(b" method=");
    go_quote(event.verb(), out);
    out.extend_from_slice(b" user=");
    go_quote(username, out);
    out.extend_from_slice(b" groups=");
    quote_slice(groups, "<none>", out);
    out.extend_from_slice(b" as=");
    go_quote(as_user, out);
    out.extend_from_slice(b" asgroups=");
    quote_slice(as_groups, "<lookup>", out);
    out.extend_from_slice(b" user-agent=");
    go_quote(event.user_agent.as_deref().unwrap_or(""), out);
    out.extend_from_slice(b" namespace=");
    go_quote(namespace, out);
    out.extend_from_slice(b" uri=");
    go_quote(event.request_uri.as_deref().unwrap_or(""), out);
    out.extend_from_slice(b" response=\"");
    match event.response_status.as_ref() {
        Some(st) => {
            let mut buf = itoa::Buffer::new();
            out.extend_from_slice(buf.format(st.code.unwrap_or(0)).as_bytes());
        }
        None => out.extend_from_slice(b"<deferred>"),
    }
    out.extend_from_slice(b"\"\n");
}

/// `%q` of the `%q`-quoted elements joined by commas, or of `none` when absent.
fn quote_slice(items: Option<&[String]>, none: &str, out: &mut Vec<u8>) {
    let Some(items) = items else {
        go_quote(none, out);
        return;
    };
    out.push(b'"');
    for (i, g) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        quote_into(g, out, true);
    }
    out.push(b'"');
}

/// Go's `strconv.Quote`: `"` + escapes + `"`. Printable characters are kept;
/// control characters, separators other than U+0020 and common format characters
/// are escaped as `\xNN`, `\uNNNN` or `\UNNNNNNNN` (an approximation of
/// `unicode.IsPrint` without its tables).
pub fn go_quote(s: &str, out: &mut Vec<u8>) {
    quote_into(s, out, false);
}

/// Appends ASCII `b`, escaped once more when `twice` (the quoted text is itself
/// being quoted: only `"` and `\` need it, the rest is printable ASCII already).
fn emit(b: &[u8], out: &mut Vec<u8>, twice: bool) {
    if !twice {
        out.extend_from_slice(b);
        return;
    }
    for &c in b {
        if c == b'"' || c == b'\\' {
            out.push(b'\\');
        }
        out.push(c);
    }
}

fn quote_into(s: &str, out: &mut Vec<u8>, twice: bool) {
    emit(b"\"", out, twice);
    let mut run = 0;
    let bytes = s.as_bytes();
    for (i, c) in s.char_indices() {
        let esc: Option<&[u8]> = match c {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\u{7}' => Some(b"\\a"),
            '\u{8}' => Some(b"\\b"),
            '\u{c}' => Some(b"\\f"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            '\u{b}' => Some(b"\\v"),
            _ => None,
        };
        let needs_hex = esc.is_none() && !is_go_printable(c);
        if esc.is_none() && !needs_hex {
            continue;
        }
        // Printable text between escapes holds no `"` or `\`.
        out.extend_from_slice(&bytes[run..i]);
        run = i + c.len_utf8();
        if let Some(e) = esc {
            emit(e, out, twice);
            continue;
        }
        let v = u32::from(c);
        let (prefix, digits): (&[u8], u32) = if v < 0x80 {
            (b"\\x", 2)
        } else if v < 0x10000 {
            (b"\\u", 4)
        } else {
            (b"\\U", 8)
        };
        emit(prefix, out, twice);
        for k in (0..digits).rev() {
            out.push(b"0123456789abcdef"[((v >> (4 * k)) & 0xf) as usize]);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    emit(b"\"", out, twice);
}

fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        u32::from(c),
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
            | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xd800..=0xdfff
            | 0xe000..=0xf8ff | 0xfeff | 0xfff9..=0xfffb | 0xfffe | 0xffff
            | 0xf0000..=0x10ffff
    )
}

/// Writes a MicroTime (`2006-01-02T15:04:05.000000Z`) as Go's `RFC3339Nano` prints
/// it: trailing fractional zeros dropped (and the dot with them). A missing or
/// unparsable time prints as the zero time `0001-01-01T00:00:00Z`.
fn rfc3339_nano(ts: Option<&str>, out: &mut Vec<u8>) {
    let Some(ts) = ts.filter(|t| looks_like_rfc3339(t.as_bytes())) else {
        out.extend_from_slice(b"0001-01-01T00:00:00Z");
        return;
    };
    let b = ts.as_bytes();
    out.extend_from_slice(&b[..19]);
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let frac = &rest[1..=digits];
        let keep = frac.iter().rposition(|&c| c != b'0').map_or(0, |p| p + 1);
        if keep > 0 {
            out.push(b'.');
            out.extend_from_slice(&frac[..keep.min(9)]);
        }
        rest = &rest[1 + digits..];
    }
    out.extend_from_slice(rest);
}

/// `YYYY-MM-DDTHH:MM:SS` then an optional fraction and `Z` or `±hh:mm`.
fn looks_like_rfc3339(b: &[u8]) -> bool {
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let head = (0..4).all(digit)
        && at(4, b'-')
        && digit(5)
        && digit(6)
        && at(7, b'-')
        && digit(8)
        && digit(9)
        && (at(10, b'T') || at(10, b't'))
        && digit(11)
        && digit(12)
        && at(13, b':')
        && digit(14)
        && digit(15)
        && at(16, b':')
        && digit(17)
        && digit(18);
    if !head {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while digit(i) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && digit(i + 1)
                && digit(i + 2)
                && at(i + 3, b':')
                && digit(i + 4)
                && digit(i + 5)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        let mut v = Vec::new();
        go_quote(s, &mut v);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(q("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(q("\n\t\u{1}\u{7f}"), r#""\n\t\x01\x7f""#);
        assert_eq!(q("é\u{a0}\u{200b}😀"), "\"é\\u00a0\\u200b😀\"");
    }

    #[test]
    fn json_lines_start_with_kind_and_version() {
        let mut ev: Event = serde_json::from_str(
            r#"{"kind":"X","level":"Metadata","auditID":"a","stage":"ResponseComplete"}"#,
        )
        .expect("event");
        let mut out = Vec::new();
        encode_json(&mut ev, &mut out).expect("encode");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"a\",\"stage\":\"ResponseComplete\"}\n"
        );
        let mut empty = Event::default();
        let mut out = Vec::new();
        encode_json(&mut empty, &mut out).expect("encode");
        assert_eq!(
            out,
            b"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\"}\n"
        );
    }

    #[test]
    fn legacy_line() {
        let ev: Event = serde_json::from_str(
            r#"{"level":"Metadata","auditID":"6b1e","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods?limit=1","verb":"list","user":{"username":"admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["10.0.0.1","10.0.0.2"],"userAgent":"kubectl/v1.35","objectRef":{"resource":"pods","namespace":"default"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-07-23T18:32:12.120000Z","stageTimestamp":"2026-07-23T18:32:12.130000Z"}"#,
        )
        .expect("event");
        let mut out = Vec::new();
        encode_legacy(&ev, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "2026-07-23T18:32:12.12Z AUDIT: id=\"6b1e\" stage=\"ResponseComplete\" ip=\"10.0.0.1\" method=\"list\" user=\"admin\" groups=\"\\\"system:masters\\\",\\\"system:authenticated\\\"\" as=\"<self>\" asgroups=\"<lookup>\" user-agent=\"kubectl/v1.35\" namespace=\"default\" uri=\"/api/v1/namespaces/default/pods?limit=1\" response=\"200\"\n"
        );
        let mut out = Vec::new();
        encode_legacy(&Event::default(), &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "0001-01-01T00:00:00Z AUDIT: id=\"\" stage=\"\" ip=\"<unknown>\" method=\"\" user=\"<none>\" groups=\"<none>\" as=\"<self>\" asgroups=\"<lookup>\" user-agent=\"\" namespace=\"<none>\" uri=\"\" response=\"<deferred>\"\n"
        );
    }

    #[test]
    fn impersonation_and_whole_seconds() {
        let ev: Event = serde_json::from_str(
            r#"{"user":{"username":"a"},"impersonatedUser":{"username":"b","groups":[]},"requestReceivedTimestamp":"2026-07-23T18:32:12.000000Z"}"#,
        )
        .expect("event");
        let mut out = Vec::new();
        encode_legacy(&ev, &mut out);
        let line = String::from_utf8(out).expect("utf8");
        assert!(line.starts_with("2026-07-23T18:32:12Z AUDIT:"), "{line}");
        assert!(
            line.contains(" groups=\"<none>\" as=\"b\" asgroups=\"\" "),
            "{line}"
        );
    }

    #[test]
    fn format_names() {
        assert_eq!("legacy".parse::<Format>().expect("ok"), Format::Legacy);
        assert_eq!(
            "xml".parse::<Format>().expect_err("bad").to_string(),
            "invalid audit log format xml, allowed formats are \"legacy,json\""
        );
    }
}
