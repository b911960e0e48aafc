//! A size-rotated log file that behaves like kube-apiserver's `--audit-log-*` file
//! backend (lumberjack v2.2.1 as the apiserver configures it).
//!
//! * **Trigger.** A record that would make `size + len > max_size` rotates the file
//!   first. On the first record after opening, an existing file with
//!   `size + len >= max_size` is rotated (lumberjack's open rule). A single record
//!   longer than `max_size` is refused with [`Error::TooLarge`]. `max_size == 0`
//!   never rotates (kube-apiserver 1.36+ semantics of `--audit-log-maxsize=0`).
//! * **Backup names.** `<dir>/<stem>-<UTC 2006-01-02T15-04-05.000><ext>`, e.g.
//!   `audit-2026-07-23T18-32-12.123.log`, plus `.gz` once compressed. The time is the
//!   rotation time in UTC. Unlike lumberjack, a name that already exists (two
//!   rotations in the same millisecond) is never overwritten: the time is moved on
//!   by one millisecond until the name is free, so no backup is ever lost.
//! * **Mill.** After each rotation and on first open a background thread lists the
//!   backups, keeps the newest `max_backups` (a file and its `.gz` twin count as
//!   one), then deletes those older than `max_age_days`, then gzips the remaining
//!   uncompressed backups (the `.gz` is synced before its source is removed).
//! * **Files.** The directory is created with mode 0700 and the file with mode 0600
//!   (as kube-apiserver's `ensureLogFile`); a rotated-in file keeps the old file's
//!   mode and owner. The file is opened in append mode and is never truncated.
//!
//! # Durability and fsync policy
//!
//! Records are gathered in a memory buffer ([`RotatingFile::write`]) and handed to
//! the kernel by [`RotatingFile::flush`] (automatically once 64 KiB are pending).
//! A failed flush (e.g. `ENOSPC`, `EFBIG`) cuts the file back to its length before
//! that flush, so no partial record is left behind and nothing written earlier is
//! touched; the records stay pending and the error is returned. `fsync` is called
//! on the old file before every rotation, on the directory after every rename, at
//! most every [`RotateConfig::sync_interval`] from `flush`, and by
//! [`RotatingFile::sync`] / [`RotatingFile::close`] (and on drop).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

/// One MiB, the unit of `--audit-log-maxsize`.
pub const MEGABYTE: u64 = 1024 * 1024;

/// Pending bytes that trigger an automatic flush.
const FLUSH_THRESHOLD: usize = 64 * 1024;

/// Errors of the rotating file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// One record is larger than the maximum file size (lumberjack's message).
    #[error("write length {len} exceeds maximum file size {max}")]
    TooLarge {
        /// Length of the refused record.
        len: u64,
        /// The configured maximum file size in bytes.
        max: u64,
    },
    /// An I/O operation on a path failed; `offset` is the file length at the time.
    #[error("{op} {path} (at byte offset {offset}): {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// Length of the log file when the error happened.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Configuration of a [`RotatingFile`].
#[derive(Debug, Clone)]
pub struct RotateConfig {
    /// The live log file.
    pub path: PathBuf,
    /// Maximum file size in bytes (`--audit-log-maxsize` × [`MEGABYTE`]); 0 never rotates.
    pub max_size: u64,
    /// Delete backups older than this many days; 0 keeps them regardless of age.
    pub max_age_days: u32,
    /// Keep at most this many backups; 0 keeps any number.
    pub max_backups: usize,
    /// Gzip rotated backups.
    pub compress: bool,
    /// `fsync` from [`RotatingFile::flush`] when this long has passed since the last
    /// one; `None` syncs only on rotation, [`RotatingFile::sync`] and close.
    pub sync_interval: Option<Duration>,
}

impl RotateConfig {
    /// A configuration with kube-apiserver 1.36's defaults: 100 MiB, 366 days,
    /// 100 backups, no compression, and a 1 s fsync interval.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RotateConfig {
            path: path.into(),
            max_size: 100 * MEGABYTE,
            max_age_days: 366,
            max_backups: 100,
            compress: false,
            sync_interval: Some(Duration::from_secs(1)),
        }
    }
}

