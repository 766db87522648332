//! Server-side encryption requests: what a request's headers (or a browser form's fields) ask
//! for, checked as S3 checks them, and the `x-amz-server-side-encryption*` answers. The
//! encryption itself is the object layer's (`rustfs_object::sse`, docs/encryption.md).
//!
//! - SSE-C (`x-amz-server-side-encryption-customer-*`, and `x-amz-copy-source-…-customer-*`
//!   naming a source's key) over plain HTTP: `400 InvalidRequest`, as AWS answers (the key
//!   travelled in clear), unless `RUSTFS_SSE_C_ALLOW_INSECURE` (test suites only).
//! - SSE-C needs algorithm `AES256`, a base64 32-byte key and its base64 MD5, which must
//!   match: otherwise `400 InvalidArgument`.
//! - `x-amz-server-side-encryption`: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS, with an optional
//!   key id and base64 JSON encryption context); another value is `400 InvalidArgument`;
//!   `aws:kms:dsse` is `501 NotImplemented`. Mixing SSE-C with it, a KMS key id or context
//!   without `aws:kms`: `400 InvalidArgument`.
//! - Reads (GET, HEAD) and parts take only an SSE-C key: the managed headers on them are
//!   `400 InvalidArgument`, as S3 answers.

use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderMap;
use md5::Digest as _;
use rustfs_object::sse::{CustomerKey, SseRequest};
use rustfs_object::{ObjectEncryption, SseMode};
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
const KMS_KEY_ID: &str = "x-amz-server-side-encryption-aws-kms-key-id";
const CONTEXT: &str = "x-amz-server-side-encryption-context";
const BUCKET_KEY: &str = "x-amz-server-side-encryption-bucket-key-enabled";

static ALLOW_INSECURE: AtomicBool = AtomicBool::new(false);

/// Accept SSE-C keys over plain HTTP (`RUSTFS_SSE_C_ALLOW_INSECURE`, for test suites).
pub fn allow_customer_keys_over_http(allow: bool) {
    ALLOW_INSECURE.store(allow, Ordering::Relaxed);
}

fn invalid(msg: &str) -> s3s::S3Error {
    ApiError::SseInvalid(msg.to_string()).into()
}

/// The encryption fields of a request (headers, or a form's fields).
#[derive(Debug, Default, Clone)]
pub(crate) struct SseFields {
    pub managed: Option<String>,
    pub kms_key_id: Option<String>,
    pub context: Option<String>,
    pub bucket_key: bool,
    pub customer: [Option<String>; 3],
    pub copy_source: [Option<String>; 3],
}

fn get(h: &HeaderMap, n: &str) -> Option<String> {
    h.get(n)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
}

impl SseFields {
    pub fn from_headers(h: &HeaderMap) -> Self {
        Self {
            managed: get(h, MANAGED),
            kms_key_id: get(h, KMS_KEY_ID),
            context: get(h, CONTEXT),
            bucket_key: h.contains_key(BUCKET_KEY),
            customer: CUSTOMER.map(|n| get(h, n)),
            copy_source: COPY_SOURCE_CUSTOMER.map(|n| get(h, n)),
        }
    }

    /// Fields given either way (a form's fields and its request's headers).
    pub fn or(self, o: Self) -> Self {
        let [a, b, c] = self.customer;
        let [d, e, f] = o.customer;
        let [g, h, i] = self.copy_source;
        let [j, k, l] = o.copy_source;
        Self {
            managed: self.managed.or(o.managed),
            kms_key_id: self.kms_key_id.or(o.kms_key_id),
            context: self.context.or(o.context),
            bucket_key: self.bucket_key || o.bucket_key,
            customer: [a.or(d), b.or(e), c.or(f)],
            copy_source: [g.or(j), h.or(k), i.or(l)],
        }
    }

    fn has_managed(&self) -> bool {
        self.managed.is_some() || self.kms_key_id.is_some() || self.context.is_some()
    }

    /// What a write (PUT, POST, copy destination, CreateMultipartUpload) asks for.
    pub fn write_request(&self, secure: bool) -> S3Result<Option<SseRequest>> {
        let customer = customer_key(&self.customer, secure)?;
        if let Some(c) = customer {
            if self.has_managed() {
                return Err(invalid(
                    "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
                ));
            }
            return Ok(Some(SseRequest::Customer(c)));
        }
        match self.managed.as_deref() {
            None if self.kms_key_id.is_some() || self.context.is_some() => Err(invalid(
                "Server Side Encryption with KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
            )),
            None => Ok(None),
            Some("AES256") if self.kms_key_id.is_some() || self.context.is_some() => Err(invalid(
                "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
            )),
            Some("AES256") => Ok(Some(SseRequest::S3)),
            Some("aws:kms") => Ok(Some(SseRequest::Kms {
                key_id: self.kms_key_id.clone().filter(|k| !k.is_empty()),
                context: self.context.as_deref().map(parse_context).transpose()?,
            })),
            Some("aws:kms:dsse") => Err(ApiError::SseNotImplemented.into()),
            Some(_) => Err(ApiError::SseAlgorithmUnsupported.into()),
        }
    }

