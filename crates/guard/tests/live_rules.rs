//! `osprey-guard` live (modern eBPF driver, root) with the default ruleset
//! `rules/osprey_rules.yaml`: every rule that can fire on a host without
//! containers is triggered for real, as `rules/README.md` describes, and its
//! alert must appear under its exact rule name. Every trigger works in a
//! temporary directory or cleans up what it created in system directories.
//!
//! Not covered here: the container-only rules (they need a container
//! runtime).
//!
//! Needs root and kernel BTF: under `CI=true` their absence fails the test,
//! elsewhere it is skipped loudly.

mod common;

use common::{live_ready, run, Cleanup, Guard};
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long the driver may take to attach.
const ATTACH: Duration = Duration::from_secs(90);
/// How long one alert may take to show up once triggered.
const ALERT: Duration = Duration::from_secs(15);

/// The `ptrace` and `memfd_create` syscall numbers of this architecture.
fn syscalls() -> (u32, u32) {
    if cfg!(target_arch = "aarch64") {
        (117, 279)
    } else {
        (101, 319)
    }
}

/// A local TCP listener that accepts and holds connections (the far end of
/// the reverse-shell triggers).
fn tcp_sink() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
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

/// Rules that do not fire today because of a bug elsewhere, with the bug.
/// Their trigger still runs; a missing alert is reported loudly, and an
/// alert that does show up fails the test so that the entry is removed.
const KNOWN_BUGS: &[(&str, &str)] = &[];

/// One rule and how to fire it.
struct Case {
    rule: &'static str,
    /// Text the alert's output must contain (to tell our trigger apart).
    needle: String,
    trigger: Box<dyn Fn()>,
}

