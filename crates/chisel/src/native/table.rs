//! The top-N table engine behind the `top*` chisels and `fdbytes_by`/`fdtime_by`
//! (sysdig's hidden `table_generator`): events that pass the chisel's filter
//! are grouped by one or more key fields and a value field is summed per key;
//! the table is printed at the end of a file, or every second live.

use crate::{Chisel, Error, EventCtx, Flow, Host, Interval};
use osprey_filter::fields::catalog::SyscallCatalog;
use osprey_filter::format::{write_value_text, Format};
use osprey_filter::{Extract, FieldRef, Filter, Value, Values};
use std::collections::HashMap;
use std::io::Write;

/// Column width of the table.
const COL: usize = 20;
/// The line under the header.
const RULE: &[u8] =
    b"--------------------------------------------------------------------------------\n";
/// sysdig's separator between key values inside a grouping key.
const SEP: &[u8] = b"\x01\x01";
/// One second, the live refresh period.
const SECOND: u64 = 1_000_000_000;

/// How the summed value is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    /// A plain number.
    None,
    /// `512B`, `1.50KB`, `2.00M`, ...
    Bytes,
    /// `3.20s`, `15ms`, `1.20ms`, `40us`, `1.50us`, `800ns`.
    Time,
    /// The share of the elapsed time, `12.34%`.
    TimePct,
}

/// What a table chisel groups, sums and prints.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Key fields, in column order.
    pub keys: Vec<String>,
    /// Column titles of the keys.
    pub key_descs: Vec<String>,
    /// The field summed per key.
    pub value: String,
    /// Column title of the value.
    pub value_desc: String,
    /// The chisel's filter (empty: none).
    pub filter: String,
    /// Rows shown (0: all).
    pub top: usize,
    /// How values are printed.
    pub units: Units,
    /// Sum the CPU share of `procinfo` events (`thread.cpu` × 10^7, every
    /// sample kept) instead of the value field, as `topprocs_cpu` does.
    pub cpu: bool,
}

/// `thread.cpu` as sysdig computes it on `procinfo` events: the CPU ticks
/// (user + system) since the thread's previous sample, at most 100; 0 on a
/// thread's first sample.
#[derive(Debug, Default)]
struct ThreadCpu {
    last: HashMap<u64, u64>,
}

impl ThreadCpu {
    fn sample(&mut self, ctx: &EventCtx<'_>) -> Option<f64> {
        if ctx.ev.etype() != PROCINFO_E || !ctx.state.current().thread_known {
            return None;
        }
        let p = |i| {
            ctx.ev
                .param(i)
                .and_then(|b| b.get(..8))
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
        };
        let total = p(0)?.wrapping_add(p(1)?);
        let last = self.last.insert(ctx.ev.tid(), total).unwrap_or(0);
        if last == 0 {
            return Some(0.0);
        }
        #[allow(clippy::cast_precision_loss)] // ticks, shown as a percentage
        Some((total.wrapping_sub(last) as f64).min(100.0))
    }
}

impl ThreadCpu {
    /// The live stand-in for `procinfo` events, which the probe does not
    /// synthesise: reads every thread's user + system ticks from `/proc` and
    /// adds each thread's share (as [`ThreadCpu::sample`] computes it) to
    /// `sums`, keyed by the thread's name and process id.
    fn sample_proc(&mut self, sums: &mut HashMap<Box<[u8]>, f64>) {
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return;
        };
        let mut key = Vec::with_capacity(64);
        for p in procs.flatten() {
            let pid_name = p.file_name();
            let Some(pid) = pid_name
                .to_str()
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let Ok(tasks) = std::fs::read_dir(p.path().join("task")) else {
                continue;
            };
            for t in tasks.flatten() {
                let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else {
                    continue;
                };
                let Ok(stat) = std::fs::read(t.path().join("stat")) else {
                    continue;
                };
                let Some((comm, total)) = parse_stat(&stat) else {
                    continue;
                };
                let last = self.last.insert(tid, total).unwrap_or(0);
                #[allow(clippy::cast_precision_loss)] // ticks, shown as a percentage
                let v = if last == 0 {
                    0.0
                } else {
                    (total.wrapping_sub(last) as f64).min(100.0)
                };
                key.clear();
                key.extend_from_slice(comm);
                key.extend_from_slice(SEP);
                key.extend_from_slice(pid.as_bytes());
                *sums.entry(key.as_slice().into()).or_insert(0.0) += v * 1e7;
            }
        }
    }
}

