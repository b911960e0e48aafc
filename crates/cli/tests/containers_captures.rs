//! Acceptance (issue 6): the container captures (`falco_psp_*.scap`) read by
//! `osprey` show the same `container.*` and `k8s.*` values, `-pc`/`-pk`
//! lines and filter results as Debian's sysdig 0.29.3, byte for byte.
//!
//! These captures carry their container metadata as container JSON events
//! (the privileged one on its own; the others before their first event, where
//! sysdig reads but never shows them).

mod common;

use common::{osprey, shared, sysdig_available, Mismatch};
use std::process::Command;

const CAPTURES: [&str; 4] = [
    "falco_psp_privileged.scap",
    "falco_psp_run_as_user_0_container.scap",
    "falco_psp_run_as_user_65534_container.scap",
    "falco_psp_write_tmp_test.scap",
];

/// Every container field sysdig 0.29.3 has, with arguments by position and by
/// glob, and the Kubernetes fields (no values without the API server or CRI
/// labels), in a `*` format so that missing values print as `<NA>`.
const ALL_FIELDS: &str = "*%evt.num %evt.type %thread.tid|%container.id|%container.name|\
%container.image|%container.image.id|%container.type|%container.privileged|%container.mounts|\
%container.mount[0]|%container.mount[/var/*]|%container.mount.source[0]|%container.mount.dest[/x]|\
%container.mount.mode[0]|%container.mount.rdwr[0]|%container.mount.propagation[0]|\
%container.image.repository|%container.image.tag|%container.image.digest|%container.healthcheck|\
%container.liveness_probe|%container.readiness_probe|%proc.is_container_healthcheck|\
%proc.is_container_liveness_probe|%proc.is_container_readiness_probe|%k8s.pod.name|%k8s.pod.id|\
%k8s.pod.label.app|%k8s.pod.labels|%k8s.ns.name|%k8s.rc.name|%k8s.svc.name|%k8s.rs.name|\
%k8s.deployment.name|%k8s.ns.labels";

/// Option sets run on every container capture; filters are the last argument.
const CASES: &[&[&str]] = &[
    &["-p", ALL_FIELDS],
    // Without `*`, a line with a field lacking a value is not printed.
    &[
        "-p",
        "%evt.num %container.name %container.image %container.privileged",
    ],
    &["-p", "%evt.num %container.mount[0]"],
    &["-pc"],
    &["-pk"],
    &["-pc", "container.name=epic_cray"],
    &[
        "-pc",
        "container.name=hopeful_taussig and evt.type in (execve, open)",
    ],
    &["-pc", "container.privileged=true"],
    &["-pc", "container.privileged=false"],
    &["-pc", "not container.privileged=true"],
    &["-pc", "container.id!=host"],
    &[
        "-pc",
        "container.type=docker and container.image.repository=nginx",
    ],
    &["-pc", "container.image contains nginx"],
    &["-pc", "container.healthcheck=NONE"],
    &["-pc", "k8s.ns.name exists or k8s.pod.name exists"],
    &["-d", "-pk", "container.id=697956520d89"],
];

#[test]
fn container_fields_match_sysdig() {
    if !sysdig_available() {
        return;
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for name in CAPTURES {
        let Some(path) = shared(&format!("captures/{name}")) else {
            return;
        };
        let file = path.to_str().expect("utf-8 path");
        for args in CASES {
            let want = Command::new("sysdig")
                .env("TZ", "UTC")
                .arg("-r")
                .arg(file)
                .args(*args)
                .output()
                .expect("run sysdig");
            let got = osprey(file, args);
            assert!(
                got.status.success(),
                "{name} {args:?}: {}",
                String::from_utf8_lossy(&got.stderr)
            );
            if let Some(m) = Mismatch::check(name, args, &want.stdout, &got.stdout) {
                failures.push(m.to_string());
            }
            compared += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(compared, CAPTURES.len() * CASES.len());
}

/// The values themselves, so that the comparison above cannot pass on two
/// empty outputs.
#[test]
fn container_metadata_of_the_captures() {
    let Some(path) = shared("captures/falco_psp_privileged.scap") else {
        return;
    };
    let out = osprey(
        path.to_str().expect("utf-8 path"),
        &[
            "-p",
            "%container.id %container.name %container.image %container.type %container.privileged %container.healthcheck %thread.tid",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "9dbcbd0c435f epic_cray nginx:latest docker true NONE -1\n"
    );
    let Some(path) = shared("captures/falco_psp_write_tmp_test.scap") else {
        return;
    };
    let out = osprey(
        path.to_str().expect("utf-8 path"),
        &[
            "-p",
            "%evt.num %container.id %container.name %container.image.repository %container.image.tag %container.privileged",
            "container.name=hopeful_taussig",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "115 697956520d89 hopeful_taussig nginx latest false\n\
         116 697956520d89 hopeful_taussig nginx latest false\n"
    );
}
