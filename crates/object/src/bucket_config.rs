//! Per-bucket configuration kept in the bucket record: tags and CORS rules. Each change is a
//! compare-and-swap of the record, so concurrent changes to different settings never undo
//! each other.

use rustfs_meta::CorsRule;

use crate::tagging::{self, MAX_BUCKET_TAGS, TagSet};
use crate::{ObjectError, ObjectStore, Result, cors};

impl ObjectStore {
    /// PutBucketTagging: validates (at most 50 tags) and replaces the bucket's tag set.
    pub async fn set_bucket_tags(&self, name: &str, tags: TagSet) -> Result<()> {
        let tags = tagging::validate(tags, MAX_BUCKET_TAGS)?;
        self.update_bucket(name, |r| {
            r.tags = Some(tags.clone());
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// GetBucketTagging: the tag set, or `NoSuchTagSet` when none is configured.
    pub fn bucket_tags(&self, name: &str) -> Result<TagSet> {
        self.bucket(name)?.tags.ok_or(ObjectError::NoSuchTagSet)
    }

    /// DeleteBucketTagging (succeeds when there is nothing to delete).
    pub async fn delete_bucket_tags(&self, name: &str) -> Result<()> {
        self.update_bucket(name, |r| {
            r.tags = None;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// PutBucketCors: validates the rules and replaces the bucket's CORS configuration.
    pub async fn set_bucket_cors(&self, name: &str, rules: Vec<CorsRule>) -> Result<()> {
        cors::validate(&rules)?;
        self.update_bucket(name, |r| {
            r.cors = Some(rules.clone());
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// GetBucketCors: the rules, or `NoSuchCorsConfiguration`.
    pub fn bucket_cors(&self, name: &str) -> Result<Vec<CorsRule>> {
        self.bucket(name)?
            .cors
            .ok_or(ObjectError::NoSuchCorsConfiguration)
    }

    /// DeleteBucketCors (succeeds when there is nothing to delete).
    pub async fn delete_bucket_cors(&self, name: &str) -> Result<()> {
        self.update_bucket(name, |r| {
            r.cors = None;
            Ok(())
        })
        .await
        .map(|_| ())
    }
}
