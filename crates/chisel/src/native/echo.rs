//! Chisels that echo I/O payloads: `stdin`, `stdout`, `stderr`, `echo_fds`,
//! `spy_file`, `spy_port` and `spy_ip`.

use super::fields::color::{self, paint};
use super::fields::{pad_cut, request_all, Reader};
use super::table::{compile_filter, format_bytes};
use super::{arg, info, Native};
use crate::{ArgInfo, Chisel, Error, EventCtx, Flow, Host, Options};
use osprey_event::render::BufFormat;
use osprey_filter::fields::catalog::SyscallCatalog;
use osprey_filter::format::Format;
use osprey_filter::{FieldRef, Filter};
use std::io::Write;

/// The optional colour switch most of these chisels take.
fn color_arg() -> ArgInfo {
    arg(
        "disable_color",
        "'disable_color' (spy_port and spy_ip: 'disable_colors') turns the colours off",
        "string",
        true,
    )
}

/// `stdin`, `stdout`, `stderr`: the raw data of I/O on FD 0, 1 or 2, one
/// line per event.
#[derive(Debug)]
struct Std {
    name: &'static str,
    filter: Option<Filter>,
    data: FieldRef,
    /// `stderr` with `-pc`: the container ID and name fields, and whether
    /// colours are on.
    container: Option<([FieldRef; 2], bool)>,
    rd: Reader,
    line: Vec<u8>,
    /// The container name and ID, reused.
    cname: Vec<u8>,
    cid: Vec<u8>,
}

fn build_std(name: &str, args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let (name, fd) = match name {
        "stdin" => ("stdin", 0),
        "stdout" => ("stdout", 1),
        "stderr" => ("stderr", 2),
        other => return Err(Error::NotFound(other.to_owned())),
    };
    let [data] = request_all(["evt.rawarg.data"])?;
    let container = if fd == 2 && opts.print_container {
        let colors = args.first().map(String::as_str) != Some("disable_color");
        Some((request_all(["container.id", "container.name"])?, colors))
    } else {
        None
    };
    Ok(Box::new(Std {
        name,
        filter: compile_filter(name, &format!("fd.num={fd} and evt.is_io=true"))?,
        data,
        container,
        rd: Reader::new(BufFormat::Normal),
        line: Vec::with_capacity(4096),
        cname: Vec::new(),
        cid: Vec::new(),
    }))
}

impl Chisel for Std {
    fn name(&self) -> &str {
        self.name
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        self.rd.begin(ctx);
        let line = &mut self.line;
        line.clear();
        let Some(([id, name], colors)) = &self.container else {
            if self.rd.bytes(ctx, &self.data, line) {
                line.push(b'\n');
                out.write_all(line)?;
            }
            return Ok(Flow::Continue);
        };
        // `%-20.20s %-20.20s %s`: container ID, name, data.
        let (cname, cid) = (&mut self.cname, &mut self.cid);
        cname.clear();
        cid.clear();
        self.rd.text(ctx, name, cname);
        self.rd.text(ctx, id, cid);
        let c = if cname == b"host" {
            color::GREEN
        } else {
            color::BLUE
        };
        line.extend_from_slice(paint(*colors, c));
        pad_cut(line, cid, 20);
        line.push(b' ');
        pad_cut(line, cname, 20);
        line.push(b' ');
        if self.rd.bytes(ctx, &self.data, line) {
            line.push(b'\n');
            out.write_all(line)?;
        }
        Ok(Flow::Continue)
    }
}

/// `echo_fds`: a header per I/O event (direction, size, FD name, process),
/// then its data.
#[derive(Debug)]
struct EchoFds {
    filter: Option<Filter>,
    colors: bool,
    is_read: FieldRef,
    res: FieldRef,
    fd_name: FieldRef,
    proc_name: FieldRef,
    /// With `-pc`: the container name and ID fields.
    container: Option<[FieldRef; 2]>,
    data: Format,
    rd: Reader,
    line: Vec<u8>,
}

