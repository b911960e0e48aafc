//! Threads: one [`ProcInfo`] per `/proc/<pid>` and `/proc/<pid>/task/<tid>`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use osprey_event::snapshot::ProcInfo;

use super::fds::FdScanner;
use super::{parse, read_capped, read_link, Error, ScanOptions};

/// Longest comm, exe, exepath, cwd or root a capture file's entry carries.
const MAX_PATH: usize = 1023;
/// Longest args, env or cgroups a capture file's entry carries.
const MAX_ARGS: usize = 4096;
/// `PPM_CL_CLONE_FILES`.
const CLONE_FILES: u32 = 1;
/// `PPM_CL_CLONE_THREAD`.
const CLONE_THREAD: u32 = 8192;

/// Per-scan facts shared by every thread.
struct Ctx<'a> {
    opts: &'a ScanOptions,
    /// Controllers of the cgroup-v2 hierarchy, for `0::/path` lines.
    v2_controllers: Vec<Vec<u8>>,
}

/// Numeric entries of a directory, in directory order.
fn numeric_entries(dir: &Path) -> std::io::Result<Vec<u64>> {
    Ok(std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect())
}

/// Scans every process under `proc_root`.
pub(super) fn scan_all(proc_root: &Path, opts: &ScanOptions) -> Result<Vec<ProcInfo>, Error> {
    let pids = numeric_entries(proc_root).map_err(|source| Error::ProcUnavailable {
        path: proc_root.to_path_buf(),
        source,
    })?;
    let controllers = opts.host_root.join("sys/fs/cgroup/cgroup.controllers");
    let ctx = Ctx {
        opts,
        v2_controllers: read_capped(&controllers, 4096)
            .unwrap_or_default()
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    };
    let excluded = |id: u64| i64::try_from(id).is_ok_and(|id| opts.exclude_pids.contains(&id));
    let mut fds = FdScanner::new(opts.legacy_fd_kinds);
    let mut out = Vec::new();
    for pid in pids {
        if excluded(pid) {
            continue;
        }
        let pdir = proc_root.join(pid.to_string());
        let Some(mut main) = read_thread(&pdir, pid, &ctx) else {
            continue;
        };
        main.fds = fds.scan(&pdir);
        out.push(main);
        let tasks = pdir.join("task");
        for tid in numeric_entries(&tasks).unwrap_or_default() {
            if tid == pid || excluded(tid) {
                continue;
            }
            out.extend(read_thread(&tasks.join(tid.to_string()), tid, &ctx));
        }
    }
    Ok(out)
}

