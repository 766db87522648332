//! Object lock (WORM): the one decision whether a version may be removed or its retention
//! changed ([`may_remove_version`], [`may_change_retention`]), the validation of a bucket's
//! default retention, and the operations that set a bucket's lock configuration and a
//! version's retention and legal hold.
//!
//! Every path that removes a version (DeleteObject with a version id, DeleteObjects, the
//! displacement of a `null` version, lifecycle) asks [`may_remove_version`] inside the same
//! transaction that removes it, with the record read in that transaction, so a retention or
//! legal hold committed before the removal is always seen.

use rustfs_meta::{DefaultRetention, ObjectLockConfig, ObjectRecord, Retention, RetentionMode};

use crate::{ObjectError, ObjectStore, Result, now_ms};

/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;
/// S3's longest default retention: 100 years (36,500 days).
pub const MAX_RETENTION_DAYS: u32 = 36_500;
/// S3's longest default retention in years.
pub const MAX_RETENTION_YEARS: u32 = 100;

/// Why object lock refuses to remove a version or to change its retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockRefusal {
    /// The version is under legal hold.
    LegalHold,
    /// The version's retention (this mode) has not passed.
    Retained(RetentionMode),
}

/// Whether `rec` may be removed at `now_ms`: not while it is under legal hold; not while a
/// COMPLIANCE retention lasts (by anyone); not while a GOVERNANCE retention lasts unless
/// `bypass_governance` (the caller asked to bypass it and is allowed
/// `s3:BypassGovernanceRetention`). A delete marker carries no lock. The one decision for every
/// path that removes a version, lifecycle included (which never bypasses).
pub fn may_remove_version(
    rec: &ObjectRecord,
    bypass_governance: bool,
    now_ms: i64,
) -> Result<(), LockRefusal> {
    if rec.legal_hold {
        return Err(LockRefusal::LegalHold);
    }
    match rec.retention {
        Some(r) if r.retain_until_ms > now_ms => match r.mode {
            RetentionMode::Compliance => Err(LockRefusal::Retained(r.mode)),
            RetentionMode::Governance if bypass_governance => Ok(()),
            RetentionMode::Governance => Err(LockRefusal::Retained(r.mode)),
        },
        _ => Ok(()),
    }
}

/// Whether a version's retention may change from `current` to `new` at `now_ms`. A retention
/// that has passed (or none) may become anything. A lasting COMPLIANCE retention may only be
/// extended (same mode, same or later date), by anyone. A lasting GOVERNANCE retention may be
/// extended in GOVERNANCE; anything else (shorter, removed, COMPLIANCE) needs
/// `bypass_governance`.
pub fn may_change_retention(
    current: Option<Retention>,
    new: Option<Retention>,
    bypass_governance: bool,
    now_ms: i64,
) -> Result<(), LockRefusal> {
    let Some(cur) = current.filter(|c| c.retain_until_ms > now_ms) else {
        return Ok(());
    };
    let extends =
        |mode| new.is_some_and(|n| n.mode == mode && n.retain_until_ms >= cur.retain_until_ms);
    match cur.mode {
        RetentionMode::Compliance if extends(RetentionMode::Compliance) => Ok(()),
        RetentionMode::Compliance => Err(LockRefusal::Retained(cur.mode)),
        RetentionMode::Governance if extends(RetentionMode::Governance) || bypass_governance => {
            Ok(())
        }
        RetentionMode::Governance => Err(LockRefusal::Retained(cur.mode)),
    }
}

/// A default retention's period in milliseconds (years of 365 days, as S3 counts them).
pub fn period_ms(d: &DefaultRetention) -> i64 {
    match d.period {
        rustfs_meta::RetentionPeriod::Days(n) => i64::from(n) * DAY_MS,
        rustfs_meta::RetentionPeriod::Years(n) => i64::from(n) * 365 * DAY_MS,
    }
}

/// The retention a new version made at `now_ms` gets from its bucket's default, if any.
pub fn default_for(lock: Option<&ObjectLockConfig>, now_ms: i64) -> Option<Retention> {
    let d = lock?.default_retention?;
    Some(Retention {
        mode: d.mode,
        retain_until_ms: now_ms.saturating_add(period_ms(&d)),
    })
}

/// Validates a default retention as S3 does: a mode and exactly one of days or years
/// (`MalformedXML` otherwise), a positive period of at most 100 years
/// (`InvalidRetentionPeriod`). `mode` is S3's spelling; `days`/`years` as given.
pub fn parse_default_retention(
    mode: Option<&str>,
    days: Option<i32>,
    years: Option<i32>,
) -> Result<DefaultRetention> {
    let malformed = |m: &str| ObjectError::MalformedXml(m.to_string());
    let mode = mode
        .and_then(RetentionMode::parse)
        .ok_or_else(|| malformed("the default retention needs a mode, GOVERNANCE or COMPLIANCE"))?;
    let positive = |n: i32, max: u32| -> Result<u32> {
        u32::try_from(n)
            .ok()
            .filter(|&n| n > 0 && n <= max)
            .ok_or(ObjectError::InvalidRetentionPeriod)
    };
    let period = match (days, years) {
        (Some(d), None) => rustfs_meta::RetentionPeriod::Days(positive(d, MAX_RETENTION_DAYS)?),
        (None, Some(y)) => rustfs_meta::RetentionPeriod::Years(positive(y, MAX_RETENTION_YEARS)?),
        _ => {
            return Err(malformed(
                "the default retention needs either Days or Years",
            ));
        }
    };
    Ok(DefaultRetention { mode, period })
}

