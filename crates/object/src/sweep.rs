//! Start-up sweep of orphaned data files: files a crash left committed on disk but never
//! referenced by metadata (written, renamed, then the process died before the metadata commit),
//! and files whose removal after an overwrite or delete was interrupted. Each file's header
//! names its owner, so deciding needs one metadata lookup, not a scan of the whole index.

use std::time::SystemTime;

use rustfs_data::ShardHeader;
use rustfs_meta::{Body, ObjectRecord, PartRecord, ScanStep, Table, decode, keys};

use crate::ObjectStore;

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
    pub fn sweep_orphans(&self, before: SystemTime) -> SweepReport {
        let mut report = SweepReport::default();
        for f in self.data.stored_files(before) {
            report.scanned += 1;
            let Some(h) = &f.header else {
                report.unreadable += 1;
                tracing::warn!(path = %f.path.display(), "data file with an unreadable header left in place");
                continue;
            };
            if !self.is_referenced(h, &f.id) {
                tracing::info!(path = %f.path.display(), bucket = %h.bucket, key = %h.key, "removing orphaned data file");
                if std::fs::remove_file(&f.path).is_ok() {
                    report.removed += 1;
                }
            }
        }
        report
    }

    /// Whether a record refers to the file: the key's current record, one of its noncurrent
    /// versions, or the part the header names.
    fn is_referenced(&self, h: &ShardHeader, id: &str) -> bool {
        let refers = |segments: &[rustfs_meta::Segment]| {
            segments
                .iter()
                .any(|s| matches!(&s.body, Body::Stored(r) if r.id == id))
        };
        let lookup = |table: Table, key: &[u8]| self.meta.get(table, key);
        // On a metadata read error keep the file: a sweep must never lose data.
        match lookup(Table::Objects, &keys::object_key(&h.bucket, &h.key)) {
            Ok(Some(v)) => match decode::<ObjectRecord>(&v) {
                Ok(rec) if refers(&rec.segments) => return true,
                Ok(_) => {}
                Err(_) => return true,
            },
            Ok(None) => {}
            Err(_) => return true,
        }
        // Noncurrent versions keep their files.
        let (start, end) = keys::versions_range(&h.bucket, &h.key);
        let mut found = false;
        let scanned =
            self.meta.scan(
                Table::Versions,
                &start,
                &end,
                &mut |_, v| match decode::<ObjectRecord>(v) {
                    Ok(rec) if !refers(&rec.segments) => ScanStep::Next,
                    _ => {
                        found = true;
                        ScanStep::Stop
                    }
                },
            );
        if found || scanned.is_err() {
            return true;
        }
        if h.upload_id.is_empty() {
            return false;
        }
        match lookup(Table::Parts, &keys::part_key(&h.upload_id, h.part_number)) {
            Ok(Some(v)) => {
                decode::<PartRecord>(&v).map_or(true, |p| refers(std::slice::from_ref(&p.segment)))
            }
            Ok(None) => false,
            Err(_) => true,
        }
    }
}
