//! The aggregation engine behind every view, with csysdig's semantics.
//!
//! Each event that passes the view's filter is turned into one value per
//! column (key first). Values missing from the event drop it, unless the view
//! uses defaults, where a missing number counts as zero with a count of 0.
//! Rows are found by key and combined column by column with the column's
//! aggregation. At the end of an interval, a table with a group-by key merges
//! its rows per group-by key with the columns' group-by aggregations, and
//! hands out a [`Sample`]. Lists append one row per event instead.
//!
//! Quirks kept from csysdig: a summed column whose source rows are averages
//! (count > 1) adds the averages; a merged row keeps the count of the first
//! row it came from; integer rates in JSON are the raw sums.

use crate::views::{Aggregation, ColumnDef, ViewDef, ViewType};
use crate::Error;
use osprey_event::ParamType;
use osprey_filter::fields::catalog::SyscallCatalog;
use osprey_filter::fields::listing::param_type_name;
use osprey_filter::fields::syscall::EventCtx;
use osprey_filter::format::write_value_text;
use osprey_filter::{Extract, FieldArg, FieldCatalog, FieldRef, Filter, Scratch, Value, Values};
use std::collections::HashMap;
use std::sync::Arc;

/// `PPME_PROCINFO_E`.
const PROCINFO_E: u16 = 234;

/// Rows a list view keeps (the oldest go first).
pub const LIST_MAX_ROWS: usize = 10_000;

/// How a column's values are stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A signed integer.
    Int,
    /// An unsigned integer.
    Uint,
    /// A floating-point number (shown with two decimals).
    Double,
    /// A time span in ns (shown as `1.50ms`).
    RelTime,
    /// Text.
    Text,
}

/// How an integer column prints: as an id (plainly) or as a quantity
/// (`1.50K`, `3M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An identifier: printed as is.
    Id,
    /// A quantity: printed with K/M/G/T/P suffixes.
    Dec,
    /// Not a number.
    Na,
}

impl Format {
    /// csysdig's name of the format (`ID`, `DEC`, `NA`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Id => "ID",
            Format::Dec => "DEC",
            Format::Na => "NA",
        }
    }
}

/// One stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Signed.
    Int(i64),
    /// Unsigned.
    Uint(u64),
    /// Floating point.
    Double(f64),
    /// Text (also addresses and other non-numeric values, as shown).
    Text(Vec<u8>),
}

/// A value with the number of samples behind it (0: a default).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The value (a sum for averaged columns).
    pub val: Val,
    /// Samples summed into `val`.
    pub cnt: u32,
}

/// A column as the engine uses it.
#[derive(Debug, Clone)]
pub struct Column {
    /// Title.
    pub name: String,
    /// The field.
    pub field: String,
    /// Width (0: the rest of the line).
    pub size: u16,
    /// Storage kind.
    pub kind: Kind,
    /// Print format.
    pub format: Format,
    /// The field's type, as csysdig names it (`UINT64`).
    pub type_name: &'static str,
    /// Per-key aggregation.
    pub aggr: Aggregation,
    /// Per-group-by-key aggregation.
    pub gaggr: Aggregation,
    /// Whether the column is a per-second rate.
    pub time_avg: bool,
    /// Whether it is a key column.
    pub is_key: bool,
    /// Whether it is the group-by key.
    pub is_gkey: bool,
    /// Whether it is the default sort column.
    pub is_sorting: bool,
}

/// Fields csysdig prints as identifiers.
const ID_FIELDS: &[&str] = &[
    "proc.pid",
    "proc.ppid",
    "proc.vpid",
    "proc.apid",
    "proc.sid",
    "proc.vpgid",
    "thread.tid",
    "thread.vtid",
    "thread.ptid",
    "user.uid",
    "group.gid",
    "fd.num",
    "evt.num",
    "evt.cpu",
];

