//! A target's bounded queue of entries and its counts. The request path only offers: a full
//! queue drops the entry at once, never waits. What a target sends or drops is counted here, in
//! this process (for tests and the log) and as metrics: ours (`rustfs_audit_sent_total`,
//! `rustfs_audit_dropped_total`, label `target`) and MinIO's (`minio_audit_total_messages`,
//! `minio_audit_failed_messages`, `minio_audit_target_queue_length`, label `target_id`), so
//! MinIO's dashboards and alerts on audit targets work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

/// One entry, serialized once and shared by every target.
pub type Line = Arc<str>;

/// Log a drop once per this many (the first one included).
const WARN_EVERY: u64 = 1000;

/// What a target sent and dropped since start.
#[derive(Debug, Default)]
pub struct Counts {
    sent: AtomicU64,
    dropped: AtomicU64,
}

impl Counts {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A target's name and counts, shared by its queue and the task that empties it.
#[derive(Debug, Clone)]
pub struct Tally {
    target: &'static str,
    counts: Arc<Counts>,
}

impl Tally {
    pub fn new(target: &'static str) -> Self {
        Self {
            target,
            counts: Arc::default(),
        }
    }

    pub fn target(&self) -> &'static str {
        self.target
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// `n` entries delivered.
    pub fn sent(&self, n: u64) {
        self.counts.sent.fetch_add(n, Ordering::Relaxed);
        metrics::counter!("rustfs_audit_sent_total", "target" => self.target).increment(n);
        metrics::counter!("minio_audit_total_messages", "target_id" => self.target).increment(n);
    }

    /// `n` entries lost: the queue was full, or the target failed them past its retries.
    pub fn dropped(&self, n: u64, why: &str) {
        let before = self.counts.dropped.fetch_add(n, Ordering::Relaxed);
        metrics::counter!("rustfs_audit_dropped_total", "target" => self.target).increment(n);
        metrics::counter!("minio_audit_failed_messages", "target_id" => self.target).increment(n);
        if before / WARN_EVERY != (before + n) / WARN_EVERY || before == 0 {
            tracing::warn!(
                target_name = self.target,
                dropped = before + n,
                "audit log: entries dropped ({why})"
            );
        }
    }

    /// How many entries wait in the queue.
    pub fn queue_length(&self, n: usize) {
        metrics::gauge!("minio_audit_target_queue_length", "target_id" => self.target)
            .set(n as f64);
    }
}

/// The sending end of a target's queue: what the request path holds.
#[derive(Debug, Clone)]
pub struct Queue {
    tx: mpsc::Sender<Line>,
    tally: Tally,
}

impl Queue {
    /// A queue of at most `size` entries (at least one) for `target`, and its receiving end.
    pub fn new(target: &'static str, size: usize) -> (Self, mpsc::Receiver<Line>, Tally) {
        let (tx, rx) = mpsc::channel(size.max(1));
        let tally = Tally::new(target);
        (
            Self {
                tx,
                tally: tally.clone(),
            },
            rx,
            tally,
        )
    }

    /// Hands `line` to the target without waiting; a full (or closed) queue drops it, counted.
    pub fn offer(&self, line: Line) -> bool {
        match self.tx.try_send(line) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.tally.dropped(1, "queue full");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.tally.dropped(1, "target stopped");
                false
            }
        }
    }

    pub fn tally(&self) -> &Tally {
        &self.tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_drops_and_counts_without_waiting() {
        let (q, mut rx, tally) = Queue::new("test", 2);
        assert!(q.offer("a".into()));
        assert!(q.offer("b".into()));
        assert!(!q.offer("c".into()));
        assert!(!q.offer("d".into()));
        assert_eq!(tally.counts().dropped(), 2);
        assert_eq!(rx.try_recv().unwrap().as_ref(), "a");
        assert!(q.offer("e".into()));
        assert_eq!(rx.try_recv().unwrap().as_ref(), "b");
        assert_eq!(rx.try_recv().unwrap().as_ref(), "e");
        assert_eq!(tally.counts().dropped(), 2);
    }

    #[test]
    fn stopped_target_drops() {
        let (q, rx, tally) = Queue::new("test", 4);
        drop(rx);
        assert!(!q.offer("a".into()));
        assert_eq!(tally.counts().dropped(), 1);
    }

    #[test]
    fn size_zero_still_queues_one() {
        let (q, _rx, tally) = Queue::new("test", 0);
        assert!(q.offer("a".into()));
        assert!(!q.offer("b".into()));
        assert_eq!(tally.counts().dropped(), 1);
    }

    #[test]
    fn sent_is_counted() {
        let tally = Tally::new("test");
        tally.sent(3);
        assert_eq!(tally.counts().sent(), 3);
    }
}
