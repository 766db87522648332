//! What the group committers record through the `metrics` facade (the binary's recorder
//! renders it on a Prometheus scrape): `rustfs_meta_commit_seconds{backend}`, the time a
//! group's durable commit took (every replica for redb; the round trips and `COMMIT` for
//! PostgreSQL), and `rustfs_meta_commit_group_size{backend}`, the transactions it carried.

use std::time::Duration;

/// One group (or lone transaction) of `size` committed in `took`.
pub(crate) fn group_committed(backend: &'static str, took: Duration, size: usize) {
    metrics::histogram!("rustfs_meta_commit_seconds", "backend" => backend)
        .record(took.as_secs_f64());
    metrics::histogram!("rustfs_meta_commit_group_size", "backend" => backend).record(size as f64);
}
