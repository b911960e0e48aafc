//! `lint`: shadowed rules, rules that never match, settings with no effect.

use osprey_audit::lint::{lint, Kind};
use osprey_audit::policy::Policy;

/// (rule index, kind, shadowed by) of each finding.
fn findings(rules: &str) -> Vec<(Option<usize>, Kind, Option<usize>)> {
    findings_with("", rules)
}

fn findings_with(head: &str, rules: &str) -> Vec<(Option<usize>, Kind, Option<usize>)> {
    let text = format!("apiVersion: audit.k8s.io/v1\nkind: Policy\n{head}rules:\n{rules}");
    let policy = match Policy::from_yaml(&text) {
        Ok(l) => l.policy,
        Err(e) => panic!("{text}\n{e:?}"),
    };
    lint(&policy)
        .into_iter()
        .map(|f| (f.rule, f.kind, f.shadowed_by))
        .collect()
}

fn shadowed(i: usize, by: usize) -> (Option<usize>, Kind, Option<usize>) {
    (Some(i), Kind::Shadowed, Some(by))
}

#[test]
fn shadowing() {
    // Nothing to report.
    assert!(findings("- level: None\n  verbs: [watch]\n- level: Metadata\n").is_empty());
    // Anything after a catch-all.
    assert_eq!(
        findings("- level: Metadata\n- level: None\n  verbs: [watch]\n- level: Request\n"),
        [shadowed(1, 0), shadowed(2, 0)]
    );
    // Users, groups and verbs must be subsets.
    assert_eq!(
        findings("- level: None\n  users: [a, b]\n  verbs: [get, list]\n- level: Request\n  users: [a]\n  verbs: [get]\n- level: Request\n  users: [a, c]\n  verbs: [get]\n- level: Request\n  verbs: [get]\n"),
        [shadowed(1, 0)]
    );
    assert_eq!(
        findings("- level: None\n  userGroups: [g]\n- level: Request\n  userGroups: [g]\n  users: [x]\n- level: Request\n  users: [x]\n"),
        [shadowed(1, 0)]
    );
    // Resources: *, R/* (covering R and R/S), */S, groups, resourceNames.
    assert_eq!(
        findings(concat!(
            "- level: None\n  resources: [{group: \"\", resources: [\"pods/*\"]}]\n",
            "- level: Request\n  resources: [{resources: [pods, pods/log]}]\n",
            "- level: Request\n  resources: [{resources: [podsx]}]\n",
            "- level: Request\n  resources: [{group: apps, resources: [\"pods/log\"]}]\n",
        )),
        [shadowed(1, 0)]
    );
    assert_eq!(
        findings(concat!(
            "- level: None\n  resources: [{group: \"*\", resources: [\"*/scale\"]}]\n",
            "- level: Request\n  resources: [{group: apps, resources: [deployments/scale, statefulsets/scale]}]\n",
            "- level: Request\n  resources: [{group: apps, resources: [deployments]}]\n",
        )),
        [shadowed(1, 0)]
    );
    assert_eq!(
        findings(concat!(
            "- level: None\n  resources: [{resources: [configmaps], resourceNames: [a, b]}]\n",
            "- level: Request\n  resources: [{resources: [configmaps], resourceNames: [a]}]\n",
            "- level: Request\n  resources: [{resources: [configmaps]}]\n",
            "- level: Request\n  resources: [{resources: [configmaps], resourceNames: [a, c]}]\n",
        )),
        // The last one is covered by the unrestricted configmaps rule before it.
        [shadowed(1, 0), shadowed(3, 2)]
    );
    // A group with no resources covers every resource of the group, but not other groups.
    assert_eq!(
        findings(concat!(
            "- level: None\n  resources: [{group: apps}]\n",
            "- level: Request\n  resources: [{group: apps, resources: [\"*\"]}]\n",
            "- level: Request\n  resources: [{group: \"*\", resources: [deployments]}]\n",
        )),
        [shadowed(1, 0)]
    );
    // Covered by two selectors of one earlier rule.
    assert_eq!(
        findings(concat!(
            "- level: None\n  resources: [{resources: [pods]}, {resources: [secrets]}]\n",
            "- level: Request\n  resources: [{resources: [pods, secrets]}]\n",
        )),
        [shadowed(1, 0)]
    );
    // Namespaces: subset needed; a namespaces-only rule covers every resource there.
    assert_eq!(
        findings(concat!(
            "- level: None\n  namespaces: [kube-system, \"\"]\n",
            "- level: Request\n  namespaces: [kube-system]\n  resources: [{resources: [pods]}]\n",
            "- level: Request\n  resources: [{resources: [pods]}]\n",
            "- level: Request\n  namespaces: [default]\n",
        )),
        [shadowed(1, 0)]
    );
    // Resource rules never shadow non-resource rules or catch-alls, and vice versa.
    assert!(findings(concat!(
        "- level: None\n  resources: [{group: \"*\"}]\n",
        "- level: Request\n  nonResourceURLs: [\"*\"]\n",
        "- level: Request\n  verbs: [get]\n",
    ))
    .is_empty());
    // Non-resource URLs: prefixes (plain string prefixes).
    assert_eq!(
        findings(concat!(
            "- level: None\n  nonResourceURLs: [\"/api*\", /version]\n",
            "- level: Request\n  nonResourceURLs: [/apis/x, \"/api/*\", /version]\n",
            "- level: Request\n  nonResourceURLs: [/version, /healthz]\n",
            "- level: Request\n  nonResourceURLs: [\"/ap*\"]\n",
            "- level: Request\n  nonResourceURLs: [\"*\"]\n",
            "- level: Request\n  nonResourceURLs: [/anything]\n",
        )),
        [shadowed(1, 0), shadowed(5, 4)]
    );
}

