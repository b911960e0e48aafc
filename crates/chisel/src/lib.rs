//! Chisels: small analyses that run over the event stream, as sysdig's `-c` runs them.
//!
//! A chisel is anything that implements [`Chisel`]. The host (the `osprey` CLI)
//! owns the loop:
//!
//! 1. the event is parsed into [`State`];
//! 2. for each chisel, the interval logic runs first ([`Chisel::interval`],
//!    [`Chisel::on_interval`]), on every event, even one the chisel's filter
//!    will reject, because the clock is driven by event time;
//! 3. the chisel's own filter ([`Chisel::filter`]) is applied;
//! 4. [`Chisel::on_event`] is called; [`Flow::End`] ends the capture.
//!
//! At the end of each input, [`Chisel::on_capture_end`] runs once.
//!
//! [`Runner`] implements that loop for one chisel; [`load`] and [`info`] find
//! chisels by name (native ones in [`native`] first, then Lua scripts on
//! [`search_dirs`]); [`args::split`] turns the `-c NAME 'ARGS'` token into
//! values; [`write_list`] and [`write_info`] print `-cl` and `-i`.
//!
//! ```
//! let info = osprey_chisel::info("fdbytes_by").unwrap();
//! assert_eq!(info.args.len(), 1);
//! let values = osprey_chisel::args::split("fdbytes_by", "fd.name").unwrap();
//! let chisel = osprey_chisel::load("fdbytes_by", &values).unwrap();
//! assert_eq!(chisel.name(), "fdbytes_by");
//! ```

pub mod args;
pub mod native;
mod registry;
mod runner;

pub use registry::{info, list, load, load_with, search_dirs, write_info, write_list};
pub use runner::Runner;

pub mod lua;

use osprey_filter::Filter;
use osprey_state::State;
use std::io::Write;

pub use osprey_filter::fields::syscall::EventCtx;

/// What a chisel wants the host to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the capture.
    Continue,
    /// End the capture, as sysdig's `end_capture()` or a `false` from `on_interval`.
    End,
}

/// How a chisel's periodic callback is scheduled, in event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// sysdig's `set_interval_ns`/`set_interval_s`: one callback when an event
    /// crosses into a new bucket aligned on multiples of the period (ns).
    Aligned(u64),
    /// sysdig's `set_precise_interval_ns`: one callback per whole period (ns)
    /// elapsed since the last one.
    Precise(u64),
}

/// What the host hands a chisel outside `on_event`.
#[derive(Debug)]
pub struct Host<'a> {
    /// The state engine, after the last event processed.
    pub state: &'a State,
    /// Whether the events come from a live capture rather than a file.
    pub live: bool,
}

/// A running chisel.
pub trait Chisel {
    /// The chisel's name, as `-c` took it.
    fn name(&self) -> &str;

    /// The chisel's own filter, applied after the command-line filter.
    fn filter(&self) -> Option<&Filter> {
        None
    }

    /// The chisel's periodic callback schedule, if it has one.
    fn interval(&self) -> Option<Interval> {
        None
    }

    /// Called once per input, after it is open and before its first event.
    ///
    /// # Errors
    /// A chisel that cannot start reports why.
    fn on_capture_start(&mut self, _host: &Host<'_>, _out: &mut dyn Write) -> Result<(), Error> {
        Ok(())
    }

    /// Called for each event that passed both filters.
    ///
    /// # Errors
    /// A failing chisel ends the run with its error.
    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error>;

    /// Called on the schedule of [`Chisel::interval`], with the time of the
    /// event that triggered it (ns since the epoch) and the time since the
    /// previous callback (ns, 0 the first time).
    ///
    /// # Errors
    /// A failing chisel ends the run with its error.
    fn on_interval(
        &mut self,
        _ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        _out: &mut dyn Write,
    ) -> Result<Flow, Error> {
        Ok(Flow::Continue)
    }

    /// Called once at the end of each input (end of file, Ctrl-C, a limit, or
    /// [`Flow::End`]), with the last event's time and the span of the capture
    /// (last − first), both in ns.
    ///
    /// # Errors
    /// A failing chisel ends the run with its error.
    fn on_capture_end(
        &mut self,
        _ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        _out: &mut dyn Write,
    ) -> Result<(), Error> {
        Ok(())
    }
}

/// Command-line settings chisels may follow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// `-pc`/`-pcontainer` was given: chisels that can add container columns
    /// do (sysdig's `is_print_container_data`).
    pub print_container: bool,
    /// `-j` was given: the table chisels print JSON documents, and Lua
    /// chisels see `json` from `sysdig.get_output_format`.
    pub json: bool,
    /// The command-line filter (`""` when none): `sysdig.get_filter`.
    pub filter: String,
    /// The capture file read (`""` when live): `sysdig.get_evtsource_name`.
    pub source: String,
}

/// How a chisel describes itself for `-cl` and `-i`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChiselInfo {
    /// The name `-c` takes.
    pub name: String,
    /// Category, `-cl` groups by it (may be empty).
    pub category: String,
    /// One-line description (`-cl`).
    pub short_description: String,
    /// Long description (`-i`).
    pub description: String,
    /// Arguments, in the order they are given.
    pub args: Vec<ArgInfo>,
    /// Hidden from `-cl`, still runnable.
    pub hidden: bool,
}

/// One chisel argument.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArgInfo {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Type, informational except `filter` (see the command-line rules): `string`,
    /// `int`, `ipv4`, `filter`.
    pub argtype: String,
    /// Whether it may be left out.
    pub optional: bool,
}

/// Why a chisel could not be loaded or failed while running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No chisel of this name exists (natively or on the search path).
    #[error("chisel not found: {0}")]
    NotFound(String),
    /// The chisel's arguments are wrong; the message says how, as sysdig does.
    #[error("{0}")]
    Args(String),
    /// The chisel's filter or a field it requested does not compile.
    #[error("chisel {chisel}: {message}")]
    Filter {
        /// The chisel.
        chisel: String,
        /// What is wrong, with its column.
        message: String,
    },
    /// A Lua chisel raised an error.
    #[error("chisel {chisel}: {message}")]
    Script {
        /// The chisel.
        chisel: String,
        /// Lua's message, with the script's file and line.
        message: String,
    },
    /// Writing the chisel's output failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
