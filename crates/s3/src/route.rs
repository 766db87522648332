//! Requests that are not S3: IAM and STS queries (`POST /` with a form body such as
//! `Action=ListRoles`), which tools send to the same endpoint. They get a prompt
//! `NotImplemented` instead of being read as S3 operations.

use crate::api_error::ApiError;
use http::{Extensions, HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result};

use crate::operation::{Operation, OperationSlot};

/// Answers IAM/STS query requests with `NotImplemented` (501).
#[derive(Clone, Copy, Default)]
pub struct UnsupportedServices;

#[async_trait::async_trait]
impl S3Route for UnsupportedServices {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        _: &mut Extensions,
    ) -> bool {
        method == Method::POST
            && uri.path() == "/"
            && headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        let op = OperationSlot::record(&mut req.extensions, Operation::IamOrSts);
        crate::access::check_route(&op, None, None)
    }

    async fn call(&self, _req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        Err(ApiError::IamStsNotImplemented.into())
    }
}
