//! Audit policies (`audit.k8s.io/v1` `Policy`): the model, loading and validation
//! ([`Policy::from_yaml`]) and evaluation ([`Policy::evaluate`]), with the
//! apiserver's semantics:
//!
//! - rules are tried in order and the **first** match wins; no match means level
//!   `None` with the policy-wide `omitStages` and `omitManagedFields`;
//! - a rule matches when every non-empty matcher matches: `users`, `userGroups`
//!   (any group), `verbs` (exact, no wildcard), then either the resource matchers
//!   (`namespaces`/`resources`; never a non-resource request) or `nonResourceURLs`
//!   (never a resource request); a rule with none of those three matches anything;
//! - `resources[].resources` entries: `*`, `R`, `R/S`, `*/S` (needs a subresource)
//!   and `R/*` (which, as upstream, also matches plain `R`); group `*` matches every
//!   group; `resourceNames` compare with the request name (so a list or create
//!   request, which has no name, only matches a `""` entry);
//! - `nonResourceURLs`: `*`, an exact path, or a prefix ending in `*` (plain string
//!   prefix: `/logs*` matches `/logsfoo`);
//! - `omitStages` is the union of the policy's and the rule's; the rule's
//!   `omitManagedFields`, when set, overrides the policy's.
//!
//! Evaluation borrows every string from the request ([`Attributes`]) and allocates
//! nothing.

use crate::event::{Event, Level, StageSet};
use serde::Serialize;

pub mod check;
mod load;
mod yaml;

pub use load::{Diagnostic, Loaded};

/// A loaded and validated audit policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The rules, in order.
    pub rules: Vec<Rule>,
    /// Stages never recorded, for any rule (policy-level `omitStages`).
    pub omit_stages: StageSet,
    /// Default for stripping `metadata.managedFields` from logged bodies.
    pub omit_managed_fields: bool,
}

/// One policy rule (`rules[i]`). Empty lists match everything.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The level recorded for matching requests.
    pub level: Level,
    /// Authenticated user names.
    pub users: Vec<String>,
    /// Groups; the user must be in at least one.
    pub user_groups: Vec<String>,
    /// Verbs, compared exactly.
    pub verbs: Vec<String>,
    /// Resource selectors; any one may match.
    pub resources: Vec<GroupResources>,
    /// Namespaces; `""` selects cluster-scoped requests.
    pub namespaces: Vec<String>,
    /// Non-resource URL paths (`*`, exact, or prefix ending in `*`).
    pub non_resource_urls: Vec<String>,
    /// Stages omitted for this rule (added to the policy's).
    pub omit_stages: StageSet,
    /// Overrides the policy's `omitManagedFields` when set.
    pub omit_managed_fields: Option<bool>,
    /// 1-based line of the rule in its file (0 when built in code).
    pub line: usize,
}

impl Rule {
    /// A rule with the given level and no matchers (a catch-all).
    pub fn new(level: Level) -> Self {
        Rule {
            level,
            users: Vec::new(),
            user_groups: Vec::new(),
            verbs: Vec::new(),
            resources: Vec::new(),
            namespaces: Vec::new(),
            non_resource_urls: Vec::new(),
            omit_stages: StageSet::EMPTY,
            omit_managed_fields: None,
            line: 0,
        }
    }
}

/// A resource selector (`rules[i].resources[j]`).
#[derive(Debug, Clone, Default)]
pub struct GroupResources {
    /// API group: `""` is the core group, `*` every group.
    pub group: String,
    /// Resources (`pods`, `pods/log`, `*`, `pods/*`, `*/scale`); empty means all.
    pub resources: Vec<String>,
    /// Object names; empty means any.
    pub resource_names: Vec<String>,
}

/// The authenticated user of a request.
#[derive(Debug, Clone, Copy)]
pub struct User<'a> {
    /// User name.
    pub name: &'a str,
    /// Groups.
    pub groups: &'a [String],
}

/// What a resource request is about.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resource<'a> {
    /// Namespace; `""` for cluster-scoped requests.
    pub namespace: &'a str,
    /// API group; `""` for the core group.
    pub api_group: &'a str,
    /// Resource (`pods`).
    pub resource: &'a str,
    /// Subresource (`log`), or `""`.
    pub subresource: &'a str,
    /// Object name, or `""` (list, create, collection requests).
    pub name: &'a str,
}

/// The request attributes a policy is evaluated against (the authorizer's view).
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    /// The authenticated user; `None` for unauthenticated requests.
    pub user: Option<User<'a>>,
    /// The verb.
    pub verb: &'a str,
    /// `Some` for resource requests.
    pub resource: Option<Resource<'a>>,
    /// URL path without query (used for non-resource requests).
    pub path: &'a str,
}

impl<'a> Attributes<'a> {
    /// The attributes the apiserver evaluated to produce `event`.
    ///
    /// The user is the authenticated `user` (never `impersonatedUser`); it is
    /// absent when the event's user has no name, uid or groups (`"user":{}`). A
    /// request with an `objectRef` is a resource request; any other is a
    /// non-resource request on the path of `requestURI`.
    pub fn from_event(event: &'a Event) -> Self {
        let user = event.user.as_ref().and_then(|u| {
            let name = u.username.as_deref().unwrap_or("");
            let groups = u.groups.as_deref().unwrap_or(&[]);
            if name.is_empty() && groups.is_empty() && u.uid.as_deref().unwrap_or("").is_empty() {
                None
            } else {
                Some(User { name, groups })
            }
        });
        let resource = event.object_ref.as_ref().map(|o| Resource {
            namespace: o.namespace.as_deref().unwrap_or(""),
            api_group: o.api_group.as_deref().unwrap_or(""),
            resource: o.resource.as_deref().unwrap_or(""),
            subresource: o.subresource.as_deref().unwrap_or(""),
            name: o.name.as_deref().unwrap_or(""),
        });
        Attributes {
            user,
            verb: event.verb(),
            resource,
            path: event.path(),
        }
    }
}