/// The name and user + system ticks of a `/proc/.../stat` line.
fn parse_stat(stat: &[u8]) -> Option<(&[u8], u64)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = stat.get(open + 1..close)?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    // After the name: state is field 3, utime 14 and stime 15.
    let mut f = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// `PPME_PROCINFO_E`.
const PROCINFO_E: u16 = 234;

/// A running table chisel.
#[derive(Debug)]
pub struct Table {
    name: String,
    spec: TableSpec,
    keys: Vec<FieldRef>,
    value: FieldRef,
    filter: Option<Filter>,
    live: bool,
    cpu: Option<ThreadCpu>,
    /// Sums per grouping key (key values joined by [`SEP`]).
    sums: HashMap<Box<[u8]>, f64>,
    key_buf: Vec<u8>,
    vals: Values,
}

/// Resolves one field name as a chisel requests it (`evt.rawarg.res`, `proc.aname[2]`).
/// An unknown field gives sysdig's message, which names only the field.
pub(crate) fn request_field(name: &str) -> Result<FieldRef, Error> {
    let bad = || Error::Args(format!("chisel requesting nonexistent field {name}"));
    if name.is_empty() || name.contains('%') {
        return Err(bad());
    }
    let fmt = Format::parse(&format!("%{name}"), &SyscallCatalog).map_err(|_| bad())?;
    let mut fields = fmt.fields();
    match (fields.next(), fields.next()) {
        (Some(f), None) if &*f.name == name || name.starts_with(&*f.name) => Ok(f.clone()),
        _ => Err(bad()),
    }
}

/// Compiles a chisel's filter, with sysdig's message on failure.
pub(crate) fn compile_filter(chisel: &str, text: &str) -> Result<Option<Filter>, Error> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Filter::compile(text, &SyscallCatalog)
        .map(Some)
        .map_err(|e| Error::Filter {
            chisel: chisel.to_owned(),
            message: e.display_with_caret(text),
        })
}

impl Table {
    /// Builds the chisel `name` from its spec.
    ///
    /// # Errors
    /// An unknown field or a bad filter; a key/description count mismatch.
    pub fn new(name: &str, spec: TableSpec) -> Result<Self, Error> {
        if spec.keys.len() != spec.key_descs.len() {
            return Err(Error::Args(
                "error: number of entries in keys different from number entries in keydescs"
                    .to_owned(),
            ));
        }
        let keys = spec
            .keys
            .iter()
            .map(|k| request_field(k))
            .collect::<Result<Vec<_>, _>>()?;
        let value = request_field(&spec.value)?;
        let filter = compile_filter(name, &spec.filter)?;
        let cpu = spec.cpu;
        Ok(Self {
            name: name.to_owned(),
            spec,
            keys,
            value,
            filter,
            live: false,
            cpu: cpu.then(ThreadCpu::default),
            sums: HashMap::new(),
            key_buf: Vec::with_capacity(256),
            vals: Values::new(),
        })
    }

