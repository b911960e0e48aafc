//! File sink: the alerts' Falco JSON, one per line, appended.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;

use super::{Outcome, Queued, Sink};
use crate::config::{FileConfig, QueueConfig};
use crate::Result;

/// One file destination (opened per batch, so rotation by rename just works).
#[derive(Debug)]
pub(crate) struct FileSink {
    path: PathBuf,
    buf: Vec<u8>,
}

/// Builds a `file` sink.
pub(crate) fn build(c: &FileConfig, _name: &str, _q: &QueueConfig) -> Result<Sink> {
    Ok(Sink::File(FileSink {
        path: c.path.clone(),
        buf: Vec::new(),
    }))
}

impl FileSink {
    pub(crate) async fn send(&mut self, batch: &[Queued]) -> Outcome {
        self.buf.clear();
        for q in batch {
            q.alert.write_json(&mut self.buf);
            self.buf.push(b'\n');
        }
        let r = async {
            let mut f = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .await?;
            f.write_all(&self.buf).await?;
            f.sync_data().await
        }
        .await;
        match r {
            Ok(()) => Outcome::ok(batch.len()),
            Err(e) => Outcome::failed(0, false, format!("{}: {e}", self.path.display())),
        }
    }
}
