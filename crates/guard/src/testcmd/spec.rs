//! Spec files: the YAML schema of `osprey-guard test`, read into cases with
//! their synthetic snapshot and encoded events (see rules/tests/README.md).

use super::synth;
use super::yaml::{self, Kind, Node, Pos};
use osprey_event::snapshot::{
    FdAddr, FdInfo, FdKind, GroupInfo, MachineInfo, ProcInfo, Snapshot, UserInfo,
};
use osprey_event::table::{info, ParamType};
use osprey_rules::Matching;
use std::path::{Path, PathBuf};

/// Timestamp of the first synthetic event (2023-11-14T22:13:20Z).
const FIRST_TS: u64 = 1_700_000_000_000_000_000;
/// Default gap between synthetic events: 1 ms.
const TS_STEP: u64 = 1_000_000;

/// A spec-file mistake at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpecError {
    /// Where.
    pub(crate) pos: Pos,
    /// What.
    pub(crate) msg: String,
}

/// One parsed spec file.
#[derive(Debug)]
pub(crate) struct Spec {
    /// Rules the spec adds to the `-r` files: (name for messages, YAML).
    pub(crate) rules: Vec<(String, String)>,
    /// The cases, in file order.
    pub(crate) cases: Vec<Case>,
}

/// One test case.
#[derive(Debug)]
pub(crate) struct Case {
    /// Its name (given, or `case N`).
    pub(crate) name: String,
    /// What the rules run over.
    pub(crate) input: Input,
    /// Expected alert counts, by rule name.
    pub(crate) expect: Vec<Expect>,
    /// Whether rules not listed in `expect` must stay silent.
    pub(crate) strict: bool,
    /// First-match or all-match evaluation.
    pub(crate) matching: Matching,
}

/// One expected count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expect {
    /// The rule name.
    pub(crate) rule: String,
    /// Exact number of alerts.
    pub(crate) count: u64,
    /// Where the expectation is written.
    pub(crate) pos: Pos,
}

/// The events of a case.
#[derive(Debug)]
pub(crate) enum Input {
    /// A capture file.
    Capture(PathBuf),
    /// Synthetic exit-only events over a synthetic process list.
    Events {
        /// The process list, users and machine.
        snapshot: Box<Snapshot>,
        /// Encoded events, in order.
        events: Vec<Vec<u8>>,
    },
}

fn err<T>(node: &Node, msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError {
        pos: node.pos,
        msg: msg.into(),
    })
}

/// The entries of mapping `node`, checked against the `allowed` keys.
fn entries<'a>(
    node: &'a Node,
    what: &str,
    allowed: &[&str],
) -> Result<Vec<(&'a str, &'a Node)>, SpecError> {
    let Kind::Map(m) = &node.kind else {
        return err(node, format!("{what}: expected a mapping"));
    };
    let mut out: Vec<(&str, &Node)> = Vec::with_capacity(m.len());
    for (k, v) in m {
        let Some(key) = k.as_str() else {
            return err(k, format!("{what}: keys must be strings"));
        };
        if !allowed.is_empty() && !allowed.contains(&key) {
            return err(
                k,
                format!(
                    "{what}: unknown key '{key}' (expected one of: {})",
                    allowed.join(", ")
                ),
            );
        }
        if out.iter().any(|(o, _)| *o == key) {
            return err(k, format!("{what}: duplicate key '{key}'"));
        }
        out.push((key, v));
    }
    Ok(out)
}

fn get<'a>(e: &[(&str, &'a Node)], key: &str) -> Option<&'a Node> {
    e.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn string(node: &Node, what: &str) -> Result<String, SpecError> {
    match node.as_str() {
        Some(s) => Ok(s.to_string()),
        None => err(node, format!("{what}: expected a string")),
    }
}

fn int(node: &Node, what: &str) -> Result<i64, SpecError> {
    match node.as_str().and_then(|s| s.parse().ok()) {
        Some(v) => Ok(v),
        None => err(node, format!("{what}: expected an integer")),
    }
}

fn uint(node: &Node, what: &str) -> Result<u64, SpecError> {
    match node.as_str().and_then(|s| s.parse().ok()) {
        Some(v) => Ok(v),
        None => err(node, format!("{what}: expected a non-negative integer")),
    }
}

fn uint32(node: &Node, what: &str) -> Result<u32, SpecError> {
    let v = uint(node, what)?;
    u32::try_from(v).or_else(|_| err(node, format!("{what}: {v} is too large")))
}

