//! Extraction of the fields of current libs that sysdig 0.29.3 lacks
//! ([`FieldFlags::NEWER`](crate::fields::catalog::FieldFlags::NEWER)): the
//! ones Falco's rules use (ancestors' executables, executable inode and
//! flags, capabilities, process groups, raw fd names, host name, container
//! start). Each gives no value exactly where libsinsp gives none.

use super::EventCtx;
use crate::field::{FieldArg, FieldRef, Value, Values};
use crate::fields::catalog::FieldId;
use osprey_state::{render_tuple, Thread};

/// Capability names by bit number, as libsinsp prints them.
const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// `PPM_CL_CHILD_IN_PIDNS`: the thread runs in a child pid namespace.
const CL_CHILD_IN_PIDNS: u32 = 1 << 29;

/// Appends the names of the capabilities set in `caps`, separated by spaces
/// (nothing for an empty set; unknown bits are left out).
fn push_caps(out: &mut Vec<u8>, caps: u64) {
    let mut first = true;
    for (bit, name) in CAPABILITIES.iter().enumerate() {
        if caps & (1 << bit) != 0 {
            if !first {
                out.push(b' ');
            }
            first = false;
            out.extend_from_slice(name.as_bytes());
        }
    }
}

/// Folds each run of `/` in `buf[start..]` into one, in place.
fn fold_slashes(buf: &mut Vec<u8>, start: usize) {
    let mut w = start;
    for r in start..buf.len() {
        let c = buf[r];
        if c != b'/' || w == start || buf[w - 1] != b'/' {
            buf[w] = c;
            w += 1;
        }
    }
    buf.truncate(w);
}

/// Whether the thread runs in a pid namespace other than the host's (as
/// libsinsp decides: the flag, or a virtual tid that differs from the tid).
fn in_pid_namespace(t: &Thread) -> bool {
    t.flags & CL_CHILD_IN_PIDNS != 0 || t.tid != t.vtid
}

