//! Per-event extraction of the `ka.*`, `jevt.*` and `evt.*` fields.

use osprey_filter::timefmt::{self, LocalClock};
use osprey_filter::{Extract, Fast, FieldArg, FieldRef, Value as FValue, Values};
use serde_json::Value;
use std::cell::OnceCell;

use super::{container_of, Containers, KaEvent};

/// Field ids of [`super::FIELDS`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Id {
    /// `ka.auditid`
    KaAuditid,
    /// `ka.stage`
    KaStage,
    /// `ka.auth.decision`
    KaAuthDecision,
    /// `ka.auth.reason`
    KaAuthReason,
    /// `ka.auth.openshift.decision`
    KaAuthOpenshiftDecision,
    /// `ka.auth.openshift.username`
    KaAuthOpenshiftUsername,
    /// `ka.validations.admission.policy.failure`
    KaValidationsAdmissionPolicyFailure,
    /// `ka.security.pod.violations`
    KaSecurityPodViolations,
    /// `ka.user.name`
    KaUserName,
    /// `ka.user.groups`
    KaUserGroups,
    /// `ka.impuser.name`
    KaImpuserName,
    /// `ka.verb`
    KaVerb,
    /// `ka.uri`
    KaUri,
    /// `ka.uri.param`
    KaUriParam,
    /// `ka.target.name`
    KaTargetName,
    /// `ka.target.namespace`
    KaTargetNamespace,
    /// `ka.target.resource`
    KaTargetResource,
    /// `ka.target.subresource`
    KaTargetSubresource,
    /// `ka.target.pod.name`
    KaTargetPodName,
    /// `ka.req.binding.subjects`
    KaReqBindingSubjects,
    /// `ka.req.binding.role`
    KaReqBindingRole,
    /// `ka.req.binding.subject.has_name`
    KaReqBindingSubjectHasName,
    /// `ka.req.binding.subjects.user_names`
    KaReqBindingSubjectsUserNames,
    /// `ka.req.binding.subjects.serviceaccount_names`
    KaReqBindingSubjectsServiceaccountNames,
    /// `ka.req.binding.subjects.serviceaccount_ns_names`
    KaReqBindingSubjectsServiceaccountNsNames,
    /// `ka.req.binding.subjects.group_names`
    KaReqBindingSubjectsGroupNames,
    /// `ka.req.configmap.name`
    KaReqConfigmapName,
    /// `ka.req.configmap.obj`
    KaReqConfigmapObj,
    /// `ka.req.container.image`
    KaReqContainerImage,
    /// `ka.req.container.image.repository`
    KaReqContainerImageRepository,
    /// `ka.req.container.privileged`
    KaReqContainerPrivileged,
    /// `ka.req.pod.host_ipc`
    KaReqPodHostIpc,
    /// `ka.req.pod.host_network`
    KaReqPodHostNetwork,
    /// `ka.req.container.host_network`
    KaReqContainerHostNetwork,
    /// `ka.req.pod.host_pid`
    KaReqPodHostPid,
    /// `ka.req.pod.run_as_user`
    KaReqPodRunAsUser,
    /// `ka.req.pod.run_as_group`
    KaReqPodRunAsGroup,
    /// `ka.req.pod.fs_group`
    KaReqPodFsGroup,
    /// `ka.req.pod.supplemental_groups`
    KaReqPodSupplementalGroups,
    /// `ka.req.pod.volumes.hostpath`
    KaReqPodVolumesHostpath,
    /// `ka.req.pod.volumes.flexvolume_driver`
    KaReqPodVolumesFlexvolumeDriver,
    /// `ka.req.pod.volumes.volume_type`
    KaReqPodVolumesVolumeType,
    /// `ka.req.volume.hostpath`
    KaReqVolumeHostpath,
    /// `ka.req.role.rules`
    KaReqRoleRules,
    /// `ka.req.role.rules.apiGroups`
    KaReqRoleRulesApiGroups,
    /// `ka.req.role.rules.nonResourceURLs`
    KaReqRoleRulesNonResourceURLs,
    /// `ka.req.role.rules.verbs`
    KaReqRoleRulesVerbs,
    /// `ka.req.role.rules.resources`
    KaReqRoleRulesResources,
    /// `ka.req.service.type`
    KaReqServiceType,
    /// `ka.req.service.ports`
    KaReqServicePorts,
    /// `ka.resp.name`
    KaRespName,
    /// `ka.response.code`
    KaResponseCode,
    /// `ka.response.reason`
    KaResponseReason,
    /// `ka.useragent`
    KaUseragent,
    /// `ka.sourceips`
    KaSourceips,
    /// `ka.cluster.name`
    KaClusterName,
    /// `jevt.value`
    JevtValue,
    /// `jevt.obj`
    JevtObj,
    /// `jevt.rawtime`
    JevtRawtime,
    /// `jevt.time`
    JevtTime,
    /// `jevt.time.iso8601`
    JevtTimeIso8601,
    /// `json.value`
    JsonValue,
    /// `json.obj`
    JsonObj,
    /// `json.rawtime`
    JsonRawtime,
    /// `evt.time`
    EvtTime,
    /// `evt.time.s`
    EvtTimeS,
    /// `evt.time.iso8601`
    EvtTimeIso8601,
    /// `evt.datetime`
    EvtDatetime,
    /// `evt.rawtime`
    EvtRawtime,
    /// `evt.num`
    EvtNum,
    /// `evt.source`
    EvtSource,
}

