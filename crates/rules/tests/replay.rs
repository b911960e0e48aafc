//! Replays of the shared Falco captures through rules, with alert counts
//! checked against `osprey -r` (sysdig-style filters restricted to exit
//! events, since Falco 0.44 evaluates rules once per system call on the exit
//! event).

use std::path::PathBuf;

use osprey_filter::fields::syscall::{Env, EventCtx};
use osprey_rules::{
    generic_code, AlertFormatter, AlertOptions, LoadOptions, Matching, RuleId, RulesFile, Ruleset,
};
use osprey_scap::Reader;
use osprey_state::State;

/// A shared capture, or `None` (loudly skipped) when missing outside CI.
fn capture(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures/"
    ))
    .join(name);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing capture {}",
        p.display()
    );
    eprintln!("SKIPPED: missing capture {}", p.display());
    None
}

fn ruleset(yaml: &str) -> Ruleset {
    let (rs, res) = Ruleset::load(
        &[RulesFile {
            name: "replay.yaml",
            content: yaml,
        }],
        &LoadOptions::default(),
    );
    assert!(res.successful(), "{res}");
    rs
}

/// Replays `path`, returning every alert as (rule id, text line, JSON line).
fn replay(path: &PathBuf, rs: &Ruleset, mode: Matching) -> Vec<(RuleId, String, String)> {
    let mut reader = Reader::open(path).expect("open capture");
    let mut state = State::new();
    state.set_full(reader.snapshot().exit_only);
    state.load(reader.snapshot());
    let env = Env::default();
    let mut fmt = AlertFormatter::new(AlertOptions {
        time_format_iso_8601: true,
        hostname: "test".into(),
        ..AlertOptions::default()
    });
    let mut alerts = Vec::new();
    let mut hits = Vec::new();
    let mut num = 0;
    while let Some(ev) = reader.next_event().expect("read event") {
        num += 1;
        state.process(&ev);
        let ctx = EventCtx {
            ev: &ev,
            state: &state,
            num,
            env: &env,
        };
        hits.clear();
        rs.evaluate(&ctx, ev.etype(), generic_code(&ev), mode, &mut hits);
        for &id in &hits {
            let rule = rs.rule(id).expect("rule");
            let (mut text, mut json) = (Vec::new(), Vec::new());
            assert!(fmt.write_text(rule, &ctx, ev.ts(), &mut text));
            assert!(fmt.write_json(rule, &ctx, ev.ts(), &mut json));
            alerts.push((
                id,
                String::from_utf8(text).expect("utf-8"),
                String::from_utf8(json).expect("utf-8"),
            ));
        }
    }
    alerts
}

#[test]
fn open_from_cat_alerts_once_per_open() {
    let Some(path) = capture("falco_cat_write.scap") else {
        return;
    };
    let rs = ruleset(
        "
- rule: open_from_cat
  desc: cat opened a file
  condition: evt.type in (open, openat) and proc.name = cat
  output: An open was seen (command=%proc.cmdline file=%fd.name)
  priority: WARNING
  tags: [filesystem, testing]
",
    );
    let alerts = replay(&path, &rs, Matching::First);
    // osprey -r falco_cat_write.scap "evt.type in (open,openat) and proc.name=cat and evt.dir=<" | wc -l
    assert_eq!(alerts.len(), 4);
    assert_eq!(
        alerts[0].1,
        "2016-08-04T16:17:57.881785348+0000: Warning An open was seen (command=cat /dev/null file=/etc/ld.so.cache)"
    );
    assert_eq!(
        alerts[3].1,
        "2016-08-04T16:17:57.882054739+0000: Warning An open was seen (command=cat /dev/null file=/dev/null)"
    );
}

