//! Single-object operations: put, head, get (ranges, parts, conditions), delete, copy; and the
//! one commit path every object write goes through (compare-and-swap on the key's record).

use std::fmt::Display;
use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt};
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
pub(crate) struct CommitExtra<'a> {
    pub apply: &'a (dyn Fn(&mut Batch) + Sync),
    /// Error for a failed check added by `apply`.
    pub on_conflict: fn() -> ObjectError,
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
            .commit_object(bucket, key, rec, blobs, &opts.conditions, None)
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
        extra: Option<CommitExtra<'_>>,
    ) -> Result<ObjectRecord> {
        let (rec, freed) = self
            .try_commit_object(bucket, key, rec, &blobs, cond, extra)
            .await?;
        self.discard_files(&freed);
        Ok(rec)
    }

    async fn try_commit_object(
        &self,
        bucket: &str,
        key: &str,
        mut rec: ObjectRecord,
        blobs: &[(String, Bytes)],
        cond: &WriteConditions,
        extra: Option<CommitExtra<'_>>,
    ) -> Result<(ObjectRecord, Vec<Segment>)> {
        let okey = keys::object_key(bucket, key);
        for _ in 0..CAS_ATTEMPTS {
            let state = self.bucket(bucket)?.versioning;
            let cur_bytes = self.meta.get(Table::Objects, &okey)?;
            let cur: Option<ObjectRecord> = cur_bytes.as_deref().map(decode).transpose()?;
            cond.check(Self::current_etag(cur.as_ref()))?;
            // A fresh id each attempt: ids of one key then increase in commit order.
            rec.version = Some(crate::versions::new_version_id());
            rec.versioned = state == Some(rustfs_meta::Versioning::Enabled);
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
            if let Some(x) = &extra {
                (x.apply)(&mut b);
            }
            b.put(Table::Objects, okey.clone(), encode(&rec));
            for (id, bytes) in blobs {
                b.put(Table::Blobs, id.as_bytes().to_vec(), bytes.to_vec());
            }
            match self.meta.commit(b).await {
                Ok(()) => return Ok((rec, freed)),
                Err(MetaError::Conflict(0)) => return Err(ObjectError::NoSuchBucket),
                Err(MetaError::Conflict(i)) if i < 2 + own_checks => continue,
                Err(MetaError::Conflict(_)) => {
                    return Err(extra.map_or(ObjectError::Contended, |x| (x.on_conflict)()));
                }
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

    /// Deletes a key of a bucket never versioned (see [`Self::delete_version`] for the
    /// others). Deleting a missing key succeeds, as in S3.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        names::validate_key(key)?;
        let okey = keys::object_key(bucket, key);
        for _ in 0..CAS_ATTEMPTS {
            let Some(cur_bytes) = self.meta.get(Table::Objects, &okey)? else {
                self.bucket(bucket)?;
                return Ok(());
            };
            let cur: ObjectRecord = decode(&cur_bytes)?;
            let mut b = Batch::new();
            b.check(Check::Equals(Table::Objects, okey.clone(), cur_bytes));
            b.delete(Table::Objects, okey.clone());
            delete_blobs(&mut b, &cur.segments);
            match self.meta.commit(b).await {
                Ok(()) => {
                    self.discard_files(&cur.segments);
                    return Ok(());
                }
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
    }

    /// DeleteObjects: every listed key removed in one commit (one sync), each key reported on
    /// its own. Missing keys succeed, as in S3; a key listed twice is deleted once.
    pub async fn delete_objects(&self, bucket: &str, list: &[String]) -> Result<Vec<Result<()>>> {
        self.bucket(bucket)?;
        for _ in 0..CAS_ATTEMPTS {
            let mut results = Vec::with_capacity(list.len());
            let mut batch = Batch::new();
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
                }
            }
            if batch.is_empty() {
                return Ok(results);
            }
            match self.meta.commit(batch).await {
                Ok(()) => {
                    self.discard_files(&freed);
                    return Ok(results);
                }
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
    }

    /// CopyObject; returns the source's record and the new one. `replace_meta`: the `REPLACE`
    /// metadata directive (use `opts.meta`); otherwise the source's metadata is kept. The bytes are streamed and re-hashed, so the copy gets
    /// its own files and a plain (non-multipart) ETag, as in S3.
    pub async fn copy_object(
        &self,
        source: &CopySource<'_>,
        dst_bucket: &str,
        dst_key: &str,
        replace_meta: bool,
        mut opts: PutOptions,
    ) -> Result<(ObjectRecord, ObjectRecord)> {
        let src = self.open_copy_source(source).await?;
        if source.bucket == dst_bucket
            && source.key == dst_key
            && source.version_id.is_none()
            && !replace_meta
        {
            return Err(ObjectError::InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into(),
            ));
        }
        if !replace_meta {
            opts.meta = src.record.meta.clone();
        }
        if opts.tags.is_none() {
            opts.tags = Some(src.record.tags.clone());
        }
        if opts.checks.checksum.is_none()
            && let Some(c) = &src.record.checksum
        {
            opts.checks.checksum = Some(ChecksumRequest {
                algorithm: c.algorithm,
                expected: ExpectedChecksum::Compute,
            });
        }
        let rec = self.put_object(dst_bucket, dst_key, src.body, opts).await?;
        Ok((src.record, rec))
    }
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
