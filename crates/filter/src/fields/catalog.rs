//! The catalogue of the syscall field classes (`evt`, `process`, `user`, `group`,
//! `container`, `fd`, `syslog`, `fdlist`): names, types, flags and descriptions,
//! and the [`SyscallCatalog`] that resolves field names for the filter language.
//!
//! The field names, classes and types follow sysdig 0.29.3 (`sysdig -lv`), plus the
//! fields sysdig hides from the listing but accepts (see [`FieldFlags::HIDDEN`]).

use osprey_event::table::{flags, EVENTS};
use osprey_event::ParamType as T;

use crate::field::{FieldArg, FieldCatalog, FieldError, FieldRef};

/// A field class, as `sysdig -l` groups fields. Listing order is [`CLASSES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// `evt` fields available for every event.
    EvtAll,
    /// `evt` fields that only make sense for system call events.
    EvtSyscall,
    /// `proc.*` and `thread.*`.
    Process,
    /// `user.*`.
    User,
    /// `group.*`.
    Group,
    /// `container.*`.
    Container,
    /// `fd.*`.
    Fd,
    /// `syslog.*`.
    Syslog,
    /// `fdlist.*`.
    FdList,
    /// `k8s.*`.
    K8s,
}

/// The classes in the order `sysdig -l` lists them.
pub const CLASSES: [Class; 10] = [
    Class::EvtAll,
    Class::EvtSyscall,
    Class::Process,
    Class::User,
    Class::Group,
    Class::Container,
    Class::Fd,
    Class::Syslog,
    Class::FdList,
    Class::K8s,
];

impl Class {
    /// The class name as the listing prints it after `Field Class:`.
    pub fn title(self) -> &'static str {
        match self {
            Class::EvtAll => "evt (All event types)",
            Class::EvtSyscall => "evt (Syscall events only)",
            Class::Process => "process",
            Class::User => "user",
            Class::Group => "group",
            Class::Container => "container",
            Class::Fd => "fd",
            Class::Syslog => "syslog",
            Class::FdList => "fdlist",
            Class::K8s => "k8s",
        }
    }

    /// A one-paragraph description of the class.
    pub fn desc(self) -> &'static str {
        match self {
            Class::EvtAll => "Fields available for every kind of event.",
            Class::EvtSyscall => {
                "Fields of system call events. The arguments of most events can also be read \
                 one at a time with evt.arg, for example evt.arg.fd or evt.arg[0]."
            }
            Class::Process => "The process and the thread that generated the event.",
            Class::User => "The user the process runs as.",
            Class::Group => "The group the process runs as.",
            Class::Container => {
                "The container the process runs in. Outside containers, the id and the name \
                 are both 'host'."
            }
            Class::Fd => "The file descriptor the event works on, for events that take one.",
            Class::Syslog => "Messages written to syslog through /dev/log.",
            Class::FdList => "The file descriptors passed to poll-like events.",
            Class::K8s => {
                "The Kubernetes pod of the container the process runs in, as the container \
                 runtime describes it (CRI sandbox metadata or io.kubernetes labels). The \
                 replication controller, service, replica set and deployment fields, which \
                 need the API server, have no value."
            }
        }
    }
}

/// Properties of a field: a small set of bit flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FieldFlags(u16);

impl FieldFlags {
    /// No flag.
    pub const NONE: Self = Self(0);
    /// Accepted in filters and formats but not listed by `-l`.
    pub const HIDDEN: Self = Self(1 << 0);
    /// Meaningful in filters only (`(FILTER ONLY)` in the listing).
    pub const FILTER_ONLY: Self = Self(1 << 1);
    /// Rendered as a time string in text output but as an integer of
    /// nanoseconds in JSON output.
    pub const TIME_STRING: Self = Self(1 << 2);
    /// The field must be given an argument.
    pub const ARG_REQUIRED: Self = Self(1 << 3);
    /// The field may be given an argument, or none.
    pub const ARG_ALLOWED: Self = Self(1 << 4);
    /// The argument may be a number in brackets: `proc.aname[2]`.
    pub const ARG_INDEX: Self = Self(1 << 5);
    /// The argument may be a name after a dot: `evt.arg.fd`, `evt.type.is.open`.
    pub const ARG_NAME: Self = Self(1 << 6);
    /// The argument may be a name in brackets: `container.mount[/var/lib]`.
    pub const ARG_KEY: Self = Self(1 << 7);
    /// Integers print zero-padded to 9 digits in text output (nanosecond parts).
    pub const PAD9: Self = Self(1 << 8);
    /// A field of current falcosecurity/libs (Falco) that sysdig 0.29.3 does
    /// not have: resolved like the others, but left out of the sysdig `-l`
    /// listing (see [`crate::fields::listing::list_fields_with`]).
    pub const NEWER: Self = Self(1 << 9);

    /// The union of two sets.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }
}

use FieldFlags as F;

/// Shorthand for the flags of the newer fields.
const NEW: FieldFlags = F::NEWER;

/// The definition of one field.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// The field's id; `FIELDS[id as usize].id == id`.
    pub id: FieldId,
    /// The field name, without argument (`evt.arg`).
    pub name: &'static str,
    /// The class the field is listed under.
    pub class: Class,
    /// The type of the field's values.
    pub ty: T,
    /// One-line description (our own words).
    pub desc: &'static str,
    /// Flags.
    pub flags: FieldFlags,
}

impl FieldDef {
    /// Whether the field has all of `flags`.
    pub const fn has(&self, flags: FieldFlags) -> bool {
        self.flags.contains(flags)
    }

    /// Whether the field takes an argument (required or optional).
    pub const fn takes_arg(&self) -> bool {
        self.flags.0 & (F::ARG_REQUIRED.0 | F::ARG_ALLOWED.0) != 0
    }
}

const fn field(
    id: FieldId,
    name: &'static str,
    class: Class,
    ty: T,
    flags: FieldFlags,
    desc: &'static str,
) -> FieldDef {
    FieldDef {
        id,
        name,
        class,
        ty,
        desc,
        flags,
    }
}

/// Identifies one field of the syscall catalogue; the value indexes [`FIELDS`].
#[allow(missing_docs)] // each variant is the field named in its `FIELDS` entry
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum FieldId {
    EvtNum,
    EvtTime,
    EvtTimeS,
    EvtTimeIso8601,
    EvtDatetime,
    EvtDatetimeS,
    EvtOutputtime,
    EvtRawtime,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtReltime,
    EvtReltimeS,
    EvtReltimeNs,
    EvtPluginname,
    EvtPlugininfo,
    EvtHostname,
    EvtLatency,
    EvtLatencyS,
    EvtLatencyNs,
    EvtLatencyQuantized,
    EvtLatencyHuman,
    EvtDeltatime,
    EvtDeltatimeS,
    EvtDeltatimeNs,
    EvtDir,
    EvtType,
    EvtTypeIs,
    SyscallType,
    EvtCategory,
    EvtCpu,
    EvtArgs,
    EvtArg,
    EvtRawarg,
    EvtInfo,
    EvtBuffer,
    EvtBuflen,
    EvtBuflenIn,
    EvtBuflenOut,
    EvtBuflenFile,
    EvtBuflenFileIn,
    EvtBuflenFileOut,
    EvtBuflenNet,
    EvtBuflenNetIn,
    EvtBuflenNetOut,
    EvtRes,
    EvtRawres,
    EvtFailed,
    EvtIsIo,
    EvtIsIoRead,
    EvtIsIoWrite,
    EvtIoDir,
    EvtIsWait,
    EvtWaitLatency,
    EvtIsSyslog,
    EvtCount,
    EvtCountError,
    EvtCountErrorFile,
    EvtCountErrorNet,
    EvtCountErrorMemory,
    EvtCountErrorOther,
    EvtCountExit,
    EvtCountProcinfo,
    EvtCountThreadinfo,
    EvtAround,
    EvtAbspath,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtIsOpenExec,
    ProcPid,
    ProcExe,
    ProcName,
    ProcArgs,
    ProcEnv,
    ProcCmdline,
    ProcExeline,
    ProcCwd,
    ProcNthreads,
    ProcNchilds,
    ProcPpid,
    ProcPname,
    ProcPcmdline,
    ProcApid,
    ProcAname,
    ProcLoginshellid,
    ProcDuration,
    ProcFdopencount,
    ProcFdlimit,
    ProcFdusage,
    ProcVmsize,
    ProcVmrss,
    ProcVmswap,
    ThreadPfmajor,
    ThreadPfminor,
    ThreadTid,
    ThreadNametid,
    ThreadIsmain,
    ThreadExectime,
    ThreadTotexectime,
    ThreadCgroups,
    ThreadCgroup,
    ThreadVtid,
    ProcVpid,
    ThreadCpu,
    ThreadCpuUser,
    ThreadCpuSystem,
    ThreadVmsize,
    ThreadVmrss,
    ThreadVmsizeB,
    ThreadVmrssB,
    ProcSid,
    ProcSname,
    ProcTty,
    ProcExepath,
    ProcVpgid,
    ProcIsContainerHealthcheck,
    ProcIsContainerLivenessProbe,
    ProcIsContainerReadinessProbe,
    ProcIsExeWritable,
    ProcPexe,
    ProcAexe,
    ProcPexepath,
    ProcAexepath,
    ProcExeIno,
    ProcExeInoCtime,
    ProcExeInoMtime,
    ProcExeInoCtimeDurationProcStart,
    ProcIsExeUpperLayer,
    ProcIsExeFromMemfd,
    ProcIsSidLeader,
    ProcIsVpgidLeader,
    ProcVpgidName,
    ProcVpgidExe,
    ProcVpgidExepath,
    ProcPpidDuration,
    ThreadCapPermitted,
    ThreadCapInheritable,
    ThreadCapEffective,
    ProcStdinType,
    ProcStdoutType,
    ProcStderrType,
    ProcStdinName,
    ProcStdoutName,
    ProcStderrName,
    UserUid,
    UserName,
    UserHomedir,
    UserShell,
    UserLoginuid,
    UserLoginname,
    GroupGid,
    GroupName,
    ContainerId,
    ContainerName,
    ContainerImage,
    ContainerImageId,
    ContainerType,
    ContainerPrivileged,
    ContainerMounts,
    ContainerMount,
    ContainerMountSource,
    ContainerMountDest,
    ContainerMountMode,
    ContainerMountRdwr,
    ContainerMountPropagation,
    ContainerImageRepository,
    ContainerImageTag,
    ContainerImageDigest,
    ContainerHealthcheck,
    ContainerLivenessProbe,
    ContainerReadinessProbe,
    ContainerStartTs,
    ContainerFullId,
    ContainerIp,
    ContainerHostPid,
    ContainerHostNetwork,
    FdNum,
    FdType,
    FdTypechar,
    FdName,
    FdDirectory,
    FdFilename,
    FdIp,
    FdCip,
    FdSip,
    FdLip,
    FdRip,
    FdPort,
    FdCport,
    FdSport,
    FdLport,
    FdRport,
    FdL4proto,
    FdSockfamily,
    FdIsServer,
    FdUid,
    FdContainername,
    FdContainerdirectory,
    FdProto,
    FdCproto,
    FdSproto,
    FdLproto,
    FdRproto,
    FdNet,
    FdCnet,
    FdSnet,
    FdLnet,
    FdRnet,
    FdConnected,
    FdNameChanged,
    FdCipName,
    FdSipName,
    FdLipName,
    FdRipName,
    FdDev,
    FdDevMajor,
    FdDevMinor,
    FdNameraw,
    FdTypes,
    SyslogFacilityStr,
    SyslogFacility,
    SyslogSeverityStr,
    SyslogSeverity,
    SyslogMessage,
    FdlistNums,
    FdlistNames,
    FdlistCips,
    FdlistSips,
    FdlistCports,
    FdlistSports,
    K8sPodName,
    K8sPodId,
    K8sPodLabel,
    K8sPodLabels,
    K8sRcName,
    K8sRcId,
    K8sRcLabel,
    K8sRcLabels,
    K8sSvcName,
    K8sSvcId,
    K8sSvcLabel,
    K8sSvcLabels,
    K8sNsName,
    K8sNsId,
    K8sNsLabel,
    K8sNsLabels,
    K8sRsName,
    K8sRsId,
    K8sRsLabel,
    K8sRsLabels,
    K8sDeploymentName,
    K8sDeploymentId,
    K8sDeploymentLabel,
    K8sDeploymentLabels,
    K8sPodUid,
}

