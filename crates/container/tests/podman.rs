//! Lookups against podman's Docker-compatible API with real podman containers.
//!
//! Needs root and podman (`scripts/podman-up` loads the test images from
//! docker and starts the API service). Under `CI=true` a failing
//! `scripts/podman-up` fails the tests; elsewhere they say loudly that they
//! skipped.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::podman_up;
use osprey_container::{lookup_once, Error, ResolverOptions};
use osprey_event::container::Runtime;

const SOCKET: &str = "/run/podman/podman.sock";

/// The image as podman names it after `podman load`.
const IMAGE: &str = "localhost/osprey-test/busybox:1.0";

/// Runs `podman ARGS`, returning trimmed stdout; panics with stderr on failure.
fn podman(args: &[&str]) -> String {
    let out = Command::new("podman")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run podman");
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Removes the named podman container when dropped, also when the test fails.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Only podman's socket: Docker is not asked, so the answer must come from
/// podman.
fn podman_only() -> ResolverOptions {
    ResolverOptions {
        docker: None,
        podman: Some(PathBuf::from(SOCKET)),
        cri: Vec::new(),
        ..ResolverOptions::default()
    }
}

#[test]
fn maps_a_running_podman_container() {
    if !podman_up("maps_a_running_podman_container") {
        return;
    }
    let name = format!("osprey-pm-{}", std::process::id());
    let _guard = Container(name.clone());
    // Explicit ulimits: without CAP_SYS_RESOURCE podman cannot raise the
    // defaults it would set.
    let id = podman(&[
        "run",
        "-d",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "--name",
        &name,
        "--label",
        "osprey.test=podman",
        "-v",
        "/tmp:/data:ro",
        IMAGE,
        "sleep",
        "60",
    ]);
    assert_eq!(id.len(), 64, "full id from podman run: {id}");
    let image_id = podman(&["inspect", "-f", "{{.Image}}", &id]);
    let image_id = image_id.strip_prefix("sha256:").unwrap_or(&image_id);
    let digest = podman(&["image", "inspect", "-f", "{{.Digest}}", IMAGE]);
    let ip = podman(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &id]);
    let want_ip = if ip.is_empty() {
        [0; 4]
    } else {
        ip.parse::<std::net::Ipv4Addr>()
            .unwrap_or_else(|e| panic!("podman's ip {ip:?}: {e}"))
            .octets()
    };

    let info = lookup_once(&podman_only(), &id).expect("lookup through podman's socket");
    assert_eq!(info.id, id);
    assert_eq!(info.runtime, Runtime::Podman);
    assert_eq!(info.name, name);
    assert_eq!(info.image, IMAGE);
    assert_eq!(info.image_repo, "localhost/osprey-test/busybox");
    assert_eq!(info.image_tag, "1.0");
    assert_eq!(info.image_id, image_id);
    assert_eq!(info.image_digest, digest, "the digest podman reports");
    assert_eq!(info.ip, want_ip, "podman says ip {ip:?}");
    assert!(!info.privileged);
    assert!(!info.host_network && !info.host_pid);
    assert!(
        info.labels
            .contains(&("osprey.test".to_owned(), "podman".to_owned())),
        "{:?}",
        info.labels
    );
    assert!(
        !info.labels.iter().any(|(k, _)| k == "podman_owner_uid"),
        "{:?}",
        info.labels
    );
    assert_eq!(info.mounts.len(), 1, "{:?}", info.mounts);
    let m = &info.mounts[0];
    assert_eq!((m.source.as_str(), m.dest.as_str()), ("/tmp", "/data"));
    assert!(!m.rw, "{m:?}");
    // podman's compatible API leaves Mode empty where Docker says "ro".
    assert!(m.mode.is_empty() || m.mode == "ro", "{m:?}");
    assert_eq!(m.propagation, "rprivate");
    assert!(
        info.env.iter().any(|e| e == "container=podman"),
        "{:?}",
        info.env
    );
    assert_eq!(info.pod, None);

    // The short id finds the same container.
    let short = lookup_once(&podman_only(), &id[..12]).expect("lookup by short id");
    assert_eq!(
        (short.id.as_str(), short.name.as_str(), short.runtime),
        (&id[..12], name.as_str(), Runtime::Podman)
    );
}

#[test]
fn unknown_id_is_not_found_by_podman() {
    if !podman_up("unknown_id_is_not_found_by_podman") {
        return;
    }
    let err = lookup_once(&podman_only(), &"0".repeat(64)).unwrap_err();
    let Error::NotFound { tried, .. } = &err else {
        panic!("want NotFound, got {err}");
    };
    assert!(
        matches!(tried.as_slice(), [Error::Status { status: 404, message, .. }] if message.contains("no such container")),
        "{err}"
    );
}
