//! The /proc bootstrap against the live system: the test process finds itself,
//! its fds and a child, and the snapshot survives a capture-file round trip
//! (checked with sysdig when it is installed).

use std::io::Cursor;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use osprey_event::snapshot::{FdAddr, FdInfo, FdKind, ProcInfo, Snapshot};
use osprey_probe::proc::{scan, ScanOptions};

/// `PPM_O_WRONLY`, `PPM_O_CLOEXEC`, `PPM_CL_CLONE_FILES`, `PPM_CL_CLONE_THREAD`.
const PPM_O_WRONLY: u32 = 2;
const PPM_O_CLOEXEC: u32 = 4096;
const CLONE_FILES: u32 = 1;
const CLONE_THREAD: u32 = 8192;
const L4_TCP: u8 = 2;

/// Kills a child when dropped, so a failing assertion leaves nothing behind.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn timed_scan(opts: &ScanOptions) -> Snapshot {
    let t0 = Instant::now();
    let snap = scan(opts).expect("scan /proc");
    let fds: usize = snap.procs.iter().map(|p| p.fds.len()).sum();
    eprintln!(
        "scan: {} threads, {} fds, {} users, {} groups, {} interfaces in {:.1} ms",
        snap.procs.len(),
        fds,
        snap.users.len(),
        snap.groups.len(),
        snap.interfaces.len(),
        t0.elapsed().as_secs_f64() * 1e3
    );
    snap
}

/// The id of the calling thread, from `/proc/thread-self` (`<pid>/task/<tid>`).
fn own_tid() -> u64 {
    let link = std::fs::read_link("/proc/thread-self").expect("thread-self");
    let tid = link.file_name().expect("tid component");
    tid.to_str()
        .and_then(|t| t.parse().ok())
        .expect("numeric tid")
}

fn thread(snap: &Snapshot, tid: u64) -> &ProcInfo {
    snap.procs
        .iter()
        .find(|p| p.tid == tid)
        .unwrap_or_else(|| panic!("thread {tid} not in the snapshot"))
}

fn fd(p: &ProcInfo, fd: i32) -> &FdInfo {
    p.fds
        .iter()
        .find(|f| f.fd == i64::from(fd))
        .unwrap_or_else(|| panic!("fd {fd} not among {} fds of {}", p.fds.len(), p.pid))
}

/// Waits (bounded) until `pid` has executed `comm`.
/// Waits until `pid` has exec'd `comm` and its new arguments are in place: the
/// kernel renames the task during exec before it sets up the new command line,
/// so a scan in between sees the new name with an empty command line.
fn wait_exec(pid: u32, comm: &str) {
    for _ in 0..500 {
        let named = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim_end() == comm);
        let args = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty());
        if named && args {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("child {pid} never became {comm}");
}

#[test]
fn finds_itself_and_its_fds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("written.txt");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .expect("open for writing");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let lport = listener.local_addr().expect("addr").port();
    let client = TcpStream::connect(("127.0.0.1", lport)).expect("connect");
    let cport = client.local_addr().expect("addr").port();
    let (server, _) = listener.accept().expect("accept");
    let cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn cat");
    let cat = Reaper(cat);
    let pipe_w = cat.0.stdin.as_ref().expect("stdin pipe").as_raw_fd();
    let pipe_r = cat.0.stdout.as_ref().expect("stdout pipe").as_raw_fd();

    let snap = timed_scan(&ScanOptions::default());
    let pid = u64::from(std::process::id());
    let me = thread(&snap, pid);
    assert_eq!(me.pid, pid);
    assert_eq!(me.flags, 0);
    let comm = std::fs::read_to_string("/proc/self/comm").expect("comm");
    assert_eq!(me.comm, comm.trim_end().as_bytes());
    let exe = std::env::current_exe().expect("current exe");
    assert_eq!(me.exepath, exe.as_os_str().as_bytes());
    assert_eq!(me.exe_ino, std::fs::metadata(&exe).expect("exe").ino());
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(me.cwd, cwd.as_os_str().as_bytes());
    assert_eq!(me.root, b"/");
    let mut args = Vec::new();
    for a in std::env::args_os().skip(1) {
        args.extend_from_slice(a.as_bytes());
        args.push(0);
    }
    assert_eq!(me.args, args);
    let argv0 = std::env::args_os().next().expect("argv0");
    assert_eq!(me.exe, argv0.as_bytes());
    assert!(me.fdlimit > 0);
    assert!(me.vmsize_kb > 0 && me.vmrss_kb > 0);
    assert!(!me.cgroups.is_empty() && me.cgroups.ends_with(b"\0"));
    assert!(me.env.ends_with(b"\0") && me.env.len() <= 4096);
    assert_eq!(me.vpid, i64::try_from(pid).expect("pid"));

    // This test runs on a thread of its own: it shares the table of the main thread.
    let tid = own_tid();
    if tid != pid {
        let t = thread(&snap, tid);
        assert_eq!(t.pid, pid);
        assert_eq!(t.ptid, me.ptid);
        assert_eq!(t.flags, CLONE_THREAD | CLONE_FILES);
        assert!(t.fds.is_empty());
    }

    let f = fd(me, file.as_raw_fd());
    assert_eq!(f.kind, FdKind::FileV2);
    assert_eq!(f.name, path.as_os_str().as_bytes());
    assert_eq!(f.open_flags & 3, PPM_O_WRONLY);
    assert_ne!(f.open_flags & PPM_O_CLOEXEC, 0);
    assert_eq!(f.ino, file.metadata().expect("meta").ino());

    let lo = [127, 0, 0, 1];
    let l = fd(me, listener.as_raw_fd());
    assert_eq!(l.kind, FdKind::Ipv4ServSock);
    assert_eq!(
        l.addr,
        FdAddr::Ipv4Server {
            ip: lo,
            port: lport,
            l4proto: L4_TCP
        }
    );
    let c = fd(me, client.as_raw_fd());
    assert_eq!(c.kind, FdKind::Ipv4Sock);
    assert_eq!(
        c.addr,
        FdAddr::Ipv4 {
            sip: lo,
            dip: lo,
            sport: cport,
            dport: lport,
            l4proto: L4_TCP
        }
    );
    let s = fd(me, server.as_raw_fd());
    assert_eq!(
        s.addr,
        FdAddr::Ipv4 {
            sip: lo,
            dip: lo,
            sport: lport,
            dport: cport,
            l4proto: L4_TCP
        }
    );
    for p in [pipe_w, pipe_r] {
        let p = fd(me, p);
        assert_eq!(p.kind, FdKind::Fifo);
        assert!(
            p.name.starts_with(b"pipe:["),
            "{:?}",
            String::from_utf8_lossy(&p.name)
        );
    }

    assert!(snap.users.iter().any(|u| u.uid == 0 && u.name == b"root"));
    assert!(snap.groups.iter().any(|g| g.gid == 0));
    let m = snap.machine.as_ref().expect("machine info");
    assert!(m.num_cpus > 0 && m.memory_size_bytes > 0 && m.max_pid > 0);
    assert!(!m.hostname.is_empty() && m.boot_ts_epoch > 0);
    assert!(
        !snap.interfaces.is_empty(),
        "at least the loopback interface"
    );
}

