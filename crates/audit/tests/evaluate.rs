//! The shared sample events (Falco's k8s_audit trace files): read them all, check
//! they round-trip, and evaluate them with realistic policies.

use osprey_audit::event::{apply, Event, Events, Level};
use osprey_audit::policy::Policy;
use std::path::{Path, PathBuf};

const EVENTS_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/compat/k8s-audit/events"
);

/// The fixture directory, or `None` (after saying so) when it is missing outside CI.
fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(EVENTS_DIR);
    if dir.is_dir() {
        return Some(dir.to_owned());
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "fixture directory {EVENTS_DIR} is missing"
    );
    eprintln!("SKIPPED: fixture directory {EVENTS_DIR} is missing");
    None
}

/// (file name, events, errors as strings) for every fixture file, sorted by name.
fn read_all(dir: &Path) -> Vec<(String, Vec<Event>, Vec<String>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let (mut ok, mut bad) = (Vec::new(), Vec::new());
            for r in Events::new(&data, &name) {
                match r {
                    Ok(e) => ok.push(e),
                    Err(e) => bad.push(e.to_string()),
                }
            }
            (name, ok, bad)
        })
        .collect()
}

fn event(files: &[(String, Vec<Event>, Vec<String>)], name: &str) -> Event {
    let f = files
        .iter()
        .find(|f| f.0 == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    f.1[0].clone()
}

/// The policy falcosecurity/plugins ships for its k8saudit rules (spec §5.3).
const FALCO_POLICY: &str = include_str!("../testdata/falco-audit-policy.yaml");

#[test]
fn every_fixture_reads_and_round_trips() {
    let Some(dir) = fixtures() else { return };
    let files = read_all(&dir);
    assert_eq!(files.len(), 47);
    let events: usize = files.iter().map(|f| f.1.len()).sum();
    assert_eq!(events, 51);
    let errors: Vec<&String> = files.iter().flat_map(|f| &f.2).collect();
    // The one malformed sample: `{"kind": 0}`.
    assert_eq!(
        errors,
        ["fal_01_003.json:1:10: invalid type: integer `0`, expected a string (byte offset 9)"]
    );
    for (name, evs, errs) in &files {
        if !errs.is_empty() {
            continue;
        }
        let data = std::fs::read_to_string(dir.join(name)).unwrap();
        let originals: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&data)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(originals.len(), evs.len(), "{name}");
        for (orig, ev) in originals.iter().zip(evs) {
            // Nothing is lost or changed, unknown (v1beta1) members included.
            let text = serde_json::to_string(ev).unwrap();
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(&back, orig, "{name}");
            assert!(ev.audit_id.is_some() && ev.stage.is_some(), "{name}");
        }
    }
}

#[test]
fn falco_policy_levels() {
    let Some(dir) = fixtures() else { return };
    let files = read_all(&dir);
    let policy = Policy::from_yaml(FALCO_POLICY).unwrap().policy;
    let cases = [
        (
            "create_nginx_pod_privileged.json",
            Level::RequestResponse,
            0,
        ),
        ("create_clusterrole.json", Level::RequestResponse, 1),
        ("delete_clusterrolebinding.json", Level::RequestResponse, 1),
        // pods/exec and pods/attach are not "pods": they fall to the core-group rule.
        ("exec_pod.json", Level::Request, 8),
        ("attach_pod.json", Level::Request, 8),
        ("create_secret.json", Level::Metadata, 7),
        ("create_kube_system_secret.json", Level::Metadata, 7),
        ("create_configmap.json", Level::Metadata, 7),
        // extensions/deployments: the first rule's "deployments" is core-group only.
        ("create_deployment.json", Level::Request, 8),
        ("anonymous_creates_namespace_foo.json", Level::Request, 8),
        (
            "create_serviceaccount_kube_system_namespace.json",
            Level::Request,
            8,
        ),
    ];
    for (name, level, rule) in cases {
        let ev = event(&files, name);
        let d = policy.evaluate_event(&ev);
        assert_eq!((d.level, d.rule), (level, Some(rule)), "{name}");
        assert_eq!(
            d.omit_stages
                .iter()
                .map(osprey_audit::event::Stage::as_str)
                .collect::<Vec<_>>(),
            ["RequestReceived"],
            "{name}"
        );
    }
}

#[test]
fn user_and_namespace_policy_levels() {
    let Some(dir) = fixtures() else { return };
    let files = read_all(&dir);
    let policy = Policy::from_yaml(
        r#"apiVersion: audit.k8s.io/v1
kind: Policy
omitManagedFields: true
rules:
  - level: None
    userGroups: ["system:serviceaccounts:kube-system"]
  - level: RequestResponse
    users: ["system:anonymous"]
    omitManagedFields: false
  - level: Request
    namespaces: ["kube-system", "kube-public"]
  - level: RequestResponse
    verbs: [delete]
    resources:
    - group: "rbac.authorization.k8s.io"
      resources: ["clusterroles"]
      resourceNames: ["system:kube-aggregator"]
  - level: Metadata
    resources:
    - group: "*"
      resources: ["*"]
"#,
    )
    .unwrap()
    .policy;
    let cases = [
        // The replicaset controller is a kube-system service account.
        (
            "create_pod_kube_system_namespace.json",
            Level::None,
            Some(0),
            true,
        ),
        (
            "create_nginx_pod_hostnetwork.json",
            Level::None,
            Some(0),
            true,
        ),
        (
            "anonymous_creates_namespace_foo.json",
            Level::RequestResponse,
            Some(1),
            false,
        ),
        (
            "create_serviceaccount_kube_public_namespace.json",
            Level::Request,
            Some(2),
            true,
        ),
        (
            "create_kube_system_secret.json",
            Level::Request,
            Some(2),
            true,
        ),
        (
            "delete_cluster_role_kube_aggregator.json",
            Level::RequestResponse,
            Some(3),
            true,
        ),
        ("delete_clusterrole.json", Level::Metadata, Some(4), true),
        ("exec_pod.json", Level::Metadata, Some(4), true),
        (
            "create_service_account_token_secret.json",
            Level::Metadata,
            Some(4),
            true,
        ),
    ];
    for (name, level, rule, omf) in cases {
        let d = policy.evaluate_event(&event(&files, name));
        assert_eq!(
            (d.level, d.rule, d.omit_managed_fields),
            (level, rule, omf),
            "{name}"
        );
    }
}

#[test]
fn bodies_follow_the_level() {
    let Some(dir) = fixtures() else { return };
    let files = read_all(&dir);
    let ev = event(&files, "create_nginx_pod_privileged.json");
    assert!(ev.request_object.is_some() && ev.response_object.is_some());
    let policy = |level: &str| {
        Policy::from_yaml(&format!(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: {level}\n"
        ))
        .unwrap()
        .policy
    };
    let mut sizes = Vec::new();
    for level in ["RequestResponse", "Request", "Metadata"] {
        let mut e = ev.clone();
        let d = policy(level).evaluate_event(&e);
        assert!(apply(&mut e, &d));
        assert_eq!(e.level.map(Level::as_str), Some(level));
        assert_eq!(e.request_object.is_some(), level != "Metadata");
        assert_eq!(e.response_object.is_some(), level == "RequestResponse");
        sizes.push(serde_json::to_vec(&e).unwrap().len());
    }
    assert!(sizes[0] > sizes[1] && sizes[1] > sizes[2], "{sizes:?}");
    let mut e = ev.clone();
    assert!(!apply(&mut e, &policy("None").evaluate_event(&ev)));
}
