use super::*;

const ID: &str = "9dbcbd0c435f3a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293";

/// The container record of `falco_psp_privileged.scap`, as sysdig wrote it.
const CAPTURED: &str = r#"{"container":{"Mounts":[],"cpu_period":100000,"cpu_quota":0,"cpu_shares":1024,"env":[],"id":"9dbcbd0c435f","image":"nginx:latest","imagedigest":"sha256:96fb261b66270b900ea5a2c17a26abbfabe95506e73c3a3c65869a6dbe83223a","imageid":"f68d6e55e06520f152403e6d96d0de5c9790a89b4cfc99f4626f68146fa1dbdc","imagerepo":"nginx","imagetag":"latest","ip":"172.17.0.2","is_pod_sandbox":false,"labels":{"maintainer":"NGINX Docker Maintainers <docker-maint@nginx.com>"},"memory_limit":0,"metadata_deadline":0,"name":"epic_cray","port_mappings":[],"privileged":true,"swap_limit":0,"type":0}}"#;

#[test]
fn reads_a_captured_record() {
    let mut raw = CAPTURED.as_bytes().to_vec();
    raw.push(0);
    let c = ContainerInfo::from_sysdig_json(&raw).unwrap();
    assert_eq!(c.id, "9dbcbd0c435f");
    assert_eq!(c.short_id(), "9dbcbd0c435f");
    assert_eq!(c.runtime, Runtime::Docker);
    assert_eq!(c.name, "epic_cray");
    assert_eq!(c.image, "nginx:latest");
    assert_eq!(c.image_repo, "nginx");
    assert_eq!(c.image_tag, "latest");
    assert!(c.image_digest.starts_with("sha256:96fb"));
    assert!(c.image_id.starts_with("f68d6e55"));
    assert_eq!(c.ip, [172, 17, 0, 2]);
    assert!(c.privileged && !c.is_pod_sandbox && c.mounts.is_empty());
    assert_eq!(c.labels.len(), 1);
    assert_eq!(c.healthcheck, None);
    assert_eq!(c.pod, None);
}

#[test]
fn writes_what_it_reads() {
    let c = ContainerInfo::from_sysdig_json(CAPTURED.as_bytes()).unwrap();
    let mut out = Vec::new();
    c.to_sysdig_json(&mut out);
    let text = String::from_utf8(out.clone()).unwrap();
    // The captured shape, with the newer members in their sorted places.
    let expected = CAPTURED.replace(
        r#""env":[],"#,
        r#""env":[],"full_id":"9dbcbd0c435f","host_network":false,"host_pid":false,"#,
    );
    assert_eq!(text, expected);
    assert_eq!(ContainerInfo::from_sysdig_json(&out).unwrap(), c);
}

