//! `-j`: one JSON document per sample, in csysdig's shape:
//! `{"progress": 100, "data": [{"d": [...], "k": "..."}], "count": N, "info": {...}}`.

use crate::table::Sample;
use crate::views::ViewDef;
use crate::{combine_filters, selection_filter, Selection};
use std::io::Write;

/// The placeholder csysdig puts where a drill-down's value goes in
/// `filterTemplate`.
const TEMPLATE_VALUE: &str = "@#$f1CA^&;";

/// Writes one sample of `view` as a one-line JSON document, rows sorted by
/// the view's sort column. `cmdline_filter` is the filter given on the
/// command line.
///
/// # Errors
/// Writing fails.
pub fn write_sample(
    out: &mut dyn Write,
    view: &ViewDef,
    sample: &Sample,
    cmdline_filter: &str,
) -> std::io::Result<()> {
    let mut s = sample.clone();
    let sort = s.default_sort();
    if let Some(col) = sort {
        let asc = s.default_ascending(col);
        s.sort(col, asc);
    }
    let data: Vec<serde_json::Value> = s
        .rows
        .iter()
        .map(|r| {
            let d: Vec<serde_json::Value> = r
                .cells
                .iter()
                .enumerate()
                .map(|(i, f)| s.cell_json(i, f))
                .collect();
            serde_json::json!({"d": d, "k": r.key})
        })
        .collect();
    let legend: Vec<serde_json::Value> = s
        .columns
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "size": c.size,
                "type": c.type_name,
                "format": c.format.name(),
            })
        })
        .collect();
    let mut info = serde_json::json!({
        "appliesTo": view.applies_to,
        "canDrillDown": !s.key_field.is_empty(),
        "legend": legend,
        "sortingCol": sort.map_or(0, |c| c + 1),
    });
    if !s.key_field.is_empty() {
        let template = selection_filter(&[Selection {
            field: s.key_field.clone(),
            value: TEMPLATE_VALUE.to_owned(),
            view_filter: view.filter.clone(),
        }]);
        let noview = combine_filters(cmdline_filter, &template);
        info["drillDownKeyField"] = serde_json::Value::String(s.key_field.clone());
        info["filterTemplateF"] = serde_json::Value::String(combine_filters(&noview, &view.filter));
        info["filterTemplate"] = serde_json::Value::String(noview);
    }
    let mut buf = Vec::with_capacity(4096);
    buf.extend_from_slice(b"{\"progress\": 100, \"data\": ");
    serde_json::to_writer(&mut buf, &data).map_err(std::io::Error::other)?;
    buf.extend_from_slice(b", \"count\": ");
    buf.extend_from_slice(itoa::Buffer::new().format(data.len()).as_bytes());
    buf.extend_from_slice(b", \"info\": ");
    serde_json::to_writer(&mut buf, &info).map_err(std::io::Error::other)?;
    buf.extend_from_slice(b"}\n");
    out.write_all(&buf)?;
    out.flush()
}
