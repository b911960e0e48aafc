//! Field reading for the spy, echo and HTTP chisels: values as a sysdig Lua
//! chisel's `evt.field` sees them (buffers uncut, in the chisel's preferred
//! format unless the user chose one), written into reused buffers.

use super::table::{push_field_text, request_field};
use crate::{Error, EventCtx};
use osprey_event::render::BufFormat;
use osprey_filter::fields::syscall::Env;
use osprey_filter::format::Format;
use osprey_filter::{Extract, FieldRef, Value, Values};

/// ANSI colours, as sysdig's `ansiterminal` module writes them.
pub(super) mod color {
    /// Back to the default colours.
    pub(in crate::native) const RESET: &[u8] = b"\x1b[0m";
    /// Red text.
    pub(in crate::native) const RED: &[u8] = b"\x1b[31m";
    /// Green text.
    pub(in crate::native) const GREEN: &[u8] = b"\x1b[32m";
    /// Yellow text.
    pub(in crate::native) const YELLOW: &[u8] = b"\x1b[33m";
    /// Blue text.
    pub(in crate::native) const BLUE: &[u8] = b"\x1b[34m";
    /// Cyan text.
    pub(in crate::native) const CYAN: &[u8] = b"\x1b[36m";

    /// The colour sequence `c`, or nothing when colours are off.
    pub(in crate::native) fn paint(on: bool, c: &'static [u8]) -> &'static [u8] {
        if on {
            c
        } else {
            b""
        }
    }

    /// What the colouring chisels write when the capture ends: back to the
    /// default colours (when on), then a newline.
    pub(in crate::native) fn end(
        on: bool,
        out: &mut dyn std::io::Write,
    ) -> Result<(), super::Error> {
        out.write_all(paint(on, RESET))?;
        out.write_all(b"\n")?;
        Ok(())
    }
}

/// Reads fields with the chisel's own rendering settings.
#[derive(Debug)]
pub(super) struct Reader {
    /// The chisel's settings: buffers uncut, in [`Reader::prefer`] or the
    /// user's format.
    env: Env,
    /// The buffer format the chisel asks for when the user chose none
    /// (`sysdig.set_output_format`).
    prefer: BufFormat,
    vals: Values,
}

impl Reader {
    /// A reader whose buffers default to `prefer`.
    pub(super) fn new(prefer: BufFormat) -> Self {
        let mut env = Env::default();
        env.render.buf_limit = None;
        Reader {
            env,
            prefer,
            vals: Values::new(),
        }
    }

    /// Takes the user's settings from the host's context; call once per event
    /// before reading.
    pub(super) fn begin(&mut self, host: &EventCtx<'_>) {
        self.env.render.buf = match host.env.render.buf {
            BufFormat::Normal => self.prefer,
            b => b,
        };
        self.env.time_mode = host.env.time_mode;
        self.env.first_ts.set(host.env.first_ts.get());
        self.env.prev_match_ts.set(host.env.prev_match_ts.get());
        self.env.prev_print_ts.set(host.env.prev_print_ts.get());
    }

    /// The buffer format in force for the current event.
    pub(super) fn buf_format(&self) -> BufFormat {
        self.env.render.buf
    }

    /// The host's event seen through this reader's settings.
    fn ctx<'a>(env: &'a Env, host: &EventCtx<'a>) -> EventCtx<'a> {
        EventCtx {
            ev: host.ev,
            state: host.state,
            num: host.num,
            env,
        }
    }

    /// Appends the text of `field` (its first value); `false` when it has none.
    pub(super) fn text(
        &mut self,
        host: &EventCtx<'_>,
        field: &FieldRef,
        out: &mut Vec<u8>,
    ) -> bool {
        let ctx = Self::ctx(&self.env, host);
        push_field_text(&ctx, field, &mut self.vals, out)
    }

    /// The first value of `field`, if it has one.
    pub(super) fn value(&mut self, host: &EventCtx<'_>, field: &FieldRef) -> Option<Value> {
        let ctx = Self::ctx(&self.env, host);
        self.vals.clear();
        if !ctx.extract(field, &mut self.vals) {
            return None;
        }
        self.vals.items().first().copied()
    }

    /// The first value of `field` as an integer, if it is one.
    pub(super) fn int(&mut self, host: &EventCtx<'_>, field: &FieldRef) -> Option<i64> {
        match self.value(host, field)? {
            Value::Int(n) => Some(n),
            Value::Uint(n) => i64::try_from(n).ok(),
            #[allow(clippy::cast_possible_truncation)] // Lua numbers used as integers
            Value::Double(d) => Some(d as i64),
            _ => None,
        }
    }

    /// The first value of `field` as a boolean, if it is one.
    pub(super) fn boolean(&mut self, host: &EventCtx<'_>, field: &FieldRef) -> Option<bool> {
        match self.value(host, field)? {
            Value::Bool(b) => Some(b),
            Value::Int(n) => Some(n != 0),
            Value::Uint(n) => Some(n != 0),
            _ => None,
        }
    }

    /// Appends the event's line in `fmt` (as `chisel.set_event_formatter`
    /// prints it); `false` when a field of the format has no value.
    pub(super) fn format(&mut self, host: &EventCtx<'_>, fmt: &Format, out: &mut Vec<u8>) -> bool {
        let ctx = Self::ctx(&self.env, host);
        fmt.write_text(&ctx, &mut self.vals, out)
    }

    /// The raw bytes of `field` (a string or buffer), appended to `out`.
    pub(super) fn bytes(
        &mut self,
        host: &EventCtx<'_>,
        field: &FieldRef,
        out: &mut Vec<u8>,
    ) -> bool {
        match self.value(host, field) {
            Some(Value::Bytes(s, e)) => {
                out.extend_from_slice(self.vals.bytes(s, e));
                true
            }
            _ => false,
        }
    }
}

/// Resolves every name in `names`, in order.
pub(super) fn request_all<const N: usize>(names: [&str; N]) -> Result<[FieldRef; N], Error> {
    let mut v = Vec::with_capacity(N);
    for n in names {
        v.push(request_field(n)?);
    }
    v.try_into()
        .map_err(|_| Error::Args("field count mismatch".to_owned()))
}

/// Appends `s` cut to and padded to `width` bytes (`%-W.Ws`).
pub(super) fn pad_cut(out: &mut Vec<u8>, s: &[u8], width: usize) {
    let s = &s[..s.len().min(width)];
    out.extend_from_slice(s);
    out.resize(out.len() + (width - s.len()), b' ');
}
