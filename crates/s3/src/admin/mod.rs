//! The admin API, beside S3 on the same port, SigV4-signed, JSON replies.
//!
//! MinIO's admin API for identities and server info ([`calls`] lists them with the admin
//! action each needs): `/minio/admin/v3/<op>` with madmin's encrypted bodies where MinIO
//! encrypts them ([`body`]), and the same calls at `/rustfs/admin/v3/<op>` with plain JSON
//! bodies (as upstream RustFS). Users ([`users`]), policies ([`policies`]), groups
//! ([`groups`]), service accounts ([`service_accounts`]), `info` and `accountinfo`
//! ([`info`]). Every change is applied on this node at once (`Identities::reload`); the
//! others follow within a poll. Refusals are MinIO's JSON errors
//! (`crate::errors::admin`).
//!
//! Our own calls:
//!
//! - `GET  /rustfs/admin/v1/status`         volumes, erasure layout, metadata backend and replicas,
//!   background workers
//! - `POST /rustfs/admin/v1/heal[?deep=true]` start a heal pass (202 with its id; 409 and the
//!   running pass if one is running)
//! - `GET  /rustfs/admin/v1/heal[?id=N]`     progress of the running pass or the last result (or
//!   of pass N)
//!
//! The whole of `/rustfs/admin/` and `/minio/admin/` (every version; MinIO's admin clients use
//! `/minio/admin/v3/`) is reserved for this API and never reaches S3 routing (no bucket may be
//! named `rustfs` or `minio`). A call it does not serve is answered, once the root signature
//! is checked, as MinIO answers an admin API it does not have: `426 Upgrade Required` with the
//! JSON error `XMinioAdminVersionMismatch` (madmin clients read a 426 on `/v4` as "fall back
//! to `/v3`").

mod body;
mod calls;
mod groups;
mod info;
mod policies;
mod service_accounts;
mod users;

pub use calls::V3Op;

use std::sync::Arc;

use crate::auth::{MemberKind, User};
use crate::errors::AdminError;
use body::{Call, Dialect};
use rustfs_iam::{GroupRecord, IamError, UserRecord};

use crate::api_error::ApiError;
use http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use rustfs_object::ObjectStore;
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result};
use serde::Serialize;

use crate::identity::Identities;
use crate::operation::{AdminCall, Operation, OperationSlot};

pub const PREFIX: &str = "/rustfs/admin/v1/";

/// The reserved path roots (see the module doc).
const RESERVED: [&str; 2] = ["/rustfs/admin", "/minio/admin"];

/// The admin API version MinIO's clients speak.
const MINIO_ADMIN_VERSION: &str = "v3";

/// Whether a path belongs to the admin API (`/rustfs/admin[/...]`, `/minio/admin[/...]`).
pub fn is_admin_path(path: &str) -> bool {
    RESERVED.iter().any(|root| {
        path.strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

pub struct AdminApi {
    store: Arc<ObjectStore>,
    identities: Identities,
}

impl AdminApi {
    pub fn new(store: Arc<ObjectStore>, identities: Identities) -> Self {
        Self { store, identities }
    }

    /// Whether a request is for the admin API (checked before S3 routing).
    pub fn matches(uri: &Uri) -> bool {
        is_admin_path(uri.path())
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
            "metadata_backend": self.store.meta_backend(),
            "metadata_replicas": self.store.replica_status().iter().map(|r| serde_json::json!({
                "path": r.path.display().to_string(),
                "online": r.online,
            })).collect::<Vec<_>>(),
            // The background workers (rustfs_object::worker): name, state, progress,
            // counters, steps, rate, last error.
            "workers": self.store.workers().status(),
            // Request totals since start (`metrics::Traffic`): requests, errors, bytes_in,
            // bytes_out; the console draws its graphs from their differences.
            "traffic": crate::metrics::traffic().json(),
        })
    }
}

/// The caller of an admin call, as `check_access` found it.
#[derive(Clone)]
struct AdminCaller {
    user: Arc<User>,
    /// Whether it passed the call's admin action (otherwise it may act on its own things only).
    admin: bool,
}

/// What a v3 call works with.
pub struct Ctx<'a> {
    store: &'a ObjectStore,
    identities: &'a Identities,
    caller: &'a User,
    admin: bool,
}

