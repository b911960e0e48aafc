//! `fileslower`, `netlower` and `scallslower`: one line per system call
//! (file I/O, network I/O, any) that took longer than a threshold in ms,
//! coloured green on the host and blue in a container, with container
//! columns under `-pc`.

use super::table::{as_number, compile_filter, lua_number, push_field_text, request_field};
use super::Native;
use crate::{ArgInfo, Chisel, ChiselInfo, Error, EventCtx, Flow, Host, Options};
use osprey_filter::{Extract, FieldRef, Filter, Values};
use std::io::Write;

const GREEN: &[u8] = b"\x1b[32m";
const BLUE: &[u8] = b"\x1b[34m";

/// Which calls a [`Slower`] traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// File I/O, except on `/dev/...`; latency shown in whole ms.
    File,
    /// Network I/O; latency shown in whole ms.
    Net,
    /// Any call; latency shown as a Lua number of ms.
    Scall,
}

/// The fields a [`Slower`] reads.
#[derive(Debug)]
struct Fields {
    etype: FieldRef,
    dir: FieldRef,
    datetime: FieldRef,
    fd_name: FieldRef,
    proc_name: FieldRef,
    latency: FieldRef,
    container_name: FieldRef,
    container_id: FieldRef,
}

/// A running slow-call tracer.
#[derive(Debug)]
struct Slower {
    name: &'static str,
    kind: Kind,
    min_ms: f64,
    colors: bool,
    print_container: bool,
    filter: Option<Filter>,
    fields: Fields,
    header_done: bool,
    vals: Values,
    line: Vec<u8>,
    cell: Vec<u8>,
}

/// Appends `s` as C's `%-W.Ps` does (bytes, left-aligned).
fn left(buf: &mut Vec<u8>, s: &[u8], width: usize, prec: Option<usize>) {
    let s = match prec {
        Some(p) => s.get(..p).unwrap_or(s),
        None => s,
    };
    buf.extend_from_slice(s);
    if s.len() < width {
        buf.resize(buf.len() + width - s.len(), b' ');
    }
}

/// `%d` of a Lua number: truncated toward zero.
#[allow(clippy::cast_possible_truncation)] // as LuaJIT's %d does
fn trunc(v: f64) -> i64 {
    v as i64
}

impl Slower {
    /// Appends the text of `field` to `self.cell` (cleared first); `false`
    /// when the field has no value.
    fn text(&mut self, ctx: &EventCtx<'_>, field: Which) -> bool {
        self.cell.clear();
        let f = match field {
            Which::Datetime => &self.fields.datetime,
            Which::ProcName => &self.fields.proc_name,
            Which::Type => &self.fields.etype,
            Which::ContainerId => &self.fields.container_id,
            Which::ContainerName => &self.fields.container_name,
            Which::FdName => &self.fields.fd_name,
            Which::Dir => &self.fields.dir,
        };
        push_field_text(ctx, f, &mut self.vals, &mut self.cell)
    }

