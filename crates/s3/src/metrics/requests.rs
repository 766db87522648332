//! What every request adds to the metrics ([`RequestMetrics`], told by the edge through
//! `edge::observe::RequestSink`).
//!
//! MinIO's v2 names, labelled by `api` as MinIO names its APIs (lower case, `getobject`):
//! `minio_s3_requests_total`, `minio_s3_requests_errors_total` (4xx and 5xx),
//! `minio_s3_requests_4xx_errors_total`, `minio_s3_requests_5xx_errors_total`,
//! `minio_s3_requests_canceled_total` (client gone before the answer),
//! `minio_s3_requests_ttfb_seconds_distribution` (cumulative counts by `le`, as MinIO exports
//! it), and, unlabelled, `minio_s3_traffic_received_bytes` / `minio_s3_traffic_sent_bytes`.
//! Ours, labelled by `api` as the edge names it (`GetObject`): `rustfs_s3_requests_total`
//! (with `status`), `rustfs_s3_request_duration_seconds` and `rustfs_s3_ttfb_seconds`
//! (histograms), `rustfs_s3_received_bytes_total` / `rustfs_s3_sent_bytes_total`.
//!
//! The metric handles of each API are registered once and kept, so recording a request is a
//! map lookup under a read lock and a few atomic adds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use metrics::{Counter, Histogram, counter, histogram};

use crate::edge::observe::{CLIENT_CLOSED, RequestRecord, RequestSink};

/// MinIO's TTFB distribution bounds (seconds).
const TTFB_LE: [(f64, &str); 8] = [
    (0.05, "0.05"),
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.5, "2.5"),
    (5.0, "5"),
    (10.0, "10"),
];

/// One API's handles.
struct ApiMetrics {
    label: String,
    requests: Counter,
    errors: Counter,
    errors_4xx: Counter,
    errors_5xx: Counter,
    canceled: Counter,
    /// `le` bound counters, the last one `+Inf`.
    ttfb_le: Vec<Counter>,
    duration: Histogram,
    ttfb: Histogram,
    received: Counter,
    sent: Counter,
    by_status: Mutex<Vec<(u16, Counter)>>,
}

impl ApiMetrics {
    fn new(api: &str) -> Self {
        let minio = api.to_ascii_lowercase();
        let ours = api.to_string();
        let mut ttfb_le: Vec<Counter> = TTFB_LE
            .iter()
            .map(|(_, le)| {
                counter!("minio_s3_requests_ttfb_seconds_distribution", "api" => minio.clone(), "le" => *le)
            })
            .collect();
        ttfb_le.push(
            counter!("minio_s3_requests_ttfb_seconds_distribution", "api" => minio.clone(), "le" => "+Inf"),
        );
        Self {
            requests: counter!("minio_s3_requests_total", "api" => minio.clone()),
            errors: counter!("minio_s3_requests_errors_total", "api" => minio.clone()),
            errors_4xx: counter!("minio_s3_requests_4xx_errors_total", "api" => minio.clone()),
            errors_5xx: counter!("minio_s3_requests_5xx_errors_total", "api" => minio.clone()),
            canceled: counter!("minio_s3_requests_canceled_total", "api" => minio),
            ttfb_le,
            duration: histogram!("rustfs_s3_request_duration_seconds", "api" => ours.clone()),
            ttfb: histogram!("rustfs_s3_ttfb_seconds", "api" => ours.clone()),
            received: counter!("rustfs_s3_received_bytes_total", "api" => ours.clone()),
            sent: counter!("rustfs_s3_sent_bytes_total", "api" => ours.clone()),
            by_status: Mutex::new(Vec::new()),
            label: ours,
        }
    }

    fn status(&self, status: u16) -> Counter {
        let mut all = self
            .by_status
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, c)) = all.iter().find(|(s, _)| *s == status) {
            return c.clone();
        }
        let c = counter!("rustfs_s3_requests_total", "api" => self.label.clone(), "status" => status.to_string());
        all.push((status, c.clone()));
        c
    }
}

