//! The lifecycle worker: applies each bucket's lifecycle rules (see [`crate::lifecycle`]) in
//! passes over its versions and uploads, a page at a time, on the [`crate::worker`] framework
//! (so at its bounded rate of versions per second).
//!
//! - One node runs a bucket's pass: it holds the lease `lifecycle/<bucket>` ([`crate::lease`])
//!   while it works, renewing it each page. A single server holds every lease.
//! - Progress survives a restart: after each page the last key done is saved as the bucket's
//!   cursor (`worker/lifecycle/<bucket>`, through the `TxnStore`); a pass begins at the cursor
//!   and clears it when it reaches the end.
//! - Every removal is decided again at its commit: the current version expires only if it is
//!   still the one the pass read (an object written meanwhile stays), and nothing that object
//!   lock protects is removed ([`crate::lifecycle::removable`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rustfs_meta::{BucketRecord, LifecycleRule, ObjectRecord, Table, keys};

use crate::lifecycle::{self, removable};
use crate::objects::delete_blobs;
use crate::txn::get;
use crate::worker::{self, Step, Worker, WorkerInfo};
use crate::{
    EtagMatch, ObjectError, ObjectStore, Result, UploadListQuery, VersionEntry, VersionListQuery,
    WriteConditions, lease, new_id, now_ms,
};

/// The worker's name, in the admin status and in its progress keys.
pub const NAME: &str = "lifecycle";
/// How long a bucket's lease lasts without renewal.
const LEASE_TTL: Duration = Duration::from_secs(60);
/// Most versions read per page (one step).
const PAGE: usize = 200;
/// Uploads examined at most per bucket and pass.
const MAX_UPLOADS_PER_PASS: usize = 100_000;

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct LifecycleConfig {
    /// This node's id, the holder named in leases.
    pub node: String,
    /// Time between the starts of two passes.
    pub pass_every: Duration,
    /// Versions read per step: at most a tenth of a second's worth at the rate, so the
    /// runner's pacing keeps the rate smooth.
    pub page: usize,
}

impl LifecycleConfig {
    /// Passes every hour, or under the debug day length, about four per lifecycle day;
    /// `rate` is the versions per second the runner lets through.
    pub fn for_node(node: String, rate: u64) -> Self {
        let pass_every = match lifecycle::debug_day_seconds() {
            Some(s) => Duration::from_millis((s * 1000 / 4).clamp(250, 60_000)),
            None => Duration::from_secs(3600),
        };
        let page = usize::try_from(rate / 10).unwrap_or(PAGE).clamp(1, PAGE);
        Self {
            node,
            pass_every,
            page,
        }
    }
}

struct BucketPass {
    name: String,
    /// The last key done (the next page starts after it).
    cursor: Option<String>,
}

/// What the lifecycle worker did since the process started.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    passes: u64,
    examined: u64,
    expired: u64,
    noncurrent_removed: u64,
    markers_removed: u64,
    uploads_aborted: u64,
    kept_locked: u64,
    skipped_leased: u64,
}

pub struct LifecycleWorker {
    store: Arc<ObjectStore>,
    config: LifecycleConfig,
    queue: VecDeque<String>,
    current: Option<BucketPass>,
    last_pass: Option<tokio::time::Instant>,
    counts: Counts,
}

impl LifecycleWorker {
    pub fn new(store: Arc<ObjectStore>, config: LifecycleConfig) -> Self {
        Self {
            store,
            config,
            queue: VecDeque::new(),
            current: None,
            last_pass: None,
            counts: Counts::default(),
        }
    }

    fn lease_name(bucket: &str) -> String {
        format!("{NAME}/{bucket}")
    }

