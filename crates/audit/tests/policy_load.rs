//! Policy loading and validation: the apiserver's field paths and messages (spec §1.2, §1.3).

use osprey_audit::event::{Level, Stage};
use osprey_audit::policy::Policy;

const HEAD: &str = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";

fn errors(body: &str) -> Vec<String> {
    match Policy::from_yaml(&format!("{HEAD}{body}")) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn validation_messages() {
    let cases: &[(&str, &[&str])] = &[
        ("rules:\n- level: Metadata\n", &[]),
        ("rules:\n- users: [a]\n", &["rules[0].level: Required value"]),
        (
            "rules:\n- level: Metadata\n- level: metadata\n",
            &[r#"rules[1].level: Unsupported value: "metadata": supported values: "None", "Metadata", "Request", "RequestResponse""#],
        ),
        (
            "rules:\n- level: None\n  nonResourceURLs: [logs, \"\", \"*\", /logs/*/*, /logs/*.log, \"/ok*\"]\n",
            &[
                r#"rules[0].nonResourceURLs[0]: Invalid value: "logs": non-resource URL rules must begin with a '/' character"#,
                r#"rules[0].nonResourceURLs[1]: Invalid value: "": non-resource URL rules must begin with a '/' character"#,
                r#"rules[0].nonResourceURLs[3]: Invalid value: "/logs/*/*": non-resource URL wildcards '*' must be the final character of the rule"#,
                r#"rules[0].nonResourceURLs[4]: Invalid value: "/logs/*.log": non-resource URL wildcards '*' must be the final character of the rule"#,
            ],
        ),
        (
            "rules:\n- level: None\n  nonResourceURLs: [/a]\n  namespaces: [x]\n",
            &[r#"rules[0].nonResourceURLs: Invalid value: []string{"/a"}: rules cannot apply to both regular resources and non-resource URLs"#],
        ),
        (
            "rules:\n- level: None\n  nonResourceURLs: [/a, /b]\n  resources: [{group: \"\"}]\n",
            &[r#"rules[0].nonResourceURLs: Invalid value: []string{"/a", "/b"}: rules cannot apply to both regular resources and non-resource URLs"#],
        ),
        (
            "rules:\n- level: None\n- level: None\n  resources:\n  - group: rbac.authorization.k8s.io/v1\n  - group: \"*\"\n  - group: apps\n    resourceNames: [x]\n",
            &[
                r#"rules[1].resources.group: Invalid value: "rbac.authorization.k8s.io/v1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
                r#"rules[1].resources.resourceNames: Invalid value: []string{"x"}: using resourceNames requires at least one resource"#,
            ],
        ),
        (
            "omitStages: [RequestReceived, foo]\nrules:\n- level: None\n  omitStages: [Panic, ResponseCompleted]\n",
            &[
                r#"rules[0].omitStages[1]: Invalid value: "ResponseCompleted": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic"#,
                r#"omitStages[1]: Invalid value: "foo": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic"#,
            ],
        ),
        // Order within a rule: level, nonResourceURLs, resources, omitStages, mix.
        (
            "rules:\n- level: X\n  nonResourceURLs: [a]\n  namespaces: [ns]\n  omitStages: [s]\n",
            &[
                r#"rules[0].level: Unsupported value: "X": supported values: "None", "Metadata", "Request", "RequestResponse""#,
                r#"rules[0].nonResourceURLs[0]: Invalid value: "a": non-resource URL rules must begin with a '/' character"#,
                r#"rules[0].omitStages[0]: Invalid value: "s": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic"#,
                r#"rules[0].nonResourceURLs: Invalid value: []string{"a"}: rules cannot apply to both regular resources and non-resource URLs"#,
            ],
        ),
        // Identical messages are reported once (the aggregate dedupes).
        (
            "rules:\n- level: None\n  resources: [{group: A}, {group: A}]\n",
            &[r#"rules[0].resources.group: Invalid value: "A": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#],
        ),
        ("rules: []\n", &["loaded illegal policy with 0 rules"]),
        ("", &["loaded illegal policy with 0 rules"]),
    ];
    for (body, want) in cases {
        assert_eq!(errors(body), *want, "{body}");
    }
}

#[test]
fn group_version_and_decoding() {
    let err = |text: &str| -> Vec<String> {
        Policy::from_yaml(text)
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        err("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: None\n"),
        ["unknown group version field audit.k8s.io/v1beta1, Kind=Policy in policy"]
    );
    assert_eq!(
        err("kind: Policy\nrules:\n- level: None\n"),
        ["unknown group version field /, Kind=Policy in policy"]
    );
    assert_eq!(
        err("apiVersion: audit.k8s.io/v1\nrules:\n- level: None\n"),
        ["failed decoding: Object 'Kind' is missing"]
    );
    assert_eq!(
        err("apiVersion: audit.k8s.io/v1\nkind: Event\nrules:\n- level: None\n"),
        [r#"failed decoding: no kind "Event" is registered for version "audit.k8s.io/v1""#]
    );
    assert_eq!(
        err(&format!("{HEAD}rules:\n- level: None\n  users: [1]\n")),
        ["failed decoding: rules[0].users[0]: expected a string, found a number"]
    );
    assert_eq!(
        err(&format!("{HEAD}rules:\n- level: None\n  verbs: get\n")),
        ["failed decoding: rules[0].verbs: expected a list, found a string"]
    );
    assert_eq!(
        err(&format!(
            "{HEAD}omitManagedFields: \"true\"\nrules:\n- level: None\n"
        )),
        ["failed decoding: omitManagedFields: expected a boolean, found a string"]
    );
    let e =
        Policy::from_yaml(&format!("{HEAD}rules:\n- level: None\n  verbs: [get\n")).unwrap_err();
    assert!(e[0].message.starts_with("failed decoding: "), "{e:?}");
    assert!(e[0].line >= 5, "{e:?}");
    assert_eq!(
        err("[1, 2]"),
        ["failed decoding: policy: expected a mapping, found a list"]
    );
    assert!(!err("").is_empty());
}

#[test]
fn lenient_decoding_warns_about_unknown_and_duplicate_fields() {
    // Upstream test: verbs mis-indented under resources[] still loads.
    let text = format!(
        "{HEAD}metadata:\n  name: p\nrules:\n- level: Request\n  resources:\n  - group: \"\"\n    resources: [pods]\n    verbs: [get]\n- level: None\n  level: Metadata\n"
    );
    let loaded = Policy::from_yaml(&text).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(|w| w.path.clone()).collect();
    assert_eq!(warnings, ["rules[0].resources[0].verbs", "rules[1].level"]);
    assert_eq!(loaded.warnings[0].line, 10);
    assert!(loaded.policy.rules[0].verbs.is_empty());
    assert_eq!(loaded.policy.rules[1].level, Level::Metadata);
}

#[test]
fn fields_are_decoded() {
    let text = format!(
        "{HEAD}omitStages: [RequestReceived]\nomitManagedFields: true\nrules:\n- level: RequestResponse\n  users: [a]\n  userGroups: [g]\n  verbs: [get, list]\n  namespaces: [\"\", ns]\n  resources:\n  - group: apps\n    resources: [deployments, deployments/scale]\n    resourceNames: [d]\n  omitStages: [Panic]\n  omitManagedFields: false\n- level: None\n  nonResourceURLs: [\"/x*\"]\n  omitManagedFields: ~\n"
    );
    let p = Policy::from_yaml(&text).unwrap().policy;
    assert!(p.omit_managed_fields);
    assert!(p.omit_stages.contains(Stage::RequestReceived));
    let r = &p.rules[0];
    assert_eq!(r.level, Level::RequestResponse);
    assert_eq!(r.line, 6);
    assert_eq!(r.users, ["a"]);
    assert_eq!(r.user_groups, ["g"]);
    assert_eq!(r.verbs, ["get", "list"]);
    assert_eq!(r.namespaces, ["", "ns"]);
    assert_eq!(r.resources[0].group, "apps");
    assert_eq!(
        r.resources[0].resources,
        ["deployments", "deployments/scale"]
    );
    assert_eq!(r.resources[0].resource_names, ["d"]);
    assert!(r.omit_stages.contains(Stage::Panic));
    assert_eq!(r.omit_managed_fields, Some(false));
    assert_eq!(p.rules[1].non_resource_urls, ["/x*"]);
    assert_eq!(p.rules[1].omit_managed_fields, None);
    // JSON is YAML too.
    let json = r#"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}"#;
    assert_eq!(Policy::from_yaml(json).unwrap().policy.rules.len(), 1);
}

#[test]
fn falco_plugin_policy_loads() {
    // The shape of falcosecurity/plugins' configs/audit-policy.yaml (spec §5.3).
    let text = include_str!("../testdata/falco-audit-policy.yaml");
    let loaded = Policy::from_yaml(text).unwrap();
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.policy.rules.len(), 10);
}

#[test]
fn yaml_1_1_booleans_are_not_strings() {
    // go-yaml v2 (used by the apiserver) reads a plain `n` or `yes` as a boolean.
    let e = errors("rules:\n- level: None\n  namespaces: [n]\n");
    assert_eq!(
        e,
        ["failed decoding: rules[0].namespaces[0]: expected a string, found a boolean"]
    );
    assert!(errors("rules:\n- level: None\n  namespaces: [\"n\"]\n").is_empty());
}
