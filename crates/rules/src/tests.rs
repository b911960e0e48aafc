//! Loader, compiler, index and alert tests over small rules files, and the
//! load of the upstream rules files.

use std::collections::BTreeSet;

use osprey_filter::{Extract, FieldRef, Value, Values};

use super::*;

/// Path of a shared fixture, or `None` (loudly skipped) when it is missing
/// outside CI.
pub(crate) fn shared(rel: &str) -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/"))
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing fixture {}",
        p.display()
    );
    eprintln!("SKIPPED: missing fixture {}", p.display());
    None
}

fn load_with(yaml: &str, opts: &LoadOptions) -> (Ruleset, LoadResult) {
    Ruleset::load(
        &[RulesFile {
            name: "test.yaml",
            content: yaml,
        }],
        opts,
    )
}

fn load(yaml: &str) -> (Ruleset, LoadResult) {
    load_with(yaml, &LoadOptions::default())
}

fn load_ok(yaml: &str) -> Ruleset {
    let (rs, res) = load(yaml);
    assert!(res.successful(), "{res}");
    rs
}

fn rule<'a>(rs: &'a Ruleset, name: &str) -> &'a Rule {
    let id = rs.find(name).unwrap_or_else(|| panic!("no rule {name}"));
    rs.rule(id).unwrap()
}

/// The single error of a failed load.
fn error(yaml: &str) -> Diagnostic {
    let (_, res) = load(yaml);
    assert_eq!(res.errors.len(), 1, "{res}");
    res.errors[0].clone()
}

fn warnings(res: &LoadResult, code: WarningCode) -> Vec<&Diagnostic> {
    res.warnings
        .iter()
        .filter(|w| w.code == Code::Warning(code))
        .collect()
}

/// A fake event: string values by field name.
struct Ev<'a>(&'a [(&'a str, &'a str)]);

impl Extract for Ev<'_> {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        match self.0.iter().find(|(k, _)| *k == &*field.name) {
            Some((_, v)) => {
                out.push_bytes(v.as_bytes());
                true
            }
            None => false,
        }
    }
}

/// PPME_SYSCALL_OPEN_X.
const OPEN_X: u16 = 3;
/// PPME_SYSCALL_OPEN_E.
const OPEN_E: u16 = 2;

const RULE: &str = "
- rule: r
  desc: d
  condition: evt.type = open
  output: o
  priority: WARNING
";

#[test]
fn lists_nest_flatten_and_quote_items_with_spaces() {
    let rs = load_ok(
        r#"
- list: inner
  items: [x, "b c"]
- list: outer
  items: [inner, y]
- rule: r
  desc: d
  condition: evt.type = open and proc.name in (outer)
  output: o
  priority: INFO
"#,
    );
    assert_eq!(rs.lists()[1].items, ["x", "b c", "y"]);
    let r = rule(&rs, "r");
    assert_eq!(
        r.condition,
        "evt.type = open and proc.name in ( x, \"b c\", y )"
    );
    assert_eq!(
        r.compiled_condition,
        "(evt.type = open and proc.name in (x, \"b c\", y))"
    );
    assert_eq!(r.priority, Priority::Informational);
}

#[test]
fn a_list_may_be_used_before_its_definition_but_nest_only_earlier_lists() {
    let rs = load_ok(
        "
- list: a
  items: [b, x]
- list: b
  items: [y]
- rule: r
  desc: d
  condition: evt.type = open and proc.name in (a)
  output: o
  priority: INFO
",
    );
    // `b` is defined after `a`: it stays a literal item of `a`, then is
    // expanded as a list name in the condition text.
    assert_eq!(rs.lists()[0].items, ["b", "x"]);
    assert_eq!(
        rule(&rs, "r").compiled_condition,
        "(evt.type = open and proc.name in (y, x))"
    );
}

#[test]
fn a_redefined_list_sees_lists_defined_before_its_redefinition() {
    let rs = load_ok(
        "
- list: a
  items: [x]
- list: b
  items: [y]
- list: a
  items: [b, z]
- rule: r
  desc: d
  condition: evt.type = open and proc.name in (a)
  output: o
  priority: INFO
",
    );
    assert_eq!(rs.lists()[0].items, ["y", "z"]);
}

