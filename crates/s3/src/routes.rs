//! Several custom routes behind s3s' single route slot: the first route whose `is_match`
//! accepts a request handles it (its index is kept in the request's extensions, so access
//! checks and the call go to the same route).

use crate::api_error::ApiError;
use http::{Extensions, HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result};

#[derive(Default)]
pub struct RouteSet {
    routes: Vec<Box<dyn S3Route>>,
}

#[derive(Clone, Copy)]
struct Matched(usize);

impl RouteSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, route: impl S3Route) -> Self {
        self.routes.push(Box::new(route));
        self
    }

    fn matched(&self, req: &S3Request<Body>) -> S3Result<&dyn S3Route> {
        req.extensions
            .get::<Matched>()
            .and_then(|m| self.routes.get(m.0))
            .map(|r| r.as_ref())
            .ok_or_else(|| ApiError::RouteLost.into())
    }
}

#[async_trait::async_trait]
impl S3Route for RouteSet {
    fn is_match(&self, m: &Method, uri: &Uri, h: &HeaderMap, x: &mut Extensions) -> bool {
        match self.routes.iter().position(|r| r.is_match(m, uri, h, x)) {
            Some(i) => {
                x.insert(Matched(i));
                true
            }
            None => false,
        }
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        let route = self.matched(req)?;
        route.check_access(req).await
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let route = self.matched(&req)?;
        route.call(req).await
    }
}
