//! A large capture built from real ones: the shared captures repeated, each
//! pass shifted in time past the previous one.

use anyhow::{bail, Context, Result};
use osprey_event::snapshot::Snapshot;
use osprey_event::EventRef;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The shared directory, next to the repository.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// Captures mixed by default, from `SHARED/captures`: the HTTP scenario of
/// `inspect_502Error.scap` plus process-, file- and network-heavy captures.
pub const DEFAULT_MIX: [&str; 8] = [
    "inspect_502Error.scap",
    "falco_psp_run_as_user_0_container.scap",
    "libs_sample.scap",
    "libs_curl_google.scap",
    "falco_cat_write.scap",
    "falco_open-multiple-files.scap",
    "falco_connect_localhost.scap",
    "libs_test_ipv6_client.scap",
];

/// The paths of [`DEFAULT_MIX`] in the shared captures directory.
pub fn default_sources() -> Vec<PathBuf> {
    let dir = Path::new(SHARED).join("captures");
    DEFAULT_MIX.iter().map(|f| dir.join(f)).collect()
}

/// One source capture: its first timestamp and time span.
struct Source {
    path: PathBuf,
    first: u64,
    span: u64,
}

/// Adds `add`'s threads, users, groups and interfaces not yet in `into`.
fn merge_snapshot(into: &mut Snapshot, add: &Snapshot, tids: &mut HashSet<u64>) {
    if into.machine.is_none() {
        into.machine.clone_from(&add.machine);
    }
    for p in &add.procs {
        if tids.insert(p.tid) {
            into.procs.push(p.clone());
        }
    }
    for u in &add.users {
        if !into.users.iter().any(|x| x.uid == u.uid) {
            into.users.push(u.clone());
        }
    }
    for g in &add.groups {
        if !into.groups.iter().any(|x| x.gid == g.gid) {
            into.groups.push(g.clone());
        }
    }
    for i in &add.interfaces {
        if !into.interfaces.contains(i) {
            into.interfaces.push(i.clone());
        }
    }
}

/// Writes `dest` with the sources' events repeated until at least `want`
/// events, every source's pass shifted in time past the previous one. The
/// snapshot is the union of the sources' snapshots (a thread already known
/// keeps the first source's entry). Returns the event count.
pub fn build_capture(sources: &[PathBuf], dest: &Path, want: u64) -> Result<u64> {
    let mut snap = Snapshot::default();
    let mut tids = HashSet::new();
    let mut srcs = Vec::new();
    for path in sources {
        let mut r = osprey_scap::Reader::open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        merge_snapshot(&mut snap, r.snapshot(), &mut tids);
        let (mut first, mut last) = (None, 0);
        while let Some(ev) = r.next_event()? {
            first.get_or_insert(ev.ts());
            last = ev.ts();
        }
        // Captures with only a snapshot add threads but no events.
        if let Some(first) = first {
            srcs.push(Source {
                path: path.clone(),
                first,
                span: last - first + 1_000_000,
            });
        }
    }
    if srcs.is_empty() {
        bail!("the source captures have no events");
    }
    let mut w = osprey_scap::Writer::create(dest, false)?;
    w.write_snapshot(&snap)?;
    let mut written = 0u64;
    // Start where the first source starts, so the dates look like its own.
    let mut cursor = srcs[0].first;
    let mut buf = Vec::new();
    while written < want {
        for s in &srcs {
            let mut r = osprey_scap::Reader::open(&s.path)?;
            while let Some(ev) = r.next_event()? {
                buf.clear();
                buf.extend_from_slice(ev.raw());
                buf[..8].copy_from_slice(&(ev.ts() - s.first + cursor).to_le_bytes());
                let shifted = EventRef::parse(&buf, ev.cpu, ev.dump_flags)?;
                w.write_event(&shifted)?;
                written += 1;
            }
            cursor += s.span;
        }
    }
    w.finish()?;
    Ok(written)
}