/// Number of fields in the catalogue.
pub const FIELD_COUNT: usize = 254;

/// Every field of the catalogue, indexed by [`FieldId`] (listing order within each class).
pub static FIELDS: [FieldDef; FIELD_COUNT] = [
    field(FieldId::EvtNum, "evt.num", Class::EvtAll, T::Uint64, F::NONE, "sequence number of the event in the capture."),
    field(FieldId::EvtTime, "evt.time", Class::EvtAll, T::CharBuf, F::TIME_STRING, "time of the event as a clock string with nanoseconds."),
    field(FieldId::EvtTimeS, "evt.time.s", Class::EvtAll, T::CharBuf, F::TIME_STRING, "time of the event as a clock string, whole seconds only."),
    field(FieldId::EvtTimeIso8601, "evt.time.iso8601", Class::EvtAll, T::CharBuf, F::TIME_STRING, "time of the event in ISO 8601 form, with nanoseconds and the UTC offset."),
    field(FieldId::EvtDatetime, "evt.datetime", Class::EvtAll, T::CharBuf, F::TIME_STRING, "date and time of the event as a string, with nanoseconds."),
    field(FieldId::EvtDatetimeS, "evt.datetime.s", Class::EvtAll, T::CharBuf, F::TIME_STRING, "date and time of the event as a string, whole seconds only."),
    field(FieldId::EvtOutputtime, "evt.outputtime", Class::EvtAll, T::CharBuf, F::HIDDEN.with(F::TIME_STRING), "time of the event rendered according to the -t timestamp mode."),
    field(FieldId::EvtRawtime, "evt.rawtime", Class::EvtAll, T::AbsTime, F::NONE, "time of the event in nanoseconds since the Unix epoch."),
    field(FieldId::EvtRawtimeS, "evt.rawtime.s", Class::EvtAll, T::AbsTime, F::NONE, "seconds part of the event time since the Unix epoch."),
    field(FieldId::EvtRawtimeNs, "evt.rawtime.ns", Class::EvtAll, T::AbsTime, F::PAD9, "nanoseconds part of the event time since the Unix epoch."),
    field(FieldId::EvtReltime, "evt.reltime", Class::EvtAll, T::RelTime, F::PAD9, "nanoseconds elapsed between the start of the capture and the event."),
    field(FieldId::EvtReltimeS, "evt.reltime.s", Class::EvtAll, T::RelTime, F::NONE, "seconds part of the time elapsed since the start of the capture."),
    field(FieldId::EvtReltimeNs, "evt.reltime.ns", Class::EvtAll, T::RelTime, F::PAD9, "nanoseconds part of the time elapsed since the start of the capture."),
    field(FieldId::EvtPluginname, "evt.pluginname", Class::EvtAll, T::CharBuf, F::NONE, "for plugin events, the name of the (loaded) plugin that produced the event."),
    field(FieldId::EvtPlugininfo, "evt.plugininfo", Class::EvtAll, T::CharBuf, F::NONE, "for plugin events, the one-line summary that the (loaded) plugin renders for the event."),
    field(FieldId::EvtHostname, "evt.hostname", Class::EvtAll, T::CharBuf, NEW, "host name of the machine the events come from (from the capture's machine information, or set by the consumer as Falco's FALCO_HOSTNAME does)."),
    field(FieldId::EvtLatency, "evt.latency", Class::EvtSyscall, T::RelTime, F::NONE, "for exit events, the nanoseconds elapsed since the matching enter event."),
    field(FieldId::EvtLatencyS, "evt.latency.s", Class::EvtSyscall, T::RelTime, F::NONE, "seconds part of the latency of an exit event."),
    field(FieldId::EvtLatencyNs, "evt.latency.ns", Class::EvtSyscall, T::RelTime, F::PAD9, "nanoseconds part of the latency of an exit event."),
    field(FieldId::EvtLatencyQuantized, "evt.latency.quantized", Class::EvtSyscall, T::Uint64, F::HIDDEN, "the latency of an exit event on a logarithmic scale, for histograms."),
    field(FieldId::EvtLatencyHuman, "evt.latency.human", Class::EvtSyscall, T::CharBuf, F::NONE, "the latency of an exit event as a short readable duration such as 12.5us."),
    field(FieldId::EvtDeltatime, "evt.deltatime", Class::EvtSyscall, T::RelTime, F::NONE, "nanoseconds elapsed since the previous event."),
    field(FieldId::EvtDeltatimeS, "evt.deltatime.s", Class::EvtSyscall, T::RelTime, F::NONE, "seconds part of the time elapsed since the previous event."),
    field(FieldId::EvtDeltatimeNs, "evt.deltatime.ns", Class::EvtSyscall, T::RelTime, F::PAD9, "nanoseconds part of the time elapsed since the previous event."),
    field(FieldId::EvtDir, "evt.dir", Class::EvtSyscall, T::CharBuf, F::NONE, "direction of the event: '>' when entering a call, '<' when leaving it."),
    field(FieldId::EvtType, "evt.type", Class::EvtSyscall, T::CharBuf, F::NONE, "the event name, such as 'read' or 'execve'."),
    field(FieldId::EvtTypeIs, "evt.type.is", Class::EvtSyscall, T::Uint32, F::ARG_REQUIRED.with(F::ARG_NAME), "1 when the event has the name given after the dot (evt.type.is.read), 0 otherwise."),
    field(FieldId::SyscallType, "syscall.type", Class::EvtSyscall, T::CharBuf, F::NONE, "for system call events only, the name of the system call; not set for scheduler, internal and other non-syscall events."),
    field(FieldId::EvtCategory, "evt.category", Class::EvtSyscall, T::CharBuf, F::NONE, "the broad category of the event, such as 'file', 'net', 'memory' or 'process'."),
    field(FieldId::EvtCpu, "evt.cpu", Class::EvtSyscall, T::Int16, F::NONE, "index of the CPU on which the event was captured."),
    field(FieldId::EvtArgs, "evt.args", Class::EvtSyscall, T::CharBuf, F::NONE, "every argument of the event, rendered as name=value pairs in one string."),
    field(FieldId::EvtArg, "evt.arg", Class::EvtSyscall, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_INDEX).with(F::ARG_NAME).with(F::ARG_KEY), "a single event argument, picked by name (evt.arg.fd) or by position (evt.arg[0]), rendered as text with file descriptors and error codes resolved where possible."),
    field(FieldId::EvtRawarg, "evt.rawarg", Class::EvtSyscall, T::Dyn, F::ARG_REQUIRED.with(F::ARG_NAME).with(F::ARG_KEY), "a single event argument picked by name (evt.rawarg.size), as its raw value without rendering."),
    field(FieldId::EvtInfo, "evt.info", Class::EvtSyscall, T::CharBuf, F::NONE, "the event arguments as evt.args shows them, except for events that sysdig decodes further, such as syslog writes."),
    field(FieldId::EvtBuffer, "evt.buffer", Class::EvtSyscall, T::ByteBuf, F::NONE, "the data buffer of I/O events such as read or sendto; use 'contains' in filters to search the payload."),
    field(FieldId::EvtBuflen, "evt.buflen", Class::EvtSyscall, T::Uint64, F::NONE, "size of the data buffer of I/O events such as read or sendto."),
    field(FieldId::EvtBuflenIn, "evt.buflen.in", Class::EvtSyscall, T::Uint64, F::HIDDEN, "size of the data buffer, for input I/O events only."),
    field(FieldId::EvtBuflenOut, "evt.buflen.out", Class::EvtSyscall, T::Uint64, F::HIDDEN, "size of the data buffer, for output I/O events only."),
    field(FieldId::EvtBuflenFile, "evt.buflen.file", Class::EvtSyscall, T::Uint64, F::HIDDEN, "size of the data buffer, for file I/O events only."),
    field(FieldId::EvtBuflenFileIn, "evt.buflen.file.in", Class::EvtSyscall, T::Uint64, F::HIDDEN, "size of the data buffer, for file input events only."),
    field(FieldId::EvtBuflenFileOut, "evt.buflen.file.out", Class::EvtSyscall, T::Uint64, F::HIDDEN, "size of the data buffer, for file output events only."),
    field(FieldId::EvtBuflenNet, "evt.buflen.net", Class::EvtSyscall, T::Uint64, F::HIDDEN, "size of the data buffer, for network I/O events only."),
    field(FieldId::EvtBuflenNetIn, "evt.buflen.net.in", Class::EvtSyscall, T::Uint64, F::HIDDEN, "size of the data buffer, for network input events only."),
    field(FieldId::EvtBuflenNetOut, "evt.buflen.net.out", Class::EvtSyscall, T::Uint64, F::HIDDEN, "size of the data buffer, for network output events only."),
    field(FieldId::EvtRes, "evt.res", Class::EvtSyscall, T::CharBuf, F::NONE, "result of the call as text: 'SUCCESS', or the error name (such as 'EACCES') when it failed."),
    field(FieldId::EvtRawres, "evt.rawres", Class::EvtSyscall, T::Int64, F::NONE, "result of the call as a signed number (negative errno on failure), handy for range checks."),
    field(FieldId::EvtFailed, "evt.failed", Class::EvtSyscall, T::Bool, F::NONE, "true when the call returned an error."),
    field(FieldId::EvtIsIo, "evt.is_io", Class::EvtSyscall, T::Bool, F::NONE, "true for events that read from or write to a file descriptor."),
    field(FieldId::EvtIsIoRead, "evt.is_io_read", Class::EvtSyscall, T::Bool, F::NONE, "true for events that read from a file descriptor, such as read or recvmsg."),
    field(FieldId::EvtIsIoWrite, "evt.is_io_write", Class::EvtSyscall, T::Bool, F::NONE, "true for events that write to a file descriptor, such as write or sendmsg."),
    field(FieldId::EvtIoDir, "evt.io_dir", Class::EvtSyscall, T::CharBuf, F::NONE, "'r' for events that read from a file descriptor, 'w' for events that write to one."),
    field(FieldId::EvtIsWait, "evt.is_wait", Class::EvtSyscall, T::Bool, F::NONE, "true for events that put the thread to sleep, such as nanosleep, poll or select."),
    field(FieldId::EvtWaitLatency, "evt.wait_latency", Class::EvtSyscall, T::RelTime, F::NONE, "for waiting events such as nanosleep or poll, the nanoseconds spent blocked."),
    field(FieldId::EvtIsSyslog, "evt.is_syslog", Class::EvtSyscall, T::Bool, F::NONE, "true for events that write to the /dev/log socket."),
    field(FieldId::EvtCount, "evt.count", Class::EvtSyscall, T::Uint32, F::NONE, "always 1; sum it in chisels and tables to count events."),
    field(FieldId::EvtCountError, "evt.count.error", Class::EvtSyscall, T::Uint32, F::NONE, "1 when the event returned an error, for counting failures."),
    field(FieldId::EvtCountErrorFile, "evt.count.error.file", Class::EvtSyscall, T::Uint32, F::NONE, "1 when a file I/O event returned an error, for counting failures."),
    field(FieldId::EvtCountErrorNet, "evt.count.error.net", Class::EvtSyscall, T::Uint32, F::NONE, "1 when a network I/O event returned an error, for counting failures."),
    field(FieldId::EvtCountErrorMemory, "evt.count.error.memory", Class::EvtSyscall, T::Uint32, F::NONE, "1 when a memory management event returned an error, for counting failures."),
    field(FieldId::EvtCountErrorOther, "evt.count.error.other", Class::EvtSyscall, T::Uint32, F::NONE, "1 when an event outside the file, network and memory groups returned an error, for counting failures."),
    field(FieldId::EvtCountExit, "evt.count.exit", Class::EvtSyscall, T::Uint32, F::NONE, "1 for exit events, for counting calls once each."),
    field(FieldId::EvtCountProcinfo, "evt.count.procinfo", Class::EvtSyscall, T::Uint32, F::HIDDEN, "1 for the periodic process information events, for counting them."),
    field(FieldId::EvtCountThreadinfo, "evt.count.threadinfo", Class::EvtSyscall, T::Uint32, F::HIDDEN, "1 for the periodic thread information events, for counting them."),
    field(FieldId::EvtAround, "evt.around", Class::EvtSyscall, T::Uint64, F::FILTER_ONLY.with(F::ARG_REQUIRED).with(F::ARG_INDEX), "keeps the events close to a moment: evt.around[T]=D matches the events at most D milliseconds before or after the timestamp T (as printed by %evt.rawtime)."),
    field(FieldId::EvtAbspath, "evt.abspath", Class::EvtSyscall, T::CharBuf, F::ARG_ALLOWED.with(F::ARG_NAME), "absolute path built from a directory fd and a relative name, for calls such as unlinkat or symlinkat; use evt.abspath.src and evt.abspath.dst for calls that take two paths."),
    field(FieldId::EvtIsOpenRead, "evt.is_open_read", Class::EvtSyscall, T::Bool, F::NONE, "true for open, openat and openat2 events that opened the path for reading."),
    field(FieldId::EvtIsOpenWrite, "evt.is_open_write", Class::EvtSyscall, T::Bool, F::NONE, "true for open, openat and openat2 events that opened the path for writing."),
    field(FieldId::EvtIsOpenExec, "evt.is_open_exec", Class::EvtSyscall, T::Bool, F::NONE, "true for open, openat, openat2 and creat events that created a file with an execute permission bit."),
    field(FieldId::ProcPid, "proc.pid", Class::Process, T::Int64, F::NONE, "process id of the process that generated the event."),
    field(FieldId::ProcExe, "proc.exe", Class::Process, T::CharBuf, F::NONE, "first command line argument of the process, normally the path or name it was started as."),
    field(FieldId::ProcName, "proc.name", Class::Process, T::CharBuf, F::NONE, "name of the executable of the process, without the directory."),
    field(FieldId::ProcArgs, "proc.args", Class::Process, T::CharBuf, F::NONE, "command line arguments of the process, after the executable."),
    field(FieldId::ProcEnv, "proc.env", Class::Process, T::CharBuf, F::NONE, "environment variables of the process."),
    field(FieldId::ProcCmdline, "proc.cmdline", Class::Process, T::CharBuf, F::NONE, "command line of the process: proc.name followed by proc.args."),
    field(FieldId::ProcExeline, "proc.exeline", Class::Process, T::CharBuf, F::NONE, "command line of the process with proc.exe first: proc.exe followed by proc.args."),
    field(FieldId::ProcCwd, "proc.cwd", Class::Process, T::CharBuf, F::NONE, "current working directory of the process."),
    field(FieldId::ProcNthreads, "proc.nthreads", Class::Process, T::Uint32, F::NONE, "number of threads of the process, the main thread included."),
    field(FieldId::ProcNchilds, "proc.nchilds", Class::Process, T::Uint32, F::NONE, "number of threads of the process other than the main thread."),
    field(FieldId::ProcPpid, "proc.ppid", Class::Process, T::Int64, F::NONE, "process id of the parent process."),
    field(FieldId::ProcPname, "proc.pname", Class::Process, T::CharBuf, F::NONE, "executable name of the parent process, without the directory."),
    field(FieldId::ProcPcmdline, "proc.pcmdline", Class::Process, T::CharBuf, F::NONE, "command line of the parent process (its proc.name and proc.args)."),
    field(FieldId::ProcApid, "proc.apid", Class::Process, T::Int64, F::ARG_ALLOWED.with(F::ARG_INDEX), "process id of an ancestor: proc.apid[0] is this process, [1] its parent, [2] the grandparent and so on. Without an index, a filter matches when any ancestor has the value."),
    field(FieldId::ProcAname, "proc.aname", Class::Process, T::CharBuf, F::ARG_ALLOWED.with(F::ARG_INDEX), "executable name of an ancestor: proc.aname[0] is this process, [1] its parent, [2] the grandparent and so on. Without an index, a filter matches when any ancestor has the value."),
    field(FieldId::ProcLoginshellid, "proc.loginshellid", Class::Process, T::Int64, F::NONE, "process id of the outermost shell among the ancestors, if any; tells interactive sessions apart."),
    field(FieldId::ProcDuration, "proc.duration", Class::Process, T::RelTime, F::NONE, "nanoseconds since the process was started."),
    field(FieldId::ProcFdopencount, "proc.fdopencount", Class::Process, T::Uint64, F::NONE, "number of file descriptors the process has open."),
    field(FieldId::ProcFdlimit, "proc.fdlimit", Class::Process, T::Int64, F::NONE, "maximum number of file descriptors the process may open."),
    field(FieldId::ProcFdusage, "proc.fdusage", Class::Process, T::Double, F::NONE, "open file descriptors of the process as a fraction of its limit."),
    field(FieldId::ProcVmsize, "proc.vmsize", Class::Process, T::Uint64, F::NONE, "virtual memory size of the process, in kilobytes."),
    field(FieldId::ProcVmrss, "proc.vmrss", Class::Process, T::Uint64, F::NONE, "resident (non-swapped) memory of the process, in kilobytes."),
    field(FieldId::ProcVmswap, "proc.vmswap", Class::Process, T::Uint64, F::NONE, "swapped-out memory of the process, in kilobytes."),
    field(FieldId::ThreadPfmajor, "thread.pfmajor", Class::Process, T::Uint64, F::NONE, "major page faults of the thread since it started."),
    field(FieldId::ThreadPfminor, "thread.pfminor", Class::Process, T::Uint64, F::NONE, "minor page faults of the thread since it started."),
    field(FieldId::ThreadTid, "thread.tid", Class::Process, T::Int64, F::NONE, "thread id of the thread that generated the event."),
    field(FieldId::ThreadNametid, "thread.nametid", Class::Process, T::CharBuf, F::HIDDEN, "process name and thread id of the thread, joined into one string."),
    field(FieldId::ThreadIsmain, "thread.ismain", Class::Process, T::Bool, F::NONE, "true when the thread is the main thread of its process."),
    field(FieldId::ThreadExectime, "thread.exectime", Class::Process, T::RelTime, F::NONE, "on context switch events, the CPU nanoseconds used by the thread being switched out."),
    field(FieldId::ThreadTotexectime, "thread.totexectime", Class::Process, T::RelTime, F::NONE, "on context switch events, the total CPU nanoseconds the thread has used since the capture started."),
    field(FieldId::ThreadCgroups, "thread.cgroups", Class::Process, T::CharBuf, F::NONE, "every cgroup of the thread, as subsystem=path pairs in one string."),
    field(FieldId::ThreadCgroup, "thread.cgroup", Class::Process, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_NAME), "the cgroup of the thread for the subsystem named after the dot, for example thread.cgroup.memory."),
    field(FieldId::ThreadVtid, "thread.vtid", Class::Process, T::Int64, F::NONE, "thread id as seen inside the PID namespace of the thread."),
    field(FieldId::ProcVpid, "proc.vpid", Class::Process, T::Int64, F::NONE, "process id as seen inside the PID namespace of the process."),
    field(FieldId::ThreadCpu, "thread.cpu", Class::Process, T::Double, F::NONE, "CPU used by the thread during the last second."),
    field(FieldId::ThreadCpuUser, "thread.cpu.user", Class::Process, T::Double, F::NONE, "user-mode CPU used by the thread during the last second."),
    field(FieldId::ThreadCpuSystem, "thread.cpu.system", Class::Process, T::Double, F::NONE, "kernel-mode CPU used by the thread during the last second."),
    field(FieldId::ThreadVmsize, "thread.vmsize", Class::Process, T::Uint64, F::NONE, "virtual memory size of the process in kilobytes, reported on its main thread only (0 for the others)."),
    field(FieldId::ThreadVmrss, "thread.vmrss", Class::Process, T::Uint64, F::NONE, "resident memory of the process in kilobytes, reported on its main thread only (0 for the others)."),
    field(FieldId::ThreadVmsizeB, "thread.vmsize.b", Class::Process, T::Uint64, F::HIDDEN, "as thread.vmsize, in bytes."),
    field(FieldId::ThreadVmrssB, "thread.vmrss.b", Class::Process, T::Uint64, F::HIDDEN, "as thread.vmrss, in bytes."),
    field(FieldId::ProcSid, "proc.sid", Class::Process, T::Int64, F::NONE, "session id of the process."),
    field(FieldId::ProcSname, "proc.sname", Class::Process, T::CharBuf, F::NONE, "name of the session leader of the process: the process whose pid is proc.sid, or else the oldest ancestor in the same session."),
    field(FieldId::ProcTty, "proc.tty", Class::Process, T::Int32, F::NONE, "controlling terminal of the process, 0 when it has none."),
    field(FieldId::ProcExepath, "proc.exepath", Class::Process, T::CharBuf, F::NONE, "full path of the executable file of the process."),
    field(FieldId::ProcVpgid, "proc.vpgid", Class::Process, T::Int64, F::NONE, "process group id as seen inside the PID namespace of the process."),
    field(FieldId::ProcIsContainerHealthcheck, "proc.is_container_healthcheck", Class::Process, T::Bool, F::NONE, "true when the process runs as part of a container health check."),
    field(FieldId::ProcIsContainerLivenessProbe, "proc.is_container_liveness_probe", Class::Process, T::Bool, F::NONE, "true when the process runs as part of a container liveness probe."),
    field(FieldId::ProcIsContainerReadinessProbe, "proc.is_container_readiness_probe", Class::Process, T::Bool, F::NONE, "true when the process runs as part of a container readiness probe."),
    field(FieldId::ProcIsExeWritable, "proc.is_exe_writable", Class::Process, T::Bool, F::NONE, "true when the user that started the process can write to its executable file."),
    field(FieldId::ProcPexe, "proc.pexe", Class::Process, T::CharBuf, NEW, "proc.exe (argv[0]) of the parent process."),
    field(FieldId::ProcAexe, "proc.aexe", Class::Process, T::CharBuf, NEW.with(F::ARG_ALLOWED).with(F::ARG_INDEX), "proc.exe (argv[0]) of an ancestor: proc.aexe[0] is this process, [1] its parent and so on. Without an index, a filter matches when any ancestor has the value."),
    field(FieldId::ProcPexepath, "proc.pexepath", Class::Process, T::CharBuf, NEW, "proc.exepath (full executable path) of the parent process."),
    field(FieldId::ProcAexepath, "proc.aexepath", Class::Process, T::CharBuf, NEW.with(F::ARG_ALLOWED).with(F::ARG_INDEX), "proc.exepath of an ancestor: proc.aexepath[0] is this process, [1] its parent and so on. Without an index, a filter matches when any ancestor has the value."),
    field(FieldId::ProcExeIno, "proc.exe_ino", Class::Process, T::Int64, NEW, "inode number of the executable file of the process."),
    field(FieldId::ProcExeInoCtime, "proc.exe_ino.ctime", Class::Process, T::AbsTime, NEW, "last status change time (ctime) of the executable file, in nanoseconds since the epoch."),
    field(FieldId::ProcExeInoMtime, "proc.exe_ino.mtime", Class::Process, T::AbsTime, NEW, "last modification time (mtime) of the executable file, in nanoseconds since the epoch."),
    field(FieldId::ProcExeInoCtimeDurationProcStart, "proc.exe_ino.ctime_duration_proc_start", Class::Process, T::AbsTime, NEW, "nanoseconds between the last status change of the executable file and the start of the process that runs it."),
    field(FieldId::ProcIsExeUpperLayer, "proc.is_exe_upper_layer", Class::Process, T::Bool, NEW, "true when the executable file lives in the upper (writable) layer of an overlay file system, as files written into a container do."),
    field(FieldId::ProcIsExeFromMemfd, "proc.is_exe_from_memfd", Class::Process, T::Bool, NEW, "true when the executable is an anonymous memory file (memfd_create) run through its file descriptor."),
    field(FieldId::ProcIsSidLeader, "proc.is_sid_leader", Class::Process, T::Bool, NEW, "true when the process leads its session (proc.sid equals proc.vpid)."),
    field(FieldId::ProcIsVpgidLeader, "proc.is_vpgid_leader", Class::Process, T::Bool, NEW, "true when the process leads its process group (proc.vpgid equals proc.vpid), as a command typed in a shell does."),
    field(FieldId::ProcVpgidName, "proc.vpgid.name", Class::Process, T::CharBuf, NEW, "proc.name of the leader of the process group: the process whose pid is proc.vpgid, or else the oldest ancestor in the same group."),
    field(FieldId::ProcVpgidExe, "proc.vpgid.exe", Class::Process, T::CharBuf, NEW, "proc.exe of the leader of the process group."),
    field(FieldId::ProcVpgidExepath, "proc.vpgid.exepath", Class::Process, T::CharBuf, NEW, "proc.exepath of the leader of the process group."),
    field(FieldId::ProcPpidDuration, "proc.ppid.duration", Class::Process, T::RelTime, NEW, "nanoseconds since the parent process was started."),
    field(FieldId::ThreadCapPermitted, "thread.cap_permitted", Class::Process, T::CharBuf, NEW, "permitted capabilities of the thread, as names (CAP_CHOWN ...) separated by spaces."),
    field(FieldId::ThreadCapInheritable, "thread.cap_inheritable", Class::Process, T::CharBuf, NEW, "inheritable capabilities of the thread, as names separated by spaces."),
    field(FieldId::ThreadCapEffective, "thread.cap_effective", Class::Process, T::CharBuf, NEW, "effective capabilities of the thread, as names separated by spaces."),
    field(FieldId::ProcStdinType, "proc.stdin.type", Class::Process, T::CharBuf, NEW, "kind (as fd.type) of the process's standard input, fd 0."),
    field(FieldId::ProcStdoutType, "proc.stdout.type", Class::Process, T::CharBuf, NEW, "kind (as fd.type) of the process's standard output, fd 1."),
    field(FieldId::ProcStderrType, "proc.stderr.type", Class::Process, T::CharBuf, NEW, "kind (as fd.type) of the process's standard error, fd 2."),
    field(FieldId::ProcStdinName, "proc.stdin.name", Class::Process, T::CharBuf, NEW, "name (as fd.name) of the process's standard input, fd 0."),
    field(FieldId::ProcStdoutName, "proc.stdout.name", Class::Process, T::CharBuf, NEW, "name (as fd.name) of the process's standard output, fd 1."),
    field(FieldId::ProcStderrName, "proc.stderr.name", Class::Process, T::CharBuf, NEW, "name (as fd.name) of the process's standard error, fd 2."),
    field(FieldId::UserUid, "user.uid", Class::User, T::Uint32, F::NONE, "numeric id of the user."),
    field(FieldId::UserName, "user.name", Class::User, T::CharBuf, F::NONE, "name of the user."),
    field(FieldId::UserHomedir, "user.homedir", Class::User, T::CharBuf, F::NONE, "home directory of the user."),
    field(FieldId::UserShell, "user.shell", Class::User, T::CharBuf, F::NONE, "login shell of the user."),
    field(FieldId::UserLoginuid, "user.loginuid", Class::User, T::Int32, F::NONE, "audit login user id (auid) of the process."),
    field(FieldId::UserLoginname, "user.loginname", Class::User, T::CharBuf, F::NONE, "name of the audit login user (auid) of the process."),
    field(FieldId::GroupGid, "group.gid", Class::Group, T::Uint64, F::NONE, "numeric id of the group."),
    field(FieldId::GroupName, "group.name", Class::Group, T::CharBuf, F::NONE, "name of the group."),
    field(FieldId::ContainerId, "container.id", Class::Container, T::CharBuf, F::NONE, "id of the container, or 'host' outside containers."),
    field(FieldId::ContainerName, "container.name", Class::Container, T::CharBuf, F::NONE, "name of the container, or 'host' outside containers."),
    field(FieldId::ContainerImage, "container.image", Class::Container, T::CharBuf, F::NONE, "image of the container, such as library/nginx:latest."),
    field(FieldId::ContainerImageId, "container.image.id", Class::Container, T::CharBuf, F::NONE, "id of the container image."),
    field(FieldId::ContainerType, "container.type", Class::Container, T::CharBuf, F::NONE, "container runtime, such as docker or cri-o."),
    field(FieldId::ContainerPrivileged, "container.privileged", Class::Container, T::Bool, F::NONE, "true when the container runs privileged."),
    field(FieldId::ContainerMounts, "container.mounts", Class::Container, T::CharBuf, F::NONE, "the mounts of the container, separated by commas, each as source:dest:mode:rdrw:propagation."),
    field(FieldId::ContainerMount, "container.mount", Class::Container, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_INDEX).with(F::ARG_KEY), "one mount of the container, picked by position (container.mount[0]) or by source path or glob (container.mount[/var/*]), as source:dest:mode:rdrw:propagation; no value when nothing matches."),
    field(FieldId::ContainerMountSource, "container.mount.source", Class::Container, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_INDEX).with(F::ARG_KEY), "source of one mount, picked by position or by destination path or glob."),
    field(FieldId::ContainerMountDest, "container.mount.dest", Class::Container, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_INDEX).with(F::ARG_KEY), "destination of one mount, picked by position or by source path or glob."),
    field(FieldId::ContainerMountMode, "container.mount.mode", Class::Container, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_INDEX).with(F::ARG_KEY), "mode of one mount, picked by position or by source path or glob."),
    field(FieldId::ContainerMountRdwr, "container.mount.rdwr", Class::Container, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_INDEX).with(F::ARG_KEY), "read-write flag of one mount, picked by position or by source path or glob."),
    field(FieldId::ContainerMountPropagation, "container.mount.propagation", Class::Container, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_INDEX).with(F::ARG_KEY), "propagation mode of one mount, picked by position or by source path or glob."),
    field(FieldId::ContainerImageRepository, "container.image.repository", Class::Container, T::CharBuf, F::NONE, "repository part of the container image name."),
    field(FieldId::ContainerImageTag, "container.image.tag", Class::Container, T::CharBuf, F::NONE, "tag part of the container image name, such as latest."),
    field(FieldId::ContainerImageDigest, "container.image.digest", Class::Container, T::CharBuf, F::NONE, "registry digest of the container image."),
    field(FieldId::ContainerHealthcheck, "container.healthcheck", Class::Container, T::CharBuf, F::NONE, "health check command of the container, as the command and its arguments separated by spaces; 'NONE' when none is set."),
    field(FieldId::ContainerLivenessProbe, "container.liveness_probe", Class::Container, T::CharBuf, F::NONE, "Kubernetes liveness probe command of the container; 'NONE' when none is set."),
    field(FieldId::ContainerReadinessProbe, "container.readiness_probe", Class::Container, T::CharBuf, F::NONE, "Kubernetes readiness probe command of the container; 'NONE' when none is set."),
    field(FieldId::ContainerStartTs, "container.start_ts", Class::Container, T::AbsTime, NEW, "start of the container, in nanoseconds since the epoch: the start of the init process of the pid namespace of the process; no value on the host."),
    field(FieldId::ContainerFullId, "container.full_id", Class::Container, T::CharBuf, NEW, "the full id of the container (64 hex digits for Docker and CRI runtimes), or 'host' outside containers."),
    field(FieldId::ContainerIp, "container.ip", Class::Container, T::CharBuf, NEW, "IPv4 address of the container as the runtime reports it."),
    field(FieldId::ContainerHostPid, "container.host_pid", Class::Container, T::Bool, NEW, "true when the container shares the host's pid namespace."),
    field(FieldId::ContainerHostNetwork, "container.host_network", Class::Container, T::Bool, NEW, "true when the container shares the host's network namespace."),
    field(FieldId::FdNum, "fd.num", Class::Fd, T::Int64, F::NONE, "number of the file descriptor."),
    field(FieldId::FdType, "fd.type", Class::Fd, T::CharBuf, F::NONE, "kind of file descriptor: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify and so on."),
    field(FieldId::FdTypechar, "fd.typechar", Class::Fd, T::CharBuf, F::NONE, "kind of file descriptor as one letter: f file, 4 IPv4, 6 IPv6, u unix, p pipe, e eventfd, s signalfd, l eventpoll, i inotify, o other."),
    field(FieldId::FdName, "fd.name", Class::Fd, T::CharBuf, F::NONE, "full name of the file descriptor: the path for files, the connection tuple for sockets."),
    field(FieldId::FdDirectory, "fd.directory", Class::Fd, T::CharBuf, F::NONE, "for files, the directory that holds the file."),
    field(FieldId::FdFilename, "fd.filename", Class::Fd, T::CharBuf, F::NONE, "for files, the file name without its directory."),
    field(FieldId::FdIp, "fd.ip", Class::Fd, T::IpAddr, F::FILTER_ONLY, "the client or the server IP address of the socket."),
    field(FieldId::FdCip, "fd.cip", Class::Fd, T::IpAddr, F::NONE, "client IP address of the socket."),
    field(FieldId::FdSip, "fd.sip", Class::Fd, T::IpAddr, F::NONE, "server IP address of the socket."),
    field(FieldId::FdLip, "fd.lip", Class::Fd, T::IpAddr, F::NONE, "local IP address of the socket."),
    field(FieldId::FdRip, "fd.rip", Class::Fd, T::IpAddr, F::NONE, "remote IP address of the socket."),
    field(FieldId::FdPort, "fd.port", Class::Fd, T::Port, F::FILTER_ONLY, "the client or the server port of the socket."),
    field(FieldId::FdCport, "fd.cport", Class::Fd, T::Port, F::NONE, "client port of a TCP or UDP socket."),
    field(FieldId::FdSport, "fd.sport", Class::Fd, T::Port, F::NONE, "server port of a TCP or UDP socket."),
    field(FieldId::FdLport, "fd.lport", Class::Fd, T::Port, F::NONE, "local port of a TCP or UDP socket."),
    field(FieldId::FdRport, "fd.rport", Class::Fd, T::Port, F::NONE, "remote port of a TCP or UDP socket."),
    field(FieldId::FdL4proto, "fd.l4proto", Class::Fd, T::CharBuf, F::NONE, "transport protocol of the socket: tcp, udp, icmp or raw."),
    field(FieldId::FdSockfamily, "fd.sockfamily", Class::Fd, T::CharBuf, F::NONE, "address family of the socket: ip or unix."),
    field(FieldId::FdIsServer, "fd.is_server", Class::Fd, T::Bool, F::NONE, "true when the process owning the descriptor is the server side of the connection."),
    field(FieldId::FdUid, "fd.uid", Class::Fd, T::CharBuf, F::NONE, "identifier of the descriptor unique in the capture, made of the thread id and the fd number."),
    field(FieldId::FdContainername, "fd.containername", Class::Fd, T::CharBuf, F::NONE, "container id joined with the descriptor name, to tell apart files of different containers."),
    field(FieldId::FdContainerdirectory, "fd.containerdirectory", Class::Fd, T::CharBuf, F::NONE, "container id joined with the directory name, to tell apart directories of different containers."),
    field(FieldId::FdProto, "fd.proto", Class::Fd, T::Port, F::FILTER_ONLY, "the client or the server protocol name of the socket."),
    field(FieldId::FdCproto, "fd.cproto", Class::Fd, T::CharBuf, F::NONE, "protocol name of the client port of a TCP or UDP socket."),
    field(FieldId::FdSproto, "fd.sproto", Class::Fd, T::CharBuf, F::NONE, "protocol name of the server port of a TCP or UDP socket."),
    field(FieldId::FdLproto, "fd.lproto", Class::Fd, T::CharBuf, F::NONE, "protocol name of the local port of a TCP or UDP socket."),
    field(FieldId::FdRproto, "fd.rproto", Class::Fd, T::CharBuf, F::NONE, "protocol name of the remote port of a TCP or UDP socket."),
    field(FieldId::FdNet, "fd.net", Class::Fd, T::IpNet, F::FILTER_ONLY, "the client or the server IP network of the socket."),
    field(FieldId::FdCnet, "fd.cnet", Class::Fd, T::IpNet, F::FILTER_ONLY, "client IP network of the socket."),
    field(FieldId::FdSnet, "fd.snet", Class::Fd, T::IpNet, F::FILTER_ONLY, "server IP network of the socket."),
    field(FieldId::FdLnet, "fd.lnet", Class::Fd, T::IpNet, F::FILTER_ONLY, "local IP network of the socket."),
    field(FieldId::FdRnet, "fd.rnet", Class::Fd, T::IpNet, F::FILTER_ONLY, "remote IP network of the socket."),
    field(FieldId::FdConnected, "fd.connected", Class::Fd, T::Bool, F::NONE, "true when a TCP or UDP socket is connected."),
    field(FieldId::FdNameChanged, "fd.name_changed", Class::Fd, T::Bool, F::NONE, "true when the event changed the name of its file descriptor, as when a UDP socket changes peer."),
    field(FieldId::FdCipName, "fd.cip.name", Class::Fd, T::CharBuf, F::NONE, "domain name of the client IP address."),
    field(FieldId::FdSipName, "fd.sip.name", Class::Fd, T::CharBuf, F::NONE, "domain name of the server IP address."),
    field(FieldId::FdLipName, "fd.lip.name", Class::Fd, T::CharBuf, F::NONE, "domain name of the local IP address."),
    field(FieldId::FdRipName, "fd.rip.name", Class::Fd, T::CharBuf, F::NONE, "domain name of the remote IP address."),
    field(FieldId::FdDev, "fd.dev", Class::Fd, T::Int32, F::NONE, "device number (major and minor) of the file system holding the file."),
    field(FieldId::FdDevMajor, "fd.dev.major", Class::Fd, T::Int32, F::NONE, "major device number of the file system holding the file."),
    field(FieldId::FdDevMinor, "fd.dev.minor", Class::Fd, T::Int32, F::NONE, "minor device number of the file system holding the file."),
    field(FieldId::FdNameraw, "fd.nameraw", Class::Fd, T::CharBuf, NEW, "for files, the path as the process passed it when opening: not made absolute, only repeated slashes folded."),
    field(FieldId::FdTypes, "fd.types", Class::Fd, T::CharBuf, NEW.with(F::ARG_ALLOWED).with(F::ARG_INDEX), "the distinct kinds (fd.type) of the file descriptors the process has open; fd.types[N] is the kind of fd N alone."),
    field(FieldId::SyslogFacilityStr, "syslog.facility.str", Class::Syslog, T::CharBuf, F::NONE, "syslog facility of the message, as a name."),
    field(FieldId::SyslogFacility, "syslog.facility", Class::Syslog, T::Uint32, F::NONE, "syslog facility of the message, as a number from 0 to 23."),
    field(FieldId::SyslogSeverityStr, "syslog.severity.str", Class::Syslog, T::CharBuf, F::NONE, "syslog severity of the message, as a name: emerg, alert, crit, err, warn, notice, info or debug."),
    field(FieldId::SyslogSeverity, "syslog.severity", Class::Syslog, T::Uint32, F::NONE, "syslog severity of the message, as a number from 0 to 7."),
    field(FieldId::SyslogMessage, "syslog.message", Class::Syslog, T::CharBuf, F::NONE, "text of the syslog message."),
    field(FieldId::FdlistNums, "fdlist.nums", Class::FdList, T::CharBuf, F::NONE, "for poll-like events, the fd numbers of the 'fds' argument, comma separated."),
    field(FieldId::FdlistNames, "fdlist.names", Class::FdList, T::CharBuf, F::NONE, "for poll-like events, the names of the fds of the 'fds' argument, comma separated."),
    field(FieldId::FdlistCips, "fdlist.cips", Class::FdList, T::CharBuf, F::NONE, "for poll-like events, the client IP addresses of the fds of the 'fds' argument, comma separated."),
    field(FieldId::FdlistSips, "fdlist.sips", Class::FdList, T::CharBuf, F::NONE, "for poll-like events, the server IP addresses of the fds of the 'fds' argument, comma separated."),
    field(FieldId::FdlistCports, "fdlist.cports", Class::FdList, T::CharBuf, F::NONE, "for poll-like events, the client ports of the TCP and UDP fds of the 'fds' argument, comma separated."),
    field(FieldId::FdlistSports, "fdlist.sports", Class::FdList, T::CharBuf, F::NONE, "for poll-like events, the server ports of the TCP and UDP fds of the 'fds' argument, comma separated."),
    field(FieldId::K8sPodName, "k8s.pod.name", Class::K8s, T::CharBuf, F::NONE, "name of the pod."),
    field(FieldId::K8sPodId, "k8s.pod.id", Class::K8s, T::CharBuf, F::NONE, "UID of the pod."),
    field(FieldId::K8sPodLabel, "k8s.pod.label", Class::K8s, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_NAME).with(F::ARG_KEY), "one label of the pod, named after a dot or in brackets: k8s.pod.label.app or k8s.pod.label[app]."),
    field(FieldId::K8sPodLabels, "k8s.pod.labels", Class::K8s, T::CharBuf, F::NONE, "every label of the pod, as key:value pairs separated by ', '."),
    field(FieldId::K8sRcName, "k8s.rc.name", Class::K8s, T::CharBuf, F::NONE, "name of the replication controller; needs the API server."),
    field(FieldId::K8sRcId, "k8s.rc.id", Class::K8s, T::CharBuf, F::NONE, "id of the replication controller; needs the API server."),
    field(FieldId::K8sRcLabel, "k8s.rc.label", Class::K8s, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_NAME).with(F::ARG_KEY), "one label of the replication controller, such as k8s.rc.label.app; needs the API server."),
    field(FieldId::K8sRcLabels, "k8s.rc.labels", Class::K8s, T::CharBuf, F::NONE, "every label of the replication controller; needs the API server."),
    field(FieldId::K8sSvcName, "k8s.svc.name", Class::K8s, T::CharBuf, F::NONE, "name of the services of the pod; needs the API server."),
    field(FieldId::K8sSvcId, "k8s.svc.id", Class::K8s, T::CharBuf, F::NONE, "ids of the services of the pod; needs the API server."),
    field(FieldId::K8sSvcLabel, "k8s.svc.label", Class::K8s, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_NAME).with(F::ARG_KEY), "one label of the services of the pod, such as k8s.svc.label.app; needs the API server."),
    field(FieldId::K8sSvcLabels, "k8s.svc.labels", Class::K8s, T::CharBuf, F::NONE, "every label of the services of the pod; needs the API server."),
    field(FieldId::K8sNsName, "k8s.ns.name", Class::K8s, T::CharBuf, F::NONE, "name of the namespace of the pod."),
    field(FieldId::K8sNsId, "k8s.ns.id", Class::K8s, T::CharBuf, F::NONE, "id of the namespace; needs the API server."),
    field(FieldId::K8sNsLabel, "k8s.ns.label", Class::K8s, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_NAME).with(F::ARG_KEY), "one label of the namespace, such as k8s.ns.label.team; needs the API server."),
    field(FieldId::K8sNsLabels, "k8s.ns.labels", Class::K8s, T::CharBuf, F::NONE, "every label of the namespace; needs the API server."),
    field(FieldId::K8sRsName, "k8s.rs.name", Class::K8s, T::CharBuf, F::NONE, "name of the replica set; needs the API server."),
    field(FieldId::K8sRsId, "k8s.rs.id", Class::K8s, T::CharBuf, F::NONE, "id of the replica set; needs the API server."),
    field(FieldId::K8sRsLabel, "k8s.rs.label", Class::K8s, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_NAME).with(F::ARG_KEY), "one label of the replica set, such as k8s.rs.label.app; needs the API server."),
    field(FieldId::K8sRsLabels, "k8s.rs.labels", Class::K8s, T::CharBuf, F::NONE, "every label of the replica set; needs the API server."),
    field(FieldId::K8sDeploymentName, "k8s.deployment.name", Class::K8s, T::CharBuf, F::NONE, "name of the deployment; needs the API server."),
    field(FieldId::K8sDeploymentId, "k8s.deployment.id", Class::K8s, T::CharBuf, F::NONE, "id of the deployment; needs the API server."),
    field(FieldId::K8sDeploymentLabel, "k8s.deployment.label", Class::K8s, T::CharBuf, F::ARG_REQUIRED.with(F::ARG_NAME).with(F::ARG_KEY), "one label of the deployment, such as k8s.deployment.label.app; needs the API server."),
    field(FieldId::K8sDeploymentLabels, "k8s.deployment.labels", Class::K8s, T::CharBuf, F::NONE, "every label of the deployment; needs the API server."),
    field(FieldId::K8sPodUid, "k8s.pod.uid", Class::K8s, T::CharBuf, NEW, "UID of the pod (the name current libs give k8s.pod.id)."),
];

