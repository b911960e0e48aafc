//! `fdbytes_by`, `fdtime_by` and `fdcount_by`: FD activity grouped by a field
//! the user names.

use super::table::{push_field_text, request_field, Table, TableSpec, Units};
use super::Native;
use crate::{ArgInfo, Chisel, ChiselInfo, Error, EventCtx, Flow, Host, Options};
use osprey_filter::{Extract, FieldRef, Value, Values};
use std::collections::{HashMap, HashSet};
use std::io::Write;

fn key_arg() -> Vec<ArgInfo> {
    vec![ArgInfo {
        name: "key".to_owned(),
        description: "The filter field used for grouping".to_owned(),
        argtype: "string".to_owned(),
        optional: false,
    }]
}

fn info(name: &str, short: &str, long: &str) -> ChiselInfo {
    ChiselInfo {
        name: name.to_owned(),
        category: "I/O".to_owned(),
        short_description: short.to_owned(),
        description: long.to_owned(),
        args: key_arg(),
        hidden: false,
    }
}

fn key_of<'a>(name: &str, args: &'a [String]) -> Result<&'a str, Error> {
    args.first()
        .map(String::as_str)
        .ok_or_else(|| Error::Args(format!("missing arguments for chisel {name}")))
}

fn build_bytes(name: &str, args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let key = key_of(name, args)?;
    let spec = TableSpec {
        keys: vec![key.to_owned()],
        key_descs: vec![key.to_owned()],
        value: "evt.rawarg.res".to_owned(),
        value_desc: "Bytes".to_owned(),
        filter: "evt.is_io=true and evt.failed=false".to_owned(),
        top: 30,
        units: Units::Bytes,
        cpu: false,
        json: opts.json,
    };
    Ok(Box::new(Table::new(name, spec)?))
}

fn build_time(name: &str, args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let key = key_of(name, args)?;
    let spec = TableSpec {
        keys: vec![key.to_owned()],
        key_descs: vec![key.to_owned()],
        value: "evt.latency".to_owned(),
        value_desc: "Time".to_owned(),
        filter: "evt.is_io=true".to_owned(),
        top: 10,
        units: Units::Time,
        cpu: false,
        json: opts.json,
    };
    Ok(Box::new(Table::new(name, spec)?))
}

/// `fdcount_by KEY`: the number of distinct FDs (number and name) seen per key,
/// printed at the end as `key<TAB>count`, most first.
#[derive(Debug)]
struct FdCount {
    key: FieldRef,
    fd_num: FieldRef,
    fd_name: FieldRef,
    /// Distinct FDs per key (FD number in decimal, then its name).
    groups: HashMap<Box<[u8]>, HashSet<Box<[u8]>>>,
    key_buf: Vec<u8>,
    fd_buf: Vec<u8>,
    vals: Values,
}

fn build_count(name: &str, args: &[String], _opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let key = key_of(name, args)?;
    Ok(Box::new(FdCount {
        key: request_field(key)?,
        fd_num: request_field("fd.num")?,
        fd_name: request_field("fd.name")?,
        groups: HashMap::new(),
        key_buf: Vec::with_capacity(128),
        fd_buf: Vec::with_capacity(256),
        vals: Values::new(),
    }))
}

impl Chisel for FdCount {
    fn name(&self) -> &str {
        "fdcount_by"
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, _out: &mut dyn Write) -> Result<Flow, Error> {
        self.key_buf.clear();
        if !push_field_text(ctx, &self.key, &mut self.vals, &mut self.key_buf) {
            return Ok(Flow::Continue);
        }
        self.vals.clear();
        if !ctx.extract(&self.fd_num, &mut self.vals) {
            return Ok(Flow::Continue);
        }
        let num = match self.vals.items().first() {
            Some(Value::Int(n)) if *n > 0 => *n,
            _ => return Ok(Flow::Continue),
        };
        self.fd_buf.clear();
        self.fd_buf
            .extend_from_slice(itoa::Buffer::new().format(num).as_bytes());
        let start = self.fd_buf.len();
        if !push_field_text(ctx, &self.fd_name, &mut self.vals, &mut self.fd_buf)
            || self.fd_buf.len() == start
        {
            return Ok(Flow::Continue);
        }
        let set = match self.groups.get_mut(&self.key_buf[..]) {
            Some(s) => s,
            None => self
                .groups
                .entry(self.key_buf.as_slice().into())
                .or_default(),
        };
        if !set.contains(&self.fd_buf[..]) {
            set.insert(self.fd_buf.as_slice().into());
        }
        Ok(Flow::Continue)
    }

    fn on_capture_end(
        &mut self,
        _ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let mut rows: Vec<(&[u8], usize)> =
            self.groups.iter().map(|(k, s)| (&**k, s.len())).collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let mut buf = Vec::with_capacity(4096);
        for (k, n) in rows {
            buf.extend_from_slice(k);
            buf.push(b'\t');
            buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            buf.push(b'\n');
        }
        out.write_all(&buf)?;
        self.groups.clear();
        Ok(())
    }
}

/// `fdbytes_by`, `fdtime_by`, `fdcount_by`.
pub(super) fn natives() -> [Native; 3] {
    [
        Native {
            name: "fdbytes_by",
            info: info(
                "fdbytes_by",
                "I/O bytes, aggregated by an arbitrary filter field",
                "Sums the bytes read and written on FDs, grouped by the field given as the key, and lists the 30 keys with the most bytes.",
            ),
            build: build_bytes,
        },
        Native {
            name: "fdcount_by",
            info: info(
                "fdcount_by",
                "FD count, aggregated by an arbitrary filter field",
                "Counts the distinct FDs used, grouped by the field given as the key (for example the connections per process), and lists every key, most FDs first.",
            ),
            build: build_count,
        },
        Native {
            name: "fdtime_by",
            info: info(
                "fdtime_by",
                "FD time group by",
                "Sums the time spent in FD I/O, grouped by the field given as the key, and lists the 10 keys with the most time.",
            ),
            build: build_time,
        },
    ]
}
