//! Lookups against a real containerd CRI plugin: a private containerd (own
//! socket, root and state under /tmp) runs a pod sandbox with the host
//! network (no CNI needed) and a container in it, created over CRI by this
//! test; the images come from dockerd (`docker save | ctr images import`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{docker, docker_up, skip};
use osprey_container::{lookup_once, Error, Resolver, ResolverOptions};
use osprey_event::container::{Mount, Runtime};
use tonic::transport::{Channel, Endpoint};

/// The CRI messages this test sends to create a pod (field numbers of
/// k8s.io/cri-api runtime.v1), beyond what the crate itself reads.
mod proto {
    use std::collections::BTreeMap;

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct PodSandboxMetadata {
        #[prost(string, tag = "1")]
        pub(crate) name: String,
        #[prost(string, tag = "2")]
        pub(crate) uid: String,
        #[prost(string, tag = "3")]
        pub(crate) namespace: String,
        #[prost(uint32, tag = "4")]
        pub(crate) attempt: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct NamespaceOption {
        #[prost(int32, tag = "1")]
        pub(crate) network: i32,
        #[prost(int32, tag = "2")]
        pub(crate) pid: i32,
        #[prost(int32, tag = "3")]
        pub(crate) ipc: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct LinuxSandboxSecurityContext {
        #[prost(message, optional, tag = "1")]
        pub(crate) namespace_options: Option<NamespaceOption>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct LinuxPodSandboxConfig {
        #[prost(message, optional, tag = "2")]
        pub(crate) security_context: Option<LinuxSandboxSecurityContext>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct PodSandboxConfig {
        #[prost(message, optional, tag = "1")]
        pub(crate) metadata: Option<PodSandboxMetadata>,
        #[prost(string, tag = "3")]
        pub(crate) log_directory: String,
        #[prost(btree_map = "string, string", tag = "6")]
        pub(crate) labels: BTreeMap<String, String>,
        #[prost(message, optional, tag = "8")]
        pub(crate) linux: Option<LinuxPodSandboxConfig>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct RunPodSandboxRequest {
        #[prost(message, optional, tag = "1")]
        pub(crate) config: Option<PodSandboxConfig>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct PodSandboxId {
        #[prost(string, tag = "1")]
        pub(crate) id: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Empty {}

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct ContainerMetadata {
        #[prost(string, tag = "1")]
        pub(crate) name: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct ImageSpec {
        #[prost(string, tag = "1")]
        pub(crate) image: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct KeyValue {
        #[prost(string, tag = "1")]
        pub(crate) key: String,
        #[prost(string, tag = "2")]
        pub(crate) value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Mount {
        #[prost(string, tag = "1")]
        pub(crate) container_path: String,
        #[prost(string, tag = "2")]
        pub(crate) host_path: String,
        #[prost(bool, tag = "3")]
        pub(crate) readonly: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct LinuxContainerSecurityContext {
        #[prost(bool, tag = "2")]
        pub(crate) privileged: bool,
        #[prost(message, optional, tag = "3")]
        pub(crate) namespace_options: Option<NamespaceOption>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct LinuxContainerConfig {
        #[prost(message, optional, tag = "2")]
        pub(crate) security_context: Option<LinuxContainerSecurityContext>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct ContainerConfig {
        #[prost(message, optional, tag = "1")]
        pub(crate) metadata: Option<ContainerMetadata>,
        #[prost(message, optional, tag = "2")]
        pub(crate) image: Option<ImageSpec>,
        #[prost(string, repeated, tag = "3")]
        pub(crate) command: Vec<String>,
        #[prost(message, repeated, tag = "6")]
        pub(crate) envs: Vec<KeyValue>,
        #[prost(message, repeated, tag = "7")]
        pub(crate) mounts: Vec<Mount>,
        #[prost(btree_map = "string, string", tag = "9")]
        pub(crate) labels: BTreeMap<String, String>,
        #[prost(string, tag = "11")]
        pub(crate) log_path: String,
        #[prost(message, optional, tag = "15")]
        pub(crate) linux: Option<LinuxContainerConfig>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct CreateContainerRequest {
        #[prost(string, tag = "1")]
        pub(crate) pod_sandbox_id: String,
        #[prost(message, optional, tag = "2")]
        pub(crate) config: Option<ContainerConfig>,
        #[prost(message, optional, tag = "3")]
        pub(crate) sandbox_config: Option<PodSandboxConfig>,
    }
}

const NODE: i32 = 2;
const CONTAINER: i32 = 1;

/// A private containerd, killed (with its pods removed) when dropped.
struct Containerd {
    dir: PathBuf,
    child: Child,
    rt: tokio::runtime::Runtime,
    channel: Option<Channel>,
    sandboxes: Vec<String>,
}

impl Containerd {
    fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }

    fn start() -> Result<Self, String> {
        let dir = PathBuf::from(format!("/tmp/osprey-ctrd-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("cni")).map_err(|e| e.to_string())?;
        let d = dir.display();
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/osprey-test/pause:1.0"
  # The test machine may lack CAP_SYS_RESOURCE: never ask for a lower
  # oom_score_adj than containerd has (the pause container wants -998).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni"
    conf_dir = "{d}/cni"
"#
        );
        std::fs::write(dir.join("config.toml"), config).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("containerd.log")).map_err(|e| e.to_string())?;
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run containerd: {e}"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let mut me = Self {
            dir,
            child,
            rt,
            channel: None,
            sandboxes: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !me.socket().exists() {
            if Instant::now() > deadline {
                return Err(format!(
                    "containerd did not start; see {}",
                    me.dir.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let socket = me.socket();
        let channel = me
            .rt
            .block_on(
                Endpoint::from_static("http://localhost").connect_with_connector(
                    tower::service_fn(move |_: http::Uri| {
                        let socket = socket.clone();
                        async move {
                            let s = tokio::net::UnixStream::connect(socket).await?;
                            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(s))
                        }
                    }),
                ),
            )
            .map_err(|e| format!("connect to containerd: {e}"))?;
        me.channel = Some(channel);
        Ok(me)
    }

    fn call<Req, Resp>(&self, method: &'static str, req: Req) -> Result<Resp, tonic::Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let channel = self.channel.clone().expect("connected");
        self.rt.block_on(async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready()
                .await
                .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
            grpc.unary(
                tonic::Request::new(req),
                http::uri::PathAndQuery::from_static(method),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .map(tonic::Response::into_inner)
        })
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for id in std::mem::take(&mut self.sandboxes) {
            for method in [
                "/runtime.v1.RuntimeService/StopPodSandbox",
                "/runtime.v1.RuntimeService/RemovePodSandbox",
            ] {
                let _: Result<proto::Empty, _> =
                    self.call(method, proto::PodSandboxId { id: id.clone() });
            }
        }
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        // Leftover mounts (should a removal have failed) keep their
        // directories; remove what can be removed.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).exists()))
}

/// Imports the test images into containerd's k8s.io namespace, making the
/// pause image (busybox sleeping forever) first if dockerd lacks it.
fn import_images(socket: &Path) {
    let has_pause = Command::new("docker")
        .args(["image", "inspect", "osprey-test/pause:1.0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_pause {
        let cid = docker(&["create", "osprey-test/busybox:1.0"]);
        let script = format!(
            "docker export {cid} | docker import -c 'CMD [\"/bin/sleep\",\"2147483647\"]' - osprey-test/pause:1.0 >/dev/null"
        );
        let ok = Command::new("sh").arg("-c").arg(&script).status();
        docker(&["rm", &cid]);
        assert!(
            ok.is_ok_and(|s| s.success()),
            "making the pause image failed"
        );
    }
    let script = format!(
        "set -o pipefail; docker save osprey-test/pause:1.0 osprey-test/busybox:1.0 | ctr -a {} -n k8s.io images import - >/dev/null",
        socket.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "image import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn containerd_cri() {
    const TEST: &str = "containerd_cri";
    if !is_root() {
        skip(TEST, "needs root to run containerd");
        return;
    }
    if !on_path("containerd") || !on_path("ctr") {
        skip(
            TEST,
            "containerd and ctr are not installed (docker.io brings them)",
        );
        return;
    }
    if !docker_up(TEST) {
        return;
    }
    let mut ctrd = match Containerd::start() {
        Ok(c) => c,
        Err(e) => {
            skip(TEST, &e);
            return;
        }
    };
    import_images(&ctrd.socket());

    let host_ns = proto::NamespaceOption {
        network: NODE,
        pid: CONTAINER,
        ipc: NODE,
    };
    let sandbox_config = proto::PodSandboxConfig {
        metadata: Some(proto::PodSandboxMetadata {
            name: "osprey-pod".into(),
            uid: "uid-123".into(),
            namespace: "osprey-ns".into(),
            attempt: 0,
        }),
        log_directory: ctrd.dir.join("logs").display().to_string(),
        labels: [("app".to_owned(), "web".to_owned())].into(),
        linux: Some(proto::LinuxPodSandboxConfig {
            security_context: Some(proto::LinuxSandboxSecurityContext {
                namespace_options: Some(host_ns.clone()),
            }),
        }),
    };
    let sandbox: proto::PodSandboxId = ctrd
        .call(
            "/runtime.v1.RuntimeService/RunPodSandbox",
            proto::RunPodSandboxRequest {
                config: Some(sandbox_config.clone()),
            },
        )
        .expect("RunPodSandbox");
    ctrd.sandboxes.push(sandbox.id.clone());
    let created: proto::PodSandboxId = ctrd
        .call(
            "/runtime.v1.RuntimeService/CreateContainer",
            proto::CreateContainerRequest {
                pod_sandbox_id: sandbox.id.clone(),
                config: Some(proto::ContainerConfig {
                    metadata: Some(proto::ContainerMetadata {
                        name: "web1".into(),
                    }),
                    image: Some(proto::ImageSpec {
                        image: "docker.io/osprey-test/busybox:1.0".into(),
                    }),
                    command: vec!["sleep".into(), "60".into()],
                    envs: vec![proto::KeyValue {
                        key: "OSPREY_TEST".into(),
                        value: "1".into(),
                    }],
                    mounts: vec![proto::Mount {
                        container_path: "/data".into(),
                        host_path: "/tmp".into(),
                        readonly: true,
                    }],
                    labels: BTreeMap::from([("tier".to_owned(), "front".to_owned())]),
                    log_path: "web1.log".into(),
                    linux: Some(proto::LinuxContainerConfig {
                        security_context: Some(proto::LinuxContainerSecurityContext {
                            privileged: false,
                            namespace_options: Some(host_ns),
                        }),
                    }),
                }),
                sandbox_config: Some(sandbox_config),
            },
        )
        .expect("CreateContainer");
    let _: proto::Empty = ctrd
        .call(
            "/runtime.v1.RuntimeService/StartContainer",
            proto::PodSandboxId {
                id: created.id.clone(),
            },
        )
        .expect("StartContainer");
    let id = created.id;
    assert_eq!(id.len(), 64);
    let image_id = docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}}",
        "osprey-test/busybox:1.0",
    ]);
    let image_id = image_id.strip_prefix("sha256:").unwrap_or(&image_id);

    let opts = ResolverOptions {
        docker: None,
        podman: None,
        cri: vec![ctrd.socket()],
        ..ResolverOptions::default()
    };
    let info = lookup_once(&opts, &id).expect("CRI lookup of the container");
    assert_eq!(info.id, id);
    assert_eq!(info.runtime, Runtime::Containerd);
    assert_eq!(info.name, "web1");
    assert_eq!(info.image, "docker.io/osprey-test/busybox:1.0");
    assert_eq!(info.image_repo, "docker.io/osprey-test/busybox");
    assert_eq!(info.image_tag, "1.0");
    assert_eq!(info.image_id, image_id);
    // A local image has no repo digest: image_ref is the image id, which
    // libsinsp takes as the digest.
    assert_eq!(info.image_digest, format!("sha256:{image_id}"));
    assert!(!info.privileged);
    assert!(info.host_network && !info.host_pid);
    assert_eq!(info.ip, [0; 4], "no pod IP with the host network");
    assert!(
        info.env.iter().any(|e| e == "OSPREY_TEST=1"),
        "{:?}",
        info.env
    );
    assert!(
        info.mounts.contains(&Mount {
            source: "/tmp".into(),
            dest: "/data".into(),
            mode: String::new(),
            rw: false,
            propagation: "private".into(),
        }),
        "{:?}",
        info.mounts
    );
    assert!(info
        .labels
        .contains(&("tier".to_owned(), "front".to_owned())));
    assert!(info
        .labels
        .contains(&("io.kubernetes.sandbox.id".to_owned(), sandbox.id.clone())));
    let pod = info.pod.as_ref().expect("pod from the sandbox");
    assert_eq!(
        (pod.name.as_str(), pod.uid.as_str(), pod.namespace.as_str()),
        ("osprey-pod", "uid-123", "osprey-ns")
    );
    assert_eq!(pod.labels, [("app".to_owned(), "web".to_owned())]);

    // The short id, through the background resolver.
    let mut resolver = Resolver::start(opts.clone()).expect("start resolver");
    assert!(resolver.request(&id[..12]));
    let deadline = Instant::now() + Duration::from_secs(60);
    let found = loop {
        if let Some(info) = resolver.try_recv() {
            break Some(info);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let found = found.expect("the resolver answered");
    assert_eq!(
        (found.id.as_str(), found.name.as_str()),
        (&id[..12], "web1")
    );

    // The sandbox's own id.
    let sb = lookup_once(&opts, &sandbox.id).expect("CRI lookup of the sandbox");
    assert!(sb.is_pod_sandbox);
    assert_eq!(sb.name, "osprey-pod");
    assert!(sb.labels.contains(&(
        "io.kubernetes.pod.namespace".to_owned(),
        "osprey-ns".to_owned()
    )));

    // An unknown id: NotFound from the runtime, named as such.
    let err = lookup_once(&opts, &"0".repeat(64)).unwrap_err();
    let Error::NotFound { tried, .. } = &err else {
        panic!("want NotFound, got {err}");
    };
    assert!(
        matches!(&tried[..], [Error::Grpc { code, .. }] if code == "NotFound"),
        "{err}"
    );
}
