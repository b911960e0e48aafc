//! The `chisel`, `evt` and `sysdig` tables, and the output redirection.

use super::{threads, Shared, SharedRc};
use crate::Interval;
use mlua::{Lua, Result as LuaResult, Table, Value as LuaValue, Variadic};
use osprey_event::render::BufFormat;
use osprey_event::EventRef;
use osprey_filter::fields::catalog::{field_def, FieldId, SyscallCatalog};
use osprey_filter::format::Format;
use osprey_filter::{FieldArg, FieldCatalog, Filter, Value};
use std::io::IsTerminal;
use std::net::{Ipv4Addr, Ipv6Addr, UdpSocket};
use std::path::Path;
use std::rc::Rc;

/// sysdig's default event line, for `set_event_formatter("")`.
const DEFAULT_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info";

/// `print` and `io.write` in Lua, over the Rust writer `w`.
const PRELUDE: &str = r#"
local w = ...
local tostring, select, concat = tostring, select, table.concat
function print(...)
  local n = select('#', ...)
  if n == 1 then
    w(tostring((...)), "\n")
    return
  end
  local t = {...}
  for i = 1, n do t[i] = tostring(t[i]) end
  w(concat(t, "\t"), "\n")
end
io.write = function(...) w(...) end
io.flush = function() end
-- A library must not end the process: the chisel's exit becomes an error.
os.exit = function(code)
  error("the chisel called os.exit(" .. tostring(code) .. ")", 0)
end
"#;

fn rt(msg: String) -> mlua::Error {
    mlua::Error::RuntimeError(msg)
}

