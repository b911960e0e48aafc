//! Machine info, users and groups, interfaces.

use std::path::Path;

use osprey_event::snapshot::{GroupInfo, InterfaceInfo, MachineInfo, UserInfo};

use super::{parse, read_capped};

/// Machine facts: online CPUs, physical memory, `pid_max`, host name and boot
/// time, each 0 (or empty) when unreadable.
pub(super) fn machine(host_root: &Path) -> MachineInfo {
    let read = |p: &str| read_capped(&host_root.join(p), 1 << 20).unwrap_or_default();
    let mut num_cpus = parse::cpu_count(&read("sys/devices/system/cpu/online"));
    if num_cpus == 0 {
        num_cpus = std::thread::available_parallelism()
            .map_or(0, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
    }
    let mut hostname = read("proc/sys/kernel/hostname");
    hostname.truncate(hostname.trim_ascii_end().len());
    MachineInfo {
        num_cpus,
        memory_size_bytes: parse::meminfo_bytes(&read("proc/meminfo"), b"MemTotal").unwrap_or(0),
        max_pid: parse::num(&read("proc/sys/kernel/pid_max"), 10).unwrap_or(0),
        hostname,
        boot_ts_epoch: parse::btime(&read("proc/stat"))
            .map_or(0, |s| s.saturating_mul(1_000_000_000)),
        flags: 0,
    }
}

/// Users and groups of `etc/passwd` and `etc/group` (empty when unreadable).
pub(super) fn users(etc: &Path) -> (Vec<UserInfo>, Vec<GroupInfo>) {
    let read = |p: &str| read_capped(&etc.join(p), 64 << 20).unwrap_or_default();
    (parse::passwd(&read("passwd")), parse::group(&read("group")))
}

/// IPv4 and IPv6 addresses of the interfaces, with netmasks and (IPv4)
/// broadcast addresses; link speeds are not known (0).
pub(super) fn interfaces() -> Vec<InterfaceInfo> {
    let Ok(list) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    list.into_iter()
        .map(|i| {
            let name = i.name.into_bytes();
            match i.addr {
                if_addrs::IfAddr::V4(a) => InterfaceInfo::V4 {
                    name,
                    addr: a.ip.octets(),
                    netmask: a.netmask.octets(),
                    bcast: a.broadcast.map_or([0; 4], |b| b.octets()),
                    linkspeed: 0,
                },
                if_addrs::IfAddr::V6(a) => InterfaceInfo::V6 {
                    name,
                    addr: a.ip.octets(),
                    netmask: a.netmask.octets(),
                    bcast: a.broadcast.map_or([0; 16], |b| b.octets()),
                    linkspeed: 0,
                },
            }
        })
        .collect()
}
