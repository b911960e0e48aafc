//! The `ka.*`, `jevt.*` and `evt.*` fields on hand-written audit events:
//! values, list semantics with the filter operators, arguments, and the
//! k8saudit plugin's quirks.

use osprey_audit::fields::{KaCatalog, KaEvent, KaFields};
use osprey_filter::format::Format;
use osprey_filter::timefmt::LocalClock;
use osprey_filter::{Filter, Values};

const POD: &str = r#"{
  "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
  "auditID": "a1", "stage": "ResponseComplete",
  "requestURI": "/api/v1/namespaces/prod/pods?dryRun=All&fieldManager=kubectl%20client&x=1&x=2",
  "verb": "create",
  "user": {"username": "alice", "groups": ["devs", "system:authenticated"]},
  "impersonatedUser": {"username": "bob"},
  "sourceIPs": ["10.0.0.1", "192.168.1.9"],
  "userAgent": "kubectl/v1.30",
  "objectRef": {"resource": "pods", "namespace": "prod", "name": "web", "apiVersion": "v1"},
  "responseStatus": {"metadata": {}, "code": 201},
  "requestObject": {"kind": "Pod", "spec": {
    "hostNetwork": true, "runAsUser": 7,
    "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "supplementalGroups": [4, 5]},
    "containers": [
      {"name": "app", "image": "registry.io/team/app:1.2", "command": ["/bin/app", "--serve"], "args": ["-v"],
       "securityContext": {"privileged": true, "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]},
                           "readOnlyRootFilesystem": true},
       "ports": [{"containerPort": 80}, {"containerPort": 443, "hostPort": 8443}]},
      {"name": "side", "image": "busybox@sha256:abc"}
    ],
    "initContainers": [{"name": "init", "image": "alpine:3", "securityContext": {"allowPrivilegeEscalation": false}}],
    "volumes": [
      {"name": "root", "hostPath": {"path": "/etc/ssl", "type": "Directory"}},
      {"name": "cfg", "configMap": {"name": "c"}},
      {"name": "flex", "flexVolume": {"driver": "acme/fs"}}
    ]}},
  "responseObject": {"kind": "Pod", "metadata": {"name": "web"}},
  "requestReceivedTimestamp": "2024-03-04T05:06:07.000001Z",
  "stageTimestamp": "2024-03-04T05:06:07.123456Z",
  "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed",
                  "cluster_name": "east"}
}"#;

const ROLE_BINDING: &str = r#"{
  "kind": "Event", "auditID": "b2", "stage": "ResponseComplete", "verb": "create",
  "requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
  "user": {"username": "admin"},
  "objectRef": {"resource": "clusterrolebindings", "name": "crb"},
  "responseStatus": {"code": 201, "reason": "Created"},
  "requestObject": {"roleRef": {"name": "edit"}, "subjects": [
    {"kind": "User", "name": "u1"}, {"kind": "Group", "name": "g1"},
    {"kind": "ServiceAccount", "name": "sa1", "namespace": "ns1"}],
    "rules": [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get"]},
              {"nonResourceURLs": ["/metrics"], "verbs": ["get", "list"]}]},
  "stageTimestamp": "2024-03-04T05:06:07Z"
}"#;

fn ev(text: &str) -> KaEvent {
    KaEvent::parse(text).unwrap()
}

/// `field`'s text as an output format shows it (`<NA>` when missing).
fn show(e: &KaEvent, field: &str) -> String {
    let f = Format::parse(&format!("*%{field}"), &KaCatalog).unwrap();
    let clock = LocalClock::new();
    let mut out = Vec::new();
    assert!(f.write_text(&KaFields::new(e, &clock), &mut Values::new(), &mut out));
    String::from_utf8(out).unwrap()
}

fn matches(e: &KaEvent, cond: &str) -> bool {
    let f = Filter::compile(cond, &KaCatalog).unwrap_or_else(|err| panic!("{cond}: {err}"));
    let clock = LocalClock::new();
    f.matches(&KaFields::new(e, &clock))
}