    /// Writes the table sorted by value (descending, ties by key) and clears it.
    fn print(&mut self, delta: u64, out: &mut dyn Write) -> Result<(), Error> {
        let mut buf = Vec::with_capacity(4096);
        extend(&mut buf, self.spec.value_desc.as_bytes());
        for d in &self.spec.key_descs {
            extend(&mut buf, d.as_bytes());
        }
        buf.push(b'\n');
        buf.extend_from_slice(RULE);
        let mut rows: Vec<(&[u8], f64)> = self.sums.iter().map(|(k, v)| (&**k, *v)).collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        if self.spec.top > 0 {
            rows.truncate(self.spec.top);
        }
        let mut cell = Vec::with_capacity(64);
        for (key, v) in rows {
            cell.clear();
            format_value(&mut cell, v, self.spec.units, delta);
            extend(&mut buf, &cell);
            let parts: Vec<&[u8]> = split_key(key);
            let n = parts.len();
            for (i, p) in parts.into_iter().enumerate() {
                if i + 1 < n {
                    extend(&mut buf, p.get(..COL).unwrap_or(p));
                } else {
                    buf.extend_from_slice(p);
                }
            }
            buf.push(b'\n');
        }
        out.write_all(&buf)?;
        self.sums.clear();
        Ok(())
    }
}

/// Splits a grouping key at [`SEP`], as Lua's `split` does.
fn split_key(key: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = key;
    while let Some(i) = rest.windows(2).position(|w| w == SEP) {
        parts.push(&rest[..i]);
        rest = &rest[i + 2..];
    }
    parts.push(rest);
    parts
}

/// Appends `s` padded with spaces to [`COL`] bytes; a longer one is cut to
/// `COL - 1` bytes and a space (sysdig's `extend_string`).
pub(crate) fn extend(buf: &mut Vec<u8>, s: &[u8]) {
    if s.len() < COL {
        buf.extend_from_slice(s);
        buf.resize(buf.len() + COL - s.len(), b' ');
    } else {
        buf.extend_from_slice(&s[..COL - 1]);
        buf.push(b' ');
    }
}

/// Appends a number as Lua's `tostring` shows it (`%.14g`).
pub(crate) fn lua_number(buf: &mut Vec<u8>, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)] // integral and below 2^53
        buf.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        let _ = write!(buf, "{}", Lua14g(v));
    }
}

/// `%.14g` of a float that is not a small integer.
struct Lua14g(f64);

impl std::fmt::Display for Lua14g {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if !v.is_finite() {
            return write!(
                f,
                "{}",
                if v.is_nan() {
                    "nan"
                } else if v > 0.0 {
                    "inf"
                } else {
                    "-inf"
                }
            );
        }
        let e = if v == 0.0 {
            0
        } else {
            v.abs().log10().floor() as i32
        };
        if (-4..14).contains(&e) {
            let decimals = usize::try_from(13 - e).unwrap_or(0);
            let s = format!("{v:.decimals$}");
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.')
            } else {
                &s
            };
            f.write_str(s)
        } else {
            let s = format!("{v:.13e}");
            let (m, x) = s.split_once('e').unwrap_or((&s, "0"));
            let m = if m.contains('.') {
                m.trim_end_matches('0').trim_end_matches('.')
            } else {
                m
            };
            let x: i32 = x.parse().unwrap_or(0);
            write!(f, "{m}e{}{:02}", if x < 0 { '-' } else { '+' }, x.abs())
        }
    }
}

/// Appends a value in the table's units.
fn format_value(buf: &mut Vec<u8>, v: f64, units: Units, delta: u64) {
    match units {
        Units::None => lua_number(buf, v),
        Units::Bytes => format_bytes(buf, v),
        Units::Time => format_time(buf, v),
        Units::TimePct => {
            if delta > 0 {
                #[allow(clippy::cast_precision_loss)] // a time span shown as a percentage
                let pct = v / delta as f64 * 100.0;
                let _ = write!(buf, "{pct:.2}%");
            } else {
                buf.extend_from_slice(b"0.00%");
            }
        }
    }
}

