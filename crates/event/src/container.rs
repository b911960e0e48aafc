//! Containers as sysdig describes them: the metadata carried by container
//! events (`container` JSON records in captures) and produced by the runtime
//! clients in live captures.
//!
//! The types here are neutral: `osprey-container` fills them from a runtime
//! (Docker, podman, CRI), `osprey-state` keeps them per container id, and
//! `osprey-filter` answers `container.*` and `k8s.*` fields from them.

/// The container runtime, numbered as sysdig numbers it in its container JSON
/// (`"type": N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Runtime {
    /// Docker (0).
    #[default]
    Docker = 0,
    /// LXC (1).
    Lxc = 1,
    /// libvirt LXC (2).
    LibvirtLxc = 2,
    /// Mesos (3).
    Mesos = 3,
    /// rkt (4).
    Rkt = 4,
    /// A custom container (5).
    Custom = 5,
    /// A CRI runtime not otherwise named (6).
    Cri = 6,
    /// containerd (7).
    Containerd = 7,
    /// cri-o (8).
    Crio = 8,
    /// BOSH process manager (9).
    Bpm = 9,
    /// A static container (10).
    Static = 10,
    /// podman (11).
    Podman = 11,
}

/// One mount of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mount {
    /// Path on the host.
    pub source: String,
    /// Path inside the container.
    pub dest: String,
    /// Mount mode as the runtime reports it (`z`, `ro`, ...).
    pub mode: String,
    /// Whether the mount is read-write.
    pub rw: bool,
    /// Propagation mode (`rprivate`, ...).
    pub propagation: String,
}

/// Kubernetes pod context of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pod {
    /// Pod name.
    pub name: String,
    /// Pod UID.
    pub uid: String,
    /// Namespace name.
    pub namespace: String,
    /// Pod labels, in the order the runtime gave them.
    pub labels: Vec<(String, String)>,
}

/// What is known of one container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerInfo {
    /// The id as found in the cgroup path (64 hex digits for Docker and CRI),
    /// or the short id when only that is known (captures carry 12).
    pub id: String,
    /// The runtime.
    pub runtime: Runtime,
    /// Name (`web1`).
    pub name: String,
    /// Image as the container was started (`nginx:latest`).
    pub image: String,
    /// Image id.
    pub image_id: String,
    /// Image repository (`nginx`).
    pub image_repo: String,
    /// Image tag (`latest`).
    pub image_tag: String,
    /// Image digest (`sha256:...`).
    pub image_digest: String,
    /// Whether it runs privileged.
    pub privileged: bool,
    /// Mounts, in the runtime's order.
    pub mounts: Vec<Mount>,
    /// IPv4 address (0.0.0.0 when unknown), network byte order.
    pub ip: [u8; 4],
    /// Labels, in the runtime's order.
    pub labels: Vec<(String, String)>,
    /// Environment (`K=V`).
    pub env: Vec<String>,
    /// Whether it shares the host's pid namespace.
    pub host_pid: bool,
    /// Whether it shares the host's network namespace.
    pub host_network: bool,
    /// Whether it is a pod sandbox (pause) container.
    pub is_pod_sandbox: bool,
    /// Health check command; `None` when none is set.
    pub healthcheck: Option<String>,
    /// Kubernetes liveness probe command; `None` when none is set.
    pub liveness_probe: Option<String>,
    /// Kubernetes readiness probe command; `None` when none is set.
    pub readiness_probe: Option<String>,
    /// Kubernetes pod, when the container belongs to one.
    pub pod: Option<Pod>,
}

/// A container JSON document that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not JSON.
    #[error("container JSON, line {line} column {column}: {source}")]
    Json {
        /// Line of the error (1-based).
        line: usize,
        /// Column of the error (1-based).
        column: usize,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The document is JSON but has no `container` object.
    #[error("container JSON has no \"container\" object")]
    NoContainer,
}

impl Runtime {
    /// The runtime numbered `n` in sysdig's container JSON, if any.
    pub fn from_number(n: u64) -> Option<Runtime> {
        use Runtime as R;
        Some(match n {
            0 => R::Docker,
            1 => R::Lxc,
            2 => R::LibvirtLxc,
            3 => R::Mesos,
            4 => R::Rkt,
            5 => R::Custom,
            6 => R::Cri,
            7 => R::Containerd,
            8 => R::Crio,
            9 => R::Bpm,
            10 => R::Static,
            11 => R::Podman,
            _ => return None,
        })
    }

