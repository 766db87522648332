//! One log line per failed request, by what it means: a server failure (500) at error level,
//! load shed or unavailable storage (503, 507) at warn, a client's error or a refusal (4xx) at
//! debug. Only the error's code and a bounded message are logged, never a request body (s3s'
//! own per-request error events, which carry whole bodies, are filtered out by the binary's
//! log setup).

use super::answers::element;

/// The most of a client's text (error message, path) a log line repeats.
const LOGGED_TEXT: usize = 256;

/// At most [`LOGGED_TEXT`] bytes of `s`, cut at a character boundary.
pub(super) fn bounded(s: &str) -> &str {
    if s.len() <= LOGGED_TEXT {
        return s;
    }
    let mut end = LOGGED_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Logs a failed request once (see the module notes). `op`: the request's operation
/// (`crate::operation`), `-` if it was not classified.
pub(super) fn log_failure(
    method: &http::Method,
    path: &str,
    op: &str,
    request_id: &str,
    resp: &s3s::HttpResponse,
) {
    let status = resp.status();
    let doc = resp.body().bytes();
    let text = doc
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let code = element(&text, "Code").unwrap_or_default();
    // Not `message`: tracing's name for the event's own text (JSON logs would hold it twice).
    let detail = bounded(element(&text, "Message").unwrap_or_default());
    let path = bounded(path);
    let status = status.as_u16();
    match status {
        503 | 507 => {
            tracing::warn!(request_id, %method, path, op, status, code, detail, "request failed")
        }
        500.. => {
            tracing::error!(request_id, %method, path, op, status, code, detail, "request failed")
        }
        _ => {
            tracing::debug!(request_id, %method, path, op, status, code, detail, "request refused")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_text_is_bounded() {
        let long = "é".repeat(300);
        assert!(bounded(&long).len() <= LOGGED_TEXT);
        assert!(long.starts_with(bounded(&long)));
        assert_eq!(bounded("short"), "short");
    }
}