    async fn next_step(&mut self) -> Result<Step> {
        if self.current.is_none() {
            if self.queue.is_empty() {
                if self
                    .last_pass
                    .is_some_and(|t| t.elapsed() < self.config.pass_every)
                {
                    return Ok(Step::Idle);
                }
                self.last_pass = Some(tokio::time::Instant::now());
                self.counts.passes += 1;
                self.queue = self
                    .store
                    .list_buckets()
                    .await?
                    .into_iter()
                    .filter(|(_, b)| has_enabled_rules(b))
                    .map(|(n, _)| n)
                    .collect();
                if self.queue.is_empty() {
                    return Ok(Step::Idle);
                }
            }
            let Some(name) = self.queue.pop_front() else {
                return Ok(Step::Idle);
            };
            let meta = self.store.meta();
            if !lease::acquire(
                &*meta,
                &Self::lease_name(&name),
                &self.config.node,
                LEASE_TTL,
            )
            .await?
            {
                self.counts.skipped_leased += 1;
                return Ok(Step::Busy(0));
            }
            let cursor = worker::load_progress(&*meta, NAME, &name)
                .await?
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            self.current = Some(BucketPass { name, cursor });
            return Ok(Step::Busy(0));
        }
        let Some(pass) = self.current.as_mut() else {
            return Ok(Step::Idle);
        };
        let bucket = pass.name.clone();
        let rec = match self.store.bucket(&bucket).await {
            Ok(r) => r,
            Err(ObjectError::NoSuchBucket) => {
                self.current = None;
                return Ok(Step::Busy(0));
            }
            Err(e) => return Err(e),
        };
        let rules = rec.lifecycle.clone().unwrap_or_default();
        let q = VersionListQuery {
            prefix: String::new(),
            delimiter: None,
            key_marker: pass.cursor.clone(),
            version_id_marker: None,
            max_keys: self.config.page,
        };
        let page = self.store.list_object_versions(&bucket, &q).await?;
        let mut groups: Vec<(String, Vec<(ObjectRecord, bool)>)> = Vec::new();
        for e in page.entries {
            if let VersionEntry::Version {
                key,
                record,
                is_latest,
            } = e
            {
                match groups.last_mut() {
                    Some((k, v)) if *k == key => v.push((*record, is_latest)),
                    _ => groups.push((key, vec![(*record, is_latest)])),
                }
            }
        }
        // A key whose versions may go on in the next page is done with the next page.
        if page.is_truncated && groups.len() > 1 {
            groups.pop();
        }
        let examined: u64 = groups.iter().map(|(_, v)| v.len() as u64).sum();
        self.counts.examined += examined;
        if has_enabled_rules(&rec) {
            for (key, versions) in &groups {
                self.apply(&bucket, &rec, &rules, key, versions).await?;
            }
        }
        let meta = self.store.meta();
        let done = !page.is_truncated || groups.is_empty();
        if done {
            if has_enabled_rules(&rec) {
                self.abort_uploads(&bucket, &rules).await?;
            }
            worker::save_progress(&*meta, NAME, &bucket, None).await?;
            lease::release(&*meta, &Self::lease_name(&bucket), &self.config.node).await?;
            self.current = None;
        } else if let Some((last, _)) = groups.last() {
            worker::save_progress(&*meta, NAME, &bucket, Some(last.as_bytes())).await?;
            if let Some(p) = self.current.as_mut() {
                p.cursor = Some(last.clone());
            }
            // Renewed each page; losing it (this node was held up past its expiry and
            // another took the bucket over) ends this node's pass of the bucket.
            if !lease::acquire(
                &*meta,
                &Self::lease_name(&bucket),
                &self.config.node,
                LEASE_TTL,
            )
            .await?
            {
                self.current = None;
            }
        }
        Ok(Step::Busy(examined.max(1)))
    }

