//! The inspection loop: source → state → filter → output.

use super::args::Args;
use super::chisels::Plan;
use super::summary::Summary;
use anyhow::{Context, Result};
use osprey_capture::{kernel_selection, LiveOptions, Next, ResolverOptions, Source};
use osprey_chisel::{Flow, Host, Runner};
use osprey_event::render::{BufFormat, RenderOptions};
use osprey_event::table::category;
use osprey_event::EventRef;
use osprey_filter::fields::catalog::SyscallCatalog;
use osprey_filter::fields::listing;
use osprey_filter::fields::syscall::{Env, EventCtx};
use osprey_filter::format::Format;
use osprey_filter::{Filter, Values};
use osprey_state::State;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// sysdig's default line.
const DEFAULT_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info";
/// `-pc`: with container columns.
const CONTAINER_FORMAT: &str = "*%evt.num %evt.outputtime %evt.cpu %container.name (%container.id) %proc.name (%thread.tid:%thread.vtid) %evt.dir %evt.type %evt.info";
/// `-pk`: with Kubernetes pod columns.
const K8S_FORMAT: &str = "*%evt.num %evt.outputtime %evt.cpu %k8s.pod.name (%container.id) %proc.name (%thread.tid:%thread.vtid) %evt.dir %evt.type %evt.info";

/// Event types newer than sysdig 0.29.3's table: it neither shows nor numbers them,
/// and we follow it so that event numbers stay comparable.
const LEGACY_EVENT_MAX: u16 = osprey_state::LEGACY_EVENT_MAX;

/// A live capture writes out what is waiting at least this often.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(200);
/// A live capture looks at the clock every this many events.
const CLOCK_CHECK: u32 = 1024;

/// Output lines are written to stdout in batches of about this many bytes.
const BATCH: usize = 64 * 1024;

/// A usage or input error that exits with status 1 and one message.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

fn buffer_format(a: &Args) -> Result<BufFormat> {
    let chosen: Vec<BufFormat> = [
        (a.print_ascii, BufFormat::Ascii),
        (a.print_hex, BufFormat::Hex),
        (a.print_hex_ascii, BufFormat::HexAscii),
        (a.print_base64, BufFormat::Base64),
    ]
    .into_iter()
    .filter_map(|(on, f)| on.then_some(f))
    .collect();
    if chosen.len() > 1 {
        return Err(usage("you cannot specify more than one output format"));
    }
    let f = chosen.first().copied().unwrap_or(BufFormat::Normal);
    Ok(if a.json {
        match f {
            BufFormat::Ascii => BufFormat::JsonAscii,
            BufFormat::Hex => BufFormat::JsonHex,
            BufFormat::HexAscii => BufFormat::JsonHexAscii,
            BufFormat::Base64 => BufFormat::JsonBase64,
            _ => BufFormat::Json,
        }
    } else {
        f
    })
}

/// Loads the planned chisels afresh (once per input, as sysdig re-runs them).
fn load_chisels(plan: &Plan, opts: &osprey_chisel::Options) -> Result<Vec<Runner>> {
    plan.chisels
        .iter()
        .map(|r| {
            osprey_chisel::load_with(&r.name, &r.values, opts)
                .map(Runner::new)
                .map_err(|e| usage(e.to_string()))
        })
        .collect()
}

