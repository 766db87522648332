//! The HTTP layer around s3s' service:
//! - `x-amz-request-id` (and `x-amz-id-2`, `Server`) on every response, errors included;
//! - CORS (`rustfs_s3::cors`): preflight `OPTIONS` answered before s3s, and `Access-Control-*`
//!   headers added to the response of a request whose `Origin` a bucket rule allows;
//! - `Connection: close` after answering an `Expect: 100-continue` request without having
//!   asked for its body (an empty body, or an error sent before reading). hyper then sends no
//!   `100 Continue`, which RFC 9110 allows, but botocore keeps the final status it read in that
//!   case as connection state and misparses the next response on the same connection, hanging
//!   until its read timeout. A fresh connection resets it.
//! - a path-style bucket request signed with SigV2 reaches s3s as `/bucket/`: SigV2 signs a
//!   bucket's resource as `/bucket/` (AWS's CanonicalizedResource, what clients sign), but
//!   s3s 0.14 canonicalizes `/bucket` without the slash and refuses the signature. The route
//!   is the same either way.
//! - SigV2 requests' `Date`/`x-amz-date` are checked before s3s verifies the signature
//!   (`rustfs_s3::auth::check_v2_request_time`), as S3 does; so is a SigV4 credential scope's
//!   region (`rustfs_s3::auth::wrong_region`), and `Range` positions s3s cannot parse are
//!   clamped (`rustfs_s3::range_header`).
//! - error documents carry `<RequestId>` and `<HostId>` (the values of the headers), as S3's
//!   do; s3s writes only code and message.
//! - requests S3 refuses before routing, and uploads without a length
//!   (`crate::request_checks`); browser-form uploads are prepared for s3s
//!   (`rustfs_s3::post_form`);
//! - GetObjectAttributes answers with a bare `<ETag>` (S3 writes it without quotes there,
//!   unlike every other response); s3s quotes every ETag it serializes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use http::{HeaderValue, header};
use hyper::body::Incoming;
use rustfs_s3::access::ClientInfo;
use rustfs_s3::cors::{Cors, CorsRequest};
use s3s::service::S3Service;

use crate::buffered_body::{BufferBudget, Guarded, Ledger, Reading, reading_of};
use crate::request_checks;

type ServiceResult = Result<s3s::HttpResponse, s3s::HttpError>;

#[derive(Clone)]
pub struct HttpLayer {
    inner: S3Service,
    cors: Arc<Cors>,
    next: Arc<AtomicU64>,
    host_id: HeaderValue,
    /// Virtual-hosted-style domains (`RUSTFS_SERVER_DOMAINS`).
    domains: Arc<Vec<String>>,
    /// The connection's client, handed to the access checks (`aws:SourceIp`).
    client: Option<ClientInfo>,
    /// The region SigV4 scopes must name (`RUSTFS_REGION`; empty accepts any).
    region: Arc<str>,
    /// Bounds the request bodies held in memory at once (`crate::buffered_body`).
    budget: Arc<BufferBudget>,
}

