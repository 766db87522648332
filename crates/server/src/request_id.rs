//! Adds `x-amz-request-id` (and `x-amz-id-2`, `Server`) to every response, errors included.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use http::HeaderValue;
use hyper::body::Incoming;
use s3s::service::S3Service;

#[derive(Clone)]
pub struct WithRequestId {
    inner: S3Service,
    next: Arc<AtomicU64>,
    host_id: HeaderValue,
}

impl WithRequestId {
    pub fn new(inner: S3Service) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let host_id = HeaderValue::from_str(&format!("{:016x}{:08x}", seed, std::process::id()))
            .unwrap_or(HeaderValue::from_static("rustfs"));
        Self {
            inner,
            next: Arc::new(AtomicU64::new(seed << 16)),
            host_id,
        }
    }
}

impl hyper::service::Service<http::Request<Incoming>> for WithRequestId {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let host_id = self.host_id.clone();
        let fut = hyper::service::Service::call(&self.inner, req);
        Box::pin(async move {
            let mut resp = fut.await?;
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&format!("{id:016X}")) {
                h.insert("x-amz-request-id", v);
            }
            h.insert("x-amz-id-2", host_id);
            h.insert(http::header::SERVER, HeaderValue::from_static("RustFS"));
            Ok(resp)
        })
    }
}
