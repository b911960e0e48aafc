//! The Kubernetes Container Runtime Interface over gRPC (containerd, cri-o):
//! `RuntimeService/ContainerStatus` (verbose) and `PodSandboxStatus`, mapped to
//! [`ContainerInfo`] as libsinsp maps them.
//!
//! The messages are a hand-written subset of `runtime.v1` (k8s.io/cri-api
//! `api.proto`) with only the fields used here; the field numbers are those of
//! the upstream file. Unknown fields are skipped by the decoder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use osprey_event::container::{ContainerInfo, Mount, Pod, Runtime};
use serde_json::Value;
use tonic::transport::{Channel, Endpoint};

use crate::{docker::LABEL_MAX_LEN, image, Error};

/// `NamespaceMode::NODE`: the namespace of the host.
const NAMESPACE_NODE: i32 = 2;

/// `VersionRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct VersionRequest {
    #[prost(string, tag = "1")]
    pub(crate) version: String,
}

/// `VersionResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct VersionResponse {
    #[prost(string, tag = "2")]
    pub(crate) runtime_name: String,
}

/// `ContainerStatusRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ContainerStatusRequest {
    #[prost(string, tag = "1")]
    pub(crate) container_id: String,
    #[prost(bool, tag = "2")]
    pub(crate) verbose: bool,
}

/// `ContainerStatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ContainerStatusResponse {
    #[prost(message, optional, tag = "1")]
    pub(crate) status: Option<ContainerStatus>,
    #[prost(btree_map = "string, string", tag = "2")]
    pub(crate) info: BTreeMap<String, String>,
}

/// `ContainerStatus`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ContainerStatus {
    #[prost(string, tag = "1")]
    pub(crate) id: String,
    #[prost(message, optional, tag = "2")]
    pub(crate) metadata: Option<ContainerMetadata>,
    #[prost(message, optional, tag = "8")]
    pub(crate) image: Option<ImageSpec>,
    #[prost(string, tag = "9")]
    pub(crate) image_ref: String,
    #[prost(btree_map = "string, string", tag = "12")]
    pub(crate) labels: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "14")]
    pub(crate) mounts: Vec<CriMount>,
    #[prost(string, tag = "17")]
    pub(crate) image_id: String,
}

/// `ContainerMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ContainerMetadata {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
}

/// `ImageSpec`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ImageSpec {
    #[prost(string, tag = "1")]
    pub(crate) image: String,
}

/// `Mount`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct CriMount {
    #[prost(string, tag = "1")]
    pub(crate) container_path: String,
    #[prost(string, tag = "2")]
    pub(crate) host_path: String,
    #[prost(bool, tag = "3")]
    pub(crate) readonly: bool,
    /// `MountPropagation`: 0 private, 1 host-to-container, 2 bidirectional.
    #[prost(int32, tag = "5")]
    pub(crate) propagation: i32,
}

/// `PodSandboxStatusRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PodSandboxStatusRequest {
    #[prost(string, tag = "1")]
    pub(crate) pod_sandbox_id: String,
    #[prost(bool, tag = "2")]
    pub(crate) verbose: bool,
}

/// `PodSandboxStatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PodSandboxStatusResponse {
    #[prost(message, optional, tag = "1")]
    pub(crate) status: Option<PodSandboxStatus>,
}

/// `PodSandboxStatus`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PodSandboxStatus {
    #[prost(string, tag = "1")]
    pub(crate) id: String,
    #[prost(message, optional, tag = "2")]
    pub(crate) metadata: Option<PodSandboxMetadata>,
    #[prost(message, optional, tag = "5")]
    pub(crate) network: Option<PodSandboxNetworkStatus>,
    #[prost(message, optional, tag = "6")]
    pub(crate) linux: Option<LinuxPodSandboxStatus>,
    #[prost(btree_map = "string, string", tag = "7")]
    pub(crate) labels: BTreeMap<String, String>,
}

/// `PodSandboxMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PodSandboxMetadata {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    #[prost(string, tag = "2")]
    pub(crate) uid: String,
    #[prost(string, tag = "3")]
    pub(crate) namespace: String,
}

/// `PodSandboxNetworkStatus`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PodSandboxNetworkStatus {
    #[prost(string, tag = "1")]
    pub(crate) ip: String,
}

