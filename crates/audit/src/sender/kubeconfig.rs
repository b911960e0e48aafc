//! The webhook configuration: a kubeconfig file, as `--audit-webhook-config-file`
//! reads it, turned into an HTTP client that POSTs to the cluster's server URL.
//!
//! Read fields: `current-context` (required), the context's `cluster` and `user`;
//! `cluster.server` (the full URL, used unchanged), `certificate-authority[-data]`,
//! `insecure-skip-tls-verify`; `user.client-certificate[-data]`,
//! `user.client-key[-data]`, `token`, `tokenFile`, `username`/`password`. Relative
//! file paths are resolved against the kubeconfig's directory, as client-go does.
//! Environment proxies are not used.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use yaml_rust2::{Yaml, YamlLoader};

use super::Error;

/// Per-request timeout of the apiserver's webhook REST client.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The members of one `clusters[].cluster` or `users[].user` entry.
#[derive(Debug, Default)]
struct Entry(Vec<(String, Yaml)>);

impl Entry {
    fn str(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| match v {
                Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
                Yaml::Integer(i) => Some(i.to_string()),
                Yaml::Boolean(b) => Some(b.to_string()),
                _ => None,
            })
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.str(key).map(PathBuf::from)
    }

    fn flag(&self, key: &str) -> bool {
        self.0
            .iter()
            .any(|(k, v)| k == key && matches!(v, Yaml::Boolean(true)))
    }
}

/// The named entries of a kubeconfig list (`clusters`, `users`, `contexts`):
/// name → the members of its `inner` mapping.
fn named(doc: &Yaml, list: &str, inner: &str) -> Vec<(String, Entry)> {
    let Some(items) = doc[list].as_vec() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let name = item["name"].as_str()?.to_string();
            let members = match &item[inner] {
                Yaml::Hash(h) => h
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
                    .collect(),
                _ => Vec::new(),
            };
            Some((name, Entry(members)))
        })
        .collect()
}

/// An HTTP client for one webhook endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
    authorization: Option<String>,
}

impl Client {
    /// Loads a kubeconfig-format webhook configuration file.
    pub fn from_kubeconfig(path: &Path) -> Result<Client, Error> {
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Client::from_kubeconfig_bytes(&text, path, base)
    }

