//! The PostgreSQL backend: one database shared by several hub replicas.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls};

use super::{Backend, Cell, Dialect, Param, Record, Rollups};
use crate::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events(
    id BIGSERIAL PRIMARY KEY,
    uuid TEXT NOT NULL,
    ts BIGINT NOT NULL,
    priority BIGINT NOT NULL,
    rule TEXT NOT NULL,
    source TEXT NOT NULL,
    hostname TEXT NOT NULL,
    tags TEXT NOT NULL,
    output TEXT NOT NULL,
    json TEXT NOT NULL,
    search TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts, id);
CREATE INDEX IF NOT EXISTS events_rule_ts ON events(rule, ts);
CREATE INDEX IF NOT EXISTS events_priority_ts ON events(priority, ts);
CREATE INDEX IF NOT EXISTS events_uuid ON events(uuid);
CREATE TABLE IF NOT EXISTS event_tags(
    event_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY(event_id, tag)
);
CREATE INDEX IF NOT EXISTS event_tags_tag ON event_tags(tag, event_id);
CREATE TABLE IF NOT EXISTS rollup(
    bucket BIGINT NOT NULL,
    priority BIGINT NOT NULL,
    rule TEXT NOT NULL,
    source TEXT NOT NULL,
    hostname TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY(bucket, priority, rule, source, hostname)
);
CREATE TABLE IF NOT EXISTS rollup_dim(
    dim TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY(dim, bucket, key)
);
CREATE TABLE IF NOT EXISTS rollup_tags(
    bucket BIGINT NOT NULL,
    tag TEXT NOT NULL,
    priority BIGINT NOT NULL,
    rule TEXT NOT NULL,
    source TEXT NOT NULL,
    hostname TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY(bucket, tag, priority, rule, source, hostname)
);
";

/// An arbitrary constant serialising schema creation between replicas.
const SCHEMA_LOCK: i64 = 0x6f73_7072_6579_6875;

/// PostgreSQL storage; several hubs may share one database.
pub struct PostgresBackend {
    writer: Mutex<Client>,
    readers: Vec<Mutex<Client>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("readers", &self.readers.len())
            .finish()
    }
}

fn lock_err() -> Error {
    Error::Store {
        backend: "postgres",
        msg: "connection lock poisoned".into(),
    }
}

impl PostgresBackend {
    /// Connects `readers + 1` times with `url` (a libpq-style `host=... user=...` string or a
    /// `postgresql://` URL) and creates the schema if it is missing. Must not be called
    /// from an async task (it blocks).
    pub fn connect(url: &str, readers: usize) -> Result<PostgresBackend, Error> {
        let mut writer = Client::connect(url, NoTls)?;
        let mut tx = writer.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        tx.batch_execute(SCHEMA)?;
        let backfill: i32 = tx.query_one(super::NEEDS_BACKFILL, &[])?.get(0);
        if backfill == 1 {
            tx.batch_execute(super::BACKFILL_DIMS)?;
        }
        // The trigram index makes ILIKE text search fast; pg_trgm ships with PostgreSQL but
        // may be unavailable (no rights): text search then scans.
        let trgm = tx.batch_execute("SAVEPOINT trgm; CREATE EXTENSION IF NOT EXISTS pg_trgm;").is_ok()
            && tx
                .batch_execute("CREATE INDEX IF NOT EXISTS events_search ON events USING gin (search gin_trgm_ops);")
                .is_ok();
        if !trgm {
            tx.batch_execute("ROLLBACK TO SAVEPOINT trgm;")?;
        }
        tx.commit()?;
        let mut rs = Vec::new();
        for _ in 0..readers.max(1) {
            rs.push(Mutex::new(Client::connect(url, NoTls)?));
        }
        Ok(PostgresBackend {
            writer: Mutex::new(writer),
            readers: rs,
            next: AtomicUsize::new(0),
        })
    }
}