    fn header(&self, out: &mut dyn Write) -> Result<(), Error> {
        let mut b = Vec::with_capacity(512);
        let dashes = |n: usize| vec![b'-'; n];
        match (self.kind, self.print_container) {
            (Kind::Scall, true) => {
                left(&mut b, b"evt.datetime", 23, Some(23));
                b.push(b' ');
                left(&mut b, b"container.id", 20, Some(20));
                b.extend_from_slice(b"  ");
                left(&mut b, b"container.name", 20, Some(20));
                b.push(b' ');
                left(&mut b, b"proc.name", 23, Some(23));
                b.push(b' ');
                left(&mut b, b"LATENCY(ms)", 20, None);
                b.extend_from_slice(b" evt.type\n");
                for (i, n) in [23, 20, 20, 23, 20].into_iter().enumerate() {
                    if i > 0 {
                        b.push(b' ');
                    }
                    left(&mut b, &dashes(n), n, None);
                }
                b.push(b' ');
                b.extend_from_slice(&dashes(20));
                b.push(b'\n');
            }
            (Kind::Scall, false) => {
                left(&mut b, b"evt.datetime", 23, Some(23));
                b.push(b' ');
                left(&mut b, b"proc.name", 23, Some(23));
                b.push(b' ');
                left(&mut b, b"LATENCY(ms)", 20, None);
                b.extend_from_slice(b" evt.type\n");
                for n in [23, 23, 20] {
                    left(&mut b, &dashes(n), n, None);
                    b.push(b' ');
                }
                b.extend_from_slice(&dashes(20));
                b.push(b'\n');
            }
            (_, pc) => {
                // The dashes of the container columns are cut to 20.
                let mut cols: Vec<(&[u8], &[u8], usize, bool)> = Vec::new();
                let d23 = dashes(23);
                let d30 = dashes(30);
                let d12 = dashes(12);
                let d8 = dashes(8);
                cols.push((b"evt.datetime", &d23, 23, true));
                if pc {
                    cols.push((b"container.id", &d30, 20, true));
                    cols.push((b"container.name", &d30, 20, true));
                }
                cols.push((b"proc.name", &d12, 12, true));
                cols.push((b"evt.type", &d8, 8, false));
                cols.push((b"LATENCY(ms)", &d12, 12, false));
                for row in 0..2 {
                    for &(title, dash, w, cut) in &cols {
                        let s = if row == 0 { title } else { dash };
                        left(&mut b, s, w, cut.then_some(w));
                        b.push(b' ');
                    }
                    if row == 0 {
                        b.extend_from_slice(b"fd.name\n");
                    } else {
                        b.extend_from_slice(&dashes(41));
                        b.push(b'\n');
                    }
                }
            }
        }
        out.write_all(&b)?;
        Ok(())
    }
}

/// The fields [`Slower::text`] reads.
#[derive(Debug, Clone, Copy)]
enum Which {
    Datetime,
    ProcName,
    Type,
    ContainerId,
    ContainerName,
    FdName,
    Dir,
}