impl HttpLayer {
    pub fn new(inner: S3Service, cors: Cors, domains: &[&str], budget: BufferBudget) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let host_id = HeaderValue::from_str(&format!("{:016x}{:08x}", seed, std::process::id()))
            .unwrap_or(HeaderValue::from_static("rustfs"));
        Self {
            inner,
            cors: Arc::new(cors),
            next: Arc::new(AtomicU64::new(seed << 16)),
            host_id,
            domains: Arc::new(domains.iter().map(|d| d.to_ascii_lowercase()).collect()),
            client: None,
            region: Arc::from(""),
            budget: Arc::new(budget),
        }
    }

    /// Refuses SigV4 requests signed for another region than `region`.
    pub fn with_region(mut self, region: &str) -> Self {
        self.region = Arc::from(region);
        self
    }

    /// This layer for one connection's requests.
    pub fn for_client(&self, client: ClientInfo) -> Self {
        Self {
            client: Some(client),
            ..self.clone()
        }
    }

    /// Passes the request to s3s, first reading a body of unknown length if it must.
    /// Browser forms are prepared first (`rustfs_s3::post_form`). A body the server holds
    /// whole is read through the request's [`Ledger`] (`crate::buffered_body`), returned
    /// with the future: what went wrong reading it decides the answer.
    fn forward(
        &self,
        req: http::Request<Incoming>,
    ) -> (BoxFuture<'static, ServiceResult>, Option<Arc<Ledger>>) {
        let inner = self.inner.clone();
        let form = rustfs_s3::post_form::is_form_post(&req);
        let no_length = request_checks::unsized_upload(&req);
        let reading = reading_of(
            req.method(),
            req.uri().query(),
            self.object_path(&req),
            form || no_length,
        );
        let Reading::Held { limit } = reading else {
            return (
                Box::pin(hyper::service::Service::call(&self.inner, req)),
                None,
            );
        };
        let ledger = Ledger::new(self.budget.clone());
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let guarded = ledger.clone();
        let req =
            req.map(move |b| s3s::Body::http_body(Guarded::new(b, guarded, true, limit, declared)));
        let fut: BoxFuture<'static, ServiceResult> = if form {
            Box::pin(async move {
                match rustfs_s3::post_form::prepare(req).await {
                    Ok(req) => inner.call(req).await,
                    Err(refused) => Ok(rustfs_s3::errors::response(&refused)),
                }
            })
        } else if no_length {
            Box::pin(async move {
                match request_checks::with_length(req).await {
                    Ok(req) => inner.call(req).await,
                    Err(refused) => Ok(rustfs_s3::errors::response(&refused)),
                }
            })
        } else {
            Box::pin(async move { inner.call(req).await })
        };
        (fut, Some(ledger))
    }

    /// Whether the request's path names an object (not a bucket, nor the service).
    fn object_path(&self, req: &http::Request<Incoming>) -> bool {
        let path = req.uri().path().trim_start_matches('/');
        if self.virtual_hosted(req) {
            return !path.is_empty();
        }
        path.split_once('/').is_some_and(|(_, key)| !key.is_empty())
    }

    /// Whether the request names its bucket in the host (virtual-hosted style).
    fn virtual_hosted(&self, req: &http::Request<Incoming>) -> bool {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().host())
            .unwrap_or_default();
        let name = host
            .rsplit_once(':')
            .map_or(host, |(h, _)| h)
            .to_ascii_lowercase();
        self.domains.iter().any(|d| {
            name.len() > d.len() + 1
                && name.ends_with(d.as_str())
                && name[..name.len() - d.len()].ends_with('.')
        })
    }

    /// See the module documentation: `/bucket` becomes `/bucket/` for SigV2 requests.
    fn fix_v2_bucket_path(&self, req: &mut http::Request<Incoming>) {
        let v2_header = req
            .headers()
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes().starts_with(b"AWS "));
        let query = req.uri().query().unwrap_or_default();
        let v2_query = query.contains("AWSAccessKeyId=") && query.contains("Signature=");
        let path = req.uri().path();
        let one_segment = path.len() > 1 && !path[1..].contains('/');
        if !(v2_header || v2_query) || !one_segment || self.virtual_hosted(req) {
            return;
        }
        let fixed = match req.uri().query() {
            Some(q) => format!("{path}/?{q}"),
            None => format!("{path}/"),
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = fixed.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
}

/// The request asked for `100 Continue` before sending a body that is empty.
fn expects_continue_for_empty_body(req: &http::Request<Incoming>) -> bool {
    let h = req.headers();
    let expects = h
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    expects
        && h.get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
}

fn expects_continue(req: &http::Request<Incoming>) -> bool {
    req.headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// A GetObjectAttributes request: `GET /bucket/key?attributes`.
fn is_get_attributes(req: &http::Request<Incoming>) -> bool {
    req.method() == http::Method::GET
        && req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p == "attributes" || p.starts_with("attributes="))
        })
}

/// An S3 error document with `<RequestId>` and `<HostId>` added before `</Error>`.
fn with_request_id(xml: &[u8], request_id: &str, host_id: &[u8]) -> Option<Vec<u8>> {
    const CLOSE: &[u8] = b"</Error>";
    let at = xml.windows(CLOSE.len()).rposition(|w| w == CLOSE)?;
    if xml.windows(11).any(|w| w == b"<RequestId>") {
        return None;
    }
    let mut out = Vec::with_capacity(xml.len() + 96);
    out.extend_from_slice(&xml[..at]);
    out.extend_from_slice(format!("<RequestId>{request_id}</RequestId><HostId>").as_bytes());
    out.extend_from_slice(host_id);
    out.extend_from_slice(b"</HostId>");
    out.extend_from_slice(&xml[at..]);
    Some(out)
}

/// A POST form whose fields break a policy condition (or whose `bucket` field names another
/// bucket than the URL): s3s answers 400 `InvalidPolicyDocument`, S3 answers 403
/// `AccessDenied` ("Invalid according to Policy: Policy Condition failed"). The document itself
/// is well formed, so this is a refusal, not a malformed request.
fn policy_condition_refusal(xml: &[u8]) -> Option<Vec<u8>> {
    const CODE: &[u8] = b"<Code>InvalidPolicyDocument</Code>";
    const WHY: [&[u8]; 2] = [b"Policy condition", b"Bucket in form field"];
    let at = xml.windows(CODE.len()).position(|w| w == CODE)?;
    let why = WHY
        .iter()
        .find_map(|why| xml.windows(why.len()).position(|w| w == *why))?;
    let end = xml[why..].windows(10).position(|w| w == b"</Message>")? + why;
    let mut out = Vec::with_capacity(xml.len() + 64);
    out.extend_from_slice(&xml[..at]);
    out.extend_from_slice(b"<Code>AccessDenied</Code><Message>Invalid according to Policy: ");
    out.extend_from_slice(&xml[why..end]);
    out.extend_from_slice(b"</Message>");
    let rest = &xml[at + CODE.len()..];
    let after_msg = rest
        .windows(10)
        .position(|w| w == b"</Message>")
        .map_or(0, |p| p + 10);
    out.extend_from_slice(&rest[after_msg..]);
    Some(out)
}

