//! What the console port does with one request: forward it to the S3 edge, or answer it.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use crate::assets;
use crate::config::ConsoleConfig;
use crate::forward::strip_api_prefix;

/// The page may load only its own scripts and styles and talk only to its own origin (every
/// S3 call goes through `/api/s3`); it may not be framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; \
                   form-action 'self'; frame-ancestors 'none'";

/// The console's answers and its forward rule; cheap to clone (one per connection).
#[derive(Clone)]
pub struct Console {
    config: Arc<[u8]>,
}

/// The outcome for one request.
pub enum Route<B> {
    /// For the S3 edge: the same request with `/api/s3` removed from its path.
    Forward(Request<B>),
    /// Answered by the console itself.
    Answer(Response<s3s::Body>),
}

impl Console {
    pub fn new(config: ConsoleConfig) -> Self {
        Self {
            config: config.to_json().into(),
        }
    }

    pub fn route<B>(&self, mut req: Request<B>) -> Route<B> {
        if let Some(uri) = strip_api_prefix(req.uri()) {
            *req.uri_mut() = uri;
            return Route::Forward(req);
        }
        Route::Answer(self.answer(&req))
    }

    fn answer<B>(&self, req: &Request<B>) -> Response<s3s::Body> {
        let head = req.method() == Method::HEAD;
        if req.method() != Method::GET && !head {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        let path = req.uri().path();
        if path == "/api/config" {
            return with_body(
                StatusCode::OK,
                "application/json",
                assets::NO_CACHE,
                Bytes::copy_from_slice(&self.config),
                head,
            );
        }
        if path == "/api" || path.starts_with("/api/") {
            return plain(StatusCode::NOT_FOUND, "not found\n");
        }
        let Some(asset) = assets::lookup(path) else {
            return plain(StatusCode::NOT_FOUND, "not found\n");
        };
        let etag_matches = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == asset.etag || t.trim() == "*")
            });
        let mut resp = if etag_matches {
            let mut r = Response::new(s3s::Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let body = match asset.body {
                std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
                std::borrow::Cow::Owned(v) => Bytes::from(v),
            };
            with_body(
                StatusCode::OK,
                &asset.content_type,
                asset.cache_control,
                body,
                head,
            )
        };
        let h = resp.headers_mut();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(asset.cache_control),
        );
        if let Ok(v) = HeaderValue::from_str(&asset.etag) {
            h.insert(header::ETAG, v);
        }
        if asset.content_type.starts_with("text/html") {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
        }
        resp
    }
}

fn with_body(
    status: StatusCode,
    content_type: &str,
    cache: &'static str,
    body: Bytes,
    head: bool,
) -> Response<s3s::Body> {
    let len = body.len();
    let mut r = Response::new(if head {
        s3s::Body::empty()
    } else {
        s3s::Body::from(body)
    });
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn plain(status: StatusCode, text: &'static str) -> Response<s3s::Body> {
    with_body(
        status,
        "text/plain; charset=utf-8",
        assets::NO_CACHE,
        Bytes::from_static(text.as_bytes()),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console() -> Console {
        Console::new(ConsoleConfig {
            s3_url: None,
            s3_port: Some(9000),
            region: "us-east-1".into(),
            version: "0.1.0".into(),
        })
    }

    fn get(path: &str) -> Request<()> {
        Request::get(path).body(()).expect("request")
    }

    #[test]
    fn api_s3_is_forwarded_without_the_prefix() {
        let req = Request::put("/api/s3/b/k?partNumber=1&uploadId=u")
            .header("x-amz-date", "20260101T000000Z")
            .body(7u8)
            .expect("request");
        match console().route(req) {
            Route::Forward(r) => {
                assert_eq!(r.uri(), "/b/k?partNumber=1&uploadId=u");
                assert_eq!(r.method(), Method::PUT);
                assert_eq!(r.headers()["x-amz-date"], "20260101T000000Z");
                assert_eq!(*r.body(), 7);
            }
            Route::Answer(_) => panic!("not forwarded"),
        }
    }

    fn answer(req: Request<()>) -> Response<s3s::Body> {
        match console().route(req) {
            Route::Answer(r) => r,
            Route::Forward(_) => panic!("forwarded"),
        }
    }

    #[test]
    fn config_is_json() {
        let r = answer(get("/api/config"));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let want = br#"{"s3_url":null,"s3_port":9000,"region":"us-east-1","version":"0.1.0"}"#;
        assert_eq!(r.headers()[header::CONTENT_LENGTH], want.len().to_string());
    }

    #[test]
    fn unknown_api_paths_are_not_the_app() {
        assert_eq!(answer(get("/api/other")).status(), StatusCode::NOT_FOUND);
        assert_eq!(answer(get("/api")).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_app_has_its_headers() {
        let r = answer(get("/browse/bucket/a/b/"));
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .is_ok_and(|v| v.starts_with("text/html"))
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(r.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let etag = r.headers()[header::ETAG].clone();
        let again = Request::get("/")
            .header(header::IF_NONE_MATCH, etag)
            .body(())
            .expect("request");
        assert_eq!(answer(again).status(), StatusCode::NOT_MODIFIED);
    }

    #[test]
    fn only_get_and_head() {
        let r = answer(Request::post("/").body(()).expect("request"));
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        let r = answer(Request::head("/").body(()).expect("request"));
        assert_eq!(r.status(), StatusCode::OK);
    }
}
