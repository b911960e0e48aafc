//! The `ka.*` and `jevt.*` fields of Falco's `k8s_audit` source, for the
//! filter language (`osprey-filter`) and the rules engine (`osprey-rules`).
//!
//! - [`KaCatalog`]: resolves field names (a [`FieldCatalog`] and
//!   [`JsonFields`]), with the k8saudit plugin's names and types, the json
//!   plugin's `jevt.*`/`json.*` fields, and the `evt.*` fields every Falco
//!   source has (`evt.time`, `evt.rawtime`, ...);
//! - [`KaEvent`]: one audit event, parsed once into a JSON tree, with its
//!   timestamp (`stageTimestamp`);
//! - [`KaFields`]: the per-event extractor ([`Extract`]): it borrows the
//!   event and fills the filter's reusable [`Values`] buffers;
//! - [`input`]: audit payloads (one `Event`, an `EventList`, a JSON array,
//!   or JSON lines) split into events, as Falco's plugin accepts them.
//!
//! Semantics follow the k8saudit plugin (see `docs` on each field in
//! [`FIELDS`]): non-string JSON values read as their JSON text (`201`,
//! `true`, `{"a":1}`); list fields skip missing values; `ka.*` fields of an
//! event without `auditID` have no value. One deliberate difference:
//! `ka.sourceips` gives the event's `sourceIPs` (its documented meaning; the
//! plugin reads a path that never exists in real events).
//!
//! ```
//! use osprey_audit::fields::{KaCatalog, KaEvent, KaFields};
//! use osprey_filter::timefmt::LocalClock;
//! use osprey_filter::Filter;
//!
//! let ev = KaEvent::parse(r#"{"kind":"Event","auditID":"1","stage":"ResponseComplete",
//!   "verb":"create","user":{"username":"bob","groups":["dev","system:authenticated"]},
//!   "objectRef":{"resource":"pods","namespace":"default"},
//!   "responseStatus":{"code":201},"stageTimestamp":"2024-01-02T03:04:05.123456Z"}"#).unwrap();
//! let f = Filter::compile(
//!     "ka.verb=create and ka.user.groups intersects (dev) and ka.response.code startswith 2",
//!     &KaCatalog,
//! ).unwrap();
//! let clock = LocalClock::new();
//! assert!(f.matches(&KaFields::new(&ev, &clock)));
//! ```

mod extract;
pub mod input;

use osprey_event::ParamType;
use osprey_filter::format::JsonFields;
use osprey_filter::{FieldArg, FieldCatalog, FieldError, FieldRef};

pub use extract::KaFields;
pub use input::KaEvent;

/// The Falco source name of audit events.
pub const SOURCE: &str = "k8s_audit";

/// The Falco plugins whose fields [`KaCatalog`] provides (their
/// `required_plugin_versions` are satisfied by it).
pub const PLUGINS: [&str; 6] = [
    "k8saudit",
    "k8saudit-aks",
    "k8saudit-eks",
    "k8saudit-gke",
    "k8saudit-ovh",
    "json",
];

/// What a field's argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument.
    None,
    /// An optional index `[i]` (of a list field: keep only element `i`).
    Index,
    /// A required key `[k]`.
    Key,
}

/// One field of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// The name.
    pub name: &'static str,
    /// Several values (works with `in`, `intersects`...).
    pub list: bool,
    /// The argument.
    pub arg: ArgKind,
    /// What it is.
    pub desc: &'static str,
}

/// Which part of a pod's spec a container field reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Containers {
    /// `spec.containers`.
    Regular,
    /// `spec.initContainers`.
    Init,
    /// `spec.ephemeralContainers`.
    Ephemeral,
}

impl Containers {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Containers::Regular => "containers",
            Containers::Init => "initContainers",
            Containers::Ephemeral => "ephemeralContainers",
        }
    }
}

/// The per-container sub-fields of `ka.req.pod.containers.*`.
pub(crate) const CONTAINER_SUBFIELDS: [&str; 15] = [
    "name",
    "image",
    "image.repository",
    "command",
    "args",
    "privileged",
    "allow_privilege_escalation",
    "read_only_fs",
    "run_as_user",
    "eff_run_as_user",
    "run_as_group",
    "eff_run_as_group",
    "proc_mount",
    "add_capabilities",
    "host_port",
];

const fn f(name: &'static str, list: bool, arg: ArgKind, desc: &'static str) -> FieldDef {
    FieldDef {
        name,
        list,
        arg,
        desc,
    }
}

