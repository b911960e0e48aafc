//! Sinks: one per destination protocol. Each takes a batch of queued alerts and reports
//! how many of them, from the front, the destination accepted.

pub(crate) mod file;
pub(crate) mod http;
pub(crate) mod nats;
pub(crate) mod postgres;
pub(crate) mod redis;
pub(crate) mod smtp;
pub(crate) mod syslog;

use crate::Alert;

/// One alert taken from a queue, with its ids (stable across retries and restarts).
#[derive(Debug)]
pub(crate) struct Queued {
    /// Position in the queue (increasing in delivery order).
    pub(crate) id: u64,
    /// The queue file's epoch.
    pub(crate) epoch: u64,
    /// `<instance>-<epoch hex>-<id>`: the idempotency key sinks give destinations.
    pub(crate) key: String,
    pub(crate) alert: Alert,
}

/// Why a delivery stopped.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The destination rejected the alert for good (retrying cannot help).
    pub(crate) permanent: bool,
    pub(crate) message: String,
}

/// The result of one delivery attempt.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Alerts accepted, counted from the front of the batch.
    pub(crate) delivered: usize,
    /// Set when `delivered < batch.len()`.
    pub(crate) failure: Option<Failure>,
}

impl Outcome {
    pub(crate) fn ok(n: usize) -> Outcome {
        Outcome {
            delivered: n,
            failure: None,
        }
    }

    pub(crate) fn failed(delivered: usize, permanent: bool, message: impl Into<String>) -> Outcome {
        Outcome {
            delivered,
            failure: Some(Failure {
                permanent,
                message: message.into(),
            }),
        }
    }
}

/// A configured sink.
#[derive(Debug)]
pub(crate) enum Sink {
    Http(Box<http::HttpSink>),
    Smtp(Box<smtp::SmtpSink>),
    Nats(Box<nats::NatsSink>),
    Redis(redis::RedisSink),
    Postgres(postgres::PostgresSink),
    Syslog(Box<syslog::SyslogSink>),
    File(file::FileSink),
}

impl Sink {
    pub(crate) async fn send(&mut self, batch: &[Queued]) -> Outcome {
        match self {
            Sink::Http(s) => s.send(batch).await,
            Sink::Smtp(s) => s.send(batch).await,
            Sink::Nats(s) => s.send(batch).await,
            Sink::Redis(s) => s.send(batch).await,
            Sink::Postgres(s) => s.send(batch).await,
            Sink::Syslog(s) => s.send(batch).await,
            Sink::File(s) => s.send(batch).await,
        }
    }
}

/// `<instance>-<epoch hex>-<queue id>`: the idempotency key of a queued alert.
pub(crate) fn delivery_key(name: &str, epoch: u64, id: u64) -> String {
    format!("{name}-{epoch:016x}-{id}")
}

/// The rule name as a subject token: lower case, runs of other characters as `_`,
/// trimmed of `_` (sidekick's NATS slug).
pub(crate) fn slug(rule: &str) -> String {
    let mut out = String::with_capacity(rule.len());
    let mut pending = false;
    for c in rule.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending && !out.is_empty() {
                out.push('_');
            }
            pending = false;
            out.push(c);
        } else {
            pending = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn slug_matches_sidekick() {
        assert_eq!(
            super::slug("Terminal shell in container"),
            "terminal_shell_in_container"
        );
        assert_eq!(super::slug("  Write below /etc!! "), "write_below_etc");
    }
}
