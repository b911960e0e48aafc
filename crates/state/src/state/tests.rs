use super::*;
use osprey_event::encode;
use osprey_event::snapshot::{FdInfo, FdKind, ProcInfo};

struct T {
    st: State,
    buf: Vec<u8>,
    ts: u64,
}

impl T {
    fn new() -> T {
        let mut st = State::new();
        let snap = Snapshot {
            procs: vec![ProcInfo {
                tid: 100,
                pid: 100,
                ptid: 1,
                comm: b"bash".to_vec(),
                exe: b"bash".to_vec(),
                cwd: b"/home/u/".to_vec(),
                uid: 1000,
                fds: vec![FdInfo {
                    fd: 0,
                    kind: FdKind::File,
                    name: b"/dev/pts/0".to_vec(),
                    ..FdInfo::default()
                }],
                ..ProcInfo::default()
            }],
            users: vec![UserInfo {
                uid: 1000,
                name: b"u".to_vec(),
                ..UserInfo::default()
            }],
            ..Snapshot::default()
        };
        st.load(&snap);
        T {
            st,
            buf: Vec::new(),
            ts: 1000,
        }
    }

    fn ev(&mut self, tid: u64, etype: u16, params: &[&[u8]]) -> &Current {
        self.ts += 10;
        encode(&mut self.buf, self.ts, tid, etype, params);
        let ev = EventRef::parse(&self.buf, 0, 0).unwrap();
        self.st.process(&ev);
        self.st.current()
    }
}

fn i64b(v: i64) -> [u8; 8] {
    v.to_le_bytes()
}

fn clone_x(res: i64, tid: i64, pid: i64, ptid: i64, flags: u32) -> Vec<Vec<u8>> {
    vec![
        i64b(res).to_vec(),
        b"bash\0".to_vec(),
        b"-c\0".to_vec(),
        i64b(tid).to_vec(),
        i64b(pid).to_vec(),
        i64b(ptid).to_vec(),
        b"\0".to_vec(),
        i64b(1024).to_vec(),
        0u64.to_le_bytes().to_vec(),
        0u64.to_le_bytes().to_vec(),
        0u32.to_le_bytes().to_vec(),
        0u32.to_le_bytes().to_vec(),
        0u32.to_le_bytes().to_vec(),
        b"bash\0".to_vec(),
        b"cpu=/\0".to_vec(),
        flags.to_le_bytes().to_vec(),
        1000u32.to_le_bytes().to_vec(),
        1000u32.to_le_bytes().to_vec(),
        i64b(tid).to_vec(),
        i64b(pid).to_vec(),
    ]
}

fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
    v.iter().map(Vec::as_slice).collect()
}

#[test]
fn open_resolves_against_cwd_and_close_removes_after_next_event() {
    let mut t = T::new();
    t.ev(
        100,
        2,
        &[b"../x/./f.txt\0", &1u32.to_le_bytes(), &0u32.to_le_bytes()],
    );
    let c = t.ev(100, 3, &[&i64b(3)]);
    assert_eq!(c.fd_num, Some(3));
    assert_eq!(&*c.fd().unwrap().name, b"/home/x/f.txt");
    assert_eq!(c.fd().unwrap().ty, FdType::File);
    t.ev(100, 4, &[&i64b(3)]);
    let c = t.ev(100, 5, &[&i64b(0)]);
    assert_eq!(
        &*c.fd().unwrap().name,
        b"/home/x/f.txt",
        "close exit still shows the fd"
    );
    t.ev(100, 6, &[&i64b(3), &8u32.to_le_bytes()]);
    let c = t.ev(100, 7, &[&i64b(-9)]);
    assert_eq!(c.fd_num, Some(3));
    assert!(c.fd().is_none(), "fd gone after the close");
}

#[test]
fn failed_open_adds_nothing_and_unknown_thread_is_created() {
    let mut t = T::new();
    t.ev(
        7,
        2,
        &[b"/nope\0", &1u32.to_le_bytes(), &0u32.to_le_bytes()],
    );
    let c = t.ev(7, 3, &[&i64b(-2)]);
    assert_eq!(c.fd_num, Some(-1));
    assert!(c.fd().is_none());
    let th = t.st.thread(7).unwrap();
    assert_eq!((th.pid, th.ptid, &*th.comm), (7, -1, &b"<NA>"[..]));
}

