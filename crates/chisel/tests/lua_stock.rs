//! Sysdig's stock Lua chisels under the Lua runtime, compared byte for byte
//! with sysdig 0.29.3 on the shared captures.

use osprey_chisel::{lua, EventCtx, Flow, Host};
use osprey_filter::fields::syscall::Env;
use osprey_state::{State, LEGACY_EVENT_MAX};
use std::path::{Path, PathBuf};
use std::process::Command;

const CHISELS: &str = "/usr/share/sysdig/chisels";

fn capture(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures"
    ))
    .join(name);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing fixture {}",
        p.display()
    );
    eprintln!("SKIPPED: fixture {} is missing", p.display());
    None
}

/// What sysdig prints, or `None` (loudly) when sysdig or the chisels are absent.
fn sysdig(cap: &Path, chisel: &Path, args: &[&str], pc: bool) -> Option<Vec<u8>> {
    if !chisel.exists() || !Path::new("/usr/bin/sysdig").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sysdig or its chisels are missing"
        );
        eprintln!("SKIPPED: sysdig or {} is missing", chisel.display());
        return None;
    }
    let mut cmd = Command::new("/usr/bin/sysdig");
    cmd.env("TZ", "UTC");
    if pc {
        cmd.arg("-pc");
    }
    cmd.arg("-r").arg(cap).arg("-c").arg(chisel);
    if !args.is_empty() {
        cmd.arg(args.join(" "));
    }
    let out = cmd.output().expect("run sysdig");
    Some(out.stdout)
}

/// The host loop, as `osprey -r CAP -c CHISEL` runs it.
fn osprey(cap: &Path, chisel: &Path, args: &[&str], pc: bool) -> Vec<u8> {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let opts = lua::Options {
        source: cap.display().to_string(),
        print_container: pc,
        ..lua::Options::default()
    };
    let mut ch = lua::load_with(chisel, &args, &opts).expect("load chisel");
    let mut reader = osprey_scap::Reader::open(cap).expect("open capture");
    let mut state = State::new();
    state.set_full(reader.snapshot().exit_only);
    state.load(reader.snapshot());
    let env = Env::default();
    let mut out = Vec::new();
    ch.on_capture_start(
        &Host {
            state: &state,
            live: false,
        },
        &mut out,
    )
    .expect("on_capture_start");
    let (mut num, mut first, mut last) = (0u64, 0u64, 0u64);
    let mut leading_meta = true;
    while let Some(ev) = reader.next_event().expect("read event") {
        if ev.etype() >= LEGACY_EVENT_MAX && !state.is_full() {
            state.process(&ev);
            continue;
        }
        num += 1;
        let ts = ev.ts();
        // The container records that open a capture carry the time it was
        // written; sysdig does not show them to chisels.
        leading_meta &= matches!(ev.etype(), 228 | 272 | 324);
        if leading_meta {
            state.process(&ev);
            continue;
        }
        if first == 0 {
            first = ts;
        }
        last = ts;
        env.first_ts.set(first);
        state.process(&ev);
        // Lua chisels keep their interval clock themselves (it runs on
        // every event) and report neither an interval nor a filter.
        assert!(ch.interval().is_none() && ch.filter().is_none());
        let ctx = EventCtx {
            ev: &ev,
            state: &state,
            num,
            env: &env,
        };
        let flow = ch.on_event(&ctx, &mut out).expect("on_event");
        env.prev_match_ts.set(ts);
        if flow == Flow::End {
            break;
        }
    }
    let host = Host {
        state: &state,
        live: false,
    };
    ch.on_capture_end(last, last - first, &host, &mut out)
        .expect("on_capture_end");
    out
}

/// The captures most stock chisels are compared on: web traffic, a mixed
/// sample, an outbound HTTPS client and a container.
const FOUR: [&str; 4] = [
    "inspect_502Error.scap",
    "libs_sample.scap",
    "libs_curl_google.scap",
    "falco_psp_run_as_user_0_container.scap",
];

/// [`FOUR`] without `inspect_502Error.scap`.
const THREE: [&str; 3] = [
    "libs_sample.scap",
    "libs_curl_google.scap",
    "falco_psp_run_as_user_0_container.scap",
];

/// Compares line for line.
fn check(cap: &str, chisel: &str, args: &[&str]) {
    compare(cap, chisel, args, false, false);
}

