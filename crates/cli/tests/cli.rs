//! End-to-end behaviour of `osprey` on bad input: every error is one clear
//! message on stderr and exit status 1, never a panic.

mod common;

use common::{osprey, osprey_args, shared};
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_clean_error(o: &Output) {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
}

/// An uncompressed capture (so that truncating it damages a block).
fn raw_capture() -> Option<String> {
    shared("captures/libs_sample.scap").map(|p| p.to_string_lossy().into_owned())
}

#[test]
fn bad_filter_names_the_column() {
    let Some(cap) = raw_capture() else { return };
    let o = osprey(&cap, &["proc.name = = cat"]);
    assert_clean_error(&o);
    assert!(
        stderr(&o).starts_with("filter error at column "),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn unknown_time_mode() {
    let Some(cap) = raw_capture() else { return };
    let o = osprey(&cap, &["-t", "z"]);
    assert_clean_error(&o);
    assert!(stderr(&o).contains("-t"), "{}", stderr(&o));
}

#[test]
fn unknown_output_field() {
    let Some(cap) = raw_capture() else { return };
    let o = osprey(&cap, &["-p", "%evt.num %nosuch.field"]);
    assert_clean_error(&o);
    assert!(stderr(&o).contains("nosuch.field"), "{}", stderr(&o));
}

#[test]
fn not_a_capture() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "just some text, not a capture\n").unwrap();
    let o = osprey(&p.to_string_lossy(), &[]);
    assert_clean_error(&o);
    assert!(stderr(&o).contains("not a scap capture"), "{}", stderr(&o));
    let o = osprey(&dir.path().join("missing.scap").to_string_lossy(), &[]);
    assert_clean_error(&o);
}

#[test]
fn truncated_capture_prints_what_precedes_the_damage() {
    let Some(cap) = raw_capture() else { return };
    let full = osprey(&cap, &[]);
    assert!(full.status.success());
    let bytes = std::fs::read(&cap).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.scap");
    // 135000 bytes ends in the middle of an event block, after ~335 shown events.
    std::fs::write(&p, &bytes[..135_000]).unwrap();
    let o = osprey(&p.to_string_lossy(), &[]);
    assert_clean_error(&o);
    let err = stderr(&o);
    assert!(err.contains("at byte ") && err.contains("block"), "{err}");
    assert!(!o.stdout.is_empty());
    assert!(
        full.stdout.starts_with(&o.stdout),
        "output before the damage must be what the full capture prints"
    );
}

#[test]
fn lists_fields_and_events() {
    let o = osprey_args(&["-l"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("proc.name") && text.contains("fd.name"),
        "{text}"
    );
    let o = osprey_args(&["-L"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("> open(") && text.contains("< execve("),
        "{text}"
    );
}
