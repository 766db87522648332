//! The SigV4 credential scope's region, checked before s3s verifies the signature (s3s 0.14
//! accepts a scope naming any region).

use super::request_error::RequestError;

/// The region a credential scope (`AK/date/region/service/aws4_request`) names, when it has
/// that shape.
fn scope_region(credential: &str) -> Option<&str> {
    let mut parts = credential.rsplitn(5, '/');
    let (_terminator, _service, region, _date, _key) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    Some(region)
}

/// The `Credential=` value of a SigV4 `Authorization` header.
fn header_credential(headers: &http::HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let rest = v.strip_prefix("AWS4-HMAC-SHA256")?;
    let at = rest.find("Credential=")? + "Credential=".len();
    let cred = &rest[at..];
    let end = cred.find([',', ' ']).unwrap_or(cred.len());
    Some(&cred[..end])
}

/// The decoded `X-Amz-Credential` of a SigV4 presigned URL.
fn query_credential(query: Option<&str>) -> Option<String> {
    let query = query?;
    let mut v4 = false;
    let mut cred = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "X-Amz-Algorithm" => v4 = v == "AWS4-HMAC-SHA256",
            "X-Amz-Credential" => {
                cred = Some(percent_encoding::percent_decode_str(v).decode_utf8().ok()?)
            }
            _ => {}
        }
    }
    v4.then_some(cred).flatten().map(|c| c.into_owned())
}

/// The region check S3 makes on a SigV4 request: a credential scope naming another region than
/// the server's is refused (`400 AuthorizationHeaderMalformed` for a header signature,
/// `400 AuthorizationQueryParametersError` for a presigned URL, with the expected `<Region>`
/// in the error document so SDKs can retry in the right region). s3s 0.14 verifies the
/// signature with whatever region the scope names and checks nothing else. An empty server
/// region accepts any, and the admin API accepts any region, as in MinIO (admin clients sign
/// with an empty one).
pub(crate) fn check<B>(req: &http::Request<B>, expected: &str) -> Result<(), RequestError> {
    if expected.is_empty() || crate::admin::is_admin_path(req.uri().path()) {
        return Ok(());
    }
    let (presigned, got) = if let Some(cred) = header_credential(req.headers()) {
        match scope_region(cred) {
            Some(r) => (false, r.to_string()),
            None => return Ok(()),
        }
    } else {
        let Some(cred) = query_credential(req.uri().query()) else {
            return Ok(());
        };
        match scope_region(&cred) {
            Some(r) => (true, r.to_string()),
            None => return Ok(()),
        }
    };
    if crate::auth::same_region(&got, expected) {
        return Ok(());
    }
    Err(RequestError::WrongRegion {
        presigned,
        got,
        expected: expected.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(req: http::Request<()>) -> Option<(u16, String)> {
        let resp = crate::errors::request_response(check(&req, "us-east-1").err()?);
        let body = resp.body().bytes().expect("a buffered body");
        Some((
            resp.status().as_u16(),
            String::from_utf8(body.to_vec()).unwrap(),
        ))
    }

    fn signed(region: &str, path: &str) -> http::Request<()> {
        http::Request::builder()
            .uri(path)
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=AK/20260101/{region}/s3/aws4_request, SignedHeaders=host, Signature=00"),
            )
            .body(())
            .unwrap()
    }

    #[test]
    fn header_signatures_name_the_server_region() {
        assert!(refusal(signed("us-east-1", "/b/k")).is_none());
        assert!(
            refusal(signed("US", "/b/k")).is_some(),
            "s3s refuses `US` anyway"
        );
        let (status, body) = refusal(signed("eu-west-1", "/b/k")).unwrap();
        assert_eq!(status, 400);
        assert!(
            body.contains("<Code>AuthorizationHeaderMalformed</Code>"),
            "{body}"
        );
        assert!(body.contains("the region 'eu-west-1' is wrong; expecting 'us-east-1'"));
        assert!(body.contains("<Region>us-east-1</Region>"));
        assert!(refusal(signed("", "/rustfs/admin/v3/info")).is_none());
        assert!(refusal(signed("", "/minio/admin/v3/info")).is_none());
        assert!(refusal(signed("", "/b/k")).is_some());
    }

    #[test]
    fn presigned_urls_name_the_server_region() {
        let url = |region: &str| {
            http::Request::builder()
                .uri(format!("/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101%2F{region}%2Fs3%2Faws4_request&X-Amz-Signature=00"))
                .body(())
                .unwrap()
        };
        assert!(refusal(url("us-east-1")).is_none());
        let (status, body) = refusal(url("eu-west-1")).unwrap();
        assert_eq!(status, 400);
        assert!(body.contains("<Code>AuthorizationQueryParametersError</Code>"));
        assert!(body.contains("<Region>us-east-1</Region>"));
        let unsigned = http::Request::builder().uri("/b/k?x=1").body(()).unwrap();
        assert!(refusal(unsigned).is_none());
        let v2 = http::Request::builder()
            .uri("/b/k")
            .header("authorization", "AWS AK:sig")
            .body(())
            .unwrap();
        assert!(refusal(v2).is_none());
    }
}
