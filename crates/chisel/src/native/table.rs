//! The top-N table engine behind the `top*` chisels and `fdbytes_by`/`fdtime_by`
//! (sysdig's hidden `table_generator`): events that pass the chisel's filter
//! are grouped by one or more key fields and a value field is summed per key;
//! the table is printed at the end of a file, or every second live.

use crate::{Chisel, Error, EventCtx, Flow, Host, Interval};
use osprey_event::container::container_id_from_cgroups;
use osprey_filter::fields::catalog::SyscallCatalog;
use osprey_filter::format::{write_value_text, Format};
use osprey_filter::{Extract, FieldRef, Filter, Value, Values};
use osprey_state::{State, Thread};
use rustc_hash::FxHashMap;
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
    /// Print each table as sysdig's JSON document (`-j`) instead of text.
    pub json: bool,
}

/// The live CPU sampler's memory: each thread's user + system ticks at the
/// previous sample.
#[derive(Debug, Default)]
struct ThreadCpu {
    last: FxHashMap<u64, u64>,
}

/// A key field the live CPU sampler can fill in from `/proc` and the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProcKey {
    /// `proc.name`: the thread's name.
    Name,
    /// `proc.pid`.
    Pid,
    /// `proc.vpid`: the process id inside its pid namespace.
    Vpid,
    /// `thread.vtid`: the thread id inside its pid namespace.
    Vtid,
    /// `container.name`: `host` outside containers; no value while the
    /// container's metadata is unknown.
    Container,
}

impl ProcKey {
    /// The sampler's keys for a table's key fields; `None` when one of them
    /// cannot be read from `/proc`.
    fn for_fields(keys: &[String]) -> Option<Vec<ProcKey>> {
        keys.iter()
            .map(|k| match k.as_str() {
                "proc.name" => Some(ProcKey::Name),
                "proc.pid" => Some(ProcKey::Pid),
                "proc.vpid" => Some(ProcKey::Vpid),
                "thread.vtid" => Some(ProcKey::Vtid),
                "container.name" => Some(ProcKey::Container),
                _ => None,
            })
            .collect()
    }
}

/// The last id of the `NSpid:` line of a `/proc/.../status` file: the id in
/// the innermost pid namespace.
fn ns_id(status: &[u8]) -> Option<&[u8]> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"NSpid:"))?;
    line.split(u8::is_ascii_whitespace).rfind(|f| !f.is_empty())
}

/// `container.name` of a sampled process: from the state's thread when it
/// knows it, else from the process's cgroups; `host` outside containers,
/// `None` while the container's metadata is unknown (the row is skipped, as
/// a chisel skips an event whose key has no value).
fn container_name(state: &State, t: Option<&Thread>, pid: &str) -> Option<Vec<u8>> {
    if let Some(t) = t {
        return match t.container_id() {
            None => Some(b"host".to_vec()),
            Some(_) => state
                .container(t)
                .map(|c| c.name.as_bytes().to_vec())
                .filter(|n| !n.is_empty()),
        };
    }
    let cgroups = std::fs::read(format!("/proc/{pid}/cgroup")).ok()?;
    // /proc lists one cgroup a line; the parser takes them NUL-separated.
    let cgroups: Vec<u8> = cgroups
        .iter()
        .map(|&b| if b == b'\n' { 0 } else { b })
        .collect();
    match container_id_from_cgroups(&cgroups) {
        None => Some(b"host".to_vec()),
        Some((_, id)) => state
            .container_by_id(id)
            .map(|c| c.name.as_bytes().to_vec())
            .filter(|n| !n.is_empty()),
    }
}