impl Backend for PostgresBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn insert(&self, batch: &[Record]) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut uuids = Vec::with_capacity(batch.len());
        let mut ts = Vec::with_capacity(batch.len());
        let mut prio = Vec::with_capacity(batch.len());
        let (mut rules, mut srcs, mut hosts, mut tags, mut outs, mut jsons, mut search) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for r in batch {
            let e = &r.event;
            uuids.push(e.uuid.as_str());
            ts.push(e.time_ns);
            prio.push(i64::from(e.priority.as_u8()));
            rules.push(e.rule.as_str());
            srcs.push(e.source.as_str());
            hosts.push(e.hostname.as_str());
            tags.push(e.tags.join(","));
            outs.push(e.output.as_str());
            jsons.push(r.json.as_str());
            search.push(r.search_text());
        }
        let mut client = self.writer.lock().map_err(|_| lock_err())?;
        let mut tx = client.transaction()?;
        let rows = tx.query(
            "INSERT INTO events(uuid, ts, priority, rule, source, hostname, tags, output, json, search)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                                  $7::text[], $8::text[], $9::text[], $10::text[])
             RETURNING id, uuid",
            &[&uuids, &ts, &prio, &rules, &srcs, &hosts, &tags, &outs, &jsons, &search],
        )?;
        let ids: std::collections::HashMap<String, i64> = rows
            .iter()
            .map(|r| (r.get::<_, String>(1), r.get::<_, i64>(0)))
            .collect();
        let (mut tag_ids, mut tag_vals) = (Vec::new(), Vec::new());
        for r in batch {
            if let Some(&id) = ids.get(&r.event.uuid) {
                for t in &r.event.tags {
                    tag_ids.push(id);
                    tag_vals.push(t.as_str());
                }
            }
        }
        if !tag_ids.is_empty() {
            tx.execute(
                "INSERT INTO event_tags(event_id, tag) SELECT * FROM unnest($1::bigint[], $2::text[])
                 ON CONFLICT DO NOTHING",
                &[&tag_ids, &tag_vals],
            )?;
        }
        let roll = Rollups::of(batch);
        let up = tx.prepare_typed(
            "INSERT INTO rollup(bucket, priority, rule, source, hostname, n) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (bucket, priority, rule, source, hostname) DO UPDATE SET n = rollup.n + excluded.n",
            &[Type::INT8, Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8],
        )?;
        for ((b, p, rule, src, host), n) in &roll.plain {
            tx.execute(&up, &[b, p, rule, src, host, n])?;
        }
        let upt = tx.prepare_typed(
            "INSERT INTO rollup_tags(bucket, tag, priority, rule, source, hostname, n) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (bucket, tag, priority, rule, source, hostname) DO UPDATE SET n = rollup_tags.n + excluded.n",
            &[Type::INT8, Type::TEXT, Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8],
        )?;
        for ((b, t, p, rule, src, host), n) in &roll.tags {
            tx.execute(&upt, &[b, t, p, rule, src, host, n])?;
        }
        let upd = tx.prepare_typed(
            "INSERT INTO rollup_dim(dim, bucket, key, n) VALUES ($1, $2, $3, $4)
             ON CONFLICT (dim, bucket, key) DO UPDATE SET n = rollup_dim.n + excluded.n",
            &[Type::TEXT, Type::INT8, Type::TEXT, Type::INT8],
        )?;
        for ((dim, b, key), n) in &roll.dims {
            tx.execute(&upd, &[dim, b, key, n])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<Vec<Cell>>, Error> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        let mut guard = None;
        for i in 0..n {
            if let Ok(g) = self.readers[(start + i) % n].try_lock() {
                guard = Some(g);
                break;
            }
        }
        let mut client = match guard {
            Some(g) => g,
            None => self.readers[start % n].lock().map_err(|_| lock_err())?,
        };
        let ps: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| match p {
                Param::Int(i) => i as &(dyn ToSql + Sync),
                Param::Text(t) => t as &(dyn ToSql + Sync),
            })
            .collect();
        let rows = client.query(sql, &ps)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut r = Vec::with_capacity(row.len());
            for (i, col) in row.columns().iter().enumerate() {
                let t = col.type_();
                r.push(if *t == Type::INT8 {
                    row.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int)
                } else if *t == Type::INT4 {
                    row.get::<_, Option<i32>>(i)
                        .map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
                } else {
                    row.get::<_, Option<String>>(i)
                        .map_or(Cell::Null, Cell::Text)
                });
            }
            out.push(r);
        }
        Ok(out)
    }

    fn delete_before(&self, cutoff_ns: i64) -> Result<u64, Error> {
        let mut client = self.writer.lock().map_err(|_| lock_err())?;
        let mut tx = client.transaction()?;
        tx.execute(
            "DELETE FROM event_tags WHERE event_id IN (SELECT id FROM events WHERE ts < $1)",
            &[&cutoff_ns],
        )?;
        let n = tx.execute("DELETE FROM events WHERE ts < $1", &[&cutoff_ns])?;
        tx.execute("DELETE FROM rollup WHERE bucket < $1", &[&cutoff_ns])?;
        tx.execute("DELETE FROM rollup_tags WHERE bucket < $1", &[&cutoff_ns])?;
        tx.execute("DELETE FROM rollup_dim WHERE bucket < $1", &[&cutoff_ns])?;
        tx.commit()?;
        Ok(n)
    }

    fn size_bytes(&self) -> Result<u64, Error> {
        let mut client = self.writer.lock().map_err(|_| lock_err())?;
        let row = client.query_one(
            "SELECT CAST(pg_total_relation_size('events') + pg_total_relation_size('event_tags')
                  + pg_total_relation_size('rollup') + pg_total_relation_size('rollup_tags')
                  + pg_total_relation_size('rollup_dim') AS BIGINT)",
            &[],
        )?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    fn size_updates_immediately(&self) -> bool {
        false
    }
}
