//! GetObjectAttributes: ETag, checksum, parts, storage class and size of an object, from its
//! record alone (no data is read).

use rustfs_object::ObjectRecord;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::RustFsS3;
use crate::convert::{self, non_negative, set_checksum, set_object_checksum};
use crate::errors::to_s3;

const MAX_PARTS: usize = 1000;

/// The `ObjectParts` page of a multipart object: parts after `marker`, at most `max`.
fn parts_page(rec: &ObjectRecord, marker: usize, max: usize) -> GetObjectAttributesParts {
    let algorithm = rec.checksum.as_ref().map(|c| c.algorithm);
    let total = rec.segments.len();
    let parts: Vec<ObjectPart> = rec
        .segments
        .iter()
        .enumerate()
        .skip(marker)
        .take(max)
        .map(|(i, s)| {
            let mut p = ObjectPart {
                part_number: Some(i as i32 + 1),
                size: Some(s.size as i64),
                ..Default::default()
            };
            if let (Some(a), Some(v)) = (algorithm, s.checksum.clone()) {
                set_checksum!(p, a, v);
            }
            p
        })
        .collect();
    let last = marker + parts.len();
    let is_truncated = last < total;
    GetObjectAttributesParts {
        is_truncated: Some(is_truncated),
        max_parts: Some(max as i32),
        next_part_number_marker: is_truncated.then_some(last as i32),
        part_number_marker: Some(marker as i32),
        parts: Some(parts),
        total_parts_count: Some(total as i32),
    }
}

impl RustFsS3 {
    pub(super) async fn op_get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let customer = crate::sse::fields(&req).read_key(crate::sse::secure(&req))?;
        let i = req.input;
        let rec = self
            .store
            .head_version(&i.bucket, &i.key, i.version_id.as_deref())
            .await
            .map_err(to_s3)?;
        self.store
            .check_read_key(&rec, &i.bucket, &i.key, customer.as_ref())
            .map_err(to_s3)?;
        // One header may carry several comma-separated names.
        let wants = |name: &str| {
            i.object_attributes
                .iter()
                .flat_map(|a| a.as_str().split(','))
                .any(|a| a.trim() == name)
        };
        let mut out = GetObjectAttributesOutput {
            last_modified: Some(convert::timestamp(rec.last_modified_ms)),
            version_id: super::object::version_out(&rec, i.version_id.as_deref()),
            ..Default::default()
        };
        if wants(ObjectAttributes::ETAG) {
            out.e_tag = Some(convert::etag(&rec.etag));
        }
        if wants(ObjectAttributes::OBJECT_SIZE) {
            out.object_size = Some(rec.size as i64);
        }
        if wants(ObjectAttributes::STORAGE_CLASS) {
            out.storage_class = Some(StorageClass::from_static(StorageClass::STANDARD));
        }
        if wants(ObjectAttributes::CHECKSUM) && rec.checksum.is_some() {
            let mut c = Checksum::default();
            set_object_checksum!(c, rec);
            out.checksum = Some(c);
        }
        if wants(ObjectAttributes::OBJECT_PARTS) && rec.multipart {
            let marker = match i.part_number_marker {
                Some(m) => non_negative(Some(m), usize::MAX, "part-number-marker")?,
                None => 0,
            };
            let max = non_negative(i.max_parts, MAX_PARTS, "max-parts")?;
            out.object_parts = Some(parts_page(&rec, marker, max));
        }
        Ok(S3Response::new(out))
    }
}
