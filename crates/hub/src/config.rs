//! Configuration: one YAML file plus environment overrides, in Falcosidekick's style.
//!
//! Every key path of [`Config`] can be overridden by an environment variable named
//! after it, upper-cased with `.` turned into `_`: `listenport` → `LISTENPORT`,
//! `storage.maxage` → `STORAGE_MAXAGE`, `tlsserver.deploy` → `TLSSERVER_DEPLOY`.
//! Lists are written comma-separated (`CUSTOMTAGS=a,b`), maps as `k:v,k2:v2`
//! (`CUSTOMFIELDS=cluster:prod,env:%ENVNAME`, where `%NAME` reads another variable).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use osprey_forward::config::env_value;

/// The hub's whole configuration. Field names are the YAML keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on (empty: all interfaces).
    pub listenaddress: String,
    /// Port to listen on (Falcosidekick's 2801 by default).
    pub listenport: u16,
    /// Static fields added to every alert's `output_fields`.
    pub customfields: BTreeMap<String, String>,
    /// Fields computed per alert from a Go-style template over `output_fields`.
    pub templatedfields: BTreeMap<String, String>,
    /// Tags appended to every alert's `tags`.
    pub customtags: Vec<String>,
    /// If set, `[` in output-field keys becomes this string and `]` is dropped.
    pub bracketreplacer: String,
    /// Truncate long string fields of alerts larger than 4096 bytes, as Falcosidekick does.
    pub truncatefields: bool,
    /// Falcosidekick's `outputFieldFormat`: when set, `output` is rebuilt from this text
    /// with `<timestamp> <priority> <output> <custom_fields> <templated_fields> <tags>`
    /// replaced (only for outputs in Falco's `HH:MM:SS.nnn: Priority text` shape).
    pub outputfieldformat: String,
    /// Largest accepted request body in bytes; larger bodies get 413.
    pub maxbodysize: u64,
    /// Path prefix every route is served under (for an ingress sub-path), e.g. `/falco`.
    pub basepath: String,
    /// Inbound TLS.
    pub tlsserver: TlsServerConfig,
    /// Users and tokens.
    pub auth: AuthConfig,
    /// Event storage.
    pub storage: StorageConfig,
    /// Prometheus metrics.
    pub prometheus: PrometheusConfig,
    /// Forwarders (osprey-forward): read from the same YAML file's top-level output
    /// sections (`webhook:`, `slack:`, `alertmanager:`, `smtp:`, `loki:`,
    /// `elasticsearch:`, `nats:`, `redis:`, `postgresql:`, `syslog:`, `file:`) and
    /// `queue:`, overridden by environment variables the same way (`SLACK_WEBHOOKURL`,
    /// `WEBHOOK_ADDRESS`, `QUEUE_DIR`; see [`osprey_forward::Config::from_yaml_and_env`]).
    #[serde(skip)]
    pub outputs: osprey_forward::Config,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listenaddress: String::new(),
            listenport: 2801,
            customfields: BTreeMap::new(),
            templatedfields: BTreeMap::new(),
            customtags: Vec::new(),
            bracketreplacer: String::new(),
            truncatefields: true,
            outputfieldformat: String::new(),
            maxbodysize: 10 << 20,
            basepath: String::new(),
            tlsserver: TlsServerConfig::default(),
            auth: AuthConfig::default(),
            storage: StorageConfig::default(),
            prometheus: PrometheusConfig::default(),
            outputs: osprey_forward::Config::default(),
        }
    }
}

/// Inbound TLS (`tlsserver.*`, as Falcosidekick).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TlsServerConfig {
    /// Serve HTTPS on the main port.
    pub deploy: bool,
    /// PEM certificate chain.
    pub certfile: String,
    /// PEM private key.
    pub keyfile: String,
    /// Require client certificates signed by `cacertfile`.
    pub mutualtls: bool,
    /// PEM CA bundle for client certificates.
    pub cacertfile: String,
    /// Plain-HTTP port for `notlspaths` while TLS is on (0: none).
    pub notlsport: u16,
    /// Paths served on `notlsport`.
    pub notlspaths: Vec<String>,
}

impl Default for TlsServerConfig {
    fn default() -> Self {
        TlsServerConfig {
            deploy: false,
            certfile: String::new(),
            keyfile: String::new(),
            mutualtls: false,
            cacertfile: String::new(),
            notlsport: 0,
            notlspaths: vec!["/ping".into(), "/healthz".into()],
        }
    }
}

