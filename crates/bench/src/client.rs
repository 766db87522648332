//! A minimal S3 client over hyper: signs, sends, drains or collects the response body.
//!
//! Two ways to send: [`S3Client::send`] through a pooled hyper-util client (setup, cleanup,
//! `rustfs heal`), and [`Conn::send`] on one dedicated HTTP/1.1 connection (the load
//! generator's workers). A `Conn` is hyper's low-level `client::conn::http1` connection,
//! handshaken once and driven inside the task that sends on it (no connection task, no pool,
//! no channel hop between tasks), with its own lock-free signer.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONNECTION, CONTENT_LENGTH, ETAG, HOST};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::sigv4::{Signer, UNSIGNED_PAYLOAD, unix_now, uri_encode_into};

/// Credentials and region a command signs with (shared by `rustfs bench` and `rustfs heal`).
#[derive(clap::Args, Debug, Clone)]
pub struct KeyArgs {
    /// Access key (the root key for admin commands).
    #[arg(long, env = "RUSTFS_ACCESS_KEY", default_value = "rustfsadmin")]
    pub access_key: String,
    #[arg(
        long,
        env = "RUSTFS_SECRET_KEY",
        default_value = "rustfsadmin",
        hide_env_values = true
    )]
    pub secret_key: String,
    #[arg(long, env = "RUSTFS_REGION", default_value = "us-east-1")]
    pub region: String,
}

pub struct S3Client {
    http: Client<HttpConnector, Full<Bytes>>,
    authority: String,
    /// `http://authority`: the pooled client wants absolute URIs.
    origin: String,
    host: HeaderValue,
    signer: Mutex<Signer>,
}

/// Where a request goes: bucket, key (raw; empty for bucket requests) and raw query pairs.
pub struct Target<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub query: &'a [(&'a str, &'a str)],
}

/// What the caller needs back: status, byte count, and the body when asked to keep it.
pub struct Reply {
    pub status: StatusCode,
    pub bytes: u64,
    pub body: Option<Bytes>,
    /// Shares the response's buffer (no copy).
    pub etag: Option<HeaderValue>,
}

#[derive(Debug)]
pub enum ClientError {
    Http(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Http(e) => write!(f, "{e}"),
        }
    }
}

fn http_err(e: impl std::fmt::Display) -> ClientError {
    ClientError::Http(e.to_string())
}

static X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
static X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");

/// A signed request. `buf` is scratch space for the request target; `prefix` goes before the
/// path (`http://host` for the pooled client, which wants absolute URIs; empty otherwise).
#[allow(clippy::too_many_arguments)]
fn build_request(
    signer: &mut Signer,
    buf: &mut String,
    prefix: &str,
    host: &HeaderValue,
    authority: &str,
    method: Method,
    target: Target<'_>,
    body: Bytes,
    extra: &[(&str, &str)],
) -> Result<Request<Full<Bytes>>, ClientError> {
    let Target { bucket, key, query } = target;
    buf.clear();
    buf.push_str(prefix);
    buf.push('/');
    buf.push_str(bucket);
    if !key.is_empty() {
        buf.push('/');
        uri_encode_into(buf, key, true);
    }
    let signed = signer.sign_at(
        unix_now(),
        method.as_str(),
        authority,
        &buf[prefix.len()..],
        query,
        extra,
    );
    let (amz_date, authorization) = (
        signed.amz_date.clone(),
        HeaderValue::from_str(signed.authorization).map_err(http_err)?,
    );
    for (i, (k, v)) in query.iter().enumerate() {
        buf.push(if i == 0 { '?' } else { '&' });
        uri_encode_into(buf, k, false);
        if !v.is_empty() {
            buf.push('=');
            uri_encode_into(buf, v, false);
        }
    }
    // hyper leaves `Content-Length` out of a request whose body is empty; S3 servers may
    // refuse a PUT without one (upstream RustFS answers 400), so it is always sent for PUT.
    let empty_put = body.is_empty() && method == Method::PUT;
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = method;
    *req.uri_mut() = Uri::try_from(buf.as_str()).map_err(http_err)?;
    let h = req.headers_mut();
    h.reserve(4 + extra.len());
    h.insert(HOST, host.clone());
    h.insert(X_AMZ_DATE.clone(), amz_date);
    h.insert(
        X_AMZ_CONTENT_SHA256.clone(),
        HeaderValue::from_static(UNSIGNED_PAYLOAD),
    );
    h.insert(AUTHORIZATION, authorization);
    if empty_put {
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    for (k, v) in extra {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).map_err(http_err)?,
            HeaderValue::from_str(v).map_err(http_err)?,
        );
    }
    Ok(req)
}

