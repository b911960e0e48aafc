//! `httplog` and `httptop`: HTTP transactions found in socket payloads.
//!
//! A request is the first payload on a (pid, fd) whose text starts with an
//! upper-case method, a space and a URL; the next payload on the same
//! (pid, fd) that carries `HTTP/x NNN` completes it. Payloads are matched as
//! sysdig's Lua parser sees them: rendered in the buffer format, so a CRLF is
//! `..` by default.

use super::fields::{request_all, Reader};
use super::table::{compile_filter, extend, format_bytes, format_time, lua_number};
use super::Native;
use crate::{ArgInfo, Chisel, ChiselInfo, Error, EventCtx, Flow, Host, Interval, Options};
use osprey_event::render::{write_buffer, BufFormat};
use osprey_filter::{FieldRef, Filter};
use std::collections::HashMap;
use std::io::Write;

/// The filter both chisels run with.
const FILTER: &str =
    "evt.is_io = true and evt.buflen > 0 and (fd.sockfamily = ip or fd.sockfamily = unix)";
/// The live refresh period of `httptop`.
const SECOND: u64 = 1_000_000_000;
/// Rows `httptop` shows.
const TOP: usize = 30;
/// Column width of `httptop`.
const COL: usize = 20;

/// The bytes of `s` from `at` while `f` holds.
fn run(s: &[u8], at: usize, f: impl Fn(u8) -> bool) -> &[u8] {
    let rest = s.get(at..).unwrap_or_default();
    let n = rest.iter().position(|&c| !f(c)).unwrap_or(rest.len());
    &rest[..n]
}

/// Lua's `%g`: printable and not a space.
fn graph(c: u8) -> bool {
    (0x21..0x7f).contains(&c)
}

/// Every position where `needle` starts in `hay`.
fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}

/// `^(%u+) (%g+)`: the method and URL at the start of a request.
fn request_line(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let method = run(buf, 0, |c| c.is_ascii_uppercase());
    if method.is_empty() || buf.get(method.len()) != Some(&b' ') {
        return None;
    }
    let url = run(buf, method.len() + 1, graph);
    (!url.is_empty()).then_some((method, url))
}

/// `Host: (%g+)%.%.`: the longest graph run after the first `Host: ` that
/// works, cut before the last `..` in it.
fn host(buf: &[u8]) -> Option<&[u8]> {
    find_all(buf, b"Host: ").find_map(|p| {
        let r = run(buf, p + 6, graph);
        (1..r.len().saturating_sub(1))
            .rev()
            .find(|&k| r[k] == b'.' && r[k + 1] == b'.')
            .map(|k| &r[..k])
    })
}

/// `HTTP/[%g]+ (%d+)`: the status code of a response.
fn status(buf: &[u8]) -> Option<&[u8]> {
    find_all(buf, b"HTTP/").find_map(|p| {
        let r = run(buf, p + 5, graph);
        if r.is_empty() || buf.get(p + 5 + r.len()) != Some(&b' ') {
            return None;
        }
        let d = run(buf, p + 6 + r.len(), |c| c.is_ascii_digit());
        (!d.is_empty()).then_some(d)
    })
}

/// `Content%-Length: (%d+)%.%.`: the body length of a response.
fn content_length(buf: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"Content-Length: ";
    find_all(buf, KEY).find_map(|p| {
        let d = run(buf, p + KEY.len(), |c| c.is_ascii_digit());
        let after = p + KEY.len() + d.len();
        (!d.is_empty() && buf.get(after..after + 2) == Some(b"..")).then_some(d)
    })
}

/// A number as Lua's `tonumber` reads a run of digits.
fn number(d: &[u8]) -> f64 {
    std::str::from_utf8(d)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

/// A request waiting for its response.
#[derive(Debug)]
struct Pending {
    method: Box<[u8]>,
    url: Box<[u8]>,
    /// `evt.rawtime` as a Lua number (a double).
    ts: f64,
    /// `<` (read), `>` (written) or `<NA>`.
    dir: &'static [u8],
    container: Box<[u8]>,
}

/// What `httptop` ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Calls,
    Time,
    Bytes,
}

