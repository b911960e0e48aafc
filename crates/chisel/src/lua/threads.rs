//! `sysdig.get_thread_table*` and `sysdig.get_machine_info`: views of the
//! state, installed only for the duration of a callback that has it.

use mlua::{Lua, Result as LuaResult, Scope, Table, Value as LuaValue};
use osprey_filter::fields::catalog::{field_def, FieldId, SyscallCatalog};
use osprey_filter::{Extract, FieldRef, Filter, Value, Values};
use osprey_state::{l4, Endpoints, Fd, Role, State, Thread};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The state-reading functions, with whether each lists fds and full details.
const TABLE_FNS: [(&str, bool, bool); 4] = [
    ("get_thread_table", true, true),
    ("get_thread_table_nofds", false, true),
    ("get_thread_table_barebone", true, false),
    ("get_thread_table_barebone_nofds", false, false),
];

/// Installs functions that explain they cannot run here (between callbacks
/// that carry the state, such as `on_init`).
pub(super) fn install_unavailable(lua: &Lua) -> LuaResult<()> {
    let sysdig: Table = lua.globals().get("sysdig")?;
    for (name, _, _) in TABLE_FNS {
        sysdig.set(
            name,
            lua.create_function(move |_, _a: LuaValue| -> LuaResult<()> {
                Err(mlua::Error::RuntimeError(format!(
                    "{name} can only be called from on_capture_start, on_interval or on_capture_end"
                )))
            })?,
        )?;
    }
    sysdig.set(
        "get_machine_info",
        lua.create_function(|_, ()| -> LuaResult<()> {
            Err(mlua::Error::RuntimeError(
                "get_machine_info can only be called from the on_capture_start callback".into(),
            ))
        })?,
    )?;
    sysdig.set(
        "get_container_table",
        lua.create_function(|_, _a: LuaValue| -> LuaResult<()> {
            Err(mlua::Error::RuntimeError(
                "get_container_table can only be called from on_capture_start, on_interval or on_capture_end".into(),
            ))
        })?,
    )?;
    Ok(())
}

/// Installs the state-reading functions over `state` for one scope.
pub(super) fn install_scoped<'s>(
    lua: &Lua,
    scope: &'s Scope<'s, '_>,
    state: &'s State,
) -> LuaResult<()> {
    let sysdig: Table = lua.globals().get("sysdig")?;
    for (name, fds, full) in TABLE_FNS {
        sysdig.set(
            name,
            scope.create_function(move |lua, filter: Option<String>| {
                thread_table(lua, state, filter.as_deref(), fds, full)
            })?,
        )?;
    }
    sysdig.set(
        "get_machine_info",
        scope.create_function(move |lua, ()| machine_info(lua, state))?,
    )?;
    sysdig.set(
        "get_container_table",
        scope.create_function(move |lua, filter: Option<String>| {
            if filter.as_deref().is_some_and(|f| !f.trim().is_empty()) {
                return Err(mlua::Error::RuntimeError(
                    "get_container_table: filtering the container table is not supported".into(),
                ));
            }
            container_table(lua, state)
        })?,
    )?;
    Ok(())
}

/// `sysdig.get_machine_info()`: the capture's (or this machine's) CPUs,
/// memory, max pid and host name; `nil` when the input did not describe it.
fn machine_info(lua: &Lua, state: &State) -> LuaResult<LuaValue> {
    let Some(m) = state.machine() else {
        return Ok(LuaValue::Nil);
    };
    let t = lua.create_table()?;
    t.set("num_cpus", m.num_cpus)?;
    // Lua numbers are doubles: exact up to 2^53 bytes.
    #[allow(clippy::cast_precision_loss)]
    t.set("memory_size_bytes", m.memory_size_bytes as f64)?;
    #[allow(clippy::cast_precision_loss)]
    t.set("max_pid", m.max_pid as f64)?;
    let host = state.hostname().unwrap_or(&m.hostname);
    t.set("hostname", lua.create_string(host)?)?;
    Ok(LuaValue::Table(t))
}

