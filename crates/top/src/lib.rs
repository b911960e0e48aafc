//! osprey-top: a csysdig-like terminal UI, live and on capture files.
//!
//! - [`views`]: csysdig's views as data (columns, fields, aggregations,
//!   filters, drill-down targets);
//! - [`table`]: the aggregation engine with csysdig's semantics (per-key
//!   aggregation, group-by merge, defaults, rates, CPU);
//! - [`engine`]: the event thread: reads a capture file or the live system,
//!   keeps the state, feeds the current view's table and hands out one
//!   [`table::Sample`] per interval (or lines of an Echo/Dig window);
//! - [`json`]: `-j`, one JSON document per sample;
//! - [`ui`]: the ratatui terminal UI.

pub mod engine;
pub mod json;
pub mod table;
pub mod ui;
pub mod views;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A view is badly defined or unknown.
    #[error("{0}")]
    View(String),
    /// A filter does not compile (the message shows the column).
    #[error("{0}")]
    Filter(String),
    /// The event source failed.
    #[error(transparent)]
    Source(#[from] osprey_capture::Error),
    /// The terminal or stdout failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Joins two filters as csysdig does: `(a) and (b)`, or the one that is set.
pub fn combine_filters(a: &str, b: &str) -> String {
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, _) => b.to_owned(),
        (false, true) => a.to_owned(),
        (false, false) => format!("({a}) and ({b})"),
    }
}

/// One step of a drill-down: the key field and the selected value, with
/// the filter of the view it was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The key field (`proc.pid`).
    pub field: String,
    /// The selected row's key.
    pub value: String,
    /// The filter of the view the selection was made in (empty when the
    /// view does not propagate it).
    pub view_filter: String,
}

/// The filter of a drill-down path: each step's view filter and
/// `field="value"`, joined with `and`.
pub fn selection_filter(path: &[Selection]) -> String {
    let mut out = String::new();
    for s in path {
        let mut step = String::new();
        if !s.view_filter.is_empty() {
            step.push('(');
            step.push_str(&s.view_filter);
            step.push_str(") and ");
        }
        step.push_str(&s.field);
        step.push_str("=\"");
        step.push_str(&s.value.replace('\\', "\\\\").replace('"', "\\\""));
        step.push('"');
        out = combine_filters(&out, &step);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_combine_like_csysdig() {
        assert_eq!(combine_filters("", "b"), "b");
        assert_eq!(combine_filters("a", ""), "a");
        assert_eq!(combine_filters("a", "b"), "(a) and (b)");
        let path = [Selection {
            field: "proc.pid".into(),
            value: "42".into(),
            view_filter: "evt.type!=switch".into(),
        }];
        assert_eq!(
            selection_filter(&path),
            "(evt.type!=switch) and proc.pid=\"42\""
        );
    }
}
