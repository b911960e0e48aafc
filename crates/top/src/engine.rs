//! The event thread: source → state → the current view's table.
//!
//! It runs apart from the UI so that drawing never holds up events: the UI
//! sends [`Command`]s and receives [`Update`]s (one aggregated sample per
//! interval, or batches of Echo/Dig lines) over channels.
//!
//! Intervals follow csysdig: they end on multiples of the refresh period of
//! event time; when the first event after the end arrives, every thread of
//! the state is passed through the table once more (so that per-thread
//! columns such as memory appear for idle threads), the sample is handed
//! out, and the table starts empty. Live, the probe sends no `procinfo`
//! events: each thread's CPU ticks are read from `/proc` at the end of the
//! interval and enter as `procinfo` events, so `thread.cpu` is computed as on
//! a capture file. Reading a file for the UI makes one sample of the whole
//! file (csysdig's behaviour); `-j` on a file makes one per interval.

use crate::table::{Sample, Table};
use crate::views::{self, ViewDef};
use crate::{combine_filters, Error};
use osprey_capture::{LiveOptions, Next, ResolverOptions, Source};
use osprey_event::EventRef;
use osprey_filter::fields::catalog::SyscallCatalog;
use osprey_filter::fields::syscall::{Env, EventCtx};
use osprey_filter::format::Format;
use osprey_filter::{Filter, Values};
use osprey_state::{State, LEGACY_EVENT_MAX};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `PPME_PROCINFO_E`.
const PROCINFO_E: u16 = 234;
/// `PPME_SCAPEVENT_E`: the type of the per-thread events of the end of an
/// interval (an internal type: the state looks the thread up and changes
/// nothing).
const SCAPEVENT_E: u16 = 196;
/// Events between two looks at the UI's commands and the clock.
const CHECK_EVERY: u32 = 512;
/// Echo/Dig lines go out at least this often.
const LINES_EVERY: Duration = Duration::from_millis(200);
/// Lines an Echo/Dig batch holds at most (more are counted as dropped).
const LINES_MAX: usize = 20_000;
/// sysdig's default event line, which Dig shows.
const DIG_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info";

/// Where events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A capture file.
    File(String),
    /// The running system.
    Live,
}

/// How the event thread runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The source.
    pub input: Input,
    /// The refresh period (ns).
    pub interval_ns: u64,
    /// A file is one sample (the UI) rather than one per interval (`-j`).
    pub whole_file: bool,
    /// `-pc`: the views' container columns.
    pub containers: bool,
    /// The filter given on the command line.
    pub filter: String,
    /// Ask the container runtimes about containers (live).
    pub resolve_containers: bool,
}

/// What the UI wants shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A view (index into [`views::all`]) with the filter of the drill-down
    /// path (the view's own filter is added).
    View {
        /// The view.
        view: usize,
        /// The drill-down and manual filter.
        filter: String,
    },
    /// Echo (`dig: false`: the I/O data) or Dig (the events) of a selection.
    Spy {
        /// The selection's filter.
        filter: String,
        /// Dig rather than Echo.
        dig: bool,
    },
}

/// A message from the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Show this from now on (a file is read again from its start).
    Show(Request),
    /// Forget the rows of a list view.
    Clear,
    /// Stop.
    Quit,
}

/// A message to the UI.
#[derive(Debug)]
pub enum Update {
    /// The sample of an interval, for request number `seq`.
    Sample {
        /// The request it answers (counted from 0 in the order sent).
        seq: u64,
        /// The rows.
        sample: Sample,
    },
    /// Echo/Dig lines for request `seq`.
    Lines {
        /// The request it answers.
        seq: u64,
        /// The lines.
        lines: Vec<String>,
    },
    /// A request could not be shown (bad filter).
    Failed {
        /// The request.
        seq: u64,
        /// Why.
        message: String,
    },
    /// The file has been read to its end.
    End,
    /// The source failed; the thread stops.
    Fatal(String),
}

