//! The committed `bpf/osprey.bpf.o` must be what `cargo xtask bpf` builds from
//! the committed sources (clang 14 output is deterministic for the same input).
//! SKIPPED (loudly) when clang or llvm-strip is not installed.

use std::path::Path;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn committed_object_matches_sources() {
    if !have("clang") || !have("llvm-strip") {
        eprintln!("\n*** SKIPPED driver_object: clang/llvm-strip not installed (scripts/setup installs them) ***\n");
        return;
    }
    let bpf = Path::new(env!("CARGO_MANIFEST_DIR")).join("bpf");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("osprey.bpf.o");
    // The one build script `cargo xtask bpf` runs too.
    let st = Command::new("sh")
        .current_dir(&bpf)
        .arg("build.sh")
        .arg(&out)
        .status()
        .expect("run bpf/build.sh");
    assert!(st.success(), "bpf/build.sh failed");
    let built = std::fs::read(&out).expect("read built object");
    let committed = std::fs::read(bpf.join("osprey.bpf.o")).expect("read committed object");
    assert!(
        built == committed,
        "crates/probe/bpf/osprey.bpf.o is stale: run `cargo xtask bpf` and commit it"
    );
    assert_eq!(committed.as_slice(), osprey_probe::driver::OBJECT);
}
