//! `proc.duration` against sysdig: measured from the creation of the event's
//! own thread (a thread cloned in the capture has a duration even when its
//! process came from the snapshot), on every event including `procexit`.

mod common;

use std::process::Command;

fn run(bin: &str, file: &str, format: &str) -> Vec<u8> {
    let out = Command::new(bin)
        .env("TZ", "UTC")
        .args(["-r", file, "-p", format])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{bin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn proc_duration_matches_sysdig() {
    if !std::path::Path::new("/usr/bin/sysdig").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sysdig is missing under CI"
        );
        eprintln!("SKIPPED: /usr/bin/sysdig is missing");
        return;
    }
    // Without a leading '*', only events where every field has a value print.
    let format = "%evt.num %evt.type %thread.tid %proc.pid %proc.duration";
    let mut procexits = 0;
    for cap in [
        "inspect_502Error.scap",
        "libs_sample.scap",
        "falco_cat_write.scap",
    ] {
        let Some(path) = common::shared(&format!("captures/{cap}")) else {
            return;
        };
        let path = path.to_str().expect("utf-8 path");
        let want = run("/usr/bin/sysdig", path, format);
        procexits += want.windows(9).filter(|w| w == b" procexit").count();
        let got = run(env!("CARGO_BIN_EXE_osprey"), path, format);
        if got != want {
            let (g, w) = (
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
            );
            let first = g.lines().zip(w.lines()).position(|(a, b)| a != b);
            panic!(
                "{cap}: differs at line {first:?}: {:?} / {:?} ({} / {} lines)",
                first.and_then(|i| g.lines().nth(i)),
                first.and_then(|i| w.lines().nth(i)),
                g.lines().count(),
                w.lines().count()
            );
        }
    }
    assert!(procexits > 0, "sysdig showed no procexit with a duration");
}
