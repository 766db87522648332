//! Single-object operations.

use http::HeaderMap;
use rustfs_object::CopySource as Source;
use rustfs_object::{BodyChecks, ObjectError, ObjectRecord, PutOptions, WriteConditions};
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result};

use super::tagging::header_tags;
use crate::RustFsS3;
use crate::access::{CheckedRecord, DeniedEntries};
use crate::api_error::ApiError;
use crate::body::BodyFault;
use crate::convert::{self, meta_of, set_checksum, set_object_checksum};
use crate::errors::to_s3;
use crate::sse;

/// An object-layer error, preferring the body's own failure (e.g. a bad chunk signature).
pub(crate) fn body_error(e: ObjectError, fault: &BodyFault) -> S3Error {
    if matches!(e, ObjectError::Body(_))
        && let Some(f) = fault.take()
    {
        return f;
    }
    to_s3(e)
}

/// The decoded body length the client declared, when it is known up front.
pub(crate) fn declared_len(headers: &HeaderMap, content_length: Option<i64>) -> Option<u64> {
    if let Some(v) = headers.get("x-amz-decoded-content-length") {
        return v.to_str().ok().and_then(|s| s.parse().ok());
    }
    let streaming = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    if streaming {
        None
    } else {
        content_length.and_then(|l| u64::try_from(l).ok())
    }
}

pub(crate) fn part_number(n: Option<i32>) -> S3Result<Option<u32>> {
    n.map(|n| u32::try_from(n).map_err(|_| ApiError::PartNumberInvalid.into()))
        .transpose()
}

/// `x-amz-version-id` of a written or read version: its id when it has one; `null` for the
/// null version only when the request named it (a bucket never versioned sends none).
pub(crate) fn version_out(rec: &ObjectRecord, asked: Option<&str>) -> Option<String> {
    rec.version_id()
        .map(str::to_string)
        .or_else(|| asked.map(|_| "null".to_string()))
}

/// Bucket, key and version of an `x-amz-copy-source`.
pub(crate) fn copy_source(cs: &CopySource) -> S3Result<(String, String, Option<String>)> {
    match cs {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => Ok((
            bucket.to_string(),
            key.to_string(),
            version_id.as_deref().map(str::to_string),
        )),
        _ => Err(ApiError::CopyFromAccessPoint.into()),
    }
}

fn content_range(start: u64, end: u64, size: u64) -> String {
    format!("bytes {start}-{}/{size}", end.saturating_sub(1))
}

fn checksum_mode_enabled(m: Option<&ChecksumMode>) -> bool {
    m.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED))
}

/// What GET and HEAD ask: the object, its preconditions, the span and `response-*` overrides.
struct ReadRequest {
    bucket: String,
    key: String,
    spec: rustfs_object::ReadSpec,
    checksum_mode: bool,
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<Timestamp>,
}

/// Builds a [`ReadRequest`] from `GetObjectInput` or `HeadObjectInput` (same fields).
macro_rules! read_request {
    ($i:expr) => {{
        let i = $i;
        part_number(i.part_number).map(|part_number| ReadRequest {
            spec: rustfs_object::ReadSpec {
                version: i.version_id,
                conditions: convert::read_conditions(
                    i.if_match.as_ref(),
                    i.if_none_match.as_ref(),
                    i.if_modified_since.as_ref(),
                    i.if_unmodified_since.as_ref(),
                ),
                range: i.range.as_ref().map(convert::range),
                part_number,
                sse_customer: None,
            },
            checksum_mode: checksum_mode_enabled(i.checksum_mode.as_ref()),
            bucket: i.bucket,
            key: i.key,
            content_type: i.response_content_type,
            content_encoding: i.response_content_encoding,
            content_disposition: i.response_content_disposition,
            content_language: i.response_content_language,
            cache_control: i.response_cache_control,
            expires: i.response_expires,
        })
    }};
}

/// The response fields GET and HEAD share.
struct ReadView {
    content_length: i64,
    content_range: Option<String>,
    e_tag: ETag,
    last_modified: Timestamp,
    metadata: Option<Metadata>,
    content_type: String,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<Timestamp>,
    parts_count: Option<i32>,
    checksum: Option<(rustfs_object::ChecksumAlgorithm, String, ChecksumType)>,
    /// `x-amz-tagging-count`, sent only when the object has tags.
    tag_count: Option<i32>,
    version_id: Option<String>,
    /// Object lock mode, retain-until date and legal hold, as the version has them.
    lock: (
        Option<ObjectLockMode>,
        Option<Timestamp>,
        Option<ObjectLockLegalHoldStatus>,
    ),
    sse: crate::sse::SseAnswer,
}

