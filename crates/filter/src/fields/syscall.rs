//! Field extraction for syscall events: the per-event [`EventCtx`] implements
//! [`Extract`] for every field of [`SyscallCatalog`](super::catalog::SyscallCatalog).
//!
//! A context borrows the event, the state (already updated by the event) and the
//! per-run [`Env`]; extraction writes into the caller's [`Values`], so it does not
//! allocate once buffers are warm.

use super::catalog::{FieldFlags, FieldId, FIELD_COUNT};

mod container;
mod newer;
use crate::field::{Extract, Fast, FieldArg, FieldRef, Value, Values};
use crate::format;
use crate::timefmt::{self, DecimalCache, LocalClock};
use osprey_event::render::{self, ArgStyle, FdDesc, RenderOptions, Resolver};
use osprey_event::table::{category, flags as ef, Direction};
use osprey_event::{errno, syscalls, EventRef, ParamType};
use osprey_state::{render_tuple, Endpoints, Fd, FdType, Role, State, Thread};
use std::cell::{Cell, RefCell};

/// `PPME_SOCKET_CONNECT_X`.
const CONNECT_X: u16 = 23;
/// `PPME_PROCINFO_E`: the periodic CPU sample of a thread.
const PROCINFO_E: u16 = 234;

/// How `%evt.outputtime` is rendered (sysdig's `-t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeMode {
    /// `h`: local wall-clock time with nanoseconds.
    #[default]
    Human,
    /// `a`: seconds since the epoch, a dot, then the nanoseconds (not zero-padded).
    Absolute,
    /// `r`: time since the first event of the capture.
    Relative,
    /// `d`: the latency of the event (exit minus enter).
    Delta,
    /// `D`: time since the previous printed event.
    DeltaPrinted,
}

/// Per-run settings and running counters shared by every event's context.
#[derive(Debug, Default)]
pub struct Env {
    /// Local-time rendering.
    pub clock: LocalClock,
    /// Buffer format and truncation for `evt.info`, `evt.arg`, `evt.buffer`.
    pub render: RenderOptions,
    /// `-t` mode.
    pub time_mode: TimeMode,
    /// Timestamp of the first event of the capture (`evt.reltime`).
    pub first_ts: Cell<u64>,
    /// Timestamp of the previous event that passed the filter (`evt.deltatime`).
    pub prev_match_ts: Cell<u64>,
    /// Timestamp of the previous printed event (`-t D`).
    pub prev_print_ts: Cell<u64>,
    /// CPU accounting for `thread.exectime`/`thread.totexectime`, updated on
    /// the switch events these fields are read on.
    pub exec: RefCell<ExecTimes>,
    /// Decimal text of hot integer fields, reused from event to event.
    pub decimals: Decimals,
}

/// The decimal text of `evt.num` and `thread.tid`, reused from event to event.
#[derive(Debug, Default)]
pub struct Decimals {
    num: DecimalCache,
    tid: DecimalCache,
    /// The seconds of `evt.rawtime`.
    secs: DecimalCache,
}

impl Decimals {
    /// Appends a timestamp in ns in decimal: its seconds (cached, they seldom
    /// change) then its nanoseconds.
    fn push_ts(&self, out: &mut Vec<u8>, ts: u64) {
        if ts < NS {
            timefmt::push_u64(out, ts);
        } else {
            self.secs.push(out, ts / NS);
            timefmt::push_ns9(out, ts);
        }
    }
}

/// Per-run state behind `thread.exectime` and `thread.totexectime`: on a switch
/// event, the outgoing thread ran since the previous switch on that CPU.
#[derive(Debug, Default)]
pub struct ExecTimes {
    /// Timestamp of the last switch seen on each CPU.
    last_switch: Vec<u64>,
    /// Total run time per thread.
    total: std::collections::HashMap<i64, u64>,
    /// (event number, exectime, totexectime) of the last switch accounted, so
    /// several fields on one event account it once.
    last: Option<(u64, u64, u64)>,
}

impl ExecTimes {
    /// The run time accounted so far to `tid`.
    fn total_of(&self, tid: i64) -> u64 {
        self.total.get(&tid).copied().unwrap_or(0)
    }

    /// Accounts the switch event `num` of thread `tid` at `ts` on `cpu`;
    /// returns (exectime, totexectime).
    fn account(&mut self, num: u64, tid: i64, cpu: u16, ts: u64) -> (u64, u64) {
        if let Some((n, e, t)) = self.last {
            if n == num {
                return (e, t);
            }
        }
        let cpu = usize::from(cpu);
        if self.last_switch.len() <= cpu {
            self.last_switch.resize(cpu + 1, 0);
        }
        let prev = std::mem::replace(&mut self.last_switch[cpu], ts);
        let exec = if prev == 0 {
            0
        } else {
            ts.saturating_sub(prev)
        };
        let total = self.total.entry(tid).or_insert(0);
        *total += exec;
        self.last = Some((num, exec, *total));
        (exec, *total)
    }
}

/// The context of one event, as fields see it.
#[derive(Debug)]
pub struct EventCtx<'a> {
    /// The event.
    pub ev: &'a EventRef<'a>,
    /// State after the event was processed.
    pub state: &'a State,
    /// Event number (`evt.num`), counted as sysdig counts.
    pub num: u64,
    /// Run settings.
    pub env: &'a Env,
}

const NS: u64 = 1_000_000_000;

fn type_chars(ty: FdType, l4: u8) -> &'static [u8] {
    match (ty.typechar(), l4) {
        (b'4', 2) => b"4t",
        (b'4', 3) => b"4u",
        (b'4', 4) => b"4i",
        (b'4', 5) => b"4r",
        (b'6', 2) => b"6t",
        (b'6', 3) => b"6u",
        (b'6', 4) => b"6i",
        (b'6', 5) => b"6r",
        (b'f', _) => b"f",
        (b'd', _) => b"d",
        (b'4', _) => b"4",
        (b'6', _) => b"6",
        (b'u', _) => b"u",
        (b'p', _) => b"p",
        (b'e', _) => b"e",
        (b's', _) => b"s",
        (b'l', _) => b"l",
        (b'i', _) => b"i",
        (b't', _) => b"t",
        (b'n', _) => b"n",
        (b'b', _) => b"b",
        (b'r', _) => b"r",
        (b'm', _) => b"m",
        (b'P', _) => b"P",
        _ => b"o",
    }
}

impl Resolver for EventCtx<'_> {
    fn has_thread(&self) -> bool {
        self.state.current().thread_known
    }
    fn fd_info(&self, fd: i64) -> Option<FdDesc<'_>> {
        let t = self.state.current_thread()?;
        let f = self.state.fds(t).get(fd)?;
        Some(FdDesc {
            // sysdig shows the protocol only once the socket has a role.
            type_chars: type_chars(f.ty, f.shown_l4proto()),
            name: &f.name,
        })
    }
    fn thread_comm(&self, tid: i64) -> Option<&[u8]> {
        Some(&self.state.thread(tid)?.comm)
    }
    fn cwd(&self) -> Option<&[u8]> {
        let t = self.state.current_thread()?;
        Some(self.state.cwd(t))
    }
    fn user_name(&self, uid: u32) -> Option<&[u8]> {
        Some(&self.state.user(uid)?.name)
    }
    fn group_name(&self, gid: u32) -> Option<&[u8]> {
        Some(&self.state.group(gid)?.name)
    }
}

fn le_int(b: &[u8], signed: bool) -> Option<Value> {
    // Fixed-size reads: no `memcpy` call for a variable length.
    let (u, n) = match *b {
        [a] => (u64::from(a), 1),
        [a, b] => (u64::from(u16::from_le_bytes([a, b])), 2),
        [a, b, c, d] => (u64::from(u32::from_le_bytes([a, b, c, d])), 4),
        [a, b, c, d, e, f, g, h] => (u64::from_le_bytes([a, b, c, d, e, f, g, h]), 8),
        _ => return None,
    };
    Some(if signed {
        let shift = 64 - 8 * n;
        Value::Int(((u << shift) as i64) >> shift)
    } else {
        Value::Uint(u)
    })
}