impl Column {
    fn new(def: &ColumnDef, fref: &FieldRef) -> Column {
        let kind = kind_of(fref.ty);
        let base = def.field.split('[').next().unwrap_or_default();
        let format = match kind {
            Kind::Int | Kind::Uint => {
                if ID_FIELDS.contains(&base)
                    || matches!(
                        fref.ty,
                        ParamType::Pid
                            | ParamType::Pid32
                            | ParamType::Fd
                            | ParamType::Fd32
                            | ParamType::Port
                            | ParamType::Uid
                            | ParamType::Gid
                            | ParamType::Errno
                    )
                {
                    Format::Id
                } else {
                    Format::Dec
                }
            }
            Kind::RelTime => Format::Dec,
            Kind::Double | Kind::Text => Format::Na,
        };
        Column {
            name: def.name.clone(),
            field: def.field.clone(),
            size: def.colsize.unwrap_or(0),
            kind,
            format,
            type_name: param_type_name(fref.ty),
            aggr: def.aggregation,
            gaggr: def.groupby_aggregation,
            time_avg: def.aggregation == Aggregation::TimeAvg
                || def.groupby_aggregation == Aggregation::TimeAvg,
            is_key: def.is_key,
            is_gkey: def.is_groupby_key,
            is_sorting: def.is_sorting,
        }
    }
}

/// The storage kind of a field type.
fn kind_of(ty: ParamType) -> Kind {
    use ParamType as T;
    match ty {
        T::Int8
        | T::Int16
        | T::Int32
        | T::Int64
        | T::Errno
        | T::Fd
        | T::Pid
        | T::Fd32
        | T::Pid32 => Kind::Int,
        T::Uint8
        | T::Uint16
        | T::Uint32
        | T::Uint64
        | T::Bool
        | T::Port
        | T::Uid
        | T::Gid
        | T::AbsTime
        | T::SigType
        | T::SyscallId => Kind::Uint,
        T::Double => Kind::Double,
        T::RelTime => Kind::RelTime,
        _ => Kind::Text,
    }
}

/// Columns whose values the table computes itself, where the field crate
/// differs from sysdig 0.29.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    /// An ordinary field.
    None,
    /// `evt.type.is.N`: 1 on events of type number N, else 0.
    TypeIs(u16),
    /// `evt.count.procinfo`, `evt.count.threadinfo`: 1 on `procinfo` events,
    /// and no value on others (so an average counts `procinfo` events only).
    ProcinfoCount,
}

impl Special {
    fn of(field: &str) -> Special {
        if let Some(n) = field
            .strip_prefix("evt.type.is.")
            .and_then(|n| n.parse::<u16>().ok())
        {
            return Special::TypeIs(n);
        }
        if matches!(field, "evt.count.procinfo" | "evt.count.threadinfo") {
            return Special::ProcinfoCount;
        }
        Special::None
    }
}

/// Resolves a view's field name.
pub fn resolve_field(name: &str) -> Result<FieldRef, Error> {
    let bad = || Error::View(format!("unknown field {name}"));
    // `evt.arg[3]`: the catalogue takes the bracket argument split off.
    if let Some((base, rest)) = name.split_once('[') {
        let arg = rest.trim_end_matches(']');
        let arg = match arg.parse::<i64>() {
            Ok(i) => FieldArg::Index(i),
            Err(_) => FieldArg::Name(arg.into()),
        };
        return SyscallCatalog.resolve(base, arg).map_err(|_| bad());
    }
    SyscallCatalog
        .resolve(name, FieldArg::None)
        .map_err(|_| bad())
}

/// One row of a sample: its key as text and its shown cells.
#[derive(Debug, Clone)]
pub struct Row {
    /// The key, as csysdig prints it (`k` in JSON).
    pub key: String,
    /// One cell per shown column.
    pub cells: Vec<Field>,
}

/// What one interval produced: the shown columns and the rows.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The shown columns (the keys are not shown).
    pub columns: Arc<Vec<Column>>,
    /// The rows, unsorted (tables) or in arrival order (lists).
    pub rows: Vec<Row>,
    /// The interval the rates are per (ns).
    pub delta_ns: u64,
    /// Event time at the end of the interval (ns).
    pub ts: u64,
    /// The field a drill-down filters on (empty: none).
    pub key_field: String,
    /// Whether the sample is a list.
    pub is_list: bool,
}

