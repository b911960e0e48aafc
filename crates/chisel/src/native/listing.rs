//! The "System State" chisels: `netstat`, `lsof`, `ps` and `lscontainers`.
//!
//! Each one takes a snapshot: the first event that reaches it ends the
//! capture, and the tables are printed from the state as it stands then (the
//! process table of the capture's header, plus what that event changed).
//! `netstat`, `lsof` and `ps` take an optional filter over (thread, fd) pairs:
//! a thread is listed if one of its fds matches, with only the matching fds.

use super::table::{compile_filter, format_bytes};
use super::Native;
use crate::{ArgInfo, Chisel, ChiselInfo, Error, EventCtx, Flow, Host, Options};
use osprey_filter::fields::catalog::{field_def, FieldId};
use osprey_filter::{Extract, FieldRef, Filter, Value, Values};
use osprey_state::{l4, Endpoints, Fd, FdType, State, Thread};
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

/// What sysdig prints when no event reached the chisel.
const EMPTY: &[u8] = b"empty capture or no event matching the filter\n";

/// netstat's own filter, to which a user filter is appended.
const NET_FDS: &str = "(fd.type=ipv4 or fd.type=ipv6)";

/// Which listing a [`Snapshot`] prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Netstat,
    Lsof,
    Ps,
    Containers { desc: bool },
}

/// A snapshot chisel.
#[derive(Debug)]
struct Snapshot {
    name: &'static str,
    kind: Kind,
    /// The filter over (thread, fd) pairs.
    filter: Option<Filter>,
    /// Whether `on_capture_start` ran (sysdig prints nothing otherwise).
    started: bool,
    /// Whether an event reached the chisel.
    matched: bool,
    /// Whether the events are live.
    live: bool,
    /// Live `lscontainers`: the time of the first event and of the last
    /// check for containers still waiting for their metadata.
    first_ts: u64,
    checked_ts: u64,
}

/// Live `lscontainers` waits at most this long (event time, ns) for the
/// runtime to describe the containers found in the process table.
const METADATA_WAIT: u64 = 3_000_000_000;
/// How often (event time, ns) it looks whether they are all described.
const METADATA_CHECK: u64 = 100_000_000;

/// Whether some thread runs in a container the runtime has not described yet.
fn metadata_pending(state: &State) -> bool {
    state
        .threads()
        .any(|t| t.container_id().is_some() && state.container(t).is_none())
}

impl Chisel for Snapshot {
    fn name(&self) -> &str {
        self.name
    }

    fn on_capture_start(&mut self, host: &Host<'_>, _out: &mut dyn Write) -> Result<(), Error> {
        self.started = true;
        self.live = host.live;
        Ok(())
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, _out: &mut dyn Write) -> Result<Flow, Error> {
        self.matched = true;
        // Live, container metadata comes from the runtime in the background:
        // unlike sysdig, which lists what it has at the first event,
        // lscontainers waits (a little) for the containers it knows of.
        if self.live && matches!(self.kind, Kind::Containers { .. }) {
            let ts = ctx.ev.ts();
            if self.first_ts == 0 {
                self.first_ts = ts;
            }
            if ts.saturating_sub(self.first_ts) < METADATA_WAIT {
                if ts.saturating_sub(self.checked_ts) < METADATA_CHECK {
                    return Ok(Flow::Continue);
                }
                self.checked_ts = ts;
                if metadata_pending(ctx.state) {
                    return Ok(Flow::Continue);
                }
            }
        }
        Ok(Flow::End)
    }