#[test]
#[allow(clippy::too_many_lines)]
fn host_rules_fire_live() {
    if !live_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let tag = format!("osprey-live-{}", std::process::id());
    let _cleanup = Cleanup(vec![
        PathBuf::from(format!("/usr/bin/{tag}")),
        PathBuf::from(format!("/{tag}")),
        PathBuf::from(format!("/var/log/{tag}.log")),
        PathBuf::from(format!("/etc/{tag}-hardlink")),
        PathBuf::from(format!("/etc/{tag}-perm")),
        PathBuf::from(format!("/dev/shm/{tag}")),
        PathBuf::from(format!("/dev/shm/{tag}.sh")),
    ]);
    // Copies of real programs under the names the rules look for.
    let dash = d.join("dash-copies");
    std::fs::create_dir(&dash).unwrap();
    let copy = |from: &str, name: &str| -> PathBuf {
        let to = dash.join(name);
        std::fs::copy(from, &to).unwrap();
        to
    };
    let nginx = copy("/bin/sh", "nginx");
    let sshd = copy("/bin/sh", "sshd");
    let nc = copy("/bin/true", "nc");
    let ssh = copy("/usr/bin/perl", "ssh");
    let (ptrace_nr, memfd_nr) = syscalls();
    let port = tcp_sink();

    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/osprey_rules.yaml");
    let mut guard = Guard::start(
        &[
            "-r",
            rules,
            "-U",
            "-o",
            "json_output=true",
            "-o",
            "syslog_output.enabled=false",
        ],
        d.join("stderr.txt"),
    );

    // Wait for the driver: the first search alert shows it is attached.
    guard.wait_attached(&d, ATTACH);
    let search_dir = d.to_str().unwrap().to_owned();

    // The long-running server needs 6 s of age: start it once attached, check it last.
    let mut server = Command::new(&nginx)
        .args(["-c", "sleep 6; read x < /etc/shadow; true"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();

    let t = tag.clone();
    let dd = d.clone();
    let cases: Vec<Case> = vec![
        Case {
            rule: "Binary directory modified",
            needle: format!("/usr/bin/{tag}"),
            trigger: Box::new(move || {
                run("touch", &[&format!("/usr/bin/{t}")]);
                let _ = std::fs::remove_file(format!("/usr/bin/{t}"));
            }),
        },
        Case {
            rule: "Root directory or root home written",
            needle: format!("/{tag}"),
            trigger: {
                let t = tag.clone();
                Box::new(move || {
                    run("touch", &[&format!("/{t}")]);
                    let _ = std::fs::remove_file(format!("/{t}"));
                })
            },
        },
        Case {
            // The opener's parent is this test, not a shell.
            rule: "Credential path reached through dot-dot segments",
            needle: "/etc/shadow".into(),
            trigger: Box::new(|| run("cat", &["/etc/../etc/../etc/shadow"])),
        },
        Case {
            rule: "Credential file read by unexpected program",
            needle: "/etc/shadow".into(),
            trigger: Box::new(|| run("cat", &["/etc/shadow"])),
        },
        Case {
            // The shell opens with O_CREAT|O_TRUNC: the rule takes that as
            // clearing only for a well-known log name (here auth.log, in a
            // directory of its own under /var/log).
            rule: "Log file truncated",
            needle: format!("cmdline=sh -c : > /var/log/{tag}/auth.log"),
            trigger: {
                let t = tag.clone();
                Box::new(move || {
                    let dir = format!("/var/log/{t}");
                    std::fs::create_dir_all(&dir).unwrap();
                    let log = format!("{dir}/auth.log");
                    // Created without O_TRUNC: only the shell truncates it.
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&log)
                        .unwrap();
                    std::io::Write::write_all(&mut f, b"old log line\n").unwrap();
                    drop(f);
                    run("sh", &["-c", &format!(": > {log}")]);
                    let _ = std::fs::remove_dir_all(&dir);
                })
            },
        },
        Case {
            rule: "Symlink to a credential location",
            needle: tag.clone(),
            trigger: {
                let link = d.join(format!("{tag}-link"));
                Box::new(move || {
                    let _ = std::fs::remove_file(&link);
                    std::os::unix::fs::symlink("/etc/shadow", &link).unwrap();
                })
            },
        },
        Case {
            rule: "Hardlink to a credential file",
            needle: tag.clone(),
            trigger: {
                let t = tag.clone();
                Box::new(move || {
                    let link = format!("/etc/{t}-hardlink");
                    std::fs::hard_link("/etc/shadow", &link).unwrap();
                    std::fs::remove_file(&link).unwrap();
                })
            },
        },
        Case {
            rule: "Permissions or owner changed under system directories",
            needle: tag.clone(),
            trigger: {
                let t = tag.clone();
                Box::new(move || {
                    let f = format!("/etc/{t}-perm");
                    std::fs::write(&f, "").unwrap();
                    run("chmod", &["600", &f]);
                    let _ = std::fs::remove_file(&f);
                })
            },
        },
        Case {
            rule: "Setuid or setgid bit set",
            needle: tag.clone(),
            trigger: {
                let f = d.join(format!("{tag}-suid"));
                Box::new(move || {
                    std::fs::copy("/bin/true", &f).unwrap();
                    run("chmod", &["u+s", f.to_str().unwrap()]);
                })
            },
        },
        Case {
            // `; true` keeps the fake server from exec'ing the shell in place.
            rule: "Shell started by a server process",
            needle: "nginx".into(),
            trigger: {
                let nginx = nginx.clone();
                Box::new(move || run(&nginx, &["-c", "sh -c true; true"]))
            },
        },
        Case {
            // A program started as `daemon` below a process named sshd.
            rule: "Service account in an interactive session",
            needle: "sshd".into(),
            trigger: Box::new(move || {
                run(
                    &sshd,
                    &[
                        "-c",
                        "setpriv --reuid=daemon --regid=daemon --clear-groups /bin/true; true",
                    ],
                );
            }),
        },
        Case {
            // Only the program start matters: this `nc` is a copy of true.
            rule: "Netcat or socat executing a command",
            needle: "-e /bin/true".into(),
            trigger: Box::new(move || {
                run(&nc, &["-e", "/bin/true", "127.0.0.1", "9"]);
            }),
        },
        Case {
            rule: "Search for cloud credentials",
            needle: ".aws/credentials".into(),
            trigger: {
                let s = search_dir.clone();
                Box::new(move || run("find", &[&s, "-path", "*.aws/credentials"]))
            },
        },
        Case {
            rule: "Disk wiping tool run",
            needle: tag.clone(),
            trigger: {
                let f = dd.join(format!("{tag}-shred"));
                Box::new(move || {
                    std::fs::write(&f, "secret").unwrap();
                    run("shred", &["-u", f.to_str().unwrap()]);
                })
            },
        },
        Case {
            // The process name: proc.exepath is not in the output (see
            // KNOWN_BUGS).
            rule: "Program run from shared memory",
            needle: format!("proc={}", &tag[..tag.len().min(15)]),
            trigger: {
                let t = tag.clone();
                Box::new(move || {
                    let exe = format!("/dev/shm/{t}");
                    std::fs::copy("/bin/true", &exe).unwrap();
                    // /dev/shm may be noexec: a script run by sh works there.
                    if Command::new(&exe).status().is_err() {
                        let script = format!("{exe}.sh");
                        std::fs::write(&script, "true\n").unwrap();
                        run("sh", &[&script]);
                        let _ = std::fs::remove_file(&script);
                    }
                    let _ = std::fs::remove_file(&exe);
                })
            },
        },
        Case {
            rule: "Program run from an anonymous memory file",
            needle: String::new(),
            trigger: Box::new(move || {
                let script = format!(
                    "my $name = 'osprey'; my $fd = syscall({memfd_nr}, $name, 0); \
                     $fd >= 0 or die qq(memfd: $!); \
                     open(my $in, '<:raw', '/bin/true') or die; local $/; my $bin = <$in>; \
                     open(my $out, '>>&=', $fd) or die; \
                     syswrite($out, $bin) == length($bin) or die; \
                     exec {{ qq(/proc/self/fd/$fd) }} 'osprey-memfd' or die qq(exec: $!);"
                );
                run("perl", &["-e", &script]);
            }),
        },
        Case {
            rule: "Process traced with ptrace",
            needle: String::new(),
            trigger: Box::new(move || {
                let Ok(mut sleeper) = Command::new("sleep").arg("30").spawn() else {
                    return;
                };
                // PTRACE_SEIZE (0x4206) on the sleeper; perl's exit detaches.
                let script = format!(
                    "syscall({ptrace_nr}, 0x4206, {}, 0, 0) == 0 or die qq(seize: $!)",
                    sleeper.id()
                );
                run("perl", &["-e", &script]);
                let _ = sleeper.kill();
                let _ = sleeper.wait();
            }),
        },
        Case {
            rule: "Process asked to be traced by its parent",
            needle: String::new(),
            trigger: Box::new(move || {
                // PTRACE_TRACEME (0).
                let script = format!("syscall({ptrace_nr}, 0, 0, 0, 0) == 0 or die qq($!)");
                run("perl", &["-e", &script]);
            }),
        },
        Case {
            rule: "Standard stream redirected to a network socket",
            needle: String::new(),
            trigger: Box::new(move || {
                let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port}; exec 0<&3; true");
                run("bash", &["-c", &script]);
            }),
        },
        Case {
            rule: "Shell started with a network socket as stdin or stdout",
            needle: String::new(),
            trigger: Box::new(move || {
                let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port}; sh -c true <&3");
                run("bash", &["-c", &script]);
            }),
        },
        Case {
            // A process named ssh connects to a public address on port 2222.
            // The address (TEST-NET-3) lives on the loopback of a network
            // namespace made for the test, so nothing leaves the machine.
            rule: "SSH client connected to an unusual port",
            needle: "203.0.113.7:2222".into(),
            trigger: Box::new(move || {
                let script = format!(
                    "ip link set lo up && ip addr add 203.0.113.7/32 dev lo && {} \
                     -MIO::Socket::INET -e 'my $l = IO::Socket::INET->new(LocalAddr => \
                     q(203.0.113.7), LocalPort => 2222, Listen => 1, ReuseAddr => 1) \
                     or die; IO::Socket::INET->new(PeerAddr => q(203.0.113.7), \
                     PeerPort => 2222) or die'",
                    ssh.display()
                );
                run("unshare", &["-n", "sh", "-c", &script]);
            }),
        },
    ];

    let mut missing = Vec::new();
    let mut fixed = Vec::new();
    for case in &cases {
        // One retry: an alert lost to a busy ring buffer is not what this
        // test is about.
        let fired = (0..2).any(|_| {
            (case.trigger)();
            guard.saw(case.rule, &case.needle, ALERT)
        });
        let known = KNOWN_BUGS.iter().find(|(r, _)| *r == case.rule);
        match (fired, known) {
            (false, Some((rule, bug))) => eprintln!("KNOWN BUG: {rule} did not fire: {bug}"),
            (true, Some((rule, _))) => fixed.push(*rule),
            (false, None) => missing.push(case.rule),
            (true, None) => {}
        }
    }
    let _ = server.wait();
    if !guard.saw(
        "Long-running server read a credential file",
        "/etc/shadow",
        ALERT,
    ) {
        missing.push("Long-running server read a credential file");
    }
    // A rule the loader dropped for a field osprey does not extract yet
    // (`skip-if-unknown-filter`) cannot fire: said loudly, not failed.
    let stderr = guard.stderr_text();
    missing.retain(|rule| {
        let dropped = stderr
            .lines()
            .any(|l| l.contains("LOAD_UNKNOWN_FILTER") && l.contains(&format!("rule '{rule}'")));
        if dropped {
            eprintln!("NOT COVERED: {rule}: dropped by the loader (unknown field)");
        }
        !dropped
    });
    assert!(
        fixed.is_empty(),
        "these rules fire now: remove them from KNOWN_BUGS: {fixed:?}"
    );
    // Our own alerts (other activity on the host is left out).
    let seen: Vec<String> = guard
        .seen
        .iter()
        .filter(|a| a.output.contains(&tag) || a.output.contains(&search_dir))
        .map(|a| format!("{}: {}", a.rule, a.output))
        .collect();
    assert!(
        missing.is_empty(),
        "rules that did not fire:\n  {}\nalerts seen:\n  {}\nstderr:\n{}",
        missing.join("\n  "),
        seen.join("\n  "),
        stderr
    );
}
