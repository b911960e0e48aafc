//! Open fds of a process: `/proc/<pid>/fd`, `fdinfo` and the socket tables of
//! its network namespace.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use osprey_event::snapshot::{FdInfo, FdKind};

use super::parse::{self, SockEntry, L4_RAW, L4_TCP, L4_UDP};
use super::{read_capped, read_link};

/// Longest fd name a capture file's entry carries.
const MAX_NAME: usize = 1023;

/// `S_IFMT` and the file types of `st_mode`.
const S_IFMT: u32 = 0o170000;
const S_IFIFO: u32 = 0o010000;
const S_IFCHR: u32 = 0o020000;
const S_IFDIR: u32 = 0o040000;
const S_IFBLK: u32 = 0o060000;
const S_IFREG: u32 = 0o100000;
const S_IFSOCK: u32 = 0o140000;

/// Scans fd tables, caching what processes share: the socket tables of each
/// network namespace and the device of each mount.
#[derive(Debug, Default)]
pub(super) struct FdScanner {
    /// Socket inode → what it is, per network-namespace inode.
    sockets: HashMap<u64, HashMap<u64, SockEntry>>,
    /// Mount id → device number.
    devs: HashMap<u64, u32>,
    /// Only the fd kinds sysdig 0.29.3 reads.
    legacy: bool,
}

impl FdScanner {
    /// A scanner; `legacy` restricts fd kinds to those sysdig 0.29.3 reads.
    pub(super) fn new(legacy: bool) -> Self {
        FdScanner {
            legacy,
            ..FdScanner::default()
        }
    }

    /// The open fds of the process whose `/proc` directory is `pdir`, in fd
    /// order; fds that close during the scan or cannot be read are left out.
    pub(super) fn scan(&mut self, pdir: &Path) -> Vec<FdInfo> {
        let fd_dir = pdir.join("fd");
        let Ok(entries) = std::fs::read_dir(&fd_dir) else {
            return Vec::new();
        };
        let mut fds: Vec<(i64, std::path::PathBuf)> = entries
            .filter_map(|e| {
                let e = e.ok()?;
                Some((e.file_name().to_str()?.parse().ok()?, e.path()))
            })
            .collect();
        fds.sort_unstable_by_key(|&(fd, _)| fd);
        let mut out = Vec::with_capacity(fds.len());
        let mut netns = None;
        for (fd, path) in fds {
            let (Ok(meta), Some(link)) = (std::fs::metadata(&path), read_link(&path, MAX_NAME))
            else {
                continue;
            };
            let mut info = FdInfo {
                fd,
                ino: meta.ino(),
                ..FdInfo::default()
            };
            match meta.mode() & S_IFMT {
                S_IFIFO => {
                    info.kind = FdKind::Fifo;
                    info.name = link;
                }
                S_IFREG | S_IFCHR | S_IFBLK if is_memfd(&link, self.legacy) => {
                    info.kind = FdKind::Memfd;
                    info.name = link;
                }
                S_IFREG | S_IFCHR | S_IFBLK => {
                    info.kind = FdKind::FileV2;
                    let fdinfo = read_capped(&pdir.join("fdinfo").join(fd.to_string()), 4096);
                    let (flags, mnt) = parse::fdinfo(&fdinfo.unwrap_or_default());
                    info.open_flags = flags.map_or(0, parse::open_flags_to_ppm);
                    info.dev = mnt.map_or(0, |m| self.dev(pdir, m));
                    info.name = link;
                }
                S_IFDIR => {
                    info.kind = FdKind::Directory;
                    info.name = link;
                }
                S_IFSOCK => {
                    let Some(ino) = link
                        .strip_prefix(b"socket:[")
                        .and_then(|r| r.strip_suffix(b"]"))
                        .and_then(|n| parse::num(n, 10))
                    else {
                        info.kind = FdKind::Unsupported;
                        info.name = link;
                        out.push(info);
                        continue;
                    };
                    let ns = *netns.get_or_insert_with(|| net_ns(pdir));
                    // Sockets the tables do not list (packet, vsock, ...) are
                    // left out, as sysdig does.
                    let Some(sock) = self.socket(pdir, ns, ino) else {
                        continue;
                    };
                    info.ino = ino;
                    info.kind = sock.kind;
                    info.addr = sock.addr.clone();
                    info.name = sock.name.clone();
                }
                _ => info.kind = anon_kind(&link, self.legacy),
            }
            out.push(info);
        }
        out
    }

