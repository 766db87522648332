//! Bucket lifecycle configuration: the S3 shapes in and out of the rules the bucket record
//! keeps (validated by `rustfs_object::lifecycle`; the worker that applies them is in
//! `rustfs_object::lifecycle_worker`).

use rustfs_object::lifecycle::positive;
use rustfs_object::{
    LifecycleExpiration as Expiry, LifecycleFilter, LifecycleRule as Rule, NoncurrentExpiration,
    ObjectError,
};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::RustFsS3;
use crate::errors::to_s3;

fn tag_in(t: Tag) -> (String, String) {
    (t.key.unwrap_or_default(), t.value.unwrap_or_default())
}

fn size(v: Option<i64>, what: &str) -> Result<Option<u64>, ObjectError> {
    v.map(|v| {
        u64::try_from(v)
            .map_err(|_| ObjectError::InvalidArgument(format!("'{what}' must not be negative")))
    })
    .transpose()
}

/// A `Filter`. S3 documents exactly one of Prefix, Tag, the sizes or And; like RGW, a filter
/// naming several (And included) is taken as the conjunction of all of them (the suite's
/// lifecycle tests send such filters). Two prefixes no key can both start with are refused.
fn filter_in(f: LifecycleRuleFilter) -> Result<LifecycleFilter, ObjectError> {
    let mut out = LifecycleFilter {
        prefix: f.prefix.unwrap_or_default(),
        tags: f.tag.into_iter().map(tag_in).collect(),
        size_greater_than: size(f.object_size_greater_than, "ObjectSizeGreaterThan")?,
        size_less_than: size(f.object_size_less_than, "ObjectSizeLessThan")?,
        and: false,
    };
    if let Some(a) = f.and {
        let alone = out == LifecycleFilter::default();
        let p = a.prefix.unwrap_or_default();
        if p.starts_with(&out.prefix) {
            out.prefix = p;
        } else if !out.prefix.starts_with(&p) {
            return Err(ObjectError::MalformedXml(
                "the Filter's prefixes exclude each other".into(),
            ));
        }
        out.tags
            .extend(a.tags.unwrap_or_default().into_iter().map(tag_in));
        let gt = size(a.object_size_greater_than, "ObjectSizeGreaterThan")?;
        let lt = size(a.object_size_less_than, "ObjectSizeLessThan")?;
        out.size_greater_than = out.size_greater_than.max(gt);
        out.size_less_than = match (out.size_less_than, lt) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        out.and = alone;
    }
    Ok(out)
}

fn rule_in(r: LifecycleRule) -> Result<Rule, ObjectError> {
    let enabled = match r.status.as_str() {
        ExpirationStatus::ENABLED => true,
        ExpirationStatus::DISABLED => false,
        other => {
            return Err(ObjectError::MalformedXml(format!(
                "Status must be Enabled or Disabled, not {other:?}"
            )));
        }
    };
    // Storage classes other than STANDARD do not exist here.
    let transitions = r.transitions.as_ref().is_some_and(|t| !t.is_empty())
        || r.noncurrent_version_transitions
            .as_ref()
            .is_some_and(|t| !t.is_empty());
    if transitions {
        return Err(ObjectError::InvalidStorageClass(
            "The storage class you specified is not valid: transitions are not supported".into(),
        ));
    }
    let (filter, legacy_prefix) = match (r.filter, r.prefix) {
        (Some(_), Some(_)) => {
            return Err(ObjectError::MalformedXml(
                "a rule takes Filter or Prefix, not both".into(),
            ));
        }
        (Some(f), None) => (filter_in(f)?, false),
        (None, Some(p)) => (
            LifecycleFilter {
                prefix: p,
                ..Default::default()
            },
            true,
        ),
        (None, None) => (LifecycleFilter::default(), false),
    };
    let expiration = r
        .expiration
        .map(|e| -> Result<_, ObjectError> {
            Ok(Expiry {
                days: e.days.map(|d| positive(d, "Days")).transpose()?,
                date_secs: e
                    .date
                    .map(|d| time::OffsetDateTime::from(d).unix_timestamp()),
                expired_object_delete_marker: e.expired_object_delete_marker.unwrap_or(false),
            })
        })
        .transpose()?;
    let noncurrent = r
        .noncurrent_version_expiration
        .map(|n| -> Result<_, ObjectError> {
            Ok(NoncurrentExpiration {
                noncurrent_days: positive(n.noncurrent_days.unwrap_or(0), "NoncurrentDays")?,
                newer_noncurrent_versions: n
                    .newer_noncurrent_versions
                    .map(|v| positive(v, "NewerNoncurrentVersions"))
                    .transpose()?,
            })
        })
        .transpose()?;
    let abort_upload_days = r
        .abort_incomplete_multipart_upload
        .map(|a| positive(a.days_after_initiation.unwrap_or(0), "DaysAfterInitiation"))
        .transpose()?;
    Ok(Rule {
        id: r.id.unwrap_or_default(),
        enabled,
        filter,
        legacy_prefix,
        expiration,
        noncurrent,
        abort_upload_days,
    })
}