fn category_name(cat: u32) -> &'static str {
    if cat & category::INTERNAL != 0 {
        return "internal";
    }
    match cat & category::MASK {
        1 => "other",
        2 => "file",
        3 => "net",
        4 => "IPC",
        5 => "memory",
        6 => "process",
        7 => "sleep",
        8 => "system",
        9 => "signal",
        10 => "user",
        11 => "time",
        12 => "processing",
        32 => "I/O-read",
        33 => "I/O-write",
        34 => "I/O-other",
        64 => "wait",
        128 => "scheduler",
        _ => "unknown",
    }
}

fn l4_name(l4: u8) -> Option<&'static str> {
    Some(match l4 {
        2 => "tcp",
        3 => "udp",
        4 => "icmp",
        5 => "raw",
        _ => return None,
    })
}

/// Which end of a socket a field asks for.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Client,
    Server,
    Local,
    Remote,
}

impl<'a> EventCtx<'a> {
    fn thread(&self) -> Option<&'a Thread> {
        self.state.current_thread()
    }

    fn main(&self) -> Option<&'a Thread> {
        let t = self.thread()?;
        self.state.main_thread(t).or(Some(t))
    }

    fn fd(&self) -> Option<&'a Fd> {
        self.state.current().fd()
    }

    /// An exit event that refers to an fd number with no table entry.
    /// The name sysdig gives an exit's fd that is not in the table: the path of
    /// an open-family call (from the exit, or its enter), the tuple of an
    /// accept (`NULL` when empty), otherwise nothing.
    fn unknown_fd_name(&self, out: &mut Vec<u8>) {
        match self.ev.etype() {
            // open, creat, openat (both versions), openat2 exits: the `name`
            // parameter of the exit, or of its enter in old captures.
            3 | 59 | 103 | 307 | 327 => {
                fn named<'e>(ev: &EventRef<'e>) -> Option<&'e [u8]> {
                    let i = ev.info()?.param_index("name")?;
                    ev.param(i).filter(|b| !b.is_empty())
                }
                let enter = self.state.current_enter();
                let name = named(self.ev)
                    .or_else(|| enter.as_ref().and_then(named))
                    .unwrap_or_default();
                out.extend_from_slice(name.strip_suffix(b"\0").unwrap_or(name));
            }
            // accept and accept4 exits, both versions: the tuple (written by
            // the guard when present), else NULL.
            27 | 57 | 247 | 249 if !self.ev.param(1).is_some_and(|p| render_tuple(p, out)) => {
                out.extend_from_slice(b"NULL");
            }
            _ => {}
        }
    }

    fn no_fd_exit(&self) -> bool {
        self.state.current().fd_num.is_some()
            && self.ev.info().is_some_and(|i| i.dir == Direction::Exit)
    }

    fn param_by_name(&self, name: &str) -> Option<usize> {
        let info = self.ev.info()?;
        (0..info.params.len()).find(|&i| render::param_name(self.ev.etype(), i) == Some(name))
    }

    /// The return value of an exit event (first parameter when it is a result).
    fn res(&self) -> Option<i64> {
        let info = self.ev.info()?;
        if info.dir != Direction::Exit {
            return None;
        }
        let p = info.params.first()?;
        if !matches!(
            p.ty,
            ParamType::Errno | ParamType::Fd | ParamType::Pid | ParamType::Fd32 | ParamType::Pid32
        ) && p.name != "res"
        {
            return None;
        }
        match le_int(self.ev.param(0)?, true)? {
            Value::Int(v) => Some(v),
            _ => None,
        }
    }

    fn is_io(&self) -> bool {
        self.ev
            .info()
            .is_some_and(|i| i.flags & (ef::READS_FROM_FD | ef::WRITES_TO_FD) != 0)
    }

    fn buflen(&self) -> Option<u64> {
        // sysdig: exits of I/O-category calls that resolved their fd.
        let info = self.ev.info()?;
        if info.dir != Direction::Exit
            || !matches!(info.category & category::MASK, 32..=34)
            || !self.state.current().event_fd
        {
            return None;
        }
        u64::try_from(self.res()?).ok()
    }

    /// Time since the capture's first event (`evt.reltime`), which is the first
    /// event after the container records that open a capture (as in sysdig).
    fn reltime(&self) -> u64 {
        self.ev.ts().saturating_sub(self.env.first_ts.get())
    }

    fn latency(&self) -> u64 {
        self.state.current().latency
    }

    /// `evt.latency` and its variants: none on the `procinfo` event of a
    /// known thread, as sysdig gives it.
    fn evt_latency(&self) -> Option<u64> {
        let cur = self.state.current();
        if self.ev.etype() == PROCINFO_E && cur.thread_known {
            return None;
        }
        Some(cur.latency)
    }

    /// The event's category; generic syscall events take the category of
    /// their system call, as sysdig's syscall table gives it.
    fn category(&self) -> Option<u32> {
        let info = self.ev.info()?;
        if self.ev.etype() >= 2 {
            return Some(info.category);
        }
        let id = self.ev.param(0).and_then(|b| le_int(b, false));
        let cat = match id {
            Some(Value::Uint(id)) => usize::try_from(id)
                .ok()
                .and_then(|i| SYSCALL_CATEGORY.get(i))
                .copied()
                .unwrap_or(1),
            _ => 1,
        };
        Some(category::SYSCALL | u32::from(cat))
    }

    fn evt_type<'s>(&self) -> &'s str {
        let et = self.ev.etype();
        if et < 2 {
            if let Some(Value::Uint(id)) = self.ev.param(0).and_then(|b| le_int(b, false)) {
                if let Some(n) = u16::try_from(id).ok().and_then(syscalls::syscall_name) {
                    return n;
                }
            }
        }
        render::event_name(self.ev.etype()).unwrap_or("NA")
    }

    /// Which side of the current fd's pair `end` names: `Some(true)` the `d*`
    /// (server) side, `Some(false)` the `s*` side, `None` when sysdig shows
    /// nothing. Local and remote compare the source address with the
    /// capture's interfaces.
    fn socket_side(&self, end: End) -> Option<bool> {
        let fd = self.fd()?;
        if fd.server_socket {
            return (end == End::Server)
                .then_some(true)
                .filter(|_| fd.role != Role::None);
        }
        if fd.role == Role::None {
            return None;
        }
        let local = match fd.endpoints {
            Endpoints::V4 { sip, .. } => self.state.is_local_v4(sip),
            Endpoints::V6 { sip, .. } => self.state.is_local_v6(sip),
            _ => return None,
        };
        Some(match end {
            End::Client => false,
            End::Server => true,
            End::Local => !local,
            End::Remote => local,
        })
    }

    fn socket_ip(&self, end: End) -> Option<Value> {
        let want_server = self.socket_side(end)?;
        match self.fd()?.endpoints {
            Endpoints::V4 { sip, dip, .. } => {
                Some(Value::Ipv4(if want_server { dip } else { sip }))
            }
            Endpoints::V6 { sip, dip, .. } => {
                Some(Value::Ipv6(if want_server { dip } else { sip }))
            }
            _ => None,
        }
    }

    fn socket_port(&self, end: End) -> Option<u64> {
        let fd = self.fd()?;
        // A bound server socket shows its port even before it has a role, and
        // a client port of 0.
        if fd.server_socket {
            return match (end, fd.endpoints) {
                (End::Server, Endpoints::V4 { dport, .. } | Endpoints::V6 { dport, .. }) => {
                    Some(u64::from(dport))
                }
                (End::Client, _) if fd.role != Role::None => Some(0),
                _ => None,
            };
        }
        let want_server = self.socket_side(end)?;
        match fd.endpoints {
            Endpoints::V4 { sport, dport, .. } | Endpoints::V6 { sport, dport, .. } => {
                Some(u64::from(if want_server { dport } else { sport }))
            }
            _ => None,
        }
    }

    /// `evt.outputtime` as text, in the `-t` mode.
    fn outputtime(&self, b: &mut Vec<u8>) {
        let ts = self.ev.ts();
        match self.env.time_mode {
            TimeMode::Human => self.env.clock.time(b, ts),
            TimeMode::Absolute => {
                timefmt::push_u64(b, ts / NS);
                b.push(b'.');
                timefmt::push_u64(b, ts % NS);
            }
            TimeMode::Relative => timefmt::push_secs_ns(b, self.reltime()),
            TimeMode::Delta => timefmt::push_secs_ns(b, self.latency()),
            TimeMode::DeltaPrinted => {
                let prev = self.env.prev_print_ts.get();
                timefmt::push_secs_ns(
                    b,
                    if prev == 0 {
                        0
                    } else {
                        ts.saturating_sub(prev)
                    },
                );
            }
        }
    }

    /// The value of a field that is one borrowed string (`None`: no value);
    /// only for the ids [`EventCtx::borrow_bytes`] lists.
    #[inline]
    fn str_field(&self, id: FieldId) -> Option<&'a [u8]> {
        Some(match id {
            FieldId::EvtDir => match self.ev.info()?.dir {
                Direction::Enter => b">",
                Direction::Exit => b"<",
            },
            FieldId::EvtType => self.evt_type().as_bytes(),
            FieldId::ProcName => &self.thread()?.comm,
            FieldId::ProcExe => &self.thread()?.exe,
            _ => return None,
        })
    }

    fn push_cmdline(out: &mut Values, first: &[u8], t: &Thread) {
        let s = out.begin_bytes();
        let b = out.bytes_mut();
        b.extend_from_slice(first);
        for a in t.args() {
            b.push(b' ');
            b.extend_from_slice(a);
        }
        out.end_bytes(s);
    }

    /// Pushes the event's second parameter rendered as a socket tuple; `false`
    /// (pushing nothing) when it is not one.
    fn push_tuple(&self, out: &mut Values) -> bool {
        let Some(raw) = self.ev.param(1) else {
            return false;
        };
        let s = out.begin_bytes();
        if !render_tuple(raw, out.bytes_mut()) {
            return false;
        }
        out.end_bytes(s);
        true
    }

    fn push_rendered(&self, out: &mut Values, f: impl FnOnce(&mut Vec<u8>, &Self)) {
        let s = out.begin_bytes();
        f(out.bytes_mut(), self);
        out.end_bytes(s);
    }

    fn syslog(&self) -> Option<(u64, &'a [u8])> {
        let fd = self.fd()?;
        if memchr::memmem::find(&fd.name, b"/dev/log").is_none() || !self.is_io() {
            return None;
        }
        let data = self.data_param()?;
        let rest = data.strip_prefix(b"<")?;
        let close = memchr::memchr(b'>', rest)?;
        let pri: u64 = std::str::from_utf8(&rest[..close]).ok()?.parse().ok()?;
        Some((pri, &rest[close + 1..]))
    }

    fn data_param(&self) -> Option<&'a [u8]> {
        let info = self.ev.info()?;
        let i = info
            .params
            .iter()
            .position(|p| p.ty == ParamType::ByteBuf && p.name == "data")?;
        self.ev.param(i)
    }

    fn fdlist(&self, out: &mut Values, what: FieldId) -> bool {
        let Some(info) = self.ev.info() else {
            return false;
        };
        let Some(i) = info.params.iter().position(|p| p.ty == ParamType::FdList) else {
            return false;
        };
        let Some(b) = self.ev.param(i) else {
            return false;
        };
        let Some(t) = self.thread() else {
            return false;
        };
        let fds = self.state.fds(t);
        let n = b
            .get(..2)
            .map_or(0, |c| usize::from(u16::from_le_bytes([c[0], c[1]])));
        let mut any = false;
        for k in 0..n {
            let Some(e) = b.get(2 + k * 10..2 + k * 10 + 8) else {
                break;
            };
            let mut a = [0u8; 8];
            a.copy_from_slice(e);
            let fdnum = i64::from_le_bytes(a);
            let entry = fds.get(fdnum);
            match what {
                FieldId::FdlistNums => out.push(Value::Int(fdnum)),
                // An fd without a name shows as <NA> in the list.
                FieldId::FdlistNames => match entry {
                    Some(f) if f.name.is_empty() => out.push_bytes(b"<NA>"),
                    Some(f) => out.push_bytes(&f.name),
                    None => continue,
                },
                _ => {
                    let Some(f) = entry else { continue };
                    let (ip, port) = match (f.endpoints, what) {
                        (Endpoints::V4 { sip, .. }, FieldId::FdlistCips) => {
                            (Some(Value::Ipv4(sip)), None)
                        }
                        (Endpoints::V4 { dip, .. }, FieldId::FdlistSips) => {
                            (Some(Value::Ipv4(dip)), None)
                        }
                        (Endpoints::V6 { sip, .. }, FieldId::FdlistCips) => {
                            (Some(Value::Ipv6(sip)), None)
                        }
                        (Endpoints::V6 { dip, .. }, FieldId::FdlistSips) => {
                            (Some(Value::Ipv6(dip)), None)
                        }
                        (
                            Endpoints::V4 { sport, .. } | Endpoints::V6 { sport, .. },
                            FieldId::FdlistCports,
                        ) => (None, Some(sport)),
                        (
                            Endpoints::V4 { dport, .. } | Endpoints::V6 { dport, .. },
                            FieldId::FdlistSports,
                        ) => (None, Some(dport)),
                        _ => (None, None),
                    };
                    match (ip, port) {
                        (Some(v), _) => out.push(v),
                        (None, Some(p)) => out.push(Value::Uint(u64::from(p))),
                        _ => continue,
                    }
                }
            }
            any = true;
        }
        any
    }

    fn extract_inner(&self, field: &FieldRef, out: &mut Values) -> Option<()> {
        use FieldId as F;
        let id = FieldId::from_u32(field.id)?;
        let ev = self.ev;
        let ts = ev.ts();
        let env = self.env;
        let info = ev.info();
        match id {
            F::EvtNum => out.push(Value::Uint(self.num)),
            F::EvtTime => self.push_rendered(out, |b, c| c.env.clock.time(b, ts)),
            F::EvtTimeS => self.push_rendered(out, |b, c| c.env.clock.time_s(b, ts)),
            F::EvtTimeIso8601 => self.push_rendered(out, |b, _| timefmt::iso8601(b, ts)),
            F::EvtDatetime => self.push_rendered(out, |b, c| c.env.clock.datetime(b, ts)),
            F::EvtDatetimeS => self.push_rendered(out, |b, c| c.env.clock.datetime_s(b, ts)),
            F::EvtOutputtime => self.push_rendered(out, |b, c| c.outputtime(b)),
            F::EvtRawtime => out.push(Value::Uint(ts)),
            F::EvtRawtimeS => out.push(Value::Uint(ts / NS)),
            F::EvtRawtimeNs => out.push(Value::Uint(ts % NS)),
            F::EvtReltime => out.push(Value::Uint(self.reltime())),
            F::EvtReltimeS => out.push(Value::Uint(self.reltime() / NS)),
            F::EvtReltimeNs => out.push(Value::Uint(self.reltime() % NS)),
            F::EvtLatency => out.push(Value::Uint(self.evt_latency()?)),
            F::EvtLatencyS => out.push(Value::Uint(self.evt_latency()? / NS)),
            F::EvtLatencyNs => out.push(Value::Uint(self.evt_latency()? % NS)),
            F::EvtLatencyQuantized => {
                let l = self.evt_latency()?;
                let q = if l == 0 {
                    0
                } else {
                    u64::from(63 - l.leading_zeros())
                };
                out.push(Value::Uint(q));
            }
            F::EvtLatencyHuman => {
                let l = self.evt_latency()?;
                self.push_rendered(out, |b, _| human_time(b, l));
            }
            F::EvtDeltatime | F::EvtDeltatimeS | F::EvtDeltatimeNs => {
                // sysdig measures from the previous event the field was
                // extracted for: the previous printed one.
                let prev = env.prev_print_ts.get();
                let d = if prev == 0 {
                    0
                } else {
                    ts.saturating_sub(prev)
                };
                out.push(Value::Uint(match id {
                    F::EvtDeltatime => d,
                    F::EvtDeltatimeS => d / NS,
                    _ => d % NS,
                }));
            }
            F::EvtDir | F::EvtType | F::ProcName | F::ProcExe => {
                out.push_bytes(self.str_field(id)?);
            }
            F::EvtTypeIs => {
                let FieldArg::Name(n) = &field.arg else {
                    return None;
                };
                out.push(Value::Uint(u64::from(self.evt_type() == &**n)));
            }
            F::SyscallType => {
                // sysdig names every event but scheduler switches.
                if info?.category & category::MASK == 128 {
                    return None;
                }
                out.push_bytes(self.evt_type().as_bytes());
            }
            F::EvtCategory => {
                let cat = self.category()?;
                let name =
                    if matches!(cat & category::MASK, 32..=34) && cat & category::INTERNAL == 0 {
                        // I/O events are shown by the kind of fd they
                        // resolved themselves (an unmatched exit: unknown).
                        let own = self.fd().filter(|_| self.state.current().event_fd);
                        match own.map(|f| f.ty) {
                            Some(FdType::File | FdType::Directory) => "file",
                            Some(FdType::Ipv4 | FdType::Ipv6) => "net",
                            Some(
                                FdType::Unix
                                | FdType::Pipe
                                | FdType::Event
                                | FdType::SignalFd
                                | FdType::Inotify,
                            ) => "ipc",
                            _ => "unknown",
                        }
                    } else {
                        category_name(cat)
                    };
                out.push_bytes(name.as_bytes());
            }
            F::EvtCpu => out.push(Value::Int(i64::from(ev.cpu))),
            F::EvtArgs | F::EvtInfo => {
                self.push_rendered(out, |b, c| render::render_info(b, ev, c, &c.env.render));
            }
            F::EvtArg => {
                let idx = match &field.arg {
                    FieldArg::Index(i) => usize::try_from(*i).ok()?,
                    FieldArg::Name(n) => self.param_by_name(n)?,
                    FieldArg::None => return None,
                };
                if idx >= ev.nparams() {
                    return None;
                }
                let s = out.begin_bytes();
                if !render::render_param(
                    out.bytes_mut(),
                    ev,
                    idx,
                    self,
                    &env.render,
                    ArgStyle::Resolved,
                ) {
                    out.bytes_mut().truncate(s);
                    return None;
                }
                out.end_bytes(s);
            }
            F::EvtRawarg => {
                let FieldArg::Name(n) = &field.arg else {
                    return None;
                };
                let idx = self.param_by_name(n)?;
                let p = info?.params.get(idx)?;
                let b = ev.param(idx)?;
                let ty = osprey_event::flags::compat_param(ev.etype(), idx).map_or(p.ty, |c| c.1);
                use ParamType as T;
                match ty {
                    T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Errno | T::Pid | T::Fd => {
                        out.push(le_int(b, true)?);
                    }
                    T::Uint8
                    | T::Uint16
                    | T::Uint32
                    | T::Uint64
                    | T::RelTime
                    | T::AbsTime
                    | T::Port
                    | T::L4Proto
                    | T::SockFamily
                    | T::SyscallId
                    | T::Bool => {
                        out.push(le_int(b, false)?);
                    }
                    _ => {
                        let s = out.begin_bytes();
                        if !render::render_raw_param(out.bytes_mut(), ev, idx) {
                            out.bytes_mut().truncate(s);
                            return None;
                        }
                        out.end_bytes(s);
                    }
                }
            }
            F::EvtBuffer => out.push_bytes(self.data_param()?),
            F::EvtBuflen => out.push(Value::Uint(self.buflen()?)),
            F::EvtBuflenIn
            | F::EvtBuflenOut
            | F::EvtBuflenFile
            | F::EvtBuflenFileIn
            | F::EvtBuflenFileOut
            | F::EvtBuflenNet
            | F::EvtBuflenNetIn
            | F::EvtBuflenNetOut => {
                let n = self.buflen()?;
                let flags = info?.flags;
                let read = flags & ef::READS_FROM_FD != 0;
                let fdty = self.fd().map(|f| f.ty);
                let is_file = matches!(fdty, Some(FdType::File | FdType::Directory));
                let is_net = fdty.is_some_and(FdType::is_ip);
                let ok = match id {
                    F::EvtBuflenIn => read,
                    F::EvtBuflenOut => !read,
                    F::EvtBuflenFile => is_file,
                    F::EvtBuflenFileIn => is_file && read,
                    F::EvtBuflenFileOut => is_file && !read,
                    F::EvtBuflenNet => is_net,
                    F::EvtBuflenNetIn => is_net && read,
                    _ => is_net && !read,
                };
                if !ok {
                    return None;
                }
                out.push(Value::Uint(n));
            }
            F::EvtRes => out.push_bytes(errno::res_name(self.res()?)?.as_bytes()),
            F::EvtRawres => out.push(Value::Int(self.res()?)),
            F::EvtFailed => out.push(Value::Bool(self.res().is_some_and(|r| r < 0))),
            F::EvtIsIo => out.push(Value::Bool(self.is_io())),
            F::EvtIsIoRead => out.push(Value::Bool(info?.flags & ef::READS_FROM_FD != 0)),
            F::EvtIsIoWrite => out.push(Value::Bool(info?.flags & ef::WRITES_TO_FD != 0)),
            F::EvtIoDir => {
                let f = info?.flags;
                if f & ef::READS_FROM_FD != 0 {
                    out.push_bytes(b"read");
                } else if f & ef::WRITES_TO_FD != 0 {
                    out.push_bytes(b"write");
                } else {
                    return None;
                }
            }
            F::EvtIsWait => out.push(Value::Bool(info?.flags & ef::WAITS != 0)),
            F::EvtWaitLatency => {
                if info?.flags & ef::WAITS == 0 {
                    return None;
                }
                out.push(Value::Uint(self.latency()));
            }
            // A write to /dev/log, enter or exit, whatever its bytes.
            F::EvtIsSyslog => out.push(Value::Bool(
                info?.flags & ef::WRITES_TO_FD != 0
                    && self
                        .fd()
                        .is_some_and(|f| memchr::memmem::find(&f.name, b"/dev/log").is_some()),
            )),
            F::EvtCount => out.push(Value::Uint(1)),
            F::EvtCountExit => out.push(Value::Uint(u64::from(info?.dir == Direction::Exit))),
            F::EvtCountError
            | F::EvtCountErrorFile
            | F::EvtCountErrorNet
            | F::EvtCountErrorMemory
            | F::EvtCountErrorOther => {
                let failed = self.res().is_some_and(|r| r < 0);
                let cat = info?.category & category::MASK;
                let ok = failed
                    && match id {
                        F::EvtCountErrorFile => cat == 2,
                        F::EvtCountErrorNet => cat == 3,
                        F::EvtCountErrorMemory => cat == 5,
                        F::EvtCountErrorOther => !matches!(cat, 2 | 3 | 5),
                        _ => true,
                    };
                out.push(Value::Uint(u64::from(ok)));
            }
            F::EvtCountProcinfo => out.push(Value::Uint(u64::from(ev.etype() == 234))),
            F::EvtCountThreadinfo => out.push(Value::Uint(u64::from(ev.etype() == 234))),
            F::EvtIsOpenRead | F::EvtIsOpenWrite | F::EvtIsOpenExec => {
                let i = info?;
                if !matches!(i.name, "open" | "openat" | "openat2" | "creat") {
                    out.push(Value::Bool(false));
                    return Some(());
                }
                // Without flags (an enter event), nothing was opened yet.
                let fl = match self.param_by_name("flags").and_then(|fi| ev.param(fi)) {
                    Some(b) => match le_int(b, false)? {
                        Value::Uint(v) => v,
                        _ => return None,
                    },
                    None => 0,
                };
                // PPM_O_RDONLY = 1, PPM_O_WRONLY = 2, PPM_O_RDWR = 3 (driver codes).
                let ok = match id {
                    F::EvtIsOpenRead => fl & 1 != 0,
                    F::EvtIsOpenWrite => fl & 2 != 0,
                    _ => false,
                };
                out.push(Value::Bool(ok));
            }
            F::EvtAbspath | F::EvtAround | F::EvtPluginname | F::EvtPlugininfo => return None,

            // Process and thread fields.
            F::ProcPid => out.push(Value::Int(self.thread()?.pid)),
            F::ProcArgs => {
                let t = self.thread()?;
                let s = out.begin_bytes();
                for (i, a) in t.args().enumerate() {
                    if i > 0 {
                        out.bytes_mut().push(b' ');
                    }
                    out.bytes_mut().extend_from_slice(a);
                }
                out.end_bytes(s);
            }
            F::ProcEnv => {
                let t = self.thread()?;
                let s = out.begin_bytes();
                for (i, a) in t.env().enumerate() {
                    if i > 0 {
                        out.bytes_mut().push(b' ');
                    }
                    out.bytes_mut().extend_from_slice(a);
                }
                out.end_bytes(s);
            }
            F::ProcCmdline => {
                let t = self.thread()?;
                Self::push_cmdline(out, &t.comm, t);
            }
            F::ProcExeline => {
                let t = self.thread()?;
                Self::push_cmdline(out, &t.exe, t);
            }
            F::ProcCwd => out.push_bytes(self.state.cwd(self.thread()?)),
            F::ProcNthreads => {
                let t = self.thread()?;
                // The pseudo-thread of container events counts itself.
                let n = if self.state.current().container_event {
                    1
                } else {
                    self.state.nthreads(t.pid)
                };
                out.push(Value::Uint(n as u64));
            }
            F::ProcNchilds => out.push(Value::Uint(u64::from(self.thread()?.nchilds))),
            F::ProcPpid => out.push(Value::Int(self.main()?.ptid)),
            // sysdig names the parent of the thread itself, not of its process.
            F::ProcPname => out.push_bytes(&self.state.thread(self.thread()?.ptid)?.comm),
            F::ProcPcmdline => {
                let p = self.state.parent(self.thread()?)?;
                Self::push_cmdline(out, &p.comm, p);
            }
            F::ProcApid | F::ProcAname => {
                let t = self.thread()?;
                let mut anc = self.state.ancestors(t);
                let push = |out: &mut Values, a: &Thread| {
                    if id == F::ProcApid {
                        out.push(Value::Int(a.pid));
                    } else {
                        out.push_bytes(&a.comm);
                    }
                };
                match field.arg {
                    FieldArg::Index(n) => push(out, anc.nth(usize::try_from(n).ok()?)?),
                    _ => {
                        for a in anc.skip(1) {
                            push(out, a);
                        }
                        if out.is_empty() {
                            return None;
                        }
                    }
                }
            }
            F::ProcLoginshellid => {
                let t = self.thread()?;
                let mut found = None;
                for a in self.state.ancestors(t) {
                    if is_shell(&a.comm) {
                        found = Some(a.pid);
                    }
                }
                out.push(Value::Int(found?));
            }
            F::ProcDuration => {
                // sysdig measures from the event's own thread's creation.
                let c = self.thread()?.clone_ts;
                if c == 0 {
                    return None;
                }
                out.push(Value::Uint(ts.saturating_sub(c)));
            }
            F::ProcFdopencount => {
                let t = self.thread()?;
                out.push(Value::Uint(self.state.fds(t).len() as u64));
            }
            F::ProcFdlimit => out.push(Value::Int(self.main()?.fdlimit)),
            F::ProcFdusage => {
                let t = self.thread()?;
                let m = self.main()?;
                if m.fdlimit <= 0 {
                    return None;
                }
                #[allow(clippy::cast_precision_loss)] // fd counts are small
                let pct = self.state.fds(t).len() as f64 * 100.0 / m.fdlimit as f64;
                out.push(Value::Double(pct));
            }
            F::ProcVmsize => out.push(Value::Uint(u64::from(self.main()?.vmsize_kb))),
            F::ProcVmrss => out.push(Value::Uint(u64::from(self.main()?.vmrss_kb))),
            F::ProcVmswap => out.push(Value::Uint(u64::from(self.main()?.vmswap_kb))),
            F::ThreadPfmajor => out.push(Value::Uint(self.thread()?.pfmajor)),
            F::ThreadPfminor => out.push(Value::Uint(self.thread()?.pfminor)),
            F::ThreadTid => out.push(Value::Int(self.state.current().tid)),
            F::ThreadNametid => {
                let t = self.thread()?;
                self.push_rendered(out, |b, _| {
                    b.extend_from_slice(&t.comm);
                    b.push(b'-');
                    b.extend_from_slice(itoa::Buffer::new().format(t.tid).as_bytes());
                });
            }
            F::ThreadIsmain => out.push(Value::Bool(self.thread()?.is_main())),
            F::ThreadVtid => out.push(Value::Int(known(self.thread()?.vtid)?)),
            F::ProcVpid => out.push(Value::Int(known(self.thread()?.vpid)?)),
            F::ThreadVmsize => out.push(Value::Uint(u64::from(self.thread()?.vmsize_kb))),
            F::ThreadVmrss => out.push(Value::Uint(u64::from(self.thread()?.vmrss_kb))),
            F::ThreadVmsizeB => out.push(Value::Uint(u64::from(self.thread()?.vmsize_kb) * 1024)),
            F::ThreadVmrssB => out.push(Value::Uint(u64::from(self.thread()?.vmrss_kb) * 1024)),
            F::ThreadCgroups => {
                let t = self.thread()?;
                let s = out.begin_bytes();
                for (i, c) in t.cgroups().enumerate() {
                    if i > 0 {
                        out.bytes_mut().push(b' ');
                    }
                    out.bytes_mut().extend_from_slice(c);
                }
                out.end_bytes(s);
            }
            F::ThreadCgroup => {
                let FieldArg::Name(want) = &field.arg else {
                    return None;
                };
                let t = self.thread()?;
                let path = t.cgroups().find_map(|c| {
                    let eq = memchr::memchr(b'=', c)?;
                    (&c[..eq] == want.as_bytes()).then(|| &c[eq + 1..])
                })?;
                out.push_bytes(path);
            }
            F::ProcSid => out.push(Value::Int(self.thread()?.sid)),
            F::ProcSname => {
                let t = self.thread()?;
                let sid = t.sid;
                let leader = self.state.ancestors(t).find(|a| a.pid == sid)?;
                out.push_bytes(&leader.comm);
            }
            F::ProcTty => out.push(Value::Uint(u64::from(self.thread()?.tty))),
            F::ProcExepath => out.push_bytes(&self.thread()?.exepath),
            F::ProcVpgid => out.push(Value::Int(self.thread()?.vpgid)),
            F::ProcIsExeWritable => out.push(Value::Bool(self.thread()?.exe_writable)),
            F::ThreadExectime | F::ThreadTotexectime => {
                // Only switch events carry run times; other events show 0.
                if id == F::ThreadTotexectime {
                    self.thread()?;
                }
                let tid = self.state.current().tid;
                let (exec, total) = if matches!(ev.etype(), 146 | 152) {
                    env.exec.borrow_mut().account(self.num, tid, ev.cpu, ts)
                } else {
                    (0, env.exec.borrow().total_of(tid))
                };
                out.push(Value::Uint(if id == F::ThreadExectime {
                    exec
                } else {
                    total
                }));
            }
            F::ProcIsContainerHealthcheck
            | F::ProcIsContainerLivenessProbe
            | F::ProcIsContainerReadinessProbe => self.extract_container(id, field, out)?,
            F::ThreadCpu | F::ThreadCpuUser | F::ThreadCpuSystem => {
                // Only procinfo events of known threads carry CPU use.
                let c = self.state.current().cpu?;
                out.push(Value::Double(match id {
                    F::ThreadCpu => c.total,
                    F::ThreadCpuUser => c.user,
                    _ => c.system,
                }));
            }

            // Users and groups.
            F::UserUid => out.push(Value::Uint(u64::from(self.thread()?.uid))),
            F::UserName => out.push_bytes(&self.state.user(self.thread()?.uid)?.name),
            F::UserHomedir => out.push_bytes(&self.state.user(self.thread()?.uid)?.homedir),
            F::UserShell => out.push_bytes(&self.state.user(self.thread()?.uid)?.shell),
            F::UserLoginuid => out.push(Value::Int(i64::from(self.thread()?.loginuid as i32))),
            F::UserLoginname => {
                let uid = self.thread()?.loginuid;
                out.push_bytes(&self.state.user(uid)?.name);
            }
            F::GroupGid => out.push(Value::Uint(u64::from(self.thread()?.gid))),
            F::GroupName => out.push_bytes(&self.state.group(self.thread()?.gid)?.name),

            // File descriptors.
            F::FdNum => out.push(Value::Int(self.state.current().fd_num?)),
            F::FdType => out.push_bytes(self.fd()?.ty.as_str()?.as_bytes()),
            F::FdTypechar => {
                let c = match self.fd() {
                    Some(f) => f.ty.typechar(),
                    // An event that names no live fd (a failed or not yet
                    // finished creation): sysdig guesses from the call.
                    None => {
                        self.state.current().fd_num?;
                        match self.evt_type() {
                            "open" | "openat" | "openat2" | "creat" => b'f',
                            "socket" | "accept" | "accept4" => b'4',
                            "pipe" | "pipe2" => b'p',
                            "eventfd" | "eventfd2" => b'e',
                            "signalfd" | "signalfd4" => b's',
                            "timerfd_create" => b't',
                            "inotify_init" | "inotify_init1" => b'i',
                            _ => b'o',
                        }
                    }
                };
                out.push_bytes(&[c]);
            }
            F::FdName => match self.fd() {
                // A connect exit that left its fd unconnected (it failed)
                // names its target from the event's tuple, as sysdig does.
                f if self.ev.etype() == CONNECT_X
                    && f.is_none_or(|f| !f.connected)
                    && self.push_tuple(out) => {}
                // sysdig drops control characters (e.g. the newline that
                // ends some unix socket paths read from /proc) when printing.
                Some(f) => {
                    let st = out.begin_bytes();
                    let shown = |c: &u8| *c >= 0x20 && *c != 0x7f;
                    if f.name.iter().all(shown) {
                        out.bytes_mut().extend_from_slice(&f.name);
                    } else {
                        out.bytes_mut().extend(f.name.iter().filter(|c| shown(c)));
                    }
                    out.end_bytes(st);
                }
                // An exit naming an fd sysdig does not know: named from the event.
                None if self.no_fd_exit() => {
                    let st = out.begin_bytes();
                    self.unknown_fd_name(out.bytes_mut());
                    out.end_bytes(st);
                }
                None => return None,
            },
            F::FdDirectory | F::FdFilename => {
                if self.fd().is_none() && self.no_fd_exit() {
                    if id == F::FdFilename {
                        return None;
                    }
                    // The directory of the name sysdig gives the unknown fd
                    // (the path of a failed open), "/" when there is none.
                    let st = out.begin_bytes();
                    self.unknown_fd_name(out.bytes_mut());
                    let name_len = out.bytes_mut().len() - st;
                    let dir_len = match memchr::memrchr(b'/', &out.bytes_mut()[st..]) {
                        Some(0) | None => {
                            out.bytes_mut().truncate(st);
                            out.bytes_mut().push(b'/');
                            1
                        }
                        Some(p) => p,
                    };
                    debug_assert!(dir_len <= name_len.max(1));
                    out.bytes_mut().truncate(st + dir_len);
                    out.end_bytes(st);
                    return Some(());
                }
                let fd = self.fd()?;
                if !matches!(fd.ty, FdType::File | FdType::Directory) {
                    return None;
                }
                let name = &fd.name[..];
                let (dir, file) = match memchr::memrchr(b'/', name) {
                    Some(0) => (&name[..1], &name[1..]),
                    Some(p) => (&name[..p], &name[p + 1..]),
                    None => (name, &name[..0]),
                };
                if fd.ty == FdType::Directory {
                    // A directory has no file name part.
                    if id == F::FdFilename {
                        return None;
                    }
                    out.push_bytes(name);
                } else {
                    out.push_bytes(if id == F::FdDirectory { dir } else { file });
                }
            }
            F::FdIp => {
                out.push(self.socket_ip(End::Client)?);
                out.push(self.socket_ip(End::Server)?);
            }
            F::FdCip => out.push(self.socket_ip(End::Client)?),
            F::FdSip => out.push(self.socket_ip(End::Server)?),
            F::FdLip => out.push(self.socket_ip(End::Local)?),
            F::FdRip => out.push(self.socket_ip(End::Remote)?),
            F::FdPort => {
                out.push(Value::Uint(self.socket_port(End::Client)?));
                out.push(Value::Uint(self.socket_port(End::Server)?));
            }
            // A unix socket that came from the capture's fd table (it has a
            // source endpoint) shows a client port in sysdig: the low 16 bits of
            // its peer pointer, read through the address union. Sockets made
            // during the capture show none.
            F::FdCport
                if self.fd().is_some_and(
                    |f| matches!(f.endpoints, Endpoints::Unix { source, .. } if source != 0),
                ) =>
            {
                let Some(Endpoints::Unix { dest, .. }) = self.fd().map(|f| f.endpoints) else {
                    return None;
                };
                out.push(Value::Uint(dest & 0xffff));
            }
            F::FdCport => out.push(Value::Uint(self.socket_port(End::Client)?)),
            F::FdSport => out.push(Value::Uint(self.socket_port(End::Server)?)),
            F::FdLport => out.push(Value::Uint(self.socket_port(End::Local)?)),
            F::FdRport => out.push(Value::Uint(self.socket_port(End::Remote)?)),
            F::FdL4proto => out.push_bytes(l4_name(self.fd()?.shown_l4proto())?.as_bytes()),
            F::FdSockfamily => out.push_bytes(match self.fd()?.ty {
                FdType::Ipv4 | FdType::Ipv6 => b"ip",
                FdType::Unix => b"unix",
                _ => return None,
            }),
            F::FdIsServer => {
                // A bound server socket, or a socket whose destination is
                // an address of the capture's machine.
                let fd = self.fd()?;
                let server = fd.server_socket
                    || match fd.endpoints {
                        _ if !fd.ty.is_ip() => false,
                        Endpoints::V4 { dip, .. } => self.state.is_local_v4_for(self.thread(), dip),
                        Endpoints::V6 { dip, .. } => self.state.is_local_v6(dip),
                        _ if fd.ty == FdType::Ipv4 => {
                            self.state.is_local_v4_for(self.thread(), [0; 4])
                        }
                        _ => self.state.is_local_v6([0; 16]),
                    };
                out.push(Value::Bool(server));
            }
            // The thread id's digits followed by the fd number's.
            F::FdUid => {
                let fd = self.state.current().fd_num?;
                let tid = self.state.current().tid;
                self.push_rendered(out, |b, _| {
                    b.extend_from_slice(itoa::Buffer::new().format(tid).as_bytes());
                    b.extend_from_slice(itoa::Buffer::new().format(fd).as_bytes());
                });
            }
            // The container id (empty on the host), a colon, then the fd's name
            // or directory.
            F::FdContainername | F::FdContainerdirectory => {
                let t = self.thread()?;
                let cid = self.state.container_id(t).unwrap_or_default();
                let inner = FieldRef {
                    id: if id == F::FdContainername {
                        F::FdName as u32
                    } else {
                        F::FdDirectory as u32
                    },
                    arg: FieldArg::None,
                    ty: ParamType::CharBuf,
                    name: Box::from(""),
                };
                // Prefix, then the inner field's bytes right after it: the two
                // become one value.
                let st = out.begin_bytes();
                out.bytes_mut().extend_from_slice(cid);
                out.bytes_mut().push(b':');
                let items = out.len();
                if !self.extract(&inner, out) || out.len() != items + 1 {
                    return None;
                }
                out.pop();
                out.end_bytes(st);
            }
            F::FdDev => out.push(Value::Uint(u64::from(self.fd()?.dev))),
            F::FdDevMajor => out.push(Value::Uint(u64::from(self.fd()?.dev >> 20))),
            F::FdDevMinor => out.push(Value::Uint(u64::from(self.fd()?.dev & 0xfffff))),
            F::FdProto
            | F::FdCproto
            | F::FdSproto
            | F::FdLproto
            | F::FdRproto
            | F::FdNet
            | F::FdCnet
            | F::FdSnet
            | F::FdLnet
            | F::FdRnet
            | F::FdConnected
            | F::FdNameChanged
            | F::FdCipName
            | F::FdSipName
            | F::FdLipName
            | F::FdRipName => match id {
                F::FdNet => {
                    out.push(self.socket_ip(End::Client)?);
                    out.push(self.socket_ip(End::Server)?);
                }
                F::FdCnet => out.push(self.socket_ip(End::Client)?),
                F::FdSnet => out.push(self.socket_ip(End::Server)?),
                F::FdLnet => out.push(self.socket_ip(End::Local)?),
                F::FdRnet => out.push(self.socket_ip(End::Remote)?),
                // An IP socket with a tuple (client or server side).
                F::FdConnected => {
                    let fd = self.fd()?;
                    out.push(Value::Bool(
                        fd.ty.is_ip() && fd.role != Role::None && !fd.server_socket,
                    ));
                }
                F::FdNameChanged => {
                    self.fd()?;
                    out.push(Value::Bool(self.state.current().name_changed));
                }
                // Without port-name resolution (sysdig's -R), protocols print as
                // the port numbers.
                // A server socket shows empty client and server protocols.
                F::FdCproto | F::FdSproto if self.fd().is_some_and(|f| f.server_socket) => {
                    out.push_bytes(b"");
                }
                // Unix sockets from the capture's fd table show an empty protocol.
                F::FdCproto
                    if self.fd().is_some_and(
                        |f| matches!(f.endpoints, Endpoints::Unix { source, .. } if source != 0),
                    ) =>
                {
                    out.push_bytes(b"");
                }
                F::FdCipName | F::FdSipName | F::FdLipName | F::FdRipName => {
                    let end = match id {
                        F::FdCipName => End::Client,
                        F::FdSipName => End::Server,
                        F::FdLipName => End::Local,
                        _ => End::Remote,
                    };
                    let ip = match self.socket_ip(end)? {
                        Value::Ipv4(a) => std::net::IpAddr::from(a),
                        Value::Ipv6(a) => std::net::IpAddr::from(a),
                        _ => return None,
                    };
                    super::dns::with_name_of(ip, |n| out.push_bytes(n.as_bytes()))?;
                }
                F::FdCproto => push_proto(out, self.socket_port(End::Client)?),
                F::FdSproto => push_proto(out, self.socket_port(End::Server)?),
                F::FdLproto => push_proto(out, self.socket_port(End::Local)?),
                F::FdRproto => push_proto(out, self.socket_port(End::Remote)?),
                _ => return None,
            },

            // Syslog messages written to /dev/log.
            F::SyslogFacility => out.push(Value::Uint(self.syslog()?.0 >> 3)),
            F::SyslogSeverity => out.push(Value::Uint(self.syslog()?.0 & 7)),
            F::SyslogFacilityStr => {
                out.push_bytes(facility_name(self.syslog()?.0 >> 3).as_bytes());
            }
            F::SyslogSeverityStr => {
                out.push_bytes(severity_name(self.syslog()?.0 & 7).as_bytes());
            }
            F::SyslogMessage => out.push_bytes(self.syslog()?.1),

            F::FdlistNums
            | F::FdlistNames
            | F::FdlistCips
            | F::FdlistSips
            | F::FdlistCports
            | F::FdlistSports => {
                if !self.fdlist(out, id) {
                    return None;
                }
            }
            F::ContainerId
            | F::ContainerName
            | F::ContainerImage
            | F::ContainerImageId
            | F::ContainerType
            | F::ContainerPrivileged
            | F::ContainerMounts
            | F::ContainerMount
            | F::ContainerMountSource
            | F::ContainerMountDest
            | F::ContainerMountMode
            | F::ContainerMountRdwr
            | F::ContainerMountPropagation
            | F::ContainerImageRepository
            | F::ContainerImageTag
            | F::ContainerImageDigest
            | F::ContainerHealthcheck
            | F::ContainerLivenessProbe
            | F::ContainerReadinessProbe
            | F::ContainerFullId
            | F::ContainerIp
            | F::ContainerHostPid
            | F::ContainerHostNetwork
            | F::K8sPodName
            | F::K8sPodId
            | F::K8sPodUid
            | F::K8sPodLabel
            | F::K8sPodLabels
            | F::K8sNsName => self.extract_container(id, field, out)?,
            _ if id.def().has(FieldFlags::NEWER) => self.extract_newer(id, field, out)?,
            _ => return None,
        }
        Some(())
    }
}

