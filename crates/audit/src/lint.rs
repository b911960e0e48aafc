//! `osprey-audit lint`: find rules that do nothing.
//!
//! Findings, one per line as `rules[I] (line L): KIND: reason` (or `omitStages`
//! / `omitManagedFields` for policy-wide settings):
//!
//! - `invalid`: a validation error the apiserver would refuse to start with;
//! - `shadowed`: every request the rule matches is matched by one earlier rule,
//!   so it is never reached. This is a real subsumption check over users, groups,
//!   verbs, namespaces, resources (groups, `*`, `R/*`, `*/S`, resourceNames) and
//!   non-resource URL prefixes. It is exact for single earlier rules and
//!   conservative: a rule covered only by the *union* of several earlier rules,
//!   or through odd literal `*` names, is not reported;
//! - `never-matches`: the rule matches no real request (e.g. a `*` in `verbs`,
//!   `users`, `userGroups`, `namespaces` or `resourceNames`, where it is not a
//!   wildcard; upper-case verbs; resources like `*/*` or `""`);
//! - `no-effect`: a setting that changes nothing (rule `omitStages` on a level None
//!   rule or already omitted policy-wide, `omitManagedFields` on a rule that logs
//!   no bodies or that repeats the policy's value, a rule or policy omitting every
//!   stage).
//!
//! Exit status: 0 without findings, 1 with findings (and 1 on errors such as an
//! unreadable or undecodable policy, which print one message to stderr).

