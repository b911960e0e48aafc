//! `file_output`: alerts appended to a file, kept open or not.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{Error, FileConfig, OutputKind};

#[derive(Debug)]
pub(super) struct FileOutput {
    path: PathBuf,
    keep_alive: bool,
    buffered: bool,
    /// The open file, with `keep_alive` only.
    file: Option<BufWriter<File>>,
}

impl FileOutput {
    pub(super) fn new(config: &FileConfig, buffered: bool) -> Result<FileOutput, Error> {
        if config.filename.as_os_str().is_empty() {
            return Err(Error::Config {
                output: OutputKind::File,
                target: String::new(),
                reason: "filename is empty".to_owned(),
            });
        }
        Ok(FileOutput {
            path: config.filename.clone(),
            keep_alive: config.keep_alive,
            buffered,
            file: None,
        })
    }

    pub(super) fn emit(&mut self, line: &[u8]) -> Result<(), Error> {
        if !self.keep_alive {
            // One append-mode write of the whole line, then close: lines from
            // concurrent writers never interleave.
            let mut file = open(&self.path).map_err(|e| self.err(e))?;
            return file.write_all(line).map_err(|e| self.err(e));
        }
        let file = match self.file.take() {
            Some(f) => f,
            None => BufWriter::new(open(&self.path).map_err(|e| self.err(e))?),
        };
        let file = self.file.insert(file);
        let mut result = file.write_all(line);
        if result.is_ok() && !self.buffered {
            result = file.flush();
        }
        result.map_err(|e| err(&self.path, e))
    }

    pub(super) fn flush(&mut self) -> Result<(), Error> {
        match &mut self.file {
            Some(f) => f.flush().map_err(|e| err(&self.path, e)),
            None => Ok(()),
        }
    }

    /// Flushes and closes the kept-open file; the next alert opens the path
    /// again (after a logrotate rename, a new file).
    pub(super) fn reopen(&mut self) -> Result<(), Error> {
        let result = self.flush();
        self.file = None;
        result
    }

    fn err(&self, source: io::Error) -> Error {
        err(&self.path, source)
    }
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn err(path: &Path, source: io::Error) -> Error {
    Error::Io {
        output: OutputKind::File,
        target: path.display().to_string(),
        source,
    }
}