/// Category (`EC_*` value) of each `PPM_SC_*` code, read from the
/// `g_syscall_info_table` of the libscap Debian's sysdig 0.29.3 links: generic
/// `syscall` events take their category from it.
static SYSCALL_CATEGORY: [u8; osprey_event::syscalls::PPM_SC_MAX] = [
    1, 8, 6, 32, 33, 2, 2, 2, 2, 2, 2, 11, 2, 2, 2, 2, 6, 2, 1, 11, 2, 64, 11, 2, 34, 4, 2, 2, 2,
    34, 4, 11, 5, 6, 34, 64, 6, 6, 4, 2, 34, 6, 6, 6, 8, 6, 6, 11, 11, 2, 2, 2, 6, 6, 8, 2, 2, 2,
    2, 2, 6, 6, 2, 2, 8, 11, 11, 8, 1, 64, 8, 8, 34, 8, 8, 5, 8, 8, 8, 6, 2, 8, 6, 2, 64, 2, 34,
    32, 33, 6, 34, 5, 5, 5, 5, 6, 6, 6, 6, 7, 6, 6, 6, 7, 2, 64, 6, 9, 9, 9, 9, 9, 9, 2, 6, 6, 2,
    6, 2, 10, 10, 10, 10, 10, 10, 10, 10, 2, 10, 10, 10, 10, 2, 10, 10, 10, 10, 6, 5, 5, 6, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 9, 4, 6, 6, 6, 6, 34, 34, 34, 34, 34, 34, 64, 64, 64, 2, 6, 11,
    11, 11, 11, 11, 11, 11, 11, 7, 9, 2, 4, 4, 4, 4, 4, 4, 8, 64, 8, 8, 8, 6, 6, 4, 4, 4, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 64, 64, 6, 6, 6, 4, 4, 4, 6, 64, 2, 9, 11, 4, 11, 11, 9, 4, 64, 34,
    4, 4, 32, 33, 1, 1, 4, 6, 1, 2, 6, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 6, 1, 9, 4, 3, 2, 2, 2, 2, 2, 64, 9, 9, 9, 8, 2, 9, 6,
    11, 2, 64, 2, 2, 6, 4, 9, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 8, 1, 1,
    34, 34, 34, 2, 2, 2, 2, 8, 8, 2, 6, 6,
];

