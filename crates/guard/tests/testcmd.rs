//! End-to-end tests of `osprey-guard test`: the example specs of rules/tests
//! against the default rules, a capture-based spec over a shared capture,
//! and failing or broken specs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn guard_test(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_osprey-guard"))
        .arg("test")
        .args(args)
        .output()
        .expect("run osprey-guard")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write spec");
    p
}

const DEFAULT_RULES: &str = "rules/osprey_rules.yaml";

#[test]
fn example_specs_pass_against_the_default_rules() {
    let root = repo();
    let out = guard_test(&[
        Path::new("-r"),
        &root.join(DEFAULT_RULES),
        &root.join("rules/tests/osprey_rules.yaml"),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("PASS python3 reads /etc/shadow\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS passwd reads /etc/shadow (an account tool)\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.ends_with("17 passed, 0 failed\n"), "{stdout}");
}

#[test]
fn capture_specs_pass_over_the_shared_capture() {
    let cap = repo().join("../shared/captures/falco_cat_write.scap");
    if !cap.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "missing capture {}",
            cap.display()
        );
        eprintln!("SKIPPED: missing capture {}", cap.display());
        return;
    }
    let root = repo();
    let out = guard_test(&[
        Path::new("-r"),
        &root.join(DEFAULT_RULES),
        &root.join("rules/tests/captures.yaml"),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(
        stdout,
        "PASS cat opens four files in falco_cat_write.scap\n\
         PASS only the spec's rules fire on falco_cat_write.scap\n\
         2 passed, 0 failed\n"
    );
}

#[test]
fn a_wrong_count_fails_with_exit_status_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = write(
        dir.path(),
        "failing.yaml",
        "
- name: python3 reads /etc/shadow twice
  events:
    - type: openat
      proc: {pid: 42, name: python3, exe: /usr/bin/python3}
      args: {name: /etc/shadow, flags: O_RDONLY, fd: 3}
  expect:
    Credential file read by unexpected program: 2
- name: cat stays quiet
  events:
    - {type: openat, proc: {pid: 43, name: cat}, args: {name: /etc/hostname, fd: 3}}
  strict: true
",
    );
    let out = guard_test(&[Path::new("-r"), &repo().join(DEFAULT_RULES), &spec]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "FAIL python3 reads /etc/shadow twice: rule Credential file read by unexpected program expected 2 got 1\n\
         PASS cat stays quiet\n\
         1 passed, 1 failed\n"
    );
}

#[test]
fn inline_rules_alone_need_no_rules_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = write(
        dir.path(),
        "inline.yaml",
        "
rules: |
  - rule: tmp_write
    desc: d
    condition: evt.type = openat and evt.is_open_write = true and fd.name startswith /tmp/
    output: w %fd.name
    priority: NOTICE
matching: all
cases:
  - name: writes under /tmp
    events:
      - {type: openat, proc: {pid: 5, name: sh}, args: {name: /tmp/a, flags: O_WRONLY|O_CREAT, fd: 3}}
      - {type: openat, args: {name: /tmp/b, flags: O_RDONLY, fd: 4}}
      - {type: openat, args: {name: /tmp/c, flags: O_RDWR, fd: 5}}
    expect: {tmp_write: 2}
",
    );
    let out = guard_test(&[&spec]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout),
        "PASS writes under /tmp\n1 passed, 0 failed\n"
    );
}

#[test]
fn broken_specs_report_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad_yaml = write(dir.path(), "bad.yaml", "- name: x\n  events: [\n");
    let out = guard_test(&[Path::new("-r"), &repo().join(DEFAULT_RULES), &bad_yaml]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}:3:", bad_yaml.display())),
        "{stderr}"
    );
    assert!(stderr.contains("invalid YAML"), "{stderr}");
    assert_eq!(
        text(&out.stdout),
        "0 passed, 0 failed, 1 spec file(s) not run\n"
    );

    let unknown_rule = write(
        dir.path(),
        "unknown.yaml",
        "- events:\n    - {type: close, proc: {pid: 1, name: x}}\n  expect:\n    No such rule: 1\n",
    );
    let out = guard_test(&[Path::new("-r"), &repo().join(DEFAULT_RULES), &unknown_rule]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr,
        format!(
            "{}:4:19: no rule named 'No such rule' is loaded\n",
            unknown_rule.display()
        )
    );

    let no_rules = write(dir.path(), "norules.yaml", "- capture: x.scap\n");
    let out = guard_test(&[&no_rules]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no rules"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_missing_capture_fails_its_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = write(
        dir.path(),
        "missing.yaml",
        "rules: \"- list: l\\n  items: []\"\ncases:\n  - {name: gone, capture: nope.scap}\n",
    );
    let out = guard_test(&[&spec]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("FAIL gone: "), "{stdout}");
    assert!(stdout.contains("nope.scap"), "{stdout}");
}