#[test]
fn macros_see_earlier_macros_and_rules_see_all() {
    // A rule may use a macro defined after it.
    let rs = load_ok(
        "
- rule: r
  desc: d
  condition: is_open and m2
  output: o
  priority: INFO
- macro: is_open
  condition: evt.type = open
- macro: m2
  condition: is_open and proc.name = cat
",
    );
    assert_eq!(
        rule(&rs, "r").compiled_condition,
        "(evt.type = open and (evt.type = open and proc.name = cat))"
    );
    // A macro may not use a later one.
    let e = error(
        "
- macro: m1
  condition: m2 and proc.name = cat
- macro: m2
  condition: evt.type = open
",
    );
    assert_eq!(e.code, Code::Error(ErrorCode::Validate));
    assert_eq!(e.message, "Undefined macro 'm2' used in filter.");
    assert!(e.to_string().starts_with("test.yaml:3:14: "), "{e}");
}

#[test]
fn undefined_macro_in_a_rule_is_located() {
    let e = error(&format!(
        "{RULE}- rule: s\n  desc: d\n  condition: nosuch\n  output: o\n  priority: INFO\n"
    ));
    assert_eq!(e.code, Code::Error(ErrorCode::Validate));
    assert_eq!(e.message, "Undefined macro 'nosuch' used in filter.");
    assert_eq!(e.item(), ("rule", "s"));
    assert!(e.to_string().starts_with("test.yaml:9:14: "), "{e}");
}

#[test]
fn redefinition_replaces_in_place() {
    let rs = load_ok(
        "
- rule: a
  desc: d
  condition: evt.type = open
  output: first
  priority: INFO
- rule: b
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
- rule: a
  desc: d
  condition: evt.type = openat
  output: second
  priority: INFO
",
    );
    let names: Vec<&str> = rs.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(rule(&rs, "a").output, "second");
}

#[test]
fn legacy_append_of_list_macro_and_rule() {
    let (rs, res) = load(
        "
- list: l
  items: [a]
- list: l
  items: [b]
  append: true
- macro: m
  condition: proc.name = x
- macro: m
  condition: or proc.name in (l)
  append: true
- rule: r
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
- rule: r
  condition: and m
  append: true
",
    );
    assert!(res.successful(), "{res}");
    assert_eq!(warnings(&res, WarningCode::DeprecatedItem).len(), 3);
    assert_eq!(
        rule(&rs, "r").compiled_condition,
        "(evt.type = open and (proc.name = x or proc.name in (a, b)))"
    );
}

#[test]
fn override_append_and_replace() {
    let rs = load_ok(
        "
- rule: r
  desc: d
  condition: evt.type = open
  output: out
  priority: INFO
  tags: [t1]
  exceptions:
    - name: e1
      fields: [proc.name]
      values: [[cat]]
- rule: r
  condition: and proc.name != bash
  output: (more)
  tags: [t2]
  exceptions:
    - name: e1
      values: [[dog]]
    - name: e2
      fields: fd.name
      values: [/tmp]
  override:
    condition: append
    output: append
    tags: append
    exceptions: append
- rule: r
  priority: error
  override:
    priority: replace
",
    );
    let r = rule(&rs, "r");
    assert_eq!(r.output, "out (more)");
    assert_eq!(r.tags, BTreeSet::from(["t1".to_string(), "t2".to_string()]));
    assert_eq!(r.priority, Priority::Error);
    assert_eq!(
        r.condition,
        "(evt.type = open and proc.name != bash) and not ((proc.name = cat) or (proc.name = dog)) and not (fd.name in (/tmp))"
    );
    // Replace.
    let rs = load_ok(&format!(
        "{RULE}- rule: r\n  output: new\n  tags: [x]\n  enabled: false\n  override:\n    output: replace\n    tags: replace\n    enabled: replace\n"
    ));
    let r = rule(&rs, "r");
    assert_eq!(r.output, "new");
    assert!(!r.enabled);
    assert_eq!(r.tags.len(), 1);
}