/// `LinuxPodSandboxStatus`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct LinuxPodSandboxStatus {
    #[prost(message, optional, tag = "1")]
    pub(crate) namespaces: Option<Namespace>,
}

/// `Namespace`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Namespace {
    #[prost(message, optional, tag = "2")]
    pub(crate) options: Option<NamespaceOption>,
}

/// `NamespaceOption` (`NamespaceMode` values: 0 pod, 1 container, 2 node).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct NamespaceOption {
    #[prost(int32, tag = "1")]
    pub(crate) network: i32,
    #[prost(int32, tag = "2")]
    pub(crate) pid: i32,
}

/// `ImageStatusRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ImageStatusRequest {
    #[prost(message, optional, tag = "1")]
    pub(crate) image: Option<ImageSpec>,
}

/// `ImageStatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ImageStatusResponse {
    #[prost(message, optional, tag = "1")]
    pub(crate) image: Option<Image>,
}

/// `Image`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Image {
    #[prost(string, tag = "1")]
    pub(crate) id: String,
}

const VERSION: &str = "/runtime.v1.RuntimeService/Version";
const CONTAINER_STATUS: &str = "/runtime.v1.RuntimeService/ContainerStatus";
const POD_SANDBOX_STATUS: &str = "/runtime.v1.RuntimeService/PodSandboxStatus";
const IMAGE_STATUS: &str = "/runtime.v1.ImageService/ImageStatus";

/// A CRI connection on one socket.
struct Client {
    socket: PathBuf,
    channel: Channel,
}

impl Client {
    async fn connect(socket: &Path) -> Result<Self, Error> {
        let path = socket.to_path_buf();
        // The URI is required by the API and never used: the connector dials
        // the unix socket.
        let channel = Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_: http::Uri| {
                let path = path.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                }
            }))
            .await
            .map_err(|e| Error::Connect {
                socket: socket.to_path_buf(),
                source: std::io::Error::other(e),
            })?;
        Ok(Self {
            socket: socket.to_path_buf(),
            channel,
        })
    }

    async fn call<Req, Resp>(&self, method: &'static str, req: Req) -> Result<Resp, Error>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let status_err = |s: tonic::Status| Error::Grpc {
            socket: self.socket.clone(),
            method,
            code: format!("{:?}", s.code()),
            message: s.message().to_owned(),
        };
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready().await.map_err(|e| Error::Connect {
            socket: self.socket.clone(),
            source: std::io::Error::other(e),
        })?;
        grpc.unary(
            tonic::Request::new(req),
            http::uri::PathAndQuery::from_static(method),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .map(tonic::Response::into_inner)
        .map_err(status_err)
    }

    async fn sandbox(&self, id: &str) -> Result<PodSandboxStatus, Error> {
        let resp: PodSandboxStatusResponse = self
            .call(
                POD_SANDBOX_STATUS,
                PodSandboxStatusRequest {
                    pod_sandbox_id: id.to_owned(),
                    verbose: false,
                },
            )
            .await?;
        resp.status.ok_or_else(|| self.empty(POD_SANDBOX_STATUS))
    }

    fn empty(&self, method: &'static str) -> Error {
        Error::Grpc {
            socket: self.socket.clone(),
            method,
            code: "Ok".to_owned(),
            message: "answer has no status".to_owned(),
        }
    }
}

/// Looks `id` up on the CRI runtime at `socket`, all within `timeout`.
pub(crate) fn lookup(
    rt: &tokio::runtime::Runtime,
    socket: &Path,
    id: &str,
    timeout: Duration,
) -> Result<ContainerInfo, Error> {
    rt.block_on(async {
        tokio::time::timeout(timeout, lookup_async(socket, id))
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    socket: socket.to_path_buf(),
                    what: format!("CRI lookup of {id}"),
                })
            })
    })
}

