//! The HTTP layer around s3s' service:
//! - `x-amz-request-id` (and `x-amz-id-2`, `Server`) on every response, errors included;
//! - CORS (`rustfs_s3::cors`): preflight `OPTIONS` answered before s3s, and `Access-Control-*`
//!   headers added to the response of a request whose `Origin` a bucket rule allows;
//! - `Connection: close` after answering an `Expect: 100-continue` request without having
//!   asked for its body (an empty body, or an error sent before reading). hyper then sends no
//!   `100 Continue`, which RFC 9110 allows, but botocore keeps the final status it read in that
//!   case as connection state and misparses the next response on the same connection, hanging
//!   until its read timeout. A fresh connection resets it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use http::{HeaderValue, header};
use hyper::body::Incoming;
use rustfs_s3::cors::Cors;
use s3s::service::S3Service;

#[derive(Clone)]
pub struct HttpLayer {
    inner: S3Service,
    cors: Arc<Cors>,
    next: Arc<AtomicU64>,
    host_id: HeaderValue,
}

impl HttpLayer {
    pub fn new(inner: S3Service, cors: Cors) -> Self {
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

impl hyper::service::Service<http::Request<Incoming>> for HttpLayer {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let host_id = self.host_id.clone();
        let empty_expect = expects_continue_for_empty_body(&req);
        let any_expect = expects_continue(&req);
        let cors_req = self.cors.inspect(req.method(), req.uri(), req.headers());
        let preflight = cors_req.as_ref().and_then(|r| self.cors.preflight(r));
        let fut: Self::Future = match preflight {
            Some(resp) => Box::pin(async move { Ok(resp) }),
            None => Box::pin(hyper::service::Service::call(&self.inner, req)),
        };
        let cors = self.cors.clone();
        Box::pin(async move {
            let mut resp = fut.await?;
            if let Some(extra) = cors_req.as_ref().and_then(|r| cors.response_headers(r)) {
                resp.headers_mut().extend(extra);
            }
            let failed = !resp.status().is_success();
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&format!("{id:016X}")) {
                h.insert("x-amz-request-id", v);
            }
            h.insert("x-amz-id-2", host_id);
            h.insert(header::SERVER, HeaderValue::from_static("RustFS"));
            if empty_expect || (any_expect && failed) {
                h.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(resp)
        })
    }
}