use ArgKind::{Index as I, Key as K, None as N};

/// Every field besides the container sub-fields, in id order.
pub const FIELDS: &[FieldDef] = &[
    f("ka.auditid", false, N, "The unique id of the audit event (auditID)."),
    f("ka.stage", false, N, "Stage of the request (RequestReceived, ResponseStarted, ResponseComplete, Panic)."),
    f("ka.auth.decision", false, N, "The authorization decision (annotation authorization.k8s.io/decision)."),
    f("ka.auth.reason", false, N, "The authorization reason (annotation authorization.k8s.io/reason)."),
    f("ka.auth.openshift.decision", false, N, "OpenShift authentication decision (annotation authentication.openshift.io/decision)."),
    f("ka.auth.openshift.username", false, N, "OpenShift authenticated user (annotation authentication.openshift.io/username)."),
    f("ka.validations.admission.policy.failure", false, N, "Admission policy validation failure (annotation validation.policy.admission.k8s.io/validation_failure)."),
    f("ka.security.pod.violations", false, N, "Pod security audit violations (annotation pod-security.kubernetes.io/audit-violations)."),
    f("ka.user.name", false, N, "The user name performing the request (user.username)."),
    f("ka.user.groups", true, I, "The groups of the user performing the request (user.groups)."),
    f("ka.impuser.name", false, N, "The impersonated user name (impersonatedUser.username)."),
    f("ka.verb", false, N, "The action being performed (verb)."),
    f("ka.uri", false, N, "The request URI as sent from client to server (requestURI)."),
    f("ka.uri.param", false, K, "The first value of a query parameter of the request URI, e.g. ka.uri.param[command]."),
    f("ka.target.name", false, N, "The target object name (objectRef.name)."),
    f("ka.target.namespace", false, N, "The target object namespace (objectRef.namespace)."),
    f("ka.target.resource", false, N, "The target object resource (objectRef.resource)."),
    f("ka.target.subresource", false, N, "The target object subresource (objectRef.subresource)."),
    f("ka.target.pod.name", false, N, "The target pod name (responseObject.metadata.name, pods without subresource only)."),
    f("ka.req.binding.subjects", true, I, "When the request object is a role binding, its subjects (JSON text each)."),
    f("ka.req.binding.role", false, N, "When the request object is a role binding, the role it refers to (roleRef.name)."),
    f("ka.req.binding.subject.has_name", false, K, "Deprecated: always true (as the plugin)."),
    f("ka.req.binding.subjects.user_names", true, I, "When the request object is a role binding, the names of its User subjects."),
    f("ka.req.binding.subjects.serviceaccount_names", true, I, "When the request object is a role binding, the names of its ServiceAccount subjects."),
    f("ka.req.binding.subjects.serviceaccount_ns_names", true, I, "When the request object is a role binding, namespace:name of its ServiceAccount subjects."),
    f("ka.req.binding.subjects.group_names", true, I, "When the request object is a role binding, the names of its Group subjects."),
    f("ka.req.configmap.name", false, N, "When the request object is a configmap, its name (objectRef.name)."),
    f("ka.req.configmap.obj", false, N, "When the request object is a configmap, its data (JSON text)."),
    f("ka.req.container.image", false, N, "Deprecated: the image of the pod's first container."),
    f("ka.req.container.image.repository", false, N, "Deprecated: the repository of the pod's first container's image."),
    f("ka.req.container.privileged", false, N, "Deprecated: true if any container of the pod is privileged, else false."),
    f("ka.req.pod.host_ipc", false, N, "When the request object is a pod, its hostIPC flag."),
    f("ka.req.pod.host_network", false, N, "When the request object is a pod, its hostNetwork flag."),
    f("ka.req.container.host_network", false, N, "Deprecated alias of ka.req.pod.host_network."),
    f("ka.req.pod.host_pid", false, N, "When the request object is a pod, its hostPID flag."),
    f("ka.req.pod.run_as_user", false, N, "When the request object is a pod, its securityContext.runAsUser."),
    f("ka.req.pod.run_as_group", false, N, "When the request object is a pod, its securityContext.runAsGroup."),
    f("ka.req.pod.fs_group", false, N, "When the request object is a pod, its securityContext.fsGroup."),
    f("ka.req.pod.supplemental_groups", true, I, "When the request object is a pod, its securityContext.supplementalGroups."),
    f("ka.req.pod.volumes.hostpath", true, I, "When the request object is a pod, the hostPath paths of its volumes."),
    f("ka.req.pod.volumes.flexvolume_driver", true, I, "When the request object is a pod, the flexVolume drivers of its volumes."),
    f("ka.req.pod.volumes.volume_type", true, I, "When the request object is a pod, the type (the keys other than name) of its volumes."),
    f("ka.req.volume.hostpath", false, K, "Deprecated: true if a hostPath volume has this path (a trailing * matches a prefix), else false."),
    f("ka.req.role.rules", true, I, "When the request object is a role, its rules (JSON text each)."),
    f("ka.req.role.rules.apiGroups", true, I, "When the request object is a role, the apiGroups of its rules."),
    f("ka.req.role.rules.nonResourceURLs", true, I, "When the request object is a role, the nonResourceURLs of its rules."),
    f("ka.req.role.rules.verbs", true, I, "When the request object is a role, the verbs of its rules."),
    f("ka.req.role.rules.resources", true, I, "When the request object is a role, the resources of its rules."),
    f("ka.req.service.type", false, N, "When the request object is a service, its type."),
    f("ka.req.service.ports", true, I, "When the request object is a service, its ports (JSON text each)."),
    f("ka.resp.name", false, N, "The response object name (responseObject.metadata.name)."),
    f("ka.response.code", false, N, "The response code (responseStatus.code), as text."),
    f("ka.response.reason", false, N, "The response reason (responseStatus.reason)."),
    f("ka.useragent", false, N, "The user agent of the client (userAgent)."),
    f("ka.sourceips", true, I, "The IP addresses of the client (sourceIPs)."),
    f("ka.cluster.name", false, N, "The cluster name (annotation cluster_name)."),
    f("jevt.value", false, K, "The value at a JSON pointer in the event, e.g. jevt.value[/user/username]; non-string values as JSON text."),
    f("jevt.obj", false, N, "The whole event as JSON text."),
    f("jevt.rawtime", false, N, "The event time (stageTimestamp) in nanoseconds since the epoch."),
    f("jevt.time", false, N, "The event time as local HH:MM:SS.nnnnnnnnn."),
    f("jevt.time.iso8601", false, N, "The event time in ISO 8601 form (UTC)."),
    f("json.value", false, K, "Alias of jevt.value (the json plugin's name)."),
    f("json.obj", false, N, "Alias of jevt.obj."),
    f("json.rawtime", false, N, "Alias of jevt.rawtime."),
    f("evt.time", false, N, "The event time as local HH:MM:SS.nnnnnnnnn."),
    f("evt.time.s", false, N, "The event time as local HH:MM:SS."),
    f("evt.time.iso8601", false, N, "The event time in ISO 8601 form (UTC)."),
    f("evt.datetime", false, N, "The event time as local YYYY-MM-DD HH:MM:SS.nnnnnnnnn."),
    f("evt.rawtime", false, N, "The event time in nanoseconds since the epoch."),
    f("evt.num", false, N, "The event number (1 for the first event of a stream)."),
    f("evt.source", false, N, "The event source: k8s_audit."),
];