/// Every [`Id`], by number.
const IDS: [Id; 71] = [
    Id::KaAuditid,
    Id::KaStage,
    Id::KaAuthDecision,
    Id::KaAuthReason,
    Id::KaAuthOpenshiftDecision,
    Id::KaAuthOpenshiftUsername,
    Id::KaValidationsAdmissionPolicyFailure,
    Id::KaSecurityPodViolations,
    Id::KaUserName,
    Id::KaUserGroups,
    Id::KaImpuserName,
    Id::KaVerb,
    Id::KaUri,
    Id::KaUriParam,
    Id::KaTargetName,
    Id::KaTargetNamespace,
    Id::KaTargetResource,
    Id::KaTargetSubresource,
    Id::KaTargetPodName,
    Id::KaReqBindingSubjects,
    Id::KaReqBindingRole,
    Id::KaReqBindingSubjectHasName,
    Id::KaReqBindingSubjectsUserNames,
    Id::KaReqBindingSubjectsServiceaccountNames,
    Id::KaReqBindingSubjectsServiceaccountNsNames,
    Id::KaReqBindingSubjectsGroupNames,
    Id::KaReqConfigmapName,
    Id::KaReqConfigmapObj,
    Id::KaReqContainerImage,
    Id::KaReqContainerImageRepository,
    Id::KaReqContainerPrivileged,
    Id::KaReqPodHostIpc,
    Id::KaReqPodHostNetwork,
    Id::KaReqContainerHostNetwork,
    Id::KaReqPodHostPid,
    Id::KaReqPodRunAsUser,
    Id::KaReqPodRunAsGroup,
    Id::KaReqPodFsGroup,
    Id::KaReqPodSupplementalGroups,
    Id::KaReqPodVolumesHostpath,
    Id::KaReqPodVolumesFlexvolumeDriver,
    Id::KaReqPodVolumesVolumeType,
    Id::KaReqVolumeHostpath,
    Id::KaReqRoleRules,
    Id::KaReqRoleRulesApiGroups,
    Id::KaReqRoleRulesNonResourceURLs,
    Id::KaReqRoleRulesVerbs,
    Id::KaReqRoleRulesResources,
    Id::KaReqServiceType,
    Id::KaReqServicePorts,
    Id::KaRespName,
    Id::KaResponseCode,
    Id::KaResponseReason,
    Id::KaUseragent,
    Id::KaSourceips,
    Id::KaClusterName,
    Id::JevtValue,
    Id::JevtObj,
    Id::JevtRawtime,
    Id::JevtTime,
    Id::JevtTimeIso8601,
    Id::JsonValue,
    Id::JsonObj,
    Id::JsonRawtime,
    Id::EvtTime,
    Id::EvtTimeS,
    Id::EvtTimeIso8601,
    Id::EvtDatetime,
    Id::EvtRawtime,
    Id::EvtNum,
    Id::EvtSource,
];

impl Id {
    /// The id numbered `n`.
    pub(crate) fn from_u32(n: u32) -> Option<Id> {
        IDS.get(usize::try_from(n).ok()?).copied()
    }
}

