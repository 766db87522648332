//! Multipart uploads. Each part is its own data file (or blob); completion writes one object
//! record that references the parts in order, so no byte is copied.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::Stream;
use rustfs_meta::{
    ChecksumAlgorithm, ChecksumType, ChecksumValue, ObjectMeta, ObjectRecord, PartRecord, Segment,
    Table, Txn, UploadRecord, decode, encode, keys,
};

use crate::checksum;
use crate::ingest::{self, BodyChecks, ChecksumRequest, ExpectedChecksum, Owner};
use crate::objects::{COPY_ATTEMPTS, CopySource, delete_blobs, put_current, watch_source};
use crate::txn::{get, scan_records};
use crate::{
    MAX_PART_NUMBER, MIN_PART_SIZE, ObjectError, ObjectStore, Result, WriteConditions, names,
    new_id, now_ms,
};

/// Parameters of CreateMultipartUpload.
#[derive(Debug, Clone, Default)]
pub struct CreateUpload {
    pub meta: ObjectMeta,
    pub owner: String,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub checksum_type: Option<ChecksumType>,
    /// Tags for the completed object (already validated, see [`crate::tagging`]).
    pub tags: crate::TagSet,
    /// The ACL the completed object gets.
    pub acl: Option<Vec<rustfs_meta::Grant>>,
    /// Object lock retention for the completed object (`None`: the bucket's default then).
    pub retention: Option<rustfs_meta::Retention>,
    /// Object lock legal hold status for the completed object (`None`: none given).
    pub legal_hold: Option<bool>,
    /// Server-side encryption of the parts and the object (`None`: the bucket's default).
    pub sse: Option<crate::sse::SseRequest>,
}