#[test]
fn clone_fork_shares_and_copies_state() {
    let mut t = T::new();
    // parent side of a fork: child 200 gets a copy of the fds and the cwd
    let p = clone_x(200, 100, 100, 1, 0);
    t.ev(100, 222, &[]);
    t.ev(100, 223, &refs(&p));
    let child = t.st.thread(200).unwrap();
    assert_eq!((child.pid, child.ptid, child.uid), (200, 100, 1000));
    assert_eq!(t.st.cwd(child), b"/home/u/");
    assert_eq!(&*t.st.fds(child).get(0).unwrap().name, b"/dev/pts/0");
    assert_eq!(t.st.parent(child).unwrap().tid, 100);
    assert_eq!(
        t.st.ancestors(child).map(|a| a.tid).collect::<Vec<_>>(),
        vec![200, 100]
    );
    // child-side exit after the parent's: no change
    let c = clone_x(0, 200, 200, 100, 0);
    t.ev(200, 223, &refs(&c));
    assert!(t.st.current().thread_known);
    // a thread of 200 shares its fd table and cwd
    let th = clone_x(
        201,
        200,
        200,
        100,
        cl::CLONE_THREAD | cl::CLONE_FILES | cl::CLONE_FS,
    );
    t.ev(200, 223, &refs(&th));
    t.ev(201, 94, &[]);
    t.ev(201, 95, &[&i64b(0), b"sub\0"]);
    assert_eq!(t.st.cwd(t.st.thread(200).unwrap()), b"/home/u/sub/");
    assert_eq!(t.st.nthreads(200), 2);
    assert_eq!(t.st.thread(200).unwrap().nchilds, 1);
    // procexit of the thread removes it on the next event
    t.ev(201, 186, &[&i64b(0), &i64b(0), &[0u8], &[0u8], &i64b(0)]);
    assert!(t.st.thread(201).is_some());
    t.ev(100, 2, &[b"/a\0", &0u32.to_le_bytes(), &0u32.to_le_bytes()]);
    assert!(t.st.thread(201).is_none());
}

#[test]
fn socket_connect_and_accept_name_tuples() {
    let mut t = T::new();
    t.ev(
        100,
        18,
        &[
            &2u32.to_le_bytes(),
            &1u32.to_le_bytes(),
            &0u32.to_le_bytes(),
        ],
    );
    let c = t.ev(100, 19, &[&i64b(4)]);
    assert_eq!(c.fd().unwrap().ty, FdType::Ipv4);
    assert_eq!(c.fd().unwrap().l4proto, l4::TCP);
    let mut tuple = vec![2u8, 10, 0, 0, 1];
    tuple.extend_from_slice(&5555u16.to_le_bytes());
    tuple.extend_from_slice(&[10, 0, 0, 2]);
    tuple.extend_from_slice(&80u16.to_le_bytes());
    t.ev(100, 22, &[&i64b(4), b""]);
    let c = t.ev(100, 23, &[&i64b(0), &tuple]);
    assert_eq!(&*c.fd().unwrap().name, b"10.0.0.1:5555->10.0.0.2:80");
    assert_eq!(c.fd().unwrap().role, Role::Client);
    t.ev(100, 26, &[]);
    let c = t.ev(100, 27, &[&i64b(5), &tuple, &[0u8]]);
    assert_eq!(c.fd_num, Some(5));
    assert_eq!(c.fd().unwrap().role, Role::Server);
}

#[test]
fn dup_pipe_and_exit_latency() {
    let mut t = T::new();
    t.ev(100, 60, &[]);
    let c = t.ev(
        100,
        61,
        &[&i64b(0), &i64b(3), &i64b(4), &0u64.to_le_bytes()],
    );
    assert_eq!(c.fd_num, Some(4));
    assert_eq!(c.fd().unwrap().ty, FdType::Pipe);
    let c = t.ev(100, 124, &[&i64b(3)]);
    assert_eq!(c.fd_num, Some(3));
    let enter_ts = t.ts;
    let c = t.ev(100, 125, &[&i64b(9)]);
    assert_eq!(c.enter_ts, Some(enter_ts));
    assert!(t.st.fds(t.st.thread(100).unwrap()).get(9).is_some());
    assert_eq!(t.st.current_enter().unwrap().etype(), 124);
}

