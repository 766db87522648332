//! CORS over HTTP: answers preflight `OPTIONS` requests and adds `Access-Control-*` headers to
//! the response of a request that carries an `Origin` matching one of the bucket's rules.
//!
//! This runs in front of s3s rather than as an `s3s::route::S3Route`: s3s verifies signatures
//! before it consults a route, and a preflight for a presigned URL carries the URL's query
//! signature, computed for the GET or PUT that follows, so it would fail there. A browser never
//! signs a preflight; S3 answers it from the bucket's CORS configuration alone. The headers of
//! an actual request are added to every answer, errors included, as S3 does.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, Uri, header};
use rustfs_object::{CorsRule, ObjectError, ObjectStore, cors};
use s3s::{Body, HttpResponse};

use super::addressing::request_bucket;
use super::request_error::RequestError;
use crate::host::Domains;

/// What a request tells about CORS, taken before the request is handed on.
#[derive(Clone)]
pub struct CorsRequest {
    preflight: bool,
    origin: Option<String>,
    bucket: Option<String>,
    /// `Access-Control-Request-Method`, or for an actual request its own method.
    method: Option<String>,
    /// `Access-Control-Request-Headers`, lower-cased.
    headers: Vec<String>,
}

/// Evaluates requests against the CORS configuration of their bucket.
pub struct Cors {
    store: Arc<ObjectStore>,
    domains: Option<Domains>,
}

fn text(h: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

impl CorsRequest {
    /// A preflight (`OPTIONS`) request, answered by [`Cors::preflight`] instead of an
    /// operation.
    pub fn is_preflight(&self) -> bool {
        self.preflight
    }
}

impl Cors {
    /// `domains`: the virtual-host domains, so `BUCKET.DOMAIN` requests find their bucket.
    pub fn new(store: Arc<ObjectStore>, domains: Option<Domains>) -> Self {
        Self { store, domains }
    }

    /// The CORS view of a request, or `None` when CORS does not concern it (no `Origin` and
    /// not `OPTIONS`: the common case, which costs no lookup).
    pub fn inspect(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<CorsRequest> {
        let preflight = method == Method::OPTIONS;
        let origin = text(headers, header::ORIGIN);
        if !preflight && origin.is_none() {
            return None;
        }
        let bucket = request_bucket(self.domains.as_ref(), uri, headers);
        let requested = text(headers, header::ACCESS_CONTROL_REQUEST_METHOD);
        let method = if preflight {
            requested
        } else {
            // As RGW and the s3-tests suite do, a stated request method takes precedence.
            requested.or_else(|| Some(method.as_str().to_string()))
        };
        let headers = text(headers, header::ACCESS_CONTROL_REQUEST_HEADERS)
            .map(|v| {
                v.split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Some(CorsRequest {
            preflight,
            origin,
            bucket,
            method,
            headers,
        })
    }

    /// The answer to a preflight (`OPTIONS`) request ([`CorsRequest::is_preflight`]), or why
    /// it is refused.
    pub async fn preflight(&self, r: &CorsRequest) -> Result<HttpResponse, RequestError> {
        let origin = r
            .origin
            .as_ref()
            .ok_or(RequestError::PreflightWithoutOrigin)?;
        let method = r
            .method
            .as_ref()
            .ok_or(RequestError::PreflightMethodInvalid)?;
        let bucket = r
            .bucket
            .as_ref()
            .ok_or(RequestError::PreflightWithoutBucket)?;
        let rules = match self.store.bucket_cors(bucket).await {
            Ok(rules) => rules,
            Err(ObjectError::NoSuchCorsConfiguration) => return Err(RequestError::CorsNotEnabled),
            Err(e) => return Err(RequestError::Object(e)),
        };
        let wanted: Vec<&str> = r.headers.iter().map(String::as_str).collect();
        let rule =
            cors::find_rule(&rules, origin, method, &wanted).ok_or(RequestError::CorsNotAllowed)?;
        let mut resp = HttpResponse::new(Body::empty());
        let h = resp.headers_mut();
        allow(h, rule, origin);
        if !r.headers.is_empty() {
            put(
                h,
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                &r.headers.join(", "),
            );
        }
        if let Some(age) = rule.max_age_seconds {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
        }
        h.insert(header::VARY, vary());
        Ok(resp)
    }

    /// The `Access-Control-*` headers for the response to an actual request, if a rule of its
    /// bucket allows its origin and method.
    pub async fn response_headers(&self, r: &CorsRequest) -> Option<HeaderMap> {
        if r.preflight {
            return None;
        }
        let (origin, bucket, method) = (r.origin.as_ref()?, r.bucket.as_ref()?, r.method.as_ref()?);
        let rules = self.store.bucket_cors(bucket).await.ok()?;
        let rule = cors::find_rule(&rules, origin, method, &[])?;
        let mut h = HeaderMap::new();
        allow(&mut h, rule, origin);
        if let Some(age) = rule.max_age_seconds {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
        }
        h.insert(header::VARY, vary());
        Some(h)
    }
}

/// What a CORS answer depends on, for caches.
fn vary() -> HeaderValue {
    HeaderValue::from_static(
        "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    )
}

/// The headers a matched rule grants, preflight or not.
fn allow(h: &mut HeaderMap, rule: &CorsRule, origin: &str) {
    if cors::allows_any_origin(rule) {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    } else {
        put(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    put(
        h,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        &rule.allowed_methods.join(", "),
    );
    if !rule.expose_headers.is_empty() {
        put(
            h,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &rule.expose_headers.join(", "),
        );
    }
}

/// Sets a header from client- or configuration-supplied text, skipping values HTTP cannot carry.
fn put(h: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}
