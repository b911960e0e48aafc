//! Names of errno values, as sysdig prints them after a negative `ERRNO` or
//! `FD` parameter (`res=-2(ENOENT)`) and in `evt.res`.
//!
//! The set follows the libsinsp of sysdig 0.29.3: Linux errno numbers 1 to 125
//! with their canonical names (`EAGAIN`, not `EWOULDBLOCK`), plus the
//! kernel-internal codes 512 to 530. Other numbers have no name.

static LOW: [&str; 125] = [
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
    "",
    "ENOMSG",
    "EIDRM",
    "ECHRNG",
    "EL2NSYNC",
    "EL3HLT",
    "EL3RST",
    "ELNRNG",
    "EUNATCH",
    "ENOCSI",
    "EL2HLT",
    "EBADE",
    "EBADR",
    "EXFULL",
    "ENOANO",
    "EBADRQC",
    "EBADSLT",
    "",
    "EBFONT",
    "ENOSTR",
    "ENODATA",
    "ETIME",
    "ENOSR",
    "ENONET",
    "ENOPKG",
    "EREMOTE",
    "ENOLINK",
    "EADV",
    "ESRMNT",
    "ECOMM",
    "EPROTO",
    "EMULTIHOP",
    "EDOTDOT",
    "EBADMSG",
    "EOVERFLOW",
    "ENOTUNIQ",
    "EBADFD",
    "EREMCHG",
    "ELIBACC",
    "ELIBBAD",
    "ELIBSCN",
    "ELIBMAX",
    "ELIBEXEC",
    "EILSEQ",
    "ERESTART",
    "ESTRPIPE",
    "EUSERS",
    "ENOTSOCK",
    "EDESTADDRREQ",
    "EMSGSIZE",
    "EPROTOTYPE",
    "ENOPROTOOPT",
    "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT",
    "EOPNOTSUPP",
    "EPFNOSUPPORT",
    "EAFNOSUPPORT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ENETDOWN",
    "ENETUNREACH",
    "ENETRESET",
    "ECONNABORTED",
    "ECONNRESET",
    "ENOBUFS",
    "EISCONN",
    "ENOTCONN",
    "ESHUTDOWN",
    "ETOOMANYREFS",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EALREADY",
    "EINPROGRESS",
    "ESTALE",
    "EUCLEAN",
    "ENOTNAM",
    "ENAVAIL",
    "EISNAM",
    "EREMOTEIO",
    "EDQUOT",
    "ENOMEDIUM",
    "EMEDIUMTYPE",
    "ECANCELED",
];

static HIGH: [&str; 19] = [
    "ERESTARTSYS",
    "ERESTARTNOINTR",
    "ERESTARTNOHAND",
    "ENOIOCTLCMD",
    "ERESTART_RESTARTBLOCK",
    "",
    "",
    "",
    "",
    "EBADHANDLE",
    "ENOTSYNC",
    "EBADCOOKIE",
    "ENOTSUPP",
    "ETOOSMALL",
    "ESERVERFAULT",
    "EBADTYPE",
    "EJUKEBOX",
    "EIOCBQUEUED",
    "EIOCBRETRY",
];

/// The name of errno `e` (a positive number), `None` if sysdig has none.
///
/// ```
/// assert_eq!(osprey_event::errno::errno_name(2), Some("ENOENT"));
/// assert_eq!(osprey_event::errno::errno_name(0), None);
/// ```
pub fn errno_name(e: i64) -> Option<&'static str> {
    let name = match e {
        1..=125 => LOW[(e - 1) as usize],
        512..=530 => HIGH[(e - 512) as usize],
        _ => "",
    };
    (!name.is_empty()).then_some(name)
}

/// The text of the `evt.res` field for a return value: `SUCCESS` for
/// non-negative values, the errno name for known negative ones, else `None`
/// (the caller prints the number).
pub fn res_name(res: i64) -> Option<&'static str> {
    if res >= 0 {
        Some("SUCCESS")
    } else {
        errno_name(res.checked_neg()?)
    }
}

/// Signal names by number (1 to 31), as printed after `SIGTYPE` parameters.
pub fn signal_name(sig: u8) -> Option<&'static str> {
    static SIGS: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    SIGS.get(usize::from(sig).checked_sub(1)?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(errno_name(11), Some("EAGAIN"));
        assert_eq!(errno_name(115), Some("EINPROGRESS"));
        assert_eq!(errno_name(110), Some("ETIMEDOUT"));
        assert_eq!(errno_name(41), None);
        assert_eq!(errno_name(516), Some("ERESTART_RESTARTBLOCK"));
        assert_eq!(errno_name(521), Some("EBADHANDLE"));
        assert_eq!(errno_name(530), Some("EIOCBRETRY"));
        assert_eq!(res_name(0), Some("SUCCESS"));
        assert_eq!(res_name(-2), Some("ENOENT"));
        assert_eq!(res_name(i64::MIN), None);
        assert_eq!(signal_name(17), Some("SIGCHLD"));
        assert_eq!(signal_name(29), Some("SIGIO"));
        assert_eq!(signal_name(0), None);
    }
}
