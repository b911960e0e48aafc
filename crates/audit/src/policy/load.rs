//! Loading a policy the way kube-apiserver's policy reader does: decode (unknown
//! and duplicate keys only warn, like the apiserver's lenient fallback), check
//! the group/version, validate with the apiserver's field paths and messages,
//! and reject a policy without rules.

use super::yaml::{self, Mark, Node, ScalarKind, Value};
use super::{GroupResources, Policy, Rule};
use crate::event::{Level, Stage, StageSet};
use crate::Error;
use std::fmt;
use std::path::Path;
use std::rc::Rc;

/// One loader message: an error or a warning, with its field path (empty for
/// whole-file errors) and the position of the offending node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Field path as the apiserver prints it (`rules[0].level`), or `""`.
    pub path: String,
    /// The message after the path (`Required value`, `Invalid value: ...`).
    pub message: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
}

impl fmt::Display for Diagnostic {
    /// `path: message`, or just the message for whole-file errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl Diagnostic {
    fn new(path: impl Into<String>, message: impl Into<String>, mark: Mark) -> Self {
        Diagnostic {
            path: path.into(),
            message: message.into(),
            line: mark.line,
            column: mark.column,
        }
    }

    /// One line for a list of errors: the first one with its position, and a count.
    pub fn summary(diags: &[Diagnostic]) -> String {
        match diags {
            [] => "invalid audit policy".to_owned(),
            [d, rest @ ..] => {
                let mut s = format!("line {}, column {}: {d}", d.line, d.column);
                if !rest.is_empty() {
                    s.push_str(&format!(" (and {} more errors)", rest.len()));
                }
                s
            }
        }
    }
}

/// A loaded policy with the warnings the lenient decoding produced.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The policy.
    pub policy: Policy,
    /// Unknown or duplicate fields that were ignored.
    pub warnings: Vec<Diagnostic>,
}

impl Policy {
    /// Loads a policy from YAML (or JSON) text. On failure, returns every error in
    /// the apiserver's order: one decoding or group/version error, or all validation
    /// errors, or the 0-rules error.
    pub fn from_yaml(text: &str) -> Result<Loaded, Vec<Diagnostic>> {
        let (loaded, errors) = Policy::from_yaml_unvalidated(text)?;
        if errors.is_empty() {
            Ok(loaded)
        } else {
            Err(errors)
        }
    }

    /// Decodes a policy and runs validation, but returns the policy even when it is
    /// invalid, with the validation (or 0-rules) errors beside it; for tools that
    /// report on a policy rather than run it. Rules with an invalid level get level
    /// `None`; invalid stages are left out of `omitStages`. Decoding and
    /// group/version errors still fail.
    pub fn from_yaml_unvalidated(text: &str) -> Result<(Loaded, Vec<Diagnostic>), Vec<Diagnostic>> {
        let root = yaml::parse(text).map_err(|e| {
            vec![Diagnostic::new(
                "",
                format!("failed decoding: {}", e.message),
                e.mark,
            )]
        })?;
        let Some(root) = root else {
            return Err(vec![Diagnostic::new(
                "",
                "failed decoding: Object 'Kind' is missing in empty document",
                Mark::default(),
            )]);
        };
        let mut dec = Decoder::default();
        let raw = dec.policy(&root).map_err(|d| vec![d])?;
        let mut errors = Vec::new();
        let policy = raw.validate(&mut errors);
        if errors.is_empty() && policy.rules.is_empty() {
            errors.push(Diagnostic::new(
                "",
                "loaded illegal policy with 0 rules",
                root.mark,
            ));
        }
        // The apiserver's aggregate drops identical messages.
        let mut seen = std::collections::HashSet::new();
        errors.retain(|d| seen.insert(d.to_string()));
        Ok((
            Loaded {
                policy,
                warnings: dec.warnings,
            },
            errors,
        ))
    }

