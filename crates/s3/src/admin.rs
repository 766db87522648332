//! The admin API, beside S3 on the same port: `/rustfs/admin/v1/...`, SigV4-signed with the
//! root credentials, JSON replies.
//!
//! - `GET  /rustfs/admin/v1/status`         volumes, erasure layout, metadata replicas
//! - `POST /rustfs/admin/v1/heal[?deep=true]` start a heal pass (202 with its id; 409 and the
//!   running pass if one is running)
//! - `GET  /rustfs/admin/v1/heal[?id=N]`     progress of the running pass or the last result (or
//!   of pass N)

use std::sync::Arc;

use http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use rustfs_object::ObjectStore;
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result, s3_error};
use serde::Serialize;

pub const PREFIX: &str = "/rustfs/admin/v1/";

pub struct AdminApi {
    store: Arc<ObjectStore>,
    root_access_key: String,
}

impl AdminApi {
    pub fn new(store: Arc<ObjectStore>, root_access_key: impl Into<String>) -> Self {
        Self {
            store,
            root_access_key: root_access_key.into(),
        }
    }

    /// Whether a request is for the admin API (checked before S3 routing).
    pub fn matches(uri: &Uri) -> bool {
        uri.path().starts_with(PREFIX)
    }

    fn status(&self) -> serde_json::Value {
        let layout = self.store.layout();
        serde_json::json!({
            "erasure": {
                "data_shards": layout.data,
                "parity_shards": layout.parity,
                "write_quorum": layout.write_quorum(),
            },
            "volumes": self.store.volume_status().iter().map(|v| serde_json::json!({
                "path": v.root.display().to_string(),
                "online": v.online,
                "full": v.full,
            })).collect::<Vec<_>>(),
            "metadata_replicas": self.store.replica_status().iter().map(|r| serde_json::json!({
                "path": r.path.display().to_string(),
                "online": r.online,
            })).collect::<Vec<_>>(),
        })
    }
}

fn json_reply(status: StatusCode, value: &impl Serialize) -> S3Result<S3Response<Body>> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| s3_error!(InternalError, "{e}"))?;
    let mut resp = S3Response::new(Body::from(bytes));
    resp.status = Some(status);
    resp.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

fn query_value<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?
        .split('&')
        .find_map(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => Some(v),
            None if kv == name => Some(""),
            _ => None,
        })
}

#[async_trait::async_trait]
impl S3Route for AdminApi {
    fn is_match(&self, _m: &Method, uri: &Uri, _h: &HeaderMap, _x: &mut Extensions) -> bool {
        Self::matches(uri)
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        match &req.credentials {
            Some(c) if c.access_key == self.root_access_key => Ok(()),
            Some(_) => Err(s3_error!(
                AccessDenied,
                "The admin API needs the root credentials"
            )),
            None => Err(s3_error!(AccessDenied, "Signature is required")),
        }
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let op = req.uri.path().trim_start_matches(PREFIX);
        match (&req.method, op) {
            (&Method::GET, "status") => json_reply(StatusCode::OK, &self.status()),
            (&Method::GET, "heal") => {
                let id = match query_value(&req.uri, "id") {
                    Some(v) => Some(
                        v.parse::<u64>()
                            .map_err(|_| s3_error!(InvalidArgument, "id must be a number"))?,
                    ),
                    None => None,
                };
                json_reply(StatusCode::OK, &self.store.heal_state(id))
            }
            (&Method::POST, "heal") => {
                let deep = matches!(query_value(&req.uri, "deep"), Some("" | "true"));
                match self.store.start_heal(deep, None) {
                    Some(id) => json_reply(StatusCode::ACCEPTED, &self.store.heal_state(Some(id))),
                    None => json_reply(StatusCode::CONFLICT, &self.store.heal_state(None)),
                }
            }
            _ => Err(s3_error!(
                NotImplemented,
                "Unknown admin API call {} {}",
                req.method,
                req.uri.path()
            )),
        }
    }
}