    /// Parses a kubeconfig held in memory; `name` is used in messages and relative
    /// paths are resolved against `base`.
    pub fn from_kubeconfig_bytes(text: &[u8], name: &Path, base: &Path) -> Result<Client, Error> {
        let bad = |msg: String| Error::Config {
            path: name.to_path_buf(),
            msg,
        };
        let text = std::str::from_utf8(text)
            .map_err(|e| bad(format!("not UTF-8 at byte offset {}", e.valid_up_to())))?;
        let docs = YamlLoader::load_from_str(text).map_err(|e| {
            bad(format!(
                "invalid kubeconfig at line {} column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            ))
        })?;
        let doc = docs.into_iter().next().unwrap_or(Yaml::Null);
        let current = doc["current-context"].as_str().unwrap_or("");
        if current.is_empty() {
            return Err(bad("no current-context is set".into()));
        }
        let contexts = named(&doc, "contexts", "context");
        let ctx = contexts
            .iter()
            .find(|(n, _)| n == current)
            .map(|(_, c)| c)
            .ok_or_else(|| bad(format!("context {current:?} not found")))?;
        let cluster_name = ctx.str("cluster").unwrap_or_default();
        let user_name = ctx.str("user").unwrap_or_default();
        let clusters = named(&doc, "clusters", "cluster");
        let cluster = clusters
            .iter()
            .find(|(n, _)| *n == cluster_name)
            .map(|(_, c)| c)
            .ok_or_else(|| bad(format!("cluster {cluster_name:?} not found")))?;
        let users = named(&doc, "users", "user");
        let no_user = Entry::default();
        let user = if user_name.is_empty() {
            &no_user
        } else {
            users
                .iter()
                .find(|(n, _)| *n == user_name)
                .map(|(_, u)| u)
                .ok_or_else(|| bad(format!("user {user_name:?} not found")))?
        };
        let server = cluster.str("server").unwrap_or_default();
        if server.is_empty() {
            return Err(bad("the cluster has no server URL".into()));
        }
        let read = |entry: &Entry, key: &str| {
            read_material(
                entry.str(&format!("{key}-data")).as_deref(),
                entry.path(key).as_deref(),
                base,
            )
            .map_err(|e| bad(format!("{key}: {e}")))
        };

        let mut tls =
            TlsConfig::builder().disable_verification(cluster.flag("insecure-skip-tls-verify"));
        if let Some(pem) = read(cluster, "certificate-authority")? {
            let certs =
                parse_certs(&pem).map_err(|e| bad(format!("certificate-authority: {e}")))?;
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        let cert = read(user, "client-certificate")?;
        let key = read(user, "client-key")?;
        match (cert, key) {
            (Some(cert), Some(key)) => {
                let chain =
                    parse_certs(&cert).map_err(|e| bad(format!("client-certificate: {e}")))?;
                let key =
                    PrivateKey::from_pem(&key).map_err(|e| bad(format!("client-key: {e}")))?;
                tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
            }
            (None, None) => {}
            _ => {
                return Err(bad(
                    "client-certificate and client-key must be given together".into(),
                ))
            }
        }

        let token = match (user.str("token"), user.path("tokenFile")) {
            (Some(t), _) => Some(t),
            (None, Some(f)) => {
                let p = base.join(f);
                let t = std::fs::read_to_string(&p)
                    .map_err(|e| bad(format!("tokenFile {}: {e}", p.display())))?;
                Some(t.trim().to_string())
            }
            (None, None) => None,
        };
        let authorization = match (token, user.str("username")) {
            (Some(t), _) => Some(format!("Bearer {t}")),
            (None, Some(u)) => {
                let pair = format!("{u}:{}", user.str("password").unwrap_or_default());
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            (None, None) => None,
        };

        let config = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .proxy(None)
            .tls_config(tls.build())
            .build();
        Ok(Client {
            agent: config.into(),
            url: server,
            authorization,
        })
    }

    /// A client posting to a plain `http://` URL with no credentials.
    pub fn plain(url: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .proxy(None)
            .build();
        Client {
            agent: config.into(),
            url: url.to_string(),
            authorization: None,
        }
    }

    /// The URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One POST of an `application/json` body. Success is any 2xx; the response body
    /// is read and ignored.
    pub fn post(&self, body: &[u8]) -> Result<(), Error> {
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if let Some(auth) = &self.authorization {
            req = req.header("Authorization", auth);
        }
        let resp = req.send(body).map_err(|e| Error::Http {
            url: self.url.clone(),
            msg: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let text = resp
            .into_body()
            .with_config()
            .limit(4096)
            .read_to_vec()
            .unwrap_or_default();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            let snippet = String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
            Err(Error::Status {
                url: self.url.clone(),
                code: status,
                body: snippet.trim().to_string(),
            })
        }
    }
}

/// Returns inline base64 data, else the file's content, else `None`.
fn read_material(
    inline: Option<&str>,
    file: Option<&Path>,
    base: &Path,
) -> Result<Option<Vec<u8>>, String> {
    if let Some(data) = inline.filter(|d| !d.is_empty()) {
        let clean: String = data.split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(clean)
            .map(Some)
            .map_err(|e| format!("invalid base64 data: {e}"));
    }
    match file.filter(|f| !f.as_os_str().is_empty()) {
        Some(f) => {
            let p = base.join(f);
            std::fs::read(&p)
                .map(Some)
                .map_err(|e| format!("{}: {e}", p.display()))
        }
        None => Ok(None),
    }
}

fn parse_certs(pem: &[u8]) -> Result<Vec<Certificate<'static>>, String> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        if let PemItem::Certificate(c) = item.map_err(|e| e.to_string())? {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}

/// Unused-field-tolerant view of the kubeconfig, for tests.
#[cfg(test)]
fn parse(text: &str) -> Result<std::collections::BTreeMap<&'static str, String>, Error> {
    let c = Client::from_kubeconfig_bytes(text.as_bytes(), Path::new("t"), Path::new("."))?;
    let mut m = std::collections::BTreeMap::new();
    m.insert("url", c.url.clone());
    m.insert("auth", c.authorization.clone().unwrap_or_default());
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = "apiVersion: v1
kind: Config
clusters:
- name: audit
  cluster:
    server: http://127.0.0.1:9/audit
users:
- name: api
  user:
    token: s3cret
contexts:
- name: default
  context:
    cluster: audit
    user: api
current-context: default
";

    #[test]
    fn reads_server_and_token() {
        let m = parse(CFG).expect("valid");
        assert_eq!(m["url"], "http://127.0.0.1:9/audit");
        assert_eq!(m["auth"], "Bearer s3cret");
    }

    #[test]
    fn basic_auth_and_missing_context() {
        let cfg = CFG.replace("token: s3cret", "username: a\n    password: b");
        assert_eq!(parse(&cfg).expect("valid")["auth"], "Basic YTpi");
        let cfg = CFG.replace("current-context: default", "");
        let err = parse(&cfg).expect_err("no context");
        assert!(err.to_string().contains("no current-context"), "{err}");
        let cfg = CFG.replace("cluster: audit\n    user", "cluster: other\n    user");
        assert!(parse(&cfg)
            .expect_err("bad")
            .to_string()
            .contains("\"other\" not found"));
    }

    #[test]
    fn yaml_errors_carry_a_location() {
        let err = parse("clusters: [\n  - {name: 1\n").expect_err("bad yaml");
        assert!(err.to_string().contains("line"), "{err}");
        let err = parse(&CFG.replace("token: s3cret", "client-key-data: '!!'"))
            .expect_err("key without cert");
        assert!(err.to_string().contains("client-key"), "{err}");
    }
}