#[test]
fn override_errors() {
    let e = error(&format!(
        "{RULE}- rule: r\n  priority: INFO\n  override:\n    priority: append\n"
    ));
    assert_eq!(
        e.message,
        "Key 'priority' cannot be appended to, use 'replace' instead"
    );
    let e = error(&format!(
        "{RULE}- rule: r\n  output: x\n  desc: y\n  override:\n    output: append\n"
    ));
    assert_eq!(
        e.message,
        "Unexpected key 'desc': no corresponding entry under 'override' is defined."
    );
    let e = error(&format!(
        "{RULE}- rule: r\n  override:\n    output: append\n"
    ));
    assert_eq!(
        e.message,
        "An append override for 'output' was specified but 'output' is not defined"
    );
    let e = error(&format!(
        "{RULE}- rule: r\n  output: x\n  append: true\n  override:\n    output: append\n"
    ));
    assert!(e
        .message
        .starts_with("Keys 'override' and 'append: true' cannot be used together"));
    let e = error("- rule: nobase\n  output: x\n  override:\n    output: replace\n");
    assert_eq!(e.code, Code::Error(ErrorCode::Validate));
    assert_eq!(
        e.message,
        "An 'override.output: replace' to a rule was requested but no rule by that name already exists"
    );
    let base = format!("{RULE}  exceptions:\n    - name: e\n      fields: [proc.name]\n");
    let e = error(&format!("{base}- rule: r\n  exceptions:\n    - name: e\n      fields: [fd.name]\n      values: [[a]]\n  override:\n    exceptions: append\n"));
    assert_eq!(
        e.message,
        "Can not append exception fields to existing exception, only values"
    );
    let (_, res) = load(&format!(
        "{base}- rule: r\n  exceptions:\n    - name: e\n  override:\n    exceptions: append\n"
    ));
    assert!(res.has_warning(WarningCode::AppendNoValues), "{res}");
}

#[test]
fn append_without_base_is_a_located_validate_error() {
    let e = error("- rule: ghost\n  condition: and proc.name = x\n  append: true\n");
    assert_eq!(e.code, Code::Error(ErrorCode::Validate));
    assert_eq!(
        e.message,
        "Rule has 'append' key but no rule by that name already exists"
    );
    assert!(e.to_string().starts_with("test.yaml:1:3: "), "{e}");
    let e = error("- macro: ghost\n  condition: or x\n  override:\n    condition: append\n");
    assert_eq!(e.code, Code::Error(ErrorCode::Validate));
    assert_eq!(e.item(), ("macro", "ghost"));
}

#[test]
fn exceptions_compile_to_condition_text() {
    let rs = load_ok(
        r#"
- list: shells
  items: [bash, zsh]
- rule: r
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
  exceptions:
    - name: tuple
      fields: [proc.name, fd.name]
      comps: [=, in]
      values:
        - [cat, [/etc/a, "/b c"]]
        - ["my proc", /tmp]
    - name: single
      fields: proc.pname
      values: [sshd, "a b", shells]
    - name: single_pmatch
      fields: fd.name
      comps: pmatch
      values: [/var]
    - name: modifier
      fields: [fd.name]
      comps: [startswith oneof]
      values: [[/x]]
    - name: empty
      fields: [proc.name]
"#,
    );
    let r = rule(&rs, "r");
    assert_eq!(
        r.condition,
        concat!(
            "(evt.type = open)",
            " and not ((proc.name = cat and fd.name in (/etc/a, \"/b c\")) or (proc.name = \"my proc\" and fd.name in (/tmp)))",
            " and not (proc.pname in (sshd, \"a b\", bash, zsh ))",
            " and not (fd.name pmatch (/var))",
            " and not ((fd.name startswith oneof (/x)))"
        )
    );
    assert!(r.is_compiled());
}

#[test]
fn exception_errors() {
    let e = error(&format!(
        "{RULE}  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      comps: [=]\n"
    ));
    assert_eq!(e.message, "Fields and comps lists must have equal length");
    let e = error(&format!(
        "{RULE}  exceptions:\n    - name: e\n      fields: [proc.name]\n      comps: [like]\n"
    ));
    assert_eq!(e.message, "'like' is not a supported comparison operator");
    let e = error(&format!(
        "{RULE}  exceptions:\n    - name: e\n      fields: [proc.nosuch]\n"
    ));
    assert_eq!(e.message, "'proc.nosuch' is not a supported filter field");
    let e = error(&format!(
        "{RULE}  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      values: [[a]]\n"
    ));
    assert_eq!(e.code, Code::Error(ErrorCode::Validate));
    assert_eq!(e.message, "Fields and values lists must have equal length");
    let (_, res) = load(&format!(
        "{RULE}  exceptions:\n    - name: e\n      fields: [proc.name]\n    - name: e\n      fields: [fd.name]\n"
    ));
    assert!(
        res.has_warning(WarningCode::ExceptionNameNotUnique),
        "{res}"
    );
}

