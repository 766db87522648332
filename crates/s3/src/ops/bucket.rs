//! Bucket operations.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::RustFsS3;
use crate::acl;
use crate::convert::timestamp;
use crate::errors::to_s3;

impl RustFsS3 {
    pub(super) async fn op_list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let me = self.caller(&req);
        let prefix = req.input.prefix.unwrap_or_default();
        // As in S3, a user lists the buckets it owns.
        let buckets = self
            .store
            .list_buckets()
            .map_err(to_s3)?
            .into_iter()
            .filter(|(name, rec)| {
                name.starts_with(&prefix) && self.users.owner_id(&rec.owner) == me
            })
            .map(|(name, rec)| Bucket {
                name: Some(name),
                creation_date: Some(timestamp(rec.created_ms)),
                bucket_region: Some(rec.region),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(acl::owner(&self.users, &me)),
            ..Default::default()
        }))
    }

    pub(super) async fn op_create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let me = self.caller(&req);
        let wanted = acl::from_headers(&req.headers, &self.users)?;
        let ownership = super::acl::parse_ownership(req.input.object_ownership.as_ref())?;
        let bucket = req.input.bucket;
        self.store
            .create_bucket_with(&bucket, &me, &self.region, &wanted, ownership)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    pub(super) async fn op_head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let rec = self.store.bucket(&req.input.bucket).map_err(to_s3)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(rec.region),
            ..Default::default()
        }))
    }

    pub(super) async fn op_get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let rec = self.store.bucket(&req.input.bucket).map_err(to_s3)?;
        // us-east-1 is reported as an empty LocationConstraint, as S3 does.
        let location_constraint =
            (rec.region != "us-east-1").then(|| BucketLocationConstraint::from(rec.region));
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint,
        }))
    }

    pub(super) async fn op_delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.store
            .delete_bucket(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    /// Versioning is never enabled yet: S3 answers an empty configuration for such a bucket.
    pub(super) async fn op_get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        self.store.bucket(&req.input.bucket).map_err(to_s3)?;
        Ok(S3Response::new(GetBucketVersioningOutput::default()))
    }
}
