//! The embedded SQLite backend (WAL mode, one writer connection, a few readers).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use std::thread::JoinHandle;

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OpenFlags};

use super::{Backend, Cell, Dialect, Param, Record, Rollups, HOUR_NS};
use crate::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL,
    ts INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    rule TEXT NOT NULL,
    source TEXT NOT NULL,
    hostname TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE INDEX IF NOT EXISTS events_rule_ts ON events(rule, ts);
CREATE INDEX IF NOT EXISTS events_priority_ts ON events(priority, ts);
CREATE INDEX IF NOT EXISTS events_uuid ON events(uuid);
CREATE TABLE IF NOT EXISTS event_tags(
    event_id INTEGER NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY(event_id, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_tags_tag ON event_tags(tag, event_id);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(body, content='', contentless_delete=1, detail=none);
CREATE TABLE IF NOT EXISTS event_hours(
    bucket INTEGER PRIMARY KEY,
    min_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup(
    bucket INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    rule TEXT NOT NULL,
    source TEXT NOT NULL,
    hostname TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY(bucket, priority, rule, source, hostname)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_dim(
    dim TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY(dim, bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_tags(
    bucket INTEGER NOT NULL,
    tag TEXT NOT NULL,
    priority INTEGER NOT NULL,
    rule TEXT NOT NULL,
    source TEXT NOT NULL,
    hostname TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY(bucket, tag, priority, rule, source, hostname)
) WITHOUT ROWID;
";

/// Above this many WAL frames (4 KiB pages) the checkpointer makes the writer wait
/// (`RESTART`) instead of copying alongside it, so the WAL cannot grow without bound.
const WAL_RESTART_FRAMES: i64 = 65_536;

/// Whether `event_hours` (newer than the store) must be filled from `events`.
const NEEDS_HOURS: &str = "SELECT CASE WHEN EXISTS (SELECT 1 FROM events) \
    AND NOT EXISTS (SELECT 1 FROM event_hours) THEN 1 ELSE 0 END";

/// Fills `event_hours` from `events` (once, for a store created before the table).
const BACKFILL_HOURS: &str = "INSERT INTO event_hours(bucket, min_id) \
    SELECT (ts / ?1) * ?1 - CASE WHEN ts < 0 AND ts % ?1 <> 0 THEN ?1 ELSE 0 END, MIN(id) \
    FROM events GROUP BY 1";

/// SQLite storage in one file, created on first use (zero set-up).
///
/// The writer never checkpoints: a `hub-checkpoint` thread with its own connection copies
/// the WAL back into the database after each commit (a passive checkpoint runs alongside
/// the next transaction), which keeps that work off the single writer.
#[derive(Debug)]
pub struct SqliteBackend {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    /// The `events` table has the old `tags` and `output` columns.
    legacy: bool,
    /// Wakes the checkpointer after a commit; dropped (ending it) when the backend is.
    wake: Option<SyncSender<()>>,
    checkpointer: Option<JoinHandle<()>>,
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        self.wake.take();
        if let Some(h) = self.checkpointer.take() {
            // The thread only runs checkpoints; a panic there leaves nothing to clean up.
            let _ = h.join();
        }
    }
}

/// The checkpointer thread: one checkpoint per wake-up (wake-ups during a checkpoint
/// collapse into one). Errors are left for the next round (a busy database is normal).
fn checkpoint_loop(conn: &Connection, wake: &Receiver<()>) {
    let mut frames = 0i64;
    while wake.recv().is_ok() {
        while wake.try_recv().is_ok() {}
        let sql = if frames > WAL_RESTART_FRAMES {
            "PRAGMA wal_checkpoint(RESTART)"
        } else {
            "PRAGMA wal_checkpoint(PASSIVE)"
        };
        if let Ok(n) = conn.query_row(sql, [], |r| r.get::<_, i64>(1)) {
            frames = n;
        }
    }
}

fn lock_err() -> Error {
    Error::Store {
        backend: "sqlite",
        msg: "connection lock poisoned".into(),
    }
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path` with `readers` read connections.
    pub fn open(path: &Path, readers: usize) -> Result<SqliteBackend, Error> {
        let writer = Connection::open(path)?;
        writer.execute_batch(
            "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 10000; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;",
        )?;
        writer.execute_batch(SCHEMA)?;
        let backfill: i64 = writer.query_row(super::NEEDS_BACKFILL, [], |r| r.get(0))?;
        if backfill == 1 {
            writer.execute_batch(super::BACKFILL_DIMS)?;
        }
        let hours: i64 = writer.query_row(NEEDS_HOURS, [], |r| r.get(0))?;
        if hours == 1 {
            writer.execute(BACKFILL_HOURS, [HOUR_NS])?;
        }
        let legacy: i64 = writer.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'output'",
            [],
            |r| r.get(0),
        )?;
        let legacy = legacy > 0;
        let mut rs = Vec::new();
        for _ in 0..readers.max(1) {
            let c = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            c.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;")?;
            rs.push(Mutex::new(c));
        }
        let ckpt = Connection::open(path)?;
        ckpt.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -2048;")?;
        let (wake, rx) = sync_channel(1);
        let checkpointer = std::thread::Builder::new()
            .name("hub-checkpoint".into())
            .spawn(move || checkpoint_loop(&ckpt, &rx))
            .map_err(|e| Error::Store {
                backend: "sqlite",
                msg: format!("starting the checkpoint thread: {e}"),
            })?;
        Ok(SqliteBackend {
            writer: Mutex::new(writer),
            readers: rs,
            next: AtomicUsize::new(0),
            legacy,
            wake: Some(wake),
            checkpointer: Some(checkpointer),
        })
    }

    /// Runs `f` inside one write transaction.
    fn with_writer<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut conn = self.writer.lock().map_err(|_| lock_err())?;
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        if let Some(w) = &self.wake {
            // Full means a wake-up is already pending: nothing is lost.
            let _ = w.try_send(());
        }
        Ok(out)
    }
}

fn to_sql(p: &Param) -> &dyn rusqlite::ToSql {
    match p {
        Param::Int(i) => i,
        Param::Text(t) => t,
    }
}

/// Writes `batch` with the statements of `tx`. `legacy`: the `events` table still has the
/// `tags` and `output` columns of stores created before they were dropped (both are in the
/// JSON); they get empty strings.
fn insert_tx(tx: &rusqlite::Transaction<'_>, batch: &[Record], legacy: bool) -> Result<(), Error> {
    {
        let mut ev = tx.prepare_cached(if legacy {
            "INSERT INTO events(uuid, ts, priority, rule, source, hostname, json, tags, output)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '', '')"
        } else {
            "INSERT INTO events(uuid, ts, priority, rule, source, hostname, json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        })?;
        let mut tag =
            tx.prepare_cached("INSERT OR IGNORE INTO event_tags(event_id, tag) VALUES (?1, ?2)")?;
        let mut fts = tx.prepare_cached("INSERT INTO events_fts(rowid, body) VALUES (?1, ?2)")?;
        let mut text = String::with_capacity(1024);
        // Smallest new id per hour bucket (usually one bucket per batch).
        let mut hours: Vec<(i64, i64)> = Vec::with_capacity(2);
        for r in batch {
            let e = &r.event;
            let id = ev.insert(params![
                e.uuid,
                e.time_ns,
                i64::from(e.priority.as_u8()),
                e.rule,
                e.source,
                e.hostname,
                r.json
            ])?;
            for t in &e.tags {
                tag.execute(params![id, t])?;
            }
            text.clear();
            r.search_text_into(&mut text);
            fts.execute(params![id, text])?;
            let b = e.time_ns.div_euclid(HOUR_NS) * HOUR_NS;
            if !hours.iter().any(|&(hb, _)| hb == b) {
                hours.push((b, id));
            }
        }
        let mut hr = tx.prepare_cached(
            "INSERT INTO event_hours(bucket, min_id) VALUES (?1, ?2)
             ON CONFLICT DO UPDATE SET min_id = MIN(min_id, excluded.min_id)",
        )?;
        for (b, id) in hours {
            hr.execute(params![b, id])?;
        }
    }
    let roll = Rollups::of(batch);
    let mut up = tx.prepare_cached(
        "INSERT INTO rollup(bucket, priority, rule, source, hostname, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT DO UPDATE SET n = n + excluded.n",
    )?;
    for ((b, p, rule, src, host), n) in &roll.plain {
        up.execute(params![b, p, rule, src, host, n])?;
    }
    let mut upt = tx.prepare_cached(
        "INSERT INTO rollup_tags(bucket, tag, priority, rule, source, hostname, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT DO UPDATE SET n = n + excluded.n",
    )?;
    for ((b, t, p, rule, src, host), n) in &roll.tags {
        upt.execute(params![b, t, p, rule, src, host, n])?;
    }
    let mut upd = tx.prepare_cached(
        "INSERT INTO rollup_dim(dim, bucket, key, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO UPDATE SET n = n + excluded.n",
    )?;
    for ((dim, b, key), n) in &roll.dims {
        upd.execute(params![dim, b, key, n])?;
    }
    Ok(())
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn insert(&self, batch: &[Record]) -> Result<(), Error> {
        self.with_writer(|tx| insert_tx(tx, batch, self.legacy))
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
        let conn = match guard {
            Some(g) => g,
            None => self.readers[start % n].lock().map_err(|_| lock_err())?,
        };
        let mut stmt = conn.prepare_cached(sql)?;
        let cols = stmt.column_count();
        let ps: Vec<&dyn rusqlite::ToSql> = params.iter().map(to_sql).collect();
        let mut rows = stmt.query(ps.as_slice())?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut r = Vec::with_capacity(cols);
            for i in 0..cols {
                r.push(match row.get_ref(i)? {
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Int(v as i64),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Cell::Text(String::from_utf8_lossy(t).into_owned())
                    }
                    ValueRef::Null => Cell::Null,
                });
            }
            out.push(r);
        }
        Ok(out)
    }

    fn delete_before(&self, cutoff_ns: i64) -> Result<u64, Error> {
        let n = self.with_writer(|tx| {
            tx.execute(
                "DELETE FROM event_tags WHERE event_id IN (SELECT id FROM events WHERE ts < ?1)",
                [cutoff_ns],
            )?;
            tx.execute(
                "DELETE FROM events_fts WHERE rowid IN (SELECT id FROM events WHERE ts < ?1)",
                [cutoff_ns],
            )?;
            let n = tx.execute("DELETE FROM events WHERE ts < ?1", [cutoff_ns])?;
            tx.execute("DELETE FROM rollup WHERE bucket < ?1", [cutoff_ns])?;
            tx.execute("DELETE FROM rollup_tags WHERE bucket < ?1", [cutoff_ns])?;
            tx.execute("DELETE FROM rollup_dim WHERE bucket < ?1", [cutoff_ns])?;
            tx.execute("DELETE FROM event_hours WHERE bucket < ?1", [cutoff_ns])?;
            Ok(n)
        })?;
        if n > 0 {
            let conn = self.writer.lock().map_err(|_| lock_err())?;
            conn.execute_batch("PRAGMA incremental_vacuum;")?;
        }
        Ok(n as u64)
    }

    fn size_bytes(&self) -> Result<u64, Error> {
        let conn = self.writer.lock().map_err(|_| lock_err())?;
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok(u64::try_from((pages - free) * size).unwrap_or(0))
    }

    fn size_updates_immediately(&self) -> bool {
        true
    }
}
