//! Policies: add-canned-policy, info-canned-policy, list-canned-policies,
//! remove-canned-policy, the attach and detach calls and set-user-or-group-policy.

use std::collections::BTreeMap;

use rustfs_iam::PolicyRecord;
use rustfs_iam::store::Principal;
use rustfs_object::policy::Policy;
use s3s::{Body, S3Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::{Call, empty_reply, plain_reply};
use super::{Ctx, rfc3339};
use crate::errors::AdminError;

/// A stored document as JSON (a document that no longer parses is shown as a string).
fn document(p: &PolicyRecord) -> Value {
    serde_json::from_str(&p.document).unwrap_or_else(|_| Value::String(p.document.clone()))
}

pub async fn add(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let name = call.required("name")?.to_string();
    let doc = std::str::from_utf8(&call.body)
        .map_err(|_| AdminError::MalformedPolicy("the policy is not UTF-8".into()))?;
    if doc.trim().is_empty() {
        return Err(AdminError::MalformedPolicy("the policy is empty".into()));
    }
    Policy::parse_identity(doc).map_err(|e| AdminError::MalformedPolicy(e.to_string()))?;
    ctx.identities.iam().put_policy(&name, doc).await?;
    ctx.changed().await?;
    Ok(empty_reply())
}

async fn record(ctx: &Ctx<'_>, name: &str) -> Result<PolicyRecord, AdminError> {
    ctx.identities
        .iam()
        .policy(name)
        .await?
        .ok_or_else(|| no_such_policy(name))
}

fn no_such_policy(name: &str) -> AdminError {
    AdminError::Iam(rustfs_iam::IamError::NoSuchEntity {
        kind: "policy",
        name: name.to_string(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyInfo {
    policy_name: String,
    policy: Value,
    create_date: String,
    update_date: String,
}

pub async fn info(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let p = record(ctx, call.required("name")?).await?;
    if call.param("v") == Some("2") {
        plain_reply(&PolicyInfo {
            policy_name: p.name.clone(),
            policy: document(&p),
            create_date: rfc3339(p.created_ms),
            update_date: rfc3339(p.updated_ms),
        })
    } else {
        plain_reply(&document(&p))
    }
}

pub async fn list(ctx: &Ctx<'_>, _call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let all = ctx.identities.iam().list_policies().await?;
    let map: BTreeMap<String, Value> = all.iter().map(|p| (p.name.clone(), document(p))).collect();
    plain_reply(&map)
}

pub async fn remove(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let name = call.required("name")?.to_string();
    ctx.identities.iam().delete_policy(&name).await?;
    ctx.changed().await?;
    Ok(empty_reply())
}

#[derive(Deserialize)]
struct Association {
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    user: String,
    #[serde(default)]
    group: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Associated {
    #[serde(skip_serializing_if = "Option::is_none")]
    policies_attached: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policies_detached: Option<Vec<String>>,
    updated_at: String,
}

fn principal(user: &str, group: &str) -> Result<Principal, AdminError> {
    match (user.is_empty(), group.is_empty()) {
        (false, true) => Ok(Principal::User(user.to_string())),
        (true, false) => Ok(Principal::Group(group.to_string())),
        _ => Err(AdminError::InvalidArgument(
            "exactly one of user and group must be given".into(),
        )),
    }
}

/// `idp/builtin/policy/attach` (`attach`) and `/detach`.
pub async fn associate(
    ctx: &Ctx<'_>,
    call: &mut Call,
    attach: bool,
) -> Result<S3Response<Body>, AdminError> {
    let body: Association = call.sealed_json().await?;
    if body.policies.is_empty() {
        return Err(AdminError::InvalidArgument("no policies given".into()));
    }
    let to = principal(&body.user, &body.group)?;
    ctx.identities
        .iam()
        .set_attachment(&to, &body.policies, attach)
        .await?;
    ctx.changed().await?;
    let changed = Some(body.policies);
    let (policies_attached, policies_detached) = if attach {
        (changed, None)
    } else {
        (None, changed)
    };
    call.sealed_reply(&Associated {
        policies_attached,
        policies_detached,
        updated_at: rfc3339(super::now_ms()),
    })
    .await
}

/// `set-user-or-group-policy`: the user's or group's policies become exactly those named
/// (comma-separated; empty detaches all).
pub async fn set(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let target = call.required("userOrGroup")?.to_string();
    let wanted: Vec<String> = call
        .param("policyName")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let is_group = call.param("isGroup") == Some("true");
    let iam = ctx.identities.iam();
    let (to, current) = if is_group {
        let g = ctx.group(&target).await?;
        (Principal::Group(target), g.policies)
    } else {
        let u = ctx.user(&target).await?;
        (Principal::User(target), u.policies)
    };
    let stale: Vec<String> = current
        .into_iter()
        .filter(|p| !wanted.contains(p))
        .collect();
    if !wanted.is_empty() {
        iam.set_attachment(&to, &wanted, true).await?;
    }
    if !stale.is_empty() {
        iam.set_attachment(&to, &stale, false).await?;
    }
    ctx.changed().await?;
    Ok(empty_reply())
}
