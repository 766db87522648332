//! Why the edge answers a request itself, before s3s or instead of s3s' answer. Each variant is
//! turned into its S3 code, status and message in one place: `crate::errors::request`.

use rustfs_object::ObjectError;

/// A request the edge refuses (or an s3s answer it replaces), by cause.
#[derive(Debug)]
pub enum RequestError {
    /// The path percent-decodes to a C1 control character or to bytes that are not UTF-8.
    UnparseablePath,
    /// A presigned URL with a negative `X-Amz-Expires` (it has expired).
    PresignedExpired,
    /// An empty `Content-MD5` header.
    EmptyContentMd5,
    /// An upload sent without a length whose body is larger than the edge reads to learn it.
    UnsizedBodyTooLarge { limit: usize },
    /// A body the edge reads whole (an unsized upload, a form) could not be read.
    BodyUnreadable(String),
    /// A SigV2 request without a valid `Date`/`x-amz-date` (or one before 1970).
    V2DateInvalid,
    /// A SigV2 request whose time is too far from the server's clock.
    RequestTimeTooSkewed,
    /// A SigV4 credential scope naming another region than the server's.
    WrongRegion {
        /// Signed in the query (a presigned URL) rather than the `Authorization` header.
        presigned: bool,
        got: String,
        expected: String,
    },
    /// The server holds as many buffered request bodies as it may (`edge::buffered_body`).
    BuffersFull,
    /// An XML (or JSON) request body over `limit` bytes.
    XmlBodyTooLarge { limit: usize },
    /// The client stopped sending the body before its end.
    BodyCutShort,
    /// A browser form that is not well-formed `multipart/form-data`.
    MalformedForm(String),
    /// A browser form larger than the edge reads.
    FormTooLarge,
    /// A form with a policy but without a signature field.
    FormSignatureMissing,
    /// A form policy whose `expiration` is not an ISO 8601 UTC time (the JSON value).
    PolicyExpirationInvalid(String),
    /// A form field breaks a policy condition (or the `bucket` field names another bucket
    /// than the URL): what failed, in s3s' words.
    PolicyConditionFailed(String),
    /// A CORS preflight without `Origin`.
    PreflightWithoutOrigin,
    /// A CORS preflight without a valid `Access-Control-Request-Method`.
    PreflightMethodInvalid,
    /// A CORS preflight that names no bucket.
    PreflightWithoutBucket,
    /// A CORS preflight for a bucket without CORS rules.
    CorsNotEnabled,
    /// A CORS preflight no rule of the bucket allows.
    CorsNotAllowed,
    /// The bucket's CORS rules could not be read for a preflight.
    Object(ObjectError),
}
