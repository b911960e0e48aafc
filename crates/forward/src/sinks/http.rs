//! HTTP sinks: webhook, Slack, Alertmanager, Loki and Elasticsearch, with the payload
//! shapes Falcosidekick sends.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{Datelike, Timelike};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{Outcome, Queued, Sink};
use crate::config::{
    AlertmanagerConfig, ElasticsearchConfig, HttpOptions, IndexSuffix, LokiConfig, LokiFormat,
    SlackConfig, SlackFormat, WebhookConfig,
};
use crate::template::Template;
use crate::{Alert, Config, Error, Priority, Result};

/// Sidekick's default Slack icon.
const SLACK_ICON: &str =
    "https://raw.githubusercontent.com/falcosecurity/falcosidekick/master/imgs/falcosidekick.png";
const SLACK_FOOTER: &str = "https://github.com/falcosecurity/falcosidekick";

#[derive(Debug)]
enum Kind {
    Webhook {
        url: String,
        method: Method,
    },
    Slack {
        url: String,
        cfg: SlackConfig,
        message: Option<Template>,
    },
    Alertmanager {
        urls: Vec<String>,
        cfg: AlertmanagerConfig,
    },
    Loki {
        url: String,
        cfg: LokiConfig,
    },
    Elasticsearch {
        url: String,
        cfg: ElasticsearchConfig,
    },
}

/// One HTTP destination.
#[derive(Debug)]
pub(crate) struct HttpSink {
    client: reqwest::Client,
    kind: Kind,
    /// Requests in flight at once for per-alert outputs (at least 1).
    concurrency: usize,
}

fn read_pem(name: &str, what: &str, path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| bad(name, format!("{what} {}: {e}", path.display())))
}

fn root_certs(name: &str, path: &std::path::Path) -> Result<Vec<reqwest::Certificate>> {
    let pem = read_pem(name, "CA file", path)?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| bad(name, format!("CA file {}: {e}", path.display())))
}

/// The HTTP client of one output: timeout, default headers, and TLS as Falcosidekick
/// sets it up (global CA, client identity for `mutualtls`, `checkcert: false`).
fn client(
    name: &str,
    cfg: &Config,
    opts: &HttpOptions,
    headers: &BTreeMap<String, String>,
) -> Result<reqwest::Client> {
    let q = &cfg.queue;
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        let k = HeaderName::from_bytes(k.as_bytes())
            .map_err(|e| bad(name, format!("header {k:?}: {e}")))?;
        let v =
            HeaderValue::from_str(v).map_err(|e| bad(name, format!("header value {v:?}: {e}")))?;
        map.insert(k, v);
    }
    let mut b = reqwest::Client::builder()
        .default_headers(map)
        .timeout(Duration::from_secs(q.timeoutseconds.max(1)));
    if !cfg.tlsclient.cacertfile.is_empty() {
        for c in root_certs(name, std::path::Path::new(&cfg.tlsclient.cacertfile))? {
            b = b.add_root_certificate(c);
        }
    }
    if opts.mutualtls {
        let Some((cert, key, ca)) = cfg.mutual_tls_files() else {
            return Err(bad(
                name,
                "mutualtls needs mutualtlsclient.certfile and keyfile, or mutualtlsfilespath"
                    .into(),
            ));
        };
        let mut pem = read_pem(name, "client certificate", &cert)?;
        pem.push(b'\n');
        pem.extend(read_pem(name, "client key", &key)?);
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| bad(name, format!("client certificate {}: {e}", cert.display())))?;
        b = b.identity(id);
        if let Some(ca) = ca {
            for c in root_certs(name, &ca)? {
                b = b.add_root_certificate(c);
            }
        }
    } else if !opts.checkcert {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| bad(name, e.to_string()))
}

fn bad(name: &str, message: String) -> Error {
    Error::Output {
        output: name.to_owned(),
        message,
    }
}

