//! Forwarder configuration: YAML in Falcosidekick's style (one section per output type,
//! lower-case flat keys), extended so that a section may hold several named instances,
//! each with its own routing filter and queue bound.
//!
//! ```yaml
//! queue:
//!   dir: /var/lib/osprey/forward   # one queue database per output instance
//!   maxqueued: 10000               # per instance
//!   overflow: dropoldest           # or dropnewest
//! webhook:                         # a single instance (sidekick's form) ...
//!   address: http://127.0.0.1:8080/
//! slack:                           # ... or a list of named instances
//!   - name: oncall
//!     webhookurl: https://hooks.slack.com/services/XXX
//!     minimumpriority: error
//!     tags: [mitre_execution]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::alert::{Alert, TEST_RULE};
use crate::{Error, Priority, Result};

/// What a full queue does with one more alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overflow {
    /// Discard the oldest queued alert to make room (the default: fresh alerts matter most).
    #[default]
    #[serde(alias = "drop_oldest", alias = "oldest")]
    DropOldest,
    /// Discard the incoming alert and keep the backlog as it is.
    #[serde(alias = "drop_newest", alias = "newest")]
    DropNewest,
}

/// Queue and retry settings shared by every output (each instance may override the bound).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueConfig {
    /// Directory holding one queue database per output instance (`<name>.redb`).
    pub dir: PathBuf,
    /// Maximum alerts waiting per output instance.
    pub maxqueued: u64,
    /// What happens when the bound is reached.
    pub overflow: Overflow,
    /// Alerts handed to a sink per delivery attempt.
    pub batchsize: usize,
    /// First retry delay in milliseconds (doubles per failure, with jitter).
    pub retryinitialms: u64,
    /// Upper bound of the retry delay in milliseconds.
    pub retrymaxms: u64,
    /// Timeout of one delivery attempt in seconds.
    pub timeoutseconds: u64,
    /// Sync the queue file to disk on every commit (off: faster, may lose the last
    /// alerts on power loss, never on a process crash).
    pub fsync: bool,
    /// Grace period of [`crate::Forwarders::shutdown`] in seconds: deliveries go on
    /// until every queue is empty or this time is up; what is left stays queued on disk.
    pub draintimeoutseconds: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            dir: PathBuf::from("/var/lib/osprey/forward"),
            maxqueued: 10_000,
            overflow: Overflow::DropOldest,
            batchsize: 100,
            retryinitialms: 200,
            retrymaxms: 30_000,
            timeoutseconds: 10,
            fsync: true,
            draintimeoutseconds: 5,
        }
    }
}

/// Routing and queue settings every output instance has, next to its own keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Common {
    /// Instance name (unique across all outputs); defaults to the type name, then
    /// `<type>-<n>` for the n-th unnamed instance of a type.
    pub name: Option<String>,
    /// Lowest priority forwarded (case-insensitive; empty means debug, i.e. everything).
    /// Alerts of the rule `Test rule` bypass it, as in Falcosidekick.
    pub minimumpriority: String,
    /// When non-empty, only alerts of these rules (exact names).
    pub rules: Vec<String>,
    /// When non-empty, only alerts carrying at least one of these tags.
    pub tags: Vec<String>,
    /// When non-empty, only alerts from these sources (`syscall`, `k8s_audit`, ...).
    pub sources: Vec<String>,
    /// Overrides `queue.maxqueued` for this instance.
    pub maxqueued: Option<u64>,
    /// Overrides `queue.overflow` for this instance.
    pub overflow: Option<Overflow>,
}

/// A compiled routing filter.
#[derive(Debug, Clone)]
pub struct Route {
    min: Priority,
    rules: Vec<String>,
    tags: Vec<String>,
    sources: Vec<String>,
}

