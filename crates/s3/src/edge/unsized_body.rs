//! Uploads sent without a length: a `PUT` whose body comes with `Transfer-Encoding: chunked`
//! and no `Content-Length` (nor `x-amz-decoded-content-length`, which aws-chunked uploads
//! carry) is read, up to [`UNSIZED_BODY_LIMIT`], and passed on with its length. S3 accepts such
//! uploads; s3s 0.14 needs the length to verify the payload hash and refuses them with
//! `411 MissingContentLength`.

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Limited};

use super::request_error::RequestError;

/// The largest body read into memory to learn its length (larger ones need `Content-Length`).
pub const UNSIZED_BODY_LIMIT: usize = 16 << 20;

/// Whether the request is an upload whose body length is unknown (see the module notes).
pub(crate) fn unsized_upload<B: http_body::Body>(req: &Request<B>) -> bool {
    let h = req.headers();
    req.method() == Method::PUT
        && !h.contains_key(header::CONTENT_LENGTH)
        && !h.contains_key("x-amz-decoded-content-length")
        && req.body().size_hint().exact().is_none()
}

/// Reads an unsized upload's body and passes the request on with its `Content-Length`.
pub(crate) async fn with_length(
    req: Request<s3s::Body>,
) -> Result<Request<s3s::Body>, RequestError> {
    let (mut parts, body) = req.into_parts();
    let collected = Limited::new(body, UNSIZED_BODY_LIMIT).collect().await;
    let bytes: Bytes = match collected {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(RequestError::UnsizedBodyTooLarge {
                limit: UNSIZED_BODY_LIMIT,
            });
        }
        Err(e) => {
            return Err(RequestError::BodyUnreadable(e.to_string()));
        }
    };
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, http::HeaderValue::from(bytes.len()));
    Ok(Request::from_parts(parts, s3s::Body::from(bytes)))
}