#[test]
fn disabled_rules_and_legacy_enabled_toggle() {
    let (rs, res) = load(&format!("{RULE}- rule: r\n  enabled: false\n"));
    assert!(res.successful(), "{res}");
    assert!(res.has_warning(WarningCode::DeprecatedItem));
    assert!(!rule(&rs, "r").enabled);
    assert!(rs.rules_for(OPEN_X, 0).is_empty());
    let mut rs = load_ok(&RULE.replace("priority: WARNING", "priority: WARNING\n  enabled: false"));
    assert!(rs.rules_for(OPEN_X, 0).is_empty());
    rs.set_enabled(|r| r.name == "r", true);
    assert_eq!(rs.rules_for(OPEN_X, 0), [RuleId(0)]);
}

#[test]
fn priority_threshold_keeps_only_severe_enough_rules() {
    let yaml = "
- rule: notice
  desc: d
  condition: evt.type = open
  output: o
  priority: NOTICE
- rule: crit
  desc: d
  condition: evt.type = open
  output: o
  priority: critical
";
    let opts = LoadOptions {
        min_priority: Priority::Warning,
        ..LoadOptions::default()
    };
    let (rs, res) = load_with(yaml, &opts);
    assert!(res.successful(), "{res}");
    assert_eq!(rs.rules_for(OPEN_X, 0), [RuleId(1)]);
    let (rs, _) = load_with(yaml, &LoadOptions::default());
    assert_eq!(rs.rules_for(OPEN_X, 0), [RuleId(0), RuleId(1)]);
}

#[test]
fn skip_if_unknown_filter_drops_the_rule_with_a_warning() {
    let yaml = "
- rule: Contains Unknown Event And Skipping (field)
  desc: d
  condition: evt.type = open and proc.nobody = x
  output: o
  priority: INFO
  skip-if-unknown-filter: true
- rule: Unknown event type
  desc: d
  condition: evt.type = some_invalid_event
  output: o
  priority: INFO
  skip-if-unknown-filter: true
- rule: Unknown output field
  desc: d
  condition: evt.type = open
  output: '%proc.nobody'
  priority: INFO
  skip-if-unknown-filter: true
";
    let (rs, res) = load(yaml);
    assert!(res.successful(), "{res}");
    assert!(rs.rules().is_empty());
    let w = warnings(&res, WarningCode::UnknownFilter);
    assert_eq!(w.len(), 3, "{res}");
    assert_eq!(
        w[0].item(),
        ("rule", "Contains Unknown Event And Skipping (field)")
    );
    assert_eq!(
        w[0].message,
        "filter_check called with nonexistent field proc.nobody"
    );
    assert_eq!(w[1].message, "unknown event type some_invalid_event");
    assert!(
        w[2].message
            .starts_with("invalid formatting token proc.nobody"),
        "{}",
        w[2].message
    );
}

#[test]
fn unknown_field_without_skip_is_a_located_compile_error() {
    let e = error(&RULE.replace("evt.type = open", "evt.type = open and proc.nobody = x"));
    assert_eq!(e.code, Code::Error(ErrorCode::CompileCondition));
    assert_eq!(
        e.message,
        "filter_check called with nonexistent field proc.nobody"
    );
    assert!(e.to_string().starts_with("test.yaml:4:14: "), "{e}");
    let e = error(&RULE.replace("output: o", "output: '%proc.nobody'"));
    assert_eq!(e.code, Code::Error(ErrorCode::CompileOutput));
    assert!(e.to_string().starts_with("test.yaml:5:11: "), "{e}");
}

#[test]
fn bad_operator_is_a_parse_error_at_the_condition() {
    let e = error(&RULE.replace("evt.type = open", "evt.type ~= open"));
    assert_eq!(e.code, Code::Error(ErrorCode::CompileCondition));
    assert!(
        e.message.starts_with("expected a valid check operator"),
        "{}",
        e.message
    );
    assert!(e.to_string().starts_with("test.yaml:4:14: "), "{e}");
    assert_eq!(
        e.location().map(|l| (l.item_type, l.pos.offset)),
        Some(("condition expression", 9))
    );
}

