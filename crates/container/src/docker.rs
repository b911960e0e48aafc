//! The Docker Engine API (`GET /containers/<id>/json`, `GET /images/<id>/json`)
//! and podman's Docker-compatible API on the same paths, mapped to
//! [`ContainerInfo`] field by field as libsinsp maps them.

use std::path::Path;
use std::time::Duration;

use osprey_event::container::{ContainerInfo, Mount, Pod, Runtime};
use serde_json::Value;

use crate::{http, image, Error};

/// Labels longer than this are dropped, as sysdig drops them by default
/// (`container_label_max_length`).
pub(crate) const LABEL_MAX_LEN: usize = 100;

/// The kubectl annotation that carries the pod spec as a JSON string; libsinsp
/// reads the liveness and readiness probes from it.
const POD_SPEC_LABEL: &str = "annotation.kubectl.kubernetes.io/last-applied-configuration";

/// Looks `id` up on the Docker-API server at `socket`.
pub(crate) fn lookup(
    socket: &Path,
    runtime: Runtime,
    id: &str,
    timeout: Duration,
) -> Result<ContainerInfo, Error> {
    let root = get_json(socket, &format!("/containers/{id}/json"), timeout)?;
    let mut fetch = |path: &str| get_json(socket, path, timeout).ok();
    Ok(map_inspect(id, runtime, &root, &mut fetch))
}

/// `GET path` as JSON; any status but 200 is an error.
fn get_json(socket: &Path, path: &str, timeout: Duration) -> Result<Value, Error> {
    let resp = http::get(socket, path, timeout)?;
    if resp.status != 200 {
        // Docker explains failures in {"message": "..."}.
        let message = serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(200)
                    .collect()
            });
        return Err(Error::Status {
            socket: socket.to_path_buf(),
            path: path.to_owned(),
            status: resp.status,
            message,
        });
    }
    serde_json::from_slice(&resp.body).map_err(|source| Error::Json {
        socket: socket.to_path_buf(),
        path: path.to_owned(),
        line: source.line(),
        column: source.column(),
        source,
    })
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Maps an inspect answer. `fetch` answers further API paths (image details,
/// the sandbox and network-owner containers) and may fail with `None`; as in
/// libsinsp, such failures only leave fields empty.
pub(crate) fn map_inspect(
    id: &str,
    runtime: Runtime,
    root: &Value,
    fetch: &mut dyn FnMut(&str) -> Option<Value>,
) -> ContainerInfo {
    let mut info = ContainerInfo {
        id: id.to_owned(),
        runtime,
        ..ContainerInfo::default()
    };
    let null = Value::Null;
    let config = root.get("Config").unwrap_or(&null);
    let host_config = root.get("HostConfig").unwrap_or(&null);

    image_info(&mut info, root, config, fetch);
    health_probes(&mut info, config);

    let name = str_of(root, "Name");
    info.name = name.strip_prefix('/').unwrap_or(name).to_owned();
    info.is_pod_sandbox = info.name.starts_with("k8s_POD");

    info.ip = container_ip(root, host_config, fetch);

    if let Some(labels) = config.get("Labels").and_then(Value::as_object) {
        info.labels = labels
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .filter(|(_, v)| v.len() <= LABEL_MAX_LEN)
            .collect();
    }
    if runtime == Runtime::Podman {
        // Looked up on the system socket, i.e. for uid 0: libsinsp drops the
        // owner label then.
        info.labels.retain(|(k, _)| k != "podman_owner_uid");
    }
    if let Some(env) = config.get("Env").and_then(Value::as_array) {
        info.env = env
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    info.privileged = host_config
        .get("Privileged")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    info.host_pid = str_of(host_config, "PidMode") == "host";
    info.host_network = str_of(host_config, "NetworkMode") == "host";
    if let Some(mounts) = root.get("Mounts").and_then(Value::as_array) {
        info.mounts = mounts
            .iter()
            .map(|m| Mount {
                source: str_of(m, "Source").to_owned(),
                dest: str_of(m, "Destination").to_owned(),
                mode: str_of(m, "Mode").to_owned(),
                rw: m.get("RW").and_then(Value::as_bool).unwrap_or(false),
                propagation: str_of(m, "Propagation").to_owned(),
            })
            .collect();
    }
    info.pod = pod_from_labels(&info.labels, fetch);
    info
}

/// `image`, `image_id`, repository, tag and digest, with the image API as
/// libsinsp uses it: Docker puts the image id in `Image`, podman the name.
fn image_info(
    info: &mut ContainerInfo,
    root: &Value,
    config: &Value,
    fetch: &mut dyn FnMut(&str) -> Option<Value>,
) {
    info.image = str_of(config, "Image").to_owned();
    let image_field = str_of(root, "Image");
    if !image_field.contains('/') {
        info.image_id = match image_field.split_once(':') {
            Some((_, hex)) => hex.to_owned(),
            None => image_field.to_owned(),
        };
        // Started by image id (`docker run sha256:ab12`): the name says nothing
        // and the image API must tell the repository and tag.
        let no_name =
            info.image_id.starts_with(&info.image) || image_field.starts_with(&info.image);
        if !no_name {
            let parts = image::split(&info.image);
            info.image_repo = parts.repo;
            info.image_tag = parts.tag.to_owned();
            info.image_digest = parts.digest.to_owned();
        }
        if !info.image_id.is_empty()
            && (no_name || info.image_digest.is_empty() || info.image_tag.is_empty())
        {
            if let Some(img) = fetch(&format!("/images/{}/json?digests=1", info.image_id)) {
                apply_image(info, &img);
            }
        }
    } else {
        let parts = image::split(image_field);
        info.image_repo = parts.repo;
        info.image_tag = parts.tag.to_owned();
        info.image_digest = parts.digest.to_owned();
        if info.image_tag.is_empty() {
            info.image_tag = "latest".to_owned();
        }
        // No id here: find the image by name in the list (podman names it in
        // `Names`).
        let wanted = format!("{}:{}", info.image_repo, info.image_tag);
        let list = fetch("/images/json?digests=1")
            .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            .or_else(|| fetch("/images/json"));
        if let Some(list) = list.as_ref().and_then(Value::as_array) {
            let found = list.iter().find(|img| {
                img.get("Names")
                    .and_then(Value::as_array)
                    .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(&wanted)))
            });
            if let Some(img) = found {
                let id = str_of(img, "Id");
                info.image_id = id.split_once(':').map_or(id, |(_, hex)| hex).to_owned();
                apply_image(info, img);
            }
        }
    }
    if info.image_tag.is_empty() {
        info.image_tag = "latest".to_owned();
    }
}

