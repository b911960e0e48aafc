//! The rotating audit log over many tiny files and writer restarts: nothing lost or
//! duplicated, lumberjack's backup names, `maxbackup` and `maxage` honoured, and a
//! full disk reported as an error without truncating what was written.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use osprey_audit::log::{RotateConfig, RotatingFile};

/// One record: `{"id":N,"pad":"xxx"}\n` with a length varying with `n`.
fn record(n: u64) -> Vec<u8> {
    let pad = "x".repeat((n % 37) as usize);
    format!("{{\"id\":{n},\"pad\":\"{pad}\"}}\n").into_bytes()
}

fn config(path: &Path, max_size: u64, max_backups: usize, compress: bool) -> RotateConfig {
    let mut cfg = RotateConfig::new(path);
    cfg.max_size = max_size;
    cfg.max_backups = max_backups;
    cfg.max_age_days = 0;
    cfg.compress = compress;
    cfg.sync_interval = None;
    cfg
}

/// `audit-YYYY-MM-DDTHH-MM-SS.mmm.log[.gz]` → the timestamp text.
fn backup_stamp(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("audit-")?;
    let stamp = rest
        .strip_suffix(".log.gz")
        .or_else(|| rest.strip_suffix(".log"))?;
    let b = stamp.as_bytes();
    let shape = b.len() == 23
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 13 | 16 => *c == b'-',
            10 => *c == b'T',
            19 => *c == b'.',
            _ => c.is_ascii_digit(),
        });
    shape.then_some(stamp)
}

/// Every file of the log directory: name → content (gunzipped).
fn read_all(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("ls") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = fs::read(entry.path()).expect("read");
        let text = if name.ends_with(".gz") {
            let mut s = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut s)
                .expect("gunzip");
            s
        } else {
            String::from_utf8(bytes).expect("utf8")
        };
        out.insert(name, text);
    }
    out
}

fn ids(text: &str) -> Vec<u64> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("whole JSON line");
            v["id"].as_u64().expect("id")
        })
        .collect()
}

/// Checks names, and returns all ids in write order (backups by timestamp, then
/// the live file).
fn ids_in_order(dir: &Path) -> (Vec<u64>, usize) {
    let files = read_all(dir);
    let mut backups: Vec<(&str, &String)> = Vec::new();
    for (name, text) in &files {
        if name == "audit.log" {
            continue;
        }
        let stamp = backup_stamp(name).unwrap_or_else(|| panic!("bad backup name {name}"));
        backups.push((stamp, text));
    }
    backups.sort();
    let mut all = Vec::new();
    for (_, text) in &backups {
        all.extend(ids(text));
    }
    all.extend(ids(files.get("audit.log").map_or("", String::as_str)));
    (all, backups.len())
}

#[test]
fn many_rotations_and_restarts_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("logs/audit.log");
    let mut next = 0u64;
    let mut rotations = 0;
    for restart in 0..6 {
        let compress = restart % 2 == 0;
        let mut f = RotatingFile::open(config(&path, 300, 0, compress)).expect("open");
        for _ in 0..150 {
            f.write(&record(next)).expect("write");
            next += 1;
            if next.is_multiple_of(7) {
                f.flush().expect("flush");
            }
        }
        rotations += f.rotations();
        f.close().expect("close");
    }
    let logdir = dir.path().join("logs");
    let mode = fs::metadata(&logdir).expect("dir").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700
    );
    let (all, backups) = ids_in_order(&logdir);
    assert!(rotations > 100, "only {rotations} rotations");
    assert_eq!(backups as u64, rotations);
    // Every event exactly once, in write order, across every file.
    assert_eq!(all, (0..next).collect::<Vec<_>>());
    // Compressed runs left .gz backups only (the last run compressed everything).
    let files = read_all(&logdir);
    assert!(files.keys().any(|n| n.ends_with(".log.gz")));
    for (name, text) in &files {
        assert!(text.len() <= 300, "{name} has {} bytes", text.len());
    }
}

