//! Server-side encryption requests. RustFS does not encrypt yet, so every request asking for it
//! is refused: a client told its object is encrypted must never hold data stored in clear.
//!
//! - SSE-C (`x-amz-server-side-encryption-customer-*`, and `x-amz-copy-source-…-customer-*`
//!   naming a source's key) over plain HTTP: `400 InvalidRequest`, as AWS answers (the key
//!   travelled in clear). This rule stays when SSE-C is implemented.
//! - SSE-C over HTTPS: `501 NotImplemented` (until SSE-C is implemented).
//! - SSE-S3 / SSE-KMS (`x-amz-server-side-encryption: AES256 | aws:kms | aws:kms:dsse`, the
//!   KMS key id, context and bucket-key headers): `501 NotImplemented`; an unknown algorithm is
//!   `400 InvalidArgument`, as AWS answers.
//!
//! The same rules apply to a browser form's fields (POST Object).

use http::HeaderMap;
use s3s::{S3Request, S3Result};

use crate::access::ClientInfo;
use crate::api_error::ApiError;

const CUSTOMER: [&str; 3] = [
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-server-side-encryption-customer-key-md5",
];
const COPY_SOURCE_CUSTOMER: [&str; 3] = [
    "x-amz-copy-source-server-side-encryption-customer-algorithm",
    "x-amz-copy-source-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key-md5",
];
const MANAGED: &str = "x-amz-server-side-encryption";
const MANAGED_PARAMS: [&str; 3] = [
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-context",
    "x-amz-server-side-encryption-bucket-key-enabled",
];
/// The values `x-amz-server-side-encryption` may take.
const ALGORITHMS: [&str; 3] = ["AES256", "aws:kms", "aws:kms:dsse"];

/// The encryption a request asks for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SseRequest {
    /// A customer-provided key (for the object written or read, or for a copy's source).
    pub customer: bool,
    /// `x-amz-server-side-encryption`'s value.
    pub managed: Option<String>,
    /// A KMS key id, encryption context or bucket-key setting.
    pub managed_params: bool,
}

impl SseRequest {
    /// What a request's headers ask for.
    pub fn from_headers(h: &HeaderMap) -> Self {
        Self {
            customer: CUSTOMER
                .iter()
                .chain(COPY_SOURCE_CUSTOMER.iter())
                .any(|n| h.contains_key(*n)),
            managed: h
                .get(MANAGED)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            managed_params: MANAGED_PARAMS.iter().any(|n| h.contains_key(*n)),
        }
    }

    /// Both asks together (a form's fields and its request's headers).
    pub fn or(self, other: Self) -> Self {
        Self {
            customer: self.customer || other.customer,
            managed: self.managed.or(other.managed),
            managed_params: self.managed_params || other.managed_params,
        }
    }

    /// `Ok` when no encryption is asked for; otherwise the refusal (see the module doc).
    pub fn refuse(&self, secure: bool) -> S3Result<()> {
        if self.customer && !secure {
            return Err(ApiError::SseCustomerKeyWithoutTls.into());
        }
        if let Some(v) = &self.managed
            && !ALGORITHMS.contains(&v.trim())
        {
            return Err(ApiError::SseAlgorithmUnsupported.into());
        }
        if self.customer || self.managed.is_some() || self.managed_params {
            return Err(ApiError::SseNotImplemented.into());
        }
        Ok(())
    }
}

/// Whether the request came over TLS (unknown counts as plain HTTP: fail closed).
pub(crate) fn secure<T>(req: &S3Request<T>) -> bool {
    req.extensions.get::<ClientInfo>().is_some_and(|c| c.secure)
}

/// Refuses a request whose headers ask for server-side encryption.
pub(crate) fn refuse_headers<T>(req: &S3Request<T>) -> S3Result<()> {
    SseRequest::from_headers(&req.headers).refuse(secure(req))
}

/// What a `PutObjectInput` or `PostObjectInput` (same field names) asks for.
macro_rules! sse_of_input {
    ($i:expr) => {{
        let i = &$i;
        $crate::sse::SseRequest {
            customer: i.sse_customer_algorithm.is_some()
                || i.sse_customer_key.is_some()
                || i.sse_customer_key_md5.is_some(),
            managed: i
                .server_side_encryption
                .as_ref()
                .map(|v| v.as_str().to_string()),
            managed_params: i.ssekms_key_id.is_some()
                || i.ssekms_encryption_context.is_some()
                || i.bucket_key_enabled.is_some(),
        }
    }};
}
pub(crate) use sse_of_input;

#[cfg(test)]
mod tests {
    use super::*;

    fn code(h: &[(&str, &str)], secure: bool) -> Option<(String, u16)> {
        let mut map = HeaderMap::new();
        for (k, v) in h {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        SseRequest::from_headers(&map)
            .refuse(secure)
            .err()
            .map(|e| {
                (
                    e.code().as_str().to_string(),
                    e.status_code().unwrap().as_u16(),
                )
            })
    }

    #[test]
    fn plain_requests_pass() {
        assert_eq!(code(&[("content-type", "text/plain")], false), None);
        assert_eq!(code(&[], true), None);
    }

    #[test]
    fn customer_keys_need_tls_then_are_not_implemented() {
        let alg = [("x-amz-server-side-encryption-customer-algorithm", "AES256")];
        let bad_http = Some(("InvalidRequest".to_string(), 400));
        let not_impl = Some(("NotImplemented".to_string(), 501));
        assert_eq!(code(&alg, false), bad_http);
        assert_eq!(code(&alg, true), not_impl);
        let md5 = [("x-amz-server-side-encryption-customer-key-MD5", "x")];
        assert_eq!(code(&md5, false), bad_http);
        let src = [("x-amz-copy-source-server-side-encryption-customer-key", "x")];
        assert_eq!(code(&src, false), bad_http);
        assert_eq!(code(&src, true), not_impl);
    }

    #[test]
    fn managed_encryption_is_not_implemented() {
        let not_impl = Some(("NotImplemented".to_string(), 501));
        for v in ALGORITHMS {
            assert_eq!(
                code(&[("x-amz-server-side-encryption", v)], false),
                not_impl
            );
        }
        assert_eq!(
            code(
                &[("x-amz-server-side-encryption-aws-kms-key-id", "k")],
                true
            ),
            not_impl
        );
        assert_eq!(
            code(&[("x-amz-server-side-encryption", "rot13")], true),
            Some(("InvalidArgument".to_string(), 400))
        );
    }
}
