//! Lifecycle rules: validation of a configuration (PutBucketLifecycleConfiguration) and the
//! decisions the lifecycle worker and the `x-amz-expiration` header make from it: which rule
//! selects an object, and when a version, a delete marker or an upload expires.
//!
//! Times follow S3: an expiry of N days is the object's creation time plus N days, rounded up
//! to the next midnight UTC. Under the debug setting `RUSTFS_LIFECYCLE_DAY_SECONDS=N`
//! ([`set_day_seconds`]) a day lasts N seconds and there is no rounding, so tests see rules
//! act within seconds.

use std::sync::atomic::{AtomicU64, Ordering};

use rustfs_meta::{LifecycleRule, ObjectRecord, UploadRecord};

use crate::{ObjectError, Result};

/// Rules a configuration may hold (S3's limit).
pub const MAX_RULES: usize = 1000;
/// Longest rule id.
pub const MAX_ID_LEN: usize = 255;

const DAY_MS: i64 = 86_400_000;

/// Seconds in a lifecycle day; 0 (the default) is a real day with S3's midnight rounding.
static DAY_SECONDS: AtomicU64 = AtomicU64::new(0);

/// Sets the debug day length (`RUSTFS_LIFECYCLE_DAY_SECONDS`); 0 restores real days.
pub fn set_day_seconds(secs: u64) {
    DAY_SECONDS.store(secs, Ordering::Relaxed);
}

/// The debug day length in seconds, when one is set.
pub fn debug_day_seconds() -> Option<u64> {
    match DAY_SECONDS.load(Ordering::Relaxed) {
        0 => None,
        n => Some(n),
    }
}

/// `start_ms` plus `days` as S3 counts them: rounded up to the next midnight UTC.
pub fn calendar_expiry_ms(start_ms: i64, days: u32) -> i64 {
    let t = start_ms.saturating_add(i64::from(days).saturating_mul(DAY_MS));
    match t.rem_euclid(DAY_MS) {
        0 => t,
        r => t - r + DAY_MS,
    }
}

/// When something that started at `start_ms` is `days` lifecycle days old: S3's calendar
/// rule, or, under the debug day length, exactly `days` debug days later.
pub fn expiry_ms(start_ms: i64, days: u32) -> i64 {
    match debug_day_seconds() {
        Some(secs) => start_ms.saturating_add(
            i64::from(days)
                .saturating_mul(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)),
        ),
        None => calendar_expiry_ms(start_ms, days),
    }
}

/// A positive day or version count from the request (`what` names the field for the error).
pub fn positive(value: i32, what: &str) -> Result<u32> {
    u32::try_from(value)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ObjectError::InvalidArgument(format!("'{what}' must be a positive integer")))
}

/// Checks a configuration as S3 does; rules without an id get one.
pub fn validate(rules: &mut [LifecycleRule]) -> Result<()> {
    if rules.is_empty() {
        return Err(ObjectError::MalformedXml(
            "the configuration has no rule".into(),
        ));
    }
    if rules.len() > MAX_RULES {
        return Err(ObjectError::InvalidRequest(format!(
            "a lifecycle configuration holds at most {MAX_RULES} rules"
        )));
    }
    let mut ids = std::collections::HashSet::new();
    for r in rules.iter_mut() {
        if r.id.is_empty() {
            r.id = crate::new_id();
        }
        if r.id.len() > MAX_ID_LEN {
            return Err(ObjectError::InvalidArgument(
                "ID length should not exceed allowed limit of 255".into(),
            ));
        }
        if !ids.insert(r.id.clone()) {
            return Err(ObjectError::InvalidArgument(
                "Rule ID must be unique. Found same ID for more than one rule".into(),
            ));
        }
        if r.expiration.is_none() && r.noncurrent.is_none() && r.abort_upload_days.is_none() {
            return Err(ObjectError::InvalidRequest(
                "At least one action needs to be specified in a rule".into(),
            ));
        }
        if let Some(e) = &r.expiration {
            let set = usize::from(e.days.is_some())
                + usize::from(e.date_secs.is_some())
                + usize::from(e.expired_object_delete_marker);
            if set != 1 {
                return Err(ObjectError::MalformedXml(
                    "Expiration takes exactly one of Days, Date and ExpiredObjectDeleteMarker"
                        .into(),
                ));
            }
            if e.date_secs.is_some_and(|d| d.rem_euclid(86_400) != 0) {
                return Err(ObjectError::InvalidArgument(
                    "'Date' must be at midnight GMT".into(),
                ));
            }
            if e.expired_object_delete_marker && !r.filter.tags.is_empty() {
                return Err(ObjectError::InvalidRequest(
                    "ExpiredObjectDeleteMarker cannot be specified with a tag filter".into(),
                ));
            }
        }
        if r.abort_upload_days.is_some() && !r.filter.tags.is_empty() {
            return Err(ObjectError::InvalidRequest(
                "AbortIncompleteMultipartUpload cannot be specified with a tag filter".into(),
            ));
        }
        let mut keys = std::collections::HashSet::new();
        if !r.filter.tags.iter().all(|(k, _)| keys.insert(k)) {
            return Err(ObjectError::InvalidRequest(
                "Duplicate Tag Keys are not allowed".into(),
            ));
        }
        if let (Some(gt), Some(lt)) = (r.filter.size_greater_than, r.filter.size_less_than)
            && gt >= lt
        {
            return Err(ObjectError::InvalidArgument(
                "ObjectSizeGreaterThan must be less than ObjectSizeLessThan".into(),
            ));
        }
    }
    Ok(())
}

