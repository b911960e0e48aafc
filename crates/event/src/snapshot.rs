//! Neutral snapshot types: the system state a capture source reports up front
//! (machine, processes, fds, users, interfaces).
//!
//! A capture file's metadata blocks decode into these, the live driver builds them
//! from /proc, and the state library ingests them, so neither side knows the other.
//! Strings are raw bytes: comms, paths and arguments need not be UTF-8.

/// Machine information (the MI block).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineInfo {
    /// Number of CPUs.
    pub num_cpus: u32,
    /// Physical memory in bytes.
    pub memory_size_bytes: u64,
    /// Maximum pid.
    pub max_pid: u64,
    /// Host name.
    pub hostname: Vec<u8>,
    /// Boot time, ns since the epoch (0 when unknown).
    pub boot_ts_epoch: u64,
    /// Machine flags.
    pub flags: u64,
}

/// One thread as listed in a process-list block or read from /proc.
///
/// Optional fields newer formats carry default to zero or empty when a source lacks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcInfo {
    /// Thread id.
    pub tid: u64,
    /// Process id (thread-group leader).
    pub pid: u64,
    /// Parent thread id.
    pub ptid: u64,
    /// Session id.
    pub sid: u64,
    /// Process-group id seen from the process's pid namespace.
    pub vpgid: u64,
    /// Process group id.
    pub pgid: i64,
    /// Command name (`comm`).
    pub comm: Vec<u8>,
    /// `argv[0]`.
    pub exe: Vec<u8>,
    /// Full executable path.
    pub exepath: Vec<u8>,
    /// Arguments after `argv[0]`, each one NUL-terminated.
    pub args: Vec<u8>,
    /// Working directory.
    pub cwd: Vec<u8>,
    /// Maximum number of open fds.
    pub fdlimit: u64,
    /// `PPM_CL_*` clone flags.
    pub flags: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Virtual memory size, KiB.
    pub vmsize_kb: u32,
    /// Resident set size, KiB.
    pub vmrss_kb: u32,
    /// Swapped memory, KiB.
    pub vmswap_kb: u32,
    /// Major page faults.
    pub pfmajor: u64,
    /// Minor page faults.
    pub pfminor: u64,
    /// Environment, each `KEY=VALUE` NUL-terminated.
    pub env: Vec<u8>,
    /// Thread id in its pid namespace.
    pub vtid: i64,
    /// Process id in its pid namespace.
    pub vpid: i64,
    /// Cgroups, each `subsys=path` NUL-terminated.
    pub cgroups: Vec<u8>,
    /// Root directory.
    pub root: Vec<u8>,
    /// Start time of the pid namespace's init process.
    pub pidns_init_start_ts: u64,
    /// Controlling terminal.
    pub tty: u32,
    /// Login uid (`u32::MAX` when unset).
    pub loginuid: u32,
    /// Whether the executable is writable by the process's user.
    pub exe_writable: bool,
    /// Inheritable capabilities.
    pub cap_inheritable: u64,
    /// Permitted capabilities.
    pub cap_permitted: u64,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// Whether the executable lives in an overlay upper layer.
    pub exe_upper_layer: bool,
    /// Inode of the executable.
    pub exe_ino: u64,
    /// ctime of the executable's inode.
    pub exe_ino_ctime: u64,
    /// mtime of the executable's inode.
    pub exe_ino_mtime: u64,
    /// Whether the executable is a memfd.
    pub exe_from_memfd: bool,
    /// Whether the executable lives in an overlay lower layer.
    pub exe_lower_layer: bool,
    /// Open fds of this thread (from the fd-list blocks).
    pub fds: Vec<FdInfo>,
}

/// Kind of a file descriptor (`scap_fd_type`).
#[allow(missing_docs)] // variant names follow upstream
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum FdKind {
    #[default]
    Unknown = 0,
    File = 1,
    Directory = 2,
    Ipv4Sock = 3,
    Ipv6Sock = 4,
    Ipv4ServSock = 5,
    Ipv6ServSock = 6,
    Fifo = 7,
    UnixSock = 8,
    Event = 9,
    Unsupported = 10,
    SignalFd = 11,
    EventPoll = 12,
    Inotify = 13,
    TimerFd = 14,
    Netlink = 15,
    FileV2 = 16,
    Bpf = 17,
    UserFaultFd = 18,
    IoUring = 19,
    Memfd = 20,
    PidFd = 21,
}