impl By {
    fn title(self) -> &'static [u8] {
        match self {
            By::Calls => b"ncalls",
            By::Time => b"time",
            By::Bytes => b"bytes",
        }
    }
}

/// The transactions of one `httptop` key.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    calls: f64,
    bytes: f64,
    /// Sum of latencies, accumulated as sysdig's script does it:
    /// `(total + response ts) - request ts`, in doubles.
    time: f64,
}

/// `httplog` or `httptop`.
#[derive(Debug)]
struct Http {
    name: &'static str,
    /// `httptop`: what it ranks by; `httplog`: none.
    top: Option<By>,
    filter: Option<Filter>,
    print_container: bool,
    buffer: FieldRef,
    fd: FieldRef,
    pid: FieldRef,
    rawtime: FieldRef,
    datetime: FieldRef,
    io_dir: FieldRef,
    container: FieldRef,
    pending: HashMap<(i64, i64), Pending>,
    table: HashMap<Box<[u8]>, Sums>,
    live: bool,
    rd: Reader,
    raw: Vec<u8>,
    text: Vec<u8>,
    line: Vec<u8>,
}

fn build(name: &str, args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let (name, top) = match name {
        "httplog" => ("httplog", None),
        "httptop" => (
            "httptop",
            Some(match args.first().map(String::as_str) {
                None | Some("ncalls") => By::Calls,
                Some("time") => By::Time,
                Some("bytes") => By::Bytes,
                Some(_) => {
                    return Err(Error::Args(
                        "Invalid argument! Valid options: ncalls, bytes, time".to_owned(),
                    ))
                }
            }),
        ),
        other => return Err(Error::NotFound(other.to_owned())),
    };
    let [buffer, fd, pid, rawtime, datetime, io_dir, container] = request_all([
        "evt.buffer",
        "fd.num",
        "proc.pid",
        "evt.rawtime",
        "evt.datetime",
        "evt.io_dir",
        "container.name",
    ])?;
    Ok(Box::new(Http {
        name,
        top,
        filter: compile_filter(name, FILTER)?,
        print_container: opts.print_container,
        buffer,
        fd,
        pid,
        rawtime,
        datetime,
        io_dir,
        container,
        pending: HashMap::new(),
        table: HashMap::new(),
        live: false,
        rd: Reader::new(BufFormat::Normal),
        raw: Vec::with_capacity(1024),
        text: Vec::with_capacity(2048),
        line: Vec::with_capacity(512),
    }))
}

