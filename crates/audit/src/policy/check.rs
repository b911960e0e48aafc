//! `osprey-audit check`: validate a policy as kube-apiserver does at start-up.
//!
//! Exit 0 when the policy loads; otherwise each error is printed to standard
//! output as `field.path: message` (whole-file errors as just the message, e.g.
//! `loaded illegal policy with 0 rules`) and the exit code is 1. Ignored unknown
//! or duplicate fields are warnings: `warning: line L: field.path: message`,
//! printed but not failing the check.

use super::Policy;
use crate::{Error, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `osprey-audit check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The audit policy to validate.
    #[arg(long, value_name = "POLICY.yaml")]
    pub policy: PathBuf,
}

/// Runs the subcommand, writing to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<ExitCode> {
    match Policy::load(&args.policy) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                writeln!(out, "warning: line {}: {w}", w.line).map_err(Error::Write)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Policy { diagnostics, .. }) => {
            for d in &diagnostics {
                writeln!(out, "{d}").map_err(Error::Write)?;
            }
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e),
    }
}