#[test]
fn request_fields() {
    let e = ev(POD);
    for (field, want) in [
        ("ka.auditid", "a1"),
        ("ka.stage", "ResponseComplete"),
        ("ka.verb", "create"),
        ("ka.user.name", "alice"),
        ("ka.user.groups", "devs,system:authenticated"),
        ("ka.user.groups[1]", "system:authenticated"),
        ("ka.impuser.name", "bob"),
        ("ka.useragent", "kubectl/v1.30"),
        ("ka.sourceips", "10.0.0.1,192.168.1.9"),
        ("ka.sourceips[1]", "192.168.1.9"),
        ("ka.target.name", "web"),
        ("ka.target.namespace", "prod"),
        ("ka.target.resource", "pods"),
        ("ka.target.subresource", "<NA>"),
        ("ka.target.pod.name", "web"),
        ("ka.resp.name", "web"),
        ("ka.response.code", "201"),
        ("ka.response.reason", "<NA>"),
        ("ka.auth.decision", "allow"),
        ("ka.auth.reason", "RBAC: allowed"),
        ("ka.cluster.name", "east"),
        ("ka.uri.param[dryRun]", "All"),
        ("ka.uri.param[fieldManager]", "kubectl client"),
        ("ka.uri.param[x]", "1"),
        ("ka.uri.param[none]", "<NA>"),
    ] {
        assert_eq!(show(&e, field), want, "{field}");
    }
}

#[test]
fn pod_fields() {
    let e = ev(POD);
    for (field, want) in [
        ("ka.req.pod.containers.name", "app,side"),
        (
            "ka.req.pod.containers.image",
            "registry.io/team/app:1.2,busybox@sha256:abc",
        ),
        (
            "ka.req.pod.containers.image.repository",
            "registry.io/team/app,busybox",
        ),
        ("ka.req.pod.containers.image[1]", "busybox@sha256:abc"),
        ("ka.req.pod.containers.command", "/bin/app --serve"),
        ("ka.req.pod.containers.args", "-v"),
        ("ka.req.pod.containers.privileged", "true"),
        ("ka.req.pod.containers.read_only_fs", "true"),
        ("ka.req.pod.containers.run_as_user", "0"),
        // Falls back to `spec.runAsUser` (the plugin's path), then "0".
        ("ka.req.pod.containers.eff_run_as_user", "0,7"),
        ("ka.req.pod.containers.eff_run_as_group", "0,0"),
        (
            "ka.req.pod.containers.add_capabilities",
            "NET_ADMIN,SYS_TIME",
        ),
        ("ka.req.pod.containers.host_port", "80,8443"),
        ("ka.req.pod.initContainers.image", "alpine:3"),
        (
            "ka.req.pod.initContainers.allow_privilege_escalation",
            "false",
        ),
        ("ka.req.pod.ephemeralContainers.image", "<NA>"),
        ("ka.req.container.image", "registry.io/team/app:1.2"),
        ("ka.req.container.image.repository", "registry.io/team/app"),
        ("ka.req.container.privileged", "true"),
        ("ka.req.pod.host_network", "true"),
        ("ka.req.container.host_network", "true"),
        ("ka.req.pod.host_pid", "<NA>"),
        ("ka.req.pod.run_as_user", "1000"),
        ("ka.req.pod.run_as_group", "3000"),
        ("ka.req.pod.fs_group", "2000"),
        ("ka.req.pod.supplemental_groups", "4,5"),
        ("ka.req.pod.volumes.hostpath", "/etc/ssl"),
        ("ka.req.pod.volumes.flexvolume_driver", "acme/fs"),
        (
            "ka.req.pod.volumes.volume_type",
            "hostPath,configMap,flexVolume",
        ),
        ("ka.req.volume.hostpath[/etc/ssl]", "true"),
        ("ka.req.volume.hostpath[/etc*]", "true"),
        ("ka.req.volume.hostpath[/etc]", "false"),
    ] {
        assert_eq!(show(&e, field), want, "{field}");
    }
}

#[test]
fn binding_and_role_fields() {
    let e = ev(ROLE_BINDING);
    for (field, want) in [
        ("ka.req.binding.role", "edit"),
        ("ka.req.binding.subjects.user_names", "u1"),
        ("ka.req.binding.subjects.group_names", "g1"),
        ("ka.req.binding.subjects.serviceaccount_names", "sa1"),
        ("ka.req.binding.subjects.serviceaccount_ns_names", "ns1:sa1"),
        (
            "ka.req.binding.subjects[0]",
            r#"{"kind":"User","name":"u1"}"#,
        ),
        ("ka.req.binding.subject.has_name[anyone]", "true"),
        ("ka.req.role.rules.resources", "pods,secrets"),
        ("ka.req.role.rules.verbs", "get,get,list"),
        ("ka.req.role.rules.apiGroups", ""),
        ("ka.req.role.rules.nonResourceURLs", "/metrics"),
        ("ka.response.reason", "Created"),
        ("ka.target.pod.name", "<NA>"),
        ("ka.req.pod.containers.image", "<NA>"),
        ("ka.req.container.privileged", "<NA>"),
    ] {
        assert_eq!(show(&e, field), want, "{field}");
    }
}

