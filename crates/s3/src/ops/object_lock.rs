//! Object lock (WORM): the bucket's lock configuration, a version's retention and legal hold,
//! the `x-amz-object-lock-*` headers of new objects and the lock reported on GET/HEAD. The
//! rules themselves are the object layer's (`rustfs_object::retention`).

use http::HeaderMap;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::RustFsS3;
use crate::access::GovernanceBypass;
use crate::api_error::ApiError;
use crate::convert;
use crate::errors::to_s3;
use rustfs_object::{ObjectRecord, Retention, RetentionMode, retention};

/// Milliseconds since the Unix epoch of a timestamp.
fn ms_of(t: &Timestamp) -> i64 {
    let t = time::OffsetDateTime::from(t.clone());
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The object lock a new object asks for in its `x-amz-object-lock-mode`,
/// `-retain-until-date` and `-legal-hold` headers, validated as S3 does (`InvalidArgument`).
/// `headers`: the request's, for the Content-MD5 or checksum S3 requires with them on a PUT
/// (`None` where S3 does not: copy, multipart creation).
pub(crate) fn requested_lock(
    mode: Option<&ObjectLockMode>,
    until: Option<&Timestamp>,
    hold: Option<&ObjectLockLegalHoldStatus>,
    headers: Option<&HeaderMap>,
) -> S3Result<(Option<Retention>, Option<bool>)> {
    let retention = match (mode, until) {
        (None, None) => None,
        (Some(m), Some(u)) => {
            let mode = RetentionMode::parse(m.as_str()).ok_or(ApiError::UnknownLockMode)?;
            let retain_until_ms = ms_of(u);
            if retain_until_ms <= now_ms() {
                return Err(ApiError::RetainUntilInPast.into());
            }
            Some(Retention {
                mode,
                retain_until_ms,
            })
        }
        _ => return Err(ApiError::LockModeAndDateTogether.into()),
    };
    let legal_hold = match hold.map(ObjectLockLegalHoldStatus::as_str) {
        None => None,
        Some(ObjectLockLegalHoldStatus::OFF) => Some(false),
        Some(ObjectLockLegalHoldStatus::ON) => Some(true),
        Some(_) => return Err(ApiError::InvalidLegalHoldHeader.into()),
    };
    if (retention.is_some() || hold.is_some())
        && let Some(h) = headers
        && !carries_digest(h)
    {
        return Err(ApiError::LockNeedsDigest.into());
    }
    Ok((retention, legal_hold))
}

/// Whether a PUT carries a Content-MD5 or an `x-amz-checksum-*` (in a header or announced as
/// a trailer), as S3 requires of a PUT with object lock headers.
fn carries_digest(h: &HeaderMap) -> bool {
    h.contains_key("content-md5")
        || h.contains_key("x-amz-trailer")
        || h.contains_key("x-amz-sdk-checksum-algorithm")
        || h.keys().any(|k| k.as_str().starts_with("x-amz-checksum-"))
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

/// [`requested_lock`] of an input with the three `object_lock_*` fields (PutObject, PostObject,
/// CopyObject, CreateMultipartUpload), with `headers` as there.
macro_rules! lock_headers {
    ($input:expr, $headers:expr) => {
        $crate::ops::object_lock::requested_lock(
            $input.object_lock_mode.as_ref(),
            $input.object_lock_retain_until_date.as_ref(),
            $input.object_lock_legal_hold_status.as_ref(),
            $headers,
        )
    };
}
pub(crate) use lock_headers;

/// The lock a version reports on GET and HEAD: mode, retain-until date, legal hold status
/// (only what it has).
pub(crate) fn lock_out(
    rec: &ObjectRecord,
) -> (
    Option<ObjectLockMode>,
    Option<Timestamp>,
    Option<ObjectLockLegalHoldStatus>,
) {
    let mode = rec
        .retention
        .map(|r| ObjectLockMode::from_static(r.mode.as_str()));
    let until = rec.retention.map(|r| convert::timestamp(r.retain_until_ms));
    let hold = rec.legal_hold_set.then(|| {
        ObjectLockLegalHoldStatus::from_static(if rec.legal_hold {
            ObjectLockLegalHoldStatus::ON
        } else {
            ObjectLockLegalHoldStatus::OFF
        })
    });
    (mode, until, hold)
}

/// Whether the request asked to bypass GOVERNANCE retention and the access check found the
/// caller allowed `s3:BypassGovernanceRetention` (entry `entry` of a DeleteObjects).
pub(crate) fn bypass_of(ext: &http::Extensions, asked: Option<bool>, entry: usize) -> bool {
    asked.unwrap_or(false)
        && ext
            .get::<GovernanceBypass>()
            .is_some_and(|b| b.allows(entry))
}

impl RustFsS3 {
    pub(super) async fn op_put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
        let i = req.input;
        let conf = i
            .object_lock_configuration
            .ok_or(ApiError::MalformedLockConfiguration)?;
        if conf
            .object_lock_enabled
            .as_ref()
            .map(ObjectLockEnabled::as_str)
            != Some(ObjectLockEnabled::ENABLED)
        {
            return Err(ApiError::MalformedLockConfiguration.into());
        }
        let default = match conf.rule.and_then(|r| r.default_retention) {
            None => None,
            Some(d) => Some(
                retention::parse_default_retention(
                    d.mode.as_ref().map(ObjectLockRetentionMode::as_str),
                    d.days,
                    d.years,
                )
                .map_err(to_s3)?,
            ),
        };
        self.store
            .set_object_lock_config(&i.bucket, default)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
    }

    pub(super) async fn op_get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
        let conf = self
            .store
            .object_lock_config(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        let rule = conf.default_retention.map(|d| {
            let (days, years) = match d.period {
                rustfs_object::RetentionPeriod::Days(n) => (i32::try_from(n).ok(), None),
                rustfs_object::RetentionPeriod::Years(n) => (None, i32::try_from(n).ok()),
            };
            ObjectLockRule {
                default_retention: Some(DefaultRetention {
                    mode: Some(ObjectLockRetentionMode::from_static(d.mode.as_str())),
                    days,
                    years,
                }),
            }
        });
        Ok(S3Response::new(GetObjectLockConfigurationOutput {
            object_lock_configuration: Some(ObjectLockConfiguration {
                object_lock_enabled: Some(ObjectLockEnabled::from_static(
                    ObjectLockEnabled::ENABLED,
                )),
                rule,
            }),
        }))
    }

    pub(super) async fn op_put_object_retention(
        &self,
        req: S3Request<PutObjectRetentionInput>,
    ) -> S3Result<S3Response<PutObjectRetentionOutput>> {
        let bypass = bypass_of(&req.extensions, req.input.bypass_governance_retention, 0);
        let i = req.input;
        let r = i.retention.ok_or(ApiError::MalformedRetention)?;
        let retention = match (r.mode, r.retain_until_date) {
            // An empty retention removes it (GOVERNANCE with the bypass only).
            (None, None) => None,
            (Some(m), Some(u)) => Some(Retention {
                mode: RetentionMode::parse(m.as_str()).ok_or(ApiError::MalformedRetention)?,
                retain_until_ms: ms_of(&u),
            }),
            _ => return Err(ApiError::MalformedRetention.into()),
        };
        self.store
            .set_version_retention(
                &i.bucket,
                &i.key,
                i.version_id.as_deref(),
                retention,
                bypass,
            )
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutObjectRetentionOutput::default()))
    }

    pub(super) async fn op_get_object_retention(
        &self,
        req: S3Request<GetObjectRetentionInput>,
    ) -> S3Result<S3Response<GetObjectRetentionOutput>> {
        let i = req.input;
        let rec = self
            .store
            .locked_version(&i.bucket, &i.key, i.version_id.as_deref())
            .await
            .map_err(to_s3)?;
        let r = rec
            .retention
            .ok_or(rustfs_object::ObjectError::NoSuchObjectLockConfiguration)
            .map_err(to_s3)?;
        Ok(S3Response::new(GetObjectRetentionOutput {
            retention: Some(ObjectLockRetention {
                mode: Some(ObjectLockRetentionMode::from_static(r.mode.as_str())),
                retain_until_date: Some(convert::timestamp(r.retain_until_ms)),
            }),
        }))
    }

    pub(super) async fn op_put_object_legal_hold(
        &self,
        req: S3Request<PutObjectLegalHoldInput>,
    ) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
        let i = req.input;
        let on = match i
            .legal_hold
            .and_then(|h| h.status)
            .as_ref()
            .map(ObjectLockLegalHoldStatus::as_str)
        {
            Some(ObjectLockLegalHoldStatus::ON) => true,
            Some(ObjectLockLegalHoldStatus::OFF) => false,
            _ => return Err(ApiError::MalformedLegalHold.into()),
        };
        self.store
            .set_version_legal_hold(&i.bucket, &i.key, i.version_id.as_deref(), on)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
    }

    pub(super) async fn op_get_object_legal_hold(
        &self,
        req: S3Request<GetObjectLegalHoldInput>,
    ) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
        let i = req.input;
        let rec = self
            .store
            .locked_version(&i.bucket, &i.key, i.version_id.as_deref())
            .await
            .map_err(to_s3)?;
        if !rec.legal_hold_set {
            return Err(to_s3(
                rustfs_object::ObjectError::NoSuchObjectLockConfiguration,
            ));
        }
        let status = if rec.legal_hold {
            ObjectLockLegalHoldStatus::ON
        } else {
            ObjectLockLegalHoldStatus::OFF
        };
        Ok(S3Response::new(GetObjectLegalHoldOutput {
            legal_hold: Some(ObjectLockLegalHold {
                status: Some(ObjectLockLegalHoldStatus::from_static(status)),
            }),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: S3Result<(Option<Retention>, Option<bool>)>) -> String {
        r.err()
            .map(|e| e.code().as_str().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn lock_headers_validate_as_s3() {
        let future = convert::timestamp(now_ms() + 60_000);
        let past = convert::timestamp(now_ms() - 60_000);
        let gov = ObjectLockMode::from_static("GOVERNANCE");
        let (r, hold) = requested_lock(Some(&gov), Some(&future), None, None).unwrap();
        assert_eq!(r.map(|r| r.mode), Some(RetentionMode::Governance));
        assert_eq!(hold, None);
        let on = ObjectLockLegalHoldStatus::from_static("ON");
        let off = ObjectLockLegalHoldStatus::from_static("OFF");
        assert_eq!(
            requested_lock(None, None, Some(&on), None).unwrap().1,
            Some(true)
        );
        assert_eq!(
            requested_lock(None, None, Some(&off), None).unwrap().1,
            Some(false)
        );
        // Mode and date together, a known mode, a future date, ON or OFF.
        assert_eq!(
            code(requested_lock(Some(&gov), None, None, None)),
            "InvalidArgument"
        );
        assert_eq!(
            code(requested_lock(None, Some(&future), None, None)),
            "InvalidArgument"
        );
        let lower = ObjectLockMode::from_static("governance");
        assert_eq!(
            code(requested_lock(Some(&lower), Some(&future), None, None)),
            "InvalidArgument"
        );
        assert_eq!(
            code(requested_lock(Some(&gov), Some(&past), None, None)),
            "InvalidArgument"
        );
        let maybe = ObjectLockLegalHoldStatus::from_static("on");
        assert_eq!(
            code(requested_lock(None, None, Some(&maybe), None)),
            "InvalidArgument"
        );
    }

    #[test]
    fn a_put_with_lock_headers_needs_a_digest() {
        let on = ObjectLockLegalHoldStatus::from_static("ON");
        let mut h = HeaderMap::new();
        assert_eq!(
            code(requested_lock(None, None, Some(&on), Some(&h))),
            "InvalidRequest"
        );
        // No lock header: nothing required.
        assert!(requested_lock(None, None, None, Some(&h)).is_ok());
        for name in ["content-md5", "x-amz-checksum-crc32", "x-amz-trailer"] {
            h.clear();
            h.insert(
                http::HeaderName::from_static(name),
                http::HeaderValue::from_static("x"),
            );
            assert!(
                requested_lock(None, None, Some(&on), Some(&h)).is_ok(),
                "{name}"
            );
        }
    }
}
