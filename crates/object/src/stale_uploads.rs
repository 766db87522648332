//! The `stale-uploads` worker: aborts multipart uploads left incomplete for longer than a set
//! age, in every bucket (MinIO's stale upload expiry; a bucket's own
//! `AbortIncompleteMultipartUpload` rule is the lifecycle worker's). Off unless an age is
//! set (`RUSTFS_STALE_UPLOAD_EXPIRY`). One node of a cluster runs each sweep: the one holding
//! the lease `stale-uploads`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::worker::{Step, Worker, WorkerInfo};
use crate::{ObjectError, ObjectStore, Result, UploadListQuery, lease, now_ms};

/// Uploads looked at per step.
const PAGE: usize = 1000;

pub struct StaleUploads {
    store: Arc<ObjectStore>,
    node: String,
    max_age: Duration,
    last: Option<tokio::time::Instant>,
    sweeps: u64,
    aborted: u64,
}

impl StaleUploads {
    /// Aborts uploads older than `max_age`, looking every quarter of it (at most hourly).
    pub fn new(store: Arc<ObjectStore>, node: String, max_age: Duration) -> Self {
        Self {
            store,
            node,
            max_age,
            last: None,
            sweeps: 0,
            aborted: 0,
        }
    }

    fn every(&self) -> Duration {
        (self.max_age / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600))
    }

    async fn sweep(&mut self) -> Result<u64> {
        let meta = self.store.meta();
        let ttl = self.every().max(Duration::from_secs(60));
        if !lease::acquire(&*meta, "stale-uploads", &self.node, ttl).await? {
            return Ok(0);
        }
        let cutoff = now_ms() - i64::try_from(self.max_age.as_millis()).unwrap_or(i64::MAX);
        let mut seen = 0u64;
        for (bucket, _) in self.store.list_buckets().await? {
            let mut q = UploadListQuery {
                prefix: String::new(),
                delimiter: None,
                key_marker: None,
                upload_id_marker: None,
                max_uploads: PAGE,
            };
            // Bounded: at most 100 pages a bucket a sweep.
            for _ in 0..100 {
                let page = match self.store.list_uploads(&bucket, &q).await {
                    Ok(p) => p,
                    Err(ObjectError::NoSuchBucket) => break,
                    Err(e) => return Err(e),
                };
                for u in &page.uploads {
                    seen += 1;
                    if u.initiated_ms < cutoff {
                        match self
                            .store
                            .abort_multipart_upload(&bucket, &u.key, &u.upload_id)
                            .await
                        {
                            Ok(()) => self.aborted += 1,
                            Err(ObjectError::NoSuchUpload) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                match page.uploads.last() {
                    Some(last) if page.is_truncated => {
                        q.key_marker = Some(last.key.clone());
                        q.upload_id_marker = Some(last.upload_id.clone());
                    }
                    _ => break,
                }
            }
        }
        lease::release(&*meta, "stale-uploads", &self.node).await?;
        Ok(seen)
    }
}

impl Worker for StaleUploads {
    fn name(&self) -> String {
        "stale-uploads".into()
    }

    fn step(&mut self) -> BoxFuture<'_, Result<Step>> {
        Box::pin(async move {
            if self.last.is_some_and(|t| t.elapsed() < self.every()) {
                return Ok(Step::Idle);
            }
            self.last = Some(tokio::time::Instant::now());
            self.sweeps += 1;
            self.sweep().await?;
            Ok(Step::Idle)
        })
    }

    fn idle_delay(&self) -> Duration {
        self.every()
    }

    fn info(&self) -> WorkerInfo {
        WorkerInfo {
            progress: format!(
                "uploads older than {} s are aborted",
                self.max_age.as_secs()
            ),
            counters: BTreeMap::from([("sweeps", self.sweeps), ("aborted", self.aborted)]),
        }
    }
}