/// Authentication (our own keys; Falcosidekick has none).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AuthConfig {
    /// Bearer tokens accepted on the ingest routes; empty: ingest is open.
    pub ingesttokens: Vec<String>,
    /// `user:password` pairs accepted (HTTP Basic) on the UI and read API.
    pub users: Vec<String>,
    /// Bearer tokens accepted on the UI and read API.
    pub apitokens: Vec<String>,
}

impl AuthConfig {
    /// Whether the UI and read API need credentials.
    pub fn read_protected(&self) -> bool {
        !self.users.is_empty() || !self.apitokens.is_empty()
    }
}

/// Event storage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StorageConfig {
    /// `sqlite` (default) or `postgres`.
    pub driver: String,
    /// SQLite database file.
    pub path: String,
    /// PostgreSQL connection string (`host=... port=... user=... dbname=...`).
    pub url: String,
    /// Largest number of events written in one transaction.
    pub batchsize: usize,
    /// Capacity of the ingest → writer queue, in events.
    pub queuesize: usize,
    /// Drop events older than this (`7d`, `24h`, `1M`; empty: keep).
    pub maxage: String,
    /// Keep the store below this size (`1GB`, `500MB`; empty: unbounded).
    pub maxsize: String,
    /// How often retention runs (`1m`).
    pub retentioninterval: String,
    /// Number of read connections.
    pub readers: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            driver: "sqlite".into(),
            path: "osprey-hub.db".into(),
            url: String::new(),
            batchsize: 2000,
            queuesize: 65536,
            maxage: String::new(),
            maxsize: String::new(),
            retentioninterval: "1m".into(),
            readers: 4,
        }
    }
}

/// Prometheus metrics.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PrometheusConfig {
    /// Export `falcosecurity_falcosidekick_falco_events_total` (its labels can be many).
    pub falcoevents: bool,
    /// Comma-separated output fields promoted to labels of that counter.
    pub extralabels: String,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            falcoevents: true,
            extralabels: String::new(),
        }
    }
}

impl Config {
    /// Reads `path` (if given) and applies overrides from the process environment.
    pub fn load(path: Option<&std::path::Path>) -> Result<Config, Error> {
        let yaml = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| Error::Io {
                context: format!("reading {}", p.display()),
                source,
            })?,
            None => String::new(),
        };
        Config::from_yaml_and_env(&yaml, |k| std::env::var(k).ok())
    }

    /// Parses `yaml` and applies overrides looked up with `env` (testable form of [`Config::load`]).
    pub fn from_yaml_and_env(
        yaml: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, Error> {
        let mut tree: Value = if yaml.trim().is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            serde_norway::from_str(yaml).map_err(|e| Error::Config {
                key: match e.location() {
                    Some(l) => format!("yaml line {} column {}", l.line(), l.column()),
                    None => "yaml".into(),
                },
                msg: e.to_string(),
            })?
        };
        if tree.is_null() {
            tree = Value::Object(serde_json::Map::new());
        }
        let defaults = serde_json::to_value(Config::default()).map_err(|e| Error::Config {
            key: "defaults".into(),
            msg: e.to_string(),
        })?;
        apply_env(&defaults, &mut tree, &mut Vec::new(), &env)?;
        let mut cfg: Config = serde_json::from_value(tree).map_err(|e| Error::Config {
            key: "config".into(),
            msg: e.to_string(),
        })?;
        cfg.outputs =
            osprey_forward::Config::from_yaml_and_env(yaml, &env).map_err(|e| Error::Config {
                key: "outputs".into(),
                msg: e.to_string(),
            })?;
        Ok(cfg)
    }
}

/// Walks the default tree and, for each leaf with a set environment variable, writes the
/// variable's value (typed after the default) into `tree`.
fn apply_env(
    defaults: &Value,
    tree: &mut Value,
    path: &mut Vec<String>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    let Value::Object(map) = defaults else {
        return Ok(());
    };
    for (key, def) in map {
        path.push(key.clone());
        let name = path.join("_").to_ascii_uppercase();
        let keypath = path.join(".");
        let is_struct =
            def.is_object() && !matches!(key.as_str(), "customfields" | "templatedfields");
        if is_struct {
            if let Value::Object(t) = tree {
                let child = t
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(serde_json::Map::new()));
                apply_env(def, child, path, env)?;
            }
        } else if let Some(raw) = env(&name) {
            let v = env_value(def, &raw).ok_or_else(|| Error::Config {
                key: keypath,
                msg: format!("environment variable {name}={raw:?} has the wrong type"),
            })?;
            if let Value::Object(t) = tree {
                t.insert(key.clone(), v);
            }
        }
        path.pop();
    }
    Ok(())
}