    /// The name `container.type` shows (`docker`, `cri-o`, `containerd`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Lxc => "lxc",
            Runtime::LibvirtLxc => "libvirt-lxc",
            Runtime::Mesos => "mesos",
            Runtime::Rkt => "rkt",
            Runtime::Custom => "custom",
            Runtime::Cri => "cri",
            Runtime::Containerd => "containerd",
            Runtime::Crio => "cri-o",
            Runtime::Bpm => "bpm",
            Runtime::Static => "static",
            Runtime::Podman => "podman",
        }
    }

    /// Whether the runtime reports a privileged flag one can trust (Docker and
    /// the runtimes that speak its API or CRI); sysdig shows no
    /// `container.privileged` for the others.
    pub fn knows_privileged(self) -> bool {
        matches!(
            self,
            Runtime::Docker | Runtime::Cri | Runtime::Containerd | Runtime::Crio | Runtime::Podman
        )
    }
}

impl Mount {
    /// Appends `source:dest:mode:rdrw:propagation`, the form `container.mount`
    /// shows (`rdrw` is `true` or `false`).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.source.as_bytes());
        out.push(b':');
        out.extend_from_slice(self.dest.as_bytes());
        out.push(b':');
        out.extend_from_slice(self.mode.as_bytes());
        out.push(b':');
        out.extend_from_slice(if self.rw { b"true" } else { b"false" });
        out.push(b':');
        out.extend_from_slice(self.propagation.as_bytes());
    }
}

/// Container labels that carry a Kubernetes pod's identity (CRI runtimes set them).
mod k8s_label {
    pub(super) const POD_NAME: &str = "io.kubernetes.pod.name";
    pub(super) const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
    pub(super) const POD_UID: &str = "io.kubernetes.pod.uid";
}

/// Length of the short container id sysdig shows.
pub const SHORT_ID_LEN: usize = 12;

impl ContainerInfo {
    /// The short id (the first 12 characters, or the whole id when shorter),
    /// what `container.id` shows.
    pub fn short_id(&self) -> &str {
        self.id.get(..SHORT_ID_LEN).unwrap_or(&self.id)
    }

