//! Falco's upstream `k8s_audit_rules.yaml` over the `ka.*` fields: it loads
//! unchanged, and the sample audit events (Falco's k8s_audit trace files)
//! raise exactly the rules worked out below.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use osprey_audit::fields::{input, KaCatalog, KaEvent, KaFields, PLUGINS, SOURCE};
use osprey_filter::timefmt::LocalClock;
use osprey_rules::{
    AlertFormatter, AlertOptions, LoadOptions, Matching, RulesFile, Ruleset, SourceCatalogs,
};

fn compat() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/k8s-audit"
    ));
    if p.join("k8s_audit_rules.yaml").exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing fixture {}",
        p.display()
    );
    eprintln!("SKIPPED: {} is missing", p.display());
    None
}

fn opts() -> LoadOptions {
    LoadOptions {
        sources: SourceCatalogs::new().with(SOURCE, Arc::new(KaCatalog), &PLUGINS),
        ..LoadOptions::default()
    }
}

fn load(dir: &std::path::Path) -> Ruleset {
    let text = std::fs::read_to_string(dir.join("k8s_audit_rules.yaml")).unwrap();
    let file = RulesFile {
        name: "k8s_audit_rules.yaml",
        content: &text,
    };
    let (rules, res) = Ruleset::load(&[file], &opts());
    assert!(res.successful(), "{res}");
    assert!(res.errors.is_empty());
    rules
}

fn events(path: &std::path::Path) -> (Vec<KaEvent>, usize) {
    let f = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let (mut evs, mut bad) = (Vec::new(), 0);
    let _ = input::read_stream(f, &mut |r| {
        match r {
            Ok(e) => evs.push(e),
            Err(_) => bad += 1,
        }
        ControlFlow::Continue(())
    });
    (evs, bad)
}

#[test]
fn upstream_rules_load_and_compile_every_rule() {
    let Some(dir) = compat() else { return };
    let rules = load(&dir);
    assert_eq!(rules.rules().len(), 48);
    for r in rules.rules() {
        assert_eq!(r.source, "k8s_audit");
        assert!(r.is_compiled(), "{} is not compiled", r.name);
    }
    // Every enabled rule is evaluated for audit events; none is indexed
    // under syscall event types.
    assert_eq!(rules.rules_for_source(SOURCE).len(), 48);
    assert!(rules.event_types().iter().next().is_none());
}