/// One entry of a CompleteMultipartUpload request.
#[derive(Debug, Clone)]
pub struct CompletePart {
    pub number: u32,
    pub etag: String,
    /// A part checksum the client lists (base64, in the upload's algorithm).
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

/// A stored part and the checksum algorithm its `segment.checksum` is in, if any.
#[derive(Debug, Clone)]
pub struct UploadedPart {
    pub part: PartRecord,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// The upload's encryption (its parts are sealed under its data key).
    pub encryption: Option<rustfs_meta::ObjectEncryption>,
}

/// The upload's part rows (key and record, in part-number order), read in `t`: the scan is in
/// its conflict set, so a part committed, replaced or removed meanwhile reruns the transaction.
async fn parts_in(t: &mut (dyn Txn + '_), upload_id: &str) -> Result<Vec<(Vec<u8>, PartRecord)>> {
    let (s, e) = keys::parts_range(upload_id);
    Ok(
        scan_records::<PartRecord>(t, Table::Parts, &s, &e, usize::MAX)
            .await?
            .into_iter()
            .map(|(k, _, r)| (k, r))
            .collect(),
    )
}

/// Removes, in `t`, the upload at `ukey` and every part of it (read in `t`, so no part
/// committed meanwhile outlives the upload); returns the parts' segments, to unlink after the
/// commit.
pub(crate) async fn abort_in(
    t: &mut (dyn Txn + '_),
    ukey: &[u8],
    upload_id: &str,
) -> Result<Vec<Segment>> {
    let parts = parts_in(t, upload_id).await?;
    let (s, e) = keys::parts_range(upload_id);
    t.delete_range(Table::Parts, s, e);
    t.delete(Table::Uploads, ukey.to_vec());
    let segments: Vec<Segment> = parts.into_iter().map(|(_, p)| p.segment).collect();
    delete_blobs(t, &segments);
    Ok(segments)
}

/// The upload's record read in `t`, or `NoSuchUpload` (`NoSuchBucket` when the bucket is gone).
async fn upload_in(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<UploadRecord> {
    if upload_id.is_empty() || upload_id.contains('\0') {
        return Err(ObjectError::NoSuchUpload);
    }
    match get(t, Table::Uploads, &keys::upload_key(bucket, key, upload_id)).await? {
        Some(up) => Ok(up),
        None if t.get(Table::Buckets, bucket.as_bytes()).await?.is_none() => {
            Err(ObjectError::NoSuchBucket)
        }
        None => Err(ObjectError::NoSuchUpload),
    }
}

#[derive(Debug, Clone)]
pub struct PartListPage {
    pub upload: UploadRecord,
    pub parts: Vec<PartRecord>,
    pub is_truncated: bool,
}

impl ObjectStore {
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        c: CreateUpload,
    ) -> Result<UploadRecord> {
        names::validate_key(key)?;
        let brec = self.bucket(bucket).await?;
        let sse = c.sse.clone().or_else(|| {
            brec.encryption
                .as_ref()
                .map(crate::sse::SseRequest::from_default)
        });
        let encryption = match &sse {
            Some(r) => Some(self.seal_new(r, bucket, key)?.0),
            None => None,
        };
        let checksum_type = match (c.checksum_algorithm, c.checksum_type) {
            (None, Some(_)) => {
                return Err(ObjectError::InvalidRequest(
                    "a checksum type needs a checksum algorithm".into(),
                ));
            }
            (Some(a), Some(ChecksumType::FullObject)) if !a.supports_full_object_combine() => {
                return Err(ObjectError::InvalidRequest(format!(
                    "the FULL_OBJECT checksum type is not supported for {}",
                    a.as_str()
                )));
            }
            (Some(ChecksumAlgorithm::Crc64Nvme), Some(ChecksumType::Composite)) => {
                return Err(ObjectError::InvalidRequest(
                    "the COMPOSITE checksum type is not supported for CRC64NVME".into(),
                ));
            }
            (Some(ChecksumAlgorithm::Crc64Nvme), None) => Some(ChecksumType::FullObject),
            (Some(_), None) => Some(ChecksumType::Composite),
            (_, t) => t,
        };
        let rec = UploadRecord {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: uuid::Uuid::now_v7().simple().to_string(),
            initiated_ms: now_ms(),
            owner: c.owner,
            meta: c.meta,
            checksum_algorithm: c.checksum_algorithm,
            checksum_type,
            tags: c.tags,
            acl: c.acl,
            retention: c.retention,
            legal_hold: c.legal_hold,
            encryption,
        };
        let ukey = keys::upload_key(bucket, key, &rec.upload_id);
        let (rec_ref, ukey) = (&rec, &ukey);
        self.transact(|t| {
            Box::pin(async move {
                let Some(b) = t.get(Table::Buckets, bucket.as_bytes()).await? else {
                    return Err(ObjectError::NoSuchBucket);
                };
                // Lock settings in a bucket without object lock are refused now, not at
                // completion.
                if (rec_ref.retention.is_some() || rec_ref.legal_hold.is_some())
                    && decode::<rustfs_meta::BucketRecord>(&b)?
                        .object_lock
                        .is_none()
                {
                    return Err(ObjectError::ObjectLockNotEnabled);
                }
                t.put(Table::Uploads, ukey.clone(), encode(rec_ref));
                Ok(())
            })
        })
        .await?;
        Ok(rec)
    }

    /// The upload's record, or `NoSuchUpload` (`NoSuchBucket` when the bucket is gone).
    pub async fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<UploadRecord> {
        if upload_id.is_empty() || upload_id.contains('\0') {
            return Err(ObjectError::NoSuchUpload);
        }
        match self
            .read_record(Table::Uploads, &keys::upload_key(bucket, key, upload_id))
            .await?
        {
            Some(up) => Ok(up),
            None => {
                self.bucket(bucket).await?;
                Err(ObjectError::NoSuchUpload)
            }
        }
    }

    /// UploadPart: `sse_customer` is the SSE-C key, required exactly when the upload is SSE-C
    /// (and then it must be the upload's).
    #[allow(clippy::too_many_arguments)] // each is one of S3's request fields
    pub async fn upload_part<S, E>(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: S,
        mut checks: BodyChecks,
        sse_customer: Option<crate::sse::CustomerKey>,
    ) -> Result<UploadedPart>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin + Send,
        E: Display,
    {
        if !(1..=MAX_PART_NUMBER).contains(&part_number) {
            return Err(ObjectError::InvalidArgument(format!(
                "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
            )));
        }
        let up = self.upload(bucket, key, upload_id).await?;
        match (
            up.checksum_algorithm,
            checks.checksum.as_ref().map(|c| c.algorithm),
        ) {
            (Some(a), None) => {
                checks.checksum = Some(ChecksumRequest {
                    algorithm: a,
                    expected: ExpectedChecksum::Compute,
                })
            }
            (Some(a), Some(b)) if a != b => {
                return Err(ObjectError::InvalidRequest(format!(
                    "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
                    a.as_str().to_lowercase(),
                    b.as_str().to_lowercase()
                )));
            }
            _ => {}
        }
        let checksum_algorithm = checks.checksum.as_ref().map(|c| c.algorithm);
        let write_id = new_id();
        let owner = Owner {
            bucket,
            key,
            version_id: &write_id,
            upload_id,
            part_number,
        };
        let data_key =
            self.open_data_key(up.encryption.as_ref(), bucket, key, sse_customer.as_ref())?;
        let got = ingest::ingest(
            &self.data,
            self.meta.inline_body_max(),
            owner,
            body,
            checks,
            data_key,
        )
        .await?;
        let rec = PartRecord {
            number: part_number,
            last_modified_ms: now_ms(),
            segment: got.segment,
        };
        let ukey = keys::upload_key(bucket, key, upload_id);
        let pkey = keys::part_key(upload_id, part_number);
        let encoded = encode(&rec);
        let (ukey, pkey, encoded, blob) = (&ukey, &pkey, &encoded, &got.blob);
        let committed = self
            .transact(|t| {
                Box::pin(async move {
                    if t.get(Table::Uploads, ukey).await?.is_none() {
                        return Err(ObjectError::NoSuchUpload);
                    }
                    let old = get::<PartRecord>(t, Table::Parts, pkey).await?;
                    t.put(Table::Parts, pkey.clone(), encoded.clone());
                    if let Some((id, bytes)) = blob {
                        t.put(Table::Blobs, id.as_bytes().to_vec(), bytes.to_vec());
                    }
                    if let Some(old) = &old {
                        delete_blobs(t, std::slice::from_ref(&old.segment));
                    }
                    Ok(old)
                })
            })
            .await;
        match committed {
            // The upload still existed at this commit, so no completion has committed (it
            // deletes the upload row), and any completion that read the replaced part
            // conflicts on it: nothing references the replaced files.
            Ok(old) => {
                if let Some(old) = old {
                    self.discard_files(std::slice::from_ref(&old.segment));
                }
                Ok(UploadedPart {
                    part: rec,
                    checksum_algorithm,
                    encryption: up.encryption.clone(),
                })
            }
            Err(e) => {
                if !e.outcome_unknown() {
                    self.discard_files(std::slice::from_ref(&rec.segment));
                }
                Err(e)
            }
        }
    }

    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        max_parts: usize,
    ) -> Result<PartListPage> {
        let (upload, parts) = self
            .transact(|t| {
                Box::pin(async move {
                    let upload = upload_in(t, bucket, key, upload_id).await?;
                    Ok((upload, parts_in(t, upload_id).await?))
                })
            })
            .await?;
        let mut parts: Vec<_> = parts
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| p.number > after)
            .collect();
        let is_truncated = parts.len() > max_parts;
        parts.truncate(max_parts);
        Ok(PartListPage {
            upload,
            parts,
            is_truncated,
        })
    }

    /// CompleteMultipartUpload: validates the listed parts (ascending, existing, ETags and
    /// checksums matching, all but the last at least 5 MiB; of a part number listed several
    /// times, only the last entry) and commits the object.
    /// `full_checksum` is an object checksum sent with the request, verified when given.
    ///
    /// One transaction reads the upload and its parts and commits the object: a part uploaded
    /// again meanwhile (whose replaced files the re-upload unlinks after its commit) conflicts
    /// with it, so it reruns on a fresh read, which then refuses the part's new ETag
    /// (`InvalidPart`) or, with the upload gone, finds the object a concurrent completion made.
    /// `sse_customer`: the SSE-C key, which an SSE-C upload needs (the upload's own key; as
    /// RGW and s3-tests expect).
    #[allow(clippy::too_many_arguments)] // each is one of S3's request fields
    pub async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: &[CompletePart],
        conditions: &WriteConditions,
        full_checksum: Option<(ChecksumAlgorithm, String)>,
        sse_customer: Option<&crate::sse::CustomerKey>,
    ) -> Result<ObjectRecord> {
        let drawn = self.order_draw();
        let (drawn, full_checksum) = (&drawn, full_checksum.as_ref());
        let (rec, freed) = self
            .transact(|t| {
                Box::pin(async move {
                    let up = match upload_in(t, bucket, key, upload_id).await {
                        Err(ObjectError::NoSuchUpload) => {
                            return Ok((completed_already(t, bucket, key, listed).await?, vec![]));
                        }
                        r => r?,
                    };
                    if up
                        .encryption
                        .as_ref()
                        .is_some_and(|e| e.mode == rustfs_meta::SseMode::Customer)
                    {
                        self.open_data_key(up.encryption.as_ref(), bucket, key, sse_customer)?;
                    }
                    let stored = parts_in(t, upload_id).await?;
                    let (mut rec, unused) = completed_record(&up, &stored, listed, full_checksum)?;
                    let mut freed =
                        put_current(t, bucket, key, &mut rec, &[], conditions, drawn).await?;
                    let (s, e) = keys::parts_range(upload_id);
                    t.delete_range(Table::Parts, s, e);
                    t.delete(Table::Uploads, keys::upload_key(bucket, key, upload_id));
                    delete_blobs(t, &unused);
                    freed.extend(unused);
                    Ok((rec, freed))
                })
            })
            .await?;
        self.discard_files(&freed);
        Ok(rec)
    }

