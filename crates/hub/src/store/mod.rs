//! Event storage: one query layer over a small [`Backend`] trait, implemented for
//! embedded SQLite ([`SqliteBackend`]) and a shared PostgreSQL ([`PostgresBackend`]).
//!
//! Layout (both backends): an `events` table (one row per alert, its JSON kept verbatim),
//! `event_tags` (one row per tag), a full-text index, and two hourly roll-ups
//! (`rollup`: bucket × priority × rule × source × hostname → count; `rollup_tags`: the same
//! with the tag) plus a per-dimension one (`rollup_dim`: dimension × bucket × value →
//! count, for the unfiltered dashboard) kept up to date on insert. Counts and time lines read the roll-ups for
//! whole hours and the raw events only for the partial first hour of a `since` window, so
//! dashboard queries stay fast with millions of events. Filters that roll-ups cannot answer
//! (tags, free text) fall back to the raw tables and their indexes.

mod postgres;
mod sqlite;

use std::collections::BTreeMap;

pub use self::postgres::PostgresBackend;
pub use self::sqlite::SqliteBackend;

use crate::event::Event;
use crate::{Error, Priority};

/// Fills `rollup_dim` from the older roll-ups of a store created before it existed.
pub(crate) const BACKFILL_DIMS: &str = "INSERT INTO rollup_dim(dim, bucket, key, n)
    SELECT 'priority', bucket, CAST(priority AS TEXT), CAST(SUM(n) AS BIGINT) FROM rollup GROUP BY bucket, priority
    UNION ALL SELECT 'rule', bucket, rule, CAST(SUM(n) AS BIGINT) FROM rollup GROUP BY bucket, rule
    UNION ALL SELECT 'source', bucket, source, CAST(SUM(n) AS BIGINT) FROM rollup GROUP BY bucket, source
    UNION ALL SELECT 'hostname', bucket, hostname, CAST(SUM(n) AS BIGINT) FROM rollup GROUP BY bucket, hostname
    UNION ALL SELECT 'tag', bucket, tag, CAST(SUM(n) AS BIGINT) FROM rollup_tags GROUP BY bucket, tag";

/// Whether `rollup_dim` needs [`BACKFILL_DIMS`].
pub(crate) const NEEDS_BACKFILL: &str =
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM rollup) AND NOT EXISTS (SELECT 1 FROM rollup_dim) THEN 1 ELSE 0 END";

/// On SQLite, a count with free text stops at this many matches: below it the count is
/// exact, at it the true count is this or more (reported as this number, a lower bound).
pub const TEXT_COUNT_CAP: u64 = 10_000;

/// Text search: how many ids above the page's smallest one the time index may scan when
/// completing a page (see `Store::search_text_sqlite`); beyond it the full-text index does.
const TIME_SCAN_MAX: i64 = 200_000;

/// One hour in nanoseconds: the roll-up bucket width.
pub const HOUR_NS: i64 = 3_600_000_000_000;

/// An event ready to be stored: the enriched event and its serialised JSON.
#[derive(Debug, Clone)]
pub struct Record {
    /// The event.
    pub event: Event,
    /// `event.to_json()`, computed once on ingest.
    pub json: String,
}

impl Record {
    /// Wraps an event, serialising it.
    pub fn new(event: Event) -> Record {
        let json = event.to_json();
        Record { event, json }
    }

    /// The text the full-text index holds for this event.
    pub fn search_text(&self) -> String {
        let mut s = String::with_capacity(self.event.output.len() + 256);
        self.search_text_into(&mut s);
        s
    }

    /// Appends [`Record::search_text`] to `out` (the writer reuses one buffer).
    pub fn search_text_into(&self, out: &mut String) {
        use std::fmt::Write as _;
        let e = &self.event;
        for part in [
            e.output.as_str(),
            e.rule.as_str(),
            e.hostname.as_str(),
            e.source.as_str(),
        ] {
            out.push_str(part);
            out.push(' ');
        }
        for t in &e.tags {
            out.push_str(t);
            out.push(' ');
        }
        for v in e.output_fields.values() {
            out.push(' ');
            match v {
                serde_json::Value::String(x) => out.push_str(x),
                // Writing into a String cannot fail.
                other => {
                    let _ = write!(out, "{other}");
                }
            }
        }
    }
}

