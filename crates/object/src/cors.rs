//! CORS rules as S3 defines them: which configurations PutBucketCors accepts, and which rule
//! (the first that matches) governs a request from an origin. The S3 edge turns a match into
//! `Access-Control-*` headers.

use rustfs_meta::CorsRule;

use crate::{ObjectError, Result};

/// Most rules a CORS configuration may hold.
pub const MAX_RULES: usize = 100;
/// The methods a rule may allow.
pub const METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];
/// Longest rule id.
const MAX_ID_CHARS: usize = 255;

/// Checks a configuration as PutBucketCors does.
pub fn validate(rules: &[CorsRule]) -> Result<()> {
    if rules.is_empty() {
        return Err(ObjectError::MalformedXml(
            "a CORS configuration needs at least one CORSRule".into(),
        ));
    }
    if rules.len() > MAX_RULES {
        return Err(ObjectError::MalformedXml(format!(
            "a CORS configuration can have at most {MAX_RULES} rules"
        )));
    }
    for r in rules {
        if r.allowed_methods.is_empty() || r.allowed_origins.is_empty() {
            return Err(ObjectError::MalformedXml(
                "each CORSRule needs at least one AllowedMethod and one AllowedOrigin".into(),
            ));
        }
        if r.id
            .as_ref()
            .is_some_and(|id| id.chars().count() > MAX_ID_CHARS)
        {
            return Err(ObjectError::InvalidArgument(format!(
                "The ID of a CORSRule must be at most {MAX_ID_CHARS} characters"
            )));
        }
        if let Some(m) = r
            .allowed_methods
            .iter()
            .find(|m| !METHODS.contains(&m.as_str()))
        {
            return Err(ObjectError::InvalidRequest(format!(
                "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
            )));
        }
        if let Some(o) = r
            .allowed_origins
            .iter()
            .find(|o| o.matches('*').count() > 1)
        {
            return Err(ObjectError::InvalidRequest(format!(
                "AllowedOrigin \"{o}\" can not have more than one wildcard."
            )));
        }
        if let Some(h) = r
            .allowed_headers
            .iter()
            .find(|h| h.matches('*').count() > 1)
        {
            return Err(ObjectError::InvalidRequest(format!(
                "AllowedHeader \"{h}\" can not have more than one wildcard."
            )));
        }
        if let Some(h) = r.expose_headers.iter().find(|h| h.contains('*')) {
            return Err(ObjectError::InvalidRequest(format!(
                "ExposeHeader \"{h}\" contains wildcard. We currently do not support wildcard for ExposeHeader."
            )));
        }
    }
    Ok(())
}

/// Matches `value` against a pattern with at most one `*` (any run of characters).
fn wildcard_match(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((prefix, suffix)) => {
            value.len() >= prefix.len() + suffix.len()
                && value.starts_with(prefix)
                && value.ends_with(suffix)
        }
    }
}

/// True when the rule's origin that matches `origin` is the bare `*` (then S3 answers
/// `Access-Control-Allow-Origin: *`).
pub fn allows_any_origin(rule: &CorsRule) -> bool {
    rule.allowed_origins.iter().any(|o| o == "*")
}

/// The first rule allowing `origin` to use `method` with the `headers` it asks for
/// (header names compare case-insensitively, as HTTP's do).
pub fn find_rule<'a>(
    rules: &'a [CorsRule],
    origin: &str,
    method: &str,
    headers: &[&str],
) -> Option<&'a CorsRule> {
    rules.iter().find(|r| {
        r.allowed_origins.iter().any(|o| wildcard_match(o, origin))
            && r.allowed_methods.iter().any(|m| m == method)
            && headers.iter().all(|h| {
                let h = h.to_ascii_lowercase();
                r.allowed_headers
                    .iter()
                    .any(|a| wildcard_match(&a.to_ascii_lowercase(), &h))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(methods: &[&str], origins: &[&str], headers: &[&str]) -> CorsRule {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        CorsRule {
            allowed_methods: v(methods),
            allowed_origins: v(origins),
            allowed_headers: v(headers),
            ..Default::default()
        }
    }

    #[test]
    fn origins_match_with_one_wildcard() {
        let rules = [
            rule(&["GET"], &["*suffix"], &[]),
            rule(&["GET"], &["start*end"], &[]),
            rule(&["GET"], &["prefix*"], &[]),
            rule(&["PUT"], &["*.put"], &[]),
        ];
        let hit = |o: &str, m: &str| find_rule(&rules, o, m, &[]).is_some();
        assert!(hit("foo.suffix", "GET"));
        assert!(!hit("foo.bar", "GET"));
        assert!(!hit("foo.suffix.get", "GET"));
        assert!(hit("startend", "GET"));
        assert!(hit("start12end", "GET"));
        assert!(!hit("0start12end", "GET"));
        assert!(hit("prefix", "GET"));
        assert!(!hit("bla.prefix", "GET"));
        assert!(!hit("foo.put", "GET"));
        assert!(hit("foo.put", "PUT"));
        assert!(!hit("foo.suffix", "PUT"));
    }

    #[test]
    fn requested_headers_must_all_be_allowed() {
        let rules = [rule(&["GET"], &["*"], &["x-amz-meta-*", "Content-Type"])];
        assert!(find_rule(&rules, "o", "GET", &["X-Amz-Meta-A", "content-type"]).is_some());
        assert!(find_rule(&rules, "o", "GET", &["authorization"]).is_none());
        let none = [rule(&["GET"], &["*"], &[])];
        assert!(find_rule(&none, "o", "GET", &["x-amz-meta-header2"]).is_none());
        assert!(allows_any_origin(&none[0]));
    }

    #[test]
    fn configurations_are_validated() {
        assert!(validate(&[rule(&["GET", "PUT"], &["*.get"], &["*"])]).is_ok());
        assert!(validate(&[]).is_err());
        assert!(matches!(
            validate(&[rule(&["PATCH"], &["*"], &[])]),
            Err(ObjectError::InvalidRequest(_))
        ));
        assert!(validate(&[rule(&["GET"], &["*a*"], &[])]).is_err());
        assert!(validate(&[rule(&["GET"], &["a"], &["**"])]).is_err());
        assert!(validate(&[rule(&[], &["a"], &[])]).is_err());
        let mut exposed = rule(&["GET"], &["a"], &[]);
        exposed.expose_headers = vec!["*".into()];
        assert!(validate(&[exposed]).is_err());
    }
}