fn boolean(node: &Node, what: &str) -> Result<bool, SpecError> {
    match node.as_str() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => err(node, format!("{what}: expected true or false")),
    }
}

fn seq<'a>(node: &'a Node, what: &str) -> Result<&'a [Node], SpecError> {
    match &node.kind {
        Kind::Seq(items) => Ok(items),
        _ => err(node, format!("{what}: expected a list")),
    }
}

fn strings(node: &Node, what: &str) -> Result<Vec<String>, SpecError> {
    seq(node, what)?.iter().map(|n| string(n, what)).collect()
}

fn matching(node: &Node) -> Result<Matching, SpecError> {
    match node.as_str() {
        Some("first") => Ok(Matching::First),
        Some("all") => Ok(Matching::All),
        _ => err(node, "matching: expected first or all"),
    }
}

/// Parses spec file `path` with content `text`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Spec, SpecError> {
    let root = yaml::parse(text).map_err(|e| SpecError {
        pos: e.pos,
        msg: format!("invalid YAML: {}", e.msg),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut spec = Spec {
        rules: Vec::new(),
        cases: Vec::new(),
    };
    let mut mode = Matching::First;
    let cases = match &root.kind {
        Kind::Seq(_) => &root,
        Kind::Map(_) => {
            let e = entries(
                &root,
                "spec",
                &["rules", "rules_files", "matching", "cases"],
            )?;
            if let Some(n) = get(&e, "rules_files") {
                for f in seq(n, "rules_files")? {
                    let rel = string(f, "rules_files")?;
                    let p = dir.join(&rel);
                    match std::fs::read_to_string(&p) {
                        Ok(c) => spec.rules.push((p.display().to_string(), c)),
                        Err(e) => return err(f, format!("cannot read {}: {e}", p.display())),
                    }
                }
            }
            if let Some(n) = get(&e, "rules") {
                let name = format!("{}:{}", path.display(), n.pos.line);
                spec.rules.push((name, string(n, "rules")?));
            }
            if let Some(n) = get(&e, "matching") {
                mode = matching(n)?;
            }
            match get(&e, "cases") {
                Some(c) => c,
                None => return err(&root, "spec: no 'cases' list"),
            }
        }
        _ => {
            return err(
                &root,
                "spec: expected a list of cases or a mapping with 'cases'",
            )
        }
    };
    for (i, c) in seq(cases, "cases")?.iter().enumerate() {
        spec.cases.push(case(dir, c, i + 1, mode)?);
    }
    Ok(spec)
}

fn case(dir: &Path, node: &Node, n: usize, mode: Matching) -> Result<Case, SpecError> {
    let e = entries(
        node,
        "case",
        &[
            "name", "capture", "events", "procs", "users", "expect", "absent", "strict", "matching",
        ],
    )?;
    let name = match get(&e, "name") {
        Some(v) => string(v, "name")?,
        None => format!("case {n}"),
    };
    let mut expect = Vec::new();
    if let Some(x) = get(&e, "expect") {
        for (rule, count) in entries(x, "expect", &[])? {
            expect.push(Expect {
                rule: rule.to_string(),
                count: uint(count, "expect")?,
                pos: count.pos,
            });
        }
    }
    if let Some(a) = get(&e, "absent") {
        for r in seq(a, "absent")? {
            expect.push(Expect {
                rule: string(r, "absent")?,
                count: 0,
                pos: r.pos,
            });
        }
    }
    for (i, x) in expect.iter().enumerate() {
        if expect[..i].iter().any(|y| y.rule == x.rule) {
            return Err(SpecError {
                pos: x.pos,
                msg: format!("rule '{}' is expected twice", x.rule),
            });
        }
    }
    let input = match (get(&e, "capture"), get(&e, "events")) {
        (Some(c), None) => {
            for k in ["procs", "users"] {
                if let Some(v) = get(&e, k) {
                    return err(v, format!("'{k}' only goes with 'events'"));
                }
            }
            Input::Capture(dir.join(string(c, "capture")?))
        }
        (None, Some(evs)) => synthetic(get(&e, "procs"), get(&e, "users"), evs)?,
        (Some(_), Some(_)) => return err(node, "a case has 'capture' or 'events', not both"),
        (None, None) => return err(node, "a case needs 'capture' or 'events'"),
    };
    Ok(Case {
        name,
        input,
        expect,
        strict: get(&e, "strict")
            .map(|v| boolean(v, "strict"))
            .transpose()?
            .unwrap_or(false),
        matching: get(&e, "matching")
            .map(matching)
            .transpose()?
            .unwrap_or(mode),
    })
}

/// The processes of a case, by thread id, in order of description.
#[derive(Default)]
struct Procs {
    list: Vec<ProcInfo>,
}

impl Procs {
    /// The thread id `node` names: a number refers to a described process,
    /// a mapping describes a new one.
    fn resolve(&mut self, node: &Node) -> Result<u64, SpecError> {
        if node.as_str().is_some() {
            let tid = uint(node, "proc")?;
            return match self.list.iter().any(|p| p.tid == tid) {
                true => Ok(tid),
                false => err(
                    node,
                    format!("proc {tid}: no process with that tid is described"),
                ),
            };
        }
        let p = process(node)?;
        let tid = p.tid;
        if self.list.iter().any(|q| q.tid == tid) {
            return err(
                node,
                format!("process {tid} is described twice (refer to it as 'proc: {tid}')"),
            );
        }
        self.list.push(p);
        Ok(tid)
    }
}

fn process(node: &Node) -> Result<ProcInfo, SpecError> {
    let e = entries(
        node,
        "proc",
        &[
            "pid", "tid", "ppid", "name", "exe", "exepath", "args", "cwd", "uid", "gid",
            "loginuid", "env", "cgroups", "vpid", "vtid", "tty", "caps", "fds",
        ],
    )?;
    let pid = match get(&e, "pid") {
        Some(v) => uint(v, "pid")?,
        None => return err(node, "proc: 'pid' is required"),
    };
    let tid = get(&e, "tid")
        .map(|v| uint(v, "tid"))
        .transpose()?
        .unwrap_or(pid);
    let text = |k: &str| get(&e, k).map(|v| string(v, k)).transpose();
    let exe = text("exe")?;
    let name = match (text("name")?, &exe) {
        (Some(n), _) => n,
        (None, Some(x)) => x.rsplit('/').next().unwrap_or(x).to_string(),
        (None, None) => return err(node, "proc: give 'name' or 'exe'"),
    };
    let exe = exe.unwrap_or_else(|| name.clone());
    let exepath = match text("exepath")? {
        Some(p) => p,
        None if exe.starts_with('/') => exe.clone(),
        None => format!("/usr/bin/{name}"),
    };
    let list = |k: &str| -> Result<Vec<u8>, SpecError> {
        Ok(get(&e, k)
            .map(|v| strings(v, k))
            .transpose()?
            .map_or_else(Vec::new, |l| synth::nul_list(&l)))
    };
    let uid = get(&e, "uid")
        .map(|v| uint32(v, "uid"))
        .transpose()?
        .unwrap_or(0);
    let mut cwd = text("cwd")?.unwrap_or_else(|| "/".into());
    if !cwd.ends_with('/') {
        cwd.push('/');
    }
    let caps = get(&e, "caps")
        .map(|v| uint(v, "caps"))
        .transpose()?
        .unwrap_or(0);
    let num = |k: &str, d: u64| -> Result<u64, SpecError> {
        Ok(get(&e, k).map(|v| uint(v, k)).transpose()?.unwrap_or(d))
    };
    let vpid = i64::try_from(num("vpid", pid)?).unwrap_or(i64::MAX);
    let vtid = i64::try_from(num("vtid", tid)?).unwrap_or(i64::MAX);
    let mut fds = Vec::new();
    if let Some(list) = get(&e, "fds") {
        for f in seq(list, "fds")? {
            fds.push(fd(f)?);
        }
    }
    Ok(ProcInfo {
        tid,
        pid,
        ptid: num("ppid", 1)?,
        sid: pid,
        vpgid: pid,
        pgid: i64::try_from(pid).unwrap_or(i64::MAX),
        comm: name.into_bytes(),
        exe: exe.into_bytes(),
        exepath: exepath.into_bytes(),
        args: list("args")?,
        cwd: cwd.into_bytes(),
        fdlimit: 1024,
        uid,
        gid: get(&e, "gid")
            .map(|v| uint32(v, "gid"))
            .transpose()?
            .unwrap_or(uid),
        env: list("env")?,
        vtid,
        vpid,
        cgroups: list("cgroups")?,
        root: b"/".to_vec(),
        tty: get(&e, "tty")
            .map(|v| uint32(v, "tty"))
            .transpose()?
            .unwrap_or(0),
        loginuid: match get(&e, "loginuid") {
            Some(v) => u32::try_from(int(v, "loginuid")?).unwrap_or(u32::MAX),
            None => u32::MAX,
        },
        cap_permitted: caps,
        cap_effective: caps,
        fds,
        ..ProcInfo::default()
    })
}

fn fd(node: &Node) -> Result<FdInfo, SpecError> {
    let e = entries(
        node,
        "fd",
        &["fd", "type", "name", "flags", "tuple", "proto"],
    )?;
    let num = match get(&e, "fd") {
        Some(v) => int(v, "fd")?,
        None => return err(node, "fd: 'fd' is required"),
    };
    let ty = get(&e, "type").map(|v| string(v, "type")).transpose()?;
    let kind = match ty.as_deref().unwrap_or("file") {
        "file" => FdKind::File,
        "directory" => FdKind::Directory,
        "fifo" => FdKind::Fifo,
        "unix" => FdKind::UnixSock,
        "ipv4" => FdKind::Ipv4Sock,
        "ipv6" => FdKind::Ipv6Sock,
        "memfd" => FdKind::Memfd,
        other => {
            return err(
                node,
                format!(
                    "fd: unknown type '{other}' (file, directory, fifo, unix, ipv4, ipv6, memfd)"
                ),
            )
        }
    };
    let mut flags = Vec::new();
    if let Some(f) = get(&e, "flags") {
        // Flags of an open's exit: openat's table (type 307, parameter 3).
        synth::encode_value(&mut flags, 307, 3, ParamType::Flags32, f)
            .or_else(|m| err(f, format!("flags: {m}")))?;
    }
    let open_flags = flags
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let addr = match get(&e, "tuple") {
        None => FdAddr::None,
        Some(t) => {
            let mut raw = Vec::new();
            synth::encode_value(&mut raw, 0, 0, ParamType::SockTuple, t)
                .or_else(|m| err(t, format!("tuple: {m}")))?;
            let l4proto = match get(&e, "proto").and_then(Node::as_str).unwrap_or("tcp") {
                "tcp" => 2,
                "udp" => 3,
                "icmp" => 4,
                _ => 5,
            };
            tuple_addr(&raw, l4proto)
        }
    };
    Ok(FdInfo {
        fd: num,
        kind,
        open_flags,
        name: get(&e, "name")
            .map(|v| string(v, "name"))
            .transpose()?
            .unwrap_or_default()
            .into_bytes(),
        addr,
        ..FdInfo::default()
    })
}

/// An encoded socket tuple as snapshot addresses.
fn tuple_addr(raw: &[u8], l4proto: u8) -> FdAddr {
    let port = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
    match raw.len() {
        13 => {
            let ip = |b: &[u8]| [b[0], b[1], b[2], b[3]];
            FdAddr::Ipv4 {
                sip: ip(&raw[1..5]),
                sport: port(&raw[5..7]),
                dip: ip(&raw[7..11]),
                dport: port(&raw[11..13]),
                l4proto,
            }
        }
        37 => {
            let mut sip = [0u8; 16];
            let mut dip = [0u8; 16];
            sip.copy_from_slice(&raw[1..17]);
            dip.copy_from_slice(&raw[19..35]);
            FdAddr::Ipv6 {
                sip,
                sport: port(&raw[17..19]),
                dip,
                dport: port(&raw[35..37]),
                l4proto,
            }
        }
        _ => FdAddr::None,
    }
}

fn user(node: &Node) -> Result<UserInfo, SpecError> {
    let e = entries(node, "user", &["uid", "gid", "name", "home", "shell"])?;
    let uid = match get(&e, "uid") {
        Some(v) => uint32(v, "uid")?,
        None => return err(node, "user: 'uid' is required"),
    };
    let text = |k: &str, d: &str| -> Result<Vec<u8>, SpecError> {
        Ok(get(&e, k)
            .map(|v| string(v, k))
            .transpose()?
            .unwrap_or_else(|| d.to_string())
            .into_bytes())
    };
    Ok(UserInfo {
        uid,
        gid: get(&e, "gid")
            .map(|v| uint32(v, "gid"))
            .transpose()?
            .unwrap_or(uid),
        name: text("name", &format!("user{uid}"))?,
        homedir: text("home", "/")?,
        shell: text("shell", "/bin/sh")?,
    })
}

fn synthetic(
    procs: Option<&Node>,
    users: Option<&Node>,
    events: &Node,
) -> Result<Input, SpecError> {
    let mut ps = Procs::default();
    if let Some(list) = procs {
        for p in seq(list, "procs")? {
            ps.resolve(p)?;
        }
    }
    let mut encoded = Vec::new();
    let mut current: Option<u64> = None;
    let mut ts = FIRST_TS;
    let mut params: Vec<Vec<u8>> = Vec::new();
    for (i, ev) in seq(events, "events")?.iter().enumerate() {
        let e = entries(ev, "event", &["type", "proc", "ts", "args"])?;
        let Some(tnode) = get(&e, "type") else {
            return err(ev, "event: 'type' is required");
        };
        let tname = string(tnode, "type")?;
        let Some((etype, ei)) = synth::newest_exit(&tname).and_then(|t| Some((t, info(t)?))) else {
            return err(tnode, format!("unknown event type '{tname}'"));
        };
        let tid = match get(&e, "proc") {
            Some(p) => ps.resolve(p)?,
            None => match current {
                Some(t) => t,
                None => return err(ev, "event: the first event needs 'proc'"),
            },
        };
        current = Some(tid);
        if let Some(t) = get(&e, "ts") {
            ts = uint(t, "ts")?;
        } else if i > 0 {
            ts += TS_STEP;
        }
        let args = match get(&e, "args") {
            Some(a) => entries(a, "args", &[])?,
            None => Vec::new(),
        };
        for (k, v) in &args {
            let known = ei.param_index(k).is_some() || (*k == "res" && !ei.params.is_empty());
            if !known {
                let names: Vec<&str> = ei.params.iter().map(|p| p.name).collect();
                return err(
                    v,
                    format!(
                        "{tname} has no parameter '{k}' (parameters: {})",
                        names.join(", ")
                    ),
                );
            }
        }
        let proc = ps
            .list
            .iter()
            .find(|p| p.tid == tid)
            .cloned()
            .unwrap_or_default();
        params.clear();
        for (idx, p) in ei.params.iter().enumerate() {
            let mut b = Vec::new();
            let given =
                get(&args, p.name).or_else(|| (idx == 0).then(|| get(&args, "res")).flatten());
            match given {
                Some(v) => synth::encode_value(&mut b, etype, idx, p.ty, v)
                    .or_else(|m| err(v, format!("{tname}.{}: {m}", p.name)))?,
                None => synth::default_param(&mut b, p.name, p.ty, &proc),
            }
            params.push(b);
        }
        let refs: Vec<&[u8]> = params.iter().map(Vec::as_slice).collect();
        let mut out = Vec::new();
        osprey_event::encode(&mut out, ts, tid, etype, &refs);
        encoded.push(out);
    }
    if !ps.list.iter().any(|p| p.tid == 1) {
        ps.list.push(ProcInfo {
            tid: 1,
            pid: 1,
            sid: 1,
            vpgid: 1,
            pgid: 1,
            comm: b"systemd".to_vec(),
            exe: b"/sbin/init".to_vec(),
            exepath: b"/usr/lib/systemd/systemd".to_vec(),
            cwd: b"/".to_vec(),
            root: b"/".to_vec(),
            vtid: 1,
            vpid: 1,
            loginuid: u32::MAX,
            ..ProcInfo::default()
        });
    }
    let mut user_list = vec![UserInfo {
        uid: 0,
        gid: 0,
        name: b"root".to_vec(),
        homedir: b"/root".to_vec(),
        shell: b"/bin/bash".to_vec(),
    }];
    if let Some(list) = users {
        for u in seq(list, "users")? {
            let u = user(u)?;
            user_list.retain(|x| x.uid != u.uid);
            user_list.push(u);
        }
    }
    let groups = user_list
        .iter()
        .map(|u| GroupInfo {
            gid: u.gid,
            name: u.name.clone(),
        })
        .collect();
    Ok(Input::Events {
        snapshot: Box::new(Snapshot {
            machine: Some(MachineInfo {
                num_cpus: 1,
                hostname: b"osprey-test".to_vec(),
                ..MachineInfo::default()
            }),
            procs: ps.list,
            users: user_list,
            groups,
            interfaces: Vec::new(),
            exit_only: true,
        }),
        events: encoded,
    })
}