/// The rules each sample raises (`rule_matching: all`), worked out by hand
/// from the events and the rules file:
///
/// - the `kevt` rules need stage ResponseComplete; `Attach/Exec Pod` needs
///   ResponseStarted (exec_pod, attach_pod, code 101);
/// - `Disallowed K8s User`: only `some-user` is neither `system:*` nor in
///   allowed_k8s_users (minikube-user, admin are listed);
/// - `Create Disallowed Pod` and `Full K8s Administrative Access` never
///   fire (their allow macros are always true); pod creates by the
///   replicaset controller only raise the pod-content rules: privileged
///   (any container, image nginx/mysql not trusted), hostNetwork, a `/etc`
///   hostPath, kube-system/kube-public namespace;
/// - the `K8s <Kind> Created/Deleted` activity rules fire on every 2xx
///   create/delete of their resource, but the secret ones not in
///   kube-system (create_kube_system_secret) nor by `system:*` users
///   (create_service_account_token_secret), and Namespace Deleted only for
///   non-system users;
/// - ClusterRole contents: `*` in resources or verbs (wildcard), `delete`
///   (write privileges), `pods/exec` (pod exec);
/// - `System ClusterRole Modified/Deleted`: names starting `system:`
///   (delete of system:kube-aggregator, patch of system:node-problem-detector);
/// - configmaps: the 6 events of create_configmap_sensitive_values carry
///   aws_access_key_id, aws-access-key-id, aws_s3_access_key_id,
///   aws-s3-access-key-id, password and passphrase; the others do not;
/// - namespaces other than kube-system, kube-public and default are
///   disallowed (foo); the anonymous create is allowed (decision allow, URI
///   not a health endpoint);
/// - fal_01_003 (`{"kind": 0}`) is no audit event: no alert, one input error.
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "anonymous_creates_namespace_foo",
        &[
            "Anonymous Request Allowed",
            "Create Disallowed Namespace",
            "K8s Namespace Created",
        ],
    ),
    (
        "attach_cluster_admin_role",
        &[
            "Attach to cluster-admin Role",
            "K8s ClusterRoleBinding Created",
        ],
    ),
    ("attach_pod", &["Attach/Exec Pod"]),
    (
        "create_cluster_role_pod_exec",
        &[
            "ClusterRole With Pod Exec Created",
            "K8s ClusterRole Created",
        ],
    ),
    (
        "create_cluster_role_wildcard_resources",
        &[
            "ClusterRole With Wildcard Created",
            "K8s ClusterRole Created",
        ],
    ),
    (
        "create_cluster_role_wildcard_verbs",
        &[
            "ClusterRole With Wildcard Created",
            "K8s ClusterRole Created",
        ],
    ),
    (
        "create_cluster_role_write_privileges",
        &[
            "ClusterRole With Write Privileges Created",
            "K8s ClusterRole Created",
        ],
    ),
    ("create_clusterrole", &["K8s ClusterRole Created"]),
    (
        "create_clusterrolebinding",
        &["K8s ClusterRoleBinding Created"],
    ),
    ("create_configmap", &["K8s ConfigMap Created"]),
    (
        "create_configmap_no_sensitive_values",
        &["K8s ConfigMap Created"],
    ),
    (
        "create_configmap_sensitive_values",
        &[
            "Create/Modify Configmap With Private Credentials",
            "K8s ConfigMap Created",
        ],
    ),
    ("create_deployment", &["K8s Deployment Created"]),
    ("create_kube_system_secret", &[]),
    ("create_nginx_pod_hostnetwork", &["Create HostNetwork Pod"]),
    (
        "create_nginx_pod_no_secctx_1st_container_privileged_2nd_container",
        &["Create Privileged Pod"],
    ),
    ("create_nginx_pod_nohostnetwork", &[]),
    ("create_nginx_pod_privileged", &["Create Privileged Pod"]),
    (
        "create_nginx_pod_privileged_2nd_container",
        &["Create Privileged Pod"],
    ),
    (
        "create_nginx_pod_sensitive_mount",
        &["Create Sensitive Mount Pod"],
    ),
    (
        "create_nginx_pod_sensitive_mount_2nd_container",
        &["Create Sensitive Mount Pod"],
    ),
    ("create_nginx_pod_unprivileged", &[]),
    ("create_nginx_pod_unsensitive_mount", &[]),
    (
        "create_nginx_service_nodeport",
        &["Create NodePort Service", "K8s Service Created"],
    ),
    ("create_nginx_service_nonodeport", &["K8s Service Created"]),
    (
        "create_pod_kube_public_namespace",
        &["Pod Created in Kube Namespace"],
    ),
    (
        "create_pod_kube_system_namespace",
        &["Pod Created in Kube Namespace"],
    ),
    ("create_secret", &["K8s Secret Created"]),
    ("create_service", &["K8s Service Created"]),
    ("create_service_account_token_secret", &[]),
    ("create_serviceaccount", &["K8s Serviceaccount Created"]),
    (
        "create_serviceaccount_kube_public_namespace",
        &[
            "K8s Serviceaccount Created",
            "Service Account Created in Kube Namespace",
        ],
    ),
    (
        "create_serviceaccount_kube_system_namespace",
        &[
            "K8s Serviceaccount Created",
            "Service Account Created in Kube Namespace",
        ],
    ),
    (
        "delete_cluster_role_kube_aggregator",
        &[
            "K8s ClusterRole Deleted",
            "System ClusterRole Modified/Deleted",
        ],
    ),
    ("delete_clusterrole", &["K8s ClusterRole Deleted"]),
    (
        "delete_clusterrolebinding",
        &["K8s ClusterRoleBinding Deleted"],
    ),
    ("delete_configmap", &["K8s ConfigMap Deleted"]),
    ("delete_deployment", &["K8s Deployment Deleted"]),
    ("delete_namespace_foo", &["K8s Namespace Deleted"]),
    ("delete_secret", &["K8s Secret Deleted"]),
    ("delete_service", &["K8s Service Deleted"]),
    ("delete_serviceaccount", &["K8s Serviceaccount Deleted"]),
    ("exec_pod", &["Attach/Exec Pod"]),
    ("fal_01_003", &[]),
    (
        "minikube_creates_namespace_foo",
        &["Create Disallowed Namespace", "K8s Namespace Created"],
    ),
    (
        "modify_cluster_role_node_problem_detector",
        &["System ClusterRole Modified/Deleted"],
    ),
    (
        "some-user_creates_namespace_foo",
        &[
            "Create Disallowed Namespace",
            "Disallowed K8s User",
            "K8s Namespace Created",
        ],
    ),
];

