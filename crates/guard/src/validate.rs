//! `-V/--validate`: the load result of each rules file, as Falco prints it.
//!
//! Text: `<file>: Ok`, `<file>: Ok, with warnings` or `<file>: Invalid`,
//! then one line per error and warning. JSON (with `json_output`): one
//! object `{"falco_load_results": [...]}` with, per file, `name`,
//! `successful`, `errors` and `warnings`; each diagnostic is `{code,
//! codedesc, message, context: {locations: [{item_type, item_name,
//! position: {name, line, column, offset}}], snippet}}`. Keys are sorted, as
//! Falco's JSON library writes them.

use osprey_rules::{Diagnostic, LoadResult};
use serde_json::{json, Value};

/// The text form of one file's result, each line ending in `\n`.
pub fn text(name: &str, res: &LoadResult) -> String {
    let verdict = if !res.successful() {
        "Invalid"
    } else if res.warnings.is_empty() {
        "Ok"
    } else {
        "Ok, with warnings"
    };
    let mut out = format!("{name}: {verdict}\n");
    if !res.errors.is_empty() {
        out.push_str(&format!("{} errors:\n", res.errors.len()));
        for e in &res.errors {
            out.push_str(&format!("{e}\n"));
        }
    }
    if !res.warnings.is_empty() {
        out.push_str(&format!("{} warnings:\n", res.warnings.len()));
        for w in &res.warnings {
            out.push_str(&format!("{w}\n"));
        }
    }
    out
}

/// The JSON object of one file's result; `content` is the file's text,
/// for the snippets (none when it could not be read).
pub fn json(name: &str, content: Option<&str>, res: &LoadResult) -> Value {
    let diags = |list: &[Diagnostic]| -> Value {
        list.iter()
            .map(|d| diagnostic(d, content))
            .collect::<Vec<_>>()
            .into()
    };
    json!({
        "name": name,
        "successful": res.successful(),
        "errors": diags(&res.errors),
        "warnings": diags(&res.warnings),
    })
}

/// `{"falco_load_results": [...]}` of the files' objects (from [`json`]).
pub fn json_results(files: &[Value]) -> Value {
    json!({ "falco_load_results": files })
}

fn diagnostic(d: &Diagnostic, content: Option<&str>) -> Value {
    let locations: Vec<Value> = d
        .locations
        .iter()
        .map(|l| {
            json!({
                "item_type": l.item_type,
                "item_name": l.item_name,
                "position": {
                    "name": l.file,
                    "line": l.pos.line,
                    "column": l.pos.col,
                    "offset": l.pos.offset,
                },
            })
        })
        .collect();
    json!({
        "code": d.code.as_str(),
        "codedesc": d.code.desc(),
        "message": d.message,
        "context": {
            "locations": locations,
            "snippet": snippet(d, content),
        },
    })
}

/// The source line of the innermost YAML location with a caret under its
/// column, framed by `------` lines; empty without a location or content.
fn snippet(d: &Diagnostic, content: Option<&str>) -> String {
    // "condition expression" positions are inside the condition text: the
    // enclosing YAML position is the one to show.
    let Some(l) = d
        .locations
        .iter()
        .rev()
        .find(|l| l.item_type != "condition expression")
    else {
        return String::new();
    };
    let Some(line) = content.and_then(|c| c.lines().nth(l.pos.line.saturating_sub(1))) else {
        return String::new();
    };
    let caret = " ".repeat(l.pos.col.saturating_sub(1));
    format!("------\n{line}\n{caret}^\n------\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use osprey_rules::{LoadOptions, RulesFile, Ruleset};

    fn load(content: &str) -> LoadResult {
        let f = RulesFile {
            name: "r.yaml",
            content,
        };
        Ruleset::load(&[f], &LoadOptions::default()).1
    }

    #[test]
    fn json_shape_of_an_error() {
        let yaml =
            "- rule: x\n  desc: d\n  condition: proc.nam = cat\n  output: o\n  priority: INFO\n";
        let res = load(yaml);
        let v = json("r.yaml", Some(yaml), &res);
        assert_eq!(v["name"], "r.yaml");
        assert_eq!(v["successful"], false);
        let e = &v["errors"][0];
        assert_eq!(e["code"], "LOAD_ERR_COMPILE_CONDITION");
        assert_eq!(e["codedesc"], "Error compiling condition");
        assert!(e["message"].as_str().unwrap().contains("proc.nam"));
        let locs = e["context"]["locations"].as_array().unwrap();
        assert_eq!(locs[0]["item_type"], "rules content");
        let rule = locs.iter().find(|l| l["item_type"] == "rule").unwrap();
        assert_eq!(rule["item_name"], "x");
        assert_eq!(rule["position"]["name"], "r.yaml");
        assert_eq!(rule["position"]["line"], 1);
        let snippet = e["context"]["snippet"].as_str().unwrap();
        assert!(snippet.starts_with("------\n"), "{snippet}");
        assert!(snippet.contains("^\n"), "{snippet}");
        assert_eq!(v["warnings"], json!([]));
        // Keys sorted, as Falco's.
        let s = v.to_string();
        assert!(s.starts_with(r#"{"errors":[{"code":"#), "{s}");
        assert!(
            s.ends_with(r#""name":"r.yaml","successful":false,"warnings":[]}"#),
            "{s}"
        );
    }

    #[test]
    fn text_verdicts() {
        let ok =
            "- rule: x\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: INFO\n";
        assert_eq!(text("r.yaml", &load(ok)), "r.yaml: Ok\n");
        let warn = "- macro: unused\n  condition: evt.type = open\n";
        let t = text("r.yaml", &load(warn));
        assert!(
            t.starts_with("r.yaml: Ok, with warnings\n1 warnings:\n"),
            "{t}"
        );
        assert!(t.contains("LOAD_UNUSED_MACRO"), "{t}");
        let t = text("r.yaml", &load("- rule: [\n"));
        assert!(t.starts_with("r.yaml: Invalid\n1 errors:\n"), "{t}");
    }
}
