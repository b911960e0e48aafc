//! The `top*` chisels: fixed [`TableSpec`]s over the table engine.

use super::table::{Table, TableSpec, Units};
use super::Native;
use crate::{Chisel, ChiselInfo, Error, Options};

/// Filter of network I/O.
const NET_IO: &str = "(fd.type=ipv4 or fd.type=ipv6) and evt.is_io=true";
/// Filter of file I/O.
const FILE_IO: &str = "fd.type=file and evt.is_io=true";

/// One `top*` chisel: its listing and its table.
struct Top {
    name: &'static str,
    category: &'static str,
    short: &'static str,
    long: &'static str,
    keys: &'static [&'static str],
    key_descs: &'static [&'static str],
    value: &'static str,
    value_desc: &'static str,
    filter: &'static str,
    top: usize,
    units: Units,
    /// Keys and their titles with `-pc`, when they differ.
    pc: Option<(&'static [&'static str], &'static [&'static str])>,
}

/// `-pc` keys of the per-process tables.
const PROC_PC: Option<(&[&str], &[&str])> = Some((
    &["proc.name", "proc.pid", "thread.vtid", "container.name"],
    &["Process", "Host_pid", "Container_pid", "container.name"],
));
/// `-pc` keys of the per-file tables (but `topfiles_bytes`).
const FILE_PC: Option<(&[&str], &[&str])> = Some((
    &["fd.name", "container.name"],
    &["Filename", "container.name"],
));
/// `-pc` keys of the per-syscall tables.
const SCALL_PC: Option<(&[&str], &[&str])> = Some((
    &["evt.type", "container.name"],
    &["Syscall", "container.name"],
));

const PROC_KEYS: &[&str] = &["proc.name", "proc.pid"];
const PROC_DESCS: &[&str] = &["Process", "PID"];
const CONTAINER: &[&str] = &["container.name"];