/// Names accepted as aliases of other fields (csysdig views use them).
/// sysdig 0.29.3 itself rejects them in `-p` formats and filters.
pub const ALIASES: [(&str, FieldId); 3] = [
    ("proc.cpu", FieldId::ThreadCpu),
    ("fd.dport", FieldId::FdSport),
    ("fd.dproto", FieldId::FdSproto),
];

impl FieldId {
    /// The definition of this field.
    pub fn def(self) -> &'static FieldDef {
        &FIELDS[self as usize]
    }
}

/// The definition of the field with numeric id `id` (a [`FieldRef::id`]).
pub fn field_def(id: u32) -> Option<&'static FieldDef> {
    FIELDS.get(usize::try_from(id).ok()?)
}

/// The field named exactly `name` (no argument, no alias), hidden fields included.
pub fn by_name(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|f| f.name == name)
}

/// `by_name`, also accepting the [`ALIASES`].
fn by_name_or_alias(name: &str) -> Option<&'static FieldDef> {
    by_name(name).or_else(|| {
        ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map(|(_, id)| id.def())
    })
}

/// The catalogue of the syscall field classes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyscallCatalog;

impl FieldCatalog for SyscallCatalog {
    /// The address-name fields (`fd.sip.name`, ...) resolve the names they
    /// are compared with (see [`super::dns`]).
    fn note_literals(&self, field: &FieldRef, values: &[&str]) {
        let is_name = FIELDS.get(field.id as usize).is_some_and(|d| {
            matches!(
                d.id,
                FieldId::FdCipName | FieldId::FdSipName | FieldId::FdLipName | FieldId::FdRipName
            )
        });
        if is_name {
            super::dns::register(values.iter().copied());
        }
    }