    /// The device of mount `mnt`, reading the process's `mountinfo` on a miss
    /// (mount ids are unique system-wide); 0 when unknown.
    fn dev(&mut self, pdir: &Path, mnt: u64) -> u32 {
        if let Some(&d) = self.devs.get(&mnt) {
            return d;
        }
        let text = read_capped(&pdir.join("mountinfo"), usize::MAX).unwrap_or_default();
        self.devs.extend(parse::mountinfo(&text));
        *self.devs.entry(mnt).or_insert(0)
    }

    /// Looks a socket inode up in the tables of network namespace `ns`,
    /// reading them through the process's `net/` directory on first use.
    fn socket(&mut self, pdir: &Path, ns: u64, ino: u64) -> Option<&SockEntry> {
        self.sockets
            .entry(ns)
            .or_insert_with(|| socket_tables(&pdir.join("net")))
            .get(&ino)
    }
}

/// Whether a file fd is recorded as a memfd (never in legacy mode).
fn is_memfd(link: &[u8], legacy: bool) -> bool {
    !legacy && link.starts_with(b"/memfd:")
}

/// The kind of an anonymous-inode fd; in legacy mode, kinds newer than
/// `FileV2` read as `Unsupported`.
fn anon_kind(link: &[u8], legacy: bool) -> FdKind {
    match parse::anon_kind(link) {
        k if legacy && k as u8 > FdKind::FileV2 as u8 => FdKind::Unsupported,
        k => k,
    }
}

/// The network-namespace inode of a process (0 when unknown).
fn net_ns(pdir: &Path) -> u64 {
    read_link(&pdir.join("ns/net"), 64)
        .and_then(|l| {
            let n = l.strip_prefix(b"net:[")?.strip_suffix(b"]")?;
            parse::num(n, 10)
        })
        .unwrap_or(0)
}

/// Reads every socket table of a `net/` directory.
fn socket_tables(net: &Path) -> HashMap<u64, SockEntry> {
    let mut m = HashMap::new();
    let read = |name: &str| read_capped(&net.join(name), usize::MAX).unwrap_or_default();
    parse::inet_table::<4>(&read("tcp"), L4_TCP, &mut m);
    parse::inet_table::<4>(&read("udp"), L4_UDP, &mut m);
    parse::inet_table::<4>(&read("raw"), L4_RAW, &mut m);
    parse::unix_table(&read("unix"), MAX_NAME, &mut m);
    parse::netlink_table(&read("netlink"), &mut m);
    parse::inet_table::<16>(&read("tcp6"), L4_TCP, &mut m);
    parse::inet_table::<16>(&read("udp6"), L4_UDP, &mut m);
    parse::inet_table::<16>(&read("raw6"), L4_RAW, &mut m);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use osprey_event::snapshot::FdAddr;

    #[test]
    fn scans_own_fds() {
        let f = tempfile::tempfile().expect("temp file");
        let pdir = Path::new("/proc/self");
        let fds = FdScanner::default().scan(pdir);
        use std::os::fd::AsRawFd;
        let me = fds
            .iter()
            .find(|i| i.fd == i64::from(f.as_raw_fd()))
            .expect("temp file fd");
        assert_eq!(me.kind, FdKind::FileV2);
        assert_eq!(me.open_flags & 3, parse::ppm::RDWR);
        assert_eq!(me.addr, FdAddr::None);
    }

    #[test]
    fn legacy_kinds_and_broken_entries() {
        // A fake process directory: fd links into nowhere are skipped, links to
        // real files are read, anonymous inodes classify by name.
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().expect("dir");
        let fd = d.path().join("fd");
        std::fs::create_dir(&fd).expect("fd dir");
        let target = d.path().join("anon_inode:[pidfd]");
        std::fs::write(&target, b"").expect("target");
        symlink(&target, fd.join("3")).expect("link");
        symlink(d.path().join("missing"), fd.join("4")).expect("dangling");
        symlink(&target, fd.join("junk")).expect("junk name");
        for (legacy, kind) in [(false, FdKind::FileV2), (true, FdKind::FileV2)] {
            let fds = FdScanner::new(legacy).scan(d.path());
            assert_eq!(fds.len(), 1);
            assert_eq!((fds[0].fd, fds[0].kind), (3, kind));
            assert_eq!(fds[0].open_flags, 0, "no fdinfo");
        }
        assert_eq!(anon_kind(b"anon_inode:[pidfd]", false), FdKind::PidFd);
        assert_eq!(anon_kind(b"anon_inode:[pidfd]", true), FdKind::Unsupported);
        assert_eq!(anon_kind(b"anon_inode:bpf-prog", true), FdKind::Unsupported);
        assert_eq!(anon_kind(b"anon_inode:[eventfd]", true), FdKind::Event);
        assert!(is_memfd(b"/memfd:x (deleted)", false));
        assert!(!is_memfd(b"/memfd:x (deleted)", true));
    }
}