/// Status and ETag of a response, its body counted (and kept when asked), frame by frame with
/// no copy unless kept.
async fn read_reply(resp: Response<Incoming>, keep_body: bool) -> Result<Reply, ClientError> {
    let status = resp.status();
    let etag = resp.headers().get(ETAG).cloned();
    let mut body = resp.into_body();
    let mut bytes = 0u64;
    let mut kept = keep_body.then(Vec::new);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(http_err)?;
        if let Some(d) = frame.data_ref() {
            bytes += d.len() as u64;
            if let Some(k) = kept.as_mut() {
                k.extend_from_slice(d);
            }
        }
    }
    Ok(Reply {
        status,
        bytes,
        body: kept.map(Bytes::from),
        etag,
    })
}

impl S3Client {
    /// `endpoint` is `http://host:port` (TLS is not supported by the load generator).
    pub fn new(
        endpoint: &str,
        access_key: &str,
        secret_key: &str,
        region: &str,
        pool: usize,
    ) -> Result<Self, String> {
        let uri: http::Uri = endpoint
            .parse()
            .map_err(|e| format!("bad endpoint {endpoint:?}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err("the load generator speaks plain http:// only".into());
        }
        let authority = uri.authority().ok_or("endpoint has no host")?.to_string();
        let host = HeaderValue::from_str(&authority).map_err(|e| e.to_string())?;
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool)
            .build(conn);
        Ok(Self {
            http,
            origin: format!("http://{authority}"),
            authority,
            host,
            signer: Mutex::new(Signer::new(access_key, secret_key, region)),
        })
    }

    /// Sends one request through the pool. `key` is raw (encoded here); `query` raw pairs.
    pub async fn send(
        &self,
        method: Method,
        target: Target<'_>,
        body: Bytes,
        extra: &[(&str, &str)],
        keep_body: bool,
    ) -> Result<Reply, ClientError> {
        let req = {
            let mut signer = self.signer.lock().unwrap_or_else(|p| p.into_inner());
            build_request(
                &mut signer,
                &mut String::new(),
                &self.origin,
                &self.host,
                &self.authority,
                method,
                target,
                body,
                extra,
            )?
        };
        let resp = self.http.request(req).await.map_err(http_err)?;
        read_reply(resp, keep_body).await
    }

    /// A dedicated connection to the endpoint (opened on its first request) with its own
    /// signer.
    pub fn connection(&self) -> Conn {
        let signer = self
            .signer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Conn {
            authority: self.authority.clone(),
            host: self.host.clone(),
            signer,
            buf: String::with_capacity(128),
            sender: None,
            conn: None,
        }
    }
}

type Http1Conn = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One HTTP/1.1 connection, used by one task for one request at a time.
pub struct Conn {
    authority: String,
    host: HeaderValue,
    signer: Signer,
    buf: String,
    sender: Option<http1::SendRequest<Full<Bytes>>>,
    /// The connection's state machine: polled only while a request of ours is under way.
    conn: Option<Pin<Box<Http1Conn>>>,
}

/// How long a request waits after its connection ended for hyper to hand back its outcome
/// (it does at once; this only bounds the wait).
const AFTER_CLOSE: Duration = Duration::from_secs(5);

/// Runs `fut` while polling `conn` in the same task, so the socket's readiness wakes the one
/// task that waits for the reply. When the connection ends first, it is dropped (which fails
/// whatever still waits on it) and `fut` is awaited for that outcome.
async fn drive<T>(
    conn: &mut Option<Pin<Box<Http1Conn>>>,
    mut fut: Pin<&mut impl Future<Output = Result<T, ClientError>>>,
) -> Result<T, ClientError> {
    if let Some(c) = conn.as_mut() {
        let done = poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            if c.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            // The connection may just have handed over a response or a body frame.
            fut.as_mut().poll(cx).map(Some)
        })
        .await;
        if let Some(v) = done {
            return v;
        }
        *conn = None;
    }
    tokio::time::timeout(AFTER_CLOSE, fut)
        .await
        .unwrap_or_else(|_| Err(ClientError::Http("connection closed".into())))
}

