//! Requests the edge answers itself before s3s, outside the body budget and without a record
//! in the request metrics: the health checks ([`crate::health`]) and the Prometheus scrape
//! endpoints `/minio/v2/metrics/cluster` and `/minio/v2/metrics/node` ([`crate::metrics`],
//! authorized by [`ScrapeAuth`]).

use std::sync::Arc;

use futures::future::BoxFuture;
use http::{HeaderValue, Method, header};
use rustfs_object::ObjectStore;

use super::ServiceResult;
use crate::auth::Keyring;
use crate::health::Check;
use crate::metrics::token::ScrapeAuth;

/// The scrape paths (both render every series this node has).
const SCRAPE_PATHS: [&str; 2] = ["/minio/v2/metrics/cluster", "/minio/v2/metrics/node"];

#[derive(Clone)]
pub struct Operator {
    store: Arc<ObjectStore>,
    keys: Keyring,
    auth: ScrapeAuth,
}

impl Operator {
    pub fn new(store: Arc<ObjectStore>, keys: Keyring, auth: ScrapeAuth) -> Self {
        Self { store, keys, auth }
    }

    /// The answer, if the request is one of these.
    pub fn answer<B>(&self, req: &http::Request<B>) -> Option<BoxFuture<'static, ServiceResult>> {
        let path = req.uri().path();
        if let Some(check) = Check::of(req.method(), path) {
            return Some(Box::pin(std::future::ready(Ok(check.answer(&self.store)))));
        }
        if req.method() != Method::GET || !SCRAPE_PATHS.contains(&path.trim_end_matches('/')) {
            return None;
        }
        if let Err(e) = self.auth.check(req.headers(), &self.keys) {
            return Some(Box::pin(std::future::ready(Ok(
                crate::errors::scrape_refused(&e),
            ))));
        }
        let store = self.store.clone();
        Some(Box::pin(async move {
            let text = crate::metrics::render(&store).await;
            let mut resp = http::Response::new(s3s::Body::from(text));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(resp)
        }))
    }
}
