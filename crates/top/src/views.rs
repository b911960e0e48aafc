//! The views: csysdig's view definitions as data.
//!
//! `views.json` holds every view csysdig 0.29.3 loads (ids, names, tags,
//! filters, drill-down targets, columns with their fields, sizes and
//! aggregations, actions), trimmed of prose and of the views whose fields no
//! longer exist (tracers, Mesos, Marathon) or that never load (`cores`).

use serde::Deserialize;
use std::sync::OnceLock;

/// How values of one column combine when several events fall on one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Aggregation {
    /// The first value of the interval is kept.
    #[default]
    #[serde(rename = "NONE")]
    None,
    /// Values are added.
    #[serde(rename = "SUM")]
    Sum,
    /// Values are added and counted; the average is shown.
    #[serde(rename = "AVG")]
    Avg,
    /// Values are added and shown per second of the interval.
    #[serde(rename = "TIME_AVG")]
    TimeAvg,
    /// The largest value is kept.
    #[serde(rename = "MAX")]
    Max,
    /// The smallest value is kept.
    #[serde(rename = "MIN")]
    Min,
}

/// What a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ViewType {
    /// Rows aggregated per key, refreshed every interval.
    #[default]
    Table,
    /// One row per matching event, appended.
    List,
    /// Counts per latency bucket over time.
    Spectrogram,
}

/// One column of a view.
#[derive(Debug, Clone, Deserialize)]
pub struct ColumnDef {
    /// Title (`NA` for hidden key columns).
    pub name: String,
    /// The field whose values fill the column.
    pub field: String,
    /// Width in characters (0: the rest of the line).
    #[serde(default)]
    pub colsize: Option<u16>,
    /// The row key.
    #[serde(default)]
    pub is_key: bool,
    /// The key rows are grouped by after the interval.
    #[serde(default)]
    pub is_groupby_key: bool,
    /// The default sort column.
    #[serde(default)]
    pub is_sorting: bool,
    /// How values combine per key.
    #[serde(default)]
    pub aggregation: Aggregation,
    /// How values combine per group-by key.
    #[serde(default)]
    pub groupby_aggregation: Aggregation,
    /// `default` or `containers`: the mode the column belongs to.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The field a drill-down filters on instead of [`ColumnDef::field`].
    #[serde(default)]
    pub filterfield: Option<String>,
    /// Whether the column's filter applies to child views only.
    #[serde(default)]
    pub filter_in_child_only: bool,
}

/// A command a view offers on its selected row.
#[derive(Debug, Clone, Deserialize)]
pub struct ActionDef {
    /// The key that runs it.
    pub hotkey: String,
    /// The shell command; `%field` is replaced by the selected row's value.
    pub command: String,
    /// Whether the user confirms first.
    #[serde(default)]
    pub ask_confirmation: bool,
    /// Whether the command runs in the foreground until it ends.
    #[serde(default)]
    pub wait_finish: bool,
}

/// One view.
#[derive(Debug, Clone, Deserialize)]
pub struct ViewDef {
    /// Identifier (`procs`, `files`, ...).
    pub id: String,
    /// Title shown in the view list.
    pub name: String,
    /// `Default`, `wsysdig`, `nocsysdig`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Table, list or spectrogram.
    #[serde(default)]
    pub view_type: ViewType,
    /// Key fields after a drill-down on which the view applies (`""`: top level).
    #[serde(default)]
    pub applies_to: Vec<String>,
    /// The view's own filter.
    #[serde(default)]
    pub filter: String,
    /// Missing numeric values count as zero instead of dropping the event.
    #[serde(default)]
    pub use_defaults: bool,
    /// Whether the view is a root view.
    #[serde(default)]
    pub is_root: bool,
    /// The view Enter opens on the selected row.
    #[serde(default)]
    pub drilldown_target: Option<String>,
    /// Whether the view's filter is kept for the drilled-down view (default true).
    #[serde(default = "yes")]
    pub propagate_filter: bool,
    /// The columns, in definition order.
    pub columns: Vec<ColumnDef>,
    /// Row actions.
    #[serde(default)]
    pub actions: Vec<ActionDef>,
}

