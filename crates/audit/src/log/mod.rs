//! kube-apiserver's audit log backend (`--audit-log-*`): events encoded as JSON
//! lines or the legacy text format ([`format`]), written to standard output (`-`)
//! or to a lumberjack-style size-rotated file ([`rotate`]).
//!
//! Writing never loses an event silently: an encode or write error is returned,
//! the file is left without a partial line, and what was written before is kept
//! (see [`rotate`] for the durability and fsync policy).

pub mod format;
pub mod rotate;

use std::io::Write;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

pub use format::Format;
pub use rotate::{RotateConfig, RotatingFile, MEGABYTE};

use crate::event::Event;

/// Errors of the log backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The rotating file failed.
    #[error(transparent)]
    File(#[from] rotate::Error),
    /// Writing to standard output failed.
    #[error("writing the audit log to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    /// An event could not be encoded (`audit_id` names it).
    #[error("encoding audit event {audit_id:?}: {source}")]
    Encode {
        /// The event's audit id.
        audit_id: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// An option is invalid (the apiserver's validation message).
    #[error("{0}")]
    Invalid(String),
}

/// Options of the log backend, named after the apiserver's flags.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// `--audit-log-path`; `-` is standard output.
    pub path: PathBuf,
    /// `--audit-log-format`.
    pub format: Format,
    /// `--audit-log-maxsize` in bytes (the flag is in MiB); 0 never rotates.
    pub max_size: u64,
    /// `--audit-log-maxage` in days; 0 keeps backups regardless of age.
    pub max_age_days: u32,
    /// `--audit-log-maxbackup`; 0 keeps any number.
    pub max_backups: usize,
    /// `--audit-log-compress`.
    pub compress: bool,
    /// `fsync` at most this often from [`LogBackend::flush`] (`None`: only on
    /// rotation, [`LogBackend::sync`] and close).
    pub sync_interval: Option<Duration>,
}

impl LogOptions {
    /// Options with kube-apiserver 1.36's defaults (100 MiB, 366 days, 100 backups,
    /// no compression, JSON) and a 1 s fsync interval.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LogOptions {
            path: path.into(),
            format: Format::Json,
            max_size: 100 * MEGABYTE,
            max_age_days: 366,
            max_backups: 100,
            compress: false,
            sync_interval: Some(Duration::from_secs(1)),
        }
    }

    /// Whether the log goes to standard output.
    pub fn is_stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

/// Standard output is written through its own duplicate of fd 1, so the log never
/// waits on (or interleaves inside) a lock some other code holds on `io::stdout()`.
#[derive(Debug)]
enum Sink {
    Stdout(std::fs::File, Vec<u8>),
    File(Box<RotatingFile>),
}

/// The log backend: encodes events and writes one line each.
#[derive(Debug)]
pub struct LogBackend {
    format: Format,
    sink: Sink,
    line: Vec<u8>,
    events: u64,
}

impl LogBackend {
    /// Opens the output (creating the directory with 0700 and the file with 0600).
    pub fn open(opts: &LogOptions) -> Result<Self, Error> {
        if opts.path.as_os_str().is_empty() {
            return Err(Error::Invalid("no audit log path given".into()));
        }
        let sink = if opts.is_stdout() {
            let fd = std::io::stdout()
                .as_fd()
                .try_clone_to_owned()
                .map_err(Error::Stdout)?;
            Sink::Stdout(std::fs::File::from(fd), Vec::with_capacity(64 * 1024))
        } else {
            Sink::File(Box::new(RotatingFile::open(RotateConfig {
                path: opts.path.clone(),
                max_size: opts.max_size,
                max_age_days: opts.max_age_days,
                max_backups: opts.max_backups,
                compress: opts.compress,
                sync_interval: opts.sync_interval,
            })?))
        };
        Ok(LogBackend {
            format: opts.format,
            sink,
            line: Vec::with_capacity(4096),
            events: 0,
        })
    }

    /// Events accepted so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Encodes and accepts one event (it may stay buffered until [`flush`](Self::flush)).
    /// JSON lines get `kind: Event` and `apiVersion: audit.k8s.io/v1`. On error the
    /// event is not accepted.
    pub fn write_event(&mut self, event: &mut Event) -> Result<(), Error> {
        self.line.clear();
        if let Err(source) = self.format.encode(event, &mut self.line) {
            return Err(Error::Encode {
                audit_id: event.audit_id().to_string(),
                source,
            });
        }
        self.write_line_inner()
    }

    /// Accepts one already encoded line (it must end with `\n`).
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), Error> {
        self.line.clear();
        self.line.extend_from_slice(line);
        self.write_line_inner()
    }

    fn write_line_inner(&mut self) -> Result<(), Error> {
        match &mut self.sink {
            Sink::Stdout(out, buf) => {
                buf.extend_from_slice(&self.line);
                if buf.len() >= 64 * 1024 {
                    flush_stdout(out, buf)?;
                }
            }
            Sink::File(f) => f.write(&self.line)?,
        }
        self.events += 1;
        Ok(())
    }

    /// Hands everything accepted to the kernel. On error the unwritten lines stay
    /// pending (see [`discard_pending`](Self::discard_pending)).
    pub fn flush(&mut self) -> Result<(), Error> {
        match &mut self.sink {
            Sink::Stdout(out, buf) => flush_stdout(out, buf),
            Sink::File(f) => Ok(f.flush()?),
        }
    }

    /// Drops lines accepted but not yet written (after a failed flush, when the
    /// caller will resubmit them, as a webhook client does after an error answer).
    pub fn discard_pending(&mut self) {
        match &mut self.sink {
            Sink::Stdout(_, buf) => buf.clear(),
            Sink::File(f) => f.discard_pending(),
        }
    }

    /// Flushes and `fsync`s.
    pub fn sync(&mut self) -> Result<(), Error> {
        match &mut self.sink {
            Sink::Stdout(out, buf) => flush_stdout(out, buf),
            Sink::File(f) => Ok(f.sync()?),
        }
    }

    /// Flushes, syncs and waits for backup clean-up to finish.
    pub fn close(self) -> Result<(), Error> {
        match self.sink {
            Sink::Stdout(mut out, mut buf) => flush_stdout(&mut out, &mut buf),
            Sink::File(f) => Ok(f.close()?),
        }
    }
}

fn flush_stdout(out: &mut std::fs::File, buf: &mut Vec<u8>) -> Result<(), Error> {
    if buf.is_empty() {
        return Ok(());
    }
    out.write_all(buf).map_err(Error::Stdout)?;
    buf.clear();
    Ok(())
}