    /// The SSE-C key of a read or a part; the managed headers are refused there.
    pub fn read_key(&self, secure: bool) -> S3Result<Option<CustomerKey>> {
        if self.has_managed() {
            return Err(invalid(
                "x-amz-server-side-encryption header is not supported for this operation.",
            ));
        }
        customer_key(&self.customer, secure)
    }

    /// The SSE-C key of UploadPart / UploadPartCopy. The managed headers are ignored there:
    /// the upload's settings apply (SDKs and s3-tests repeat them on every part, and RGW and
    /// MinIO accept them).
    pub fn part_key(&self, secure: bool) -> S3Result<Option<CustomerKey>> {
        customer_key(&self.customer, secure)
    }

    /// A copy's source key (`x-amz-copy-source-server-side-encryption-customer-*`).
    pub fn copy_source_key(&self, secure: bool) -> S3Result<Option<CustomerKey>> {
        customer_key(&self.copy_source, secure)
    }
}

/// An encryption context: base64 of a JSON object of strings; kept as canonical JSON (keys
/// sorted), which is bound into the sealing.
fn parse_context(b64: &str) -> S3Result<String> {
    let bad = || invalid("The encryption context must be base64-encoded JSON of string pairs.");
    let raw = base64_simd::STANDARD
        .decode_to_vec(b64.trim())
        .map_err(|_| bad())?;
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&raw).map_err(|_| bad())?;
    serde_json::to_string(&map).map_err(|_| bad())
}

/// Algorithm, key and key MD5 checked as S3 checks them.
fn customer_key(f: &[Option<String>; 3], secure: bool) -> S3Result<Option<CustomerKey>> {
    let [alg, key, md5] = f;
    if alg.is_none() && key.is_none() && md5.is_none() {
        return Ok(None);
    }
    if !secure && !ALLOW_INSECURE.load(Ordering::Relaxed) {
        return Err(ApiError::SseCustomerKeyWithoutTls.into());
    }
    match alg.as_deref() {
        Some("AES256") => {}
        Some(_) => {
            return Err(invalid(
                "The requested encryption algorithm is not valid, must be AES256.",
            ));
        }
        None => {
            return Err(invalid(
                "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
            ));
        }
    }
    let key = key
        .as_deref()
        .and_then(|k| base64_simd::STANDARD.decode_to_vec(k).ok())
        .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
        .ok_or_else(|| {
            invalid("The secret key was invalid for the specified algorithm (a base64 32-byte key is required).")
        })?;
    let md5 = md5.as_deref().ok_or_else(|| {
        invalid("Requests specifying Server Side Encryption with Customer provided keys must provide the key's MD5.")
    })?;
    let want = base64_simd::STANDARD.encode_to_string(md5::Md5::digest(key));
    if want != md5 {
        return Err(invalid(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        ));
    }
    Ok(Some(CustomerKey { key, key_md5: want }))
}

/// Whether the request came over TLS (unknown counts as plain HTTP: fail closed).
pub(crate) fn secure<T>(req: &S3Request<T>) -> bool {
    req.extensions.get::<ClientInfo>().is_some_and(|c| c.secure)
}

/// A request's encryption fields from its headers.
pub(crate) fn fields<T>(req: &S3Request<T>) -> SseFields {
    SseFields::from_headers(&req.headers)
}

/// The encryption fields of a `PutObjectInput` or `PostObjectInput` (same field names).
macro_rules! sse_of_input {
    ($i:expr) => {{
        let i = &$i;
        $crate::sse::SseFields {
            managed: i
                .server_side_encryption
                .as_ref()
                .map(|v| v.as_str().to_string()),
            kms_key_id: i.ssekms_key_id.clone(),
            context: i.ssekms_encryption_context.clone(),
            bucket_key: i.bucket_key_enabled.is_some(),
            customer: [
                i.sse_customer_algorithm.clone(),
                i.sse_customer_key.clone(),
                i.sse_customer_key_md5.clone(),
            ],
            copy_source: Default::default(),
        }
    }};
}
pub(crate) use sse_of_input;

/// The `x-amz-server-side-encryption*` answer of an object (or upload).
#[derive(Debug, Default, Clone)]
pub(crate) struct SseAnswer {
    pub algorithm: Option<s3s::dto::ServerSideEncryption>,
    pub kms_key_id: Option<String>,
    /// Base64 of the encryption context.
    pub context: Option<String>,
    pub customer_algorithm: Option<String>,
    pub customer_key_md5: Option<String>,
}

impl SseAnswer {
    pub fn of(enc: Option<&ObjectEncryption>, customer: Option<&CustomerKey>) -> Self {
        let Some(enc) = enc else {
            return Self::default();
        };
        match enc.mode {
            SseMode::Customer => Self {
                customer_algorithm: Some("AES256".into()),
                customer_key_md5: customer.map(|c| c.key_md5.clone()),
                ..Default::default()
            },
            SseMode::S3 => Self {
                algorithm: Some(s3s::dto::ServerSideEncryption::from_static("AES256")),
                ..Default::default()
            },
            SseMode::Kms => Self {
                algorithm: Some(s3s::dto::ServerSideEncryption::from_static("aws:kms")),
                kms_key_id: enc.kms_key_id.clone(),
                context: enc
                    .context
                    .as_deref()
                    .map(|c| base64_simd::STANDARD.encode_to_string(c)),
                ..Default::default()
            },
        }
    }
}

