//! What the live osprey-guard tests share.

use std::path::Path;

/// Whether live tests can run here: root and kernel BTF. Outside CI a
/// missing requirement skips the test loudly; under `CI=true` it fails.
pub(crate) fn live_ready() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0");
    let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    let missing = match (root, btf) {
        (true, true) => return true,
        (false, _) => "root (the eBPF driver needs it)",
        (true, false) => "kernel BTF (/sys/kernel/btf/vmlinux)",
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "live test needs {missing}"
    );
    eprintln!("SKIPPED: live osprey-guard test needs {missing}");
    false
}
