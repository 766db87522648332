//! The shard service a node serves to the others, under `/rustfs/internode/v1/` on its S3
//! port (before the S3 edge: these requests are never S3 requests and carry no S3 signature):
//!
//! ```text
//! PUT    /rustfs/internode/v1/shard/VOLUME/ID           framed body (see `frames`): 200 once durable
//! GET    /rustfs/internode/v1/shard/VOLUME/ID           the file's header; x-rustfs-shard-size
//! GET    /rustfs/internode/v1/shard/VOLUME/ID?first=1   the header, then block 0 and its checksum
//! GET    /rustfs/internode/v1/shard/VOLUME/ID?block=N   block N, then its u64 xxh3 checksum
//! DELETE /rustfs/internode/v1/shard/VOLUME/ID           204 (also when it was not there)
//! GET    /rustfs/internode/v1/ping                      200
//! GET    /rustfs/internode/v1/stats                     JSON: requests, bytes_in, bytes_out
//! ```
//! Every request is signed with the cluster secret ([`crate::auth`]); mutations are also
//! refused when replayed. Status codes carry the data layer's errors: 404 not found, 409
//! corrupt, 507 no space, 503 volume offline or unknown, 400 a malformed request or body.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use rustfs_data::{BlockWriter, DataError, DataStore, ShardHeader};

use crate::auth::{ReplayGuard, Signer};
use crate::frames::{Frame, FrameReader};

pub const PREFIX: &str = "/rustfs/internode/";
pub const SHARD_PATH: &str = "/rustfs/internode/v1/shard/";
pub const PING_PATH: &str = "/rustfs/internode/v1/ping";
pub const STATS_PATH: &str = "/rustfs/internode/v1/stats";
pub const SIZE_HEADER: &str = "x-rustfs-shard-size";
/// How many bytes of an answer with `?first=1` are the header (block 0 follows).
pub const HEADER_LEN_HEADER: &str = "x-rustfs-header-len";

/// Whether a request path is for the internode service.
pub fn is_internode(path: &str) -> bool {
    path.starts_with(PREFIX)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r
}