const TOPS: &[Top] = &[
    Top {
        name: "topprocs_cpu",
        category: "CPU Usage",
        short: "Top processes by CPU usage",
        long: "Lists the 10 processes that used the most CPU time, as a share of the elapsed time.",
        keys: PROC_KEYS,
        key_descs: PROC_DESCS,
        value: "thread.cpu",
        value_desc: "CPU%",
        filter: "evt.type=procinfo",
        top: 10,
        units: Units::TimePct,
        pc: Some((
            &["proc.name", "proc.pid", "proc.vpid", "container.name"],
            &["Process", "Host_pid", "Container_pid", "container.name"],
        )),
    },
    Top {
        name: "topcontainers_cpu",
        category: "CPU Usage",
        short: "Top containers by CPU usage",
        long: "Lists the containers that used the most CPU time, as a share of the elapsed time.",
        keys: CONTAINER,
        key_descs: CONTAINER,
        value: "thread.cpu",
        value_desc: "CPU%",
        filter: "evt.type=procinfo",
        top: 10,
        units: Units::TimePct,
        pc: None,
    },
    Top {
        name: "topprocs_net",
        category: "Net",
        short: "Top processes by network I/O",
        long: "Lists the 100 processes that sent and received the most bytes over the network.",
        keys: PROC_KEYS,
        key_descs: PROC_DESCS,
        value: "evt.rawarg.res",
        value_desc: "Bytes",
        filter: NET_IO,
        top: 100,
        units: Units::Bytes,
        pc: PROC_PC,
    },
    Top {
        name: "topprocs_file",
        category: "I/O",
        short: "Top processes by R+W disk bytes",
        long: "Lists the 10 processes that read and wrote the most bytes to files.",
        keys: PROC_KEYS,
        key_descs: PROC_DESCS,
        value: "evt.rawarg.res",
        value_desc: "Bytes",
        filter: FILE_IO,
        top: 10,
        units: Units::Bytes,
        pc: PROC_PC,
    },
    Top {
        name: "topprocs_errors",
        category: "Errors",
        short: "top processes by number of errors",
        long: "Lists the 100 processes whose system calls failed most often.",
        keys: PROC_KEYS,
        key_descs: PROC_DESCS,
        value: "evt.count",
        value_desc: "#Errors",
        filter: "evt.failed=true",
        top: 100,
        units: Units::None,
        pc: PROC_PC,
    },
    Top {
        name: "topfiles_bytes",
        category: "I/O",
        short: "Top files by R+W bytes",
        long: "Lists the 10 files with the most bytes read and written.",
        keys: &["fd.name"],
        key_descs: &["Filename"],
        value: "evt.rawarg.res",
        value_desc: "Bytes",
        filter: FILE_IO,
        top: 10,
        units: Units::Bytes,
        pc: Some((
            &["container.name", "fd.name"],
            &["container.name", "Filename"],
        )),
    },
    Top {
        name: "topfiles_time",
        category: "I/O",
        short: "Top files by time",
        long: "Lists the 10 files on which processes spent the most time reading and writing.",
        keys: &["fd.name"],
        key_descs: &["Filename"],
        value: "evt.latency",
        value_desc: "Time",
        filter: FILE_IO,
        top: 10,
        units: Units::Time,
        pc: FILE_PC,
    },
    Top {
        name: "topfiles_errors",
        category: "Errors",
        short: "Top files by number of errors",
        long: "Lists the 100 files on which system calls failed most often.",
        keys: &["fd.name"],
        key_descs: &["Filename"],
        value: "evt.count",
        value_desc: "#Errors",
        filter: "fd.type=file and evt.failed=true",
        top: 100,
        units: Units::None,
        pc: FILE_PC,
    },
    Top {
        name: "topscalls",
        category: "Performance",
        short: "Top system calls by number of calls",
        long: "Lists the 30 system calls made most often.",
        keys: &["evt.type"],
        key_descs: &["Syscall"],
        value: "evt.count",
        value_desc: "# Calls",
        filter: "evt.type!=switch",
        top: 30,
        units: Units::None,
        pc: SCALL_PC,
    },
    Top {
        name: "topscalls_time",
        category: "Performance",
        short: "Top system calls by time",
        long: "Lists the 30 system calls that took the most time in total.",
        keys: &["evt.type"],
        key_descs: &["Syscall"],
        value: "evt.latency",
        value_desc: "Time",
        filter: "",
        top: 30,
        units: Units::Time,
        pc: SCALL_PC,
    },
    Top {
        name: "topconns",
        category: "Net",
        short: "Top network connections by total bytes",
        long: "Lists the 30 network connections that carried the most bytes.",
        keys: &["fd.l4proto", "fd.name"],
        key_descs: &["Proto", "Conn"],
        value: "evt.rawarg.res",
        value_desc: "Bytes",
        filter: NET_IO,
        top: 30,
        units: Units::Bytes,
        pc: Some((
            &["container.name", "fd.l4proto", "fd.name"],
            &["container.name", "Proto", "Conn"],
        )),
    },
    Top {
        name: "topports_server",
        category: "Net",
        short: "Top TCP/UDP server ports by R+W bytes",
        long: "Lists the 100 server ports that carried the most bytes.",
        keys: &["fd.sport"],
        key_descs: &["Srv Port"],
        value: "evt.rawarg.res",
        value_desc: "Bytes",
        filter: NET_IO,
        top: 100,
        units: Units::Bytes,
        pc: Some((
            &["fd.sport", "container.name"],
            &["Srv Port", "container.name"],
        )),
    },
    Top {
        name: "topcontainers_net",
        category: "Net",
        short: "Top containers by network I/O",
        long: "Lists the 100 containers that sent and received the most bytes over the network.",
        keys: CONTAINER,
        key_descs: CONTAINER,
        value: "evt.rawarg.res",
        value_desc: "Bytes",
        filter: "(fd.type=ipv4 or fd.type=ipv6) and evt.is_io=true and container.name!=host",
        top: 100,
        units: Units::Bytes,
        pc: None,
    },
    Top {
        name: "topcontainers_file",
        category: "I/O",
        short: "Top containers by R+W disk bytes",
        long: "Lists the 10 containers that read and wrote the most bytes to files.",
        keys: CONTAINER,
        key_descs: CONTAINER,
        value: "evt.rawarg.res",
        value_desc: "Bytes",
        filter: "fd.type=file and evt.is_io=true and container.name!=host",
        top: 10,
        units: Units::Bytes,
        pc: None,
    },
    Top {
        name: "topcontainers_error",
        category: "Errors",
        short: "Top containers by number of errors",
        long: "Lists the 100 containers whose system calls failed most often.",
        keys: CONTAINER,
        key_descs: CONTAINER,
        value: "evt.count",
        value_desc: "#Errors",
        filter: "evt.failed=true and container.name!=host",
        top: 100,
        units: Units::None,
        pc: None,
    },
];

fn find(name: &str) -> Option<&'static Top> {
    TOPS.iter().find(|t| t.name == name)
}

fn info_of(t: &Top) -> ChiselInfo {
    ChiselInfo {
        name: t.name.to_owned(),
        category: t.category.to_owned(),
        short_description: t.short.to_owned(),
        description: t.long.to_owned(),
        args: Vec::new(),
        hidden: false,
    }
}

fn build(name: &str, _args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let t = find(name).ok_or_else(|| Error::NotFound(name.to_owned()))?;
    let cpu = t.value == "thread.cpu";
    let (keys, key_descs) = match t.pc {
        Some(pc) if opts.print_container => pc,
        _ => (t.keys, t.key_descs),
    };
    let spec = TableSpec {
        keys: keys.iter().map(|&k| k.to_owned()).collect(),
        key_descs: key_descs.iter().map(|&k| k.to_owned()).collect(),
        value: t.value.to_owned(),
        value_desc: t.value_desc.to_owned(),
        filter: t.filter.to_owned(),
        top: t.top,
        units: t.units,
        cpu,
        json: opts.json,
    };
    Ok(Box::new(Table::new(name, spec)?))
}

/// The `top*` chisels.
pub(super) fn natives() -> impl Iterator<Item = Native> {
    TOPS.iter().map(|t| Native {
        name: t.name,
        info: info_of(t),
        build,
    })
}
