//! `osprey-audit query` end to end: table, `--json`, `-o FORMAT`, gzip and
//! standard input, and a bad filter (exit 1 with a caret).

use std::io::Write;
use std::process::{Command, Stdio};

const LOG: &str = concat!(
    r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/secrets/db","verb":"get","user":{"username":"alice","groups":["devs"]},"objectRef":{"resource":"secrets","namespace":"prod","name":"db"},"responseStatus":{"metadata":{},"code":200},"stageTimestamp":"2024-05-01T10:00:00.000001Z"}"#,
    "\n",
    r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"2","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/pods","verb":"list","user":{"username":"bob","groups":["ops"]},"objectRef":{"resource":"pods","namespace":"prod"},"responseStatus":{"metadata":{},"code":200},"stageTimestamp":"2024-05-01T10:00:01.000001Z"}"#,
    "\n",
    "not json\n",
    r#"{"kind":"EventList","items":[{"auditID":"3","stage":"ResponseComplete","verb":"delete","requestURI":"/api/v1/namespaces/dev","user":{"username":"alice","groups":["devs"]},"objectRef":{"resource":"namespaces","name":"dev"},"responseStatus":{"code":403},"stageTimestamp":"2024-05-01T10:00:02Z"}]}"#,
    "\n",
);

fn query(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_osprey-audit"))
        .arg("query")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn log_file(dir: &std::path::Path) -> String {
    let p = dir.join("audit.log");
    std::fs::write(&p, LOG).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn table_of_matches() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_file(dir.path());
    let (code, out, err) = query(&["ka.user.groups intersects (devs)", &log], None);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let cols = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        cols(lines[0]),
        [
            "TIME",
            "USER",
            "VERB",
            "RESOURCE",
            "NAMESPACE",
            "NAME",
            "CODE"
        ]
    );
    assert_eq!(
        cols(lines[1]),
        [
            "2024-05-01T10:00:00.000001Z",
            "alice",
            "get",
            "secrets",
            "prod",
            "db",
            "200"
        ]
    );
    assert_eq!(
        cols(lines[2]),
        [
            "2024-05-01T10:00:02Z",
            "alice",
            "delete",
            "namespaces",
            "-",
            "dev",
            "403"
        ]
    );
    assert!(
        err.contains("audit.log: skipped: line 3, column 2: invalid JSON"),
        "{err}"
    );
}

#[test]
fn json_lines_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_file(dir.path());
    let (code, out, _) = query(&["--json", "ka.verb in (get, list)", &log], None);
    assert_eq!(code, 0);
    // Log lines come out unchanged.
    let want: Vec<&str> = LOG.lines().take(2).collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), want);

    let (code, out, _) = query(
        &[
            "-o",
            "%ka.auditid %ka.user.name %ka.response.code",
            "ka.response.code != 200",
            &log,
        ],
        None,
    );
    assert_eq!(code, 0);
    assert_eq!(out, "3 alice 403\n");
}

#[test]
fn gzip_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("audit-2024-05-01T10-00-00.000.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(LOG.as_bytes()).unwrap();
    enc.finish().unwrap();
    let (code, out, _) = query(
        &[
            "-o",
            "%ka.auditid",
            "ka.auditid exists",
            gz.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0);
    assert_eq!(out, "1\n2\n3\n");
    let (code, out, _) = query(
        &["-o", "%ka.auditid", "ka.user.name=bob"],
        Some(LOG.as_bytes()),
    );
    assert_eq!(code, 0);
    assert_eq!(out, "2\n");
}

#[test]
fn a_bad_filter_fails_with_a_caret() {
    let (code, out, err) = query(&["ka.verb = get and (ka.user.name = x", "-"], Some(b""));
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("filter error at column"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.contains(&"ka.verb = get and (ka.user.name = x"),
        "{err}"
    );
    assert!(lines.iter().any(|l| l.trim_start() == "^"), "{err}");

    let (code, _, err) = query(&["-o", "%ka.nope", "ka.verb=get", "-"], Some(b""));
    assert_eq!(code, 1);
    assert!(err.contains("ka.nope"), "{err}");
}
