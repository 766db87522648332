//! Single-object operations: put, head, get (ranges, parts, conditions), delete, copy; and the
//! one commit step every object write goes through ([`put_current`], inside a transaction).

use std::fmt::Display;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use rustfs_meta::{
    Body, BucketRecord, ChecksumType, ChecksumValue, ObjectMeta, ObjectRecord, Segment, Table, Txn,
    Versioning, decode, encode, keys,
};

use crate::ingest::{self, BodyChecks, ChecksumRequest, ExpectedChecksum, Owner};
use crate::read;
use crate::sse::{CustomerKey, SseRequest};
use crate::txn::{OrderDraw, get, order_after};
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
    /// The caller has just read the bucket record (an access check): skip the early
    /// NoSuchBucket check before the body is read (the commit reads the record anyway).
    /// The caller then also gives the bucket's default encryption in `bucket_default`.
    pub bucket_checked: bool,
    /// Object lock retention asked for (`x-amz-object-lock-mode` and `-retain-until-date`);
    /// `None`: the bucket's default retention, if any, applies at the commit.
    pub retention: Option<rustfs_meta::Retention>,
    /// Object lock legal hold status asked for (`x-amz-object-lock-legal-hold`; `None`: none).
    pub legal_hold: Option<bool>,
    /// Server-side encryption asked for (`None`: the bucket's default, if any).
    pub sse: Option<SseRequest>,
    /// The bucket's default encryption, when `bucket_checked` (the caller read the record).
    pub bucket_default: Option<rustfs_meta::BucketEncryption>,
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
    /// The SSE-C key given with the read (needed exactly for SSE-C objects).
    pub sse_customer: Option<CustomerKey>,
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
    /// The source's SSE-C key (`x-amz-copy-source-server-side-encryption-customer-*`).
    pub sse_customer: Option<CustomerKey>,
}

impl ObjectStore {
    /// Opens a copy source and checks its conditions (every failure is 412).
    pub(crate) async fn open_copy_source(&self, src: &CopySource<'_>) -> Result<OpenedObject> {
        let spec = ReadSpec {
            version: src.version_id.map(str::to_string),
            range: src.range,
            sse_customer: src.sse_customer.clone(),
            ..Default::default()
        };
        let opened = self.open_version(src.bucket, src.key, &spec).await?;
        src.conditions
            .check_copy_source(&opened.record.etag, opened.record.last_modified_ms)?;
        Ok(opened)
    }
}

