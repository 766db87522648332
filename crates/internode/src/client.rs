//! Other nodes' volumes, reached through their shard service ([`crate::service`]): the
//! [`RemoteVolume`] the erasure code writes and reads through. Uploads are streamed (one block
//! in flight per shard, never a whole shard in memory) with each block's checksum; reads verify
//! each block's checksum on arrival. The calls block: they run on the erasure code's blocking
//! threads (or, on a runtime worker, inside `block_in_place`).

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustfs_data::format::check_block;
use rustfs_data::{DataError, RemoteReader, RemoteVolume, RemoteWriter, RemoveDone, ShardHeader};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::auth::Signer;
use crate::frames;
use crate::service::{HEADER_LEN_HEADER, SHARD_PATH, SIZE_HEADER};
use tokio_rustls::rustls;

type Body = UnsyncBoxBody<Bytes, Infallible>;
/// Status, body and headers of a small answer.
type Answer = (StatusCode, Bytes, http::HeaderMap);

/// A node that did not answer is not called again for this long (unless its heartbeat shows
/// it restarted): a dead node costs one refused connection, not one per shard.
const RETRY_AFTER: Duration = Duration::from_secs(3);
/// Longest wait for one answer (a block read, a removal, the header) or one block sent.
const IO_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for a node to make an upload durable after its last byte.
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Blocks in flight per upload besides the one being cut.
const UPLOAD_QUEUE: usize = 1;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `fut` to completion from synchronous code: on a blocking thread directly, on a
/// runtime worker after telling the runtime this thread blocks.
fn block_on<F: std::future::Future>(handle: &Handle, fut: F) -> F::Output {
    tokio::task::block_in_place(|| handle.block_on(fut))
}

/// The connection to one other node, shared by its volumes.
pub struct NodeLink {
    /// `http://host:port`, as the node registered it.
    address: String,
    client: Client<HttpsConnector<HttpConnector>, Body>,
    signer: Signer,
    handle: Handle,
    /// The node's heartbeat is fresh (set by the membership watcher).
    alive: AtomicBool,
    /// When a call to it last failed in transport.
    failed_at: Mutex<Option<Instant>>,
}

impl NodeLink {
    /// A link to the node at `address` (`http://host:port`, or `https://` with `tls`
    /// trusting its certificate); calls run on `handle`.
    pub fn new(
        address: &str,
        signer: Signer,
        tls: Arc<rustls::ClientConfig>,
        handle: Handle,
    ) -> Result<Arc<Self>, String> {
        let address = address.trim_end_matches('/').to_string();
        if !address.starts_with("http://") && !address.starts_with("https://") {
            return Err(format!(
                "node address {address}: must start with http:// or https://"
            ));
        }
        let client = http_client(&tls, CONNECT_TIMEOUT);
        Ok(Arc::new(Self {
            address,
            client,
            signer,
            handle,
            alive: AtomicBool::new(true),
            failed_at: Mutex::new(None),
        }))
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// What the node's heartbeat says. A node seen alive again after being dead (restarted)
    /// is called at once.
    pub fn set_alive(&self, alive: bool) {
        let was = self.alive.swap(alive, Ordering::AcqRel);
        if alive
            && !was
            && let Ok(mut f) = self.failed_at.lock()
        {
            *f = None;
        }
    }

    pub fn is_online(&self) -> bool {
        self.alive.load(Ordering::Acquire)
            && self
                .failed_at
                .lock()
                .map(|f| f.is_none_or(|t| t.elapsed() >= RETRY_AFTER))
                .unwrap_or(false)
    }

    /// Runs `fut` for at most `limit`, and no longer than the node is taken for alive: a
    /// paused or cut-off node holds a call until its heartbeat is missed (5 s), not for the
    /// whole timeout.
    async fn bounded<F: std::future::Future>(
        &self,
        limit: Duration,
        fut: F,
    ) -> Result<F::Output, &'static str> {
        tokio::select! {
            r = tokio::time::timeout(limit, fut) => r.map_err(|_| "timed out"),
            () = self.until_dead() => Err("its node was taken for down (heartbeat stopped)"),
        }
    }