/// Which column a count or time line is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Priority.
    Priority,
    /// Rule.
    Rule,
    /// Source.
    Source,
    /// Hostname.
    Hostname,
    /// Each tag of an event counts once.
    Tags,
}

impl GroupBy {
    /// Parses the `:groupby` path parameter of Falcosidekick-UI.
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "priority" => GroupBy::Priority,
            "rule" => GroupBy::Rule,
            "source" => GroupBy::Source,
            "hostname" => GroupBy::Hostname,
            "tags" => GroupBy::Tags,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            GroupBy::Priority => "priority",
            GroupBy::Rule => "rule",
            GroupBy::Source => "source",
            GroupBy::Hostname => "hostname",
            GroupBy::Tags => "tag",
        }
    }
}

/// Which events a query looks at. Empty lists match everything; values in one list are ORed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only events at or after this time (ns since the epoch).
    pub since_ns: Option<i64>,
    /// Priorities.
    pub priorities: Vec<Priority>,
    /// Rule names.
    pub rules: Vec<String>,
    /// Sources.
    pub sources: Vec<String>,
    /// Hostnames.
    pub hostnames: Vec<String>,
    /// Tags (an event matches if it has any).
    pub tags: Vec<String>,
    /// Free text: every word must occur in the event. SQLite matches whole words, and
    /// word prefixes for words followed by `*` (`shad*`); PostgreSQL matches substrings.
    pub text: String,
}

impl Filter {
    /// No condition on priority, rule, source or hostname (the dashboard's default view):
    /// the per-dimension roll-up answers alone.
    fn no_dims(&self) -> bool {
        self.priorities.is_empty()
            && self.rules.is_empty()
            && self.sources.is_empty()
            && self.hostnames.is_empty()
    }

    fn rollup_ok(&self) -> bool {
        self.tags.is_empty() && self.text.trim().is_empty()
    }
}

/// A SQL parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// An integer.
    Int(i64),
    /// A string.
    Text(String),
}

/// A result cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An integer.
    Int(i64),
    /// A string.
    Text(String),
    /// NULL.
    Null,
}

impl Cell {
    fn int(&self) -> i64 {
        match self {
            Cell::Int(i) => *i,
            Cell::Text(t) => t.parse().unwrap_or(0),
            Cell::Null => 0,
        }
    }

    fn into_text(self) -> String {
        match self {
            Cell::Text(t) => t,
            Cell::Int(i) => i.to_string(),
            Cell::Null => String::new(),
        }
    }
}

/// SQL flavour differences the shared query builder needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `?N` placeholders, FTS5 `events_fts`.
    Sqlite,
    /// PostgreSQL: `$N` placeholders, `ILIKE` on the `search` column.
    Postgres,
}

/// What a storage engine provides; the query logic on top is shared ([`Store`]).
pub trait Backend: Send + Sync {
    /// The SQL flavour.
    fn dialect(&self) -> Dialect;
    /// Writes a batch of events (and their tags, search text and roll-ups) in one transaction.
    fn insert(&self, batch: &[Record]) -> Result<(), Error>;
    /// Runs a read query.
    fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<Vec<Cell>>, Error>;
    /// Deletes every event (and roll-up bucket) before `cutoff_ns`, which is hour aligned.
    /// Returns the number of events deleted.
    fn delete_before(&self, cutoff_ns: i64) -> Result<u64, Error>;
    /// Bytes the store uses now (an estimate for PostgreSQL).
    fn size_bytes(&self) -> Result<u64, Error>;
    /// Whether a size-retention pass may delete several hours at once (the size shrinks
    /// immediately after a delete).
    fn size_updates_immediately(&self) -> bool;
}

/// A row of an export: its position (for keyset paging) and JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    /// Event time.
    pub ts: i64,
    /// Row id.
    pub id: i64,
    /// The event JSON.
    pub json: String,
}

/// The event store: the shared queries over a backend.
pub struct Store {
    backend: Box<dyn Backend>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dialect", &self.backend.dialect())
            .finish()
    }
}

