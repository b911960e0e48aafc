//! The per-event protocol between the host loop and one chisel: intervals in
//! event time, the chisel's filter, its callbacks.

use crate::{Chisel, Error, EventCtx, Flow, Host, Interval};
use osprey_filter::Filter;
use std::io::Write;

/// Drives one chisel through one input, as sysdig drives its chisels.
pub struct Runner {
    chisel: Box<dyn Chisel>,
    interval: Option<Interval>,
    clock: Clock,
}

/// An interval clock in event time, with sysdig's rules: the first event only
/// sets it; an aligned interval fires on the first event of each new bucket
/// (with the time since the previous callback), a precise one once per whole
/// period passed (with the period's start).
#[derive(Debug, Default)]
pub(crate) struct Clock {
    /// Whether the first event was seen.
    started: bool,
    /// Start of the current bucket (aligned) or of the next period (precise).
    sample: u64,
    /// Time of the event that made the previous aligned callback (0: none yet).
    last_cb_ts: u64,
}

impl Clock {
    /// Advances the clock to an event at `ts`, calling `fire(time, delta)` for
    /// each callback due, and stops at the first that ends the chisel.
    pub(crate) fn advance<F>(&mut self, iv: Interval, ts: u64, mut fire: F) -> Result<Flow, Error>
    where
        F: FnMut(u64, u64) -> Result<Flow, Error>,
    {
        if !self.started {
            self.started = true;
            self.sample = match iv {
                Interval::Aligned(p) => ts - ts % p.max(1),
                Interval::Precise(_) => ts,
            };
            return Ok(Flow::Continue);
        }
        match iv {
            Interval::Aligned(p) => {
                let sample = ts - ts % p.max(1);
                if sample == self.sample {
                    return Ok(Flow::Continue);
                }
                let delta = if self.last_cb_ts == 0 {
                    0
                } else {
                    ts.saturating_sub(self.last_cb_ts)
                };
                // An event as old as the last callback's (timestamps may step
                // back across CPUs) fires nothing.
                if self.last_cb_ts != 0 && delta == 0 {
                    return Ok(Flow::Continue);
                }
                self.sample = sample;
                self.last_cb_ts = ts;
                fire(ts, delta)
            }
            Interval::Precise(p) => {
                let p = p.max(1);
                while ts >= self.sample && ts - self.sample >= p {
                    let t = self.sample;
                    self.sample += p;
                    if fire(t, p)? == Flow::End {
                        return Ok(Flow::End);
                    }
                }
                Ok(Flow::Continue)
            }
        }
    }
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("chisel", &self.chisel.name())
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// Wraps a loaded chisel.
    pub fn new(chisel: Box<dyn Chisel>) -> Self {
        Self {
            chisel,
            interval: None,
            clock: Clock::default(),
        }
    }

    /// The chisel's name.
    pub fn name(&self) -> &str {
        self.chisel.name()
    }

    /// Starts an input: calls `on_capture_start`, then reads the chisel's
    /// interval (a chisel may choose it there, e.g. only when live).
    ///
    /// # Errors
    /// The chisel's.
    pub fn start(&mut self, host: &Host<'_>, out: &mut dyn Write) -> Result<(), Error> {
        self.chisel.on_capture_start(host, out)?;
        self.interval = self.chisel.interval();
        self.clock = Clock::default();
        Ok(())
    }

    /// Runs the interval logic for an event at `ts` (also for events the
    /// command-line filter dropped in a live capture).
    ///
    /// # Errors
    /// The chisel's.
    pub fn tick(&mut self, ts: u64, host: &Host<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        let Some(iv) = self.interval else {
            return Ok(Flow::Continue);
        };
        let chisel = &mut self.chisel;
        self.clock
            .advance(iv, ts, |t, delta| chisel.on_interval(t, delta, host, out))
    }

    /// Runs one event that passed the command-line filter: interval logic,
    /// the chisel's filter, then `on_event`.
    ///
    /// # Errors
    /// The chisel's.
    pub fn event(
        &mut self,
        ctx: &EventCtx<'_>,
        host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<Flow, Error> {
        if self.tick(ctx.ev.ts(), host, out)? == Flow::End {
            return Ok(Flow::End);
        }
        if let Some(f) = self.chisel.filter() {
            if !Filter::matches(f, ctx) {
                return Ok(Flow::Continue);
            }
        }
        self.chisel.on_event(ctx, out)
    }

    /// Ends an input: `on_capture_end` with the last event's time and the
    /// capture's span.
    ///
    /// # Errors
    /// The chisel's.
    pub fn end(
        &mut self,
        ts: u64,
        delta: u64,
        host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        self.chisel.on_capture_end(ts, delta, host, out)
    }
}
