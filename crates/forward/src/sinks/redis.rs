//! Redis sink: `XADD <key> * json <alert>` (stream, default), `RPUSH <key> <alert>`
//! (list, sidekick's default) or `HSET <key> <id> <alert>` (hashmap, keyed by the
//! alert's uuid or delivery id). A batch goes in one MULTI/EXEC transaction.

use redis::aio::ConnectionManager;

use super::{delivery_id, Outcome, Queued, Sink};
use crate::config::{QueueConfig, RedisConfig, RedisStorage};
use crate::{Error, Result};

/// One Redis destination (connected lazily; the manager reconnects).
pub(crate) struct RedisSink {
    name: String,
    client: redis::Client,
    conn: Option<ConnectionManager>,
    key: String,
    storage: RedisStorage,
    maxlen: usize,
}

impl std::fmt::Debug for RedisSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSink")
            .field("name", &self.name)
            .field("key", &self.key)
            .finish()
    }
}

/// Builds a `redis` sink.
pub(crate) fn build(c: &RedisConfig, name: &str, _q: &QueueConfig) -> Result<Sink> {
    let mut url = String::from("redis://");
    if !c.username.is_empty() || !c.password.is_empty() {
        url.push_str(&url_escape(&c.username));
        if !c.password.is_empty() {
            url.push(':');
            url.push_str(&url_escape(&c.password));
        }
        url.push('@');
    }
    url.push_str(&c.address);
    url.push('/');
    url.push_str(&c.database.to_string());
    let info = url.as_str();
    let client = redis::Client::open(info).map_err(|e| Error::Output {
        output: name.to_owned(),
        message: e.to_string(),
    })?;
    Ok(Sink::Redis(RedisSink {
        name: name.to_owned(),
        client,
        conn: None,
        key: if c.key.is_empty() {
            "falco".into()
        } else {
            c.key.clone()
        },
        storage: c.storagetype,
        maxlen: c.maxlen,
    }))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn url_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

impl RedisSink {
    pub(crate) async fn send(&mut self, batch: &[Queued]) -> Outcome {
        if self.conn.is_none() {
            match ConnectionManager::new(self.client.clone()).await {
                Ok(c) => self.conn = Some(c),
                Err(e) => return Outcome::failed(0, false, e.to_string()),
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return Outcome::failed(0, false, "not connected");
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        for q in batch {
            let json = q.alert.to_json();
            match self.storage {
                RedisStorage::Stream => {
                    let mut cmd = redis::cmd("XADD");
                    cmd.arg(&self.key);
                    if self.maxlen > 0 {
                        cmd.arg("MAXLEN").arg("~").arg(self.maxlen);
                    }
                    cmd.arg("*")
                        .arg("rule")
                        .arg(&q.alert.rule)
                        .arg("priority")
                        .arg(q.alert.priority.as_str())
                        .arg("json")
                        .arg(json);
                    pipe.add_command(cmd).ignore();
                }
                RedisStorage::List => {
                    pipe.cmd("RPUSH").arg(&self.key).arg(json).ignore();
                }
                RedisStorage::Hashmap => {
                    let id = q
                        .alert
                        .uuid
                        .clone()
                        .unwrap_or_else(|| delivery_id(&self.name, q.id));
                    pipe.cmd("HSET").arg(&self.key).arg(id).arg(json).ignore();
                }
            }
        }
        match pipe.query_async::<()>(conn).await {
            Ok(()) => Outcome::ok(batch.len()),
            Err(e) => Outcome::failed(0, false, e.to_string()),
        }
    }
}
