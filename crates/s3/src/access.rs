//! Who may do what: s3s asks [`AccessControl`] before each operation (anonymous requests
//! included). Owners may do everything with what they own; others need a grant in the
//! bucket's or object's ACL (e.g. `public-read`: `AllUsers` READ). Bucket configuration is
//! the bucket owner's alone.

use std::sync::Arc;

use rustfs_object::acl::allows;
use rustfs_object::{ObjectError, ObjectStore, Permission};
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::Credentials;
use s3s::dto::{CopyObjectInput, CopySource, UploadPartCopyInput};
use s3s::path::S3Path;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Result};

use crate::auth::Keyring;

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any signed request (ListBuckets, CreateBucket).
    Signed,
    /// A permission on the bucket.
    Bucket(Permission),
    /// A permission on the object.
    Object(Permission),
    /// Owning the bucket (configuration), or, on an object path, the bucket or the object.
    Owner,
}

fn need(op: &str) -> Need {
    use Permission::*;
    match op {
        "ListBuckets" | "CreateBucket" => Need::Signed,
        "ListObjects"
        | "ListObjectsV2"
        | "ListObjectVersions"
        | "ListMultipartUploads"
        | "HeadBucket"
        | "ListParts" => Need::Bucket(Read),
        "PutObject"
        | "PostObject"
        | "DeleteObject"
        | "DeleteObjects"
        | "CopyObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload"
        | "AbortMultipartUpload" => Need::Bucket(Write),
        "GetBucketAcl" => Need::Bucket(ReadAcp),
        "PutBucketAcl" => Need::Bucket(WriteAcp),
        "GetObject" | "HeadObject" | "GetObjectAttributes" => Need::Object(Read),
        "GetObjectAcl" => Need::Object(ReadAcp),
        "PutObjectAcl" => Need::Object(WriteAcp),
        _ => Need::Owner,
    }
}

fn denied() -> S3Error {
    S3Error::with_message(S3ErrorCode::AccessDenied, "Access Denied")
}

/// The longest lifetime S3 accepts for a presigned URL: seven days.
const MAX_PRESIGNED_SECS: u64 = 7 * 24 * 3600;

/// Refuses a presigned URL that claims to live longer than seven days, as S3 does.
fn check_presigned_lifetime(query: Option<&str>) -> S3Result<()> {
    let expires = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("X-Amz-Expires"))
        .and_then(|(_, v)| v.parse::<u64>().ok());
    match expires {
        Some(secs) if secs > MAX_PRESIGNED_SECS => Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )),
        _ => Ok(()),
    }
}

/// The access checks, sharing the store and the users with the S3 service.
pub struct AccessControl {
    store: Arc<ObjectStore>,
    users: Keyring,
}

impl AccessControl {
    pub fn new(store: Arc<ObjectStore>, users: Keyring) -> Self {
        Self { store, users }
    }

    fn caller(&self, creds: Option<&Credentials>) -> Option<String> {
        creds
            .and_then(|c| self.users.by_access_key(&c.access_key))
            .map(|u| u.id.clone())
    }

    /// `x-amz-expected-bucket-owner`: a bucket owned by anyone else is refused, as in S3.
    fn check_expected_owner(&self, bucket: &str, expected: Option<&str>) -> S3Result<()> {
        let Some(expected) = expected else {
            return Ok(());
        };
        match self.store.bucket(bucket) {
            Ok(rec) if self.users.owner_id(&rec.owner) != expected => Err(denied()),
            _ => Ok(()),
        }
    }

    /// Whether `caller` has `need` on the bucket; a missing bucket is left to the operation
    /// (NoSuchBucket).
    fn check_bucket(&self, bucket: &str, caller: Option<&str>, need: Need) -> S3Result<()> {
        let rec = match self.store.bucket(bucket) {
            Ok(r) => r,
            Err(ObjectError::NoSuchBucket | ObjectError::InvalidBucketName(_)) => return Ok(()),
            Err(e) => return Err(crate::errors::to_s3(e)),
        };
        let owner = self.users.owner_id(&rec.owner);
        let ok = match need {
            Need::Bucket(p) => allows(rec.acl.as_deref(), owner, caller, p),
            _ => caller == Some(owner),
        };
        if ok { Ok(()) } else { Err(denied()) }
    }

