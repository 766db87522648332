//! Single-object operations: put, head, get (ranges, parts, conditions), delete, copy; and the
//! one commit path every object write goes through (compare-and-swap on the key's record).

use std::fmt::Display;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use rustfs_meta::{
    Batch, Body, Check, ChecksumType, ChecksumValue, MetaError, ObjectMeta, ObjectRecord, Segment,
    Table, decode, encode, keys,
};

use crate::ingest::{self, BodyChecks, ChecksumRequest, ExpectedChecksum, Owner};
use crate::read;
use crate::{
    ByteRange, ObjectError, ObjectStore, ReadConditions, Result, WriteConditions, names, new_id,
    now_ms,
};

/// A stream of object bytes.
pub type ObjectBody = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// What a PUT (or the destination of a copy) carries besides its body.
#[derive(Default)]
pub struct PutOptions {
    pub meta: ObjectMeta,
    pub owner: String,
    pub checks: BodyChecks,
    pub conditions: WriteConditions,
    /// Tags of the new object (validated, see [`crate::tagging`]). For a copy, `None` keeps
    /// the source's tags (the `COPY` tagging directive); for a PUT it means no tags.
    pub tags: Option<crate::TagSet>,
    /// The stored ACL (`None`: the default); see [`crate::acl::new_object_acl`].
    pub acl: Option<Vec<rustfs_meta::Grant>>,
}

/// An object opened for reading: its record and the requested bytes.
pub struct OpenedObject {
    pub record: ObjectRecord,
    /// Half-open span of the object being returned.
    pub start: u64,
    pub end: u64,
    /// True when a range or part was asked for (a 206 answer).
    pub partial: bool,
    pub body: ObjectBody,
}

/// What a GET or HEAD reads: a version (`None`: the current one), its preconditions, and a
/// range or part.
#[derive(Debug, Clone, Default)]
pub struct ReadSpec {
    pub version: Option<String>,
    pub conditions: ReadConditions,
    pub range: Option<ByteRange>,
    pub part_number: Option<u32>,
}

/// The source of a copy: an object, its `x-amz-copy-source-if-*` conditions, and (for
/// UploadPartCopy) a byte range.
pub struct CopySource<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// The version to copy (`None`: the current one).
    pub version_id: Option<&'a str>,
    pub conditions: ReadConditions,
    pub range: Option<ByteRange>,
}

impl ObjectStore {
    /// Opens a copy source and checks its conditions (every failure is 412).
    pub(crate) async fn open_copy_source(&self, src: &CopySource<'_>) -> Result<OpenedObject> {
        let spec = ReadSpec {
            version: src.version_id.map(str::to_string),
            range: src.range,
            ..Default::default()
        };
        let opened = self.open_version(src.bucket, src.key, &spec).await?;
        src.conditions
            .check_copy_source(&opened.record.etag, opened.record.last_modified_ms)?;
        Ok(opened)
    }
}

/// Extra conditions and changes a caller folds into an object commit (multipart completion).
/// A failed check added by `apply` ends the commit without retrying it: the caller read what
/// those checks guard, so it must read again ([`ObjectStore::commit_object_with`] answers
/// `None`).
pub(crate) struct CommitExtra<'a> {
    pub apply: &'a (dyn Fn(&mut Batch) + Sync),
}

/// Attempts before giving up on a key that keeps changing under us. Writers batched into one
/// group commit read the same version, so each round only one of them wins: the bound must
/// cover a burst of writers to one record, not just a rare race.
pub(crate) const CAS_ATTEMPTS: usize = 32;

impl ObjectStore {
    /// Current record of a key, or `NoSuchKey` / `NoSuchBucket` (or `DeleteMarker` when the
    /// current version is one).
    pub fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectRecord> {
        self.head_version(bucket, key, None)
    }

    /// The current record's ETag for write conditions: a delete marker counts as no object.
    fn current_etag(cur: Option<&ObjectRecord>) -> Option<&str> {
        cur.filter(|r| !r.delete_marker).map(|r| r.etag.as_str())
    }