#[test]
fn finds_a_child_and_honours_exclusions() {
    let child = Command::new("sleep").arg("5").spawn().expect("spawn sleep");
    let child = Reaper(child);
    let cpid = child.0.id();
    wait_exec(cpid, "sleep");
    let pid = u64::from(std::process::id());

    let snap = timed_scan(&ScanOptions {
        users: false,
        exclude_pids: vec![i64::from(std::process::id())],
        ..ScanOptions::default()
    });
    let c = thread(&snap, u64::from(cpid));
    assert_eq!(c.pid, u64::from(cpid));
    assert_eq!(c.ptid, pid);
    assert_eq!(c.comm, b"sleep");
    assert_eq!(c.exe, b"sleep");
    assert_eq!(c.args, b"5\0");
    assert!(c.exepath.ends_with(b"sleep"));
    assert!(
        snap.procs.iter().all(|p| p.pid != pid),
        "excluded pid present"
    );
    assert!(snap.users.is_empty() && snap.groups.is_empty());
}

/// The `close` enter event type.
fn close_enter() -> u16 {
    let i = osprey_event::table::EVENTS
        .iter()
        .position(|e| e.enum_name == "PPME_SYSCALL_CLOSE_E")
        .expect("close enter in the table");
    u16::try_from(i).expect("event type fits u16")
}

#[test]
fn snapshot_round_trips_through_a_capture_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("marker-file.txt");
    let file = std::fs::File::create(&path).expect("create");
    // sysdig 0.29.3 rejects a whole file holding an fd kind newer than it.
    let snap = timed_scan(&ScanOptions {
        legacy_fd_kinds: true,
        ..ScanOptions::default()
    });
    assert!(snap
        .procs
        .iter()
        .flat_map(|p| &p.fds)
        .all(|f| (f.kind as u8) <= 16));
    let tid = own_tid();
    let pid = u64::from(std::process::id());

    let mut w = osprey_scap::Writer::new(Vec::new());
    w.write_snapshot(&snap).expect("write snapshot");
    let mut raw = Vec::new();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let fdv = i64::from(file.as_raw_fd()).to_le_bytes();
    osprey_event::encode(&mut raw, ts as u64, tid, close_enter(), &[&fdv]);
    let ev = osprey_event::EventRef::parse(&raw, 0, 0).expect("valid event");
    w.write_event(&ev).expect("write event");
    let bytes = w.finish().expect("finish");

    let mut r = osprey_scap::Reader::new(Cursor::new(bytes.clone())).expect("read back");
    let back = r.take_snapshot();
    assert_eq!(back.machine, snap.machine);
    assert_eq!(back.users, snap.users);
    assert_eq!(back.groups, snap.groups);
    assert_eq!(back.interfaces.len(), snap.interfaces.len());
    assert_eq!(back.procs.len(), snap.procs.len());
    for (a, b) in back.procs.iter().zip(&snap.procs) {
        assert_eq!(a, b, "thread {} changed in the round trip", b.tid);
    }
    let e = r.next_event().expect("event").expect("one event");
    assert_eq!((e.tid(), e.etype()), (tid, close_enter()));

    let sysdig = std::path::Path::new("/usr/bin/sysdig");
    if !sysdig.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sysdig missing on CI"
        );
        eprintln!("SKIPPED: sysdig is not installed; the capture was not checked with it");
        return;
    }
    let cap = dir.path().join("snap.scap");
    std::fs::write(&cap, &bytes).expect("write capture");
    let out = Command::new(sysdig)
        .env("TZ", "UTC")
        .arg("-r")
        .arg(&cap)
        .arg("-p")
        .arg("*%proc.name %proc.exepath %fd.name %user.name %proc.pid")
        .output()
        .expect("run sysdig");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sysdig failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let comm = String::from_utf8_lossy(&thread(&snap, tid).comm).into_owned();
    let exe = std::env::current_exe().expect("exe");
    let expected = format!("{comm} {} {} root {pid}", exe.display(), path.display());
    assert_eq!(stdout.trim_end(), expected, "sysdig output");
}