/// sysdig's `format_bytes`.
pub(crate) fn format_bytes(buf: &mut Vec<u8>, v: f64) {
    const K: f64 = 1024.0;
    let units: [(f64, &str); 5] = [
        (K * K * K * K * K, "P"),
        (K * K * K * K, "T"),
        (K * K * K, "G"),
        (K * K, "M"),
        (K, "KB"),
    ];
    for (div, suffix) in units {
        if v > div {
            let _ = write!(buf, "{:.2}{suffix}", v / div);
            return;
        }
    }
    // `%d` of a Lua number truncates it.
    #[allow(clippy::cast_possible_truncation)]
    let n = v as i64;
    let _ = write!(buf, "{n}B");
}

/// `%u` of a Lua number: truncated toward zero.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn trunc(v: f64) -> u64 {
    v as u64
}

/// Lua's `%` on numbers.
fn lua_mod(a: f64, b: f64) -> f64 {
    a - (a / b).floor() * b
}

/// sysdig's `format_time_interval` (ns).
pub(crate) fn format_time(buf: &mut Vec<u8>, v: f64) {
    const S: f64 = 1e9;
    const MS: f64 = 1e6;
    const US: f64 = 1e3;
    let _ = if v >= S {
        write!(
            buf,
            "{}.{:02}s",
            trunc((v / S).floor()),
            trunc(lua_mod(v, S) / 1e7)
        )
    } else if v >= S / 100.0 {
        write!(buf, "{}ms", trunc((v / MS).floor()))
    } else if v >= MS {
        write!(
            buf,
            "{}.{:02}ms",
            trunc((v / MS).floor()),
            trunc(lua_mod(v, MS) / 1e4)
        )
    } else if v >= S / 100_000.0 {
        write!(buf, "{}us", trunc((v / US).floor()))
    } else if v >= US {
        write!(
            buf,
            "{}.{:02}us",
            trunc((v / US).floor()),
            trunc(lua_mod(v, US) / 10.0)
        )
    } else {
        write!(buf, "{}ns", trunc(v))
    };
}

/// The number a field value is in Lua, if it is one.
pub(crate) fn as_number(v: &Value) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // Lua numbers are doubles
    match *v {
        Value::Int(n) => Some(n as f64),
        Value::Uint(n) => Some(n as f64),
        Value::Double(d) => Some(d),
        _ => None,
    }
}

/// Appends the first value of `field` as `evt.field` gives it to a Lua
/// chisel, turned to text; `false` when the field has no value.
pub(crate) fn push_field_text(
    ctx: &EventCtx<'_>,
    field: &FieldRef,
    vals: &mut Values,
    out: &mut Vec<u8>,
) -> bool {
    vals.clear();
    if !ctx.extract(field, vals) {
        return false;
    }
    let Some(first) = vals.items().first().copied() else {
        return false;
    };
    match first {
        Value::Double(d) => lua_number(out, d),
        other => write_value_text(vals, &other, out),
    }
    true
}

impl Chisel for Table {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn interval(&self) -> Option<Interval> {
        self.live.then_some(Interval::Aligned(SECOND))
    }

