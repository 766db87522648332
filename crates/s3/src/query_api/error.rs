//! Why a query API request (IAM or STS) is refused, and the code and status each answers with,
//! in one place ([`QueryError::answer`]), as AWS's IAM and STS answer them.

use rustfs_iam::IamError;

use crate::identity::sts::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Iam(#[from] IamError),
    #[error("the request is not signed")]
    Unsigned,
    #[error("the security token included in the request is invalid")]
    UnknownKey,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the request's date is too far from the server's time")]
    Skewed,
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("access denied: {0}")]
    Denied(String),
    #[error("missing parameter {0}")]
    Missing(&'static str),
    #[error("invalid value for {0}: {1}")]
    Invalid(&'static str, String),
    #[error("the policy document is malformed: {0}")]
    MalformedPolicy(String),
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("unknown action {0}")]
    UnknownAction(String),
    #[error("the request body is too large or unreadable")]
    Body,
}

impl QueryError {
    /// Whether the caller is at fault, the error code, the HTTP status.
    pub fn answer(&self) -> (bool, &'static str, u16) {
        use QueryError as E;
        match self {
            E::Iam(e) => match e {
                IamError::NoSuchEntity { .. } => (true, "NoSuchEntity", 404),
                IamError::EntityExists { .. } => (true, "EntityAlreadyExists", 409),
                IamError::DeleteConflict(_) => (true, "DeleteConflict", 409),
                IamError::Invalid { .. } => (true, "ValidationError", 400),
                IamError::Contended(_) => (false, "Throttling", 400),
                IamError::Meta(_)
                | IamError::Sealed(_)
                | IamError::Damaged { .. }
                | IamError::Random(_)
                | IamError::Unknown(_) => (false, "ServiceFailure", 500),
            },
            E::Unsigned => (true, "MissingAuthenticationToken", 403),
            E::UnknownKey => (true, "InvalidClientTokenId", 403),
            E::BadSignature => (true, "SignatureDoesNotMatch", 403),
            E::Skewed => (true, "RequestExpired", 400),
            E::Token(TokenError::Missing) => (true, "InvalidClientTokenId", 403),
            E::Token(TokenError::Invalid) => (true, "InvalidClientTokenId", 403),
            E::Token(TokenError::Expired) => (true, "ExpiredToken", 403),
            E::Denied(_) => (true, "AccessDenied", 403),
            E::Missing(_) | E::Invalid(..) => (true, "ValidationError", 400),
            E::MalformedPolicy(_) => (true, "MalformedPolicyDocument", 400),
            E::NoSuchEntity(_) => (true, "NoSuchEntity", 404),
            E::UnknownAction(_) => (true, "InvalidAction", 400),
            E::Body => (true, "InvalidInput", 400),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_answer_as_aws() {
        let a = |e: QueryError| {
            let (_, code, status) = e.answer();
            (code, status)
        };
        let no_such = IamError::NoSuchEntity {
            kind: "user",
            name: "x".into(),
        };
        assert_eq!(a(no_such.into()), ("NoSuchEntity", 404));
        let exists = IamError::EntityExists {
            kind: "user",
            name: "x".into(),
        };
        assert_eq!(a(exists.into()), ("EntityAlreadyExists", 409));
        assert_eq!(
            a(IamError::DeleteConflict("x".into()).into()),
            ("DeleteConflict", 409)
        );
        assert_eq!(
            a(QueryError::MalformedPolicy("x".into())),
            ("MalformedPolicyDocument", 400)
        );
        assert_eq!(a(QueryError::Denied("x".into())), ("AccessDenied", 403));
        assert_eq!(a(TokenError::Expired.into()), ("ExpiredToken", 403));
        assert_eq!(
            a(QueryError::UnknownAction("X".into())),
            ("InvalidAction", 400)
        );
    }
}
