//! `program_output`: alerts written to the stdin of `sh -c PROGRAM`. The
//! program's stdout and stderr are inherited, as with Falco's `popen`.

use std::io::{self, BufWriter, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use super::{Error, OutputKind, ProgramConfig};

#[derive(Debug)]
struct Running {
    child: Child,
    stdin: BufWriter<ChildStdin>,
}

#[derive(Debug)]
pub(super) struct ProgramOutput {
    program: String,
    keep_alive: bool,
    buffered: bool,
    /// The kept-alive process, with `keep_alive` only.
    running: Option<Running>,
}

impl ProgramOutput {
    pub(super) fn new(config: &ProgramConfig, buffered: bool) -> Result<ProgramOutput, Error> {
        if config.program.trim().is_empty() {
            return Err(Error::Config {
                output: OutputKind::Program,
                target: config.program.clone(),
                reason: "program is empty".to_owned(),
            });
        }
        Ok(ProgramOutput {
            program: config.program.clone(),
            keep_alive: config.keep_alive,
            buffered,
            running: None,
        })
    }

    pub(super) fn emit(&mut self, line: &[u8]) -> Result<(), Error> {
        if !self.keep_alive {
            let mut run = self.spawn().map_err(|e| self.err(e))?;
            let written = run.stdin.write_all(line).and_then(|()| run.stdin.flush());
            let waited = finish(run);
            return written.and(waited).map_err(|e| self.err(e));
        }
        match self.write_kept(line) {
            Ok(()) => Ok(()),
            // The program exited: start it again once, as Falco's popen
            // would on its next alert.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                if let Some(run) = self.running.take() {
                    // Its error is the broken pipe we already know about.
                    let _ = finish(run);
                }
                self.write_kept(line).map_err(|e| self.err(e))
            }
            Err(e) => Err(self.err(e)),
        }
    }

    pub(super) fn flush(&mut self) -> Result<(), Error> {
        match &mut self.running {
            Some(run) => run.stdin.flush().map_err(|e| err(&self.program, e)),
            None => Ok(()),
        }
    }

    /// Closes the kept-alive program's stdin and waits for it to exit; the
    /// next alert starts it again.
    pub(super) fn close(&mut self) -> Result<(), Error> {
        match self.running.take() {
            Some(run) => finish(run).map_err(|e| self.err(e)),
            None => Ok(()),
        }
    }

    fn write_kept(&mut self, line: &[u8]) -> io::Result<()> {
        let run = match self.running.take() {
            Some(r) => r,
            None => self.spawn()?,
        };
        let run = self.running.insert(run);
        run.stdin.write_all(line)?;
        if !self.buffered {
            run.stdin.flush()?;
        }
        Ok(())
    }

    fn spawn(&self) -> io::Result<Running> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.program)
            .stdin(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .expect("stdin was configured as piped, so the child has one");
        Ok(Running {
            child,
            stdin: BufWriter::new(stdin),
        })
    }

    fn err(&self, source: io::Error) -> Error {
        err(&self.program, source)
    }
}

/// Flushes and closes the program's stdin, then waits for it to exit. Its
/// exit status is not an error (Falco ignores `pclose`'s).
fn finish(run: Running) -> io::Result<()> {
    let Running { mut child, stdin } = run;
    let flushed = stdin
        .into_inner()
        .map(drop)
        .map_err(io::IntoInnerError::into_error);
    let waited = child.wait().map(drop);
    flushed.and(waited)
}

fn err(program: &str, source: io::Error) -> Error {
    Error::Io {
        output: OutputKind::Program,
        target: program.to_owned(),
        source,
    }
}