struct Sql {
    text: String,
    params: Vec<Param>,
    dialect: Dialect,
}

impl Sql {
    fn new(dialect: Dialect) -> Sql {
        Sql {
            text: String::with_capacity(256),
            params: Vec::new(),
            dialect,
        }
    }

    fn push(&mut self, s: &str) -> &mut Sql {
        self.text.push_str(s);
        self
    }

    fn param(&mut self, p: Param) -> &mut Sql {
        self.params.push(p);
        let n = self.params.len();
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => self.text.push('$'),
        }
        self.text.push_str(&n.to_string());
        self
    }

    fn in_list(&mut self, col: &str, values: impl Iterator<Item = Param>) {
        self.push(" AND ").push(col).push(" IN (");
        for (i, v) in values.enumerate() {
            if i > 0 {
                self.push(",");
            }
            self.param(v);
        }
        self.push(")");
    }
}

/// Words of a free-text filter, split as the SQLite tokenizer splits, each with whether a
/// `*` follows it (a prefix; otherwise SQLite matches the whole word).
fn words(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(char::is_alphanumeric) {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(tail.len());
        out.push((&tail[..end], tail[end..].starts_with('*')));
        rest = &tail[end..];
    }
    out
}

/// The FTS5 query of a free-text filter: every word, whole or (with `*`) as a prefix.
/// Whole words keep frequent words cheap: FTS5 walks one term's matches newest first
/// and stops, while a prefix first merges the matches of every term it covers.
fn fts_match(ws: &[(&str, bool)]) -> String {
    let mut q = String::new();
    for &(w, prefix) in ws {
        if !q.is_empty() {
            q.push(' ');
        }
        // Words hold only alphanumerics: quoting them cannot break the query.
        q.push('"');
        q.push_str(w);
        q.push('"');
        if prefix {
            q.push('*');
        }
    }
    q
}

/// Appends a SQLite sub-query giving a lower bound of the ids of events at or after `lo`:
/// the smallest id stored in the hour of `lo` or later (`event_hours`). NULL when there is
/// no such event, which makes `rowid >= NULL` match nothing, as it should.
fn first_id_since(sql: &mut Sql, lo: i64) {
    sql.push("(SELECT MIN(min_id) FROM event_hours WHERE bucket >= ")
        .param(Param::Int(lo.div_euclid(HOUR_NS) * HOUR_NS))
        .push(")");
}

/// Appends ` AND ...` conditions on dimension columns shared by events and roll-ups.
fn dims(sql: &mut Sql, f: &Filter, prefix: &str) {
    if !f.priorities.is_empty() {
        sql.in_list(
            &format!("{prefix}priority"),
            f.priorities
                .iter()
                .map(|p| Param::Int(i64::from(p.as_u8()))),
        );
    }
    for (col, vals) in [
        ("rule", &f.rules),
        ("source", &f.sources),
        ("hostname", &f.hostnames),
    ] {
        if !vals.is_empty() {
            sql.in_list(
                &format!("{prefix}{col}"),
                vals.iter().map(|v| Param::Text(v.clone())),
            );
        }
    }
}

/// Appends ` AND ...` conditions of `f` on `events e` other than its free text.
fn plain_conds(sql: &mut Sql, f: &Filter, lo: Option<i64>, hi: Option<i64>) {
    if let Some(lo) = lo {
        sql.push(" AND e.ts >= ").param(Param::Int(lo));
    }
    if let Some(hi) = hi {
        sql.push(" AND e.ts < ").param(Param::Int(hi));
    }
    dims(sql, f, "e.");
    if !f.tags.is_empty() {
        sql.push(" AND EXISTS (SELECT 1 FROM event_tags t2 WHERE t2.event_id = e.id");
        sql.in_list("t2.tag", f.tags.iter().map(|v| Param::Text(v.clone())));
        sql.push(")");
    }
}

