//! Policy evaluation: the upstream checker table (spec §1.5) and the matching
//! quirks of §1.4, through the public API.

use osprey_audit::event::{Level, Stage, StageSet};
use osprey_audit::policy::{Attributes, GroupResources, Policy, Resource, Rule, User};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn stages(v: &[Stage]) -> StageSet {
    v.iter().copied().collect()
}

fn gr(group: &str, resources: &[&str], names: &[&str]) -> GroupResources {
    GroupResources {
        group: group.to_owned(),
        resources: strings(resources),
        resource_names: strings(names),
    }
}

/// The upstream named rules.
fn rule(name: &str) -> Rule {
    use Level::*;
    let mut r = Rule::new(Metadata);
    match name {
        "default" => {}
        "create" => {
            r.level = Request;
            r.verbs = strings(&["create"]);
        }
        "tims" => r.users = strings(&["tim@k8s.io"]),
        "humans" => r.user_groups = strings(&["humans"]),
        "serviceAccounts" => {
            r.level = Request;
            r.user_groups = strings(&["system:serviceaccounts"]);
        }
        "getPods" => {
            r.level = RequestResponse;
            r.verbs = strings(&["get"]);
            r.resources = vec![gr("", &["pods"], &[])];
        }
        "getPodLogs" => {
            r.level = Request;
            r.verbs = strings(&["get"]);
            r.resources = vec![gr("", &["pods/log"], &[])];
        }
        "getPodWildcardMatching" => {
            r.level = Request;
            r.verbs = strings(&["get"]);
            r.resources = vec![gr("", &["*"], &[])];
        }
        "getPodResourceWildcardMatching" => {
            r.level = Request;
            r.verbs = strings(&["get"]);
            r.resources = vec![gr("", &["*/log"], &[])];
        }
        "getPodSubResourceWildcardMatching" => {
            r.level = Request;
            r.verbs = strings(&["get"]);
            r.resources = vec![gr("", &["pods/*"], &[])];
        }
        "getClusterRoles" => {
            r.level = RequestResponse;
            r.verbs = strings(&["get"]);
            r.resources = vec![gr("rbac.authorization.k8s.io", &["clusterroles"], &[])];
            r.namespaces = strings(&[""]);
        }
        "getGroupWildCardMatchingSubresource" => {
            r.level = RequestResponse;
            r.verbs = strings(&["update"]);
            r.resources = vec![gr("*", &["*/status"], &[])];
        }
        "getLogs" => {
            r.level = RequestResponse;
            r.verbs = strings(&["get"]);
            r.non_resource_urls = strings(&["/logs*"]);
        }
        "getMetrics" => {
            r.level = Request;
            r.verbs = strings(&["get"]);
            r.non_resource_urls = strings(&["/metrics"]);
        }
        "clusterRoleEdit" => {
            r.level = Request;
            r.resources = vec![gr(
                "rbac.authorization.k8s.io",
                &["clusterroles"],
                &["edit"],
            )];
        }
        "omit RequestReceived" => {
            r.level = Request;
            r.omit_stages = stages(&[Stage::RequestReceived]);
        }
        "only audit panic" => {
            r.level = Request;
            r.omit_stages = stages(&[
                Stage::RequestReceived,
                Stage::ResponseStarted,
                Stage::ResponseComplete,
            ]);
        }
        other => panic!("no rule {other}"),
    }
    r
}

struct Fixtures {
    tim_groups: Vec<String>,
}

impl Fixtures {
    fn new() -> Self {
        Fixtures {
            tim_groups: strings(&["humans", "developers"]),
        }
    }

    fn tim(&self) -> Option<User<'_>> {
        Some(User {
            name: "tim@k8s.io",
            groups: &self.tim_groups,
        })
    }

    fn request(&self, name: &str) -> Attributes<'_> {
        let res = |verb, namespace, api_group, resource, subresource, name| Attributes {
            user: self.tim(),
            verb,
            resource: Some(Resource {
                namespace,
                api_group,
                resource,
                subresource,
                name,
            }),
            path: "",
        };
        match name {
            "namespaced" => res("get", "default", "", "pods", "", "busybox"),
            "cluster" => res(
                "get",
                "",
                "rbac.authorization.k8s.io",
                "clusterroles",
                "",
                "edit",
            ),
            "nonResource" => Attributes {
                user: self.tim(),
                verb: "get",
                resource: None,
                path: "/logs/kubelet.log",
            },
            "subresource" => res("get", "default", "", "pods", "log", "busybox"),
            "Unauthorized" => Attributes {
                user: None,
                ..res("get", "default", "", "pods", "", "busybox")
            },
            "ClusterRoleUpdate" => res(
                "update",
                "",
                "rbac.authorization.k8s.io",
                "clusterroles",
                "status",
                "somerole",
            ),
            other => panic!("no request {other}"),
        }
    }
}

