//! `/api/s3/<rest>` → `/<rest>`: the request the S3 edge serves for the browser.

use http::Uri;
use http::uri::PathAndQuery;

/// The prefix under which the console forwards requests to the S3 edge.
pub const API_S3: &str = "/api/s3";

/// The URI without the `/api/s3` prefix (query kept, path left percent-encoded as sent), or
/// `None` when the path is not under the prefix (`/api/s3x` is not).
pub fn strip_api_prefix(uri: &Uri) -> Option<Uri> {
    let rest = uri.path().strip_prefix(API_S3)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let path = if rest.is_empty() { "/" } else { rest };
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let pq = PathAndQuery::try_from(pq).ok()?;
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(pq);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> Option<String> {
        strip_api_prefix(&s.parse::<Uri>().ok()?).map(|u| u.to_string())
    }

    #[test]
    fn the_prefix_goes_and_the_rest_stays() {
        assert_eq!(strip("/api/s3").as_deref(), Some("/"));
        assert_eq!(strip("/api/s3/").as_deref(), Some("/"));
        assert_eq!(strip("/api/s3/bucket").as_deref(), Some("/bucket"));
        assert_eq!(
            strip("/api/s3/bucket/a%20b/c%2Fd?uploadId=x%2By&partNumber=2").as_deref(),
            Some("/bucket/a%20b/c%2Fd?uploadId=x%2By&partNumber=2")
        );
        assert_eq!(strip("/api/s3/?versions").as_deref(), Some("/?versions"));
        assert_eq!(strip("/api/s3?x=1").as_deref(), Some("/?x=1"));
        // Double slashes in a key survive.
        assert_eq!(strip("/api/s3/b//k").as_deref(), Some("/b//k"));
    }

    #[test]
    fn other_paths_are_not_forwarded() {
        assert_eq!(strip("/api/s3x/bucket"), None);
        assert_eq!(strip("/api/config"), None);
        assert_eq!(strip("/"), None);
        assert_eq!(strip("/bucket/api/s3"), None);
    }

    #[test]
    fn an_absolute_form_uri_keeps_its_authority() {
        assert_eq!(
            strip("http://127.0.0.1:9001/api/s3/b/k?tagging").as_deref(),
            Some("http://127.0.0.1:9001/b/k?tagging")
        );
    }
}