fn check_url(name: &str, url: &str) -> Result<String> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url.to_owned()),
        Ok(u) => Err(bad(
            name,
            format!("URL {url:?} has scheme {:?}, want http(s)", u.scheme()),
        )),
        Err(e) => Err(bad(name, format!("URL {url:?}: {e}"))),
    }
}

fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Builds a `webhook` sink.
pub(crate) fn webhook(c: &WebhookConfig, name: &str, cfg: &Config) -> Result<Sink> {
    let method = match c.method.to_ascii_uppercase().as_str() {
        "" | "POST" => Method::POST,
        "PUT" => Method::PUT,
        other => return Err(bad(name, format!("method {other:?}: want POST or PUT"))),
    };
    Ok(Sink::Http(Box::new(HttpSink {
        client: client(name, cfg, &c.http, &c.customheaders)?,
        concurrency: concurrency(&c.http),
        kind: Kind::Webhook {
            url: check_url(name, &c.address)?,
            method,
        },
    })))
}

/// Builds a `slack` sink.
pub(crate) fn slack(c: &SlackConfig, name: &str, cfg: &Config) -> Result<Sink> {
    Ok(Sink::Http(Box::new(HttpSink {
        client: client(name, cfg, &c.http, &BTreeMap::new())?,
        concurrency: concurrency(&c.http),
        kind: Kind::Slack {
            url: check_url(name, &c.webhookurl)?,
            cfg: c.clone(),
            message: message_template(name, &c.messageformat)?,
        },
    })))
}

/// `maxconcurrentrequests` as a limit: 0 (unlimited) becomes a whole batch.
fn concurrency(o: &HttpOptions) -> usize {
    if o.maxconcurrentrequests == 0 {
        usize::MAX
    } else {
        o.maxconcurrentrequests
    }
}

/// Compiles a chat `messageformat` (empty: none).
fn message_template(name: &str, src: &str) -> Result<Option<Template>> {
    if src.is_empty() {
        return Ok(None);
    }
    Template::parse(src)
        .map(Some)
        .map_err(|e| bad(name, format!("messageformat: {e}")))
}

/// Builds an `alertmanager` sink.
pub(crate) fn alertmanager(c: &AlertmanagerConfig, name: &str, cfg: &Config) -> Result<Sink> {
    let endpoint = if c.endpoint.is_empty() {
        "/api/v2/alerts"
    } else {
        &c.endpoint
    };
    let urls = c
        .hostport
        .iter()
        .map(|h| check_url(name, h).map(|h| join(&h, endpoint)))
        .collect::<Result<Vec<_>>>()?;
    for k in c.customseveritymap.keys() {
        if Priority::parse(k).is_none() {
            return Err(bad(
                name,
                format!("customseveritymap: unknown priority {k:?}"),
            ));
        }
    }
    Ok(Sink::Http(Box::new(HttpSink {
        client: client(name, cfg, &c.http, &c.customheaders)?,
        concurrency: 1,
        kind: Kind::Alertmanager {
            urls,
            cfg: c.clone(),
        },
    })))
}

/// Builds a `loki` sink.
pub(crate) fn loki(c: &LokiConfig, name: &str, cfg: &Config) -> Result<Sink> {
    let endpoint = if c.endpoint.is_empty() {
        "/loki/api/v1/push"
    } else {
        &c.endpoint
    };
    let mut headers = c.customheaders.clone();
    if !c.tenant.is_empty() {
        headers.insert("X-Scope-OrgID".into(), c.tenant.clone());
    }
    Ok(Sink::Http(Box::new(HttpSink {
        client: client(name, cfg, &c.http, &headers)?,
        concurrency: 1,
        kind: Kind::Loki {
            url: join(&check_url(name, &c.hostport)?, endpoint),
            cfg: c.clone(),
        },
    })))
}