    /// AbortMultipartUpload: the upload and every part of it go in one transaction, which
    /// reads the parts it deletes (a part committed meanwhile makes it run again), so no part
    /// row, and no file, outlives the upload.
    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<()> {
        let freed = self
            .transact(|t| {
                Box::pin(async move {
                    upload_in(t, bucket, key, upload_id).await?;
                    abort_in(t, &keys::upload_key(bucket, key, upload_id), upload_id).await
                })
            })
            .await?;
        self.discard_files(&freed);
        Ok(())
    }

    /// UploadPartCopy: a part whose bytes come from (a range of) an existing object. As for
    /// CopyObject, a source overwritten while it streams is read again (the part is one whole
    /// version's bytes).
    /// `sse_customer`: the SSE-C key of the upload, if it has one.
    pub async fn upload_part_copy(
        &self,
        source: &CopySource<'_>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        sse_customer: Option<crate::sse::CustomerKey>,
    ) -> Result<(UploadedPart, ObjectRecord)> {
        let mut attempt = 1;
        loop {
            self.upload(bucket, key, upload_id).await?;
            let src = self.open_copy_source(source).await?;
            // A copy range must lie inside the source (a GET range would be clamped instead).
            if let Some(crate::ByteRange::From {
                last: Some(last), ..
            }) = source.range
                && last >= src.record.size
            {
                return Err(ObjectError::InvalidRange {
                    size: src.record.size,
                });
            }
            let (body, vanished) = watch_source(src.body);
            match self
                .upload_part(
                    bucket,
                    key,
                    upload_id,
                    part_number,
                    body,
                    BodyChecks::default(),
                    sse_customer.clone(),
                )
                .await
            {
                Err(_) if vanished.load(Ordering::Relaxed) && attempt < COPY_ATTEMPTS => {
                    attempt += 1
                }
                r => return r.map(|part| (part, src.record)),
            }
        }
    }
}

