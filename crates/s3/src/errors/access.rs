//! The access checks' refusals ([`AccessError`]) as S3 errors.

use s3s::{S3Error, S3ErrorCode};

use crate::access::AccessError;
use crate::identity::sts::TokenError;

/// An access check's refusal, or its failure to decide (which refuses too).
pub fn access(e: AccessError) -> S3Error {
    use AccessError as E;
    let denied = |msg: &str| S3Error::with_message(S3ErrorCode::AccessDenied, msg.to_string());
    match e {
        E::Denied => denied("Access Denied"),
        E::PresignedTooLong => {
            denied("X-Amz-Expires must be less than a week (in seconds) that is 604800")
        }
        E::NotRoot => denied("The admin API needs the root credentials"),
        E::Unsigned => denied("Signature is required"),
        E::KeyGone | E::Token(TokenError::Missing) => S3Error::with_message(
            S3ErrorCode::InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
        E::Token(TokenError::Invalid) => S3Error::with_message(
            S3ErrorCode::InvalidToken,
            "The provided token is malformed or otherwise invalid.",
        ),
        E::Token(TokenError::Expired) => {
            S3Error::with_message(S3ErrorCode::ExpiredToken, "The provided token has expired.")
        }
        E::UnreadablePolicy(bucket) => super::unreadable_policy(&bucket),
        E::Unclassified(_) => {
            tracing::error!(error = %e, "request refused: operation not classified");
            S3Error::with_message(
                S3ErrorCode::InternalError,
                "We encountered an internal error. Please try again.",
            )
        }
        E::Store(e) => super::to_s3(e),
    }
}

#[cfg(test)]
mod tests {
    use rustfs_object::ObjectError;

    use super::*;

    #[test]
    fn access_refusals_follow_s3() {
        use AccessError as E;
        let answer = |e| {
            let e = access(e);
            let status = e.status_code().map(|s| s.as_u16());
            (status, e.code().as_str().to_string())
        };
        let denied = (Some(403), "AccessDenied".to_string());
        for e in [E::Denied, E::PresignedTooLong, E::NotRoot, E::Unsigned] {
            assert_eq!(answer(e), denied);
        }
        let internal = (Some(500), "InternalError".to_string());
        assert_eq!(answer(E::UnreadablePolicy("b".into())), internal);
        let unclassified = E::Unclassified(crate::operation::Unclassified("GetObject".into()));
        assert_eq!(answer(unclassified), internal);
        let forbidden = (Some(403), "InvalidAccessKeyId".to_string());
        assert_eq!(answer(E::KeyGone), forbidden);
        assert_eq!(answer(E::Token(TokenError::Missing)), forbidden);
        let invalid = (Some(400), "InvalidToken".to_string());
        assert_eq!(answer(E::Token(TokenError::Invalid)), invalid);
        let expired = (Some(400), "ExpiredToken".to_string());
        assert_eq!(answer(E::Token(TokenError::Expired)), expired);
        let store = E::Store(ObjectError::InvalidVersionId);
        assert_eq!(answer(store), (Some(400), "InvalidArgument".to_string()));
    }
}
