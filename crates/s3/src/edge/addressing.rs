//! Which bucket and key a request addresses, as the edge needs to know before s3s routes it:
//! `BUCKET.DOMAIN` for a configured virtual-host domain (`crate::host::Domains`, the same
//! parser s3s is given), else path style.

use http::{HeaderMap, Request, Uri, header};

use crate::host::Domains;

/// The bucket a host names in virtual-hosted style, if any.
fn vhost_bucket(domains: Option<&Domains>, uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let d = domains?;
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .or_else(|| uri.host())?;
    d.bucket_of(host).map(|(b, _)| b)
}

/// The bucket a request addresses: `BUCKET.DOMAIN` for a configured domain, else the first
/// path segment.
pub(crate) fn request_bucket(
    domains: Option<&Domains>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<String> {
    vhost_bucket(domains, uri, headers).or_else(|| {
        let first = uri.path().trim_start_matches('/').split('/').next()?;
        (!first.is_empty()).then(|| first.to_string())
    })
}

/// Whether the request names its bucket in the host (virtual-hosted style).
pub(crate) fn virtual_hosted<B>(domains: Option<&Domains>, req: &Request<B>) -> bool {
    vhost_bucket(domains, req.uri(), req.headers()).is_some()
}

/// Whether the request's path names an object (not a bucket, nor the service).
pub(crate) fn names_object<B>(domains: Option<&Domains>, req: &Request<B>) -> bool {
    let path = req.uri().path().trim_start_matches('/');
    if virtual_hosted(domains, req) {
        return !path.is_empty();
    }
    path.split_once('/').is_some_and(|(_, key)| !key.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn bucket(domains: Option<&Domains>, host: &str, uri: &str) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        request_bucket(domains, &uri.parse().unwrap(), &h)
    }

    #[test]
    fn the_bucket_comes_from_the_host_or_the_path() {
        let d = Domains::new(["s3.example.com"]).unwrap();
        assert_eq!(
            bucket(None, "127.0.0.1:9000", "/b/k/x?uploads").as_deref(),
            Some("b")
        );
        assert_eq!(bucket(None, "127.0.0.1:9000", "/b").as_deref(), Some("b"));
        assert_eq!(bucket(None, "127.0.0.1:9000", "/"), None);
        assert_eq!(
            bucket(Some(&d), "v.s3.example.com:9000", "/k").as_deref(),
            Some("v")
        );
        assert_eq!(
            bucket(Some(&d), "s3.example.com", "/p/k").as_deref(),
            Some("p")
        );
    }

    #[test]
    fn objects_are_named_by_path_or_host() {
        let d = Domains::new(["s3.example.com"]).unwrap();
        let req = |host: &str, path: &str| {
            Request::get(path)
                .header(header::HOST, host)
                .body(())
                .unwrap()
        };
        assert!(names_object(Some(&d), &req("b.s3.example.com", "/k")));
        assert!(!names_object(Some(&d), &req("b.s3.example.com", "/")));
        assert!(names_object(Some(&d), &req("s3.example.com", "/b/k")));
        assert!(!names_object(Some(&d), &req("s3.example.com", "/b/")));
        assert!(!names_object(None, &req("localhost", "/b")));
        assert!(virtual_hosted(Some(&d), &req("b.s3.example.com:9000", "/")));
        assert!(!virtual_hosted(None, &req("b.s3.example.com", "/")));
    }
}