#[test]
fn execve_updates_process_and_users_events_update_tables() {
    let mut t = T::new();
    t.ev(100, 292, &[b"/bin/ls\0"]);
    let mut p: Vec<Vec<u8>> = vec![
        i64b(0).to_vec(),
        b"ls\0".to_vec(),
        b"-l\0".to_vec(),
        i64b(100).to_vec(),
        i64b(100).to_vec(),
        i64b(1).to_vec(),
        b"/\0".to_vec(),
        i64b(1024).to_vec(),
        0u64.to_le_bytes().to_vec(),
        0u64.to_le_bytes().to_vec(),
        0u32.to_le_bytes().to_vec(),
        0u32.to_le_bytes().to_vec(),
        0u32.to_le_bytes().to_vec(),
        b"ls\0".to_vec(),
        b"\0".to_vec(),
        b"A=1\0".to_vec(),
    ];
    p.truncate(16);
    t.ev(100, 293, &refs(&p));
    let th = t.st.thread(100).unwrap();
    assert_eq!(&*th.comm, b"ls");
    assert_eq!(&*th.exepath, b"/bin/ls");
    assert_eq!(th.args().collect::<Vec<_>>(), vec![&b"-l"[..]]);
    assert_eq!(t.st.cwd(th), b"/home/u/", "execve does not change the cwd");
    t.ev(
        u64::MAX,
        354,
        &[
            &5u32.to_le_bytes(),
            &5u32.to_le_bytes(),
            b"x\0",
            b"/h\0",
            b"/sh\0",
            b"\0",
        ],
    );
    assert_eq!(t.st.user(5).unwrap().name, b"x");
    t.ev(u64::MAX, 360, &[&5u32.to_le_bytes(), b"g\0", b"\0"]);
    assert!(t.st.group(5).is_none());
    assert_eq!(t.st.user(1000).unwrap().name, b"u");
}

impl T {
    /// Runs one event through [`State::process_filtered`] with a filter that
    /// accepts it when `accept` says so; returns whether it passed.
    fn filtered(&mut self, tid: u64, etype: u16, params: &[&[u8]], accept: bool) -> bool {
        self.ts += 10;
        encode(&mut self.buf, self.ts, tid, etype, params);
        let ev = EventRef::parse(&self.buf, 0, 0).unwrap();
        self.st.process_filtered(&ev, |_| accept)
    }
}

#[test]
fn capture_filter_leaves_rejected_events_unparsed() {
    let mut t = T::new();
    let size = 0u32.to_le_bytes();
    // `> read fd=0` rejected: the `< read` is unmatched but still shows fd 0.
    assert!(!t.filtered(100, 6, &[&i64b(0), &size], false));
    let enter_ts = t.ts;
    assert!(t.filtered(100, 7, &[&i64b(5), b"hello"], true));
    let c = t.st.current();
    assert_eq!(c.fd_num, Some(0));
    assert_eq!(&*c.fd().unwrap().name, b"/dev/pts/0");
    assert_eq!(c.enter_ts, None);
    assert!(!c.event_fd);
    assert_eq!(c.latency, t.ts - enter_ts);
    assert!(t.st.current_enter().is_none());
    // Both accepted: matched, with the enter event kept for the exit.
    assert!(t.filtered(100, 6, &[&i64b(0), &size], true));
    assert!(t.filtered(100, 7, &[&i64b(5), b"hello"], true));
    let c = t.st.current();
    assert!(c.enter_ts.is_some() && c.event_fd);
    assert_eq!(t.st.current_enter().unwrap().etype(), 6);
    // A write exit resolves its fd under a capture filter even unmatched.
    assert!(!t.filtered(100, 8, &[&i64b(0), &size], false));
    assert!(t.filtered(100, 9, &[&i64b(5), b"hello"], true));
    assert!(t.st.current().event_fd && t.st.current().enter_ts.is_none());
}

#[test]
fn capture_filter_parses_state_changes_first() {
    let mut t = T::new();
    // open enter/exit rejected: still parsed, so fd 3 exists afterwards.
    let open_e: [&[u8]; 3] = [b"/etc/passwd\0", &1u32.to_le_bytes(), &0u32.to_le_bytes()];
    assert!(!t.filtered(100, 2, &open_e, false));
    assert!(!t.filtered(100, 3, &[&i64b(3)], false));
    let th = t.st.thread(100).unwrap();
    assert_eq!(&*t.st.fds(th).get(3).unwrap().name, b"/etc/passwd");
    // A rejected `> close` is parsed too: the accepted `< close` shows the fd.
    assert!(!t.filtered(100, 4, &[&i64b(3)], false));
    assert!(t.filtered(100, 5, &[&i64b(0)], true));
    let c = t.st.current();
    assert_eq!(c.fd_num, Some(3));
    assert!(c.enter_ts.is_some());
}