/// The fields of one audit event, for filters and output formats.
///
/// The values most rules test (stage, verb, user, target, response code)
/// are looked up in the event once and then remembered, so a ruleset that
/// tests them in every rule walks the JSON tree once per event.
#[derive(Debug, Clone)]
pub struct KaFields<'a> {
    ev: &'a KaEvent,
    clock: &'a LocalClock,
    num: u64,
    hot: [OnceCell<Option<&'a Value>>; HOT_COUNT],
}

/// The remembered lookups of [`KaFields`].
#[derive(Debug, Clone, Copy)]
enum Hot {
    AuditId,
    Stage,
    Verb,
    UserName,
    Resource,
    Subresource,
    Namespace,
    Name,
    Code,
    Uri,
    Decision,
}

const HOT_COUNT: usize = 11;

impl Hot {
    /// Where the value is in the event.
    fn path(self) -> &'static [&'static str] {
        match self {
            Hot::AuditId => &["auditID"],
            Hot::Stage => &["stage"],
            Hot::Verb => &["verb"],
            Hot::UserName => &["user", "username"],
            Hot::Resource => &["objectRef", "resource"],
            Hot::Subresource => &["objectRef", "subresource"],
            Hot::Namespace => &["objectRef", "namespace"],
            Hot::Name => &["objectRef", "name"],
            Hot::Code => &["responseStatus", "code"],
            Hot::Uri => &["requestURI"],
            Hot::Decision => &["annotations", "authorization.k8s.io/decision"],
        }
    }
}

/// The value at `path` (object keys) under `v`.
fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// The value at JSON pointer `p` (RFC 6901) under `v`. Unlike
/// `Value::pointer`, tokens without escapes are looked up without copying.
fn pointer<'v>(v: &'v Value, p: &str) -> Option<&'v Value> {
    if p.is_empty() {
        return Some(v);
    }
    let rest = p.strip_prefix('/')?;
    rest.split('/').try_fold(v, |v, token| {
        if token.contains('~') {
            let t = token.replace("~1", "/").replace("~0", "~");
            step(v, &t)
        } else {
            step(v, token)
        }
    })
}

/// One pointer step: an object key or an array index.
fn step<'v>(v: &'v Value, token: &str) -> Option<&'v Value> {
    match v {
        Value::Object(o) => o.get(token),
        Value::Array(a) => {
            if token.len() > 1 && token.starts_with('0') {
                return None;
            }
            a.get(token.parse::<usize>().ok()?)
        }
        _ => None,
    }
}

/// Appends `v` as a value: strings as they are, other JSON as its text;
/// `null` is no value.
fn push_json(out: &mut Values, v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => {
            out.push_bytes(s.as_bytes());
            true
        }
        other => {
            let start = out.begin_bytes();
            // Writing a JSON tree into a Vec cannot fail.
            let _ = serde_json::to_writer(out.bytes_mut(), other);
            out.end_bytes(start);
            true
        }
    }
}

/// Appends `v` when present (and not null).
fn push_opt(out: &mut Values, v: Option<&Value>) -> bool {
    v.is_some_and(|v| push_json(out, v))
}

