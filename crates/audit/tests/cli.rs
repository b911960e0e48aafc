//! The `osprey-audit` binary: evaluate, check, lint and simulate contracts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_osprey-audit");

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [\"system:kube-proxy\"]
  verbs: [watch]
- level: RequestResponse
  resources: [{group: \"\", resources: [pods]}]
  omitStages: [Panic]
- level: Request
  nonResourceURLs: [\"/logs*\"]
  omitManagedFields: true
- level: Metadata
";

const EVENTS: &str = r#"{"auditID":"a","verb":"watch","user":{"username":"system:kube-proxy"},"objectRef":{"resource":"endpoints"}}
{"auditID":"b","verb":"get","user":{"username":"u"},"objectRef":{"resource":"pods","namespace":"x"}}
{"auditID":"c","verb":"get","requestURI":"/logsfoo?x"}
{"auditID":"d","verb":"get","objectRef":{"resource":"pods","subresource":"log"}}
"#;

const EXPECTED: &str = r#"{"auditID":"a","level":"None","omitStages":["RequestReceived"],"omitManagedFields":false}
{"auditID":"b","level":"RequestResponse","omitStages":["RequestReceived","Panic"],"omitManagedFields":false}
{"auditID":"c","level":"Request","omitStages":["RequestReceived"],"omitManagedFields":true}
{"auditID":"d","level":"Metadata","omitStages":["RequestReceived"],"omitManagedFields":false}
"#;

#[test]
fn evaluate_files_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yaml", POLICY);
    let events = write(dir.path(), "e.json", EVENTS);
    let p = policy.to_str().unwrap();
    let o = run(&["evaluate", "--policy", p, events.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), EXPECTED);
    // `-` and no file both read stdin; an EventList works too.
    let o = run(&["evaluate", "--policy", p, "-"], Some(EVENTS));
    assert_eq!(stdout(&o), EXPECTED);
    let list = format!(
        "{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{}]}}",
        EVENTS.trim_end().replace('\n', ",")
    );
    let o = run(&["evaluate", "--policy", p], Some(&list));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), EXPECTED);
}

#[test]
fn evaluate_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yaml", POLICY);
    let bad = write(
        dir.path(),
        "bad.json",
        "{\"auditID\":\"a\"}\n{\"auditID\":}\n",
    );
    let o = run(
        &[
            "evaluate",
            "--policy",
            policy.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o).lines().count(), 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:2:12: expected value (byte offset 27)",
            bad.display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // A missing file, and an invalid policy.
    let o = run(
        &[
            "evaluate",
            "--policy",
            policy.to_str().unwrap(),
            "/nonexistent/x",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/x"), "{}", stderr(&o));
    let badp = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n",
    );
    let o = run(
        &["evaluate", "--policy", badp.to_str().unwrap(), "-"],
        Some(""),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("bad.yaml: line 4, column 10: rules[0].level: Unsupported value: \"Loud\""),
        "{err}"
    );
}

#[test]
fn check_exit_codes_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.yaml", POLICY);
    let o = run(&["check", "--policy", good.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(stdout(&o), "");
    let bad = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n- level: None\n  nonResourceURLs: [logs]\n  resources: [{group: Apps, resources: [x]}]\n",
    );
    let o = run(&["check", "--policy", bad.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0],
        r#"rules[0].level: Unsupported value: "Loud": supported values: "None", "Metadata", "Request", "RequestResponse""#
    );
    assert_eq!(
        lines[1],
        r#"rules[1].nonResourceURLs[0]: Invalid value: "logs": non-resource URL rules must begin with a '/' character"#
    );
    assert!(lines[2].starts_with(
        r#"rules[1].resources.group: Invalid value: "Apps": a lowercase RFC 1123 subdomain"#
    ));
    assert_eq!(
        lines[3],
        r#"rules[1].nonResourceURLs: Invalid value: []string{"logs"}: rules cannot apply to both regular resources and non-resource URLs"#
    );
    let empty = write(
        dir.path(),
        "empty.yaml",
        "apiVersion: audit.k8s.io/v1\nkind: Policy\n",
    );
    let o = run(&["check", "--policy", empty.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "loaded illegal policy with 0 rules\n");
    let o = run(&["check", "--policy", "/nonexistent.yaml"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent.yaml"));
}

#[test]
fn lint_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let clean = write(dir.path(), "clean.yaml", POLICY);
    let o = run(&["lint", "--policy", clean.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(stdout(&o), "");
    let messy = write(
        dir.path(),
        "messy.yaml",
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  verbs: [get, list]\n- level: None\n  verbs: [get]\n  omitStages: [Panic]\n- level: Request\n  verbs: [\"*\"]\n- level: Request\n  nonResourceURLs: [/x]\n  namespaces: [a]\n",
    );
    let o = run(&["lint", "--policy", messy.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "rules[3] (line 12): invalid: rules[3].nonResourceURLs: Invalid value: []string{\"/x\"}: rules cannot apply to both regular resources and non-resource URLs",
            "rules[1] (line 6): shadowed: every request it matches is matched first by rules[0] (line 4, level Metadata)",
            "rules[2] (line 9): never-matches: \"*\" is not a wildcard in verbs: it only matches the literal name \"*\"",
        ],
        "{out}"
    );
}

#[test]
fn simulate_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yaml", POLICY);
    let events = write(dir.path(), "e.json", EVENTS);
    let p = policy.to_str().unwrap();
    let e = events.to_str().unwrap();
    let o = run(&["simulate", "--policy", p, e], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("events: 4\n"), "{out}");
    assert!(
        out.contains("\n1          8  RequestResponse           1   25.0%\n"),
        "{out}"
    );
    assert!(out.contains("recorded: 3 of 4 events\n"), "{out}");
    let o = run(&["simulate", "--json", "--policy", p, e, e], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["events"], 8);
    assert_eq!(v["levels"]["None"], 2);
    assert_eq!(v["recorded"], 6);
    assert_eq!(v["bytesIn"], 2 * EVENTS.len() as u64);
    // simulate needs at least one log.
    let o = run(&["simulate", "--policy", p], None);
    assert_ne!(o.status.code(), Some(0));
}
