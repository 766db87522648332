//! Parsed bucket policies, kept per bucket and reused while the stored document is unchanged,
//! so an access check does not parse the policy's JSON on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustfs_object::policy::Policy;

/// Buckets whose parsed policy is kept, and the policy text they may hold in all (a policy is
/// up to 20 KiB); past either the cache starts over (a bound, not an LRU: a server with more
/// buckets with policies than this parses some again).
const MAX_ENTRIES: usize = 4096;
const MAX_TEXT_BYTES: usize = 8 << 20;

struct Entry {
    text: String,
    policy: Arc<Policy>,
}

#[derive(Default)]
struct Entries {
    by_bucket: HashMap<String, Entry>,
    text_bytes: usize,
}

#[derive(Default)]
pub struct PolicyCache {
    entries: Mutex<Entries>,
}

impl PolicyCache {
    /// The parsed form of `text`, the policy stored for `bucket`. `None` if it does not parse
    /// (a stored document was validated when it was set, so the store is damaged: the access
    /// checks refuse rather than ignore it).
    pub fn get(&self, bucket: &str, text: &str) -> Option<Arc<Policy>> {
        if let Ok(c) = self.entries.lock()
            && let Some(e) = c.by_bucket.get(bucket)
            && e.text == text
        {
            return Some(e.policy.clone());
        }
        let policy = Arc::new(Policy::parse(text, bucket).ok()?);
        if let Ok(mut c) = self.entries.lock() {
            if let Some(old) = c.by_bucket.remove(bucket) {
                c.text_bytes -= old.text.len();
            }
            if c.by_bucket.len() >= MAX_ENTRIES || c.text_bytes + text.len() > MAX_TEXT_BYTES {
                *c = Entries::default();
            }
            c.text_bytes += text.len();
            c.by_bucket.insert(
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
    fn holds_a_bounded_amount_of_policy_text() {
        let cache = PolicyCache::default();
        let pad = "x".repeat(16 << 10);
        for i in 0..1000 {
            let b = format!("bucket-{i}");
            let text = doc("s3:GetObject", &b)
                .replace("2012-10-17\"", &format!("2012-10-17\",\"Id\":\"{pad}\""));
            assert!(cache.get(&b, &text).is_some(), "{text:.80}");
            let c = cache.entries.lock().unwrap();
            assert!(c.text_bytes <= MAX_TEXT_BYTES);
            assert_eq!(
                c.text_bytes,
                c.by_bucket.values().map(|e| e.text.len()).sum::<usize>()
            );
        }
    }

    #[test]
    fn stays_bounded() {
        let cache = PolicyCache::default();
        for i in 0..MAX_ENTRIES + 10 {
            let b = format!("bucket-{i}");
            assert!(cache.get(&b, &doc("s3:GetObject", &b)).is_some());
        }
        assert!(cache.entries.lock().unwrap().by_bucket.len() <= MAX_ENTRIES);
    }
}