impl ThreadCpu {
    /// The live stand-in for `procinfo` events, which the probe does not
    /// synthesise: reads every thread's user + system ticks from `/proc` and
    /// adds each thread's share (as `thread.cpu` computes it) to
    /// `sums`, keyed by `keys` (the state names each thread's container;
    /// threads it does not know are mapped through their cgroups).
    fn sample_proc(
        &mut self,
        state: &State,
        keys: &[ProcKey],
        sums: &mut FxHashMap<Box<[u8]>, f64>,
    ) {
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
            let main = pid.parse::<i64>().ok().and_then(|n| state.thread(n));
            // Per process, read once: its container and its namespace pid.
            let mut container: Option<Option<Vec<u8>>> = None;
            let mut vpid: Option<Option<Vec<u8>>> = None;
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
                let thread = i64::try_from(tid)
                    .ok()
                    .and_then(|n| state.thread(n))
                    .or(main);
                key.clear();
                let mut complete = true;
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        key.extend_from_slice(SEP);
                    }
                    match k {
                        ProcKey::Name => key.extend_from_slice(comm),
                        ProcKey::Pid => key.extend_from_slice(pid.as_bytes()),
                        ProcKey::Vpid => {
                            let v = vpid.get_or_insert_with(|| match thread {
                                Some(th) => {
                                    Some(itoa::Buffer::new().format(th.vpid).as_bytes().to_vec())
                                }
                                None => std::fs::read(p.path().join("status"))
                                    .ok()
                                    .and_then(|s| ns_id(&s).map(<[u8]>::to_vec)),
                            });
                            match v {
                                Some(v) => key.extend_from_slice(v),
                                None => complete = false,
                            }
                        }
                        ProcKey::Vtid => {
                            let v = match thread.filter(|th| u64::try_from(th.tid) == Ok(tid)) {
                                Some(th) => {
                                    Some(itoa::Buffer::new().format(th.vtid).as_bytes().to_vec())
                                }
                                None => std::fs::read(t.path().join("status"))
                                    .ok()
                                    .and_then(|s| ns_id(&s).map(<[u8]>::to_vec)),
                            };
                            match v {
                                Some(v) => key.extend_from_slice(&v),
                                None => complete = false,
                            }
                        }
                        ProcKey::Container => {
                            match container
                                .get_or_insert_with(|| container_name(state, thread, pid))
                            {
                                Some(n) => key.extend_from_slice(n),
                                None => complete = false,
                            }
                        }
                    }
                }
                if complete {
                    *sums.entry(key.as_slice().into()).or_insert(0.0) += v * 1e7;
                }
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
    /// The key fields as the live CPU sampler reads them (`None`: not all
    /// of them can be read from `/proc`).
    proc_keys: Option<Vec<ProcKey>>,
    /// Sums per grouping key (key values joined by [`SEP`]).
    sums: FxHashMap<Box<[u8]>, f64>,
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
        let proc_keys = if cpu {
            ProcKey::for_fields(&spec.keys)
        } else {
            None
        };
        Ok(Self {
            name: name.to_owned(),
            spec,
            keys,
            value,
            filter,
            live: false,
            cpu: cpu.then(ThreadCpu::default),
            proc_keys,
            sums: FxHashMap::default(),
            key_buf: Vec::with_capacity(256),
            vals: Values::new(),
        })
    }

    /// The rows to print: sorted by value (descending, ties by key), cut to
    /// the table's size.
    fn rows(&self) -> Vec<(&[u8], f64)> {
        let mut rows: Vec<(&[u8], f64)> = self.sums.iter().map(|(k, v)| (&**k, *v)).collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        if self.spec.top > 0 {
            rows.truncate(self.spec.top);
        }
        rows
    }

    /// Writes the table as sysdig's JSON document: `ts` (the whole second of
    /// `ts`, in ns, as a string), `data` (one array per row: the key values
    /// as strings, then the raw sum) and `info` (the columns). As in sysdig,
    /// the value column always takes the third place of `info`: a one-key
    /// table has a `null` there, and a table of three or more keys loses its
    /// third key's entry.
    fn print_json(&mut self, ts: u64, out: &mut dyn Write) -> Result<(), Error> {
        let mut buf = Vec::with_capacity(4096);
        buf.extend_from_slice(b"{\n  \"ts\":\"");
        let whole = ts - ts % SECOND;
        buf.extend_from_slice(itoa::Buffer::new().format(whole).as_bytes());
        buf.extend_from_slice(b"\",\n  \"data\":[");
        for (i, (key, v)) in self.rows().into_iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.push(b'[');
            for p in split_key(key) {
                json_string(&mut buf, p);
                buf.push(b',');
            }
            if v.is_finite() {
                lua_number(&mut buf, v);
            } else {
                buf.extend_from_slice(b"null");
            }
            buf.push(b']');
        }
        buf.extend_from_slice(b"],\n  \"info\":[");
        let value_name = if self.spec.cpu {
            // sysdig's CPU chisels name the field they would sum, not thread.cpu.
            "thread.exectime"
        } else {
            self.spec.value.as_str()
        };
        let mut cols: Vec<Option<(&str, &str, bool)>> = self
            .spec
            .keys
            .iter()
            .zip(&self.spec.key_descs)
            .map(|(k, d)| Some((k.as_str(), d.as_str(), true)))
            .collect();
        if cols.len() < 3 {
            cols.resize(3, None);
        }
        cols[2] = Some((value_name, self.spec.value_desc.as_str(), false));
        for (i, c) in cols.into_iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            let Some((name, desc, is_key)) = c else {
                buf.extend_from_slice(b"null");
                continue;
            };
            buf.extend_from_slice(b"{\n      \"desc\":");
            json_string(&mut buf, desc.as_bytes());
            buf.extend_from_slice(b",\n      \"is_key\":");
            buf.extend_from_slice(if is_key { b"true" } else { b"false" });
            buf.extend_from_slice(b",\n      \"name\":");
            json_string(&mut buf, name.as_bytes());
            buf.extend_from_slice(b"\n    }");
        }
        buf.extend_from_slice(b"]\n}\n");
        out.write_all(&buf)?;
        self.sums.clear();
        Ok(())
    }

    /// Writes the table (text, or JSON with `-j`) and clears it.
    fn print(&mut self, ts: u64, delta: u64, out: &mut dyn Write) -> Result<(), Error> {
        if self.spec.json {
            return self.print_json(ts, out);
        }
        let mut buf = Vec::with_capacity(4096);
        extend(&mut buf, self.spec.value_desc.as_bytes());
        for d in &self.spec.key_descs {
            extend(&mut buf, d.as_bytes());
        }
        buf.push(b'\n');
        buf.extend_from_slice(RULE);
        let rows = self.rows();
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

/// Appends `s` as a JSON string the way sysdig's Lua JSON encoder writes it:
/// `"` and `\\` escaped, control characters as `\\b \\f \\n \\r \\t` or
/// `\\u00XX`, and the invisible or line-breaking code points it escapes
/// (U+0080–U+009F, U+00AD, U+0600–U+0604, U+070F, U+17B4–U+17B5,
/// U+200C–U+200F, U+2028–U+202F, U+2060–U+206F, U+FEFF, U+FFF0–U+FFFF) as
/// `\\uXXXX`; other bytes, valid UTF-8 or not, are copied.
pub(crate) fn json_string(buf: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let escape = |buf: &mut Vec<u8>, cp: u32| {
        buf.extend_from_slice(b"\\u");
        for shift in [12, 8, 4, 0] {
            buf.push(HEX[((cp >> shift) & 0xf) as usize]);
        }
    };
    buf.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        match b {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            0x08 => buf.extend_from_slice(b"\\b"),
            0x0c => buf.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => escape(buf, u32::from(b)),
            0xc2 | 0xd8 | 0xdc | 0xe1 | 0xe2 | 0xef => {
                let len = if b < 0xe0 { 2 } else { 3 };
                let cp = s
                    .get(i..i + len)
                    .and_then(|c| std::str::from_utf8(c).ok())
                    .and_then(|c| c.chars().next())
                    .map(u32::from);
                match cp {
                    Some(
                        cp @ (0x80..=0x9f
                        | 0xad
                        | 0x600..=0x604
                        | 0x70f
                        | 0x17b4..=0x17b5
                        | 0x200c..=0x200f
                        | 0x2028..=0x202f
                        | 0x2060..=0x206f
                        | 0xfeff
                        | 0xfff0..=0xffff),
                    ) => {
                        escape(buf, cp);
                        i += len;
                        continue;
                    }
                    _ => buf.push(b),
                }
            }
            _ => buf.push(b),
        }
        i += 1;
    }
    buf.push(b'"');
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

/// `%.2f` as LuaJIT prints it: an exact tie (`53.625`) rounds away from zero,
/// where Rust (and glibc) round it to even.
pub(crate) fn lua_fixed2(buf: &mut Vec<u8>, v: f64) {
    let exact = format!("{:.60}", v.abs());
    let tail = exact
        .split_once('.')
        .map_or("", |(_, f)| f.get(2..).unwrap_or(""));
    let tie = tail.starts_with('5') && tail.bytes().skip(1).all(|b| b == b'0');
    let v = if tie { v + 0.001_f64.copysign(v) } else { v };
    let _ = write!(buf, "{v:.2}");
}

/// sysdig's `format_bytes` (`504B`, `7.19KB`, `53.63KB`).
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
            lua_fixed2(buf, v / div);
            buf.extend_from_slice(suffix.as_bytes());
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
        if self.live && !self.spec.json {
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
        self.vals.clear();
        if !ctx.extract(&self.value, &mut self.vals) {
            return Ok(Flow::Continue);
        }
        let v = match self.vals.items().first().and_then(as_number) {
            // A CPU table keeps every sample (in ns of a 10 ms tick).
            Some(c) if self.cpu.is_some() => c * 1e7,
            Some(v) if v > 0.0 => v,
            _ => return Ok(Flow::Continue),
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
        ts: u64,
        delta: u64,
        host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<Flow, Error> {
        // Live CPU tables sample /proc: the probe makes no procinfo events.
        if let (Some(cpu), Some(keys)) = (self.cpu.as_mut(), self.proc_keys.as_deref()) {
            cpu.sample_proc(host.state, keys, &mut self.sums);
        }
        if !self.spec.json {
            out.write_all(b"\x1b[2J\x1b[0;0H")?;
        }
        self.print(ts, delta, out)?;
        out.flush()?;
        Ok(Flow::Continue)
    }

    fn on_capture_end(
        &mut self,
        ts: u64,
        delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        if self.live && !self.spec.json {
            out.write_all(b"\x1b[2J\x1b[0;0H\x1b[?25h")?;
            return Ok(());
        }
        self.print(ts, delta, out)
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
        // An exact tie rounds up, as LuaJIT's %.2f does (54,912 B = 53.625 KB).
        assert_eq!(s(|b| format_bytes(b, 54_912.0)), "53.63KB");
        assert_eq!(s(|b| format_bytes(b, 54_900.0)), "53.61KB");
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
    fn namespace_ids() {
        let status = b"Name:\tsh\nTgid:\t42\nNSpid:\t4242\t7\nNSpgid:\t1\n";
        assert_eq!(ns_id(status), Some(&b"7"[..]));
        assert_eq!(ns_id(b"NSpid:\t99\n"), Some(&b"99"[..]));
        assert_eq!(ns_id(b"Name:\tx\n"), None);
    }

    #[test]
    fn live_cpu_keys() {
        let keys = |k: &[&str]| {
            ProcKey::for_fields(&k.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(keys(&["container.name"]), Some(vec![ProcKey::Container]));
        assert_eq!(
            keys(&["proc.name", "proc.pid", "proc.vpid", "container.name"]),
            Some(vec![
                ProcKey::Name,
                ProcKey::Pid,
                ProcKey::Vpid,
                ProcKey::Container
            ])
        );
        assert_eq!(keys(&["fd.name"]), None);
    }

    #[test]
    fn host_processes_are_in_the_host_container() {
        // A state that knows no thread maps our own process through its cgroups.
        let state = State::new();
        let me = std::process::id().to_string();
        let cg = std::fs::read(format!("/proc/{me}/cgroup")).unwrap_or_default();
        let cg: Vec<u8> = cg.iter().map(|&b| if b == b'\n' { 0 } else { b }).collect();
        let name = container_name(&state, None, &me);
        if container_id_from_cgroups(&cg).is_none() {
            assert_eq!(name.as_deref(), Some(&b"host"[..]));
        } else {
            // Inside a container whose metadata the empty state lacks.
            assert_eq!(name, None);
        }
    }

    #[test]
    fn proc_stat_lines() {
        let line = b"42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat(line), Some((&b"my (odd) name"[..], 10)));
        assert_eq!(parse_stat(b"garbage"), None);
    }

    #[test]
    fn unknown_field_is_reported() {
        let e = request_field("no.such").unwrap_err();
        assert!(e.to_string().contains("nonexistent field no.such"), "{e}");
        assert!(request_field("evt.rawarg.res").is_ok());
        assert!(request_field("proc.aname[2]").is_ok());
    }
}