/// The array at `path`, empty when absent.
fn arr<'v>(v: &'v Value, path: &[&str]) -> &'v [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The image's repository: cut at the first `:` and then at `@` (as the
/// plugin does; a registry with a port is cut there too).
fn repository(image: &str) -> &str {
    let s = image.split(':').next().unwrap_or(image);
    s.split('@').next().unwrap_or(s)
}

/// Percent-decodes a query component (`+` is a space).
fn unescape_query(s: &str, out: &mut Vec<u8>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
}

impl<'a> KaFields<'a> {
    /// The fields of `ev`; `clock` renders local times (`evt.time`).
    pub fn new(ev: &'a KaEvent, clock: &'a LocalClock) -> Self {
        KaFields {
            ev,
            clock,
            num: 0,
            hot: Default::default(),
        }
    }

    /// Sets `evt.num`, the event's number in its stream.
    #[must_use]
    pub fn with_num(mut self, num: u64) -> Self {
        self.num = num;
        self
    }

    /// The event.
    pub fn event(&self) -> &'a KaEvent {
        self.ev
    }

    fn j(&self) -> &'a Value {
        self.ev.json()
    }

    /// Whether `ka.*` fields have values: the plugin gives none for an
    /// event without `auditID`.
    fn has_audit_id(&self) -> bool {
        self.hot(Hot::AuditId).is_some()
    }

    /// A remembered lookup.
    fn hot(&self, h: Hot) -> Option<&'a Value> {
        let j = self.j();
        *self.hot[h as usize].get_or_init(|| at(j, h.path()))
    }

    fn annotation(&self, key: &str) -> Option<&'a Value> {
        self.j().get("annotations")?.get(key)
    }

    /// The JSON a simple string field reads, when it is a plain lookup.
    fn lookup(&self, id: Id, arg: &FieldArg) -> Option<Option<&'a Value>> {
        let j = self.j();
        Some(match id {
            Id::KaAuditid => self.hot(Hot::AuditId),
            Id::KaStage => self.hot(Hot::Stage),
            Id::KaAuthDecision => self.hot(Hot::Decision),
            Id::KaAuthReason => self.annotation("authorization.k8s.io/reason"),
            Id::KaAuthOpenshiftDecision => self.annotation("authentication.openshift.io/decision"),
            Id::KaAuthOpenshiftUsername => self.annotation("authentication.openshift.io/username"),
            Id::KaValidationsAdmissionPolicyFailure => {
                self.annotation("validation.policy.admission.k8s.io/validation_failure")
            }
            Id::KaSecurityPodViolations => {
                self.annotation("pod-security.kubernetes.io/audit-violations")
            }
            Id::KaClusterName => self.annotation("cluster_name"),
            Id::KaUserName => self.hot(Hot::UserName),
            Id::KaImpuserName => at(j, &["impersonatedUser", "username"]),
            Id::KaVerb => self.hot(Hot::Verb),
            Id::KaUri => self.hot(Hot::Uri),
            Id::KaUseragent => j.get("userAgent"),
            Id::KaTargetName | Id::KaReqConfigmapName => self.hot(Hot::Name),
            Id::KaTargetNamespace => self.hot(Hot::Namespace),
            Id::KaTargetResource => self.hot(Hot::Resource),
            Id::KaTargetSubresource => self.hot(Hot::Subresource),
            Id::KaTargetPodName => {
                let pods = at(j, &["objectRef", "resource"]).and_then(Value::as_str)
                    == Some("pods")
                    && at(j, &["objectRef", "subresource"]).is_none();
                if pods {
                    at(j, &["responseObject", "metadata", "name"])
                } else {
                    None
                }
            }
            Id::KaRespName => at(j, &["responseObject", "metadata", "name"]),
            Id::KaResponseCode => self.hot(Hot::Code),
            Id::KaResponseReason => at(j, &["responseStatus", "reason"]),
            Id::KaReqBindingRole => at(j, &["requestObject", "roleRef", "name"]),
            Id::KaReqConfigmapObj => at(j, &["requestObject", "data"]),
            Id::KaReqPodHostIpc => at(j, &["requestObject", "spec", "hostIPC"]),
            Id::KaReqPodHostNetwork | Id::KaReqContainerHostNetwork => {
                at(j, &["requestObject", "spec", "hostNetwork"])
            }
            Id::KaReqPodHostPid => at(j, &["requestObject", "spec", "hostPID"]),
            Id::KaReqPodRunAsUser => at(
                j,
                &["requestObject", "spec", "securityContext", "runAsUser"],
            ),
            Id::KaReqPodRunAsGroup => at(
                j,
                &["requestObject", "spec", "securityContext", "runAsGroup"],
            ),
            Id::KaReqPodFsGroup => at(j, &["requestObject", "spec", "securityContext", "fsGroup"]),
            Id::KaReqServiceType => at(j, &["requestObject", "spec", "type"]),
            Id::KaReqContainerImage => arr(j, &["requestObject", "spec", "containers"])
                .first()
                .and_then(|c| c.get("image")),
            Id::JevtValue | Id::JsonValue => match arg {
                FieldArg::Name(p) if &**p == "/stage" => self.hot(Hot::Stage),
                FieldArg::Name(p) => pointer(j, p),
                _ => None,
            },
            _ => return None,
        })
    }

    /// Appends the values of a list field, every one or only element `index`
    /// of the source array.
    fn list(&self, id: Id, index: Option<usize>, out: &mut Values) -> bool {
        let j = self.j();
        let pick = |items: &'a [Value]| -> &'a [Value] {
            match index {
                None => items,
                Some(i) => items.get(i..=i).unwrap_or(&[]),
            }
        };
        match id {
            Id::KaUserGroups => pick(arr(j, &["user", "groups"])).iter().for_each(|v| {
                push_json(out, v);
            }),
            Id::KaSourceips => pick(arr(j, &["sourceIPs"])).iter().for_each(|v| {
                push_json(out, v);
            }),
            Id::KaReqBindingSubjects => {
                pick(arr(j, &["requestObject", "subjects"]))
                    .iter()
                    .for_each(|v| {
                        push_json(out, v);
                    });
            }
            Id::KaReqBindingSubjectsUserNames
            | Id::KaReqBindingSubjectsGroupNames
            | Id::KaReqBindingSubjectsServiceaccountNames
            | Id::KaReqBindingSubjectsServiceaccountNsNames => {
                let kind = match id {
                    Id::KaReqBindingSubjectsUserNames => "User",
                    Id::KaReqBindingSubjectsGroupNames => "Group",
                    _ => "ServiceAccount",
                };
                for s in pick(arr(j, &["requestObject", "subjects"])) {
                    if s.get("kind").and_then(Value::as_str) != Some(kind) {
                        continue;
                    }
                    let Some(name) = s.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    if id == Id::KaReqBindingSubjectsServiceaccountNsNames {
                        let ns = s.get("namespace").and_then(Value::as_str).unwrap_or("");
                        let start = out.begin_bytes();
                        let b = out.bytes_mut();
                        b.extend_from_slice(ns.as_bytes());
                        b.push(b':');
                        b.extend_from_slice(name.as_bytes());
                        out.end_bytes(start);
                    } else {
                        out.push_bytes(name.as_bytes());
                    }
                }
            }
            Id::KaReqPodSupplementalGroups => pick(arr(
                j,
                &[
                    "requestObject",
                    "spec",
                    "securityContext",
                    "supplementalGroups",
                ],
            ))
            .iter()
            .for_each(|v| {
                push_json(out, v);
            }),
            Id::KaReqPodVolumesHostpath
            | Id::KaReqPodVolumesFlexvolumeDriver
            | Id::KaReqPodVolumesVolumeType => {
                for vol in pick(arr(j, &["requestObject", "spec", "volumes"])) {
                    match id {
                        Id::KaReqPodVolumesHostpath => {
                            push_opt(out, at(vol, &["hostPath", "path"]));
                        }
                        Id::KaReqPodVolumesFlexvolumeDriver => {
                            push_opt(out, at(vol, &["flexVolume", "driver"]));
                        }
                        _ => {
                            for k in vol.as_object().into_iter().flat_map(|o| o.keys()) {
                                if k != "name" {
                                    out.push_bytes(k.as_bytes());
                                }
                            }
                        }
                    }
                }
            }
            Id::KaReqRoleRules => pick(arr(j, &["requestObject", "rules"]))
                .iter()
                .for_each(|v| {
                    push_json(out, v);
                }),
            Id::KaReqRoleRulesApiGroups
            | Id::KaReqRoleRulesNonResourceURLs
            | Id::KaReqRoleRulesVerbs
            | Id::KaReqRoleRulesResources => {
                let key = match id {
                    Id::KaReqRoleRulesApiGroups => "apiGroups",
                    Id::KaReqRoleRulesNonResourceURLs => "nonResourceURLs",
                    Id::KaReqRoleRulesVerbs => "verbs",
                    _ => "resources",
                };
                for rule in pick(arr(j, &["requestObject", "rules"])) {
                    for v in arr(rule, &[key]) {
                        push_json(out, v);
                    }
                }
            }
            Id::KaReqServicePorts => pick(arr(j, &["requestObject", "spec", "ports"]))
                .iter()
                .for_each(|v| {
                    push_json(out, v);
                }),
            _ => return false,
        }
        !out.is_empty()
    }

    /// `ka.req.pod.<which>.<sub>`.
    fn containers(
        &self,
        which: Containers,
        sub: usize,
        index: Option<usize>,
        out: &mut Values,
    ) -> bool {
        let spec = at(self.j(), &["requestObject", "spec"]);
        let Some(spec) = spec else {
            return false;
        };
        let all = arr(spec, &[which.key()]);
        let items = match index {
            None => all,
            Some(i) => all.get(i..=i).unwrap_or(&[]),
        };
        for c in items {
            let sc = |k: &str| at(c, &["securityContext", k]);
            match super::CONTAINER_SUBFIELDS.get(sub).copied().unwrap_or("") {
                "name" => {
                    push_opt(out, c.get("name"));
                }
                "image" => {
                    push_opt(out, c.get("image"));
                }
                "image.repository" => {
                    if let Some(img) = c.get("image").and_then(Value::as_str) {
                        out.push_bytes(repository(img).as_bytes());
                    }
                }
                k @ ("command" | "args") => {
                    let parts = arr(c, &[k]);
                    if !parts.is_empty() {
                        let start = out.begin_bytes();
                        for (i, p) in parts.iter().enumerate() {
                            let b = out.bytes_mut();
                            if i > 0 {
                                b.push(b' ');
                            }
                            match p {
                                Value::String(s) => b.extend_from_slice(s.as_bytes()),
                                other => {
                                    let _ = serde_json::to_writer(&mut *b, other);
                                }
                            }
                        }
                        out.end_bytes(start);
                    }
                }
                "privileged" => {
                    push_opt(out, sc("privileged"));
                }
                "allow_privilege_escalation" => {
                    push_opt(out, sc("allowPrivilegeEscalation"));
                }
                "read_only_fs" => {
                    push_opt(out, sc("readOnlyRootFilesystem"));
                }
                "run_as_user" => {
                    push_opt(out, sc("runAsUser"));
                }
                "run_as_group" => {
                    push_opt(out, sc("runAsGroup"));
                }
                k @ ("eff_run_as_user" | "eff_run_as_group") => {
                    let key = if k == "eff_run_as_user" {
                        "runAsUser"
                    } else {
                        "runAsGroup"
                    };
                    // As the plugin: the pod-level value is read from
                    // `spec.<key>`, then "0".
                    if !push_opt(out, sc(key)) && !push_opt(out, spec.get(key)) {
                        out.push_bytes(b"0");
                    }
                }
                "proc_mount" => {
                    push_opt(out, sc("procMount"));
                }
                "add_capabilities" => {
                    for cap in at(c, &["securityContext", "capabilities", "add"])
                        .and_then(Value::as_array)
                        .map_or(&[][..], Vec::as_slice)
                    {
                        push_json(out, cap);
                    }
                }
                "host_port" => {
                    for p in arr(c, &["ports"]) {
                        if !push_opt(out, p.get("hostPort")) {
                            push_opt(out, p.get("containerPort"));
                        }
                    }
                }
                _ => return false,
            }
        }
        !out.is_empty()
    }

    fn time_value(&self, id: Id, out: &mut Values) -> bool {
        let ts = self.ev.ts();
        let start = out.begin_bytes();
        let b = out.bytes_mut();
        match id {
            Id::EvtTime | Id::JevtTime => self.clock.time(b, ts),
            Id::EvtTimeS => self.clock.time_s(b, ts),
            Id::EvtDatetime => self.clock.datetime(b, ts),
            Id::EvtTimeIso8601 | Id::JevtTimeIso8601 => timefmt::iso8601(b, ts),
            _ => return false,
        }
        out.end_bytes(start);
        true
    }
}

