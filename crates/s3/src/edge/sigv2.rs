//! SigV2 requests, before s3s verifies them:
//! - the time check S3 makes before the signature (s3s 0.14 checks no SigV2 request time);
//! - a path-style bucket request reaches s3s as `/bucket/` (s3s 0.14 canonicalizes `/bucket`
//!   without the slash that AWS's CanonicalizedResource, and so every client, signs).

use http::{HeaderMap, Request, header};

use super::request_error::RequestError;

/// How far a SigV2 request's time may be from ours, as in S3.
const MAX_SKEW_SECS: i64 = 15 * 60;

fn is_v2_header(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS "))
}

/// The time check S3 makes on a SigV2 (`Authorization: AWS ...`) request before its
/// signature: the `x-amz-date` (or else `Date`) header must be a valid HTTP date after 1970
/// (`V2DateInvalid`) within 15 minutes of the server's clock (`RequestTimeTooSkewed`).
/// Other requests pass untouched.
pub(crate) fn check_request_time(
    headers: &HeaderMap,
    now: time::OffsetDateTime,
) -> Result<(), RequestError> {
    if !is_v2_header(headers) {
        return Ok(());
    }
    let raw = headers
        .get("x-amz-date")
        .or_else(|| headers.get(header::DATE))
        .and_then(|v| v.to_str().ok())
        .ok_or(RequestError::V2DateInvalid)?;
    let t = s3s::dto::Timestamp::parse(s3s::dto::TimestampFormat::HttpDate, raw.trim())
        .map(time::OffsetDateTime::from)
        .map_err(|_| RequestError::V2DateInvalid)?;
    if t.year() < 1970 {
        return Err(RequestError::V2DateInvalid);
    }
    if (now - t).whole_seconds().abs() > MAX_SKEW_SECS {
        return Err(RequestError::RequestTimeTooSkewed);
    }
    Ok(())
}

/// `/bucket` becomes `/bucket/` for a path-style SigV2 request (header or query signature);
/// the route is the same either way. `virtual_hosted`: the host names the bucket.
pub(crate) fn slash_bucket_path<B>(req: &mut Request<B>, virtual_hosted: bool) {
    let v2_query = req
        .uri()
        .query()
        .is_some_and(|q| q.contains("AWSAccessKeyId=") && q.contains("Signature="));
    let path = req.uri().path();
    let one_segment = path.len() > 1 && !path[1..].contains('/');
    if !(is_v2_header(req.headers()) || v2_query) || !one_segment || virtual_hosted {
        return;
    }
    let fixed = match req.uri().query() {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = fixed.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_request_times_are_checked() {
        let now = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let mut h = http::HeaderMap::new();
        assert!(check_request_time(&h, now).is_ok(), "not SigV2");
        h.insert("authorization", "AWS k:sig".parse().unwrap());
        let err = |h: &http::HeaderMap| check_request_time(h, now).err();
        assert!(matches!(err(&h), Some(RequestError::V2DateInvalid)));
        h.insert("date", "Fri, 02 Jan 2026 03:10:00 GMT".parse().unwrap());
        assert!(err(&h).is_none());
        h.insert(
            "x-amz-date",
            "Tue, 07 Jul 2010 21:53:04 GMT".parse().unwrap(),
        );
        assert!(matches!(err(&h), Some(RequestError::RequestTimeTooSkewed)));
        h.insert(
            "x-amz-date",
            "Tue, 07 Jul 1950 21:53:04 GMT".parse().unwrap(),
        );
        assert!(matches!(err(&h), Some(RequestError::V2DateInvalid)));
        h.insert("x-amz-date", "garbage".parse().unwrap());
        assert!(matches!(err(&h), Some(RequestError::V2DateInvalid)));
    }

    #[test]
    fn v2_bucket_paths_get_their_slash() {
        let fixed = |uri: &str, auth: Option<&str>, vhost: bool| {
            let mut b = Request::get(uri);
            if let Some(a) = auth {
                b = b.header(header::AUTHORIZATION, a);
            }
            let mut req = b.body(()).unwrap();
            slash_bucket_path(&mut req, vhost);
            req.uri().to_string()
        };
        assert_eq!(fixed("/b", Some("AWS ak:sig"), false), "/b/");
        assert_eq!(fixed("/b?acl", Some("AWS ak:sig"), false), "/b/?acl");
        assert_eq!(
            fixed("/b?AWSAccessKeyId=a&Signature=s", None, false),
            "/b/?AWSAccessKeyId=a&Signature=s"
        );
        assert_eq!(fixed("/b", None, false), "/b");
        assert_eq!(fixed("/b", Some("AWS4-HMAC-SHA256 x"), false), "/b");
        assert_eq!(fixed("/b/k", Some("AWS ak:sig"), false), "/b/k");
        assert_eq!(fixed("/k", Some("AWS ak:sig"), true), "/k");
    }
}