/// The status that tells a data-layer error to the calling node.
pub fn status_of(e: &DataError) -> StatusCode {
    match e {
        DataError::NotFound(_) => StatusCode::NOT_FOUND,
        DataError::Corrupt { .. } => StatusCode::CONFLICT,
        DataError::NoSpace(_) => StatusCode::INSUFFICIENT_STORAGE,
        DataError::Volume { .. } | DataError::Quorum { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_reply(e: &DataError) -> Response<Bytes> {
    reply(status_of(e), e.to_string())
}

/// Serves this node's volumes to the other nodes.
pub struct ShardService {
    data: Arc<DataStore>,
    signer: Signer,
    guard: ReplayGuard,
    stats: Stats,
}

/// Traffic served to other nodes since start (shard bytes with their framing and checksums).
#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl ShardService {
    pub fn new(data: Arc<DataStore>, signer: Signer) -> Self {
        Self {
            data,
            signer,
            guard: ReplayGuard::default(),
            stats: Stats::default(),
        }
    }

    /// Answers one internode request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Bytes>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let pq = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
        let method = req.method().clone();
        let signed = if method == Method::GET {
            self.signer
                .verify_read(method.as_str(), &pq, req.headers(), now_secs())
        } else {
            self.signer
                .verify(method.as_str(), &pq, req.headers(), now_secs(), &self.guard)
        };
        if let Err(e) = signed {
            tracing::warn!(path = %req.uri().path(), error = %e, "internode request refused");
            return reply(StatusCode::FORBIDDEN, e.to_string());
        }
        let path = req.uri().path();
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        if path == PING_PATH && method == Method::GET {
            return reply(StatusCode::OK, Bytes::new());
        }
        if path == STATS_PATH && method == Method::GET {
            let body = format!(
                "{{\"requests\":{},\"bytes_in\":{},\"bytes_out\":{}}}",
                self.stats.requests.load(Ordering::Relaxed),
                self.stats.bytes_in.load(Ordering::Relaxed),
                self.stats.bytes_out.load(Ordering::Relaxed)
            );
            return reply(StatusCode::OK, body);
        }
        let Some((volume, id)) = parse_shard_path(path) else {
            return reply(StatusCode::NOT_FOUND, "no such internode resource");
        };
        let query = match req.uri().query().map(parse_query) {
            None => Query::None,
            Some(Some(q)) => q,
            Some(None) => return reply(StatusCode::BAD_REQUEST, "bad query"),
        };
        match (method, query) {
            (Method::PUT, Query::None) => self.put(volume, id, req.into_body()).await,
            (Method::GET, Query::None) => self.get_header(volume, id, false).await,
            (Method::GET, Query::First) => self.get_header(volume, id, true).await,
            (Method::GET, Query::Block(b)) => self.get_block(volume, id, b).await,
            (Method::DELETE, Query::None) => {
                let data = self.data.clone();
                match tokio::task::spawn_blocking(move || data.local_remove(volume, &id)).await {
                    Ok(Ok(())) => reply(StatusCode::NO_CONTENT, Bytes::new()),
                    Ok(Err(e)) => error_reply(&e),
                    Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                }
            }
            _ => reply(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        }
    }

    /// The file's header; with `first`, block 0 and its checksum after it (a reader's first
    /// request: one round trip instead of two).
    async fn get_header(&self, volume: u16, id: String, first: bool) -> Response<Bytes> {
        let data = self.data.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let r = data.local_open(volume, &id)?;
            let head = r.header().encode();
            let mut out = BytesMut::from(&head[..]);
            if first && r.size() > 0 {
                out.put_slice(&r.read_block_framed(0)?);
            }
            Ok::<_, DataError>((out.freeze(), head.len(), r.size()))
        })
        .await;
        match opened {
            Ok(Ok((body, head_len, size))) => {
                self.stats
                    .bytes_out
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                let mut r = reply(StatusCode::OK, body);
                r.headers_mut().insert(SIZE_HEADER, size.into());
                r.headers_mut().insert(HEADER_LEN_HEADER, head_len.into());
                r
            }
            Ok(Err(e)) => error_reply(&e),
            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }

    async fn get_block(&self, volume: u16, id: String, block: u64) -> Response<Bytes> {
        let data = self.data.clone();
        let read = tokio::task::spawn_blocking(move || {
            // Verified here (rot on this node is found and reported here); the stored checksum
            // travels with the bytes for the reader to verify on arrival.
            data.local_open(volume, &id)?.read_block_framed(block)
        })
        .await;
        match read {
            Ok(Ok(b)) => {
                self.stats
                    .bytes_out
                    .fetch_add(b.len() as u64, Ordering::Relaxed);
                reply(StatusCode::OK, b)
            }
            Ok(Err(e)) => error_reply(&e),
            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }

    /// Receives a shard: every block checked before it is written, the file committed (synced,
    /// renamed, directory synced) only after the end frame. Anything else leaves nothing.
    async fn put<B>(&self, volume: u16, id: String, mut body: B) -> Response<Bytes>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let mut frames = FrameReader::default();
        let mut writer: Option<BlockWriter> = None;
        loop {
            let next = match body.frame().await {
                None => break,
                Some(Err(e)) => {
                    return reply(StatusCode::BAD_REQUEST, format!("body ended early: {e}"));
                }
                Some(Ok(f)) => f,
            };
            let Ok(bytes) = next.into_data() else {
                continue;
            };
            self.stats
                .bytes_in
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            frames.push(&bytes);
            loop {
                let frame = match frames.next_frame() {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => return reply(StatusCode::BAD_REQUEST, e),
                };
                match frame {
                    Frame::Header(h) => {
                        let header = match ShardHeader::decode(&h) {
                            Ok(h) => h,
                            Err(e) => return reply(StatusCode::BAD_REQUEST, e),
                        };
                        if let Err(e) = frames.set_block_size(header.block_size) {
                            return reply(StatusCode::BAD_REQUEST, e);
                        }
                        let data = self.data.clone();
                        let id = id.clone();
                        match tokio::task::spawn_blocking(move || {
                            data.local_create(volume, &id, &header)
                        })
                        .await
                        {
                            Ok(Ok(w)) => writer = Some(w),
                            Ok(Err(e)) => return error_reply(&e),
                            Err(e) => {
                                return reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
                            }
                        }
                    }
                    Frame::Block { data, sum } => {
                        let Some(mut w) = writer.take() else {
                            return reply(StatusCode::BAD_REQUEST, "block before header");
                        };
                        // Checked on arrival: written with its checksum, not hashed again.
                        let written = tokio::task::spawn_blocking(move || {
                            w.write_block(&data, sum).map(|()| w)
                        });
                        match written.await {
                            Ok(Ok(w)) => writer = Some(w),
                            Ok(Err(e)) => return error_reply(&e),
                            Err(e) => {
                                return reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
                            }
                        }
                    }
                    Frame::End(_) => {}
                }
            }
        }
        if !frames.ended() {
            return reply(StatusCode::BAD_REQUEST, "body ended before its end frame");
        }
        let Some(w) = writer else {
            return reply(StatusCode::BAD_REQUEST, "no header");
        };
        match tokio::task::spawn_blocking(move || w.finish()).await {
            Ok(Ok(())) => reply(StatusCode::OK, Bytes::new()),
            Ok(Err(e)) => error_reply(&e),
            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

/// `VOLUME/ID` after [`SHARD_PATH`]: a decimal volume id and a 32-hex-digit data id.
fn parse_shard_path(path: &str) -> Option<(u16, String)> {
    let rest = path.strip_prefix(SHARD_PATH)?;
    let (vol, id) = rest.split_once('/')?;
    let vol: u16 = vol.parse().ok()?;
    rustfs_data::format::is_data_id(id).then(|| (vol, id.to_string()))
}

/// What a shard request's query asks for.
#[derive(Debug, PartialEq, Eq)]
enum Query {
    None,
    /// `first=1`: the header and block 0.
    First,
    /// `block=N`.
    Block(u64),
}

fn parse_query(query: &str) -> Option<Query> {
    if query.is_empty() {
        return Some(Query::None);
    }
    if query == "first=1" {
        return Some(Query::First);
    }
    query.strip_prefix("block=")?.parse().ok().map(Query::Block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_shard_paths_parse() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            parse_shard_path(&format!("{SHARD_PATH}7/{id}")),
            Some((7, id.to_string()))
        );
        for bad in [
            format!("{SHARD_PATH}7/../../etc/passwd"),
            format!("{SHARD_PATH}70000/{id}"),
            format!("{SHARD_PATH}x/{id}"),
            format!("{SHARD_PATH}7/{id}/x"),
            format!("{SHARD_PATH}7"),
        ] {
            assert_eq!(parse_shard_path(&bad), None, "{bad}");
        }
        assert_eq!(parse_query("block=12"), Some(Query::Block(12)));
        assert_eq!(parse_query("first=1"), Some(Query::First));
        assert_eq!(parse_query(""), Some(Query::None));
        assert_eq!(parse_query("block=-1"), None);
        assert_eq!(parse_query("x=1"), None);
    }
}
