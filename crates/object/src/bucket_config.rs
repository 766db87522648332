//! Per-bucket configuration kept in the bucket record: tags and CORS rules. Each change is a
//! compare-and-swap of the record, so concurrent changes to different settings never undo
//! each other.

use rustfs_meta::{Batch, BucketRecord, Check, CorsRule, MetaError, Table, decode, encode};

use crate::tagging::{self, MAX_BUCKET_TAGS, TagSet};
use crate::{ObjectError, ObjectStore, Result, cors};

/// Attempts before giving up on a bucket record that keeps changing under us.
const CAS_ATTEMPTS: usize = 32;

impl ObjectStore {
    /// Applies `change` to the bucket's record and commits it if the record did not change
    /// meanwhile (re-reading and retrying if it did).
    async fn update_bucket(&self, name: &str, change: impl Fn(&mut BucketRecord)) -> Result<()> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(cur) = self.meta.get(Table::Buckets, name.as_bytes())? else {
                return Err(ObjectError::NoSuchBucket);
            };
            let mut rec: BucketRecord = decode(&cur)?;
            change(&mut rec);
            let mut b = Batch::new();
            b.check(Check::Equals(Table::Buckets, name.as_bytes().to_vec(), cur));
            b.put(Table::Buckets, name.as_bytes().to_vec(), encode(&rec));
            match self.meta.commit(b).await {
                Ok(()) => return Ok(()),
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
    }

    /// PutBucketTagging: validates (at most 50 tags) and replaces the bucket's tag set.
    pub async fn set_bucket_tags(&self, name: &str, tags: TagSet) -> Result<()> {
        let tags = tagging::validate(tags, MAX_BUCKET_TAGS)?;
        self.update_bucket(name, |r| r.tags = Some(tags.clone()))
            .await
    }

    /// GetBucketTagging: the tag set, or `NoSuchTagSet` when none is configured.
    pub fn bucket_tags(&self, name: &str) -> Result<TagSet> {
        self.bucket(name)?.tags.ok_or(ObjectError::NoSuchTagSet)
    }

    /// DeleteBucketTagging (succeeds when there is nothing to delete).
    pub async fn delete_bucket_tags(&self, name: &str) -> Result<()> {
        self.update_bucket(name, |r| r.tags = None).await
    }

    /// PutBucketCors: validates the rules and replaces the bucket's CORS configuration.
    pub async fn set_bucket_cors(&self, name: &str, rules: Vec<CorsRule>) -> Result<()> {
        cors::validate(&rules)?;
        self.update_bucket(name, |r| r.cors = Some(rules.clone()))
            .await
    }

    /// GetBucketCors: the rules, or `NoSuchCorsConfiguration`.
    pub fn bucket_cors(&self, name: &str) -> Result<Vec<CorsRule>> {
        self.bucket(name)?
            .cors
            .ok_or(ObjectError::NoSuchCorsConfiguration)
    }

    /// DeleteBucketCors (succeeds when there is nothing to delete).
    pub async fn delete_bucket_cors(&self, name: &str) -> Result<()> {
        self.update_bucket(name, |r| r.cors = None).await
    }
}