/// An `execve` exit of the newest version (29 parameters up to `gid`):
/// `flags` are the `PPM_EXE_*` bits, `caps` (inheritable, permitted,
/// effective), `ino` (inode, ctime, mtime).
fn execve19(pid: i64, flags: u32, caps: [u64; 3], ino: [u64; 3]) -> Vec<Vec<u8>> {
    let mut v = clone_x(0, pid, pid, 1, 0)[..14].to_vec();
    v[1] = b"/tmp/x\0".to_vec();
    v[13] = b"x\0".to_vec();
    v.push(b"cpu=/\0".to_vec()); // cgroups
    v.push(b"\0".to_vec()); // env
    v.push(0u32.to_le_bytes().to_vec()); // tty
    v.push(i64b(pid).to_vec()); // vpgid
    v.push(1000u32.to_le_bytes().to_vec()); // loginuid
    v.push(flags.to_le_bytes().to_vec());
    for c in caps {
        v.push(c.to_le_bytes().to_vec());
    }
    for i in ino {
        v.push(i.to_le_bytes().to_vec());
    }
    v.push(1000u32.to_le_bytes().to_vec()); // uid
    v.push(b"/tmp/x\0".to_vec()); // trusted_exepath
    v.push(i64b(pid).to_vec()); // pgid
    v.push(1000u32.to_le_bytes().to_vec()); // gid
    v
}

#[test]
fn execve_sets_exe_flags_capabilities_and_inode() {
    let mut t = T::new();
    // fork of bash 100 into 300, seen: the child's clone time is known.
    t.ev(100, 223, &refs(&clone_x(300, 100, 100, 1, 0)));
    let clone_ts = t.ts;
    let child = t.st.thread(300).unwrap();
    assert_eq!((child.cap_effective, child.exe_ino), (0, 0));
    let ctime = clone_ts - 5;
    let ex = execve19(300, 0b111, [1, 3, 1 << 21], [77, ctime, 42]);
    t.ev(300, 293, &refs(&ex));
    let th = t.st.thread(300).unwrap();
    assert!(th.exe_writable && th.exe_upper_layer && th.exe_from_memfd);
    assert_eq!(
        (th.cap_inheritable, th.cap_permitted, th.cap_effective),
        (1, 3, 1 << 21)
    );
    assert_eq!(
        (th.exe_ino, th.exe_ino_ctime, th.exe_ino_mtime),
        (77, ctime, 42)
    );
    assert_eq!(th.exe_ino_ctime_duration_clone_ts, 5);
    // Its own child inherits all of it.
    t.ev(300, 223, &refs(&clone_x(301, 300, 300, 100, 0)));
    let g = t.st.thread(301).unwrap();
    assert!(g.exe_upper_layer && g.exe_from_memfd);
    assert_eq!(
        (
            g.cap_effective,
            g.exe_ino,
            g.exe_ino_ctime_duration_clone_ts
        ),
        (1 << 21, 77, 5)
    );
    // A later execve with no flag bits clears them; bash (clone not seen)
    // gets no ctime duration.
    t.ev(100, 293, &refs(&execve19(100, 0, [0; 3], [9, 8, 7])));
    let b = t.st.thread(100).unwrap();
    assert!(!b.exe_writable && !b.exe_upper_layer && !b.exe_from_memfd);
    assert_eq!((b.exe_ino, b.exe_ino_ctime_duration_clone_ts), (9, 0));
}

#[test]
fn capset_updates_capabilities_in_full_mode() {
    let mut t = T::new();
    t.st.set_full(true);
    let caps = |i: u64, p: u64, e: u64| {
        vec![
            i64b(0).to_vec(),
            i.to_le_bytes().to_vec(),
            p.to_le_bytes().to_vec(),
            e.to_le_bytes().to_vec(),
        ]
    };
    t.ev(100, 353, &refs(&caps(1, 2, 3)));
    let th = t.st.thread(100).unwrap();
    assert_eq!(
        (th.cap_inheritable, th.cap_permitted, th.cap_effective),
        (1, 2, 3)
    );
    let mut failed = caps(7, 7, 7);
    failed[0] = i64b(-1).to_vec();
    t.ev(100, 353, &refs(&failed));
    assert_eq!(
        t.st.thread(100).unwrap().cap_effective,
        3,
        "a failed capset changes nothing"
    );
}