/// The full filter of a view request: the command line's, the drill-down's
/// and the view's own.
pub fn view_filter(opts_filter: &str, path_filter: &str, view: &ViewDef) -> String {
    combine_filters(&combine_filters(opts_filter, path_filter), &view.filter)
}

/// What the current request is being served by.
enum Sink {
    Table(Box<Table>),
    Spy(Box<Spy>),
    None,
}

/// Echo or Dig of a selection.
struct Spy {
    filter: Option<Filter>,
    dig: bool,
    format: Option<Format>,
    lines: Vec<String>,
    scratch: Values,
    buf: Vec<u8>,
    fields: Option<EchoFields>,
}

/// The fields Echo reads.
struct EchoFields {
    is_io: osprey_filter::FieldRef,
    is_read: osprey_filter::FieldRef,
    fd_name: osprey_filter::FieldRef,
    proc_name: osprey_filter::FieldRef,
}

impl Spy {
    fn new(filter: &str, dig: bool) -> Result<Spy, Error> {
        let f = if filter.trim().is_empty() {
            None
        } else {
            Some(
                Filter::compile(filter, &SyscallCatalog)
                    .map_err(|e| Error::Filter(e.display_with_caret(filter)))?,
            )
        };
        let format = if dig {
            Some(
                Format::parse(DIG_FORMAT, &SyscallCatalog)
                    .map_err(|e| Error::View(e.to_string()))?,
            )
        } else {
            None
        };
        let fields = if dig {
            None
        } else {
            use crate::table::resolve_field as r;
            Some(EchoFields {
                is_io: r("evt.is_io")?,
                is_read: r("evt.is_io_read")?,
                fd_name: r("fd.name")?,
                proc_name: r("proc.name")?,
            })
        };
        Ok(Spy {
            filter: f,
            dig,
            format,
            lines: Vec::new(),
            scratch: Values::new(),
            buf: Vec::new(),
            fields,
        })
    }

    fn text(&mut self, ctx: &EventCtx<'_>, f: &osprey_filter::FieldRef) -> Option<Vec<u8>> {
        self.scratch.clear();
        if !osprey_filter::Extract::extract(ctx, f, &mut self.scratch) {
            return None;
        }
        let v = *self.scratch.items().first()?;
        let mut out = Vec::new();
        match v {
            osprey_filter::Value::Bytes(s, e) => out.extend_from_slice(self.scratch.bytes(s, e)),
            other => osprey_filter::format::write_value_text(&self.scratch, &other, &mut out),
        }
        Some(out)
    }

    fn process(&mut self, ctx: &EventCtx<'_>) {
        if self.lines.len() >= LINES_MAX {
            return;
        }
        if let Some(f) = &self.filter {
            if !f.matches(ctx) {
                return;
            }
        }
        if self.dig {
            if ctx.ev.is_state_only()
                || ctx
                    .ev
                    .info()
                    .is_some_and(|i| i.category & osprey_event::table::category::INTERNAL != 0)
            {
                return;
            }
            self.buf.clear();
            if let Some(fmt) = &self.format {
                if fmt.write_text(ctx, &mut self.scratch, &mut self.buf) {
                    self.lines
                        .push(String::from_utf8_lossy(&self.buf).into_owned());
                }
            }
            return;
        }
        let Some(fields) = self.fields.take() else {
            return;
        };
        let is_io = self.text(ctx, &fields.is_io);
        let data = raw_data(ctx);
        let read = self.text(ctx, &fields.is_read).as_deref() == Some(b"true");
        let name = self.text(ctx, &fields.fd_name).unwrap_or_default();
        let comm = self.text(ctx, &fields.proc_name).unwrap_or_default();
        self.fields = Some(fields);
        if is_io.as_deref() != Some(b"true") {
            return;
        }
        let Some(data) = data.filter(|d| !d.is_empty()) else {
            return;
        };
        self.lines.push(format!(
            "------ {} {}B {} {} ({})",
            if read { "Read" } else { "Write" },
            data.len(),
            if read { "from" } else { "to" },
            String::from_utf8_lossy(&name),
            String::from_utf8_lossy(&comm),
        ));
        for line in data.split(|&b| b == b'\n') {
            let shown: String = line
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        char::from(b)
                    } else {
                        '.'
                    }
                })
                .collect();
            self.lines.push(shown);
        }
    }
}

