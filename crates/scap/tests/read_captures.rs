//! Reads every shared capture end to end.

use std::path::PathBuf;

use osprey_scap::Reader;

fn captures() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures"
    ));
    match std::fs::read_dir(&dir) {
        Ok(rd) => {
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "scap"))
                .collect();
            v.sort();
            Some(v)
        }
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("captures {} missing under CI: {e}", dir.display())
        }
        Err(e) => {
            eprintln!("SKIPPED: captures {} not available ({e})", dir.display());
            None
        }
    }
}

#[test]
fn reads_every_capture() {
    let Some(files) = captures() else { return };
    assert!(files.len() >= 17, "expected the 17 shared captures");
    for f in files {
        let mut r = Reader::open(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let snap = r.snapshot().clone();
        let mut n = 0u64;
        while let Some(ev) = r
            .next_event()
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
        {
            assert!(ev.info().is_some());
            assert!(
                // meta events injected by userspace (container JSON) may carry ts 0
                ev.ts() == 0 || ev.ts() > 1_400_000_000_000_000_000,
                "{}: ts {} type {}",
                f.display(),
                ev.ts(),
                ev.etype()
            );
            assert!(ev.params().count() == ev.nparams());
            n += 1;
        }
        assert_eq!(n, r.events_read());
        let fds: usize = snap.procs.iter().map(|p| p.fds.len()).sum();
        eprintln!(
            "{}: v{:?} {} procs {} fds {} users {} groups {} ifs, {} events",
            f.file_name().unwrap().to_string_lossy(),
            r.version(),
            snap.procs.len(),
            fds,
            snap.users.len(),
            snap.groups.len(),
            snap.interfaces.len(),
            n
        );
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name == "falco_empty.scap" {
            assert!(!snap.procs.is_empty());
        } else {
            assert!(n > 0, "{name}: no events");
        }
        if name == "inspect_502Error.scap" {
            assert_eq!(n, 22_381);
        }
    }
}
