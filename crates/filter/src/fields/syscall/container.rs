//! Extraction of the `container.*` and `k8s.*` fields and of the container
//! health-probe flags of `proc.*`, from the container the event's thread runs
//! in ([`State::container`](osprey_state::State::container)).
//!
//! As in sysdig 0.29.3: on the host `container.id`, `container.name` and
//! `container.type` are `host` and the other fields have no value; inside a
//! container whose metadata has not arrived, only `container.id` answers.

use super::EventCtx;
use crate::eval::glob_match;
use crate::field::{FieldArg, FieldRef, Value, Values};
use crate::fields::catalog::FieldId;
use osprey_event::container::{ContainerInfo, Mount, Pod};
use osprey_state::Thread;

/// Which health probe a field asks about.
#[derive(Clone, Copy)]
enum Probe {
    Healthcheck,
    Liveness,
    Readiness,
}

impl Probe {
    fn of(self, c: &ContainerInfo) -> Option<&str> {
        match self {
            Probe::Healthcheck => c.healthcheck.as_deref(),
            Probe::Liveness => c.liveness_probe.as_deref(),
            Probe::Readiness => c.readiness_probe.as_deref(),
        }
    }
}

/// Whether `t`'s command line (`argv[0]` then its arguments, joined by
/// spaces) is `cmd`, compared without building it.
fn runs(t: &Thread, cmd: &str) -> bool {
    let Some(mut rest) = cmd.as_bytes().strip_prefix(&t.exe[..]) else {
        return false;
    };
    for a in t.args() {
        let Some(r) = rest.strip_prefix(b" ").and_then(|r| r.strip_prefix(a)) else {
            return false;
        };
        rest = r;
    }
    rest.is_empty()
}

/// The mount a `container.mount*` argument picks: by position, or the first
/// whose source (destination for `container.mount.source`) matches the glob.
fn pick_mount<'c>(c: &'c ContainerInfo, arg: &FieldArg, by_dest: bool) -> Option<&'c Mount> {
    match arg {
        FieldArg::Index(i) => c.mounts.get(usize::try_from(*i).ok()?),
        FieldArg::Name(pat) => c.mounts.iter().find(|m| {
            let path = if by_dest { &m.dest } else { &m.source };
            glob_match(pat.as_bytes(), path.as_bytes(), false)
        }),
        FieldArg::None => None,
    }
}

/// Appends `key:value` pairs separated by `, ` (an empty value drops its
/// colon), leaving out annotations and the runtime's `io.kubernetes.*` labels.
fn push_labels(out: &mut Values, labels: &[(String, String)]) -> Option<()> {
    let mut shown = labels
        .iter()
        .filter(|(k, _)| !k.starts_with("annotation.") && !k.starts_with("io.kubernetes."))
        .peekable();
    shown.peek()?;
    let s = out.begin_bytes();
    let b = out.bytes_mut();
    for (i, (k, v)) in shown.enumerate() {
        if i > 0 {
            b.extend_from_slice(b", ");
        }
        b.extend_from_slice(k.as_bytes());
        if !v.is_empty() {
            b.push(b':');
            b.extend_from_slice(v.as_bytes());
        }
    }
    out.end_bytes(s);
    Some(())
}

/// Pushes a string field, which has no value when empty.
fn push_nonempty(out: &mut Values, s: &str) -> Option<()> {
    if s.is_empty() {
        return None;
    }
    out.push_bytes(s.as_bytes());
    Some(())
}

impl<'a> EventCtx<'a> {
    /// The container of the event's thread: `Some(None)` on the host,
    /// `Some(Some(..))` inside a container (the metadata when known).
    fn container_of(&self) -> Option<(&'a Thread, Option<&'a ContainerInfo>)> {
        let t = self.thread()?;
        Some((t, self.state.container(t)))
    }

