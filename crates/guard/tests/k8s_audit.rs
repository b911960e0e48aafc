//! The `k8s_audit` source of osprey-guard: our default audit rules on
//! synthetic events (each fires on its event and not on a benign variant),
//! audit log replay (`--k8s-audit-file`, plain and gzip) and the webhook
//! endpoint configured as Falco's k8saudit plugin.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use osprey_audit::fields::{KaEvent, KaFields, SOURCE};
use osprey_filter::timefmt::LocalClock;
use osprey_guard::audit_source::{builtin_rules, load_options};
use osprey_rules::{LoadOptions, Matching, Ruleset};
use serde_json::{json, Value};

fn defaults() -> Ruleset {
    let (rules, res) = Ruleset::load(&[builtin_rules()], &load_options(LoadOptions::default()));
    assert!(res.successful(), "{res}");
    assert!(res.warnings.is_empty(), "{res}");
    rules
}

/// A successful request at ResponseComplete, with `extra` merged in.
fn event(extra: &Value) -> Value {
    let mut v = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": "0b3c6a5e-5a3f-4d1e-9d7c-2f6f4c1a9e10",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods",
        "verb": "create",
        "user": {"username": "alice", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.7"],
        "userAgent": "kubectl/v1.30.0",
        "objectRef": {"resource": "pods", "namespace": "default", "name": "web", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": "2024-05-01T10:00:00.000000Z",
        "stageTimestamp": "2024-05-01T10:00:00.100000Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    });
    merge(&mut v, extra);
    v
}

/// Deep-merges `extra` into `v` (`null` removes a key).
fn merge(v: &mut Value, extra: &Value) {
    match (v, extra) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, x) in b {
                if x.is_null() {
                    a.remove(k);
                } else {
                    merge(a.entry(k.clone()).or_insert(Value::Null), x);
                }
            }
        }
        (v, x) => *v = x.clone(),
    }
}

fn fired(rules: &Ruleset, v: &Value) -> BTreeSet<String> {
    let ev = KaEvent::from_value(v.clone(), 1).unwrap();
    let clock = LocalClock::new();
    let mut hits = Vec::new();
    rules.evaluate_source(
        SOURCE,
        &KaFields::new(&ev, &clock),
        Matching::All,
        &mut hits,
    );
    hits.iter()
        .map(|&id| rules.rule(id).unwrap().name.clone())
        .collect()
}

