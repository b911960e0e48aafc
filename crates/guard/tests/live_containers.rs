//! `osprey-guard` live with the default ruleset, against real Docker
//! containers: every container rule that this machine lets a container
//! trigger fires for real, with the container's id, name and image in its
//! output, and so does the example custom rule of `rules/examples`
//! (nothing but nginx in an nginx container).
//!
//! Rules that need a privileged container (*Privileged container started*,
//! *debugfs run in a privileged container*) fire live in a privileged Docker
//! container or, where `docker run --privileged` does not work (this machine
//! kind lacks CAP_SYS_RESOURCE, which dockerd's privileged set needs), in a
//! privileged podman container (`scripts/podman-up`), which osprey resolves
//! through podman's API. *Privileged container started* is also checked by
//! replaying `falco_psp_privileged.scap`.
//!
//! Needs root, kernel BTF and Docker (`scripts/docker-up`). Under `CI=true`
//! a missing part fails the test; elsewhere it is skipped loudly.

mod common;

use common::{capture, live_ready, run, Cleanup, Guard};
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long the driver may take to attach.
const ATTACH: Duration = Duration::from_secs(90);
/// How long one alert may take to show up once triggered.
const ALERT: Duration = Duration::from_secs(20);
/// The test image: busybox, named like nginx.
const IMAGE: &str = "osprey-test/nginx:1.0";

fn rules_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules"))
}

/// Docker is up with the test images; loud skip (or failure under CI) if not.
fn docker_ready() -> bool {
    let up = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/docker-up");
    let why = match Command::new(up).status() {
        Ok(s) if s.success() => return true,
        Ok(s) => format!("scripts/docker-up failed ({s})"),
        Err(e) => format!("cannot run scripts/docker-up: {e}"),
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "live container rules: {why}"
    );
    eprintln!("\n*** SKIPPED: live container rules: {why} ***\n");
    false
}

/// A container, removed when dropped (also when an assertion fails).
struct Container {
    /// `docker` or `podman`.
    engine: &'static str,
    name: String,
    id: String,
}

impl Container {
    /// `docker run -d` with `opts`, the test image and `cmd`; `None` when
    /// docker refuses (the reason is printed).
    fn run(name: &str, opts: &[&str], cmd: &[&str]) -> Option<Container> {
        Container::run_on("docker", name, opts, cmd)
    }

