//! The `audit.k8s.io/v1` `Event` schema, and the apiserver's per-level body rules.
//!
//! Every modelled member is an `Option`: `None` means "absent from the input" and is
//! omitted on output, `Some` is written back as read. Members this crate does not
//! model (v1beta1's `timestamp` and `metadata`, fields from newer apiservers, ...)
//! are kept verbatim, in input order, in each object's `unknown` list and written
//! after the modelled ones, so a read/write cycle loses nothing.
//!
//! Output follows the Go encoder's member order (see [`Event`]). Request and response
//! bodies are [`RawValue`]s: they are validated once on input and copied verbatim on
//! output, never parsed into trees.
//!
//! [`apply`] (or its copy-free twin [`write_recorded`]) is what a log or webhook
//! backend calls once a [`Decision`] is known.

use crate::policy::Decision;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

pub mod reader;
pub use reader::{display_name, read_input, Events};

/// Unmodelled JSON members of an object, in input order, as raw JSON text.
pub type Unknown = Vec<(String, Box<RawValue>)>;

/// How much of a request is recorded (`rules[].level`, `Event.level`).
///
/// Ordered from least to most: `None < Metadata < Request < RequestResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// No event at all.
    None,
    /// Request metadata only, no bodies.
    Metadata,
    /// Metadata plus the request body.
    Request,
    /// Metadata plus request and response bodies.
    RequestResponse,
}

impl Level {
    /// Every level, in order.
    pub const ALL: [Level; 4] = [
        Level::None,
        Level::Metadata,
        Level::Request,
        Level::RequestResponse,
    ];

    /// The spelling used in policies and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::Metadata => "Metadata",
            Level::Request => "Request",
            Level::RequestResponse => "RequestResponse",
        }
    }

    /// Parses the exact (case-sensitive) spelling.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point in the handling of a request at which an event is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// As soon as the request is received, before it is handled.
    RequestReceived,
    /// When the response headers are sent (long-running requests only).
    ResponseStarted,
    /// When the response has been sent.
    ResponseComplete,
    /// When the handler panicked.
    Panic,
}

impl Stage {
    /// Every stage, in the apiserver's canonical order.
    pub const ALL: [Stage; 4] = [
        Stage::RequestReceived,
        Stage::ResponseStarted,
        Stage::ResponseComplete,
        Stage::Panic,
    ];

    /// The spelling used in policies and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
            Stage::Panic => "Panic",
        }
    }

    /// Parses the exact (case-sensitive) spelling.
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of stages (`omitStages`). Order is not meaningful; iteration and
/// serialisation use the canonical order of [`Stage::ALL`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StageSet(u8);

impl StageSet {
    /// The empty set.
    pub const EMPTY: StageSet = StageSet(0);

    /// Adds a stage.
    pub fn insert(&mut self, stage: Stage) {
        self.0 |= stage.bit();
    }

    /// Whether the stage is in the set.
    pub fn contains(self, stage: Stage) -> bool {
        self.0 & stage.bit() != 0
    }

    /// Set union (the apiserver's `unionStages`).
    #[must_use]
    pub fn union(self, other: StageSet) -> StageSet {
        StageSet(self.0 | other.0)
    }

    /// Stages of `self` that are not in `other`.
    #[must_use]
    pub fn difference(self, other: StageSet) -> StageSet {
        StageSet(self.0 & !other.0)
    }