/// The outcome of evaluating a policy for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The level to record at.
    pub level: Level,
    /// Stages not to record.
    pub omit_stages: StageSet,
    /// Whether to strip `metadata.managedFields` from bodies.
    pub omit_managed_fields: bool,
    /// Index of the matching rule; `None` when no rule matched.
    #[serde(skip)]
    pub rule: Option<usize>,
}

impl Policy {
    /// Evaluates the policy for one request.
    pub fn evaluate(&self, attrs: &Attributes<'_>) -> Decision {
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.matches(attrs) {
                return Decision {
                    level: rule.level,
                    omit_stages: self.omit_stages.union(rule.omit_stages),
                    omit_managed_fields: rule
                        .omit_managed_fields
                        .unwrap_or(self.omit_managed_fields),
                    rule: Some(i),
                };
            }
        }
        Decision {
            level: Level::None,
            omit_stages: self.omit_stages,
            omit_managed_fields: self.omit_managed_fields,
            rule: None,
        }
    }

    /// Evaluates the policy for the request an event records.
    pub fn evaluate_event(&self, event: &Event) -> Decision {
        self.evaluate(&Attributes::from_event(event))
    }
}

fn has(list: &[String], value: &str) -> bool {
    list.iter().any(|s| s == value)
}

impl Rule {
    /// Whether this rule matches the request (ignoring rule order).
    pub fn matches(&self, attrs: &Attributes<'_>) -> bool {
        if !self.users.is_empty() && !attrs.user.is_some_and(|u| has(&self.users, u.name)) {
            return false;
        }
        if !self.user_groups.is_empty()
            && !attrs
                .user
                .is_some_and(|u| u.groups.iter().any(|g| has(&self.user_groups, g)))
        {
            return false;
        }
        if !self.verbs.is_empty() && !has(&self.verbs, attrs.verb) {
            return false;
        }
        if !self.namespaces.is_empty() || !self.resources.is_empty() {
            return attrs.resource.is_some_and(|r| self.matches_resource(&r));
        }
        if !self.non_resource_urls.is_empty() {
            return attrs.resource.is_none()
                && self
                    .non_resource_urls
                    .iter()
                    .any(|spec| path_matches(attrs.path, spec));
        }
        true
    }

    fn matches_resource(&self, r: &Resource<'_>) -> bool {
        if !self.namespaces.is_empty() && !has(&self.namespaces, r.namespace) {
            return false;
        }
        if self.resources.is_empty() {
            return true;
        }
        self.resources.iter().any(|gr| gr.matches(r))
    }
}

impl GroupResources {
    /// Whether this selector matches a resource request.
    pub fn matches(&self, r: &Resource<'_>) -> bool {
        if self.group != r.api_group && self.group != "*" {
            return false;
        }
        if self.resources.is_empty() {
            return true;
        }
        if !self.resource_names.is_empty() && !has(&self.resource_names, r.name) {
            return false;
        }
        self.resources.iter().any(|res| resource_matches(res, r))
    }
}

/// One `resources[].resources` entry against a request's resource/subresource.
pub(crate) fn resource_matches(res: &str, r: &Resource<'_>) -> bool {
    if res == "*" {
        return true;
    }
    let combined = if r.subresource.is_empty() {
        res == r.resource
    } else {
        res.strip_prefix(r.resource)
            .and_then(|s| s.strip_prefix('/'))
            .is_some_and(|s| s == r.subresource)
    };
    if combined {
        return true;
    }
    if !r.subresource.is_empty() && res.strip_prefix("*/") == Some(r.subresource) {
        return true;
    }
    // Upstream quirk: no check that a subresource is present, so `pods/*` matches `pods`.
    res.strip_suffix("/*") == Some(r.resource)
}

/// One `nonResourceURLs` entry against a path.
pub(crate) fn path_matches(path: &str, spec: &str) -> bool {
    spec == "*"
        || spec == path
        || (spec.ends_with('*') && path.starts_with(spec.trim_end_matches('*')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_strings() {
        let r = |resource, subresource| Resource {
            resource,
            subresource,
            ..Resource::default()
        };
        assert!(resource_matches("pods", &r("pods", "")));
        assert!(!resource_matches("pods", &r("pods", "log")));
        assert!(resource_matches("pods/log", &r("pods", "log")));
        assert!(!resource_matches("pods/log", &r("pods", "")));
        assert!(resource_matches("pods/*", &r("pods", "")));
        assert!(resource_matches("pods/*", &r("pods", "exec")));
        assert!(resource_matches("*/scale", &r("deployments", "scale")));
        assert!(!resource_matches("*/scale", &r("scale", "")));
        assert!(!resource_matches("*/*", &r("pods", "log")));
        assert!(resource_matches("*", &r("pods", "log")));
        assert!(!resource_matches("podsx/log", &r("pods", "log")));
    }

    #[test]
    fn paths() {
        assert!(path_matches("/logs", "/logs*"));
        assert!(path_matches("/logsfoo", "/logs*"));
        assert!(path_matches("/logs/x", "/logs/*"));
        assert!(!path_matches("/logs", "/logs/*"));
        assert!(path_matches("/anything", "*"));
        assert!(path_matches("/metrics", "/metrics"));
        assert!(!path_matches("/metrics/x", "/metrics"));
        assert!(path_matches("/a", "/a**"));
    }
}