/// A namespace id, `None` when unknown (-1).
fn known(v: i64) -> Option<i64> {
    (v != -1).then_some(v)
}

/// Pushes a port as a protocol name without port-name resolution (sysdig's
/// `-R`): its number.
fn push_proto(out: &mut Values, port: u64) {
    out.push_bytes(itoa::Buffer::new().format(port).as_bytes());
}

fn is_shell(comm: &[u8]) -> bool {
    comm.len() > 2 && comm.ends_with(b"sh")
}

fn facility_name(f: u64) -> &'static str {
    const N: [&str; 24] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "clock",
        "authpriv", "ftp", "ntp", "logaudit", "logalert", "cron", "local0", "local1", "local2",
        "local3", "local4", "local5", "local6", "local7",
    ];
    N.get(usize::try_from(f).unwrap_or(usize::MAX))
        .copied()
        .unwrap_or("<NA>")
}

fn severity_name(s: u64) -> &'static str {
    const N: [&str; 8] = [
        "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
    ];
    N.get(usize::try_from(s).unwrap_or(usize::MAX))
        .copied()
        .unwrap_or("<NA>")
}

/// `10.3ms`-style rendering of a duration.
fn human_time(out: &mut Vec<u8>, ns: u64) {
    use std::io::Write as _;
    #[allow(clippy::cast_precision_loss)] // display only
    let f = ns as f64;
    let _ = if ns >= NS {
        write!(out, "{:.2}s", f / 1e9)
    } else if ns >= 1_000_000 {
        write!(out, "{:.2}ms", f / 1e6)
    } else if ns >= 1_000 {
        write!(out, "{:.2}us", f / 1e3)
    } else {
        write!(out, "{ns}ns")
    };
}

