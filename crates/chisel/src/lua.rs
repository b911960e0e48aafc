//! The Lua chisel runtime: sysdig's stock `.lua` chisels, run unchanged.
//!
//! Each chisel gets its own LuaJIT interpreter (5.1 semantics, as sysdig's)
//! with the three API tables `chisel`, `sysdig` and `evt`, `print`/`io.write` redirected to the host's output, and the
//! chisel's own directory first on `package.path`, so that `require "common"`
//! finds the helper modules installed next to it.
//!
//! - [`info`] reads a script's globals (`description`, `args`, ...) for `-cl`/`-i`;
//! - [`load`] (or [`load_with`], which also says what the command line
//!   asked for) runs the script, passes the arguments to `on_set_arg`, runs
//!   `on_init` (following `chisel.exec` to the chisel it names) and returns the
//!   running [`Chisel`].
//!
//! A Lua chisel reports neither a [`Chisel::filter`] nor a
//! [`Chisel::interval`]: the host calls [`Chisel::on_event`] for every event
//! and the chisel runs its interval clock (sysdig's rules, in event time) and
//! then its filter itself, because `on_interval` may read `evt.field` of the
//! event that fired it, which the trait's `on_interval` does not carry.
//!
//! Per event that passes the filter, the fields the chisel requested are
//! extracted into one reusable [`Values`] buffer before `on_event` runs;
//! `evt.field` only converts the stored value to a Lua value. `evt.buffer` is
//! rendered in the buffer format (`sysdig.set_output_format`, unless the user
//! chose one), uncut.

mod api;
mod threads;

use crate::runner::Clock;
use crate::{ArgInfo, Chisel, ChiselInfo, Error, EventCtx, Flow, Host, Interval};
use mlua::{Function, Lua, Table, Value as LuaValue};
use osprey_event::render::BufFormat;
use osprey_filter::fields::syscall::Env;
use osprey_filter::format::Format;
use osprey_filter::{Extract, FieldRef, Filter, Value, Values};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// How many `chisel.exec` hops are followed before giving up (a chisel that
/// execs itself would loop forever).
const MAX_EXEC_DEPTH: usize = 8;

/// What the current event looks like to `evt.get_*`.
#[derive(Debug, Default, Clone, Copy)]
struct EvtMeta {
    num: u64,
    ts: u64,
    cpu: u16,
    etype: u16,
    /// The syscall name of a generic event.
    generic: Option<&'static str>,
}

/// State shared between the chisel and the Lua functions it installs.
#[derive(Debug)]
struct Shared {
    /// The chisel's name, for messages.
    name: String,
    /// Output written by `print`/`io.write` and not yet handed to the host.
    out: Vec<u8>,
    /// Fields requested with `chisel.request_field`, by handle.
    fields: Vec<FieldRef>,
    /// Per field: whether it is `evt.buffer`, rendered in the buffer format.
    buffers: Vec<bool>,
    /// The current event's values of every requested field.
    values: Values,
    /// Per field: the index in `values` of its value for the current event.
    slots: Vec<Option<u32>>,
    /// A filter set by `chisel.set_filter`, not yet taken by the chisel.
    new_filter: Option<Filter>,
    /// The formatter set by `chisel.set_event_formatter`.
    formatter: Option<Format>,
    /// Set by `chisel.set_interval_*`.
    interval: Option<Interval>,
    /// `sysdig.end_capture()` was called.
    end: bool,
    /// `chisel.exec(name, args...)` was called.
    exec: Option<(String, Vec<String>)>,
    /// Buffer format asked for by `sysdig.set_output_format`.
    buf_format: Option<BufFormat>,
    /// Buffer format of the host (the user's `-A`/`-x`/`-j`...), from the last event.
    host_buf: BufFormat,
    /// Whether the capture is live.
    live: bool,
    /// What the command line asked for.
    opts: Options,
    /// The current event.
    evt: EvtMeta,
    /// First and last event timestamps seen (ns).
    first_ts: u64,
    last_ts: u64,
}

type SharedRc = Rc<RefCell<Shared>>;