/// The start of a SQLite query over the events matching the full-text query `q` and the
/// other conditions of `f` at or after `lo`, driven by the full-text index (so that
/// `ORDER BY events_fts.rowid DESC` walks matches newest id first without sorting).
fn fts_scan(sql: &mut Sql, cols: &str, q: &str, f: &Filter, lo: Option<i64>) {
    sql.push("SELECT ")
        .push(cols)
        .push(" FROM events_fts CROSS JOIN events e ON e.id = events_fts.rowid WHERE events_fts MATCH ")
        .param(Param::Text(q.to_owned()));
    if let Some(lo) = lo {
        sql.push(" AND events_fts.rowid >= ");
        first_id_since(sql, lo);
    }
    plain_conds(sql, f, lo, None);
}

/// Appends the conditions of `f` on the raw `events e` table, restricted to `[lo, hi)`.
fn raw_where(sql: &mut Sql, f: &Filter, lo: Option<i64>, hi: Option<i64>) {
    sql.push(" WHERE 1=1");
    plain_conds(sql, f, lo, hi);
    let ws = words(&f.text);
    if !ws.is_empty() {
        match sql.dialect {
            Dialect::Sqlite => {
                sql.push(" AND e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ")
                    .param(Param::Text(fts_match(&ws)));
                if let Some(lo) = lo {
                    sql.push(" AND rowid >= ");
                    first_id_since(sql, lo);
                }
                sql.push(")");
            }
            Dialect::Postgres => {
                for (w, _) in ws {
                    sql.push(" AND e.search ILIKE ")
                        .param(Param::Text(format!("%{w}%")));
                }
            }
        }
    }
}

fn rollup_where(sql: &mut Sql, f: &Filter, lo: Option<i64>, tags: bool) {
    sql.push(" WHERE 1=1");
    if let Some(lo) = lo {
        sql.push(" AND bucket >= ").param(Param::Int(lo));
    }
    dims(sql, f, "");
    if tags {
        sql.push(" AND tag <> ''");
    }
}

fn ceil_hour(ns: i64) -> i64 {
    ns.div_euclid(HOUR_NS) * HOUR_NS
        + if ns.rem_euclid(HOUR_NS) == 0 {
            0
        } else {
            HOUR_NS
        }
}

impl Store {
    /// Wraps a backend.
    pub fn new(backend: Box<dyn Backend>) -> Store {
        Store { backend }
    }

    /// Writes a batch of events.
    pub fn insert(&self, batch: &[Record]) -> Result<(), Error> {
        self.backend.insert(batch)
    }

    fn rows(&self, sql: &Sql) -> Result<Vec<Vec<Cell>>, Error> {
        self.backend.query(&sql.text, &sql.params)
    }

    /// Splits a `since` window into its raw edge `[since, hour)` and the roll-up start.
    fn split(f: &Filter) -> (Option<(i64, i64)>, Option<i64>) {
        match f.since_ns {
            None => (None, None),
            Some(lo) => {
                let b = ceil_hour(lo);
                ((b > lo).then_some((lo, b)), Some(b))
            }
        }
    }