/// Digest, repository and tag from an image object, as libsinsp's
/// `parse_image_info`: the first repo digest (or repo tag) that mentions the
/// repository wins.
fn apply_image(info: &mut ContainerInfo, img: &Value) {
    if let Some(digest) = img.get("Digest").and_then(Value::as_str) {
        info.image_digest = digest.to_owned();
    } else {
        let mut digests: Vec<&str> = Vec::new();
        let repo_digests = img.get("RepoDigests").and_then(Value::as_array);
        for rd in repo_digests.into_iter().flatten().filter_map(Value::as_str) {
            let (repo, digest) = rd.split_once('@').unwrap_or((rd, rd));
            if !digests.contains(&digest) {
                digests.push(digest);
            }
            if info.image_repo.is_empty() {
                repo.clone_into(&mut info.image_repo);
            }
            if rd.contains(info.image_repo.as_str()) {
                digest.clone_into(&mut info.image_digest);
                break;
            }
        }
        if info.image_digest.is_empty() && digests.len() == 1 {
            digests[0].clone_into(&mut info.image_digest);
        }
    }
    let repo_tags = img.get("RepoTags").and_then(Value::as_array);
    for rt in repo_tags.into_iter().flatten().filter_map(Value::as_str) {
        let (repo, tag) = rt.rsplit_once(':').unwrap_or((rt, rt));
        if info.image_repo.is_empty() {
            repo.clone_into(&mut info.image_repo);
        }
        if rt.contains(info.image_repo.as_str()) {
            tag.clone_into(&mut info.image_tag);
            break;
        }
    }
}

