//! Unit tests of the spec reader, the event synthesis and the runner.

use super::spec::{self, Input};
use super::synth::newest_exit;
use super::*;
use osprey_event::table::info;
use std::path::Path;

const RULES: &str = "
- rule: shadow_read
  desc: d
  condition: evt.type in (open, openat) and fd.name = /etc/shadow and not proc.name in (passwd)
  output: shadow read by %proc.name
  priority: WARNING
- rule: exec_sh
  desc: d
  condition: evt.type = execve and proc.name = sh and proc.pname = nginx
  output: sh by %proc.pname
  priority: WARNING
";

fn parse(text: &str) -> Spec {
    spec::parse(Path::new("/x/spec.yaml"), text).expect("spec parses")
}

fn parse_err(text: &str) -> spec::SpecError {
    spec::parse(Path::new("/x/spec.yaml"), text).expect_err("spec must be refused")
}

fn rules() -> Ruleset {
    let (rs, res) = Ruleset::load(
        &[RulesFile {
            name: "t.yaml",
            content: RULES,
        }],
        &LoadOptions::default(),
    );
    assert!(res.successful(), "{res}");
    rs
}

fn run_one(text: &str) -> CaseResult {
    let s = parse(text);
    run_case(&s.cases[0], &rules())
}

#[test]
fn newest_exit_types_are_those_full_mode_parses() {
    for &(name, et) in osprey_state::FULL_EXIT_EVENTS {
        assert_eq!(newest_exit(name), Some(et), "{name}");
    }
    assert_eq!(newest_exit("no_such_call"), None);
    assert_eq!(
        info(newest_exit("chmod").expect("chmod")).map(|i| i.name),
        Some("chmod")
    );
}

#[test]
fn synthetic_openat_fills_every_parameter() {
    let s = parse(
        "
- name: n
  events:
    - type: openat
      proc: {pid: 7, name: python3, args: [a.py]}
      args: {name: /etc/shadow, flags: O_RDONLY|O_CLOEXEC, fd: 3}
  expect: {shadow_read: 1}
",
    );
    let Input::Events { snapshot, events } = &s.cases[0].input else {
        panic!("synthetic input expected")
    };
    assert_eq!(events.len(), 1);
    let ev = EventRef::parse(&events[0], 0, 0).expect("valid event");
    let ei = ev.info().expect("known type");
    assert_eq!(ev.etype(), newest_exit("openat").expect("openat"));
    assert_eq!(ev.nparams(), ei.params.len());
    assert_eq!(ev.param(0), Some(&3i64.to_le_bytes()[..]));
    assert_eq!(
        ev.param(1),
        Some(&(-100i64).to_le_bytes()[..]),
        "dirfd defaults to AT_FDCWD"
    );
    assert_eq!(ev.param(2), Some(&b"/etc/shadow\0"[..]));
    // PPM_O_RDONLY (1) | PPM_O_CLOEXEC (1 << 12)
    assert_eq!(ev.param(3), Some(&0x1001u32.to_le_bytes()[..]));
    assert_eq!(ev.tid(), 7);
    let p = snapshot.procs.iter().find(|p| p.tid == 7).expect("proc 7");
    assert_eq!(p.comm, b"python3");
    assert_eq!(p.exepath, b"/usr/bin/python3");
    assert_eq!(p.args, b"a.py\0");
    assert!(snapshot.procs.iter().any(|p| p.tid == 1), "init is added");
    assert!(snapshot.exit_only);
}

#[test]
fn expectations_pass_and_fail() {
    let ok = run_one(
        "
- name: python reads shadow
  events:
    - {type: openat, proc: {pid: 7, name: python3}, args: {name: /etc/shadow, flags: O_RDONLY, fd: 3}}
    - {type: openat, args: {name: /etc/shadow, flags: O_RDONLY, res: 4}}
  expect: {shadow_read: 2}
  absent: [exec_sh]
",
    );
    assert!(ok.passed(), "{:?}", ok.failures);
    assert_eq!(ok.counts, vec![("shadow_read".to_string(), 2)]);
    let bad = run_one(
        "
- name: passwd reads shadow
  events:
    - {type: openat, proc: {pid: 7, name: passwd}, args: {name: /etc/shadow, fd: 3}}
  expect: {shadow_read: 1}
",
    );
    assert_eq!(
        bad.failures,
        vec!["rule shadow_read expected 1 got 0".to_string()]
    );
}

