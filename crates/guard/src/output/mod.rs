//! Alert outputs: the part of the engine that *sends* already formatted
//! alert lines, configured by the falco.yaml output keys.
//!
//! The rules engine formats each alert twice (the text line
//! `<time>: <Priority> <output>` and Falco's JSON object); [`Outputs`] picks
//! one of them per `json_output` and fans it out to every enabled channel:
//!
//! | channel | falco.yaml key | behaviour |
//! |---|---|---|
//! | stdout | `stdout_output` | line + `\n`, flushed per alert unless `buffered_outputs` |
//! | file | `file_output` | appended; `keep_alive: false` opens and closes per alert; [`Outputs::reopen`] for logrotate (SIGUSR1) |
//! | syslog | `syslog_output` | one datagram to `/dev/log`, `<PRI>` = facility user (8) + severity, no trailing newline |
//! | program | `program_output` | `sh -c PROGRAM`, line written to its stdin; one process per alert unless `keep_alive` |
//! | http | `http_output` | one POST per alert from a background thread, bounded queue, retries with backoff, counted drops |
//!
//! Before any channel sees an alert, the `priority` threshold (less severe
//! alerts are skipped) and the `outputs.rate` / `outputs.max_burst` token
//! bucket apply. Per-channel counters are in [`Outputs::stats`].

mod config;
mod file;
mod http;
mod program;
mod rate;
mod stdout;
mod syslog;

use std::fmt;
use std::io::{self, Write};
use std::time::{Duration, Instant};

pub use config::{
    FileConfig, HttpConfig, OutputsConfig, ProgramConfig, RateConfig, StdoutConfig, SyslogConfig,
};
pub use rate::TokenBucket;

use file::FileOutput;
use http::HttpOutput;
use program::ProgramOutput;
use stdout::StdoutOutput;
use syslog::SyslogOutput;

/// Errors of the output layer. Each names the channel and its target (file
/// path, socket path, program or URL) as the location of the failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A priority name that is none of Falco's (case-insensitive) names.
    #[error(
        "unknown priority {value:?}: expected emergency, alert, critical, error, warning, \
         notice, informational (or info), debug"
    )]
    UnknownPriority {
        /// The text that failed to parse.
        value: String,
    },
    /// An enabled channel whose configuration cannot work.
    #[error("{output} output: invalid configuration for {target:?}: {reason}")]
    Config {
        /// The channel.
        output: OutputKind,
        /// The offending value (URL, program, file name).
        target: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An I/O failure while delivering to a channel.
    #[error("{output} output: {target}: {source}")]
    Io {
        /// The channel.
        output: OutputKind,
        /// The file, socket or program the failure concerns.
        target: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

pub use osprey_rules::Priority;

/// Parses a priority name as falco.yaml's `priority` key takes it:
/// case-insensitive, `info` for `informational`.
///
/// # Errors
/// [`Error::UnknownPriority`] for any other text.
pub fn parse_priority(s: &str) -> Result<Priority, Error> {
    Priority::parse(s).ok_or_else(|| Error::UnknownPriority {
        value: s.to_owned(),
    })
}

/// The syslog severity of a priority (`LOG_EMERG` = 0 .. `LOG_DEBUG` = 7).
pub fn syslog_severity(p: Priority) -> u8 {
    match p {
        Priority::Emergency => 0,
        Priority::Alert => 1,
        Priority::Critical => 2,
        Priority::Error => 3,
        Priority::Warning => 4,
        Priority::Notice => 5,
        Priority::Informational => 6,
        Priority::Debug => 7,
    }
}

/// One alert, already formatted by the rules engine in both forms. Borrowed,
/// so mapping the engine's own alert type costs no copy.
#[derive(Debug, Clone, Copy)]
pub struct Alert<'a> {
    /// The rule's priority.
    pub priority: Priority,
    /// The rule name.
    pub rule: &'a str,
    /// The event timestamp, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// The text line `<time>: <Priority> <output>`, without a newline.
    pub text: &'a str,
    /// The JSON object on one line, without a newline.
    pub json: &'a str,
}

/// The output channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputKind {
    /// `stdout_output`.
    Stdout,
    /// `file_output`.
    File,
    /// `syslog_output`.
    Syslog,
    /// `program_output`.
    Program,
    /// `http_output`.
    Http,
}

impl OutputKind {
    /// The channel's short name (`stdout`, `file`, `syslog`, `program`, `http`).
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Stdout => "stdout",
            OutputKind::File => "file",
            OutputKind::Syslog => "syslog",
            OutputKind::Program => "program",
            OutputKind::Http => "http",
        }
    }
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Counters of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputStats {
    /// The channel.
    pub kind: OutputKind,
    /// Alerts delivered (for http: answered with a 2xx status).
    pub sent: u64,
    /// Alerts that never reached the channel: failed writes, and for http a
    /// full queue, exhausted retries, a non-retryable status or abandonment
    /// at [`Outputs::close`].
    pub dropped: u64,
    /// Failed operations (each failed write or HTTP attempt counts once).
    pub errors: u64,
    /// HTTP re-attempts after a failure (0 for the other channels).
    pub retries: u64,
}