/// `NetworkSettings.IPAddress`, else the first attached network's address,
/// else (`--network container:<id>`) the address of that container.
fn container_ip(
    root: &Value,
    host_config: &Value,
    fetch: &mut dyn FnMut(&str) -> Option<Value>,
) -> [u8; 4] {
    let null = Value::Null;
    let net = root.get("NetworkSettings").unwrap_or(&null);
    let mut ip = str_of(net, "IPAddress");
    if ip.is_empty() {
        if let Some(networks) = net.get("Networks").and_then(Value::as_object) {
            ip = networks
                .values()
                .map(|n| str_of(n, "IPAddress"))
                .find(|ip| !ip.is_empty())
                .unwrap_or("");
        }
    }
    if !ip.is_empty() {
        return ip
            .parse::<std::net::Ipv4Addr>()
            .map_or([0; 4], |a| a.octets());
    }
    if let Some(other) = str_of(host_config, "NetworkMode").strip_prefix("container:") {
        if crate::valid_id(other) {
            if let Some(other_root) = fetch(&format!("/containers/{other}/json")) {
                let other_host = other_root.get("HostConfig").unwrap_or(&null);
                // The owner's own mode is never `container:` again in
                // practice; refuse to follow a chain anyway.
                if !str_of(other_host, "NetworkMode").starts_with("container:") {
                    return container_ip(&other_root, other_host, fetch);
                }
            }
        }
    }
    [0; 4]
}

/// Removes pairs of matching quotes around an argument, as libsinsp does for
/// probe commands.
fn normalize_arg(arg: &str) -> &str {
    let mut s = arg;
    while s.len() >= 2 {
        let first = s.as_bytes()[0];
        if (first == b'"' || first == b'\'') && s.as_bytes()[s.len() - 1] == first {
            s = &s[1..s.len() - 1];
        } else {
            break;
        }
    }
    s
}

/// Joins a probe's executable and arguments with single spaces.
fn join_probe<'a>(exe: &'a str, args: impl Iterator<Item = &'a str>) -> String {
    let mut out = exe.to_owned();
    for arg in args {
        out.push(' ');
        out.push_str(arg);
    }
    out
}

/// Liveness/readiness probes from the pod spec label, else the Docker
/// health check (`Config.Healthcheck.Test`): `CMD exe args...` gives
/// `exe args...`, `CMD-SHELL cmd` gives `/bin/sh -c cmd`, `NONE` nothing.
fn health_probes(info: &mut ContainerInfo, config: &Value) {
    if let Some(spec) = config
        .get("Labels")
        .and_then(|l| l.get(POD_SPEC_LABEL))
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        let container = spec
            .get("spec")
            .and_then(|s| s.get("containers"))
            .and_then(|c| c.get(0));
        if let Some(container) = container {
            // As libsinsp: a readiness probe only counts without a liveness
            // probe.
            if let Some(probe) = container.get("livenessProbe") {
                info.liveness_probe = exec_probe(probe);
            } else if let Some(probe) = container.get("readinessProbe") {
                info.readiness_probe = exec_probe(probe);
            }
        }
        if info.liveness_probe.is_some() || info.readiness_probe.is_some() {
            return;
        }
    }
    let Some(test) = config
        .get("Healthcheck")
        .and_then(|h| h.get("Test"))
        .and_then(Value::as_array)
    else {
        return;
    };
    let words: Vec<&str> = test.iter().map(|w| w.as_str().unwrap_or("")).collect();
    info.healthcheck = match words.as_slice() {
        ["CMD", exe, args @ ..] => Some(join_probe(
            normalize_arg(exe),
            args.iter().map(|a| normalize_arg(a)),
        )),
        ["CMD-SHELL", cmd, ..] => Some(join_probe("/bin/sh", ["-c", *cmd].into_iter())),
        _ => None,
    };
}

fn exec_probe(probe: &Value) -> Option<String> {
    let command = probe.get("exec")?.get("command")?.as_array()?;
    let mut words = command
        .iter()
        .map(|w| normalize_arg(w.as_str().unwrap_or("")));
    let exe = words.next()?;
    Some(join_probe(exe, words))
}