/// A view's running table.
#[derive(Debug)]
pub struct Table {
    kind: ViewType,
    filter: Option<Filter>,
    scratch: Scratch,
    refs: Vec<FieldRef>,
    special: Vec<Special>,
    pre: Vec<Column>,
    /// Premerge column indices of the merged table, group-by key first.
    merge: Option<Vec<usize>>,
    shown: Arc<Vec<Column>>,
    use_defaults: bool,
    key_field: String,
    index: HashMap<Box<[u8]>, usize>,
    rows: Vec<Vec<Field>>,
    list: std::collections::VecDeque<Row>,
    list_count: u64,
    cur: Vec<Field>,
    vals: Values,
    key: Vec<u8>,
}

impl Table {
    /// Builds the table of `view` in the given mode (`-pc`: `containers`),
    /// filtering events with `filter` (the complete filter: command line,
    /// drill-downs and the view's own).
    ///
    /// # Errors
    /// A field or the filter that does not compile.
    pub fn new(view: &ViewDef, containers: bool, filter: &str) -> Result<Table, Error> {
        let filter = if filter.trim().is_empty() {
            None
        } else {
            Some(
                Filter::compile(filter, &SyscallCatalog)
                    .map_err(|e| Error::Filter(e.display_with_caret(filter)))?,
            )
        };
        let scratch = filter.as_ref().map(Filter::new_scratch).unwrap_or_default();
        let is_list = view.view_type == ViewType::List;
        let mut defs: Vec<&ColumnDef> = view.columns_for(containers).collect();
        // The key goes first.
        if let Some(k) = defs.iter().position(|c| c.is_key) {
            let key = defs.remove(k);
            defs.insert(0, key);
        }
        let mut refs = Vec::with_capacity(defs.len() + 1);
        let mut special = Vec::with_capacity(defs.len() + 1);
        let mut pre = Vec::with_capacity(defs.len() + 1);
        if is_list {
            // Lists are keyed by an event counter.
            let fref = FieldRef {
                id: u32::MAX,
                arg: FieldArg::None,
                ty: ParamType::Uint64,
                name: "util.cnt".into(),
            };
            let def = ColumnDef {
                name: "NA".into(),
                field: "util.cnt".into(),
                colsize: None,
                is_key: true,
                is_groupby_key: false,
                is_sorting: false,
                aggregation: Aggregation::None,
                groupby_aggregation: Aggregation::None,
                tags: Vec::new(),
                filterfield: None,
                filter_in_child_only: false,
            };
            pre.push(Column::new(&def, &fref));
            refs.push(fref);
            special.push(Special::None);
        }
        for d in &defs {
            let sp = Special::of(&d.field);
            let fref = match sp {
                Special::TypeIs(_) => FieldRef {
                    id: u32::MAX,
                    arg: FieldArg::None,
                    ty: ParamType::Uint32,
                    name: d.field.clone().into(),
                },
                _ => resolve_field(&d.field)?,
            };
            pre.push(Column::new(d, &fref));
            refs.push(fref);
            special.push(sp);
        }
        if pre.len() < 2 || !pre.first().is_some_and(|c| c.is_key) {
            return Err(Error::View(format!(
                "view {} has no key or no values",
                view.id
            )));
        }
        let gkey = pre.iter().position(|c| c.is_gkey);
        let merge = gkey.map(|g| {
            let mut m = vec![g];
            m.extend((1..pre.len()).filter(|&i| i != g));
            m
        });
        let shown: Vec<Column> = match &merge {
            Some(m) => m.iter().skip(1).map(|&i| pre[i].clone()).collect(),
            None => pre.iter().skip(1).cloned().collect(),
        };
        let cur = pre
            .iter()
            .map(|_| Field {
                val: Val::Uint(0),
                cnt: 0,
            })
            .collect();
        Ok(Table {
            kind: view.view_type,
            filter,
            scratch,
            refs,
            special,
            pre,
            merge,
            shown: Arc::new(shown),
            use_defaults: view.use_defaults,
            key_field: if is_list {
                String::new()
            } else {
                view.drill_field(containers).unwrap_or_default()
            },
            index: HashMap::new(),
            rows: Vec::new(),
            list: std::collections::VecDeque::new(),
            list_count: 0,
            cur,
            vals: Values::new(),
            key: Vec::with_capacity(128),
        })
    }