/// A running Lua chisel.
#[derive(Debug)]
pub struct LuaChisel {
    name: String,
    lua: Lua,
    shared: SharedRc,
    filter: Option<Filter>,
    interval: Option<Interval>,
    clock: Clock,
    on_event: Option<Function>,
    env: Env,
    scratch: Values,
    line: Vec<u8>,
    /// Copy of a raw buffer while it is rendered.
    raw: Vec<u8>,
}

fn script_err(chisel: &str, e: &mlua::Error) -> Error {
    let message = match e {
        mlua::Error::CallbackError { traceback, cause } => {
            format!("{}\n{traceback}", innermost(cause))
        }
        other => other.to_string(),
    };
    Error::Script {
        chisel: chisel.to_owned(),
        message,
    }
}

fn innermost(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => innermost(cause),
        other => other.to_string(),
    }
}

fn chisel_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Creates an interpreter with the API installed and runs the script's top level.
fn open(path: &Path, shared: &SharedRc) -> Result<Lua, Error> {
    let name = chisel_name(path);
    let src = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(path.display().to_string()),
        _ => Error::Io(e),
    })?;
    let lua = Lua::new();
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    api::install(&lua, shared, dir).map_err(|e| script_err(&name, &e))?;
    lua.load(&src[..])
        .set_name(format!("@{}", path.display()))
        .exec()
        .map_err(|e| script_err(&name, &e))?;
    Ok(lua)
}

fn new_shared(name: &str, opts: &Options) -> SharedRc {
    Rc::new(RefCell::new(Shared {
        name: name.to_owned(),
        out: Vec::new(),
        fields: Vec::new(),
        buffers: Vec::new(),
        values: Values::new(),
        slots: Vec::new(),
        new_filter: None,
        formatter: None,
        interval: None,
        end: false,
        exec: None,
        buf_format: None,
        host_buf: BufFormat::Normal,
        live: false,
        opts: opts.clone(),
        evt: EvtMeta::default(),
        first_ts: 0,
        last_ts: 0,
    }))
}

fn get_string(t: &Table, key: &str) -> String {
    match t.get::<LuaValue>(key) {
        Ok(LuaValue::String(s)) => s.to_string_lossy(),
        _ => String::new(),
    }
}

fn read_info(lua: &Lua, name: &str) -> Result<ChiselInfo, Error> {
    let g = lua.globals();
    if !matches!(g.get::<LuaValue>("description"), Ok(LuaValue::String(_))) {
        return Err(Error::NotFound(name.to_owned()));
    }
    let mut args = Vec::new();
    match g.get::<LuaValue>("args") {
        Ok(LuaValue::Table(t)) => {
            for entry in t.sequence_values::<LuaValue>() {
                let Ok(LuaValue::Table(a)) = entry else {
                    return Err(Error::Script {
                        chisel: name.to_owned(),
                        message: "wrong chisel args definition".to_owned(),
                    });
                };
                args.push(ArgInfo {
                    name: get_string(&a, "name"),
                    description: get_string(&a, "description"),
                    argtype: get_string(&a, "argtype"),
                    optional: matches!(a.get::<LuaValue>("optional"), Ok(LuaValue::Boolean(true))),
                });
            }
        }
        Ok(LuaValue::Nil) => {}
        _ => {
            return Err(Error::Script {
                chisel: name.to_owned(),
                message: "wrong chisel args definition".to_owned(),
            })
        }
    }
    Ok(ChiselInfo {
        name: name.to_owned(),
        category: get_string(&g, "category"),
        short_description: get_string(&g, "short_description"),
        description: get_string(&g, "description"),
        args,
        hidden: matches!(g.get::<LuaValue>("hidden"), Ok(LuaValue::Boolean(true))),
    })
}

/// Reads a Lua chisel's description globals (for `-cl` and `-i`).
///
/// # Errors
/// [`Error::NotFound`] when the file is missing or is not a chisel (no
/// `description` global: a csysdig view or a helper module);
/// [`Error::Script`] when the script fails to run.
pub fn info(path: &Path) -> Result<ChiselInfo, Error> {
    let name = chisel_name(path);
    let shared = new_shared(&name, &Options::default());
    let lua = open(path, &shared)?;
    read_info(&lua, &name)
}