#[test]
fn samples_raise_exactly_the_expected_rules() {
    let Some(dir) = compat() else { return };
    let rules = load(&dir);
    let clock = LocalClock::new();
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let want = EXPECTED
            .iter()
            .find(|(n, _)| *n == stem)
            .unwrap_or_else(|| panic!("no expectation for {stem}"))
            .1;
        seen += 1;
        let (evs, bad) = events(&path);
        assert_eq!(
            bad,
            usize::from(stem == "fal_01_003"),
            "{stem}: input errors"
        );
        for (i, ev) in evs.iter().enumerate() {
            let ctx = KaFields::new(ev, &clock);
            let mut hits = Vec::new();
            rules.evaluate_source(SOURCE, &ctx, Matching::All, &mut hits);
            let got: BTreeSet<&str> = hits
                .iter()
                .map(|&id| rules.rule(id).unwrap().name.as_str())
                .collect();
            let want: BTreeSet<&str> = want.iter().copied().collect();
            assert_eq!(got, want, "{stem} event {i}");
        }
    }
    assert_eq!(seen, EXPECTED.len());
}

#[test]
fn alerts_render_the_ka_fields() {
    let Some(dir) = compat() else { return };
    let rules = load(&dir);
    let (evs, _) = events(&dir.join("events/exec_pod.json"));
    let clock = LocalClock::new();
    let ctx = KaFields::new(&evs[0], &clock);
    let mut hits = Vec::new();
    rules.evaluate_source(SOURCE, &ctx, Matching::First, &mut hits);
    let rule = rules.rule(hits[0]).unwrap();
    let mut f = AlertFormatter::new(AlertOptions {
        time_format_iso_8601: true,
        hostname: "h".into(),
        ..AlertOptions::default()
    });
    let (mut text, mut json) = (Vec::new(), Vec::new());
    assert!(f.write_both(rule, &ctx, evs[0].ts(), &mut text, &mut json));
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.starts_with("2018-10-26T13:38:34.902914000+0000: Notice Attach/Exec to pod"),
        "{text}"
    );
    assert!(text.contains("user=minikube-user"), "{text}");
    assert!(text.contains("command=bash"), "{text}");
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["source"], "k8s_audit");
    assert_eq!(v["rule"], "Attach/Exec Pod");
    assert_eq!(v["output_fields"]["ka.target.subresource"], "exec");
    assert_eq!(v["output_fields"]["ka.uri.param[command]"], "bash");
    assert_eq!(
        v["output_fields"]["evt.time.iso8601"],
        1_540_561_114_902_914_000u64
    );
}