fn build_echo_fds(name: &str, args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let [is_read, res, fd_name, proc_name] =
        request_all(["evt.is_io_read", "evt.rawarg.res", "fd.name", "proc.name"])?;
    let data = Format::parse("%evt.arg.data", &SyscallCatalog).map_err(|e| Error::Filter {
        chisel: name.to_owned(),
        message: e.to_string(),
    })?;
    Ok(Box::new(EchoFds {
        filter: compile_filter(name, "evt.is_io=true and evt.dir=< and evt.rawres>0")?,
        colors: args.first().map(String::as_str) != Some("disable_color"),
        is_read,
        res,
        fd_name,
        proc_name,
        container: if opts.print_container {
            Some(request_all(["container.name", "container.id"])?)
        } else {
            None
        },
        data,
        rd: Reader::new(BufFormat::Normal),
        line: Vec::with_capacity(4096),
    }))
}

impl Chisel for EchoFds {
    fn name(&self) -> &str {
        "echo_fds"
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        self.rd.begin(ctx);
        let res = self.rd.int(ctx, &self.res).unwrap_or(0);
        let line = &mut self.line;
        line.clear();
        if res > 0 {
            let read = self.rd.boolean(ctx, &self.is_read).unwrap_or(false);
            let (c, verb) = if read {
                (color::RED, &b"------ Read "[..])
            } else {
                (color::BLUE, &b"------ Write "[..])
            };
            let c = paint(self.colors, c);
            line.extend_from_slice(c);
            line.extend_from_slice(verb);
            #[allow(clippy::cast_precision_loss)] // Lua numbers are doubles
            format_bytes(line, res as f64);
            line.extend_from_slice(if read { b" from " } else { b" to " });
            if let Some([name, id]) = &self.container {
                // `%s [%s] [%s]`: colour, container name, container ID.
                let mark = line.len();
                line.extend_from_slice(paint(self.colors, color::GREEN));
                line.extend_from_slice(b" [");
                let at = line.len();
                self.rd.text(ctx, name, line);
                if &line[at..] != b"host" {
                    let cyan = paint(self.colors, color::CYAN);
                    line.splice(
                        mark..mark + paint(self.colors, color::GREEN).len(),
                        cyan.iter().copied(),
                    );
                }
                line.extend_from_slice(b"] [");
                self.rd.text(ctx, id, line);
                line.push(b']');
            }
            line.push(b' ');
            line.extend_from_slice(c);
            line.push(b' ');
            if !self.rd.text(ctx, &self.fd_name, line) {
                line.extend_from_slice(b"<NA>");
            }
            line.extend_from_slice(b" (");
            if !self.rd.text(ctx, &self.proc_name, line) {
                line.extend_from_slice(b"nil");
            }
            line.extend_from_slice(b")\n");
        }
        let mark = line.len();
        if self.rd.format(ctx, &self.data, line) {
            line.push(b'\n');
        } else {
            line.truncate(mark);
        }
        out.write_all(line)?;
        Ok(Flow::Continue)
    }

    fn on_capture_end(
        &mut self,
        _ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        color::end(self.colors, out)
    }
}

/// `spy_file [R|W|RW] [FILE]`: every read and write on files, with its data.
#[derive(Debug)]
struct SpyFile {
    filter: Option<Filter>,
    data: FieldRef,
    fd_name: FieldRef,
    is_write: FieldRef,
    pid: FieldRef,
    proc_name: FieldRef,
    res: FieldRef,
    time: FieldRef,
    rd: Reader,
    line: Vec<u8>,
}