impl Route {
    /// Compiles the routing part of `common` (errors on an unknown priority name).
    pub fn new(common: &Common) -> Result<Route> {
        let min = if common.minimumpriority.is_empty() {
            Priority::Debug
        } else {
            Priority::parse(&common.minimumpriority).ok_or_else(|| Error::Config {
                line: 0,
                column: 0,
                message: format!("unknown minimumpriority {:?}", common.minimumpriority),
            })?
        };
        Ok(Route {
            min,
            rules: common.rules.clone(),
            tags: common.tags.clone(),
            sources: common.sources.clone(),
        })
    }

    /// Whether the alert goes to this output.
    pub fn matches(&self, alert: &Alert) -> bool {
        if alert.priority < self.min && alert.rule != TEST_RULE {
            return false;
        }
        if !self.rules.is_empty() && !self.rules.contains(&alert.rule) {
            return false;
        }
        if !self.tags.is_empty() && !alert.tags().iter().any(|t| self.tags.contains(t)) {
            return false;
        }
        if !self.sources.is_empty() && !self.sources.iter().any(|s| s == alert.source_or_default())
        {
            return false;
        }
        true
    }
}

/// One configured instance: the common keys plus the type's own settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Instance<T> {
    /// Name, routing and queue overrides.
    #[serde(flatten)]
    pub common: Common,
    /// The output type's settings.
    #[serde(flatten)]
    pub settings: T,
}

/// The instances of one output type: YAML accepts a single mapping (Falcosidekick's
/// form) or a list of mappings.
#[derive(Debug, Clone)]
pub struct Instances<T>(pub Vec<Instance<T>>);

impl<T> Default for Instances<T> {
    fn default() -> Self {
        Instances(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Instances<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany<T> {
            Many(Vec<Instance<T>>),
            One(Instance<T>),
        }
        Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
            None => Instances(Vec::new()),
            Some(OneOrMany::Many(v)) => Instances(v),
            Some(OneOrMany::One(i)) => Instances(vec![i]),
        })
    }
}

/// Deserialises a list from a YAML sequence or a comma-separated string (sidekick's
/// env-var style, e.g. `to: a@x, b@y`).
fn list_or_csv<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum L {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match Option::<L>::deserialize(d)? {
        None => Vec::new(),
        Some(L::List(v)) => v,
        Some(L::Csv(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// TLS and concurrency keys every HTTP output has (as in Falcosidekick).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpOptions {
    /// Verify the server's certificate (default true); `false` accepts any certificate.
    /// Ignored when `mutualtls` is on (verification is then always on).
    pub checkcert: bool,
    /// Present the global client certificate (`mutualtlsclient.*` or the files in
    /// `mutualtlsfilespath`) and trust its CA.
    pub mutualtls: bool,
    /// Requests in flight at once for outputs that send one request per alert (webhook,
    /// Slack); 0 means unlimited (up to a batch). Default 1, as in Falcosidekick.
    pub maxconcurrentrequests: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            checkcert: true,
            mutualtls: false,
            maxconcurrentrequests: 1,
        }
    }
}

/// The client identity outputs with `mutualtls: true` present (`mutualtlsclient.*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MutualTlsClient {
    /// PEM client certificate (chain).
    pub certfile: String,
    /// PEM private key of the client certificate.
    pub keyfile: String,
    /// PEM CA bundle that signed the servers' certificates.
    pub cacertfile: String,
}

/// Global outbound TLS settings (`tlsclient.*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsClient {
    /// PEM CA bundle added to the trusted roots of every HTTP output.
    pub cacertfile: String,
}

/// `webhook`: the alert's Falco JSON, POSTed (or PUT) as is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookConfig {
    /// Target URL (enables the output).
    pub address: String,
    /// `POST` (default) or `PUT`.
    pub method: String,
    /// Extra request headers.
    pub customheaders: BTreeMap<String, String>,
    /// `checkcert`, `mutualtls`, `maxconcurrentrequests`.
    #[serde(flatten)]
    pub http: HttpOptions,
}

/// Slack `outputformat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlackFormat {
    /// Text plus one attachment field per string output field (default).
    #[default]
    All,
    /// Same as `all`.
    Fields,
    /// Only the colored attachment with the output as fallback, no fields.
    Text,
}

