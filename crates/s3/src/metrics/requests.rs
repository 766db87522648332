//! What every request adds to the metrics ([`RequestMetrics`], told by the edge through
//! `edge::observe::RequestSink`).
//!
//! MinIO's v2 names, labelled by `api` as MinIO names its APIs (lower case, `getobject`):
//! `minio_s3_requests_total`, `minio_s3_requests_errors_total` (4xx and 5xx),
//! `minio_s3_requests_4xx_errors_total`, `minio_s3_requests_5xx_errors_total`,
//! `minio_s3_requests_canceled_total` (client gone before the answer),
//! `minio_s3_requests_ttfb_seconds_distribution` (cumulative counts by `le`, as MinIO exports
//! it), and, unlabelled, `minio_s3_traffic_received_bytes` / `minio_s3_traffic_sent_bytes` and
//! the gauge `minio_s3_requests_inflight_total` (received, not yet finished).
//! Ours, labelled by `api` as the edge names it (`GetObject`): `rustfs_s3_requests_total`
//! (with `status`), `rustfs_s3_request_duration_seconds` and `rustfs_s3_ttfb_seconds`
//! (histograms), `rustfs_s3_received_bytes_total` / `rustfs_s3_sent_bytes_total`.
//!
//! The metric handles of each API are registered once and kept, so recording a request is a
//! map lookup under a read lock and a few atomic adds.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

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
    by_status: RwLock<Vec<(u16, Counter)>>,
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
            by_status: RwLock::new(Vec::new()),
            label: ours,
        }
    }

    fn status(&self, status: u16) -> Counter {
        let known = self
            .by_status
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, c)) = known.iter().find(|(s, _)| *s == status) {
            return c.clone();
        }
        drop(known);
        let mut all = self
            .by_status
            .write()
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

/// The unlabelled series, registered on first use (after the recorder is installed).
#[derive(Default)]
struct OnceHandles(std::sync::OnceLock<Unlabelled>);

struct Unlabelled {
    received: Counter,
    sent: Counter,
    inflight: Gauge,
}

impl OnceHandles {
    fn get(&self) -> &Unlabelled {
        self.0.get_or_init(|| Unlabelled {
            received: counter!("minio_s3_traffic_received_bytes"),
            sent: counter!("minio_s3_traffic_sent_bytes"),
            inflight: gauge!("minio_s3_requests_inflight_total"),
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
    fn started(&self) {
        self.received.get().inflight.increment(1.0);
    }

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
        let all = self.received.get();
        all.received.increment(r.bytes_in);
        all.sent.increment(r.bytes_out);
        all.inflight.decrement(1.0);
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    fn record(api: &str, status: u16, ttfb_ms: u64) -> RequestRecord {
        RequestRecord {
            time: time::OffsetDateTime::now_utc(),
            request_id: "1".into(),
            api: api.into(),
            bucket: None,
            key: None,
            status,
            bytes_in: 100,
            bytes_out: 1000,
            duration: Duration::from_millis(ttfb_ms * 2),
            time_to_first_byte: Duration::from_millis(ttfb_ms),
            remote: None,
            access_key: None,
            user: None,
        }
    }

    #[test]
    fn requests_are_counted_by_api_status_and_ttfb_bound() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let before = traffic_now();
        metrics::with_local_recorder(&recorder, || {
            let sink = RequestMetrics::new();
            for _ in 0..6 {
                sink.started();
            }
            sink.record(&record("GetObject", 200, 1));
            sink.record(&record("GetObject", 200, 300));
            sink.record(&record("GetObject", 404, 1));
            sink.record(&record("PutObject", 503, 1));
            sink.record(&record("PutObject", CLIENT_CLOSED, 1));
        });
        let text = handle.render();
        let has = |line: &str| {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        };
        has(r#"minio_s3_requests_total{api="getobject"} 3"#);
        has(r#"minio_s3_requests_total{api="putobject"} 2"#);
        has(r#"minio_s3_requests_errors_total{api="getobject"} 1"#);
        has(r#"minio_s3_requests_4xx_errors_total{api="getobject"} 1"#);
        has(r#"minio_s3_requests_5xx_errors_total{api="putobject"} 1"#);
        has(r#"minio_s3_requests_canceled_total{api="putobject"} 1"#);
        has(r#"minio_s3_requests_4xx_errors_total{api="putobject"} 0"#);
        has(r#"rustfs_s3_requests_total{api="GetObject",status="200"} 2"#);
        has(r#"rustfs_s3_requests_total{api="GetObject",status="404"} 1"#);
        has(r#"minio_s3_requests_ttfb_seconds_distribution{api="getobject",le="0.05"} 2"#);
        has(r#"minio_s3_requests_ttfb_seconds_distribution{api="getobject",le="0.25"} 2"#);
        has(r#"minio_s3_requests_ttfb_seconds_distribution{api="getobject",le="0.5"} 3"#);
        has(r#"minio_s3_requests_ttfb_seconds_distribution{api="getobject",le="+Inf"} 3"#);
        has("minio_s3_traffic_received_bytes 500");
        has("minio_s3_traffic_sent_bytes 5000");
        has("minio_s3_requests_inflight_total 1");
        has(r#"rustfs_s3_received_bytes_total{api="PutObject"} 200"#);
        let after = traffic_now();
        assert!(after.0 - before.0 >= 5);
        assert!(after.1 - before.1 >= 3);
        assert!(after.2 - before.2 >= 500);
        assert!(after.3 - before.3 >= 5000);
    }

    fn traffic_now() -> (u64, u64, u64, u64) {
        let v = super::super::traffic().json();
        let n = |k: &str| v[k].as_u64().unwrap();
        (n("requests"), n("errors"), n("bytes_in"), n("bytes_out"))
    }
}