/// The filter `spy_file` runs with.
fn spy_file_filter(read_or_write: Option<&str>, file: Option<&str>) -> String {
    let mut f = match file {
        Some(name) if !name.is_empty() => format!("(fd.name={name}) and "),
        _ => "(not fd.name contains /dev/pt and not fd.name contains /dev/tty) and ".to_owned(),
    };
    f.push_str(match read_or_write {
        Some("R" | "r") => "evt.is_io_read=true and ",
        Some("W" | "w") => "evt.is_io_write=true and ",
        _ => "evt.is_io=true and ",
    });
    f.push_str("fd.type=file and evt.dir=< and evt.failed=false");
    f
}

fn build_spy_file(name: &str, args: &[String], _opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let [data, fd_name, is_write, pid, proc_name, res, time] = request_all([
        "evt.arg.data",
        "fd.name",
        "evt.is_io_write",
        "proc.pid",
        "proc.name",
        "evt.rawarg.res",
        "evt.time",
    ])?;
    let filter = spy_file_filter(
        args.first().map(String::as_str),
        args.get(1).map(String::as_str),
    );
    Ok(Box::new(SpyFile {
        filter: compile_filter(name, &filter)?,
        data,
        fd_name,
        is_write,
        pid,
        proc_name,
        res,
        time,
        // The chisel asks for ASCII buffers unless the user chose a format.
        rd: Reader::new(BufFormat::Ascii),
        line: Vec::with_capacity(4096),
    }))
}

impl Chisel for SpyFile {
    fn name(&self) -> &str {
        "spy_file"
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        let rd = &mut self.rd;
        rd.begin(ctx);
        let line = &mut self.line;
        line.clear();
        rd.text(ctx, &self.time, line);
        line.push(b' ');
        rd.text(ctx, &self.proc_name, line);
        line.push(b'(');
        rd.text(ctx, &self.pid, line);
        line.extend_from_slice(if rd.boolean(ctx, &self.is_write) == Some(true) {
            b") W "
        } else {
            b") R "
        });
        #[allow(clippy::cast_precision_loss)] // Lua numbers are doubles
        format_bytes(line, rd.int(ctx, &self.res).unwrap_or(0) as f64);
        line.push(b' ');
        rd.text(ctx, &self.fd_name, line);
        line.push(b' ');
        rd.text(ctx, &self.data, line);
        line.push(b'\n');
        out.write_all(line)?;
        Ok(Flow::Continue)
    }
}

/// Which way the last payload `spy_port`/`spy_ip` printed went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// `spy_port PORT` and `spy_ip ADDR`: network payloads on one port or with
/// one address, each after a header line naming the direction.
#[derive(Debug)]
struct SpyNet {
    name: &'static str,
    filter: Option<Filter>,
    colors: bool,
    data: FieldRef,
    is_read: FieldRef,
    res: FieldRef,
    /// The direction of the current header.
    dir: Option<Dir>,
    /// The header, printed before every payload; rewritten when the
    /// direction changes.
    header: Vec<u8>,
    rd: Reader,
    line: Vec<u8>,
}

fn build_spy_net(name: &str, args: &[String], _opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let (name, field) = match name {
        "spy_port" => ("spy_port", "fd.port"),
        "spy_ip" => ("spy_ip", "fd.ip"),
        other => return Err(Error::NotFound(other.to_owned())),
    };
    let target = args
        .first()
        .ok_or_else(|| Error::Args(format!("missing arguments for chisel {name}")))?;
    let [data, is_read, res] = request_all(["evt.arg.data", "evt.is_io_read", "evt.rawarg.res"])?;
    let filter = format!("evt.is_io=true and (fd.type=ipv4 or fd.type=ipv6) and {field}={target}");
    Ok(Box::new(SpyNet {
        name,
        filter: compile_filter(name, &filter)?,
        colors: args.get(1).map(String::as_str) != Some("disable_colors"),
        data,
        is_read,
        res,
        dir: None,
        header: Vec::new(),
        rd: Reader::new(BufFormat::Normal),
        line: Vec::with_capacity(4096),
    }))
}