    fn on_capture_end(
        &mut self,
        _ts: u64,
        _delta: u64,
        host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        if !self.started {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(16 * 1024);
        if let Kind::Containers { desc } = self.kind {
            containers(host.state, desc, &mut buf);
        } else if !self.matched {
            buf.extend_from_slice(EMPTY);
        } else {
            let rows = select(host.state, self.filter.as_ref());
            match self.kind {
                Kind::Netstat => netstat(&rows, &mut buf),
                Kind::Lsof => lsof(host.state, &rows, &mut buf),
                Kind::Ps => ps(host.state, &rows, &mut buf),
                Kind::Containers { .. } => {}
            }
        }
        out.write_all(&buf)?;
        // A second input starts a new snapshot.
        self.matched = false;
        Ok(())
    }
}

/// One listed thread and its listed fds (ascending).
struct Row<'a> {
    thread: &'a Thread,
    fds: Vec<(i64, &'a Fd)>,
}

/// The threads (ascending tid) and fds that pass `filter`, as sysdig's
/// `get_thread_table(filter)` selects them.
fn select<'a>(state: &'a State, filter: Option<&Filter>) -> Vec<Row<'a>> {
    let mut threads: Vec<&Thread> = state.threads().collect();
    threads.sort_unstable_by_key(|t| t.tid);
    let mut rows = Vec::with_capacity(threads.len());
    for thread in threads {
        let mut fds: Vec<(i64, &Fd)> = state
            .fds(thread)
            .iter()
            .filter(|&(num, fd)| {
                filter.is_none_or(|f| {
                    f.matches(&FdView {
                        state,
                        thread,
                        num,
                        fd,
                    })
                })
            })
            .collect();
        if filter.is_some() && fds.is_empty() {
            continue;
        }
        fds.sort_unstable_by_key(|&(n, _)| n);
        rows.push(Row { thread, fds });
    }
    rows
}

/// Appends `s` padded with spaces to `n` bytes; a longer one is cut to
/// `n - 1` bytes and a space (sysdig's `extend_string`).
fn pad(buf: &mut Vec<u8>, s: &[u8], n: usize) {
    if s.len() < n {
        buf.extend_from_slice(s);
        buf.resize(buf.len() + n - s.len(), b' ');
    } else if n > 0 {
        buf.extend_from_slice(&s[..n - 1]);
        buf.push(b' ');
    }
}

/// [`pad`] of a number.
fn pad_num(buf: &mut Vec<u8>, v: impl itoa::Integer, n: usize) {
    pad(buf, itoa::Buffer::new().format(v).as_bytes(), n);
}

/// A 32-bit view of a pid or tid, as sysdig hands them to its tables
/// (-1 shows as 4294967295).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // sysdig's u32
fn u32_of(v: i64) -> u32 {
    v as u32
}

/// The user name a thread runs as, or `<NA>`.
fn user_name<'a>(state: &'a State, t: &Thread) -> &'a [u8] {
    match state.user(t.uid) {
        Some(u) if t.uid != u32::MAX => &u.name,
        _ => b"<NA>",
    }
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

/// A socket's server end and, unless it is a listening socket, its client end.
struct Ends {
    sip: Value,
    sport: u16,
    client: Option<(Value, u16)>,
}

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
    Some(Ends {
        sip: d,
        sport: dp,
        client: (!fd.server_socket).then_some((s, sp)),
    })
}

fn push_ip(buf: &mut Vec<u8>, v: &Value) {
    let _ = match *v {
        Value::Ipv4(a) => write!(buf, "{}", Ipv4Addr::from(a)),
        Value::Ipv6(a) => write!(buf, "{}", Ipv6Addr::from(a)),
        _ => Ok(()),
    };
}

