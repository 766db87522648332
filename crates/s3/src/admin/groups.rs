//! Groups: update-group-members, group, groups, set-group-status.

use s3s::{Body, S3Response};
use serde::{Deserialize, Serialize};

use super::body::{Call, empty_reply, plain_reply};
use super::users::{parse_status, status_name};
use super::{Ctx, rfc3339};
use crate::errors::AdminError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupAddRemove {
    group: String,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    group_status: Option<String>,
    #[serde(default)]
    is_remove: bool,
}

/// madmin's GroupDesc.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupDesc {
    name: String,
    status: &'static str,
    members: Vec<String>,
    policy: String,
    updated_at: String,
}

pub async fn update_members(
    ctx: &Ctx<'_>,
    call: &mut Call,
) -> Result<S3Response<Body>, AdminError> {
    let body: GroupAddRemove = call.plain_json()?;
    if body.group.is_empty() {
        return Err(AdminError::InvalidArgument("no group given".into()));
    }
    let iam = ctx.identities.iam();
    iam.update_group_members(&body.group, &body.members, body.is_remove)
        .await?;
    if !body.is_remove
        && let Some(s) = body.group_status.as_deref().filter(|s| !s.is_empty())
    {
        iam.set_group_status(&body.group, parse_status(s)?).await?;
    }
    ctx.changed().await?;
    Ok(empty_reply())
}

pub async fn info(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let g = ctx.group(call.required("group")?).await?;
    plain_reply(&GroupDesc {
        name: g.name.clone(),
        status: status_name(g.status),
        members: g.members.clone(),
        policy: g.policies.join(","),
        updated_at: rfc3339(g.updated_ms),
    })
}

pub async fn list(ctx: &Ctx<'_>, _call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let groups = ctx.identities.iam().list_groups().await?;
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    plain_reply(&names)
}

pub async fn set_status(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let group = call.required("group")?.to_string();
    let status = parse_status(call.required("status")?)?;
    ctx.identities
        .iam()
        .set_group_status(&group, status)
        .await?;
    ctx.changed().await?;
    Ok(empty_reply())
}
