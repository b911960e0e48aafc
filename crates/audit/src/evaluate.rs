//! `osprey-audit evaluate`: the policy decision for each event, one JSON line each:
//! `{"auditID":"…","level":"…","omitStages":[…],"omitManagedFields":…}`.
//!
//! `omitStages` lists stages in canonical order (RequestReceived, ResponseStarted,
//! ResponseComplete, Panic). The first malformed event stops the run with an error
//! naming its file, line, column and byte offset (lines already written stay).

use crate::event::{display_name, read_input, Events, StageSet};
use crate::policy::Policy;
use crate::{Error, Result};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `osprey-audit evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The audit policy (audit.k8s.io/v1 Policy YAML).
    #[arg(long, value_name = "POLICY.yaml")]
    pub policy: PathBuf,
    /// Event files: JSON lines, EventList objects or arrays; `-` (the default) is stdin.
    #[arg(value_name = "FILE", default_value = "-")]
    pub files: Vec<PathBuf>,
}

/// One output line.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    #[serde(rename = "auditID")]
    audit_id: &'a str,
    level: &'static str,
    omit_stages: StageSet,
    omit_managed_fields: bool,
}

/// Runs the subcommand, writing to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<ExitCode> {
    let policy = Policy::load(&args.policy)?.policy;
    for path in &args.files {
        let data = read_input(path)?;
        let name = display_name(path);
        for event in Events::new(&data, &name) {
            let event = event?;
            let d = policy.evaluate_event(&event);
            let line = Line {
                audit_id: event.audit_id(),
                level: d.level.as_str(),
                omit_stages: d.omit_stages,
                omit_managed_fields: d.omit_managed_fields,
            };
            serde_json::to_writer(&mut *out, &line)
                .map_err(|e| Error::Write(std::io::Error::from(e)))?;
            out.write_all(b"\n").map_err(Error::Write)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