fn tag_out((k, v): (String, String)) -> Tag {
    Tag {
        key: Some(k),
        value: Some(v),
    }
}

fn rule_out(r: Rule) -> LifecycleRule {
    let f = r.filter;
    let size = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
    let (filter, prefix) = if r.legacy_prefix {
        (None, Some(f.prefix))
    } else if f.and || f.tags.len() > 1 {
        let filter = LifecycleRuleFilter {
            and: Some(LifecycleRuleAndOperator {
                prefix: (!f.prefix.is_empty()).then_some(f.prefix),
                tags: (!f.tags.is_empty()).then(|| f.tags.into_iter().map(tag_out).collect()),
                object_size_greater_than: size(f.size_greater_than),
                object_size_less_than: size(f.size_less_than),
            }),
            ..Default::default()
        };
        (Some(filter), None)
    } else {
        let filter = LifecycleRuleFilter {
            prefix: (!f.prefix.is_empty()).then_some(f.prefix),
            tag: f.tags.into_iter().next().map(tag_out),
            object_size_greater_than: size(f.size_greater_than),
            object_size_less_than: size(f.size_less_than),
            ..Default::default()
        };
        (Some(filter), None)
    };
    LifecycleRule {
        abort_incomplete_multipart_upload: r.abort_upload_days.map(|d| {
            AbortIncompleteMultipartUpload {
                days_after_initiation: i32::try_from(d).ok(),
            }
        }),
        expiration: r.expiration.map(|e| LifecycleExpiration {
            days: e.days.and_then(|d| i32::try_from(d).ok()),
            date: e
                .date_secs
                .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
                .map(Timestamp::from),
            expired_object_delete_marker: e.expired_object_delete_marker.then_some(true),
        }),
        filter,
        id: Some(r.id),
        noncurrent_version_expiration: r.noncurrent.map(|n| NoncurrentVersionExpiration {
            noncurrent_days: i32::try_from(n.noncurrent_days).ok(),
            newer_noncurrent_versions: n
                .newer_noncurrent_versions
                .and_then(|v| i32::try_from(v).ok()),
        }),
        noncurrent_version_transitions: None,
        prefix,
        status: ExpirationStatus::from_static(if r.enabled {
            ExpirationStatus::ENABLED
        } else {
            ExpirationStatus::DISABLED
        }),
        transitions: None,
    }
}

impl RustFsS3 {
    pub(super) async fn op_put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        let i = req.input;
        let rules = i
            .lifecycle_configuration
            .map(|c| c.rules)
            .unwrap_or_default()
            .into_iter()
            .map(rule_in)
            .collect::<Result<Vec<_>, _>>()
            .map_err(to_s3)?;
        self.store
            .set_bucket_lifecycle(&i.bucket, rules)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(
            PutBucketLifecycleConfigurationOutput::default(),
        ))
    }

    pub(super) async fn op_get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        let rules = self
            .store
            .bucket_lifecycle(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
            rules: Some(rules.into_iter().map(rule_out).collect()),
            ..Default::default()
        }))
    }

    pub(super) async fn op_delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        self.store
            .delete_bucket_lifecycle(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
    }
}