/// The most of a client's text (error message, path) a log line repeats.
const LOGGED_TEXT: usize = 256;

/// At most [`LOGGED_TEXT`] bytes of `s`, cut at a character boundary.
fn bounded(s: &str) -> &str {
    if s.len() <= LOGGED_TEXT {
        return s;
    }
    let mut end = LOGGED_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The text of the first `<name>` element of an error document.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find('<')?;
    Some(&xml[start..start + len])
}

/// Logs a failed request once, by what it means: a server failure (500) at error level, load
/// shed or unavailable storage (503) at warn, a client's error or a refusal (4xx) at debug.
/// Only the error's code and a bounded message are logged, never a request body (s3s' own
/// per-request error events, which carry whole bodies, are filtered out: `crate::logging`).
fn log_failure(method: &http::Method, path: &str, request_id: &str, resp: &s3s::HttpResponse) {
    let status = resp.status();
    let doc = resp.body().bytes();
    let text = doc
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let code = element(&text, "Code").unwrap_or_default();
    let message = bounded(element(&text, "Message").unwrap_or_default());
    let path = bounded(path);
    let status = status.as_u16();
    match status {
        503 | 507 => {
            tracing::warn!(request_id, %method, path, status, code, message, "request failed")
        }
        500.. => {
            tracing::error!(request_id, %method, path, status, code, message, "request failed")
        }
        _ => tracing::debug!(request_id, %method, path, status, code, message, "request refused"),
    }
}

/// The XML with the quotes of its top-level `<ETag>` value removed.
fn unquote_etag(xml: &[u8]) -> Option<Vec<u8>> {
    const OPEN: &[u8] = b"<ETag>\"";
    const CLOSE: &[u8] = b"\"</ETag>";
    let start = xml.windows(OPEN.len()).position(|w| w == OPEN)?;
    let rest = &xml[start + OPEN.len()..];
    let len = rest.windows(CLOSE.len()).position(|w| w == CLOSE)?;
    let mut out = Vec::with_capacity(xml.len());
    out.extend_from_slice(&xml[..start]);
    out.extend_from_slice(b"<ETag>");
    out.extend_from_slice(&rest[..len]);
    out.extend_from_slice(&rest[len + 1..]);
    Some(out)
}