/// Loads a Lua chisel: runs the script, passes `args` positionally to
/// `on_set_arg` and runs `on_init`, following `chisel.exec`.
///
/// # Errors
/// [`Error::Args`] for a wrong number of arguments or a refused one,
/// [`Error::Filter`] for a bad filter or field, [`Error::Script`] when the
/// script fails.
pub fn load(path: &Path, args: &[String]) -> Result<Box<dyn Chisel>, Error> {
    load_with(path, args, &Options::default())
}

/// What a chisel may ask about the run (`sysdig.get_filter`,
/// `sysdig.get_evtsource_name`, `sysdig.is_print_container_data`): the
/// command-line options every chisel gets.
pub use crate::Options;

/// [`load`], with what the command line says about the run.
///
/// # Errors
/// As [`load`].
pub fn load_with(path: &Path, args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let mut path = path.to_path_buf();
    let mut args = args.to_vec();
    for _ in 0..MAX_EXEC_DEPTH {
        let (chisel, exec) = load_one(&path, &args, opts)?;
        match exec {
            None => return Ok(Box::new(chisel)),
            Some((target, target_args)) => {
                path = exec_path(&path, &target);
                args = target_args;
            }
        }
    }
    Err(Error::Script {
        chisel: chisel_name(&path),
        message: "too many nested chisel.exec calls".to_owned(),
    })
}

/// Where `chisel.exec(name)` finds `name`: next to the calling chisel.
fn exec_path(from: &Path, target: &str) -> PathBuf {
    let dir = from.parent().unwrap_or_else(|| Path::new("."));
    if target.ends_with(".lua") {
        dir.join(target)
    } else {
        dir.join(format!("{target}.lua"))
    }
}

type Exec = Option<(String, Vec<String>)>;

fn load_one(path: &Path, args: &[String], opts: &Options) -> Result<(LuaChisel, Exec), Error> {
    let name = chisel_name(path);
    let shared = new_shared(&name, opts);
    let lua = open(path, &shared)?;
    let info = read_info(&lua, &name)?;
    let required = info.args.iter().filter(|a| !a.optional).count();
    if args.len() < required {
        return Err(Error::Args(format!(
            "wrong number of parameters for chisel {name}, {required} required, {} given",
            args.len()
        )));
    }
    if args.len() > info.args.len() {
        return Err(Error::Args(format!(
            "too many parameters for chisel {name}, {required} required, {} optional, {} given",
            info.args.len() - required,
            args.len()
        )));
    }
    let g = lua.globals();
    if !args.is_empty() {
        let Ok(set_arg) = g.get::<Function>("on_set_arg") else {
            return Err(Error::Script {
                chisel: name,
                message: "chisel has args but no on_set_arg function".to_owned(),
            });
        };
        for (a, v) in info.args.iter().zip(args) {
            let ok: LuaValue = set_arg
                .call((a.name.as_str(), v.as_str()))
                .map_err(|e| script_err(&name, &e))?;
            if !matches!(ok, LuaValue::Boolean(true)) {
                return Err(Error::Args(format!("set_arg() for chisel {name} failed.")));
            }
        }
    }
    let mut chisel = LuaChisel {
        name: name.clone(),
        on_event: g.get::<Function>("on_event").ok(),
        lua,
        shared,
        filter: None,
        interval: None,
        clock: Clock::default(),
        env: Env::default(),
        scratch: Values::new(),
        line: Vec::new(),
        raw: Vec::new(),
    };
    chisel.env.render.buf_limit = None;
    if let Ok(init) = chisel.lua.globals().get::<Function>("on_init") {
        let r: LuaValue = init.call(()).map_err(|e| script_err(&name, &e))?;
        let exec = chisel.shared.borrow_mut().exec.take();
        if exec.is_some() {
            return Ok((chisel, exec));
        }
        if !matches!(r, LuaValue::Boolean(true)) {
            // What the chisel printed says why (there is no output yet).
            let printed = String::from_utf8_lossy(&chisel.shared.borrow().out).into_owned();
            let sep = if printed.is_empty() || printed.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            return Err(Error::Script {
                message: format!("{printed}{sep}init() for chisel {name} failed."),
                chisel: name,
            });
        }
    }
    chisel.sync();
    Ok((chisel, None))
}