/// The syscall name of a generic event (`evt.type` shows it).
pub(super) fn generic_name(ev: &EventRef<'_>) -> Option<&'static str> {
    if ev.etype() > 1 {
        return None;
    }
    let b = ev.param(0)?.get(..2)?;
    osprey_event::syscalls::syscall_name(u16::from_le_bytes([b[0], b[1]]))
}

/// Splits `name[arg]` as `request_field` accepts it.
fn split_field(name: &str) -> (&str, FieldArg) {
    if let Some(open) = name.find('[') {
        if let Some(inner) = name[open + 1..].strip_suffix(']') {
            let inner = inner.trim_matches('"');
            let arg = match inner.parse::<i64>() {
                Ok(i) => FieldArg::Index(i),
                Err(_) => FieldArg::Name(inner.into()),
            };
            return (&name[..open], arg);
        }
    }
    (name, FieldArg::None)
}

fn buf_format(name: &str) -> Option<BufFormat> {
    Some(match name {
        "normal" => BufFormat::Normal,
        "json" => BufFormat::Json,
        "simple" | "ascii" => BufFormat::Ascii,
        "hex" => BufFormat::Hex,
        "hexascii" => BufFormat::HexAscii,
        "base64" => BufFormat::Base64,
        "jsonbase64" => BufFormat::JsonBase64,
        _ => return None,
    })
}

fn ts_arg(v: &LuaValue) -> LuaResult<u64> {
    match v {
        LuaValue::String(s) => s
            .to_str()?
            .trim()
            .parse::<u64>()
            .map_err(|e| rt(format!("bad timestamp: {e}"))),
        LuaValue::Integer(i) => u64::try_from(*i).map_err(|e| rt(format!("bad timestamp: {e}"))),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        // Lua numbers are doubles
        LuaValue::Number(n) => Ok(*n as u64),
        _ => Err(rt("bad timestamp".to_owned())),
    }
}

/// Converts one extracted value as `evt.field` returns it.
fn to_lua(lua: &Lua, sh: &Shared, v: Value) -> LuaResult<LuaValue> {
    #[allow(clippy::cast_precision_loss)] // Lua numbers are doubles, as in sysdig
    Ok(match v {
        Value::Int(i) => LuaValue::Number(i as f64),
        Value::Uint(u) => LuaValue::Number(u as f64),
        Value::Double(d) => LuaValue::Number(d),
        Value::Bool(b) => LuaValue::Boolean(b),
        Value::Bytes(s, e) => LuaValue::String(lua.create_string(sh.values.bytes(s, e))?),
        Value::Ipv4(a) => {
            LuaValue::String(lua.create_string(Ipv4Addr::from(a).to_string().as_bytes())?)
        }
        Value::Ipv6(a) => {
            LuaValue::String(lua.create_string(Ipv6Addr::from(a).to_string().as_bytes())?)
        }
    })
}

/// Installs the API tables, the output redirection and the module path.
pub(super) fn install(lua: &Lua, shared: &SharedRc, dir: &Path) -> LuaResult<()> {
    let g = lua.globals();
    // Output goes to the chisel's buffer, handed to the host after each callback.
    let sh = Rc::clone(shared);
    let writer = lua.create_function(move |_, parts: Variadic<mlua::String>| {
        let mut s = sh.borrow_mut();
        for p in parts.iter() {
            s.out.extend_from_slice(&p.as_bytes());
        }
        Ok(())
    })?;
    lua.load(PRELUDE).set_name("=osprey").call::<()>(writer)?;
    // `require` looks next to the chisel first.
    let package: Table = g.get("package")?;
    let old: String = package.get("path")?;
    package.set("path", format!("{}/?.lua;{old}", dir.display()))?;

    g.set("chisel", chisel_table(lua, shared)?)?;
    g.set("evt", evt_table(lua, shared)?)?;
    g.set("sysdig", sysdig_table(lua, shared)?)?;
    threads::install_unavailable(lua)?;
    Ok(())
}

fn chisel_table(lua: &Lua, shared: &SharedRc) -> LuaResult<Table> {
    let t = lua.create_table()?;
    let sh = Rc::clone(shared);
    t.set(
        "request_field",
        lua.create_function(move |_, name: String| {
            let mut s = sh.borrow_mut();
            let (base, arg) = split_field(&name);
            let f = SyscallCatalog
                .resolve(base, arg)
                .map_err(|_| rt(format!("chisel requesting nonexistent field {name}")))?;
            let is_buffer = field_def(f.id).is_some_and(|d| d.id == FieldId::EvtBuffer);
            s.fields.push(f);
            s.buffers.push(is_buffer);
            Ok(s.fields.len() - 1)
        })?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "set_filter",
        lua.create_function(move |_, text: String| set_filter(&sh, &text))?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "set_event_formatter",
        lua.create_function(move |_, text: String| {
            let text = if text.is_empty() || text == "default" {
                DEFAULT_FORMAT
            } else {
                text.as_str()
            };
            let f = Format::parse(text, &SyscallCatalog).map_err(|e| rt(e.to_string()))?;
            sh.borrow_mut().formatter = Some(f);
            Ok(())
        })?,
    )?;
    for (name, mult, precise) in [
        ("set_interval_s", 1_000_000_000u64, false),
        ("set_interval_ns", 1, false),
        ("set_precise_interval_ns", 1, true),
    ] {
        let sh = Rc::clone(shared);
        t.set(
            name,
            lua.create_function(move |_, n: u64| {
                let period = n.saturating_mul(mult);
                sh.borrow_mut().interval = Some(if precise {
                    Interval::Precise(period)
                } else {
                    Interval::Aligned(period)
                });
                Ok(())
            })?,
        )?;
    }
    let sh = Rc::clone(shared);
    t.set(
        "exec",
        lua.create_function(move |_, (name, args): (String, Variadic<String>)| {
            sh.borrow_mut().exec = Some((name, args.into_iter().collect()));
            Ok(())
        })?,
    )?;
    Ok(t)
}

fn set_filter(sh: &SharedRc, text: &str) -> LuaResult<()> {
    let mut s = sh.borrow_mut();
    if text.trim().is_empty() {
        s.new_filter = None;
        return Ok(());
    }
    match Filter::compile(text, &SyscallCatalog) {
        Ok(f) => {
            s.new_filter = Some(f);
            Ok(())
        }
        Err(e) => Err(rt(format!(
            "invalid filter in chisel {}: {}",
            s.name,
            e.display_with_caret(text)
        ))),
    }
}

fn evt_table(lua: &Lua, shared: &SharedRc) -> LuaResult<Table> {
    let t = lua.create_table()?;
    let sh = Rc::clone(shared);
    t.set(
        "field",
        lua.create_function(move |lua, h: LuaValue| {
            // A handle never requested (nil) gives nil, as in sysdig.
            let Some(h) = h.as_usize() else {
                return Ok(LuaValue::Nil);
            };
            let s = sh.borrow();
            let Some(Some(at)) = s.slots.get(h) else {
                return Ok(LuaValue::Nil);
            };
            match s.values.items().get(*at as usize) {
                Some(v) => to_lua(lua, &s, *v),
                None => Ok(LuaValue::Nil),
            }
        })?,
    )?;
    let sh = Rc::clone(shared);
    #[allow(clippy::cast_precision_loss)] // Lua numbers are doubles, as in sysdig
    t.set(
        "get_num",
        lua.create_function(move |_, ()| Ok(sh.borrow().evt.num as f64))?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "get_ts",
        lua.create_function(move |_, ()| {
            let ts = sh.borrow().evt.ts;
            Ok((ts / 1_000_000_000, ts % 1_000_000_000))
        })?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "get_type",
        lua.create_function(move |_, ()| {
            let e = sh.borrow().evt;
            Ok(e.generic
                .or_else(|| osprey_event::table::info(e.etype).map(|i| i.name)))
        })?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "get_cpuid",
        lua.create_function(move |_, ()| Ok(sh.borrow().evt.cpu))?,
    )?;
    Ok(t)
}

fn sysdig_table(lua: &Lua, shared: &SharedRc) -> LuaResult<Table> {
    let t = lua.create_table()?;
    let sh = Rc::clone(shared);
    // One filter per chisel: the global one is the host's.
    t.set(
        "set_filter",
        lua.create_function(move |_, text: String| set_filter(&sh, &text))?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "get_filter",
        lua.create_function(move |_, ()| Ok(sh.borrow().opts.filter.clone()))?,
    )?;
    t.set(
        "set_snaplen",
        lua.create_function(|_, _n: LuaValue| Ok(()))?,
    )?;
    t.set(
        "set_fatfile_dump_mode",
        lua.create_function(|_, _b: LuaValue| Ok(()))?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "set_output_format",
        lua.create_function(move |_, name: String| {
            let f = buf_format(&name).ok_or_else(|| rt(format!("invalid output format {name}")))?;
            sh.borrow_mut().buf_format = Some(f);
            Ok(())
        })?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "get_output_format",
        lua.create_function(move |_, ()| {
            let sh = sh.borrow();
            // `-j` is known before the first event (on_capture_start asks).
            if sh.opts.json {
                return Ok("json");
            }
            Ok(match sh.host_buf {
                BufFormat::Json
                | BufFormat::JsonAscii
                | BufFormat::JsonHex
                | BufFormat::JsonHexAscii
                | BufFormat::JsonBase64 => "json",
                _ => "normal",
            })
        })?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "is_live",
        lua.create_function(move |_, ()| Ok(sh.borrow().live))?,
    )?;
    t.set(
        "is_tty",
        lua.create_function(|_, ()| Ok(std::io::stdout().is_terminal()))?,
    )?;
    t.set(
        "get_terminal_info",
        lua.create_function(|lua, ()| {
            let r = lua.create_table()?;
            r.set("width", -1)?;
            r.set("height", -1)?;
            Ok(r)
        })?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "is_print_container_data",
        lua.create_function(move |_, ()| Ok(sh.borrow().opts.print_container))?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "get_evtsource_name",
        lua.create_function(move |_, ()| {
            let s = sh.borrow();
            Ok(if s.live {
                String::new()
            } else {
                s.opts.source.clone()
            })
        })?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "get_firstevent_ts",
        lua.create_function(move |_, ()| Ok(sh.borrow().first_ts.to_string()))?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "get_lastevent_ts",
        lua.create_function(move |_, ()| Ok(sh.borrow().last_ts.to_string()))?,
    )?;
    t.set(
        "make_ts",
        lua.create_function(|_, (s, ns): (LuaValue, LuaValue)| {
            Ok(ts_arg(&s)?
                .saturating_mul(1_000_000_000)
                .saturating_add(ts_arg(&ns)?)
                .to_string())
        })?,
    )?;
    t.set(
        "add_ts",
        lua.create_function(|_, (a, b): (LuaValue, LuaValue)| {
            Ok(ts_arg(&a)?.wrapping_add(ts_arg(&b)?).to_string())
        })?,
    )?;
    t.set(
        "subtract_ts",
        lua.create_function(|_, (a, b): (LuaValue, LuaValue)| {
            Ok(ts_arg(&a)?.wrapping_sub(ts_arg(&b)?).to_string())
        })?,
    )?;
    let sh = Rc::clone(shared);
    t.set(
        "end_capture",
        lua.create_function(move |_, ()| {
            sh.borrow_mut().end = true;
            Ok(())
        })?,
    )?;
    // Re-running sysdig with other arguments is the host's business; a
    // library chisel cannot do it, so the request is dropped.
    t.set("run_app", lua.create_function(|_, _a: LuaValue| Ok(()))?)?;
    t.set(
        "log",
        lua.create_function(|_, _a: Variadic<LuaValue>| Ok(()))?,
    )?;
    t.set("get_read_progress", lua.create_function(|_, ()| Ok(0.0))?)?;
    let sock: Rc<std::cell::RefCell<Option<UdpSocket>>> = Rc::default();
    let s2 = Rc::clone(&sock);
    t.set(
        "udp_setpeername",
        lua.create_function(move |_, (ip, port): (String, u16)| {
            let so = UdpSocket::bind("0.0.0.0:0").map_err(|e| rt(e.to_string()))?;
            so.connect((ip.as_str(), port))
                .map_err(|e| rt(e.to_string()))?;
            *s2.borrow_mut() = Some(so);
            Ok(())
        })?,
    )?;
    t.set(
        "udp_send",
        lua.create_function(move |_, msg: mlua::String| {
            if let Some(so) = sock.borrow().as_ref() {
                // Metrics are best effort, as with any UDP sender.
                let _ = so.send(&msg.as_bytes());
            }
            Ok(())
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_field_args() {
        assert_eq!(split_field("evt.arg.fd"), ("evt.arg.fd", FieldArg::None));
        assert_eq!(
            split_field("proc.aname[2]"),
            ("proc.aname", FieldArg::Index(2))
        );
        assert_eq!(
            split_field("evt.arg[name]"),
            ("evt.arg", FieldArg::Name("name".into()))
        );
    }

    #[test]
    fn output_formats() {
        assert_eq!(buf_format("ascii"), Some(BufFormat::Ascii));
        assert_eq!(buf_format("nope"), None);
    }
}