fn netstat(rows: &[Row<'_>], buf: &mut Vec<u8>) {
    pad(buf, b"Proto", 6);
    pad(buf, b"Server Address", 25);
    pad(buf, b"Client Address", 25);
    pad(buf, b"State", 15);
    buf.extend_from_slice(b"TID/PID/Program Name\n");
    let mut cell = Vec::with_capacity(64);
    for row in rows {
        let t = row.thread;
        for &(_, fd) in &row.fds {
            let Some(e) = ends(fd) else { continue };
            pad(buf, l4_name(fd.l4proto), 6);
            cell.clear();
            push_ip(&mut cell, &e.sip);
            cell.push(b':');
            cell.extend_from_slice(itoa::Buffer::new().format(e.sport).as_bytes());
            pad(buf, &cell, 25);
            cell.clear();
            let state: &[u8] = match &e.client {
                Some((ip, port)) => {
                    push_ip(&mut cell, ip);
                    cell.push(b':');
                    cell.extend_from_slice(itoa::Buffer::new().format(*port).as_bytes());
                    b"ESTABLISHED"
                }
                None => {
                    cell.extend_from_slice(b"0.0.0.0:*");
                    b"LISTEN"
                }
            };
            pad(buf, &cell, 25);
            pad(buf, state, 15);
            let _ = write!(buf, "{}/{}/", t.tid, u32_of(t.pid));
            buf.extend_from_slice(&t.comm);
            buf.push(b'\n');
        }
    }
}

fn lsof(state: &State, rows: &[Row<'_>], buf: &mut Vec<u8>) {
    pad(buf, b"COMMAND", 20);
    pad(buf, b"PID", 8);
    pad(buf, b"TID", 8);
    pad(buf, b"USER", 8);
    pad(buf, b"FD", 8);
    pad(buf, b"TYPE", 12);
    buf.extend_from_slice(b"NAME\n");
    for row in rows {
        let t = row.thread;
        let user = user_name(state, t);
        for &(num, fd) in &row.fds {
            pad(buf, &t.comm, 20);
            pad_num(buf, u32_of(t.pid), 8);
            pad_num(buf, t.tid, 8);
            pad(buf, user, 8);
            pad_num(buf, num, 8);
            pad(buf, fd.ty.as_str().unwrap_or("<NA>").as_bytes(), 12);
            // sysdig lists names cleaned of control characters.
            buf.extend(fd.name.iter().copied().filter(|&b| b >= 0x20));
            buf.push(b'\n');
        }
    }
}

fn ps(state: &State, rows: &[Row<'_>], buf: &mut Vec<u8>) {
    pad(buf, b"TID", 8);
    pad(buf, b"PID", 8);
    pad(buf, b"USER", 12);
    pad(buf, b"VIRT", 11);
    pad(buf, b"RES", 11);
    pad(buf, b"FDLIMIT", 10);
    pad(buf, b"CMD", 20);
    buf.push(b'\n');
    let mut cell = Vec::with_capacity(32);
    for row in rows {
        let t = row.thread;
        pad_num(buf, t.tid, 8);
        pad_num(buf, u32_of(t.pid), 8);
        pad(buf, user_name(state, t), 12);
        cell.clear();
        format_bytes(&mut cell, f64::from(t.vmsize_kb) * 1024.0);
        pad(buf, &cell, 11);
        cell.clear();
        format_bytes(&mut cell, f64::from(t.vmrss_kb) * 1024.0);
        pad(buf, &cell, 11);
        pad_num(buf, u32_of(t.fdlimit), 10);
        buf.extend_from_slice(&t.comm);
        buf.push(b'\n');
    }
}

/// `lscontainers`: the known containers, ordered by id (sysdig's order is
/// that of its hash map), as a table or, with `desc`, as a Lua table literal.
fn containers(state: &State, desc: bool, buf: &mut Vec<u8>) {
    let mut list: Vec<_> = state.containers().collect();
    list.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    if desc {
        buf.extend_from_slice(b"{\n");
        for (i, c) in list.iter().enumerate() {
            let _ = writeln!(buf, " {} = {{", i + 1);
            for (k, v) in [
                ("name", c.name.as_str()),
                ("image", c.image.as_str()),
                ("id", short_id(&c.id)),
                ("type", c.runtime.name()),
            ] {
                let _ = write!(buf, "  {k} = ");
                lua_quote(buf, v.as_bytes());
                buf.extend_from_slice(b",\n");
            }
            buf.extend_from_slice(b" },\n");
        }
        buf.extend_from_slice(b"}\n");
        return;
    }
    pad(buf, b"container.type", 15);
    pad(buf, b"container.image", 16);
    pad(buf, b"container.name", 20);
    pad(buf, b"container.id", 13);
    buf.push(b'\n');
    pad(buf, &[b'-'; 15], 15);
    pad(buf, &[b'-'; 16], 16);
    pad(buf, &[b'-'; 20], 20);
    pad(buf, &[b'-'; 13], 13);
    buf.push(b'\n');
    for c in list {
        pad(buf, c.runtime.name().as_bytes(), 15);
        pad(buf, c.image.as_bytes(), 16);
        pad(buf, c.name.as_bytes(), 20);
        pad(buf, short_id(&c.id).as_bytes(), 13);
        buf.push(b'\n');
    }
}

/// The 12-character id sysdig shows.
fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Lua's `%q`.
fn lua_quote(buf: &mut Vec<u8>, s: &[u8]) {
    buf.push(b'"');
    for &b in s {
        match b {
            b'"' | b'\\' => buf.extend_from_slice(&[b'\\', b]),
            b'\n' => buf.extend_from_slice(b"\\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            0 => buf.extend_from_slice(b"\\0"),
            _ => buf.push(b),
        }
    }
    buf.push(b'"');
}

/// One thread and one of its fds, as a `get_thread_table` filter sees them.
struct FdView<'a> {
    state: &'a State,
    thread: &'a Thread,
    num: i64,
    fd: &'a Fd,
}

impl<'a> Extract for FdView<'a> {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        let Some(def) = field_def(field.id) else {
            return false;
        };
        let e = ends(self.fd);
        let t = self.thread;
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
                Some(e) => out.push(e.sip),
                None => return false,
            },
            FieldId::FdSport | FieldId::FdLport => match e {
                Some(e) => out.push(Value::Uint(u64::from(e.sport))),
                None => return false,
            },
            FieldId::FdCip | FieldId::FdRip => match e.and_then(|e| e.client) {
                Some((ip, _)) => out.push(ip),
                None => return false,
            },
            FieldId::FdCport | FieldId::FdRport => match e.and_then(|e| e.client) {
                Some((_, p)) => out.push(Value::Uint(u64::from(p))),
                None => return false,
            },
            FieldId::FdPort => match e {
                Some(e) => {
                    out.push(Value::Uint(u64::from(e.sport)));
                    if let Some((_, p)) = e.client {
                        out.push(Value::Uint(u64::from(p)));
                    }
                }
                None => return false,
            },
            FieldId::FdDirectory | FieldId::FdFilename => {
                let name = &self.fd.name[..];
                let dir_and_file = |name: &'a [u8]| match name.iter().rposition(|&b| b == b'/') {
                    Some(0) => (&name[..1], &name[1..]),
                    Some(p) => (&name[..p], &name[p + 1..]),
                    None => (name, &name[..0]),
                };
                match (self.fd.ty, def.id) {
                    (FdType::Directory, FieldId::FdDirectory) => out.push_bytes(name),
                    (FdType::File, FieldId::FdDirectory) => out.push_bytes(dir_and_file(name).0),
                    (FdType::File, _) => out.push_bytes(dir_and_file(name).1),
                    _ => return false,
                }
            }
            FieldId::ProcName => out.push_bytes(&t.comm),
            FieldId::ProcExe => out.push_bytes(&t.exe),
            FieldId::ProcPid => out.push(Value::Int(t.pid)),
            FieldId::ThreadTid => out.push(Value::Int(t.tid)),
            FieldId::UserUid => out.push(Value::Uint(u64::from(t.uid))),
            FieldId::UserName => match self.state.user(t.uid) {
                Some(u) => out.push_bytes(&u.name),
                None => return false,
            },
            FieldId::ContainerId => {
                out.push_bytes(self.state.container_id(t).unwrap_or(b"host"));
            }
            FieldId::ContainerName => match self.state.container(t) {
                Some(c) => out.push_bytes(c.name.as_bytes()),
                None if t.container_id().is_none() => out.push_bytes(b"host"),
                None => return false,
            },
            _ => return false,
        }
        true
    }
}