#[test]
fn bad_priority_and_missing_keys() {
    let e = error(&RULE.replace("WARNING", "loud"));
    assert_eq!(e.code, Code::Error(ErrorCode::YamlValidate));
    assert_eq!(e.message, "Invalid priority");
    assert!(e.to_string().starts_with("test.yaml:6:13: "), "{e}");
    let e = error("- rule: r\n  desc: d\n  condition: evt.type = open\n  priority: INFO\n");
    assert_eq!(e.message, "Item has no mapping for key 'output'");
}

#[test]
fn yaml_errors_and_structure() {
    let e = error("- rule: r\n  desc: [a\n- x: y\n");
    assert_eq!(e.code, Code::Error(ErrorCode::YamlParse));
    assert!(e.to_string().starts_with("test.yaml:3:"), "{e}");
    let e = error("rule: r\n");
    assert_eq!(e.code, Code::Error(ErrorCode::YamlValidate));
    assert_eq!(e.message, "Rules content is not yaml array of objects");
    let e = error("- just a string\n");
    assert_eq!(
        e.message,
        "Unexpected element type. Each element should be a yaml associative array."
    );
    // Null items and documents are skipped; several documents are read.
    let rs = load_ok(&format!("---\n-\n{RULE}---\n---\n- list: l\n  items: []\n"));
    assert_eq!(rs.rules().len(), 1);
}

#[test]
fn unknown_keys_items_and_unused_definitions_warn() {
    let (_, res) = load(&format!(
        "{RULE}  colour: red\n- whatever: 1\n- macro: unused\n  condition: proc.name = x\n- list: unused_list\n  items: [a]\n- macro: bad-name\n  condition: proc.name = y\n"
    ));
    assert!(res.successful(), "{res}");
    let k = warnings(&res, WarningCode::UnknownKey);
    assert_eq!(k.len(), 1);
    assert_eq!(
        k[0].message,
        "Unknown key 'colour'. The key will be ignored."
    );
    assert!(res.has_warning(WarningCode::UnknownItem));
    assert_eq!(warnings(&res, WarningCode::UnusedMacro).len(), 2);
    assert_eq!(warnings(&res, WarningCode::UnusedList).len(), 1);
    assert!(res.has_warning(WarningCode::InvalidMacroName));
}

#[test]
fn engine_and_plugin_requirements() {
    let e = error("- required_engine_version: 0.99.0\n");
    assert_eq!(e.code, Code::Error(ErrorCode::Validate));
    assert_eq!(e.item().0, "required_engine_version");
    assert_eq!(
        e.message,
        "Rules require engine version 0.99.0, but engine version is 0.63.0"
    );
    load_ok("- required_engine_version: 10\n- required_engine_version: 0.57.0\n");
    let e = error("- required_engine_version: abc\n");
    assert!(e
        .message
        .starts_with("Unable to parse engine version 'abc'"));
    load_ok("- required_plugin_versions:\n    - name: container\n      version: 0.4.0\n");
    load_ok("- required_plugin_versions:\n    - name: other\n      version: 1.0.0\n      alternatives:\n        - name: container\n          version: 0.1.0\n");
    let e = error("- required_plugin_versions:\n    - name: k8saudit\n      version: 0.1.0\n");
    assert_eq!(e.code, Code::Error(ErrorCode::Validate));
}

#[test]
fn sources_other_than_syscall() {
    let (rs, res) = load(
        "
- rule: audit
  desc: d
  condition: ka.verb = create
  output: o
  priority: INFO
  source: k8s_audit
- rule: cloud
  desc: d
  condition: ct.name = x
  output: o
  priority: INFO
  source: aws_cloudtrail
",
    );
    assert!(res.successful(), "{res}");
    assert_eq!(rs.rules().len(), 1);
    assert!(!rule(&rs, "audit").is_compiled());
    assert!(res.has_warning(WarningCode::UnknownSource));
    let e = error(&format!("{RULE}- rule: r\n  desc: d\n  condition: x\n  output: o\n  priority: INFO\n  source: k8s_audit\n"));
    assert_eq!(
        e.message,
        "Rule has been re-defined with a different source"
    );
}

