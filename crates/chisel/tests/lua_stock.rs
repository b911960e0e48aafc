//! Sysdig's stock Lua chisels under the Lua runtime, compared byte for byte
//! with sysdig 0.29.3 on the shared captures.

use osprey_chisel::{lua, EventCtx, Flow, Host, Interval};
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
fn sysdig(cap: &Path, chisel: &Path, args: &[&str]) -> Option<Vec<u8>> {
    if !chisel.exists() || !Path::new("/usr/bin/sysdig").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sysdig or its chisels are missing"
        );
        eprintln!("SKIPPED: sysdig or {} is missing", chisel.display());
        return None;
    }
    let mut cmd = Command::new("/usr/bin/sysdig");
    cmd.env("TZ", "UTC")
        .arg("-r")
        .arg(cap)
        .arg("-c")
        .arg(chisel);
    if !args.is_empty() {
        cmd.arg(args.join(" "));
    }
    let out = cmd.output().expect("run sysdig");
    Some(out.stdout)
}

/// The host loop, as `osprey -r CAP -c CHISEL` runs it.
fn osprey(cap: &Path, chisel: &Path, args: &[&str]) -> Vec<u8> {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let mut ch = lua::load(chisel, &args).expect("load chisel");
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
    let (mut bucket, mut prev_cb) = (0u64, 0u64);
    while let Some(ev) = reader.next_event().expect("read event") {
        if ev.etype() >= LEGACY_EVENT_MAX && !state.is_full() {
            state.process(&ev);
            continue;
        }
        num += 1;
        let ts = ev.ts();
        if first == 0 {
            first = ts;
        }
        last = ts;
        env.first_ts.set(first);
        state.process(&ev);
        let host = Host {
            state: &state,
            live: false,
        };
        let mut flow = Flow::Continue;
        match ch.interval() {
            Some(Interval::Aligned(p)) if p > 0 => {
                let b = ts - ts % p;
                if bucket == 0 {
                    bucket = b;
                } else if b > bucket {
                    bucket = b;
                    let delta = if prev_cb == 0 { 0 } else { ts - prev_cb };
                    prev_cb = ts;
                    flow = ch
                        .on_interval(ts, delta, &host, &mut out)
                        .expect("on_interval");
                }
            }
            Some(Interval::Precise(p)) if p > 0 => {
                if bucket == 0 {
                    bucket = ts;
                }
                while ts - bucket >= p && flow == Flow::Continue {
                    bucket += p;
                    flow = ch
                        .on_interval(bucket, p, &host, &mut out)
                        .expect("on_interval");
                }
            }
            _ => {}
        }
        let ctx = EventCtx {
            ev: &ev,
            state: &state,
            num,
            env: &env,
        };
        if flow == Flow::Continue && ch.filter().is_none_or(|f| f.matches(&ctx)) {
            flow = ch.on_event(&ctx, &mut out).expect("on_event");
        }
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

fn check(cap: &str, chisel: &str, args: &[&str]) {
    let Some(cap) = capture(cap) else { return };
    let path = Path::new(CHISELS).join(format!("{chisel}.lua"));
    let Some(want) = sysdig(&cap, &path, args) else {
        return;
    };
    let got = osprey(&cap, &path, args);
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
    check("inspect_502Error.scap", "spy_file", &[]);
}