async fn lookup_async(socket: &Path, id: &str) -> Result<ContainerInfo, Error> {
    let client = Client::connect(socket).await?;
    let version: VersionResponse = client
        .call(
            VERSION,
            VersionRequest {
                version: "v1".to_owned(),
            },
        )
        .await?;
    let runtime = match version.runtime_name.as_str() {
        "containerd" => Runtime::Containerd,
        "cri-o" => Runtime::Crio,
        _ => Runtime::Cri,
    };
    let status: Result<ContainerStatusResponse, Error> = client
        .call(
            CONTAINER_STATUS,
            ContainerStatusRequest {
                container_id: id.to_owned(),
                verbose: true,
            },
        )
        .await;
    let resp = match status {
        Ok(resp) => resp,
        Err(container_err) => {
            // Not a container: maybe the id is a pod sandbox's.
            return match client.sandbox(id).await {
                Ok(sandbox) => Ok(map_sandbox(id, runtime, &sandbox)),
                Err(_) => Err(container_err),
            };
        }
    };
    let status = resp
        .status
        .as_ref()
        .ok_or_else(|| client.empty(CONTAINER_STATUS))?;
    let root = info_json(&resp.info);
    let mut info = map_container(id, runtime, status, &root);
    if info.image_id.is_empty() && !status.image_ref.is_empty() {
        // libsinsp lists the images filtered by the reference and takes a
        // single answer, but containerd ignores that filter; the image status
        // names exactly one image.
        let image: Result<ImageStatusResponse, Error> = client
            .call(
                IMAGE_STATUS,
                ImageStatusRequest {
                    image: Some(ImageSpec {
                        image: status.image_ref.clone(),
                    }),
                },
            )
            .await;
        if let Ok(ImageStatusResponse { image: Some(image) }) = image {
            info.image_id = strip_sha(&image.id).to_owned();
        }
    }
    let sandbox_id = root.get("sandboxID").and_then(Value::as_str);
    match sandbox_id {
        Some(sb) => match client.sandbox(sb).await {
            Ok(sandbox) => apply_sandbox(&mut info, &sandbox),
            Err(_) => info.pod = pod_from_labels(&info.labels),
        },
        None => info.pod = pod_from_labels(&info.labels),
    }
    Ok(info)
}

fn strip_sha(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

/// The verbose answer's `info` entry, parsed; `Null` when absent or bad.
fn info_json(info: &BTreeMap<String, String>) -> Value {
    info.get("info")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

fn path<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(v, |v, k| v.get(k))
}

fn capped(labels: &BTreeMap<String, String>) -> impl Iterator<Item = (String, String)> + '_ {
    labels
        .iter()
        .filter(|(_, v)| v.len() <= LABEL_MAX_LEN)
        .map(|(k, v)| (k.clone(), v.clone()))
}

/// Maps a container's status and verbose info (everything but the pod).
pub(crate) fn map_container(
    id: &str,
    runtime: Runtime,
    status: &ContainerStatus,
    root: &Value,
) -> ContainerInfo {
    let mut info = ContainerInfo {
        id: id.to_owned(),
        runtime,
        name: status
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        ..ContainerInfo::default()
    };
    let mut labels: BTreeMap<String, String> = capped(&status.labels).collect();
    if let Some(sb) = root.get("sandboxID").and_then(Value::as_str) {
        labels.insert("io.kubernetes.sandbox.id".to_owned(), sb.to_owned());
    }
    info.labels = labels.into_iter().collect();

    image_fields(&mut info, status, root);

    info.mounts = status
        .mounts
        .iter()
        .map(|m| Mount {
            source: m.host_path.clone(),
            dest: m.container_path.clone(),
            mode: String::new(),
            rw: !m.readonly,
            propagation: match m.propagation {
                0 => "private",
                1 => "rslave",
                2 => "rshared",
                _ => "unknown",
            }
            .to_owned(),
        })
        .collect();

    if let Some(envs) = path(root, &["config", "envs"]).and_then(Value::as_array) {
        info.env = envs
            .iter()
            .filter_map(|kv| {
                let k = kv.get("key")?.as_str()?;
                let v = kv.get("value")?.as_str()?;
                Some(format!("{k}={v}"))
            })
            .collect();
    }

    // The image id: containerd's config names it (`sha256:...`) when the
    // kubelet created the container; newer runtimes also fill `image_id`.
    if let Some(img) = path(root, &["config", "image", "image"]).and_then(Value::as_str) {
        if let Some(hex) = img.strip_prefix("sha256:") {
            info.image_id = hex.to_owned();
        }
    }
    if info.image_id.is_empty() {
        info.image_id = strip_sha(&status.image_id).to_owned();
    }

    // Privileged: libsinsp reads it only when the runtime spec has a linux
    // section, from the old containerd, containerd and cri-o places in turn.
    if path(root, &["runtimeSpec", "linux"]).is_some_and(Value::is_object) {
        info.privileged = [
            path(
                root,
                &["runtimeSpec", "linux", "security_context", "privileged"],
            ),
            path(root, &["config", "linux", "security_context", "privileged"]),
            root.get("privileged"),
        ]
        .into_iter()
        .flatten()
        .find_map(Value::as_bool)
        .unwrap_or(false);
    }
    info
}

