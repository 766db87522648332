//! The S3 API. It implements the `s3s` crate's `S3` trait on top of the object layer:
//! converts s3s input DTOs into object-layer calls and results back into output DTOs, supplies
//! credentials to s3s' SigV4 verification ([`auth::Keyring`]), wraps s3s in the one hyper
//! service the binary serves ([`edge::Edge`]: everything done before s3s sees a request and to
//! its answer after), and is the only place that knows S3 error codes ([`errors`]). Routing,
//! XML, SigV4 (header, presigned, streaming chunks, trailers) and virtual-host parsing are
//! s3s'. It must not know how objects are stored.

pub mod access;
mod acl;
pub mod admin;
pub mod api_error;
pub mod auth;
mod body;
mod convert;
pub mod edge;
pub mod errors;
pub mod health;
pub mod host;
pub mod identity;
pub mod limits;
pub mod metrics;
pub mod operation;
mod ops;
mod policy_cache;
pub mod query_api;
pub mod routes;
pub use ops::{POST_OBJECT_MAX_FILE_SIZE, XML_BODY_LIMIT, s3s_config};
pub mod sse;

use std::sync::Arc;

use rustfs_object::ObjectStore;

/// The S3 service: an object store seen through the S3 API.
#[derive(Clone)]
pub struct RustFsS3 {
    store: Arc<ObjectStore>,
    region: String,
    users: auth::Keyring,
}

impl RustFsS3 {
    pub fn new(store: Arc<ObjectStore>, region: impl Into<String>, users: auth::Keyring) -> Self {
        Self {
            store,
            region: region.into(),
            users,
        }
    }
}
