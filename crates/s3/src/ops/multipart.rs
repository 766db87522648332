//! Multipart upload operations.

use rustfs_object::CopySource as Source;
use rustfs_object::{BodyChecks, CompletePart, CreateUpload, UploadListQuery, WriteConditions};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::object::{body_error, declared_len, part_number};
use crate::RustFsS3;
use crate::api_error::ApiError;
use crate::body;
use crate::convert::{
    self, checksum_fields, meta_of, non_negative, set_checksum, set_object_checksum, url_encode,
};
use crate::errors::to_s3;

fn required_part_number(n: i32) -> S3Result<u32> {
    part_number(Some(n))?.ok_or_else(|| ApiError::PartNumberMissing.into())
}

impl RustFsS3 {
    pub(super) async fn op_create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let sse = crate::sse::fields(&req).write_request(crate::sse::secure(&req))?;
        self.check_kms_request(sse.as_ref())?;
        let customer = match &sse {
            Some(rustfs_object::sse::SseRequest::Customer(c)) => Some(c.clone()),
            _ => None,
        };
        let (owner, acl) = self.new_object_owner(&req, &req.input.bucket).await?;
        crate::limits::user_metadata(req.input.metadata.as_ref())?;
        let i = req.input;
        let (retention, legal_hold) = super::object_lock::lock_headers!(i, None)?;
        let c = CreateUpload {
            meta: meta_of!(i),
            owner,
            acl,
            checksum_algorithm: i
                .checksum_algorithm
                .as_ref()
                .map(convert::algorithm)
                .transpose()?,
            checksum_type: i
                .checksum_type
                .as_ref()
                .map(convert::checksum_type)
                .transpose()?,
            tags: super::tagging::header_tags(i.tagging.as_ref())?,
            retention,
            legal_hold,
            sse,
        };
        let up = self
            .store
            .create_multipart_upload(&i.bucket, &i.key, c)
            .await
            .map_err(to_s3)?;
        let answer = crate::sse::SseAnswer::of(up.encryption.as_ref(), customer.as_ref());
        let mut out = CreateMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(up.upload_id),
            checksum_algorithm: up.checksum_algorithm.map(convert::dto_algorithm),
            checksum_type: up.checksum_type.map(convert::dto_checksum_type),
            ssekms_encryption_context: answer.context.clone(),
            ..Default::default()
        };
        crate::sse::set_sse!(out, answer);
        Ok(S3Response::new(out))
    }

    pub(super) async fn op_upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let customer = crate::sse::fields(&req).part_key(crate::sse::secure(&req))?;
        let i = req.input;
        let pn = required_part_number(i.part_number)?;
        let checksum = convert::checksum_request(
            checksum_fields!(i),
            i.checksum_algorithm.as_ref(),
            &req.headers,
            req.trailing_headers,
        )?;
        let checks = BodyChecks {
            content_md5: i.content_md5,
            checksum,
            expected_len: declared_len(&req.headers, i.content_length),
        };
        let (body, fault) = body::wrap(i.body);
        let uploaded = self
            .store
            .upload_part(
                &i.bucket,
                &i.key,
                &i.upload_id,
                pn,
                body,
                checks,
                customer.clone(),
            )
            .await
            .map_err(|e| body_error(e, &fault))?;
        let part = &uploaded.part;
        let mut out = UploadPartOutput {
            e_tag: Some(convert::etag(&part.segment.etag)),
            ..Default::default()
        };
        crate::sse::set_sse!(
            out,
            crate::sse::SseAnswer::of(uploaded.encryption.as_ref(), customer.as_ref())
        );
        if let (Some(a), Some(v)) = (uploaded.checksum_algorithm, part.segment.checksum.clone()) {
            set_checksum!(out, a, v);
        }
        Ok(S3Response::new(out))
    }

    pub(super) async fn op_upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let sse = crate::sse::fields(&req);
        let customer = sse.part_key(crate::sse::secure(&req))?;
        let source_key = sse.copy_source_key(crate::sse::secure(&req))?;
        let i = req.input;
        let pn = required_part_number(i.part_number)?;
        let (src_bucket, src_key, src_version) = super::object::copy_source(&i.copy_source)?;
        let range = i
            .copy_source_range
            .as_deref()
            .map(convert::copy_source_range)
            .transpose()?;
        let conditions = convert::read_conditions(
            i.copy_source_if_match.as_ref(),
            i.copy_source_if_none_match.as_ref(),
            i.copy_source_if_modified_since.as_ref(),
            i.copy_source_if_unmodified_since.as_ref(),
        );
        let (uploaded, src) = self
            .store
            .upload_part_copy(
                &Source {
                    bucket: &src_bucket,
                    key: &src_key,
                    version_id: src_version.as_deref(),
                    conditions,
                    range,
                    sse_customer: source_key,
                },
                &i.bucket,
                &i.key,
                &i.upload_id,
                pn,
                customer.clone(),
            )
            .await
            .map_err(to_s3)?;
        let result = CopyPartResult {
            e_tag: Some(convert::etag(&uploaded.part.segment.etag)),
            last_modified: Some(convert::timestamp(uploaded.part.last_modified_ms)),
            ..Default::default()
        };
        let mut out = UploadPartCopyOutput {
            copy_part_result: Some(result),
            copy_source_version_id: super::object::version_out(&src, src_version.as_deref()),
            ..Default::default()
        };
        crate::sse::set_sse!(
            out,
            crate::sse::SseAnswer::of(uploaded.encryption.as_ref(), customer.as_ref())
        );
        Ok(S3Response::new(out))
    }

    pub(super) async fn op_list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let i = req.input;
        let max = non_negative(i.max_parts, 1000, "max-parts")?;
        let after = u32::try_from(i.part_number_marker.unwrap_or(0)).unwrap_or(0);
        let page = self
            .store
            .list_parts(&i.bucket, &i.key, &i.upload_id, after, max)
            .await
            .map_err(to_s3)?;
        let algorithm = page.upload.checksum_algorithm;
        let parts: Vec<Part> = page
            .parts
            .iter()
            .map(|p| {
                let mut part = Part {
                    part_number: Some(p.number as i32),
                    e_tag: Some(convert::etag(&p.segment.etag)),
                    size: Some(p.segment.size as i64),
                    last_modified: Some(convert::timestamp(p.last_modified_ms)),
                    ..Default::default()
                };
                if let (Some(a), Some(v)) = (algorithm, p.segment.checksum.clone()) {
                    set_checksum!(part, a, v);
                }
                part
            })
            .collect();
        let next = if page.is_truncated {
            page.parts.last().map(|p| p.number as i32)
        } else {
            None
        };
        let who = crate::acl::owner(&self.users, &page.upload.owner);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(i.upload_id),
            part_number_marker: i.part_number_marker,
            next_part_number_marker: next,
            max_parts: Some(i.max_parts.unwrap_or(1000)),
            is_truncated: Some(page.is_truncated),
            parts: Some(parts),
            checksum_algorithm: algorithm.map(convert::dto_algorithm),
            checksum_type: page.upload.checksum_type.map(convert::dto_checksum_type),
            initiator: Some(Initiator {
                display_name: who.display_name.clone(),
                id: who.id.clone(),
            }),
            owner: Some(who),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            ..Default::default()
        }))
    }

    pub(super) async fn op_list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let i = req.input;
        let url = i
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str().eq_ignore_ascii_case("url"));
        let enc = |s: String| if url { url_encode(&s) } else { s };
        let q = UploadListQuery {
            prefix: i.prefix.clone().unwrap_or_default(),
            delimiter: i.delimiter.clone(),
            key_marker: i.key_marker.clone(),
            upload_id_marker: i.upload_id_marker.clone(),
            max_uploads: non_negative(i.max_uploads, 1000, "max-uploads")?,
        };
        let page = self
            .store
            .list_uploads(&i.bucket, &q)
            .await
            .map_err(to_s3)?;
        let (next_key, next_upload) = match (page.is_truncated, page.uploads.last()) {
            (true, Some(u)) => (Some(enc(u.key.clone())), Some(u.upload_id.clone())),
            _ => (None, None),
        };
        let uploads = page
            .uploads
            .iter()
            .map(|u| {
                let who = crate::acl::owner(&self.users, &u.owner);
                MultipartUpload {
                    key: Some(enc(u.key.clone())),
                    upload_id: Some(u.upload_id.clone()),
                    initiated: Some(convert::timestamp(u.initiated_ms)),
                    initiator: Some(Initiator {
                        display_name: who.display_name.clone(),
                        id: who.id.clone(),
                    }),
                    owner: Some(who),
                    storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                    checksum_algorithm: u.checksum_algorithm.map(convert::dto_algorithm),
                    checksum_type: u.checksum_type.map(convert::dto_checksum_type),
                }
            })
            .collect();
        let prefixes = page
            .prefixes
            .into_iter()
            .map(|p| CommonPrefix {
                prefix: Some(enc(p)),
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(i.bucket),
            prefix: i.prefix.map(&enc),
            delimiter: i.delimiter,
            key_marker: i.key_marker,
            upload_id_marker: i.upload_id_marker,
            next_key_marker: next_key,
            next_upload_id_marker: next_upload,
            max_uploads: Some(i.max_uploads.unwrap_or(1000)),
            is_truncated: Some(page.is_truncated),
            uploads: Some(uploads),
            common_prefixes: Some(prefixes),
            encoding_type: i.encoding_type,
            ..Default::default()
        }))
    }

    pub(super) async fn op_complete_multipart_upload(
        &self,
        mut req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let customer = crate::sse::fields(&req).part_key(crate::sse::secure(&req))?;
        let ext = std::mem::take(&mut req.extensions);
        let i = req.input;
        let listed = i.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        let mut parts = Vec::with_capacity(listed.len());
        for p in &listed {
            let number = p
                .part_number
                .and_then(|n| u32::try_from(n).ok())
                .ok_or(ApiError::CompletedPartNumberInvalid)?;
            let checksum = checksum_fields!(p).single()?;
            let etag = p
                .e_tag
                .as_ref()
                .map(|e| e.value().to_string())
                .unwrap_or_default();
            parts.push(CompletePart {
                number,
                etag,
                checksum,
            });
        }
        let full = checksum_fields!(i)
            .single()?
            // A composite value ("…-N") names no whole-object digest to verify.
            .filter(|(_, v)| !v.contains('-'));
        let conds = WriteConditions {
            if_match: convert::etag_match_opt(i.if_match.as_ref()),
            if_none_match: convert::etag_match_opt(i.if_none_match.as_ref()),
        };
        let rec = self
            .store
            .complete_multipart_upload(
                &i.bucket,
                &i.key,
                &i.upload_id,
                &parts,
                &conds,
                full,
                customer.as_ref(),
            )
            .await
            .map_err(to_s3)?;
        let mut out = CompleteMultipartUploadOutput {
            bucket: Some(i.bucket.clone()),
            key: Some(i.key.clone()),
            e_tag: Some(convert::etag(&rec.etag)),
            location: Some(format!("/{}/{}", i.bucket, i.key)),
            version_id: super::object::version_out(&rec, None),
            expiration: crate::access::CheckedLifecycle::header_of(&ext, &i.key, &rec),
            ..Default::default()
        };
        set_object_checksum!(out, rec);
        let answer = crate::sse::SseAnswer::of(rec.encryption.as_ref(), customer.as_ref());
        out.server_side_encryption = answer.algorithm;
        out.ssekms_key_id = answer.kms_key_id;
        let mut resp = S3Response::new(out);
        // s3s' output has no SSE-C fields; S3 (and RGW) send them on completion too.
        for (name, value) in [
            (
                "x-amz-server-side-encryption-customer-algorithm",
                answer.customer_algorithm,
            ),
            (
                "x-amz-server-side-encryption-customer-key-md5",
                answer.customer_key_md5,
            ),
        ] {
            if let Some(v) = value.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
                resp.headers.insert(name, v);
            }
        }
        Ok(resp)
    }

    pub(super) async fn op_abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let i = req.input;
        self.store
            .abort_multipart_upload(&i.bucket, &i.key, &i.upload_id)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }
}