/// `slack`: Slack-compatible incoming webhook (also Mattermost, Rocket.Chat).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SlackConfig {
    /// Incoming-webhook URL (enables the output).
    pub webhookurl: String,
    /// Channel override (`#alerts`); empty keeps the webhook's channel.
    pub channel: String,
    /// Sender name (default `Falcosidekick`).
    pub username: String,
    /// Sender icon URL.
    pub icon: String,
    /// Attachment footer.
    pub footer: String,
    /// `all` (default), `fields` or `text`.
    pub outputformat: SlackFormat,
    /// Go template over the alert (`{{ .Rule }}`, `{{ .Priority }}`, `{{ .Output }}`,
    /// `{{ index .OutputFields "proc.name" }}`, ...) rendered as the message `text` above
    /// the attachment; empty: no text.
    pub messageformat: String,
    /// `checkcert`, `mutualtls`, `maxconcurrentrequests`.
    #[serde(flatten)]
    pub http: HttpOptions,
}

/// `alertmanager`: Prometheus Alertmanager v2 API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertmanagerConfig {
    /// One or more `http://host:port` (comma-separated or a list; enables the output).
    /// Each batch goes to every host, as sidekick does for HA pairs.
    #[serde(deserialize_with = "list_or_csv")]
    pub hostport: Vec<String>,
    /// API path (default `/api/v2/alerts`).
    pub endpoint: String,
    /// Seconds after the alert's time for `endsAt` (0: leave unset).
    pub expiresafter: u64,
    /// Labels added to every alert.
    pub extralabels: BTreeMap<String, String>,
    /// Annotations added to every alert.
    pub extraannotations: BTreeMap<String, String>,
    /// Overrides of the priority → `severity` label map (keys are priority names).
    pub customseveritymap: BTreeMap<String, String>,
    /// Extra request headers.
    pub customheaders: BTreeMap<String, String>,
    /// `checkcert`, `mutualtls`, `maxconcurrentrequests`.
    #[serde(flatten)]
    pub http: HttpOptions,
}

/// SMTP connection security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (default, for a local relay).
    #[default]
    None,
    /// STARTTLS upgrade (port 587).
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

/// `smtp`: e-mail with a plain-text and an HTML part.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpConfig {
    /// `host:port` of the server (enables the output).
    pub hostport: String,
    /// Connection security.
    pub tls: SmtpTls,
    /// Login user (empty: no authentication).
    pub user: String,
    /// Login password.
    pub password: String,
    /// Sender address.
    pub from: String,
    /// Recipients (list or comma-separated).
    #[serde(deserialize_with = "list_or_csv")]
    pub to: Vec<String>,
}

/// Loki line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LokiFormat {
    /// The alert's `output` text (default, as sidekick).
    #[default]
    Text,
    /// The alert's whole Falco JSON.
    Json,
}

/// `loki`: Grafana Loki push API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LokiConfig {
    /// `http://host:port` (enables the output).
    pub hostport: String,
    /// API path (default `/loki/api/v1/push`).
    pub endpoint: String,
    /// Basic-auth user (with `apikey` as password).
    pub user: String,
    /// Basic-auth password / API key.
    pub apikey: String,
    /// `X-Scope-OrgID` tenant.
    pub tenant: String,
    /// Line format.
    pub format: LokiFormat,
    /// Output fields promoted to stream labels (list or comma-separated).
    #[serde(deserialize_with = "list_or_csv")]
    pub extralabels: Vec<String>,
    /// Extra request headers.
    pub customheaders: BTreeMap<String, String>,
    /// `checkcert`, `mutualtls`, `maxconcurrentrequests`.
    #[serde(flatten)]
    pub http: HttpOptions,
}

/// Elasticsearch index suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexSuffix {
    /// `-YYYY.MM.DD` (default).
    #[default]
    Daily,
    /// `-YYYY.MM`.
    Monthly,
    /// `-YYYY`.
    Annually,
    /// No suffix.
    None,
}