/// A repeated CompleteMultipartUpload (the upload is gone, read in `t`): succeeds with the
/// current object when that object is the one these parts made (its multipart ETag is theirs),
/// as S3 answers a retried completion; otherwise the upload is gone (`NoSuchUpload`).
async fn completed_already(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    key: &str,
    listed: &[CompletePart],
) -> Result<ObjectRecord> {
    let etags: Vec<&str> = listed
        .iter()
        .map(|p| p.etag.trim().trim_matches('"'))
        .collect();
    let current =
        match get::<ObjectRecord>(t, Table::Objects, &keys::object_key(bucket, key)).await? {
            Some(rec) if !rec.delete_marker => rec,
            _ => return Err(ObjectError::NoSuchUpload),
        };
    match checksum::multipart_etag(&etags) {
        Ok(etag) if current.multipart && !listed.is_empty() && current.etag == etag => Ok(current),
        _ => Err(ObjectError::NoSuchUpload),
    }
}

/// The object a completion makes of the upload `up` and its parts `stored` (in part-number
/// order), validated against the `listed` parts; and the segments of the parts not used.
fn completed_record(
    up: &UploadRecord,
    stored: &[(Vec<u8>, PartRecord)],
    listed: &[CompletePart],
    full_checksum: Option<&(ChecksumAlgorithm, String)>,
) -> Result<(ObjectRecord, Vec<Segment>)> {
    if listed.is_empty() {
        return Err(ObjectError::NoParts);
    }
    let by_number: HashMap<u32, &PartRecord> = stored.iter().map(|(_, p)| (p.number, p)).collect();
    let mut used: Vec<&PartRecord> = Vec::with_capacity(listed.len());
    for (i, lp) in listed.iter().enumerate() {
        if i > 0 && lp.number < listed[i - 1].number {
            return Err(ObjectError::InvalidPartOrder);
        }
        // A part number listed more than once (a client that uploaded the part again and
        // recorded both answers): the last entry is the one that counts, as on S3.
        if listed
            .get(i + 1)
            .is_some_and(|next| next.number == lp.number)
        {
            continue;
        }
        let p = by_number.get(&lp.number).ok_or_else(|| {
            ObjectError::InvalidPart(format!("part {} was not uploaded", lp.number))
        })?;
        let etag = lp.etag.trim().trim_matches('"');
        if etag != p.segment.etag {
            return Err(ObjectError::InvalidPart(format!(
                "part {} has a different ETag",
                lp.number
            )));
        }
        if let Some((a, v)) = &lp.checksum
            && (up.checksum_algorithm == Some(*a)
                && p.segment.checksum.as_deref() != Some(v.trim()))
        {
            return Err(ObjectError::InvalidPart(format!(
                "part {} has a different {} checksum",
                lp.number,
                a.as_str()
            )));
        }
        used.push(p);
    }
    if let Some((_, init)) = used.split_last()
        && init.iter().any(|p| p.segment.size < MIN_PART_SIZE)
    {
        return Err(ObjectError::EntityTooSmall);
    }

    let etags: Vec<&str> = used.iter().map(|p| p.segment.etag.as_str()).collect();
    let etag = checksum::multipart_etag(&etags)?;
    let checksum = match (up.checksum_algorithm, up.checksum_type) {
        (Some(a), Some(kind)) => {
            let mut raws = Vec::with_capacity(used.len());
            for p in &used {
                let v = p.segment.checksum.as_deref().ok_or_else(|| {
                    ObjectError::InvalidPart(format!(
                        "part {} has no {} checksum",
                        p.number,
                        a.as_str()
                    ))
                })?;
                raws.push((checksum::decode_value(a, v)?, p.segment.size));
            }
            let raw = checksum::combine_parts(a, kind, &raws)?;
            // The checksum the client states for the whole upload: the full-object value,
            // or the composite one (optionally with its `-N` part-count suffix).
            if let Some((fa, fv)) = full_checksum
                && *fa == a
            {
                let fv = fv.trim();
                let stated = match kind {
                    ChecksumType::FullObject => fv,
                    ChecksumType::Composite => fv
                        .rsplit_once('-')
                        .filter(|(_, n)| n.parse::<usize>() == Ok(used.len()))
                        .map_or(fv, |(v, _)| v),
                };
                if checksum::decode_value(a, stated)? != raw {
                    return Err(ObjectError::ChecksumMismatch {
                        algorithm: a.as_str(),
                    });
                }
            }
            Some(ChecksumValue {
                algorithm: a,
                kind,
                value: checksum::b64(&raw),
            })
        }
        _ => None,
    };

    let used_numbers: Vec<u32> = used.iter().map(|p| p.number).collect();
    let unused: Vec<Segment> = stored
        .iter()
        .filter(|(_, p)| !used_numbers.contains(&p.number))
        .map(|(_, p)| p.segment.clone())
        .collect();
    let rec = ObjectRecord {
        version_id: new_id(),
        size: used.iter().map(|p| p.segment.size).sum(),
        etag,
        last_modified_ms: now_ms(),
        owner: up.owner.clone(),
        meta: up.meta.clone(),
        checksum,
        multipart: true,
        segments: used.iter().map(|p| p.segment.clone()).collect(),
        tags: up.tags.clone(),
        acl: up.acl.clone(),
        version: None,
        versioned: false,
        delete_marker: false,
        retention: up.retention,
        legal_hold: up.legal_hold.unwrap_or(false),
        legal_hold_set: up.legal_hold.is_some(),
        encryption: up.encryption.clone(),
    };
    Ok((rec, unused))
}
