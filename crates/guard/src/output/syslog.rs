//! `syslog_output`: one datagram per alert to the local syslog socket, in
//! the form glibc's `syslog()` sends when Falco calls it without `openlog`:
//! `<PRI>Mmm dd hh:mm:ss ident[pid]: message`, with PRI = facility user (1)
//! * 8 + severity, local time, and no trailing newline.

use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use super::{Error, OutputKind, Priority, SyslogConfig};

/// `LOG_USER`, the facility `syslog()` uses when `openlog` was not called.
const FACILITY_USER: u8 = 1 << 3;

#[derive(Debug)]
pub(super) struct SyslogOutput {
    path: PathBuf,
    ident: String,
    pid: u32,
    socket: Option<UnixDatagram>,
    buf: Vec<u8>,
}

impl SyslogOutput {
    pub(super) fn new(config: &SyslogConfig) -> SyslogOutput {
        let ident = config.ident.clone().unwrap_or_else(program_name);
        SyslogOutput {
            path: config.socket.clone(),
            ident,
            pid: std::process::id(),
            socket: None,
            buf: Vec::with_capacity(1024),
        }
    }

    /// `message` is the alert line without its newline.
    pub(super) fn emit(&mut self, message: &[u8], priority: Priority) -> Result<(), Error> {
        self.buf.clear();
        let now = chrono::Local::now();
        write!(
            self.buf,
            "<{}>{} {}[{}]: ",
            FACILITY_USER | super::syslog_severity(priority),
            now.format("%b %e %H:%M:%S"),
            self.ident,
            self.pid
        )
        .map_err(|e| self.err(e))?;
        self.buf.extend_from_slice(message);
        // A syslog daemon that restarted leaves the old connection dead:
        // reconnect once before giving up.
        if self.send().is_ok() {
            return Ok(());
        }
        self.socket = None;
        self.send().map_err(|e| self.err(e))
    }

    /// Drops the connection; the next alert connects again.
    pub(super) fn reopen(&mut self) {
        self.socket = None;
    }

    fn send(&mut self) -> io::Result<()> {
        let socket = match self.socket.take() {
            Some(s) => s,
            None => {
                let s = UnixDatagram::unbound()?;
                s.connect(&self.path)?;
                s
            }
        };
        let socket = self.socket.insert(socket);
        socket.send(&self.buf).map(drop)
    }

    fn err(&self, source: io::Error) -> Error {
        Error::Io {
            output: OutputKind::Syslog,
            target: self.path.display().to_string(),
            source,
        }
    }
}

/// The base name of argv[0], as glibc's default syslog ident.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "osprey".to_owned())
}