    fn in_matches_any(&self, field: &FieldRef) -> bool {
        field.arg == FieldArg::None
            && FIELDS
                .get(field.id as usize)
                .is_some_and(|d| matches!(d.id, FieldId::ProcAname | FieldId::ProcApid))
    }

    /// Resolves `name` with the argument the parser split off (`proc.aname` +
    /// `Index(2)`, `evt.arg` + `Name("fd")` for `evt.arg[fd]`), or a full dotted
    /// name with `FieldArg::None` (`evt.arg.fd`, `evt.type.is.open`): the longest
    /// field name that ends at a dot boundary wins, and the rest becomes its name
    /// argument when the field takes one.
    fn resolve(&self, name: &str, arg: FieldArg) -> Result<FieldRef, FieldError> {
        if let Some(def) = by_name_or_alias(name) {
            check_bracket_arg(def, name, &arg)?;
            let shown = match &arg {
                FieldArg::None => name.to_owned(),
                FieldArg::Index(i) => format!("{name}[{i}]"),
                FieldArg::Name(s) => format!("{name}[{s}]"),
            };
            return Ok(FieldRef {
                id: u32::from(def.id as u16),
                arg,
                ty: def.ty,
                name: shown.into(),
            });
        }
        let (def, rest) = dotted_prefix(name).ok_or_else(|| unknown(name))?;
        if arg != FieldArg::None {
            return Err(bad_arg(
                def.name,
                "a field with a dotted argument takes no other argument",
            ));
        }
        check_dot_name(def, name, rest)?;
        Ok(FieldRef {
            id: u32::from(def.id as u16),
            arg: FieldArg::Name(rest.into()),
            ty: def.ty,
            name: name.into(),
        })
    }
}

