use super::*;

const SAMPLE: &str = r#"
rules_files:
  - /etc/falco/falco_rules.yaml
  - ${OSPREY_TEST_RULES_DIR}/local.yaml
json_output: true
json_include_tags_property: false
priority: warning
engine:
  kind: replay
  replay:
    capture_file: /tmp/x.scap
  modern_ebpf:
    cpus_for_each_buffer: 1
    buf_size_preset: 5
rule_matching: all
base_syscalls:
  custom_set: [clone, "!getppid"]
webserver:
  enabled: true
  listen_port: 8765
"#;

#[test]
fn reads_keys_ignores_others_and_expands_env() {
    std::env::set_var("OSPREY_TEST_RULES_DIR", "/srv/rules");
    let cfg = Raw::parse("falco.yaml", SAMPLE).unwrap().typed().unwrap();
    assert_eq!(
        cfg.rules_files,
        ["/etc/falco/falco_rules.yaml", "/srv/rules/local.yaml"]
    );
    assert!(cfg.json_output);
    assert!(!cfg.json_include_tags_property);
    assert!(cfg.json_include_output_property, "default kept");
    assert_eq!(cfg.priority, "warning");
    assert_eq!(cfg.engine.kind, EngineKind::Replay);
    assert_eq!(cfg.engine.replay.capture_file, "/tmp/x.scap");
    assert_eq!(cfg.engine.modern_ebpf.cpus_for_each_buffer, 1);
    assert_eq!(cfg.engine.modern_ebpf.ring_size(), Some(16 << 20));
    assert_eq!(cfg.rule_matching, RuleMatching::All);
    assert_eq!(cfg.base_syscalls.custom_set, ["clone", "!getppid"]);
}

#[test]
fn defaults_without_a_file() {
    let cfg = Raw::empty().typed().unwrap();
    assert_eq!(cfg.engine.kind, EngineKind::ModernEbpf);
    assert_eq!(cfg.engine.modern_ebpf.ring_size(), Some(8 << 20));
    assert_eq!(cfg.rule_matching, RuleMatching::First);
    assert_eq!(cfg.falco_libs.snaplen, 80);
    assert_eq!(
        cfg.rules_files,
        [
            "/etc/falco/falco_rules.yaml",
            "/etc/falco/falco_rules.local.yaml",
            "/etc/falco/rules.d",
            "/etc/osprey/rules.d",
        ]
    );
}

#[test]
fn overrides_by_dotted_path() {
    let mut raw = Raw::parse(
        "falco.yaml",
        "rules_files: [/x.yaml, /y.yaml]\njson_output: true\nengine: {kind: replay}\n",
    )
    .unwrap();
    raw.set("engine.kind=modern_ebpf").unwrap();
    raw.set("json_output=false").unwrap();
    raw.set("falco_libs.snaplen=256").unwrap();
    raw.set("rules_files[0]=/a.yaml").unwrap();
    raw.set("rules_files[]=/b.yaml").unwrap();
    raw.set("rules[].disable.rule=*").unwrap();
    raw.set("rules[].enable.tag=network").unwrap();
    raw.set(r"static_fields.my\.key=v").unwrap();
    let cfg = raw.typed().unwrap();
    assert_eq!(cfg.engine.kind, EngineKind::ModernEbpf);
    assert!(!cfg.json_output);
    assert_eq!(cfg.falco_libs.snaplen, 256);
    assert_eq!(cfg.rules_files, ["/a.yaml", "/y.yaml", "/b.yaml"]);
    assert_eq!(
        cfg.rules,
        [
            RuleToggle::Disable(RuleSelector::Rule("*".into())),
            RuleToggle::Enable(RuleSelector::Tag("network".into())),
        ]
    );
    assert_eq!(raw.tree["static_fields"]["my.key"], "v");
}

#[test]
fn legacy_rules_file_key() {
    let raw = Raw::parse("falco.yaml", "rules_file: [/x.yaml]\n").unwrap();
    assert_eq!(raw.typed().unwrap().rules_files, ["/x.yaml"]);
}

#[test]
fn errors_name_the_place() {
    let e = Raw::parse("falco.yaml", "a: [1, 2\nb: 3\n").unwrap_err();
    assert!(
        matches!(e, Error::Yaml { line: 2, .. } | Error::Yaml { line: 3, .. }),
        "{e}"
    );
    assert!(e.to_string().starts_with("falco.yaml:"), "{e}");

    let mut raw = Raw::empty();
    for bad in ["novalue", "=x", "a..b=1", "a[x]=1", "a[1=2"] {
        assert!(
            matches!(raw.set(bad), Err(Error::Override(_))),
            "{bad} accepted"
        );
    }

    let raw = Raw::parse("falco.yaml", "engine: {kind: gvisor}\n").unwrap();
    let e = raw.typed().unwrap_err();
    assert!(
        e.to_string().contains("gvisor") && e.to_string().starts_with("falco.yaml:"),
        "{e}"
    );
    let raw = Raw::parse("falco.yaml", "json_output: maybe\n").unwrap();
    assert!(raw.typed().is_err());
}

#[test]
fn append_output_entries() {
    let yaml = r#"
append_output:
  - suggested_output: true
  - match:
      source: syscall
      tags: [filesystem]
      rule: open_from_cat
    extra_output: "on %evt.cpu"
    extra_fields:
      - evt.hostname
      - home: "${OSPREY_TEST_APPEND_HOME}"
"#;
    std::env::set_var("OSPREY_TEST_APPEND_HOME", "/root");
    let mut raw = Raw::parse("falco.yaml", yaml).unwrap();
    let got = raw.append_output().unwrap();
    assert_eq!(got.len(), 1, "the suggested_output entry adds nothing");
    let e = &got[0];
    assert_eq!(e.source.as_deref(), Some("syscall"));
    assert_eq!(e.rule.as_deref(), Some("open_from_cat"));
    assert!(e.tags.contains("filesystem"));
    assert_eq!(e.extra_output, "on %evt.cpu");
    assert_eq!(
        e.extra_fields,
        [
            ExtraField::Field("evt.hostname".into()),
            ExtraField::Formatted {
                name: "home".into(),
                format: "/root".into()
            }
        ]
    );
    // -o appends entries.
    raw.set("append_output[].extra_output=tail").unwrap();
    raw.set("append_output[2].extra_fields[]=proc.pid").unwrap();
    let got = raw.append_output().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].extra_output, "tail");
    assert_eq!(got[1].extra_fields, [ExtraField::Field("proc.pid".into())]);
    assert!(got[1].source.is_none());
    // Falco's test-suite form turns the default entry off.
    let mut raw = Raw::empty();
    raw.set("append_output.suggested_output=false").unwrap();
    assert!(raw.append_output().unwrap().is_empty());
    // Wrong types are errors naming the key.
    let raw = Raw::parse("f.yaml", "append_output:\n  - extra_fields: 3\n").unwrap();
    let err = raw.append_output().unwrap_err().to_string();
    assert!(err.contains("append_output[0].extra_fields"), "{err}");
}