impl Chisel for Slower {
    fn name(&self) -> &str {
        self.name
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn on_capture_start(&mut self, _host: &Host<'_>, out: &mut dyn Write) -> Result<(), Error> {
        // sysdig prints the header once, when the chisel starts.
        if !self.header_done {
            self.header_done = true;
            self.header(out)?;
        }
        Ok(())
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        self.vals.clear();
        if !ctx.extract(&self.fields.latency, &mut self.vals) {
            return Ok(Flow::Continue);
        }
        let Some(lat) = self.vals.items().first().and_then(as_number) else {
            return Ok(Flow::Continue);
        };
        let lat = lat / 1_000_000.0;
        // Lua's `lat > min_ms`: false for NaN as well.
        if lat.partial_cmp(&self.min_ms) != Some(std::cmp::Ordering::Greater) {
            return Ok(Flow::Continue);
        }
        self.line.clear();
        if self.kind != Kind::Scall {
            if !self.text(ctx, Which::Dir) || self.cell != b"<" {
                return Ok(Flow::Continue);
            }
            self.text(ctx, Which::FdName);
            if self.kind == Kind::File && self.cell.starts_with(b"/dev/") {
                return Ok(Flow::Continue);
            }
        }
        if self.colors {
            self.text(ctx, Which::ContainerName);
            let host = self.cell == b"host";
            self.line.extend_from_slice(if host { GREEN } else { BLUE });
        }
        self.text(ctx, Which::Datetime);
        left(&mut self.line, &self.cell, 23, Some(23));
        self.line.push(b' ');
        if self.print_container {
            self.text(ctx, Which::ContainerId);
            left(&mut self.line, &self.cell, 20, Some(20));
            self.line.push(b' ');
            self.text(ctx, Which::ContainerName);
            left(&mut self.line, &self.cell, 20, Some(20));
            self.line.push(b' ');
        }
        self.text(ctx, Which::ProcName);
        if self.kind == Kind::Scall {
            left(&mut self.line, &self.cell, 23, Some(23));
            self.line.push(b' ');
            self.cell.clear();
            lua_number(&mut self.cell, lat);
            left(&mut self.line, &self.cell, 20, None);
            self.line.push(b' ');
            self.text(ctx, Which::Type);
            self.line.extend_from_slice(&self.cell);
        } else {
            left(&mut self.line, &self.cell, 12, Some(12));
            self.line.push(b' ');
            self.text(ctx, Which::Type);
            left(&mut self.line, &self.cell, 8, None);
            let _ = write!(self.line, " {:>12} ", trunc(lat));
            self.text(ctx, Which::FdName);
            self.line.extend_from_slice(&self.cell);
        }
        self.line.push(b'\n');
        out.write_all(&self.line)?;
        Ok(Flow::Continue)
    }
}

/// Lua's `tonumber` of a decimal or hexadecimal string.
fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        #[allow(clippy::cast_precision_loss)] // Lua numbers are doubles
        u64::from_str_radix(hex, 16).ok().map(|v| v as f64)?
    } else {
        let ok = !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
        if !ok {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn build(name: &str, args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let (name, kind, filter) = match name {
        "fileslower" => ("fileslower", Kind::File, "evt.is_io=true and fd.type=file"),
        "netlower" => (
            "netlower",
            Kind::Net,
            "evt.is_io=true and (fd.type=ipv4 or fd.type=ipv6)",
        ),
        "scallslower" => ("scallslower", Kind::Scall, ""),
        _ => return Err(Error::NotFound(name.to_owned())),
    };
    let min = args.first().map_or("", String::as_str);
    let min_ms = parse_number(min)
        .ok_or_else(|| Error::Args("Input min_ms must be a number.".to_owned()))?;
    // sysdig compares with `disable_color` (its usage text says `disable_colors`).
    let colors = args.get(1).is_none_or(|a| a != "disable_color");
    Ok(Box::new(Slower {
        name,
        kind,
        min_ms,
        colors,
        print_container: opts.print_container,
        filter: compile_filter(name, filter)?,
        fields: Fields {
            etype: request_field("evt.type")?,
            dir: request_field("evt.dir")?,
            datetime: request_field("evt.datetime")?,
            fd_name: request_field("fd.name")?,
            proc_name: request_field("proc.name")?,
            latency: request_field("evt.latency")?,
            container_name: request_field("container.name")?,
            container_id: request_field("container.id")?,
        },
        header_done: false,
        vals: Values::new(),
        line: Vec::with_capacity(256),
        cell: Vec::with_capacity(256),
    }))
}

fn info(name: &str, short: &str, long: &str, what: &str) -> ChiselInfo {
    const CONTAINERS: &str = "This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown. (Blue represents a process running within a container, and Green represents a host process)";
    ChiselInfo {
        name: name.to_owned(),
        category: "Performance".to_owned(),
        short_description: short.to_owned(),
        description: format!("{long} {CONTAINERS}"),
        args: vec![
            ArgInfo {
                name: "min_ms".to_owned(),
                description: what.to_owned(),
                argtype: "int".to_owned(),
                optional: false,
            },
            ArgInfo {
                name: "disable_color".to_owned(),
                description: "Set to 'disable_colors' if you want to disable color output"
                    .to_owned(),
                argtype: "string".to_owned(),
                optional: true,
            },
        ],
        hidden: false,
    }
}

/// `fileslower`, `netlower`, `scallslower`.
pub(super) fn natives() -> [Native; 3] {
    [
        Native {
            name: "fileslower",
            info: info(
                "fileslower",
                "Trace slow file I/O",
                "Trace file I/O slower than a threshold, or all file I/O.",
                "Minimum millisecond threshold for showing file I/O",
            ),
            build,
        },
        Native {
            name: "netlower",
            info: info(
                "netlower",
                "Trace slow network I/0",
                "Trace network I/O slower than a threshold, or all network I/O.",
                "Minimum millisecond threshold for showing network I/O",
            ),
            build,
        },
        Native {
            name: "scallslower",
            info: info(
                "scallslower",
                "Trace slow syscalls",
                "Trace syscalls slower than a threshold milliseconds.",
                "Minimum milliseconds before which a syscall should complete",
            ),
            build,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_like_tonumber() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number(" 1.5 "), Some(1.5));
        assert_eq!(parse_number("0x10"), Some(16.0));
        assert_eq!(parse_number("ten"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn left_aligns_and_cuts() {
        let mut b = Vec::new();
        left(&mut b, b"abcdef", 4, Some(3));
        assert_eq!(b, b"abc ");
        b.clear();
        left(&mut b, b"abcdef", 4, None);
        assert_eq!(b, b"abcdef");
    }

    #[test]
    fn bad_threshold_is_reported() {
        let e = build("fileslower", &["x".to_owned()], &Options::default()).err();
        assert!(e.is_some_and(|e| e.to_string().contains("must be a number")));
    }
}