impl Extract for EventCtx<'_> {
    #[inline]
    fn event_type_key(&self) -> Option<(u16, u16)> {
        let et = self.ev.etype();
        // Types past the table show `NA`, which no type set holds.
        self.ev.info()?;
        if et >= 2 {
            return Some((et, 0));
        }
        // As `evt_type`: the system call's name when the ID has one, else `syscall`.
        let code = match self.ev.param(0).and_then(|b| le_int(b, false)) {
            Some(Value::Uint(id)) => u16::try_from(id)
                .ok()
                .filter(|&c| syscalls::syscall_name(c).is_some())
                .unwrap_or(u16::MAX),
            _ => u16::MAX,
        };
        Some((et, code))
    }

    fn borrow_bytes(&self, field: &FieldRef) -> Fast<&[u8]> {
        match hot_field(field.id) {
            Some(
                id @ (FieldId::EvtDir | FieldId::EvtType | FieldId::ProcName | FieldId::ProcExe),
            ) => self.str_field(id).map_or(Fast::Missing, Fast::Done),
            _ => Fast::Unsupported,
        }
    }

    #[inline]
    fn write_text(&self, field: &FieldRef, out: &mut Vec<u8>) -> Fast<()> {
        use FieldId as F;
        let Some(id) = hot_field(field.id) else {
            return Fast::Unsupported;
        };
        match id {
            F::EvtNum => self.env.decimals.num.push(out, self.num),
            F::EvtCpu => timefmt::push_u64(out, u64::from(self.ev.cpu)),
            F::ThreadTid => match u64::try_from(self.state.current().tid) {
                Ok(tid) => self.env.decimals.tid.push(out, tid),
                Err(_) => timefmt::push_i64(out, self.state.current().tid),
            },
            F::EvtRawtime => self.env.decimals.push_ts(out, self.ev.ts()),
            F::EvtTime => self.env.clock.time(out, self.ev.ts()),
            F::EvtOutputtime => self.outputtime(out),
            F::EvtInfo | F::EvtArgs => render::render_info(out, self.ev, self, &self.env.render),
            F::EvtDir | F::EvtType | F::ProcName | F::ProcExe => match self.str_field(id) {
                Some(b) => out.extend_from_slice(b),
                None => return Fast::Missing,
            },
            _ => return Fast::Unsupported,
        }
        Fast::Done(())
    }

    fn write_json(&self, field: &FieldRef, out: &mut Vec<u8>) -> Fast<()> {
        use FieldId as F;
        let Some(id) = hot_field(field.id) else {
            return Fast::Unsupported;
        };
        match id {
            F::EvtNum | F::EvtCpu | F::ThreadTid | F::EvtRawtime => {
                return self.write_text(field, out)
            }
            F::EvtInfo | F::EvtArgs => {
                // Rendered in place; text that needs escapes (rare) is left to
                // the general path.
                let mark = out.len();
                out.push(b'"');
                render::render_info(out, self.ev, self, &self.env.render);
                if !out[mark + 1..].iter().all(|&c| format::json_plain(c)) {
                    out.truncate(mark);
                    return Fast::Unsupported;
                }
                out.push(b'"');
            }
            F::EvtDir | F::EvtType | F::ProcName | F::ProcExe => match self.str_field(id) {
                Some(b) => format::write_json_string(out, b),
                None => return Fast::Missing,
            },
            _ => return Fast::Unsupported,
        }
        Fast::Done(())
    }

    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        let mark = out.len();
        let bytes_mark = out.begin_bytes();
        if self.extract_inner(field, out).is_some() {
            true
        } else {
            // Drop anything a failed extraction pushed, values and bytes: in
            // text output the byte buffer is the output line itself.
            while out.len() > mark {
                out.pop();
            }
            out.bytes_mut().truncate(bytes_mark);
            false
        }
    }
}