/// The backup-name pattern of one live file: `<prefix><timestamp><ext>[.gz]`.
#[derive(Debug, Clone)]
struct Naming {
    dir: PathBuf,
    prefix: String,
    ext: String,
}

impl Naming {
    fn new(path: &Path) -> Self {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Go's filepath.Ext: from the last dot of the base name, dot included.
        let ext = base
            .rfind('.')
            .map(|i| base[i..].to_string())
            .unwrap_or_default();
        let prefix = format!("{}-", &base[..base.len() - ext.len()]);
        Naming { dir, prefix, ext }
    }

    fn backup_path(&self, ms: i64) -> PathBuf {
        let stamp = format_backup_time(ms);
        self.dir.join(format!("{}{stamp}{}", self.prefix, self.ext))
    }

    /// The timestamp (ms since the epoch) encoded in a backup file name, if it is one.
    fn parse(&self, name: &str) -> Option<(i64, bool)> {
        let rest = name.strip_prefix(self.prefix.as_str())?;
        if let Some(stamp) = rest.strip_suffix(self.ext.as_str()) {
            if let Some(ms) = parse_backup_time(stamp) {
                return Some((ms, false));
            }
        }
        let stamp = rest.strip_suffix(".gz")?.strip_suffix(self.ext.as_str())?;
        parse_backup_time(stamp).map(|ms| (ms, true))
    }
}

/// Formats milliseconds since the epoch as lumberjack's `2006-01-02T15-04-05.000` (UTC).
pub fn format_backup_time(ms: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    format!(
        "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}.{:03}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    )
}

/// Parses lumberjack's backup time `2006-01-02T15-04-05.000` (UTC, exactly three
/// fractional digits) into milliseconds since the epoch.
pub fn parse_backup_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 23 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let seps = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b'-'),
        (16, b'-'),
        (19, b'.'),
    ];
    if seps.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let dt = date.and_hms_milli_opt(num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?)?;
    Some(dt.and_utc().timestamp_millis())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Settings the mill thread needs.
#[derive(Debug, Clone)]
struct MillConfig {
    naming: Naming,
    max_age_days: u32,
    max_backups: usize,
    compress: bool,
}

impl MillConfig {
    fn needed(&self) -> bool {
        self.max_age_days > 0 || self.max_backups > 0 || self.compress
    }