impl Ctx<'_> {
    /// Applies a change on this node at once.
    async fn changed(&self) -> Result<(), AdminError> {
        self.identities.reload().await?;
        Ok(())
    }

    /// The user name the caller acts as (a service account's: its parent's).
    fn own_name(&self) -> &str {
        match &self.caller.member {
            Some(m) => &m.name,
            None => &self.caller.access_key,
        }
    }

    /// Refuses a caller without the admin action acting on another user's things, or acting
    /// through a service account or session (whose narrowing a new service account of the
    /// parent would escape).
    fn may_manage(&self, user: &str) -> Result<(), AdminError> {
        let as_itself = match &self.caller.member {
            None => true,
            Some(m) => matches!(m.kind, MemberKind::User | MemberKind::AccessKey { .. }),
        };
        if self.admin || (as_itself && user == self.own_name()) {
            Ok(())
        } else {
            Err(AdminError::AccessDenied("Access Denied.".into()))
        }
    }

    async fn user(&self, access_key: &str) -> Result<UserRecord, AdminError> {
        self.identities
            .iam()
            .user(access_key)
            .await?
            .ok_or_else(|| {
                AdminError::Iam(IamError::NoSuchEntity {
                    kind: "user",
                    name: access_key.to_string(),
                })
            })
    }

    async fn group(&self, name: &str) -> Result<GroupRecord, AdminError> {
        self.identities.iam().group(name).await?.ok_or_else(|| {
            AdminError::Iam(IamError::NoSuchEntity {
                kind: "group",
                name: name.to_string(),
            })
        })
    }
}