/// Reads one thread from its directory; `None` when it vanished, is a kernel
/// thread or a zombie.
fn read_thread(dir: &Path, tid: u64, ctx: &Ctx<'_>) -> Option<ProcInfo> {
    let status = parse::status(&read_capped(&dir.join("status"), 1 << 16).ok()?);
    let pid = status.tgid?;
    let cmdline = read_capped(&dir.join("cmdline"), MAX_ARGS).unwrap_or_default();
    let exepath = read_link(&dir.join("exe"), MAX_PATH);
    if cmdline.is_empty() && exepath.is_none() {
        return None;
    }
    let mut comm = read_capped(&dir.join("comm"), 64).ok()?;
    if comm.last() == Some(&b'\n') {
        comm.pop();
    }
    let (exe, args) = split_cmdline(&cmdline);
    let env_cap = if ctx.opts.large_environment {
        usize::MAX
    } else {
        MAX_ARGS
    };
    let mut env = read_capped(&dir.join("environ"), env_cap).unwrap_or_default();
    if let Some(last) = env.last_mut() {
        // A cut environment ends inside an entry: terminate it there.
        *last = 0;
    }
    let stat = read_capped(&dir.join("stat"), 4096)
        .ok()
        .and_then(|t| parse::stat(&t))
        .unwrap_or_default();
    let fdlimit = read_capped(&dir.join("limits"), 1 << 16)
        .ok()
        .and_then(|t| parse::fd_limit(&t))
        .unwrap_or(u64::MAX);
    let cgroups = parse::cgroups(
        &read_capped(&dir.join("cgroup"), 1 << 16).unwrap_or_default(),
        &ctx.v2_controllers,
        MAX_ARGS,
    );
    let loginuid = read_capped(&dir.join("loginuid"), 32)
        .ok()
        .and_then(|t| parse::num(&t, 10))
        .map_or(u32::MAX, |v| u32::try_from(v).unwrap_or(u32::MAX));
    let pidns_init_start_ts = std::fs::metadata(dir.join("root/proc/1/cmdline"))
        .map_or(0, |m| ts(m.ctime(), m.ctime_nsec()));
    let (pgid, vpgid) = status.pgid.unwrap_or((stat.pgrp, stat.pgrp));
    let exe_meta = std::fs::metadata(dir.join("exe")).ok();
    let exepath = exepath.unwrap_or_default();
    let (euid, egid) = (status.euid, status.egid);
    Some(ProcInfo {
        tid,
        pid,
        ptid: status.ppid,
        sid: stat.session,
        vpgid: u64::try_from(vpgid).unwrap_or(0),
        pgid,
        comm,
        exe,
        args,
        cwd: read_link(&dir.join("cwd"), MAX_PATH).unwrap_or_default(),
        fdlimit,
        flags: if tid == pid {
            0
        } else {
            CLONE_THREAD | CLONE_FILES
        },
        uid: euid,
        gid: egid,
        vmsize_kb: status.vmsize_kb,
        vmrss_kb: status.vmrss_kb,
        vmswap_kb: status.vmswap_kb,
        pfmajor: stat.majflt,
        pfminor: stat.minflt,
        env,
        vtid: status.vtid.unwrap_or(tid.try_into().unwrap_or(-1)),
        vpid: status.vpid.unwrap_or(pid.try_into().unwrap_or(-1)),
        cgroups,
        root: read_link(&dir.join("root"), MAX_PATH).unwrap_or_default(),
        pidns_init_start_ts,
        tty: stat.tty,
        loginuid,
        exe_writable: exe_meta.as_ref().is_some_and(|m| {
            euid == 0
                || m.uid() == euid
                || m.mode() & 0o002 != 0
                || (m.mode() & 0o020 != 0 && m.gid() == egid)
        }),
        cap_inheritable: status.cap_inh,
        cap_permitted: status.cap_prm,
        cap_effective: status.cap_eff,
        exe_ino: exe_meta.as_ref().map_or(0, MetadataExt::ino),
        exe_ino_ctime: exe_meta
            .as_ref()
            .map_or(0, |m| ts(m.ctime(), m.ctime_nsec())),
        exe_ino_mtime: exe_meta
            .as_ref()
            .map_or(0, |m| ts(m.mtime(), m.mtime_nsec())),
        exe_from_memfd: exepath.starts_with(b"/memfd:"),
        exepath,
        ..ProcInfo::default()
    })
}

/// Nanoseconds since the epoch from a `stat` time (0 before the epoch).
fn ts(secs: i64, nsecs: i64) -> u64 {
    u64::try_from(secs)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(nsecs).unwrap_or(0))
}

/// Splits a command line into `argv[0]` (at most [`MAX_PATH`] bytes) and the
/// other arguments, each NUL-terminated.
fn split_cmdline(cmdline: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let body = cmdline.strip_suffix(b"\0").unwrap_or(cmdline);
    let (exe, rest) = match body.iter().position(|&c| c == 0) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &[][..]),
    };
    let mut args = Vec::new();
    if !rest.is_empty() || body.len() > exe.len() {
        args.extend_from_slice(rest);
        args.push(0);
    }
    (exe[..exe.len().min(MAX_PATH)].to_vec(), args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_split() {
        assert_eq!(
            split_cmdline(b"sleep\x005\0"),
            (b"sleep".to_vec(), b"5\0".to_vec())
        );
        assert_eq!(
            split_cmdline(b"a\0b\0\0c\0"),
            (b"a".to_vec(), b"b\0\0c\0".to_vec())
        );
        assert_eq!(split_cmdline(b"sleep\0"), (b"sleep".to_vec(), Vec::new()));
        assert_eq!(
            split_cmdline(b"set proc title"),
            (b"set proc title".to_vec(), Vec::new())
        );
        assert_eq!(split_cmdline(b"a\0\0"), (b"a".to_vec(), b"\0".to_vec()));
        assert_eq!(split_cmdline(b""), (Vec::new(), Vec::new()));
    }
}
