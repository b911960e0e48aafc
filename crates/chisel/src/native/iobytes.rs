//! `iobytes`, `iobytes_net` and `iobytes_file`: the bytes read and written
//! (on any fd, on sockets, on files), printed every second of event time as
//! `HH:MM:SS in:R out:W tot:T`.

use super::table::{as_number, compile_filter, lua_number, request_field};
use super::Native;
use crate::{Chisel, ChiselInfo, Error, EventCtx, Flow, Host, Interval, Options};
use osprey_filter::timefmt::LocalClock;
use osprey_filter::{Extract, FieldRef, Filter, Value, Values};
use std::io::Write;

/// One second, the period.
const SECOND: u64 = 1_000_000_000;

/// A running byte counter.
#[derive(Debug)]
struct IoBytes {
    name: &'static str,
    filter: Option<Filter>,
    bytes: FieldRef,
    is_read: FieldRef,
    /// Sums as Lua numbers (doubles), as sysdig's chisel keeps them.
    read: f64,
    written: f64,
    clock: LocalClock,
    vals: Values,
}

impl Chisel for IoBytes {
    fn name(&self) -> &str {
        self.name
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn interval(&self) -> Option<Interval> {
        Some(Interval::Aligned(SECOND))
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, _out: &mut dyn Write) -> Result<Flow, Error> {
        self.vals.clear();
        if !ctx.extract(&self.bytes, &mut self.vals) {
            return Ok(Flow::Continue);
        }
        let bytes = match self.vals.items().first().and_then(as_number) {
            Some(b) if b > 0.0 => b,
            _ => return Ok(Flow::Continue),
        };
        self.vals.clear();
        let read = ctx.extract(&self.is_read, &mut self.vals)
            && matches!(self.vals.items().first(), Some(Value::Bool(true)));
        if read {
            self.read += bytes;
        } else {
            self.written += bytes;
        }
        Ok(Flow::Continue)
    }

    fn on_interval(
        &mut self,
        ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<Flow, Error> {
        let mut line = Vec::with_capacity(64);
        self.clock.time_s(&mut line, ts);
        line.extend_from_slice(b" in:");
        lua_number(&mut line, self.read);
        line.extend_from_slice(b" out:");
        lua_number(&mut line, self.written);
        line.extend_from_slice(b" tot:");
        // The total is summed on its own in sysdig; the same additions in
        // another order could differ only past 2^53 bytes.
        lua_number(&mut line, self.read + self.written);
        line.push(b'\n');
        out.write_all(&line)?;
        self.read = 0.0;
        self.written = 0.0;
        Ok(Flow::Continue)
    }
}

/// (name, category, short description, long description, filter).
const KINDS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "iobytes",
        "I/O",
        "Sum of I/O bytes on any type of FD",
        "Counts the total bytes read from and written to any type of FD (disk, socket, pipe...) and prints the result every second.",
        "evt.is_io=true",
    ),
    (
        "iobytes_file",
        "I/O",
        "Sum of file I/O bytes",
        "Counts the total bytes read from and written to files.",
        "evt.is_io=true and fd.type=file",
    ),
    (
        "iobytes_net",
        "Net",
        "Show total network I/O bytes",
        "Counts the total bytes read from and written to the network, and prints the result every second",
        "evt.is_io=true and (fd.type=ipv4 or fd.type=ipv6)",
    ),
];

fn build(name: &str, _args: &[String], _opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let &(name, _, _, _, filter) = KINDS
        .iter()
        .find(|k| k.0 == name)
        .ok_or_else(|| Error::NotFound(name.to_owned()))?;
    Ok(Box::new(IoBytes {
        name,
        filter: compile_filter(name, filter)?,
        bytes: request_field("evt.rawarg.res")?,
        is_read: request_field("evt.is_io_read")?,
        read: 0.0,
        written: 0.0,
        clock: LocalClock::new(),
        vals: Values::new(),
    }))
}

/// `iobytes`, `iobytes_file`, `iobytes_net`.
pub(super) fn natives() -> impl Iterator<Item = Native> {
    KINDS
        .iter()
        .map(|&(name, category, short, long, _)| Native {
            name,
            info: ChiselInfo {
                name: name.to_owned(),
                category: category.to_owned(),
                short_description: short.to_owned(),
                description: long.to_owned(),
                args: Vec::new(),
                hidden: false,
            },
            build,
        })
}