    /// Number of events matching `f` (Falcosidekick-UI's `/events/count`).
    pub fn count(&self, f: &Filter) -> Result<u64, Error> {
        let d = self.backend.dialect();
        let mut total = 0i64;
        // One tag: `rollup_tags` (and the tag row of `rollup_dim`) count each event once.
        let one_tag = match f.tags.as_slice() {
            [t] if f.text.trim().is_empty() => Some(t),
            _ => None,
        };
        if f.rollup_ok() || one_tag.is_some() {
            let (edge, start) = Store::split(f);
            if let Some((lo, hi)) = edge {
                let mut sql = Sql::new(d);
                sql.push("SELECT COUNT(*) FROM events e");
                raw_where(&mut sql, f, Some(lo), Some(hi));
                total += self
                    .rows(&sql)?
                    .first()
                    .and_then(|r| r.first())
                    .map_or(0, Cell::int);
            }
            let mut sql = Sql::new(d);
            if f.no_dims() {
                sql.push("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM rollup_dim WHERE ");
                match one_tag {
                    Some(t) => {
                        sql.push("dim = 'tag' AND key = ")
                            .param(Param::Text(t.clone()));
                    }
                    None => {
                        sql.push("dim = 'priority'");
                    }
                }
                if let Some(lo) = start {
                    sql.push(" AND bucket >= ").param(Param::Int(lo));
                }
            } else {
                sql.push("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ")
                    .push(if one_tag.is_some() {
                        "rollup_tags"
                    } else {
                        "rollup"
                    });
                rollup_where(&mut sql, f, start, false);
                if let Some(t) = one_tag {
                    sql.push(" AND tag = ").param(Param::Text(t.clone()));
                }
            }
            total += self
                .rows(&sql)?
                .first()
                .and_then(|r| r.first())
                .map_or(0, Cell::int);
        } else if let (Dialect::Sqlite, Some(q)) = (d, self.fts_query(f)) {
            // Stop counting at the cap: reading millions of matches is what costs.
            let mut sql = Sql::new(d);
            sql.push("SELECT COUNT(*) FROM (");
            fts_scan(&mut sql, "1", &q, f, f.since_ns);
            sql.push(" ORDER BY events_fts.rowid DESC LIMIT ")
                .param(Param::Int(TEXT_COUNT_CAP as i64))
                .push(")");
            total = self
                .rows(&sql)?
                .first()
                .and_then(|r| r.first())
                .map_or(0, Cell::int);
        } else {
            let mut sql = Sql::new(d);
            sql.push("SELECT COUNT(*) FROM events e");
            raw_where(&mut sql, f, f.since_ns, None);
            total = self
                .rows(&sql)?
                .first()
                .and_then(|r| r.first())
                .map_or(0, Cell::int);
        }
        Ok(u64::try_from(total).unwrap_or(0))
    }

    /// Counts per value of `by` (Falcosidekick-UI's `/events/count/:groupby`), largest first.
    pub fn count_by(&self, f: &Filter, by: GroupBy) -> Result<Vec<(String, u64)>, Error> {
        let rows = self.grouped(f, by, None)?;
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for (_, k, n) in rows {
            if !k.is_empty() {
                *m.entry(k).or_insert(0) += n;
            }
        }
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(v)
    }

    /// Counts per time bucket of `bucket_ns` and value of `by`, oldest bucket first.
    pub fn timeline(
        &self,
        f: &Filter,
        by: GroupBy,
        bucket_ns: i64,
    ) -> Result<Vec<(i64, String, u64)>, Error> {
        let bucket_ns = bucket_ns.max(1_000_000_000);
        let rows = self.grouped(f, by, Some(bucket_ns))?;
        let mut m: BTreeMap<(i64, String), u64> = BTreeMap::new();
        for (b, k, n) in rows {
            *m.entry((b, k)).or_insert(0) += n;
        }
        Ok(m.into_iter().map(|((b, k), n)| (b, k, n)).collect())
    }

