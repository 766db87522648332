//! Bucket operations.

use rustfs_meta::{
    Batch, BucketRecord, Check, MetaError, ObjectOwnership, Table, decode, encode, keys,
};

use crate::acl::{AclRequest, CannedAcl};
use crate::{ObjectError, ObjectStore, Result, names, now_ms};

impl ObjectStore {
    pub async fn create_bucket(
        &self,
        name: &str,
        owner: &str,
        region: &str,
    ) -> Result<BucketRecord> {
        self.create_bucket_with(name, owner, region, &AclRequest::Default, None)
            .await
    }

    /// CreateBucket with an ACL and object ownership controls. BucketOwnerEnforced disables
    /// ACLs, so it only combines with the default ACL or one that grants the owner alone.
    pub async fn create_bucket_with(
        &self,
        name: &str,
        owner: &str,
        region: &str,
        acl: &AclRequest,
        object_ownership: Option<ObjectOwnership>,
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
            ..Default::default()
        };
        let mut b = Batch::new();
        b.check(Check::Absent(Table::Buckets, name.as_bytes().to_vec()));
        b.put(Table::Buckets, name.as_bytes().to_vec(), encode(&rec));
        match self.meta.commit(b).await {
            Ok(()) => Ok(rec),
            Err(MetaError::Conflict(_)) => match self.bucket(name) {
                // Re-creating one's bucket with a different ACL is refused as a new bucket.
                Ok(existing) if existing.owner == owner && existing.acl == rec.acl => {
                    Err(ObjectError::BucketAlreadyOwnedByYou)
                }
                Ok(_) => Err(ObjectError::BucketAlreadyExists),
                Err(e) => Err(e),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The bucket's record, or `NoSuchBucket`.
    pub fn bucket(&self, name: &str) -> Result<BucketRecord> {
        match self.meta.get(Table::Buckets, name.as_bytes())? {
            Some(v) => Ok(decode(&v)?),
            None => Err(ObjectError::NoSuchBucket),
        }
    }

    /// The bucket's record and its stored bytes (for a commit that must find it unchanged).
    pub(crate) fn bucket_entry(&self, name: &str) -> Result<(Vec<u8>, BucketRecord)> {
        match self.meta.get(Table::Buckets, name.as_bytes())? {
            Some(v) => {
                let rec = decode(&v)?;
                Ok((v, rec))
            }
            None => Err(ObjectError::NoSuchBucket),
        }
    }

    pub fn list_buckets(&self) -> Result<Vec<(String, BucketRecord)>> {
        Ok(self
            .decode_range(Table::Buckets, b"", b"")?
            .into_iter()
            .map(|(k, r)| (String::from_utf8_lossy(&k).into_owned(), r))
            .collect())
    }

    /// Deletes a bucket without objects. Multipart uploads still in progress are aborted
    /// first, as S3 does; a bucket holding objects is refused before any upload is touched.
    pub async fn delete_bucket(&self, name: &str) -> Result<()> {
        let (os, oe) = keys::object_prefix_range(name, "");
        for _ in 0..crate::objects::CAS_ATTEMPTS {
            self.bucket(name)?;
            // Delete markers and noncurrent versions count: a versioned bucket is empty only
            // once every version is deleted.
            if self.range_has_keys(Table::Objects, &os, &oe)?
                || self.range_has_keys(Table::Versions, &os, &oe)?
            {
                return Err(ObjectError::BucketNotEmpty);
            }
            for up in self.uploads_in(&os, &oe)? {
                match self
                    .abort_multipart_upload(name, &up.key, &up.upload_id)
                    .await
                {
                    Ok(()) | Err(ObjectError::NoSuchUpload) => {}
                    Err(e) => return Err(e),
                }
            }
            let mut b = Batch::new();
            b.check(Check::Present(Table::Buckets, name.as_bytes().to_vec()));
            b.check(Check::RangeEmpty(Table::Objects, os.clone(), oe.clone()));
            b.check(Check::RangeEmpty(Table::Versions, os.clone(), oe.clone()));
            b.check(Check::RangeEmpty(Table::Uploads, os.clone(), oe.clone()));
            b.delete(Table::Buckets, name.as_bytes().to_vec());
            match self.meta.commit(b).await {
                Ok(()) => return Ok(()),
                Err(MetaError::Conflict(0)) => return Err(ObjectError::NoSuchBucket),
                Err(MetaError::Conflict(1 | 2)) => return Err(ObjectError::BucketNotEmpty),
                // An upload started meanwhile: abort it too.
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
    }

    fn range_has_keys(&self, table: Table, start: &[u8], end: &[u8]) -> Result<bool> {
        let mut any = false;
        self.meta.scan(table, start, end, &mut |_, _| {
            any = true;
            rustfs_meta::ScanStep::Stop
        })?;
        Ok(any)
    }

    fn uploads_in(&self, start: &[u8], end: &[u8]) -> Result<Vec<rustfs_meta::UploadRecord>> {
        Ok(self
            .decode_range(Table::Uploads, start, end)?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// Every record in `[start, end)` of `table`, decoded; the first undecodable one fails it.
    fn decode_range<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>> {
        let mut out = Vec::new();
        let mut failed = None;
        self.meta
            .scan(table, start, end, &mut |k, v| match decode(v) {
                Ok(r) => {
                    out.push((k.to_vec(), r));
                    rustfs_meta::ScanStep::Next
                }
                Err(e) => {
                    failed = Some(e);
                    rustfs_meta::ScanStep::Stop
                }
            })?;
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(out),
        }
    }
}