/// `sysdig.get_container_table()`: an array of the known containers (sorted
/// by id), each a table of `id` (short), `name`, `image` and `type`, as
/// sysdig gives it.
fn container_table(lua: &Lua, state: &State) -> LuaResult<Table> {
    let mut list: Vec<_> = state.containers().collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    let t = lua.create_table()?;
    for (i, c) in list.into_iter().enumerate() {
        let e = lua.create_table()?;
        e.set("id", c.short_id())?;
        e.set("name", c.name.as_str())?;
        e.set("image", c.image.as_str())?;
        e.set("type", c.runtime.name())?;
        t.raw_set(i + 1, e)?;
    }
    Ok(t)
}

/// One thread and one of its fds, as a filter sees them in `get_thread_table`.
struct FdView<'a> {
    state: &'a State,
    thread: &'a Thread,
    num: i64,
    fd: &'a Fd,
}

fn l4_name(p: u8) -> &'static [u8] {
    match p {
        l4::TCP => b"tcp",
        l4::UDP => b"udp",
        l4::ICMP => b"icmp",
        l4::RAW => b"raw",
        _ => b"<NA>",
    }
}

/// A socket's server and client ends: ((ip, port), optional (ip, port)).
type Ends = (Value, u16, Option<(Value, u16)>);

fn ends(fd: &Fd) -> Option<Ends> {
    let (s, sp, d, dp) = match fd.endpoints {
        Endpoints::V4 {
            sip,
            sport,
            dip,
            dport,
        } => (Value::Ipv4(sip), sport, Value::Ipv4(dip), dport),
        Endpoints::V6 {
            sip,
            sport,
            dip,
            dport,
        } => (Value::Ipv6(sip), sport, Value::Ipv6(dip), dport),
        _ => return None,
    };
    if fd.server_socket {
        Some((d, dp, None))
    } else {
        Some((d, dp, Some((s, sp))))
    }
}

impl Extract for FdView<'_> {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        let Some(def) = field_def(field.id) else {
            return false;
        };
        let e = ends(self.fd);
        match def.id {
            FieldId::FdNum => out.push(Value::Int(self.num)),
            FieldId::FdName => out.push_bytes(&self.fd.name),
            FieldId::FdType => match self.fd.ty.as_str() {
                Some(s) => out.push_bytes(s.as_bytes()),
                None => return false,
            },
            FieldId::FdTypechar => out.push_bytes(&[self.fd.ty.typechar()]),
            FieldId::FdL4proto => out.push_bytes(l4_name(self.fd.shown_l4proto())),
            FieldId::FdSip | FieldId::FdLip => match e {
                Some((ip, _, _)) => out.push(ip),
                None => return false,
            },
            FieldId::FdSport | FieldId::FdLport => match e {
                Some((_, p, _)) => out.push(Value::Uint(u64::from(p))),
                None => return false,
            },
            FieldId::FdCip | FieldId::FdRip => match e {
                Some((_, _, Some((ip, _)))) => out.push(ip),
                _ => return false,
            },
            FieldId::FdCport | FieldId::FdRport => match e {
                Some((_, _, Some((_, p)))) => out.push(Value::Uint(u64::from(p))),
                _ => return false,
            },
            FieldId::ProcName => out.push_bytes(&self.thread.comm),
            FieldId::ProcExe => out.push_bytes(&self.thread.exe),
            FieldId::ProcPid => out.push(Value::Int(self.thread.pid)),
            FieldId::ThreadTid => out.push(Value::Int(self.thread.tid)),
            FieldId::UserName => match self.state.user(self.thread.uid) {
                Some(u) => out.push_bytes(&u.name),
                None => return false,
            },
            _ => return false,
        }
        true
    }
}

fn ip_string(lua: &Lua, v: Value) -> LuaResult<LuaValue> {
    let s = match v {
        Value::Ipv4(a) => Ipv4Addr::from(a).to_string(),
        Value::Ipv6(a) => Ipv6Addr::from(a).to_string(),
        _ => String::new(),
    };
    Ok(LuaValue::String(lua.create_string(s)?))
}

