//! Bucket operations.

use rustfs_meta::{BucketRecord, ObjectOwnership, Table, UploadRecord, encode, keys};

use crate::acl::{AclRequest, CannedAcl};
use crate::txn::{any_key, get, scan_records};
use crate::{ObjectError, ObjectStore, Result, names, now_ms};

impl ObjectStore {
    pub async fn create_bucket(
        &self,
        name: &str,
        owner: &str,
        region: &str,
    ) -> Result<BucketRecord> {
        self.create_bucket_with(name, owner, region, &AclRequest::Default, None, false)
            .await
    }

    /// CreateBucket with an ACL and object ownership controls. BucketOwnerEnforced disables
    /// ACLs, so it only combines with the default ACL or one that grants the owner alone.
    /// `object_lock` (`x-amz-bucket-object-lock-enabled: true`) makes a bucket with object
    /// lock, versioning enabled for good.
    pub async fn create_bucket_with(
        &self,
        name: &str,
        owner: &str,
        region: &str,
        acl: &AclRequest,
        object_ownership: Option<ObjectOwnership>,
        object_lock: bool,
    ) -> Result<BucketRecord> {
        names::validate_bucket(name)?;
        let acl = match acl {
            AclRequest::Default => None,
            AclRequest::Canned(c) => Some(c.grants(owner, owner)),
            AclRequest::Grants(g) => Some(g.clone()),
        };
        if object_ownership == Some(ObjectOwnership::BucketOwnerEnforced)
            && acl
                .as_ref()
                .is_some_and(|g| *g != CannedAcl::Private.grants(owner, owner))
        {
            return Err(ObjectError::InvalidBucketAclWithObjectOwnership);
        }
        let rec = BucketRecord {
            created_ms: now_ms(),
            owner: owner.to_string(),
            region: region.to_string(),
            acl,
            object_ownership,
            versioning: object_lock.then_some(rustfs_meta::Versioning::Enabled),
            object_lock: object_lock.then(rustfs_meta::ObjectLockConfig::default),
            ..Default::default()
        };
        let key = name.as_bytes();
        let rec = &rec;
        self.transact(|t| {
            Box::pin(async move {
                match get::<BucketRecord>(t, Table::Buckets, key).await? {
                    // Re-creating one's bucket with a different ACL is refused as a new bucket.
                    Some(existing) if existing.owner == owner && existing.acl == rec.acl => {
                        Err(ObjectError::BucketAlreadyOwnedByYou)
                    }
                    Some(_) => Err(ObjectError::BucketAlreadyExists),
                    None => {
                        t.put(Table::Buckets, key.to_vec(), encode(rec));
                        Ok(())
                    }
                }
            })
        })
        .await?;
        Ok(rec.clone())
    }

    /// The bucket's record, or `NoSuchBucket`.
    pub async fn bucket(&self, name: &str) -> Result<BucketRecord> {
        self.read_record(Table::Buckets, name.as_bytes())
            .await?
            .ok_or(ObjectError::NoSuchBucket)
    }

    pub async fn list_buckets(&self) -> Result<Vec<(String, BucketRecord)>> {
        let all = self
            .transact(|t| Box::pin(scan_records(t, Table::Buckets, b"", b"", usize::MAX)))
            .await?;
        Ok(all
            .into_iter()
            .map(|(k, _, r)| (String::from_utf8_lossy(&k).into_owned(), r))
            .collect())
    }

    /// Deletes a bucket without objects. Multipart uploads still in progress are aborted
    /// with it, as S3 does; a bucket holding objects is refused and no upload is touched. One
    /// transaction: the emptiness it read is in its conflict set, so a PUT or an upload started
    /// meanwhile makes it look again.
    pub async fn delete_bucket(&self, name: &str) -> Result<()> {
        let (os, oe) = keys::object_prefix_range(name, "");
        let (os, oe) = (&os, &oe);
        let freed = self
            .transact(|t| {
                Box::pin(async move {
                    if t.get(Table::Buckets, name.as_bytes()).await?.is_none() {
                        return Err(ObjectError::NoSuchBucket);
                    }
                    // Delete markers and noncurrent versions count: a versioned bucket is
                    // empty only once every version is deleted.
                    if any_key(t, Table::Objects, os, oe).await?
                        || any_key(t, Table::Versions, os, oe).await?
                    {
                        return Err(ObjectError::BucketNotEmpty);
                    }
                    let uploads =
                        scan_records::<UploadRecord>(t, Table::Uploads, os, oe, usize::MAX).await?;
                    let mut freed = Vec::new();
                    for (ukey, _, up) in uploads {
                        freed.extend(crate::multipart::abort_in(t, &ukey, &up.upload_id).await?);
                    }
                    t.delete(Table::Buckets, name.as_bytes().to_vec());
                    Ok(freed)
                })
            })
            .await?;
        self.discard_files(&freed);
        Ok(())
    }
}