/// The raw bytes of an event's `data` parameter.
fn raw_data<'a>(ctx: &EventCtx<'a>) -> Option<&'a [u8]> {
    let idx = ctx
        .ev
        .info()?
        .params
        .iter()
        .position(|p| p.name == "data")?;
    ctx.ev.param(idx)
}

/// The event thread's loop. Returns when told to quit, when `stop` is set,
/// or (`exit_at_end`) when a file has been read.
pub fn run(
    opts: &Options,
    first: Request,
    exit_at_end: bool,
    stop: &Arc<AtomicBool>,
    commands: &Receiver<Command>,
    updates: &Sender<Update>,
) {
    if let Err(e) = run_inner(opts, first, exit_at_end, stop, commands, updates) {
        let _ = updates.send(Update::Fatal(e.to_string()));
    }
}

/// Builds what serves a request.
fn sink_for(opts: &Options, req: &Request) -> Result<Sink, Error> {
    match req {
        Request::View { view, filter } => {
            let v = views::all()
                .get(*view)
                .ok_or_else(|| Error::View(format!("no view number {view}")))?;
            let full = view_filter(&opts.filter, filter, v);
            Ok(Sink::Table(Box::new(Table::new(
                v,
                opts.containers,
                &full,
            )?)))
        }
        Request::Spy { filter, dig } => {
            let full = combine_filters(&opts.filter, filter);
            Ok(Sink::Spy(Box::new(Spy::new(&full, *dig)?)))
        }
    }
}

/// The running state of one pass over a source.
struct Pass {
    state: State,
    env: Env,
    num: u64,
    first_ts: u64,
    last_ts: u64,
    next_flush: u64,
    last_flush: Instant,
    last_lines: Instant,
    cpu: ProcCpu,
    buf: Vec<u8>,
}