fn yes() -> bool {
    true
}

impl ViewDef {
    /// Whether curses mode hides the view (`nocsysdig`).
    pub fn hidden_in_ui(&self) -> bool {
        self.tags.iter().any(|t| t == "nocsysdig")
    }

    /// The columns of the mode: `-pc` keeps `containers` columns and drops
    /// `default` ones; otherwise the reverse.
    pub fn columns_for(&self, containers: bool) -> impl Iterator<Item = &ColumnDef> + '_ {
        let tag = if containers { "containers" } else { "default" };
        self.columns
            .iter()
            .filter(move |c| c.tags.is_empty() || c.tags.iter().any(|t| t == tag))
    }

    /// The key column of the mode (the group-by key when there is one):
    /// the field a drill-down filters on.
    pub fn drill_field(&self, containers: bool) -> Option<String> {
        let cols: Vec<&ColumnDef> = self.columns_for(containers).collect();
        let c = cols
            .iter()
            .find(|c| c.is_groupby_key)
            .or_else(|| cols.iter().find(|c| c.is_key))?;
        Some(c.filterfield.clone().unwrap_or_else(|| c.field.clone()))
    }
}

/// Every view, sorted by name as csysdig lists them.
pub fn all() -> &'static [ViewDef] {
    static VIEWS: OnceLock<Vec<ViewDef>> = OnceLock::new();
    VIEWS.get_or_init(|| {
        // The embedded table is checked by the tests: it always parses.
        serde_json::from_str(include_str!("views.json")).unwrap_or_default()
    })
}

/// The view with this id.
pub fn find(id: &str) -> Option<&'static ViewDef> {
    all().iter().find(|v| v.id == id)
}

/// The position of the view with this id in [`all`].
pub fn index_of(id: &str) -> Option<usize> {
    all().iter().position(|v| v.id == id)
}

/// The view list as `--list-views` prints it: a JSON array of the views'
/// ids, names, types, filters, drill-down targets and column titles.
pub fn list_json() -> serde_json::Value {
    let views: Vec<serde_json::Value> = all()
        .iter()
        .map(|v| {
            serde_json::json!({
                "id": v.id,
                "name": v.name,
                "tags": v.tags,
                "type": match v.view_type {
                    ViewType::Table => "table",
                    ViewType::List => "list",
                    ViewType::Spectrogram => "spectrogram",
                },
                "filter": v.filter,
                "appliesTo": v.applies_to,
                "drilldownTarget": v.drilldown_target,
                "columns": v.columns.iter().filter(|c| c.name != "NA").map(|c| c.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::Value::Array(views)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_views_parse() {
        let views: Vec<ViewDef> = serde_json::from_str(include_str!("views.json")).unwrap();
        assert_eq!(views.len(), all().len());
        assert!(all().len() >= 30);
        let procs = find("procs").unwrap();
        assert_eq!(procs.name, "Processes");
        assert_eq!(procs.drilldown_target.as_deref(), Some("threads"));
        assert_eq!(procs.drill_field(false).as_deref(), Some("proc.pid"));
        let cpu = procs.columns.iter().find(|c| c.name == "CPU").unwrap();
        assert_eq!(cpu.aggregation, Aggregation::Avg);
        assert_eq!(cpu.groupby_aggregation, Aggregation::Sum);
        assert!(cpu.is_sorting);
        // Mode tags: VPID only with -pc.
        assert!(!procs.columns_for(false).any(|c| c.name == "VPID"));
        assert!(procs.columns_for(true).any(|c| c.name == "VPID"));
        assert_eq!(find("file_opens").unwrap().view_type, ViewType::List);
        assert_eq!(
            find("spectro_all").unwrap().view_type,
            ViewType::Spectrogram
        );
        // Sorted by name, as csysdig lists them.
        let names: Vec<&str> = all().iter().map(|v| v.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }
}