fn pod(spec: &Value) -> Value {
    json!({"requestObject": {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web"}, "spec": spec},
           "responseObject": {"kind": "Pod", "metadata": {"name": "web"}}})
}

/// (rule, event that raises it, benign variant that does not).
fn cases() -> Vec<(&'static str, Value, Value)> {
    let nginx = json!([{"name": "web", "image": "nginx:1.25"}]);
    vec![
        (
            "Interactive Session In Pod",
            event(&json!({"stage": "ResponseStarted", "verb": "create",
                "requestURI": "/api/v1/namespaces/default/pods/web/exec?command=sh&container=web&stdin=true",
                "objectRef": {"subresource": "exec"}, "responseStatus": {"code": 101}})),
            event(&json!({"stage": "ResponseStarted", "verb": "get",
                "requestURI": "/api/v1/namespaces/default/pods/web/log?follow=true",
                "objectRef": {"subresource": "log"}, "responseStatus": {"code": 200}})),
        ),
        (
            "Privileged Pod Requested",
            event(&pod(
                &json!({"containers": [{"name": "a", "image": "nginx"}],
                "initContainers": [{"name": "i", "image": "busybox", "securityContext": {"privileged": true}}]}),
            )),
            event(&pod(
                &json!({"containers": [{"name": "a", "image": "nginx", "securityContext": {"privileged": false}}]}),
            )),
        ),
        (
            "Sensitive Host Path Mounted By Pod",
            event(&pod(&json!({"containers": nginx,
                "volumes": [{"name": "sock", "hostPath": {"path": "/run/containerd/containerd.sock"}}]}))),
            event(&pod(&json!({"containers": nginx,
                "volumes": [{"name": "data", "hostPath": {"path": "/data/web"}}, {"name": "c", "configMap": {"name": "x"}}]}))),
        ),
        (
            "Broad Or Secret-Writing Role Defined",
            event(
                &json!({"requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                "objectRef": {"resource": "clusterroles", "namespace": null, "name": "ops"},
                "requestObject": {"kind": "ClusterRole", "rules": [
                    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "update"]}]}}),
            ),
            event(
                &json!({"requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                "objectRef": {"resource": "clusterroles", "namespace": null, "name": "ops"},
                "requestObject": {"kind": "ClusterRole", "rules": [
                    {"apiGroups": [""], "resources": ["secrets", "pods"], "verbs": ["get", "list"]}]}}),
            ),
        ),
        (
            "Cluster Admin Granted",
            event(
                &json!({"objectRef": {"resource": "clusterrolebindings", "namespace": null, "name": "b"},
                "requestObject": {"kind": "ClusterRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
                    "subjects": [{"kind": "User", "name": "bob"}]}}),
            ),
            event(
                &json!({"objectRef": {"resource": "clusterrolebindings", "namespace": null, "name": "b"},
                "requestObject": {"kind": "ClusterRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "view"},
                    "subjects": [{"kind": "User", "name": "bob"}]}}),
            ),
        ),
        (
            "Secret Read By Unexpected User",
            event(
                &json!({"verb": "get", "requestURI": "/api/v1/namespaces/default/secrets/db",
                "objectRef": {"resource": "secrets", "name": "db"}, "responseStatus": {"code": 200}}),
            ),
            event(
                &json!({"verb": "get", "requestURI": "/api/v1/namespaces/default/secrets/db",
                "user": {"username": "system:serviceaccount:default:app"},
                "objectRef": {"resource": "secrets", "name": "db"}, "responseStatus": {"code": 200}}),
            ),
        ),
        (
            "Anonymous API Request Allowed",
            event(
                &json!({"verb": "list", "requestURI": "/api/v1/nodes", "user": {"username": "system:anonymous"},
                "objectRef": {"resource": "nodes", "namespace": null}, "responseStatus": {"code": 200}}),
            ),
            event(
                &json!({"verb": "get", "requestURI": "/healthz?verbose", "user": {"username": "system:anonymous"},
                "objectRef": null, "responseStatus": {"code": 200}}),
            ),
        ),
        (
            "ConfigMap Holds Credentials",
            event(
                &json!({"objectRef": {"resource": "configmaps", "name": "app"},
                "requestObject": {"kind": "ConfigMap", "data": {"app.env": "DB_PASSWORD=hunter2\n"}}}),
            ),
            event(
                &json!({"objectRef": {"resource": "configmaps", "name": "app"},
                "requestObject": {"kind": "ConfigMap", "data": {"app.env": "LOG_LEVEL=debug\n"}}}),
            ),
        ),
        (
            "Pod Created In Kube-System By User",
            event(&json!({"objectRef": {"namespace": "kube-system"}})),
            event(&json!({"objectRef": {"namespace": "kube-system"},
                "user": {"username": "system:serviceaccount:kube-system:daemon-set-controller"}})),
        ),
        (
            "Namespace Deleted By User",
            event(
                &json!({"verb": "delete", "requestURI": "/api/v1/namespaces/team-a",
                "objectRef": {"resource": "namespaces", "namespace": null, "name": "team-a"},
                "responseStatus": {"code": 200}}),
            ),
            event(
                &json!({"verb": "delete", "requestURI": "/api/v1/namespaces/team-a",
                "objectRef": {"resource": "namespaces", "namespace": null, "name": "team-a"},
                "responseStatus": {"code": 403}}),
            ),
        ),
    ]
}