/// The pod from the `io.kubernetes.pod.*` labels; its labels are those of the
/// sandbox container (`io.kubernetes.sandbox.id`) when that one answers.
fn pod_from_labels(
    labels: &[(String, String)],
    fetch: &mut dyn FnMut(&str) -> Option<Value>,
) -> Option<Pod> {
    let label = |key: &str| {
        labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let name = label("io.kubernetes.pod.name");
    let namespace = label("io.kubernetes.pod.namespace");
    let uid = label("io.kubernetes.pod.uid");
    if name.is_none() && namespace.is_none() && uid.is_none() {
        return None;
    }
    let mut pod = Pod {
        name: name.unwrap_or("").to_owned(),
        uid: uid.unwrap_or("").to_owned(),
        namespace: namespace.unwrap_or("").to_owned(),
        labels: Vec::new(),
    };
    if let Some(sandbox) = label("io.kubernetes.sandbox.id").filter(|s| crate::valid_id(s)) {
        if let Some(sb) = fetch(&format!("/containers/{sandbox}/json")) {
            if let Some(l) = sb
                .get("Config")
                .and_then(|c| c.get("Labels"))
                .and_then(Value::as_object)
            {
                pod.labels = l
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .filter(|(_, v)| v.len() <= LABEL_MAX_LEN)
                    .collect();
            }
        }
    }
    Some(pod)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_fetch(_: &str) -> Option<Value> {
        None
    }

    #[test]
    fn maps_inspect() {
        let root = json!({
            "Id": "ab".repeat(32),
            "Name": "/web1",
            "Image": "sha256:1234abcd",
            "Config": {
                "Image": "osprey-test/nginx:1.0",
                "Labels": {"io.kubernetes.pod.name": "p1", "io.kubernetes.pod.namespace": "ns1",
                           "io.kubernetes.pod.uid": "u1", "long": "x".repeat(101)},
                "Env": ["PATH=/bin", 3],
                "Healthcheck": {"Test": ["CMD", "\"curl\"", "'-f'", "http://x"]}
            },
            "HostConfig": {"Privileged": true, "NetworkMode": "bridge", "PidMode": "host"},
            "NetworkSettings": {"IPAddress": "172.17.0.2"},
            "Mounts": [{"Source": "/tmp", "Destination": "/data", "Mode": "ro", "RW": false,
                        "Propagation": "rprivate"}]
        });
        let mut fetched = Vec::new();
        let mut fetch = |p: &str| {
            fetched.push(p.to_owned());
            Some(json!({"RepoTags": ["osprey-test/nginx:1.0"], "RepoDigests": []}))
        };
        let info = map_inspect("abc", Runtime::Docker, &root, &mut fetch);
        assert_eq!(fetched, ["/images/1234abcd/json?digests=1"]);
        assert_eq!(info.id, "abc");
        assert_eq!(info.name, "web1");
        assert_eq!(info.image, "osprey-test/nginx:1.0");
        assert_eq!(info.image_id, "1234abcd");
        assert_eq!(info.image_repo, "osprey-test/nginx");
        assert_eq!(info.image_tag, "1.0");
        assert_eq!(info.image_digest, "");
        assert!(info.privileged && info.host_pid && !info.host_network);
        assert_eq!(info.ip, [172, 17, 0, 2]);
        assert_eq!(info.env, ["PATH=/bin"]);
        assert_eq!(info.labels.len(), 3, "the 101-byte label is dropped");
        assert_eq!(info.healthcheck.as_deref(), Some("curl -f http://x"));
        assert_eq!(
            info.mounts,
            [Mount {
                source: "/tmp".into(),
                dest: "/data".into(),
                mode: "ro".into(),
                rw: false,
                propagation: "rprivate".into()
            }]
        );
        let pod = info.pod.unwrap();
        assert_eq!(
            (pod.name.as_str(), pod.namespace.as_str(), pod.uid.as_str()),
            ("p1", "ns1", "u1")
        );
    }

    #[test]
    fn image_digest_and_default_tag() {
        let root = json!({"Image": "sha256:ff", "Config": {"Image": "redis"}});
        let mut fetch = |_: &str| {
            Some(json!({"RepoDigests": ["docker.io/library/redis@sha256:d1"],
                        "RepoTags": ["redis:7"]}))
        };
        let info = map_inspect("x", Runtime::Docker, &root, &mut fetch);
        assert_eq!(info.image_repo, "redis");
        assert_eq!(info.image_digest, "sha256:d1");
        assert_eq!(info.image_tag, "7");

        let info = map_inspect("x", Runtime::Docker, &root, &mut no_fetch);
        assert_eq!(
            (info.image_repo.as_str(), info.image_tag.as_str()),
            ("redis", "latest")
        );
    }

    #[test]
    fn started_by_image_id() {
        let root = json!({"Image": "sha256:ddcc44", "Config": {"Image": "ddcc"}});
        let mut fetch = |_: &str| Some(json!({"RepoTags": ["team/app:2"]}));
        let info = map_inspect("x", Runtime::Docker, &root, &mut fetch);
        assert_eq!(
            (info.image_repo.as_str(), info.image_tag.as_str()),
            ("team/app", "2")
        );
    }

    #[test]
    fn podman_image_by_name() {
        let root = json!({"Image": "docker.io/library/alpine:3", "Config": {"Image": "alpine:3",
            "Labels": {"podman_owner_uid": "0", "a": "b"}}});
        let mut fetch = |p: &str| {
            (p == "/images/json").then(|| {
                json!([{"Id": "sha256:77", "Names": ["docker.io/library/alpine:3"],
                        "Digest": "sha256:dd"}])
            })
        };
        let info = map_inspect("x", Runtime::Podman, &root, &mut fetch);
        assert_eq!(info.runtime, Runtime::Podman);
        assert_eq!(info.image_id, "77");
        assert_eq!(info.image_repo, "docker.io/library/alpine");
        assert_eq!(info.image_digest, "sha256:dd");
        assert_eq!(info.labels, [("a".to_owned(), "b".to_owned())]);
    }

    #[test]
    fn network_fallbacks() {
        let root = json!({"NetworkSettings": {"IPAddress": "", "Networks": {"n1": {"IPAddress": "10.0.0.5"}}}});
        assert_eq!(
            map_inspect("x", Runtime::Docker, &root, &mut no_fetch).ip,
            [10, 0, 0, 5]
        );
        let other = "c".repeat(64);
        let root = json!({"HostConfig": {"NetworkMode": format!("container:{other}")}});
        let mut fetch = |p: &str| {
            assert_eq!(p, format!("/containers/{other}/json"));
            Some(json!({"NetworkSettings": {"IPAddress": "172.17.0.9"}}))
        };
        assert_eq!(
            map_inspect("x", Runtime::Docker, &root, &mut fetch).ip,
            [172, 17, 0, 9]
        );
        let root = json!({"HostConfig": {"NetworkMode": "host"}});
        let info = map_inspect("x", Runtime::Docker, &root, &mut no_fetch);
        assert!(info.host_network);
        assert_eq!(info.ip, [0; 4]);
    }

    #[test]
    fn probes() {
        let shell =
            json!({"Config": {"Healthcheck": {"Test": ["CMD-SHELL", "curl -f x || exit 1"]}}});
        let info = map_inspect("x", Runtime::Docker, &shell, &mut no_fetch);
        assert_eq!(
            info.healthcheck.as_deref(),
            Some("/bin/sh -c curl -f x || exit 1")
        );
        let none = json!({"Config": {"Healthcheck": {"Test": ["NONE"]}}});
        assert_eq!(
            map_inspect("x", Runtime::Docker, &none, &mut no_fetch).healthcheck,
            None
        );
        let spec = json!({"spec": {"containers": [{"livenessProbe": {"exec": {"command": ["cat", "'/tmp/ok'"]}}}]}});
        let k8s = json!({"Config": {
            "Labels": {POD_SPEC_LABEL: spec.to_string()},
            "Healthcheck": {"Test": ["CMD", "true"]}}});
        let info = map_inspect("x", Runtime::Docker, &k8s, &mut no_fetch);
        assert_eq!(info.liveness_probe.as_deref(), Some("cat /tmp/ok"));
        assert_eq!(info.healthcheck, None);
        assert_eq!(normalize_arg("'\"a\"'"), "a");
        assert_eq!(normalize_arg("'a\""), "'a\"");
        assert_eq!(normalize_arg("\""), "\"");
    }

    #[test]
    fn garbage_shapes_do_not_panic() {
        for v in [
            json!(null),
            json!([]),
            json!("x"),
            json!({"Config": 3, "Mounts": {}, "Name": 7}),
        ] {
            let info = map_inspect("x", Runtime::Docker, &v, &mut no_fetch);
            assert_eq!(info.name, "");
        }
    }
}