    /// Reads a policy file and decodes it as [`Policy::from_yaml_unvalidated`] does.
    pub fn load_unvalidated(path: &Path) -> Result<(Loaded, Vec<Diagnostic>), Error> {
        let text = read_text(path)?;
        Policy::from_yaml_unvalidated(&text).map_err(|diagnostics| Error::Policy {
            path: path.to_owned(),
            diagnostics,
        })
    }

    /// Reads and loads a policy file.
    pub fn load(path: &Path) -> Result<Loaded, Error> {
        let text = read_text(path)?;
        Policy::from_yaml(&text).map_err(|diagnostics| Error::Policy {
            path: path.to_owned(),
            diagnostics,
        })
    }
}

fn read_text(path: &Path) -> Result<String, Error> {
    let data = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    String::from_utf8(data).map_err(|e| Error::Policy {
        path: path.to_owned(),
        diagnostics: vec![Diagnostic {
            path: String::new(),
            message: format!(
                "failed decoding: invalid UTF-8 at byte {}",
                e.utf8_error().valid_up_to()
            ),
            line: 0,
            column: 0,
        }],
    })
}

/// A string with the position of its node.
#[derive(Debug, Default)]
struct Spanned {
    text: String,
    mark: Mark,
}

#[derive(Debug, Default)]
struct RawGroupResources {
    group: Spanned,
    resources: Vec<String>,
    resource_names: Vec<String>,
    mark: Mark,
}

#[derive(Debug, Default)]
struct RawRule {
    level: Spanned,
    users: Vec<String>,
    user_groups: Vec<String>,
    verbs: Vec<String>,
    resources: Vec<RawGroupResources>,
    namespaces: Vec<String>,
    non_resource_urls: Vec<Spanned>,
    non_resource_urls_mark: Mark,
    omit_stages: Vec<Spanned>,
    omit_managed_fields: Option<bool>,
    mark: Mark,
}

#[derive(Debug, Default)]
struct RawPolicy {
    rules: Vec<RawRule>,
    omit_stages: Vec<Spanned>,
    omit_managed_fields: bool,
}

#[derive(Default)]
struct Decoder {
    warnings: Vec<Diagnostic>,
}

type Decoded<T> = Result<T, Diagnostic>;

