//! The webhook target: entries POSTed to an HTTP(S) endpoint as MinIO's audit webhook sends
//! them: a batch of `batch_size` entries per request (MinIO's default, 1, is one JSON object per
//! POST; more are JSON lines), `Content-Type: application/json`, and
//! `Authorization: Bearer TOKEN` when a token is set. A POST that fails or does not answer
//! within [`ATTEMPT_TIMEOUT`] is tried again [`ATTEMPTS`] times in all, then its entries are
//! dropped and counted; meanwhile new entries wait in the bounded queue or are dropped there.
//! Nothing here ever waits on the request path.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::{mpsc, watch};

use super::queue::{Line, Tally};

/// Attempts per batch before its entries are dropped.
pub const ATTEMPTS: u32 = 3;
/// Longest one POST may take, answer included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The most of a target's answer body read (it is only drained).
const ANSWER_LIMIT: usize = 64 * 1024;
/// Pause before the second attempt; doubled before each later one.
const BACKOFF: Duration = Duration::from_millis(200);
/// How long the queued entries may take to go out once the server stops.
const DRAIN_AT_STOP: Duration = Duration::from_secs(5);

/// Where and how the webhook target posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub endpoint: http::Uri,
    pub auth_token: Option<String>,
    /// Entries per POST (at least 1).
    pub batch_size: usize,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Starts the task that posts what arrives on `rx` until `stop` says so, then posts what is
/// queued for at most [`DRAIN_AT_STOP`].
pub fn spawn(
    settings: WebhookSettings,
    rx: mpsc::Receiver<Line>,
    tally: Tally,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let tls = rustfs_internode::tls_config(&[]).map_err(|e| format!("audit webhook: {e}"))?;
    let client = rustfs_internode::http_client(&tls, CONNECT_TIMEOUT);
    let poster = Poster {
        client,
        settings,
        tally,
    };
    Ok(tokio::spawn(poster.run(rx, stop)))
}

struct Poster {
    client: HttpsClient,
    settings: WebhookSettings,
    tally: Tally,
}

impl Poster {
    async fn run(self, mut rx: mpsc::Receiver<Line>, mut stop: watch::Receiver<bool>) {
        // A batch whose delivery the stop interrupted: delivered again under the stop's bound
        // (at least once: a POST that had just succeeded may be repeated).
        let mut interrupted = None;
        loop {
            let first = tokio::select! {
                biased;
                _ = stop.changed() => break,
                line = rx.recv() => match line {
                    Some(l) => l,
                    None => break,
                },
            };
            let batch = self.batch(first, &mut rx);
            self.tally.queue_length(rx.len());
            tokio::select! {
                biased;
                () = self.deliver(&batch, None) => {}
                _ = stop.changed() => {
                    interrupted = Some(batch);
                    break;
                }
            }
        }
        rx.close();
        let deadline = Instant::now() + DRAIN_AT_STOP;
        loop {
            let batch = match interrupted.take() {
                Some(b) => b,
                None => match rx.try_recv() {
                    Ok(first) => self.batch(first, &mut rx),
                    Err(_) => break,
                },
            };
            if Instant::now() >= deadline {
                self.tally.dropped(batch.len() as u64, "server stopped");
                continue;
            }
            self.deliver(&batch, Some(deadline)).await;
        }
    }

    /// `first` and whatever else is queued, up to the batch size.
    fn batch(&self, first: Line, rx: &mut mpsc::Receiver<Line>) -> Vec<Line> {
        let mut batch = vec![first];
        while batch.len() < self.settings.batch_size.max(1) {
            match rx.try_recv() {
                Ok(l) => batch.push(l),
                Err(_) => break,
            }
        }
        batch
    }

    /// Posts `batch`, retried; counts it sent or dropped.
    async fn deliver(&self, batch: &[Line], deadline: Option<Instant>) {
        let body = Bytes::from(
            batch
                .iter()
                .map(|l| l.as_ref())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let mut backoff = BACKOFF;
        let mut last_error = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            let mut timeout = ATTEMPT_TIMEOUT;
            if let Some(d) = deadline {
                timeout = timeout.min(d.saturating_duration_since(Instant::now()));
            }
            match tokio::time::timeout(timeout, self.post(body.clone())).await {
                Ok(Ok(())) => {
                    self.tally.sent(batch.len() as u64);
                    return;
                }
                Ok(Err(e)) => last_error = e,
                Err(_) => last_error = format!("no answer within {}s", timeout.as_secs_f32()),
            }
            tracing::debug!(attempt, error = %last_error, "audit webhook: POST failed");
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        self.tally.dropped(
            batch.len() as u64,
            &format!("{}: {last_error}", self.settings.endpoint),
        );
    }

    async fn post(&self, body: Bytes) -> Result<(), String> {
        let mut req = http::Request::post(self.settings.endpoint.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(
                http::header::USER_AGENT,
                concat!("RustFS/", env!("CARGO_PKG_VERSION"), " (audit)"),
            );
        if let Some(token) = &self.settings.auth_token {
            req = req.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        // Read the answer so the connection can be used again, but no more than a target has
        // reason to send (one past the bound ends the connection instead).
        let _ = http_body_util::Limited::new(resp.into_body(), ANSWER_LIMIT)
            .collect()
            .await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }
}