/// Field ids below this are [`FIELDS`] indices; from it, container
/// sub-fields: `CONTAINER_BASE + 16 * which + sub`.
pub(crate) const CONTAINER_BASE: u32 = 1000;

/// The id of the field named `name` in [`FIELDS`].
pub(crate) fn simple_id(name: &str) -> Option<u32> {
    FIELDS
        .iter()
        .position(|d| d.name == name)
        .and_then(|i| u32::try_from(i).ok())
}

/// The container field id of `ka.req.pod.<which>.<sub>`.
fn container_id(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("ka.req.pod.")?;
    let (which, sub) = rest.split_once('.')?;
    let w: u32 = match which {
        "containers" => 0,
        "initContainers" => 1,
        "ephemeralContainers" => 2,
        _ => return None,
    };
    let s = CONTAINER_SUBFIELDS.iter().position(|&x| x == sub)?;
    Some(CONTAINER_BASE + 16 * w + u32::try_from(s).ok()?)
}

/// Splits a container field id into (which, sub-field index).
pub(crate) fn container_of(id: u32) -> Option<(Containers, usize)> {
    let off = id.checked_sub(CONTAINER_BASE)?;
    let which = match off / 16 {
        0 => Containers::Regular,
        1 => Containers::Init,
        2 => Containers::Ephemeral,
        _ => return None,
    };
    let sub = usize::try_from(off % 16).ok()?;
    (sub < CONTAINER_SUBFIELDS.len()).then_some((which, sub))
}