    /// The Kubernetes pod of the event's thread's container.
    fn pod(&self) -> Option<&'a Pod> {
        let (_, c) = self.container_of()?;
        c?.pod.as_ref()
    }

    /// Whether the event's process, or an ancestor of it in the same
    /// container, runs the container's `probe` command.
    fn is_probe(&self, probe: Probe) -> Option<bool> {
        let t = self.thread()?;
        let Some(id) = t.container_id() else {
            return Some(false);
        };
        let Some(cmd) = self.state.container(t).and_then(|c| probe.of(c)) else {
            return Some(false);
        };
        Some(
            self.state
                .ancestors(t)
                .take_while(|a| a.container_id() == Some(id))
                .any(|a| runs(a, cmd)),
        )
    }

    /// `container.*`, `k8s.*` and the `proc.is_container_*` flags.
    pub(super) fn extract_container(
        &self,
        id: FieldId,
        field: &FieldRef,
        out: &mut Values,
    ) -> Option<()> {
        use FieldId as F;
        match id {
            F::ProcIsContainerHealthcheck => {
                out.push(Value::Bool(self.is_probe(Probe::Healthcheck)?));
                return Some(());
            }
            F::ProcIsContainerLivenessProbe => {
                out.push(Value::Bool(self.is_probe(Probe::Liveness)?));
                return Some(());
            }
            F::ProcIsContainerReadinessProbe => {
                out.push(Value::Bool(self.is_probe(Probe::Readiness)?));
                return Some(());
            }
            F::K8sPodName => return push_nonempty(out, &self.pod()?.name),
            F::K8sPodId | F::K8sPodUid => return push_nonempty(out, &self.pod()?.uid),
            F::K8sNsName => return push_nonempty(out, &self.pod()?.namespace),
            F::K8sPodLabels => return push_labels(out, &self.pod()?.labels),
            F::K8sPodLabel => {
                let FieldArg::Name(key) = &field.arg else {
                    return None;
                };
                let (_, v) = self.pod()?.labels.iter().find(|(k, _)| **k == **key)?;
                out.push_bytes(v.as_bytes());
                return Some(());
            }
            _ => {}
        }
        let (t, info) = self.container_of()?;
        let Some(cid) = t.container_id() else {
            // The host.
            return match id {
                F::ContainerId | F::ContainerName | F::ContainerType | F::ContainerFullId => {
                    out.push_bytes(b"host");
                    Some(())
                }
                _ => None,
            };
        };
        if id == F::ContainerId {
            out.push_bytes(cid);
            return Some(());
        }
        if id == F::ContainerFullId {
            let full = t.full_container_id().filter(|f| f.len() > cid.len());
            let full = full.or_else(|| {
                info.map(|c| c.id.as_bytes())
                    .filter(|f| f.len() > cid.len())
            })?;
            out.push_bytes(full);
            return Some(());
        }
        let c = info?;
        match id {
            F::ContainerName => push_nonempty(out, &c.name)?,
            F::ContainerImage => push_nonempty(out, &c.image)?,
            F::ContainerImageId => push_nonempty(out, &c.image_id)?,
            F::ContainerImageRepository => push_nonempty(out, &c.image_repo)?,
            F::ContainerImageTag => push_nonempty(out, &c.image_tag)?,
            F::ContainerImageDigest => push_nonempty(out, &c.image_digest)?,
            F::ContainerType => out.push_bytes(c.runtime.name().as_bytes()),
            F::ContainerPrivileged if c.runtime.knows_privileged() => {
                out.push(Value::Bool(c.privileged));
            }
            F::ContainerHostPid => out.push(Value::Bool(c.host_pid)),
            F::ContainerHostNetwork => out.push(Value::Bool(c.host_network)),
            F::ContainerIp => {
                let s = out.begin_bytes();
                let b = out.bytes_mut();
                for (i, octet) in c.ip.iter().enumerate() {
                    if i > 0 {
                        b.push(b'.');
                    }
                    b.extend_from_slice(itoa::Buffer::new().format(*octet).as_bytes());
                }
                out.end_bytes(s);
            }
            F::ContainerMounts => {
                let s = out.begin_bytes();
                for (i, m) in c.mounts.iter().enumerate() {
                    if i > 0 {
                        out.bytes_mut().push(b',');
                    }
                    m.write_to(out.bytes_mut());
                }
                out.end_bytes(s);
            }
            F::ContainerMount => {
                let m = pick_mount(c, &field.arg, false)?;
                let s = out.begin_bytes();
                m.write_to(out.bytes_mut());
                out.end_bytes(s);
            }
            F::ContainerMountSource => {
                out.push_bytes(pick_mount(c, &field.arg, true)?.source.as_bytes());
            }
            F::ContainerMountDest => {
                out.push_bytes(pick_mount(c, &field.arg, false)?.dest.as_bytes());
            }
            F::ContainerMountMode => {
                out.push_bytes(pick_mount(c, &field.arg, false)?.mode.as_bytes());
            }
            F::ContainerMountRdwr => {
                let rw = pick_mount(c, &field.arg, false)?.rw;
                out.push_bytes(if rw { b"true" } else { b"false" });
            }
            F::ContainerMountPropagation => {
                out.push_bytes(pick_mount(c, &field.arg, false)?.propagation.as_bytes());
            }
            F::ContainerHealthcheck => {
                out.push_bytes(Probe::Healthcheck.of(c).unwrap_or("NONE").as_bytes());
            }
            F::ContainerLivenessProbe => {
                out.push_bytes(Probe::Liveness.of(c).unwrap_or("NONE").as_bytes());
            }
            F::ContainerReadinessProbe => {
                out.push_bytes(Probe::Readiness.of(c).unwrap_or("NONE").as_bytes());
            }
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Env;
    use super::*;
    use crate::field::{Extract, FieldCatalog};
    use crate::fields::catalog::SyscallCatalog;
    use osprey_event::container::Runtime;
    use osprey_event::snapshot::{ProcInfo, Snapshot};
    use osprey_event::{encode, EventRef};
    use osprey_state::State;

    const FULL: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// bash (100, host) and, in container 0123456789ab, sh (200) running the
    /// health check and its child curl (201); 300 is in a container without metadata.
    fn state(with_metadata: bool) -> State {
        let proc = |tid: u64, ptid: u64, exe: &str, args: &str, cg: String| ProcInfo {
            tid,
            pid: tid,
            ptid,
            comm: exe.as_bytes().to_vec(),
            exe: exe.as_bytes().to_vec(),
            args: args.as_bytes().to_vec(),
            cgroups: cg.into_bytes(),
            ..ProcInfo::default()
        };
        let cg = format!("cpu=/system.slice/docker-{FULL}.scope\0");
        let other = format!("cpu=/docker/{}\0", "f".repeat(64));
        let mut st = State::new();
        st.load(&Snapshot {
            procs: vec![
                proc(100, 1, "bash", "", "cpu=/user.slice\0".into()),
                proc(200, 100, "/bin/sh", "-c\0curl -f x || exit 1\0", cg.clone()),
                proc(201, 200, "curl", "-f\0x\0", cg),
                proc(300, 1, "nginx", "", other),
            ],
            ..Snapshot::default()
        });
        if with_metadata {
            st.add_container(ContainerInfo {
                id: FULL.into(),
                runtime: Runtime::Crio,
                name: "web1".into(),
                image: "nginx:1".into(),
                image_repo: "nginx".into(),
                image_tag: "1".into(),
                privileged: true,
                ip: [10, 1, 2, 3],
                host_pid: true,
                mounts: vec![
                    Mount {
                        source: "/var/lib/a".into(),
                        dest: "/a".into(),
                        mode: "z".into(),
                        rw: true,
                        propagation: "rprivate".into(),
                    },
                    Mount {
                        source: "/srv/b".into(),
                        dest: "/b".into(),
                        rw: false,
                        ..Mount::default()
                    },
                ],
                healthcheck: Some("/bin/sh -c curl -f x || exit 1".into()),
                pod: Some(Pod {
                    name: "web-7d9".into(),
                    uid: "u-42".into(),
                    namespace: "prod".into(),
                    labels: vec![
                        ("app".into(), "web".into()),
                        ("canary".into(), String::new()),
                        ("io.kubernetes.pod.name".into(), "web-7d9".into()),
                    ],
                }),
                ..ContainerInfo::default()
            });
        }
        st
    }

    /// The value of `field` on a close enter event of `tid`; `None` when it has none.
    fn get(st: &mut State, tid: u64, field: &str, arg: FieldArg) -> Option<String> {
        let mut buf = Vec::new();
        encode(&mut buf, 1_000, tid, 4, &[&3i64.to_le_bytes()]);
        let ev = EventRef::parse(&buf, 0, 0).expect("event");
        st.process(&ev);
        let env = Env::default();
        let ctx = EventCtx {
            ev: &ev,
            state: st,
            num: 1,
            env: &env,
        };
        let f = SyscallCatalog.resolve(field, arg).expect(field);
        let mut out = Values::new();
        if !ctx.extract(&f, &mut out) {
            return None;
        }
        assert_eq!(out.len(), 1, "{field}");
        Some(match out.items()[0] {
            Value::Bytes(s, e) => String::from_utf8_lossy(out.bytes(s, e)).into_owned(),
            Value::Bool(b) => b.to_string(),
            ref other => format!("{other:?}"),
        })
    }

    fn plain(st: &mut State, tid: u64, field: &str) -> Option<String> {
        get(st, tid, field, FieldArg::None)
    }

    #[test]
    fn host_threads() {
        let mut st = state(true);
        for f in [
            "container.id",
            "container.name",
            "container.type",
            "container.full_id",
        ] {
            assert_eq!(plain(&mut st, 100, f).as_deref(), Some("host"), "{f}");
        }
        for f in [
            "container.image",
            "container.privileged",
            "container.mounts",
            "container.healthcheck",
            "container.ip",
            "k8s.pod.name",
            "k8s.ns.name",
        ] {
            assert_eq!(plain(&mut st, 100, f), None, "{f}");
        }
        assert_eq!(
            plain(&mut st, 100, "proc.is_container_healthcheck").as_deref(),
            Some("false")
        );
    }

    #[test]
    fn container_metadata() {
        let mut st = state(true);
        let want = [
            ("container.id", "0123456789ab"),
            ("container.full_id", FULL),
            ("container.name", "web1"),
            ("container.image", "nginx:1"),
            ("container.image.repository", "nginx"),
            ("container.image.tag", "1"),
            ("container.type", "cri-o"),
            ("container.privileged", "true"),
            ("container.host_pid", "true"),
            ("container.host_network", "false"),
            ("container.ip", "10.1.2.3"),
            (
                "container.mounts",
                "/var/lib/a:/a:z:true:rprivate,/srv/b:/b::false:",
            ),
            ("container.healthcheck", "/bin/sh -c curl -f x || exit 1"),
            ("container.liveness_probe", "NONE"),
            ("k8s.pod.name", "web-7d9"),
            ("k8s.pod.id", "u-42"),
            ("k8s.pod.uid", "u-42"),
            ("k8s.ns.name", "prod"),
            ("k8s.pod.labels", "app:web, canary"),
            ("k8s.pod.label.app", "web"),
        ];
        for (f, v) in want {
            assert_eq!(plain(&mut st, 201, f).as_deref(), Some(v), "{f}");
        }
        for f in [
            "container.image.id",
            "container.image.digest",
            "k8s.rc.name",
            "k8s.pod.label.x",
        ] {
            assert_eq!(plain(&mut st, 201, f), None, "{f}");
        }
        let arg = |s: &str| FieldArg::Name(s.into());
        let g = |st: &mut State, f: &str, a| get(st, 201, f, a);
        assert_eq!(
            g(&mut st, "container.mount", FieldArg::Index(1)).as_deref(),
            Some("/srv/b:/b::false:")
        );
        assert_eq!(g(&mut st, "container.mount", FieldArg::Index(2)), None);
        assert_eq!(
            g(&mut st, "container.mount", arg("/var/*")).as_deref(),
            Some("/var/lib/a:/a:z:true:rprivate")
        );
        assert_eq!(g(&mut st, "container.mount", arg("/nope*")), None);
        assert_eq!(
            g(&mut st, "container.mount.source", arg("/b")).as_deref(),
            Some("/srv/b")
        );
        assert_eq!(
            g(&mut st, "container.mount.dest", arg("/srv/*")).as_deref(),
            Some("/b")
        );
        assert_eq!(
            g(&mut st, "container.mount.rdwr", FieldArg::Index(0)).as_deref(),
            Some("true")
        );
        assert_eq!(
            g(&mut st, "container.mount.mode", FieldArg::Index(0)).as_deref(),
            Some("z")
        );
        assert_eq!(
            g(&mut st, "container.mount.propagation", FieldArg::Index(0)).as_deref(),
            Some("rprivate")
        );
        assert_eq!(
            g(&mut st, "k8s.pod.label", arg("app")).as_deref(),
            Some("web")
        );
    }

    #[test]
    fn health_check_processes_and_their_children() {
        let mut st = state(true);
        let hc = "proc.is_container_healthcheck";
        assert_eq!(plain(&mut st, 200, hc).as_deref(), Some("true"));
        assert_eq!(
            plain(&mut st, 201, hc).as_deref(),
            Some("true"),
            "a child of the check"
        );
        assert_eq!(
            plain(&mut st, 201, "proc.is_container_liveness_probe").as_deref(),
            Some("false")
        );
        assert_eq!(plain(&mut st, 300, hc).as_deref(), Some("false"));
        let mut st = state(false);
        assert_eq!(plain(&mut st, 200, hc).as_deref(), Some("false"));
    }

    #[test]
    fn before_metadata_only_the_id_answers() {
        let mut st = state(false);
        assert_eq!(
            plain(&mut st, 201, "container.id").as_deref(),
            Some("0123456789ab")
        );
        assert_eq!(
            plain(&mut st, 201, "container.full_id").as_deref(),
            Some(FULL)
        );
        for f in [
            "container.name",
            "container.type",
            "container.image",
            "container.privileged",
            "k8s.pod.name",
        ] {
            assert_eq!(plain(&mut st, 201, f), None, "{f}");
        }
        // Live metadata arrives: the fields fill in.
        let mut st = state(true);
        assert_eq!(
            plain(&mut st, 300, "container.id").as_deref(),
            Some("ffffffffffff")
        );
        assert_eq!(plain(&mut st, 300, "container.name"), None);
        st.add_container(ContainerInfo {
            id: "ffffffffffff".into(),
            runtime: Runtime::Lxc,
            name: "late".into(),
            privileged: true,
            ..ContainerInfo::default()
        });
        assert_eq!(
            plain(&mut st, 300, "container.name").as_deref(),
            Some("late")
        );
        // Only runtimes that report it give a privileged flag.
        assert_eq!(plain(&mut st, 300, "container.privileged"), None);
    }
}