impl Conn {
    async fn connect(&mut self) -> Result<(), ClientError> {
        let tcp = TcpStream::connect(self.authority.as_str())
            .await
            .map_err(http_err)?;
        tcp.set_nodelay(true).map_err(http_err)?;
        let (sender, conn) = http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(http_err)?;
        self.sender = Some(sender);
        self.conn = Some(Box::pin(conn));
        Ok(())
    }

    /// Sends one request on this connection (reconnecting if it was closed). `key` is raw
    /// (encoded here); `query` raw pairs.
    pub async fn send(
        &mut self,
        method: Method,
        target: Target<'_>,
        body: Bytes,
        extra: &[(&str, &str)],
        keep_body: bool,
    ) -> Result<Reply, ClientError> {
        let mut req = build_request(
            &mut self.signer,
            &mut self.buf,
            "",
            &self.host,
            &self.authority,
            method,
            target,
            body,
            extra,
        )?;
        // A request the connection never wrote (it had closed meanwhile) is sent once more on a
        // new connection.
        let mut attempts = 0;
        let resp = loop {
            attempts += 1;
            if self.conn.is_none() || self.sender.as_ref().is_none_or(|s| s.is_closed()) {
                self.conn = None;
                self.connect().await?;
            }
            let sender = self.sender.as_mut().expect("connected");
            let sent = pin!(async move {
                if let Err(e) = sender.ready().await {
                    return Ok(Err((e.to_string(), Some(req))));
                }
                Ok(match sender.try_send_request(req).await {
                    Ok(resp) => Ok(resp),
                    Err(mut e) => {
                        let unsent = e.take_message();
                        Err((e.into_error().to_string(), unsent))
                    }
                })
            });
            match drive(&mut self.conn, sent).await? {
                Ok(resp) => break resp,
                Err((e, unsent)) => {
                    self.conn = None;
                    match unsent {
                        Some(r) if attempts < 2 => req = r,
                        _ => return Err(ClientError::Http(e)),
                    }
                }
            }
        };
        let close = resp
            .headers()
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let reply = drive(&mut self.conn, pin!(read_reply(resp, keep_body))).await;
        if close || reply.is_err() {
            self.conn = None;
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hyper::service::service_fn;

    use super::*;

    /// A loopback server for at most 16 connections. Each reply names the request (method,
    /// target, whether it was signed, body length); every third reply on a connection closes
    /// it. Returns the endpoint and the count of connections accepted.
    async fn server() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            for _ in 0..16 {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::Relaxed);
                let served = Arc::new(AtomicUsize::new(0));
                let svc = service_fn(move |req: Request<Incoming>| {
                    let n = served.fetch_add(1, Ordering::Relaxed) + 1;
                    async move {
                        let h = req.headers();
                        let signed = h.get(AUTHORIZATION).is_some_and(|v| {
                            v.as_bytes().starts_with(b"AWS4-HMAC-SHA256 Credential=ak/")
                        }) && h.contains_key("x-amz-date")
                            && h.get(HOST).is_some();
                        let line = format!("{} {} {signed}", req.method(), req.uri());
                        let body = req.into_body().collect().await?.to_bytes();
                        let mut resp =
                            Response::new(Full::new(Bytes::from(format!("{line} {}", body.len()))));
                        resp.headers_mut()
                            .insert(ETAG, HeaderValue::from_static("\"e\""));
                        if n.is_multiple_of(3) {
                            resp.headers_mut()
                                .insert(CONNECTION, HeaderValue::from_static("close"));
                        }
                        Ok::<_, hyper::Error>(resp)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc),
                );
            }
        });
        (endpoint, accepted)
    }

    /// Bucket `b`, `key`, no query.
    fn on(key: &'static str) -> Target<'static> {
        Target {
            bucket: "b",
            key,
            query: &[],
        }
    }

    /// Reads one request head (up to the blank line); `None` if the connection ends first.
    async fn read_head(tcp: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let mut head = Vec::new();
        let mut chunk = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
        }
        Some(head)
    }

    fn text(r: &Reply) -> String {
        String::from_utf8(r.body.clone().unwrap_or_default().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_connection_signs_sends_and_reopens_after_a_close() {
        let (endpoint, accepted) = server().await;
        let client = S3Client::new(&endpoint, "ak", "sk", "us-east-1", 4).unwrap();
        let mut conn = client.connection();
        let q = [("uploadId", "a b"), ("partNumber", "1")];
        for i in 0..7 {
            let target = Target {
                bucket: "b",
                key: "k ü/x",
                query: if i % 2 == 0 { &q } else { &[] },
            };
            let body = Bytes::from_static(b"abcd");
            let r = conn
                .send(Method::PUT, target, body, &[], true)
                .await
                .unwrap();
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(r.etag.as_ref().unwrap(), "\"e\"");
            let want = if i % 2 == 0 {
                "PUT /b/k%20%C3%BC/x?uploadId=a%20b&partNumber=1 true 4"
            } else {
                "PUT /b/k%20%C3%BC/x true 4"
            };
            assert_eq!(text(&r), want);
            assert_eq!(r.bytes, want.len() as u64);
        }
        // Seven requests with a close after every third: three connections.
        assert_eq!(accepted.load(Ordering::Relaxed), 3);
        let r = conn
            .send(Method::HEAD, on("k"), Bytes::new(), &[], true)
            .await;
        assert_eq!(r.unwrap().bytes, 0);
        // The pooled client sends the same request line, signed the same way.
        let target = Target {
            bucket: "b",
            key: "",
            query: &[("delete", "")],
        };
        let extra = [("content-md5", "x")];
        let r = client.send(
            Method::POST,
            target,
            Bytes::from_static(b"<D/>"),
            &extra,
            true,
        );
        assert_eq!(text(&r.await.unwrap()), "POST /b?delete true 4");
    }

    /// A server that answers each request (on its own connection) with the request's head.
    async fn head_echo() -> String {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            for _ in 0..4 {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    return;
                };
                let Some(head) = read_head(&mut tcp).await else {
                    continue;
                };
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
                    head.len()
                );
                let _ = tcp.write_all(reply.as_bytes()).await;
                let _ = tcp.write_all(&head).await;
            }
        });
        endpoint
    }

    #[tokio::test]
    async fn an_empty_put_says_its_length() {
        let endpoint = head_echo().await;
        let client = S3Client::new(&endpoint, "ak", "sk", "us-east-1", 1).unwrap();
        let mut conn = client.connection();
        for (method, want) in [(Method::PUT, true), (Method::GET, false)] {
            let r = conn.send(method, on("k"), Bytes::new(), &[], true).await;
            let head = text(&r.unwrap()).to_ascii_lowercase();
            assert_eq!(head.contains("\r\ncontent-length: 0\r\n"), want, "{head}");
        }
    }

    /// A server that answers two bodiless requests per connection and then closes it without
    /// saying so (no `Connection: close`), as servers do with idle connections. Returns the
    /// endpoint and the count of connections it closed.
    async fn silent_closer() -> (String, Arc<AtomicUsize>) {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let closed_total = Arc::new(AtomicUsize::new(0));
        let count = closed_total.clone();
        tokio::spawn(async move {
            for _ in 0..16 {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    return;
                };
                let closed = count.clone();
                tokio::spawn(async move {
                    for _ in 0..2 {
                        if read_head(&mut tcp).await.is_none() {
                            return;
                        }
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if tcp.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                    // Close a while after the last reply, once the client has read it.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    drop(tcp);
                    closed.fetch_add(1, Ordering::Relaxed);
                });
            }
        });
        (endpoint, closed_total)
    }

    #[tokio::test]
    async fn a_request_on_a_connection_the_server_closed_goes_on_a_new_one() {
        let (endpoint, closed) = silent_closer().await;
        let client = S3Client::new(&endpoint, "ak", "sk", "us-east-1", 1).unwrap();
        let mut conn = client.connection();
        for i in 0..6 {
            let r = conn
                .send(Method::GET, on("k"), Bytes::new(), &[], true)
                .await;
            assert_eq!(text(&r.unwrap()), "ok");
            // After every second reply, wait (bounded) for the server to close, as with an idle
            // close; the next request finds the connection closed and goes on a new one.
            for _ in 0..400 {
                if i % 2 == 0 || closed.load(Ordering::Relaxed) > i / 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        assert_eq!(closed.load(Ordering::Relaxed), 3);
    }
}