/// `elasticsearch`: `_bulk` NDJSON (also OpenSearch).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ElasticsearchConfig {
    /// `http://host:port` (enables the output).
    pub hostport: String,
    /// Index name prefix (default `falco`).
    pub index: String,
    /// Date suffix, taken from the alert's time.
    pub suffix: IndexSuffix,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// `Authorization: ApiKey <apikey>` when set.
    pub apikey: String,
    /// Ingest pipeline.
    pub pipeline: String,
    /// Extra request headers.
    pub customheaders: BTreeMap<String, String>,
    /// `checkcert`, `mutualtls`, `maxconcurrentrequests`.
    #[serde(flatten)]
    pub http: HttpOptions,
}

/// `nats`: publish to NATS, or to JetStream with acknowledgements.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NatsConfig {
    /// `nats://host:port` (enables the output).
    pub hostport: String,
    /// Subject with `<priority>` and `<rule>` placeholders (default
    /// `falco.<priority>.<rule>`; rule slugged to `[a-z0-9_]`).
    pub subjecttemplate: String,
    /// Publish through JetStream and wait for the ack (at-least-once, deduplicated by
    /// `Nats-Msg-Id`).
    pub jetstream: bool,
    /// With `jetstream`: a stream to create if missing, capturing `falco.>`
    /// (empty: the stream must exist).
    pub stream: String,
}

/// Redis storage shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisStorage {
    /// `XADD key * ...` (default).
    #[default]
    Stream,
    /// `RPUSH key json` (sidekick's default).
    List,
    /// `HSET key <id> json`.
    Hashmap,
}

/// `redis`: stream, list or hash.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    /// `host:port` (enables the output).
    pub address: String,
    /// Database number.
    pub database: u32,
    /// ACL user.
    pub username: String,
    /// Password.
    pub password: String,
    /// Key (default `falco`).
    pub key: String,
    /// Storage shape.
    pub storagetype: RedisStorage,
    /// With `stream`: `MAXLEN ~` cap (0: none).
    pub maxlen: usize,
}

/// `postgresql`: one row per alert.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PostgresConfig {
    /// libpq-style connection string, e.g. `host=127.0.0.1 port=5432 user=falco
    /// dbname=falco` (enables the output).
    pub connection: String,
    /// Table (default `falco_events`), created if missing.
    pub table: String,
}

/// Syslog transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogProtocol {
    /// UDP datagrams (default).
    #[default]
    Udp,
    /// TCP stream (RFC 6587: octet counting for RFC 5424, newline for RFC 3164).
    Tcp,
    /// Unix datagram socket (`path`, e.g. `/dev/log`).
    Unix,
}

/// Syslog header format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SyslogRfc {
    /// `<PRI>1 TIMESTAMP HOST APP - - - MSG` (default).
    #[default]
    #[serde(rename = "rfc5424", alias = "5424")]
    Rfc5424,
    /// `<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`.
    #[serde(rename = "rfc3164", alias = "3164")]
    Rfc3164,
}

/// Syslog message body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogFormat {
    /// The alert's Falco JSON (default, as sidekick).
    #[default]
    Json,
    /// ArcSight CEF, as sidekick's `cef` format.
    Cef,
}

/// `syslog`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SyslogConfig {
    /// Server host (enables the output with udp/tcp).
    pub host: String,
    /// Server port (default 514).
    pub port: u16,
    /// Socket path for `unix` (enables the output with unix).
    pub path: String,
    /// Transport.
    pub protocol: SyslogProtocol,
    /// Header format.
    pub rfc: SyslogRfc,
    /// Body format.
    pub format: SyslogFormat,
    /// Facility number (default 1, `user`).
    pub facility: Option<u8>,
    /// APP-NAME / TAG (default `falco`).
    pub tag: String,
}

/// `file`: JSON lines appended to a file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FileConfig {
    /// File path (enables the output).
    pub path: PathBuf,
}