/// Sets an output's `server_side_encryption`, `ssekms_key_id` and SSE-C fields.
macro_rules! set_sse {
    ($out:expr, $a:expr) => {{
        let a: $crate::sse::SseAnswer = $a;
        $out.server_side_encryption = a.algorithm;
        $out.ssekms_key_id = a.kms_key_id;
        $out.sse_customer_algorithm = a.customer_algorithm;
        $out.sse_customer_key_md5 = a.customer_key_md5;
    }};
}
pub(crate) use set_sse;

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=";
    const MD5: &str = "DWygnHRtgiJ77HCm+1rvHw==";

    fn fields(h: &[(&str, &str)]) -> SseFields {
        let mut map = HeaderMap::new();
        for (k, v) in h {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        SseFields::from_headers(&map)
    }

    fn code<T: std::fmt::Debug>(r: S3Result<T>) -> (String, u16) {
        let e = r.unwrap_err();
        (
            e.code().as_str().to_string(),
            e.status_code().unwrap().as_u16(),
        )
    }

    #[test]
    fn plain_requests_ask_for_nothing() {
        assert_eq!(fields(&[]).write_request(false).unwrap(), None);
        assert_eq!(fields(&[]).read_key(false).unwrap(), None);
    }

    #[test]
    fn customer_keys_need_tls_and_a_matching_md5() {
        let good = [
            (CUSTOMER[0], "AES256"),
            (CUSTOMER[1], KEY),
            (CUSTOMER[2], MD5),
        ];
        assert_eq!(
            code(fields(&good).write_request(false)),
            ("InvalidRequest".into(), 400)
        );
        let Some(SseRequest::Customer(k)) = fields(&good).write_request(true).unwrap() else {
            panic!("SSE-C expected")
        };
        assert_eq!(k.key_md5, MD5);
        let bad_md5 = [
            (CUSTOMER[0], "AES256"),
            (CUSTOMER[1], KEY),
            (CUSTOMER[2], "AAAAAAAAAAAAAAAAAAAAAA=="),
        ];
        assert_eq!(
            code(fields(&bad_md5).write_request(true)),
            ("InvalidArgument".into(), 400)
        );
        let no_md5 = [(CUSTOMER[0], "AES256"), (CUSTOMER[1], KEY)];
        assert_eq!(code(fields(&no_md5).write_request(true)).1, 400);
        let no_alg = [(CUSTOMER[1], KEY), (CUSTOMER[2], MD5)];
        assert_eq!(code(fields(&no_alg).write_request(true)).1, 400);
        let with_kms = [
            (CUSTOMER[0], "AES256"),
            (CUSTOMER[1], KEY),
            (CUSTOMER[2], MD5),
            (MANAGED, "aws:kms"),
        ];
        assert_eq!(
            code(fields(&with_kms).write_request(true)),
            ("InvalidArgument".into(), 400)
        );
        let src = [(COPY_SOURCE_CUSTOMER[1], KEY)];
        assert_eq!(
            code(fields(&src).copy_source_key(false)),
            ("InvalidRequest".into(), 400)
        );
    }

    #[test]
    fn managed_encryption_is_parsed_and_checked() {
        assert_eq!(
            fields(&[(MANAGED, "AES256")]).write_request(false).unwrap(),
            Some(SseRequest::S3)
        );
        let ctx = base64_simd::STANDARD.encode_to_string(br#"{"b":"2","a":"1"}"#);
        assert_eq!(
            fields(&[(MANAGED, "aws:kms"), (KMS_KEY_ID, "k1"), (CONTEXT, &ctx)])
                .write_request(false)
                .unwrap(),
            Some(SseRequest::Kms {
                key_id: Some("k1".into()),
                context: Some(r#"{"a":"1","b":"2"}"#.into())
            })
        );
        assert_eq!(
            code(fields(&[(MANAGED, "aes:kms")]).write_request(false)),
            ("InvalidArgument".into(), 400)
        );
        assert_eq!(
            code(fields(&[(MANAGED, "AES256"), (KMS_KEY_ID, "k")]).write_request(false)),
            ("InvalidArgument".into(), 400)
        );
        assert_eq!(
            code(fields(&[(KMS_KEY_ID, "k")]).write_request(false)),
            ("InvalidArgument".into(), 400)
        );
        assert_eq!(
            code(fields(&[(MANAGED, "aws:kms"), (CONTEXT, "!!")]).write_request(false)).1,
            400
        );
        assert_eq!(
            code(fields(&[(MANAGED, "aws:kms:dsse")]).write_request(false)),
            ("NotImplemented".into(), 501)
        );
        assert_eq!(
            code(fields(&[(MANAGED, "AES256")]).read_key(false)),
            ("InvalidArgument".into(), 400)
        );
    }
}