    /// The shown columns.
    pub fn columns(&self) -> &Arc<Vec<Column>> {
        &self.shown
    }

    /// Whether the view is a list.
    pub fn is_list(&self) -> bool {
        self.kind == ViewType::List
    }

    /// Takes one event (already parsed into the state `ctx` reads).
    pub fn process(&mut self, ctx: &EventCtx<'_>) {
        if let Some(f) = &self.filter {
            if !f.matches_with(ctx, &mut self.scratch) {
                return;
            }
        }
        let is_list = self.is_list();
        for j in 0..self.refs.len() {
            if is_list && j == 0 {
                self.list_count += 1;
                self.cur[0] = Field {
                    val: Val::Uint(self.list_count),
                    cnt: 1,
                };
                continue;
            }
            self.vals.clear();
            let col = &self.pre[j];
            let got = match self.special[j] {
                Special::None => ctx.extract(&self.refs[j], &mut self.vals),
                Special::TypeIs(n) => {
                    self.vals.push(Value::Uint(u64::from(ctx.ev.etype() == n)));
                    true
                }
                Special::ProcinfoCount => {
                    let on = ctx.ev.etype() == PROCINFO_E;
                    if on {
                        self.vals.push(Value::Uint(1));
                    }
                    on
                }
            };
            let cur = &mut self.cur[j];
            match self.vals.items().first().copied().filter(|_| got) {
                Some(v) => {
                    store(cur, col.kind, &self.vals, v);
                    cur.cnt = 1;
                }
                None => {
                    if !self.use_defaults {
                        return;
                    }
                    match default_of(col) {
                        Some(d) => {
                            if let (Val::Text(b), Val::Text(_)) = (&mut cur.val, &d) {
                                b.clear();
                            } else {
                                cur.val = d;
                            }
                            cur.cnt = 0;
                        }
                        None => return,
                    }
                }
            }
        }
        if is_list {
            let row = Row {
                key: self.list_count.to_string(),
                cells: self.cur[1..].to_vec(),
            };
            if self.list.len() >= LIST_MAX_ROWS {
                self.list.pop_front();
            }
            self.list.push_back(row);
            return;
        }
        self.key.clear();
        key_text(&self.cur[0].val, &mut self.key);
        if let Some(&i) = self.index.get(&self.key[..]) {
            let row = &mut self.rows[i];
            for ((dst, src), col) in row.iter_mut().zip(&self.cur).zip(&self.pre).skip(1) {
                aggregate(dst, src, col.aggr);
            }
        } else {
            self.index
                .insert(self.key.as_slice().into(), self.rows.len());
            self.rows.push(self.cur.clone());
        }
    }

    /// Ends the interval: merges (if the view groups), hands out the
    /// sample and starts the next interval empty (lists keep their rows).
    pub fn flush(&mut self, ts: u64, delta_ns: u64) -> Sample {
        let rows = if self.is_list() {
            self.list.iter().cloned().collect()
        } else if let Some(m) = &self.merge {
            let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
            let mut merged: Vec<Vec<Field>> = Vec::new();
            let mut key = Vec::new();
            for row in &self.rows {
                key.clear();
                key_text(&row[m[0]].val, &mut key);
                if let Some(&i) = index.get(&key) {
                    let dst = &mut merged[i];
                    for (k, &src) in m.iter().enumerate().skip(1) {
                        aggregate(&mut dst[k], &row[src], self.pre[src].gaggr);
                    }
                } else {
                    index.insert(key.clone(), merged.len());
                    merged.push(m.iter().map(|&i| row[i].clone()).collect());
                }
            }
            merged.into_iter().map(to_row).collect()
        } else {
            self.rows.drain(..).map(to_row).collect()
        };
        self.rows.clear();
        self.index.clear();
        Sample {
            columns: Arc::clone(&self.shown),
            rows,
            delta_ns,
            ts,
            key_field: self.key_field.clone(),
            is_list: self.is_list(),
        }
    }