/// The whole forwarder configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Queue location, bound and retry policy.
    pub queue: QueueConfig,
    /// Client identity for HTTP outputs with `mutualtls: true`.
    pub mutualtlsclient: MutualTlsClient,
    /// Legacy form of `mutualtlsclient`: a directory holding `client.crt`, `client.key`
    /// and `ca.crt` (used when `mutualtlsclient.certfile` is empty).
    pub mutualtlsfilespath: String,
    /// CA bundle trusted by every HTTP output.
    pub tlsclient: TlsClient,
    /// Webhook instances.
    pub webhook: Instances<WebhookConfig>,
    /// Slack instances.
    pub slack: Instances<SlackConfig>,
    /// Alertmanager instances.
    pub alertmanager: Instances<AlertmanagerConfig>,
    /// SMTP instances.
    pub smtp: Instances<SmtpConfig>,
    /// Loki instances.
    pub loki: Instances<LokiConfig>,
    /// Elasticsearch instances.
    pub elasticsearch: Instances<ElasticsearchConfig>,
    /// NATS / JetStream instances.
    pub nats: Instances<NatsConfig>,
    /// Redis instances.
    pub redis: Instances<RedisConfig>,
    /// PostgreSQL instances.
    pub postgresql: Instances<PostgresConfig>,
    /// Syslog instances.
    pub syslog: Instances<SyslogConfig>,
    /// File instances.
    pub file: Instances<FileConfig>,
}

fn yaml_error(e: &serde_norway::Error) -> Error {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    Error::Config {
        line,
        column,
        message: e.to_string(),
    }
}

fn env_error(message: String) -> Error {
    Error::Config {
        line: 0,
        column: 0,
        message,
    }
}

impl Config {
    /// The client certificate, key and CA files of `mutualtls` outputs:
    /// `mutualtlsclient.*` when its `certfile` is set, else `client.crt`, `client.key`
    /// and `ca.crt` in `mutualtlsfilespath` (`None` when neither is configured).
    pub fn mutual_tls_files(&self) -> Option<(PathBuf, PathBuf, Option<PathBuf>)> {
        let m = &self.mutualtlsclient;
        if !m.certfile.is_empty() {
            let ca = (!m.cacertfile.is_empty()).then(|| PathBuf::from(&m.cacertfile));
            return Some((PathBuf::from(&m.certfile), PathBuf::from(&m.keyfile), ca));
        }
        if self.mutualtlsfilespath.is_empty() {
            return None;
        }
        let dir = PathBuf::from(&self.mutualtlsfilespath);
        Some((
            dir.join("client.crt"),
            dir.join("client.key"),
            Some(dir.join("ca.crt")),
        ))
    }

    /// Parses the YAML configuration; errors carry the YAML line and column.
    pub fn from_yaml(text: &str) -> Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_norway::from_str(text).map_err(|e| yaml_error(&e))
    }

    /// Parses the YAML configuration, then applies environment overrides looked up with
    /// `env` (the process environment in production, a closure in tests), as Falcosidekick
    /// does: a key path upper-cased with `.` turned into `_` names the variable
    /// (`slack.webhookurl` → `SLACK_WEBHOOKURL`, `queue.maxqueued` → `QUEUE_MAXQUEUED`,
    /// `mutualtlsclient.certfile` → `MUTUALTLSCLIENT_CERTFILE`). A variable overrides
    /// the YAML value and may enable an output the YAML does not mention (only
    /// `WEBHOOK_ADDRESS` set is enough). Lists are comma-separated (`SLACK_TAGS=a,b`),
    /// maps `k:v,k2:v2` (`WEBHOOK_CUSTOMHEADERS=X-A:1`). Sections written as a list of
    /// named instances are not overridden (a variable cannot say which instance it means).
    pub fn from_yaml_and_env(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let shape = env_shape();
        if !any_env(&shape, &mut Vec::new(), &env) {
            return Config::from_yaml(text);
        }
        let mut tree: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_norway::from_str(text).map_err(|e| yaml_error(&e))?
        };
        if tree.is_null() {
            tree = Value::Object(Map::new());
        }
        let Value::Object(root) = &mut tree else {
            return Err(env_error("the configuration is not a mapping".into()));
        };
        apply_env(&shape, root, &mut Vec::new(), &env)?;
        serde_json::from_value(tree).map_err(|e| env_error(e.to_string()))
    }
}

