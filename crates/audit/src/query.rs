//! `osprey-audit query FILTER LOG...`: the audit events that match a filter.
//!
//! The filter is the language of osprey and of Falco rules conditions, over
//! the `ka.*`, `jevt.*` and `evt.*` fields ([`crate::fields`]), e.g.
//! `ka.verb=delete and ka.target.resource in (secrets, configmaps)`. Logs are
//! JSON lines (the log backend's format) or JSON documents (an `EventList`,
//! an array), plain or gzip-compressed (told by their first bytes), or
//! standard input (`-`). Events without a `stageTimestamp`, and lines that
//! are not audit events, are skipped and counted on the error stream.
//!
//! Output, one line per matching event:
//! - a table (the default): time, user, verb, resource, namespace, name and
//!   response code, under a header line;
//! - `--json`: the event as one JSON line (a log line is copied unchanged;
//!   an `EventList` item is re-encoded);
//! - `-o FORMAT`: a format with `%field` references (`%ka.user.name`...), as
//!   in rules outputs.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use osprey_filter::format::Format;
use osprey_filter::timefmt::LocalClock;
use osprey_filter::{Filter, Values};
use serde_json::Value;

use crate::fields::input::{self, InputError};
use crate::fields::{KaCatalog, KaEvent, KaFields};

/// Arguments of `osprey-audit query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The filter, e.g. "ka.verb=delete and ka.target.resource=secrets".
    #[arg(value_name = "FILTER")]
    pub filter: String,
    /// Audit logs (JSON lines or documents, plain or gzip); `-` (the default) is stdin.
    #[arg(value_name = "LOG", default_value = "-")]
    pub logs: Vec<PathBuf>,
    /// Print the matching events as JSON lines.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Print each matching event with this format (%ka.* fields), e.g. "%ka.user.name %ka.uri".
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Why a query could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The filter does not compile: the message, then the filter with a
    /// caret under the error column.
    #[error("{message}\n{snippet}")]
    Filter {
        /// `filter error at column N: ...`.
        message: String,
        /// The filter and the caret line.
        snippet: String,
        /// Byte offset of the error in the filter.
        offset: usize,
    },
    /// The output format is wrong.
    #[error("output format: {0}")]
    Format(#[from] osprey_filter::format::FormatError),
    /// A log could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The log.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Write(#[source] std::io::Error),
}

/// What a query did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events read.
    pub events: u64,
    /// Events that matched.
    pub matched: u64,
    /// Inputs skipped (not JSON, not an audit event, no stageTimestamp).
    pub skipped: u64,
}

/// Compiles a query filter; errors carry the caret snippet.
pub fn compile(filter: &str) -> Result<Filter, QueryError> {
    Filter::compile(filter, &KaCatalog).map_err(|e| QueryError::Filter {
        message: e.display_with_caret(filter),
        snippet: e.snippet(filter),
        offset: e.offset(),
    })
}

/// Opens a log (`-` is stdin), decompressing gzip.
pub fn open(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(path)?)
    };
    let mut r = BufReader::with_capacity(1 << 16, raw);
    let gz = r.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(r),
        ))
    } else {
        Box::new(r)
    })
}

/// The table's columns: header and width.
const COLUMNS: [(&str, usize); 7] = [
    ("TIME", 27),
    ("USER", 28),
    ("VERB", 8),
    ("RESOURCE", 20),
    ("NAMESPACE", 16),
    ("NAME", 30),
    ("CODE", 0),
];

fn cell(out: &mut Vec<u8>, text: &str, width: usize) {
    let text = if text.is_empty() { "-" } else { text };
    out.extend_from_slice(text.as_bytes());
    if width > 0 {
        let pad = width.saturating_sub(text.chars().count()).max(1);
        out.extend(std::iter::repeat_n(b' ', pad));
    }
}

