//! Loader tests over small rules files, and the upstream rules files.

use super::*;

/// Path of a shared fixture, or `None` (loudly skipped) when it is missing.
pub(crate) fn shared(rel: &str) -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/")).join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing fixture {}",
        p.display()
    );
    eprintln!("SKIPPED: missing fixture {}", p.display());
    None
}

#[test]
fn upstream_rules_files_load() {
    let names = ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"];
    let mut paths = Vec::new();
    for n in names {
        let Some(p) = shared(&format!("compat/falco-rules/{n}")) else {
            return;
        };
        paths.push(p);
    }
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    for set in [&refs[..1], &refs[1..2], &refs[2..3], &refs[..]] {
        let (rs, res) = Ruleset::load_paths(set, &LoadOptions::default());
        eprintln!("{res}");
        eprintln!("{} rules", rs.rules().len());
    }
}