/// Builds an `elasticsearch` sink.
pub(crate) fn elasticsearch(c: &ElasticsearchConfig, name: &str, cfg: &Config) -> Result<Sink> {
    let mut headers = c.customheaders.clone();
    if !c.apikey.is_empty() {
        headers.insert("Authorization".into(), format!("ApiKey {}", c.apikey));
    }
    let mut url = join(&check_url(name, &c.hostport)?, "_bulk");
    if !c.pipeline.is_empty() {
        url.push_str("?pipeline=");
        url.push_str(&c.pipeline);
    }
    Ok(Sink::Http(Box::new(HttpSink {
        client: client(name, cfg, &c.http, &headers)?,
        concurrency: 1,
        kind: Kind::Elasticsearch {
            url,
            cfg: c.clone(),
        },
    })))
}

/// Sorts a status into delivered / retry / give up.
fn classify(status: StatusCode) -> Option<bool> {
    if status.is_success() {
        None
    } else {
        // Some(permanent)
        Some(
            !(status.is_server_error()
                || status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::REQUEST_TIMEOUT),
        )
    }
}

impl HttpSink {
    pub(crate) async fn send(&mut self, batch: &[Queued]) -> Outcome {
        match &self.kind {
            Kind::Webhook { url, method } => {
                let mut reqs = Vec::with_capacity(batch.len());
                for q in batch {
                    reqs.push(
                        self.client
                            .request(method.clone(), url)
                            .header(CONTENT_TYPE, "application/json")
                            .body(q.alert.to_json()),
                    );
                }
                self.post_each(reqs).await
            }
            Kind::Slack { url, cfg, message } => {
                let mut reqs = Vec::with_capacity(batch.len());
                for q in batch {
                    let body = slack_payload(&q.alert, cfg, message.as_ref()).to_string();
                    reqs.push(
                        self.client
                            .post(url)
                            .header(CONTENT_TYPE, "application/json")
                            .body(body),
                    );
                }
                self.post_each(reqs).await
            }
            Kind::Alertmanager { urls, cfg } => {
                let body = Value::Array(
                    batch
                        .iter()
                        .map(|q| alertmanager_payload(&q.alert, cfg))
                        .collect(),
                )
                .to_string();
                for url in urls {
                    let req = self
                        .client
                        .post(url)
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone());
                    if let Some(o) = self.post(req, 0).await {
                        return o;
                    }
                }
                Outcome::ok(batch.len())
            }
            Kind::Loki { url, cfg } => {
                let body = json!({
                    "streams": batch.iter().map(|q| loki_stream(&q.alert, cfg)).collect::<Vec<_>>()
                })
                .to_string();
                let mut req = self
                    .client
                    .post(url)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body);
                if !cfg.user.is_empty() && !cfg.apikey.is_empty() {
                    req = req.basic_auth(&cfg.user, Some(&cfg.apikey));
                }
                self.post(req, 0).await.unwrap_or(Outcome::ok(batch.len()))
            }
            Kind::Elasticsearch { url, cfg } => {
                let mut body = Vec::with_capacity(batch.len() * 600);
                for q in batch {
                    let action = json!({"create": {
                        "_index": es_index(&q.alert, cfg),
                        "_id": q.key.clone(),
                    }});
                    body.extend_from_slice(action.to_string().as_bytes());
                    body.push(b'\n');
                    q.alert.write_json(&mut body);
                    body.push(b'\n');
                }
                let mut req = self
                    .client
                    .post(url)
                    .header(CONTENT_TYPE, "application/x-ndjson")
                    .body(body);
                if !cfg.username.is_empty() {
                    req = req.basic_auth(&cfg.username, Some(&cfg.password));
                }
                let resp = match req.send().await {
                    Ok(r) => r,
                    Err(e) => return Outcome::failed(0, false, e.to_string()),
                };
                let status = resp.status();
                if let Some(permanent) = classify(status) {
                    return Outcome::failed(0, permanent, format!("HTTP {status}"));
                }
                match resp
                    .bytes()
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string()))
                {
                    Ok(v) => es_bulk_outcome(&v, batch.len()),
                    Err(e) => Outcome::failed(0, false, format!("bulk response: {e}")),
                }
            }
        }
    }

    /// Sends one request per alert with up to `concurrency` in flight. The outcome counts
    /// the accepted requests from the front up to the first failure; requests after it
    /// that were accepted too are sent again with the rest (at-least-once).
    async fn post_each(&self, reqs: Vec<reqwest::RequestBuilder>) -> Outcome {
        use futures_util::StreamExt as _;
        let n = reqs.len();
        let mut futs = Vec::with_capacity(n);
        for (i, r) in reqs.into_iter().enumerate() {
            futs.push(self.post(r, i));
        }
        let mut results = futures_util::stream::iter(futs).buffered(self.concurrency.min(n).max(1));
        while let Some(r) = results.next().await {
            if let Some(o) = r {
                return o;
            }
        }
        Outcome::ok(n)
    }

    /// Sends one request; `None` when accepted, else the outcome to report (`delivered`
    /// alerts before it were accepted).
    async fn post(&self, req: reqwest::RequestBuilder, delivered: usize) -> Option<Outcome> {
        match req.send().await {
            Err(e) => Some(Outcome::failed(delivered, false, e.to_string())),
            Ok(resp) => {
                let status = resp.status();
                classify(status).map(|permanent| {
                    Outcome::failed(delivered, permanent, format!("HTTP {status}"))
                })
            }
        }
    }
}