/// The longest field taking a `.name` argument whose name, plus a dot, prefixes `name`.
fn dotted_prefix(name: &str) -> Option<(&'static FieldDef, &str)> {
    FIELDS
        .iter()
        .filter(|f| f.has(F::ARG_NAME))
        .filter_map(|f| {
            let rest = name.strip_prefix(f.name)?.strip_prefix('.')?;
            Some((f, rest))
        })
        .max_by_key(|(f, _)| f.name.len())
}

/// Checks an argument written in brackets (or its absence) against the field.
fn check_bracket_arg(def: &FieldDef, name: &str, arg: &FieldArg) -> Result<(), FieldError> {
    match arg {
        FieldArg::None if def.has(F::ARG_REQUIRED) => {
            Err(bad_arg(name, "this field requires an argument"))
        }
        FieldArg::None => Ok(()),
        _ if !def.takes_arg() => Err(bad_arg(name, "this field takes no argument")),
        FieldArg::Index(_) if def.has(F::ARG_INDEX) => Ok(()),
        FieldArg::Index(i) => Err(bad_arg(
            name,
            &format!("expected a name, not the index {i}"),
        )),
        FieldArg::Name(s) if def.has(F::ARG_KEY) => check_arg_name(def, name, s),
        FieldArg::Name(s) if def.has(F::ARG_INDEX) => {
            Err(bad_arg(name, &format!("{s} is not a valid number")))
        }
        FieldArg::Name(_) => Err(bad_arg(
            name,
            &format!("the argument must be written as {}.NAME", def.name),
        )),
    }
}