impl hyper::service::Service<http::Request<Incoming>> for HttpLayer {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, mut req: http::Request<Incoming>) -> Self::Future {
        self.fix_v2_bucket_path(&mut req);
        request_checks::sigv4_date_from_date_header(req.headers_mut());
        rustfs_s3::range_header::clamp_range(&mut req);
        if let Some(client) = self.client {
            req.extensions_mut().insert(client);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let host_id = self.host_id.clone();
        let empty_expect = expects_continue_for_empty_body(&req);
        let any_expect = expects_continue(&req);
        let attributes = is_get_attributes(&req);
        let is_post = req.method() == http::Method::POST;
        let cors_req = self.cors.inspect(req.method(), req.uri(), req.headers());
        // A preflight is answered from the bucket's CORS rules (read asynchronously), before
        // anything else; then a request for another region is refused.
        let preflight = cors_req.clone().filter(CorsRequest::is_preflight);
        let wrong_region = match preflight {
            Some(_) => None,
            None => rustfs_s3::auth::wrong_region(&req, &self.region),
        };
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let mut ledger = None;
        let served: Result<Self::Future, _> = match (preflight, wrong_region) {
            (Some(r), _) => {
                let cors = self.cors.clone();
                Ok(Box::pin(async move {
                    Ok(match cors.preflight(&r).await {
                        Some(resp) => resp,
                        None => rustfs_s3::errors::response(&s3s::s3_error!(InternalError)),
                    })
                }))
            }
            (None, Some(resp)) => Ok(Box::pin(async move { Ok(resp) })),
            (None, None) => match request_checks::refusal(&req) {
                Some(refused) => Err(refused),
                None => rustfs_s3::auth::check_v2_request_time(
                    req.headers(),
                    time::OffsetDateTime::now_utc(),
                )
                .map(|()| {
                    let (fut, l) = self.forward(req);
                    ledger = l;
                    fut
                }),
            },
        };
        let cors = self.cors.clone();
        Box::pin(async move {
            let mut resp = match served {
                Ok(fut) => fut.await?,
                Err(refused) => rustfs_s3::errors::response(&refused),
            };
            // A held body that could not be read: its fault is the answer (s3s makes a 500 of
            // any failed read).
            if let Some(fault) = ledger.as_ref().and_then(|l| l.fault())
                && !resp.status().is_success()
            {
                resp = rustfs_s3::errors::response(&fault.to_s3());
            }
            drop(ledger);
            if let Some(r) = &cors_req
                && let Some(extra) = cors.response_headers(r).await
            {
                resp.headers_mut().extend(extra);
            }
            if is_post
                && resp.status() == http::StatusCode::BAD_REQUEST
                && let Some(fixed) = resp
                    .body()
                    .bytes()
                    .and_then(|b| policy_condition_refusal(&b))
            {
                *resp.status_mut() = http::StatusCode::FORBIDDEN;
                resp.headers_mut().remove(header::CONTENT_LENGTH);
                *resp.body_mut() = s3s::Body::from(bytes::Bytes::from(fixed));
            }
            let failed = !resp.status().is_success();
            if attributes
                && !failed
                && let Some(fixed) = resp.body().bytes().and_then(|b| unquote_etag(&b))
            {
                resp.headers_mut().remove(header::CONTENT_LENGTH);
                *resp.body_mut() = s3s::Body::from(bytes::Bytes::from(fixed));
            }
            let request_id = format!("{id:016X}");
            if failed
                && let Some(fixed) = resp
                    .body()
                    .bytes()
                    .and_then(|b| with_request_id(&b, &request_id, host_id.as_bytes()))
            {
                resp.headers_mut().remove(header::CONTENT_LENGTH);
                *resp.body_mut() = s3s::Body::from(bytes::Bytes::from(fixed));
            }
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                h.insert("x-amz-request-id", v);
            }
            h.insert("x-amz-id-2", host_id);
            h.insert(header::SERVER, HeaderValue::from_static("RustFS"));
            if empty_expect || (any_expect && failed) {
                h.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            if failed {
                log_failure(&method, &path, &request_id, &resp);
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_etag_is_unquoted() {
        let xml = br#"<R><ETag>"abc-2"</ETag><ObjectSize>3</ObjectSize></R>"#;
        assert_eq!(
            unquote_etag(xml).unwrap(),
            br#"<R><ETag>abc-2</ETag><ObjectSize>3</ObjectSize></R>"#.to_vec()
        );
        assert!(unquote_etag(b"<R><ObjectSize>3</ObjectSize></R>").is_none());
    }

    #[test]
    fn a_failed_policy_condition_is_access_denied() {
        let xml = br#"<?xml version="1.0"?><Error><Code>InvalidPolicyDocument</Code><Message>Policy condition 'eq' for field 'bucket' failed</Message></Error>"#;
        assert_eq!(
            policy_condition_refusal(xml).unwrap(),
            br#"<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy condition 'eq' for field 'bucket' failed</Message></Error>"#.to_vec()
        );
        let other =
            br#"<Error><Code>InvalidPolicyDocument</Code><Message>Invalid JSON</Message></Error>"#;
        assert!(policy_condition_refusal(other).is_none());
        let wrong_bucket = br#"<Error><Code>InvalidPolicyDocument</Code><Message>Bucket in form field 'a' does not match bucket in URL 'b'</Message></Error>"#;
        let out = policy_condition_refusal(wrong_bucket).unwrap();
        assert!(out.starts_with(b"<Error><Code>AccessDenied</Code>"));
    }

    #[test]
    fn logged_text_is_bounded() {
        let long = "é".repeat(300);
        assert!(bounded(&long).len() <= LOGGED_TEXT);
        assert!(long.starts_with(bounded(&long)));
        assert_eq!(bounded("short"), "short");
        let doc = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert_eq!(element(doc, "Code"), Some("AccessDenied"));
        assert_eq!(element(doc, "Message"), Some("Access Denied"));
        assert_eq!(element(doc, "Resource"), None);
    }

    #[test]
    fn error_documents_get_the_request_id() {
        let xml = br#"<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>"#;
        let out = with_request_id(xml, "ABC", b"host").unwrap();
        assert_eq!(
            out,
            br#"<?xml version="1.0"?><Error><Code>NoSuchKey</Code><RequestId>ABC</RequestId><HostId>host</HostId></Error>"#.to_vec()
        );
        assert!(with_request_id(&out, "ABC", b"host").is_none());
        assert!(with_request_id(b"", "ABC", b"host").is_none());
    }
}