impl Extract for KaFields<'_> {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        if let Some((which, sub)) = container_of(field.id) {
            let index = match field.arg {
                FieldArg::Index(i) => Some(usize::try_from(i).unwrap_or(usize::MAX)),
                _ => None,
            };
            return self.has_audit_id() && self.containers(which, sub, index, out);
        }
        let Some(id) = Id::from_u32(field.id) else {
            return false;
        };
        let j = self.j();
        match id {
            Id::JevtObj | Id::JsonObj => return push_json(out, j),
            Id::JevtRawtime | Id::JsonRawtime | Id::EvtRawtime => {
                out.push(FValue::Uint(self.ev.ts()));
                return true;
            }
            Id::EvtNum => {
                out.push(FValue::Uint(self.num));
                return true;
            }
            Id::EvtSource => {
                out.push_bytes(super::SOURCE.as_bytes());
                return true;
            }
            Id::EvtTime
            | Id::EvtTimeS
            | Id::EvtDatetime
            | Id::EvtTimeIso8601
            | Id::JevtTime
            | Id::JevtTimeIso8601 => return self.time_value(id, out),
            Id::JevtValue | Id::JsonValue => {}
            _ if !self.has_audit_id() => return false,
            _ => {}
        }
        if let Some(v) = self.lookup(id, &field.arg) {
            return push_opt(out, v);
        }
        let index = match field.arg {
            FieldArg::Index(i) => Some(usize::try_from(i).unwrap_or(usize::MAX)),
            _ => None,
        };
        match id {
            Id::KaUriParam => {
                let FieldArg::Name(key) = &field.arg else {
                    return false;
                };
                let Some(uri) = j.get("requestURI").and_then(Value::as_str) else {
                    return false;
                };
                let Some((_, query)) = uri.split_once('?') else {
                    return false;
                };
                let mut name = Vec::new();
                for pair in query.split(['&', ';']) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    name.clear();
                    unescape_query(k, &mut name);
                    if name == key.as_bytes() {
                        let start = out.begin_bytes();
                        unescape_query(v, out.bytes_mut());
                        out.end_bytes(start);
                        return true;
                    }
                }
                false
            }
            Id::KaReqBindingSubjectHasName => {
                out.push_bytes(b"true");
                true
            }
            Id::KaReqContainerImageRepository => {
                match arr(j, &["requestObject", "spec", "containers"])
                    .first()
                    .and_then(|c| c.get("image"))
                    .and_then(Value::as_str)
                {
                    Some(img) => {
                        out.push_bytes(repository(img).as_bytes());
                        true
                    }
                    None => false,
                }
            }
            Id::KaReqContainerPrivileged => {
                let Some(cs) =
                    at(j, &["requestObject", "spec", "containers"]).and_then(Value::as_array)
                else {
                    return false;
                };
                let any = cs.iter().any(|c| {
                    at(c, &["securityContext", "privileged"]).and_then(Value::as_bool) == Some(true)
                });
                out.push_bytes(if any { b"true" } else { b"false" });
                true
            }
            Id::KaReqVolumeHostpath => {
                let FieldArg::Name(want) = &field.arg else {
                    return false;
                };
                let vols = at(j, &["requestObject", "spec", "volumes"]).and_then(Value::as_array);
                let Some(vols) = vols else {
                    return false;
                };
                let hit = vols.iter().any(|v| {
                    at(v, &["hostPath", "path"])
                        .and_then(Value::as_str)
                        .is_some_and(|p| match want.strip_suffix('*') {
                            Some(prefix) => p.starts_with(prefix),
                            None => p == &**want,
                        })
                });
                out.push_bytes(if hit { b"true" } else { b"false" });
                true
            }
            _ => self.list(id, index, out),
        }
    }

    fn borrow_bytes(&self, field: &FieldRef) -> Fast<&[u8]> {
        let Some(id) = Id::from_u32(field.id) else {
            return Fast::Unsupported;
        };
        if !matches!(id, Id::JevtValue | Id::JsonValue) && !self.has_audit_id() {
            return Fast::Unsupported;
        }
        match self.lookup(id, &field.arg) {
            Some(None | Some(Value::Null)) => Fast::Missing,
            Some(Some(Value::String(s))) => Fast::Done(s.as_bytes()),
            _ => Fast::Unsupported,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_field_table() {
        assert_eq!(IDS.len(), super::super::FIELDS.len());
        for (i, id) in IDS.iter().enumerate() {
            assert_eq!(*id as usize, i);
        }
        assert_eq!(
            super::super::FIELDS[Id::KaReqRoleRulesNonResourceURLs as usize].name,
            "ka.req.role.rules.nonResourceURLs"
        );
        assert_eq!(
            super::super::FIELDS[Id::EvtSource as usize].name,
            "evt.source"
        );
    }

    #[test]
    fn json_pointers() {
        let v: Value = serde_json::json!({"a": [{"b/c": 1, "d~e": 2}], "": 3});
        for p in [
            "",
            "/a/0/b~1c",
            "/a/0/d~0e",
            "/",
            "/a/1",
            "/a/01",
            "/x",
            "a",
        ] {
            assert_eq!(pointer(&v, p), v.pointer(p), "{p}");
        }
    }

    #[test]
    fn query_unescaping() {
        let mut out = Vec::new();
        unescape_query("a%20b+c%2", &mut out);
        assert_eq!(out, b"a b c%2");
    }

    #[test]
    fn repositories() {
        assert_eq!(repository("nginx:1.2"), "nginx");
        assert_eq!(repository("docker.io/x/y@sha256:ab"), "docker.io/x/y");
        assert_eq!(repository("reg:5000/x:1"), "reg");
    }
}
