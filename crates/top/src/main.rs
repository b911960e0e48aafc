//! `osprey-top`: a csysdig-like terminal UI, live or on a capture file.

use clap::Parser;
use osprey_top::engine::{self, Command, Input, Options, Request, Update};
use osprey_top::{json, views};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

/// Command-line arguments (csysdig's).
#[derive(Debug, Parser)]
#[command(
    name = "osprey-top",
    version,
    about = "A csysdig-like view of the system or of a capture file"
)]
struct Args {
    /// Refresh period in ms.
    #[arg(short = 'd', long = "delay", default_value_t = 2000)]
    delay: u64,
    /// The view to start with.
    #[arg(short = 'v', long = "view", default_value = "procs")]
    view: String,
    /// Print the views as JSON and exit.
    #[arg(long = "list-views")]
    list_views: bool,
    /// No terminal: one JSON document per refresh.
    #[arg(short = 'j', long = "json")]
    json: bool,
    /// Read events from a capture file instead of the live system.
    #[arg(short = 'r', long = "read")]
    read: Option<String>,
    /// `c` (or `container`): the views' container columns.
    #[arg(short = 'p', long = "print")]
    print: Option<String>,
    /// With -j on a file: one document for the whole file (csysdig's
    /// behaviour) rather than one per refresh period of event time.
    #[arg(long = "whole-file")]
    whole_file: bool,
    /// Do not ask the container runtimes about containers (live).
    #[arg(long = "no-containers")]
    no_containers: bool,
    /// A filter, as in sysdig.
    #[arg(trailing_var_arg = true)]
    filter: Vec<String>,
}

fn main() -> ExitCode {
    let a = Args::parse();
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: &Args) -> Result<(), osprey_top::Error> {
    if a.list_views {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &views::list_json())
            .map_err(std::io::Error::other)?;
        writeln!(out)?;
        return Ok(());
    }
    if a.delay < 100 {
        return Err(osprey_top::Error::View(
            "Period must be bigger then 100ms".to_owned(),
        ));
    }
    let view = views::index_of(&a.view)
        .ok_or_else(|| osprey_top::Error::View(format!("unknown view {}", a.view)))?;
    let filter = a.filter.join(" ");
    if !filter.trim().is_empty() {
        osprey_filter::Filter::compile(&filter, &osprey_filter::fields::catalog::SyscallCatalog)
            .map_err(|e| osprey_top::Error::Filter(e.display_with_caret(&filter)))?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        let ui = !a.json;
        ctrlc::set_handler(move || {
            stop.store(true, Ordering::Relaxed);
            // Ctrl-C, SIGTERM or a hang-up end the run in an orderly way;
            // should that not happen within a second (a terminal that is
            // gone can keep the terminal library busy), leave anyway.
            std::thread::sleep(std::time::Duration::from_secs(1));
            if ui {
                osprey_top::ui::restore();
            }
            std::process::exit(1);
        })
        .map_err(|e| osprey_top::Error::View(format!("cannot install the signal handler: {e}")))?;
    }
    let input = match &a.read {
        Some(p) => Input::File(p.clone()),
        None => Input::Live,
    };
    let opts = Options {
        whole_file: !a.json || a.whole_file,
        input,
        interval_ns: a.delay * 1_000_000,
        containers: matches!(a.print.as_deref(), Some("c" | "container")),
        filter,
        resolve_containers: !a.no_containers,
    };
    if a.json {
        return run_json(opts, view, &stop);
    }
    osprey_top::ui::run(opts, &a.view, &stop)
}

/// `-j`: the engine on this thread's behalf, each sample printed as it comes.
fn run_json(opts: Options, view: usize, stop: &Arc<AtomicBool>) -> Result<(), osprey_top::Error> {
    let (_cmd_tx, cmd_rx) = mpsc::channel::<Command>();
    let (up_tx, up_rx) = mpsc::channel::<Update>();
    let cmdline = opts.filter.clone();
    let engine_stop = Arc::clone(stop);
    let handle = std::thread::spawn(move || {
        engine::run(
            &opts,
            Request::View {
                view,
                filter: String::new(),
            },
            true,
            &engine_stop,
            &cmd_rx,
            &up_tx,
        );
    });
    let v = &views::all()[view];
    let mut out = std::io::stdout().lock();
    let mut result = Ok(());
    for u in up_rx {
        match u {
            Update::Sample { sample, .. } => json::write_sample(&mut out, v, &sample, &cmdline)?,
            Update::Failed { message, .. } | Update::Fatal(message) => {
                result = Err(osprey_top::Error::View(message));
            }
            Update::Lines { .. } | Update::End => {}
        }
    }
    let _ = handle.join();
    result
}
