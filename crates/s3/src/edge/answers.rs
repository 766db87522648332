//! Rewrites of the answers s3s 0.14 writes, where S3 answers otherwise.

use http::{HeaderValue, header};

/// `<RequestId>` and `<HostId>` added before `</Error>` of an error document, as S3 writes
/// them (s3s 0.14 writes only code and message).
pub(super) fn with_request_id(xml: &[u8], request_id: &str, host_id: &[u8]) -> Option<Vec<u8>> {
    const CLOSE: &[u8] = b"</Error>";
    let at = xml.windows(CLOSE.len()).rposition(|w| w == CLOSE)?;
    if xml.windows(11).any(|w| w == b"<RequestId>") {
        return None;
    }
    let mut out = Vec::with_capacity(xml.len() + 96);
    out.extend_from_slice(&xml[..at]);
    out.extend_from_slice(format!("<RequestId>{request_id}</RequestId><HostId>").as_bytes());
    out.extend_from_slice(host_id);
    out.extend_from_slice(b"</HostId>");
    out.extend_from_slice(&xml[at..]);
    Some(out)
}

/// GetObjectAttributes' `<ETag>` without quotes: S3 writes it bare there, unlike in every
/// other response (s3s 0.14 quotes every ETag it serializes).
pub(super) fn unquote_etag(xml: &[u8]) -> Option<Vec<u8>> {
    const OPEN: &[u8] = b"<ETag>\"";
    const CLOSE: &[u8] = b"\"</ETag>";
    let start = xml.windows(OPEN.len()).position(|w| w == OPEN)?;
    let rest = &xml[start + OPEN.len()..];
    let len = rest.windows(CLOSE.len()).position(|w| w == CLOSE)?;
    let mut out = Vec::with_capacity(xml.len());
    out.extend_from_slice(&xml[..start]);
    out.extend_from_slice(b"<ETag>");
    out.extend_from_slice(&rest[..len]);
    out.extend_from_slice(&rest[len + 1..]);
    Some(out)
}

/// A GetObjectAttributes request: `GET /bucket/key?attributes`.
pub(super) fn is_get_attributes<B>(req: &http::Request<B>) -> bool {
    req.method() == http::Method::GET
        && req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p == "attributes" || p.starts_with("attributes="))
        })
}

/// The text of the first `<name>` element of an error document (the code s3s answered, or
/// what the log repeats of it).
pub(super) fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find('<')?;
    Some(&xml[start..start + len])
}

/// The error code of an answer s3s wrote, if it is an error document.
pub(super) fn error_code(resp: &s3s::HttpResponse) -> Option<String> {
    let doc = resp.body().bytes()?;
    element(&String::from_utf8_lossy(&doc), "Code").map(str::to_owned)
}

/// Whether the request asked for `100 Continue`, and whether its body is empty.
pub(super) fn expects_continue<B>(req: &http::Request<B>) -> (bool, bool) {
    let h = req.headers();
    let expects = h
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let empty = h
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() == b"0");
    (expects, expects && empty)
}

/// Replaces the answer's body with `body` (its length follows).
pub(super) fn replace_body(resp: &mut s3s::HttpResponse, body: Vec<u8>) {
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    *resp.body_mut() = s3s::Body::from(bytes::Bytes::from(body));
}

/// The headers every answer carries: the request id, the host id and the server's name.
pub(super) fn stamp(h: &mut http::HeaderMap, request_id: &str, host_id: HeaderValue) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amz-request-id", v);
    }
    h.insert("x-amz-id-2", host_id);
    h.insert(header::SERVER, HeaderValue::from_static("RustFS"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_etag_is_unquoted() {
        let xml = br#"<R><ETag>"abc-2"</ETag><ObjectSize>3</ObjectSize></R>"#;
        assert_eq!(
            unquote_etag(xml).unwrap(),
            br#"<R><ETag>abc-2</ETag><ObjectSize>3</ObjectSize></R>"#.to_vec()
        );
        assert!(unquote_etag(b"<R><ObjectSize>3</ObjectSize></R>").is_none());
    }

    #[test]
    fn error_documents_get_the_request_id() {
        let xml = br#"<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>"#;
        let out = with_request_id(xml, "ABC", b"host").unwrap();
        assert_eq!(
            out,
            br#"<?xml version="1.0"?><Error><Code>NoSuchKey</Code><RequestId>ABC</RequestId><HostId>host</HostId></Error>"#.to_vec()
        );
        assert!(with_request_id(&out, "ABC", b"host").is_none());
        assert!(with_request_id(b"", "ABC", b"host").is_none());
    }

    #[test]
    fn elements_and_codes_are_read() {
        let doc = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert_eq!(element(doc, "Code"), Some("AccessDenied"));
        assert_eq!(element(doc, "Message"), Some("Access Denied"));
        assert_eq!(element(doc, "Resource"), None);
        let resp = http::Response::new(s3s::Body::from(doc.to_owned()));
        assert_eq!(error_code(&resp).as_deref(), Some("AccessDenied"));
    }
}