impl LuaChisel {
    /// Takes what the last callback changed: a new filter, the interval.
    fn sync(&mut self) {
        let mut sh = self.shared.borrow_mut();
        if let Some(f) = sh.new_filter.take() {
            self.filter = Some(f);
        }
        self.interval = sh.interval;
    }

    /// Makes `ctx` the current event for `evt.*` and the chisel's own
    /// rendering settings: buffers uncut, in the format the chisel asked for
    /// unless the user chose one.
    fn begin_event(&mut self, ctx: &EventCtx<'_>) {
        let host_buf = ctx.env.render.buf;
        let mut sh = self.shared.borrow_mut();
        sh.host_buf = host_buf;
        self.env.render.buf = match (host_buf, sh.buf_format) {
            (BufFormat::Normal, Some(f)) => f,
            (b, _) => b,
        };
        let ts = ctx.ev.ts();
        if sh.first_ts == 0 {
            sh.first_ts = ts;
        }
        sh.last_ts = ts;
        sh.evt = EvtMeta {
            num: ctx.num,
            ts,
            cpu: ctx.ev.cpu,
            etype: ctx.ev.etype(),
            generic: api::generic_name(ctx.ev),
        };
        self.env.time_mode = ctx.env.time_mode;
        self.env.first_ts.set(ctx.env.first_ts.get());
        self.env.prev_match_ts.set(ctx.env.prev_match_ts.get());
        self.env.prev_print_ts.set(ctx.env.prev_print_ts.get());
    }

    /// Extracts every requested field of the current event.
    fn extract(&mut self, ctx: &EventCtx<'_>) {
        let my = EventCtx {
            ev: ctx.ev,
            state: ctx.state,
            num: ctx.num,
            env: &self.env,
        };
        let mut sh = self.shared.borrow_mut();
        let sh = &mut *sh;
        sh.values.clear();
        sh.slots.clear();
        for (f, &is_buffer) in sh.fields.iter().zip(&sh.buffers) {
            let at = sh.values.len();
            let slot = if my.extract(f, &mut sh.values) {
                if is_buffer {
                    render_buffer(&mut sh.values, at, &mut self.raw, self.env.render.buf)
                } else {
                    u32::try_from(at).ok()
                }
            } else {
                None
            };
            sh.slots.push(slot);
        }
    }

    /// The interval clock (sysdig's rules, in event time); runs `on_interval`
    /// when it fires.
    fn tick(
        &mut self,
        iv: Interval,
        ctx: &EventCtx<'_>,
        out: &mut dyn Write,
    ) -> Result<Flow, Error> {
        let mut clock = std::mem::take(&mut self.clock);
        let flow = clock.advance(iv, ctx.ev.ts(), |t, delta| {
            self.interval_call(t, delta, ctx, out)
        });
        self.clock = clock;
        flow
    }

    fn interval_call(
        &mut self,
        ts: u64,
        delta: u64,
        ctx: &EventCtx<'_>,
        out: &mut dyn Write,
    ) -> Result<Flow, Error> {
        self.extract(ctx);
        let live = self.shared.borrow().live;
        let host = Host {
            state: ctx.state,
            live,
        };
        let (s, ns) = split_ts(ts);
        let r = self.call_with_host("on_interval", &host, (s, ns, delta));
        self.flush(out)?;
        self.sync();
        let end = self.shared.borrow().end;
        match r? {
            Some(LuaValue::Boolean(false)) => Ok(Flow::End),
            _ if end => Ok(Flow::End),
            _ => Ok(Flow::Continue),
        }
    }

    /// Hands the buffered Lua output to the host.
    fn flush(&self, out: &mut dyn Write) -> Result<(), Error> {
        let mut sh = self.shared.borrow_mut();
        if !sh.out.is_empty() {
            out.write_all(&sh.out)?;
            sh.out.clear();
        }
        Ok(())
    }

