//! Bucket and object ACLs, bucket ownership controls, and the owner and ACL of new objects.

use rustfs_object::acl::new_object_acl;
use rustfs_object::{AclRequest, Grant, ObjectOwnership};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::RustFsS3;
use crate::acl;
use crate::api_error::ApiError;
use crate::errors::to_s3;

fn ownership_of(o: &s3s::dto::ObjectOwnership) -> S3Result<ObjectOwnership> {
    use s3s::dto::ObjectOwnership as O;
    Ok(match o.as_str() {
        O::BUCKET_OWNER_ENFORCED => ObjectOwnership::BucketOwnerEnforced,
        O::BUCKET_OWNER_PREFERRED => ObjectOwnership::BucketOwnerPreferred,
        O::OBJECT_WRITER => ObjectOwnership::ObjectWriter,
        other => {
            return Err(ApiError::ObjectOwnershipInvalid(other.to_owned()).into());
        }
    })
}

pub(super) fn parse_ownership(
    o: Option<&s3s::dto::ObjectOwnership>,
) -> S3Result<Option<ObjectOwnership>> {
    o.map(ownership_of).transpose()
}

fn ownership_dto(o: ObjectOwnership) -> s3s::dto::ObjectOwnership {
    use s3s::dto::ObjectOwnership as O;
    O::from_static(match o {
        ObjectOwnership::BucketOwnerEnforced => O::BUCKET_OWNER_ENFORCED,
        ObjectOwnership::BucketOwnerPreferred => O::BUCKET_OWNER_PREFERRED,
        ObjectOwnership::ObjectWriter => O::OBJECT_WRITER,
    })
}

impl RustFsS3 {
    /// The owner and ACL of an object (or upload) the caller writes into `bucket`, from the
    /// request's ACL headers and the bucket's ownership controls.
    pub(super) async fn new_object_owner<T: Sync>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
    ) -> S3Result<(String, Option<Vec<Grant>>)> {
        let wanted = acl::from_headers(&req.headers, &self.users)?;
        // The record the access check just read, when it left it (PutObject).
        let brec = match req.extensions.get::<crate::access::CheckedBucket>() {
            Some(b) => std::borrow::Cow::Borrowed(&b.0),
            None => std::borrow::Cow::Owned(self.store.bucket(bucket).await.map_err(to_s3)?),
        };
        new_object_acl(&brec, &self.caller(req), &wanted).map_err(to_s3)
    }

    /// The ACL a PutBucketAcl/PutObjectAcl asks for: headers, or else the body.
    fn put_acl_request<T>(
        &self,
        req: &S3Request<T>,
        policy: Option<&AccessControlPolicy>,
        owner: &str,
    ) -> S3Result<AclRequest> {
        let from_headers = acl::from_headers(&req.headers, &self.users)?;
        match (from_headers, policy) {
            (AclRequest::Default, Some(p)) => Ok(AclRequest::Grants(acl::from_policy(
                p,
                &self.users.owner_id(owner),
                &self.users,
            )?)),
            (AclRequest::Default, None) => Err(ApiError::AclMissing.into()),
            (r, _) => Ok(r),
        }
    }

    pub(super) async fn op_get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        let rec = self.store.bucket(&req.input.bucket).await.map_err(to_s3)?;
        Ok(S3Response::new(GetBucketAclOutput {
            grants: Some(acl::to_dto(&self.users, rec.acl.as_deref(), &rec.owner)),
            owner: Some(acl::owner(&self.users, &rec.owner)),
        }))
    }

    pub(super) async fn op_put_bucket_acl(
        &self,
        req: S3Request<PutBucketAclInput>,
    ) -> S3Result<S3Response<PutBucketAclOutput>> {
        let rec = self.store.bucket(&req.input.bucket).await.map_err(to_s3)?;
        let wanted =
            self.put_acl_request(&req, req.input.access_control_policy.as_ref(), &rec.owner)?;
        self.store
            .set_bucket_acl(&req.input.bucket, &wanted)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutBucketAclOutput {}))
    }

    pub(super) async fn op_get_object_acl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        let i = &req.input;
        let rec = self
            .store
            .head_version(&i.bucket, &i.key, i.version_id.as_deref())
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(GetObjectAclOutput {
            grants: Some(acl::to_dto(&self.users, rec.acl.as_deref(), &rec.owner)),
            owner: Some(acl::owner(&self.users, &rec.owner)),
            request_charged: None,
        }))
    }

    pub(super) async fn op_put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        let i = &req.input;
        let version = i.version_id.as_deref();
        let rec = self
            .store
            .head_version(&i.bucket, &i.key, version)
            .await
            .map_err(to_s3)?;
        let wanted = self.put_acl_request(&req, i.access_control_policy.as_ref(), &rec.owner)?;
        self.store
            .set_version_acl(&i.bucket, &i.key, version, &wanted)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }

    pub(super) async fn op_get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        let rec = self.store.bucket(&req.input.bucket).await.map_err(to_s3)?;
        let o = rec
            .object_ownership
            .ok_or(rustfs_object::ObjectError::OwnershipControlsNotFound)
            .map_err(to_s3)?;
        Ok(S3Response::new(GetBucketOwnershipControlsOutput {
            ownership_controls: Some(OwnershipControls {
                rules: vec![OwnershipControlsRule {
                    object_ownership: ownership_dto(o),
                }],
            }),
        }))
    }

    pub(super) async fn op_put_bucket_ownership_controls(
        &self,
        req: S3Request<PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
        let rules = &req.input.ownership_controls.rules;
        let [rule] = rules.as_slice() else {
            return Err(ApiError::OwnershipRulesMalformed.into());
        };
        let o = ownership_of(&rule.object_ownership)?;
        self.store
            .set_object_ownership(&req.input.bucket, Some(o))
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutBucketOwnershipControlsOutput {}))
    }

    pub(super) async fn op_delete_bucket_ownership_controls(
        &self,
        req: S3Request<DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
        self.store
            .set_object_ownership(&req.input.bucket, None)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeleteBucketOwnershipControlsOutput {}))
    }
}
