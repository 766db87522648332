//! Users: add-user, remove-user, list-users, user-info, set-user-status.

use std::collections::BTreeMap;

use rustfs_iam::{Status, UserRecord};
use s3s::{Body, S3Response};
use serde::{Deserialize, Serialize};

use super::body::{Call, empty_reply, plain_reply};
use super::{Ctx, rfc3339};
use crate::errors::AdminError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddUser {
    secret_key: String,
    #[serde(default)]
    status: Option<String>,
}

/// madmin's UserInfo.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    policy_name: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    member_of: Vec<String>,
    updated_at: String,
}

fn info(u: &UserRecord) -> UserInfo {
    UserInfo {
        policy_name: u.policies.join(","),
        status: status_name(u.status),
        member_of: u.groups.clone(),
        updated_at: rfc3339(u.updated_ms),
    }
}

pub fn status_name(s: Status) -> &'static str {
    match s {
        Status::Enabled => "enabled",
        Status::Disabled => "disabled",
    }
}

pub fn parse_status(s: &str) -> Result<Status, AdminError> {
    match s {
        "enabled" | "on" | "" => Ok(Status::Enabled),
        "disabled" | "off" => Ok(Status::Disabled),
        _ => Err(AdminError::InvalidArgument(format!("unknown status {s}"))),
    }
}

/// Refuses changing the root user through the API.
fn not_root(ctx: &Ctx<'_>, access_key: &str) -> Result<(), AdminError> {
    if access_key == ctx.identities.root().access_key {
        return Err(AdminError::InvalidArgument(
            "the root user cannot be changed through the admin API".into(),
        ));
    }
    Ok(())
}

pub async fn add(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let ak = call.required("accessKey")?.to_string();
    not_root(ctx, &ak)?;
    let body: AddUser = call.sealed_json().await?;
    let status = parse_status(body.status.as_deref().unwrap_or(""))?;
    let iam = ctx.identities.iam();
    iam.put_user(&ak, &body.secret_key, status, false).await?;
    ctx.changed().await?;
    Ok(empty_reply())
}

pub async fn remove(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let ak = call.required("accessKey")?.to_string();
    not_root(ctx, &ak)?;
    ctx.identities.iam().delete_user(&ak).await?;
    ctx.changed().await?;
    Ok(empty_reply())
}

pub async fn list(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let users = ctx.identities.iam().list_users("", usize::MAX).await?;
    let map: BTreeMap<String, UserInfo> = users
        .iter()
        .filter(|u| u.access_key != ctx.identities.root().access_key)
        .map(|u| (u.access_key.clone(), info(u)))
        .collect();
    call.sealed_reply(&map).await
}

pub async fn user_info(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let ak = call.required("accessKey")?;
    let u = ctx.user(ak).await?;
    plain_reply(&info(&u))
}

pub async fn set_status(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let ak = call.required("accessKey")?.to_string();
    not_root(ctx, &ak)?;
    let status = parse_status(call.required("status")?)?;
    ctx.identities.iam().set_user_status(&ak, status).await?;
    ctx.changed().await?;
    Ok(empty_reply())
}