/// The fields with fast paths ([`EventCtx::write_text`] and the like), from
/// their number: a [`FieldId`]'s value is its number, so no table is read.
#[inline]
fn hot_field(id: u32) -> Option<FieldId> {
    use FieldId as F;
    const EVT_NUM: u32 = F::EvtNum as u32;
    const EVT_CPU: u32 = F::EvtCpu as u32;
    const THREAD_TID: u32 = F::ThreadTid as u32;
    const EVT_RAWTIME: u32 = F::EvtRawtime as u32;
    const EVT_TIME: u32 = F::EvtTime as u32;
    const EVT_OUTPUTTIME: u32 = F::EvtOutputtime as u32;
    const EVT_INFO: u32 = F::EvtInfo as u32;
    const EVT_ARGS: u32 = F::EvtArgs as u32;
    const EVT_DIR: u32 = F::EvtDir as u32;
    const EVT_TYPE: u32 = F::EvtType as u32;
    const PROC_NAME: u32 = F::ProcName as u32;
    const PROC_EXE: u32 = F::ProcExe as u32;
    Some(match id {
        EVT_NUM => F::EvtNum,
        EVT_CPU => F::EvtCpu,
        THREAD_TID => F::ThreadTid,
        EVT_RAWTIME => F::EvtRawtime,
        EVT_TIME => F::EvtTime,
        EVT_OUTPUTTIME => F::EvtOutputtime,
        EVT_INFO => F::EvtInfo,
        EVT_ARGS => F::EvtArgs,
        EVT_DIR => F::EvtDir,
        EVT_TYPE => F::EvtType,
        PROC_NAME => F::ProcName,
        PROC_EXE => F::ProcExe,
        _ => return None,
    })
}