/// Checks a `.name` argument (`rest`) of the field `def` found in `full`.
fn check_dot_name(def: &FieldDef, full: &str, rest: &str) -> Result<(), FieldError> {
    match def.id {
        // Only the names of real event types complete evt.type.is.
        FieldId::EvtTypeIs if !is_event_name(rest) => Err(unknown(full)),
        FieldId::EvtAbspath if rest != "src" && rest != "dst" => Err(unknown(full)),
        _ => check_arg_name(def, full, rest),
    }
}

/// Checks a name argument, however written.
fn check_arg_name(def: &FieldDef, full: &str, arg: &str) -> Result<(), FieldError> {
    if arg.is_empty() {
        return Err(bad_arg(full, "empty argument"));
    }
    match def.id {
        FieldId::EvtArg | FieldId::EvtRawarg if !is_event_param(arg) => {
            Err(bad_arg(full, &format!("unknown event argument {arg}")))
        }
        _ => Ok(()),
    }
}

/// Whether some event type in use is named `name`.
fn is_event_name(name: &str) -> bool {
    EVENTS
        .iter()
        .any(|e| e.flags & flags::UNUSED == 0 && e.name == name)
}

/// Whether some event type in use has a parameter named `name`.
fn is_event_param(name: &str) -> bool {
    EVENTS
        .iter()
        .filter(|e| e.flags & flags::UNUSED == 0)
        .any(|e| e.params.iter().any(|p| p.name == name))
}