#[test]
fn json_and_time_fields() {
    let e = ev(POD);
    assert_eq!(show(&e, "jevt.value[/user/username]"), "alice");
    assert_eq!(show(&e, "jevt.value[/responseStatus/code]"), "201");
    assert_eq!(
        show(&e, "jevt.value[/user/groups]"),
        r#"["devs","system:authenticated"]"#
    );
    assert_eq!(show(&e, "json.value[/objectRef/name]"), "web");
    assert_eq!(show(&e, "jevt.value[/nothing/here]"), "<NA>");
    assert_eq!(show(&e, "jevt.rawtime"), "1709528767123456000");
    assert_eq!(
        show(&e, "jevt.time.iso8601"),
        "2024-03-04T05:06:07.123456000+0000"
    );
    assert_eq!(show(&e, "evt.source"), "k8s_audit");
    assert!(show(&e, "jevt.obj").starts_with('{'));
    assert!(show(&e, "jevt.obj").contains(r#""auditID":"a1""#));
    assert!(matches(&e, "jevt.rawtime exists and not jevt.rawtime=0"));
    assert!(matches(&e, "jevt.value[/stage] in (ResponseComplete)"));
    assert!(matches(
        &e,
        "jevt.value[/requestObject/spec/hostNetwork]=true"
    ));
}

#[test]
fn list_fields_with_the_filter_operators() {
    let e = ev(POD);
    // `in`: every value in the set; `intersects`: any.
    assert!(matches(&e, "ka.user.groups intersects (devs, ops)"));
    assert!(!matches(&e, "ka.user.groups in (devs, ops)"));
    assert!(matches(
        &e,
        "ka.user.groups in (devs, system:authenticated, ops)"
    ));
    assert!(matches(
        &e,
        "ka.req.pod.containers.image.repository in (registry.io/team/app, busybox)"
    ));
    assert!(!matches(
        &e,
        "ka.req.pod.containers.image.repository in (busybox)"
    ));
    // Other operators hold when any value does.
    assert!(matches(&e, "ka.req.pod.containers.image contains busybox"));
    assert!(matches(&e, "ka.user.groups startswith system:"));
    assert!(matches(&e, "ka.req.pod.volumes.hostpath pmatch (/etc)"));
    assert!(matches(
        &e,
        "ka.req.pod.containers.privileged intersects (true)"
    ));
    assert!(!matches(
        &e,
        "ka.req.pod.initContainers.privileged intersects (true)"
    ));
    assert!(matches(&e, "len(ka.user.groups) = 2"));
    assert!(matches(&e, "ka.sourceips[0] = 10.0.0.1"));
    assert!(matches(
        &e,
        "ka.response.code startswith 2 and ka.response.code = 201"
    ));
    assert!(matches(&e, "not ka.target.subresource exists"));
    assert!(matches(
        &e,
        "ka.user.name = alice and ka.verb in (create, update)"
    ));
}

#[test]
fn an_event_without_audit_id_has_no_ka_fields() {
    let e = ev(
        r#"{"kind":"Event","verb":"get","user":{"username":"x"},"stageTimestamp":"2024-01-01T00:00:00Z"}"#,
    );
    assert_eq!(show(&e, "ka.verb"), "<NA>");
    assert_eq!(show(&e, "ka.user.name"), "<NA>");
    assert!(!matches(&e, "ka.verb exists"));
    // The json fields do not depend on it.
    assert_eq!(show(&e, "jevt.value[/verb]"), "get");
}

#[test]
fn bad_field_arguments_are_compile_errors() {
    for cond in [
        "jevt.value exists",
        "ka.verb[1] = x",
        "ka.user.groups[x] = y",
        "ka.nothing = 1",
    ] {
        assert!(Filter::compile(cond, &KaCatalog).is_err(), "{cond}");
    }
}
