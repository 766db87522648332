//! The S3 API layer's refusals ([`ApiError`]) as S3 errors.

use http::StatusCode;
use s3s::{S3Error, S3ErrorCode as C};

use crate::api_error::ApiError;

/// The XML document of a request does not match S3's schema.
const MALFORMED_XML: &str =
    "The XML you provided was not well-formed or did not validate against our published schema";

/// The S3 error a client sees for an API-layer refusal.
pub fn api(e: ApiError) -> S3Error {
    use ApiError as E;
    let (code, msg): (C, String) = match e {
        E::PartNumberInvalid => (
            C::InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive".into(),
        ),
        E::PartNumberMissing => (C::InvalidArgument, "Part number is required".into()),
        E::CompletedPartNumberInvalid => {
            (C::InvalidPart, "A part number is missing or invalid".into())
        }
        E::CopyFromAccessPoint => (
            C::NotImplemented,
            "Copying from an access point is not supported".into(),
        ),
        E::TooManyKeysToDelete => (
            C::MalformedXML,
            "The request may not contain more than 1000 keys.".into(),
        ),
        E::UnknownMetadataDirective => (C::InvalidArgument, "Unknown metadata directive.".into()),
        E::UnknownTaggingDirective => (C::InvalidArgument, "Unknown tagging directive.".into()),
        E::FormSignatureMissing => (
            C::InvalidArgument,
            "Bucket POST must contain a field named 'Signature'.".into(),
        ),
        E::FormWrongRegion { got, expected } => (
            C::AuthorizationHeaderMalformed,
            format!(
                "The authorization header is malformed; the region '{got}' is wrong; expecting '{expected}'"
            ),
        ),
        E::FormAclInvalid => (C::InvalidArgument, "invalid acl field".into()),
        E::FormTaggingMalformed => (
            C::MalformedXML,
            "The tagging field is not a well-formed Tagging document".into(),
        ),
        E::FormChecksumFieldUnknown(name) => {
            (C::InvalidArgument, format!("unknown checksum field {name}"))
        }
        E::MaxBucketsOutOfRange => (
            C::InvalidArgument,
            "max-buckets must be between 1 and 10000".into(),
        ),
        E::MfaDeleteUnsupported => (
            C::InvalidRequest,
            "MFA delete cannot be enabled: this server has no MFA devices".into(),
        ),
        E::VersioningStatusMalformed => (C::MalformedXML, MALFORMED_XML.into()),
        E::MalformedLockConfiguration | E::MalformedRetention | E::MalformedLegalHold => {
            (C::MalformedXML, MALFORMED_XML.into())
        }
        E::UnknownLockMode => (C::InvalidArgument, "Unknown wormMode directive.".into()),
        E::LockModeAndDateTogether => (
            C::InvalidArgument,
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
                .into(),
        ),
        E::RetainUntilInPast => (
            C::InvalidArgument,
            "The retain until date must be in the future!".into(),
        ),
        E::InvalidLegalHoldHeader => (
            C::InvalidArgument,
            "Legal Hold must be either of 'ON' or 'OFF'".into(),
        ),
        E::LockNeedsDigest => (
            C::InvalidRequest,
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters".into(),
        ),
        E::ObjectOwnershipInvalid(v) => {
            (C::InvalidArgument, format!("invalid ObjectOwnership {v:?}"))
        }
        E::OwnershipRulesMalformed => (
            C::MalformedXML,
            "OwnershipControls must hold exactly one rule".into(),
        ),
        E::AclMissing => (
            C::MissingSecurityHeader,
            "Your request was missing a required header or body: an ACL".into(),
        ),
        E::EncodingTypeInvalid => (
            C::InvalidArgument,
            "Invalid Encoding Method specified in Request".into(),
        ),
        E::ContinuationTokenInvalid => (
            C::InvalidArgument,
            "The continuation token provided is incorrect".into(),
        ),
        E::VersionMarkerWithoutKeyMarker => (
            C::InvalidArgument,
            "A version-id marker cannot be specified without a key marker.".into(),
        ),
        E::ChecksumAlgorithmUnsupported(a) => (
            C::InvalidRequest,
            format!("Unsupported checksum algorithm {a}"),
        ),
        E::ChecksumTypeUnsupported(t) => {
            (C::InvalidRequest, format!("Unsupported checksum type {t}"))
        }
        E::MultipleChecksums => (
            C::InvalidRequest,
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
                .into(),
        ),
        E::SdkChecksumAlgorithmMismatch => (
            C::InvalidRequest,
            "x-amz-sdk-checksum-algorithm does not match the checksum header".into(),
        ),
        E::TrailerChecksumUnsupported(name) => (
            C::InvalidRequest,
            format!("Unsupported trailer checksum x-amz-checksum-{name}"),
        ),
        E::CopySourceRangeInvalid => (
            C::InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy".into(),
        ),
        E::NegativeCount(name) => (
            C::InvalidArgument,
            format!("{name} must be a non-negative integer"),
        ),
        E::AclArgument(why) => (C::InvalidArgument, why),
        E::CannedAclWithGrants => (
            C::InvalidRequest,
            "Specifying both Canned ACLs and Header Grants is not allowed".into(),
        ),
        E::GrantEmailUnresolvable => (
            C::UnresolvableGrantByEmailAddress,
            "The e-mail address you provided does not match any account on record.".into(),
        ),
        E::AclMalformed => (C::MalformedACLError, MALFORMED_XML.into()),
        E::AclOwnerChange => (
            C::AccessDenied,
            "The owner of an ACL cannot be changed".into(),
        ),
        E::SseCustomerKeyWithoutTls => (
            C::InvalidRequest,
            "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.".into(),
        ),
        E::SseAlgorithmUnsupported => (
            C::InvalidArgument,
            "The encryption method specified is not supported".into(),
        ),
        E::SseInvalid(m) => (C::InvalidArgument, m.clone()),
        E::SseNotImplemented => (
            C::NotImplemented,
            "A header you provided implies functionality that is not implemented: server-side encryption is not supported by this server.".into(),
        ),
        E::MetadataTooLarge { size, max } => (
            C::MetadataTooLarge,
            format!(
                "Your metadata headers exceed the maximum allowed metadata size: {size} bytes of user metadata, at most {max}."
            ),
        ),
        E::UnknownAccessKey => (
            C::InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records.".into(),
        ),
        E::DisabledAccessKey => (
            C::InvalidAccessKeyId,
            "The access key you provided is disabled.".into(),
        ),
        E::ExpiredKey => (
            C::ExpiredToken,
            "The provided token has expired.".into(),
        ),
        E::RouteLost => (C::InternalError, "custom route lost its match".into()),
        E::AdminHealIdInvalid => (C::InvalidArgument, "id must be a number".into()),
        E::AdminReply(why) => (C::InternalError, why),
        E::PayloadSha256Mismatch => {
            let mut err = S3Error::with_message(
                C::Custom("XAmzContentSHA256Mismatch".into()),
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            );
            err.set_status_code(StatusCode::BAD_REQUEST);
            return err;
        }
        E::ChunkSignatureMismatch => (
            C::SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided."
                .into(),
        ),
        E::ChunkedBodyMalformed(why) => {
            (C::InvalidRequest, format!("Malformed aws-chunked body: {why}"))
        }
        E::BodyReadFailed(why) => (
            C::IncompleteBody,
            format!("Reading the request body failed: {why}"),
        ),
    };
    S3Error::with_message(code, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(e: ApiError) -> (String, u16) {
        let err = api(e);
        (
            err.code().as_str().to_owned(),
            err.status_code().map_or(0, |s| s.as_u16()),
        )
    }

    #[test]
    fn refusals_follow_s3() {
        use ApiError as E;
        let a = |e, code: &str, status| assert_eq!(answer(e), (code.to_owned(), status));
        a(E::PartNumberInvalid, "InvalidArgument", 400);
        a(E::CompletedPartNumberInvalid, "InvalidPart", 400);
        a(E::CopyFromAccessPoint, "NotImplemented", 501);
        a(E::TooManyKeysToDelete, "MalformedXML", 400);
        a(
            E::FormWrongRegion {
                got: "a".into(),
                expected: "b".into(),
            },
            "AuthorizationHeaderMalformed",
            400,
        );
        a(E::AclMissing, "MissingSecurityHeader", 400);
        a(
            E::ChecksumAlgorithmUnsupported("x".into()),
            "InvalidRequest",
            400,
        );
        a(
            E::GrantEmailUnresolvable,
            "UnresolvableGrantByEmailAddress",
            400,
        );
        a(E::AclMalformed, "MalformedACLError", 400);
        a(E::AclOwnerChange, "AccessDenied", 403);
        a(E::SseNotImplemented, "NotImplemented", 501);
        a(
            E::MetadataTooLarge { size: 3, max: 2 },
            "MetadataTooLarge",
            400,
        );
        a(E::UnknownAccessKey, "InvalidAccessKeyId", 403);
        a(E::DisabledAccessKey, "InvalidAccessKeyId", 403);
        a(E::ExpiredKey, "ExpiredToken", 400);
        a(E::RouteLost, "InternalError", 500);
        a(E::PayloadSha256Mismatch, "XAmzContentSHA256Mismatch", 400);
        a(E::ChunkSignatureMismatch, "SignatureDoesNotMatch", 403);
        a(E::BodyReadFailed("x".into()), "IncompleteBody", 400);
    }
}
