//! The admin API's refusals ([`AdminError`]) and their MinIO codes and statuses, including
//! the one mapping of the IAM layer's errors to them. MinIO's clients read the JSON error
//! `{"Code","Message","Resource","RequestId","HostId"}` (see `crate::admin`).

use http::StatusCode;
use rustfs_iam::IamError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Iam(#[from] IamError),
    /// A query parameter or body field missing or wrong.
    #[error("{0}")]
    InvalidArgument(String),
    /// A body that is not the JSON the call expects.
    #[error("{0}")]
    MalformedJson(String),
    /// An encrypted body that does not open with the caller's secret key.
    #[error("the request body does not decrypt with the caller's secret key: {0}")]
    BadEncryption(String),
    #[error("{0}")]
    MalformedPolicy(String),
    #[error("{0}")]
    AccessDenied(String),
    /// The body is larger than MinIO allows for admin bodies.
    #[error("the request body is too large")]
    TooLarge,
    #[error("{0}")]
    Internal(String),
}

/// The status, MinIO code and message of a refusal.
pub fn admin(e: &AdminError) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    let msg = e.to_string();
    match e {
        AdminError::Iam(IamError::NoSuchEntity { kind, .. }) => match *kind {
            "user" => (
                S::NOT_FOUND,
                "XMinioAdminNoSuchUser",
                "The specified user does not exist".into(),
            ),
            "group" => (
                S::NOT_FOUND,
                "XMinioAdminNoSuchGroup",
                "The specified group does not exist".into(),
            ),
            "policy" => (
                S::NOT_FOUND,
                "XMinioAdminNoSuchPolicy",
                "The canned policy does not exist".into(),
            ),
            "service account" => (
                S::NOT_FOUND,
                "XMinioAdminServiceAccountNotFound",
                "The specified service account is not found".into(),
            ),
            _ => (S::NOT_FOUND, "XMinioAdminNoSuchUser", msg),
        },
        AdminError::Iam(IamError::EntityExists { .. }) => {
            (S::CONFLICT, "XMinioAdminResourceInvalidArgument", msg)
        }
        AdminError::Iam(IamError::DeleteConflict(_)) => {
            (S::BAD_REQUEST, "XMinioAdminPolicyInUse", msg)
        }
        AdminError::Iam(IamError::Invalid { .. }) | AdminError::InvalidArgument(_) => {
            (S::BAD_REQUEST, "XMinioAdminResourceInvalidArgument", msg)
        }
        AdminError::Iam(IamError::Contended(_)) => (S::SERVICE_UNAVAILABLE, "SlowDown", msg),
        AdminError::Iam(_) | AdminError::Internal(_) => {
            (S::INTERNAL_SERVER_ERROR, "InternalError", msg)
        }
        AdminError::MalformedJson(_) => (S::BAD_REQUEST, "XMinioMalformedJSON", msg),
        AdminError::BadEncryption(_) => (S::BAD_REQUEST, "XMinioAdminConfigBadJSON", msg),
        AdminError::MalformedPolicy(_) => (S::BAD_REQUEST, "XMinioMalformedPolicy", msg),
        AdminError::AccessDenied(_) => (S::FORBIDDEN, "AccessDenied", msg),
        AdminError::TooLarge => (
            S::PAYLOAD_TOO_LARGE,
            "XMinioAdminResourceInvalidArgument",
            msg,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_errors_answer_with_minio_codes() {
        let no = |kind| {
            AdminError::Iam(IamError::NoSuchEntity {
                kind,
                name: "x".into(),
            })
        };
        assert_eq!(admin(&no("user")).1, "XMinioAdminNoSuchUser");
        assert_eq!(admin(&no("group")).0, StatusCode::NOT_FOUND);
        assert_eq!(admin(&no("policy")).1, "XMinioAdminNoSuchPolicy");
        let conflict = AdminError::Iam(IamError::DeleteConflict("attached".into()));
        assert_eq!(admin(&conflict).0, StatusCode::BAD_REQUEST);
        assert_eq!(
            admin(&AdminError::MalformedJson("x".into())).1,
            "XMinioMalformedJSON"
        );
    }
}