fn read_view(rec: &ObjectRecord, start: u64, end: u64, partial: bool, r: &ReadRequest) -> ReadView {
    let m = &rec.meta;
    ReadView {
        content_length: (end - start) as i64,
        content_range: partial.then(|| content_range(start, end, rec.size)),
        e_tag: convert::etag(&rec.etag),
        last_modified: convert::timestamp(rec.last_modified_ms),
        metadata: convert::user_metadata(m),
        content_type: r
            .content_type
            .clone()
            .or_else(|| m.content_type.clone())
            .unwrap_or_else(|| "binary/octet-stream".into()),
        content_encoding: r
            .content_encoding
            .clone()
            .or_else(|| m.content_encoding.clone()),
        content_disposition: r
            .content_disposition
            .clone()
            .or_else(|| m.content_disposition.clone()),
        content_language: r
            .content_language
            .clone()
            .or_else(|| m.content_language.clone()),
        cache_control: r.cache_control.clone().or_else(|| m.cache_control.clone()),
        expires: r
            .expires
            .clone()
            .or_else(|| m.expires.as_deref().and_then(convert::parse_http_date)),
        parts_count: (rec.multipart && r.spec.part_number.is_some())
            .then_some(rec.segments.len() as i32),
        checksum: read_checksum(rec, partial, r),
        tag_count: (!rec.tags.is_empty()).then_some(rec.tags.len() as i32),
        version_id: version_out(rec, r.spec.version.as_deref()),
        lock: super::object_lock::lock_out(rec),
        sse: crate::sse::SseAnswer::of(rec.encryption.as_ref(), r.spec.sse_customer.as_ref()),
    }
}

/// The checksum a read reports: the whole object's when asked for (`x-amz-checksum-mode`)
/// and the whole object is read; a part's own checksum when one part of a multipart object
/// is read, as S3 does. A range gets none.
fn read_checksum(
    rec: &ObjectRecord,
    partial: bool,
    r: &ReadRequest,
) -> Option<(rustfs_object::ChecksumAlgorithm, String, ChecksumType)> {
    let c = rec.checksum.as_ref()?;
    match r.spec.part_number {
        Some(pn) if rec.multipart => {
            let seg = rec
                .segments
                .get(usize::try_from(pn).ok()?.checked_sub(1)?)?;
            let (_, _, kind) = convert::checksum_out(c, rec.segments.len());
            Some((c.algorithm, seg.checksum.clone()?, kind))
        }
        _ if r.checksum_mode && !partial => Some(convert::checksum_out(c, rec.segments.len())),
        _ => None,
    }
}

/// Fills `GetObjectOutput` or `HeadObjectOutput` from a [`ReadView`].
macro_rules! read_output {
    ($ty:ident, $view:expr) => {{
        let v = $view;
        let mut out = $ty {
            accept_ranges: Some("bytes".into()),
            content_length: Some(v.content_length),
            content_range: v.content_range,
            e_tag: Some(v.e_tag),
            last_modified: Some(v.last_modified),
            metadata: v.metadata,
            content_type: Some(v.content_type),
            content_encoding: v.content_encoding,
            content_disposition: v.content_disposition,
            content_language: v.content_language,
            cache_control: v.cache_control,
            expires: v.expires,
            parts_count: v.parts_count,
            version_id: v.version_id,
            ..Default::default()
        };
        $crate::sse::set_sse!(out, v.sse);
        if let Some((a, value, kind)) = v.checksum {
            set_checksum!(out, a, value);
            out.checksum_type = Some(kind);
        }
        (
            out.object_lock_mode,
            out.object_lock_retain_until_date,
            out.object_lock_legal_hold_status,
        ) = v.lock;
        out
    }};
}