    /// Applies the rules to one key's versions (newest first, the current one first).
    async fn apply(
        &mut self,
        bucket: &str,
        rec: &BucketRecord,
        rules: &[LifecycleRule],
        key: &str,
        versions: &[(ObjectRecord, bool)],
    ) -> Result<()> {
        let now = now_ms();
        if let Some((current, true)) = versions.first() {
            if current.delete_marker {
                if versions.len() == 1 && lifecycle::marker_expired(rules, key, current, now) {
                    self.store
                        .delete_version(bucket, key, Some(current.version_label()), &rec.owner)
                        .await?;
                    self.counts.markers_removed += 1;
                }
            } else if lifecycle::current_expiry(rules, key, current, false)
                .is_some_and(|(at, _)| at <= now)
            {
                // A versioned bucket keeps the version under a delete marker (allowed under
                // object lock, as in S3); only a never-versioned bucket removes it.
                if rec.versioning.is_none() && !removable(current, now) {
                    self.counts.kept_locked += 1;
                } else if self
                    .store
                    .expire_current(bucket, key, current, &rec.owner)
                    .await?
                {
                    self.counts.expired += 1;
                }
            }
        }
        for (i, (record, _)) in versions.iter().enumerate().skip(1) {
            let since = versions[i - 1].0.last_modified_ms;
            if lifecycle::noncurrent_expired(rules, key, record, since, i - 1, now) {
                if !removable(record, now) {
                    self.counts.kept_locked += 1;
                    continue;
                }
                match self
                    .store
                    .delete_version(bucket, key, Some(record.version_label()), &rec.owner)
                    .await
                {
                    Ok(_) => self.counts.noncurrent_removed += 1,
                    // Locked after this pass read it: the removal's transaction kept it.
                    Err(ObjectError::ObjectLocked(_)) => self.counts.kept_locked += 1,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    async fn abort_uploads(&mut self, bucket: &str, rules: &[LifecycleRule]) -> Result<()> {
        if !rules
            .iter()
            .any(|r| r.enabled && r.abort_upload_days.is_some())
        {
            return Ok(());
        }
        let mut q = UploadListQuery {
            prefix: String::new(),
            delimiter: None,
            key_marker: None,
            upload_id_marker: None,
            max_uploads: 1000,
        };
        let mut seen = 0;
        loop {
            let page = self.store.list_uploads(bucket, &q).await?;
            let now = now_ms();
            for u in &page.uploads {
                if lifecycle::upload_expired(rules, u, now) {
                    match self
                        .store
                        .abort_multipart_upload(bucket, &u.key, &u.upload_id)
                        .await
                    {
                        Ok(()) => self.counts.uploads_aborted += 1,
                        // Completed or aborted meanwhile.
                        Err(ObjectError::NoSuchUpload) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            seen += page.uploads.len();
            match page.uploads.last() {
                Some(last) if page.is_truncated && seen < MAX_UPLOADS_PER_PASS => {
                    q.key_marker = Some(last.key.clone());
                    q.upload_id_marker = Some(last.upload_id.clone());
                }
                _ => return Ok(()),
            }
        }
    }
}

fn has_enabled_rules(b: &BucketRecord) -> bool {
    b.lifecycle
        .as_ref()
        .is_some_and(|r| r.iter().any(|r| r.enabled))
}

impl Worker for LifecycleWorker {
    fn name(&self) -> String {
        NAME.into()
    }

    fn step(&mut self) -> BoxFuture<'_, Result<Step>> {
        Box::pin(self.next_step())
    }

    fn idle_delay(&self) -> Duration {
        self.config.pass_every.min(Duration::from_secs(60))
    }

    fn info(&self) -> WorkerInfo {
        let progress = match &self.current {
            Some(p) => format!(
                "bucket {} after {}",
                p.name,
                p.cursor.as_deref().unwrap_or("(start)")
            ),
            None => format!("{} buckets waiting", self.queue.len()),
        };
        let c = self.counts;
        WorkerInfo {
            progress,
            counters: BTreeMap::from([
                ("passes", c.passes),
                ("examined", c.examined),
                ("expired", c.expired),
                ("noncurrent_removed", c.noncurrent_removed),
                ("delete_markers_removed", c.markers_removed),
                ("uploads_aborted", c.uploads_aborted),
                ("kept_locked", c.kept_locked),
                ("buckets_leased_elsewhere", c.skipped_leased),
            ]),
        }
    }
}

impl ObjectStore {
    /// Expires the current version of `key` if it is still `expected` (an object written
    /// since the pass read it stays): a bucket never versioned loses it; a versioned one gets
    /// a delete marker, as S3 does. `false` when it was no longer current.
    pub async fn expire_current(
        &self,
        bucket: &str,
        key: &str,
        expected: &ObjectRecord,
        owner: &str,
    ) -> Result<bool> {
        let okey = keys::object_key(bucket, key);
        let okey = &okey;
        let done = self
            .transact(|t| {
                Box::pin(async move {
                    let Some(b) = get::<BucketRecord>(t, Table::Buckets, bucket.as_bytes()).await?
                    else {
                        return Err(ObjectError::NoSuchBucket);
                    };
                    if b.versioning.is_some() {
                        return Ok(None);
                    }
                    match get::<ObjectRecord>(t, Table::Objects, okey).await? {
                        Some(cur) if cur.version == expected.version && !cur.delete_marker => {
                            t.delete(Table::Objects, okey.clone());
                            delete_blobs(t, &cur.segments);
                            Ok(Some(Some(cur.segments)))
                        }
                        _ => Ok(Some(None)),
                    }
                })
            })
            .await?;
        match done {
            Some(Some(freed)) => {
                self.discard_files(&freed);
                return Ok(true);
            }
            Some(None) => return Ok(false),
            None => {}
        }
        // Versioned: a delete marker, committed only while the current version's ETag is
        // still the one the pass read.
        let marker = ObjectRecord {
            version_id: new_id(),
            last_modified_ms: now_ms(),
            owner: owner.to_string(),
            delete_marker: true,
            ..Default::default()
        };
        let cond = WriteConditions {
            if_match: Some(EtagMatch::Tags(vec![expected.etag.clone()])),
            if_none_match: None,
        };
        match self
            .commit_object(bucket, key, marker, Vec::new(), &cond)
            .await
        {
            Ok(_) => Ok(true),
            Err(ObjectError::PreconditionFailed | ObjectError::NoSuchKey) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