#[test]
fn round_trips_everything() {
    let c = ContainerInfo {
        id: ID.to_owned(),
        runtime: Runtime::Crio,
        name: "web1".into(),
        image: "docker.io/library/nginx:1.25".into(),
        image_id: "abc".into(),
        image_repo: "docker.io/library/nginx".into(),
        image_tag: "1.25".into(),
        image_digest: "sha256:00".into(),
        privileged: false,
        mounts: vec![Mount {
            source: "/var/lib/x".into(),
            dest: "/data".into(),
            mode: "z".into(),
            rw: true,
            propagation: "rprivate".into(),
        }],
        ip: [10, 0, 0, 7],
        labels: vec![
            ("a\"quoted".into(), "é".into()),
            ("io.kubernetes.pod.name".into(), "web".into()),
            ("io.kubernetes.pod.namespace".into(), "prod".into()),
            ("io.kubernetes.pod.uid".into(), "u-1".into()),
        ],
        env: vec!["PATH=/bin".into()],
        host_pid: true,
        host_network: true,
        is_pod_sandbox: false,
        healthcheck: Some("/bin/check -q".into()),
        liveness_probe: Some("/live".into()),
        readiness_probe: None,
        pod: Some(Pod {
            name: "web".into(),
            uid: "u-1".into(),
            namespace: "prod".into(),
            labels: vec![("app".into(), "web".into()), ("tier".into(), "1".into())],
        }),
    };
    let mut out = Vec::new();
    c.to_sysdig_json(&mut out);
    let back = ContainerInfo::from_sysdig_json(&out).unwrap();
    assert_eq!(back, c);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with(
            r#"{"container":{"Healthcheck":{"args":["-q"],"exe":"/bin/check"},"LivenessProbe""#
        ),
        "{text}"
    );
    assert!(text.contains(r#""id":"9dbcbd0c435f","#));
    assert!(text.contains(&format!(r#""full_id":"{ID}""#)));
    assert!(text.contains(r#""type":8}}"#));
}

#[test]
fn pod_labels_are_written_when_missing() {
    let c = ContainerInfo {
        id: "abc".into(),
        pod: Some(Pod {
            name: "p".into(),
            uid: "u".into(),
            namespace: "n".into(),
            labels: vec![],
        }),
        ..ContainerInfo::default()
    };
    let mut out = Vec::new();
    c.to_sysdig_json(&mut out);
    let back = ContainerInfo::from_sysdig_json(&out).unwrap();
    assert_eq!(back.pod, c.pod);
    assert_eq!(back.labels.len(), 3);
}

#[test]
fn bad_documents_are_errors() {
    match ContainerInfo::from_sysdig_json(b"{\n  \"container\": [") {
        Err(Error::Json { line: 2, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ContainerInfo::from_sysdig_json(b"{\"x\":1}"),
        Err(Error::NoContainer)
    ));
    assert!(matches!(
        ContainerInfo::from_sysdig_json(b"{\"container\":3}"),
        Err(Error::NoContainer)
    ));
}

fn found(cg: &str) -> Option<(Runtime, String)> {
    container_id_from_cgroups(cg.as_bytes())
        .map(|(r, id)| (r, String::from_utf8(id.to_vec()).unwrap()))
}

#[test]
fn docker_cgroups() {
    let want = Some((Runtime::Docker, ID.to_owned()));
    assert_eq!(
        found(&format!("cpuset=/docker/{ID}\0cpu=/docker/{ID}\0")),
        want
    );
    assert_eq!(found(&format!("0::/system.slice/docker-{ID}.scope")), want);
    assert_eq!(found(&format!("=/system.slice/docker-{ID}.scope\0")), want);
    // Docker in Docker, and a bare id anywhere else.
    assert_eq!(found(&format!("cpu=/docker/{ID}/docker/{ID}")), want);
    assert_eq!(found(&format!("cpu=/custom/{ID}")), want);
}

#[test]
fn kubernetes_cgroups() {
    let cri = Some((Runtime::Cri, ID.to_owned()));
    assert_eq!(
        found(&format!("cpu=/kubepods/besteffort/pod0f1e-22/{ID}")),
        cri
    );
    let containerd = Some((Runtime::Containerd, ID.to_owned()));
    assert_eq!(
        found(&format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f1e_22.slice/cri-containerd-{ID}.scope"
        )),
        containerd
    );
    assert_eq!(
        found(&format!(
            "cpu=/system.slice/containerd.service/kubepods-burstable-pod0f1e_22.slice:cri-containerd:{ID}"
        )),
        containerd
    );
}

#[test]
fn crio_cgroups() {
    let crio = Some((Runtime::Crio, ID.to_owned()));
    assert_eq!(
        found(&format!(
            "0::/kubepods.slice/kubepods-pod1.slice/crio-{ID}.scope"
        )),
        crio
    );
    assert_eq!(found(&format!("cpu=/kubepods/pod1/crio-{ID}")), crio);
    assert_eq!(found(&format!("cpu=/crio/{ID}")), crio);
    // conmon runs beside the container, not in it.
    assert_eq!(
        found(&format!("0::/system.slice/crio-conmon-{ID}.scope")),
        None
    );
}

#[test]
fn podman_cgroups() {
    let podman = Some((Runtime::Podman, ID.to_owned()));
    assert_eq!(
        found(&format!("0::/machine.slice/libpod-{ID}.scope")),
        podman
    );
    assert_eq!(
        found(&format!(
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container"
        )),
        podman
    );
    assert_eq!(found(&format!("cpu=/libpod_parent/libpod-{ID}")), podman);
    assert_eq!(
        found(&format!("0::/machine.slice/libpod-conmon-{ID}.scope")),
        None
    );
}

#[test]
fn host_cgroups() {
    assert_eq!(found("cpu=/user.slice\0memory=/\0"), None);
    assert_eq!(found("0::/init.scope"), None);
    assert_eq!(found("0::/system.slice/sshd.service"), None);
    // One digit short, and a non-hex digit.
    assert_eq!(found(&format!("cpu=/docker/{}", &ID[..63])), None);
    assert_eq!(found(&format!("cpu=/docker/{}g", &ID[..63])), None);
    assert_eq!(found(&format!("0::/system.slice/foo-{ID}.scope")), None);
    assert_eq!(found(""), None);
}