fn policy(rules: &[&str], omit: StageSet) -> Policy {
    Policy {
        rules: rules.iter().map(|r| rule(r)).collect(),
        omit_stages: omit,
        omit_managed_fields: false,
    }
}

#[test]
fn upstream_checker_table() {
    use Level::*;
    let fx = Fixtures::new();
    // (request, rules, expected level)
    let cases: &[(&str, &[&str], Level)] = &[
        ("namespaced", &["default"], Metadata),
        ("namespaced", &["create"], None),
        ("namespaced", &["tims"], Metadata),
        ("namespaced", &["humans"], Metadata),
        ("namespaced", &["serviceAccounts"], None),
        ("namespaced", &["getPods"], RequestResponse),
        ("namespaced", &["getClusterRoles"], None),
        ("namespaced", &["getLogs"], None),
        ("namespaced", &["getMetrics"], None),
        (
            "namespaced",
            &["getMetrics", "serviceAccounts", "default"],
            Metadata,
        ),
        (
            "namespaced",
            &["getMetrics", "getPods", "default"],
            RequestResponse,
        ),
        ("namespaced", &["getPodLogs", "getPods"], RequestResponse),
        ("cluster", &["default"], Metadata),
        ("cluster", &["create"], None),
        ("cluster", &["tims"], Metadata),
        ("cluster", &["humans"], Metadata),
        ("cluster", &["serviceAccounts"], None),
        ("cluster", &["getPods"], None),
        ("cluster", &["getClusterRoles"], RequestResponse),
        ("cluster", &["clusterRoleEdit", "getClusterRoles"], Request),
        ("cluster", &["getLogs"], None),
        ("cluster", &["getMetrics"], None),
        (
            "cluster",
            &["getMetrics", "serviceAccounts", "default"],
            Metadata,
        ),
        (
            "cluster",
            &["getMetrics", "getClusterRoles", "default"],
            RequestResponse,
        ),
        ("cluster", &["getPodLogs", "getPods"], None),
        ("nonResource", &["default"], Metadata),
        ("nonResource", &["create"], None),
        ("nonResource", &["tims"], Metadata),
        ("nonResource", &["humans"], Metadata),
        ("nonResource", &["serviceAccounts"], None),
        ("nonResource", &["getPods"], None),
        ("nonResource", &["getClusterRoles"], None),
        ("nonResource", &["getLogs"], RequestResponse),
        ("nonResource", &["getMetrics"], None),
        (
            "nonResource",
            &["getMetrics", "serviceAccounts", "default"],
            Metadata,
        ),
        (
            "nonResource",
            &["getLogs", "getClusterRoles", "default"],
            RequestResponse,
        ),
        ("nonResource", &["getPodLogs", "getPods"], None),
        ("subresource", &["getPodLogs", "getPods"], Request),
        ("subresource", &["getPodWildcardMatching"], Request),
        ("subresource", &["getPodResourceWildcardMatching"], Request),
        (
            "subresource",
            &["getPodSubResourceWildcardMatching"],
            Request,
        ),
        ("Unauthorized", &["tims"], None),
        ("Unauthorized", &["tims", "default"], Metadata),
        ("Unauthorized", &["humans"], None),
        ("Unauthorized", &["humans", "default"], Metadata),
        (
            "ClusterRoleUpdate",
            &["getGroupWildCardMatchingSubresource"],
            RequestResponse,
        ),
    ];
    let rr_rs = stages(&[Stage::RequestReceived, Stage::ResponseStarted]);
    for omit in [StageSet::EMPTY, rr_rs] {
        for (req, rules, want) in cases {
            let d = policy(rules, omit).evaluate(&fx.request(req));
            assert_eq!(d.level, *want, "{req} with {rules:?}");
            assert_eq!(d.omit_stages, omit, "{req} with {rules:?}");
        }
    }
}

#[test]
fn omit_stages_union() {
    use Stage::*;
    let fx = Fixtures::new();
    let rr = stages(&[RequestReceived]);
    let rr_rs = stages(&[RequestReceived, ResponseStarted]);
    let rr_rs_rc = stages(&[RequestReceived, ResponseStarted, ResponseComplete]);
    for req in ["namespaced", "cluster", "nonResource"] {
        let a = fx.request(req);
        let d = policy(
            &["omit RequestReceived", "getPods", "default"],
            StageSet::EMPTY,
        )
        .evaluate(&a);
        assert_eq!((d.level, d.omit_stages), (Level::Request, rr), "{req}");
        let d = policy(&["only audit panic", "getPods", "default"], StageSet::EMPTY).evaluate(&a);
        assert_eq!(
            (d.level, d.omit_stages),
            (Level::Request, rr_rs_rc),
            "{req}"
        );
        let d = policy(&["omit RequestReceived", "getPods", "default"], rr_rs).evaluate(&a);
        assert_eq!((d.level, d.omit_stages), (Level::Request, rr_rs), "{req}");
        let d = policy(&["only audit panic", "getPods", "default"], rr_rs).evaluate(&a);
        assert_eq!(
            (d.level, d.omit_stages),
            (Level::Request, rr_rs_rc),
            "{req}"
        );
    }
    let d = policy(&["default", "omit RequestReceived", "getPods"], rr_rs)
        .evaluate(&fx.request("nonResource"));
    assert_eq!((d.level, d.omit_stages), (Level::Metadata, rr_rs));
    assert_eq!(d.rule, Some(0));
}