use crate::event::{Level, StageSet};
use crate::policy::{GroupResources, Policy, Rule};
use crate::{Error, Result};
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `osprey-audit lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The audit policy to lint.
    #[arg(long, value_name = "POLICY.yaml")]
    pub policy: PathBuf,
}

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Rejected by the apiserver's validation.
    Invalid,
    /// Never reached: an earlier rule matches all its requests.
    Shadowed,
    /// Matches no request at all.
    NeverMatches,
    /// A setting that has no effect.
    NoEffect,
}

impl Kind {
    /// The spelling used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invalid => "invalid",
            Kind::Shadowed => "shadowed",
            Kind::NeverMatches => "never-matches",
            Kind::NoEffect => "no-effect",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule index, or `None` for a policy-wide setting.
    pub rule: Option<usize>,
    /// 1-based line of the rule or setting (0 when unknown).
    pub line: usize,
    /// What kind of problem.
    pub kind: Kind,
    /// Why, in words.
    pub reason: String,
    /// For `Shadowed`: the earlier rule that covers this one.
    pub shadowed_by: Option<usize>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some(i) => write!(f, "rules[{i}]")?,
            None => f.write_str("policy")?,
        }
        write!(
            f,
            " (line {}): {}: {}",
            self.line,
            self.kind.as_str(),
            self.reason
        )
    }
}

/// Lints a decoded policy (validation errors are reported separately, by [`run`]).
pub fn lint(policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    let never: Vec<Option<String>> = policy.rules.iter().map(never_matches).collect();
    for (j, rule) in policy.rules.iter().enumerate() {
        let finding = |kind, reason: String, by| Finding {
            rule: Some(j),
            line: rule.line,
            kind,
            reason,
            shadowed_by: by,
        };
        if let Some(reason) = &never[j] {
            out.push(finding(Kind::NeverMatches, reason.clone(), None));
        } else if let Some(i) =
            (0..j).find(|&i| never[i].is_none() && subsumes(&policy.rules[i], rule))
        {
            out.push(finding(
                Kind::Shadowed,
                format!(
                    "every request it matches is matched first by rules[{i}] (line {}, level {})",
                    policy.rules[i].line, policy.rules[i].level
                ),
                Some(i),
            ));
            continue;
        }
        no_effect(policy, rule, &mut |reason| {
            out.push(finding(Kind::NoEffect, reason, None));
        });
    }
    let all: StageSet = crate::event::Stage::ALL.into_iter().collect();
    if policy.omit_stages == all {
        out.push(Finding {
            rule: None,
            line: 0,
            kind: Kind::NoEffect,
            reason: "omitStages lists every stage: no event is ever recorded".to_owned(),
            shadowed_by: None,
        });
    }
    out
}

fn no_effect(policy: &Policy, rule: &Rule, push: &mut dyn FnMut(String)) {
    let all: StageSet = crate::event::Stage::ALL.into_iter().collect();
    if rule.level == Level::None {
        if !rule.omit_stages.is_empty() {
            push("omitStages on a level None rule (it records nothing anyway)".to_owned());
        }
    } else {
        let repeated = rule
            .omit_stages
            .difference(rule.omit_stages.difference(policy.omit_stages));
        if !repeated.is_empty() {
            push(format!(
                "omitStages {} already omitted policy-wide",
                stage_list(repeated)
            ));
        }
        if rule.omit_stages.union(policy.omit_stages) == all && policy.omit_stages != all {
            push("omits every stage: nothing is recorded; use level None".to_owned());
        }
    }
    if let Some(v) = rule.omit_managed_fields {
        if rule.level < Level::Request {
            push(format!(
                "omitManagedFields on a level {} rule (no bodies are logged)",
                rule.level
            ));
        } else if v == policy.omit_managed_fields {
            push(format!(
                "omitManagedFields: {v} repeats the policy-wide value"
            ));
        }
    }
}

fn stage_list(set: StageSet) -> String {
    let names: Vec<&str> = set.iter().map(crate::event::Stage::as_str).collect();
    format!("[{}]", names.join(", "))
}

/// Why a rule cannot match any request, if it cannot.
fn never_matches(rule: &Rule) -> Option<String> {
    for (field, list) in [
        ("users", &rule.users),
        ("userGroups", &rule.user_groups),
        ("verbs", &rule.verbs),
        ("namespaces", &rule.namespaces),
    ] {
        if !list.is_empty() && list.iter().all(|s| s == "*") {
            return Some(format!(
                "\"*\" is not a wildcard in {field}: it only matches the literal name \"*\""
            ));
        }
    }
    if !rule.verbs.is_empty()
        && rule
            .verbs
            .iter()
            .all(|v| v == "*" || v.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Some(
            "verbs are lower case (get, list, ...; non-resource verbs are lower-cased HTTP methods)"
                .to_owned(),
        );
    }
    if !rule.namespaces.is_empty() || !rule.resources.is_empty() {
        if !rule.resources.is_empty() && rule.resources.iter().all(group_never_matches) {
            return Some("no resources entry can match a request".to_owned());
        }
    } else if !rule.non_resource_urls.is_empty()
        && rule
            .non_resource_urls
            .iter()
            .all(|u| u != "*" && !u.starts_with('/'))
    {
        return Some("non-resource paths always begin with '/'".to_owned());
    }
    None
}

fn group_never_matches(gr: &GroupResources) -> bool {
    if gr.resources.is_empty() {
        return false;
    }
    if !gr.resource_names.is_empty() && gr.resource_names.iter().all(|n| n == "*" || n.is_empty()) {
        return true;
    }
    gr.resources.iter().all(|r| resource_never_matches(r))
}

/// A resource entry that only a request with an empty or literal `*` resource or
/// subresource could match.
fn resource_never_matches(res: &str) -> bool {
    if res == "*" {
        return false;
    }
    let (r, sub) = match res.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (res, None),
    };
    match sub {
        None => r.is_empty() || r.contains('*'),
        Some(s) => {
            r.is_empty()
                || s.is_empty()
                || (r == "*" && s == "*")
                || s.contains('/')
                || (r != "*" && s != "*" && (r.contains('*') || s.contains('*')))
        }
    }
}

/// `list_b` empty (any), or `list_a` non-empty and contained in `list_b`.
fn list_covers(list_b: &[String], list_a: &[String]) -> bool {
    list_b.is_empty() || (!list_a.is_empty() && list_a.iter().all(|a| list_b.contains(a)))
}

/// Whether every request `a` matches is also matched by `b`.
pub fn subsumes(b: &Rule, a: &Rule) -> bool {
    if !list_covers(&b.users, &a.users)
        || !list_covers(&b.user_groups, &a.user_groups)
        || !list_covers(&b.verbs, &a.verbs)
    {
        return false;
    }
    let b_resource = !b.namespaces.is_empty() || !b.resources.is_empty();
    let a_resource = !a.namespaces.is_empty() || !a.resources.is_empty();
    if b_resource {
        if !a_resource {
            return false;
        }
        if !list_covers(&b.namespaces, &a.namespaces) {
            return false;
        }
        if b.resources.is_empty() {
            return true;
        }
        let everything = [GroupResources {
            group: "*".to_owned(),
            ..GroupResources::default()
        }];
        let a_groups: &[GroupResources] = if a.resources.is_empty() {
            &everything
        } else {
            &a.resources
        };
        return a_groups.iter().all(|ga| group_covered(&b.resources, ga));
    }
    if !b.non_resource_urls.is_empty() {
        return !a_resource
            && !a.non_resource_urls.is_empty()
            && a.non_resource_urls
                .iter()
                .all(|ua| b.non_resource_urls.iter().any(|ub| url_covers(ub, ua)));
    }
    true
}

/// Whether every request the selector `ga` matches is matched by one of `bs`.
fn group_covered(bs: &[GroupResources], ga: &GroupResources) -> bool {
    if ga.resources.is_empty() {
        // All resources of the group (or of every group).
        return bs.iter().any(|gb| {
            group_covers(gb, &ga.group)
                && (gb.resources.is_empty()
                    || (gb.resource_names.is_empty() && gb.resources.iter().any(|r| r == "*")))
        });
    }
    ga.resources.iter().all(|ra| {
        bs.iter().any(|gb| {
            group_covers(gb, &ga.group)
                && (gb.resources.is_empty()
                    || (list_covers(&gb.resource_names, &ga.resource_names)
                        && gb.resources.iter().any(|rb| resource_covers(rb, ra))))
        })
    })
}

fn group_covers(gb: &GroupResources, group_a: &str) -> bool {
    gb.group == "*" || gb.group == group_a
}

/// Whether resource pattern `rb` matches everything pattern `ra` matches
/// (conservative: `false` when unsure).
fn resource_covers(rb: &str, ra: &str) -> bool {
    if rb == "*" || rb == ra {
        return true;
    }
    if ra == "*" {
        return false;
    }
    if let Some(r) = rb.strip_suffix("/*") {
        if !r.contains('*') {
            // R/* matches R and every R/S.
            return ra == r || ra.strip_prefix(r).is_some_and(|s| s.starts_with('/'));
        }
    }
    if let Some(s) = rb.strip_prefix("*/") {
        if !s.contains('*') && !s.is_empty() {
            // */S matches every R/S.
            return ra
                .strip_suffix(s)
                .and_then(|p| p.strip_suffix('/'))
                .is_some_and(|p| !p.is_empty() && !p.contains('/'));
        }
    }
    false
}

/// Whether non-resource URL pattern `ub` matches every path `ua` matches.
fn url_covers(ub: &str, ua: &str) -> bool {
    if ub == "*" || ub == ua {
        return true;
    }
    if ua == "*" {
        return false;
    }
    match ub.strip_suffix('*') {
        Some(_) => {
            let prefix = ub.trim_end_matches('*');
            // ua is an exact path or a prefix pattern; its literal part must extend prefix.
            ua.trim_end_matches('*').starts_with(prefix)
        }
        None => false,
    }
}

/// Runs the subcommand, writing findings to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<ExitCode> {
    let (loaded, invalid) = Policy::load_unvalidated(&args.policy)?;
    let mut findings: Vec<Finding> = invalid
        .iter()
        .map(|d| Finding {
            rule: rule_index(&d.path),
            line: d.line,
            kind: Kind::Invalid,
            reason: d.to_string(),
            shadowed_by: None,
        })
        .collect();
    findings.extend(lint(&loaded.policy));
    for f in &findings {
        writeln!(out, "{f}").map_err(Error::Write)?;
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `rules[3].level` → 3.
fn rule_index(path: &str) -> Option<usize> {
    path.strip_prefix("rules[")?.split(']').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_pattern_cover() {
        assert!(resource_covers("*", "pods/log"));
        assert!(resource_covers("pods/*", "pods"));
        assert!(resource_covers("pods/*", "pods/log"));
        assert!(resource_covers("pods/*", "pods/*"));
        assert!(!resource_covers("pods/*", "podsx"));
        assert!(!resource_covers("pods", "pods/*"));
        assert!(!resource_covers("pods", "pods/log"));
        assert!(resource_covers("*/log", "pods/log"));
        assert!(!resource_covers("*/log", "pods"));
        assert!(!resource_covers("*/log", "pods/*"));
        assert!(!resource_covers("pods/log", "*"));
    }

    #[test]
    fn url_pattern_cover() {
        assert!(url_covers("*", "/a"));
        assert!(url_covers("/a*", "/a/b"));
        assert!(url_covers("/a*", "/ab*"));
        assert!(url_covers("/a*", "/a"));
        assert!(!url_covers("/a/*", "/a"));
        assert!(!url_covers("/a", "/a*"));
        assert!(!url_covers("/a*", "*"));
    }

    #[test]
    fn never_matching_resources() {
        assert!(resource_never_matches(""));
        assert!(resource_never_matches("*/*"));
        assert!(resource_never_matches("pods/"));
        assert!(resource_never_matches("po*"));
        assert!(!resource_never_matches("pods/*"));
        assert!(!resource_never_matches("*/scale"));
        assert!(!resource_never_matches("pods"));
        assert_eq!(rule_index("rules[12].level"), Some(12));
        assert_eq!(rule_index("omitStages[0]"), None);
    }
}
