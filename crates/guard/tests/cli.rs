//! `osprey-guard` end to end on a shared capture: replay with a rules file,
//! alerts on stdout (text and JSON) and in a file, and broken rules files.

use std::path::PathBuf;
use std::process::Command;

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

const RULES: &str = "
- list: readers
  items: [cat]
- macro: opened
  condition: evt.type in (open, openat)
- rule: open_from_cat
  desc: cat opened a file
  condition: opened and proc.name in (readers)
  output: An open was seen (command=%proc.cmdline file=%fd.name)
  priority: WARNING
  tags: [filesystem, testing]
";

fn guard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_osprey-guard"))
        .env("FALCO_HOSTNAME", "test-host")
        .env("TZ", "UTC")
        .args(args)
        .output()
        .expect("run osprey-guard")
}

#[test]
fn replay_alerts_as_text_json_and_file() {
    let Some(cap) = capture("falco_cat_write.scap") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let (rules, cap) = (rules.to_str().unwrap(), cap.to_str().unwrap());
    let quiet = ["-o", "syslog_output.enabled=false"];

    let out = guard(
        &[
            &["-r", rules, "-e", cap, "-o", "time_format_iso_8601=true"][..],
            &quiet[..],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // osprey -r falco_cat_write.scap "evt.type in (open,openat) and proc.name=cat and evt.dir=<"
    assert_eq!(text.lines().count(), 4, "{text}");
    assert_eq!(
        text.lines().next().unwrap(),
        "2016-08-04T16:17:57.881785348+0000: Warning An open was seen \
         (command=cat /dev/null file=/etc/ld.so.cache)"
    );

    let events = dir.path().join("events.json");
    let file_opt = format!("file_output.filename={}", events.display());
    let out = guard(
        &[
            &["-r", rules, "-e", cap, "-o", "json_output=true"][..],
            &["-o", "file_output.enabled=true", "-o", &file_opt][..],
            &quiet[..],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let file = std::fs::read_to_string(&events).unwrap();
    assert_eq!(
        stdout, file,
        "stdout and file outputs carry the same alerts"
    );
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["hostname"], "test-host");
    assert_eq!(first["rule"], "open_from_cat");
    assert_eq!(first["priority"], "Warning");
    assert_eq!(first["source"], "syscall");
    assert_eq!(first["tags"], serde_json::json!(["filesystem", "testing"]));
    assert_eq!(first["time"], "2016-08-04T16:17:57.881785348Z");
    assert_eq!(first["output_fields"]["fd.name"], "/etc/ld.so.cache");
    assert_eq!(
        first["output_fields"]["evt.time"],
        1_470_327_477_881_785_348_u64
    );
    assert_eq!(stdout.lines().count(), 4);

    // -o rules[].disable.rule=* turns every rule off.
    let out = guard(
        &[
            &["-r", rules, "-e", cap, "-o", "rules[].disable.rule=open_*"][..],
            &quiet[..],
        ]
        .concat(),
    );
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn broken_rules_exit_1_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("yaml.yaml", "- rule: x\n  desc: [unclosed\n", "LOAD_ERR_YAML_PARSE"),
        (
            "field.yaml",
            "- rule: x\n  desc: d\n  condition: proc.nam = cat\n  output: o\n  priority: INFO\n",
            "proc.nam",
        ),
        (
            "macro.yaml",
            "- rule: x\n  desc: d\n  condition: no_such_macro and proc.name = cat\n  output: o\n  priority: INFO\n",
            "no_such_macro",
        ),
        (
            "operator.yaml",
            "- rule: x\n  desc: d\n  condition: proc.name ~~ cat\n  output: o\n  priority: INFO\n",
            "LOAD_ERR_COMPILE_CONDITION",
        ),
        (
            "priority.yaml",
            "- rule: x\n  desc: d\n  condition: proc.name = cat\n  output: o\n  priority: LOUD\n",
            "priority",
        ),
    ];
    for (name, yaml, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        let p = path.to_str().unwrap();
        let out = guard(&["-r", p, "--dry-run"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(
            err.contains(&format!("{p}:")),
            "{name}: no file:line in {err}"
        );
        let out = guard(&["-V", p]);
        assert_eq!(out.status.code(), Some(1), "{name} -V");
    }
}

#[test]
fn our_default_rules_load() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules");
    for f in ["osprey_rules.yaml", "examples/nginx_only.yaml"] {
        let path = format!("{root}/{f}");
        let out = guard(&["-V", &path]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{f}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(": Ok"), "{f}: {text}");
    }
}

#[test]
fn alerts_are_the_same_on_any_number_of_workers() {
    let Some(cap) = capture("libs_curl_google.scap") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "
- rule: io
  desc: any read or write with its process and fd
  condition: evt.type in (read, write, recvfrom, sendto) and fd.num >= 0
  output: io %proc.name %thread.tid %fd.name %evt.rawres
  priority: INFO
- rule: opens
  desc: any open
  condition: evt.type in (open, openat)
  output: open %proc.name %fd.name
  priority: NOTICE
",
    )
    .unwrap();
    let (rules, cap) = (rules.to_str().unwrap(), cap.to_str().unwrap());
    let run = |threads: &str| {
        let out = guard(&[
            "-r",
            rules,
            "-e",
            cap,
            "-o",
            "syslog_output.enabled=false",
            "--threads",
            threads,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let one = run("1");
    assert!(
        one.lines().count() > 100,
        "too few alerts to compare: {one}"
    );
    for n in ["2", "3", "8"] {
        assert_eq!(run(n), one, "{n} workers");
    }
}

#[test]
fn built_in_rules_without_rules_files() {
    // Falco's default rules_files (/etc/falco/...) do not exist here: the
    // built-in copy of rules/osprey_rules.yaml is loaded.
    let out = guard(&["-o", "rules_files[]=/nonexistent/rules.yaml", "-L"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    // Both built-in files: the syscall rules, then the k8s_audit rules.
    let ours = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../rules/osprey_rules.yaml"
    ))
    .unwrap()
        + &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../rules/osprey_k8s_audit_rules.yaml"
        ))
        .unwrap();
    let in_file: Vec<&str> = ours
        .lines()
        .filter_map(|l| l.strip_prefix("- rule: "))
        .collect();
    // Rules with skip-if-unknown-filter that need a field Osprey lacks are
    // dropped with a LOAD_UNKNOWN_FILTER warning.
    let err = String::from_utf8_lossy(&out.stderr);
    let mut skipped: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("LOAD_UNKNOWN_FILTER"))
        .filter_map(|l| l.split("rule '").nth(1)?.split('\'').next())
        .collect();
    skipped.dedup();
    let listed: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split("  ").next())
        .collect();
    let expected: Vec<&str> = in_file
        .iter()
        .copied()
        .filter(|r| !skipped.contains(r))
        .collect();
    assert_eq!(listed, expected, "skipped: {skipped:?}");
}

#[test]
fn rules_directories_are_read_and_an_empty_one_means_the_built_in_rules() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.d");
    std::fs::create_dir(&empty).unwrap();
    // An empty rules directory (as /etc/osprey/rules.d before scripts/install):
    // the built-in defaults.
    let out = guard(&["-o", &format!("rules_files[]={}", empty.display()), "-L"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("Interactive shell attached to a container"),
        "{listed}"
    );
    // A directory with a rules file: that file's rules, and only those.
    let full = dir.path().join("rules.d");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("10-mine.yaml"), RULES).unwrap();
    std::fs::write(full.join("README.txt"), "not rules").unwrap();
    let out = guard(&["-o", &format!("rules_files[]={}", full.display()), "-L"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("  ").next())
        .map(str::to_owned)
        .collect();
    assert_eq!(names, ["open_from_cat"]);
}

#[test]
fn list_shows_sysdig_and_newer_fields() {
    let out = guard(&["--list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for f in [
        "proc.name",
        "fd.name",
        "proc.pexe",
        "thread.cap_effective",
        "proc.stdin.type",
    ] {
        assert!(text.contains(f), "{f} not listed");
    }
}

#[test]
fn validate_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, yaml: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, yaml).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let good = write("good.yaml", RULES);
    let yaml_err = write("yaml.yaml", "- rule: x\n  desc: [unclosed\n");
    let macro_err = write(
        "macro.yaml",
        "- rule: x\n  desc: d\n  condition: no_such_macro and proc.name = cat\n  output: o\n  priority: INFO\n",
    );
    let json = ["-o", "json_output=true"];
    let parse = |out: &std::process::Output| -> serde_json::Value {
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.lines().count(), 1, "{text}");
        serde_json::from_str(&text).unwrap()
    };

    let out = guard(&[&json[..], &["-V", &good]].concat());
    assert_eq!(out.status.code(), Some(0));
    let v = parse(&out);
    let r = &v["falco_load_results"][0];
    assert_eq!(r["name"], good.as_str());
    assert_eq!(r["successful"], true);
    assert_eq!(r["errors"], serde_json::json!([]));
    assert_eq!(r["warnings"], serde_json::json!([]));

    // One object for all files; one invalid file fails the run.
    let out = guard(&[&json[..], &["-V", &good, "-V", &yaml_err, "-V", &macro_err]].concat());
    assert_eq!(out.status.code(), Some(1));
    let v = parse(&out);
    let results = v["falco_load_results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["successful"], true);
    let err = |i: usize| &results[i]["errors"][0];
    assert_eq!(results[1]["successful"], false);
    assert_eq!(err(1)["code"], "LOAD_ERR_YAML_PARSE");
    assert_eq!(err(1)["codedesc"], "YAML parse error");
    let pos = &err(1)["context"]["locations"][0]["position"];
    assert_eq!(pos["name"], yaml_err.as_str());
    assert!(pos["line"].as_u64().unwrap() >= 1, "{pos}");
    assert_eq!(err(2)["code"], "LOAD_ERR_VALIDATE");
    assert_eq!(
        err(2)["message"],
        "Undefined macro 'no_such_macro' used in filter."
    );
    let locs = err(2)["context"]["locations"].as_array().unwrap();
    assert!(locs
        .iter()
        .any(|l| l["item_type"] == "rule" && l["item_name"] == "x"));
    assert!(err(2)["context"]["snippet"]
        .as_str()
        .unwrap()
        .contains("condition: no_such_macro"));

    // The text form, for comparison.
    let out = guard(&["-V", &good, "-V", &macro_err]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("{good}: Ok\n{macro_err}: Invalid\n")),
        "{text}"
    );
}