/// Reads a `_bulk` response: items accepted (2xx, or 409 for an id already indexed by
/// an earlier attempt) count as delivered up to the first failed one.
fn es_bulk_outcome(v: &Value, n: usize) -> Outcome {
    let Some(items) = v.get("items").and_then(Value::as_array) else {
        return Outcome::failed(0, false, "bulk response without items");
    };
    for (i, item) in items.iter().enumerate().take(n) {
        let status = item
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|r| r.get("status"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if (200..300).contains(&status) || status == 409 {
            continue;
        }
        let permanent = !(status == 429 || status >= 500 || status == 0);
        return Outcome::failed(i, permanent, format!("bulk item {i}: status {status}"));
    }
    if items.len() < n {
        return Outcome::failed(
            items.len(),
            false,
            "bulk response has fewer items than sent",
        );
    }
    Outcome::ok(n)
}

/// The index an alert goes to: `<index>-<date of the alert>` by the suffix setting.
pub(crate) fn es_index(a: &Alert, c: &ElasticsearchConfig) -> String {
    let index = if c.index.is_empty() {
        "falco"
    } else {
        &c.index
    };
    let t = a.time;
    match c.suffix {
        IndexSuffix::None => index.to_owned(),
        IndexSuffix::Annually => format!("{index}-{:04}", t.year()),
        IndexSuffix::Monthly => format!("{index}-{:04}.{:02}", t.year(), t.month()),
        IndexSuffix::Daily => format!("{index}-{:04}.{:02}.{:02}", t.year(), t.month(), t.day()),
    }
}

/// Go's `time.Time.String()` for a UTC time, as sidekick puts it in Slack's `time`
/// field: `2026-11-27 06:56:56.123456789 +0000 UTC` (fraction without trailing zeros).
pub(crate) fn go_time_string(a: &Alert) -> String {
    let t = a.time;
    let mut s = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let ns = t.nanosecond() % 1_000_000_000;
    if ns != 0 {
        let frac = format!("{ns:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s
}

fn slack_color(p: Priority) -> &'static str {
    match p {
        Priority::Emergency => "#e20b0b",
        Priority::Alert => "#ff5400",
        Priority::Critical => "#ff9000",
        Priority::Error => "#ffc700",
        Priority::Warning => "#ffff00",
        Priority::Notice => "#5bffb5",
        Priority::Informational => "#68c2ff",
        Priority::Debug => "#ccfff2",
    }
}

/// What `.` stands for in a chat `messageformat`: the alert with sidekick's Go field
/// names (`Output`, `Priority`, `Rule`, `Time` as Go prints it, `Source`, `Hostname`,
/// `Tags` as Go prints a string slice, `OutputFields`, `UUID`).
pub(crate) fn template_data(a: &Alert) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("Output".into(), a.output_text().into());
    m.insert("Priority".into(), a.priority.as_str().into());
    m.insert("Rule".into(), a.rule.clone().into());
    m.insert("Time".into(), go_time_string(a).into());
    m.insert("Source".into(), a.source.clone().unwrap_or_default().into());
    m.insert(
        "Hostname".into(),
        a.hostname.clone().unwrap_or_default().into(),
    );
    m.insert("Tags".into(), format!("[{}]", a.tags().join(" ")).into());
    m.insert(
        "OutputFields".into(),
        Value::Object(a.output_fields.clone().into_iter().collect()),
    );
    m.insert("UUID".into(), a.uuid.clone().unwrap_or_default().into());
    m
}

/// Sidekick's Slack message: the rendered `messageformat` as `text` (when set), then one
/// colored attachment whose fields are the string output fields (short when under 36
/// characters), then rule, priority and time.
pub(crate) fn slack_payload(a: &Alert, c: &SlackConfig, message: Option<&Template>) -> Value {
    let with_fields = c.outputformat != SlackFormat::Text;
    let mut attachment = serde_json::Map::new();
    attachment.insert("fallback".into(), a.output_text().into());
    attachment.insert("color".into(), slack_color(a.priority).into());
    if with_fields {
        attachment.insert("text".into(), a.output_text().into());
        let mut fields: Vec<Value> = a
            .output_fields
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s)))
            .map(|(k, s)| json!({"title": k, "value": s, "short": s.chars().count() < 36}))
            .collect();
        fields.push(json!({"title": "rule", "value": a.rule, "short": true}));
        fields.push(json!({"title": "priority", "value": a.priority.as_str(), "short": true}));
        fields.push(json!({"title": "time", "value": go_time_string(a), "short": false}));
        attachment.insert("fields".into(), Value::Array(fields));
        let footer = if c.footer.is_empty() {
            SLACK_FOOTER
        } else {
            &c.footer
        };
        attachment.insert("footer".into(), footer.into());
    } else {
        attachment.insert("fields".into(), Value::Null);
    }
    let mut p = serde_json::Map::new();
    let username = if c.username.is_empty() {
        "Falcosidekick"
    } else {
        &c.username
    };
    p.insert("username".into(), username.into());
    let icon = if c.icon.is_empty() {
        SLACK_ICON
    } else {
        &c.icon
    };
    p.insert("icon_url".into(), icon.into());
    if !c.channel.is_empty() {
        p.insert("channel".into(), c.channel.clone().into());
    }
    if let Some(t) = message {
        let mut text = String::new();
        t.render(&template_data(a), &mut text);
        p.insert("text".into(), text.into());
    }
    p.insert(
        "attachments".into(),
        Value::Array(vec![Value::Object(attachment)]),
    );
    Value::Object(p)
}

