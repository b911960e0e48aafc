//! `stdout_output`: one line per alert to a writer (the process's stdout by
//! default), flushed per alert unless `buffered_outputs`.

use std::fmt;
use std::io::{self, Write};

use super::{Error, OutputKind};

pub(super) struct StdoutOutput {
    out: Box<dyn Write + Send>,
    buffered: bool,
}

impl fmt::Debug for StdoutOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdoutOutput")
            .field("buffered", &self.buffered)
            .finish_non_exhaustive()
    }
}

impl StdoutOutput {
    pub(super) fn new(out: Box<dyn Write + Send>, buffered: bool) -> StdoutOutput {
        StdoutOutput { out, buffered }
    }

    pub(super) fn emit(&mut self, line: &[u8]) -> Result<(), Error> {
        self.out.write_all(line).map_err(io_err)?;
        if !self.buffered {
            self.out.flush().map_err(io_err)?;
        }
        Ok(())
    }

    pub(super) fn flush(&mut self) -> Result<(), Error> {
        self.out.flush().map_err(io_err)
    }
}

fn io_err(source: io::Error) -> Error {
    Error::Io {
        output: OutputKind::Stdout,
        target: "stdout".to_owned(),
        source,
    }
}