    async fn until_dead(&self) {
        while self.alive.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn failed(&self) {
        if let Ok(mut f) = self.failed_at.lock() {
            *f = Some(Instant::now());
        }
    }

    /// Whether the node answers a signed ping.
    pub async fn ping(&self) -> bool {
        let empty = Empty::<Bytes>::new().map_err(|e| match e {}).boxed_unsync();
        matches!(
            tokio::time::timeout(IO_TIMEOUT, self.send(Method::GET, crate::service::PING_PATH, empty)).await,
            Ok(Ok(r)) if r.status() == StatusCode::OK
        )
    }

    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Body,
    ) -> Result<http::Response<hyper::body::Incoming>, String> {
        let headers = self
            .signer
            .sign(method.as_str(), path_and_query, now_secs())
            .map_err(|e| e.to_string())?;
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path_and_query}", self.address));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let req = req.body(body).map_err(|e| e.to_string())?;
        self.client.request(req).await.map_err(|e| e.to_string())
    }
}

/// A pooled HTTP/1 client for `http://` and `https://` URLs (certificates verified with
/// `tls`), connections given up after `connect_timeout`: the one client setup of the calls
/// between nodes, the audit webhook and the OpenTelemetry export.
pub fn http_client<B>(
    tls: &Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
) -> Client<HttpsConnector<HttpConnector>, B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((**tls).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// The TLS settings for calls to other nodes: the system's roots, and every certificate in
/// `extra_pem` (PEM bytes: a node's own certificate chain, a cluster CA), so nodes sharing a
/// private CA trust each other.
pub fn tls_config(extra_pem: &[Vec<u8>]) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    for pem in extra_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("bad certificate: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("unusable certificate: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Reads a whole (small) answer body.
async fn body_bytes(r: http::Response<hyper::body::Incoming>) -> Result<Bytes, String> {
    r.into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| e.to_string())
}

/// One volume of another node.
pub struct RemoteShardVolume {
    link: Arc<NodeLink>,
    volume: u16,
}

impl RemoteShardVolume {
    pub fn new(link: Arc<NodeLink>, volume: u16) -> Self {
        Self { link, volume }
    }

    fn path(&self, id: &str) -> String {
        format!("{SHARD_PATH}{}/{id}", self.volume)
    }

    fn remote_err(&self, reason: impl Into<String>) -> DataError {
        DataError::Remote {
            volume: self.describe(),
            reason: reason.into(),
        }
    }

    /// The data-layer error a node's error answer stands for.
    fn answer_err(&self, status: StatusCode, body: &[u8], id: &str) -> DataError {
        let text = String::from_utf8_lossy(body).into_owned();
        let place = PathBuf::from(format!("{}/{id}", self.describe()));
        match status {
            StatusCode::NOT_FOUND => DataError::NotFound(place),
            StatusCode::CONFLICT => DataError::Corrupt {
                path: place,
                reason: text,
            },
            StatusCode::INSUFFICIENT_STORAGE => DataError::NoSpace(place),
            // The node answered: it is up, only this volume cannot serve (offline there, or
            // failing). Not a transport failure: its other volumes stay in use.
            s => DataError::Volume {
                path: place,
                reason: format!("its node answered {s}: {text}"),
            },
        }
    }

    /// A small request with an empty body, its whole answer read.
    fn call(&self, method: Method, pq: &str) -> Result<Answer, DataError> {
        block_on(&self.link.handle, self.call_async(method, pq))
    }

    async fn call_async(&self, method: Method, pq: &str) -> Result<Answer, DataError> {
        let link = &self.link;
        let r = link
            .bounded(IO_TIMEOUT, async {
                let empty = Empty::<Bytes>::new().map_err(|e| match e {}).boxed_unsync();
                let resp = link.send(method, pq, empty).await?;
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = body_bytes(resp).await?;
                Ok::<_, String>((status, body, headers))
            })
            .await
            .map_err(str::to_string)
            .and_then(|r| r);
        r.map_err(|e| {
            link.failed();
            self.remote_err(e)
        })
    }
}

impl RemoteVolume for RemoteShardVolume {
    fn describe(&self) -> String {
        format!("{} volume {}", self.link.address, self.volume)
    }

    fn node(&self) -> String {
        self.link.address.clone()
    }

    fn is_online(&self) -> bool {
        self.link.is_online()
    }

    fn create(&self, id: &str, header: &ShardHeader) -> Result<Box<dyn RemoteWriter>, DataError> {
        let (tx, rx) = mpsc::channel::<Bytes>(UPLOAD_QUEUE);
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|b| (Ok::<_, Infallible>(hyper::body::Frame::data(b)), rx))
        });
        let body: Body = StreamBody::new(stream).boxed_unsync();
        let link = self.link.clone();
        let path = self.path(id);
        let task = self.link.handle.spawn(async move {
            let resp = link.send(Method::PUT, &path, body).await?;
            let status = resp.status();
            let body = body_bytes(resp).await.unwrap_or_default();
            Ok::<_, String>((status, body))
        });
        let first = frames::header_frame(&header.encode());
        let mut w = Writer {
            volume: RemoteShardVolume::new(self.link.clone(), self.volume),
            id: id.to_string(),
            tx: Some(tx),
            task: Some(task),
            block: frames::BlockBuf::with_capacity(0),
            block_size: header.block_size as usize,
            index: 0,
            size: 0,
        };
        w.send(first)?;
        Ok(Box::new(w))
    }

    fn open(&self, id: &str, first_block: bool) -> Result<Box<dyn RemoteReader>, DataError> {
        let pq = if first_block {
            format!("{}?first=1", self.path(id))
        } else {
            self.path(id)
        };
        let (status, body, headers) = self.call(Method::GET, &pq)?;
        if status != StatusCode::OK {
            return Err(self.answer_err(status, &body, id));
        }
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| self.remote_err(format!("no {name} in the answer")))
        };
        let size = number(SIZE_HEADER)?;
        let head_len = usize::try_from(number(HEADER_LEN_HEADER)?)
            .ok()
            .filter(|&n| n <= body.len())
            .ok_or_else(|| self.remote_err("header length past the answer"))?;
        let header = ShardHeader::decode(&body[..head_len]).map_err(|e| DataError::Corrupt {
            path: PathBuf::from(format!("{}/{id}", self.describe())),
            reason: e,
        })?;
        let shard = RemoteShard {
            volume: RemoteShardVolume::new(self.link.clone(), self.volume),
            id: id.to_string(),
            header,
            size,
            first: std::sync::Mutex::new(None),
        };
        if body.len() > head_len {
            let block = shard.verify(0, body.slice(head_len..))?;
            if let Ok(mut f) = shard.first.lock() {
                *f = Some(block);
            }
        }
        Ok(Box::new(shard))
    }

    fn remove(&self, id: &str, done: RemoveDone) {
        let volume = RemoteShardVolume::new(self.link.clone(), self.volume);
        let id = id.to_string();
        self.link.handle.spawn(async move {
            let pq = volume.path(&id);
            let outcome = match volume.call_async(Method::DELETE, &pq).await {
                Ok((StatusCode::NO_CONTENT | StatusCode::OK, _, _)) => Ok(()),
                Ok((s, body, _)) => Err(volume.answer_err(s, &body, &id)),
                Err(e) => Err(e),
            };
            done(outcome);
        });
    }

    fn report_error(&self, err: &DataError) {
        if let DataError::Remote { .. } = err {
            self.link.failed();
        }
    }
}