    /// Rows `(bucket, key, count)`; bucket is 0 without `bucket_ns`. Keys of priorities are
    /// their names.
    fn grouped(
        &self,
        f: &Filter,
        by: GroupBy,
        bucket_ns: Option<i64>,
    ) -> Result<Vec<(i64, String, u64)>, Error> {
        let d = self.backend.dialect();
        let col = by.column();
        let tags = by == GroupBy::Tags;
        let use_rollup = f.rollup_ok() && bucket_ns.is_none_or(|b| b % HOUR_NS == 0);
        let bucket_expr = |ts: &str| match bucket_ns {
            Some(b) => format!("({ts} / {b}) * {b}"),
            None => "0".to_owned(),
        };
        let raw_from = if tags {
            " FROM event_tags t JOIN events e ON e.id = t.event_id"
        } else {
            " FROM events e"
        };
        let raw_col = if tags {
            "t.tag".to_owned()
        } else {
            format!("e.{col}")
        };
        let raw = |lo: Option<i64>, hi: Option<i64>| -> Sql {
            let mut sql = Sql::new(d);
            let be = bucket_expr("e.ts");
            sql.push(&format!("SELECT {be}, {raw_col}, COUNT(*)"))
                .push(raw_from);
            raw_where(&mut sql, f, lo, hi);
            if bucket_ns.is_some() {
                sql.push(&format!(" GROUP BY {be}, {raw_col}"));
            } else {
                sql.push(&format!(" GROUP BY {raw_col}"));
            }
            sql
        };
        let mut queries = Vec::new();
        if use_rollup {
            let (edge, start) = Store::split(f);
            if let Some((lo, hi)) = edge {
                queries.push(raw(Some(lo), Some(hi)));
            }
            let mut sql = Sql::new(d);
            let be = bucket_expr("bucket");
            let col = if f.no_dims() {
                sql.push(&format!(
                    "SELECT {be}, key, CAST(SUM(n) AS BIGINT) FROM rollup_dim WHERE dim = '{col}'"
                ));
                if let Some(lo) = start {
                    sql.push(" AND bucket >= ").param(Param::Int(lo));
                }
                "key"
            } else {
                let table = if tags { "rollup_tags" } else { "rollup" };
                sql.push(&format!(
                    "SELECT {be}, {col}, CAST(SUM(n) AS BIGINT) FROM {table}"
                ));
                rollup_where(&mut sql, f, start, tags);
                col
            };
            if bucket_ns.is_some() {
                sql.push(&format!(" GROUP BY {be}, {col}"));
            } else {
                sql.push(&format!(" GROUP BY {col}"));
            }
            queries.push(sql);
        } else {
            queries.push(raw(f.since_ns, None));
        }
        let mut out = Vec::new();
        for q in &queries {
            for row in self.rows(q)? {
                let mut it = row.into_iter();
                let b = it.next().map_or(0, |c| c.int());
                let key = it.next().unwrap_or(Cell::Null);
                let n = it.next().map_or(0, |c| c.int());
                let key = if by == GroupBy::Priority {
                    Priority::from_u8(u8::try_from(key.int()).unwrap_or(0))
                        .name()
                        .to_owned()
                } else {
                    key.into_text()
                };
                out.push((b, key, u64::try_from(n).unwrap_or(0)));
            }
        }
        Ok(out)
    }

    /// The FTS5 query of `f`'s free text, if it has words.
    fn fts_query(&self, f: &Filter) -> Option<String> {
        let ws = words(&f.text);
        (!ws.is_empty()).then(|| fts_match(&ws))
    }

