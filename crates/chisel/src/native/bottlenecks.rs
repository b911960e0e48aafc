//! `bottlenecks`: the 10 system calls that took longest to return, each
//! printed at the end as its enter line and its exit line.

use super::table::{as_number, push_field_text, request_field};
use super::Native;
use crate::{Chisel, ChiselInfo, Error, EventCtx, Flow, Host, Options};
use osprey_filter::fields::syscall::Env;
use osprey_filter::{Extract, FieldRef, Values};
use std::collections::HashMap;
use std::io::Write;

/// The number of calls kept.
const HOW_MANY: usize = 10;

/// One slow call: its latency (ns), the enter line of its thread (if one was
/// seen) and its exit line.
#[derive(Debug)]
struct Slow {
    latency: f64,
    enter: Option<Box<[u8]>>,
    exit: Box<[u8]>,
}

/// A running `bottlenecks`.
#[derive(Debug)]
struct Bottlenecks {
    /// The chisel's rendering settings: `evt.args` buffers uncut, as sysdig
    /// gives them to chisels.
    env: Env,
    tracker: Tracker,
}

/// The slowest calls seen so far, and what finding them needs.
#[derive(Debug)]
struct Tracker {
    etype: FieldRef,
    args: FieldRef,
    latency: FieldRef,
    proc_name: FieldRef,
    tid: FieldRef,
    /// Slowest first; equal latencies in arrival order.
    slow: Vec<Slow>,
    /// The last enter line of each thread, reused in place.
    enters: HashMap<i64, Vec<u8>>,
    vals: Values,
    ty: Vec<u8>,
    line: Vec<u8>,
}

impl Tracker {
    /// Writes `N) S.NNNNNNNNN name (tid) D type args` into `self.line`.
    fn write_line(&mut self, ctx: &EventCtx<'_>, tid: i64, latency: u64, dir: u8) {
        self.line.clear();
        let _ = write!(
            self.line,
            "{}) {}.{:09} ",
            ctx.num,
            latency / 1_000_000_000,
            latency % 1_000_000_000
        );
        push_field_text(ctx, &self.proc_name, &mut self.vals, &mut self.line);
        let _ = write!(self.line, " ({tid}) {} ", char::from(dir));
        self.line.extend_from_slice(&self.ty);
        self.line.push(b' ');
        push_field_text(ctx, &self.args, &mut self.vals, &mut self.line);
    }
}

impl Tracker {
    fn event(&mut self, ctx: &EventCtx<'_>) -> Result<Flow, Error> {
        self.ty.clear();
        push_field_text(ctx, &self.etype, &mut self.vals, &mut self.ty);
        if self.ty == b"switch" {
            return Ok(Flow::Continue);
        }
        self.vals.clear();
        let latency = if ctx.extract(&self.latency, &mut self.vals) {
            self.vals.items().first().and_then(as_number)
        } else {
            None
        };
        let Some(latency) = latency else {
            return Ok(Flow::Continue);
        };
        self.vals.clear();
        let tid = if ctx.extract(&self.tid, &mut self.vals) {
            self.vals
                .items()
                .first()
                .and_then(as_number)
                .map_or(0, |t| {
                    #[allow(clippy::cast_possible_truncation)] // a tid
                    let t = t as i64;
                    t
                })
        } else {
            0
        };
        if latency == 0.0 {
            self.write_line(ctx, tid, 0, b'>');
            let slot = self.enters.entry(tid).or_default();
            slot.clear();
            slot.extend_from_slice(&self.line);
            return Ok(Flow::Continue);
        }
        // Only a call slower than one kept (or a free slot) is inserted.
        let at = (0..HOW_MANY).find(|&j| self.slow.get(j).is_none_or(|s| latency > s.latency));
        if let Some(j) = at {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // ns
            self.write_line(ctx, tid, latency as u64, b'<');
            let enter = self.enters.get(&tid).map(|l| l.as_slice().into());
            self.slow.insert(
                j,
                Slow {
                    latency,
                    enter,
                    exit: self.line.as_slice().into(),
                },
            );
            self.slow.truncate(HOW_MANY);
        }
        Ok(Flow::Continue)
    }
}

impl Chisel for Bottlenecks {
    fn name(&self) -> &str {
        "bottlenecks"
    }

    fn on_event(&mut self, host_ctx: &EventCtx<'_>, _out: &mut dyn Write) -> Result<Flow, Error> {
        self.env.render.buf = host_ctx.env.render.buf;
        let ctx = EventCtx {
            ev: host_ctx.ev,
            state: host_ctx.state,
            num: host_ctx.num,
            env: &self.env,
        };
        self.tracker.event(&ctx)
    }

    fn on_capture_end(
        &mut self,
        _ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let mut buf = Vec::with_capacity(4096);
        for s in &self.tracker.slow {
            // Lua prints a missing enter line as `nil`.
            buf.extend_from_slice(s.enter.as_deref().unwrap_or(b"nil"));
            buf.push(b'\n');
            buf.extend_from_slice(&s.exit);
            buf.push(b'\n');
        }
        out.write_all(&buf)?;
        Ok(())
    }
}

fn build(_name: &str, _args: &[String], _opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    Ok(Box::new(Bottlenecks {
        env: no_cut_env(),
        tracker: Tracker {
            etype: request_field("evt.type")?,
            args: request_field("evt.args")?,
            latency: request_field("evt.latency")?,
            proc_name: request_field("proc.name")?,
            tid: request_field("thread.tid")?,
            slow: Vec::with_capacity(HOW_MANY + 1),
            enters: HashMap::new(),
            vals: Values::new(),
            ty: Vec::with_capacity(32),
            line: Vec::with_capacity(512),
        },
    }))
}

fn no_cut_env() -> Env {
    let mut env = Env::default();
    env.render.buf_limit = None;
    env
}

/// `bottlenecks`.
pub(super) fn natives() -> [Native; 1] {
    [Native {
        name: "bottlenecks",
        info: ChiselInfo {
            name: "bottlenecks".to_owned(),
            category: "Performance".to_owned(),
            short_description: "Slowest system calls".to_owned(),
            description: "Lists the 10 system calls that took the longest to return during the capture interval.".to_owned(),
            args: Vec::new(),
            hidden: false,
        },
        build,
    }]
}