pub(crate) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Milliseconds since the epoch as RFC 3339 (what madmin's time fields hold).
pub(crate) fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl AdminApi {
    /// Serves a v3 call; refusals become MinIO's JSON errors.
    async fn v3(&self, op: V3Op, mut req: S3Request<Body>) -> S3Response<Body> {
        let resource = req.uri.path().to_string();
        match self.v3_call(op, &mut req).await {
            Ok(resp) => resp,
            Err(e) => {
                let (status, code, message) = crate::errors::admin(&e);
                if status.is_server_error() {
                    tracing::warn!(error = %e, call = op.label(), "admin call failed");
                }
                let bytes = serde_json::to_vec(&serde_json::json!({
                    "Code": code,
                    "Message": message,
                    "Resource": resource,
                    "RequestId": "",
                    "HostId": "",
                }))
                .unwrap_or_default();
                body::reply(status, bytes, "application/json")
            }
        }
    }

    async fn v3_call(
        &self,
        op: V3Op,
        req: &mut S3Request<Body>,
    ) -> Result<S3Response<Body>, AdminError> {
        // check_access always records the caller of a call it lets through.
        let Some(who) = req.extensions.get::<AdminCaller>().cloned() else {
            return Err(AdminError::AccessDenied("Access Denied.".into()));
        };
        let dialect = if req.uri.path().starts_with(calls::MINIO_V3) {
            Dialect::Minio
        } else {
            Dialect::Plain
        };
        let body = req
            .input
            .store_all_limited(body::MAX_BODY)
            .await
            .map_err(|_| AdminError::TooLarge)?;
        let mut call = Call {
            dialect,
            query: body::parse_query(req.uri.query())?,
            body: body.to_vec(),
            password: who.user.secret_key.clone(),
            host: req
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_string(),
            scheme: rustfs_madmin::Scheme::Argon2idAesGcm,
        };
        let ctx = Ctx {
            store: &self.store,
            identities: &self.identities,
            caller: &who.user,
            admin: who.admin,
        };
        let c = &mut call;
        match op {
            V3Op::AddUser => users::add(&ctx, c).await,
            V3Op::RemoveUser => users::remove(&ctx, c).await,
            V3Op::ListUsers => users::list(&ctx, c).await,
            V3Op::UserInfo => users::user_info(&ctx, c).await,
            V3Op::SetUserStatus => users::set_status(&ctx, c).await,
            V3Op::AddPolicy => policies::add(&ctx, c).await,
            V3Op::PolicyInfo => policies::info(&ctx, c).await,
            V3Op::ListPolicies => policies::list(&ctx, c).await,
            V3Op::RemovePolicy => policies::remove(&ctx, c).await,
            V3Op::AttachPolicy => policies::associate(&ctx, c, true).await,
            V3Op::DetachPolicy => policies::associate(&ctx, c, false).await,
            V3Op::SetPolicy => policies::set(&ctx, c).await,
            V3Op::UpdateGroupMembers => groups::update_members(&ctx, c).await,
            V3Op::GroupInfo => groups::info(&ctx, c).await,
            V3Op::ListGroups => groups::list(&ctx, c).await,
            V3Op::SetGroupStatus => groups::set_status(&ctx, c).await,
            V3Op::AddServiceAccount => service_accounts::add(&ctx, c).await,
            V3Op::UpdateServiceAccount => service_accounts::update(&ctx, c).await,
            V3Op::ServiceAccountInfo => service_accounts::info(&ctx, c).await,
            V3Op::ListServiceAccounts => service_accounts::list(&ctx, c).await,
            V3Op::DeleteServiceAccount => service_accounts::delete(&ctx, c).await,
            V3Op::AccountInfo => info::account(&ctx, c).await,
            V3Op::ServerInfo => info::server(&ctx, c).await,
        }
    }
}

fn json_reply(status: StatusCode, value: &impl Serialize) -> S3Result<S3Response<Body>> {
    let bytes =
        serde_json::to_vec_pretty(value).map_err(|e| ApiError::AdminReply(e.to_string()))?;
    let mut resp = S3Response::new(Body::from(bytes));
    resp.status = Some(status);
    resp.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// The answer to an admin call this server does not have (see the module doc).
fn unsupported(path: &str) -> S3Result<S3Response<Body>> {
    let (root, rest) = RESERVED
        .iter()
        .find_map(|root| Some((*root, path.strip_prefix(root)?)))
        .unwrap_or(("", path));
    let version = rest
        .trim_start_matches('/')
        .split('/')
        .next()
        .filter(|v| v.len() > 1 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("unknown");
    let served = if root == "/rustfs/admin" {
        ["v1", MINIO_ADMIN_VERSION].contains(&version)
    } else {
        version == MINIO_ADMIN_VERSION
    };
    let message = match version {
        _ if served => "This 'admin' API is not supported by this server".to_string(),
        "v1" | "v2" => format!(
            "Server expects client requests with 'admin' API version '{MINIO_ADMIN_VERSION}', found '{version}', please upgrade the client to latest releases"
        ),
        _ => format!(
            "Unexpected client 'admin' API version found '{version}', expected '{MINIO_ADMIN_VERSION}', please downgrade the client to older releases"
        ),
    };
    json_reply(
        StatusCode::UPGRADE_REQUIRED,
        &serde_json::json!({
            "Code": "XMinioAdminVersionMismatch",
            "Message": message,
            "Resource": path,
        }),
    )
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
        let call = AdminCall::of(&req.method, req.uri.path());
        let op = OperationSlot::record(&mut req.extensions, Operation::Admin(call.clone()));
        let keys = self.identities.keys();
        let caller = crate::access::resolve_caller(
            keys,
            req.credentials.as_ref(),
            &req.headers,
            req.uri.query(),
        )
        .map_err(crate::errors::access)?;
        let checked = crate::access::check_route(&op, caller.as_deref(), keys.root().as_deref());
        let admin = match (checked, call, &caller) {
            (Ok(()), _, _) => true,
            // A signed caller may still make these calls on what is its own.
            (Err(_), AdminCall::V3(v3), Some(_)) if v3.self_service() => false,
            (Err(e), _, _) => return Err(e),
        };
        if let Some(user) = caller {
            OperationSlot::record_caller(&mut req.extensions, user.clone());
            req.extensions.insert(AdminCaller { user, admin });
        }
        Ok(())
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        if let Some(v3) = V3Op::of(&req.method, req.uri.path()) {
            return Ok(self.v3(v3, req).await);
        }
        let Some(op) = req.uri.path().strip_prefix(PREFIX) else {
            return unsupported(req.uri.path());
        };
        match (&req.method, op) {
            (&Method::GET, "status") => json_reply(StatusCode::OK, &self.status()),
            (&Method::GET, "heal") => {
                let id = match query_value(&req.uri, "id") {
                    Some(v) => Some(v.parse::<u64>().map_err(|_| ApiError::AdminHealIdInvalid)?),
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
            _ => unsupported(req.uri.path()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_paths_are_reserved_in_every_version() {
        for p in [
            "/rustfs/admin",
            "/rustfs/admin/",
            "/rustfs/admin/v1/status",
            "/rustfs/admin/v3/info",
            "/minio/admin/v3/list-users",
            "/minio/admin/v4/info",
        ] {
            assert!(is_admin_path(p), "{p}");
        }
        for p in [
            "/",
            "/rustfs",
            "/minio/adminx",
            "/bucket/rustfs/admin/v3",
            "/rustfs-x/admin",
        ] {
            assert!(!is_admin_path(p), "{p}");
        }
    }

    #[test]
    fn unknown_calls_answer_as_minio() {
        let reply = |p: &str| {
            let r = unsupported(p).unwrap();
            let body = r.output.bytes().unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            (r.status.unwrap().as_u16(), v)
        };
        let (status, v) = reply("/minio/admin/v3/no-such-call");
        assert_eq!(status, 426);
        assert_eq!(v["Code"], "XMinioAdminVersionMismatch");
        assert_eq!(
            v["Message"],
            "This 'admin' API is not supported by this server"
        );
        assert_eq!(v["Resource"], "/minio/admin/v3/no-such-call");
        let (_, v) = reply("/minio/admin/v4/info");
        assert!(v["Message"].as_str().unwrap().contains("found 'v4'"));
        let (_, v) = reply("/minio/admin/v2/info");
        assert!(v["Message"].as_str().unwrap().contains("please upgrade"));
        let (_, v) = reply("/rustfs/admin/v1/nothing");
        assert_eq!(
            v["Message"],
            "This 'admin' API is not supported by this server"
        );
        let (_, v) = reply("/rustfs/admin");
        assert!(v["Message"].as_str().unwrap().contains("'unknown'"));
    }
}