    /// The JSON of matching events, newest first (Falcosidekick-UI's `/events/search`).
    pub fn search(&self, f: &Filter, limit: u32, offset: u64) -> Result<Vec<String>, Error> {
        if self.backend.dialect() == Dialect::Sqlite {
            if let Some(q) = self.fts_query(f) {
                return self.search_text_sqlite(f, &q, limit, offset);
            }
        }
        let mut sql = Sql::new(self.backend.dialect());
        sql.push("SELECT e.json FROM events e");
        raw_where(&mut sql, f, f.since_ns, None);
        sql.push(" ORDER BY e.ts DESC, e.id DESC LIMIT ")
            .param(Param::Int(i64::from(limit)))
            .push(" OFFSET ")
            .param(Param::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
        Ok(self
            .rows(&sql)?
            .into_iter()
            .filter_map(|r| r.into_iter().next().map(Cell::into_text))
            .collect())
    }

    /// [`Store::search`] with free text on SQLite, without reading every match.
    ///
    /// 1. The `n = offset + limit` matches with the largest ids (the full-text index walks
    ///    its matches by descending id and stops there). Fewer than `n`: that is all of them.
    /// 2. Ids follow arrival, not event time, so an older id may still carry a later time:
    ///    any match that belongs to the page but was not among those `n` has an id below
    ///    their smallest id and a time at or after their earliest time `t` (otherwise the
    ///    `n` candidates, all at or after `t`, would rank before it). Those are fetched too,
    ///    driven by the time index when few events are newer than `t` (a frequent word),
    ///    else by the full-text index over ids from the hour of `t` on (a rare word).
    /// 3. Sorting the union by time and id gives the exact page.
    fn search_text_sqlite(
        &self,
        f: &Filter,
        q: &str,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<String>, Error> {
        let d = Dialect::Sqlite;
        let want = offset.saturating_add(u64::from(limit));
        let pair = |r: Vec<Cell>| {
            let mut it = r.into_iter();
            let id = it.next().map_or(0, |c| c.int());
            let ts = it.next().map_or(0, |c| c.int());
            (ts, id)
        };
        let mut sql = Sql::new(d);
        fts_scan(&mut sql, "e.id, e.ts", q, f, f.since_ns);
        sql.push(" ORDER BY events_fts.rowid DESC LIMIT ")
            .param(Param::Int(i64::try_from(want).unwrap_or(i64::MAX)));
        let mut found: Vec<(i64, i64)> = self.rows(&sql)?.into_iter().map(pair).collect();
        if found.len() as u64 == want && want > 0 {
            let min_id = found.iter().map(|p| p.1).min().unwrap_or(0);
            let t = found.iter().map(|p| p.0).min().unwrap_or(0);
            let lo = f.since_ns.map_or(t, |s| s.max(t));
            let max_id = self
                .rows(&Sql {
                    text: "SELECT MAX(id) FROM events".into(),
                    params: Vec::new(),
                    dialect: d,
                })?
                .first()
                .and_then(|r| r.first())
                .map_or(0, Cell::int);
            let mut sql = Sql::new(d);
            if max_id - min_id <= TIME_SCAN_MAX {
                sql.push("SELECT e.id, e.ts FROM events e INDEXED BY events_ts WHERE e.id < ")
                    .param(Param::Int(min_id))
                    .push(" AND e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ")
                    .param(Param::Text(q.to_owned()))
                    .push(" AND rowid < ")
                    .param(Param::Int(min_id))
                    .push(" AND rowid >= ");
                first_id_since(&mut sql, lo);
                sql.push(")");
                plain_conds(&mut sql, f, Some(lo), None);
            } else {
                fts_scan(&mut sql, "e.id, e.ts", q, f, Some(lo));
                sql.push(" AND events_fts.rowid < ")
                    .param(Param::Int(min_id));
            }
            found.extend(self.rows(&sql)?.into_iter().map(pair));
        }
        found.sort_unstable_by(|a, b| b.cmp(a));
        let from = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(found.len());
        let page = &found[from..(from + limit as usize).min(found.len())];
        if page.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(d);
        sql.push("SELECT e.id, e.json FROM events e WHERE 1=1");
        sql.in_list("e.id", page.iter().map(|p| Param::Int(p.1)));
        let mut by_id: std::collections::HashMap<i64, String> = self
            .rows(&sql)?
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                let id = it.next().map_or(0, |c| c.int());
                (id, it.next().map_or_else(String::new, Cell::into_text))
            })
            .collect();
        Ok(page.iter().filter_map(|p| by_id.remove(&p.1)).collect())
    }