#[test]
fn maxbackup_keeps_the_newest() {
    for compress in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.log");
        let mut next = 0u64;
        for _ in 0..3 {
            let mut f = RotatingFile::open(config(&path, 256, 3, compress)).expect("open");
            for _ in 0..100 {
                f.write(&record(next)).expect("write");
                next += 1;
            }
            f.close().expect("close");
        }
        let (all, backups) = ids_in_order(dir.path());
        assert_eq!(backups, 3, "compress={compress}");
        // What is left is the tail of the stream, contiguous.
        let first = *all.first().expect("some events");
        assert_eq!(all, (first..next).collect::<Vec<_>>());
        let gz = read_all(dir.path())
            .keys()
            .filter(|n| n.ends_with(".gz"))
            .count();
        assert_eq!(gz, if compress { 3 } else { 0 });
    }
}

#[test]
fn maxage_deletes_old_backups_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.log");
    let old = [
        "audit-2020-01-01T00-00-00.000.log",
        "audit-2021-06-30T12-30-45.999.log.gz",
    ];
    let keep = [
        "audit-2099-01-01T00-00-00.000.log",
        "audit-2020-01-01T00-00-00.00.log", // not a backup name: 2 ms digits
        "other-2020-01-01T00-00-00.000.log",
        "audit-2020-01-01T00-00-00.000.txt",
    ];
    for n in old.iter().chain(&keep) {
        fs::write(dir.path().join(n), "{\"id\":0}\n").expect("seed");
    }
    let mut cfg = config(&path, 1 << 20, 0, false);
    cfg.max_age_days = 30;
    let mut f = RotatingFile::open(cfg).expect("open");
    f.write(&record(1)).expect("write");
    f.close().expect("close");
    let names: Vec<String> = read_all(dir.path()).into_keys().collect();
    for n in old {
        assert!(!names.iter().any(|x| x == n), "{n} should be gone");
    }
    for n in keep {
        assert!(names.iter().any(|x| x == n), "{n} should stay");
    }
}

#[test]
fn existing_content_is_appended_to_not_truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.log");
    fs::write(&path, record(0)).expect("seed");
    let mut f = RotatingFile::open(config(&path, 0, 0, false)).expect("open");
    f.write(&record(1)).expect("write");
    f.close().expect("close");
    assert_eq!(ids(&fs::read_to_string(&path).expect("read")), [0, 1]);
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn skip(why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
}

#[test]
fn full_disk_is_an_error_and_keeps_what_was_written() {
    let Some(fs_) = Tmpfs::mount("64k") else {
        return skip("cannot mount a tmpfs (needs root)");
    };
    let filler = fs_.path().join("filler");
    fs::write(&filler, vec![0u8; 16 * 1024]).expect("filler");
    let path = fs_.path().join("audit.log");
    let mut f = RotatingFile::open(config(&path, 0, 0, false)).expect("open");
    let mut written = 0u64;
    let err = loop {
        // Records of ~20-60 bytes, one flush each: the failing one straddles a page.
        if let Err(e) = f.write(&record(written)) {
            break e;
        }
        match f.flush() {
            Ok(()) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 100_000, "a 64k tmpfs never filled up");
    };
    let msg = err.to_string();
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(f.pending_len() > 0, "the failed record must stay pending");
    // Nothing before the failure was cut, and no partial line was left.
    let text = fs::read_to_string(&path).expect("read");
    assert!(text.ends_with('\n'));
    assert_eq!(ids(&text), (0..written).collect::<Vec<_>>());
    // Make room: the pending record goes out with the next flush.
    fs::remove_file(&filler).expect("free some space");
    f.flush().expect("flush after freeing space");
    f.close().expect("close");
    let text = fs::read_to_string(&path).expect("read");
    assert_eq!(ids(&text), (0..=written).collect::<Vec<_>>());
}
