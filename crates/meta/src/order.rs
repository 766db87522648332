//! Version order ids: 32 lower-case hex digits, compared as strings. The first 16 digits
//! order (microseconds since the epoch, strictly increasing in this process, for redb; a
//! database SEQUENCE value for PostgreSQL), the last 16 are random so ids of separate writers
//! never collide. See `docs/format.md`.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Microseconds of the last id handed out, so ids of this process strictly increase.
static LAST_US: AtomicU64 = AtomicU64::new(0);

/// A new id ordered by this process's clock (the embedded backend's scheme).
pub fn local_order_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let prev = LAST_US
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or(now);
    order_id(now.max(prev + 1))
}

/// The id whose ordering part is `high`.
pub fn order_id(high: u64) -> String {
    format!("{high:016x}{:016x}", random_u64())
}

/// 64 random bits: the standard library's randomly keyed hasher over a counter (not for
/// secrets; for id suffixes and retry jitter).
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_ids_increase_and_have_the_format() {
        let a = local_order_id();
        let b = local_order_id();
        assert!(a < b, "{a} {b}");
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        assert!(order_id(1) < order_id(2));
    }
}