fn filter_arg(what: &str) -> Vec<ArgInfo> {
    vec![ArgInfo {
        name: "filter".to_owned(),
        description: format!(
            "A sysdig-like filter expression that allows restricting the FD list. {what}"
        ),
        argtype: "filter".to_owned(),
        optional: true,
    }]
}

fn info(name: &str, short: &str, long: &str, args: Vec<ArgInfo>) -> ChiselInfo {
    super::info(name, "System State", short, long, args)
}

fn build(name: &str, args: &[String], _opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let user = args.first().map(String::as_str).filter(|s| !s.is_empty());
    let (name, kind, text): (&'static str, Kind, Option<String>) = match name {
        // sysdig appends the user filter with no space before `and`.
        "netstat" => (
            "netstat",
            Kind::Netstat,
            Some(match user {
                Some(u) => format!("{NET_FDS}and ({u})"),
                None => NET_FDS.to_owned(),
            }),
        ),
        "lsof" => ("lsof", Kind::Lsof, user.map(str::to_owned)),
        "ps" => ("ps", Kind::Ps, user.map(str::to_owned)),
        "lscontainers" => (
            "lscontainers",
            Kind::Containers {
                desc: user == Some("desc"),
            },
            None,
        ),
        _ => return Err(Error::NotFound(name.to_owned())),
    };
    let filter = match &text {
        Some(t) => compile_filter(name, t)?,
        None => None,
    };
    Ok(Box::new(Snapshot {
        name,
        kind,
        filter,
        started: false,
        matched: false,
        live: false,
        first_ts: 0,
        checked_ts: 0,
    }))
}

