//! The falco.yaml keys that configure outputs, with Falco 0.44's defaults.
//! Unknown keys are ignored, so the structs can be deserialized from a whole
//! falco.yaml (or embedded in a larger config with `#[serde(flatten)]`).

use std::path::PathBuf;

use serde::Deserialize;

use super::Priority;

/// `priority` as falco.yaml writes it (a case-insensitive name).
fn priority<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Priority, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    super::parse_priority(&s).map_err(serde::de::Error::custom)
}

/// The output-related top-level keys of falco.yaml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct OutputsConfig {
    /// `priority`: alerts less severe than this are not sent (default `debug`).
    #[serde(deserialize_with = "priority")]
    pub priority: Priority,
    /// `json_output`: send the JSON line instead of the text line.
    pub json_output: bool,
    /// `buffered_outputs`: do not flush after every alert (default false).
    pub buffered_outputs: bool,
    /// `outputs`: the rate limiter.
    pub outputs: RateConfig,
    /// `stdout_output`.
    pub stdout_output: StdoutConfig,
    /// `file_output`.
    pub file_output: FileConfig,
    /// `syslog_output`.
    pub syslog_output: SyslogConfig,
    /// `program_output`.
    pub program_output: ProgramConfig,
    /// `http_output`.
    pub http_output: HttpConfig,
}

impl Default for OutputsConfig {
    fn default() -> Self {
        OutputsConfig {
            priority: Priority::Debug,
            json_output: false,
            buffered_outputs: false,
            outputs: RateConfig::default(),
            stdout_output: StdoutConfig::default(),
            file_output: FileConfig::default(),
            syslog_output: SyslogConfig::default(),
            program_output: ProgramConfig::default(),
            http_output: HttpConfig::default(),
        }
    }
}

/// `outputs: {rate, max_burst}`: a token bucket over all alerts. Falco
/// removed these keys in 0.37; osprey keeps them, with `rate: 0` (the last
/// default Falco shipped) meaning "no limit".
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default)]
pub struct RateConfig {
    /// Tokens (alerts) added per second; 0 or less disables the limiter.
    pub rate: f64,
    /// Bucket size: the largest burst; the bucket starts full.
    pub max_burst: u64,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            rate: 0.0,
            max_burst: 1000,
        }
    }
}

/// `stdout_output`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct StdoutConfig {
    /// Default true.
    pub enabled: bool,
}

impl Default for StdoutConfig {
    fn default() -> Self {
        StdoutConfig { enabled: true }
    }
}

/// `file_output`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FileConfig {
    /// Default false.
    pub enabled: bool,
    /// Keep the file open between alerts (default false: open, append and
    /// close for each alert).
    pub keep_alive: bool,
    /// Default `./events.txt`.
    pub filename: PathBuf,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            enabled: false,
            keep_alive: false,
            filename: PathBuf::from("./events.txt"),
        }
    }
}

/// `syslog_output`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SyslogConfig {
    /// Default true, as in Falco.
    pub enabled: bool,
    /// Osprey extension: the syslog datagram socket (default `/dev/log`).
    pub socket: PathBuf,
    /// Osprey extension: the tag before `[pid]:` (default: the program's
    /// name, as glibc's `syslog()` uses).
    pub ident: Option<String>,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            enabled: true,
            socket: PathBuf::from("/dev/log"),
            ident: None,
        }
    }
}

/// `program_output`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProgramConfig {
    /// Default false.
    pub enabled: bool,
    /// Keep one process (and its stdin pipe) for all alerts (default false:
    /// one process per alert, waited for).
    pub keep_alive: bool,
    /// The command, run with `sh -c`.
    pub program: String,
}

/// `http_output`. Only plain `http://` URLs are supported (no TLS), so
/// Falco's `insecure`, `ca_*`, `mtls` and `client_*` keys are not read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Default false.
    pub enabled: bool,
    /// The `http://host[:port]/path` to POST each alert to.
    pub url: String,
    /// Default `falcosecurity/falco`, Falco's.
    pub user_agent: String,
    /// As Falco (libcurl's `CURLOPT_TRANSFER_ENCODING`), this does not
    /// compress the request: it asks for a compressed response with a
    /// `TE: gzip` header.
    pub compress_uploads: bool,
    /// Osprey extension: alerts waiting for the sender thread; more are
    /// dropped and counted (default 10000).
    pub queue_capacity: usize,
    /// Osprey extension: re-attempts after a connection failure or a 408,
    /// 429 or 5xx status (default 5, Falco's `max_consecutive_timeouts`).
    pub max_retries: u32,
    /// Osprey extension: the first retry delay in ms, doubled per retry
    /// (default 100).
    pub retry_backoff_ms: u64,
    /// Osprey extension: the longest retry delay in ms (default 10000).
    pub retry_backoff_max_ms: u64,
    /// Osprey extension: the whole-request timeout in ms, 0 for none
    /// (default 5000). Delays and timeouts are capped at one day.
    pub timeout_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: false,
            url: String::new(),
            user_agent: "falcosecurity/falco".to_owned(),
            compress_uploads: false,
            queue_capacity: 10_000,
            max_retries: 5,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 10_000,
            timeout_ms: 5_000,
        }
    }
}