/// A shard upload in flight.
struct Writer {
    volume: RemoteShardVolume,
    id: String,
    tx: Option<mpsc::Sender<Bytes>>,
    task: Option<tokio::task::JoinHandle<Result<(StatusCode, Bytes), String>>>,
    block: frames::BlockBuf,
    block_size: usize,
    index: u64,
    size: u64,
}

impl Writer {
    fn send(&mut self, frame: Bytes) -> Result<(), DataError> {
        let Some(tx) = self.tx.as_ref() else {
            return Err(self.volume.remote_err("upload already ended"));
        };
        let link = &self.volume.link;
        let sent = block_on(&link.handle, link.bounded(IO_TIMEOUT, tx.send(frame)));
        match sent {
            Ok(Ok(())) => Ok(()),
            // The request ended early: its answer says why.
            Ok(Err(_)) => Err(self
                .outcome()
                .err()
                .unwrap_or_else(|| self.volume.remote_err("the node ended the upload early"))),
            Err(why) => {
                self.volume.link.failed();
                Err(self.volume.remote_err(format!("sending a block: {why}")))
            }
        }
    }

    /// Waits for the node's answer to the upload.
    fn outcome(&mut self) -> Result<(), DataError> {
        self.tx = None;
        let Some(mut task) = self.task.take() else {
            return Err(self.volume.remote_err("upload already ended"));
        };
        let link = &self.volume.link;
        let r = block_on(&link.handle, link.bounded(FINISH_TIMEOUT, &mut task));
        if r.is_err() {
            task.abort();
        }
        match r {
            Ok(Ok(Ok((StatusCode::OK, _)))) => Ok(()),
            Ok(Ok(Ok((status, body)))) => Err(self.volume.answer_err(status, &body, &self.id)),
            Ok(Ok(Err(e))) => {
                self.volume.link.failed();
                Err(self.volume.remote_err(e))
            }
            Ok(Err(e)) => Err(self.volume.remote_err(e.to_string())),
            Err(why) => {
                self.volume.link.failed();
                Err(self
                    .volume
                    .remote_err(format!("waiting for the shard to be made durable: {why}")))
            }
        }
    }

