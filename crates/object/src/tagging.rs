//! Object and bucket tags: S3's limits, the `x-amz-tagging` query-string form, and the
//! metadata-only commit that replaces an object's tags without touching its bytes.

use crate::{ObjectError, ObjectStore, Result};

/// Tags as key/value pairs, sorted by key (the order S3 returns them in).
pub type TagSet = Vec<(String, String)>;

/// Most tags an object may carry.
pub const MAX_OBJECT_TAGS: usize = 10;
/// Most tags a bucket may carry.
pub const MAX_BUCKET_TAGS: usize = 50;
/// Longest tag key, in Unicode characters.
pub const MAX_KEY_CHARS: usize = 128;
/// Longest tag value, in Unicode characters.
pub const MAX_VALUE_CHARS: usize = 256;

/// Checks a tag set against S3's rules (count, key and value length, unique keys, no `aws:`
/// prefix) and returns it sorted by key.
pub fn validate(tags: TagSet, max: usize) -> Result<TagSet> {
    if tags.len() > max {
        return Err(ObjectError::InvalidTag(format!(
            "Object tags cannot be greater than {max}"
        )));
    }
    for (k, v) in &tags {
        if k.is_empty() || k.chars().count() > MAX_KEY_CHARS {
            return Err(ObjectError::InvalidTag(format!(
                "The TagKey you have provided is invalid: it must be 1 to {MAX_KEY_CHARS} characters long"
            )));
        }
        if v.chars().count() > MAX_VALUE_CHARS {
            return Err(ObjectError::InvalidTag(format!(
                "The TagValue you have provided is too long, max length is {MAX_VALUE_CHARS}"
            )));
        }
        if k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
            return Err(ObjectError::InvalidTag(
                "Your TagKey cannot be prefixed with aws:".into(),
            ));
        }
    }
    let mut sorted = tags;
    sorted.sort();
    if sorted.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(ObjectError::InvalidTag(
            "Cannot provide multiple Tags with the same key".into(),
        ));
    }
    Ok(sorted)
}

/// Parses the `x-amz-tagging` header form, `k1=v1&k2=v2` (URL-encoded; a pair without `=`
/// has an empty value), and validates it as object tags.
pub fn parse_query(s: &str) -> Result<TagSet> {
    let mut tags = TagSet::new();
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        tags.push((form_decode(k)?, form_decode(v)?));
    }
    validate(tags, MAX_OBJECT_TAGS)
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(s: &str) -> Result<String> {
    let bad = || {
        ObjectError::InvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.".into())
    };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

impl ObjectStore {
    /// Replaces an object's tags (an empty set removes them). Only the record changes: the
    /// commit checks the record is still the one read, so a concurrent overwrite is never
    /// lost, and no data file or blob is written or freed.
    pub async fn set_object_tags(&self, bucket: &str, key: &str, tags: TagSet) -> Result<()> {
        self.set_version_tags(bucket, key, None, tags).await
    }

    /// [`Self::set_object_tags`] of one version (`None`: the current one).
    pub async fn set_version_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        tags: TagSet,
    ) -> Result<()> {
        self.update_version(bucket, key, version, |_, rec| {
            rec.tags = tags.clone();
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// An object's tags (empty when it has none).
    pub async fn object_tags(&self, bucket: &str, key: &str) -> Result<TagSet> {
        Ok(self.head_object(bucket, key).await?.tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(n: usize) -> TagSet {
        (0..n)
            .map(|i| (format!("k{i:02}"), format!("v{i}")))
            .collect()
    }

    #[test]
    fn limits_follow_s3() {
        assert_eq!(validate(tags(10), MAX_OBJECT_TAGS).unwrap().len(), 10);
        assert!(matches!(
            validate(tags(11), MAX_OBJECT_TAGS),
            Err(ObjectError::InvalidTag(_))
        ));
        assert!(validate(tags(50), MAX_BUCKET_TAGS).is_ok());
        let long = |n| "é".repeat(n);
        assert!(validate(vec![(long(128), long(256))], 10).is_ok());
        assert!(validate(vec![(long(129), String::new())], 10).is_err());
        assert!(validate(vec![("k".into(), long(257))], 10).is_err());
        assert!(validate(vec![(String::new(), "v".into())], 10).is_err());
        assert!(validate(vec![("AWS:x".into(), "v".into())], 10).is_err());
        let dup = vec![("a".into(), "1".into()), ("a".into(), "2".into())];
        assert!(matches!(validate(dup, 10), Err(ObjectError::InvalidTag(_))));
    }

    #[test]
    fn query_form_is_decoded_and_sorted() {
        let t = parse_query("foo=bar&bar&a%20b=c+d").unwrap();
        assert_eq!(
            t,
            vec![
                ("a b".to_string(), "c d".to_string()),
                ("bar".into(), String::new()),
                ("foo".into(), "bar".into()),
            ]
        );
        assert!(parse_query("").unwrap().is_empty());
        assert!(matches!(
            parse_query("a=%zz"),
            Err(ObjectError::InvalidArgument(_))
        ));
        assert!(matches!(
            parse_query("a=%ff"),
            Err(ObjectError::InvalidArgument(_))
        ));
        assert!(matches!(
            parse_query("a=1&a=2"),
            Err(ObjectError::InvalidTag(_))
        ));
    }
}