impl Chisel for SpyNet {
    fn name(&self) -> &str {
        self.name
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        self.rd.begin(ctx);
        let res = match self.rd.int(ctx, &self.res) {
            Some(r) if r > 0 => r,
            _ => return Ok(Flow::Continue),
        };
        self.line.clear();
        if !self.rd.text(ctx, &self.data, &mut self.line) {
            return Ok(Flow::Continue);
        }
        let read = self.rd.boolean(ctx, &self.is_read).unwrap_or(false);
        let want = if read { Dir::Read } else { Dir::Write };
        if self.dir != Some(want) {
            self.dir = Some(want);
            self.header.clear();
            self.header.extend_from_slice(paint(
                self.colors,
                if read { color::RED } else { color::BLUE },
            ));
            // spy_ip calls both directions "Read", as sysdig's does.
            self.header
                .extend_from_slice(if read || self.name == "spy_ip" {
                    b"------ Read "
                } else {
                    b"------ Write "
                });
            #[allow(clippy::cast_precision_loss)] // Lua numbers are doubles
            format_bytes(&mut self.header, res as f64);
        }
        out.write_all(&self.header)?;
        out.write_all(b"\n")?;
        self.line.push(b'\n');
        out.write_all(&self.line)?;
        Ok(Flow::Continue)
    }

    fn on_capture_end(
        &mut self,
        _ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        color::end(self.colors, out)
    }
}

/// The echo chisels.
pub(super) fn natives() -> [Native; 7] {
    [
        Native {
            name: "echo_fds",
            info: info(
                "echo_fds",
                "I/O",
                "Show the data processes read and write",
                "For each successful read or write, prints a coloured line with the direction, the size, the FD name and the process, then the data itself (red for reads, blue for writes). Add a filter to narrow it down.",
                vec![color_arg()],
            ),
            build: build_echo_fds,
        },
        Native {
            name: "spy_file",
            info: info(
                "spy_file",
                "I/O",
                "Show every read and write on files, optionally of one file only",
                "Prints each successful read or write on a file (one line: time, process, direction, size, file) followed by the data in ASCII. Terminals are left out unless a file is named.",
                vec![
                    arg(
                        "read_or_write",
                        "'R' for reads only, 'W' for writes only, 'RW' (the default) for both",
                        "string",
                        true,
                    ),
                    arg(
                        "spy_on_file_name",
                        "only show the I/O on this file",
                        "string",
                        true,
                    ),
                ],
            ),
            build: build_spy_file,
        },
        Native {
            name: "spy_ip",
            info: info(
                "spy_ip",
                "Net",
                "Show the payloads exchanged with an IP address",
                "Prints the data of every network read and write to or from the given address. The -x, -X and -A switches change how the data is shown.",
                vec![
                    arg("host_ip", "the IP address of the other end", "ipv4", false),
                    color_arg(),
                ],
            ),
            build: build_spy_net,
        },
        Native {
            name: "spy_port",
            info: info(
                "spy_port",
                "Net",
                "Show the payloads exchanged on an IP port",
                "Prints the data of every network read and write on the given port. The -x, -X and -A switches change how the data is shown.",
                vec![
                    arg("host_port", "the port number", "int", false),
                    color_arg(),
                ],
            ),
            build: build_spy_net,
        },
        Native {
            name: "stderr",
            info: info(
                "stderr",
                "I/O",
                "Show what processes write to standard error",
                "Prints the data of I/O on FD 2. Add a filter to pick the process.",
                vec![color_arg()],
            ),
            build: build_std,
        },
        Native {
            name: "stdin",
            info: info(
                "stdin",
                "I/O",
                "Show what processes read from standard input",
                "Prints the data of I/O on FD 0. Add a filter to pick the process.",
                Vec::new(),
            ),
            build: build_std,
        },
        Native {
            name: "stdout",
            info: info(
                "stdout",
                "I/O",
                "Show what processes write to standard output",
                "Prints the data of I/O on FD 1. Add a filter to pick the process.",
                Vec::new(),
            ),
            build: build_std,
        },
    ]
}
