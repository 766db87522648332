//! Requests the edge answers itself before s3s, outside the body budget and without a record
//! in the request metrics: the health checks ([`crate::health`]) and the Prometheus scrape
//! endpoints `/minio/v2/metrics/cluster` and `/minio/v2/metrics/node` ([`crate::metrics`],
//! authorized by [`ScrapeAuth`]). Path-style only: on a virtual-hosted request (`BUCKET.DOMAIN`)
//! these paths are object keys. Path-style, they name objects of the buckets `health` and
//! `minio` (MinIO reserves `minio`), which these paths shadow.

use std::sync::Arc;

use futures::future::BoxFuture;
use http::{HeaderValue, Method, header};
use rustfs_object::ObjectStore;

use super::{ServiceResult, addressing};
use crate::auth::Keyring;
use crate::health::Check;
use crate::host::Domains;
use crate::metrics::token::ScrapeAuth;

/// The scrape paths (both render every series this node has).
const SCRAPE_PATHS: [&str; 2] = ["/minio/v2/metrics/cluster", "/minio/v2/metrics/node"];

#[derive(Clone)]
pub struct Operator {
    store: Arc<ObjectStore>,
    keys: Keyring,
    auth: ScrapeAuth,
    /// A virtual-hosted request's path is an object key, never one of these.
    domains: Option<Domains>,
}

impl Operator {
    pub fn new(
        store: Arc<ObjectStore>,
        keys: Keyring,
        auth: ScrapeAuth,
        domains: Option<Domains>,
    ) -> Self {
        Self {
            store,
            keys,
            auth,
            domains,
        }
    }

    /// The answer, if the request is one of these.
    pub fn answer<B>(&self, req: &http::Request<B>) -> Option<BoxFuture<'static, ServiceResult>> {
        let path = req.uri().path();
        let check = Check::of(req.method(), path);
        let scrape = check.is_none()
            && req.method() == Method::GET
            && SCRAPE_PATHS.contains(&path.trim_end_matches('/'));
        if (check.is_none() && !scrape) || addressing::virtual_hosted(self.domains.as_ref(), req) {
            return None;
        }
        if let Some(check) = check {
            return Some(Box::pin(std::future::ready(Ok(check.answer(&self.store)))));
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