#[test]
fn event_type_index_and_no_evttype_warning() {
    let (rs, res) = load(
        "
- rule: opens
  desc: d
  condition: evt.type in (open, openat) and proc.name = cat
  output: o
  priority: INFO
- rule: anything
  desc: d
  condition: proc.name = cat
  output: o
  priority: INFO
- rule: quiet
  desc: d
  condition: proc.name = dog
  output: o
  priority: INFO
  warn_evttypes: false
",
    );
    assert!(res.successful(), "{res}");
    let w = warnings(&res, WarningCode::NoEvttype);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].item(), ("rule", "anything"));
    assert_eq!(rs.rules_for(OPEN_X, 0), [RuleId(0), RuleId(1), RuleId(2)]);
    assert_eq!(
        rule(&rs, "opens").event_types.syscall_names(),
        ["open", "openat"]
    );
    // PPME_SYSCALL_CLOSE_X.
    assert_eq!(rs.rules_for(5, 0), [RuleId(1), RuleId(2)]);
}

#[test]
fn evaluation_first_or_all_in_load_order_on_exit_events_only() {
    let rs = load_ok(
        "
- rule: a
  desc: d
  condition: evt.type = open and proc.name = cat
  output: o
  priority: INFO
- rule: b
  desc: d
  condition: evt.type = open and fd.name startswith /etc
  output: o
  priority: INFO
",
    );
    let ev = Ev(&[
        ("evt.type", "open"),
        ("proc.name", "cat"),
        ("fd.name", "/etc/passwd"),
    ]);
    let mut out = Vec::new();
    rs.evaluate(&ev, OPEN_X, 0, Matching::First, &mut out);
    assert_eq!(out, [RuleId(0)]);
    out.clear();
    rs.evaluate(&ev, OPEN_X, 0, Matching::All, &mut out);
    assert_eq!(out, [RuleId(0), RuleId(1)]);
    out.clear();
    rs.evaluate(&ev, OPEN_E, 0, Matching::All, &mut out);
    assert!(out.is_empty());
    let ev = Ev(&[
        ("evt.type", "open"),
        ("proc.name", "ls"),
        ("fd.name", "/etc/passwd"),
    ]);
    rs.evaluate(&ev, OPEN_X, 0, Matching::First, &mut out);
    assert_eq!(out, [RuleId(1)]);
    assert!(!is_evaluated(OPEN_E) && is_evaluated(OPEN_X));
}

/// A fake event for alerts: strings by name, and the time fields.
struct AlertEv(u64);

impl Extract for AlertEv {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        match &*field.name {
            "proc.name" => out.push_bytes(b"cat"),
            "fd.num" => out.push(Value::Int(3)),
            "evt.time" | "evt.time.iso8601" => out.push(Value::Uint(self.0)),
            _ => return false,
        }
        true
    }
}

#[test]
fn alert_text_and_json() {
    let rs = load_ok(
        r#"
- rule: open_from_cat
  desc: d
  condition: evt.type = open and proc.name = cat
  output: "A \"file\" was opened (command=%proc.name fd=%fd.num user=%user.name)"
  priority: WARNING
  tags: [testing, filesystem]
"#,
    );
    let r = rule(&rs, "open_from_cat");
    let ts = 1_470_327_477_881_781_397;
    let mut f = AlertFormatter::new(AlertOptions {
        time_format_iso_8601: true,
        hostname: "host".into(),
        ..AlertOptions::default()
    });
    let mut out = Vec::new();
    assert!(f.write_text(r, &AlertEv(ts), ts, &mut out));
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "2016-08-04T16:17:57.881781397+0000: Warning A \"file\" was opened (command=cat fd=3 user=<NA>)"
    );
    out.clear();
    assert!(f.write_json(r, &AlertEv(ts), ts, &mut out));
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        concat!(
            r#"{"hostname":"host","output":"2016-08-04T16:17:57.881781397+0000: Warning A \"file\" was opened (command=cat fd=3 user=<NA>)","#,
            r#""output_fields":{"evt.time.iso8601":1470327477881781397,"fd.num":3,"proc.name":"cat","user.name":null},"#,
            r#""priority":"Warning","rule":"open_from_cat","source":"syscall","tags":["filesystem","testing"],"time":"2016-08-04T16:17:57.881781397Z"}"#
        )
    );
    // Options: message on, output, fields and tags off; local time field.
    let mut f = AlertFormatter::new(AlertOptions {
        json_include_message_property: true,
        json_include_output_property: false,
        json_include_output_fields_property: false,
        json_include_tags_property: false,
        ..AlertOptions::default()
    });
    out.clear();
    assert!(f.write_json(r, &AlertEv(ts), ts, &mut out));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"hostname":"","message":"A \"file\" was opened (command=cat fd=3 user=<NA>)","priority":"Warning","rule":"open_from_cat","source":"syscall","time":"2016-08-04T16:17:57.881781397Z"}"#
    );
}