impl FdKind {
    /// Decodes a `scap_fd_type` byte; unknown values read as `Unsupported`.
    pub fn from_u8(v: u8) -> FdKind {
        use FdKind::*;
        const ALL: [FdKind; 22] = [
            Unknown,
            File,
            Directory,
            Ipv4Sock,
            Ipv6Sock,
            Ipv4ServSock,
            Ipv6ServSock,
            Fifo,
            UnixSock,
            Event,
            Unsupported,
            SignalFd,
            EventPoll,
            Inotify,
            TimerFd,
            Netlink,
            FileV2,
            Bpf,
            UserFaultFd,
            IoUring,
            Memfd,
            PidFd,
        ];
        ALL.get(usize::from(v)).copied().unwrap_or(Unsupported)
    }
}

/// Address information of a socket fd.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FdAddr {
    /// Not a socket, or nothing known.
    #[default]
    None,
    /// A connected (or connecting) IPv4 socket. Addresses are network-order bytes.
    Ipv4 {
        /// Source address.
        sip: [u8; 4],
        /// Destination address.
        dip: [u8; 4],
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer-4 protocol code (2 TCP, 3 UDP, 4 ICMP, 5 RAW).
        l4proto: u8,
    },
    /// A connected IPv6 socket.
    Ipv6 {
        /// Source address.
        sip: [u8; 16],
        /// Destination address.
        dip: [u8; 16],
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer-4 protocol code.
        l4proto: u8,
    },
    /// A listening IPv4 socket.
    Ipv4Server {
        /// Bound address.
        ip: [u8; 4],
        /// Bound port.
        port: u16,
        /// Layer-4 protocol code.
        l4proto: u8,
    },
    /// A listening IPv6 socket.
    Ipv6Server {
        /// Bound address.
        ip: [u8; 16],
        /// Bound port.
        port: u16,
        /// Layer-4 protocol code.
        l4proto: u8,
    },
    /// A unix socket: kernel pointers of both ends.
    Unix {
        /// Source endpoint pointer.
        source: u64,
        /// Destination endpoint pointer.
        dest: u64,
    },
}

/// One open file descriptor of a thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FdInfo {
    /// The fd number.
    pub fd: i64,
    /// Inode number.
    pub ino: u64,
    /// Kind of fd, as stored (FILE_V2 stays FILE_V2 so writers can round-trip it).
    pub kind: FdKind,
    /// Open flags (`PPM_O_*`), for files.
    pub open_flags: u32,
    /// Device number, for files.
    pub dev: u32,
    /// Name: the path for files, the socket path for unix sockets, empty otherwise.
    pub name: Vec<u8>,
    /// Socket addresses.
    pub addr: FdAddr,
}

/// A user-table entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Login name.
    pub name: Vec<u8>,
    /// Home directory.
    pub homedir: Vec<u8>,
    /// Login shell.
    pub shell: Vec<u8>,
}

/// A group-table entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// Group id.
    pub gid: u32,
    /// Group name.
    pub name: Vec<u8>,
}

/// A network interface address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceInfo {
    /// An IPv4 interface address.
    V4 {
        /// Interface name.
        name: Vec<u8>,
        /// Address, network order.
        addr: [u8; 4],
        /// Netmask.
        netmask: [u8; 4],
        /// Broadcast address.
        bcast: [u8; 4],
        /// Link speed (0 when unknown).
        linkspeed: u64,
    },
    /// An IPv6 interface address.
    V6 {
        /// Interface name.
        name: Vec<u8>,
        /// Address.
        addr: [u8; 16],
        /// Netmask.
        netmask: [u8; 16],
        /// Broadcast address.
        bcast: [u8; 16],
        /// Link speed (0 when unknown).
        linkspeed: u64,
    },
}

/// Everything a capture source knows before its first event.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Machine info, if the source had any.
    pub machine: Option<MachineInfo>,
    /// Threads, with their fds.
    pub procs: Vec<ProcInfo>,
    /// Users.
    pub users: Vec<UserInfo>,
    /// Groups.
    pub groups: Vec<GroupInfo>,
    /// Interfaces.
    pub interfaces: Vec<InterfaceInfo>,
    /// The events are those of a live Osprey capture: exit-only, one exit
    /// event of the newest type per syscall carrying its arguments (capture
    /// files mark this with the section header option `shb_userappl` =
    /// `osprey-live`). Consumers parse them with a state engine that knows
    /// every event type.
    pub exit_only: bool,
}