/// What a new version's commit does about object lock, with the bucket's configuration read
/// in the commit's transaction: a version asking for a retention or legal hold in a bucket
/// without lock is refused (`ObjectLockNotEnabled`); one asking for no retention gets the
/// bucket's default, counted from `now_ms`.
pub(crate) fn lock_new_version(
    lock: Option<&ObjectLockConfig>,
    rec: &mut ObjectRecord,
    now_ms: i64,
) -> Result<()> {
    if lock.is_none() && (rec.retention.is_some() || rec.legal_hold_set) {
        return Err(ObjectError::ObjectLockNotEnabled);
    }
    if rec.retention.is_none() {
        rec.retention = default_for(lock, now_ms);
    }
    Ok(())
}

impl From<LockRefusal> for ObjectError {
    fn from(r: LockRefusal) -> Self {
        ObjectError::ObjectLocked(r)
    }
}

impl ObjectStore {
    /// PutObjectLockConfiguration: enables object lock on a bucket with versioning enabled
    /// (`InvalidBucketState` otherwise) and sets its default retention (`None`: none).
    pub async fn set_object_lock_config(
        &self,
        bucket: &str,
        default_retention: Option<DefaultRetention>,
    ) -> Result<()> {
        self.update_bucket(bucket, |r| {
            if r.object_lock.is_none() && r.versioning != Some(rustfs_meta::Versioning::Enabled) {
                return Err(ObjectError::InvalidBucketState(
                    "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
                ));
            }
            r.object_lock = Some(ObjectLockConfig { default_retention });
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// GetObjectLockConfiguration: `ObjectLockConfigurationNotFound` for a bucket without lock.
    pub async fn object_lock_config(&self, bucket: &str) -> Result<ObjectLockConfig> {
        self.bucket(bucket)
            .await?
            .object_lock
            .ok_or(ObjectError::ObjectLockConfigurationNotFound)
    }

    /// PutObjectRetention (`None` removes it): in one transaction with the bucket record (it
    /// must have object lock) and the version's record, the change decided by
    /// [`may_change_retention`]. A date that is not in the future is refused.
    pub async fn set_version_retention(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        retention: Option<Retention>,
        bypass_governance: bool,
    ) -> Result<ObjectRecord> {
        if retention.is_some_and(|r| r.retain_until_ms <= now_ms()) {
            return Err(ObjectError::InvalidArgument(
                "The retain until date must be in the future!".into(),
            ));
        }
        self.update_version(bucket, key, version, |b, rec| {
            if b.object_lock.is_none() {
                return Err(ObjectError::ObjectLockNotEnabled);
            }
            may_change_retention(rec.retention, retention, bypass_governance, now_ms())?;
            rec.retention = retention;
            Ok(())
        })
        .await
    }

    /// PutObjectLegalHold: in one transaction with the bucket record (it must have object
    /// lock) and the version's record.
    pub async fn set_version_legal_hold(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        on: bool,
    ) -> Result<ObjectRecord> {
        self.update_version(bucket, key, version, |b, rec| {
            if b.object_lock.is_none() {
                return Err(ObjectError::ObjectLockNotEnabled);
            }
            rec.legal_hold = on;
            rec.legal_hold_set = true;
            Ok(())
        })
        .await
    }

    /// The record of a version of a key in a lock-enabled bucket (GetObjectRetention,
    /// GetObjectLegalHold): `ObjectLockNotEnabled` for a bucket without lock.
    pub async fn locked_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<ObjectRecord> {
        if self.bucket(bucket).await?.object_lock.is_none() {
            return Err(ObjectError::ObjectLockNotEnabled);
        }
        self.head_version(bucket, key, version).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustfs_meta::RetentionPeriod;

    const NOW: i64 = 1_000_000;

    fn rec(retention: Option<Retention>, legal_hold: bool) -> ObjectRecord {
        ObjectRecord {
            version_id: "v".into(),
            size: 0,
            etag: String::new(),
            last_modified_ms: 0,
            owner: "o".into(),
            meta: Default::default(),
            checksum: None,
            multipart: false,
            segments: vec![],
            tags: vec![],
            acl: None,
            version: None,
            versioned: true,
            delete_marker: false,
            retention,
            legal_hold,
            legal_hold_set: legal_hold,
            encryption: None,
        }
    }

    fn ret(mode: RetentionMode, until: i64) -> Option<Retention> {
        Some(Retention {
            mode,
            retain_until_ms: until,
        })
    }

    use RetentionMode::{Compliance as C, Governance as G};

    #[test]
    fn removal_follows_mode_hold_and_time() {
        // Nothing, or a retention that has passed: removable.
        assert_eq!(may_remove_version(&rec(None, false), false, NOW), Ok(()));
        assert_eq!(
            may_remove_version(&rec(ret(C, NOW), false), false, NOW),
            Ok(())
        );
        // GOVERNANCE: only with the bypass.
        let g = rec(ret(G, NOW + 1), false);
        assert_eq!(
            may_remove_version(&g, false, NOW),
            Err(LockRefusal::Retained(G))
        );
        assert_eq!(may_remove_version(&g, true, NOW), Ok(()));
        // COMPLIANCE: never, bypass or not.
        let c = rec(ret(C, NOW + 1), false);
        assert_eq!(
            may_remove_version(&c, true, NOW),
            Err(LockRefusal::Retained(C))
        );
        // A legal hold: never, whatever the retention.
        for r in [None, ret(G, NOW - 1), ret(G, NOW + 1)] {
            assert_eq!(
                may_remove_version(&rec(r, true), true, NOW),
                Err(LockRefusal::LegalHold)
            );
        }
    }

    #[test]
    fn compliance_is_only_extended() {
        let cur = ret(C, NOW + 100);
        assert_eq!(
            may_change_retention(cur, ret(C, NOW + 100), false, NOW),
            Ok(())
        );
        assert_eq!(
            may_change_retention(cur, ret(C, NOW + 200), false, NOW),
            Ok(())
        );
        for new in [ret(C, NOW + 50), ret(G, NOW + 200), None] {
            for bypass in [false, true] {
                assert_eq!(
                    may_change_retention(cur, new, bypass, NOW),
                    Err(LockRefusal::Retained(C)),
                    "{new:?} bypass {bypass}"
                );
            }
        }
        // Once passed, anything goes.
        assert_eq!(may_change_retention(cur, None, false, NOW + 100), Ok(()));
    }

    #[test]
    fn governance_is_changed_only_with_bypass() {
        let cur = ret(G, NOW + 100);
        assert_eq!(
            may_change_retention(cur, ret(G, NOW + 200), false, NOW),
            Ok(())
        );
        for new in [ret(G, NOW + 50), ret(C, NOW + 100), None] {
            assert_eq!(
                may_change_retention(cur, new, false, NOW),
                Err(LockRefusal::Retained(G))
            );
            assert_eq!(may_change_retention(cur, new, true, NOW), Ok(()));
        }
        assert_eq!(
            may_change_retention(None, ret(C, NOW + 1), false, NOW),
            Ok(())
        );
    }

    #[test]
    fn default_retention_validates_as_s3() {
        let d = parse_default_retention(Some("GOVERNANCE"), Some(1), None).unwrap();
        assert_eq!(d.period, RetentionPeriod::Days(1));
        assert_eq!(period_ms(&d), DAY_MS);
        let y = parse_default_retention(Some("COMPLIANCE"), None, Some(2)).unwrap();
        assert_eq!(period_ms(&y), 2 * 365 * DAY_MS);
        let malformed =
            |r: Result<DefaultRetention>| matches!(r, Err(ObjectError::MalformedXml(_)));
        assert!(malformed(parse_default_retention(
            Some("GOVERNANCE"),
            Some(1),
            Some(1)
        )));
        assert!(malformed(parse_default_retention(
            Some("GOVERNANCE"),
            None,
            None
        )));
        assert!(malformed(parse_default_retention(
            Some("governance"),
            Some(1),
            None
        )));
        assert!(malformed(parse_default_retention(None, Some(1), None)));
        let period =
            |r: Result<DefaultRetention>| matches!(r, Err(ObjectError::InvalidRetentionPeriod));
        assert!(period(parse_default_retention(
            Some("GOVERNANCE"),
            Some(0),
            None
        )));
        assert!(period(parse_default_retention(
            Some("GOVERNANCE"),
            None,
            Some(-1)
        )));
        assert!(period(parse_default_retention(
            Some("GOVERNANCE"),
            Some(36_501),
            None
        )));
        assert!(period(parse_default_retention(
            Some("GOVERNANCE"),
            None,
            Some(101)
        )));
    }

    #[test]
    fn default_applies_from_creation() {
        let lock = ObjectLockConfig {
            default_retention: Some(DefaultRetention {
                mode: C,
                period: RetentionPeriod::Days(2),
            }),
        };
        assert_eq!(default_for(Some(&lock), NOW), ret(C, NOW + 2 * DAY_MS));
        assert_eq!(default_for(Some(&ObjectLockConfig::default()), NOW), None);
        assert_eq!(default_for(None, NOW), None);
    }
}