    /// `ENGINE run -d` (docker or podman) with `opts`, the test image and
    /// `cmd`; `None` when the engine refuses (the reason is printed).
    fn run_on(engine: &'static str, name: &str, opts: &[&str], cmd: &[&str]) -> Option<Container> {
        quiet(engine, &["rm", "-f", name]);
        let out = Command::new(engine)
            .args(["run", "-d", "--name", name])
            .args(opts)
            .arg(IMAGE)
            .args(cmd)
            .output()
            .unwrap_or_else(|e| panic!("{engine} run: {e}"));
        if !out.status.success() {
            eprintln!(
                "{engine} run {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            quiet(engine, &["rm", "-f", name]);
            return None;
        }
        Some(Container {
            engine,
            name: name.to_owned(),
            id: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        })
    }

    fn short(&self) -> &str {
        &self.id[..12]
    }

    /// `docker exec` of `cmd` in the container; the outcome does not matter
    /// (several triggers fail on purpose once their syscall is made).
    fn exec(&self, cmd: &[&str]) {
        let mut args = vec!["exec", self.name.as_str()];
        args.extend_from_slice(cmd);
        quiet(self.engine, &args);
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        quiet(self.engine, &["rm", "-f", &self.name]);
    }
}

/// Runs `engine` (docker or podman), quietly.
fn quiet(engine: &str, args: &[&str]) {
    let _ = Command::new(engine)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The address containers reach the host at (the bridge gateway).
fn gateway(c: &Container) -> String {
    let out = Command::new("docker")
        .args(["inspect", "-f", "{{.NetworkSettings.Gateway}}", &c.name])
        .output()
        .expect("docker inspect");
    let gw = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(!gw.is_empty(), "container {} has no gateway", c.name);
    gw
}

/// A TCP listener on every address, on `port` (0: any), that accepts and
/// drains connections.
fn tcp_sink(port: u16) -> u16 {
    let listener = TcpListener::bind(("0.0.0.0", port))
        .unwrap_or_else(|e| panic!("cannot listen on port {port}: {e}"));
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0; 256];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

/// One rule and how to fire it in the test container.
struct Case {
    rule: &'static str,
    /// Text the alert's output must contain besides the container's id.
    needle: &'static str,
    trigger: Box<dyn Fn(&Container)>,
}

/// Lines added to /etc/hosts for the test, removed when dropped.
struct HostsEntry(String);

impl HostsEntry {
    fn add(line: &str) -> HostsEntry {
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let mut text = hosts.clone();
        if !text.ends_with('\n') && !text.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
        text.push('\n');
        std::fs::write("/etc/hosts", text).expect("write /etc/hosts");
        HostsEntry(line.to_owned())
    }
}

impl Drop for HostsEntry {
    fn drop(&mut self) {
        if let Ok(hosts) = std::fs::read_to_string("/etc/hosts") {
            let kept: String = hosts
                .lines()
                .filter(|l| *l != self.0)
                .map(|l| format!("{l}\n"))
                .collect();
            let _ = std::fs::write("/etc/hosts", kept);
        }
    }
}

#[test]
#[allow(clippy::too_many_lines)]
fn container_rules_fire_live() {
    if !live_ready() || !docker_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let tag = std::process::id();
    // A file named like a cgroup release agent, bind-mounted into the
    // container: writing it is what the release_agent escape does.
    let agent_dir = d.join("agent");
    std::fs::create_dir(&agent_dir).unwrap();
    std::fs::write(agent_dir.join("release_agent"), "").unwrap();
    let port = tcp_sink(0);
    // The Kubernetes API's port, where the API name below leads.
    tcp_sink(443);
    // The Kubernetes API name resolves to the bridge gateway for the test.
    let probe = Container::run(&format!("osprey-gw-{tag}"), &[], &["sleep", "30"])
        .expect("docker run of the test image");
    let gw = gateway(&probe);
    drop(probe);
    let _hosts = HostsEntry::add(&format!(
        "{gw} kubernetes.default.svc.cluster.local # osprey-guard test {tag}"
    ));

    // The example rule, with our test image counted as an nginx image.
    let extra = d.join("nginx_test_image.yaml");
    std::fs::write(
        &extra,
        "- list: nginx_image_repositories\n  items: [osprey-test/nginx]\n  override:\n    items: append\n",
    )
    .unwrap();
    let rules = rules_dir();
    let defaults = rules.join("osprey_rules.yaml");
    let example = rules.join("examples/nginx_only.yaml");
    let mut guard = Guard::start(
        &[
            "-r",
            defaults.to_str().unwrap(),
            "-r",
            example.to_str().unwrap(),
            "-r",
            extra.to_str().unwrap(),
            "-U",
            "-o",
            "json_output=true",
            "-o",
            "syslog_output.enabled=false",
        ],
        d.join("stderr.txt"),
    );
    // Wait for the driver: a host rule's alert shows it is attached.
    guard.wait_attached(&d, ATTACH);

    let web = Container::run(
        &format!("osprey-web1-{tag}"),
        &[
            "-v",
            &format!("{}:/agent", agent_dir.display()),
            "--add-host",
            &format!("kubernetes.default.svc.cluster.local:{gw}"),
        ],
        &["sleep", "600"],
    )
    .expect("docker run of the test container");
    let gw2 = gw.clone();
    let cases: Vec<Case> = vec![
        Case {
            rule: "Interactive shell attached to a container",
            needle: "proc=sh",
            // `docker exec -it` needs a terminal: script(1) gives it one.
            trigger: Box::new(|c: &Container| {
                run(
                    "script",
                    &[
                        "-qec",
                        &format!("docker exec -it {} /bin/sh -c 'exit 0'", c.name),
                        "/dev/null",
                    ],
                );
            }),
        },
        Case {
            rule: "Shell started by a non-shell program in a container",
            needle: "parent=xargs",
            // xargs forks and runs the shell (busybox's timeout would not:
            // it runs the command in its own process).
            trigger: Box::new(|c: &Container| {
                c.exec(&["/bin/sh", "-c", "echo | /bin/xargs /bin/sh -c 'exit 0'"]);
            }),
        },
        Case {
            rule: "Privilege switch tool used in a container",
            needle: "proc=sudo",
            trigger: Box::new(|c: &Container| {
                c.exec(&[
                    "/bin/sh",
                    "-c",
                    "ln -sf /bin/busybox /tmp/sudo; /tmp/sudo -h",
                ]);
            }),
        },
        Case {
            rule: "Package manager run in a container",
            needle: "proc=apt-get",
            trigger: Box::new(|c: &Container| {
                c.exec(&[
                    "/bin/sh",
                    "-c",
                    "ln -sf /bin/busybox /tmp/apt-get; /tmp/apt-get install curl",
                ]);
            }),
        },
        Case {
            rule: "New executable run from a container's writable layer",
            needle: "bbcopy",
            trigger: Box::new(|c: &Container| {
                c.exec(&[
                    "/bin/sh",
                    "-c",
                    "cp /bin/busybox /tmp/bbcopy; /tmp/bbcopy true",
                ]);
            }),
        },
        Case {
            rule: "Kernel module loaded from a container",
            needle: "insmod",
            // Refused (no CAP_SYS_MODULE), but the attempt is the signal.
            trigger: Box::new(|c: &Container| {
                c.exec(&[
                    "/bin/sh",
                    "-c",
                    "echo osprey > /tmp/osprey.ko; /bin/insmod /tmp/osprey.ko",
                ]);
            }),
        },
        Case {
            rule: "cgroup release_agent written from a container",
            needle: "release_agent",
            trigger: Box::new(|c: &Container| {
                c.exec(&["/bin/sh", "-c", "echo /x > /agent/release_agent"]);
            }),
        },
        Case {
            rule: "Raw packet socket opened in a container",
            needle: "proc=arping",
            trigger: Box::new(move |c: &Container| {
                c.exec(&["/bin/arping", "-c", "1", "-w", "1", "-I", "eth0", &gw2]);
            }),
        },
        Case {
            rule: "Container connected to an unexpected port",
            needle: "proc=nc",
            trigger: Box::new({
                let gw = gw.clone();
                move |c: &Container| {
                    c.exec(&[
                        "/bin/sh",
                        "-c",
                        &format!("echo hi | /bin/nc -w 1 {gw} {port}"),
                    ]);
                }
            }),
        },
        Case {
            rule: "Container contacted the Kubernetes API server",
            needle: "proc=nc",
            trigger: Box::new(|c: &Container| {
                c.exec(&[
                    "/bin/sh",
                    "-c",
                    "/bin/nc -w 1 kubernetes.default.svc.cluster.local 443 </dev/null",
                ]);
            }),
        },
        Case {
            rule: "Unexpected process in an nginx container",
            needle: "proc=cat",
            trigger: Box::new(|c: &Container| {
                c.exec(&["/bin/cat", "/etc/hostname"]);
            }),
        },
    ];
    let _cleanup = Cleanup(vec![agent_dir.join("release_agent")]);
    // The container's metadata reaches the engine in the background, a moment
    // after its first process: until then alerts name the container by id
    // only. Each rule must fire with the full metadata.
    let complete = |a: &common::Alert, case: &Case| {
        a.rule == case.rule
            && a.output.contains(web.short())
            && a.output.contains(case.needle)
            && a.output.contains(&web.name)
            && a.output.contains("osprey-test/nginx")
    };
    let mut missing = Vec::new();
    for case in &cases {
        let mut fired = false;
        for _ in 0..3 {
            (case.trigger)(&web);
            if guard.saw_alert(|a| complete(a, case), ALERT) {
                fired = true;
                break;
            }
        }
        if !fired {
            missing.push(case.rule);
        }
    }
    assert!(
        missing.is_empty(),
        "rules that did not fire: {missing:?}\nalerts seen:\n{}\nstderr:\n{}",
        guard
            .seen
            .iter()
            .map(|a| format!("  {}: {}", a.rule, a.output))
            .collect::<Vec<_>>()
            .join("\n"),
        guard.stderr_text()
    );

    // The privileged rules, live: in Docker, or in podman where dockerd
    // cannot start a privileged container.
    let name = format!("osprey-priv-{tag}");
    let privileged = Container::run(&name, &["--privileged"], &["sleep", "60"]).or_else(|| {
        let up = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/podman-up");
        let ok = Command::new(up).status().is_ok_and(|s| s.success());
        assert!(
            ok,
            "docker refused --privileged and scripts/podman-up failed"
        );
        // podman's defaults exceed this machine kind's limits.
        let opts = [
            "--privileged",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ];
        Container::run_on("podman", &name, &opts, &["sleep", "60"])
    });
    match privileged {
        Some(p) => {
            assert!(
                guard.saw("Privileged container started", p.short(), ALERT),
                "no privileged-container alert for {}",
                p.name
            );
            let debugfs = "ln -sf /bin/busybox /tmp/debugfs; /tmp/debugfs -h";
            p.exec(&["/bin/sh", "-c", debugfs]);
            assert!(
                guard.saw("debugfs run in a privileged container", p.short(), ALERT),
                "no debugfs alert for {}",
                p.name
            );
        }
        None => panic!("neither docker nor podman could start a privileged container"),
    }
}

/// *Privileged container started* on Falco's capture of a privileged nginx
/// container: the container record carries `privileged: true`.
#[test]
fn privileged_container_rule_fires_on_replay() {
    let Some(cap) = capture("falco_psp_privileged.scap") else {
        return;
    };
    let defaults = rules_dir().join("osprey_rules.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_osprey-guard"))
        .args([
            "-r",
            defaults.to_str().unwrap(),
            "-e",
            cap.to_str().unwrap(),
        ])
        .args([
            "-o",
            "json_output=true",
            "-o",
            "syslog_output.enabled=false",
        ])
        .output()
        .expect("run osprey-guard");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON alert"))
        .collect();
    let privileged: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| a["rule"] == "Privileged container started")
        .collect();
    assert_eq!(privileged.len(), 1, "alerts: {alerts:?}");
    let f = &privileged[0]["output_fields"];
    assert_eq!(f["container.id"], "9dbcbd0c435f");
    assert_eq!(f["container.name"], "epic_cray");
    assert_eq!(f["container.image.repository"], "nginx");
    assert_eq!(f["container.image.tag"], "latest");
}