fn unknown(name: &str) -> FieldError {
    FieldError::Unknown(name.to_owned())
}

fn bad_arg(field: &str, reason: &str) -> FieldError {
    FieldError::BadArg {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::listing::param_type_name;

    fn resolve(name: &str, arg: FieldArg) -> Result<FieldRef, FieldError> {
        SyscallCatalog.resolve(name, arg)
    }

    fn id(f: FieldId) -> u32 {
        u32::from(f as u16)
    }

    #[test]
    fn table_is_indexed_by_id_and_names_are_unique() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(f.id as usize, i, "{}", f.name);
            assert_eq!(field_def(u32::try_from(i).unwrap()).unwrap().name, f.name);
            assert_eq!(by_name(f.name).unwrap().id, f.id);
            assert!(!f.desc.is_empty() && f.desc.len() < 300, "{}", f.name);
        }
        let mut names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELD_COUNT);
        assert!(field_def(u32::try_from(FIELD_COUNT).unwrap()).is_none());
    }

    #[test]
    fn every_sysdig_field_resolves_with_its_type() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/specs/sysdig-fields-verbose.txt"
        );
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => panic!("{path}: {e}"),
            Err(e) => {
                eprintln!("SKIPPED: fixture {path} unavailable: {e}");
                return;
            }
        };
        let mut class = "";
        let mut pending: Option<&str> = None;
        let mut seen = 0;
        for line in text.lines() {
            if let Some(c) = line.strip_prefix("Field Class:") {
                class = c.trim();
                continue;
            }
            let (name, rest) = match pending.take() {
                Some(n) => (n, line.trim_start()),
                None if line.starts_with(|c: char| c.is_ascii_lowercase()) => {
                    let name = line.split_whitespace().next().unwrap();
                    match line[name.len()..].trim_start() {
                        "" => {
                            pending = Some(name);
                            continue;
                        }
                        rest => (name, rest),
                    }
                }
                None => continue,
            };
            let Some(cls) = CLASSES.iter().find(|c| c.title() == class) else {
                continue;
            };
            let ty = rest
                .strip_prefix("(Type: ")
                .and_then(|r| r.split_once(')'))
                .unwrap()
                .0;
            let def = by_name(name).unwrap_or_else(|| panic!("missing {name}"));
            assert_eq!(param_type_name(def.ty), ty, "{name}");
            assert_eq!(def.class, *cls, "{name}");
            assert!(!def.has(FieldFlags::HIDDEN), "{name}");
            let arg = if def.has(FieldFlags::ARG_INDEX) {
                FieldArg::Index(1)
            } else if def.has(FieldFlags::ARG_KEY) {
                FieldArg::Name("fd".into())
            } else {
                FieldArg::None
            };
            let full = if def.has(FieldFlags::ARG_REQUIRED) && arg == FieldArg::None {
                match def.id {
                    FieldId::EvtTypeIs => "evt.type.is.open".to_owned(),
                    _ => format!("{name}.fd"),
                }
            } else {
                name.to_owned()
            };
            let r = resolve(&full, arg).unwrap_or_else(|e| panic!("{full}: {e}"));
            assert_eq!(r.id, id(def.id));
            assert_eq!(r.ty, def.ty);
            seen += 1;
        }
        assert_eq!(seen, 205);
        let listed = FIELDS
            .iter()
            .filter(|f| !f.has(FieldFlags::HIDDEN) && !f.has(FieldFlags::NEWER))
            .count();
        assert_eq!(listed, seen);
    }

    #[test]
    fn hidden_fields_resolve() {
        for name in [
            "evt.outputtime",
            "evt.latency.quantized",
            "evt.count.procinfo",
            "evt.count.threadinfo",
            "evt.buflen.in",
            "evt.buflen.out",
            "evt.buflen.file",
            "evt.buflen.file.in",
            "evt.buflen.file.out",
            "evt.buflen.net",
            "evt.buflen.net.in",
            "evt.buflen.net.out",
            "thread.vmsize.b",
            "thread.vmrss.b",
            "thread.nametid",
        ] {
            let r = resolve(name, FieldArg::None).unwrap();
            let def = field_def(r.id).unwrap();
            assert_eq!(def.name, name);
            assert!(def.has(FieldFlags::HIDDEN), "{name}");
        }
        let r = resolve("proc.cpu", FieldArg::None).unwrap();
        assert_eq!(r.id, id(FieldId::ThreadCpu));
        assert_eq!(&*r.name, "proc.cpu");
        assert_eq!(
            resolve("fd.dport", FieldArg::None).unwrap().id,
            id(FieldId::FdSport)
        );
    }

    #[test]
    fn time_string_fields() {
        let mut names: Vec<&str> = FIELDS
            .iter()
            .filter(|f| f.has(FieldFlags::TIME_STRING))
            .map(|f| f.name)
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "evt.datetime",
                "evt.datetime.s",
                "evt.outputtime",
                "evt.time",
                "evt.time.iso8601",
                "evt.time.s"
            ]
        );
    }

    #[test]
    fn arguments_resolve() {
        let r = resolve("evt.arg.fd", FieldArg::None).unwrap();
        assert_eq!(r.id, id(FieldId::EvtArg));
        assert_eq!(r.arg, FieldArg::Name("fd".into()));
        assert_eq!(r.ty, T::CharBuf);
        assert_eq!(&*r.name, "evt.arg.fd");

        let r = resolve("evt.arg", FieldArg::Index(0)).unwrap();
        assert_eq!((r.id, r.arg), (id(FieldId::EvtArg), FieldArg::Index(0)));
        assert_eq!(&*r.name, "evt.arg[0]");

        let r = resolve("evt.arg", FieldArg::Name("fd".into())).unwrap();
        assert_eq!(r.arg, FieldArg::Name("fd".into()));

        let r = resolve("k8s.pod.label.app", FieldArg::None).unwrap();
        assert_eq!(
            (r.id, r.arg),
            (id(FieldId::K8sPodLabel), FieldArg::Name("app".into()))
        );
        let r = resolve("k8s.pod.label", FieldArg::Name("app".into())).unwrap();
        assert_eq!(r.id, id(FieldId::K8sPodLabel));
        assert_eq!(
            resolve("k8s.pod.labels", FieldArg::None).unwrap().id,
            id(FieldId::K8sPodLabels)
        );
        assert!(resolve("k8s.pod.label", FieldArg::None).is_err());

        let r = resolve("proc.aname", FieldArg::Index(2)).unwrap();
        assert_eq!((r.id, r.arg), (id(FieldId::ProcAname), FieldArg::Index(2)));
        assert_eq!(&*r.name, "proc.aname[2]");
        let r = resolve("proc.apid", FieldArg::None).unwrap();
        assert_eq!((r.id, r.arg), (id(FieldId::ProcApid), FieldArg::None));

        let r = resolve("evt.type.is.open", FieldArg::None).unwrap();
        assert_eq!(
            (r.id, r.arg, r.ty),
            (
                id(FieldId::EvtTypeIs),
                FieldArg::Name("open".into()),
                T::Uint32
            )
        );

        let r = resolve("evt.rawarg.res", FieldArg::None).unwrap();
        assert_eq!((r.id, r.ty), (id(FieldId::EvtRawarg), T::Dyn));

        let r = resolve("evt.around", FieldArg::Index(1_404_996_934_793_590_564)).unwrap();
        assert_eq!(r.id, id(FieldId::EvtAround));

        let r = resolve("thread.cgroup.cpuacct", FieldArg::None).unwrap();
        assert_eq!(
            (r.id, r.arg),
            (id(FieldId::ThreadCgroup), FieldArg::Name("cpuacct".into()))
        );
        let r = resolve("evt.abspath.src", FieldArg::None).unwrap();
        assert_eq!(r.id, id(FieldId::EvtAbspath));
        let r = resolve("evt.abspath", FieldArg::None).unwrap();
        assert_eq!(r.arg, FieldArg::None);

        // Longer field names win over a dotted argument.
        let r = resolve("fd.cip.name", FieldArg::None).unwrap();
        assert_eq!((r.id, r.arg), (id(FieldId::FdCipName), FieldArg::None));
        let r = resolve("container.mount.source", FieldArg::Name("/var".into())).unwrap();
        assert_eq!(r.id, id(FieldId::ContainerMountSource));
        let r = resolve("container.mount", FieldArg::Index(0)).unwrap();
        assert_eq!(r.id, id(FieldId::ContainerMount));
    }

    fn is_unknown(r: &Result<FieldRef, FieldError>) -> bool {
        matches!(r, Err(FieldError::Unknown(_)))
    }

    fn is_bad_arg(r: &Result<FieldRef, FieldError>) -> bool {
        matches!(r, Err(FieldError::BadArg { .. }))
    }

    #[test]
    fn errors() {
        assert!(is_unknown(&resolve("evt.foo", FieldArg::None)));
        assert!(is_unknown(&resolve("proc.namex", FieldArg::None)));
        assert!(is_unknown(&resolve("proc.name.x", FieldArg::None)));
        assert!(is_unknown(&resolve("k8s.pod.nam", FieldArg::None)));
        assert!(is_unknown(&resolve(
            "evt.type.is.nosuchevent",
            FieldArg::None
        )));
        assert!(is_unknown(&resolve("evt.abspath.foo", FieldArg::None)));
        assert!(is_unknown(&resolve("", FieldArg::None)));

        assert!(is_bad_arg(&resolve("evt.arg", FieldArg::None)));
        assert!(is_bad_arg(&resolve("evt.type.is", FieldArg::None)));
        assert!(is_bad_arg(&resolve("evt.around", FieldArg::None)));
        assert!(is_bad_arg(&resolve(
            "evt.around",
            FieldArg::Name("abc".into())
        )));
        assert!(is_bad_arg(&resolve("thread.cgroup", FieldArg::None)));
        assert!(is_bad_arg(&resolve("container.mount", FieldArg::None)));
        assert!(is_bad_arg(&resolve("evt.arg.nosucharg", FieldArg::None)));
        assert!(is_bad_arg(&resolve(
            "evt.arg",
            FieldArg::Name("nosucharg".into())
        )));
        assert!(is_bad_arg(&resolve("evt.rawarg", FieldArg::Index(0))));
        assert!(is_bad_arg(&resolve("evt.arg.fd", FieldArg::Index(0))));
        assert!(is_bad_arg(&resolve(
            "proc.apid",
            FieldArg::Name("x".into())
        )));
        assert!(is_bad_arg(&resolve("proc.name", FieldArg::Index(1))));
        assert!(is_bad_arg(&resolve(
            "evt.type.is",
            FieldArg::Name("open".into())
        )));
        assert!(is_bad_arg(&resolve("thread.cgroup.", FieldArg::None)));
    }
}
