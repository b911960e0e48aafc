//! `osprey`: sysdig-compatible inspection of capture files.

pub mod args;
pub mod run;
pub mod summary;

use clap::Parser;
use std::process::ExitCode;

/// Entry point of the `osprey` binary: parses arguments, runs, maps errors to
/// sysdig's exit codes (1 for usage and input errors, 0 on a closed stdout pipe).
pub fn main() -> ExitCode {
    let args = match args::Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("{e:#}");
            ExitCode::from(1)
        }
    }
}