/// Every field name with its description, container sub-fields included
/// (for listings).
pub fn listing() -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = FIELDS
        .iter()
        .map(|d| (d.name.to_string(), d.desc))
        .collect();
    for which in ["containers", "initContainers", "ephemeralContainers"] {
        for sub in CONTAINER_SUBFIELDS {
            v.push((
                format!("ka.req.pod.{which}.{sub}"),
                "When the request object is a pod, this value of each container (missing values skipped).",
            ));
        }
    }
    v
}

/// The `ka.*`/`jevt.*` field catalogue.
#[derive(Debug, Clone, Copy, Default)]
pub struct KaCatalog;

/// The value type filters see for a field.
fn type_of(name: &str, list: bool) -> ParamType {
    match name {
        "jevt.rawtime" | "json.rawtime" | "evt.rawtime" => ParamType::AbsTime,
        "evt.num" => ParamType::Uint64,
        _ if list => ParamType::CharBufArray,
        _ => ParamType::CharBuf,
    }
}

impl FieldCatalog for KaCatalog {
    fn resolve(&self, name: &str, arg: FieldArg) -> Result<FieldRef, FieldError> {
        let (id, def_arg, list) = if let Some(id) = simple_id(name) {
            let d = &FIELDS[id as usize];
            (id, d.arg, d.list)
        } else if let Some(id) = container_id(name) {
            (id, ArgKind::Index, true)
        } else {
            return Err(FieldError::Unknown(name.to_string()));
        };
        let bad = |reason: &str| FieldError::BadArg {
            field: name.to_string(),
            reason: reason.to_string(),
        };
        let arg = match (def_arg, arg) {
            (ArgKind::None, FieldArg::None) => FieldArg::None,
            (ArgKind::None, _) => return Err(bad("this field takes no argument")),
            (ArgKind::Index, a @ (FieldArg::None | FieldArg::Index(_))) => a,
            (ArgKind::Index, FieldArg::Name(_)) => return Err(bad("expected a numeric index")),
            (ArgKind::Key, FieldArg::None) => return Err(bad("a key argument is required")),
            (ArgKind::Key, FieldArg::Index(i)) => FieldArg::Name(i.to_string().into()),
            (ArgKind::Key, a @ FieldArg::Name(_)) => a,
        };
        let name_text = match &arg {
            FieldArg::None => name.to_string(),
            FieldArg::Index(i) => format!("{name}[{i}]"),
            FieldArg::Name(k) => format!("{name}[{k}]"),
        };
        Ok(FieldRef {
            id,
            arg,
            ty: type_of(name, list),
            name: name_text.into(),
        })
    }
}

impl JsonFields for KaCatalog {
    /// `evt.time` and the other `evt.*` time strings are integers of
    /// nanoseconds in JSON `output_fields`, as for syscall events.
    fn json_variant(&self, field: &FieldRef) -> Option<FieldRef> {
        let name = FIELDS.get(field.id as usize)?.name;
        matches!(
            name,
            "evt.time" | "evt.time.s" | "evt.time.iso8601" | "evt.datetime"
        )
        .then(|| FieldRef {
            id: simple_id("evt.rawtime").unwrap_or(0),
            arg: FieldArg::None,
            ty: ParamType::AbsTime,
            name: field.name.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_their_arguments() {
        let r = KaCatalog.resolve("ka.user.groups", FieldArg::None).unwrap();
        assert_eq!(r.ty, ParamType::CharBufArray);
        let r = KaCatalog
            .resolve("ka.req.pod.initContainers.privileged", FieldArg::Index(1))
            .unwrap();
        assert_eq!(container_of(r.id), Some((Containers::Init, 5)));
        assert_eq!(&*r.name, "ka.req.pod.initContainers.privileged[1]");
        let r = KaCatalog
            .resolve("jevt.value", FieldArg::Name("/stage".into()))
            .unwrap();
        assert_eq!(&*r.name, "jevt.value[/stage]");
        assert!(matches!(
            KaCatalog.resolve("jevt.value", FieldArg::None),
            Err(FieldError::BadArg { .. })
        ));
        assert!(matches!(
            KaCatalog.resolve("ka.verb", FieldArg::Index(0)),
            Err(FieldError::BadArg { .. })
        ));
        assert!(matches!(
            KaCatalog.resolve("proc.name", FieldArg::None),
            Err(FieldError::Unknown(_))
        ));
        assert_eq!(listing().len(), FIELDS.len() + 45);
    }
}
