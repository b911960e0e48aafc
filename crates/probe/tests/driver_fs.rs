//! Live test of the eBPF driver's fd, file-system, process, id and memory
//! syscall decoders (bpf/fill_fs.h). Needs root and BTF; under `CI=true`
//! their absence fails the test, elsewhere it is SKIPPED.
//!
//! The binary re-executes itself as a child (env `OSPREY_FS_CHILD` = a temp
//! dir) that performs each syscall with known arguments and writes the values
//! only it can see (fd numbers, pipe inode, addresses) to `facts` in that dir;
//! the parent captures with the driver and checks the exact event types,
//! parameter counts and values.

// The child issues raw syscalls: the point is to control each one exactly.
#![allow(unsafe_code)]

mod common;

use common::{capture, Capture, Ev};
use osprey_probe::driver::Config;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fmt::Write as _;
use std::path::Path;

const CHILD_ENV: &str = "OSPREY_FS_CHILD";
const MEMFD_NAME: &str = "osprey-memfd";
const COMM: &str = "osprey-fs";
const VM_DATA: &[u8; 16] = b"hello-vm-readv!!";
const MAP_LEN: usize = 3 * 4096;
const MISSING: &str = "/nonexistent-osprey";

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

/// Checks a libc return value in the child.
fn ok(what: &str, r: i64) -> i64 {
    assert!(r >= 0, "{what} failed: {}", std::io::Error::last_os_error());
    r
}

/// A raw syscall (no libc wrapper that might pick another syscall).
macro_rules! sys {
    ($nr:ident $(, $a:expr)*) => {
        libc::syscall(libc::$nr $(, $a)*)
    };
}

