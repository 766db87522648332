//! Parsed bucket policies, kept per bucket and reused while the stored document is unchanged,
//! so an access check does not parse the policy's JSON on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustfs_object::policy::Policy;

/// Buckets whose parsed policy is kept; past this the cache starts over (a bound, not an LRU:
/// a server with more buckets with policies than this parses some again).
const MAX_ENTRIES: usize = 4096;

struct Entry {
    text: String,
    policy: Arc<Policy>,
}

#[derive(Default)]
pub struct PolicyCache {
    by_bucket: Mutex<HashMap<String, Entry>>,
}

impl PolicyCache {
    /// The parsed form of `text`, the policy stored for `bucket`. `None` if it does not parse
    /// (a stored document was validated when it was set, so that means none applies).
    pub fn get(&self, bucket: &str, text: &str) -> Option<Arc<Policy>> {
        if let Ok(map) = self.by_bucket.lock()
            && let Some(e) = map.get(bucket)
            && e.text == text
        {
            return Some(e.policy.clone());
        }
        let policy = Arc::new(Policy::parse(text, bucket).ok()?);
        if let Ok(mut map) = self.by_bucket.lock() {
            if map.len() >= MAX_ENTRIES && !map.contains_key(bucket) {
                map.clear();
            }
            map.insert(
                bucket.to_string(),
                Entry {
                    text: text.to_string(),
                    policy: policy.clone(),
                },
            );
        }
        Some(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(action: &str, bucket: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"{action}","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
        )
    }

    #[test]
    fn reuses_the_parse_until_the_document_changes() {
        let cache = PolicyCache::default();
        let a = cache.get("b", &doc("s3:GetObject", "b")).unwrap();
        let again = cache.get("b", &doc("s3:GetObject", "b")).unwrap();
        assert!(
            Arc::ptr_eq(&a, &again),
            "same text: the parsed policy is reused"
        );
        let changed = cache.get("b", &doc("s3:PutObject", "b")).unwrap();
        assert!(!Arc::ptr_eq(&a, &changed));
        assert_eq!(
            *changed,
            Policy::parse(&doc("s3:PutObject", "b"), "b").unwrap()
        );
        // Another bucket with the same text is parsed for that bucket.
        let other = cache.get("c", &doc("s3:GetObject", "c")).unwrap();
        assert_eq!(
            *other,
            Policy::parse(&doc("s3:GetObject", "c"), "c").unwrap()
        );
    }

    #[test]
    fn a_document_that_does_not_parse_applies_nothing() {
        let cache = PolicyCache::default();
        assert!(cache.get("b", "{not json").is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = PolicyCache::default();
        for i in 0..MAX_ENTRIES + 10 {
            let b = format!("bucket-{i}");
            assert!(cache.get(&b, &doc("s3:GetObject", &b)).is_some());
        }
        assert!(cache.by_bucket.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