    /// Forgets the rows of a list (`c`, DEL).
    pub fn clear(&mut self) {
        self.list.clear();
    }
}

/// Splits a combined row into its key text and shown cells.
fn to_row(mut fields: Vec<Field>) -> Row {
    let mut key = Vec::new();
    key_text(&fields[0].val, &mut key);
    fields.remove(0);
    Row {
        key: String::from_utf8_lossy(&key).into_owned(),
        cells: fields,
    }
}

/// The text of a key value.
fn key_text(v: &Val, out: &mut Vec<u8>) {
    match v {
        Val::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Val::Uint(u) => out.extend_from_slice(itoa::Buffer::new().format(*u).as_bytes()),
        Val::Double(d) => out.extend_from_slice(d.to_string().as_bytes()),
        Val::Text(t) => out.extend_from_slice(t),
    }
}

/// Stores an extracted value in a column's kind.
fn store(dst: &mut Field, kind: Kind, vals: &Values, v: Value) {
    #[allow(
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let n = match (kind, v) {
        (Kind::Int, Value::Int(i)) => Val::Int(i),
        (Kind::Int, Value::Uint(u)) => Val::Int(u as i64),
        (Kind::Uint | Kind::RelTime, Value::Uint(u)) => Val::Uint(u),
        (Kind::Uint | Kind::RelTime, Value::Int(i)) => Val::Uint(i as u64),
        (Kind::Int | Kind::Uint | Kind::RelTime, Value::Bool(b)) => Val::Uint(u64::from(b)),
        (Kind::Double, Value::Double(d)) => Val::Double(d),
        (Kind::Double, Value::Int(i)) => Val::Double(i as f64),
        (Kind::Double, Value::Uint(u)) => Val::Double(u as f64),
        _ => {
            // Text (and any value of another shape): as text output shows it.
            if let Val::Text(b) = &mut dst.val {
                b.clear();
                write_value_text(vals, &v, b);
                return;
            }
            let mut b = Vec::new();
            write_value_text(vals, &v, &mut b);
            Val::Text(b)
        }
    };
    dst.val = n;
}

/// csysdig's default of a missing value: zero for quantities, doubles and
/// text; none (the event is dropped) for identifiers, ports and addresses.
fn default_of(col: &Column) -> Option<Val> {
    match col.kind {
        Kind::Int | Kind::Uint | Kind::RelTime => {
            (col.format == Format::Dec).then_some(if col.kind == Kind::Int {
                Val::Int(0)
            } else {
                Val::Uint(0)
            })
        }
        Kind::Double => Some(Val::Double(0.0)),
        Kind::Text => {
            if matches!(col.type_name, "CHARBUF") {
                Some(Val::Text(Vec::new()))
            } else {
                None
            }
        }
    }
}

/// Adds `src` to `dst`.
fn add(dst: &mut Val, src: &Val) {
    match (dst, src) {
        (Val::Int(a), Val::Int(b)) => *a = a.wrapping_add(*b),
        (Val::Uint(a), Val::Uint(b)) => *a = a.wrapping_add(*b),
        (Val::Double(a), Val::Double(b)) => *a += *b,
        _ => {}
    }
}

/// Divides by a count (integers: integer division).
fn div(v: &Val, cnt: u32) -> Val {
    match v {
        Val::Int(a) => Val::Int(a / i64::from(cnt.max(1))),
        Val::Uint(a) => Val::Uint(a / u64::from(cnt.max(1))),
        Val::Double(a) => Val::Double(a / f64::from(cnt.max(1))),
        Val::Text(t) => Val::Text(t.clone()),
    }
}

