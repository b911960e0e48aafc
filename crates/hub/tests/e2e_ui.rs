//! End to end: osprey-guard replays a capture and posts its alerts (`http_output`) to a
//! hub; headless Chromium opens the hub's dashboard, filtered by rule, and the counts the
//! page shows must match the alerts osprey-guard printed.
//!
//! osprey-hub (layer 4) may not depend on osprey-guard (layer 5), so the guard binary is
//! taken from the build artefacts next to this test binary
//! (`<target>/<profile>/osprey-guard`, the directory `cargo build -p osprey-guard` writes
//! to with the same CARGO_TARGET_DIR and profile) and built with cargo if it is missing.

mod common;

use std::path::PathBuf;
use std::process::Command;

const RULES: &str = "
- rule: open_from_cat
  desc: cat opened a file
  condition: evt.type in (open, openat) and proc.name = cat
  output: cat opened a file (command=%proc.cmdline file=%fd.name)
  priority: WARNING
  tags: [filesystem, e2e]
- rule: cat_io
  desc: cat reads, writes, maps or closes
  condition: evt.type in (read, write, close, mmap, fstat) and proc.name = cat
  output: io by %proc.name (type=%evt.type fd=%fd.name)
  priority: NOTICE
  tags: [e2e]
";

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
        "missing capture {}",
        p.display()
    );
    eprintln!("SKIPPED: missing capture {}", p.display());
    None
}

/// The osprey-guard binary of this build (same target dir and profile), built if missing.
fn guard_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // <target>/<profile>/deps/e2e_ui-<hash>
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("profile dir")
        .to_path_buf();
    let bin = profile_dir.join("osprey-guard");
    if bin.exists() {
        return bin;
    }
    let target = profile_dir.parent().expect("target dir");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "-p", "osprey-guard", "--bin", "osprey-guard"])
        .env("CARGO_TARGET_DIR", target);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    let st = cmd.status().expect("run cargo build -p osprey-guard");
    assert!(st.success() && bin.exists(), "building osprey-guard failed");
    bin
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH")?
                .to_str()?
                .split(':')
                .map(|d| PathBuf::from(d).join(name))
                .find(|p| p.exists())
        })
}

/// Loads `url` in headless Chromium, lets its scripts run, and returns the DOM.
fn dump_dom(chrome: &PathBuf, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the element with this id (`<x id="ID" ...>TEXT<`).
fn text_of(dom: &str, id: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let rest = &dom[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(rest[start..end].to_owned())
}

/// The `data-count` of the bar with `data-key=KEY` in the chart of `field`.
fn bar_count(dom: &str, field: &str, key: &str) -> Option<u64> {
    let chart = &dom[dom.find(&format!("data-field=\"{field}\""))?..];
    let chart = &chart[..chart.find("</svg>")?];
    let bar = &chart[chart.find(&format!("data-key=\"{key}\""))?..];
    let v = &bar[bar.find("data-count=\"")? + 12..];
    v[..v.find('"')?].parse().ok()
}

#[test]
fn guard_to_hub_to_dashboard() {
    let Some(cap) = capture("falco_cat_write.scap") else {
        return;
    };
    let Some(chrome) = chromium() else {
        common::skip("chromium");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hub = osprey_hub::start(common::config(dir.path(), "")).unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();

    let url = format!("http_output.url=http://127.0.0.1:{}/", hub.addr.port());
    let out = Command::new(guard_binary())
        .env("FALCO_HOSTNAME", "e2e-host")
        .arg("-r")
        .arg(&rules)
        .arg("-e")
        .arg(&cap)
        .args([
            "-o",
            "json_output=true",
            "-o",
            "http_output.enabled=true",
            "-o",
            &url,
        ])
        .args([
            "-o",
            "syslog_output.enabled=false",
            "-o",
            "stdout_output.enabled=true",
        ])
        .output()
        .expect("run osprey-guard");
    assert!(
        out.status.success(),
        "osprey-guard: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("guard JSON alert"))
        .collect();
    let cat = alerts
        .iter()
        .filter(|a| a["rule"] == "open_from_cat")
        .count() as u64;
    let total = alerts.len() as u64;
    assert!(
        cat > 0 && total > cat,
        "the capture fires both rules ({cat} of {total})"
    );
    assert!(
        common::wait_for(20, || (common::count(hub.addr, "") == total).then_some(())).is_some(),
        "the hub stored {} of {total} alerts",
        common::count(hub.addr, "")
    );

    // The dashboard over all time: every alert.
    let base = format!("http://127.0.0.1:{}/", hub.addr.port());
    let dom = dump_dom(&chrome, &format!("{base}?since="));
    assert!(
        dom.contains("data-state=\"ready\""),
        "page did not finish loading: {}",
        &dom[..dom.len().min(2000)]
    );
    assert_eq!(
        text_of(&dom, "total-count").as_deref(),
        Some(total.to_string().as_str())
    );
    assert_eq!(bar_count(&dom, "rule", "open_from_cat"), Some(cat));
    assert_eq!(bar_count(&dom, "rule", "cat_io"), Some(total - cat));
    assert_eq!(bar_count(&dom, "hostname", "e2e-host"), Some(total));

    // Filtered by rule: the counters, charts and table only show that rule.
    let dom = dump_dom(
        &chrome,
        &format!("{base}?since=&rule=open_from_cat&limit=1000"),
    );
    assert!(dom.contains("data-state=\"ready\""));
    assert_eq!(
        text_of(&dom, "total-count").as_deref(),
        Some(cat.to_string().as_str())
    );
    assert_eq!(bar_count(&dom, "rule", "open_from_cat"), Some(cat));
    assert_eq!(bar_count(&dom, "rule", "cat_io"), None);
    assert_eq!(bar_count(&dom, "priority", "Warning"), Some(cat));
    assert_eq!(
        dom.matches("<tr data-rule=\"open_from_cat\"").count() as u64,
        cat
    );
    assert_eq!(dom.matches("<tr data-rule=").count() as u64, cat);
    let info = text_of(&dom, "page-info").unwrap_or_default();
    assert!(info.contains(&format!("({cat} events)")), "{info}");
    hub.stop();
}