    /// One page of an export, newest first, strictly after the row `after` (keyset paging).
    pub fn export_page(
        &self,
        f: &Filter,
        after: Option<(i64, i64)>,
        n: u32,
    ) -> Result<Vec<ExportRow>, Error> {
        let mut sql = Sql::new(self.backend.dialect());
        sql.push("SELECT e.ts, e.id, e.json FROM events e");
        raw_where(&mut sql, f, f.since_ns, None);
        if let Some((ts, id)) = after {
            sql.push(" AND (e.ts < ")
                .param(Param::Int(ts))
                .push(" OR (e.ts = ")
                .param(Param::Int(ts));
            sql.push(" AND e.id < ").param(Param::Int(id)).push("))");
        }
        sql.push(" ORDER BY e.ts DESC, e.id DESC LIMIT ")
            .param(Param::Int(i64::from(n)));
        Ok(self
            .rows(&sql)?
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                let ts = it.next().map_or(0, |c| c.int());
                let id = it.next().map_or(0, |c| c.int());
                let json = it.next().map_or_else(String::new, Cell::into_text);
                ExportRow { ts, id, json }
            })
            .collect())
    }

    /// The JSON of the event with this UUID.
    pub fn get(&self, uuid: &str) -> Result<Option<String>, Error> {
        let mut sql = Sql::new(self.backend.dialect());
        sql.push("SELECT json FROM events WHERE uuid = ")
            .param(Param::Text(uuid.to_owned()));
        Ok(self
            .rows(&sql)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .map(Cell::into_text))
    }

    /// Applies retention: drops events older than `max_age_ns` (whole hours: up to one hour
    /// more is kept) and, while the store is larger than `max_bytes`, its oldest hour (never
    /// the newest one). Returns the number of events deleted.
    pub fn apply_retention(
        &self,
        now_ns: i64,
        max_age_ns: Option<i64>,
        max_bytes: Option<u64>,
    ) -> Result<u64, Error> {
        let mut deleted = 0;
        if let Some(age) = max_age_ns {
            let cutoff = (now_ns - age).div_euclid(HOUR_NS) * HOUR_NS;
            deleted += self.backend.delete_before(cutoff)?;
        }
        if let Some(max) = max_bytes {
            let passes = if self.backend.size_updates_immediately() {
                100_000
            } else {
                1
            };
            for _ in 0..passes {
                if self.backend.size_bytes()? <= max {
                    break;
                }
                let sql = Sql {
                    text: "SELECT MIN(bucket), MAX(bucket) FROM rollup".into(),
                    params: Vec::new(),
                    dialect: self.backend.dialect(),
                };
                let row = self.rows(&sql)?.into_iter().next().unwrap_or_default();
                let (Some(Cell::Int(lo)), Some(Cell::Int(hi))) = (row.first(), row.get(1)) else {
                    break;
                };
                if lo >= hi {
                    break;
                }
                deleted += self.backend.delete_before(lo + HOUR_NS)?;
            }
        }
        Ok(deleted)
    }

    /// Bytes the store uses.
    pub fn size_bytes(&self) -> Result<u64, Error> {
        self.backend.size_bytes()
    }
}

/// The text keys of priority levels 0..=8 in `rollup_dim` (no allocation per event).
const PRIORITY_KEYS: [&str; 9] = ["0", "1", "2", "3", "4", "5", "6", "7", "8"];

/// Roll-up key of the plain roll-up: bucket, priority, rule, source, hostname.
type PlainKey<'a> = (i64, i64, &'a str, &'a str, &'a str);
/// Roll-up key of the tag roll-up: bucket, tag, priority, rule, source, hostname.
type TagKey<'a> = (i64, &'a str, i64, &'a str, &'a str, &'a str);

/// Hourly roll-up deltas of a batch, sorted (a fixed lock order for concurrent writers).
/// Keys borrow the batch's strings.
pub(crate) struct Rollups<'a> {
    pub(crate) plain: BTreeMap<PlainKey<'a>, i64>,
    pub(crate) tags: BTreeMap<TagKey<'a>, i64>,
    /// One dimension at a time: `(dim, bucket, key)`, dim being a [`GroupBy`] column.
    pub(crate) dims: BTreeMap<(&'static str, i64, &'a str), i64>,
}

impl<'a> Rollups<'a> {
    pub(crate) fn of(batch: &'a [Record]) -> Rollups<'a> {
        let mut plain = BTreeMap::new();
        let mut tags = BTreeMap::new();
        let mut dims = BTreeMap::new();
        for r in batch {
            let e = &r.event;
            let b = e.time_ns.div_euclid(HOUR_NS) * HOUR_NS;
            let pn = e.priority.as_u8();
            let p = i64::from(pn);
            let pkey = PRIORITY_KEYS.get(usize::from(pn)).copied().unwrap_or("0");
            for (dim, key) in [
                ("priority", pkey),
                ("rule", e.rule.as_str()),
                ("source", e.source.as_str()),
                ("hostname", e.hostname.as_str()),
            ] {
                *dims.entry((dim, b, key)).or_insert(0) += 1;
            }
            let (rule, src, host) = (e.rule.as_str(), e.source.as_str(), e.hostname.as_str());
            *plain.entry((b, p, rule, src, host)).or_insert(0) += 1;
            for (i, t) in e.tags.iter().enumerate() {
                if e.tags[..i].contains(t) {
                    continue;
                }
                *dims.entry(("tag", b, t.as_str())).or_insert(0) += 1;
                *tags.entry((b, t.as_str(), p, rule, src, host)).or_insert(0) += 1;
            }
        }
        Rollups { plain, tags, dims }
    }
}