impl Http {
    /// A request starts a transaction on (pid, fd).
    fn start(&mut self, ctx: &EventCtx<'_>, key: (i64, i64), ts: f64) {
        let Some((method, url)) = request_line(&self.text) else {
            return;
        };
        let mut full = Vec::with_capacity(url.len() + 32);
        if let Some(h) = host(&self.text) {
            full.extend_from_slice(h);
        }
        full.extend_from_slice(url);
        self.raw.clear();
        self.rd.text(ctx, &self.io_dir, &mut self.raw);
        let dir: &'static [u8] = match &self.raw[..] {
            b"read" => b"<",
            b"write" => b">",
            _ => b"<NA>",
        };
        self.raw.clear();
        self.rd.text(ctx, &self.container, &mut self.raw);
        let p = Pending {
            method: method.into(),
            url: full.into(),
            ts,
            dir,
            container: self.raw.as_slice().into(),
        };
        self.pending.insert(key, p);
    }

    /// A response completes the transaction `p`.
    fn complete(
        &mut self,
        ctx: &EventCtx<'_>,
        p: &Pending,
        code: f64,
        length: f64,
        ts: f64,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        match self.top {
            None => {
                let line = &mut self.line;
                line.clear();
                self.rd.text(ctx, &self.datetime, line);
                line.push(b' ');
                if self.print_container {
                    line.extend_from_slice(&p.container);
                    line.push(b' ');
                }
                line.extend_from_slice(p.dir);
                line.extend_from_slice(b" method=");
                line.extend_from_slice(&p.method);
                line.extend_from_slice(b" url=");
                line.extend_from_slice(&p.url);
                line.extend_from_slice(b" response_code=");
                push_d(line, code);
                line.extend_from_slice(b" latency=");
                push_d(line, (ts - p.ts) / 1e6);
                line.extend_from_slice(b"ms size=");
                push_d(line, length);
                line.extend_from_slice(b"B\n");
                out.write_all(line)?;
            }
            Some(_) => {
                let key = &mut self.line;
                key.clear();
                if self.print_container {
                    key.extend_from_slice(&p.container);
                    key.extend_from_slice(b"\x01\x01");
                }
                key.extend_from_slice(&p.method);
                key.extend_from_slice(b"\x01\x01");
                key.extend_from_slice(&p.url);
                let s = match self.table.get_mut(&key[..]) {
                    Some(s) => s,
                    None => self.table.entry(key.as_slice().into()).or_default(),
                };
                s.calls += 1.0;
                s.bytes += length;
                s.time = s.time + ts - p.ts;
            }
        }
        Ok(())
    }

    /// Prints the `httptop` table and empties it.
    fn print_table(&mut self, out: &mut dyn Write) -> Result<(), Error> {
        let by = self.top.unwrap_or(By::Calls);
        let mut rows: Vec<(&[u8], f64)> = self
            .table
            .iter()
            .map(|(k, s)| {
                let v = match by {
                    By::Calls => s.calls,
                    By::Bytes => s.bytes,
                    By::Time => s.time / s.calls,
                };
                (&**k, v)
            })
            .collect();
        // sysdig's order among equal values depends on Lua's hashing; keys
        // break ties here.
        rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let mut buf = Vec::with_capacity(4096);
        extend(&mut buf, by.title());
        if self.print_container {
            extend(&mut buf, b"container");
        }
        extend(&mut buf, b"method");
        extend(&mut buf, b"url");
        buf.extend_from_slice(b"\n");
        buf.extend_from_slice(&[b'-'; 80]);
        buf.push(b'\n');
        let mut val = Vec::with_capacity(32);
        for (k, v) in rows.into_iter().take(TOP) {
            val.clear();
            match by {
                By::Calls => lua_number(&mut val, v),
                By::Bytes => format_bytes(&mut val, v),
                By::Time => format_time(&mut val, v),
            }
            extend(&mut buf, &val);
            // Key parts are joined by "\x01\x01"; every part but the last is
            // cut to the column and padded.
            let mut all: Vec<&[u8]> = Vec::with_capacity(3);
            let mut rest = k;
            while let Some(i) = rest.windows(2).position(|w| w == b"\x01\x01") {
                all.push(&rest[..i]);
                rest = &rest[i + 2..];
            }
            all.push(rest);
            let last = all.len() - 1;
            for (i, part) in all.into_iter().enumerate() {
                if i < last {
                    extend(&mut buf, &part[..part.len().min(COL)]);
                } else {
                    buf.extend_from_slice(part);
                }
            }
            buf.push(b'\n');
        }
        out.write_all(&buf)?;
        self.table.clear();
        Ok(())
    }
}