#[test]
fn never_matches() {
    let never = |i| (Some(i), Kind::NeverMatches, None);
    assert_eq!(
        findings(concat!(
            "- level: None\n  verbs: [\"*\"]\n",
            "- level: None\n  verbs: [GET, List]\n",
            "- level: None\n  users: [\"*\"]\n",
            "- level: None\n  namespaces: [\"*\"]\n",
            "- level: None\n  resources: [{resources: [\"*/*\", \"\"]}]\n",
            "- level: None\n  resources: [{resources: [pods], resourceNames: [\"*\"]}]\n",
            "- level: Metadata\n  verbs: [get, GET]\n",
        )),
        [never(0), never(1), never(2), never(3), never(4), never(5)]
    );
    // A never-matching rule shadows nothing.
    assert!(
        findings("- level: None\n  verbs: [\"*\"]\n- level: Metadata\n  verbs: [get]\n")
            .iter()
            .all(|f| f.1 == Kind::NeverMatches)
    );
}

#[test]
fn settings_with_no_effect() {
    let none = |i| (Some(i), Kind::NoEffect, None);
    assert_eq!(
        findings_with(
            "omitStages: [RequestReceived]\n",
            concat!(
                "- level: None\n  verbs: [watch]\n  omitStages: [Panic]\n",
                "- level: Metadata\n  verbs: [get]\n  omitStages: [RequestReceived, Panic]\n",
                "- level: Metadata\n  verbs: [list]\n  omitManagedFields: true\n",
                "- level: Request\n  verbs: [create]\n  omitManagedFields: false\n",
                "- level: Request\n  verbs: [patch]\n  omitStages: [ResponseStarted, ResponseComplete, Panic]\n",
                "- level: Request\n  omitManagedFields: true\n  omitStages: [Panic]\n",
            )
        ),
        [none(0), none(1), none(2), none(3), none(4)]
    );
    assert_eq!(
        findings_with(
            "omitStages: [RequestReceived, ResponseStarted, ResponseComplete, Panic]\n",
            "- level: Metadata\n"
        ),
        [(None, Kind::NoEffect, None)]
    );
}

#[test]
fn messages_name_rule_and_line() {
    let text = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n- level: None\n  verbs: [get]\n";
    let policy = Policy::from_yaml(text).unwrap().policy;
    let lines: Vec<String> = lint(&policy).iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        ["rules[1] (line 5): shadowed: every request it matches is matched first by rules[0] (line 4, level Metadata)"]
    );
}
