//! The audit log: one JSON line per finished request (MinIO's audit entry, `entry.rs`), to a
//! file (`file_target.rs`) and/or a webhook (`webhook.rs`). Off unless a target is set
//! (`settings.rs`). [`AuditLog`] is a `RequestSink` the edge calls once per request: it
//! serializes the entry once and offers it to each target's bounded queue (`queue.rs`) without
//! waiting; a full queue or a failing target drops entries, counted in metrics, and never fails
//! or slows a request.

mod entry;
mod file_target;
mod queue;
mod settings;
mod webhook;

use std::sync::Arc;

use rustfs_s3::edge::observe::{RequestRecord, RequestSink};
use tokio::sync::watch;

pub use entry::Origin;
pub use settings::AuditSettings;

use queue::{Line, Queue};

/// The sink the edge calls: each finished request's entry to every target's queue.
pub struct AuditLog {
    origin: Origin,
    queues: Vec<Queue>,
}

impl RequestSink for AuditLog {
    fn record(&self, record: &RequestRecord) {
        let line: Line = entry::line(record, &self.origin).into();
        for q in &self.queues {
            q.offer(line.clone());
        }
    }
}

/// A started audit log: the sink to hand the edge and what stops its targets.
pub struct Audit {
    pub sink: Arc<AuditLog>,
    stop: watch::Sender<bool>,
    file: Option<std::thread::JoinHandle<()>>,
    webhook: Option<tokio::task::JoinHandle<()>>,
    described: String,
}

impl Audit {
    /// The targets `settings` names, started; `None` when it names none.
    pub fn start(settings: &AuditSettings, origin: Origin) -> Result<Option<Self>, String> {
        if !settings.enabled() {
            return Ok(None);
        }
        let (stop, stopped) = watch::channel(false);
        let mut queues = Vec::new();
        let mut described = Vec::new();
        let mut file = None;
        if let Some(path) = &settings.file {
            let (q, rx, tally) = Queue::new("file", settings.queue_size);
            file = Some(file_target::spawn(
                path,
                rx,
                tally,
                stopped.clone(),
                tokio::runtime::Handle::current(),
            )?);
            queues.push(q);
            described.push(format!("file {}", path.display()));
        }
        let mut webhook = None;
        if let Some(w) = &settings.webhook {
            let (q, rx, tally) = Queue::new("webhook", settings.queue_size);
            described.push(format!("webhook {}", w.endpoint));
            webhook = Some(webhook::spawn(w.clone(), rx, tally, stopped)?);
            queues.push(q);
        }
        Ok(Some(Self {
            sink: Arc::new(AuditLog { origin, queues }),
            stop,
            file,
            webhook,
            described: described.join(", "),
        }))
    }

    /// The targets, for the start-up log.
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// Stops the targets once the server has stopped serving: what is queued is written (the
    /// file) or posted within a bound (the webhook).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.webhook {
            let _ = task.await;
        }
        if let Some(thread) = self.file {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        for q in &self.sink.queues {
            let t = q.tally();
            tracing::info!(
                target_name = t.target(),
                sent = t.counts().sent(),
                dropped = t.counts().dropped(),
                "audit log stopped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn record(n: u32) -> RequestRecord {
        RequestRecord {
            time: time::OffsetDateTime::now_utc(),
            request_id: format!("{n:016X}"),
            api: "GetObject".into(),
            bucket: Some("b".into()),
            key: Some(format!("k{n}")),
            status: 200,
            bytes_in: 0,
            bytes_out: u64::from(n),
            duration: Duration::from_millis(1),
            time_to_first_byte: Duration::from_micros(100),
            remote: None,
            access_key: None,
            user: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn file_gets_one_line_per_request_and_all_of_them_at_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let settings = AuditSettings {
            file: Some(path.clone()),
            webhook: None,
            queue_size: 1000,
        };
        let audit = Audit::start(&settings, Origin::default()).unwrap().unwrap();
        for n in 0..100 {
            audit.sink.record(&record(n));
        }
        let sink = audit.sink.clone();
        audit.stop().await;
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 100);
        assert_eq!(lines[7]["api"]["object"], "k7");
        assert_eq!(lines[7]["api"]["tx"], 7);
        let tally = sink.queues[0].tally();
        assert_eq!(tally.counts().sent(), 100);
        assert_eq!(tally.counts().dropped(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn file_is_flushed_while_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let settings = AuditSettings {
            file: Some(path.clone()),
            webhook: None,
            queue_size: 10,
        };
        let audit = Audit::start(&settings, Origin::default()).unwrap().unwrap();
        audit.sink.record(&record(1));
        let mut seen = String::new();
        for _ in 0..100 {
            seen = std::fs::read_to_string(&path).unwrap();
            if !seen.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen.lines().count(), 1);
        audit.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unreachable_webhook_drops_and_counts_without_blocking() {
        // A port nothing listens on: a listener bound then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = AuditSettings {
            file: None,
            webhook: Some(webhook::WebhookSettings {
                endpoint: format!("http://127.0.0.1:{port}/audit").parse().unwrap(),
                auth_token: None,
                batch_size: 1,
            }),
            queue_size: 2,
        };
        let audit = Audit::start(&settings, Origin::default()).unwrap().unwrap();
        for n in 0..20 {
            audit.sink.record(&record(n));
        }
        let sink = audit.sink.clone();
        let tally = sink.queues[0].tally();
        // The queue holds 2 and the poster has at most one batch in hand: the rest dropped now.
        assert!(
            tally.counts().dropped() >= 17,
            "{}",
            tally.counts().dropped()
        );
        for _ in 0..200 {
            if tally.counts().dropped() == 20 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(tally.counts().dropped(), 20);
        assert_eq!(tally.counts().sent(), 0);
        audit.stop().await;
    }

    #[test]
    fn off_without_targets() {
        assert!(
            Audit::start(&AuditSettings::default(), Origin::default())
                .unwrap()
                .is_none()
        );
    }
}
