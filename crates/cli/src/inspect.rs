//! `osprey`: sysdig-compatible inspection of capture files.

pub mod args;
pub mod chisels;
pub mod run;
pub mod summary;

use clap::Parser;
use std::process::ExitCode;

/// Entry point of the `osprey` binary: parses arguments, runs, maps errors to
/// sysdig's exit codes (1 for usage and input errors, 0 on a closed stdout pipe).
pub fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut args = match args::Args::try_parse_from(&argv) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Chisels are looked up while the command line is read, as sysdig does:
    // their declared arguments decide which words they take.
    let plan = match chisels::plan(&argv, osprey_chisel::info) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(1);
        }
    };
    args.chisel_words = plan.consumed;
    match run::run(&args, &plan) {
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