impl<'a> EventCtx<'a> {
    /// The parent libsinsp names for `proc.p*` fields: the thread `ptid` names.
    fn parent_of_thread(&self) -> Option<&'a Thread> {
        self.state.thread(self.thread()?.ptid)
    }

    /// The leader of the thread's process group: on the host, the process
    /// whose pid is the group id; else (or when that one is gone) the oldest
    /// ancestor in an unbroken line with the same group id, the thread itself
    /// when its parent is in another group.
    fn vpgid_leader(&self) -> Option<&'a Thread> {
        let t = self.thread()?;
        if !in_pid_namespace(t) {
            if let Some(l) = self.state.thread(t.vpgid) {
                return Some(l);
            }
        }
        let leader = self
            .state
            .ancestors(t)
            .skip(1)
            .take_while(|a| a.vpgid == t.vpgid)
            .last();
        Some(leader.unwrap_or(t))
    }

    /// The name `fd.nameraw` gives an exit's fd that is not in the table:
    /// the path an open call was given (made absolute for open and creat),
    /// the tuple of an accept or connect, otherwise an empty name.
    fn unknown_fd_nameraw(&self, out: &mut Vec<u8>) {
        let named = |name: &str| -> Option<&'a [u8]> {
            let find = |ev: &osprey_event::EventRef<'a>| {
                let i = ev.info()?.param_index(name)?;
                ev.param(i).filter(|b| !b.is_empty())
            };
            find(self.ev).or_else(|| self.state.current_enter().as_ref().and_then(find))
        };
        let cstr = |b: &'a [u8]| b.split(|&c| c == 0).next().unwrap_or_default();
        match self.ev.etype() {
            // open and creat exits: the path, relative to the cwd.
            3 | 59 => {
                let name = named("name").map(cstr).unwrap_or_default();
                if !name.starts_with(b"/") {
                    if let Some(t) = self.thread() {
                        out.extend_from_slice(self.state.cwd(t));
                    }
                }
                out.extend_from_slice(name);
            }
            // openat (both versions) and openat2 exits: the path as given.
            103 | 307 | 327 => out.extend_from_slice(named("name").map(cstr).unwrap_or_default()),
            // accept (all versions) and connect exits: the tuple.
            22 | 27 | 57 | 247 | 249 | 389 => {
                if let Some(p) = self.ev.param(1) {
                    render_tuple(p, out);
                }
            }
            _ => {}
        }
    }

    /// Extracts one of the newer fields; `None` for no value.
    pub(super) fn extract_newer(
        &self,
        id: FieldId,
        field: &FieldRef,
        out: &mut Values,
    ) -> Option<()> {
        use FieldId as F;
        match id {
            F::EvtHostname => out.push_bytes(self.state.hostname()?),
            F::ProcPexe => out.push_bytes(&self.parent_of_thread()?.exe),
            F::ProcPexepath => out.push_bytes(&self.parent_of_thread()?.exepath),
            F::ProcAexe | F::ProcAexepath => {
                let t = self.thread()?;
                let mut anc = self.state.ancestors(t);
                let push = |out: &mut Values, a: &Thread| {
                    out.push_bytes(if id == F::ProcAexe {
                        &a.exe
                    } else {
                        &a.exepath
                    });
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
            F::ProcExeIno => {
                let ino = self.thread()?.exe_ino;
                if ino == 0 {
                    return None;
                }
                out.push(Value::Int(ino as i64));
            }
            F::ProcExeInoCtime | F::ProcExeInoMtime | F::ProcExeInoCtimeDurationProcStart => {
                let t = self.thread()?;
                let v = match id {
                    F::ProcExeInoCtime => t.exe_ino_ctime,
                    F::ProcExeInoMtime => t.exe_ino_mtime,
                    _ => t.exe_ino_ctime_duration_clone_ts,
                };
                if v == 0 {
                    return None;
                }
                out.push(Value::Uint(v));
            }
            F::ProcIsExeUpperLayer => out.push(Value::Bool(self.thread()?.exe_upper_layer)),
            F::ProcIsExeFromMemfd => out.push(Value::Bool(self.thread()?.exe_from_memfd)),
            F::ProcIsSidLeader => {
                let t = self.thread()?;
                out.push(Value::Bool(t.sid == t.vpid));
            }
            F::ProcIsVpgidLeader => {
                let t = self.thread()?;
                out.push(Value::Bool(t.vpgid == t.vpid));
            }
            F::ProcVpgidName => out.push_bytes(&self.vpgid_leader()?.comm),
            F::ProcVpgidExe => out.push_bytes(&self.vpgid_leader()?.exe),
            F::ProcVpgidExepath => out.push_bytes(&self.vpgid_leader()?.exepath),
            F::ProcPpidDuration => {
                let c = self.parent_of_thread()?.clone_ts;
                if c == 0 {
                    return None;
                }
                out.push(Value::Uint(self.ev.ts().saturating_sub(c)));
            }
            F::ThreadCapPermitted | F::ThreadCapInheritable | F::ThreadCapEffective => {
                let t = self.thread()?;
                let caps = match id {
                    F::ThreadCapPermitted => t.cap_permitted,
                    F::ThreadCapInheritable => t.cap_inheritable,
                    _ => t.cap_effective,
                };
                let s = out.begin_bytes();
                push_caps(out.bytes_mut(), caps);
                out.end_bytes(s);
            }
            F::ContainerStartTs => {
                let t = self.thread()?;
                self.state.container_id(t).filter(|c| !c.is_empty())?;
                if t.pidns_init_start_ts == 0 {
                    return None;
                }
                out.push(Value::Uint(t.pidns_init_start_ts));
            }
            F::FdNameraw => {
                let s = out.begin_bytes();
                match self.fd() {
                    Some(f) => out.bytes_mut().extend_from_slice(&f.name_raw),
                    None if self.no_fd_exit() => self.unknown_fd_nameraw(out.bytes_mut()),
                    None => return None,
                }
                fold_slashes(out.bytes_mut(), s);
                out.end_bytes(s);
            }
            F::FdTypes => {
                self.state.current().fd_num?;
                let t = self.thread()?;
                let fds = self.state.fds(t);
                match field.arg {
                    FieldArg::Index(n) => {
                        out.push_bytes(fds.get(n)?.ty.as_str()?.as_bytes());
                    }
                    _ => {
                        let mut seen = 0u64;
                        for (_, f) in fds.iter() {
                            let Some(name) = f.ty.as_str() else { continue };
                            let bit = 1u64 << (f.ty as u32 % 64);
                            if seen & bit == 0 {
                                seen |= bit;
                                out.push_bytes(name.as_bytes());
                            }
                        }
                    }
                }
            }
            _ => return None,
        }
        Some(())
    }
}