/// Whether the rule's filter selects a version of `key` (`size` and `tags` its own).
pub fn selects(rule: &LifecycleRule, key: &str, size: u64, tags: &[(String, String)]) -> bool {
    let f = &rule.filter;
    key.starts_with(&f.prefix)
        && f.tags.iter().all(|t| tags.contains(t))
        && f.size_greater_than.is_none_or(|g| size > g)
        && f.size_less_than.is_none_or(|l| size < l)
}

/// The enabled rules that select `record` (a version of `key`).
pub fn rules_for<'a>(
    rules: &'a [LifecycleRule],
    key: &'a str,
    record: &'a ObjectRecord,
) -> impl Iterator<Item = &'a LifecycleRule> + 'a {
    rules
        .iter()
        .filter(move |r| r.enabled && selects(r, key, record.size, &record.tags))
}

/// When the current version `record` of `key` expires and by which rule (the earliest, as S3
/// reports in `x-amz-expiration`), on S3's calendar (`calendar`) or the lifecycle clock.
pub fn current_expiry(
    rules: &[LifecycleRule],
    key: &str,
    record: &ObjectRecord,
    calendar: bool,
) -> Option<(i64, String)> {
    if record.delete_marker {
        return None;
    }
    rules_for(rules, key, record)
        .filter_map(|r| {
            let e = r.expiration.as_ref()?;
            let at = match (e.days, e.date_secs) {
                (Some(d), _) if calendar => calendar_expiry_ms(record.last_modified_ms, d),
                (Some(d), _) => expiry_ms(record.last_modified_ms, d),
                (None, Some(s)) => s.saturating_mul(1000),
                (None, None) => return None,
            };
            Some((at, r.id.clone()))
        })
        .min_by_key(|(at, _)| *at)
}

/// The `x-amz-expiration` header value for a current version, when a rule expires it.
pub fn expiration_header(
    rules: &[LifecycleRule],
    key: &str,
    record: &ObjectRecord,
) -> Option<String> {
    let (at_ms, id) = current_expiry(rules, key, record, true)?;
    let at = time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000)).ok()?;
    let date = at
        .format(&time::format_description::well_known::Rfc2822)
        .ok()?
        .replace("+0000", "GMT");
    Some(format!(
        "expiry-date=\"{date}\", rule-id=\"{}\"",
        id.replace('"', "\\\"")
    ))
}

/// Whether a lone delete marker (the key's only version) is due for removal at `now_ms`:
/// a rule with `ExpiredObjectDeleteMarker`, or one with an expiration in days that the marker
/// has outlived, selects it.
pub fn marker_expired(
    rules: &[LifecycleRule],
    key: &str,
    marker: &ObjectRecord,
    now_ms: i64,
) -> bool {
    rules
        .iter()
        .filter(|r| r.enabled && key.starts_with(&r.filter.prefix) && r.filter.tags.is_empty())
        .any(|r| {
            r.expiration.as_ref().is_some_and(|e| {
                e.expired_object_delete_marker
                    || e.days
                        .is_some_and(|d| expiry_ms(marker.last_modified_ms, d) <= now_ms)
            })
        })
}

/// Whether a noncurrent version is due: `noncurrent_since_ms` is when it stopped being
/// current (its successor's creation) and `newer` how many noncurrent versions of the key are
/// newer than it.
pub fn noncurrent_expired(
    rules: &[LifecycleRule],
    key: &str,
    record: &ObjectRecord,
    noncurrent_since_ms: i64,
    newer: usize,
    now_ms: i64,
) -> bool {
    rules_for(rules, key, record).any(|r| {
        r.noncurrent.as_ref().is_some_and(|n| {
            n.newer_noncurrent_versions
                .is_none_or(|keep| newer >= keep as usize)
                && expiry_ms(noncurrent_since_ms, n.noncurrent_days) <= now_ms
        })
    })
}

/// Whether an incomplete multipart upload is due for abort at `now_ms`.
pub fn upload_expired(rules: &[LifecycleRule], upload: &UploadRecord, now_ms: i64) -> bool {
    rules.iter().any(|r| {
        r.enabled
            && upload.key.starts_with(&r.filter.prefix)
            && r.filter.tags.is_empty()
            && r.abort_upload_days
                .is_some_and(|d| expiry_ms(upload.initiated_ms, d) <= now_ms)
    })
}

