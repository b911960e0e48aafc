//! The bounded persistent queue of one output instance, in a `redb` database file.
//!
//! Items are the alerts' Falco JSON, keyed by a monotonic id that survives restarts
//! (kept in a meta table, so ids are never reused even after the queue empties; sinks
//! use them as idempotency keys). Every commit is durable (`fsync`) before it returns.
//! Delivered items are removed ("acked"); a restart resumes with whatever is left.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};

use crate::config::Overflow;
use crate::{Error, Result};

const ITEMS: TableDefinition<u64, &[u8]> = TableDefinition::new("items");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const NEXT_ID: &str = "next_id";
const EPOCH: &str = "epoch";

/// A persistent FIFO with a bound on its length.
#[derive(Debug)]
pub(crate) struct DiskQueue {
    name: String,
    db: Database,
    bound: u64,
    overflow: Overflow,
    len: AtomicU64,
    /// Random number fixed when the file is created: with the ids it names an alert
    /// uniquely even if the queue file is deleted and ids start over.
    epoch: u64,
    /// Serialises write transactions with the update of `len` that follows each.
    write: Mutex<()>,
}

impl DiskQueue {
    /// Opens (or creates) the queue file.
    pub(crate) fn open(
        name: &str,
        path: &Path,
        bound: u64,
        overflow: Overflow,
    ) -> Result<DiskQueue> {
        let err = |e: &dyn std::fmt::Display| Error::Queue {
            output: name.to_owned(),
            message: format!("{}: {e}", path.display()),
        };
        let db = Database::create(path).map_err(|e| err(&e))?;
        let txn = db.begin_write().map_err(|e| err(&e))?;
        let (len, epoch) = {
            let items = txn.open_table(ITEMS).map_err(|e| err(&e))?;
            let mut meta = txn.open_table(META).map_err(|e| err(&e))?;
            let stored = meta.get(EPOCH).map_err(|e| err(&e))?.map(|v| v.value());
            let epoch = match stored {
                Some(e) => e,
                None => {
                    let e = fastrand::u64(..);
                    meta.insert(EPOCH, e).map_err(|e| err(&e))?;
                    e
                }
            };
            (items.len().map_err(|e| err(&e))?, epoch)
        };
        txn.commit().map_err(|e| err(&e))?;
        Ok(DiskQueue {
            name: name.to_owned(),
            db,
            bound: bound.max(1),
            overflow,
            len: AtomicU64::new(len),
            epoch,
            write: Mutex::new(()),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::Queue {
            output: self.name.clone(),
            message: e.to_string(),
        }
    }

    /// The queue file's epoch.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Alerts waiting.
    pub(crate) fn len(&self) -> u64 {
        self.len.load(Ordering::Relaxed)
    }

    /// Appends items in one durable transaction; returns how many alerts the bound
    /// discarded (old ones or incoming ones, by the overflow policy).
    pub(crate) fn push(&self, items: &[Vec<u8>]) -> Result<u64> {
        let _guard = self.write.lock().map_err(|e| self.err(e))?;
        let mut txn = self.db.begin_write().map_err(|e| self.err(e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| self.err(e))?;
        let mut dropped = 0u64;
        let mut len;
        {
            let mut table = txn.open_table(ITEMS).map_err(|e| self.err(e))?;
            len = table.len().map_err(|e| self.err(e))?;
            let mut meta = txn.open_table(META).map_err(|e| self.err(e))?;
            let mut next = match meta.get(NEXT_ID).map_err(|e| self.err(e))? {
                Some(v) => v.value(),
                None => table
                    .last()
                    .map_err(|e| self.err(e))?
                    .map_or(0, |(k, _)| k.value() + 1),
            };
            for item in items {
                if len >= self.bound {
                    dropped += 1;
                    match self.overflow {
                        Overflow::DropNewest => continue,
                        Overflow::DropOldest => {
                            if table.pop_first().map_err(|e| self.err(e))?.is_some() {
                                len -= 1;
                            }
                        }
                    }
                }
                table
                    .insert(next, item.as_slice())
                    .map_err(|e| self.err(e))?;
                next += 1;
                len += 1;
            }
            meta.insert(NEXT_ID, next).map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))?;
        self.len.store(len, Ordering::Relaxed);
        Ok(dropped)
    }

    /// The oldest `max` items, without removing them.
    pub(crate) fn peek(&self, max: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(ITEMS).map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(max.min(1024));
        for entry in table.range::<u64>(..).map_err(|e| self.err(e))?.take(max) {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Removes delivered (or discarded) items in one durable transaction.
    pub(crate) fn ack(&self, ids: &[u64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut txn = self.db.begin_write().map_err(|e| self.err(e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| self.err(e))?;
        let len;
        {
            let mut table = txn.open_table(ITEMS).map_err(|e| self.err(e))?;
            for id in ids {
                table.remove(*id).map_err(|e| self.err(e))?;
            }
            len = table.len().map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))?;
        self.len.store(len, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(r: std::ops::Range<u8>) -> Vec<Vec<u8>> {
        r.map(|i| vec![i]).collect()
    }

    #[test]
    fn fifo_survives_reopen_and_ids_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.redb");
        {
            let q = DiskQueue::open("t", &p, 100, Overflow::DropOldest).unwrap();
            assert_eq!(q.push(&items(0..5)).unwrap(), 0);
            let got = q.peek(2).unwrap();
            assert_eq!(got, vec![(0, vec![0]), (1, vec![1])]);
            q.ack(&[0, 1]).unwrap();
            assert_eq!(q.len(), 3);
        }
        let q = DiskQueue::open("t", &p, 100, Overflow::DropOldest).unwrap();
        assert_eq!(q.len(), 3);
        assert_eq!(q.peek(10).unwrap()[0], (2, vec![2]));
        q.ack(&[2, 3, 4]).unwrap();
        assert_eq!(q.len(), 0);
        drop(q);
        let q = DiskQueue::open("t", &p, 100, Overflow::DropOldest).unwrap();
        q.push(&items(9..10)).unwrap();
        assert_eq!(q.peek(1).unwrap(), vec![(5, vec![9])]);
    }

    #[test]
    fn bound_drops_oldest_or_newest() {
        let dir = tempfile::tempdir().unwrap();
        let q = DiskQueue::open("a", &dir.path().join("a"), 3, Overflow::DropOldest).unwrap();
        assert_eq!(q.push(&items(0..5)).unwrap(), 2);
        let kept: Vec<u8> = q.peek(10).unwrap().into_iter().map(|(_, v)| v[0]).collect();
        assert_eq!(kept, vec![2, 3, 4]);
        let q = DiskQueue::open("b", &dir.path().join("b"), 3, Overflow::DropNewest).unwrap();
        assert_eq!(q.push(&items(0..5)).unwrap(), 2);
        let kept: Vec<u8> = q.peek(10).unwrap().into_iter().map(|(_, v)| v[0]).collect();
        assert_eq!(kept, vec![0, 1, 2]);
        assert_eq!(q.len(), 3);
    }
}