/// Compares line for line, with `-pc` (container columns).
fn check_pc(cap: &str, chisel: &str, args: &[&str]) {
    compare(cap, chisel, args, false, true);
}

/// Compares the sorted lines: for top tables, whose rows of equal value
/// sysdig prints in an order that changes from run to run (LuaJIT seeds its
/// string hash at random).
fn check_rows(cap: &str, chisel: &str, args: &[&str]) {
    compare(cap, chisel, args, true, false);
}

fn sorted_lines(b: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    lines.sort_unstable();
    lines.join(&b'\n')
}

fn compare(cap: &str, chisel: &str, args: &[&str], rows: bool, pc: bool) {
    let Some(cap) = capture(cap) else { return };
    let path = Path::new(CHISELS).join(format!("{chisel}.lua"));
    let Some(mut want) = sysdig(&cap, &path, args, pc) else {
        return;
    };
    let mut got = osprey(&cap, &path, args, pc);
    if rows {
        want = sorted_lines(&want);
        got = sorted_lines(&got);
    }
    if got != want {
        let (g, w) = (
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
        );
        let first = g.lines().zip(w.lines()).position(|(a, b)| a != b);
        panic!(
            "{chisel} {args:?} on {}: output differs (first differing line {first:?})\n--- osprey\n{}\n--- sysdig\n{}",
            cap.display(),
            g.chars().take(3000).collect::<String>(),
            w.chars().take(3000).collect::<String>()
        );
    }
}

#[test]
fn spy_file() {
    for cap in [
        "inspect_502Error.scap",
        "libs_curl_google.scap",
        "falco_psp_run_as_user_0_container.scap",
    ] {
        check(cap, "spy_file", &[]);
    }
}

#[test]
fn spy_users() {
    for cap in FOUR {
        check(cap, "spy_users", &[]);
    }
}

#[test]
fn echo_fds() {
    for cap in THREE {
        check(cap, "echo_fds", &[]);
    }
}

/// Only where the table is not cut at a tie (where sysdig's choice varies).
#[test]
fn fdbytes_by() {
    for cap in ["libs_sample.scap", "falco_psp_run_as_user_0_container.scap"] {
        check_rows(cap, "fdbytes_by", &["fd.name"]);
    }
}

/// Only where the table is not cut at a tie (where sysdig's choice varies).
#[test]
fn fdcount_by() {
    for cap in THREE {
        check_rows(cap, "fdcount_by", &["fd.name"]);
    }
}

/// Only where the table is not cut at a tie (where sysdig's choice varies).
#[test]
fn fdtime_by() {
    check_rows("libs_sample.scap", "fdtime_by", &["fd.name"]);
}

#[test]
fn list_login_shells() {
    for cap in FOUR {
        check(cap, "list_login_shells", &[]);
    }
}

#[test]
fn iobytes() {
    for cap in FOUR {
        check(cap, "iobytes", &[]);
    }
}

#[test]
fn iobytes_file() {
    for cap in FOUR {
        check(cap, "iobytes_file", &[]);
    }
}

#[test]
fn iobytes_net() {
    for cap in FOUR {
        check(cap, "iobytes_net", &[]);
    }
}

#[test]
fn netstat() {
    check("inspect_502Error.scap", "netstat", &[]);
    check("libs_sample.scap", "netstat", &[]);
    check("libs_curl_google.scap", "netstat", &[]);
    // Elsewhere the rows match but not always their order: `pairs` over the
    // thread table follows sysdig's hash-map order, which is only approximated.
    for cap in [
        "falco_connect_localhost.scap",
        "falco_psp_run_as_user_0_container.scap",
        "libs_test_ipv6_client.scap",
    ] {
        check_rows(cap, "netstat", &[]);
    }
}

#[test]
fn lsof() {
    check("inspect_502Error.scap", "lsof", &[]);
    check("libs_sample.scap", "lsof", &[]);
    check("libs_curl_google.scap", "lsof", &[]);
    check("falco_psp_run_as_user_0_container.scap", "lsof", &[]);
    check_rows("falco_open-multiple-files.scap", "lsof", &[]);
}

#[test]
fn ps() {
    for cap in FOUR {
        check(cap, "ps", &[]);
    }
}

#[test]
fn topprocs_net() {
    for cap in FOUR {
        check(cap, "topprocs_net", &[]);
    }
}

/// Only where the table is not cut at a tie (where sysdig's choice varies).
#[test]
fn topprocs_file() {
    for cap in THREE {
        check_rows(cap, "topprocs_file", &[]);
    }
}