#[test]
fn each_default_rule_fires_on_its_event_and_not_on_a_benign_one() {
    let rules = defaults();
    let cases = cases();
    assert_eq!(cases.len(), rules.rules().len(), "a case per default rule");
    for (name, bad, benign) in &cases {
        assert!(rules.find(name).is_some(), "no rule {name}");
        let got = fired(&rules, bad);
        assert!(got.contains(*name), "{name} did not fire: {got:?}");
        let got = fired(&rules, benign);
        assert!(
            !got.contains(*name),
            "{name} fired on the benign event: {got:?}"
        );
    }
    // A plain pod create by a user in default raises nothing.
    let plain = event(&pod(
        &json!({"containers": [{"name": "a", "image": "nginx"}]}),
    ));
    assert!(fired(&rules, &plain).is_empty());
}

fn guard() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_osprey-guard"));
    c.env("FALCO_HOSTNAME", "test-host").env("TZ", "UTC").args([
        "-o",
        "syslog_output.enabled=false",
        "-o",
        "json_output=true",
    ]);
    c
}

fn alerts(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sample_log(dir: &std::path::Path) -> PathBuf {
    let p = dir.join("audit.log");
    let mut f = std::fs::File::create(&p).unwrap();
    for (_, bad, benign) in cases() {
        writeln!(f, "{bad}").unwrap();
        writeln!(f, "{benign}").unwrap();
    }
    writeln!(f, "{{\"kind\": 0}}").unwrap();
    p
}

#[test]
fn audit_file_replay_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let out = guard()
        .args([
            "-o",
            "rule_matching=all",
            "--k8s-audit-file",
            log.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = alerts(&out.stdout);
    let names: BTreeSet<&str> = got.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 10, "{names:?}");
    for a in &got {
        assert_eq!(a["source"], "k8s_audit");
        assert_eq!(a["hostname"], "test-host");
        assert_eq!(a["time"], "2024-05-01T10:00:00.100000000Z");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("data not recognized as a k8s audit event"),
        "{stderr}"
    );
    assert!(
        stderr.contains("audit events read: 20; audit events dropped: 1"),
        "{stderr}"
    );

    // The same log gzipped (as rotated audit logs are).
    let gz = dir.path().join("audit.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&log).unwrap()).unwrap();
    enc.finish().unwrap();
    let out2 = guard()
        .args([
            "-o",
            "rule_matching=all",
            "--k8s-audit-file",
            gz.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(alerts(&out2.stdout), got);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends one HTTP request and returns the status code and body.
fn http(port: u16, method: &str, ctype: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let code = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (code, body)
}

#[test]
fn webhook_endpoint_configured_as_the_falco_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("falco.yaml");
    std::fs::write(
        &cfg,
        format!(
            "engine:\n  kind: nodriver\nload_plugins: [k8saudit, json]\nplugins:\n  - name: k8saudit\n    library_path: libk8saudit.so\n    init_config: ''\n    open_params: 'http://127.0.0.1:{port}/k8s-audit'\n  - name: json\n    library_path: libjson.so\n"
        ),
    )
    .unwrap();
    let child = guard()
        .args(["-c", cfg.to_str().unwrap(), "-M", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the endpoint did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        http(port, "GET", "application/json", ""),
        (405, "GET method not allowed".into())
    );
    assert_eq!(
        http(port, "POST", "text/plain", "{}"),
        (400, "wrong Content Type".into())
    );
    // An EventList, as the apiserver's webhook backend batches events (the
    // items carry no kind), then a single Event.
    let cases = cases();
    let items: Vec<Value> = cases
        .iter()
        .take(3)
        .map(|(_, bad, _)| {
            let mut v = bad.clone();
            merge(&mut v, &json!({"kind": null, "apiVersion": null}));
            v
        })
        .collect();
    let list = json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items});
    assert_eq!(
        http(port, "POST", "application/json", &list.to_string()).0,
        200
    );
    assert_eq!(
        http(
            port,
            "POST",
            "application/json; charset=utf-8",
            &cases[4].1.to_string()
        )
        .0,
        200
    );
    // SIGTERM ends the run; what was acknowledged is still evaluated.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = alerts(&out.stdout)
        .iter()
        .map(|a| {
            assert_eq!(a["source"], "k8s_audit");
            a["rule"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "Interactive Session In Pod",
            "Privileged Pod Requested",
            "Sensitive Host Path Mounted By Pod",
            "Cluster Admin Granted"
        ]
    );
}
