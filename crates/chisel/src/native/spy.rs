//! Chisels that follow what users run: `spy_users`, `list_login_shells` and
//! `proc_exec_time`.

use super::fields::color::{self, paint};
use super::fields::{pad_cut, request_all, Reader};
use super::table::{compile_filter, format_time, request_field};
use super::{arg, info, Native};
use crate::{Chisel, Error, EventCtx, Flow, Host, Options};
use osprey_event::render::BufFormat;
use osprey_filter::{FieldRef, Filter};
use std::collections::HashMap;
use std::io::Write;

/// How many ancestors `spy_users` looks through for a shell.
const MAX_ANCESTORS: usize = 16;

/// One process `spy_users` has placed: its depth below the login shell
/// (-1: not under a shell) and that shell's pid.
#[derive(Debug, Clone, Copy)]
struct Place {
    depth: i64,
    shell: i64,
}

/// `spy_users [max_depth] [disable_color]`: the commands run under shells,
/// indented by their depth below the login shell, and the shells' `cd`s.
#[derive(Debug)]
struct SpyUsers {
    filter: Option<Filter>,
    max_depth: i64,
    colors: bool,
    print_container: bool,
    etype: FieldRef,
    exe: FieldRef,
    args: FieldRef,
    path: FieldRef,
    user: FieldRef,
    time: FieldRef,
    pid: FieldRef,
    ppid: FieldRef,
    container: FieldRef,
    /// `proc.aname[j]` and `proc.apid[j]`, j = 0..=16.
    anames: Vec<FieldRef>,
    apids: Vec<FieldRef>,
    /// `cd` events seen so far. sysdig's script inserts a placeholder at the
    /// front of its ancestor field lists on each one, so from then on its
    /// j-th lookup reads ancestor j - shifts (and nothing for j < shifts).
    shifts: usize,
    tree: HashMap<i64, Place>,
    rd: Reader,
    line: Vec<u8>,
    name: Vec<u8>,
}

fn build_spy_users(name: &str, args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let max_depth = match args.first() {
        None => -1,
        Some(v) => {
            let n: f64 = v
                .trim()
                .parse()
                .map_err(|_| Error::Args("Input max_depth must be a number.".to_owned()))?;
            #[allow(clippy::cast_possible_truncation)] // a depth, compared as an integer
            let n = n as i64;
            n
        }
    };
    let [etype, exe, pargs, path, user, time, pid, ppid, container] = request_all([
        "evt.type",
        "proc.exe",
        "proc.args",
        "evt.arg.path",
        "user.name",
        "evt.time.s",
        "proc.pid",
        "proc.ppid",
        "container.name",
    ])?;
    let mut anames = Vec::with_capacity(MAX_ANCESTORS + 1);
    let mut apids = Vec::with_capacity(MAX_ANCESTORS + 1);
    for j in 0..=MAX_ANCESTORS {
        anames.push(request_field(&format!("proc.aname[{j}]"))?);
        apids.push(request_field(&format!("proc.apid[{j}]"))?);
    }
    Ok(Box::new(SpyUsers {
        filter: compile_filter(
            name,
            "((evt.type=execve and evt.dir=<) or (evt.type=chdir and evt.dir=< and proc.name contains sh and not proc.name contains sshd)) and evt.failed=false",
        )?,
        max_depth,
        colors: args.get(1).map(String::as_str) != Some("disable_color"),
        print_container: opts.print_container,
        etype,
        exe,
        args: pargs,
        path,
        user,
        time,
        pid,
        ppid,
        container,
        anames,
        apids,
        shifts: 0,
        tree: HashMap::new(),
        rd: Reader::new(BufFormat::Normal),
        line: Vec::with_capacity(512),
        name: Vec::with_capacity(64),
    }))
}