/// Stores the body of a `PutObjectInput` or `PostObjectInput` request (same field names) with
/// its metadata, digests, write conditions and tags; evaluates to the new record.
macro_rules! put_from {
    ($self:expr, $req:expr) => {{
        let (req, sse) = $req;
        $self.check_kms_request(sse.as_ref())?;
        let (owner, acl) = $self.new_object_owner(&req, &req.input.bucket).await?;
        let checked = req.extensions.get::<$crate::access::CheckedBucket>();
        let bucket_checked = checked.is_some();
        let bucket_default = checked.and_then(|c| c.0.encryption.clone());
        $crate::limits::user_metadata(req.input.metadata.as_ref())?;
        let input = req.input;
        let checksum = $crate::convert::checksum_request(
            $crate::convert::checksum_fields!(input),
            input.checksum_algorithm.as_ref(),
            &req.headers,
            req.trailing_headers,
        )?;
        let (retention, legal_hold) =
            $crate::ops::object_lock::lock_headers!(input, Some(&req.headers))?;
        let opts = rustfs_object::PutOptions {
            meta: $crate::convert::meta_of!(input),
            owner,
            checks: rustfs_object::BodyChecks {
                content_md5: input.content_md5,
                checksum,
                expected_len: $crate::ops::object::declared_len(&req.headers, input.content_length),
            },
            conditions: rustfs_object::WriteConditions {
                if_match: $crate::convert::etag_match_opt(input.if_match.as_ref()),
                if_none_match: $crate::convert::etag_match_opt(input.if_none_match.as_ref()),
            },
            tags: Some($crate::ops::tagging::header_tags(input.tagging.as_ref())?),
            acl,
            bucket_checked,
            retention,
            legal_hold,
            sse,
            bucket_default,
        };
        let (body, fault) = $crate::body::wrap(input.body);
        $self
            .store
            .put_object(&input.bucket, &input.key, body, opts)
            .await
            .map_err(|e| $crate::ops::object::body_error(e, &fault))?
    }};
}
pub(crate) use put_from;

/// Why a DeleteObjects entry was not deleted: the access check's refusal, or the store's.
enum Refused<'a> {
    Check(&'a S3Error),
    Store(ObjectError),
}

impl RustFsS3 {
    /// Refuses an SSE-KMS request naming a key the KMS does not have before reading a body.
    pub(crate) fn check_kms_request(
        &self,
        sse: Option<&rustfs_object::sse::SseRequest>,
    ) -> S3Result<()> {
        if let Some(rustfs_object::sse::SseRequest::Kms {
            key_id: Some(id), ..
        }) = sse
        {
            self.store.check_kms_key(id).map_err(to_s3)?;
        }
        Ok(())
    }