#[test]
fn alert_both_at_once_and_across_seconds_match_the_separate_writes() {
    let rs = load_ok(
        r#"
- rule: r
  desc: d
  condition: evt.type = open
  output: "x=%proc.name t=%evt.time"
  priority: ERROR
  tags: [a]
"#,
    );
    let r = rule(&rs, "r");
    // The same second twice, the next second, a new day, then back.
    let base = 1_470_355_199_999_999_999_u64;
    let times = [
        base - 5,
        base,
        base + 1,
        base + 86_400_000_000_000,
        base - 5,
    ];
    for iso in [false, true] {
        let opts = AlertOptions {
            time_format_iso_8601: iso,
            ..AlertOptions::default()
        };
        let (mut both, mut single) = (AlertFormatter::new(opts.clone()), AlertFormatter::new(opts));
        for ts in times {
            let ev = AlertEv(ts);
            let (mut t1, mut j1, mut t2, mut j2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            assert!(both.write_both(r, &ev, ts, &mut t1, &mut j1));
            assert!(single.write_text(r, &ev, ts, &mut t2));
            assert!(single.write_json(r, &ev, ts, &mut j2));
            assert_eq!((&t1, &j1), (&t2, &j2));
            // The JSON time is `utc_z`'s.
            let mut z = b"\"time\":\"".to_vec();
            utc_z(&mut z, ts);
            z.extend_from_slice(b"\"}");
            assert!(j1.ends_with(&z), "{}", String::from_utf8_lossy(&j1));
            if iso {
                let mut p = Vec::new();
                osprey_filter::timefmt::iso8601(&mut p, ts);
                assert!(t1.starts_with(&p), "{}", String::from_utf8_lossy(&t1));
            }
        }
    }
}

/// The upstream rules files load strictly (no unknown field or format token
/// left: the catalogue has every field they use, `k8s.ns.name` and
/// `k8s.pod.name` being the last to arrive), and every rule compiles.
#[test]
fn upstream_rules_files_load_with_every_field_known() {
    let names = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ];
    let mut paths = Vec::new();
    for n in names {
        let Some(p) = shared(&format!("compat/falco-rules/{n}")) else {
            return;
        };
        paths.push(p);
    }
    let refs: Vec<&std::path::Path> = paths.iter().map(std::path::PathBuf::as_path).collect();
    let (rs, res) = Ruleset::load_paths(&refs, &LoadOptions::default());
    eprintln!("{res}");
    assert!(res.successful(), "{res}");
    let unknown: Vec<String> = res
        .warnings
        .iter()
        .filter(|w| w.code == Code::Warning(WarningCode::UnknownFilter))
        .map(ToString::to_string)
        .collect();
    assert!(unknown.is_empty(), "unknown upstream fields: {unknown:?}");
    assert_eq!(rs.rules().len(), 93);
    assert!(rs.rules().iter().all(Rule::is_compiled));
}

/// The stable rules file alone loads with no error and no warning about
/// fields.
#[test]
fn upstream_stable_rules_load_with_zero_errors() {
    let Some(p) = shared("compat/falco-rules/falco_rules.yaml") else {
        return;
    };
    let (rs, res) = Ruleset::load_paths(&[p.as_path()], &LoadOptions::default());
    assert!(res.successful() && res.errors.is_empty(), "{res}");
    assert!(
        !res.warnings
            .iter()
            .any(|w| w.code == Code::Warning(WarningCode::UnknownFilter)),
        "{res}"
    );
    assert!(!rs.rules().is_empty());
    assert!(rs.rules().iter().all(Rule::is_compiled));
}