    /// One pass of lumberjack's `millRunOnce`. Errors are returned for the first
    /// failing step; the pass is repeated after the next rotation anyway.
    fn run_once(&self) -> io::Result<()> {
        if !self.needed() {
            return Ok(());
        }
        let mut files: Vec<(i64, String, bool)> = Vec::new();
        for entry in fs::read_dir(&self.naming.dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((ms, gz)) = self.naming.parse(&name) {
                files.push((ms, name, gz));
            }
        }
        // Newest first.
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        let mut remove: Vec<String> = Vec::new();
        if self.max_backups > 0 && self.max_backups < files.len() {
            let mut preserved: Vec<&str> = Vec::new();
            let mut remaining = Vec::new();
            for f in &files {
                let base = if f.2 {
                    &f.1[..f.1.len() - 3]
                } else {
                    f.1.as_str()
                };
                if !preserved.contains(&base) {
                    preserved.push(base);
                }
                if preserved.len() > self.max_backups {
                    remove.push(f.1.clone());
                } else {
                    remaining.push(f.clone());
                }
            }
            files = remaining;
        }
        if self.max_age_days > 0 {
            let cutoff = now_ms() - i64::from(self.max_age_days) * 24 * 3600 * 1000;
            let (old, young): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| f.0 < cutoff);
            remove.extend(old.into_iter().map(|f| f.1));
            files = young;
        }
        let mut first_err = None;
        for name in &remove {
            if let Err(e) = fs::remove_file(self.naming.dir.join(name)) {
                first_err.get_or_insert(e);
            }
        }
        if self.compress {
            for f in files.iter().filter(|f| !f.2) {
                let src = self.naming.dir.join(&f.1);
                if let Err(e) = compress_file(&src) {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Gzips `src` to `src.gz` with the same mode and owner, syncs it, then removes `src`.
fn compress_file(src: &Path) -> io::Result<()> {
    let mut dst_name = src.as_os_str().to_owned();
    dst_name.push(".gz");
    let dst = PathBuf::from(dst_name);
    let result = (|| {
        let mut input = File::open(src)?;
        let meta = input.metadata()?;
        let out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(meta.permissions().mode() & 0o7777)
            .open(&dst)?;
        std::os::unix::fs::fchown(&out, Some(meta.uid()), Some(meta.gid()))?;
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        io::copy(&mut input, &mut gz)?;
        let out = gz.finish()?;
        out.sync_all()
    })();
    match result {
        Ok(()) => fs::remove_file(src),
        Err(e) => {
            // Only the half-written copy goes; the source backup stays.
            let _ = fs::remove_file(&dst);
            Err(e)
        }
    }
}

/// A background thread running the mill on request (coalescing requests like
/// lumberjack's one-slot channel).
#[derive(Debug)]
struct Mill {
    tx: Option<SyncSender<()>>,
    handle: Option<JoinHandle<Vec<io::Error>>>,
}

impl Mill {
    fn start(cfg: MillConfig) -> Self {
        if !cfg.needed() {
            return Mill {
                tx: None,
                handle: None,
            };
        }
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let handle = std::thread::Builder::new()
            .name("audit-log-mill".into())
            .spawn(move || {
                let mut errors = Vec::new();
                while rx.recv().is_ok() {
                    if let Err(e) = cfg.run_once() {
                        errors.push(e);
                    }
                }
                errors
            })
            .ok();
        // Without a thread (spawn failed) the mill runs inline from `request`.
        Mill {
            tx: handle.as_ref().map(|_| tx),
            handle,
        }
    }

    fn request(&self, cfg: &MillConfig) {
        match &self.tx {
            Some(tx) => match tx.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    let _ = cfg.run_once();
                }
            },
            None if cfg.needed() => {
                let _ = cfg.run_once();
            }
            None => {}
        }
    }

    /// Waits for outstanding passes; returns the errors they met.
    fn stop(&mut self) -> Vec<io::Error> {
        self.tx = None;
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

/// An append-only log file rotated like lumberjack. See the module docs.
#[derive(Debug)]
pub struct RotatingFile {
    cfg: RotateConfig,
    mill_cfg: MillConfig,
    mill: Mill,
    file: Option<File>,
    /// Bytes in the file as far as we know (excludes `pending`).
    size: u64,
    pending: Vec<u8>,
    last_backup_ms: i64,
    last_sync: Instant,
    unsynced: bool,
    rotations: u64,
}

impl RotatingFile {
    /// Creates the directory (0700) and the file (0600) if needed, like
    /// kube-apiserver does before its first write. Existing content is kept.
    pub fn open(cfg: RotateConfig) -> Result<Self, Error> {
        let naming = Naming::new(&cfg.path);
        let io_err = |op, source| Error::Io {
            op,
            path: cfg.path.clone(),
            offset: 0,
            source,
        };
        if !naming.dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&naming.dir)
                .map_err(|e| io_err("creating the directory of", e))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&cfg.path)
            .map_err(|e| io_err("opening", e))?;
        drop(file);
        let mill_cfg = MillConfig {
            naming,
            max_age_days: cfg.max_age_days,
            max_backups: cfg.max_backups,
            compress: cfg.compress,
        };
        let mill = Mill::start(mill_cfg.clone());
        Ok(RotatingFile {
            cfg,
            mill_cfg,
            mill,
            file: None,
            size: 0,
            pending: Vec::with_capacity(FLUSH_THRESHOLD * 2),
            last_backup_ms: 0,
            last_sync: Instant::now(),
            unsynced: false,
            rotations: 0,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &RotateConfig {
        &self.cfg
    }

    /// How many rotations this writer made.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    /// Bytes accepted but not yet handed to the kernel.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Drops the records not yet flushed (e.g. after a failed flush, when the caller
    /// will resubmit them itself).
    pub fn discard_pending(&mut self) {
        self.pending.clear();
    }

    fn io_err(&self, op: &'static str, source: io::Error) -> Error {
        Error::Io {
            op,
            path: self.cfg.path.clone(),
            offset: self.size,
            source,
        }
    }

    /// Accepts one whole record (one line). It rotates first if the record would not
    /// fit, and flushes when enough bytes are pending. On error the record is not
    /// accepted (the caller still holds it) and earlier records stay pending.
    pub fn write(&mut self, record: &[u8]) -> Result<(), Error> {
        let len = record.len() as u64;
        let max = self.cfg.max_size;
        if max > 0 && len > max {
            return Err(Error::TooLarge { len, max });
        }
        if self.file.is_none() {
            self.open_existing_or_new(len)?;
        }
        if max > 0 && self.size + self.pending.len() as u64 + len > max {
            self.flush()?;
            self.rotate()?;
        }
        self.pending.extend_from_slice(record);
        if self.pending.len() >= FLUSH_THRESHOLD {
            self.flush()?;
        }
        Ok(())
    }

    /// lumberjack's `openExistingOrNew`: mill, then rotate an existing file that is
    /// already full (`size + len >= max`), else append to it.
    fn open_existing_or_new(&mut self, len: u64) -> Result<(), Error> {
        self.mill.request(&self.mill_cfg);
        let meta = match fs::metadata(&self.cfg.path) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(self.io_err("reading the metadata of", e)),
        };
        match meta {
            Some(m) if self.cfg.max_size == 0 || m.len() + len < self.cfg.max_size => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(&self.cfg.path)
                    .map_err(|e| self.io_err("opening", e))?;
                self.size = m.len();
                self.file = Some(file);
                Ok(())
            }
            _ => self.rotate(),
        }
    }

    /// Renames the live file to a backup name (if it exists) and starts a new one.
    fn rotate(&mut self) -> Result<(), Error> {
        if let Some(file) = self.file.take() {
            if let Err(e) = file.sync_all() {
                self.file = Some(file);
                return Err(self.io_err("syncing before rotating", e));
            }
        }
        let mut mode = 0o600;
        let mut owner = None;
        match fs::metadata(&self.cfg.path) {
            Ok(meta) => {
                mode = meta.permissions().mode() & 0o7777;
                owner = Some((meta.uid(), meta.gid()));
                let backup = self.free_backup_name();
                fs::rename(&self.cfg.path, &backup).map_err(|e| self.io_err("renaming", e))?;
                self.rotations += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(self.io_err("reading the metadata of", e)),
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(mode)
            .open(&self.cfg.path)
            .map_err(|e| self.io_err("creating", e))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
                .map_err(|e| self.io_err("changing the owner of", e))?;
        }
        if let Ok(dir) = File::open(&self.mill_cfg.naming.dir) {
            // Persist the rename; a failure here loses no data already synced.
            let _ = dir.sync_all();
        }
        self.file = Some(file);
        self.size = 0;
        self.last_sync = Instant::now();
        self.unsynced = false;
        self.mill.request(&self.mill_cfg);
        Ok(())
    }

    /// A backup name for now that does not exist yet (plain or `.gz`), with a
    /// timestamp strictly after the previous one this writer used.
    fn free_backup_name(&mut self) -> PathBuf {
        let mut ms = now_ms().max(self.last_backup_ms + 1);
        loop {
            let path = self.mill_cfg.naming.backup_path(ms);
            let mut gz = path.as_os_str().to_owned();
            gz.push(".gz");
            if !path.exists() && !Path::new(&gz).exists() {
                self.last_backup_ms = ms;
                return path;
            }
            ms += 1;
        }
    }

    /// Hands the pending records to the kernel with one write. On failure the file is
    /// cut back to its length before this call (removing any partial record), the
    /// records stay pending and the error is returned.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            self.open_existing_or_new(0)?;
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if let Err(e) = file.write_all(&self.pending) {
            let cut = file.set_len(self.size);
            let op = if cut.is_ok() {
                "writing"
            } else {
                "writing (and cutting back a partial record)"
            };
            return Err(self.io_err(op, e));
        }
        self.size += self.pending.len() as u64;
        self.pending.clear();
        self.unsynced = true;
        if let Some(every) = self.cfg.sync_interval {
            if self.last_sync.elapsed() >= every {
                self.sync_file()?;
            }
        }
        Ok(())
    }

    fn sync_file(&mut self) -> Result<(), Error> {
        if let Some(file) = &self.file {
            if self.unsynced {
                file.sync_data().map_err(|e| self.io_err("syncing", e))?;
            }
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Flushes and `fsync`s the live file.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.flush()?;
        self.sync_file()
    }

    /// Flushes, syncs, and waits for the background mill; returns the first error
    /// (including one met by the mill).
    pub fn close(mut self) -> Result<(), Error> {
        let res = self.sync();
        let mill_errors = self.mill.stop();
        res?;
        match mill_errors.into_iter().next() {
            Some(e) => Err(Error::Io {
                op: "cleaning up the backups of",
                path: self.cfg.path.clone(),
                offset: self.size,
                source: e,
            }),
            None => Ok(()),
        }
    }
}

impl Drop for RotatingFile {
    fn drop(&mut self) {
        let _ = self.sync();
        let _ = self.mill.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_time_round_trips() {
        let ms = 1_784_831_532_123; // 2026-07-23T18:32:12.123Z
        let s = format_backup_time(ms);
        assert_eq!(s, "2026-07-23T18-32-12.123");
        assert_eq!(parse_backup_time(&s), Some(ms));
        assert_eq!(parse_backup_time("2026-07-23T18-32-12.12"), None);
        assert_eq!(parse_backup_time("2026-02-30T18-32-12.123"), None);
        assert_eq!(parse_backup_time("2026-07-23T18:32:12.123"), None);
    }

    #[test]
    fn naming_follows_go_ext() {
        let n = Naming::new(Path::new("/var/log/audit.log"));
        assert_eq!(n.prefix, "audit-");
        assert_eq!(n.ext, ".log");
        assert_eq!(
            n.backup_path(1_784_831_532_123),
            PathBuf::from("/var/log/audit-2026-07-23T18-32-12.123.log")
        );
        assert_eq!(
            n.parse("audit-2026-07-23T18-32-12.123.log.gz"),
            Some((1_784_831_532_123, true))
        );
        assert_eq!(n.parse("audit.log"), None);
        assert_eq!(n.parse("audit-2026-07-23T18-32-12.123.txt"), None);
        let n = Naming::new(Path::new("audit"));
        assert_eq!((n.prefix.as_str(), n.ext.as_str()), ("audit-", ""));
        assert_eq!(n.dir, PathBuf::from("."));
        let n = Naming::new(Path::new("a.b.json"));
        assert_eq!((n.prefix.as_str(), n.ext.as_str()), ("a.b-", ".json"));
    }

    #[test]
    fn refuses_a_record_larger_than_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = RotateConfig::new(dir.path().join("a.log"));
        cfg.max_size = 4;
        let mut f = RotatingFile::open(cfg).expect("open");
        let err = f.write(b"12345").expect_err("too large");
        assert_eq!(
            err.to_string(),
            "write length 5 exceeds maximum file size 4"
        );
        f.write(b"1234").expect("fits");
        f.close().expect("close");
    }

    #[test]
    fn rotates_before_overflowing_and_on_full_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.log");
        let mut cfg = RotateConfig::new(&path);
        cfg.max_size = 10;
        cfg.max_backups = 0;
        cfg.max_age_days = 0;
        let mut f = RotatingFile::open(cfg.clone()).expect("open");
        f.write(b"12345").expect("w");
        f.write(b"12345").expect("w"); // exactly 10: no rotation
        assert_eq!(f.rotations(), 0);
        f.write(b"1").expect("w");
        assert_eq!(f.rotations(), 1);
        f.close().expect("close");
        assert_eq!(fs::read(&path).expect("read"), b"1");
        // Reopen: 1 + 9 >= 10 rotates on the first write.
        let mut f = RotatingFile::open(cfg).expect("open");
        f.write(b"123456789").expect("w");
        assert_eq!(f.rotations(), 1);
        f.close().expect("close");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 3);
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