/// `netstat`, `lsof`, `ps`, `lscontainers`.
pub(super) fn natives() -> [Native; 4] {
    const AT: &str =
        "Output is at a point in time; adjust this in the filter. It defaults to time of evt.num=0";
    [
        Native {
            name: "lscontainers",
            info: info(
                "lscontainers",
                "List the running containers",
                "List the running containers and the metadata",
                vec![ArgInfo {
                    name: "desc".to_owned(),
                    description: "Prints the result set as a data structure".to_owned(),
                    argtype: "string".to_owned(),
                    optional: true,
                }],
            ),
            build,
        },
        Native {
            name: "lsof",
            info: info(
                "lsof",
                "List (and optionally filter) the open file descriptors.",
                // sysdig's text has two spaces before "It".
                &format!("This chisel prints the open file descriptors for every process in the system, with an output that is similar to the one of lsof. {}", AT.replacen(". It", ".  It", 1)),
                filter_arg("E.g. 'proc.name=foo and fd.name contains /etc'."),
            ),
            build,
        },
        Native {
            name: "netstat",
            info: info(
                "netstat",
                "List (and optionally filter) network connections.",
                &format!("Print the system network connections, with an output that is similar to the one of netstat. {AT}"),
                filter_arg("E.g. 'proc.name=foo and fd.port=80'."),
            ),
            build,
        },
        Native {
            name: "ps",
            info: info(
                "ps",
                "List (and optionally filter) the machine processes.",
                &format!("List the running processes, with an output that is similar to the one of ps. {AT}"),
                filter_arg("For example 'fd.name contains /etc' shows all the processes that have files open under /etc."),
            ),
            build,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_like_extend_string() {
        let mut b = Vec::new();
        pad(&mut b, b"abc", 6);
        assert_eq!(b, b"abc   ");
        b.clear();
        pad(&mut b, b"abcdef", 6);
        assert_eq!(b, b"abcde ");
        b.clear();
        pad(&mut b, b"abc", 0);
        assert!(b.is_empty());
    }

    #[test]
    fn bytes_round_like_luajit() {
        let mut b = Vec::new();
        format_bytes(&mut b, 90.625 * 1024.0 * 1024.0);
        assert_eq!(b, b"90.63M");
        b.clear();
        format_bytes(&mut b, 504.0 * 1024.0);
        assert_eq!(b, b"504.00KB");
        b.clear();
        format_bytes(&mut b, 1000.0);
        assert_eq!(b, b"1000B");
    }

    #[test]
    fn quotes_like_lua() {
        let mut b = Vec::new();
        lua_quote(&mut b, b"a\"b\\c");
        assert_eq!(b, br#""a\"b\\c""#);
    }

    #[test]
    fn netstat_filter_is_appended() {
        let ch = build(
            "netstat",
            &["proc.name=sshd".to_owned()],
            &Options::default(),
        );
        assert!(ch.is_ok());
        let bad = build("lsof", &["proc.name=".to_owned()], &Options::default());
        assert!(bad.is_err());
    }
}