#[test]
fn first_and_all_matching_over_open_multiple_files() {
    let Some(path) = capture("falco_open-multiple-files.scap") else {
        return;
    };
    let rs = ruleset(
        "
- macro: opened
  condition: evt.type = open
- list: prefixes
  items: [/tmp/file-1]
- rule: file_1x
  desc: d
  condition: opened and fd.name pmatch (/nonexistent) or (opened and fd.name startswith prefixes)
  output: file_1x %proc.name %fd.num %fd.name
  priority: NOTICE
- rule: tmp_files
  desc: d
  condition: opened and fd.name startswith /tmp/file-
  output: tmp %fd.name
  priority: info
",
    );
    let count =
        |alerts: &[(RuleId, String, String)], id| alerts.iter().filter(|a| a.0 == id).count();
    // osprey -r falco_open-multiple-files.scap "evt.type=open and evt.dir=< and fd.name startswith /tmp/file-1" | wc -l   -> 5
    // ... "fd.name startswith /tmp/file-" -> 13
    let first = replay(&path, &rs, Matching::First);
    assert_eq!((count(&first, RuleId(0)), count(&first, RuleId(1))), (5, 8));
    let all = replay(&path, &rs, Matching::All);
    assert_eq!((count(&all, RuleId(0)), count(&all, RuleId(1))), (5, 13));
    // osprey -r falco_open-multiple-files.scap -j -p "%evt.time %proc.name %fd.num %fd.name" \
    //   "evt.type=open and evt.dir=< and fd.name=/tmp/file-1"
    assert_eq!(
        first[0].2,
        concat!(
            r#"{"hostname":"test","output":"2017-02-04T01:22:15.286801004+0000: Notice file_1x python 3 /tmp/file-1","#,
            r#""output_fields":{"evt.time.iso8601":1486171335286801004,"fd.name":"/tmp/file-1","fd.num":3,"proc.name":"python"},"#,
            r#""priority":"Notice","rule":"file_1x","source":"syscall","tags":[],"time":"2017-02-04T01:22:15.286801004Z"}"#
        )
    );
}

/// The upstream rules files (stable, incubating, sandbox), loaded
/// leniently (rules using fields the catalogue lacks are dropped).
fn upstream() -> Option<Ruleset> {
    let mut contents = Vec::new();
    for n in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        let path = capture(&format!("../compat/falco-rules/{n}"))?;
        contents.push((n, std::fs::read_to_string(&path).expect("read rules")));
    }
    let files: Vec<RulesFile<'_>> = contents
        .iter()
        .map(|(name, content)| RulesFile { name, content })
        .collect();
    let opts = LoadOptions {
        skip_unknown_filters: true,
        ..LoadOptions::default()
    };
    let (rs, res) = Ruleset::load(&files, &opts);
    assert!(res.successful(), "{res}");
    Some(rs)
}

/// A smoke test: every upstream rule the catalogue can compile is evaluated
/// (and its alerts formatted) over every Falco capture. None of these
/// captures triggers one of them with the present catalogue: the container
/// captures describe their containers with the old container JSON event,
/// whose metadata the `container.*` fields do not read yet.
#[test]
fn upstream_rules_over_the_falco_captures() {
    let Some(rs) = upstream() else {
        return;
    };
    assert!(rs.active().count() > 70, "{}", rs.active().count());
    let mut summary = Vec::new();
    for name in [
        "falco_cat_write.scap",
        "falco_connect_localhost.scap",
        "falco_empty.scap",
        "falco_open-multiple-files.scap",
        "falco_ping_sendto.scap",
        "falco_syscall.scap",
        "falco_psp_privileged.scap",
        "falco_psp_run_as_user_0_container.scap",
        "falco_psp_run_as_user_65534_container.scap",
        "falco_psp_write_tmp_test.scap",
    ] {
        let Some(path) = capture(name) else {
            return;
        };
        let alerts = replay(&path, &rs, Matching::First);
        for a in &alerts {
            eprintln!("{name}: {}", a.1);
        }
        summary.push((name, alerts.len()));
    }
    eprintln!("{summary:?}");
    assert!(summary.iter().all(|(_, n)| *n == 0), "{summary:?}");
}
