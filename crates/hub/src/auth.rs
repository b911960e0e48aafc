//! Credentials: bearer tokens for ingest, HTTP Basic users and API tokens for reading.

use base64::Engine as _;
use http::HeaderMap;

use crate::config::AuthConfig;

/// Checks request credentials against the configured users and tokens.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    ingest_tokens: Vec<String>,
    users: Vec<String>,
    api_tokens: Vec<String>,
}

/// Compares without an early exit on the first differing byte.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn basic(headers: &HeaderMap) -> Option<Vec<u8>> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()
}

impl Auth {
    /// Builds the checker from the `auth` config section.
    pub fn new(cfg: &AuthConfig) -> Auth {
        let clean = |v: &[String]| v.iter().filter(|s| !s.is_empty()).cloned().collect();
        Auth {
            ingest_tokens: clean(&cfg.ingesttokens),
            users: clean(&cfg.users),
            api_tokens: clean(&cfg.apitokens),
        }
    }

    /// Whether a request may post alerts (always, when no ingest token is configured).
    pub fn ingest_ok(&self, headers: &HeaderMap) -> bool {
        if self.ingest_tokens.is_empty() {
            return true;
        }
        bearer(headers).is_some_and(|t| {
            self.ingest_tokens
                .iter()
                .any(|k| ct_eq(k.as_bytes(), t.as_bytes()))
        })
    }

    /// Whether a request may read (always, when no user and no API token is configured).
    pub fn read_ok(&self, headers: &HeaderMap) -> bool {
        if self.users.is_empty() && self.api_tokens.is_empty() {
            return true;
        }
        if let Some(t) = bearer(headers) {
            return self
                .api_tokens
                .iter()
                .any(|k| ct_eq(k.as_bytes(), t.as_bytes()));
        }
        basic(headers).is_some_and(|cred| {
            !cred.is_empty() && self.users.iter().any(|u| ct_eq(u.as_bytes(), &cred))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(http::header::AUTHORIZATION, v.parse().unwrap());
        m
    }

    #[test]
    fn tokens_and_users() {
        let a = Auth::new(&AuthConfig {
            ingesttokens: vec!["in".into()],
            users: vec!["admin:pw".into()],
            apitokens: vec!["rd".into()],
        });
        assert!(a.ingest_ok(&h("Bearer in")));
        assert!(!a.ingest_ok(&h("Bearer rd")));
        assert!(!a.ingest_ok(&HeaderMap::new()));
        assert!(a.read_ok(&h("Bearer rd")));
        assert!(a.read_ok(&h("Basic YWRtaW46cHc=")));
        assert!(!a.read_ok(&h("Basic YWRtaW46eA==")));
        assert!(!a.read_ok(&HeaderMap::new()));
        let open = Auth::new(&AuthConfig::default());
        assert!(open.ingest_ok(&HeaderMap::new()) && open.read_ok(&HeaderMap::new()));
    }
}
