//! Bucket operations.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use rustfs_object::Versioning;

use crate::RustFsS3;
use crate::acl;
use crate::api_error::ApiError;
use crate::convert::timestamp;
use crate::errors::to_s3;

impl RustFsS3 {
    pub(super) async fn op_list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let me = self.caller(&req);
        let i = req.input;
        let prefix = i.prefix.unwrap_or_default();
        let max = match i.max_buckets {
            Some(n) if !(1..=10_000).contains(&n) => {
                return Err(ApiError::MaxBucketsOutOfRange.into());
            }
            Some(n) => n as usize,
            None => usize::MAX,
        };
        // The continuation token is the last name of the previous page (names are unique).
        let after = i.continuation_token.unwrap_or_default();
        // As in S3, a user lists the buckets it owns, in name order.
        let mut owned = self
            .store
            .list_buckets()
            .await
            .map_err(to_s3)?
            .into_iter()
            .filter(|(name, rec)| {
                name.starts_with(&prefix)
                    && name.as_str() > after.as_str()
                    && self.users.owner_id(&rec.owner) == me
            })
            .peekable();
        let mut buckets = Vec::new();
        while buckets.len() < max
            && let Some((name, rec)) = owned.next()
        {
            buckets.push(Bucket {
                name: Some(name),
                creation_date: Some(timestamp(rec.created_ms)),
                bucket_region: Some(rec.region),
            });
        }
        let continuation_token = owned
            .peek()
            .is_some()
            .then(|| buckets.last().and_then(|b| b.name.clone()))
            .flatten();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(acl::owner(&self.users, &me)),
            continuation_token,
            prefix: (!prefix.is_empty()).then_some(prefix),
        }))
    }

    pub(super) async fn op_create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let me = self.caller(&req);
        let wanted = acl::from_headers(&req.headers, &self.users)?;
        let ownership = super::acl::parse_ownership(req.input.object_ownership.as_ref())?;
        let lock = req.input.object_lock_enabled_for_bucket.unwrap_or(false);
        let bucket = req.input.bucket;
        // One region serves every bucket; a bucket created with a LocationConstraint reports
        // that constraint back (GetBucketLocation, HeadBucket), as clients expect of S3.
        let region = req
            .input
            .create_bucket_configuration
            .and_then(|c| c.location_constraint)
            .map(|l| l.as_str().to_owned())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| self.region.clone());
        self.store
            .create_bucket_with(&bucket, &me, &region, &wanted, ownership, lock)
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
        let rec = self.store.bucket(&req.input.bucket).await.map_err(to_s3)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(rec.region),
            ..Default::default()
        }))
    }

    /// GetBucketEncryption: the bucket's default encryption, or `404
    /// ServerSideEncryptionConfigurationNotFoundError` when none is set.
    pub(super) async fn op_get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        let enc = self
            .store
            .bucket_encryption(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        let algorithm = match enc.mode {
            rustfs_object::SseMode::Kms => "aws:kms",
            _ => "AES256",
        };
        let rule = ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                sse_algorithm: ServerSideEncryption::from(algorithm.to_string()),
                kms_master_key_id: enc.kms_key_id,
            }),
            bucket_key_enabled: Some(enc.bucket_key_enabled),
        };
        Ok(S3Response::new(GetBucketEncryptionOutput {
            server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration {
                rules: vec![rule],
            }),
        }))
    }

    /// PutBucketEncryption: one rule, `AES256` or `aws:kms` (with a key the KMS has, or its
    /// default key); applied to new objects written without encryption headers.
    pub(super) async fn op_put_bucket_encryption(
        &self,
        req: S3Request<PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
        let i = req.input;
        let rules = &i.server_side_encryption_configuration.rules;
        let [rule] = rules.as_slice() else {
            return Err(ApiError::SseInvalid(
                "The server side encryption configuration must hold exactly one rule.".into(),
            )
            .into());
        };
        let Some(by_default) = &rule.apply_server_side_encryption_by_default else {
            return Err(ApiError::SseInvalid(
                "The rule must give ApplyServerSideEncryptionByDefault.".into(),
            )
            .into());
        };
        let key_id = by_default
            .kms_master_key_id
            .clone()
            .filter(|k| !k.is_empty());
        let mode = match by_default.sse_algorithm.as_str() {
            "AES256" if key_id.is_none() => rustfs_object::SseMode::S3,
            "aws:kms" => rustfs_object::SseMode::Kms,
            "aws:kms:dsse" => return Err(ApiError::SseNotImplemented.into()),
            _ => return Err(ApiError::SseAlgorithmUnsupported.into()),
        };
        self.store
            .set_bucket_encryption(
                &i.bucket,
                Some(rustfs_object::BucketEncryption {
                    mode,
                    kms_key_id: key_id,
                    bucket_key_enabled: rule.bucket_key_enabled.unwrap_or(false),
                }),
            )
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutBucketEncryptionOutput::default()))
    }

    pub(super) async fn op_delete_bucket_encryption(
        &self,
        req: S3Request<DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
        self.store
            .set_bucket_encryption(&req.input.bucket, None)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeleteBucketEncryptionOutput::default()))
    }

    pub(super) async fn op_get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let rec = self.store.bucket(&req.input.bucket).await.map_err(to_s3)?;
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

    /// GetBucketVersioning: an empty configuration for a bucket never versioned, as S3 answers.
    pub(super) async fn op_get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let state = self
            .store
            .bucket_versioning(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(GetBucketVersioningOutput {
            status: state.map(|s| {
                BucketVersioningStatus::from_static(match s {
                    Versioning::Enabled => BucketVersioningStatus::ENABLED,
                    Versioning::Suspended => BucketVersioningStatus::SUSPENDED,
                })
            }),
            mfa_delete: None,
        }))
    }

    /// PutBucketVersioning: `Enabled` or `Suspended` (a bucket never goes back to unversioned).
    /// MFA delete needs an MFA device, which RustFS has not: enabling it is refused, as S3
    /// refuses it without a valid `x-amz-mfa`.
    pub(super) async fn op_put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let i = req.input;
        let c = i.versioning_configuration;
        if c.mfa_delete
            .as_ref()
            .is_some_and(|m| m.as_str().eq_ignore_ascii_case(MFADelete::ENABLED))
        {
            return Err(ApiError::MfaDeleteUnsupported.into());
        }
        let state = match c.status.as_ref().map(BucketVersioningStatus::as_str) {
            Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
            Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
            _ => {
                return Err(ApiError::VersioningStatusMalformed.into());
            }
        };
        self.store
            .set_bucket_versioning(&i.bucket, state)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutBucketVersioningOutput {}))
    }
}