/// Whether lifecycle may remove this version now: object lock's one decision
/// ([`crate::retention::may_remove_version`]), never bypassing GOVERNANCE. A pre-check that
/// spares a pass the removal's transaction; that transaction asks the same decision again on
/// the record it reads, so a lock committed in between still keeps the version.
pub fn removable(record: &ObjectRecord, now_ms: i64) -> bool {
    crate::retention::may_remove_version(record, false, now_ms).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustfs_meta::{LifecycleExpiration, LifecycleFilter, NoncurrentExpiration};

    fn rule(id: &str, prefix: &str, days: u32) -> LifecycleRule {
        LifecycleRule {
            id: id.into(),
            enabled: true,
            filter: LifecycleFilter {
                prefix: prefix.into(),
                ..Default::default()
            },
            expiration: Some(LifecycleExpiration {
                days: Some(days),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn record(size: u64, modified_ms: i64, tags: &[(&str, &str)]) -> ObjectRecord {
        ObjectRecord {
            size,
            last_modified_ms: modified_ms,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn calendar_rounds_up_to_midnight() {
        // 2024-01-01 10:00 UTC + 1 day -> 2024-01-03 00:00 UTC.
        let start = 1_704_103_200_000;
        assert_eq!(calendar_expiry_ms(start, 1), 1_704_240_000_000);
        // Exactly midnight stays.
        assert_eq!(calendar_expiry_ms(1_704_067_200_000, 1), 1_704_153_600_000);
    }

    #[test]
    fn header_names_the_earliest_rule() {
        let rules = vec![
            rule("late", "a/", 30),
            rule("soon", "a/", 2),
            rule("other", "b/", 1),
        ];
        let r = record(5, 1_704_103_200_000, &[]);
        let h = expiration_header(&rules, "a/x", &r).unwrap();
        assert_eq!(
            h,
            "expiry-date=\"Thu, 04 Jan 2024 00:00:00 GMT\", rule-id=\"soon\""
        );
        assert!(expiration_header(&rules, "c/x", &r).is_none());
    }

    #[test]
    fn filters_by_tags_and_size() {
        let mut r = rule("t", "", 1);
        r.filter.tags = vec![("k".into(), "v".into())];
        r.filter.size_greater_than = Some(10);
        r.filter.size_less_than = Some(100);
        assert!(selects(
            &r,
            "x",
            50,
            &[("k".into(), "v".into()), ("o".into(), "p".into())]
        ));
        assert!(!selects(&r, "x", 50, &[("k".into(), "w".into())]));
        assert!(!selects(&r, "x", 10, &[("k".into(), "v".into())]));
        assert!(!selects(&r, "x", 100, &[("k".into(), "v".into())]));
    }

    #[test]
    fn disabled_rules_select_nothing() {
        let mut r = rule("d", "", 1);
        r.enabled = false;
        let rec = record(1, 0, &[]);
        assert!(current_expiry(&[r], "k", &rec, true).is_none());
    }

    #[test]
    fn validation_follows_s3() {
        let mut same = vec![rule("a", "", 1), rule("a", "", 2)];
        assert!(matches!(
            validate(&mut same),
            Err(ObjectError::InvalidArgument(_))
        ));
        let mut long = vec![rule(&"x".repeat(256), "", 1)];
        assert!(matches!(
            validate(&mut long),
            Err(ObjectError::InvalidArgument(_))
        ));
        let mut none = vec![LifecycleRule {
            id: "n".into(),
            enabled: true,
            ..Default::default()
        }];
        assert!(matches!(
            validate(&mut none),
            Err(ObjectError::InvalidRequest(_))
        ));
        let mut date = vec![LifecycleRule {
            id: "d".into(),
            expiration: Some(LifecycleExpiration {
                date_secs: Some(86_400 + 5),
                ..Default::default()
            }),
            ..Default::default()
        }];
        assert!(matches!(
            validate(&mut date),
            Err(ObjectError::InvalidArgument(_))
        ));
        let mut unnamed = vec![rule("", "", 1)];
        validate(&mut unnamed).unwrap();
        assert!(!unnamed[0].id.is_empty());
        assert!(positive(0, "Days").is_err());
        assert_eq!(positive(3, "Days").unwrap(), 3);
    }

    #[test]
    fn noncurrent_keeps_the_newest() {
        let r = LifecycleRule {
            id: "n".into(),
            enabled: true,
            noncurrent: Some(NoncurrentExpiration {
                noncurrent_days: 1,
                newer_noncurrent_versions: Some(2),
            }),
            ..Default::default()
        };
        let rec = record(1, 0, &[]);
        let later = 10 * DAY_MS;
        assert!(!noncurrent_expired(
            std::slice::from_ref(&r),
            "k",
            &rec,
            0,
            1,
            later
        ));
        assert!(noncurrent_expired(
            std::slice::from_ref(&r),
            "k",
            &rec,
            0,
            2,
            later
        ));
        assert!(!noncurrent_expired(&[r], "k", &rec, later, 2, later));
    }
}