/// Runs `osprey` with parsed arguments and the chisels planned from them.
pub fn run(a: &Args, plan: &Plan) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if a.version {
        writeln!(out, "osprey version {}", env!("CARGO_PKG_VERSION"))?;
        return Ok(out.flush()?);
    }
    if a.chisel.iter().any(|c| c == "l") {
        osprey_chisel::write_list(&mut out, &osprey_chisel::list())?;
        return Ok(out.flush()?);
    }
    if let Some(name) = &a.chisel_info {
        let info = osprey_chisel::info(name)
            .map_err(|_| usage(format!("chisel {name} not found - use -cl to list them.")))?;
        osprey_chisel::write_info(&mut out, &info)?;
        return Ok(out.flush()?);
    }
    if a.list {
        listing::list_fields(&mut out, a.verbose)?;
        return Ok(out.flush()?);
    }
    if a.list_events {
        listing::list_events(&mut out)?;
        return Ok(out.flush()?);
    }
    let time_mode = a.time_mode().map_err(usage)?;
    let fmt_text = match a.print.as_deref() {
        None => DEFAULT_FORMAT,
        Some("c" | "container") => CONTAINER_FORMAT,
        Some("k" | "kubernetes") => K8S_FORMAT,
        Some("p") => {
            writeln!(out, "{DEFAULT_FORMAT}")?;
            return Ok(out.flush()?);
        }
        Some(f) => f,
    };
    let catalog = SyscallCatalog;
    let format = Format::parse(fmt_text, &catalog).map_err(|e| usage(e.to_string()))?;
    let filter_text = a.filter_text();
    let filter = match &filter_text {
        Some(t) => Some(Filter::compile(t, &catalog).map_err(|e| usage(e.display_with_caret(t)))?),
        None => None,
    };
    // Ctrl-C and SIGTERM end a capture the normal way: -S and the written
    // file are completed.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .map_err(|e| usage(format!("cannot install the signal handler: {e}")))?;
    }
    let live = a.readfile.is_empty();
    let inputs: Vec<Option<&str>> = if live {
        vec![None]
    } else {
        a.readfile.iter().map(|p| Some(p.as_str())).collect()
    };
    let env = Env {
        render: RenderOptions {
            buf: buffer_format(a)?,
            buf_limit: if a.verbose { None } else { Some(80) },
        },
        time_mode,
        ..Env::default()
    };
    let mut writer = match &a.writefile {
        Some(p) => Some(
            osprey_scap::Writer::create(p, a.compress)
                .with_context(|| format!("cannot create {p}"))?,
        ),
        None => None,
    };
    let quiet = a.quiet || writer.is_some() || !plan.chisels.is_empty();
    let with_chisels = !plan.chisels.is_empty();
    let mut chisel_opts = osprey_chisel::Options {
        print_container: matches!(
            a.print.as_deref(),
            Some("c" | "container" | "k" | "kubernetes")
        ),
        json: a.json,
        filter: filter_text.clone().unwrap_or_default(),
        source: inputs
            .first()
            .copied()
            .flatten()
            .unwrap_or_default()
            .to_owned(),
    };
    // Loaded now so that a chisel that cannot start fails before the capture opens.
    let mut preloaded = Some(load_chisels(plan, &chisel_opts)?);
    let mut summary: Option<Summary> = None;
    let mut lines = Vec::with_capacity(BATCH + 4096);
    let mut scratch = Values::new();
    let started = std::time::Instant::now();
    let mut counted: u64 = 0;
    let mut total: u64 = 0;
    let mut drops = 0;
    'files: for input in inputs {
        let mut source = match input {
            Some(path) => Source::file(path, Arc::clone(&stop)),
            None => Source::live_with(
                LiveOptions {
                    snaplen: a.snaplen.unwrap_or(80),
                    users: !a.exclude_users,
                    for_writing: writer.is_some(),
                    only: kernel_selection(filter.as_ref()),
                },
                Some(runtimes(&a.cri)),
                Arc::clone(&stop),
            ),
        }
        .map_err(|e| usage(e.to_string()))?;
        let mut state = State::new();
        // Exit-only events (live, or a capture written live) need the state
        // engine that parses every event type from exits alone.
        state.set_full(source.snapshot().exit_only);
        let mut runners = match preloaded.take() {
            Some(r) => r,
            None => {
                input
                    .unwrap_or_default()
                    .clone_into(&mut chisel_opts.source);
                load_chisels(plan, &chisel_opts)?
            }
        };
        if a.summary && summary.is_none() && !with_chisels {
            summary = Some(Summary::new(state.is_full()));
        }
        if !a.exclude_users {
            state.load(source.snapshot());
        } else {
            let mut snap = source.snapshot().clone();
            snap.users.clear();
            snap.groups.clear();
            state.load(&snap);
        }
        if let Some(w) = writer.as_mut() {
            let mut snap = source.snapshot().clone();
            if a.exclude_users {
                snap.users.clear();
                snap.groups.clear();
            }
            w.write_snapshot(&snap)?;
        }
        for r in &mut runners {
            r.start(
                &Host {
                    state: &state,
                    live,
                },
                &mut out,
            )
            .map_err(|e| usage(e.to_string()))?;
        }
        // Whether a limit or a chisel ended the whole run (not just this input).
        let mut stop_all = false;
        let mut last_ts: u64 = 0;
        let mut num: u64 = 0;
        let mut first_ts: Option<u64> = None;
        // Container metadata events that open a capture describe the initial
        // container table: sysdig numbers them but never shows them.
        let mut leading_meta = true;
        let mut last_flush = std::time::Instant::now();
        let mut until_clock_check: u32 = CLOCK_CHECK;
        loop {
            // A live capture on a busy system may never pause: what is
            // waiting (lines, chisel output) still goes out every FLUSH_EVERY.
            if live {
                until_clock_check -= 1;
                if until_clock_check == 0 {
                    until_clock_check = CLOCK_CHECK;
                    if last_flush.elapsed() >= FLUSH_EVERY {
                        out.write_all(&lines)?;
                        lines.clear();
                        out.flush()?;
                        last_flush = std::time::Instant::now();
                    }
                }
            }
            let ev = match source.poll() {
                Ok(Next::Event(ev)) => ev,
                Ok(Next::Idle) => {
                    // A pause in a live capture: show what is waiting.
                    out.write_all(&lines)?;
                    out.flush()?;
                    lines.clear();
                    last_flush = std::time::Instant::now();
                    continue;
                }
                Ok(Next::End) => break,
                Err(e) => {
                    // Everything read before the damage is printed first.
                    out.write_all(&lines)?;
                    out.flush()?;
                    return Err(usage(e.to_string()));
                }
            };
            let etype = ev.etype();
            if etype >= LEGACY_EVENT_MAX && !state.is_full() {
                // sysdig 0.29.3 does not know these types. Still update state (user/group tables, unless -E) but neither
                // number nor show it.
                if !a.exclude_users {
                    state.process(&ev);
                }
                continue;
            }
            num += 1;
            let ts = ev.ts();
            let is_container = matches!(etype, 228 | 272 | 324);
            leading_meta &= is_container;
            // sysdig's -v count leaves out the container records that open a capture.
            if !leading_meta {
                total += 1;
            }
            // Time starts at the first event that is not a leading container
            // record (those carry the time the capture file was written).
            let first = if leading_meta {
                ts
            } else {
                *first_ts.get_or_insert(ts)
            };
            env.first_ts.set(first);
            if let Some(max) = a.max_seconds {
                if ts.saturating_sub(first) > max.saturating_mul(1_000_000_000) {
                    stop_all = true;
                    break;
                }
            }
            // Like sysdig, a capture filter sees most events before they are
            // parsed (and a rejected event is not parsed); a display filter (-d)
            // sees every event after parsing.
            let pass = match &filter {
                Some(f) if !a.display_filter => state.process_filtered(&ev, |st| {
                    f.matches(&EventCtx {
                        ev: &ev,
                        state: st,
                        num,
                        env: &env,
                    })
                }),
                Some(f) => {
                    state.process(&ev);
                    f.matches(&EventCtx {
                        ev: &ev,
                        state: &state,
                        num,
                        env: &env,
                    })
                }
                None => {
                    state.process(&ev);
                    true
                }
            };
            last_ts = ts;
            if !pass {
                // Live, the chisels' clocks run on dropped events too.
                if live {
                    for r in &mut runners {
                        if r.tick(
                            ts,
                            &Host {
                                state: &state,
                                live,
                            },
                            &mut out,
                        )
                        .map_err(|e| usage(e.to_string()))?
                            == Flow::End
                        {
                            stop_all = true;
                        }
                    }
                    if stop_all {
                        break;
                    }
                }
                continue;
            }
            let ctx = EventCtx {
                ev: &ev,
                state: &state,
                num,
                env: &env,
            };
            // -n counts internal events too, but not the container records that
            // open a capture.
            if !leading_meta {
                counted += 1;
            }
            let limit_reached = !leading_meta && a.numevents.is_some_and(|n| counted >= n);
            // The container records that open a capture describe the initial
            // container table; sysdig's chisels never see them.
            if with_chisels && !leading_meta {
                let host = Host {
                    state: &state,
                    live,
                };
                for r in &mut runners {
                    if r.event(&ctx, &host, &mut out)
                        .map_err(|e| usage(e.to_string()))?
                        == Flow::End
                    {
                        stop_all = true;
                    }
                }
                if stop_all || limit_reached {
                    stop_all = true;
                    break;
                }
                continue;
            }
            if with_chisels {
                continue;
            }
            if let Some(w) = writer.as_mut() {
                w.write_event(&ev)?;
            }
            // sysdig counts internal events too, but not the container records
            // that open a capture.
            if let Some(s) = summary.as_mut().filter(|_| !leading_meta) {
                let id = ev
                    .param(0)
                    .and_then(|b| b.get(..2))
                    .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])));
                s.count(etype, id);
            }
            if !quiet && !leading_meta && is_shown(&ev, a.debug) {
                // Lines collect in one batch buffer (a rejected line truncates
                // itself), which goes to stdout in large writes.
                let ok = if a.json {
                    format.write_json(&ctx, &mut scratch, &mut lines)
                } else {
                    format.write_text(&ctx, &mut scratch, &mut lines)
                };
                if ok {
                    lines.push(b'\n');
                    // Lines go out in large writes (a write per line costs more
                    // than formatting it), or one by one with --unbuffered.
                    if a.unbuffered || lines.len() >= BATCH {
                        out.write_all(&lines)?;
                        lines.clear();
                        if a.unbuffered {
                            out.flush()?;
                        }
                    }
                    env.prev_print_ts.set(ts);
                }
            }
            env.prev_match_ts.set(ts);
            if limit_reached {
                stop_all = true;
                break;
            }
        }
        drops += source.drops();
        let first = first_ts.unwrap_or(last_ts);
        for r in &mut runners {
            r.end(
                last_ts,
                last_ts.saturating_sub(first),
                &Host {
                    state: &state,
                    live,
                },
                &mut out,
            )
            .map_err(|e| usage(e.to_string()))?;
        }
        if stop_all {
            break 'files;
        }
    }
    out.write_all(&lines)?;
    if let Some(w) = writer {
        w.finish()?;
    }
    if let Some(s) = summary {
        s.write(&mut out)?;
    }
    out.flush()?;
    if a.verbose {
        // sysdig's -v statistics; reading a file involves no driver, so the
        // driver counters are 0 there. The rate is over wall time.
        let total_driver = if live { total } else { 0 };
        let secs = started.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)] // an event rate for display
        let eps = if secs > 0.0 { total as f64 / secs } else { 0.0 };
        eprintln!(
            "Driver Events:{total_driver}\nDriver Drops:{drops}\nSuppressed by Comm:0\n\
             Elapsed time: {secs:.3}, Captured Events: {total}, {eps:.2} eps"
        );
    }
    Ok(())
}