/// Appends a Lua number as `%d` prints it: truncated toward zero.
fn push_d(out: &mut Vec<u8>, v: f64) {
    #[allow(clippy::cast_possible_truncation)] // `%d` of a Lua number
    let n = v as i64;
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

impl Chisel for Http {
    fn name(&self) -> &str {
        self.name
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn interval(&self) -> Option<Interval> {
        (self.top.is_some() && self.live).then_some(Interval::Aligned(SECOND))
    }

    fn on_capture_start(&mut self, host: &Host<'_>, out: &mut dyn Write) -> Result<(), Error> {
        self.live = host.live;
        if self.live && self.top.is_some() {
            out.write_all(b"\x1b[2J\x1b[?25l")?;
        }
        Ok(())
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        self.rd.begin(ctx);
        let (Some(pid), Some(fd)) = (self.rd.int(ctx, &self.pid), self.rd.int(ctx, &self.fd))
        else {
            return Ok(Flow::Continue);
        };
        self.raw.clear();
        if !self.rd.bytes(ctx, &self.buffer, &mut self.raw) {
            return Ok(Flow::Continue);
        }
        self.text.clear();
        write_buffer(&mut self.text, &self.raw, self.rd.buf_format());
        #[allow(clippy::cast_precision_loss)] // sysdig hands Lua the time as a double
        let ts = self.rd.int(ctx, &self.rawtime).unwrap_or(0) as f64;
        let key = (pid, fd);
        if !self.pending.contains_key(&key) {
            self.start(ctx, key, ts);
            return Ok(Flow::Continue);
        }
        let Some(code) = status(&self.text).map(number) else {
            return Ok(Flow::Continue);
        };
        let length = content_length(&self.text).map_or(0.0, number);
        if let Some(p) = self.pending.remove(&key) {
            self.complete(ctx, &p, code, length, ts, out)?;
        }
        Ok(Flow::Continue)
    }

    fn on_interval(
        &mut self,
        _ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<Flow, Error> {
        out.write_all(b"\x1b[2J\x1b[0;0H")?;
        self.print_table(out)?;
        Ok(Flow::Continue)
    }

    fn on_capture_end(
        &mut self,
        _ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        if self.top.is_none() {
            return Ok(());
        }
        if self.live {
            out.write_all(b"\x1b[2J\x1b[0;0H\x1b[?25h")?;
            return Ok(());
        }
        self.print_table(out)
    }
}

fn info(name: &str, short: &str, long: &str, args: Vec<ArgInfo>) -> ChiselInfo {
    super::info(name, "Application", short, long, args)
}

/// `httplog` and `httptop`.
pub(super) fn natives() -> [Native; 2] {
    [
        Native {
            name: "httplog",
            info: info(
                "httplog",
                "Log HTTP requests",
                "Prints one line per HTTP request seen on a socket: time, direction, method, URL, status code, latency and response size.",
                Vec::new(),
            ),
            build,
        },
        Native {
            name: "httptop",
            info: info(
                "httptop",
                "Top HTTP requests",
                "Ranks HTTP requests by method and URL, by number of calls (the default), average time or response bytes.",
                vec![ArgInfo {
                    name: "by".to_owned(),
                    description: "rank by 'ncalls' (the default), 'time' or 'bytes'".to_owned(),
                    argtype: "string".to_owned(),
                    optional: true,
                }],
            ),
            build,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_host() {
        let b = b"GET /x?a=1 HTTP/1.1..Host: www.example.com..User-Agent: curl/7";
        assert_eq!(request_line(b), Some((&b"GET"[..], &b"/x?a=1"[..])));
        assert_eq!(host(b), Some(&b"www.example.com"[..]));
        assert_eq!(request_line(b"get / HTTP/1.1"), None);
        assert_eq!(request_line(b"GET"), None);
        // The longest run that ends before a "..".
        assert_eq!(host(b"Host: a..b..c d"), Some(&b"a..b"[..]));
        assert_eq!(host(b"Host: ab c"), None);
    }

    #[test]
    fn response_fields() {
        let b = b"HTTP/1.1 502 Bad Gateway..Content-Length: 107..Connection: close";
        assert_eq!(status(b), Some(&b"502"[..]));
        assert_eq!(content_length(b), Some(&b"107"[..]));
        assert_eq!(status(b"HTTP/1.1  200"), None);
        assert_eq!(content_length(b"Content-Length: 12 x"), None);
        assert_eq!(number(b"200"), 200.0);
    }
}