/// Only where the table is not cut at a tie (where sysdig's choice varies).
#[test]
fn topprocs_errors() {
    for cap in FOUR {
        check_rows(cap, "topprocs_errors", &[]);
    }
}

/// Only where the table is not cut at a tie (where sysdig's choice varies).
#[test]
fn topfiles_bytes() {
    for cap in ["inspect_502Error.scap", "libs_sample.scap"] {
        check_rows(cap, "topfiles_bytes", &[]);
    }
}

#[test]
fn topfiles_time() {
    for cap in FOUR {
        check(cap, "topfiles_time", &[]);
    }
}

#[test]
fn topfiles_errors() {
    for cap in FOUR {
        check(cap, "topfiles_errors", &[]);
    }
}

/// Only where the table is not cut at a tie (where sysdig's choice varies).
#[test]
fn topconns() {
    for cap in THREE {
        check_rows(cap, "topconns", &[]);
    }
}

#[test]
fn topports_server() {
    for cap in FOUR {
        check(cap, "topports_server", &[]);
    }
}

#[test]
fn topscalls_time() {
    for cap in FOUR {
        check(cap, "topscalls_time", &[]);
    }
}

#[test]
fn topcontainers_file() {
    for cap in FOUR {
        check(cap, "topcontainers_file", &[]);
    }
}

#[test]
fn topcontainers_net() {
    for cap in FOUR {
        check(cap, "topcontainers_net", &[]);
    }
}

#[test]
fn topcontainers_error() {
    for cap in FOUR {
        check(cap, "topcontainers_error", &[]);
    }
}

#[test]
fn bottlenecks() {
    check("libs_curl_google.scap", "bottlenecks", &[]);
}

#[test]
fn proc_exec_time() {
    for cap in ["libs_sample.scap", "falco_psp_run_as_user_0_container.scap"] {
        check(cap, "proc_exec_time", &[]);
    }
}

#[test]
fn stderr() {
    for cap in [
        "inspect_502Error.scap",
        "falco_psp_run_as_user_0_container.scap",
    ] {
        check(cap, "stderr", &[]);
    }
}

#[test]
fn stdout() {
    for cap in [
        "inspect_502Error.scap",
        "libs_curl_google.scap",
        "falco_psp_run_as_user_0_container.scap",
    ] {
        check(cap, "stdout", &[]);
    }
}

#[test]
fn stdin() {
    for cap in [
        "inspect_502Error.scap",
        "falco_psp_run_as_user_0_container.scap",
    ] {
        check(cap, "stdin", &[]);
    }
}

#[test]
fn httplog() {
    for cap in ["inspect_502Error.scap", "libs_curl_google.scap"] {
        check(cap, "httplog", &[]);
    }
}

#[test]
fn httptop() {
    for cap in FOUR {
        check(cap, "httptop", &[]);
    }
}

#[test]
fn spy_port() {
    for cap in FOUR {
        check(cap, "spy_port", &["80"]);
    }
}

#[test]
fn spy_ip() {
    for cap in THREE {
        check(cap, "spy_ip", &["127.0.0.1"]);
    }
}

#[test]
fn fileslower() {
    for cap in FOUR {
        check(cap, "fileslower", &["0"]);
    }
}

#[test]
fn netlower() {
    for cap in THREE {
        check(cap, "netlower", &["0"]);
    }
}

#[test]
fn scallslower() {
    for cap in FOUR {
        check(cap, "scallslower", &["0"]);
    }
}

#[test]
fn lscontainers() {
    for cap in ["libs_sample.scap", "libs_curl_google.scap"] {
        check(cap, "lscontainers", &[]);
    }
}

#[test]
fn spy_logs() {
    check("falco_psp_run_as_user_0_container.scap", "spy_logs", &[]);
}

/// Only where the table is not cut at a tie (where sysdig's choice varies).
#[test]
fn topscalls() {
    check_rows("libs_sample.scap", "topscalls", &[]);
}