/// The container runtimes a live capture asks: the `--cri` sockets first,
/// then the default ones.
fn runtimes(cri: &[std::path::PathBuf]) -> ResolverOptions {
    let mut opts = ResolverOptions::default();
    let defaults = std::mem::take(&mut opts.cri);
    opts.cri = cri.to_vec();
    opts.cri
        .extend(defaults.into_iter().filter(|d| !cri.contains(d)));
    opts
}

/// Whether sysdig would print this event: internal events (procinfo and the like)
/// and state-only records only with `-D`.
fn is_shown(ev: &EventRef<'_>, debug: bool) -> bool {
    if ev.is_state_only() {
        return false;
    }
    debug
        || ev
            .info()
            .is_some_and(|i| i.category & category::INTERNAL == 0)
}

#[cfg(test)]
mod tests {
    use super::runtimes;
    use std::path::PathBuf;

    #[test]
    fn cri_sockets_come_first_then_the_defaults_once() {
        let defaults = runtimes(&[]).cri;
        let mine = PathBuf::from("/run/my/cri.sock");
        let mut given = vec![mine.clone()];
        given.extend(defaults.first().cloned());
        let opts = runtimes(&given);
        assert_eq!(opts.cri.first(), Some(&mine));
        // A default given again is not asked twice.
        let mut want = given.clone();
        want.extend(defaults.iter().filter(|d| !given.contains(d)).cloned());
        assert_eq!(opts.cri, want);
        assert!(opts.docker.is_some());
    }
}