/// One table row for an event.
fn row(ev: &KaEvent, out: &mut Vec<u8>) {
    let j = ev.json();
    let s = |path: &[&str]| -> &str {
        path.iter()
            .try_fold(j, |v, k| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let mut resource = s(&["objectRef", "resource"]).to_string();
    let sub = s(&["objectRef", "subresource"]);
    if !sub.is_empty() {
        resource.push('/');
        resource.push_str(sub);
    }
    let code = j
        .get("responseStatus")
        .and_then(|r| r.get("code"))
        .and_then(Value::as_i64)
        .map(|c| c.to_string())
        .unwrap_or_default();
    let uri_or_resource = if resource.is_empty() {
        s(&["requestURI"]).to_string()
    } else {
        resource
    };
    let cells = [
        s(&["stageTimestamp"]),
        s(&["user", "username"]),
        s(&["verb"]),
        uri_or_resource.as_str(),
        s(&["objectRef", "namespace"]),
        s(&["objectRef", "name"]),
        code.as_str(),
    ];
    for (text, (_, w)) in cells.iter().zip(COLUMNS) {
        cell(out, text, w);
    }
    out.push(b'\n');
}

/// Runs the query, writing matches to `out` and skipped inputs to `err`.
pub fn query(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<Summary, QueryError> {
    let filter = compile(&args.filter)?;
    let format = match &args.format {
        Some(f) => Some(Format::parse(f, &KaCatalog)?),
        None => None,
    };
    let clock = LocalClock::new();
    let mut scratch = filter.new_scratch();
    let mut values = Values::new();
    let mut line = Vec::new();
    let mut summary = Summary::default();
    if format.is_none() && !args.json {
        for (h, w) in COLUMNS {
            cell(&mut line, h, w);
        }
        line.push(b'\n');
        out.write_all(&line).map_err(QueryError::Write)?;
    }
    for path in &args.logs {
        let name = if path.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let reader = open(path).map_err(|source| QueryError::Read {
            path: name.clone(),
            source,
        })?;
        let mut failed = None;
        let _ = input::read_stream_raw(reader, &mut |r: Result<KaEvent, InputError>, raw| {
            let ev = match r {
                Ok(ev) => ev,
                Err(InputError::Io { source, .. }) => {
                    failed = Some(QueryError::Read {
                        path: name.clone(),
                        source,
                    });
                    return ControlFlow::Break(());
                }
                Err(e) => {
                    summary.skipped += 1;
                    let _ = writeln!(err, "osprey-audit: {name}: skipped: {e}");
                    return ControlFlow::Continue(());
                }
            };
            summary.events += 1;
            let ctx = KaFields::new(&ev, &clock).with_num(summary.events);
            if !filter.matches_with(&ctx, &mut scratch) {
                return ControlFlow::Continue(());
            }
            summary.matched += 1;
            line.clear();
            if let Some(f) = &format {
                if !f.write_text(&ctx, &mut values, &mut line) {
                    return ControlFlow::Continue(());
                }
                line.push(b'\n');
            } else if args.json {
                match raw {
                    // A log line is copied as it was.
                    Some(text) => line.extend_from_slice(text),
                    // An item of a list: re-encoded.
                    None => {
                        // Writing a JSON tree into a Vec cannot fail.
                        let _ = serde_json::to_writer(&mut line, ev.json());
                    }
                }
                line.push(b'\n');
            } else {
                row(&ev, &mut line);
            }
            if let Err(e) = out.write_all(&line) {
                failed = Some(QueryError::Write(e));
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(summary)
}

/// `osprey-audit query`: exit 0 whether or not events matched.
pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode, QueryError> {
    query(args, out, err)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_filter_has_a_caret() {
        let e = compile("ka.verb = get and ka.nope = 1").unwrap_err();
        let text = e.to_string();
        assert_eq!(
            text,
            "filter error at column 19: unknown field 'ka.nope'\nka.verb = get and ka.nope = 1\n                  ^"
        );
    }
}