    /// Reads the payload of a container event (`{"container": {...}}`), as
    /// sysdig writes it into captures. Members it does not know are ignored;
    /// missing ones keep their defaults. The Kubernetes pod comes from the
    /// `io.kubernetes.pod.*` labels and the `pod_sandbox_labels` member.
    pub fn from_sysdig_json(json: &[u8]) -> Result<ContainerInfo, Error> {
        // Container events carry a trailing NUL.
        let json = json.strip_suffix(b"\0").unwrap_or(json);
        let doc: serde_json::Value = serde_json::from_slice(json).map_err(|e| Error::Json {
            line: e.line(),
            column: e.column(),
            source: e,
        })?;
        let c = doc.get("container").ok_or(Error::NoContainer)?;
        if !c.is_object() {
            return Err(Error::NoContainer);
        }
        let s = |k: &str| {
            c.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let b = |k: &str| {
            c.get(k)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        let full_id = s("full_id");
        let mut info = ContainerInfo {
            id: if full_id.is_empty() { s("id") } else { full_id },
            runtime: c
                .get("type")
                .and_then(serde_json::Value::as_u64)
                .and_then(Runtime::from_number)
                .unwrap_or_default(),
            name: s("name"),
            image: s("image"),
            image_id: s("imageid"),
            image_repo: s("imagerepo"),
            image_tag: s("imagetag"),
            image_digest: s("imagedigest"),
            privileged: b("privileged"),
            ip: s("ip")
                .parse::<std::net::Ipv4Addr>()
                .map_or([0; 4], |a| a.octets()),
            host_pid: b("host_pid"),
            host_network: b("host_network"),
            is_pod_sandbox: b("is_pod_sandbox"),
            ..ContainerInfo::default()
        };
        if let Some(ms) = c.get("Mounts").and_then(|v| v.as_array()) {
            info.mounts = ms
                .iter()
                .map(|m| {
                    let s = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or_default();
                    Mount {
                        source: s("Source").to_owned(),
                        dest: s("Destination").to_owned(),
                        mode: s("Mode").to_owned(),
                        rw: m
                            .get("RW")
                            .and_then(serde_json::Value::as_bool)
                            .unwrap_or(false),
                        propagation: s("Propagation").to_owned(),
                    }
                })
                .collect();
        }
        info.labels = string_map(c.get("labels"));
        if let Some(env) = c.get("env").and_then(|v| v.as_array()) {
            info.env = env
                .iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
        }
        info.healthcheck = probe(c.get("Healthcheck"));
        info.liveness_probe = probe(c.get("LivenessProbe"));
        info.readiness_probe = probe(c.get("ReadinessProbe"));
        let label = |k: &str| {
            info.labels
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        if let Some(name) = label(k8s_label::POD_NAME) {
            info.pod = Some(Pod {
                name,
                uid: label(k8s_label::POD_UID).unwrap_or_default(),
                namespace: label(k8s_label::POD_NAMESPACE).unwrap_or_default(),
                labels: string_map(c.get("pod_sandbox_labels")),
            });
        }
        Ok(info)
    }

    /// Appends this container as the payload of a container event, in the
    /// shape sysdig writes (members sorted by name, as sysdig's JSON library
    /// orders them), so that captures keep container metadata. The Kubernetes
    /// pod is written back as `io.kubernetes.pod.*` labels (when the labels
    /// lack them) and `pod_sandbox_labels`; a health probe's command line is
    /// split at spaces into `exe` and `args` (arguments holding spaces do not
    /// survive the trip).
    pub fn to_sysdig_json(&self, out: &mut Vec<u8>) {
        use serde_json::{json, Map, Value};
        let mounts: Vec<Value> = self
            .mounts
            .iter()
            .map(|m| {
                json!({
                    "Destination": m.dest,
                    "Mode": m.mode,
                    "Propagation": m.propagation,
                    "RW": m.rw,
                    "Source": m.source,
                })
            })
            .collect();
        let mut labels: Vec<(&str, &str)> = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(p) = &self.pod {
            for (k, v) in [
                (k8s_label::POD_NAME, &p.name),
                (k8s_label::POD_NAMESPACE, &p.namespace),
                (k8s_label::POD_UID, &p.uid),
            ] {
                if !labels.iter().any(|(n, _)| *n == k) {
                    labels.push((k, v));
                }
            }
        }
        labels.sort_unstable();
        let mut c: Vec<(&str, Value)> = vec![
            ("Mounts", Value::Array(mounts)),
            ("cpu_period", json!(100_000)),
            ("cpu_quota", json!(0)),
            ("cpu_shares", json!(1024)),
            ("env", json!(self.env)),
            ("full_id", json!(self.id)),
            ("host_network", json!(self.host_network)),
            ("host_pid", json!(self.host_pid)),
            ("id", json!(self.short_id())),
            ("image", json!(self.image)),
            ("imagedigest", json!(self.image_digest)),
            ("imageid", json!(self.image_id)),
            ("imagerepo", json!(self.image_repo)),
            ("imagetag", json!(self.image_tag)),
            ("ip", json!(std::net::Ipv4Addr::from(self.ip).to_string())),
            ("is_pod_sandbox", json!(self.is_pod_sandbox)),
            ("labels", object(&labels)),
            ("memory_limit", json!(0)),
            ("metadata_deadline", json!(0)),
            ("name", json!(self.name)),
            ("port_mappings", json!([])),
            ("privileged", json!(self.privileged)),
            ("swap_limit", json!(0)),
            ("type", json!(self.runtime as u8)),
        ];
        for (key, p) in [
            ("Healthcheck", &self.healthcheck),
            ("LivenessProbe", &self.liveness_probe),
            ("ReadinessProbe", &self.readiness_probe),
        ] {
            if let Some(cmd) = p {
                let mut words = cmd.split(' ');
                let exe = words.next().unwrap_or_default();
                let args: Vec<&str> = words.collect();
                c.push((key, json!({ "args": args, "exe": exe })));
            }
        }
        if let Some(p) = self.pod.as_ref().filter(|p| !p.labels.is_empty()) {
            let mut l: Vec<(&str, &str)> = p
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            l.sort_unstable();
            c.push(("pod_sandbox_labels", object(&l)));
        }
        c.sort_by(|a, b| a.0.cmp(b.0));
        let mut inner = Map::new();
        for (k, v) in c {
            inner.insert(k.to_owned(), v);
        }
        let mut doc = Map::new();
        doc.insert("container".to_owned(), Value::Object(inner));
        // Writing a JSON value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &Value::Object(doc));
    }
}

/// A JSON object of strings, from sorted pairs.
fn object(pairs: &[(&str, &str)]) -> serde_json::Value {
    serde_json::Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect(),
    )
}

/// The string members of a JSON object, in the document's order.
fn string_map(v: Option<&serde_json::Value>) -> Vec<(String, String)> {
    v.and_then(|v| v.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// A health probe (`{"exe": ..., "args": [...]}`) as one command line: the
/// executable and its arguments joined by spaces, as sysdig shows it.
fn probe(v: Option<&serde_json::Value>) -> Option<String> {
    let p = v?.as_object()?;
    let mut cmd = p.get("exe")?.as_str()?.to_owned();
    for a in p
        .get("args")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str())
    {
        cmd.push(' ');
        cmd.push_str(a);
    }
    Some(cmd)
}

/// Finds the container a task runs in from its cgroups: NUL-separated
/// `subsys=path` entries (as in `/proc/PID/cgroup` and the `cgroups` parameter
/// of clone and execve events), or a single path. Returns the runtime the path
/// names and the full id as it appears there (64 hex digits).
///
/// Recognised layouts, cgroup v1 and v2 alike (the first entry that matches wins):
/// - Docker: `/docker/<id>`, `/system.slice/docker-<id>.scope`;
/// - Kubernetes (CRI): `/kubepods/<qos>/pod<uid>/<id>` (the runtime is not
///   named: [`Runtime::Cri`]), `cri-containerd-<id>.scope` and
///   `...slice:cri-containerd:<id>` (containerd), `crio-<id>.scope` and
///   `crio-<id>` (cri-o);
/// - cri-o outside Kubernetes: `/crio/<id>`;
/// - podman and libpod: `libpod-<id>.scope` (also with a `/container` child,
///   as rootless podman makes), `/libpod_parent/libpod-<id>`;
/// - any other path whose last component is a bare id (Docker, as sysdig assumes).
///
/// The `conmon` scopes of podman and cri-o are not containers.
pub fn container_id_from_cgroups(cgroups: &[u8]) -> Option<(Runtime, &[u8])> {
    cgroups
        .split(|&c| c == 0)
        .filter(|e| !e.is_empty())
        .find_map(|entry| {
            let path = match memchr::memchr(b'=', entry) {
                Some(i) => &entry[i + 1..],
                None => entry,
            };
            id_from_path(path)
        })
}

/// Whether `b` is a full container id: 64 lowercase or uppercase hex digits.
fn is_full_id(b: &[u8]) -> bool {
    b.len() == 64 && b.iter().all(u8::is_ascii_hexdigit)
}

/// [`container_id_from_cgroups`] for one cgroup path.
fn id_from_path(path: &[u8]) -> Option<(Runtime, &[u8])> {
    let mut comps = path.split(|&c| c == b'/').filter(|c| !c.is_empty());
    let last = comps.next_back()?;
    // A bare id as the last component.
    if is_full_id(last) {
        let before = comps.next_back().unwrap_or_default();
        let rt = if path.windows(8).any(|w| w == b"kubepods") {
            Runtime::Cri
        } else if before == b"crio" {
            Runtime::Crio
        } else {
            Runtime::Docker
        };
        return Some((rt, last));
    }
    // `prefix-<id>[.scope]` or `...:prefix:<id>`, as the last component or,
    // for rootless podman, its parent.
    std::iter::once(last)
        .chain(comps.next_back())
        .find_map(scoped_id)
}

/// The runtime and id of a cgroup path component of the form
/// `<prefix>-<id>`, `<prefix>-<id>.scope` or `<slice>:<prefix>:<id>`.
fn scoped_id(comp: &[u8]) -> Option<(Runtime, &[u8])> {
    let comp = comp.strip_suffix(b".scope").unwrap_or(comp);
    if comp.len() < 65 {
        return None;
    }
    let (head, id) = comp.split_at(comp.len() - 64);
    if !is_full_id(id) {
        return None;
    }
    let prefix = head
        .strip_suffix(b"-")
        .or_else(|| head.strip_suffix(b":"))?;
    // `<slice>:<prefix>` (containerd's systemd driver inside cgroupfs).
    let prefix = match memchr::memrchr(b':', prefix) {
        Some(i) => &prefix[i + 1..],
        None => prefix,
    };
    let rt = match prefix {
        b"docker" => Runtime::Docker,
        b"cri-containerd" => Runtime::Containerd,
        b"crio" => Runtime::Crio,
        b"libpod" => Runtime::Podman,
        _ => return None,
    };
    Some((rt, id))
}

#[cfg(test)]
mod tests;
