//! Per-bucket configuration kept in the bucket record: tags, CORS rules, the bucket policy and
//! the public access block. Each change is a compare-and-swap of the record, so concurrent
//! changes to different settings never undo each other.

use rustfs_meta::{CorsRule, LifecycleRule, PublicAccessBlock};

use crate::policy::Policy;
use crate::tagging::{self, MAX_BUCKET_TAGS, TagSet};
use crate::{ObjectError, ObjectStore, Result, cors, lifecycle};

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
    pub async fn bucket_tags(&self, name: &str) -> Result<TagSet> {
        self.bucket(name)
            .await?
            .tags
            .ok_or(ObjectError::NoSuchTagSet)
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
    pub async fn bucket_cors(&self, name: &str) -> Result<Vec<CorsRule>> {
        self.bucket(name)
            .await?
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

    /// PutBucketLifecycleConfiguration: validates the rules (ids given to those without) and
    /// replaces the bucket's lifecycle configuration.
    pub async fn set_bucket_lifecycle(
        &self,
        name: &str,
        mut rules: Vec<LifecycleRule>,
    ) -> Result<()> {
        lifecycle::validate(&mut rules)?;
        self.update_bucket(name, |r| {
            r.lifecycle = Some(rules.clone());
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// GetBucketLifecycleConfiguration: the rules, or `NoSuchLifecycleConfiguration`.
    pub async fn bucket_lifecycle(&self, name: &str) -> Result<Vec<LifecycleRule>> {
        self.bucket(name)
            .await?
            .lifecycle
            .ok_or(ObjectError::NoSuchLifecycleConfiguration)
    }

    /// DeleteBucketLifecycle (succeeds when there is nothing to delete).
    pub async fn delete_bucket_lifecycle(&self, name: &str) -> Result<()> {
        self.update_bucket(name, |r| {
            r.lifecycle = None;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// PutBucketPolicy: validates the document (it must name this bucket) and stores it
    /// verbatim. `locks_owner` (`x-amz-confirm-remove-self-bucket-access`) lets its Deny
    /// statements bind the owner for the policy operations too. A public policy is refused
    /// while the bucket's public access block says `BlockPublicPolicy`.
    pub async fn set_bucket_policy(&self, name: &str, json: &str, locks_owner: bool) -> Result<()> {
        let policy =
            Policy::parse(json, name).map_err(|e| ObjectError::MalformedPolicy(e.to_string()))?;
        self.update_bucket(name, |r| {
            if r.public_access_block.is_some_and(|b| b.block_public_policy) && policy.is_public() {
                return Err(ObjectError::AccessDenied);
            }
            r.policy = Some(json.to_string());
            r.policy_locks_owner = locks_owner;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// GetBucketPolicy: the document as it was given, or `NoSuchBucketPolicy`.
    pub async fn bucket_policy(&self, name: &str) -> Result<String> {
        self.bucket(name)
            .await?
            .policy
            .ok_or(ObjectError::NoSuchBucketPolicy)
    }

    /// DeleteBucketPolicy (succeeds when there is nothing to delete).
    pub async fn delete_bucket_policy(&self, name: &str) -> Result<()> {
        self.update_bucket(name, |r| {
            r.policy = None;
            r.policy_locks_owner = false;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// PutPublicAccessBlock (`Some`) or DeletePublicAccessBlock (`None`).
    pub async fn set_public_access_block(
        &self,
        name: &str,
        block: Option<PublicAccessBlock>,
    ) -> Result<()> {
        self.update_bucket(name, |r| {
            r.public_access_block = block;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// PutBucketEncryption (`Some`, a KMS key checked to exist) or DeleteBucketEncryption.
    pub async fn set_bucket_encryption(
        &self,
        name: &str,
        enc: Option<rustfs_meta::BucketEncryption>,
    ) -> Result<()> {
        if let Some(id) = enc.as_ref().and_then(|e| e.kms_key_id.as_deref()) {
            self.check_kms_key(id)?;
        }
        self.update_bucket(name, |r| {
            r.encryption = enc.clone();
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// GetBucketEncryption: the default, or `NoSuchEncryptionConfiguration`.
    pub async fn bucket_encryption(&self, name: &str) -> Result<rustfs_meta::BucketEncryption> {
        self.bucket(name)
            .await?
            .encryption
            .ok_or(ObjectError::NoSuchEncryptionConfiguration)
    }

    /// GetPublicAccessBlock: the settings, or `NoSuchPublicAccessBlockConfiguration`.
    pub async fn public_access_block(&self, name: &str) -> Result<PublicAccessBlock> {
        self.bucket(name)
            .await?
            .public_access_block
            .ok_or(ObjectError::NoSuchPublicAccessBlockConfiguration)
    }
}
