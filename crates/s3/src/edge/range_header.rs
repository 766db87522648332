//! A `Range` position beyond `i64::MAX` (s3s 0.14 refuses those with a `400`) is lowered to
//! `i64::MAX`, which no object reaches, before s3s parses the header: a last byte past the end
//! is then clamped to the object's size and served (`206`), as S3 does; a first byte past the
//! end stays unsatisfiable (`416`). The edge calls [`clamp_range`] first.
//!
//! A `Range` header covered by a SigV4 signature (named in `SignedHeaders` or
//! `X-Amz-SignedHeaders`) is only rewritten through [`super::sigv4_resign`]: the edge verifies
//! the signature with the user's secret, clamps, and signs the clamped request again. A
//! request whose signature does not verify there goes to s3s as sent (and gets s3s' answer).

use http::{HeaderMap, HeaderValue, Request, header};

use crate::auth::Keyring;

/// Whether a SigV4 signature (header or presigned URL) covers the `Range` header.
fn range_is_signed<B>(req: &Request<B>) -> bool {
    let names = |list: &str| list.split(';').any(|n| n.eq_ignore_ascii_case("range"));
    let in_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once("SignedHeaders="))
        .is_some_and(|(_, rest)| names(rest.split([',', ' ']).next().unwrap_or_default()));
    let in_query = req.uri().query().is_some_and(|q| {
        q.split('&').any(|pair| {
            pair.split_once('=').is_some_and(|(k, v)| {
                k == "X-Amz-SignedHeaders"
                    && percent_encoding::percent_decode_str(v)
                        .decode_utf8()
                        .is_ok_and(|v| names(&v))
            })
        })
    });
    in_header || in_query
}

/// [`clamp_positions`] on a request's `Range` header; when a signature covers it, only after
/// verifying that signature, and then re-signed with the same credentials (`keys`; without
/// them a signed `Range` is left alone).
pub fn clamp_range<B>(req: &mut Request<B>, keys: Option<&Keyring>) {
    let Some(range) = req.headers().get(header::RANGE) else {
        return;
    };
    let mut clamped = HeaderMap::new();
    clamped.insert(header::RANGE, range.clone());
    if !clamp_positions(&mut clamped) {
        return;
    }
    if !range_is_signed(req) {
        clamp_positions(req.headers_mut());
    } else if let Some(keys) = keys {
        super::sigv4_resign::resign(req, keys, |h| {
            clamp_positions(h);
        });
    }
}

/// Lowers every `Range` position beyond `i64::MAX` to `i64::MAX` (see the module doc).
/// Returns whether it changed the header.
fn clamp_positions(headers: &mut HeaderMap) -> bool {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
    else {
        return false;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return false;
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || !digits(last) || (first.is_empty() && last.is_empty()) {
        return false;
    }
    let clamp = |s: &str| -> Option<String> {
        let significant = s.trim_start_matches('0');
        let max = i64::MAX.to_string();
        let over = significant.len() > max.len()
            || (significant.len() == max.len() && significant > max.as_str());
        over.then_some(max)
    };
    let (new_first, new_last) = (clamp(first), clamp(last));
    if new_first.is_none() && new_last.is_none() {
        return false;
    }
    let fixed = format!(
        "bytes={}-{}",
        new_first.as_deref().unwrap_or(first),
        new_last.as_deref().unwrap_or(last)
    );
    match HeaderValue::from_str(&fixed) {
        Ok(v) => {
            headers.insert(header::RANGE, v);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range_after(v: &str) -> String {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, v.parse().unwrap());
        clamp_positions(&mut h);
        h.get(header::RANGE).unwrap().to_str().unwrap().to_string()
    }

    #[test]
    fn ranges_beyond_i64_are_clamped() {
        let max = i64::MAX;
        assert_eq!(range_after("bytes=0-99"), "bytes=0-99");
        assert_eq!(
            range_after(&format!("bytes=0-{max}")),
            format!("bytes=0-{max}")
        );
        assert_eq!(
            range_after("bytes=0-18446744073709551615"),
            format!("bytes=0-{max}")
        );
        assert_eq!(
            range_after("bytes=0-99999999999999999999999999"),
            format!("bytes=0-{max}")
        );
        assert_eq!(
            range_after("bytes=99999999999999999999999999-"),
            format!("bytes={max}-")
        );
        assert_eq!(
            range_after("bytes=-99999999999999999999999999"),
            format!("bytes=-{max}")
        );
        assert_eq!(
            range_after("bytes=0-0000000000000000000000000005"),
            "bytes=0-0000000000000000000000000005"
        );
        for untouched in [
            "bytes=a-b",
            "bytes=-",
            "items=0-99999999999999999999",
            "bytes=0-1,2-3",
        ] {
            assert_eq!(range_after(untouched), untouched);
        }
    }

    #[test]
    fn signed_ranges_are_left_alone() {
        let huge = "bytes=0-18446744073709551615";
        let run = |uri: &str, auth: Option<&str>| {
            let mut b = Request::builder().uri(uri).header("range", huge);
            if let Some(a) = auth {
                b = b.header("authorization", a);
            }
            let mut req = b.body(()).unwrap();
            clamp_range(&mut req, None);
            req.headers()["range"].to_str().unwrap().to_string()
        };
        let clamped = format!("bytes=0-{}", i64::MAX);
        assert_eq!(run("/b/k", None), clamped);
        assert_eq!(run("/b/k?X-Amz-SignedHeaders=host", None), clamped);
        assert_eq!(
            run("/b/k", Some("AWS AK:sig")),
            clamped,
            "SigV2 signs no Range"
        );
        let v4 = |signed: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders={signed}, Signature=00"
            )
        };
        assert_eq!(run("/b/k", Some(&v4("host;x-amz-date"))), clamped);
        assert_eq!(run("/b/k", Some(&v4("host;range;x-amz-date"))), huge);
        assert_eq!(run("/b/k?X-Amz-SignedHeaders=host%3Brange", None), huge);
    }
}
