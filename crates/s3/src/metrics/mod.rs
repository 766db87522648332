//! Metrics: the process's Prometheus recorder and what it renders on a scrape.
//!
//! Every crate records through the `metrics` facade (`metrics::counter!`, `histogram!`, ...);
//! the binary installs the one recorder at start ([`install`]), which keeps what was recorded
//! and renders it as Prometheus text when the edge serves `/minio/v2/metrics/cluster` or
//! `/node` ([`render`]; no listener of its own). What the edge sees of each request is
//! recorded by [`RequestMetrics`], a `RequestSink`; the store's state (volumes, capacity,
//! quorum, heal) is read at scrape time ([`scrape`]). Names: MinIO's v2 names where one
//! applies (so MinIO's dashboards and alert rules work), ours prefixed `rustfs_`.
//! A scrape is authorized by a bearer token as MinIO issues one ([`token`]).

mod requests;
pub mod scrape;
pub mod token;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
pub use requests::RequestMetrics;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Buckets of the latency histograms (seconds).
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// How often recorded histogram samples are folded into their buckets when no scrape does it.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the process's recorder (once; a second call does nothing), labelling every
/// series with `server` (this node's address, as MinIO labels its series). A thread folds
/// histogram samples every few seconds so memory stays bounded between scrapes.
pub fn install(server: &str) -> Result<(), String> {
    if HANDLE.get().is_some() {
        return Ok(());
    }
    let builder = PrometheusBuilder::new()
        .add_global_label("server", server)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("rustfs_meta_commit_group_size".into()),
                &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
            )
        })
        .map_err(|e| e.to_string())?;
    let handle = builder.install_recorder().map_err(|e| e.to_string())?;
    let upkeep = handle.clone();
    if HANDLE.set(handle).is_ok() {
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no metrics upkeep thread: histogram samples fold at scrapes only");
        }
    }
    requests::describe();
    scrape::describe();
    metrics::describe_histogram!(
        "rustfs_meta_commit_seconds",
        "Time a metadata group commit took to be durable, by backend"
    );
    metrics::describe_histogram!(
        "rustfs_meta_commit_group_size",
        "Transactions carried by one metadata group commit, by backend"
    );
    Ok(())
}

/// The Prometheus text of everything recorded, with the store's state read now. Empty of
/// recorded series when no recorder was installed (a server built without metrics).
pub async fn render(store: &rustfs_object::ObjectStore) -> String {
    scrape::refresh(store).await;
    HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// Request totals since the process started (the admin status' `traffic`).
#[derive(Debug, Default)]
pub struct Traffic {
    requests: AtomicU64,
    errors: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

static TRAFFIC: Traffic = Traffic {
    requests: AtomicU64::new(0),
    errors: AtomicU64::new(0),
    bytes_in: AtomicU64::new(0),
    bytes_out: AtomicU64::new(0),
};

impl Traffic {
    fn add(&self, failed: bool, bytes_in: u64, bytes_out: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.bytes_in.fetch_add(bytes_in, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes_out, Ordering::Relaxed);
    }

    /// `{"requests", "errors", "bytes_in", "bytes_out"}`: totals since start over every request
    /// [`RequestMetrics`] was told of (errors: answered 4xx or 5xx).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "requests": self.requests.load(Ordering::Relaxed),
            "errors": self.errors.load(Ordering::Relaxed),
            "bytes_in": self.bytes_in.load(Ordering::Relaxed),
            "bytes_out": self.bytes_out.load(Ordering::Relaxed),
        })
    }
}

/// The process's request totals.
pub fn traffic() -> &'static Traffic {
    &TRAFFIC
}