#[allow(clippy::too_many_lines)]
fn run_inner(
    opts: &Options,
    first: Request,
    exit_at_end: bool,
    stop: &Arc<AtomicBool>,
    commands: &Receiver<Command>,
    updates: &Sender<Update>,
) -> Result<(), Error> {
    let live = opts.input == Input::Live;
    let mut seq: u64 = 0;
    let mut request = first;
    let mut sink = match sink_for(opts, &request) {
        Ok(s) => s,
        Err(e) => {
            let _ = updates.send(Update::Failed {
                seq,
                message: e.to_string(),
            });
            Sink::None
        }
    };
    let interval = opts.interval_ns.max(1);
    let periodic = live || !opts.whole_file;
    'source: loop {
        let mut source = match &opts.input {
            Input::File(p) => Source::file(p, Arc::clone(stop))?,
            Input::Live => Source::live_with(
                LiveOptions {
                    snaplen: 80,
                    users: true,
                    for_writing: false,
                    only: None,
                },
                opts.resolve_containers.then(ResolverOptions::default),
                Arc::clone(stop),
            )?,
        };
        let mut pass = Pass {
            state: State::new(),
            env: Env::default(),
            num: 0,
            first_ts: 0,
            last_ts: 0,
            next_flush: 0,
            last_flush: Instant::now(),
            last_lines: Instant::now(),
            cpu: ProcCpu,
            buf: Vec::new(),
        };
        pass.state.set_full(source.snapshot().exit_only);
        pass.state.load(source.snapshot());
        let mut countdown = CHECK_EVERY;
        let mut leading_meta = true;
        loop {
            countdown -= 1;
            if countdown == 0 {
                countdown = CHECK_EVERY;
                if live && pass.last_lines.elapsed() >= LINES_EVERY {
                    send_lines(&mut pass, &mut sink, seq, updates);
                }
                // Commands from the UI.
                loop {
                    match commands.try_recv() {
                        Ok(Command::Quit) | Err(TryRecvError::Disconnected) => return Ok(()),
                        Ok(Command::Clear) => {
                            if let Sink::Table(t) = &mut sink {
                                t.clear();
                            }
                        }
                        Ok(Command::Show(r)) => {
                            seq += 1;
                            request = r;
                            sink = match sink_for(opts, &request) {
                                Ok(s) => s,
                                Err(e) => {
                                    let _ = updates.send(Update::Failed {
                                        seq,
                                        message: e.to_string(),
                                    });
                                    Sink::None
                                }
                            };
                            if !live {
                                continue 'source;
                            }
                            pass.next_flush = 0;
                        }
                        Err(TryRecvError::Empty) => break,
                    }
                }
            }
            let ev = match source.poll()? {
                Next::Event(ev) => ev,
                Next::Idle => {
                    // A quiet system: intervals still end on time.
                    if live {
                        live_tick(&mut pass, &mut sink, interval, seq, updates);
                    }
                    countdown = 1;
                    continue;
                }
                Next::End => {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    // The end of the file ends the last interval.
                    let ts = pass.last_ts;
                    let delta = if periodic {
                        interval
                    } else {
                        pass.last_ts.saturating_sub(pass.first_ts)
                    };
                    emit(&mut pass, &mut sink, ts, delta, seq, updates, false);
                    let _ = updates.send(Update::End);
                    if exit_at_end {
                        return Ok(());
                    }
                    // Wait for the UI to ask for something else.
                    loop {
                        match commands.recv_timeout(Duration::from_millis(100)) {
                            Ok(Command::Quit)
                            | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
                            Ok(Command::Clear) => {}
                            Ok(Command::Show(r)) => {
                                seq += 1;
                                request = r;
                                sink = match sink_for(opts, &request) {
                                    Ok(s) => s,
                                    Err(e) => {
                                        let _ = updates.send(Update::Failed {
                                            seq,
                                            message: e.to_string(),
                                        });
                                        Sink::None
                                    }
                                };
                                continue 'source;
                            }
                            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                                if stop.load(Ordering::Relaxed) {
                                    return Ok(());
                                }
                            }
                        }
                    }
                }
            };
            let etype = ev.etype();
            if etype >= LEGACY_EVENT_MAX && !pass.state.is_full() {
                pass.state.process(&ev);
                continue;
            }
            pass.num += 1;
            let ts = ev.ts();
            let is_container = matches!(etype, 228 | 272 | 324);
            leading_meta &= is_container;
            if leading_meta {
                // The container records that open a capture carry the time
                // the file was written: they describe the starting state.
                pass.state.process(&ev);
                continue;
            }
            if pass.first_ts == 0 {
                pass.first_ts = ts;
                pass.env.first_ts.set(ts);
            }
            if periodic {
                if pass.next_flush != 0 && ts > pass.next_flush {
                    emit(&mut pass, &mut sink, ts, interval, seq, updates, live);
                }
                if pass.next_flush == 0 || ts > pass.next_flush {
                    pass.next_flush = ts - ts % interval + interval;
                    pass.last_flush = Instant::now();
                }
            }
            pass.last_ts = ts;
            pass.state.process(&ev);
            feed(&pass.state, &pass.env, &ev, pass.num, &mut sink);
        }
    }
}

/// Passes one parsed event to the sink.
fn feed(state: &State, env: &Env, ev: &EventRef<'_>, num: u64, sink: &mut Sink) {
    let ctx = EventCtx {
        ev,
        state,
        num,
        env,
    };
    match sink {
        Sink::Table(t) => t.process(&ctx),
        Sink::Spy(s) => s.process(&ctx),
        Sink::None => {}
    }
}

/// Sends the Echo/Dig lines gathered so far.
fn send_lines(pass: &mut Pass, sink: &mut Sink, seq: u64, updates: &Sender<Update>) {
    pass.last_lines = Instant::now();
    if let Sink::Spy(s) = sink {
        if !s.lines.is_empty() {
            let lines = std::mem::take(&mut s.lines);
            let _ = updates.send(Update::Lines { seq, lines });
        }
    }
}

