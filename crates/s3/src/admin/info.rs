//! `info` (what `mc admin info` shows: mode, buckets, servers and their drives) and
//! `accountinfo` (the caller's own account: its policies and the buckets it sees).

use rustfs_object::ObjectStore;
use s3s::{Body, S3Response};
use serde_json::{Value, json};

use super::Ctx;
use super::body::{Call, plain_reply};
use crate::errors::AdminError;

fn drives(store: &ObjectStore) -> Vec<Value> {
    store
        .volume_status()
        .iter()
        .map(|v| {
            json!({
                "endpoint": v.root.display().to_string(),
                "drivePath": v.root.display().to_string(),
                "state": if v.online { "ok" } else { "offline" },
            })
        })
        .collect()
}

pub async fn server(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let store = ctx.store;
    let buckets = store
        .list_buckets()
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let drives = drives(store);
    let online = drives.iter().filter(|d| d["state"] == "ok").count();
    let layout = store.layout();
    let endpoint = call.host.clone();
    plain_reply(&json!({
        "mode": "online",
        "deploymentID": "",
        "buckets": {"count": buckets.len()},
        "objects": {},
        "usage": {},
        "backend": {
            "backendType": "Erasure",
            "onlineDisks": online,
            "offlineDisks": drives.len() - online,
            "standardSCData": [layout.data],
            "standardSCParity": layout.parity,
        },
        "servers": [{
            "state": "online",
            "endpoint": endpoint,
            "drives": drives,
        }],
    }))
}

pub async fn account(ctx: &Ctx<'_>, _call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let name = ctx.own_name().to_string();
    let policies = match ctx.identities.iam().user(&name).await? {
        Some(u) => u.policies,
        None => Vec::new(),
    };
    let buckets = ctx
        .store
        .list_buckets()
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    plain_reply(&json!({
        "AccountName": name,
        "Server": {},
        "Policy": {"policies": policies},
        "Buckets": buckets.iter().map(|(b, _)| json!({"name": b})).collect::<Vec<_>>(),
    }))
}
