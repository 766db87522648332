//! POST Object: browser form uploads.
//!
//! s3s parses the `multipart/form-data` body, verifies the policy signature (SigV4 or SigV2),
//! and checks the policy itself before we run: expiration, every `eq` / `starts-with` /
//! `content-length-range` condition (with the URL's bucket for `$bucket`), and that each form
//! field is covered by a condition. It also answers per `success_action_redirect` /
//! `success_action_status`. The form's standard fields (`Content-Type`, `x-amz-meta-*`,
//! `x-amz-tagging`, checksums, ...) arrive as a PutObject input, so the upload is stored
//! through the same path as a PUT.

use std::sync::Arc;

use http::HeaderValue;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::object::put_from;
use crate::RustFsS3;
use crate::api_error::ApiError;
use crate::convert::set_object_checksum;
use crate::edge::post_form::FormExtras;

/// Largest file a browser form upload may carry. s3s reads the whole file into memory before
/// the policy check (so it can enforce `content-length-range`), so this bounds the memory one
/// POST can take; a larger file gets `EntityTooLarge`. Bigger uploads belong to PUT/multipart,
/// which stream.
pub const POST_OBJECT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// The largest XML (or JSON) request body read, as s3s' default (20 MiB); the server's HTTP
/// layer refuses larger ones with `MaxMessageLengthExceeded`.
pub const XML_BODY_LIMIT: usize = 20 << 20;

/// s3s settings for the service: its defaults, with the POST file and XML body bounds above.
pub fn s3s_config() -> Arc<s3s::config::StaticConfigProvider> {
    let mut config = s3s::config::S3Config::default();
    config.xml_max_body_size = XML_BODY_LIMIT;
    config.post_object_max_file_size = POST_OBJECT_MAX_FILE_SIZE;
    Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(config)))
}

impl RustFsS3 {
    pub(super) async fn op_post_object(
        &self,
        mut req: S3Request<PostObjectInput>,
    ) -> S3Result<S3Response<PostObjectOutput>> {
        // A policy is only meaningful with its signature; s3s treats a form without one as
        // anonymous, and S3 refuses such a form (post_form checks it first).
        if req.input.policy.is_some() && req.credentials.is_none() {
            return Err(ApiError::FormSignatureMissing.into());
        }
        // The form's `x-amz-credential` names the region it was signed for (the edge checks
        // headers and presigned URLs; a form's fields arrive here).
        if let Some(region) = req.region.as_ref().map(|r| r.as_str())
            && !self.region.is_empty()
            && !crate::auth::same_region(region, &self.region)
        {
            return Err(ApiError::FormWrongRegion {
                got: region.to_owned(),
                expected: self.region.clone(),
            }
            .into());
        }
        let sse = crate::sse::sse_of_input!(req.input)
            .or(crate::sse::fields(&req))
            .write_request(crate::sse::secure(&req))?;
        apply_form_extras(&mut req)?;
        let rec = put_from!(self, (req, sse));
        let quoted = format!("\"{}\"", rec.etag);
        let mut out = PostObjectOutput {
            // s3s writes this value verbatim into the PostResponse XML and the redirect's
            // `etag` parameter, where S3 puts the quoted form.
            e_tag: Some(ETag::Strong(quoted.clone())),
            ..Default::default()
        };
        set_object_checksum!(out, rec);
        let mut resp = S3Response::new(out);
        if let Ok(v) = HeaderValue::from_str(&quoted) {
            resp.headers.insert(http::header::ETAG, v);
        }
        Ok(resp)
    }
}

/// The form fields s3s does not pass on (see `crate::edge::post_form`): the canned ACL (an `acl`
/// field, or s3s' `x-amz-acl`) goes where PUT's ACL header is read, the `tagging` document
/// becomes PUT's tag string, and checksum fields join the input.
fn apply_form_extras(req: &mut S3Request<PostObjectInput>) -> S3Result<()> {
    let extras = req.extensions.remove::<FormExtras>().unwrap_or_default();
    let acl = extras
        .acl
        .or_else(|| req.input.acl.as_ref().map(|a| a.as_str().to_owned()));
    if let Some(acl) = acl {
        let v = HeaderValue::from_str(acl.trim()).map_err(|_| ApiError::FormAclInvalid)?;
        req.headers.insert("x-amz-acl", v);
    }
    if let Some(xml) = extras.tagging {
        let tagging = <Tagging as s3s::xml::Deserialize>::deserialize(
            &mut s3s::xml::Deserializer::new(xml.as_bytes()),
        )
        .map_err(|_| ApiError::FormTaggingMalformed)?;
        req.input.tagging = Some(super::tagging::query_of(super::tagging::tags_of(tagging)));
    }
    let i = &mut req.input;
    for (name, value) in extras.checksums {
        let slot = match name.as_str() {
            "x-amz-checksum-crc32" => &mut i.checksum_crc32,
            "x-amz-checksum-crc32c" => &mut i.checksum_crc32c,
            "x-amz-checksum-crc64nvme" => &mut i.checksum_crc64nvme,
            "x-amz-checksum-sha1" => &mut i.checksum_sha1,
            "x-amz-checksum-sha256" => &mut i.checksum_sha256,
            _ => {
                return Err(ApiError::FormChecksumFieldUnknown(name).into());
            }
        };
        *slot = Some(value);
    }
    Ok(())
}
