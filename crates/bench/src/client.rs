//! A minimal S3 client over hyper: signs, sends, drains or collects the response body.

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::sigv4::{Signer, uri_encode};

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
    signer: Signer,
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
    pub etag: Option<String>,
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
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool)
            .build(conn);
        Ok(Self {
            http,
            authority,
            signer: Signer::new(access_key, secret_key, region),
        })
    }

    /// Sends one request. `key` is raw (encoded here); `query` raw pairs.
    pub async fn send(
        &self,
        method: Method,
        target: Target<'_>,
        body: Bytes,
        extra: &[(&str, &str)],
        keep_body: bool,
    ) -> Result<Reply, ClientError> {
        let Target { bucket, key, query } = target;
        let mut path = format!("/{bucket}");
        if !key.is_empty() {
            path.push('/');
            path.push_str(&uri_encode(key, true));
        }
        let signed = self
            .signer
            .sign(method.as_str(), &self.authority, &path, query, extra);
        let mut target = path;
        if !query.is_empty() {
            target.push('?');
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        uri_encode(k, false)
                    } else {
                        format!("{}={}", uri_encode(k, false), uri_encode(v, false))
                    }
                })
                .collect();
            target.push_str(&q.join("&"));
        }
        let uri = format!("http://{}{target}", self.authority);
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", &self.authority);
        for (k, v) in signed.iter() {
            req = req.header(k.as_str(), v.as_str());
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let status = resp.status();
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = resp.into_body();
        let mut bytes = 0u64;
        let mut kept = keep_body.then(Vec::new);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ClientError::Http(e.to_string()))?;
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
}