#[allow(clippy::too_many_lines)] // one straight script of syscalls
fn child(dir: &str) -> ! {
    let mut facts = String::new();
    let mut fact = |k: &str, v: i64| {
        writeln!(facts, "{k}={v}").expect("write to string");
    };
    let p = |s: &str| c(s).into_raw().cast_const();
    let cdir = p(dir);
    let missing = p(MISSING);
    // SAFETY: raw syscalls on valid NUL-terminated strings (leaked: the
    // child exits soon) and owned buffers.
    unsafe {
        ok("chdir", sys!(SYS_chdir, cdir));
        let dirfd = ok(
            "open dir",
            sys!(
                SYS_openat,
                libc::AT_FDCWD,
                cdir,
                libc::O_DIRECTORY | libc::O_RDONLY
            ),
        );
        fact("dirfd", dirfd);
        ok("fchdir", sys!(SYS_fchdir, dirfd));
        let fd = ok(
            "create f",
            sys!(
                SYS_openat,
                libc::AT_FDCWD,
                p("f"),
                libc::O_CREAT | libc::O_WRONLY,
                0o600
            ),
        );
        fact("fd", fd);

        // fds
        fact("dup", ok("dup", sys!(SYS_dup, fd)));
        ok("dup2", sys!(SYS_dup2, fd, 50));
        ok("dup3", sys!(SYS_dup3, fd, 51, libc::O_CLOEXEC));
        let mut fds = [0i32; 2];
        ok("pipe", sys!(SYS_pipe, fds.as_mut_ptr()));
        let mut st: libc::stat = std::mem::zeroed();
        ok("fstat", sys!(SYS_fstat, fds[0], &raw mut st));
        fact("pipe0", i64::from(fds[0]));
        fact("pipe1", i64::from(fds[1]));
        fact("pipe_ino", st.st_ino as i64);
        ok(
            "pipe2",
            sys!(
                SYS_pipe2,
                fds.as_mut_ptr(),
                libc::O_CLOEXEC | libc::O_NONBLOCK
            ),
        );
        fact("pipe2_0", i64::from(fds[0]));
        fact(
            "memfd",
            ok(
                "memfd",
                sys!(SYS_memfd_create, p(MEMFD_NAME), libc::MFD_CLOEXEC),
            ),
        );
        let pid = i64::from(libc::getpid());
        let pidfd = ok("pidfd_open", sys!(SYS_pidfd_open, pid, libc::O_NONBLOCK));
        fact("pidfd", pidfd);
        fact("getfd", sys!(SYS_pidfd_getfd, pidfd, fd, 0));
        sys!(SYS_userfaultfd, libc::O_CLOEXEC);

        // paths
        ok("mkdir", sys!(SYS_mkdir, p("d1"), 0o755));
        ok("mkdirat", sys!(SYS_mkdirat, dirfd, p("d2"), 0o700));
        ok("rename", sys!(SYS_rename, p("d1"), p("d3")));
        ok(
            "renameat2",
            sys!(
                SYS_renameat2,
                dirfd,
                p("d2"),
                dirfd,
                p("d4"),
                libc::RENAME_NOREPLACE
            ),
        );
        ok("symlink", sys!(SYS_symlink, p("target-x"), p("sl")));
        ok("link", sys!(SYS_link, p("f"), p("hl")));
        ok(
            "linkat",
            sys!(
                SYS_linkat,
                dirfd,
                p("f"),
                dirfd,
                p("hl2"),
                libc::AT_SYMLINK_FOLLOW
            ),
        );
        ok("unlink", sys!(SYS_unlink, p("sl")));
        ok(
            "unlinkat",
            sys!(SYS_unlinkat, dirfd, p("d4"), libc::AT_REMOVEDIR),
        );
        ok("rmdir", sys!(SYS_rmdir, p("d3")));
        ok("chmod", sys!(SYS_chmod, p("f"), 0o4640));
        ok("fchmodat", sys!(SYS_fchmodat, dirfd, p("f"), 0o600, 0));
        ok("fchmod", sys!(SYS_fchmod, fd, 0o644));
        let (uid, gid) = (libc::getuid(), libc::getgid());
        fact("uid", i64::from(uid));
        fact("gid", i64::from(gid));
        ok("fchown", sys!(SYS_fchown, fd, uid, gid));
        ok("chown", sys!(SYS_chown, p("f"), uid, u32::MAX));
        ok("lchown", sys!(SYS_lchown, p("hl"), uid, gid));
        ok(
            "fchownat",
            sys!(SYS_fchownat, fd, p(""), uid, gid, libc::AT_EMPTY_PATH),
        );
        sys!(SYS_chroot, missing);
        sys!(
            SYS_mount,
            p("none"),
            missing,
            p("tmpfs"),
            0xC0ED_0000u64 | libc::MS_RDONLY,
            std::ptr::null::<u8>()
        );
        sys!(SYS_umount2, missing, libc::MNT_DETACH);

        // processes and ids
        ok("kill", sys!(SYS_kill, pid, 0));
        sys!(SYS_kill, i32::MAX, 0);
        ok("tkill", sys!(SYS_tkill, pid, 0));
        ok("tgkill", sys!(SYS_tgkill, pid, pid, 0));
        ok(
            "setresuid",
            sys!(SYS_setresuid, u32::MAX, u32::MAX, u32::MAX),
        );
        ok("setuid", sys!(SYS_setuid, uid));
        ok("setgid", sys!(SYS_setgid, gid));
        ok("setreuid", sys!(SYS_setreuid, u32::MAX, uid));
        ok("setsid", sys!(SYS_setsid));
        sys!(SYS_setpgid, 0, 0);
        ok("prctl", sys!(SYS_prctl, libc::PR_SET_NAME, p(COMM)));
        let mut reaper: i32 = -5;
        ok(
            "prctl get",
            sys!(SYS_prctl, libc::PR_GET_CHILD_SUBREAPER, &raw mut reaper),
        );
        // capget then capset of the same sets (version 3: two 32-bit halves)
        let mut hdr = [0x2008_0522u32, 0];
        let mut data = [0u32; 6];
        ok(
            "capget",
            sys!(SYS_capget, hdr.as_mut_ptr(), data.as_mut_ptr()),
        );
        ok("capset", sys!(SYS_capset, hdr.as_mut_ptr(), data.as_ptr()));
        fact("cap_eff", (i64::from(data[3]) << 32) | i64::from(data[0]));
        sys!(SYS_ptrace, libc::PTRACE_PEEKDATA, 1, 0x1000, 0);
        let mut action = libc::SECCOMP_RET_KILL_PROCESS;
        ok("seccomp", sys!(SYS_seccomp, 2, 0, &raw mut action));
        sys!(SYS_setns, -1, libc::CLONE_NEWNET);
        ok("unshare", sys!(SYS_unshare, libc::CLONE_NEWUTS));
        sys!(SYS_bpf, 0, std::ptr::null::<u8>(), 0);

        // memory
        let map = ok(
            "mmap",
            sys!(
                SYS_mmap,
                0,
                MAP_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0
            ),
        );
        fact("map", map);
        ok(
            "mprotect",
            sys!(SYS_mprotect, map, MAP_LEN, libc::PROT_READ),
        );
        ok("munmap", sys!(SYS_munmap, map, MAP_LEN));
        fact("brk", sys!(SYS_brk, 0));
        let mut buf = [0u8; 16];
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let remote = libc::iovec {
            iov_base: VM_DATA.as_ptr().cast_mut().cast(),
            iov_len: VM_DATA.len(),
        };
        ok(
            "process_vm_readv",
            sys!(
                SYS_process_vm_readv,
                pid,
                &raw const local,
                1,
                &raw const remote,
                1,
                0
            ),
        );
        assert_eq!(&buf, VM_DATA);

        // a failing execveat
        let argv = [missing, p("x"), std::ptr::null()];
        let envp = [std::ptr::null::<libc::c_char>()];
        sys!(
            SYS_execveat,
            libc::AT_FDCWD,
            missing,
            argv.as_ptr(),
            envp.as_ptr(),
            0
        );
    }
    std::fs::write(Path::new(dir).join("facts"), facts).expect("write facts");
    std::process::exit(0);
}