    /// Calls a global callback, if the script has it, with `state` reachable
    /// from `sysdig.get_thread_table` during the call.
    fn call_with_host<A: mlua::IntoLuaMulti>(
        &self,
        callback: &str,
        host: &Host<'_>,
        a: A,
    ) -> Result<Option<LuaValue>, Error> {
        let Ok(f) = self.lua.globals().get::<Function>(callback) else {
            return Ok(None);
        };
        self.shared.borrow_mut().live = host.live;
        let r = self
            .lua
            .scope(|scope| {
                threads::install_scoped(&self.lua, scope, host.state)?;
                f.call::<LuaValue>(a)
            })
            .map_err(|e| script_err(&self.name, &e));
        // Outside the scope the table functions are dead: replace them.
        threads::install_unavailable(&self.lua).map_err(|e| script_err(&self.name, &e))?;
        r.map(Some)
    }
}

/// Replaces the raw `evt.buffer` value at `at` by its rendering in `fmt`,
/// as sysdig hands buffers to Lua (dots for non-printables by default);
/// returns the index of the rendered value.
fn render_buffer(values: &mut Values, at: usize, raw: &mut Vec<u8>, fmt: BufFormat) -> Option<u32> {
    let Some(&Value::Bytes(s, e)) = values.items().get(at) else {
        return u32::try_from(at).ok();
    };
    raw.clear();
    raw.extend_from_slice(values.bytes(s, e));
    let start = values.begin_bytes();
    osprey_event::render::write_buffer(values.bytes_mut(), raw, fmt);
    values.end_bytes(start);
    u32::try_from(values.len() - 1).ok()
}

fn split_ts(ts: u64) -> (u64, u64) {
    (ts / 1_000_000_000, ts % 1_000_000_000)
}

impl Chisel for LuaChisel {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_capture_start(&mut self, host: &Host<'_>, out: &mut dyn Write) -> Result<(), Error> {
        // Each input starts its own clock.
        self.clock = Clock::default();
        self.shared.borrow_mut().first_ts = 0;
        let r = self.call_with_host("on_capture_start", host, ());
        self.flush(out)?;
        self.sync();
        match r? {
            None | Some(LuaValue::Boolean(true)) => Ok(()),
            Some(_) => Err(Error::Script {
                chisel: self.name.clone(),
                message: "capture start error".to_owned(),
            }),
        }
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        self.begin_event(ctx);
        // The interval clock runs on every event, before the filter, and the
        // callback sees the event that fired it (`evt.field` works there).
        if let Some(iv) = self.interval {
            if self.tick(iv, ctx, out)? == Flow::End {
                return Ok(Flow::End);
            }
        }
        if let Some(f) = &self.filter {
            if !f.matches(ctx) {
                return Ok(Flow::Continue);
            }
        }
        self.extract(ctx);
        let r = match &self.on_event {
            Some(f) => f.call::<LuaValue>(()),
            None => Ok(LuaValue::Boolean(true)),
        };
        self.flush(out)?;
        let keep = r.map_err(|e| script_err(&self.name, &e))?;
        self.sync();
        let sh = self.shared.borrow();
        if !matches!(keep, LuaValue::Nil | LuaValue::Boolean(false)) {
            if let Some(fmt) = &sh.formatter {
                let my = EventCtx {
                    ev: ctx.ev,
                    state: ctx.state,
                    num: ctx.num,
                    env: &self.env,
                };
                self.line.clear();
                if fmt.write_text(&my, &mut self.scratch, &mut self.line) {
                    self.line.push(b'\n');
                    out.write_all(&self.line)?;
                }
            }
        }
        Ok(if sh.end { Flow::End } else { Flow::Continue })
    }

    fn on_capture_end(
        &mut self,
        ts: u64,
        delta: u64,
        host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let (s, ns) = split_ts(ts);
        let r = self.call_with_host("on_capture_end", host, (s, ns, delta));
        self.flush(out)?;
        r.map(|_| ())
    }
}