    fn flush(&mut self) -> Result<(), DataError> {
        let block = std::mem::replace(&mut self.block, frames::BlockBuf::with_capacity(0));
        let frame = block.seal(self.index);
        self.index += 1;
        self.send(frame)
    }
}

impl RemoteWriter for Writer {
    fn write(&mut self, mut data: &[u8]) -> Result<(), DataError> {
        self.size += data.len() as u64;
        while !data.is_empty() {
            if self.block.is_empty() {
                // Room for the whole block at once (a block's worth in flight at most).
                self.block = frames::BlockBuf::with_capacity(self.block_size);
            }
            let n = (self.block_size - self.block.len()).min(data.len());
            self.block.extend(&data[..n]);
            data = &data[n..];
            if self.block.len() == self.block_size {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), DataError> {
        if !self.block.is_empty() {
            self.flush()?;
        }
        self.send(frames::end_frame(self.size))?;
        self.outcome()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Abandoned: cut the request so the node drops its partial file (it commits only
        // after the end frame).
        self.tx = None;
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A shard file on another node, open for verified reads.
struct RemoteShard {
    volume: RemoteShardVolume,
    id: String,
    header: ShardHeader,
    size: u64,
    /// Block 0, when it came with the header (given out once).
    first: std::sync::Mutex<Option<Bytes>>,
}

impl RemoteShard {
    /// Block `index` from an answer (its bytes, then their u64 checksum), checked.
    fn verify(&self, index: u64, body: Bytes) -> Result<Bytes, DataError> {
        let corrupt = |reason: &str| DataError::Corrupt {
            path: PathBuf::from(format!("{}/{}", self.volume.describe(), self.id)),
            reason: format!("block {index}: {reason}"),
        };
        let Some(split) = body.len().checked_sub(8) else {
            return Err(corrupt("short answer"));
        };
        check_block(index, &body[..split], &body[split..])
            .map_err(|why| corrupt(&format!("{why} on arrival")))?;
        Ok(body.slice(..split))
    }
}

impl RemoteReader for RemoteShard {
    fn header(&self) -> &ShardHeader {
        &self.header
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_block(&self, index: u64) -> Result<Bytes, DataError> {
        if index == 0
            && let Some(b) = self.first.lock().ok().and_then(|mut f| f.take())
        {
            return Ok(b);
        }
        let pq = format!("{}?block={index}", self.volume.path(&self.id));
        let (status, body, _) = self.volume.call(Method::GET, &pq)?;
        if status != StatusCode::OK {
            return Err(self.volume.answer_err(status, &body, &self.id));
        }
        self.verify(index, body)
    }
}
