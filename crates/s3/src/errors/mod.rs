//! The one mapping to S3 error codes and statuses: from object-layer errors ([`to_s3`]), from
//! the S3 API layer's refusals ([`api`]), from the edge's ([`request`]) and from the access
//! checks' ([`access`]).

mod access;
mod admin;
mod api;
mod request;

use rustfs_object::ObjectError;
use s3s::{S3Error, S3ErrorCode};

pub use access::access;
pub use admin::{AdminError, admin};
pub use api::api;
pub use request::{request, request_response};

/// Converts an object-layer error into the S3 error a client should see.
pub fn to_s3(e: ObjectError) -> S3Error {
    use S3ErrorCode as C;
    let (code, msg): (C, String) = match &e {
        ObjectError::NoSuchBucket => (C::NoSuchBucket, "The specified bucket does not exist".into()),
        ObjectError::BucketAlreadyOwnedByYou => {
            (C::BucketAlreadyOwnedByYou, "Your previous request to create the named bucket succeeded and you already own it.".into())
        }
        ObjectError::BucketAlreadyExists => (C::BucketAlreadyExists, "The requested bucket name is not available.".into()),
        ObjectError::BucketNotEmpty => (C::BucketNotEmpty, "The bucket you tried to delete is not empty".into()),
        ObjectError::InvalidBucketName(m) => (C::InvalidBucketName, format!("The specified bucket is not valid: {m}")),
        ObjectError::NoSuchKey => (C::NoSuchKey, "The specified key does not exist.".into()),
        ObjectError::NoSuchVersion => (C::NoSuchVersion, "The specified version does not exist.".into()),
        ObjectError::InvalidVersionId => (C::InvalidArgument, "Invalid version id specified".into()),
        ObjectError::DeleteMarker { version_id, addressed, last_modified_ms } => {
            let mut err = if *addressed {
                S3Error::with_message(C::MethodNotAllowed, "The specified method is not allowed against this resource.")
            } else {
                S3Error::with_message(C::NoSuchKey, "The specified key does not exist.")
            };
            let mut h = http::HeaderMap::new();
            h.insert("x-amz-delete-marker", http::HeaderValue::from_static("true"));
            if let Ok(v) = http::HeaderValue::from_str(version_id) {
                h.insert("x-amz-version-id", v);
            }
            if let Some(v) = crate::convert::http_date(&crate::convert::timestamp(*last_modified_ms))
                .and_then(|d| http::HeaderValue::from_str(&d).ok())
            {
                h.insert(http::header::LAST_MODIFIED, v);
            }
            err.set_headers(h);
            return err;
        }
        ObjectError::KeyTooLong => (C::KeyTooLongError, "Your key is too long".into()),
        ObjectError::InvalidKey(m) => (C::InvalidArgument, format!("Invalid object key: {m}")),
        ObjectError::NoSuchUpload => (
            C::NoSuchUpload,
            "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.".into(),
        ),
        ObjectError::InvalidPart(m) => (C::InvalidPart, format!("One or more of the specified parts could not be found or did not match: {m}")),
        ObjectError::InvalidPartOrder => (C::InvalidPartOrder, "The list of parts was not in ascending order.".into()),
        ObjectError::EntityTooSmall => (C::EntityTooSmall, "Your proposed upload is smaller than the minimum allowed object size.".into()),
        ObjectError::EntityTooLarge => (C::EntityTooLarge, "Your proposed upload exceeds the maximum allowed object size.".into()),
        // AWS documents 416 InvalidPartNumber, but answers 400 InvalidPart (as the s3-tests
        // suite, run against AWS, and other servers matching AWS observe).
        ObjectError::InvalidPartNumber => (C::InvalidPart, "The requested partnumber is not satisfiable".into()),
        ObjectError::NoParts => (C::MalformedXML, "The XML you provided was not well-formed or did not validate against our published schema".into()),
        ObjectError::InvalidRange { .. } => (C::InvalidRange, "The requested range is not satisfiable".into()),
        ObjectError::PreconditionFailed => (C::PreconditionFailed, "At least one of the pre-conditions you specified did not hold".into()),
        ObjectError::NotModified => (C::NotModified, "Not Modified".into()),
        ObjectError::BadDigest => (C::BadDigest, "The Content-MD5 you specified did not match what we received.".into()),
        ObjectError::InvalidDigest => (C::InvalidDigest, "The Content-MD5 you specified is not valid.".into()),
        ObjectError::ChecksumMismatch { algorithm } => {
            (C::BadDigest, format!("The {algorithm} you specified did not match the calculated checksum."))
        }
        // A value that is not even a digest cannot match the body.
        ObjectError::InvalidChecksum(m) => (C::BadDigest, m.clone()),
        ObjectError::InvalidTag(m) => (C::InvalidTag, m.clone()),
        ObjectError::NoSuchTagSet => (C::NoSuchTagSet, "The TagSet does not exist".into()),
        ObjectError::NoSuchCorsConfiguration => {
            (C::NoSuchCORSConfiguration, "The CORS configuration does not exist".into())
        }
        ObjectError::NoSuchLifecycleConfiguration => {
            (C::NoSuchLifecycleConfiguration, "The lifecycle configuration does not exist".into())
        }
        ObjectError::InvalidStorageClass(m) => (C::InvalidStorageClass, m.clone()),
        ObjectError::MalformedPolicy(m) => (C::MalformedPolicy, m.clone()),
        ObjectError::NoSuchBucketPolicy => (C::NoSuchBucketPolicy, "The bucket policy does not exist".into()),
        ObjectError::NoSuchPublicAccessBlockConfiguration => {
            let mut err = S3Error::with_message(
                C::Custom("NoSuchPublicAccessBlockConfiguration".into()),
                "The public access block configuration was not found",
            );
            err.set_status_code(http::StatusCode::NOT_FOUND);
            return err;
        }
        ObjectError::NoSuchEncryptionConfiguration => {
            let mut err = S3Error::with_message(
                C::ServerSideEncryptionConfigurationNotFoundError,
                "The server side encryption configuration was not found",
            );
            err.set_status_code(http::StatusCode::NOT_FOUND);
            return err;
        }
        ObjectError::KmsKeyNotFound(id) => {
            let mut err = S3Error::with_message(
                C::Custom("KMS.NotFoundException".into()),
                if id.is_empty() {
                    "No KMS key id was given and no default KMS key is configured".to_string()
                } else {
                    format!("Invalid keyId {id}")
                },
            );
            err.set_status_code(http::StatusCode::BAD_REQUEST);
            return err;
        }
        // s3-tests expect 400 for a wrong SSE-C key (as RGW and MinIO answer).
        ObjectError::SseCustomerKeyMismatch => (
            C::InvalidRequest,
            "The provided encryption key does not match the key the object was encrypted with.".into(),
        ),
        ObjectError::SealedKeyUnreadable => (
            C::InternalError,
            "The object's encryption key cannot be unsealed with the configured master key.".into(),
        ),
        ObjectError::MalformedXml(m) => (C::MalformedXML, format!("The XML you provided was not well-formed or did not validate against our published schema: {m}")),
        ObjectError::InvalidArgument(m) => (C::InvalidArgument, m.clone()),
        ObjectError::InvalidRequest(m) => (C::InvalidRequest, m.clone()),
        ObjectError::IncompleteBody | ObjectError::Body(_) => {
            (C::IncompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header.".into())
        }
        ObjectError::AccessDenied => (C::AccessDenied, "Access Denied".into()),
        // S3 refuses a locked version's removal or retention change as 403 AccessDenied.
        ObjectError::ObjectLocked(_) => {
            (C::AccessDenied, "Access Denied because object protected by object lock.".into())
        }
        ObjectError::ObjectLockNotEnabled => {
            (C::InvalidRequest, "Bucket is missing Object Lock Configuration".into())
        }
        ObjectError::ObjectLockConfigurationNotFound => (
            C::ObjectLockConfigurationNotFoundError,
            "Object Lock configuration does not exist for this bucket".into(),
        ),
        ObjectError::NoSuchObjectLockConfiguration => (
            C::NoSuchObjectLockConfiguration,
            "The specified object does not have a ObjectLock configuration".into(),
        ),
        ObjectError::InvalidBucketState(m) => (C::InvalidBucketState, (*m).into()),
        ObjectError::InvalidRetentionPeriod => {
            let mut err = S3Error::with_message(
                C::Custom("InvalidRetentionPeriod".into()),
                "Default retention period must be a positive integer value",
            );
            err.set_status_code(http::StatusCode::BAD_REQUEST);
            return err;
        }
        ObjectError::AclNotSupported => (C::AccessControlListNotSupported, "The bucket does not allow ACLs".into()),
        ObjectError::InvalidBucketAclWithObjectOwnership => (
            C::InvalidBucketAclWithObjectOwnership,
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting".into(),
        ),
        ObjectError::OwnershipControlsNotFound => {
            (C::OwnershipControlsNotFoundError, "The bucket ownership controls were not found".into())
        }
        // A transaction lost to concurrent writers every time (or a lone read lost a
        // serialization conflict): nothing applied; retry later.
        ObjectError::Contended | ObjectError::Meta(rustfs_object::MetaError::TxnConflict) => {
            (C::SlowDown, "Please reduce your request rate.".into())
        }
        // S3 has no answer for a full disk; MinIO's (code, status and text) is what S3 clients
        // that talk to self-hosted storage know. 507 is not in any SDK's retry list, so
        // clients stop at once instead of retrying a write that cannot succeed.
        ObjectError::NoSpace(detail) => {
            tracing::warn!(error = %detail, "write refused: no space");
            let mut err = S3Error::with_message(
                C::Custom("XMinioStorageFull".into()),
                "Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.",
            );
            err.set_status_code(http::StatusCode::INSUFFICIENT_STORAGE);
            return err;
        }
        // The commit may have applied (the database connection broke during it): the client
        // retries; a retried PUT or DELETE is idempotent, and a later read tells. 503, not
        // 500: the database being briefly away is the usual cause, and S3 clients retry 503
        // ServiceUnavailable with backoff.
        ObjectError::CommitUnknown(_) => {
            tracing::warn!(error = %e, "metadata commit outcome unknown");
            (C::ServiceUnavailable, "The metadata commit could not be confirmed. Please try again.".into())
        }
        ObjectError::Meta(rustfs_object::MetaError::Unavailable(_)) => {
            tracing::warn!(error = %e, "request refused: metadata database unavailable");
            (C::ServiceUnavailable, "The metadata database is unavailable. Please try again.".into())
        }
        e if e.is_unavailable() => {
            tracing::warn!(error = %e, "request refused: not enough volumes online");
            (C::ServiceUnavailable, "Not enough volumes are online to serve this request with the configured redundancy. Please try again.".into())
        }
        ObjectError::Meta(_) | ObjectError::Data(_) | ObjectError::Task(_) => {
            tracing::error!(error = %e, "internal error");
            (C::InternalError, "We encountered an internal error. Please try again.".into())
        }
    };
    S3Error::with_message(code, msg)
}

/// A bucket's stored policy does not parse (it was validated when set): the access checks
/// cannot tell what it denies, so they refuse (500), never allow.
pub fn unreadable_policy(bucket: &str) -> S3Error {
    tracing::error!(
        bucket,
        "the bucket's stored policy cannot be parsed; refusing access"
    );
    S3Error::with_message(
        S3ErrorCode::InternalError,
        "We encountered an internal error. Please try again.",
    )
}

/// An error answered before s3s sees the request, as S3's XML error document.
pub fn response(err: &S3Error) -> http::Response<s3s::Body> {
    response_with(err, &[])
}

/// [`response`] with more elements after `<Message>`, such as the `<Region>` S3 names when a
/// request was signed for another region.
pub fn response_with(err: &S3Error, extra: &[(&str, &str)]) -> http::Response<s3s::Body> {
    fn escape(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    let extra: String = extra
        .iter()
        .map(|(name, value)| format!("<{name}>{}</{name}>", escape(value)))
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>{}</Message>{extra}</Error>",
        escape(err.code().as_str()),
        escape(err.message().unwrap_or_default()),
    );
    let mut resp = http::Response::new(s3s::Body::from(body));
    *resp.status_mut() = err
        .status_code()
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    resp
}

/// A scrape of the metrics refused (no token, or a bad one): `403 AccessDenied`, as MinIO
/// answers it.
pub fn scrape_refused(e: &crate::metrics::token::TokenError) -> http::Response<s3s::Body> {
    tracing::debug!(error = %e, "metrics scrape refused");
    response(&S3Error::with_message(
        S3ErrorCode::AccessDenied,
        "Access Denied.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_s3() {
        let status = |e| to_s3(e).status_code().map(|s| s.as_u16());
        assert_eq!(status(ObjectError::NoSuchKey), Some(404));
        assert_eq!(status(ObjectError::NoSuchBucket), Some(404));
        assert_eq!(status(ObjectError::BucketNotEmpty), Some(409));
        assert_eq!(status(ObjectError::BucketAlreadyOwnedByYou), Some(409));
        assert_eq!(status(ObjectError::PreconditionFailed), Some(412));
        assert_eq!(status(ObjectError::NotModified), Some(304));
        assert_eq!(status(ObjectError::InvalidRange { size: 1 }), Some(416));
        assert_eq!(status(ObjectError::BadDigest), Some(400));
        assert_eq!(status(ObjectError::KeyTooLong), Some(400));
        assert_eq!(status(ObjectError::EntityTooLarge), Some(400));
        assert_eq!(status(ObjectError::Contended), Some(503));
        // The metadata database away, or a commit whose outcome is unknown: retryable 503s,
        // never a 500.
        use rustfs_object::MetaError;
        let unavailable = to_s3(ObjectError::Meta(MetaError::Unavailable("down".into())));
        assert_eq!(unavailable.status_code().map(|s| s.as_u16()), Some(503));
        assert_eq!(unavailable.code().as_str(), "ServiceUnavailable");
        let unknown = to_s3(ObjectError::CommitUnknown(MetaError::Closed));
        assert_eq!(unknown.status_code().map(|s| s.as_u16()), Some(503));
        assert_eq!(unknown.code().as_str(), "ServiceUnavailable");
        let conflict = to_s3(ObjectError::Meta(MetaError::TxnConflict));
        assert_eq!(conflict.code().as_str(), "SlowDown");
        assert_eq!(
            status(ObjectError::Meta(MetaError::Storage("x".into()))),
            Some(500)
        );
        assert_eq!(status(ObjectError::AccessDenied), Some(403));
        assert_eq!(status(ObjectError::AclNotSupported), Some(400));
        assert_eq!(status(ObjectError::OwnershipControlsNotFound), Some(404));
        assert_eq!(status(ObjectError::Task("x".into())), Some(500));
        let quorum = rustfs_object::DataError::Quorum {
            needed: 3,
            available: 2,
        };
        assert_eq!(status(ObjectError::Data(quorum)), Some(503));
        let full = ObjectError::from(rustfs_object::DataError::NoSpace("/vol".into()));
        assert!(matches!(full, ObjectError::NoSpace(_)), "{full:?}");
        let full = to_s3(full);
        assert_eq!(full.status_code().map(|s| s.as_u16()), Some(507));
        assert_eq!(full.code().as_str(), "XMinioStorageFull");
        assert!(full.message().unwrap_or_default().contains("delete"));
        assert_eq!(status(ObjectError::InvalidTag("x".into())), Some(400));
        assert_eq!(status(ObjectError::NoSuchTagSet), Some(404));
        assert_eq!(status(ObjectError::NoSuchLifecycleConfiguration), Some(404));
        assert_eq!(
            status(ObjectError::InvalidStorageClass("x".into())),
            Some(400)
        );
        assert_eq!(status(ObjectError::NoSuchCorsConfiguration), Some(404));
        assert_eq!(status(ObjectError::MalformedPolicy("x".into())), Some(400));
        assert_eq!(status(ObjectError::NoSuchBucketPolicy), Some(404));
        assert_eq!(
            status(ObjectError::NoSuchPublicAccessBlockConfiguration),
            Some(404)
        );
        assert_eq!(status(ObjectError::NoSuchVersion), Some(404));
        assert_eq!(status(ObjectError::InvalidVersionId), Some(400));
        let marker = |addressed| {
            to_s3(ObjectError::DeleteMarker {
                version_id: "null".into(),
                addressed,
                last_modified_ms: 0,
            })
        };
        assert_eq!(marker(false).status_code().map(|s| s.as_u16()), Some(404));
        let addressed = marker(true);
        assert_eq!(addressed.status_code().map(|s| s.as_u16()), Some(405));
        let h = addressed.headers().expect("marker headers");
        assert_eq!(h.get("x-amz-delete-marker").unwrap(), "true");
        assert_eq!(h.get("x-amz-version-id").unwrap(), "null");
    }
}
