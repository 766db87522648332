//! The tracing span of one request: every event the request causes while the edge serves it
//! (the handlers in `ops/`, the object layer below them, the failure log line) is recorded inside
//! it, so each log line carries the request id answered in `x-amz-request-id`
//! (`request{request_id=...}:` in text logs, `"span":{"request_id":...}` in JSON logs) and an
//! OpenTelemetry exporter, when one is installed, sees one span per request.
//!
//! The span is at ERROR level so that any `RUST_LOG` that lets an event through also keeps the
//! span (a span filtered out would leave its events without the id); it is never an event itself,
//! so it writes nothing on its own.

use http::Method;
use tracing::Instrument;
use tracing::instrument::Instrumented;

/// The span of the request `request_id` (its path bounded as the failure log bounds it).
pub(crate) fn span(request_id: &str, method: &Method, path: &str) -> tracing::Span {
    tracing::error_span!(
        target: "rustfs::request",
        "request",
        request_id = %request_id,
        method = %method,
        path = super::failure_log::bounded(path)
    )
}

/// `fut` run inside `span` (the span first, so the future's block keeps its indentation where
/// the edge calls it).
pub(crate) fn within<F: Future>(span: tracing::Span, fut: F) -> Instrumented<F> {
    fut.instrument(span)
}

/// `resp` with its body polled inside `span` when it streams (an object's bytes read as they are
/// sent, after the edge's future has ended): a failure reading them is logged with the request's
/// id too. A body already in memory is left as it is.
pub(crate) fn body_within(span: tracing::Span, resp: s3s::HttpResponse) -> s3s::HttpResponse {
    if resp.body().bytes().is_some() {
        return resp;
    }
    resp.map(|inner| s3s::Body::http_body(InSpan { inner, span }))
}

/// A body polled inside a span.
struct InSpan {
    inner: s3s::Body,
    span: tracing::Span,
}

impl hyper::body::Body for InSpan {
    type Data = bytes::Bytes;
    type Error = s3s::StdError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, s3s::StdError>>> {
        let this = &mut *self;
        let _in = this.span.enter();
        std::pin::Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use http_body_util::BodyExt;

    /// A streaming body of one frame that notes the span it was polled in.
    struct Probe {
        seen: Arc<Mutex<Option<Option<tracing::Id>>>>,
        done: bool,
    }

    impl hyper::body::Body for Probe {
        type Data = bytes::Bytes;
        type Error = s3s::StdError;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, s3s::StdError>>>
        {
            *self.seen.lock().unwrap() = Some(tracing::Span::current().id());
            if self.done {
                return std::task::Poll::Ready(None);
            }
            self.done = true;
            std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(
                bytes::Bytes::from_static(b"x"),
            ))))
        }
    }

    #[tokio::test]
    async fn streamed_body_is_polled_in_the_request_span() {
        let subscriber = tracing_subscriber::registry();
        let _default = tracing::subscriber::set_default(subscriber);
        let span = span("00000000000000AB", &Method::GET, "/b/k");
        assert!(span.id().is_some());
        let seen = Arc::new(Mutex::new(None));
        let resp = http::Response::new(s3s::Body::http_body(Probe {
            seen: seen.clone(),
            done: false,
        }));
        let resp = body_within(span.clone(), resp);
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&got[..], b"x");
        assert_eq!(*seen.lock().unwrap(), Some(span.id()));
    }

    #[test]
    fn body_in_memory_is_left_alone() {
        let resp = http::Response::new(s3s::Body::from(bytes::Bytes::from_static(b"<Error/>")));
        let resp = body_within(tracing::Span::none(), resp);
        assert!(resp.body().bytes().is_some());
    }
}