/// Image, repository, tag and digest from `image_ref` (`host/image@sha256:...`
/// or `sha256:...`) and the image spec, falling back to the runtimes'
/// image-name annotations.
fn image_fields(info: &mut ContainerInfo, status: &ContainerStatus, root: &Value) {
    let spec_image = status.image.as_ref().map_or("", |i| i.image.as_str());
    let image_ref = status.image_ref.as_str();
    let mut image_name = spec_image.to_owned();
    let mut tag_from_spec = false;
    let mut have_digest = false;
    let digest_start = image_ref.find("sha256:");
    match digest_start {
        Some(0) => have_digest = true,
        None => {}
        Some(p) => {
            have_digest = image_ref.as_bytes()[p - 1] == b'@';
            if have_digest {
                image_name = image_ref[..p - 1].to_owned();
                tag_from_spec = true;
            }
        }
    }
    if image_name.is_empty() || image_name.starts_with("sha256") {
        let annotations = path(root, &["runtimeSpec", "annotations"]);
        let named = [
            "io.kubernetes.cri.image-name",
            "io.kubernetes.cri-o.Image",
            "io.kubernetes.cri-o.ImageName",
        ]
        .into_iter()
        .find_map(|k| annotations.and_then(|a| a.get(k)).and_then(Value::as_str));
        if let Some(name) = named {
            image_name = name.to_owned();
            tag_from_spec = false;
        }
    }
    let parts = image::split(&image_name);
    info.image_repo.clone_from(&parts.repo);
    info.image_tag = parts.tag.to_owned();
    let split_digest = parts.digest.to_owned();
    if tag_from_spec {
        info.image_tag = image::split(spec_image).tag.to_owned();
        image_name.push(':');
        image_name.push_str(&info.image_tag);
    }
    info.image = image_name;
    info.image_digest = match (have_digest, digest_start) {
        (true, Some(p)) => image_ref[p..].to_owned(),
        _ => split_digest,
    };
}

/// Adds what the container's pod sandbox knows: the pod, its labels, the
/// pod IP (none with the host network) and the host namespaces.
pub(crate) fn apply_sandbox(info: &mut ContainerInfo, sandbox: &PodSandboxStatus) {
    let options = sandbox
        .linux
        .as_ref()
        .and_then(|l| l.namespaces.as_ref())
        .and_then(|n| n.options.as_ref());
    let host_net = options.is_some_and(|o| o.network == NAMESPACE_NODE);
    info.host_network = host_net;
    info.host_pid = options.is_some_and(|o| o.pid == NAMESPACE_NODE);
    let ip = sandbox.network.as_ref().map_or("", |n| n.ip.as_str());
    info.ip = if host_net {
        [0; 4]
    } else {
        ip.parse::<std::net::Ipv4Addr>()
            .map_or([0; 4], |a| a.octets())
    };
    let meta = sandbox.metadata.clone().unwrap_or_default();
    info.pod = Some(Pod {
        name: meta.name,
        uid: meta.uid,
        namespace: meta.namespace,
        labels: capped(&sandbox.labels).collect(),
    });
}

/// Maps a pod sandbox looked up by its own id.
pub(crate) fn map_sandbox(id: &str, runtime: Runtime, sandbox: &PodSandboxStatus) -> ContainerInfo {
    let meta = sandbox.metadata.clone().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = capped(&sandbox.labels).collect();
    labels.insert("io.kubernetes.pod.uid".to_owned(), meta.uid.clone());
    labels.insert("io.kubernetes.pod.name".to_owned(), meta.name.clone());
    labels.insert("io.kubernetes.pod.namespace".to_owned(), meta.namespace);
    labels.insert("io.kubernetes.sandbox.id".to_owned(), sandbox.id.clone());
    let mut info = ContainerInfo {
        id: id.to_owned(),
        runtime,
        name: meta.name,
        is_pod_sandbox: true,
        labels: labels.into_iter().collect(),
        ..ContainerInfo::default()
    };
    apply_sandbox(&mut info, sandbox);
    info
}

