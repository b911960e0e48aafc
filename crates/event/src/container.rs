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