/// A label name Alertmanager accepts: other characters become `_`, `__` becomes `_`
/// (one pass), leading and trailing `_` are trimmed (sidekick's rule).
pub(crate) fn safe_label(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    replaced.replace("__", "_").trim_matches('_').to_owned()
}

fn default_severity(p: Priority) -> &'static str {
    match p {
        Priority::Debug | Priority::Informational | Priority::Notice => "information",
        Priority::Warning | Priority::Error => "warning",
        Priority::Critical | Priority::Alert | Priority::Emergency => "critical",
    }
}

/// One Alertmanager v2 alert, labelled as sidekick does.
pub(crate) fn alertmanager_payload(a: &Alert, c: &AlertmanagerConfig) -> Value {
    let mut labels = BTreeMap::<String, String>::new();
    for (k, v) in &a.output_fields {
        if k.starts_with("n_evts") {
            continue;
        }
        let value = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        let key = if k.starts_with("n_drop") {
            k.clone()
        } else {
            safe_label(k)
        };
        if !key.is_empty() {
            labels.insert(key, value);
        }
    }
    labels.insert("source".into(), "falco".into());
    labels.insert("rule".into(), a.rule.clone());
    labels.insert("alertname".into(), a.rule.clone());
    labels.insert("eventsource".into(), a.source_or_default().into());
    if let Some(h) = a.hostname.as_deref().filter(|h| !h.is_empty()) {
        labels.insert("hostname".into(), h.into());
    }
    if !a.tags().is_empty() {
        let mut tags = a.tags().to_vec();
        tags.sort();
        labels.insert("tags".into(), tags.join(","));
    }
    labels.insert("priority".into(), a.priority.as_str().into());
    let severity = c
        .customseveritymap
        .iter()
        .find(|(k, _)| Priority::parse(k) == Some(a.priority))
        .map_or(default_severity(a.priority), |(_, v)| v.as_str());
    labels.insert("severity".into(), severity.into());
    for (k, v) in &c.extralabels {
        labels.insert(k.clone(), v.clone());
    }
    let mut annotations = BTreeMap::<String, String>::new();
    annotations.insert("info".into(), a.output_text().into());
    annotations.insert("description".into(), a.output_text().into());
    annotations.insert("summary".into(), a.rule.clone());
    for (k, v) in &c.extraannotations {
        annotations.insert(k.clone(), v.clone());
    }
    let mut p = json!({"labels": labels, "annotations": annotations});
    if c.expiresafter > 0 {
        let ends = a.time
            + chrono::Duration::seconds(
                i64::try_from(c.expiresafter)
                    .unwrap_or(i64::MAX / 1_000_000_000)
                    .min(i64::MAX / 1_000_000_000),
            );
        let mut s = String::new();
        let _ = write!(s, "{}", ends.format("%Y-%m-%dT%H:%M:%S%.9fZ"));
        p["endsAt"] = s.into();
    }
    p
}