impl ObjectStore {
    /// Current record of a key, or `NoSuchKey` / `NoSuchBucket` (or `DeleteMarker` when the
    /// current version is one).
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectRecord> {
        self.head_version(bucket, key, None).await
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
        let default = if opts.bucket_checked {
            opts.bucket_default.clone()
        } else {
            self.bucket(bucket).await?.encryption
        };
        let sse = opts
            .sse
            .clone()
            .or_else(|| default.as_ref().map(SseRequest::from_default));
        let (encryption, data_key) = match &sse {
            Some(r) => {
                let (e, k) = self.seal_new(r, bucket, key)?;
                (Some(e), Some(k))
            }
            None => (None, None),
        };
        // Fail fast on a write precondition that already fails; it is checked again at commit.
        if !opts.conditions.is_empty() {
            let cur: Option<ObjectRecord> = self
                .read_record(Table::Objects, &keys::object_key(bucket, key))
                .await?;
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
        let got = ingest::ingest(
            &self.data,
            self.meta.inline_body_max(),
            owner,
            body,
            opts.checks,
            data_key,
        )
        .await?;
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
            retention: opts.retention,
            legal_hold: opts.legal_hold.unwrap_or(false),
            legal_hold_set: opts.legal_hold.is_some(),
            encryption,
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
    /// record being replaced (one transaction, see [`put_current`]); the replaced record
    /// becomes noncurrent or is freed, as the bucket's versioning state says. Returns the
    /// record as committed (with its version id). On failure the caller still owns the new
    /// record's files.
    pub(crate) async fn commit_object(
        &self,
        bucket: &str,
        key: &str,
        rec: ObjectRecord,
        blobs: Vec<(String, Bytes)>,
        cond: &WriteConditions,
    ) -> Result<ObjectRecord> {
        let drawn = self.order_draw();
        let (rec, blobs, drawn) = (&rec, &blobs, &drawn);
        let (rec, freed) = self
            .transact(|t| {
                Box::pin(async move {
                    let mut rec = rec.clone();
                    let freed = put_current(t, bucket, key, &mut rec, blobs, cond, drawn).await?;
                    Ok((rec, freed))
                })
            })
            .await?;
        self.discard_files(&freed);
        Ok(rec)
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
    pub async fn stat_object(
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
            sse_customer: None,
        };
        self.stat_version(bucket, key, &spec).await
    }

    /// [`Self::stat_object`] of what `spec` names.
    pub async fn stat_version(
        &self,
        bucket: &str,
        key: &str,
        spec: &ReadSpec,
    ) -> Result<(ObjectRecord, u64, u64, bool)> {
        self.stat_version_from(bucket, key, spec, None).await
    }

    /// [`Self::stat_version`], starting from `current` when the caller has just read the
    /// current record (an access check) and `spec` names no version.
    pub async fn stat_version_from(
        &self,
        bucket: &str,
        key: &str,
        spec: &ReadSpec,
        current: Option<ObjectRecord>,
    ) -> Result<(ObjectRecord, u64, u64, bool)> {
        let (record, start, end, partial, _) = self.stat_keyed(bucket, key, spec, current).await?;
        Ok((record, start, end, partial))
    }

    /// [`Self::stat_version_from`], with the object's data key unsealed (the SSE-C key
    /// checked) when it is encrypted.
    async fn stat_keyed(
        &self,
        bucket: &str,
        key: &str,
        spec: &ReadSpec,
        current: Option<ObjectRecord>,
    ) -> Result<(ObjectRecord, u64, u64, bool, Option<crate::sse::DataKey>)> {
        let record = match current.filter(|_| spec.version.is_none()) {
            Some(r) => r,
            None => {
                self.head_version(bucket, key, spec.version.as_deref())
                    .await?
            }
        };
        spec.conditions
            .check_read(&record.etag, record.last_modified_ms)?;
        // A part number out of range is answered first (as S3 does), then the SSE-C key.
        let (start, end, partial) = span(&record, spec.range, spec.part_number)?;
        let data_key = self.open_data_key(
            record.encryption.as_ref(),
            bucket,
            key,
            spec.sse_customer.as_ref(),
        )?;
        Ok((record, start, end, partial, data_key))
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
            sse_customer: None,
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
            let (record, start, end, partial, data_key) =
                self.stat_keyed(bucket, key, spec, current.take()).await?;
            // Inline bodies come from the metadata store; opening data files (open, fstat,
            // header) goes to the blocking pool.
            let opened = match &data_key {
                None => {
                    read::open_pieces(self.meta.as_ref(), &self.data, &record.segments, start, end)
                        .await
                        .map(|pieces| read::stream(self.data.clone(), pieces, start, end).boxed())
                }
                Some(dk) => {
                    read::open_sealed(
                        self.meta.as_ref(),
                        &self.data,
                        &record.segments,
                        start,
                        end,
                        dk,
                    )
                    .await
                }
            };
            match opened {
                Ok(body) => {
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

    /// Deletes keys of a bucket never versioned: every listed key removed in one transaction
    /// (one commit), each key reported on its own. The transaction reads the bucket record:
    /// `None` when the bucket is (or became) versioned, so the caller makes delete markers
    /// instead (versioning turned on meanwhile never loses a version).
    pub(crate) async fn delete_unversioned(
        &self,
        bucket: &str,
        list: &[String],
    ) -> Result<Option<Vec<Result<()>>>> {
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
                    let mut results = Vec::with_capacity(list.len());
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
                        if let Some(cur) = get::<ObjectRecord>(t, Table::Objects, &okey).await? {
                            // Never true in a bucket never versioned (object lock turns
                            // versioning on), but no removal path skips the decision.
                            if let Err(locked) =
                                crate::retention::may_remove_version(&cur, false, now_ms())
                            {
                                results.pop();
                                results.push(Err(locked.into()));
                                continue;
                            }
                            t.delete(Table::Objects, okey);
                            delete_blobs(t, &cur.segments);
                            freed.extend(cur.segments);
                        }
                    }
                    Ok(Some((results, freed)))
                })
            })
            .await?;
        Ok(done.map(|(results, freed)| {
            self.discard_files(&freed);
            results
        }))
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
            && opts.sse.is_none()
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
                bucket_checked: opts.bucket_checked,
                // The copy's lock is the request's (or the destination's default), never the
                // source's, as in S3.
                retention: opts.retention,
                legal_hold: opts.legal_hold,
                sse: opts.sse.clone(),
                bucket_default: opts.bucket_default.clone(),
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

/// Deletes the inline bodies of `segments` in `t`.
pub(crate) fn delete_blobs(t: &mut (dyn Txn + '_), segments: &[Segment]) {
    for s in segments {
        if let Body::Inline(id) = &s.body {
            t.delete(Table::Blobs, id.as_bytes().to_vec());
        }
    }
}

/// Inside a transaction: makes `rec` the key's current record, if the bucket exists and `cond`
/// holds against the record being replaced. Reads the bucket record (its versioning state) and
/// the key's current record, so a change to either reruns the transaction. `rec` gets its
/// order id (`drawn`, or one past the replaced record's, see [`order_after`]) and the versioning
/// flag; the replaced record becomes noncurrent or is freed, as the bucket's versioning state
/// says (see [`displace`]). Returns the segments freed, to unlink after the commit.
pub(crate) async fn put_current(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    key: &str,
    rec: &mut ObjectRecord,
    blobs: &[(String, Bytes)],
    cond: &WriteConditions,
    drawn: &OrderDraw<'_>,
) -> Result<Vec<Segment>> {
    let okey = keys::object_key(bucket, key);
    // Both records in one read, and the order id drawn alongside (one round trip where the
    // backend batches).
    let read = [
        (Table::Buckets, bucket.as_bytes()),
        (Table::Objects, &okey[..]),
    ];
    let (got, drawn) = tokio::join!(t.get_many(&read), drawn.get());
    let mut got = got?.into_iter();
    let drawn = drawn?;
    let (Some(b), cur) = (got.next().flatten(), got.next().flatten()) else {
        return Err(ObjectError::NoSuchBucket);
    };
    let brec = decode::<BucketRecord>(&b)?;
    let state = brec.versioning;
    if !rec.delete_marker {
        crate::retention::lock_new_version(brec.object_lock.as_ref(), rec, now_ms())?;
    }
    let cur = match cur {
        Some(v) => {
            let rec: ObjectRecord = decode(&v)?;
            Some((v, rec))
        }
        None => None,
    };
    cond.check(ObjectStore::current_etag(cur.as_ref().map(|(_, r)| r)))?;
    rec.version = Some(order_after(
        drawn,
        cur.as_ref().map(|(_, r)| r.order_id()).as_deref(),
    ));
    rec.versioned = state == Some(Versioning::Enabled);
    let freed = crate::versions::displace(t, bucket, key, cur, state).await?;
    t.put(Table::Objects, okey, encode(&*rec));
    for (id, bytes) in blobs {
        t.put(Table::Blobs, id.as_bytes().to_vec(), bytes.to_vec());
    }
    Ok(freed)
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