/// The request metrics: a sink the edge tells of every request.
#[derive(Default)]
pub struct RequestMetrics {
    apis: RwLock<HashMap<String, Arc<ApiMetrics>>>,
    received: OnceHandles,
}

/// The unlabelled traffic counters, registered on first use (after the recorder is installed).
#[derive(Default)]
struct OnceHandles(std::sync::OnceLock<(Counter, Counter)>);

impl OnceHandles {
    fn get(&self) -> &(Counter, Counter) {
        self.0.get_or_init(|| {
            (
                counter!("minio_s3_traffic_received_bytes"),
                counter!("minio_s3_traffic_sent_bytes"),
            )
        })
    }
}

impl RequestMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn api(&self, api: &str) -> Arc<ApiMetrics> {
        if let Some(m) = self
            .apis
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(api)
        {
            return m.clone();
        }
        self.apis
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(api.to_string())
            .or_insert_with(|| Arc::new(ApiMetrics::new(api)))
            .clone()
    }
}

impl RequestSink for RequestMetrics {
    fn record(&self, r: &RequestRecord) {
        let m = self.api(&r.api);
        m.requests.increment(1);
        let failed = r.status >= 400;
        if failed {
            m.errors.increment(1);
        }
        match r.status {
            CLIENT_CLOSED => m.canceled.increment(1),
            400..=499 => m.errors_4xx.increment(1),
            500..=599 => m.errors_5xx.increment(1),
            _ => {}
        }
        m.status(r.status).increment(1);
        let ttfb = r.time_to_first_byte.as_secs_f64();
        for (c, (le, _)) in m.ttfb_le.iter().zip(TTFB_LE.iter()) {
            if ttfb <= *le {
                c.increment(1);
            }
        }
        if let Some(inf) = m.ttfb_le.last() {
            inf.increment(1);
        }
        m.duration.record(r.duration.as_secs_f64());
        m.ttfb.record(ttfb);
        m.received.increment(r.bytes_in);
        m.sent.increment(r.bytes_out);
        let (received, sent) = self.received.get();
        received.increment(r.bytes_in);
        sent.increment(r.bytes_out);
        super::traffic().add(failed, r.bytes_in, r.bytes_out);
    }
}

/// Help texts.
pub(super) fn describe() {
    use metrics::{describe_counter, describe_histogram};
    describe_counter!("minio_s3_requests_total", "Total number of S3 requests");
    describe_counter!(
        "minio_s3_requests_errors_total",
        "Total number of S3 requests with (4xx and 5xx) errors"
    );
    describe_counter!(
        "minio_s3_requests_4xx_errors_total",
        "Total number of S3 requests with (4xx) errors"
    );
    describe_counter!(
        "minio_s3_requests_5xx_errors_total",
        "Total number of S3 requests with (5xx) errors"
    );
    describe_counter!(
        "minio_s3_requests_canceled_total",
        "Total number of S3 requests canceled by the client"
    );
    describe_counter!(
        "minio_s3_requests_ttfb_seconds_distribution",
        "Distribution of the time to first byte across API calls"
    );
    describe_counter!(
        "minio_s3_traffic_received_bytes",
        "Total number of s3 bytes received"
    );
    describe_counter!(
        "minio_s3_traffic_sent_bytes",
        "Total number of s3 bytes sent"
    );
    describe_counter!(
        "rustfs_s3_requests_total",
        "Requests answered, by API and HTTP status"
    );
    describe_histogram!(
        "rustfs_s3_request_duration_seconds",
        "Time from receipt until the answer's body ended, by API"
    );
    describe_histogram!(
        "rustfs_s3_ttfb_seconds",
        "Time from receipt until the answer's head, by API"
    );
    describe_counter!(
        "rustfs_s3_received_bytes_total",
        "Request body bytes read, by API"
    );
    describe_counter!(
        "rustfs_s3_sent_bytes_total",
        "Answer body bytes sent, by API"
    );
}
