//! Lookups against a real dockerd with real containers.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{docker, docker_up, Containers};
use osprey_container::{lookup_once, Error, Resolver, ResolverOptions};
use osprey_event::container::{Mount, Runtime};

const SOCKET: &str = "/var/run/docker.sock";

fn docker_only() -> ResolverOptions {
    ResolverOptions {
        docker: Some(PathBuf::from(SOCKET)),
        podman: None,
        cri: Vec::new(),
        ..ResolverOptions::default()
    }
}

#[test]
fn maps_a_running_container() {
    if !docker_up("maps_a_running_container") {
        return;
    }
    let _guard = Containers(vec!["osprey-rt-web1".into(), "osprey-rt-hostnet".into()]);
    for name in &_guard.0 {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", name])
            .output();
    }
    let id = docker(&[
        "run",
        "-d",
        "--name",
        "osprey-rt-web1",
        "--label",
        "io.kubernetes.pod.name=p1",
        "--label",
        "io.kubernetes.pod.namespace=ns1",
        "--label",
        "io.kubernetes.pod.uid=u1",
        "--env",
        "OSPREY_TEST=1",
        "-v",
        "/tmp:/data:ro",
        "osprey-test/nginx:1.0",
        "sleep",
        "60",
    ]);
    assert_eq!(id.len(), 64, "full id from docker run: {id}");
    let image_id = docker(&["inspect", "-f", "{{.Image}}", &id]);
    let image_id = image_id.strip_prefix("sha256:").unwrap_or(&image_id);

    let info = lookup_once(&docker_only(), &id).expect("lookup web1");
    assert_eq!(info.id, id);
    assert_eq!(info.runtime, Runtime::Docker);
    assert_eq!(info.name, "osprey-rt-web1");
    assert_eq!(info.image, "osprey-test/nginx:1.0");
    assert_eq!(info.image_repo, "osprey-test/nginx");
    assert_eq!(info.image_tag, "1.0");
    assert_eq!(info.image_id, image_id);
    assert_eq!(
        info.image_digest, "",
        "an imported image has no repo digest"
    );
    assert!(!info.privileged);
    assert!(!info.host_network && !info.host_pid);
    assert_eq!(
        info.ip[..2],
        [172, 17],
        "ip {:?} not in 172.17.0.0/16",
        info.ip
    );
    assert_eq!(
        info.mounts,
        [Mount {
            source: "/tmp".into(),
            dest: "/data".into(),
            mode: "ro".into(),
            rw: false,
            propagation: "rprivate".into(),
        }]
    );
    assert!(
        info.env.iter().any(|e| e == "OSPREY_TEST=1"),
        "{:?}",
        info.env
    );
    assert!(info
        .labels
        .contains(&("io.kubernetes.pod.uid".to_owned(), "u1".to_owned())));
    let pod = info
        .pod
        .as_ref()
        .expect("pod from the io.kubernetes labels");
    assert_eq!(
        (pod.name.as_str(), pod.namespace.as_str(), pod.uid.as_str()),
        ("p1", "ns1", "u1")
    );
    assert_eq!(info.healthcheck, None);
    assert!(!info.is_pod_sandbox);

    // The short id finds the same container.
    let short = lookup_once(&docker_only(), &id[..12]).expect("lookup by short id");
    assert_eq!(
        (short.id.as_str(), short.name.as_str()),
        (&id[..12], "osprey-rt-web1")
    );

    // podman speaks the same API: its client against dockerd's socket.
    let as_podman = ResolverOptions {
        docker: None,
        podman: Some(PathBuf::from(SOCKET)),
        ..docker_only()
    };
    let info = lookup_once(&as_podman, &id).expect("lookup through the podman client");
    assert_eq!(info.runtime, Runtime::Podman);
    assert_eq!(info.image_tag, "1.0");

    let hostnet = docker(&[
        "run",
        "-d",
        "--name",
        "osprey-rt-hostnet",
        "--network",
        "host",
        "--pid",
        "host",
        "--health-cmd",
        "true",
        "osprey-test/busybox:1.0",
        "sleep",
        "60",
    ]);
    let info = lookup_once(&docker_only(), &hostnet).expect("lookup hostnet");
    assert!(info.host_network && info.host_pid);
    assert_eq!(info.ip, [0; 4]);
    assert_eq!(info.pod, None);
    assert_eq!(info.image_repo, "osprey-test/busybox");
    assert_eq!(info.healthcheck.as_deref(), Some("/bin/sh -c true"));

    // The resolver answers in the background; unknown ids are given up.
    let mut resolver = Resolver::start(ResolverOptions {
        attempts: 2,
        backoff: Duration::from_millis(10),
        ..docker_only()
    })
    .expect("start resolver");
    assert!(resolver.request(&"0".repeat(64)));
    assert!(resolver.request(&id[..12]));
    assert!(resolver.request(&hostnet));
    assert!(!resolver.request(&id[..12]), "duplicates are ignored");
    assert!(!resolver.request("not-an-id"));
    let mut names = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while names.len() < 2 && Instant::now() < deadline {
        match resolver.try_recv() {
            Some(info) => names.push((info.id, info.name)),
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    names.sort();
    let mut want = vec![
        (id[..12].to_owned(), "osprey-rt-web1".to_owned()),
        (hostnet.clone(), "osprey-rt-hostnet".to_owned()),
    ];
    want.sort();
    assert_eq!(names, want);
    assert!(!resolver.request(&hostnet), "resolved ids are ignored");
}

#[test]
fn unknown_id_is_not_found() {
    if !docker_up("unknown_id_is_not_found") {
        return;
    }
    let err = lookup_once(&docker_only(), &"0".repeat(64)).unwrap_err();
    let Error::NotFound { tried, .. } = &err else {
        panic!("want NotFound, got {err}");
    };
    assert!(
        matches!(tried.as_slice(), [Error::Status { status: 404, .. }]),
        "{err}"
    );
    assert!(err.to_string().contains("404"), "{err}");
}