#[test]
fn strict_cases_refuse_unlisted_alerts() {
    let r = run_one(
        "
- strict: true
  events:
    - {type: openat, proc: {pid: 7, name: cat}, args: {name: /etc/shadow, fd: 3}}
",
    );
    assert_eq!(r.name, "case 1");
    assert_eq!(
        r.failures,
        vec!["rule shadow_read expected 0 got 1".to_string()]
    );
}

#[test]
fn execve_takes_its_parameters_from_the_process() {
    let r = run_one(
        "
- procs:
    - {pid: 10, name: nginx, exe: /usr/sbin/nginx}
  events:
    - type: execve
      proc: {pid: 11, ppid: 10, exe: /bin/sh, args: [-c, id]}
  expect: {exec_sh: 1}
",
    );
    assert!(r.passed(), "{:?}", r.failures);
}

#[test]
fn errno_names_and_socket_values_encode() {
    let s = parse(
        "
- events:
    - {type: openat, proc: {pid: 7, name: x}, args: {fd: ENOENT, name: /nope}}
    - {type: connect, args: {res: EINPROGRESS, tuple: '10.0.0.1:4000->1.2.3.4:443', fd: 3}}
",
    );
    let Input::Events { events, .. } = &s.cases[0].input else {
        panic!("synthetic input expected")
    };
    let e0 = EventRef::parse(&events[0], 0, 0).expect("valid");
    assert_eq!(e0.param(0), Some(&(-2i64).to_le_bytes()[..]));
    let e1 = EventRef::parse(&events[1], 0, 0).expect("valid");
    assert_eq!(e1.param(0), Some(&(-115i64).to_le_bytes()[..]));
    let ti = e1
        .info()
        .and_then(|i| i.param_index("tuple"))
        .expect("tuple");
    assert_eq!(
        e1.param(ti),
        Some(&[2, 10, 0, 0, 1, 0xa0, 0x0f, 1, 2, 3, 4, 0xbb, 0x01][..])
    );
    assert!(e1.ts() > e0.ts());
}

#[test]
fn schema_errors_carry_positions() {
    let e = parse_err("- name: x\n  events:\n    - {type: openat, proc: {pid: 1, nam: x}}\n");
    assert_eq!((e.pos.line, e.pos.col), (3, 37), "{e:?}");
    assert!(e.msg.contains("unknown key 'nam'"), "{}", e.msg);
    let e = parse_err("- events:\n    - {type: nosuchcall, proc: {pid: 1, name: x}}\n");
    assert_eq!(e.pos.line, 2);
    assert!(
        e.msg.contains("unknown event type 'nosuchcall'"),
        "{}",
        e.msg
    );
    let e = parse_err("- events:\n    - {type: openat, proc: {pid: 1, name: x}, args: {nme: a}}\n");
    assert!(e.msg.contains("no parameter 'nme'"), "{}", e.msg);
    let e = parse_err(
        "- events:\n    - {type: openat, proc: {pid: 1, name: x}, args: {flags: O_BOGUS}}\n",
    );
    assert!(e.msg.contains("unknown flag 'O_BOGUS'"), "{}", e.msg);
    let e = parse_err("- capture: a.scap\n  events: []\n");
    assert!(e.msg.contains("not both"), "{}", e.msg);
    let e = parse_err("- events:\n    - {type: openat}\n");
    assert!(e.msg.contains("needs 'proc'"), "{}", e.msg);
    let e = parse_err("- expect: {a: 1}\n  absent: [a]\n  capture: x.scap\n");
    assert_eq!(e.pos.line, 2);
    let e = parse_err("- name: [unclosed\n");
    assert!(e.msg.starts_with("invalid YAML"), "{}", e.msg);
}

#[test]
fn captures_resolve_against_the_spec_directory() {
    let s = parse(
        "rules: '- list: l\\n  items: []'\ncases:\n  - capture: ../c/a.scap\n    matching: all\n",
    );
    assert_eq!(s.rules.len(), 1);
    match &s.cases[0].input {
        Input::Capture(p) => assert_eq!(p, Path::new("/x/../c/a.scap")),
        Input::Events { .. } => panic!("capture expected"),
    }
    assert_eq!(s.cases[0].matching, Matching::All);
}

#[test]
fn command_reports_usage_errors() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(command(Vec::<OsString>::new(), &mut out, &mut err), 2);
    assert!(String::from_utf8_lossy(&err).contains("SPEC.yaml"));
}