    /// Whether every stage of `self` is in `other`.
    pub fn is_subset(self, other: StageSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The stages, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Stage> {
        Stage::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Stage> for StageSet {
    fn from_iter<I: IntoIterator<Item = Stage>>(iter: I) -> Self {
        let mut set = StageSet::EMPTY;
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl Serialize for StageSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A map key that borrows from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Declares a JSON object type whose members are all optional, written in
/// declaration order, with unmodelled members kept in `unknown`.
macro_rules! json_object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $json:literal => $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: Option<$ty>, )*
            /// Members not modelled above, in input order, kept verbatim.
            pub unknown: Unknown,
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(None)?;
                $( if let Some(v) = &self.$field { map.serialize_entry($json, v)?; } )*
                for (k, v) in &self.unknown {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct ObjVisitor;
                impl<'de> Visitor<'de> for ObjVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a JSON object (", stringify!($name), ")"))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<Key<'de>>()? {
                            match &*key.0 {
                                $( $json => out.$field = map.next_value()?, )*
                                _ => {
                                    let v: Box<RawValue> = map.next_value()?;
                                    out.unknown.push((key.0.into_owned(), v));
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(ObjVisitor)
            }
        }
    };
}

json_object! {
    /// One audit event (`audit.k8s.io/v1` `Event`). Members are written in the Go
    /// struct's order, after `kind` and `apiVersion` when those are set.
    pub struct Event {
        /// `"Event"` in log lines; absent on `EventList` items.
        "kind" => kind: String,
        /// `"audit.k8s.io/v1"` in log lines (older logs: v1beta1; Falco samples: absent).
        "apiVersion" => api_version: String,
        /// The level the event was generated at.
        "level" => level: Level,
        /// Unique per request; shared by all stages of the request.
        "auditID" => audit_id: String,
        /// The stage this event was produced at.
        "stage" => stage: Stage,
        /// Path plus raw query of the request.
        "requestURI" => request_uri: String,
        /// Authorizer verb, or the lower-cased HTTP method for non-resource requests.
        "verb" => verb: String,
        /// The authenticated user (the one policies match on).
        "user" => user: UserInfo,
        /// The user impersonated by `user`, if any.
        "impersonatedUser" => impersonated_user: UserInfo,
        /// Constrained-impersonation details (Kubernetes 1.35+), kept verbatim.
        "authenticationMetadata" => authentication_metadata: Box<RawValue>,
        /// Client addresses; only the last one can be trusted.
        "sourceIPs" => source_ips: Vec<String>,
        /// The client's user agent.
        "userAgent" => user_agent: String,
        /// The object the request is about; absent for non-resource requests.
        "objectRef" => object_ref: ObjectReference,
        /// The response status (`metav1.Status`).
        "responseStatus" => response_status: ResponseStatus,
        /// The request body (level Request and up, resource requests only).
        "requestObject" => request_object: Box<RawValue>,
        /// The response body (level RequestResponse, resource requests only).
        "responseObject" => response_object: Box<RawValue>,
        /// When the request was received (RFC 3339, microseconds).
        "requestReceivedTimestamp" => request_received_timestamp: String,
        /// When this stage was reached (RFC 3339, microseconds).
        "stageTimestamp" => stage_timestamp: String,
        /// Annotations added while handling the request (sorted by key on output, as Go does).
        "annotations" => annotations: BTreeMap<String, String>,
    }
}

json_object! {
    /// A batch of events (`audit.k8s.io/v1` `EventList`), the webhook body. Its items
    /// carry no `kind` or `apiVersion` of their own.
    pub struct EventList {
        /// `"EventList"`.
        "kind" => kind: String,
        /// `"audit.k8s.io/v1"`.
        "apiVersion" => api_version: String,
        /// List metadata; the apiserver writes `{}`.
        "metadata" => metadata: Box<RawValue>,
        /// The events.
        "items" => items: Vec<Event>,
    }
}

json_object! {
    /// An authenticated (or impersonated) user (`authentication.k8s.io/v1` `UserInfo`).
    pub struct UserInfo {
        /// The user name.
        "username" => username: String,
        /// A unique id for the user.
        "uid" => uid: String,
        /// The groups the user belongs to.
        "groups" => groups: Vec<String>,
        /// Extra authenticator-provided attributes.
        "extra" => extra: BTreeMap<String, Vec<String>>,
    }
}

json_object! {
    /// The object a resource request is about.
    pub struct ObjectReference {
        /// The resource (`pods`, `clusterroles`, ...).
        "resource" => resource: String,
        /// The namespace; absent for cluster-scoped objects.
        "namespace" => namespace: String,
        /// The object name; absent for list, collection and most create requests.
        "name" => name: String,
        /// The object's uid.
        "uid" => uid: String,
        /// The API group; absent for the core group.
        "apiGroup" => api_group: String,
        /// The API version.
        "apiVersion" => api_version: String,
        /// The object's resourceVersion.
        "resourceVersion" => resource_version: String,
        /// The subresource (`log`, `status`, `exec`, ...).
        "subresource" => subresource: String,
    }
}

json_object! {
    /// The response status (`metav1.Status`).
    pub struct ResponseStatus {
        /// `Status` list metadata; the apiserver always writes `{}`.
        "metadata" => metadata: Box<RawValue>,
        /// `Success` or `Failure`, for Status responses.
        "status" => status: String,
        /// Human-readable description.
        "message" => message: String,
        /// Machine-readable reason (`NotFound`, `Forbidden`, ...).
        "reason" => reason: String,
        /// Extended data, kept verbatim.
        "details" => details: Box<RawValue>,
        /// The HTTP status code.
        "code" => code: i32,
    }
}

impl Event {
    /// The authenticated user's name, or `""`.
    pub fn user_name(&self) -> &str {
        self.user
            .as_ref()
            .and_then(|u| u.username.as_deref())
            .unwrap_or("")
    }

    /// The authenticated user's groups (empty when absent).
    pub fn user_groups(&self) -> &[String] {
        self.user
            .as_ref()
            .and_then(|u| u.groups.as_deref())
            .unwrap_or(&[])
    }

    /// The verb, or `""`.
    pub fn verb(&self) -> &str {
        self.verb.as_deref().unwrap_or("")
    }

    /// The audit id, or `""`.
    pub fn audit_id(&self) -> &str {
        self.audit_id.as_deref().unwrap_or("")
    }

    /// `requestURI` without its query string (the path policies match).
    pub fn path(&self) -> &str {
        let uri = self.request_uri.as_deref().unwrap_or("");
        match memchr::memchr(b'?', uri.as_bytes()) {
            Some(i) => &uri[..i],
            None => uri,
        }
    }
}

/// Applies a policy decision to an event the way the apiserver shapes what it
/// records, and says whether the event is recorded at all.
///
/// Returns `false` (leave the event unwritten) when the level is `None` or the
/// event's stage is in `decision.omit_stages`. Otherwise sets `event.level` and:
///
/// - Metadata: drops `requestObject` and `responseObject`;
/// - Request: drops `responseObject`;
/// - RequestResponse: keeps both;
/// - a non-resource request (no `objectRef`) never keeps bodies;
/// - with `decision.omit_managed_fields`, removes `metadata.managedFields` from the
///   kept bodies: from a single object, from each item of a list, and from each row
///   object of a `Table`.
///
/// Stripping managed fields re-encodes the body only when it mentions
/// `"managedFields"`; other bodies are left byte for byte. A body that cannot be
/// decoded as a JSON tree (e.g. numbers beyond `f64`) is kept unchanged.
pub fn apply(event: &mut Event, decision: &Decision) -> bool {
    shape(event, decision).is_some()
}

/// Serialises `event` as [`apply`] would leave it (one compact JSON object, no
/// newline) onto `out`, and leaves `event` as it was. Returns `Ok(false)`, writing
/// nothing, when the event is not recorded.
///
/// This is the allocation-free path for writers: dropped bodies are moved out and
/// back in rather than copied (only stripping managed fields allocates).
pub fn write_recorded(
    event: &mut Event,
    decision: &Decision,
    out: &mut Vec<u8>,
) -> serde_json::Result<bool> {
    let Some(saved) = shape(event, decision) else {
        return Ok(false);
    };
    let res = serde_json::to_writer(&mut *out, &*event);
    event.level = saved.level;
    for (slot, original) in [&mut event.request_object, &mut event.response_object]
        .into_iter()
        .zip(saved.bodies)
    {
        if original.is_some() {
            *slot = original;
        }
    }
    res.map(|()| true)
}

/// What [`shape`] changed: the previous level, and the original of each body
/// (request, response) it removed or replaced.
struct Saved {
    level: Option<Level>,
    bodies: [Option<Box<RawValue>>; 2],
}

/// [`apply`]'s work; `None` when the event is not recorded (and left unchanged).
fn shape(event: &mut Event, decision: &Decision) -> Option<Saved> {
    if decision.level == Level::None {
        return None;
    }
    if let Some(stage) = event.stage {
        if decision.omit_stages.contains(stage) {
            return None;
        }
    }
    let mut saved = Saved {
        level: event.level.replace(decision.level),
        bodies: [None, None],
    };
    let resource_request = event.object_ref.is_some();
    let keep = [
        resource_request && decision.level >= Level::Request,
        resource_request && decision.level >= Level::RequestResponse,
    ];
    let slots = [&mut event.request_object, &mut event.response_object];
    for ((slot, keep), original) in slots.into_iter().zip(keep).zip(&mut saved.bodies) {
        if !keep {
            *original = slot.take();
        } else if decision.omit_managed_fields {
            if let Some(stripped) = slot.as_deref().and_then(strip_managed_fields) {
                *original = slot.replace(stripped);
            }
        }
    }
    Some(saved)
}

/// Removes `metadata.managedFields` from an object, a list's items or a Table's row
/// objects. `None` when nothing was removed (or the body is not decodable).
fn strip_managed_fields(body: &RawValue) -> Option<Box<RawValue>> {
    memchr::memmem::find(body.get().as_bytes(), b"\"managedFields\"")?;
    let mut value: serde_json::Value = serde_json::from_str(body.get()).ok()?;
    let mut removed = strip_object(&mut value);
    if let Some(items) = value.get_mut("items").and_then(|v| v.as_array_mut()) {
        for item in items {
            removed |= strip_object(item);
        }
    }
    if let Some(rows) = value.get_mut("rows").and_then(|v| v.as_array_mut()) {
        for row in rows {
            if let Some(obj) = row.get_mut("object") {
                removed |= strip_object(obj);
            }
        }
    }
    if !removed {
        return None;
    }
    serde_json::value::to_raw_value(&value).ok()
}

fn strip_object(obj: &mut serde_json::Value) -> bool {
    obj.get_mut("metadata")
        .and_then(|m| m.as_object_mut())
        .and_then(|m| m.remove("managedFields"))
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Decision;

    fn decision(level: Level, omf: bool) -> Decision {
        Decision {
            level,
            omit_stages: StageSet::EMPTY,
            omit_managed_fields: omf,
            rule: None,
        }
    }

    const EV: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/d/pods?x=1","verb":"create","user":{"username":"u","groups":["g"],"zz":1},"objectRef":{"resource":"pods","namespace":"d"},"requestObject":{"metadata":{"name":"p","managedFields":[{"a":1}]}},"responseObject":{"kind":"Pod"},"requestReceivedTimestamp":"2020-01-01T00:00:00.000000Z","stageTimestamp":"2020-01-01T00:00:00.000001Z","timestamp":"legacy"}"#;

    #[test]
    fn round_trip_keeps_unknown_members() {
        let ev: Event = serde_json::from_str(EV).unwrap();
        assert_eq!(ev.path(), "/api/v1/namespaces/d/pods");
        assert_eq!(ev.unknown.len(), 1);
        assert_eq!(ev.user.as_ref().unwrap().unknown[0].0, "zz");
        // Written in struct order with unknown members last: identical here.
        assert_eq!(serde_json::to_string(&ev).unwrap(), EV);
    }

    #[test]
    fn apply_drops_bodies_by_level() {
        let ev: Event = serde_json::from_str(EV).unwrap();
        let mut e = ev.clone();
        assert!(!apply(&mut e, &decision(Level::None, false)));
        let mut e = ev.clone();
        assert!(apply(&mut e, &decision(Level::Metadata, false)));
        assert!(e.request_object.is_none() && e.response_object.is_none());
        assert_eq!(e.level, Some(Level::Metadata));
        let mut e = ev.clone();
        assert!(apply(&mut e, &decision(Level::Request, false)));
        assert!(e.request_object.is_some() && e.response_object.is_none());
        let mut e = ev.clone();
        assert!(apply(&mut e, &decision(Level::RequestResponse, true)));
        assert_eq!(
            e.request_object.unwrap().get(),
            r#"{"metadata":{"name":"p"}}"#
        );
        assert_eq!(e.response_object.unwrap().get(), r#"{"kind":"Pod"}"#);
    }

    #[test]
    fn apply_honours_omit_stages_and_non_resource() {
        let mut ev: Event = serde_json::from_str(EV).unwrap();
        let mut d = decision(Level::RequestResponse, false);
        d.omit_stages.insert(Stage::ResponseComplete);
        assert!(!apply(&mut ev.clone(), &d));
        ev.object_ref = None;
        assert!(apply(&mut ev, &decision(Level::RequestResponse, false)));
        assert!(ev.request_object.is_none() && ev.response_object.is_none());
    }

    #[test]
    fn write_recorded_leaves_the_event_unchanged() {
        let mut ev: Event = serde_json::from_str(EV).unwrap();
        let mut out = Vec::new();
        assert!(write_recorded(&mut ev, &decision(Level::Metadata, true), &mut out).unwrap());
        let mut shaped = ev.clone();
        assert!(apply(&mut shaped, &decision(Level::Metadata, true)));
        assert_eq!(out, serde_json::to_vec(&shaped).unwrap());
        out.clear();
        assert!(
            write_recorded(&mut ev, &decision(Level::RequestResponse, true), &mut out).unwrap()
        );
        assert!(!String::from_utf8_lossy(&out).contains("managedFields"));
        assert_eq!(serde_json::to_string(&ev).unwrap(), EV);
        out.clear();
        assert!(!write_recorded(&mut ev, &decision(Level::None, false), &mut out).unwrap());
        assert!(out.is_empty());
        assert_eq!(serde_json::to_string(&ev).unwrap(), EV);
    }

    #[test]
    fn strips_lists_and_tables() {
        let list = RawValue::from_string(
            r#"{"items":[{"metadata":{"managedFields":[],"name":"a"}}],"rows":[{"object":{"metadata":{"managedFields":1}}}]}"#.to_owned(),
        )
        .unwrap();
        let out = strip_managed_fields(&list).unwrap();
        assert!(!out.get().contains("managedFields"));
        let none = RawValue::from_string(r#"{"managedFields":1}"#.to_owned()).unwrap();
        assert!(strip_managed_fields(&none).is_none());
    }

    #[test]
    fn stage_set_union_is_a_set() {
        let a: StageSet = [Stage::RequestReceived, Stage::ResponseStarted]
            .into_iter()
            .collect();
        let b: StageSet = [Stage::Panic, Stage::RequestReceived].into_iter().collect();
        let u = a.union(b);
        assert_eq!(
            u.iter().collect::<Vec<_>>(),
            vec![Stage::RequestReceived, Stage::ResponseStarted, Stage::Panic]
        );
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"["RequestReceived","ResponseStarted","Panic"]"#
        );
    }
}