/// Every key environment variables may set, with its default value (which gives the
/// variable's type): the output sections, `queue` and the global TLS client keys.
fn env_shape() -> Map<String, Value> {
    fn json<T: Serialize>(v: &T) -> Value {
        serde_json::to_value(v).expect("config structs have string keys and serialise to JSON")
    }
    fn inst<T: Default + Serialize>() -> Value {
        json(&Instance::<T>::default())
    }
    let mut m = Map::new();
    m.insert("queue".into(), json(&QueueConfig::default()));
    m.insert("mutualtlsclient".into(), json(&MutualTlsClient::default()));
    m.insert("mutualtlsfilespath".into(), Value::String(String::new()));
    m.insert("tlsclient".into(), json(&TlsClient::default()));
    m.insert("webhook".into(), inst::<WebhookConfig>());
    m.insert("slack".into(), inst::<SlackConfig>());
    m.insert("alertmanager".into(), inst::<AlertmanagerConfig>());
    m.insert("smtp".into(), inst::<SmtpConfig>());
    m.insert("loki".into(), inst::<LokiConfig>());
    m.insert("elasticsearch".into(), inst::<ElasticsearchConfig>());
    m.insert("nats".into(), inst::<NatsConfig>());
    m.insert("redis".into(), inst::<RedisConfig>());
    m.insert("postgresql".into(), inst::<PostgresConfig>());
    m.insert("syslog".into(), inst::<SyslogConfig>());
    m.insert("file".into(), inst::<FileConfig>());
    m
}

/// A default that is a non-empty object is a section (recursed into); an empty object
/// is a map-valued key (`customheaders`), set from `k:v,...`.
fn is_section(def: &Value) -> bool {
    matches!(def, Value::Object(m) if !m.is_empty())
}

fn env_name(path: &[String]) -> String {
    path.join("_").to_ascii_uppercase()
}

fn any_env(
    shape: &Map<String, Value>,
    path: &mut Vec<String>,
    env: &impl Fn(&str) -> Option<String>,
) -> bool {
    shape.iter().any(|(key, def)| {
        path.push(key.clone());
        let hit = match def {
            Value::Object(m) if is_section(def) => any_env(m, path, env),
            _ => env(&env_name(path)).is_some(),
        };
        path.pop();
        hit
    })
}

