//! The `osprey-hub` binary: a Falcosidekick-compatible collector with storage and a web UI.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Command line of osprey-hub.
#[derive(Debug, Parser)]
#[command(
    name = "osprey-hub",
    version,
    about = "Falcosidekick-compatible alert collector, store and web UI"
)]
struct Args {
    /// YAML configuration file (environment variables override it, e.g. LISTENPORT=2801).
    #[arg(short = 'c', long = "config-file")]
    config: Option<PathBuf>,
}

fn run(args: &Args) -> Result<(), String> {
    let cfg = osprey_hub::Config::load(args.config.as_deref()).map_err(|e| e.to_string())?;
    let running = osprey_hub::start(cfg).map_err(|e| e.to_string())?;
    println!("osprey-hub listening on {}", running.addr);
    if let Some(a) = running.notls_addr {
        println!("osprey-hub plain-HTTP paths on {a}");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    });
    running.stop();
    Ok(())
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("osprey-hub: {e}");
            ExitCode::from(1)
        }
    }
}