    /// A read's error; a 304 carries the object's ETag and Last-Modified, as S3 sends them.
    async fn read_error(&self, e: rustfs_object::ObjectError, bucket: &str, key: &str) -> S3Error {
        let not_modified = matches!(e, rustfs_object::ObjectError::NotModified);
        let no_key = matches!(e, rustfs_object::ObjectError::NoSuchKey);
        let mut err = to_s3(e);
        if no_key {
            // As RGW does: the key is absent, not hidden by a delete marker.
            let mut h = http::HeaderMap::new();
            h.insert(
                "x-amz-delete-marker",
                http::HeaderValue::from_static("false"),
            );
            err.set_headers(h);
        }
        if not_modified && let Ok(rec) = self.store.head_object(bucket, key).await {
            let mut h = http::HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", rec.etag)) {
                h.insert(http::header::ETAG, v);
            }
            if let Some(v) = convert::http_date(&convert::timestamp(rec.last_modified_ms))
                .and_then(|d| http::HeaderValue::from_str(&d).ok())
            {
                h.insert(http::header::LAST_MODIFIED, v);
            }
            err.set_headers(h);
        }
        err
    }

    pub(super) async fn op_put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let sse = sse::fields(&req).write_request(sse::secure(&req))?;
        let customer = match &sse {
            Some(rustfs_object::sse::SseRequest::Customer(c)) => Some(c.clone()),
            _ => None,
        };
        let mut out = PutObjectOutput::default();
        let key = req.input.key.clone();
        // Only the rules (one `Arc`) outlive the request `put_from!` consumes.
        let lifecycle = req
            .extensions
            .get::<crate::access::CheckedLifecycle>()
            .cloned();
        let rec = put_from!(self, (req, sse));
        // Inside the request's span: the line carries its request id.
        tracing::debug!(key, size = rec.size, version = %rec.version_id, "object stored");
        out.expiration = crate::access::CheckedLifecycle::header(lifecycle.as_ref(), &key, &rec);
        let answer = sse::SseAnswer::of(rec.encryption.as_ref(), customer.as_ref());
        out.ssekms_encryption_context = answer.context.clone();
        sse::set_sse!(out, answer);
        out.e_tag = Some(convert::etag(&rec.etag));
        out.version_id = version_out(&rec, None);
        set_object_checksum!(out, rec);
        Ok(S3Response::new(out))
    }

    pub(super) async fn op_get_object(
        &self,
        mut req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let customer = sse::fields(&req).read_key(sse::secure(&req))?;
        let checked = req.extensions.remove::<CheckedRecord>().map(|c| c.0);
        let mut r = read_request!(req.input)?;
        r.spec.sse_customer = customer;
        let opened = match self
            .store
            .open_version_from(&r.bucket, &r.key, &r.spec, checked)
            .await
        {
            Ok(o) => o,
            Err(e) => return Err(self.read_error(e, &r.bucket, &r.key).await),
        };
        let view = read_view(&opened.record, opened.start, opened.end, opened.partial, &r);
        let tag_count = view.tag_count;
        let mut out = read_output!(GetObjectOutput, view);
        out.tag_count = tag_count;
        if r.spec.version.is_none() {
            out.expiration =
                crate::access::CheckedLifecycle::header_of(&req.extensions, &r.key, &opened.record);
        }
        out.body = Some(StreamingBlob::wrap(sync_wrapper::SyncStream::new(
            opened.body,
        )));
        let mut resp = S3Response::new(out);
        resp.status = opened.partial.then_some(http::StatusCode::PARTIAL_CONTENT);
        Ok(resp)
    }

    pub(super) async fn op_head_object(
        &self,
        mut req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let customer = sse::fields(&req).read_key(sse::secure(&req))?;
        let checked = req.extensions.remove::<CheckedRecord>().map(|c| c.0);
        let mut r = read_request!(req.input)?;
        r.spec.sse_customer = customer;
        let (rec, start, end, partial) = match self
            .store
            .stat_version_from(&r.bucket, &r.key, &r.spec, checked)
            .await
        {
            Ok(v) => v,
            Err(e) => return Err(self.read_error(e, &r.bucket, &r.key).await),
        };
        let view = read_view(&rec, start, end, partial, &r);
        let tag_count = view.tag_count;
        let mut out = read_output!(HeadObjectOutput, view);
        if r.spec.version.is_none() {
            out.expiration =
                crate::access::CheckedLifecycle::header_of(&req.extensions, &r.key, &rec);
        }
        let mut resp = S3Response::new(out);
        // HeadObjectOutput has no field for it; S3 sends it on HEAD as on GET.
        if let Some(n) = tag_count {
            resp.headers
                .insert("x-amz-tagging-count", http::HeaderValue::from(n));
        }
        resp.status = partial.then_some(http::StatusCode::PARTIAL_CONTENT);
        Ok(resp)
    }

    pub(super) async fn op_delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let caller = self.caller(&req);
        let bypass = super::object_lock::bypass_of(
            &req.extensions,
            req.input.bypass_governance_retention,
            0,
        );
        let i = req.input;
        let done = self
            .store
            .delete_version_with(&i.bucket, &i.key, i.version_id.as_deref(), &caller, bypass)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeleteObjectOutput {
            delete_marker: done.delete_marker.then_some(true),
            version_id: done.version_id,
            ..Default::default()
        }))
    }

    pub(super) async fn op_delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let caller = self.caller(&req);
        let i = req.input;
        if i.delete.objects.len() > super::DELETE_OBJECTS_MAX {
            return Err(ApiError::TooManyKeysToDelete.into());
        }
        let quiet = i.delete.quiet.unwrap_or(false);
        // Keys the access check refused (or could not decide) are reported, not deleted.
        let refused = req.extensions.get::<DeniedEntries>();
        let refusal = |entry: usize| refused.and_then(|r| r.refusal(entry));
        let is_refused = |entry: usize| refusal(entry).is_some();
        let asked = i.bypass_governance_retention;
        let (list, bypass): (Vec<(String, Option<String>)>, Vec<bool>) = i
            .delete
            .objects
            .iter()
            .enumerate()
            .filter(|(n, _)| !is_refused(*n))
            .map(|(n, o)| {
                let bypass = super::object_lock::bypass_of(&req.extensions, asked, n);
                ((o.key.clone(), o.version_id.clone()), bypass)
            })
            .unzip();
        let mut outcomes = self
            .store
            .delete_versions_with(&i.bucket, &list, &caller, &bypass)
            .await
            .map_err(to_s3)?
            .into_iter();
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for (n, obj) in i.delete.objects.into_iter().enumerate() {
            let outcome = match refusal(n) {
                Some(why) => Err(Refused::Check(why)),
                None => outcomes
                    .next()
                    .unwrap_or(Err(ObjectError::AccessDenied))
                    .map_err(Refused::Store),
            };
            match outcome {
                Ok(_) if quiet => {}
                Ok(done) => deleted.push(DeletedObject {
                    key: Some(obj.key),
                    delete_marker: done.delete_marker.then_some(true),
                    // A marker made (no version named) is reported by its id; a version
                    // named is echoed back.
                    delete_marker_version_id: done
                        .delete_marker
                        .then(|| done.version_id.clone())
                        .flatten(),
                    version_id: obj.version_id,
                }),
                Err(e) => {
                    let (code, message) = match e {
                        Refused::Check(s3e) => {
                            (s3e.code().clone(), s3e.message().map(str::to_string))
                        }
                        Refused::Store(e) => {
                            let s3e = to_s3(e);
                            (s3e.code().clone(), s3e.message().map(str::to_string))
                        }
                    };
                    errors.push(Error {
                        code: Some(code.as_str().to_string()),
                        key: Some(obj.key),
                        message,
                        version_id: obj.version_id,
                    });
                }
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: Some(errors),
            ..Default::default()
        }))
    }

    pub(super) async fn op_copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let fields = sse::fields(&req);
        let sse = fields.write_request(sse::secure(&req))?;
        let source_key = fields.copy_source_key(sse::secure(&req))?;
        self.check_kms_request(sse.as_ref())?;
        let customer = match &sse {
            Some(rustfs_object::sse::SseRequest::Customer(c)) => Some(c.clone()),
            _ => None,
        };
        let (owner, acl) = self.new_object_owner(&req, &req.input.bucket).await?;
        let i = req.input;
        let (src_bucket, src_key, src_version) = copy_source(&i.copy_source)?;
        let replace = match i
            .metadata_directive
            .as_ref()
            .map(|d| d.as_str().to_ascii_uppercase())
        {
            None => false,
            Some(d) if d == MetadataDirective::COPY => false,
            Some(d) if d == MetadataDirective::REPLACE => true,
            Some(_) => {
                return Err(ApiError::UnknownMetadataDirective.into());
            }
        };
        if replace {
            crate::limits::user_metadata(i.metadata.as_ref())?;
        }
        // COPY (the default) keeps the source's tags; REPLACE takes `x-amz-tagging`.
        let tags = match i
            .tagging_directive
            .as_ref()
            .map(|d| d.as_str().to_ascii_uppercase())
        {
            None => None,
            Some(d) if d == TaggingDirective::COPY => None,
            Some(d) if d == TaggingDirective::REPLACE => Some(header_tags(i.tagging.as_ref())?),
            Some(_) => {
                return Err(ApiError::UnknownTaggingDirective.into());
            }
        };
        let conditions = convert::read_conditions(
            i.copy_source_if_match.as_ref(),
            i.copy_source_if_none_match.as_ref(),
            i.copy_source_if_modified_since.as_ref(),
            i.copy_source_if_unmodified_since.as_ref(),
        );
        let (retention, legal_hold) = super::object_lock::lock_headers!(i, None)?;
        let checksum = i
            .checksum_algorithm
            .as_ref()
            .map(convert::algorithm)
            .transpose()?
            .map(|a| rustfs_object::ChecksumRequest {
                algorithm: a,
                expected: rustfs_object::ExpectedChecksum::Compute,
            });
        let opts = PutOptions {
            meta: meta_of!(i),
            owner,
            checks: BodyChecks {
                checksum,
                ..Default::default()
            },
            conditions: WriteConditions::default(),
            tags,
            acl,
            bucket_checked: false,
            retention,
            legal_hold,
            sse,
            bucket_default: None,
        };
        let (src, rec) = self
            .store
            .copy_object(
                &Source {
                    bucket: &src_bucket,
                    key: &src_key,
                    version_id: src_version.as_deref(),
                    conditions,
                    range: None,
                    sse_customer: source_key,
                },
                &i.bucket,
                &i.key,
                replace,
                opts,
            )
            .await
            .map_err(to_s3)?;
        let mut result = CopyObjectResult {
            e_tag: Some(convert::etag(&rec.etag)),
            last_modified: Some(convert::timestamp(rec.last_modified_ms)),
            ..Default::default()
        };
        set_object_checksum!(result, rec);
        let answer = sse::SseAnswer::of(rec.encryption.as_ref(), customer.as_ref());
        let mut out = CopyObjectOutput {
            copy_object_result: Some(result),
            version_id: version_out(&rec, None),
            copy_source_version_id: version_out(&src, src_version.as_deref()),
            ssekms_encryption_context: answer.context.clone(),
            ..Default::default()
        };
        sse::set_sse!(out, answer);
        Ok(S3Response::new(out))
    }
}