    pub async fn put_object<S, E>(
        &self,
        bucket: &str,
        key: &str,
        body: S,
        opts: PutOptions,
    ) -> Result<ObjectRecord>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        names::validate_key(key)?;
        self.bucket(bucket)?;
        // Fail fast on a write precondition that already fails; it is checked again at commit.
        if !opts.conditions.is_empty() {
            let cur = self
                .meta
                .get(Table::Objects, &keys::object_key(bucket, key))?;
            let cur: Option<ObjectRecord> = cur.as_deref().map(decode).transpose()?;
            opts.conditions.check(Self::current_etag(cur.as_ref()))?;
        }
        let version_id = new_id();
        let algorithm = opts.checks.checksum.as_ref().map(|c| c.algorithm);
        let owner = Owner {
            bucket,
            key,
            version_id: &version_id,
            upload_id: "",
            part_number: 0,
        };
        let got = ingest::ingest(&self.data, owner, body, opts.checks).await?;
        let rec = ObjectRecord {
            version_id,
            size: got.segment.size,
            etag: got.segment.etag.clone(),
            last_modified_ms: now_ms(),
            owner: opts.owner,
            meta: opts.meta,
            checksum: algorithm
                .zip(got.segment.checksum.clone())
                .map(|(algorithm, value)| ChecksumValue {
                    algorithm,
                    kind: ChecksumType::FullObject,
                    value,
                }),
            multipart: false,
            segments: vec![got.segment],
            tags: opts.tags.unwrap_or_default(),
            acl: opts.acl,
            version: None,
            versioned: false,
            delete_marker: false,
        };
        let blobs: Vec<_> = got.blob.into_iter().collect();
        let written = rec.segments.clone();
        let committed = self
            .commit_object(bucket, key, rec, blobs, &opts.conditions)
            .await;
        if let Err(e) = &committed
            && !e.outcome_unknown()
        {
            self.discard_files(&written);
        }
        committed
    }

    /// Makes `rec` the key's current object, if the bucket exists and `cond` holds against the
    /// record being replaced; the replaced record becomes noncurrent or is freed, as the
    /// bucket's versioning state says (see [`ObjectStore::displace`]). Returns the record as
    /// committed (with its version id). On failure the caller still owns the new record's
    /// files.
    pub(crate) async fn commit_object(
        &self,
        bucket: &str,
        key: &str,
        rec: ObjectRecord,
        blobs: Vec<(String, Bytes)>,
        cond: &WriteConditions,
    ) -> Result<ObjectRecord> {
        let (rec, freed) = self
            .try_commit_object(bucket, key, rec, &blobs, cond, None)
            .await?
            .ok_or(ObjectError::Contended)?;
        self.discard_files(&freed);
        Ok(rec)
    }

    /// [`Self::commit_object`] with `extra`'s checks and changes in the same batch; `None`
    /// when one of `extra`'s checks failed (nothing applied).
    pub(crate) async fn commit_object_with(
        &self,
        bucket: &str,
        key: &str,
        rec: ObjectRecord,
        blobs: Vec<(String, Bytes)>,
        cond: &WriteConditions,
        extra: &CommitExtra<'_>,
    ) -> Result<Option<ObjectRecord>> {
        let Some((rec, freed)) = self
            .try_commit_object(bucket, key, rec, &blobs, cond, Some(extra))
            .await?
        else {
            return Ok(None);
        };
        self.discard_files(&freed);
        Ok(Some(rec))
    }

    /// The commit loop: `None` when a check added by `extra` failed.
    async fn try_commit_object(
        &self,
        bucket: &str,
        key: &str,
        mut rec: ObjectRecord,
        blobs: &[(String, Bytes)],
        cond: &WriteConditions,
        extra: Option<&CommitExtra<'_>>,
    ) -> Result<Option<(ObjectRecord, Vec<Segment>)>> {
        let okey = keys::object_key(bucket, key);
        for _ in 0..CAS_ATTEMPTS {
            let state = self.bucket(bucket)?.versioning;
            let cur_bytes = self.meta.get(Table::Objects, &okey)?;
            let cur: Option<ObjectRecord> = cur_bytes.as_deref().map(decode).transpose()?;
            cond.check(Self::current_etag(cur.as_ref()))?;
            // A fresh id each attempt: ids of one key then increase in commit order.
            rec.version = Some(crate::versions::new_version_id());
            rec.versioned = state == Some(rustfs_meta::Versioning::Enabled);
            // Checks 0 (bucket) and 1 (the key's record), then those `displace` adds, then
            // `extra`'s: the index of a failed check says whose it was.
            let mut b = Batch::new();
            b.check(Check::Present(Table::Buckets, bucket.as_bytes().to_vec()));
            b.check(match &cur_bytes {
                Some(v) => Check::Equals(Table::Objects, okey.clone(), v.clone()),
                None => Check::Absent(Table::Objects, okey.clone()),
            });
            let (freed, own_checks) = self.displace(
                &mut b,
                bucket,
                key,
                cur_bytes.as_deref().zip(cur.as_ref()),
                state,
            )?;
            if let Some(x) = extra {
                (x.apply)(&mut b);
            }
            b.put(Table::Objects, okey.clone(), encode(&rec));
            for (id, bytes) in blobs {
                b.put(Table::Blobs, id.as_bytes().to_vec(), bytes.to_vec());
            }
            match self.meta.commit(b).await {
                Ok(()) => return Ok(Some((rec, freed))),
                Err(MetaError::Conflict(0)) => return Err(ObjectError::NoSuchBucket),
                Err(MetaError::Conflict(i)) if i < 2 + own_checks => continue,
                Err(MetaError::Conflict(_)) if extra.is_some() => return Ok(None),
                Err(MetaError::Conflict(_)) => return Err(ObjectError::Contended),
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
    }

    /// Removes the data files of segments no longer referenced (after their commit).
    pub(crate) fn discard_files(&self, segments: &[Segment]) {
        for s in segments {
            if let Body::Stored(r) = &s.body {
                self.data.remove(r);
            }
        }
    }

    /// The record and the span a read would return, preconditions checked; no data opened
    /// (HEAD).
    pub fn stat_object(
        &self,
        bucket: &str,
        key: &str,
        conditions: &ReadConditions,
        range: Option<ByteRange>,
        part_number: Option<u32>,
    ) -> Result<(ObjectRecord, u64, u64, bool)> {
        let spec = ReadSpec {
            version: None,
            conditions: conditions.clone(),
            range,
            part_number,
        };
        self.stat_version(bucket, key, &spec)
    }

    /// [`Self::stat_object`] of what `spec` names.
    pub fn stat_version(
        &self,
        bucket: &str,
        key: &str,
        spec: &ReadSpec,
    ) -> Result<(ObjectRecord, u64, u64, bool)> {
        self.stat_version_from(bucket, key, spec, None)
    }

    /// [`Self::stat_version`], starting from `current` when the caller has just read the
    /// current record (an access check) and `spec` names no version.
    pub fn stat_version_from(
        &self,
        bucket: &str,
        key: &str,
        spec: &ReadSpec,
        current: Option<ObjectRecord>,
    ) -> Result<(ObjectRecord, u64, u64, bool)> {
        let record = match current.filter(|_| spec.version.is_none()) {
            Some(r) => r,
            None => self.head_version(bucket, key, spec.version.as_deref())?,
        };
        spec.conditions
            .check_read(&record.etag, record.last_modified_ms)?;
        let (start, end, partial) = span(&record, spec.range, spec.part_number)?;
        Ok((record, start, end, partial))
    }

    /// Opens an object for reading, checking read preconditions and resolving a range or part.
    pub async fn open_object(
        &self,
        bucket: &str,
        key: &str,
        conditions: &ReadConditions,
        range: Option<ByteRange>,
        part_number: Option<u32>,
    ) -> Result<OpenedObject> {
        let spec = ReadSpec {
            version: None,
            conditions: conditions.clone(),
            range,
            part_number,
        };
        self.open_version(bucket, key, &spec).await
    }

    /// [`Self::open_object`] of what `spec` names.
    pub async fn open_version(
        &self,
        bucket: &str,
        key: &str,
        spec: &ReadSpec,
    ) -> Result<OpenedObject> {
        self.open_version_from(bucket, key, spec, None).await
    }

    /// [`Self::open_version`], starting from `current` as [`Self::stat_version_from`] does. If
    /// that record's bytes are gone by now (a concurrent overwrite), the record is read again.
    pub async fn open_version_from(
        &self,
        bucket: &str,
        key: &str,
        spec: &ReadSpec,
        mut current: Option<ObjectRecord>,
    ) -> Result<OpenedObject> {
        let mut attempt = 0;
        loop {
            let (record, start, end, partial) =
                self.stat_version_from(bucket, key, spec, current.take())?;
            // Inline bodies come from the metadata store, read here like the record itself;
            // opening data files (open, fstat, header) goes to the blocking pool.
            let opened = if read::opens_files(&record.segments, start, end) {
                let meta = self.meta.clone();
                let data = self.data.clone();
                let segments = record.segments.clone();
                tokio::task::spawn_blocking(move || {
                    read::open_pieces(meta.as_ref(), &data, &segments, start, end)
                })
                .await?
            } else {
                read::open_pieces(self.meta.as_ref(), &self.data, &record.segments, start, end)
            };
            match opened {
                Ok(pieces) => {
                    let body = read::stream(self.data.clone(), pieces, start, end).boxed();
                    return Ok(OpenedObject {
                        record,
                        start,
                        end,
                        partial,
                        body,
                    });
                }
                // A concurrent overwrite or delete removed the bytes we were about to read:
                // look again, and serve the newer state (or its absence).
                Err(ObjectError::Data(rustfs_data::DataError::NotFound(_))) if attempt < 3 => {
                    attempt += 1
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// DELETE of a key, as [`Self::delete_version`] without a version id does it (a delete
    /// marker, owned by nobody, where versioning is on). Deleting a missing key succeeds.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        self.delete_version(bucket, key, None, "").await.map(|_| ())
    }

    /// DeleteObjects without version ids, as [`Self::delete_versions`] does it. Missing keys
    /// succeed, as in S3; a key listed twice is deleted once.
    pub async fn delete_objects(&self, bucket: &str, list: &[String]) -> Result<Vec<Result<()>>> {
        let entries: Vec<(String, Option<String>)> =
            list.iter().map(|k| (k.clone(), None)).collect();
        Ok(self
            .delete_versions(bucket, &entries, "")
            .await?
            .into_iter()
            .map(|r| r.map(|_| ()))
            .collect())
    }

    /// Deletes keys of a bucket never versioned: every listed key removed in one commit (one
    /// sync), each key reported on its own. The commit holds only if the bucket record is
    /// still `bucket_bytes` (read by the caller, who found no versioning): `None` when it
    /// changed, so the caller decides again (versioning turned on meanwhile makes a delete a
    /// delete marker, never the loss of a version).
    pub(crate) async fn delete_unversioned(
        &self,
        bucket: &str,
        bucket_bytes: &[u8],
        list: &[String],
    ) -> Result<Option<Vec<Result<()>>>> {
        for _ in 0..CAS_ATTEMPTS {
            let mut results = Vec::with_capacity(list.len());
            let mut batch = Batch::new();
            batch.check(Check::Equals(
                Table::Buckets,
                bucket.as_bytes().to_vec(),
                bucket_bytes.to_vec(),
            ));
            let mut any = false;
            let mut freed: Vec<Segment> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for key in list {
                if let Err(e) = names::validate_key(key) {
                    results.push(Err(e));
                    continue;
                }
                results.push(Ok(()));
                let okey = keys::object_key(bucket, key);
                if !seen.insert(okey.clone()) {
                    continue;
                }
                if let Some(cur_bytes) = self.meta.get(Table::Objects, &okey)? {
                    let cur: ObjectRecord = decode(&cur_bytes)?;
                    batch.check(Check::Equals(Table::Objects, okey.clone(), cur_bytes));
                    batch.delete(Table::Objects, okey);
                    delete_blobs(&mut batch, &cur.segments);
                    freed.extend(cur.segments);
                    any = true;
                }
            }
            if !any {
                return Ok(Some(results));
            }
            match self.meta.commit(batch).await {
                Ok(()) => {
                    self.discard_files(&freed);
                    return Ok(Some(results));
                }
                Err(MetaError::Conflict(0)) => return Ok(None),
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
    }

    /// CopyObject; returns the source's record and the new one. `replace_meta`: the `REPLACE`
    /// metadata directive (use `opts.meta`); otherwise the source's metadata is kept. The bytes
    /// are streamed and re-hashed, so the copy gets its own files and a plain (non-multipart)
    /// ETag, as in S3. A source overwritten or deleted while it streams (a segment past those
    /// opened up front vanished) is copied again from a fresh read, so the copy is always
    /// one whole version of the source.
    pub async fn copy_object(
        &self,
        source: &CopySource<'_>,
        dst_bucket: &str,
        dst_key: &str,
        replace_meta: bool,
        mut opts: PutOptions,
    ) -> Result<(ObjectRecord, ObjectRecord)> {
        if source.bucket == dst_bucket
            && source.key == dst_key
            && source.version_id.is_none()
            && !replace_meta
        {
            // Checked once the source is known to exist, as S3 answers a missing one first.
            self.open_copy_source(source).await?;
            return Err(ObjectError::InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into(),
            ));
        }
        let mut attempt = 1;
        loop {
            let src = self.open_copy_source(source).await?;
            let retry_checks = reusable_checks(&opts.checks).filter(|_| attempt < COPY_ATTEMPTS);
            let mut this = PutOptions {
                meta: if replace_meta {
                    opts.meta.clone()
                } else {
                    src.record.meta.clone()
                },
                owner: opts.owner.clone(),
                checks: std::mem::take(&mut opts.checks),
                conditions: opts.conditions.clone(),
                tags: Some(opts.tags.clone().unwrap_or_else(|| src.record.tags.clone())),
                acl: opts.acl.clone(),
            };
            if this.checks.checksum.is_none()
                && let Some(c) = &src.record.checksum
            {
                this.checks.checksum = Some(ChecksumRequest {
                    algorithm: c.algorithm,
                    expected: ExpectedChecksum::Compute,
                });
            }
            let (body, vanished) = watch_source(src.body);
            match self.put_object(dst_bucket, dst_key, body, this).await {
                Err(_) if vanished.load(Ordering::Relaxed) && retry_checks.is_some() => {
                    opts.checks = retry_checks.unwrap_or_default();
                    attempt += 1;
                }
                r => return r.map(|rec| (src.record, rec)),
            }
        }
    }
}

/// Copies made of one request when the source keeps changing under them.
pub(crate) const COPY_ATTEMPTS: usize = 3;

/// A copy source's body that notes when it failed because a data file vanished: the source
/// was overwritten or deleted after the read opened it, so a copy can start over.
pub(crate) fn watch_source(body: ObjectBody) -> (ObjectBody, Arc<AtomicBool>) {
    let vanished = Arc::new(AtomicBool::new(false));
    let flag = vanished.clone();
    let body = body
        .inspect_err(move |e| {
            if matches!(e, ObjectError::Data(rustfs_data::DataError::NotFound(_))) {
                flag.store(true, Ordering::Relaxed);
            }
        })
        .boxed();
    (body, vanished)
}

/// The same body checks again, for a second attempt; `None` when they cannot be repeated (a
/// trailer is read once).
pub(crate) fn reusable_checks(c: &BodyChecks) -> Option<BodyChecks> {
    let checksum = match &c.checksum {
        None => None,
        Some(r) => Some(ChecksumRequest {
            algorithm: r.algorithm,
            expected: match &r.expected {
                ExpectedChecksum::Compute => ExpectedChecksum::Compute,
                ExpectedChecksum::Given(v) => ExpectedChecksum::Given(v.clone()),
                ExpectedChecksum::Trailer(_) => return None,
            },
        }),
    };
    Some(BodyChecks {
        content_md5: c.content_md5.clone(),
        checksum,
        expected_len: c.expected_len,
    })
}

pub(crate) fn delete_blobs(b: &mut Batch, segments: &[Segment]) {
    for s in segments {
        if let Body::Inline(id) = &s.body {
            b.delete(Table::Blobs, id.as_bytes().to_vec());
        }
    }
}

/// The span to return for a range or part request.
fn span(
    rec: &ObjectRecord,
    range: Option<ByteRange>,
    part_number: Option<u32>,
) -> Result<(u64, u64, bool)> {
    if let Some(pn) = part_number {
        let idx = usize::try_from(pn).unwrap_or(usize::MAX);
        if pn == 0 || idx > rec.segments.len() {
            return Err(ObjectError::InvalidPartNumber);
        }
        let start: u64 = rec.segments[..idx - 1].iter().map(|s| s.size).sum();
        return Ok((start, start + rec.segments[idx - 1].size, rec.multipart));
    }
    match range {
        Some(r) => {
            let (s, e) = r.resolve(rec.size)?;
            Ok((s, e, true))
        }
        None => Ok((0, rec.size, false)),
    }
}
