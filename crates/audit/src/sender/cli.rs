//! `osprey-audit send`: POST audit events from files (or standard input) to a
//! webhook, as kube-apiserver's webhook backend does, and the `--audit-webhook-*`
//! flags shared with `osprey-audit serve` (which can forward what it writes).

use std::path::PathBuf;
use std::time::Duration;

use super::{input, Client, Error, Mode, Options, Stats, Webhook};
use crate::event::{display_name, read_input};

/// The `--audit-webhook-*` flags, with the apiserver's defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// The webhook configuration: a kubeconfig whose current context's cluster
    /// `server` is the URL to POST to.
    #[arg(
        long = "audit-webhook-config-file",
        visible_alias = "webhook-config",
        value_name = "KUBECONFIG"
    )]
    pub config: Option<PathBuf>,
    /// batch, blocking or blocking-strict.
    #[arg(long = "audit-webhook-mode", default_value = "batch", value_parser = parse_mode)]
    pub mode: Mode,
    /// Events buffered in batch mode before new ones are dropped.
    #[arg(long = "audit-webhook-batch-buffer-size", default_value_t = 10_000)]
    pub buffer_size: usize,
    /// Events per request in batch mode.
    #[arg(long = "audit-webhook-batch-max-size", default_value_t = 400)]
    pub max_batch_size: usize,
    /// Longest wait before a partial batch is sent (Go duration: 30s, 500ms, 1m).
    #[arg(long = "audit-webhook-batch-max-wait", default_value = "30s", value_parser = parse_go_duration)]
    pub max_batch_wait: Duration,
    /// Throttle batches with a token bucket.
    #[arg(
        long = "audit-webhook-batch-throttle-enable",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_name = "BOOL"
    )]
    pub throttle_enable: bool,
    /// Batches per second when throttling.
    #[arg(long = "audit-webhook-batch-throttle-qps", default_value_t = 10.0)]
    pub throttle_qps: f64,
    /// Token bucket size when throttling.
    #[arg(long = "audit-webhook-batch-throttle-burst", default_value_t = 15)]
    pub throttle_burst: u32,
    /// Wait before the first retry; each next wait is 1.5 times longer (+ up to 20 %).
    #[arg(
        long = "audit-webhook-initial-backoff",
        visible_alias = "audit-webhook-batch-initial-backoff",
        default_value = "10s",
        value_parser = parse_go_duration
    )]
    pub initial_backoff: Duration,
    /// Attempts per request before giving up (the apiserver's fixed 5); 0 retries
    /// until delivered.
    #[arg(long = "audit-webhook-attempts", default_value_t = 5)]
    pub attempts: u32,
}

impl WebhookArgs {
    /// The [`Options`] these flags select.
    pub fn options(&self) -> Options {
        Options {
            mode: self.mode,
            buffer_size: self.buffer_size,
            max_batch_size: self.max_batch_size,
            max_batch_wait: self.max_batch_wait,
            throttle_enable: self.throttle_enable,
            throttle_qps: self.throttle_qps,
            throttle_burst: self.throttle_burst,
            initial_backoff: self.initial_backoff,
            attempts: self.attempts,
        }
    }

    /// Starts the webhook backend if `--audit-webhook-config-file` is set.
    pub fn start(&self) -> Result<Option<Webhook>, Error> {
        match &self.config {
            Some(path) => {
                let client = Client::from_kubeconfig(path)?;
                Ok(Some(Webhook::new(client, self.options())?))
            }
            None => Ok(None),
        }
    }
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

/// Parses a Go duration (`300ms`, `1.5s`, `2m30s`, `1h`; units ns, us, µs, ms, s,
/// m, h; a bare `0` is zero).
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0.0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// Arguments of `osprey-audit send`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Webhook flags; `--webhook-config` is required here.
    #[command(flatten)]
    pub webhook: WebhookArgs,
    /// Event files: JSON lines, EventList objects or arrays; `-` (the default) is stdin.
    #[arg(value_name = "FILE", default_value = "-")]
    pub files: Vec<PathBuf>,
}

/// Errors of `send`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Reading an input failed.
    #[error(transparent)]
    Read(#[from] crate::Error),
    /// An input is malformed.
    #[error("{file}: {source}")]
    Input {
        /// The input's name.
        file: String,
        /// What is wrong, with its byte offset.
        #[source]
        source: input::Error,
    },
    /// The webhook failed (blocking-strict) or could not be set up.
    #[error(transparent)]
    Webhook(#[from] Error),
}

/// Sends every event of `args.files` and returns the final counters. In
/// blocking-strict mode the first undeliverable event stops the run with an error;
/// the other modes report failures and drops in the counters only.
pub fn run(args: &Args) -> Result<Stats, SendError> {
    let Some(webhook) = args.webhook.start()? else {
        return Err(Error::Invalid("--webhook-config (a kubeconfig) is required".into()).into());
    };
    let result = send_files(&webhook, &args.files);
    let stats = webhook.shutdown();
    result.map(|()| stats)
}

fn send_files(webhook: &Webhook, files: &[PathBuf]) -> Result<(), SendError> {
    for path in files {
        let data = read_input(path)?;
        let mut failure = None;
        input::for_each_event(&data, |ev| {
            if failure.is_none() {
                if let Err(e) = webhook.process(ev.get().as_bytes()) {
                    failure = Some(e);
                }
            }
        })
        .map_err(|source| SendError::Input {
            file: display_name(path).into_owned(),
            source,
        })?;
        if let Some(e) = failure {
            return Err(e.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("s").is_err());
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("1x").is_err());
    }
}