fn type_error(path: &str, expected: &str, node: &Node) -> Diagnostic {
    Diagnostic::new(
        "",
        format!(
            "failed decoding: {path}: expected {expected}, found {}",
            node.describe()
        ),
        node.mark,
    )
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Decoder {
    /// The members of a mapping, last value winning for duplicate keys; unknown and
    /// duplicate keys become warnings.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: &[&'static str],
    ) -> Decoded<Vec<(&'static str, &'n Rc<Node>)>> {
        let Value::Map(pairs) = &node.value else {
            if let Value::Scalar(_, ScalarKind::Null) = node.value {
                return Ok(Vec::new());
            }
            return Err(type_error(
                if path.is_empty() { "policy" } else { path },
                "a mapping",
                node,
            ));
        };
        let mut out: Vec<(&'static str, &'n Rc<Node>)> = Vec::new();
        for (k, v) in pairs {
            let key = match &k.value {
                Value::Scalar(s, _) => s.as_str(),
                _ => "<non-scalar key>",
            };
            match known.iter().find(|n| **n == key) {
                Some(name) => {
                    if let Some(slot) = out.iter_mut().find(|(n, _)| n == name) {
                        self.warnings.push(Diagnostic::new(
                            join(path, key),
                            "duplicate field (the last value is used)",
                            k.mark,
                        ));
                        slot.1 = v;
                    } else {
                        out.push((name, v));
                    }
                }
                None => self.warnings.push(Diagnostic::new(
                    join(path, key),
                    "unknown field (ignored, as the apiserver's lenient decoding does)",
                    k.mark,
                )),
            }
        }
        Ok(out)
    }

    fn string(&self, node: &Node, path: &str) -> Decoded<Spanned> {
        match &node.value {
            Value::Scalar(s, ScalarKind::Str) => Ok(Spanned {
                text: s.clone(),
                mark: node.mark,
            }),
            Value::Scalar(_, ScalarKind::Null) => Ok(Spanned {
                text: String::new(),
                mark: node.mark,
            }),
            _ => Err(type_error(path, "a string", node)),
        }
    }

    fn bool(&self, node: &Node, path: &str) -> Decoded<Option<bool>> {
        match &node.value {
            Value::Scalar(_, ScalarKind::Bool(b)) => Ok(Some(*b)),
            Value::Scalar(_, ScalarKind::Null) => Ok(None),
            _ => Err(type_error(path, "a boolean", node)),
        }
    }

    fn list<'n>(&self, node: &'n Node, path: &str) -> Decoded<&'n [Rc<Node>]> {
        match &node.value {
            Value::Seq(items) => Ok(items),
            Value::Scalar(_, ScalarKind::Null) => Ok(&[]),
            _ => Err(type_error(path, "a list", node)),
        }
    }

    fn strings(&self, node: &Node, path: &str) -> Decoded<Vec<Spanned>> {
        self.list(node, path)?
            .iter()
            .enumerate()
            .map(|(i, n)| self.string(n, &format!("{path}[{i}]")))
            .collect()
    }

    fn plain_strings(&self, node: &Node, path: &str) -> Decoded<Vec<String>> {
        Ok(self
            .strings(node, path)?
            .into_iter()
            .map(|s| s.text)
            .collect())
    }

    fn policy(&mut self, root: &Node) -> Decoded<RawPolicy> {
        let fields = self.fields(
            root,
            "",
            &[
                "apiVersion",
                "kind",
                "metadata",
                "rules",
                "omitStages",
                "omitManagedFields",
            ],
        )?;
        let get = |name: &str| fields.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let kind = match get("kind") {
            Some(n) => self.string(n, "kind")?.text,
            None => String::new(),
        };
        let api_version = match get("apiVersion") {
            Some(n) => self.string(n, "apiVersion")?.text,
            None => String::new(),
        };
        if kind.is_empty() {
            return Err(Diagnostic::new(
                "",
                "failed decoding: Object 'Kind' is missing",
                root.mark,
            ));
        }
        if api_version != "audit.k8s.io/v1" {
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
            let mark = get("apiVersion").map_or(root.mark, |n| n.mark);
            return Err(Diagnostic::new(
                "",
                format!("unknown group version field {group}/{version}, Kind={kind} in policy"),
                mark,
            ));
        }
        if kind != "Policy" {
            let mark = get("kind").map_or(root.mark, |n| n.mark);
            return Err(Diagnostic::new(
                "",
                format!(
                    "failed decoding: no kind \"{kind}\" is registered for version \"audit.k8s.io/v1\""
                ),
                mark,
            ));
        }
        let mut out = RawPolicy::default();
        for (name, node) in &fields {
            match *name {
                "rules" => {
                    for (i, r) in self.list(node, "rules")?.iter().enumerate() {
                        out.rules.push(self.rule(r, &format!("rules[{i}]"))?);
                    }
                }
                "omitStages" => out.omit_stages = self.strings(node, "omitStages")?,
                "omitManagedFields" => {
                    out.omit_managed_fields =
                        self.bool(node, "omitManagedFields")?.unwrap_or(false);
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn rule(&mut self, node: &Node, path: &str) -> Decoded<RawRule> {
        let fields = self.fields(
            node,
            path,
            &[
                "level",
                "users",
                "userGroups",
                "verbs",
                "resources",
                "namespaces",
                "nonResourceURLs",
                "omitStages",
                "omitManagedFields",
            ],
        )?;
        let mut r = RawRule {
            mark: node.mark,
            ..RawRule::default()
        };
        for (name, v) in fields {
            let p = join(path, name);
            match name {
                "level" => r.level = self.string(v, &p)?,
                "users" => r.users = self.plain_strings(v, &p)?,
                "userGroups" => r.user_groups = self.plain_strings(v, &p)?,
                "verbs" => r.verbs = self.plain_strings(v, &p)?,
                "namespaces" => r.namespaces = self.plain_strings(v, &p)?,
                "nonResourceURLs" => {
                    r.non_resource_urls = self.strings(v, &p)?;
                    r.non_resource_urls_mark = v.mark;
                }
                "omitStages" => r.omit_stages = self.strings(v, &p)?,
                "omitManagedFields" => r.omit_managed_fields = self.bool(v, &p)?,
                "resources" => {
                    for (j, g) in self.list(v, &p)?.iter().enumerate() {
                        r.resources
                            .push(self.group_resources(g, &format!("{p}[{j}]"))?);
                    }
                }
                _ => {}
            }
        }
        Ok(r)
    }

    fn group_resources(&mut self, node: &Node, path: &str) -> Decoded<RawGroupResources> {
        let fields = self.fields(node, path, &["group", "resources", "resourceNames"])?;
        let mut g = RawGroupResources {
            mark: node.mark,
            ..RawGroupResources::default()
        };
        for (name, v) in fields {
            let p = join(path, name);
            match name {
                "group" => g.group = self.string(v, &p)?,
                "resources" => g.resources = self.plain_strings(v, &p)?,
                "resourceNames" => g.resource_names = self.plain_strings(v, &p)?,
                _ => {}
            }
        }
        Ok(g)
    }
}

/// Go's `%q` for the strings these messages quote.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%#v` of a `[]string`.
fn go_string_slice(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

const STAGES_HINT: &str =
    "allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic";

fn validate_stages(stages: &[Spanned], path: &str, errors: &mut Vec<Diagnostic>) -> StageSet {
    let mut set = StageSet::EMPTY;
    for (i, s) in stages.iter().enumerate() {
        match Stage::parse(&s.text) {
            Some(stage) => set.insert(stage),
            None => errors.push(Diagnostic::new(
                format!("{path}[{i}]"),
                format!("Invalid value: {}: {STAGES_HINT}", quote(&s.text)),
                s.mark,
            )),
        }
    }
    set
}

/// apimachinery's `IsDNS1123Subdomain` messages.
fn dns1123_subdomain_errors(value: &str) -> Vec<&'static str> {
    let mut msgs = Vec::new();
    if value.len() > 253 {
        msgs.push("must be no more than 253 characters");
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && !b[0].is_ascii_uppercase()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && !b[b.len() - 1].is_ascii_uppercase()
            && b.iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || *c == b'-')
    };
    if !value.split('.').all(label_ok) {
        msgs.push(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        );
    }
    msgs
}

impl RawPolicy {
    /// Runs the apiserver's validation (rule by rule: level, nonResourceURLs,
    /// resources, omitStages, the resource/non-resource mix; then the policy's
    /// omitStages) and builds the policy.
    fn validate(self, errors: &mut Vec<Diagnostic>) -> Policy {
        let mut rules = Vec::with_capacity(self.rules.len());
        for (i, r) in self.rules.into_iter().enumerate() {
            let path = format!("rules[{i}]");
            let level = if r.level.text.is_empty() {
                errors.push(Diagnostic::new(
                    format!("{path}.level"),
                    "Required value",
                    if r.level.mark == Mark::default() {
                        r.mark
                    } else {
                        r.level.mark
                    },
                ));
                Level::None
            } else if let Some(level) = Level::parse(&r.level.text) {
                level
            } else {
                errors.push(Diagnostic::new(
                    format!("{path}.level"),
                    format!(
                        "Unsupported value: {}: supported values: \"None\", \"Metadata\", \"Request\", \"RequestResponse\"",
                        quote(&r.level.text)
                    ),
                    r.level.mark,
                ));
                Level::None
            };
            for (j, url) in r.non_resource_urls.iter().enumerate() {
                let u = url.text.as_str();
                if u == "*" {
                    continue;
                }
                let p = format!("{path}.nonResourceURLs[{j}]");
                if !u.starts_with('/') {
                    errors.push(Diagnostic::new(
                        &p,
                        format!(
                            "Invalid value: {}: non-resource URL rules must begin with a '/' character",
                            quote(u)
                        ),
                        url.mark,
                    ));
                }
                if u.len() > 1 && u[..u.len() - 1].contains('*') {
                    errors.push(Diagnostic::new(
                        &p,
                        format!(
                            "Invalid value: {}: non-resource URL wildcards '*' must be the final character of the rule",
                            quote(u)
                        ),
                        url.mark,
                    ));
                }
            }
            for g in &r.resources {
                let group = g.group.text.as_str();
                if !group.is_empty() && group != "*" {
                    let msgs = dns1123_subdomain_errors(group);
                    if !msgs.is_empty() {
                        errors.push(Diagnostic::new(
                            format!("{path}.resources.group"),
                            format!("Invalid value: {}: {}", quote(group), msgs.join(",")),
                            g.group.mark,
                        ));
                    }
                }
                if !g.resource_names.is_empty() && g.resources.is_empty() {
                    let names: Vec<&str> = g.resource_names.iter().map(String::as_str).collect();
                    errors.push(Diagnostic::new(
                        format!("{path}.resources.resourceNames"),
                        format!(
                            "Invalid value: {}: using resourceNames requires at least one resource",
                            go_string_slice(&names)
                        ),
                        g.mark,
                    ));
                }
            }
            let omit_stages =
                validate_stages(&r.omit_stages, &format!("{path}.omitStages"), errors);
            if !r.non_resource_urls.is_empty()
                && (!r.resources.is_empty() || !r.namespaces.is_empty())
            {
                let urls: Vec<&str> = r
                    .non_resource_urls
                    .iter()
                    .map(|s| s.text.as_str())
                    .collect();
                errors.push(Diagnostic::new(
                    format!("{path}.nonResourceURLs"),
                    format!(
                        "Invalid value: {}: rules cannot apply to both regular resources and non-resource URLs",
                        go_string_slice(&urls)
                    ),
                    r.non_resource_urls_mark,
                ));
            }
            rules.push(Rule {
                level,
                users: r.users,
                user_groups: r.user_groups,
                verbs: r.verbs,
                resources: r
                    .resources
                    .into_iter()
                    .map(|g| GroupResources {
                        group: g.group.text,
                        resources: g.resources,
                        resource_names: g.resource_names,
                    })
                    .collect(),
                namespaces: r.namespaces,
                non_resource_urls: r.non_resource_urls.into_iter().map(|s| s.text).collect(),
                omit_stages,
                omit_managed_fields: r.omit_managed_fields,
                line: r.mark.line,
            });
        }
        let omit_stages = validate_stages(&self.omit_stages, "omitStages", errors);
        Policy {
            rules,
            omit_stages,
            omit_managed_fields: self.omit_managed_fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quoting() {
        assert_eq!(quote("a\"b\\"), r#""a\"b\\""#);
        assert_eq!(go_string_slice(&["/a", "b"]), r#"[]string{"/a", "b"}"#);
        assert_eq!(go_string_slice(&[]), "[]string{}");
    }

    #[test]
    fn dns_subdomains() {
        assert!(dns1123_subdomain_errors("rbac.authorization.k8s.io").is_empty());
        assert!(dns1123_subdomain_errors("apps").is_empty());
        assert_eq!(
            dns1123_subdomain_errors("rbac.authorization.k8s.io/v1").len(),
            1
        );
        assert_eq!(dns1123_subdomain_errors("Apps").len(), 1);
        assert_eq!(dns1123_subdomain_errors("a..b").len(), 1);
        assert_eq!(dns1123_subdomain_errors("-a").len(), 1);
        assert_eq!(dns1123_subdomain_errors(&"a".repeat(254)).len(), 1);
        assert_eq!(dns1123_subdomain_errors(&"A".repeat(254)).len(), 2);
    }
}