/// A Loki label name: sidekick drops `.`, `[` and `]` from the field name.
fn loki_label(field: &str) -> String {
    field
        .chars()
        .filter(|c| !matches!(c, '.' | '[' | ']'))
        .collect()
}

/// One Loki stream (labels + one `[ns, line]` value) for an alert.
pub(crate) fn loki_stream(a: &Alert, c: &LokiConfig) -> Value {
    let mut stream = BTreeMap::<String, String>::new();
    stream.insert("rule".into(), a.rule.clone());
    stream.insert("source".into(), a.source_or_default().into());
    stream.insert("priority".into(), a.priority.as_str().into());
    for f in &c.extralabels {
        if let Some(Value::String(s)) = a.output_fields.get(f) {
            stream.insert(loki_label(f), s.replace('"', ""));
        }
    }
    if let Some(h) = a.hostname.as_deref().filter(|h| !h.is_empty()) {
        stream.insert("hostname".into(), h.into());
    }
    if !a.tags().is_empty() {
        let mut tags = a.tags().to_vec();
        tags.sort();
        stream.insert("tags".into(), tags.join(","));
    }
    let line = match c.format {
        LokiFormat::Text => a.output_text().to_owned(),
        LokiFormat::Json => String::from_utf8_lossy(&a.to_json()).into_owned(),
    };
    json!({"stream": stream, "values": [[a.time_unix_nanos().to_string(), line]]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert::from_json(br#"{"hostname":"h1","output":"12:00:00.000000000: Critical boom","output_fields":{"container.id":"abc","evt.time":1795762616000000000,"fd.name":null,"proc.aname[2]":"bash","n_evts":"7"},"priority":"Critical","rule":"Boom rule","source":"syscall","tags":["b","a"],"time":"2026-11-27T06:56:56.120000000Z"}"#).unwrap()
    }

    #[test]
    fn alertmanager_labels_as_sidekick() {
        let p = alertmanager_payload(
            &alert(),
            &AlertmanagerConfig {
                expiresafter: 60,
                ..Default::default()
            },
        );
        let l = &p["labels"];
        assert_eq!(l["container_id"], "abc");
        assert_eq!(l["evt_time"], "1795762616000000000");
        assert_eq!(l["proc_aname_2"], "bash");
        assert!(l.get("n_evts").is_none());
        assert!(l.get("fd_name").is_none());
        assert_eq!(l["source"], "falco");
        assert_eq!(l["eventsource"], "syscall");
        assert_eq!(l["rule"], "Boom rule");
        assert_eq!(l["alertname"], "Boom rule");
        assert_eq!(l["priority"], "Critical");
        assert_eq!(l["severity"], "critical");
        assert_eq!(l["tags"], "a,b");
        assert_eq!(l["hostname"], "h1");
        assert_eq!(p["annotations"]["summary"], "Boom rule");
        assert_eq!(p["endsAt"], "2026-11-27T06:57:56.120000000Z");
    }

    #[test]
    fn statuses_retry_or_give_up() {
        assert_eq!(classify(StatusCode::OK), None);
        assert_eq!(classify(StatusCode::NO_CONTENT), None);
        assert_eq!(classify(StatusCode::BAD_REQUEST), Some(true));
        assert_eq!(classify(StatusCode::NOT_FOUND), Some(true));
        assert_eq!(classify(StatusCode::TOO_MANY_REQUESTS), Some(false));
        assert_eq!(classify(StatusCode::REQUEST_TIMEOUT), Some(false));
        assert_eq!(classify(StatusCode::SERVICE_UNAVAILABLE), Some(false));
    }

    #[test]
    fn safe_labels() {
        assert_eq!(safe_label("proc.aname[2]"), "proc_aname_2");
        assert_eq!(safe_label("k8s.ns.name"), "k8s_ns_name");
        assert_eq!(safe_label("__x__"), "x");
    }

    #[test]
    fn slack_fields_and_time() {
        let p = slack_payload(&alert(), &SlackConfig::default(), None);
        assert!(p.get("text").is_none());
        let att = &p["attachments"][0];
        assert_eq!(att["color"], "#ff9000");
        let titles: Vec<&str> = att["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["title"].as_str().unwrap())
            .collect();
        assert_eq!(
            titles,
            [
                "container.id",
                "n_evts",
                "proc.aname[2]",
                "rule",
                "priority",
                "time"
            ]
        );
        assert_eq!(
            att["fields"][5]["value"],
            "2026-11-27 06:56:56.12 +0000 UTC"
        );
        assert_eq!(p["username"], "Falcosidekick");
    }

    #[test]
    fn slack_messageformat_renders_the_alert() {
        let t = message_template(
            "s",
            r#"*{{ .Rule }}* ({{ .Priority }}) on {{ or .Hostname "?" }}: {{ index .OutputFields "container.id" }} {{ .Tags }} {{ .Missing }}"#,
        )
        .unwrap();
        let p = slack_payload(&alert(), &SlackConfig::default(), t.as_ref());
        assert_eq!(
            p["text"],
            "*Boom rule* (Critical) on h1: abc [b a] <no value>"
        );
        assert!(message_template("s", "").unwrap().is_none());
        let e = message_template("s", "{{ .Rule").unwrap_err();
        assert!(e.to_string().contains("messageformat"), "{e}");
    }

    #[test]
    fn loki_and_es_shapes() {
        let s = loki_stream(
            &alert(),
            &LokiConfig {
                extralabels: vec!["container.id".into()],
                ..Default::default()
            },
        );
        assert_eq!(s["stream"]["containerid"], "abc");
        assert_eq!(s["stream"]["priority"], "Critical");
        assert_eq!(s["values"][0][0], "1795762616120000000");
        assert_eq!(
            es_index(&alert(), &ElasticsearchConfig::default()),
            "falco-2026.11.27"
        );
        assert_eq!(
            es_index(
                &alert(),
                &ElasticsearchConfig {
                    suffix: IndexSuffix::Monthly,
                    index: "x".into(),
                    ..Default::default()
                }
            ),
            "x-2026.11"
        );
        let o = es_bulk_outcome(
            &json!({"errors": true, "items": [{"create": {"status": 201}}, {"create": {"status": 409}}, {"create": {"status": 429}}]}),
            3,
        );
        assert_eq!(o.delivered, 2);
        assert!(!o.failure.unwrap().permanent);
    }
}