/// Counters of an [`Outputs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Alerts handed to [`Outputs::send`].
    pub alerts: u64,
    /// Alerts skipped because they are less severe than `priority`.
    pub below_priority: u64,
    /// Alerts refused by the `outputs.rate` token bucket (sent nowhere).
    pub rate_limited: u64,
    /// One entry per enabled channel, in the order stdout, file, syslog,
    /// program, http.
    pub outputs: Vec<OutputStats>,
}

/// What [`Outputs::send`] did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Handed to every enabled channel (http: queued, or counted as dropped).
    Dispatched,
    /// Less severe than the `priority` threshold: sent nowhere.
    BelowPriority,
    /// Refused by the rate limiter: sent nowhere.
    RateLimited,
}

/// A synchronous channel: writes happen in [`Outputs::send`].
#[derive(Debug)]
enum SyncSink {
    Stdout(StdoutOutput),
    File(FileOutput),
    Syslog(SyslogOutput),
    Program(ProgramOutput),
}

impl SyncSink {
    fn kind(&self) -> OutputKind {
        match self {
            SyncSink::Stdout(_) => OutputKind::Stdout,
            SyncSink::File(_) => OutputKind::File,
            SyncSink::Syslog(_) => OutputKind::Syslog,
            SyncSink::Program(_) => OutputKind::Program,
        }
    }

    /// `line` is the chosen alert line with its trailing newline.
    fn emit(&mut self, line: &[u8], priority: Priority) -> Result<(), Error> {
        match self {
            SyncSink::Stdout(o) => o.emit(line),
            SyncSink::File(o) => o.emit(line),
            SyncSink::Syslog(o) => o.emit(&line[..line.len() - 1], priority),
            SyncSink::Program(o) => o.emit(line),
        }
    }

    fn flush(&mut self) -> Result<(), Error> {
        match self {
            SyncSink::Stdout(o) => o.flush(),
            SyncSink::File(o) => o.flush(),
            SyncSink::Syslog(_) => Ok(()),
            SyncSink::Program(o) => o.flush(),
        }
    }

    fn reopen(&mut self) -> Result<(), Error> {
        match self {
            SyncSink::Stdout(o) => o.flush(),
            SyncSink::File(o) => o.reopen(),
            SyncSink::Syslog(o) => {
                o.reopen();
                Ok(())
            }
            SyncSink::Program(o) => o.close(),
        }
    }

    fn close(&mut self) -> Result<(), Error> {
        match self {
            SyncSink::Stdout(o) => o.flush(),
            SyncSink::File(o) => o.reopen(),
            SyncSink::Syslog(o) => {
                o.reopen();
                Ok(())
            }
            SyncSink::Program(o) => o.close(),
        }
    }
}

#[derive(Debug)]
struct Slot {
    sink: SyncSink,
    sent: u64,
    dropped: u64,
    errors: u64,
}

/// The fan-out of alerts to every enabled channel of an [`OutputsConfig`].
///
/// Dropping an `Outputs` flushes and closes the channels but abandons queued
/// HTTP alerts; call [`Outputs::close`] to drain them within a deadline.
#[derive(Debug)]
pub struct Outputs {
    threshold: Priority,
    json: bool,
    bucket: TokenBucket,
    epoch: Instant,
    sinks: Vec<Slot>,
    http: Option<HttpOutput>,
    line: Vec<u8>,
    alerts: u64,
    below_priority: u64,
    rate_limited: u64,
}

impl Outputs {
    /// Builds the enabled channels of `config`, with stdout going to the
    /// process's standard output.
    ///
    /// # Errors
    /// [`Error::Config`] for an enabled channel that cannot work (empty file
    /// name or program, a URL that is not `http://`), [`Error::Io`] when the
    /// HTTP worker thread cannot start.
    pub fn new(config: &OutputsConfig) -> Result<Outputs, Error> {
        Outputs::with_stdout(config, Box::new(io::stdout()))
    }

    /// Like [`Outputs::new`], with stdout alerts written to `stdout` instead.
    ///
    /// # Errors
    /// As [`Outputs::new`].
    pub fn with_stdout(
        config: &OutputsConfig,
        stdout: Box<dyn Write + Send>,
    ) -> Result<Outputs, Error> {
        let buffered = config.buffered_outputs;
        let mut sinks = Vec::new();
        if config.stdout_output.enabled {
            sinks.push(SyncSink::Stdout(StdoutOutput::new(stdout, buffered)));
        }
        if config.file_output.enabled {
            sinks.push(SyncSink::File(FileOutput::new(
                &config.file_output,
                buffered,
            )?));
        }
        if config.syslog_output.enabled {
            sinks.push(SyncSink::Syslog(SyslogOutput::new(&config.syslog_output)));
        }
        if config.program_output.enabled {
            sinks.push(SyncSink::Program(ProgramOutput::new(
                &config.program_output,
                buffered,
            )?));
        }
        let http = if config.http_output.enabled {
            Some(HttpOutput::new(&config.http_output, config.json_output)?)
        } else {
            None
        };
        Ok(Outputs {
            threshold: config.priority,
            json: config.json_output,
            bucket: TokenBucket::new(config.outputs.rate, config.outputs.max_burst),
            epoch: Instant::now(),
            sinks: sinks
                .into_iter()
                .map(|sink| Slot {
                    sink,
                    sent: 0,
                    dropped: 0,
                    errors: 0,
                })
                .collect(),
            http,
            line: Vec::with_capacity(1024),
            alerts: 0,
            below_priority: 0,
            rate_limited: 0,
        })
    }