#[test]
fn omit_managed_fields_override() {
    let fx = Fixtures::new();
    let a = fx.request("namespaced");
    for (policy_value, rule_value, want) in [
        (false, None, false),
        (true, None, true),
        (true, Some(false), false),
        (false, Some(true), true),
    ] {
        let mut r = rule("default");
        r.omit_managed_fields = rule_value;
        let p = Policy {
            rules: vec![r],
            omit_stages: StageSet::EMPTY,
            omit_managed_fields: policy_value,
        };
        assert_eq!(p.evaluate(&a).omit_managed_fields, want);
    }
    // No match: the policy-wide values.
    let p = Policy {
        rules: vec![rule("create")],
        omit_stages: stages(&[Stage::Panic]),
        omit_managed_fields: true,
    };
    let d = p.evaluate(&a);
    assert_eq!(d.level, Level::None);
    assert_eq!(d.omit_stages, stages(&[Stage::Panic]));
    assert!(d.omit_managed_fields);
    assert_eq!(d.rule, None);
}

/// Loads a policy whose rules are given as YAML list items.
fn yaml_policy(rules: &str) -> Policy {
    let text = format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}");
    match Policy::from_yaml(&text) {
        Ok(l) => l.policy,
        Err(e) => panic!("{text}\n{e:?}"),
    }
}

fn res<'a>(
    ns: &'a str,
    group: &'a str,
    resource: &'a str,
    sub: &'a str,
    name: &'a str,
) -> Attributes<'a> {
    Attributes {
        user: None,
        verb: "get",
        resource: Some(Resource {
            namespace: ns,
            api_group: group,
            resource,
            subresource: sub,
            name,
        }),
        path: "/ignored",
    }
}

fn non_res(path: &str) -> Attributes<'_> {
    Attributes {
        user: None,
        verb: "get",
        resource: None,
        path,
    }
}

fn level(p: &Policy, a: &Attributes<'_>) -> Level {
    p.evaluate(a).level
}