impl FieldId {
    /// The field id with this number, if any.
    pub fn from_u32(v: u32) -> Option<FieldId> {
        let i = usize::try_from(v).ok()?;
        (i < FIELD_COUNT).then(|| super::catalog::FIELDS[i].id)
    }
}

impl crate::format::JsonFields for super::catalog::SyscallCatalog {
    /// Time strings (`evt.time`, `evt.outputtime`, …) are integers of ns in JSON.
    fn json_variant(&self, field: &FieldRef) -> Option<FieldRef> {
        let def = super::catalog::field_def(field.id)?;
        def.flags
            .contains(super::catalog::FieldFlags::TIME_STRING)
            .then(|| FieldRef {
                id: FieldId::EvtRawtime as u32,
                arg: FieldArg::None,
                ty: ParamType::AbsTime,
                name: field.name.clone(),
            })
    }

    /// Nanosecond parts of times print with 9 digits (`000000320`).
    fn zero_pad(&self, field: &FieldRef) -> usize {
        if super::catalog::field_def(field.id)
            .is_some_and(|d| d.flags.contains(super::catalog::FieldFlags::PAD9))
        {
            9
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_fields_are_numbered_like_the_catalogue() {
        let mut hot = 0;
        for n in 0..=u32::try_from(FIELD_COUNT).unwrap() {
            if let Some(id) = hot_field(n) {
                assert_eq!(FieldId::from_u32(n), Some(id));
                hot += 1;
            }
        }
        assert_eq!(hot, 12);
    }

    /// The type gate of a filter (`Extract::event_type_key`) agrees with the
    /// `evt.type` a full evaluation reads, for every type and for generic
    /// events with every kind of `ID`.
    #[test]
    fn type_gate_agrees_with_evt_type() {
        use crate::fields::catalog::SyscallCatalog;
        use crate::Filter;
        use osprey_event::encode;
        use osprey_event::table::EVENT_COUNT;
        let st = State::new();
        let env = Env::default();
        let mut buf = Vec::new();
        let mut cases: Vec<(u16, Vec<u8>)> = (2..u16::try_from(EVENT_COUNT).unwrap())
            .map(|t| (t, Vec::new()))
            .collect();
        for t in 0..2 {
            for id in [
                Some(5u64),
                Some(0),
                Some(328),
                Some(329),
                Some(70_000),
                None,
            ] {
                let p = id.map(|i| i.to_le_bytes().to_vec()).unwrap_or_default();
                cases.push((t, p));
            }
        }
        let not_open = Filter::compile("evt.type != open", &SyscallCatalog).unwrap();
        for (t, id) in cases {
            let params: &[&[u8]] = if t < 2 { &[&id, b""] } else { &[] };
            encode(&mut buf, 1, 1, t, params);
            let ev = EventRef::parse(&buf, 0, 0).unwrap();
            let ctx = EventCtx {
                ev: &ev,
                state: &st,
                num: 1,
                env: &env,
            };
            let name = ctx.evt_type();
            let f = Filter::compile(&format!("evt.type = '{name}'"), &SyscallCatalog).unwrap();
            assert!(f.matches(&ctx), "type {t} id {id:?} shows {name}");
            assert_eq!(not_open.matches(&ctx), name != "open", "type {t}");
        }
    }
}
