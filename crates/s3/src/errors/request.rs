//! The edge's refusals ([`RequestError`]) as S3 errors.

use http::StatusCode;
use s3s::{S3Error, S3ErrorCode as C};

use crate::edge::RequestError;

/// An S3 error whose code s3s does not list, with its status.
fn custom(code: &str, status: StatusCode, message: &str) -> S3Error {
    let mut err = S3Error::with_message(C::Custom(code.to_owned().into()), message.to_owned());
    err.set_status_code(status);
    err
}

/// The S3 error a client sees for an edge refusal.
pub fn request(e: RequestError) -> S3Error {
    let (code, msg): (C, String) = match e {
        RequestError::UnparseablePath => {
            (C::InvalidURI, "Couldn't parse the specified URI.".into())
        }
        RequestError::PresignedExpired => (C::AccessDenied, "Request has expired".into()),
        RequestError::EmptyContentMd5 => (
            C::InvalidDigest,
            "The Content-MD5 you specified is not valid.".into(),
        ),
        RequestError::UnsizedBodyTooLarge { limit } => (
            C::MissingContentLength,
            format!(
                "a body over {} MiB needs a Content-Length header",
                limit >> 20
            ),
        ),
        RequestError::BodyUnreadable(detail) => (
            C::IncompleteBody,
            format!("the request body could not be read: {detail}"),
        ),
        RequestError::V2DateInvalid => (
            C::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header".into(),
        ),
        RequestError::RequestTimeTooSkewed => (
            C::RequestTimeTooSkewed,
            "The difference between the request time and the current time is too large.".into(),
        ),
        RequestError::WrongRegion {
            presigned,
            got,
            expected,
        } => {
            let (code, what) = if presigned {
                (
                    C::AuthorizationQueryParametersError,
                    "Error parsing the X-Amz-Credential parameter",
                )
            } else {
                (
                    C::AuthorizationHeaderMalformed,
                    "The authorization header is malformed",
                )
            };
            (
                code,
                format!("{what}; the region '{got}' is wrong; expecting '{expected}'"),
            )
        }
        RequestError::BuffersFull => (C::SlowDown, "Please reduce your request rate.".into()),
        RequestError::XmlBodyTooLarge { limit } => (
            C::MaxMessageLengthExceeded,
            format!("Your request was too big: request bodies here may be at most {limit} bytes."),
        ),
        RequestError::BodyCutShort => (
            C::IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
                .into(),
        ),
        RequestError::MalformedForm(why) => (
            C::MalformedPOSTRequest,
            format!("The body of your POST request is not well-formed multipart/form-data: {why}"),
        ),
        RequestError::FormTooLarge => (
            C::EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed size".into(),
        ),
        RequestError::FormSignatureMissing => (
            C::InvalidArgument,
            "Bucket POST must contain a field named 'Signature'.".into(),
        ),
        RequestError::PolicyExpirationInvalid(value) => (
            C::InvalidPolicyDocument,
            format!("Invalid Policy: Invalid 'expiration' value: {value}"),
        ),
        RequestError::PolicyConditionFailed(why) => (
            C::AccessDenied,
            format!("Invalid according to Policy: {why}"),
        ),
        RequestError::PreflightWithoutOrigin => {
            return custom(
                "BadRequest",
                StatusCode::BAD_REQUEST,
                "Insufficient information. Origin request header needed.",
            );
        }
        RequestError::PreflightMethodInvalid => {
            return custom(
                "BadRequest",
                StatusCode::BAD_REQUEST,
                "Invalid Access-Control-Request-Method header.",
            );
        }
        RequestError::PreflightWithoutBucket => {
            return custom(
                "BadRequest",
                StatusCode::BAD_REQUEST,
                "A CORS preflight request must name a bucket.",
            );
        }
        RequestError::CorsNotEnabled => {
            return custom(
                "AccessForbidden",
                StatusCode::FORBIDDEN,
                "CORSResponse: CORS is not enabled for this bucket.",
            );
        }
        RequestError::CorsNotAllowed => {
            return custom(
                "AccessForbidden",
                StatusCode::FORBIDDEN,
                "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
            );
        }
        RequestError::Object(e) => return super::to_s3(e),
    };
    S3Error::with_message(code, msg)
}

/// The edge's answer to a request it refuses: S3's XML error document, with the `<Region>` S3
/// names when a request was signed for another region.
pub fn request_response(e: RequestError) -> http::Response<s3s::Body> {
    let region = match &e {
        RequestError::WrongRegion { expected, .. } => Some(expected.clone()),
        _ => None,
    };
    let err = request(e);
    match region {
        Some(r) => super::response_with(&err, &[("Region", &r)]),
        None => super::response(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(e: RequestError) -> (String, u16) {
        let err = request(e);
        (
            err.code().as_str().to_owned(),
            err.status_code().map_or(0, |s| s.as_u16()),
        )
    }

    #[test]
    fn refusals_follow_s3() {
        let a = |e, code: &str, status| assert_eq!(answer(e), (code.to_owned(), status));
        a(RequestError::UnparseablePath, "InvalidURI", 400);
        a(RequestError::PresignedExpired, "AccessDenied", 403);
        a(RequestError::EmptyContentMd5, "InvalidDigest", 400);
        a(
            RequestError::UnsizedBodyTooLarge { limit: 16 << 20 },
            "MissingContentLength",
            411,
        );
        a(
            RequestError::BodyUnreadable("x".into()),
            "IncompleteBody",
            400,
        );
        a(RequestError::V2DateInvalid, "AccessDenied", 403);
        a(
            RequestError::RequestTimeTooSkewed,
            "RequestTimeTooSkewed",
            403,
        );
        a(RequestError::BuffersFull, "SlowDown", 503);
        a(
            RequestError::XmlBodyTooLarge { limit: 1 },
            "MaxMessageLengthExceeded",
            400,
        );
        a(RequestError::BodyCutShort, "IncompleteBody", 400);
        a(
            RequestError::MalformedForm("x".into()),
            "MalformedPOSTRequest",
            400,
        );
        a(RequestError::FormTooLarge, "EntityTooLarge", 400);
        a(RequestError::FormSignatureMissing, "InvalidArgument", 400);
        a(
            RequestError::PolicyExpirationInvalid("1".into()),
            "InvalidPolicyDocument",
            400,
        );
        a(
            RequestError::PolicyConditionFailed("x".into()),
            "AccessDenied",
            403,
        );
        a(RequestError::PreflightWithoutOrigin, "BadRequest", 400);
        a(RequestError::PreflightMethodInvalid, "BadRequest", 400);
        a(RequestError::PreflightWithoutBucket, "BadRequest", 400);
        a(RequestError::CorsNotEnabled, "AccessForbidden", 403);
        a(RequestError::CorsNotAllowed, "AccessForbidden", 403);
        a(
            RequestError::Object(rustfs_object::ObjectError::NoSuchBucket),
            "NoSuchBucket",
            404,
        );
    }

    #[test]
    fn a_wrong_region_names_the_right_one() {
        let resp = request_response(RequestError::WrongRegion {
            presigned: false,
            got: "eu-west-1".into(),
            expected: "us-east-1".into(),
        });
        assert_eq!(resp.status().as_u16(), 400);
        let body = String::from_utf8(resp.body().bytes().unwrap().to_vec()).unwrap();
        assert!(
            body.contains("<Code>AuthorizationHeaderMalformed</Code>"),
            "{body}"
        );
        assert!(body.contains("<Region>us-east-1</Region>"), "{body}");
    }
}
