//! Object and bucket tagging.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::RustFsS3;
use crate::errors::to_s3;
use rustfs_object::TagSet as Tags;
use rustfs_object::tagging::{self, MAX_OBJECT_TAGS};

/// The pairs of a `Tagging` document (a missing key or value is empty, which validation
/// rejects for keys).
pub(crate) fn tags_of(t: Tagging) -> Tags {
    t.tag_set
        .into_iter()
        .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
        .collect()
}

pub(crate) fn tag_set(tags: Tags) -> TagSet {
    tags.into_iter()
        .map(|(k, v)| Tag {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

/// The tags of an `x-amz-tagging` header, validated.
/// Tags as the `x-amz-tagging` header writes them (`k=v&k2=v2`, URL-encoded).
pub(crate) fn query_of(tags: Tags) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    tags.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn header_tags(h: Option<&String>) -> S3Result<Tags> {
    h.map(|s| tagging::parse_query(s))
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(to_s3)
}

impl RustFsS3 {
    pub(super) async fn op_put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let i = req.input;
        let tags = tagging::validate(tags_of(i.tagging), MAX_OBJECT_TAGS).map_err(to_s3)?;
        self.store
            .set_version_tags(&i.bucket, &i.key, i.version_id.as_deref(), tags)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutObjectTaggingOutput {
            version_id: i.version_id,
        }))
    }

    pub(super) async fn op_get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let i = req.input;
        let rec = self
            .store
            .head_version(&i.bucket, &i.key, i.version_id.as_deref())
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(GetObjectTaggingOutput {
            version_id: super::object::version_out(&rec, i.version_id.as_deref()),
            tag_set: tag_set(rec.tags),
        }))
    }

    pub(super) async fn op_delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let i = req.input;
        self.store
            .set_version_tags(&i.bucket, &i.key, i.version_id.as_deref(), Tags::new())
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeleteObjectTaggingOutput {
            version_id: i.version_id,
        }))
    }

    pub(super) async fn op_put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        let i = req.input;
        self.store
            .set_bucket_tags(&i.bucket, tags_of(i.tagging))
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutBucketTaggingOutput::default()))
    }

    pub(super) async fn op_get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        let tags = self
            .store
            .bucket_tags(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(GetBucketTaggingOutput {
            tag_set: tag_set(tags),
        }))
    }

    pub(super) async fn op_delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        self.store
            .delete_bucket_tags(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
    }
}
