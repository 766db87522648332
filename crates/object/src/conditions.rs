//! Conditional requests: If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since on
//! reads, copy sources and writes, evaluated as RFC 9110 and S3 define.

use crate::ObjectError;

/// An entity-tag condition value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtagMatch {
    /// `*`: any existing object.
    Any,
    /// One or more entity tags, without quotes.
    Tags(Vec<String>),
}

impl EtagMatch {
    /// Parses a header value: `*`, or a comma-separated list of (optionally weak, quoted) tags.
    pub fn parse(header: &str) -> Self {
        let h = header.trim();
        if h == "*" {
            return EtagMatch::Any;
        }
        let tags = h
            .split(',')
            .map(|t| {
                t.trim()
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .to_string()
            })
            .filter(|t| !t.is_empty())
            .collect();
        EtagMatch::Tags(tags)
    }

    pub fn matches(&self, etag: &str) -> bool {
        match self {
            EtagMatch::Any => true,
            EtagMatch::Tags(t) => t.iter().any(|t| t == etag),
        }
    }
}

/// The four read preconditions. Times are Unix seconds (HTTP dates have second precision).
#[derive(Debug, Clone, Default)]
pub struct ReadConditions {
    pub if_match: Option<EtagMatch>,
    pub if_none_match: Option<EtagMatch>,
    pub if_modified_since: Option<i64>,
    pub if_unmodified_since: Option<i64>,
}

impl ReadConditions {
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// GET/HEAD semantics: failures of If-Match/If-Unmodified-Since are 412, of If-None-Match/
    /// If-Modified-Since 304. An If-Match that holds overrides If-Unmodified-Since; an
    /// If-None-Match present overrides If-Modified-Since.
    pub fn check_read(&self, etag: &str, last_modified_ms: i64) -> Result<(), ObjectError> {
        let lm = last_modified_ms.div_euclid(1000);
        match &self.if_match {
            Some(m) if !m.matches(etag) => return Err(ObjectError::PreconditionFailed),
            Some(_) => {}
            None => {
                if self.if_unmodified_since.is_some_and(|t| lm > t) {
                    return Err(ObjectError::PreconditionFailed);
                }
            }
        }
        match &self.if_none_match {
            Some(m) if m.matches(etag) => return Err(ObjectError::NotModified),
            Some(_) => {}
            None => {
                if self.if_modified_since.is_some_and(|t| lm <= t) {
                    return Err(ObjectError::NotModified);
                }
            }
        }
        Ok(())
    }

    /// Copy-source semantics (`x-amz-copy-source-if-*`): every failure is 412. S3 lets a
    /// matching If-Match win over a failing If-Unmodified-Since, and a non-matching
    /// If-None-Match win over a failing If-Modified-Since.
    pub fn check_copy_source(&self, etag: &str, last_modified_ms: i64) -> Result<(), ObjectError> {
        self.check_read(etag, last_modified_ms)
            .map_err(|e| match e {
                ObjectError::NotModified => ObjectError::PreconditionFailed,
                other => other,
            })
    }
}

/// Write preconditions: `If-None-Match: *` (create only) and `If-Match: etag` (replace only
/// that version).
#[derive(Debug, Clone, Default)]
pub struct WriteConditions {
    pub if_match: Option<EtagMatch>,
    pub if_none_match: Option<EtagMatch>,
}

impl WriteConditions {
    /// Checks against the current object's ETag (`None` when there is no object).
    pub fn check(&self, current: Option<&str>) -> Result<(), ObjectError> {
        if let Some(m) = &self.if_none_match {
            match (m, current) {
                (EtagMatch::Any, Some(_)) => return Err(ObjectError::PreconditionFailed),
                (EtagMatch::Tags(_), Some(e)) if m.matches(e) => {
                    return Err(ObjectError::PreconditionFailed);
                }
                _ => {}
            }
        }
        if let Some(m) = &self.if_match {
            match current {
                // S3 answers 404 NoSuchKey when If-Match names an object that does not exist.
                None => return Err(ObjectError::NoSuchKey),
                Some(e) if !m.matches(e) => return Err(ObjectError::PreconditionFailed),
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.if_none_match.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond() -> ReadConditions {
        ReadConditions::default()
    }

    #[test]
    fn etag_parsing() {
        assert_eq!(EtagMatch::parse(" * "), EtagMatch::Any);
        assert_eq!(
            EtagMatch::parse("\"a\", W/\"b\""),
            EtagMatch::Tags(vec!["a".into(), "b".into()])
        );
        assert!(EtagMatch::parse("\"abc\"").matches("abc"));
    }

    #[test]
    fn read_conditions_follow_rfc_precedence() {
        let lm = 10_500; // 10.5 s
        let mut c = cond();
        c.if_match = Some(EtagMatch::parse("\"x\""));
        assert!(matches!(
            c.check_read("y", lm),
            Err(ObjectError::PreconditionFailed)
        ));
        c.if_unmodified_since = Some(0);
        assert!(
            c.check_read("x", lm).is_ok(),
            "If-Match true overrides If-Unmodified-Since"
        );

        let mut c = cond();
        c.if_unmodified_since = Some(9);
        assert!(matches!(
            c.check_read("x", lm),
            Err(ObjectError::PreconditionFailed)
        ));
        c.if_unmodified_since = Some(10);
        assert!(c.check_read("x", lm).is_ok(), "second precision");

        let mut c = cond();
        c.if_none_match = Some(EtagMatch::parse("\"x\""));
        assert!(matches!(
            c.check_read("x", lm),
            Err(ObjectError::NotModified)
        ));
        c.if_modified_since = Some(100);
        assert!(
            c.check_read("y", lm).is_ok(),
            "If-None-Match false overrides If-Modified-Since"
        );

        let mut c = cond();
        c.if_modified_since = Some(10);
        assert!(matches!(
            c.check_read("x", lm),
            Err(ObjectError::NotModified)
        ));
        assert!(matches!(
            c.check_copy_source("x", lm),
            Err(ObjectError::PreconditionFailed)
        ));
        c.if_modified_since = Some(9);
        assert!(c.check_read("x", lm).is_ok());
    }

    #[test]
    fn write_conditions() {
        let create_only = WriteConditions {
            if_none_match: Some(EtagMatch::Any),
            if_match: None,
        };
        assert!(create_only.check(None).is_ok());
        assert!(matches!(
            create_only.check(Some("e")),
            Err(ObjectError::PreconditionFailed)
        ));
        let replace = WriteConditions {
            if_match: Some(EtagMatch::parse("\"e\"")),
            if_none_match: None,
        };
        assert!(replace.check(Some("e")).is_ok());
        assert!(matches!(
            replace.check(Some("f")),
            Err(ObjectError::PreconditionFailed)
        ));
        assert!(matches!(replace.check(None), Err(ObjectError::NoSuchKey)));
    }
}
