//! Multipart uploads. Each part is its own data file (or blob); completion writes one object
//! record that references the parts in order, so no byte is copied.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::Stream;
use rustfs_meta::{
    Batch, Check, ChecksumAlgorithm, ChecksumType, ChecksumValue, MetaError, ObjectMeta,
    ObjectRecord, PartRecord, ScanStep, Segment, Table, UploadRecord, decode, encode, keys,
};

use crate::checksum;
use crate::ingest::{self, BodyChecks, ChecksumRequest, ExpectedChecksum, Owner};
use crate::objects::{
    CAS_ATTEMPTS, COPY_ATTEMPTS, CommitExtra, CopySource, delete_blobs, watch_source,
};
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
}

/// A part row as read: its key and stored bytes (for a compare-and-swap) and its record.
struct StoredPart {
    key: Vec<u8>,
    bytes: Vec<u8>,
    record: PartRecord,
}

/// Adds to `b` the checks that the upload's part rows are exactly `stored` (read in key
/// order): each unchanged, and none between, before or after them. A commit that deletes the
/// parts it read, or makes an object of them, holds only on the parts it read.
fn check_parts_unchanged(b: &mut Batch, upload_id: &str, stored: &[StoredPart]) {
    let (mut from, end) = keys::parts_range(upload_id);
    for p in stored {
        b.check(Check::RangeEmpty(Table::Parts, from, p.key.clone()));
        b.check(Check::Equals(Table::Parts, p.key.clone(), p.bytes.clone()));
        // The smallest key after this one.
        from = p.key.clone();
        from.push(0);
    }
    b.check(Check::RangeEmpty(Table::Parts, from, end));
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
        self.bucket(bucket)?;
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
        };
        let mut b = Batch::new();
        b.check(Check::Present(Table::Buckets, bucket.as_bytes().to_vec()));
        b.put(
            Table::Uploads,
            keys::upload_key(bucket, key, &rec.upload_id),
            encode(&rec),
        );
        match self.meta.commit(b).await {
            Ok(()) => Ok(rec),
            Err(MetaError::Conflict(_)) => Err(ObjectError::NoSuchBucket),
            Err(e) => Err(e.into()),
        }
    }

    /// The upload's record, or `NoSuchUpload` (`NoSuchBucket` when the bucket is gone).
    pub fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<UploadRecord> {
        if upload_id.is_empty() || upload_id.contains('\0') {
            return Err(ObjectError::NoSuchUpload);
        }
        match self
            .meta
            .get(Table::Uploads, &keys::upload_key(bucket, key, upload_id))?
        {
            Some(v) => Ok(decode(&v)?),
            None => {
                self.bucket(bucket)?;
                Err(ObjectError::NoSuchUpload)
            }
        }
    }

    pub async fn upload_part<S, E>(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: S,
        mut checks: BodyChecks,
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
        let up = self.upload(bucket, key, upload_id)?;
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
        let got = ingest::ingest(&self.data, owner, body, checks).await?;
        let rec = PartRecord {
            number: part_number,
            last_modified_ms: now_ms(),
            segment: got.segment,
        };
        let ukey = keys::upload_key(bucket, key, upload_id);
        let pkey = keys::part_key(upload_id, part_number);
        let encoded = encode(&rec);
        for _ in 0..CAS_ATTEMPTS {
            let cur_bytes = self.meta.get(Table::Parts, &pkey)?;
            let cur: Option<PartRecord> = cur_bytes.as_deref().map(decode).transpose()?;
            let mut b = Batch::new();
            b.check(Check::Present(Table::Uploads, ukey.clone()));
            b.check(match &cur_bytes {
                Some(v) => Check::Equals(Table::Parts, pkey.clone(), v.clone()),
                None => Check::Absent(Table::Parts, pkey.clone()),
            });
            b.put(Table::Parts, pkey.clone(), encoded.clone());
            if let Some((id, bytes)) = &got.blob {
                b.put(Table::Blobs, id.as_bytes().to_vec(), bytes.to_vec());
            }
            if let Some(old) = &cur {
                delete_blobs(&mut b, std::slice::from_ref(&old.segment));
            }
            match self.meta.commit(b).await {
                // The upload still existed at this commit, so no completion has committed
                // (it deletes the upload row), and any completion that read the replaced
                // part fails its check on it: nothing references the replaced files.
                Ok(()) => {
                    if let Some(old) = cur {
                        self.discard_files(std::slice::from_ref(&old.segment));
                    }
                    return Ok(UploadedPart {
                        part: rec,
                        checksum_algorithm,
                    });
                }
                Err(MetaError::Conflict(1)) => continue,
                Err(e) => {
                    let e = match e {
                        MetaError::Conflict(_) => ObjectError::NoSuchUpload,
                        e => e.into(),
                    };
                    if !e.outcome_unknown() {
                        self.discard_files(std::slice::from_ref(&rec.segment));
                    }
                    return Err(e);
                }
            }
        }
        self.discard_files(std::slice::from_ref(&rec.segment));
        Err(ObjectError::Contended)
    }

    /// The upload's part rows as stored (key, bytes and record, in part-number order), for a
    /// commit that must find them unchanged (see [`check_parts_unchanged`]).
    fn stored_parts(&self, upload_id: &str) -> Result<Vec<StoredPart>> {
        let (s, e) = keys::parts_range(upload_id);
        let mut parts = Vec::new();
        let mut failed = None;
        self.meta
            .scan(Table::Parts, &s, &e, &mut |k, v| match decode(v) {
                Ok(record) => {
                    parts.push(StoredPart {
                        key: k.to_vec(),
                        bytes: v.to_vec(),
                        record,
                    });
                    ScanStep::Next
                }
                Err(err) => {
                    failed = Some(err);
                    ScanStep::Stop
                }
            })?;
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(parts),
        }
    }

    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        max_parts: usize,
    ) -> Result<PartListPage> {
        let upload = self.upload(bucket, key, upload_id)?;
        let mut parts: Vec<_> = self
            .stored_parts(upload_id)?
            .into_iter()
            .map(|p| p.record)
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
    /// The commit holds only if every part row read is unchanged and no other part was added
    /// (see [`check_parts_unchanged`]): a part uploaded again meanwhile (whose replaced files
    /// the re-upload unlinks) makes the completion start over from a fresh read, which then
    /// refuses the part's new ETag (`InvalidPart`) or, with the upload gone, finds the object
    /// a concurrent completion made.
    pub async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: &[CompletePart],
        conditions: &WriteConditions,
        full_checksum: Option<(ChecksumAlgorithm, String)>,
    ) -> Result<ObjectRecord> {
        for _ in 0..CAS_ATTEMPTS {
            if let Some(rec) = self
                .try_complete(
                    bucket,
                    key,
                    upload_id,
                    listed,
                    conditions,
                    full_checksum.as_ref(),
                )
                .await?
            {
                return Ok(rec);
            }
        }
        Err(ObjectError::Contended)
    }

    /// One attempt of [`Self::complete_multipart_upload`]; `None` when the upload's parts
    /// changed between the read and the commit (nothing was applied).
    async fn try_complete(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: &[CompletePart],
        conditions: &WriteConditions,
        full_checksum: Option<&(ChecksumAlgorithm, String)>,
    ) -> Result<Option<ObjectRecord>> {
        let up = match self.upload(bucket, key, upload_id) {
            Err(ObjectError::NoSuchUpload) => {
                return self.completed_already(bucket, key, listed).map(Some);
            }
            r => r?,
        };
        if listed.is_empty() {
            return Err(ObjectError::NoParts);
        }
        let stored = self.stored_parts(upload_id)?;
        let by_number: HashMap<u32, &PartRecord> = stored
            .iter()
            .map(|p| (p.record.number, &p.record))
            .collect();
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
            .filter(|p| !used_numbers.contains(&p.record.number))
            .map(|p| p.record.segment.clone())
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
        };
        let ukey = keys::upload_key(bucket, key, upload_id);
        let apply = |b: &mut Batch| {
            b.check(Check::Present(Table::Uploads, ukey.clone()));
            check_parts_unchanged(b, upload_id, &stored);
            b.delete(Table::Uploads, ukey.clone());
            for p in &stored {
                b.delete(Table::Parts, p.key.clone());
            }
            delete_blobs(b, &unused);
        };
        let extra = CommitExtra { apply: &apply };
        let Some(rec) = self
            .commit_object_with(bucket, key, rec, Vec::new(), conditions, &extra)
            .await?
        else {
            // The upload is gone or its parts changed: look again.
            return Ok(None);
        };
        self.discard_files(&unused);
        Ok(Some(rec))
    }

    /// A repeated CompleteMultipartUpload: succeeds with the current object when that object
    /// is the one these parts made (its multipart ETag is theirs), as S3 answers a retried
    /// completion; otherwise the upload is gone (`NoSuchUpload`).
    fn completed_already(
        &self,
        bucket: &str,
        key: &str,
        listed: &[CompletePart],
    ) -> Result<ObjectRecord> {
        let etags: Vec<&str> = listed
            .iter()
            .map(|p| p.etag.trim().trim_matches('"'))
            .collect();
        let current = match self.head_object(bucket, key) {
            Ok(rec) => rec,
            Err(ObjectError::NoSuchKey | ObjectError::DeleteMarker { .. }) => {
                return Err(ObjectError::NoSuchUpload);
            }
            Err(e) => return Err(e),
        };
        match checksum::multipart_etag(&etags) {
            Ok(etag) if current.multipart && !listed.is_empty() && current.etag == etag => {
                Ok(current)
            }
            _ => Err(ObjectError::NoSuchUpload),
        }
    }

    /// AbortMultipartUpload: the upload and every part of it go in one commit, which holds only
    /// if the parts are exactly those read (a part committed meanwhile makes it read again), so
    /// no part row, and no file, outlives the upload.
    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<()> {
        let ukey = keys::upload_key(bucket, key, upload_id);
        for _ in 0..CAS_ATTEMPTS {
            self.upload(bucket, key, upload_id)?;
            let parts = self.stored_parts(upload_id)?;
            let mut b = Batch::new();
            b.check(Check::Present(Table::Uploads, ukey.clone()));
            check_parts_unchanged(&mut b, upload_id, &parts);
            b.delete(Table::Uploads, ukey.clone());
            let segments: Vec<Segment> = parts.iter().map(|p| p.record.segment.clone()).collect();
            for p in parts {
                b.delete(Table::Parts, p.key);
            }
            delete_blobs(&mut b, &segments);
            match self.meta.commit(b).await {
                Ok(()) => {
                    self.discard_files(&segments);
                    return Ok(());
                }
                Err(MetaError::Conflict(0)) => return Err(ObjectError::NoSuchUpload),
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
    }

    /// UploadPartCopy: a part whose bytes come from (a range of) an existing object. As for
    /// CopyObject, a source overwritten while it streams is read again (the part is one whole
    /// version's bytes).
    pub async fn upload_part_copy(
        &self,
        source: &CopySource<'_>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
    ) -> Result<(UploadedPart, ObjectRecord)> {
        let mut attempt = 1;
        loop {
            self.upload(bucket, key, upload_id)?;
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