/// The child's events, by type.
struct Evs<'a>(BTreeMap<u16, Vec<&'a Ev>>);

impl<'a> Evs<'a> {
    /// The one event of `etype` (with `np` params) that `pred` accepts.
    fn find(&self, etype: u16, np: usize, pred: impl Fn(&Ev) -> bool) -> &'a Ev {
        let all = self.0.get(&etype).map_or(&[][..], Vec::as_slice);
        let found: Vec<&&Ev> = all.iter().filter(|e| pred(e)).collect();
        let [e] = found.as_slice() else {
            panic!(
                "{} matching events of type {etype} among {:#?}",
                found.len(),
                all.iter().map(|e| e.info()).collect::<Vec<_>>()
            )
        };
        assert_eq!(e.params.len(), np, "param count of type {etype}");
        eprintln!("  {etype}: {}", e.info());
        e
    }
}

#[allow(clippy::too_many_lines)] // one assertion block per syscall
fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let Some(Capture { evs, .. }) = capture("driver_fs", &Config::default(), CHILD_ENV, dir, &[])
    else {
        return;
    };
    let facts: BTreeMap<String, i64> = std::fs::read_to_string(dir.join("facts"))
        .expect("facts")
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect();
    let f = |k: &str| facts[k];
    let mut by_type: BTreeMap<u16, Vec<&Ev>> = BTreeMap::new();
    for e in &evs {
        by_type.entry(e.etype).or_default().push(e);
    }
    let evs = Evs(by_type);
    let dir_c = format!("{}\0", dir.display());
    let s = |v: &str| format!("{v}\0").into_bytes();
    let (fd, dirfd) = (f("fd"), f("dirfd"));

    // chdir(dir), fchdir(dirfd)
    let e = evs.find(95, 2, |e| e.str(1) == dir_c.as_bytes());
    assert_eq!(e.i64(0), 0);
    let e = evs.find(97, 2, |e| e.i64(1) == dirfd);
    assert_eq!(e.i64(0), 0);

    // dup(fd), dup2(fd, 50), dup3(fd, 51, O_CLOEXEC)
    let e = evs.find(367, 2, |e| e.i64(1) == fd);
    assert_eq!(e.i64(0), f("dup"));
    let e = evs.find(363, 3, |e| e.i64(2) == 50);
    assert_eq!((e.i64(0), e.i64(1)), (50, fd));
    let e = evs.find(365, 4, |e| e.i64(2) == 51);
    assert_eq!((e.i64(0), e.i64(1), e.u32(3)), (51, fd, 4096), "O_CLOEXEC");

    // pipe, pipe2(O_CLOEXEC|O_NONBLOCK)
    let e = evs.find(61, 4, |_| true);
    assert_eq!(e.i64(0), 0);
    assert_eq!((e.i64(1), e.i64(2)), (f("pipe0"), f("pipe1")));
    assert_eq!(e.i64(3), f("pipe_ino"), "pipe inode");
    let e = evs.find(393, 5, |_| true);
    assert_eq!((e.i64(0), e.i64(1)), (0, f("pipe2_0")));
    assert!(e.i64(3) > 0, "pipe2 inode");
    assert_eq!(e.u32(4), 4096 | 64, "O_CLOEXEC|O_NONBLOCK");

    // memfd_create, pidfd_open, pidfd_getfd, userfaultfd
    let e = evs.find(405, 3, |e| e.str(1) == s(MEMFD_NAME));
    assert_eq!((e.i64(0), e.u32(2)), (f("memfd"), 1), "MFD_CLOEXEC");
    let child_pid = evs.find(129, 3, |e| e.i64(0) == 0).i64(1);
    let e = evs.find(409, 3, |_| true);
    assert_eq!((e.i64(0), e.i64(1), e.u32(2)), (f("pidfd"), child_pid, 1));
    let e = evs.find(407, 4, |_| true);
    assert_eq!(
        (e.i64(0), e.i64(1), e.i64(2), e.u32(3)),
        (f("getfd"), f("pidfd"), fd, 0)
    );
    let e = evs.find(321, 2, |_| true);
    assert_eq!(e.u32(1), 0o2_000_000, "userfaultfd flags are raw");

    // mkdir, mkdirat, rename, renameat2
    let e = evs.find(277, 3, |e| e.str(1) == s("d1"));
    assert_eq!((e.i64(0), e.u32(2)), (0, 0o755));
    let e = evs.find(305, 4, |e| e.str(2) == s("d2"));
    assert_eq!((e.i64(0), e.i64(1), e.u32(3)), (0, dirfd, 0o700));
    let e = evs.find(175, 3, |_| true);
    assert_eq!(
        (e.i64(0), e.str(1), e.str(2)),
        (0, &s("d1")[..], &s("d3")[..])
    );
    let e = evs.find(319, 6, |_| true);
    assert_eq!((e.i64(0), e.i64(1), e.i64(3)), (0, dirfd, dirfd));
    assert_eq!(
        (e.str(2), e.str(4), e.u32(5)),
        (&s("d2")[..], &s("d4")[..], 1)
    );

    // symlink, link, linkat, unlink, unlinkat, rmdir
    let e = evs.find(179, 3, |_| true);
    assert_eq!(
        (e.i64(0), e.str(1), e.str(2)),
        (0, &s("target-x")[..], &s("sl")[..])
    );
    let e = evs.find(309, 3, |_| true);
    assert_eq!(
        (e.i64(0), e.str(1), e.str(2)),
        (0, &s("f")[..], &s("hl")[..])
    );
    let e = evs.find(311, 6, |_| true);
    assert_eq!((e.i64(0), e.i64(1), e.i64(3)), (0, dirfd, dirfd));
    assert_eq!((e.str(2), e.str(4)), (&s("f")[..], &s("hl2")[..]));
    assert_eq!(e.u32(5), 0x400, "AT_SYMLINK_FOLLOW");
    let e = evs.find(301, 2, |e| e.str(1) == s("sl"));
    assert_eq!(e.i64(0), 0);
    let e = evs.find(303, 4, |e| e.str(2) == s("d4"));
    assert_eq!(
        (e.i64(0), e.i64(1), e.u32(3)),
        (0, dirfd, 0x200),
        "AT_REMOVEDIR"
    );
    let e = evs.find(279, 2, |_| true);
    assert_eq!((e.i64(0), e.str(1)), (0, &s("d3")[..]));

    // chmod, fchmodat, fchmod, fchown, chown, lchown, fchownat
    let e = evs.find(315, 3, |_| true);
    assert_eq!((e.i64(0), e.str(1), e.u32(2)), (0, &s("f")[..], 0o4640));
    let e = evs.find(313, 4, |_| true);
    assert_eq!(
        (e.i64(0), e.i64(1), e.str(2), e.u32(3)),
        (0, dirfd, &s("f")[..], 0o600)
    );
    let e = evs.find(317, 3, |_| true);
    assert_eq!((e.i64(0), e.i64(1), e.u32(2)), (0, fd, 0o644));
    let (uid, gid) = (f("uid") as u32, f("gid") as u32);
    let e = evs.find(383, 4, |_| true);
    assert_eq!((e.i64(0), e.i64(1), e.u32(2), e.u32(3)), (0, fd, uid, gid));
    let e = evs.find(379, 4, |_| true);
    assert_eq!(
        (e.i64(0), e.str(1), e.u32(2), e.u32(3)),
        (0, &s("f")[..], uid, u32::MAX)
    );
    let e = evs.find(381, 4, |_| true);
    assert_eq!((e.i64(0), e.str(1)), (0, &s("hl")[..]));
    let e = evs.find(385, 6, |_| true);
    assert_eq!((e.i64(0), e.i64(1), e.str(2)), (0, fd, &b"\0"[..]));
    assert_eq!(e.u32(5), 0x1000, "AT_EMPTY_PATH");

    // chroot, mount, umount2 of a missing path: -ENOENT
    let e = evs.find(267, 2, |_| true);
    assert_eq!((e.i64(0), e.str(1)), (-2, &s(MISSING)[..]));
    let e = evs.find(257, 5, |_| true);
    assert_eq!(e.i64(0), -2);
    assert_eq!(
        (e.str(1), e.str(2), e.str(3)),
        (&s("none")[..], &s(MISSING)[..], &s("tmpfs")[..])
    );
    assert_eq!(e.u32(4), 1, "RDONLY, magic stripped");
    let e = evs.find(391, 3, |_| true);
    assert_eq!(
        (e.i64(0), e.str(1), e.u32(2)),
        (-2, &s(MISSING)[..], 2),
        "DETACH"
    );

    // kill(pid, 0) above; kill(INT_MAX, 0) = -ESRCH; tkill, tgkill
    let e = evs.find(129, 3, |e| e.i64(1) == i64::from(i32::MAX));
    assert_eq!((e.i64(0), e.u8(2)), (-3, 0));
    let e = evs.find(131, 3, |_| true);
    assert_eq!((e.i64(0), e.i64(1), e.u8(2)), (0, child_pid, 0));
    let e = evs.find(133, 4, |_| true);
    assert_eq!((e.i64(0), e.i64(1), e.i64(2)), (0, child_pid, child_pid));

    // ids
    let e = evs.find(193, 4, |_| true);
    assert_eq!(
        (e.i64(0), e.u32(1), e.u32(2), e.u32(3)),
        (0, u32::MAX, u32::MAX, u32::MAX)
    );
    let e = evs.find(199, 2, |_| true);
    assert_eq!((e.i64(0), e.u32(1)), (0, uid));
    let e = evs.find(201, 2, |_| true);
    assert_eq!((e.i64(0), e.u32(1)), (0, gid));
    let e = evs.find(427, 3, |_| true);
    assert_eq!((e.i64(0), e.u32(1), e.u32(2)), (0, u32::MAX, uid));
    let e = evs.find(275, 1, |_| true);
    assert_eq!(e.i64(0), child_pid, "setsid returns the new session id");
    let e = evs.find(295, 3, |_| true);
    assert_eq!(
        (e.i64(0), e.i64(1), e.i64(2)),
        (-1, 0, 0),
        "-EPERM: session leader"
    );

    // prctl, capset, ptrace, seccomp, setns, unshare, bpf
    let e = evs.find(401, 4, |e| e.u32(1) == 15);
    assert_eq!((e.i64(0), e.str(2)), (0, &s(COMM)[..]));
    assert!(e.params[3].is_empty());
    let e = evs.find(401, 4, |e| e.u32(1) == 37);
    assert_eq!((e.i64(0), e.i64(3)), (0, 0), "not a subreaper");
    let e = evs.find(353, 4, |_| true);
    assert_eq!(e.i64(0), 0);
    assert_eq!(e.i64(3), f("cap_eff"), "cap_effective");
    let e = evs.find(169, 5, |_| true);
    assert_eq!(e.i64(0), -3, "-ESRCH: not tracing pid 1");
    assert_eq!(
        (e.str(1), e.str(2)),
        (&[0u8; 9][..], &[0u8; 9][..]),
        "DYN u64 0"
    );
    assert_eq!((e.u16(3), e.i64(4)), (3, 1), "PTRACE_PEEKDATA, pid 1");
    let e = evs.find(299, 3, |_| true);
    assert_eq!((e.i64(0), e.i64(1), e.i64(2)), (0, 2, 0));
    let e = evs.find(241, 3, |_| true);
    assert_eq!(
        (e.i64(0), e.i64(1), e.u32(2)),
        (-9, -1, 16),
        "-EBADF, CLONE_NEWNET"
    );
    let e = evs.find(285, 2, |_| true);
    assert_eq!((e.i64(0), e.u32(1)), (0, 128), "CLONE_NEWUTS");
    let e = evs.find(369, 2, |_| true);
    assert!(e.i64(0) < 0, "bpf with a NULL attr fails");
    assert_eq!(e.u32(1), 0, "BPF_MAP_CREATE");

    // mmap, mprotect, munmap, brk
    let map = f("map");
    let e = evs.find(161, 10, |e| e.i64(0) == map && e.i64(5) as usize == MAP_LEN);
    let (vm_size, vm_rss) = (e.u32(1), e.u32(2));
    assert!(
        vm_size >= vm_rss && vm_rss > 0,
        "vm_size {vm_size} vm_rss {vm_rss}"
    );
    assert_eq!(e.params[3].len(), 4, "vm_swap");
    assert_eq!((e.i64(4), e.i64(5) as usize), (0, MAP_LEN));
    assert_eq!(
        (e.u32(6), e.u32(7)),
        (1 | 2, 2 | 8),
        "READ|WRITE, PRIVATE|ANONYMOUS"
    );
    assert_eq!((e.i64(8), e.i64(9)), (-1, 0));
    let e = evs.find(329, 4, |e| e.i64(1) == map);
    assert_eq!((e.i64(0), e.i64(2) as usize, e.u32(3)), (0, MAP_LEN, 1));
    let e = evs.find(165, 6, |e| e.i64(4) == map && e.i64(5) as usize == MAP_LEN);
    assert_eq!((e.i64(0), e.i64(5) as usize), (0, MAP_LEN));
    assert_eq!(vm_size - e.u32(1), 12, "vm_size loses the 12 KiB unmapped");
    let brks = evs.0.get(&159).map_or(&[][..], Vec::as_slice);
    assert!(
        brks.iter()
            .any(|e| e.params.len() == 5 && e.i64(4) == 0 && e.i64(0) == f("brk") && e.u32(1) > 0),
        "no brk(0) = {:#x} in {brks:#?}",
        f("brk")
    );

    // process_vm_readv(self): the bytes read into the local iovec
    let e = evs.find(421, 3, |_| true);
    assert_eq!((e.i64(0), e.i64(1)), (16, child_pid));
    assert_eq!(e.str(2), VM_DATA);

    // execveat of a missing file: 30 params, the process ones filled
    let e = evs.find(331, 30, |_| true);
    assert_eq!(e.i64(0), -2);
    assert_eq!(e.i64(4), child_pid, "pid");
    assert_eq!(e.str(13), s(COMM), "comm after PR_SET_NAME");
    eprintln!("driver_fs: ok");
}