    fn on_capture_start(&mut self, host: &Host<'_>, out: &mut dyn Write) -> Result<(), Error> {
        self.live = host.live;
        if self.live {
            // Clear the screen and hide the cursor.
            out.write_all(b"\x1b[2J\x1b[?25l")?;
        }
        Ok(())
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, _out: &mut dyn Write) -> Result<Flow, Error> {
        self.key_buf.clear();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                self.key_buf.extend_from_slice(SEP);
            }
            if !push_field_text(ctx, k, &mut self.vals, &mut self.key_buf) {
                return Ok(Flow::Continue);
            }
        }
        let v = if let Some(cpu) = self.cpu.as_mut() {
            match cpu.sample(ctx) {
                Some(c) => c * 1e7,
                None => return Ok(Flow::Continue),
            }
        } else {
            self.vals.clear();
            if !ctx.extract(&self.value, &mut self.vals) {
                return Ok(Flow::Continue);
            }
            match self.vals.items().first().and_then(as_number) {
                Some(v) if v > 0.0 => v,
                _ => return Ok(Flow::Continue),
            }
        };
        if let Some(sum) = self.sums.get_mut(&self.key_buf[..]) {
            *sum += v;
        } else {
            self.sums.insert(self.key_buf.as_slice().into(), v);
        }
        Ok(Flow::Continue)
    }

    fn on_interval(
        &mut self,
        _ts: u64,
        delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<Flow, Error> {
        // Live CPU tables sample /proc: the probe makes no procinfo events.
        // Only the process keys can be read there.
        if let Some(cpu) = self
            .cpu
            .as_mut()
            .filter(|_| self.spec.keys == ["proc.name", "proc.pid"])
        {
            cpu.sample_proc(&mut self.sums);
        }
        out.write_all(b"\x1b[2J\x1b[0;0H")?;
        self.print(delta, out)?;
        out.flush()?;
        Ok(Flow::Continue)
    }

    fn on_capture_end(
        &mut self,
        _ts: u64,
        delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        if self.live {
            out.write_all(b"\x1b[2J\x1b[0;0H\x1b[?25h")?;
            return Ok(());
        }
        self.print(delta, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut b = Vec::new();
        f(&mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn bytes() {
        assert_eq!(s(|b| format_bytes(b, 504.0)), "504B");
        assert_eq!(s(|b| format_bytes(b, 1024.0)), "1024B");
        assert_eq!(s(|b| format_bytes(b, 7362.0)), "7.19KB");
        assert_eq!(s(|b| format_bytes(b, 3.0 * 1024.0 * 1024.0 + 1.0)), "3.00M");
    }

    #[test]
    fn times() {
        assert_eq!(s(|b| format_time(b, 1_500_000_000.0)), "1.50s");
        assert_eq!(s(|b| format_time(b, 15_000_000.0)), "15ms");
        assert_eq!(s(|b| format_time(b, 1_234_567.0)), "1.23ms");
        assert_eq!(s(|b| format_time(b, 40_000.0)), "40us");
        assert_eq!(s(|b| format_time(b, 1_509.0)), "1.50us");
        assert_eq!(s(|b| format_time(b, 800.0)), "800ns");
    }

    #[test]
    fn columns() {
        let mut b = Vec::new();
        extend(&mut b, b"abc");
        assert_eq!(b.len(), COL);
        b.clear();
        extend(&mut b, b"abcdefghijklmnopqrstuvwxyz");
        assert_eq!(b, b"abcdefghijklmnopqrs ");
    }

    #[test]
    fn numbers_like_lua() {
        assert_eq!(s(|b| lua_number(b, 42.0)), "42");
        assert_eq!(s(|b| lua_number(b, 0.5)), "0.5");
        assert_eq!(s(|b| lua_number(b, 1e20)), "1e+20");
    }

    #[test]
    fn keys_split() {
        assert_eq!(split_key(b"a\x01\x01b"), [b"a".as_slice(), b"b"]);
        assert_eq!(split_key(b"a"), [b"a".as_slice()]);
    }

    #[test]
    fn proc_stat_lines() {
        let line = b"42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat(line), Some((&b"my (odd) name"[..], 10)));
        assert_eq!(parse_stat(b"garbage"), None);
    }

    #[test]
    fn procinfo_type_number() {
        let info = osprey_event::table::info(PROCINFO_E).unwrap();
        assert_eq!(info.enum_name, "PPME_PROCINFO_E");
    }

    #[test]
    fn unknown_field_is_reported() {
        let e = request_field("no.such").unwrap_err();
        assert!(e.to_string().contains("nonexistent field no.such"), "{e}");
        assert!(request_field("evt.rawarg.res").is_ok());
        assert!(request_field("proc.aname[2]").is_ok());
    }
}
