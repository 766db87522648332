//! Bucket policies, their public status and the public access block (evaluation is in
//! `crate::access`, the engine in `rustfs_object::policy`).

use rustfs_object::PublicAccessBlock;
use rustfs_object::acl::is_public;
use rustfs_object::policy::Policy;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::RustFsS3;
use crate::errors::to_s3;

impl RustFsS3 {
    pub(super) async fn op_put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        let i = req.input;
        let locks_owner = i.confirm_remove_self_bucket_access.unwrap_or(false);
        self.store
            .set_bucket_policy(&i.bucket, &i.policy, locks_owner)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutBucketPolicyOutput::default()))
    }

    pub(super) async fn op_get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        let policy = self
            .store
            .bucket_policy(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(GetBucketPolicyOutput {
            policy: Some(policy),
        }))
    }

    pub(super) async fn op_delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        self.store
            .delete_bucket_policy(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeleteBucketPolicyOutput::default()))
    }

    /// Public when the policy grants everyone (without pinning the caller down) or the ACL
    /// grants everyone or all authenticated users, as S3 reports it.
    pub(super) async fn op_get_bucket_policy_status(
        &self,
        req: S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
        let rec = self.store.bucket(&req.input.bucket).await.map_err(to_s3)?;
        let public_policy = rec
            .policy
            .as_deref()
            .and_then(|p| Policy::parse(p, &req.input.bucket).ok())
            .is_some_and(|p| p.is_public());
        Ok(S3Response::new(GetBucketPolicyStatusOutput {
            policy_status: Some(PolicyStatus {
                is_public: Some(public_policy || is_public(rec.acl.as_deref())),
            }),
        }))
    }

    pub(super) async fn op_put_public_access_block(
        &self,
        req: S3Request<PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
        let c = req.input.public_access_block_configuration;
        let block = PublicAccessBlock {
            block_public_acls: c.block_public_acls.unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
            block_public_policy: c.block_public_policy.unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
        };
        self.store
            .set_public_access_block(&req.input.bucket, Some(block))
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutPublicAccessBlockOutput::default()))
    }

    pub(super) async fn op_get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
        let b = self
            .store
            .public_access_block(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(GetPublicAccessBlockOutput {
            public_access_block_configuration: Some(PublicAccessBlockConfiguration {
                block_public_acls: Some(b.block_public_acls),
                ignore_public_acls: Some(b.ignore_public_acls),
                block_public_policy: Some(b.block_public_policy),
                restrict_public_buckets: Some(b.restrict_public_buckets),
            }),
        }))
    }

    pub(super) async fn op_delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
        self.store
            .set_public_access_block(&req.input.bucket, None)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeletePublicAccessBlockOutput::default()))
    }
}
