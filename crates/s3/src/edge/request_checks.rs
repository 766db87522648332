//! Requests S3 answers differently from how s3s 0.14 would, caught before s3s sees them:
//! - a path that percent-decodes to a C1 control character (U+0080 to U+009F) or to bytes
//!   that are not UTF-8 is `400 InvalidURI` ("Couldn't parse the specified URI."), as S3
//!   answers; s3s would look the key up;
//! - a presigned URL with a negative `X-Amz-Expires` has expired: `403 AccessDenied`, as S3
//!   answers; s3s refuses the parameter with a `400`;
//! - an empty `Content-MD5` is `400 InvalidDigest`; s3s treats empty headers as absent;
//! - a SigV4 request without `x-amz-date` takes its time from `Date`, as AWS documents; s3s
//!   reads only `x-amz-date`, so the `Date` value is copied there in SigV4's form (an unsigned
//!   header, so the canonical request is unchanged; the signature still covers `Date`);

use http::{HeaderMap, HeaderValue, Request, header};
use s3s::dto::{Timestamp, TimestampFormat};

use super::request_error::RequestError;

/// Why S3 refuses the request before routing, if it does.
pub(crate) fn refusal<B>(req: &Request<B>) -> Option<RequestError> {
    unparseable_path(req.uri().path())
        .or_else(|| expired_presigned(req.uri().query()))
        .or_else(|| empty_content_md5(req.headers()))
}

// s3s 0.14 treats an empty header as absent.
fn empty_content_md5(headers: &HeaderMap) -> Option<RequestError> {
    let empty = headers
        .get("content-md5")
        .is_some_and(|v| v.as_bytes().trim_ascii().is_empty());
    empty.then_some(RequestError::EmptyContentMd5)
}

/// An HTTP date: IMF-fixdate (`GMT`), or RFC 2822 with a numeric zone (Python's
/// `formatdate()` writes `-0000`).
fn http_date(v: &str) -> Option<time::OffsetDateTime> {
    Timestamp::parse(TimestampFormat::HttpDate, v)
        .map(time::OffsetDateTime::from)
        .ok()
        .or_else(|| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()
        })
}

/// Gives a SigV4 header-signed request without `x-amz-date` the time of its `Date` header
/// (s3s 0.14 reads only `x-amz-date`).
pub(crate) fn sigv4_date_from_date_header(headers: &mut HeaderMap) {
    let v4 = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS4-HMAC-SHA256 "));
    if !v4 || headers.contains_key("x-amz-date") {
        return;
    }
    let Some(date) = headers
        .get(header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| http_date(v.trim()))
    else {
        return;
    };
    let t = date.to_offset(time::UtcOffset::UTC);
    let basic = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if let Ok(v) = HeaderValue::from_str(&basic) {
        headers.insert("x-amz-date", v);
    }
}

// s3s 0.14 would look the key up.
fn unparseable_path(path: &str) -> Option<RequestError> {
    // The common case, a plain ASCII path without escapes, needs no decoding (and no buffer).
    if !path.bytes().any(|b| b == b'%' || !b.is_ascii()) {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(path).collect::<Vec<u8>>();
    let bad = match std::str::from_utf8(&decoded) {
        Ok(s) => s.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
        Err(_) => true,
    };
    bad.then_some(RequestError::UnparseablePath)
}

// s3s 0.14 refuses the parameter with a `400`.
fn expired_presigned(query: Option<&str>) -> Option<RequestError> {
    let negative = query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .any(|(k, v)| k == "X-Amz-Expires" && v.starts_with('-'));
    negative.then_some(RequestError::PresignedExpired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(uri: &str) -> Option<String> {
        let req = Request::get(uri).body(()).unwrap();
        refusal(&req).map(|e| crate::errors::request(e).code().as_str().to_owned())
    }

    #[test]
    fn c1_controls_and_broken_utf8_are_unparseable() {
        assert_eq!(code("/bkt/%C2%AE%C2%8A-").as_deref(), Some("InvalidURI"));
        assert_eq!(code("/bkt/%FF").as_deref(), Some("InvalidURI"));
        assert_eq!(code("/bkt/%C2%AE-%E2%82%AC%0A%01").as_deref(), None);
        assert_eq!(code("/bkt/a%20b?prefix=%C2%8A").as_deref(), None);
    }

    #[test]
    fn empty_content_md5_is_invalid() {
        let req = Request::put("/b/k")
            .header("content-md5", "")
            .body(())
            .unwrap();
        assert!(matches!(refusal(&req), Some(RequestError::EmptyContentMd5)));
        let req = Request::put("/b/k")
            .header("content-md5", "x")
            .body(())
            .unwrap();
        assert!(refusal(&req).is_none());
    }

    #[test]
    fn sigv4_time_comes_from_date_without_x_amz_date() {
        let amz_date = |auth: &'static str, date: &'static str, own: Option<&'static str>| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(auth));
            h.insert(header::DATE, HeaderValue::from_static(date));
            if let Some(own) = own {
                h.insert("x-amz-date", HeaderValue::from_static(own));
            }
            sigv4_date_from_date_header(&mut h);
            h.get("x-amz-date").map(|v| v.to_str().unwrap().to_owned())
        };
        let v4 = "AWS4-HMAC-SHA256 Cred";
        for date in [
            "Sun, 22 Nov 2026 03:35:25 GMT",
            "Sun, 22 Nov 2026 05:35:25 +0200",
            "Sun, 22 Nov 2026 03:35:25 -0000",
        ] {
            assert_eq!(
                amz_date(v4, date, None).as_deref(),
                Some("20261122T033525Z")
            );
        }
        // An x-amz-date of its own wins; SigV2 requests are left alone.
        let own = Some("20200101T000000Z");
        assert_eq!(
            amz_date(v4, "Sun, 22 Nov 2026 03:35:25 GMT", own),
            own.map(String::from)
        );
        assert_eq!(
            amz_date("AWS ak:sig", "Sun, 22 Nov 2026 03:35:25 GMT", None),
            None
        );
    }

    #[test]
    fn negative_expiry_is_expired() {
        assert_eq!(
            code("/b/k?X-Amz-Expires=-7&X-Amz-Date=x").as_deref(),
            Some("AccessDenied")
        );
        assert_eq!(code("/b/k?X-Amz-Expires=7").as_deref(), None);
    }
}
