//! The event table: one entry per event type, generated from the upstream dump.
//!
//! Everything that decodes, prints or lists events reads this one table, so adding
//! an event type is a matter of regenerating it (`cargo xtask codegen`).

mod generated;

pub use generated::{EVENTS, EVENT_COUNT};

/// Whether an event marks the entry into or the exit from a system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Enter event (`>`), even type numbers.
    Enter,
    /// Exit event (`<`), odd type numbers.
    Exit,
}

impl Direction {
    /// The character sysdig prints for this direction.
    pub fn as_char(self) -> char {
        match self {
            Direction::Enter => '>',
            Direction::Exit => '<',
        }
    }
}

/// Parameter types (`PT_*`), with their upstream numbering.
#[allow(missing_docs)] // the variant names are the upstream type names
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ParamType {
    None = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Uint8 = 5,
    Uint16 = 6,
    Uint32 = 7,
    Uint64 = 8,
    CharBuf = 9,
    ByteBuf = 10,
    Errno = 11,
    SockAddr = 12,
    SockTuple = 13,
    Fd = 14,
    Pid = 15,
    FdList = 16,
    FsPath = 17,
    SyscallId = 18,
    SigType = 19,
    RelTime = 20,
    AbsTime = 21,
    Port = 22,
    L4Proto = 23,
    SockFamily = 24,
    Bool = 25,
    Ipv4Addr = 26,
    Dyn = 27,
    Flags8 = 28,
    Flags16 = 29,
    Flags32 = 30,
    Uid = 31,
    Gid = 32,
    Double = 33,
    SigSet = 34,
    CharBufArray = 35,
    CharBufPairArray = 36,
    Ipv4Net = 37,
    Ipv6Addr = 38,
    Ipv6Net = 39,
    IpAddr = 40,
    IpNet = 41,
    Mode = 42,
    FsRelPath = 43,
    EnumFlags8 = 44,
    EnumFlags16 = 45,
    EnumFlags32 = 46,
    Fd32 = 47,
    Pid32 = 48,
}

/// Print formats (`PF_*`).
#[allow(missing_docs)] // the variant names are the upstream format names
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintFormat {
    Na,
    Dec,
    Hex,
    PaddedDec,
    Id,
    Dir,
    Oct,
}

/// Event flag bits (`EF_*`).
pub mod flags {
    /// The event creates a file descriptor.
    pub const CREATES_FD: u32 = 0x1;
    /// The event destroys a file descriptor.
    pub const DESTROYS_FD: u32 = 0x2;
    /// The event uses a file descriptor (its first `fd` parameter).
    pub const USES_FD: u32 = 0x4;
    /// The event reads from a file descriptor.
    pub const READS_FROM_FD: u32 = 0x8;
    /// The event writes to a file descriptor.
    pub const WRITES_TO_FD: u32 = 0x10;
    /// The event changes state (threads, fds) beyond fds.
    pub const MODIFIES_STATE: u32 = 0x20;
    /// Unused table slot.
    pub const UNUSED: u32 = 0x40;
    /// The event waits (sleep-like syscalls).
    pub const WAITS: u32 = 0x80;
    /// Parsers should not reset per-thread state on this event.
    pub const SKIPPARSERESET: u32 = 0x100;
    /// An older version of an event type that newer drivers no longer emit.
    pub const OLD_VERSION: u32 = 0x200;
    /// Parameter lengths are `u32` instead of `u16`.
    pub const LARGE_PAYLOAD: u32 = 0x800;
    /// Upstream converts this event type when reading old files.
    pub const CONVERTER_MANAGED: u32 = 0x1000;
}

/// Event categories (`EC_*`): the low byte is the syscall category, the high bits the source.
pub mod category {
    /// Mask of the syscall category bits.
    pub const MASK: u32 = 0xff;
    /// Internal events.
    pub const INTERNAL: u32 = 0x100;
    /// System calls.
    pub const SYSCALL: u32 = 0x200;
    /// Tracepoints.
    pub const TRACEPOINT: u32 = 0x400;
    /// Plugin events.
    pub const PLUGIN: u32 = 0x800;
    /// Meta events.
    pub const METAEVENT: u32 = 0x1000;
}

/// Description of one parameter of an event type.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// The parameter name, as `evt.arg.NAME` and the event line show it.
    pub name: &'static str,
    /// The encoding and meaning of its bytes.
    pub ty: ParamType,
    /// How numbers are printed.
    pub fmt: PrintFormat,
}

/// Description of one event type.
#[derive(Debug, Clone, Copy)]
pub struct EventInfo {
    /// The upstream enum name, e.g. `PPME_SYSCALL_OPEN_E`.
    pub enum_name: &'static str,
    /// The name shown as `evt.type`, e.g. `open`.
    pub name: &'static str,
    /// Enter or exit.
    pub dir: Direction,
    /// `EC_*` category bits.
    pub category: u32,
    /// `EF_*` flag bits.
    pub flags: u32,
    /// The parameters, in order.
    pub params: &'static [ParamInfo],
}

impl EventInfo {
    /// Whether the parameter lengths of this type are stored as `u32`.
    pub fn is_large(&self) -> bool {
        self.flags & flags::LARGE_PAYLOAD != 0
    }

    /// The index of the parameter named `name`, if any.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
}

/// Looks up an event type; `None` for types this build does not know.
#[inline]
pub fn info(etype: u16) -> Option<&'static EventInfo> {
    EVENTS.get(usize::from(etype))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_spec() {
        let Some(text) = spec_text() else { return };
        let mut n = 0;
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            let num: usize = cols[1].parse().unwrap();
            let e = &EVENTS[num];
            assert_eq!(e.enum_name, cols[0]);
            assert_eq!(e.name, cols[2]);
            let np: usize = cols[6].trim_start_matches("np=").parse().unwrap();
            assert_eq!(e.params.len(), np, "{}", e.enum_name);
            n += 1;
        }
        assert_eq!(n, EVENT_COUNT);
    }

    fn spec_text() -> Option<String> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/specs/scap-event-table.tsv");
        match std::fs::read_to_string(&p) {
            Ok(t) => Some(t),
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("fixture {} missing under CI: {e}", p.display())
            }
            Err(e) => {
                eprintln!("SKIPPED: fixture {} not available ({e})", p.display());
                None
            }
        }
    }

    #[test]
    fn directions_alternate() {
        for (i, e) in EVENTS.iter().enumerate() {
            let want = if i % 2 == 0 {
                Direction::Enter
            } else {
                Direction::Exit
            };
            assert_eq!(e.dir, want, "{}", e.enum_name);
        }
    }
}