/// Parses a duration in Falcosidekick-UI's style: `30s`, `5min`, `1h`, `7d`, `2w`, `3M`
/// (30 days), `1y` (365 days) or plain seconds. Returns seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = s[..digits].parse().ok()?;
    let unit = match s[digits..].trim() {
        "" | "s" | "second" | "seconds" => 1,
        "m" | "min" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        "M" | "month" | "months" => 30 * 86_400,
        "y" | "year" | "years" => 365 * 86_400,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// Parses a size: `1048576`, `512KB`, `100MB`, `2GB` (powers of 1024). Returns bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = s[..digits].parse().ok()?;
    let unit: u64 = match s[digits..].trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_then_env_overrides() {
        let yaml = "listenport: 3000\ncustomfields:\n  cluster: dev\nstorage:\n  driver: sqlite\n  maxage: 7d\n";
        let env = |k: &str| match k {
            "LISTENPORT" => Some("4000".to_owned()),
            "CUSTOMFIELDS" => Some("cluster:prod,team:sec".to_owned()),
            "CUSTOMTAGS" => Some("a, b".to_owned()),
            "STORAGE_MAXSIZE" => Some("1GB".to_owned()),
            "TLSSERVER_DEPLOY" => Some("true".to_owned()),
            "AUTH_INGESTTOKENS" => Some("t1".to_owned()),
            _ => None,
        };
        let c = Config::from_yaml_and_env(yaml, env).unwrap();
        assert_eq!(c.listenport, 4000);
        assert_eq!(
            c.customfields.get("cluster").map(String::as_str),
            Some("prod")
        );
        assert_eq!(c.customfields.len(), 2);
        assert_eq!(c.customtags, vec!["a", "b"]);
        assert_eq!(c.storage.maxage, "7d");
        assert_eq!(c.storage.maxsize, "1GB");
        assert!(c.tlsserver.deploy);
        assert_eq!(c.auth.ingesttokens, vec!["t1"]);
    }

    #[test]
    fn bad_env_and_yaml_are_errors() {
        assert!(
            Config::from_yaml_and_env("", |k| (k == "LISTENPORT").then(|| "x".into())).is_err()
        );
        assert!(Config::from_yaml_and_env("listenport: [", |_| None).is_err());
        let d = Config::from_yaml_and_env("", |_| None).unwrap();
        assert_eq!(d.listenport, 2801);
        assert_eq!(d.storage, StorageConfig::default());
        assert_eq!(d.tlsserver, TlsServerConfig::default());
        let f = Config::from_yaml_and_env(
            "file:\n  path: /tmp/alerts.json\n  minimumpriority: error\n",
            |_| None,
        )
        .unwrap();
        assert_eq!(f.outputs.file.0.len(), 1);
        assert!(Config::from_yaml_and_env("slack:\n  webhookurl: [1\n", |_| None).is_err());
        // Output sections take environment overrides too, with or without YAML.
        let o = Config::from_yaml_and_env("slack:\n  webhookurl: http://yaml/\n", |k| {
            Some(match k {
                "SLACK_WEBHOOKURL" => "http://env/".to_owned(),
                "WEBHOOK_ADDRESS" => "http://hook/".to_owned(),
                _ => return None,
            })
        })
        .unwrap();
        assert_eq!(o.outputs.slack.0[0].settings.webhookurl, "http://env/");
        assert_eq!(o.outputs.webhook.0[0].settings.address, "http://hook/");
        let o = Config::from_yaml_and_env("", |k| {
            (k == "WEBHOOK_ADDRESS").then(|| "http://hook/".to_owned())
        })
        .unwrap();
        assert_eq!(o.outputs.webhook.0.len(), 1);
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("5min"), Some(300));
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("3M"), Some(90 * 86_400));
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_size("2GB"), Some(2 << 30));
        assert_eq!(parse_size("10"), Some(10));
        assert_eq!(parse_size("1XB"), None);
    }
}
