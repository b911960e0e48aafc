//! falco.yaml's `append_output` end to end: a replay of a shared capture
//! with a small rules file, checking the text line and the JSON
//! `output_fields` of the alerts.

mod common;

use common::capture;
use std::process::Command;

const RULES: &str = "
- rule: open_from_cat
  desc: cat opened a file
  condition: evt.type in (open, openat) and proc.name = cat
  output: An open was seen (command=%proc.cmdline file=%fd.name)
  priority: WARNING
  tags: [filesystem, testing]
";

const CONFIG: &str = r#"
stdout_output:
  enabled: true
syslog_output:
  enabled: false
time_format_iso_8601: true
append_output:
  - suggested_output: true
  - match:
      source: syscall
      tags: [filesystem]
    extra_output: "by %proc.name"
    extra_fields:
      - proc.pid
      - home: "/root"
      - who: "%proc.name as %user.name"
  - match:
      rule: some_other_rule
    extra_output: "NOT FOR THIS RULE"
    extra_fields: [proc.ppid]
  - match:
      tags: [filesystem, network]
    extra_output: "NOR THIS ONE"
  - match:
      source: k8s_audit
    extra_output: "NOR THIS"
"#;

fn guard(dir: &std::path::Path, cap: &str, extra: &[&str]) -> String {
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let config = dir.join("falco.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_osprey-guard"))
        .env("FALCO_HOSTNAME", "test-host")
        .env("TZ", "UTC")
        .args(["-c", config.to_str().unwrap()])
        .args(["-r", rules.to_str().unwrap(), "-e", cap])
        .args(extra)
        .output()
        .expect("run osprey-guard");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn extra_output_and_fields_reach_text_and_json() {
    let Some(cap) = capture("falco_cat_write.scap") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cap = cap.to_str().unwrap();

    let text = guard(dir.path(), cap, &[]);
    // The same 4 alerts as without append_output (tests/cli.rs).
    assert_eq!(text.lines().count(), 4, "{text}");
    assert_eq!(
        text.lines().next().unwrap(),
        "2016-08-04T16:17:57.881785348+0000: Warning An open was seen \
         (command=cat /dev/null file=/etc/ld.so.cache) by cat"
    );

    let json = guard(dir.path(), cap, &["-o", "json_output=true"]);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["output"],
        "2016-08-04T16:17:57.881785348+0000: Warning An open was seen \
         (command=cat /dev/null file=/etc/ld.so.cache) by cat"
    );
    let fields = first["output_fields"].as_object().unwrap();
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    // Sorted as Falco's JSON map; proc.ppid (another rule's entry) absent.
    assert_eq!(
        keys,
        [
            "evt.time.iso8601",
            "fd.name",
            "home",
            "proc.cmdline",
            "proc.name",
            "proc.pid",
            "who"
        ]
    );
    assert_eq!(fields["fd.name"], "/etc/ld.so.cache");
    assert_eq!(fields["home"], "/root");
    assert_eq!(fields["proc.name"], "cat");
    assert!(fields["proc.pid"].is_u64(), "typed: {}", fields["proc.pid"]);
    // The capture has no user table: a missing value renders as <NA>
    // (sysdig -r ... -p %user.name prints nothing better).
    assert_eq!(fields["who"], "cat as <NA>");
    // The raw line keeps the sorted key order too.
    let line = json.lines().next().unwrap();
    let at = |k: &str| line.find(&format!("\"{k}\":")).unwrap();
    assert!(at("fd.name") < at("home") && at("home") < at("proc.cmdline"));
    assert!(at("proc.pid") < at("who"));
}

#[test]
fn append_output_from_the_command_line() {
    let Some(cap) = capture("falco_cat_write.scap") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cap = cap.to_str().unwrap();
    // Entry 5 (after the file's five) appended by -o.
    let text = guard(
        dir.path(),
        cap,
        &[
            "-o",
            "append_output[].extra_output=pid=%proc.pid",
            "-o",
            "append_output[5].match.rule=open_from_cat",
        ],
    );
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(
            "2016-08-04T16:17:57.881785348+0000: Warning An open was seen \
             (command=cat /dev/null file=/etc/ld.so.cache) by cat pid="
        ),
        "{first}"
    );
}
