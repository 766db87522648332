//! Start-up sweep of orphaned data files: files a crash left committed on disk but never
//! referenced by metadata (written, renamed, then the process died before the metadata commit),
//! and files whose removal after an overwrite or delete was interrupted. Each file's header
//! names its owner, so deciding needs one metadata lookup, not a scan of the whole index.

use std::time::SystemTime;

use rustfs_data::ShardHeader;
use rustfs_meta::{Body, ObjectRecord, PartRecord, ScanStep, Table, decode, keys};

use crate::{ObjectStore, Result};

/// What the sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub scanned: usize,
    pub removed: usize,
    /// Files whose header is unreadable: kept for inspection, never deleted blindly.
    pub unreadable: usize,
}

impl ObjectStore {
    /// Removes unreferenced data files last modified before `before` (the server's start, so
    /// writes in flight are never touched).
    pub async fn sweep_orphans(&self, before: SystemTime) -> SweepReport {
        let mut report = SweepReport::default();
        let data = self.data.clone();
        let files = tokio::task::spawn_blocking(move || data.stored_files(before))
            .await
            .unwrap_or_default();
        for f in files {
            report.scanned += 1;
            let Some(h) = &f.header else {
                report.unreadable += 1;
                tracing::warn!(path = %f.path.display(), "data file with an unreadable header left in place");
                continue;
            };
            // On a metadata read error keep the file: a sweep must never lose data.
            if !self.is_referenced(h, &f.id).await.unwrap_or(true) {
                tracing::info!(path = %f.path.display(), bucket = %h.bucket, key = %h.key, "removing orphaned data file");
                if std::fs::remove_file(&f.path).is_ok() {
                    report.removed += 1;
                }
            }
        }
        report
    }

    /// Whether a record refers to the file: the key's current record, one of its noncurrent
    /// versions, or the part the header names (one read-only transaction). An undecodable
    /// record counts as referring to it.
    async fn is_referenced(&self, h: &ShardHeader, id: &str) -> Result<bool> {
        fn refers(segments: &[rustfs_meta::Segment], id: &str) -> bool {
            segments
                .iter()
                .any(|s| matches!(&s.body, Body::Stored(r) if r.id == id))
        }
        self.transact(|t| {
            Box::pin(async move {
                if let Some(v) = t
                    .get(Table::Objects, &keys::object_key(&h.bucket, &h.key))
                    .await?
                {
                    match decode::<ObjectRecord>(&v) {
                        Ok(rec) if refers(&rec.segments, id) => return Ok(true),
                        Ok(_) => {}
                        Err(_) => return Ok(true),
                    }
                }
                // Noncurrent versions keep their files.
                let (start, end) = keys::versions_range(&h.bucket, &h.key);
                let mut found = false;
                t.scan(
                    Table::Versions,
                    &start,
                    &end,
                    &mut |_, v| match decode::<ObjectRecord>(v) {
                        Ok(rec) if !refers(&rec.segments, id) => ScanStep::Next,
                        _ => {
                            found = true;
                            ScanStep::Stop
                        }
                    },
                )
                .await?;
                if found {
                    return Ok(true);
                }
                if h.upload_id.is_empty() {
                    return Ok(false);
                }
                match t
                    .get(Table::Parts, &keys::part_key(&h.upload_id, h.part_number))
                    .await?
                {
                    Some(v) => Ok(decode::<PartRecord>(&v)
                        .map_or(true, |p| refers(std::slice::from_ref(&p.segment), id))),
                    None => Ok(false),
                }
            })
        })
        .await
    }
}
