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
            F::ProcStdinType
            | F::ProcStdoutType
            | F::ProcStderrType
            | F::ProcStdinName
            | F::ProcStdoutName
            | F::ProcStderrName => {
                let n = match id {
                    F::ProcStdinType | F::ProcStdinName => 0,
                    F::ProcStdoutType | F::ProcStdoutName => 1,
                    _ => 2,
                };
                let t = self.thread()?;
                let fd = self.state.fds(t).get(n)?;
                if matches!(id, F::ProcStdinType | F::ProcStdoutType | F::ProcStderrType) {
                    out.push_bytes(fd.ty.as_str()?.as_bytes());
                } else {
                    out.push_bytes(&fd.name);
                }
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

#[cfg(test)]
mod tests {
    use super::super::Env;
    use super::*;
    use crate::field::{Extract, FieldCatalog};
    use crate::fields::catalog::SyscallCatalog;
    use osprey_event::snapshot::{MachineInfo, ProcInfo, Snapshot};
    use osprey_event::{encode, EventRef};
    use osprey_state::State;

    /// systemd (1) → bash (100, group and session leader) → sh (200, same
    /// group, container, capabilities, executable details) → its thread 201.
    fn state() -> State {
        let proc = |tid: u64, pid: u64, ptid: u64, comm: &str| ProcInfo {
            tid,
            pid,
            ptid,
            sid: 100,
            vpgid: 100,
            vtid: tid as i64,
            vpid: pid as i64,
            comm: comm.as_bytes().to_vec(),
            exe: format!("{comm}-exe").into_bytes(),
            exepath: format!("/usr/bin/{comm}").into_bytes(),
            cwd: b"/work/".to_vec(),
            ..ProcInfo::default()
        };
        let mut init = proc(1, 1, 0, "systemd");
        init.sid = 1;
        init.vpgid = 1;
        let mut sh = proc(200, 200, 100, "sh");
        sh.cap_permitted = (1 << 21) | (1 << 16) | 1;
        sh.cap_effective = 1 << 21;
        sh.exe_ino = 4242;
        sh.exe_ino_ctime = 1_700_000_000_000_000_001;
        sh.exe_ino_mtime = 1_600_000_000_000_000_002;
        sh.exe_upper_layer = true;
        sh.exe_from_memfd = true;
        sh.pidns_init_start_ts = 1_650_000_000_000_000_000;
        sh.cgroups = format!("cpu=/docker/{}\0", "0123456789abcdef".repeat(4)).into_bytes();
        let mut st = State::new();
        st.set_full(true);
        st.load(&Snapshot {
            machine: Some(MachineInfo {
                hostname: b"node-7".to_vec(),
                ..MachineInfo::default()
            }),
            procs: vec![
                init,
                proc(100, 100, 1, "bash"),
                sh,
                proc(201, 200, 200, "sh"),
            ],
            ..Snapshot::default()
        });
        st
    }

    /// The values of `field` on event `buf` (already processed by `st`), as text;
    /// `None` when the field has no value.
    fn get(st: &State, buf: &[u8], field: &str) -> Option<Vec<String>> {
        let ev = EventRef::parse(buf, 0, 0).expect("event");
        let env = Env::default();
        let ctx = EventCtx {
            ev: &ev,
            state: st,
            num: 1,
            env: &env,
        };
        let (name, arg) = match field.split_once('[') {
            Some((n, i)) => (
                n,
                FieldArg::Index(i.trim_end_matches(']').parse().expect("index")),
            ),
            None => (field, FieldArg::None),
        };
        let f = SyscallCatalog.resolve(name, arg).expect(field);
        let mut out = Values::new();
        if !ctx.extract(&f, &mut out) {
            return None;
        }
        Some(
            out.items()
                .iter()
                .map(|v| match *v {
                    Value::Bytes(s, e) => String::from_utf8_lossy(out.bytes(s, e)).into_owned(),
                    Value::Int(i) => i.to_string(),
                    Value::Uint(u) => u.to_string(),
                    Value::Bool(b) => b.to_string(),
                    ref other => format!("{other:?}"),
                })
                .collect(),
        )
    }

    fn one(st: &State, buf: &[u8], field: &str) -> Option<String> {
        let mut v = get(st, buf, field)?;
        assert_eq!(v.len(), 1, "{field}: {v:?}");
        v.pop()
    }

    /// Processes an openat exit (full mode) of `tid` opening `name` as fd 5
    /// (or failing with `res` < 0); returns the event.
    fn openat(st: &mut State, tid: u64, res: i64, name: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut n = name.to_vec();
        n.push(0);
        encode(
            &mut buf,
            5_000,
            tid,
            307,
            &[
                &res.to_le_bytes(),
                &(-100i64).to_le_bytes(),
                &n,
                &1u32.to_le_bytes(),
                &0u32.to_le_bytes(),
                &0u32.to_le_bytes(),
                &0u64.to_le_bytes(),
            ],
        );
        st.process(&EventRef::parse(&buf, 0, 0).expect("openat"));
        buf
    }

    #[test]
    fn parent_and_ancestor_executables() {
        let mut st = state();
        let ev = openat(&mut st, 201, 5, b"/etc/hosts");
        // The thread's parent (ptid) is its process's main thread.
        assert_eq!(one(&st, &ev, "proc.pexe").as_deref(), Some("sh-exe"));
        assert_eq!(
            one(&st, &ev, "proc.pexepath").as_deref(),
            Some("/usr/bin/sh")
        );
        assert_eq!(one(&st, &ev, "proc.aexe[0]").as_deref(), Some("sh-exe"));
        assert_eq!(
            one(&st, &ev, "proc.aexe[2]").as_deref(),
            Some("systemd-exe")
        );
        assert_eq!(
            one(&st, &ev, "proc.aexepath[1]").as_deref(),
            Some("/usr/bin/bash")
        );
        assert_eq!(one(&st, &ev, "proc.aexe[3]"), None);
        assert_eq!(
            get(&st, &ev, "proc.aexepath"),
            Some(vec!["/usr/bin/bash".into(), "/usr/bin/systemd".into()])
        );
        let ev = openat(&mut st, 1, 5, b"/etc/hosts");
        assert_eq!(
            one(&st, &ev, "proc.pexe"),
            None,
            "systemd's parent is unknown"
        );
        assert_eq!(get(&st, &ev, "proc.aexe"), None);
        assert_eq!(one(&st, &ev, "proc.ppid.duration"), None);
    }

    #[test]
    fn executable_details_capabilities_and_container() {
        let mut st = state();
        let ev = openat(&mut st, 200, 5, b"/etc/hosts");
        assert_eq!(one(&st, &ev, "proc.exe_ino").as_deref(), Some("4242"));
        assert_eq!(
            one(&st, &ev, "proc.exe_ino.ctime").as_deref(),
            Some("1700000000000000001")
        );
        assert_eq!(
            one(&st, &ev, "proc.exe_ino.mtime").as_deref(),
            Some("1600000000000000002")
        );
        // No clone seen: no duration, as libsinsp.
        assert_eq!(
            one(&st, &ev, "proc.exe_ino.ctime_duration_proc_start"),
            None
        );
        assert_eq!(
            one(&st, &ev, "proc.is_exe_upper_layer").as_deref(),
            Some("true")
        );
        assert_eq!(
            one(&st, &ev, "proc.is_exe_from_memfd").as_deref(),
            Some("true")
        );
        assert_eq!(
            one(&st, &ev, "thread.cap_permitted").as_deref(),
            Some("CAP_CHOWN CAP_SYS_MODULE CAP_SYS_ADMIN")
        );
        assert_eq!(
            one(&st, &ev, "thread.cap_effective").as_deref(),
            Some("CAP_SYS_ADMIN")
        );
        assert_eq!(one(&st, &ev, "thread.cap_inheritable").as_deref(), Some(""));
        assert_eq!(
            one(&st, &ev, "container.start_ts").as_deref(),
            Some("1650000000000000000")
        );
        assert_eq!(one(&st, &ev, "evt.hostname").as_deref(), Some("node-7"));
        // bash: nothing known about its executable, and it runs on the host.
        let ev = openat(&mut st, 100, 5, b"/etc/hosts");
        for f in [
            "proc.exe_ino",
            "proc.exe_ino.ctime",
            "proc.exe_ino.mtime",
            "container.start_ts",
        ] {
            assert_eq!(one(&st, &ev, f), None, "{f}");
        }
        assert_eq!(
            one(&st, &ev, "proc.is_exe_upper_layer").as_deref(),
            Some("false")
        );
    }

    #[test]
    fn process_group_and_session_leaders() {
        let mut st = state();
        let ev = openat(&mut st, 200, 5, b"/etc/hosts");
        assert_eq!(
            one(&st, &ev, "proc.is_vpgid_leader").as_deref(),
            Some("false")
        );
        assert_eq!(
            one(&st, &ev, "proc.is_sid_leader").as_deref(),
            Some("false")
        );
        assert_eq!(one(&st, &ev, "proc.vpgid.name").as_deref(), Some("bash"));
        assert_eq!(one(&st, &ev, "proc.vpgid.exe").as_deref(), Some("bash-exe"));
        assert_eq!(
            one(&st, &ev, "proc.vpgid.exepath").as_deref(),
            Some("/usr/bin/bash")
        );
        let ev = openat(&mut st, 100, 5, b"/etc/hosts");
        assert_eq!(
            one(&st, &ev, "proc.is_vpgid_leader").as_deref(),
            Some("true")
        );
        assert_eq!(one(&st, &ev, "proc.is_sid_leader").as_deref(), Some("true"));
        assert_eq!(one(&st, &ev, "proc.vpgid.name").as_deref(), Some("bash"));
    }

    #[test]
    fn group_leader_in_a_pid_namespace_is_the_oldest_ancestor_in_the_group() {
        let mut st = State::new();
        let proc = |tid: u64, ptid: u64, vtid: i64, vpgid: u64, comm: &str| ProcInfo {
            tid,
            pid: tid,
            ptid,
            vtid,
            vpid: vtid,
            vpgid,
            comm: comm.as_bytes().to_vec(),
            ..ProcInfo::default()
        };
        st.load(&Snapshot {
            procs: vec![
                proc(10, 1, 1, 1, "init"),
                proc(11, 10, 7, 7, "sh"),
                proc(12, 11, 8, 7, "curl"),
            ],
            ..Snapshot::default()
        });
        let ev = openat(&mut st, 12, 5, b"/x");
        // vpgid 7 names host pid 7, which does not exist: walk up instead.
        assert_eq!(one(&st, &ev, "proc.vpgid.name").as_deref(), Some("sh"));
        assert_eq!(
            one(&st, &ev, "proc.is_vpgid_leader").as_deref(),
            Some("false")
        );
    }

    #[test]
    fn raw_fd_names_and_fd_types() {
        let mut st = state();
        let ev = openat(&mut st, 200, 5, b"..//..///etc/shadow");
        assert_eq!(one(&st, &ev, "fd.name").as_deref(), Some("/etc/shadow"));
        assert_eq!(
            one(&st, &ev, "fd.nameraw").as_deref(),
            Some("../../etc/shadow")
        );
        assert_eq!(get(&st, &ev, "fd.types"), Some(vec!["file".into()]));
        assert_eq!(one(&st, &ev, "fd.types[5]").as_deref(), Some("file"));
        assert_eq!(one(&st, &ev, "fd.types[9]"), None);
        // A failed openat names the path it was given.
        let ev = openat(&mut st, 200, -2, b"a//b");
        assert_eq!(one(&st, &ev, "fd.nameraw").as_deref(), Some("a/b"));
        // Not an fd event (a nanosleep exit): no value.
        let mut buf = Vec::new();
        encode(
            &mut buf,
            6_000,
            200,
            135,
            &[&0i64.to_le_bytes(), &0u64.to_le_bytes()],
        );
        st.process(&EventRef::parse(&buf, 0, 0).expect("nanosleep"));
        assert_eq!(one(&st, &buf, "fd.nameraw"), None);
        assert_eq!(get(&st, &buf, "fd.types"), None);
    }

    #[test]
    fn ancestor_in_list_matches_any_ancestor() {
        let mut st = state();
        let buf = openat(&mut st, 200, 5, b"/tmp/x");
        let ev = EventRef::parse(&buf, 0, 0).expect("event");
        let env = Env::default();
        let ctx = EventCtx {
            ev: &ev,
            state: &st,
            num: 1,
            env: &env,
        };
        let matches = |f: &str| {
            crate::Filter::compile(f, &SyscallCatalog)
                .expect("filter")
                .matches(&ctx)
        };
        // sh (200) descends from bash and systemd: one ancestor in the list
        // is enough, as in libsinsp.
        assert!(matches("proc.aname in (bash, nosuch)"));
        assert!(matches("proc.aname in (systemd)"));
        assert!(!matches("proc.aname in (nosuch, other)"));
        assert!(matches("proc.apid in (100, 12345)"));
        assert!(!matches("proc.apid in (12345)"));
        // With an index, one ancestor is compared.
        assert!(matches("proc.aname[1] in (bash, x)"));
        assert!(!matches("proc.aname[2] in (bash, x)"));
    }

    #[test]
    fn standard_fds_of_the_process() {
        let mut st = state();
        // No fd 0-2 yet: no value.
        let ev = openat(&mut st, 200, 5, b"/tmp/x");
        assert_eq!(one(&st, &ev, "proc.stdin.type"), None);
        assert_eq!(one(&st, &ev, "proc.stdout.name"), None);
        // fds 0 and 1 opened: their kind and name, fd 2 still none.
        openat(&mut st, 200, 0, b"/dev/null");
        let ev = openat(&mut st, 200, 1, b"/var/log/out.log");
        assert_eq!(one(&st, &ev, "proc.stdin.type").as_deref(), Some("file"));
        assert_eq!(
            one(&st, &ev, "proc.stdin.name").as_deref(),
            Some("/dev/null")
        );
        assert_eq!(one(&st, &ev, "proc.stdout.type").as_deref(), Some("file"));
        assert_eq!(
            one(&st, &ev, "proc.stdout.name").as_deref(),
            Some("/var/log/out.log")
        );
        assert_eq!(one(&st, &ev, "proc.stderr.type"), None);
    }

    #[test]
    fn capability_names_follow_bit_numbers() {
        let mut b = Vec::new();
        push_caps(&mut b, u64::MAX);
        let names: Vec<&[u8]> = b.split(|&c| c == b' ').collect();
        assert_eq!(names.len(), CAPABILITIES.len());
        assert_eq!(names[21], b"CAP_SYS_ADMIN");
        assert_eq!(names[40], b"CAP_CHECKPOINT_RESTORE");
        b.clear();
        push_caps(&mut b, 0);
        assert!(b.is_empty());
        let mut f = b"x//a///b/".to_vec();
        fold_slashes(&mut f, 1);
        assert_eq!(f, b"x/a/b/");
    }
}