/// Orders two values of one kind.
fn cmp_val(a: &Val, b: &Val) -> std::cmp::Ordering {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => x.cmp(y),
        (Val::Uint(x), Val::Uint(y)) => x.cmp(y),
        (Val::Double(x), Val::Double(y)) => x.total_cmp(y),
        (Val::Text(x), Val::Text(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    }
}

/// Combines `src` into `dst` with aggregation `aggr`.
fn aggregate(dst: &mut Field, src: &Field, aggr: Aggregation) {
    match aggr {
        Aggregation::None => {}
        Aggregation::Sum | Aggregation::TimeAvg => {
            if src.cnt < 2 {
                add(&mut dst.val, &src.val);
            } else {
                // A sum of averages: each side is first made an average.
                if dst.cnt > 1 {
                    dst.val = div(&dst.val, dst.cnt);
                }
                let s = div(&src.val, src.cnt);
                add(&mut dst.val, &s);
                dst.cnt = 1;
            }
        }
        Aggregation::Avg => {
            dst.cnt += src.cnt;
            add(&mut dst.val, &src.val);
        }
        Aggregation::Max => {
            if let (Val::Text(d), Val::Text(s)) = (&mut dst.val, &src.val) {
                d.clear();
                d.extend_from_slice(s);
            } else if cmp_val(&dst.val, &src.val).is_lt() {
                dst.val = src.val.clone();
            }
        }
        Aggregation::Min => {
            if src.cnt != 0 {
                if dst.cnt == 0 {
                    add(&mut dst.val, &src.val);
                    dst.cnt += 1;
                } else if cmp_val(&dst.val, &src.val).is_gt() {
                    dst.val = src.val.clone();
                }
            }
        }
    }
}

/// The value a sort compares: the average when either side is one.
fn sort_val(f: &Field, avg: bool) -> Val {
    if avg && f.cnt > 1 {
        match &f.val {
            #[allow(clippy::cast_precision_loss)]
            Val::Int(i) => Val::Double(*i as f64 / f64::from(f.cnt)),
            #[allow(clippy::cast_precision_loss)]
            Val::Uint(u) => Val::Double(*u as f64 / f64::from(f.cnt)),
            Val::Double(d) => Val::Double(d / f64::from(f.cnt)),
            Val::Text(t) => Val::Text(t.clone()),
        }
    } else {
        match &f.val {
            #[allow(clippy::cast_precision_loss)]
            Val::Int(i) if avg => Val::Double(*i as f64),
            #[allow(clippy::cast_precision_loss)]
            Val::Uint(u) if avg => Val::Double(*u as f64),
            v => v.clone(),
        }
    }
}

impl Sample {
    /// The default sort column: the view's sorting column, else the first.
    pub fn default_sort(&self) -> Option<usize> {
        if self.is_list {
            return None;
        }
        Some(self.columns.iter().position(|c| c.is_sorting).unwrap_or(0))
    }

    /// Whether a column sorts ascending by default (text) or descending
    /// (numbers).
    pub fn default_ascending(&self, col: usize) -> bool {
        self.columns.get(col).is_some_and(|c| c.kind == Kind::Text)
    }

    /// Sorts the rows by column `col`; ties keep key order.
    pub fn sort(&mut self, col: usize, ascending: bool) {
        if col >= self.columns.len() {
            return;
        }
        self.rows.sort_by(|a, b| {
            let (fa, fb) = (&a.cells[col], &b.cells[col]);
            let avg = fa.cnt > 1 || fb.cnt > 1;
            let o = cmp_val(&sort_val(fa, avg), &sort_val(fb, avg));
            let o = if ascending { o } else { o.reverse() };
            o.then_with(|| a.key.cmp(&b.key))
        });
    }

    /// The count a cell is divided by when shown: the interval in seconds for
    /// rates, else the number of samples.
    fn shown_cnt(&self, col: &Column, f: &Field) -> f64 {
        if col.time_avg && self.delta_ns != 0 {
            #[allow(clippy::cast_precision_loss)]
            let secs = self.delta_ns as f64 / 1e9;
            secs
        } else {
            f64::from(f.cnt)
        }
    }

    /// A cell as the terminal shows it, at most `width` characters (csysdig's
    /// `tostring_nice`).
    pub fn cell_text(&self, col: usize, f: &Field) -> String {
        let Some(c) = self.columns.get(col) else {
            return String::new();
        };
        let width = usize::from(c.size.max(1)).saturating_sub(1).max(1);
        let cnt = self.shown_cnt(c, f);
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        match (&f.val, c.kind) {
            (Val::Int(_) | Val::Uint(_), Kind::Int | Kind::Uint) => {
                let v = match f.val {
                    Val::Int(i) => i as f64,
                    Val::Uint(u) => u as f64,
                    _ => 0.0,
                };
                if c.format == Format::Id || cnt == 1.0 || cnt == 0.0 {
                    let mut i = match f.val {
                        Val::Int(i) => i,
                        Val::Uint(u) => u as i64,
                        _ => 0,
                    };
                    if cnt > 1.0 {
                        i /= cnt as i64;
                    }
                    if c.format == Format::Id {
                        i.to_string()
                    } else {
                        format_bytes(i as f64, width, true)
                    }
                } else {
                    let v = if cnt > 1.0 { v / cnt } else { v };
                    if c.format == Format::Id {
                        format!("{v:.6}")
                    } else {
                        format_bytes(v, width, false)
                    }
                }
            }
            (Val::Uint(u), Kind::RelTime) => {
                let mut v = *u as f64;
                if cnt > 1.0 {
                    v /= cnt;
                }
                format_time(v as u64)
            }
            (Val::Double(d), _) => {
                let d = if cnt > 1.0 { d / cnt } else { *d };
                format!("{d:.2}")
            }
            (Val::Text(t), _) => String::from_utf8_lossy(t).into_owned(),
            (v, _) => {
                let mut b = Vec::new();
                key_text(v, &mut b);
                String::from_utf8_lossy(&b).into_owned()
            }
        }
    }

    /// A cell as csysdig's JSON shows it: integers raw, doubles averaged,
    /// times as padded text.
    pub fn cell_json(&self, col: usize, f: &Field) -> serde_json::Value {
        let Some(c) = self.columns.get(col) else {
            return serde_json::Value::Null;
        };
        let cnt = self.shown_cnt(c, f);
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        match (&f.val, c.kind) {
            (Val::Uint(u), Kind::RelTime) => {
                let mut v = *u as f64;
                if cnt > 1.0 {
                    v /= cnt;
                }
                serde_json::Value::String(format!("{:>10}", format_time(v as u64)))
            }
            (Val::Double(d), _) => {
                let d = if cnt > 1.0 { d / cnt } else { *d };
                serde_json::json!(d)
            }
            (Val::Int(i), _) => serde_json::json!(i),
            (Val::Uint(u), _) => serde_json::json!(u),
            (Val::Text(t), _) => serde_json::Value::String(String::from_utf8_lossy(t).into_owned()),
        }
    }
}

/// csysdig's `format_bytes`: `1.50K`, `3M`; a plain number under 1024.
pub fn format_bytes(val: f64, _width: usize, is_int: bool) -> String {
    const K: f64 = 1024.0;
    let units = [
        (K * K * K * K * K, 'P'),
        (K * K * K * K, 'T'),
        (K * K * K, 'G'),
        (K * K, 'M'),
        (K, 'K'),
    ];
    for (div, suffix) in units {
        if val > div {
            let v = val / div;
            return if is_int {
                format!("{v:.0}{suffix}")
            } else {
                format!("{v:.2}{suffix}")
            };
        }
    }
    if is_int {
        format!("{val:.0}")
    } else {
        format!("{val:.2}")
    }
}

/// csysdig's `format_time` of a span in ns: `1:02:03`, `2:05`, `1.50s`,
/// `15ms`, `1.20ms`, `40us`, `1.50us`, `800ns`.
pub fn format_time(v: u64) -> String {
    const S: u64 = 1_000_000_000;
    if v >= 3600 * S {
        format!(
            "{:02}:{:02}:{:02}",
            v / (3600 * S),
            (v / (60 * S)) % 60,
            (v / S) % 60
        )
    } else if v >= 60 * S {
        format!("{}:{}", v / (60 * S), (v / S) % 60)
    } else if v >= S {
        format!("{}.{:02}s", v / S, (v % S) / 10_000_000)
    } else if v >= S / 100 {
        format!("{}ms", v / 1_000_000)
    } else if v >= S / 1000 {
        format!("{}.{:02}ms", v / 1_000_000, (v % 1_000_000) / 10_000)
    } else if v >= S / 100_000 {
        format!("{}us", v / 1000)
    } else if v >= S / 1_000_000 {
        format!("{}.{:02}us", v / 1000, (v % 1000) / 10)
    } else {
        format!("{v}ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(val: Val, cnt: u32) -> Field {
        Field { val, cnt }
    }

    #[test]
    fn aggregations() {
        let mut d = f(Val::Uint(5), 1);
        aggregate(&mut d, &f(Val::Uint(7), 1), Aggregation::Sum);
        assert_eq!(d.val, Val::Uint(12));
        aggregate(&mut d, &f(Val::Uint(3), 1), Aggregation::Max);
        assert_eq!(d.val, Val::Uint(12));
        aggregate(&mut d, &f(Val::Uint(30), 1), Aggregation::Max);
        assert_eq!(d.val, Val::Uint(30));
        aggregate(&mut d, &f(Val::Uint(1), 1), Aggregation::None);
        assert_eq!(d.val, Val::Uint(30));
        // AVG: counts add up; defaults (count 0) do not count.
        let mut a = f(Val::Double(0.0), 0);
        aggregate(&mut a, &f(Val::Double(4.0), 1), Aggregation::Avg);
        aggregate(&mut a, &f(Val::Double(0.0), 0), Aggregation::Avg);
        aggregate(&mut a, &f(Val::Double(2.0), 1), Aggregation::Avg);
        assert_eq!(a, f(Val::Double(6.0), 2));
        // MIN ignores defaults and takes the first real value.
        let mut m = f(Val::Uint(0), 0);
        aggregate(&mut m, &f(Val::Uint(9), 1), Aggregation::Min);
        aggregate(&mut m, &f(Val::Uint(4), 1), Aggregation::Min);
        aggregate(&mut m, &f(Val::Uint(0), 0), Aggregation::Min);
        assert_eq!(m.val, Val::Uint(4));
        // A sum of averages adds the averages.
        let mut s = f(Val::Double(6.0), 2);
        aggregate(&mut s, &f(Val::Double(9.0), 3), Aggregation::Sum);
        assert_eq!(s, f(Val::Double(6.0), 1));
    }

    #[test]
    fn formats() {
        assert_eq!(format_bytes(1954.0, 7, true), "2K");
        assert_eq!(format_bytes(1954.0, 7, false), "1.91K");
        assert_eq!(format_bytes(512.0, 7, true), "512");
        assert_eq!(format_bytes(15_863_808.0, 8, true), "15M");
        assert_eq!(format_time(1_500_000_000), "1.50s");
        assert_eq!(format_time(15_000_000), "15ms");
        assert_eq!(format_time(1_234_567), "1.23ms");
        assert_eq!(format_time(40_000), "40us");
        assert_eq!(format_time(1_509), "1.50us");
        assert_eq!(format_time(800), "800ns");
        assert_eq!(format_time(125 * 1_000_000_000), "2:5");
    }

    #[test]
    fn every_view_compiles() {
        for v in crate::views::all() {
            for containers in [false, true] {
                let t = Table::new(v, containers, &v.filter);
                assert!(t.is_ok(), "{}: {:?}", v.id, t.err());
            }
        }
    }
}