/// A live moment without events: ends the interval when its time is up.
fn live_tick(pass: &mut Pass, sink: &mut Sink, interval: u64, seq: u64, updates: &Sender<Update>) {
    send_lines(pass, sink, seq, updates);
    let elapsed = pass.last_flush.elapsed();
    if u128::from(interval) <= elapsed.as_nanos() {
        let ts = if pass.next_flush != 0 {
            pass.next_flush
        } else {
            now_ns()
        };
        emit(pass, sink, ts, interval, seq, updates, true);
        pass.next_flush = ts - ts % interval + interval;
        pass.last_flush = Instant::now();
    }
}

/// Wall-clock time in ns since the epoch.
fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Ends an interval at `ts`: live CPU samples, every thread once, then the
/// sample goes to the UI.
fn emit(
    pass: &mut Pass,
    sink: &mut Sink,
    ts: u64,
    delta: u64,
    seq: u64,
    updates: &Sender<Update>,
    live: bool,
) {
    let Sink::Table(table) = sink else {
        send_lines(pass, sink, seq, updates);
        return;
    };
    let ts_s = ts - ts % 1_000_000_000;
    let synth_ts = ts_s.saturating_sub(1);
    if live {
        // The probe's stand-in for procinfo events.
        let samples = pass.cpu.sample();
        for (tid, user, system) in samples {
            if pass.state.thread(tid).is_none() {
                continue;
            }
            let (u, s) = (user.to_le_bytes(), system.to_le_bytes());
            #[allow(clippy::cast_sign_loss)]
            osprey_event::encode(&mut pass.buf, synth_ts, tid as u64, PROCINFO_E, &[&u, &s]);
            if let Ok(ev) = EventRef::parse(&pass.buf, 0, 0) {
                pass.num += 1;
                pass.state.process(&ev);
                let ctx = EventCtx {
                    ev: &ev,
                    state: &pass.state,
                    num: pass.num,
                    env: &pass.env,
                };
                table.process(&ctx);
            }
        }
    }
    let tids: Vec<i64> = pass.state.threads().map(|t| t.tid).collect();
    for tid in tids {
        #[allow(clippy::cast_sign_loss)]
        osprey_event::encode(&mut pass.buf, synth_ts, tid as u64, SCAPEVENT_E, &[]);
        if let Ok(ev) = EventRef::parse(&pass.buf, 0, 0) {
            pass.state.process(&ev);
            let ctx = EventCtx {
                ev: &ev,
                state: &pass.state,
                num: pass.num,
                env: &pass.env,
            };
            table.process(&ctx);
        }
    }
    let sample = table.flush(ts, delta);
    let _ = updates.send(Update::Sample { seq, sample });
}

/// Reads every thread's CPU ticks from `/proc`.
#[derive(Debug, Default)]
struct ProcCpu;

impl ProcCpu {
    /// (tid, user ticks, system ticks) of every thread.
    fn sample(&mut self) -> Vec<(i64, u64, u64)> {
        let mut out = Vec::new();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return out;
        };
        for p in procs.flatten() {
            let name = p.file_name();
            if !name
                .to_str()
                .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
            {
                continue;
            }
            let Ok(tasks) = std::fs::read_dir(p.path().join("task")) else {
                continue;
            };
            for t in tasks.flatten() {
                let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else {
                    continue;
                };
                let Ok(stat) = std::fs::read(t.path().join("stat")) else {
                    continue;
                };
                if let Some((u, s)) = parse_stat(&stat) {
                    out.push((tid, u, s));
                }
            }
        }
        out
    }
}

/// User and system ticks of a `/proc/.../stat` line.
fn parse_stat(stat: &[u8]) -> Option<(u64, u64)> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    // After the name: state is field 3, utime 14 and stime 15.
    let mut f = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some((utime, stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_lines() {
        let line = b"42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat(line), Some((7, 3)));
        assert_eq!(parse_stat(b"garbage"), None);
    }
}