impl SpyUsers {
    /// Places `ppid` in the tree from the event's ancestors: under the
    /// farthest shell (a name ending in `sh`) among them.
    fn place_parent(&mut self, ctx: &EventCtx<'_>, ppid: i64) {
        let mut place = Place {
            depth: -1,
            shell: 0,
        };
        for j in 1..=MAX_ANCESTORS {
            // The lookup sysdig's script really makes at position j.
            let Some(a) = j.checked_sub(self.shifts) else {
                break;
            };
            self.name.clear();
            if !self.rd.text(ctx, &self.anames[a], &mut self.name) {
                if self.rd.int(ctx, &self.apids[a]).is_none() {
                    break;
                }
                continue;
            }
            if self.name.len() >= 2 && self.name.ends_with(b"sh") {
                let Some(apid) = self.rd.int(ctx, &self.apids[a]) else {
                    continue;
                };
                let depth = if self.tree.contains_key(&apid) {
                    i64::try_from(j).unwrap_or(0) - 1
                } else {
                    0
                };
                place = Place { depth, shell: apid };
            }
        }
        self.tree.insert(ppid, place);
    }
}

impl Chisel for SpyUsers {
    fn name(&self) -> &str {
        "spy_users"
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        self.rd.begin(ctx);
        self.name.clear();
        self.rd.text(ctx, &self.etype, &mut self.name);
        let chdir = self.name == b"chdir";
        let Some(pid) = self.rd.int(ctx, &self.pid) else {
            return Ok(Flow::Continue);
        };
        let ppid = if chdir {
            self.shifts += 1;
            pid
        } else {
            match self.rd.int(ctx, &self.ppid) {
                Some(p) => p,
                None => return Ok(Flow::Continue),
            }
        };
        if !self.tree.contains_key(&ppid) {
            self.place_parent(ctx, ppid);
        }
        let parent = self.tree[&ppid];
        if parent.depth == -1 {
            return Ok(Flow::Continue);
        }
        let me = *self.tree.entry(pid).or_insert(Place {
            depth: parent.depth + 1,
            shell: parent.shell,
        });
        let level = if chdir { me.depth } else { me.depth - 1 };
        if self.max_depth != -1 && level > self.max_depth {
            return Ok(Flow::Continue);
        }
        let line = &mut self.line;
        line.clear();
        let mut cname = std::mem::take(&mut self.name);
        cname.clear();
        if self.print_container {
            self.rd.text(ctx, &self.container, &mut cname);
            let c = if cname == b"host" {
                color::GREEN
            } else {
                color::BLUE
            };
            line.extend_from_slice(paint(self.colors, c));
        }
        // sysdig indents commands by 3 spaces a level, 4 with -pc and for `cd`.
        let per = if chdir || self.print_container { 4 } else { 3 };
        let indent = usize::try_from(per * level).unwrap_or(0);
        line.resize(line.len() + indent, b' ');
        line.extend_from_slice(itoa::Buffer::new().format(me.shell).as_bytes());
        line.push(b' ');
        self.rd.text(ctx, &self.time, line);
        line.push(b' ');
        if !self.rd.text(ctx, &self.user, line) {
            line.extend_from_slice(b"<NA>");
        }
        if self.print_container {
            line.push(b'@');
            line.extend_from_slice(&cname);
        }
        if chdir {
            line.extend_from_slice(b") cd ");
            self.rd.text(ctx, &self.path, line);
        } else {
            line.extend_from_slice(b") ");
            self.rd.text(ctx, &self.exe, line);
            line.push(b' ');
            self.rd.text(ctx, &self.args, line);
        }
        line.push(b'\n');
        self.name = cname;
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

/// `list_login_shells [command] [arguments]`: the login shell ID of the last
/// matching `execve`.
#[derive(Debug)]
struct LoginShells {
    filter: Option<Filter>,
    command: Option<String>,
    arguments: Option<String>,
    print_container: bool,
    sid: FieldRef,
    exe: FieldRef,
    args: FieldRef,
    cname: FieldRef,
    cid: FieldRef,
    /// The last match: its shell ID, container name and ID (each when known).
    last: [Option<Vec<u8>>; 3],
    rd: Reader,
    buf: Vec<u8>,
}

fn build_login_shells(
    name: &str,
    args: &[String],
    opts: &Options,
) -> Result<Box<dyn Chisel>, Error> {
    let [sid, exe, eargs, cname, cid] = request_all([
        "proc.loginshellid",
        "evt.arg.exe",
        "evt.arg.args",
        "container.name",
        "container.id",
    ])?;
    Ok(Box::new(LoginShells {
        filter: compile_filter(name, "evt.type=execve")?,
        command: args.first().filter(|c| *c != "*").cloned(),
        arguments: args.get(1).cloned(),
        print_container: opts.print_container,
        sid,
        exe,
        args: eargs,
        cname,
        cid,
        last: [None, None, None],
        rd: Reader::new(BufFormat::Normal),
        buf: Vec::with_capacity(256),
    }))
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

impl LoginShells {
    /// Stores `field`'s text in `self.last[i]`, or clears it.
    fn keep(&mut self, ctx: &EventCtx<'_>, i: usize, field: usize) {
        let f = match field {
            0 => &self.sid,
            1 => &self.cname,
            _ => &self.cid,
        };
        let slot = self.last[i].get_or_insert_with(Vec::new);
        slot.clear();
        if !self.rd.text(ctx, f, slot) {
            self.last[i] = None;
        }
    }
}

impl Chisel for LoginShells {
    fn name(&self) -> &str {
        "list_login_shells"
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, _out: &mut dyn Write) -> Result<Flow, Error> {
        self.rd.begin(ctx);
        if self.rd.value(ctx, &self.sid).is_none() {
            return Ok(Flow::Continue);
        }
        self.buf.clear();
        if !self.rd.text(ctx, &self.exe, &mut self.buf) {
            return Ok(Flow::Continue);
        }
        if let Some(c) = &self.command {
            if !contains(&self.buf, c.as_bytes()) {
                return Ok(Flow::Continue);
            }
        }
        if let Some(a) = &self.arguments {
            self.buf.clear();
            if self.rd.text(ctx, &self.args, &mut self.buf) && !contains(&self.buf, a.as_bytes()) {
                return Ok(Flow::Continue);
            }
        }
        self.keep(ctx, 0, 0);
        self.keep(ctx, 1, 1);
        self.keep(ctx, 2, 2);
        Ok(Flow::Continue)
    }

    fn on_capture_end(
        &mut self,
        _ts: u64,
        _delta: u64,
        _host: &Host<'_>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let mut buf = Vec::with_capacity(256);
        match &self.command {
            Some(c) => {
                buf.extend_from_slice(b"Shells containing ");
                buf.extend_from_slice(c.as_bytes());
                buf.extend_from_slice(b":\n");
            }
            None => buf.extend_from_slice(b"All shells:\n"),
        }
        // sysdig's script prints its answer once per field of the last match
        // that has a value (it loops over the record, not over the shells).
        let sid = self.last[0].as_deref().unwrap_or_default();
        for _ in self.last.iter().flatten() {
            buf.extend_from_slice(sid);
            if self.print_container {
                for v in &self.last[1..] {
                    buf.push(b' ');
                    buf.extend_from_slice(v.as_deref().unwrap_or_default());
                }
            }
            buf.push(b'\n');
        }
        out.write_all(&buf)?;
        Ok(())
    }
}

/// 3 s and 10 s: `proc_exec_time` shows longer runs in yellow and red.
const YELLOW_NS: i64 = 3_000_000_000;
const RED_NS: i64 = 10_000_000_000;

/// `proc_exec_time [disable_colors]`: each process that exits, with how long
/// it ran.
#[derive(Debug)]
struct ExecTime {
    filter: Option<Filter>,
    colors: bool,
    print_container: bool,
    header_done: bool,
    name: FieldRef,
    args: FieldRef,
    duration: FieldRef,
    cname: FieldRef,
    cid: FieldRef,
    rd: Reader,
    line: Vec<u8>,
    a: Vec<u8>,
    b: Vec<u8>,
}

fn build_exec_time(name: &str, args: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    let [pname, pargs, duration, cname, cid] = request_all([
        "proc.name",
        "proc.args",
        "proc.duration",
        "container.name",
        "container.id",
    ])?;
    Ok(Box::new(ExecTime {
        filter: compile_filter(name, "evt.type=procexit")?,
        colors: !args.iter().any(|a| a == "disable_colors"),
        print_container: opts.print_container,
        header_done: false,
        name: pname,
        args: pargs,
        duration,
        cname,
        cid,
        rd: Reader::new(BufFormat::Normal),
        line: Vec::with_capacity(512),
        a: Vec::with_capacity(64),
        b: Vec::with_capacity(64),
    }))
}

impl Chisel for ExecTime {
    fn name(&self) -> &str {
        "proc_exec_time"
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn on_capture_start(&mut self, _host: &Host<'_>, out: &mut dyn Write) -> Result<(), Error> {
        if std::mem::replace(&mut self.header_done, true) {
            return Ok(());
        }
        let h: &[u8] = if self.print_container {
            b"proc.duration container.id         container.name       proc.name    proc.args\n\
              ------------- -------------------- -------------------- ------------ --------------------\n"
        } else {
            b"proc.duration proc.name    proc.args\n\
              ------------- ------------ --------------------\n"
        };
        out.write_all(h)?;
        Ok(())
    }

    fn on_event(&mut self, ctx: &EventCtx<'_>, out: &mut dyn Write) -> Result<Flow, Error> {
        self.rd.begin(ctx);
        let Some(duration) = self.rd.int(ctx, &self.duration) else {
            return Ok(Flow::Continue);
        };
        self.a.clear();
        self.rd.text(ctx, &self.cname, &mut self.a);
        let c = if duration > RED_NS {
            color::RED
        } else if duration > YELLOW_NS {
            color::YELLOW
        } else if self.a != b"host" {
            color::BLUE
        } else {
            color::GREEN
        };
        let line = &mut self.line;
        line.clear();
        line.extend_from_slice(paint(self.colors, c));
        self.b.clear();
        #[allow(clippy::cast_precision_loss)] // Lua numbers are doubles
        format_time(&mut self.b, duration as f64);
        pad_cut(line, &self.b, 13);
        line.push(b' ');
        if self.print_container {
            self.b.clear();
            self.rd.text(ctx, &self.cid, &mut self.b);
            pad_cut(line, &self.b, 20);
            line.push(b' ');
            pad_cut(line, &self.a, 20);
            line.push(b' ');
        }
        self.b.clear();
        self.rd.text(ctx, &self.name, &mut self.b);
        pad_cut(line, &self.b, 12);
        line.push(b' ');
        self.rd.text(ctx, &self.args, line);
        line.push(b'\n');
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

/// The user-activity chisels.
pub(super) fn natives() -> [Native; 3] {
    [
        Native {
            name: "list_login_shells",
            info: info(
                "list_login_shells",
                "Security",
                "Show login shell IDs",
                "Prints the login shell ID of the processes started, optionally only of those whose command or arguments contain a string (the command '*' matches any). The IDs can be used to filter spy_users.",
                vec![
                    arg("command", "only shells that ran a command whose name contains this ('*': any)", "string", true),
                    arg("arguments", "only shells that ran a command whose arguments contain this", "string", true),
                ],
            ),
            build: build_login_shells,
        },
        Native {
            name: "proc_exec_time",
            info: info(
                "proc_exec_time",
                "Performance",
                "Show how long processes ran",
                "Prints each process that exits with how long it ran, coloured by that time: yellow from 3 s, red from 10 s, blue inside a container, green otherwise.",
                vec![arg("disable_color", "'disable_colors' turns the colours off", "string", true)],
            ),
            build: build_exec_time,
        },
        Native {
            name: "spy_users",
            info: info(
                "spy_users",
                "Security",
                "Show what users do in their shells",
                "Prints the commands started under shells and the directories the shells change to, indented by depth below the login shell. With -pc each line names the container (blue) or the host (green).",
                vec![
                    arg("max_depth", "the deepest level of the process tree to show", "int", true),
                    arg("disable_color", "'disable_color' turns the colours off", "string", true),
                ],
            ),
            build: build_spy_users,
        },
    ]
}