#[test]
fn open_keeps_the_raw_name_and_load_keeps_the_host_name() {
    let mut t = T::new();
    assert_eq!(t.st.hostname(), None);
    assert!(t.st.machine().is_none());
    t.st.load(&Snapshot {
        machine: Some(osprey_event::snapshot::MachineInfo {
            hostname: b"box".to_vec(),
            num_cpus: 4,
            memory_size_bytes: 1 << 30,
            ..Default::default()
        }),
        ..Snapshot::default()
    });
    assert_eq!(t.st.hostname(), Some(&b"box"[..]));
    let m = t.st.machine().unwrap();
    assert_eq!((m.num_cpus, m.memory_size_bytes), (4, 1 << 30));
    t.st.set_hostname(b"node-1");
    assert_eq!(t.st.hostname(), Some(&b"node-1"[..]));
    t.st.set_full(true);
    let c = t.ev(
        100,
        et::OPENAT_2_X,
        &[
            &i64b(5),
            &i64b(-100),
            b"..//etc/passwd\0",
            &1u32.to_le_bytes(),
            &0u32.to_le_bytes(),
            &0u32.to_le_bytes(),
            &0u64.to_le_bytes(),
        ],
    );
    let fd = c.fd().unwrap();
    assert_eq!(&*fd.name, b"/home/etc/passwd");
    assert_eq!(&*fd.name_raw, b"..//etc/passwd");
}

#[test]
fn container_events_fill_the_table_and_threads_find_theirs() {
    let mut t = T::new();
    let full = "697956520d891b5cb0e215093970c733549a3f745f52263c05b37f8a488994f2";
    let json = br#"{"container":{"Mounts":[],"id":"697956520d89","image":"nginx","name":"hopeful_taussig","privileged":false,"ip":"172.17.0.3","type":0}}"#;
    let mut param = json.to_vec();
    param.push(0);
    let cur = t.ev(u64::MAX, et::CONTAINER_JSON_2_E, &[&param]).clone();
    assert!(cur.container_event);
    // The pseudo thread belongs to the container it describes.
    let pseudo = t.st.current_thread().unwrap();
    assert_eq!(&*pseudo.comm, b"container:697956520d89");
    assert_eq!(pseudo.container_id(), Some(&b"697956520d89"[..]));
    assert_eq!(t.st.container(pseudo).unwrap().name, "hopeful_taussig");

    // A clone whose cgroups name the container: its child finds the metadata.
    let mut p = clone_x(0, 200, 200, 100, 0);
    p[14] = format!("cpuset=/docker/{full}\0").into_bytes();
    t.ev(200, 223, &refs(&p));
    let child = t.st.thread(200).unwrap();
    assert_eq!(t.st.container_id(child), Some(&b"697956520d89"[..]));
    let c = t.st.container(child).unwrap();
    assert_eq!((c.image.as_str(), c.ip), ("nginx", [172, 17, 0, 3]));
    assert!(t.st.is_local_v4_for(Some(child), [172, 17, 0, 3]));
    // The host process has none.
    let host = t.st.thread(100).unwrap();
    assert!(t.st.container_id(host).is_none() && t.st.container(host).is_none());

    // Live metadata by full id replaces the captured one; removal forgets it.
    t.st.add_container(ContainerInfo {
        id: full.to_owned(),
        name: "web1".to_owned(),
        ..ContainerInfo::default()
    });
    let child = t.st.thread(200).unwrap();
    assert_eq!(t.st.container(child).unwrap().name, "web1");
    assert_eq!(t.st.container_by_id(b"697956520d89").unwrap().id, full);
    assert_eq!(t.st.containers().count(), 1);
    assert!(t.st.remove_container(full.as_bytes()).is_some());
    let child = t.st.thread(200).unwrap();
    assert!(t.st.container(child).is_none());
    assert_eq!(t.st.container_id(child), Some(&b"697956520d89"[..]));
}

#[test]
fn old_container_events_and_bad_json() {
    let mut t = T::new();
    t.ev(
        100,
        et::CONTAINER_E,
        &[b"abc\0", &7u32.to_le_bytes(), b"n\0", b"img\0"],
    );
    let c = t.st.container_by_id(b"abc").unwrap();
    assert_eq!(
        (c.name.as_str(), c.image.as_str(), c.runtime),
        ("n", "img", Runtime::Containerd)
    );
    // Unreadable JSON still gets its pseudo thread, but no table entry.
    t.ev(
        u64::MAX,
        et::CONTAINER_JSON_E,
        &[b"{\"container\":{\"id\":\"xyz\",\0"],
    );
    assert_eq!(&*t.st.current_thread().unwrap().comm, b"container:xyz");
    assert!(t.st.container_by_id(b"xyz").is_none());
}