#[test]
fn quirks_and_edges() {
    use Level::*;
    // pods/* also matches plain pods (upstream quirk).
    let p =
        yaml_policy("- level: Request\n  resources: [{group: \"\", resources: [\"pods/*\"]}]\n");
    assert_eq!(level(&p, &res("d", "", "pods", "", "x")), Request);
    assert_eq!(level(&p, &res("d", "", "pods", "exec", "x")), Request);
    assert_eq!(level(&p, &res("d", "", "podsx", "", "x")), None);
    // */x needs a subresource equal to x.
    let p =
        yaml_policy("- level: Request\n  resources: [{group: \"\", resources: [\"*/scale\"]}]\n");
    assert_eq!(
        level(&p, &res("d", "", "deployments", "scale", "x")),
        Request
    );
    assert_eq!(level(&p, &res("d", "", "scale", "", "x")), None);
    assert_eq!(level(&p, &res("d", "", "deployments", "status", "x")), None);
    // pods does not match pods/log; * matches subresources.
    let p = yaml_policy("- level: Request\n  resources: [{resources: [pods]}]\n- level: Metadata\n  resources: [{resources: [\"*\"]}]\n");
    assert_eq!(level(&p, &res("d", "", "pods", "", "x")), Request);
    assert_eq!(level(&p, &res("d", "", "pods", "log", "x")), Metadata);
    // The group defaults to core: apps resources do not match.
    assert_eq!(level(&p, &res("d", "apps", "pods", "", "x")), None);
    // Group * matches every group; a group without resources matches all of it.
    let p = yaml_policy("- level: Request\n  resources: [{group: \"*\", resources: [deployments]}]\n- level: Metadata\n  resources: [{group: apps}]\n");
    assert_eq!(
        level(&p, &res("d", "apps", "deployments", "", "x")),
        Request
    );
    assert_eq!(
        level(&p, &res("d", "extensions", "deployments", "", "x")),
        Request
    );
    assert_eq!(
        level(&p, &res("d", "apps", "replicasets", "scale", "x")),
        Metadata
    );
    // resourceNames never match requests without a name (list, create).
    let p = yaml_policy(
        "- level: Request\n  resources: [{resources: [configmaps], resourceNames: [cfg]}]\n",
    );
    assert_eq!(level(&p, &res("d", "", "configmaps", "", "cfg")), Request);
    assert_eq!(level(&p, &res("d", "", "configmaps", "", "")), None);
    assert_eq!(level(&p, &res("d", "", "configmaps", "", "other")), None);
    // namespaces: [""] selects cluster-scoped requests only; namespaces-only rules
    // match every resource there, subresources included, but never non-resource URLs.
    let p = yaml_policy(
        "- level: Request\n  namespaces: [\"\"]\n- level: Metadata\n  namespaces: [kube-system]\n",
    );
    assert_eq!(level(&p, &res("", "", "nodes", "", "n")), Request);
    assert_eq!(level(&p, &res("default", "", "pods", "", "x")), None);
    assert_eq!(
        level(&p, &res("kube-system", "", "pods", "log", "x")),
        Metadata
    );
    assert_eq!(level(&p, &non_res("/healthz")), None);
    // nonResourceURLs: plain prefix match, never for resource requests.
    let p = yaml_policy("- level: Request\n  nonResourceURLs: [\"/logs*\", /version]\n");
    assert_eq!(level(&p, &non_res("/logs")), Request);
    assert_eq!(level(&p, &non_res("/logsfoo")), Request);
    assert_eq!(level(&p, &non_res("/logs/a/b")), Request);
    assert_eq!(level(&p, &non_res("/version")), Request);
    assert_eq!(level(&p, &non_res("/version/")), None);
    assert_eq!(level(&p, &res("", "", "logs", "", "")), None);
    let p = yaml_policy("- level: Request\n  nonResourceURLs: [\"*\"]\n");
    assert_eq!(level(&p, &non_res("/anything")), Request);
    assert_eq!(level(&p, &res("d", "", "pods", "", "x")), None);
    // Verbs are exact: no wildcard.
    let p = yaml_policy("- level: Request\n  verbs: [\"*\"]\n");
    assert_eq!(level(&p, &non_res("/x")), None);
    // A catch-all matches non-resource requests too.
    let p = yaml_policy("- level: Metadata\n");
    assert_eq!(level(&p, &non_res("/x")), Metadata);
    // Users and groups are exact and case-sensitive.
    let p =
        yaml_policy("- level: Request\n  users: [Tim]\n- level: Metadata\n  userGroups: [a, b]\n");
    let g = strings(&["x", "b"]);
    let mut a = non_res("/x");
    a.user = Some(User {
        name: "tim",
        groups: &g,
    });
    assert_eq!(level(&p, &a), Metadata);
    // First match wins even when a later rule is more specific.
    let p = yaml_policy("- level: Metadata\n- level: RequestResponse\n  verbs: [get]\n");
    assert_eq!(level(&p, &non_res("/x")), Metadata);
}

#[test]
fn events_give_the_attributes() {
    use osprey_audit::event::Event;
    let p = yaml_policy(concat!(
        "- level: None\n  users: [\"system:kube-proxy\"]\n",
        "- level: RequestResponse\n  resources: [{group: rbac.authorization.k8s.io, resources: [clusterroles]}]\n  namespaces: [\"\"]\n",
        "- level: Request\n  resources: [{resources: [pods/exec]}]\n",
        "- level: Metadata\n  nonResourceURLs: [/healthz]\n",
    ));
    let ev = |s: &str| -> Event { serde_json::from_str(s).unwrap() };
    // The authenticated user decides, not the impersonated one.
    let e = ev(
        r#"{"verb":"get","user":{"username":"alice"},"impersonatedUser":{"username":"system:kube-proxy"},"requestURI":"/healthz?verbose=1"}"#,
    );
    assert_eq!(p.evaluate_event(&e).level, Level::Metadata);
    let e = ev(r#"{"verb":"get","user":{"username":"system:kube-proxy"},"requestURI":"/healthz"}"#);
    assert_eq!(p.evaluate_event(&e).level, Level::None);
    let e = ev(
        r#"{"verb":"delete","user":{},"objectRef":{"resource":"clusterroles","apiGroup":"rbac.authorization.k8s.io","name":"x"},"requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterroles/x"}"#,
    );
    assert_eq!(p.evaluate_event(&e).level, Level::RequestResponse);
    let e = ev(
        r#"{"verb":"create","objectRef":{"resource":"pods","namespace":"d","subresource":"exec"},"requestURI":"/api/v1/namespaces/d/pods/p/exec?command=sh"}"#,
    );
    assert_eq!(p.evaluate_event(&e).level, Level::Request);
    // A resource request is never a non-resource request, even on a matching path.
    let e = ev(
        r#"{"verb":"get","objectRef":{"resource":"pods","namespace":"d"},"requestURI":"/healthz"}"#,
    );
    assert_eq!(p.evaluate_event(&e).level, Level::None);
}