    /// The rate limiter's clock: the time since these outputs were made, or
    /// zero (without reading the clock) when `outputs.rate` is off. Read it
    /// once for a batch of alerts and pass it to [`Outputs::send_at`].
    pub fn clock(&self) -> Duration {
        if self.bucket.is_unlimited() {
            Duration::ZERO
        } else {
            self.epoch.elapsed()
        }
    }

    /// Sends one alert to every enabled channel: the JSON line when
    /// `json_output` is set, else the text line. Never blocks on HTTP (the
    /// alert is queued, or counted as dropped when the queue is full); the
    /// other channels write synchronously, as Falco's do. Reads the clock for
    /// the rate limiter; [`Outputs::send_at`] takes it from the caller.
    ///
    /// # Errors
    /// The first channel failure. Every channel is still attempted, and each
    /// failure is counted in [`Outputs::stats`].
    pub fn send(&mut self, alert: &Alert<'_>) -> Result<Disposition, Error> {
        let now = self.clock();
        self.send_at(alert, now)
    }

    /// [`Outputs::send`] at time `now` of the rate limiter's clock (from
    /// [`Outputs::clock`]; a time earlier than one already seen refills
    /// nothing).
    ///
    /// # Errors
    /// As [`Outputs::send`].
    pub fn send_at(&mut self, alert: &Alert<'_>, now: Duration) -> Result<Disposition, Error> {
        self.alerts += 1;
        if alert.priority > self.threshold {
            self.below_priority += 1;
            return Ok(Disposition::BelowPriority);
        }
        if !self.bucket.claim(now) {
            self.rate_limited += 1;
            return Ok(Disposition::RateLimited);
        }
        let chosen = if self.json { alert.json } else { alert.text };
        self.line.clear();
        self.line.extend_from_slice(chosen.as_bytes());
        self.line.push(b'\n');
        let mut first_error = None;
        for slot in &mut self.sinks {
            match slot.sink.emit(&self.line, alert.priority) {
                Ok(()) => slot.sent += 1,
                Err(e) => {
                    slot.dropped += 1;
                    slot.errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(http) = &mut self.http {
            http.enqueue(chosen.as_bytes());
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(Disposition::Dispatched),
        }
    }

    /// Reopens the file output (closing it; the next alert opens the file
    /// again, so a renamed file is left alone) and restarts a kept-alive
    /// program; this is what Falco does on SIGUSR1.
    ///
    /// # Errors
    /// The first failure to flush or close a channel; all are attempted.
    pub fn reopen(&mut self) -> Result<(), Error> {
        each_slot(&mut self.sinks, SyncSink::reopen)
    }

    /// Flushes buffered channels (with `buffered_outputs: true`).
    ///
    /// # Errors
    /// The first failure; all channels are attempted.
    pub fn flush(&mut self) -> Result<(), Error> {
        each_slot(&mut self.sinks, SyncSink::flush)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let mut outputs: Vec<OutputStats> = self
            .sinks
            .iter()
            .map(|s| OutputStats {
                kind: s.sink.kind(),
                sent: s.sent,
                dropped: s.dropped,
                errors: s.errors,
                retries: 0,
            })
            .collect();
        if let Some(http) = &self.http {
            outputs.push(http.stats());
        }
        Stats {
            alerts: self.alerts,
            below_priority: self.below_priority,
            rate_limited: self.rate_limited,
            outputs,
        }
    }

    /// Flushes and closes every channel, waits for kept-alive programs to
    /// exit, and lets the HTTP worker deliver what is queued for at most
    /// `timeout`; what it has not delivered by then is counted as dropped.
    ///
    /// # Errors
    /// The first failure to flush or close a channel; every channel is still
    /// closed and the HTTP queue still drained.
    pub fn close(mut self, timeout: Duration) -> Result<Stats, Error> {
        let result = each_slot(&mut self.sinks, SyncSink::close);
        if let Some(http) = &mut self.http {
            http.shutdown(timeout);
        }
        result.map(|()| self.stats())
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; `close` reports them.
        let _ = each_slot(&mut self.sinks, SyncSink::close);
        if let Some(http) = &mut self.http {
            http.shutdown(Duration::ZERO);
        }
    }
}

/// Runs `op` on every sink, counting failures, and returns the first.
fn each_slot(slots: &mut [Slot], op: fn(&mut SyncSink) -> Result<(), Error>) -> Result<(), Error> {
    let mut first = None;
    for slot in slots {
        if let Err(e) = op(&mut slot.sink) {
            slot.errors += 1;
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests;