    /// Whether `caller` has `need` on the object. A missing key answers 404 only to those who
    /// may list the bucket, as in S3; others get AccessDenied.
    fn check_object(
        &self,
        bucket: &str,
        key: &str,
        caller: Option<&str>,
        need: Need,
    ) -> S3Result<()> {
        let rec = match self.store.head_object(bucket, key) {
            Ok(r) => r,
            Err(ObjectError::NoSuchKey) => {
                return self.check_bucket(bucket, caller, Need::Bucket(Permission::Read));
            }
            Err(_) => return Ok(()),
        };
        let owner = self.users.owner_id(&rec.owner);
        let ok = match need {
            Need::Object(p) => allows(rec.acl.as_deref(), owner, caller, p),
            _ => caller == Some(owner) || self.check_bucket(bucket, caller, Need::Owner).is_ok(),
        };
        if ok { Ok(()) } else { Err(denied()) }
    }

    fn check_copy_source(&self, src: &CopySource, creds: Option<&Credentials>) -> S3Result<()> {
        match src {
            CopySource::Bucket { bucket, key, .. } => self.check_object(
                bucket,
                key,
                self.caller(creds).as_deref(),
                Need::Object(Permission::Read),
            ),
            _ => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl S3Access for AccessControl {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        check_presigned_lifetime(cx.uri().query())?;
        let caller = self.caller(cx.credentials());
        let caller = caller.as_deref();
        let need = need(cx.s3_op().name());
        if let S3Path::Bucket { bucket } | S3Path::Object { bucket, .. } = cx.s3_path() {
            let expected = cx
                .headers()
                .get("x-amz-expected-bucket-owner")
                .and_then(|v| v.to_str().ok());
            self.check_expected_owner(bucket, expected)?;
        }
        match (cx.s3_path(), need) {
            (_, Need::Signed) | (S3Path::Root, _) => {
                if caller.is_some() {
                    Ok(())
                } else {
                    Err(denied())
                }
            }
            (S3Path::Bucket { bucket }, _) => self.check_bucket(bucket, caller, need),
            (S3Path::Object { bucket, .. }, Need::Bucket(_)) => {
                self.check_bucket(bucket, caller, need)
            }
            (S3Path::Object { bucket, key }, _) => self.check_object(bucket, key, caller, need),
        }
    }

    async fn copy_object(&self, req: &mut S3Request<CopyObjectInput>) -> S3Result<()> {
        self.check_copy_source(&req.input.copy_source, req.credentials.as_ref())
    }

    async fn upload_part_copy(&self, req: &mut S3Request<UploadPartCopyInput>) -> S3Result<()> {
        self.check_copy_source(&req.input.copy_source, req.credentials.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_need_what_s3_documents() {
        assert_eq!(need("GetObject"), Need::Object(Permission::Read));
        assert_eq!(need("PutObject"), Need::Bucket(Permission::Write));
        assert_eq!(need("ListObjectsV2"), Need::Bucket(Permission::Read));
        assert_eq!(need("PutBucketAcl"), Need::Bucket(Permission::WriteAcp));
        assert_eq!(need("DeleteBucket"), Need::Owner);
        assert_eq!(need("PutBucketOwnershipControls"), Need::Owner);
        assert_eq!(need("ListBuckets"), Need::Signed);
    }

    #[test]
    fn presigned_urls_live_at_most_a_week() {
        assert!(check_presigned_lifetime(None).is_ok());
        assert!(check_presigned_lifetime(Some("X-Amz-Expires=604800&x=1")).is_ok());
        assert!(check_presigned_lifetime(Some("a=b&X-Amz-Expires=604801")).is_err());
    }
}