fn fd_entry(lua: &Lua, fd: &Fd) -> LuaResult<Table> {
    let t = lua.create_table()?;
    // sysdig lists names cleaned of control characters.
    let clean: Vec<u8> = fd.name.iter().copied().filter(|&b| b >= 0x20).collect();
    t.set("name", lua.create_string(clean)?)?;
    t.set("type", fd.ty.as_str().unwrap_or("<NA>"))?;
    if let Some((sip, sport, client)) = ends(fd) {
        t.set("sip", ip_string(lua, sip)?)?;
        t.set("sport", sport)?;
        t.set("is_server", fd.server_socket || fd.role == Role::Server)?;
        t.set("l4proto", lua.create_string(l4_name(fd.l4proto))?)?;
        if let Some((cip, cport)) = client {
            t.set("cip", ip_string(lua, cip)?)?;
            t.set("cport", cport)?;
        }
    }
    Ok(t)
}

/// Builds the table of `sysdig.get_thread_table` and its variants.
// sysdig hands the numbers to Lua as 32-bit unsigned (-1 shows as 4294967295).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn thread_table(
    lua: &Lua,
    state: &State,
    filter: Option<&str>,
    with_fds: bool,
    full: bool,
) -> LuaResult<Table> {
    let filter = match filter.filter(|f| !f.trim().is_empty()) {
        Some(text) => Some(Filter::compile(text, &SyscallCatalog).map_err(|e| {
            mlua::Error::RuntimeError(format!(
                "invalid filter argument for get_thread_table: {}",
                e.display_with_caret(text)
            ))
        })?),
        None => None,
    };
    let out = lua.create_table()?;
    // Descending tids, as for fds below: this gives `pairs` sysdig's order.
    let mut threads: Vec<&Thread> = state.threads().collect();
    threads.sort_unstable_by_key(|t| std::cmp::Reverse(t.tid));
    for t in threads {
        let fds = state.fds(t);
        let matches = |num: i64, fd: &Fd| {
            filter.as_ref().is_none_or(|f| {
                f.matches(&FdView {
                    state,
                    thread: t,
                    num,
                    fd,
                })
            })
        };
        if filter.is_some() && !fds.iter().any(|(n, fd)| matches(n, fd)) {
            continue;
        }
        let e = lua.create_table()?;
        e.set("tid", t.tid as u32)?;
        e.set("pid", t.pid as u32)?;
        if full {
            e.set("ptid", t.ptid as u32)?;
            e.set("comm", lua.create_string(&*t.comm)?)?;
            e.set("exe", lua.create_string(&*t.exe)?)?;
            e.set("flags", t.flags)?;
            e.set("fdlimit", t.fdlimit as u32)?;
            e.set("uid", t.uid)?;
            e.set("gid", t.gid)?;
            e.set("nchilds", t.nchilds)?;
            e.set("vmsize_kb", t.vmsize_kb)?;
            e.set("vmrss_kb", t.vmrss_kb)?;
            e.set("vmswap_kb", t.vmswap_kb)?;
            e.set("pfmajor", t.pfmajor as u32)?;
            e.set("pfminor", t.pfminor as u32)?;
            e.set("clone_ts", t.clone_ts.to_string())?;
            let user: &[u8] = match state.user(t.uid) {
                Some(u) if t.uid != u32::MAX => &u.name,
                _ => b"<NA>",
            };
            e.set("username", lua.create_string(user)?)?;
            let args = lua.create_table()?;
            for (i, a) in t.args().enumerate() {
                args.set(i + 1, lua.create_string(a)?)?;
            }
            e.set("args", args)?;
            let env = lua.create_table()?;
            for (i, a) in t.env().enumerate() {
                env.set(i + 1, lua.create_string(a)?)?;
            }
            e.set("env", env)?;
        }
        if with_fds {
            let ft = lua.create_table()?;
            // Lua's `pairs` order depends on the insertion order: sysdig's
            // (its hash maps') is matched by inserting in descending order.
            let mut sorted: Vec<(i64, &Fd)> = fds.iter().collect();
            sorted.sort_unstable_by_key(|&(n, _)| std::cmp::Reverse(n));
            for (n, fd) in sorted {
                if matches(n, fd) {
                    ft.set(n, fd_entry(lua, fd)?)?;
                }
            }
            e.set("fdtable", ft)?;
        }
        out.set(t.tid, e)?;
    }
    Ok(out)
}