#[test]
fn info_reads_the_globals() {
    let path = Path::new(CHISELS).join("spy_file.lua");
    if !path.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sysdig's chisels are missing"
        );
        eprintln!("SKIPPED: {} is missing", path.display());
        return;
    }
    let info = lua::info(&path).expect("info");
    assert_eq!(info.name, "spy_file");
    assert_eq!(info.category, "I/O");
    assert_eq!(info.args.len(), 2);
    assert!(info
        .args
        .iter()
        .all(|a| a.optional && a.argtype == "string"));
    assert_eq!(info.args[1].name, "spy_on_file_name");
    assert!(!info.hidden);
    let tg = lua::info(&Path::new(CHISELS).join("table_generator.lua")).expect("info");
    assert!(tg.hidden);
    assert_eq!(tg.args.len(), 7);
    // A csysdig view is not a chisel.
    assert!(matches!(
        lua::info(&Path::new(CHISELS).join("v_procs.lua")),
        Err(osprey_chisel::Error::NotFound(_))
    ));
}

#[test]
fn wrong_arguments_are_refused() {
    let path = Path::new(CHISELS).join("fdbytes_by.lua");
    if !path.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sysdig's chisels are missing"
        );
        eprintln!("SKIPPED: {} is missing", path.display());
        return;
    }
    let err = lua::load(&path, &[]).err().expect("an error");
    assert_eq!(
        err.to_string(),
        "wrong number of parameters for chisel fdbytes_by, 1 required, 0 given"
    );
    let two = ["a".to_owned(), "b".to_owned()];
    let err = lua::load(&path, &two).err().expect("an error");
    assert_eq!(
        err.to_string(),
        "too many parameters for chisel fdbytes_by, 1 required, 0 optional, 2 given"
    );
    // A field that does not exist fails in on_init, with sysdig's words.
    let err = lua::load(&path, &["no.such".to_owned()])
        .err()
        .expect("an error");
    assert!(
        err.to_string().contains("nonexistent field no.such"),
        "{err}"
    );
}

#[test]
fn container_columns() {
    for chisel in [
        "topprocs_net",
        "topfiles_time",
        "spy_users",
        "proc_exec_time",
    ] {
        check_pc("falco_psp_run_as_user_0_container.scap", chisel, &[]);
    }
}

#[test]
fn lscontainers_of_container_captures() {
    // The container table comes from the capture's container records.
    check("falco_psp_privileged.scap", "lscontainers", &[]);
    check(
        "falco_psp_run_as_user_0_container.scap",
        "lscontainers",
        &[],
    );
    check(
        "falco_psp_run_as_user_65534_container.scap",
        "lscontainers",
        &[],
    );
    check("falco_psp_write_tmp_test.scap", "lscontainers", &[]);
}

/// `thread.cpu`, `evt.latency` and `proc.duration` as a Lua chisel sees them
/// on `procinfo` and `procexit` events (sysdig never prints `procinfo`): CPU
/// ticks only for known threads, no latency on their `procinfo`, the
/// duration from the thread's own creation.
#[test]
fn cpu_latency_and_duration_fields() {
    let dir = std::env::temp_dir().join(format!("osprey-lua-fields-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("cpufields.lua");
    std::fs::write(
        &script,
        r#"description = "t"
short_description = "t"
category = "T"
args = {}
function on_init()
  ft = chisel.request_field("evt.type")
  ftid = chisel.request_field("thread.tid")
  fl = chisel.request_field("evt.latency")
  fc = chisel.request_field("thread.cpu")
  fu = chisel.request_field("thread.cpu.user")
  fs = chisel.request_field("thread.cpu.system")
  fd = chisel.request_field("proc.duration")
  chisel.set_filter("evt.type in (procinfo, procexit)")
  return true
end
function on_event()
  print(evt.field(ft), evt.field(ftid), tostring(evt.field(fl)), tostring(evt.field(fc)),
    tostring(evt.field(fu)), tostring(evt.field(fs)), tostring(evt.field(fd)))
  return true
end
"#,
    )
    .unwrap();
    for cap in [
        "inspect_502Error.scap",
        "falco_connect_localhost.scap",
        "libs_sample.scap",
    ] {
        let Some(cap) = capture(cap) else { return };
        let Some(want) = sysdig(&cap, &script, &[], false) else {
            return;
        };
        assert!(
            want.windows(8).any(|w| w == b"procinfo"),
            "{}: no procinfo events",
            cap.display()
        );
        let got = osprey(&cap, &script, &[], false);
        if got != want {
            let (g, w) = (
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
            );
            let first = g.lines().zip(w.lines()).position(|(a, b)| a != b);
            panic!(
                "{}: differs at line {first:?}: {:?} / {:?}",
                cap.display(),
                first.and_then(|i| g.lines().nth(i)),
                first.and_then(|i| w.lines().nth(i))
            );
        }
    }
}
