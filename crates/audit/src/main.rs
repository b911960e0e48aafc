//! `osprey-audit`: Kubernetes audit policy and log tools. Each subcommand lives in
//! its own library module as `run(&args, &mut out) -> Result<ExitCode>`.

use clap::{Parser, Subcommand};
use osprey_audit::policy::check;
use osprey_audit::{evaluate, lint, simulate};
use std::io::Write;
use std::process::ExitCode;

/// Kubernetes audit tools.
#[derive(Debug, Parser)]
#[command(
    name = "osprey-audit",
    version,
    about = "Kubernetes audit policy and log tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per subcommand.
#[derive(Debug, Subcommand)]
enum Command {
    /// Print the policy decision for each event, one JSON line each.
    Evaluate(evaluate::Args),
    /// Validate a policy as the apiserver does (exit 1 on errors).
    Check(check::Args),
    /// Receive webhook POSTs (EventList) and write them as the apiserver's log backend.
    Serve(osprey_audit::serve::Args),
    /// POST events to a webhook as the apiserver's webhook backend (counters on stderr).
    Send(osprey_audit::sender::cli::Args),
    /// Report shadowed rules, rules that never match and settings with no effect (exit 1 with findings).
    Lint(lint::Args),
    /// Replay logs through a policy: matches per rule, levels, bytes kept (table or --json).
    Simulate(simulate::Args),
    /// Print the audit events matching a filter over ka.* fields (table, --json or -o FORMAT).
    Query(osprey_audit::query::Args),
}

fn dispatch(command: Command, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    Ok(match command {
        Command::Evaluate(a) => evaluate::run(&a, out)?,
        Command::Check(a) => check::run(&a, out)?,
        Command::Serve(a) => {
            let stats = osprey_audit::serve::run(&a, |addr| {
                eprintln!(
                    "osprey-audit serve: listening on http://{addr}{}",
                    a.url_path
                );
            })?;
            eprintln!("osprey-audit serve: {stats}");
            ExitCode::SUCCESS
        }
        Command::Send(a) => {
            let stats = osprey_audit::sender::cli::run(&a)?;
            eprintln!("osprey-audit send: {stats}");
            if stats.failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Lint(a) => lint::run(&a, out)?,
        Command::Simulate(a) => simulate::run(&a, out)?,
        Command::Query(a) => osprey_audit::query::run(&a, out, &mut std::io::stderr().lock())?,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = dispatch(cli.command, &mut out).and_then(|code| {
        out.flush().map_err(osprey_audit::Error::Write)?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            drop(out);
            eprintln!("osprey-audit: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A closed stdout (`| head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