/// Writes the value of every set variable of `shape` into `tree`; returns whether any was set.
fn apply_env(
    shape: &Map<String, Value>,
    tree: &mut Map<String, Value>,
    path: &mut Vec<String>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<bool> {
    let mut changed = false;
    for (key, def) in shape {
        path.push(key.clone());
        if let (Value::Object(sub), true) = (def, is_section(def)) {
            match tree.get_mut(key) {
                Some(Value::Object(child)) => changed |= apply_env(sub, child, path, env)?,
                Some(Value::Array(_)) => {}
                _ => {
                    let mut child = Map::new();
                    if apply_env(sub, &mut child, path, env)? {
                        tree.insert(key.clone(), Value::Object(child));
                        changed = true;
                    }
                }
            }
        } else {
            let name = env_name(path);
            if let Some(raw) = env(&name) {
                let v = env_value(def, &raw).ok_or_else(|| {
                    env_error(format!(
                        "environment variable {name}={raw:?} does not fit `{}`",
                        path.join(".")
                    ))
                })?;
                tree.insert(key.clone(), v);
                changed = true;
            }
        }
        path.pop();
    }
    Ok(changed)
}

/// Converts an environment variable's text to the type of the key's default
/// value, as Falcosidekick reads its variables: booleans (`true`/`1`/`yes`,
/// `false`/`0`/`no`/empty), whole numbers, lists `a,b`, maps `k:v,k2:v2`, text;
/// for a key without a default, a number when the text reads as one. `None`
/// when the text does not fit the type.
pub fn env_value(def: &Value, raw: &str) -> Option<Value> {
    let bool_of = |raw: &str| match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" | "" => Some(false),
        _ => None,
    };
    Some(match def {
        Value::Bool(_) => Value::Bool(bool_of(raw)?),
        Value::Number(_) => Value::Number(raw.trim().parse::<u64>().ok()?.into()),
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.into()))
                .collect(),
        ),
        Value::Object(_) => {
            let mut m = Map::new();
            for pair in raw.split(',').filter(|s| !s.trim().is_empty()) {
                let (k, v) = pair.split_once(':')?;
                m.insert(k.trim().into(), Value::String(v.trim().into()));
            }
            Value::Object(m)
        }
        // An optional key (no default): a number when it reads as one, else text.
        Value::Null => match raw.trim().parse::<u64>() {
            Ok(n) => Value::Number(n.into()),
            Err(_) => Value::String(raw.trim().into()),
        },
        Value::String(_) => Value::String(raw.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_listed_instances() {
        let c = Config::from_yaml(
            "queue: {dir: /tmp/q, maxqueued: 5, overflow: dropnewest}\n\
             webhook:\n  address: http://a/\n  minimumpriority: WARNING\n\
             slack:\n  - name: one\n    webhookurl: http://s1\n  - webhookurl: http://s2\n    tags: [x]\n\
             alertmanager: {hostport: 'http://a:1, http://b:2'}\n",
        )
        .unwrap();
        assert_eq!(c.queue.maxqueued, 5);
        assert_eq!(c.queue.overflow, Overflow::DropNewest);
        assert_eq!(c.queue.batchsize, 100);
        assert_eq!(c.webhook.0.len(), 1);
        assert_eq!(c.webhook.0[0].settings.address, "http://a/");
        assert_eq!(c.slack.0.len(), 2);
        assert_eq!(c.slack.0[0].common.name.as_deref(), Some("one"));
        assert_eq!(c.slack.0[1].common.tags, vec!["x"]);
        assert_eq!(
            c.alertmanager.0[0].settings.hostport,
            vec!["http://a:1", "http://b:2"]
        );
        assert!(c.smtp.0.is_empty());
    }

    #[test]
    fn env_overrides_yaml_and_enables_outputs() {
        let yaml = "queue: {dir: /tmp/q}\nslack:\n  webhookurl: http://yaml/\n  channel: '#a'\n\
                    file:\n  - path: /tmp/a\n";
        let env = |k: &str| {
            let v = match k {
                "SLACK_WEBHOOKURL" => "http://env/",
                "SLACK_MINIMUMPRIORITY" => "error",
                "SLACK_TAGS" => "t1, t2",
                "WEBHOOK_ADDRESS" => "http://hook/",
                "WEBHOOK_CUSTOMHEADERS" => "X-A:1,X-B:2",
                "WEBHOOK_MAXQUEUED" => "7",
                "WEBHOOK_OVERFLOW" => "dropnewest",
                "QUEUE_BATCHSIZE" => "5",
                "QUEUE_FSYNC" => "false",
                "ALERTMANAGER_HOSTPORT" => "http://a:1,http://b:2",
                "FILE_PATH" => "/ignored",
                "WEBHOOK_MAXCONCURRENTREQUESTS" => "3",
                "WEBHOOK_CHECKCERT" => "false",
                "MUTUALTLSCLIENT_CERTFILE" => "/c.pem",
                "MUTUALTLSFILESPATH" => "/certs",
                _ => return None,
            };
            Some(v.to_owned())
        };
        let c = Config::from_yaml_and_env(yaml, env).unwrap();
        let slack = &c.slack.0[0];
        assert_eq!(slack.settings.webhookurl, "http://env/");
        assert_eq!(slack.settings.channel, "#a");
        assert_eq!(slack.common.minimumpriority, "error");
        assert_eq!(slack.common.tags, vec!["t1", "t2"]);
        let hook = &c.webhook.0[0];
        assert_eq!(hook.settings.address, "http://hook/");
        assert_eq!(hook.settings.customheaders.len(), 2);
        assert_eq!(hook.settings.customheaders["X-B"], "2");
        assert_eq!(hook.common.maxqueued, Some(7));
        assert_eq!(hook.common.overflow, Some(Overflow::DropNewest));
        assert_eq!(hook.settings.http.maxconcurrentrequests, 3);
        assert!(!hook.settings.http.checkcert);
        assert!(slack.settings.http.checkcert);
        assert_eq!(c.mutualtlsclient.certfile, "/c.pem");
        assert_eq!(c.mutualtlsfilespath, "/certs");
        assert_eq!(c.queue.dir, PathBuf::from("/tmp/q"));
        assert_eq!(c.queue.batchsize, 5);
        assert!(!c.queue.fsync);
        assert_eq!(
            c.alertmanager.0[0].settings.hostport,
            vec!["http://a:1", "http://b:2"]
        );
        // A listed section is left as written.
        assert_eq!(c.file.0.len(), 1);
        assert_eq!(c.file.0[0].settings.path, PathBuf::from("/tmp/a"));
        assert!(c.smtp.0.is_empty());

        // Only an env var, no YAML at all.
        let c = Config::from_yaml_and_env("", |k| {
            (k == "WEBHOOK_ADDRESS").then(|| "http://only/".to_owned())
        })
        .unwrap();
        assert_eq!(c.webhook.0[0].settings.address, "http://only/");
        assert!(c.slack.0.is_empty());

        let e =
            Config::from_yaml_and_env("", |k| (k == "QUEUE_MAXQUEUED").then(|| "lots".to_owned()))
                .unwrap_err();
        assert!(e.to_string().contains("QUEUE_MAXQUEUED"), "{e}");
        // No variable set: YAML errors keep their location.
        let e = Config::from_yaml_and_env("webhook:\n  address: [1, 2\n", |_| None).unwrap_err();
        assert!(matches!(e, Error::Config { line: 2.., .. }), "{e}");
    }

    #[test]
    fn yaml_errors_are_located() {
        let e = Config::from_yaml("webhook:\n  address: [1, 2\n").unwrap_err();
        match e {
            Error::Config { line, .. } => assert!(line >= 2, "{line}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn routes_filter_priority_rules_tags_sources() {
        let alert = |prio: &str, rule: &str, tags: &str, source: &str| {
            Alert::from_json(
                format!(
                    r#"{{"rule":"{rule}","priority":"{prio}","time":"2026-01-01T00:00:00Z","output_fields":{{"a":1}},"tags":[{tags}],"source":"{source}"}}"#
                )
                .as_bytes(),
            )
            .unwrap()
        };
        let r = Route::new(&Common {
            minimumpriority: "error".into(),
            ..Common::default()
        })
        .unwrap();
        assert!(r.matches(&alert("Critical", "r", "", "syscall")));
        assert!(r.matches(&alert("Error", "r", "", "syscall")));
        assert!(!r.matches(&alert("Warning", "r", "", "syscall")));
        assert!(r.matches(&alert("Debug", TEST_RULE, "", "syscall")));
        let r = Route::new(&Common {
            rules: vec!["a".into()],
            tags: vec!["t1".into(), "t2".into()],
            sources: vec!["syscalls".into()],
            ..Common::default()
        })
        .unwrap();
        assert!(r.matches(&alert("Debug", "a", r#""t2""#, "")));
        assert!(!r.matches(&alert("Debug", "b", r#""t2""#, "")));
        assert!(!r.matches(&alert("Debug", "a", r#""t3""#, "")));
        assert!(!r.matches(&alert("Debug", "a", r#""t1""#, "k8s_audit")));
        assert!(Route::new(&Common {
            minimumpriority: "loud".into(),
            ..Common::default()
        })
        .is_err());
    }
}
