//! Redis sink: `XADD <key> * json <alert>` (stream, default), `RPUSH <key> <alert>`
//! (list, sidekick's default) or `HSET <key> <id> <alert>` (hashmap, keyed by the
//! alert's uuid or delivery key). A batch goes in one MULTI/EXEC transaction, and a
//! per-instance marker key makes re-sends no-ops.

use redis::aio::ConnectionManager;

use super::{Outcome, Queued, Sink};
use crate::config::{QueueConfig, RedisConfig, RedisStorage};
use crate::{Error, Result};

/// Writes one alert unless this instance already wrote it: the marker key holds the
/// `<epoch>:<id>` of the last alert written, and queue ids increase in delivery order,
/// so a batch re-sent after a lost reply is skipped (exactly-once per queue).
/// KEYS: target key, marker key. ARGV: epoch, id, storage, rule, priority, json, maxlen,
/// hash field.
const DEDUP_SCRIPT: &str = r"
local m = redis.call('GET', KEYS[2])
if m then
  local e, i = string.match(m, '^(%x+):(%d+)$')
  if e == ARGV[1] and tonumber(i) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[2], ARGV[1] .. ':' .. ARGV[2])
if ARGV[3] == 'stream' then
  if ARGV[7] ~= '0' then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[7], '*', 'rule', ARGV[4], 'priority', ARGV[5], 'json', ARGV[6])
  else
    redis.call('XADD', KEYS[1], '*', 'rule', ARGV[4], 'priority', ARGV[5], 'json', ARGV[6])
  end
elseif ARGV[3] == 'list' then
  redis.call('RPUSH', KEYS[1], ARGV[6])
else
  redis.call('HSET', KEYS[1], ARGV[8], ARGV[6])
end
return 1
";

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
        let marker = format!("{}:osprey-delivered:{}", self.key, self.name);
        let storage = match self.storage {
            RedisStorage::Stream => "stream",
            RedisStorage::List => "list",
            RedisStorage::Hashmap => "hashmap",
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        for q in batch {
            let field = q.alert.uuid.clone().unwrap_or_else(|| q.key.clone());
            pipe.cmd("EVAL")
                .arg(DEDUP_SCRIPT)
                .arg(2)
                .arg(&self.key)
                .arg(&marker)
                .arg(format!("{:016x}", q.epoch))
                .arg(q.id)
                .arg(storage)
                .arg(&q.alert.rule)
                .arg(q.alert.priority.as_str())
                .arg(q.alert.to_json())
                .arg(self.maxlen)
                .arg(field)
                .ignore();
        }
        match pipe.query_async::<()>(conn).await {
            Ok(()) => Outcome::ok(batch.len()),
            Err(e) => Outcome::failed(0, false, e.to_string()),
        }
    }
}