/// The pod named by the kubelet's `io.kubernetes.pod.*` container labels,
/// for when the sandbox does not answer.
fn pod_from_labels(labels: &[(String, String)]) -> Option<Pod> {
    let get = |key: &str| {
        labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let name = get("io.kubernetes.pod.name")?;
    Some(Pod {
        name,
        uid: get("io.kubernetes.pod.uid").unwrap_or_default(),
        namespace: get("io.kubernetes.pod.namespace").unwrap_or_default(),
        labels: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use serde_json::json;

    fn status(image: &str, image_ref: &str) -> ContainerStatus {
        ContainerStatus {
            id: "f".repeat(64),
            metadata: Some(ContainerMetadata { name: "web".into() }),
            image: Some(ImageSpec {
                image: image.into(),
            }),
            image_ref: image_ref.into(),
            labels: [("io.kubernetes.pod.name".to_owned(), "p".to_owned())].into(),
            mounts: vec![CriMount {
                container_path: "/data".into(),
                host_path: "/tmp".into(),
                readonly: true,
                propagation: 1,
            }],
            image_id: String::new(),
        }
    }

    #[test]
    fn image_from_digested_ref() {
        let s = status(
            "docker.io/library/nginx:1.25",
            "docker.io/library/nginx@sha256:abc",
        );
        let info = map_container("x", Runtime::Containerd, &s, &Value::Null);
        assert_eq!(info.image, "docker.io/library/nginx:1.25");
        assert_eq!(info.image_repo, "docker.io/library/nginx");
        assert_eq!(info.image_tag, "1.25");
        assert_eq!(info.image_digest, "sha256:abc");
        assert_eq!(info.name, "web");
        assert_eq!(
            info.mounts,
            [Mount {
                source: "/tmp".into(),
                dest: "/data".into(),
                mode: String::new(),
                rw: false,
                propagation: "rslave".into()
            }]
        );
    }

    #[test]
    fn image_name_from_annotations_and_info() {
        let s = status("sha256:0123", "sha256:0123");
        let root = json!({
            "sandboxID": "s1",
            "config": {"envs": [{"key": "A", "value": "1"}, {"key": "B"}],
                       "image": {"image": "sha256:0123"},
                       "linux": {"security_context": {"privileged": true}}},
            "runtimeSpec": {"linux": {}, "annotations": {"io.kubernetes.cri.image-name": "quay.io/a/b:7"}}
        });
        let info = map_container("x", Runtime::Containerd, &s, &root);
        assert_eq!(info.image, "quay.io/a/b:7");
        assert_eq!(
            (info.image_repo.as_str(), info.image_tag.as_str()),
            ("quay.io/a/b", "7")
        );
        assert_eq!(info.image_digest, "sha256:0123");
        assert_eq!(info.image_id, "0123");
        assert_eq!(info.env, ["A=1"]);
        assert!(info.privileged);
        assert!(info
            .labels
            .contains(&("io.kubernetes.sandbox.id".to_owned(), "s1".to_owned())));
    }

    #[test]
    fn sandbox_fields() {
        let sandbox = PodSandboxStatus {
            id: "s1".into(),
            metadata: Some(PodSandboxMetadata {
                name: "p1".into(),
                uid: "u1".into(),
                namespace: "ns1".into(),
            }),
            network: Some(PodSandboxNetworkStatus {
                ip: "10.1.2.3".into(),
            }),
            linux: Some(LinuxPodSandboxStatus {
                namespaces: Some(Namespace {
                    options: Some(NamespaceOption { network: 0, pid: 2 }),
                }),
            }),
            labels: [("app".to_owned(), "web".to_owned())].into(),
        };
        // Through the wire format, to check the tags decode.
        let sandbox = PodSandboxStatus::decode(sandbox.encode_to_vec().as_slice()).unwrap();
        let info = map_sandbox("s1", Runtime::Crio, &sandbox);
        assert!(info.is_pod_sandbox && info.host_pid && !info.host_network);
        assert_eq!(info.ip, [10, 1, 2, 3]);
        assert_eq!(info.name, "p1");
        let pod = info.pod.unwrap();
        assert_eq!(
            (pod.name.as_str(), pod.uid.as_str(), pod.namespace.as_str()),
            ("p1", "u1", "ns1")
        );
        assert_eq!(pod.labels, [("app".to_owned(), "web".to_owned())]);
        assert_eq!(info.labels.len(), 5);
    }
}
