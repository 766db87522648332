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
