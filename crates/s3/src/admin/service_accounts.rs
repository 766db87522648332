//! Service accounts: add-service-account, update-service-account, info-service-account,
//! list-service-accounts, delete-service-account. A caller without the admin action may
//! make these calls on its own service accounts only (as MinIO allows); the policy of one
//! it creates is stored as given and only ever narrows its rights (the keyring applies it).

use rustfs_iam::{ServiceAccountRecord, ServiceAccountSpec, ServiceAccountUpdate, Status};
use rustfs_object::policy::Policy;
use s3s::{Body, S3Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::body::{Call, empty_reply};
use super::{Ctx, rfc3339};
use crate::errors::AdminError;

/// A policy field: a JSON object (madmin), a string holding one, or absent.
fn policy_of(v: &Value) -> Result<Option<String>, AdminError> {
    let doc = match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Policy::parse_identity(&doc).map_err(|e| AdminError::MalformedPolicy(e.to_string()))?;
    Ok(Some(doc))
}

/// An expiry field: RFC 3339, where Go's zero time and absence mean none.
fn expiry_of(v: Option<&str>) -> Result<Option<i64>, AdminError> {
    let Some(s) = v.filter(|s| !s.is_empty() && !s.starts_with("0001-01-01")) else {
        return Ok(None);
    };
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| AdminError::InvalidArgument(format!("expiration: {e}")))?;
    Ok(Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddRequest {
    #[serde(default)]
    policy: Value,
    #[serde(default, deserialize_with = "null_is_empty")]
    target_user: String,
    #[serde(default, deserialize_with = "null_is_empty")]
    access_key: String,
    #[serde(default, deserialize_with = "null_is_empty")]
    secret_key: String,
    #[serde(default, deserialize_with = "null_is_empty")]
    name: String,
    #[serde(default, deserialize_with = "null_is_empty")]
    description: String,
    #[serde(default)]
    expiration: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    access_key: String,
    secret_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

#[derive(Serialize)]
struct AddReply {
    credentials: Credentials,
}

/// A string field that clients send as `null` when unset (minio-py does).
fn null_is_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

pub async fn add(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let req: AddRequest = call.sealed_json().await?;
    let parent = if req.target_user.is_empty() {
        ctx.own_name().to_string()
    } else {
        req.target_user.clone()
    };
    ctx.may_manage(&parent)?;
    let expires_ms = expiry_of(req.expiration.as_deref())?;
    let spec = ServiceAccountSpec {
        parent,
        access_key: non_empty(req.access_key),
        secret_key: non_empty(req.secret_key),
        policy: policy_of(&req.policy)?,
        name: non_empty(req.name),
        description: non_empty(req.description),
        expires_ms,
        user_key: false,
    };
    let (access_key, secret_key) = ctx.identities.iam().create_service_account(&spec).await?;
    ctx.changed().await?;
    call.sealed_reply(&AddReply {
        credentials: Credentials {
            access_key,
            secret_key,
            expiration: expires_ms.map(rfc3339),
        },
    })
    .await
}

/// A service account the caller may see or change.
async fn own_account(ctx: &Ctx<'_>, access_key: &str) -> Result<ServiceAccountRecord, AdminError> {
    let no_such = || {
        AdminError::Iam(rustfs_iam::IamError::NoSuchEntity {
            kind: "service account",
            name: access_key.to_string(),
        })
    };
    let a = ctx
        .identities
        .iam()
        .service_account(access_key)
        .await?
        .filter(|a| !a.user_key)
        .ok_or_else(no_such)?;
    ctx.may_manage(&a.parent)?;
    Ok(a)
}

fn on_off(s: Status) -> &'static str {
    match s {
        Status::Enabled => "on",
        Status::Disabled => "off",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountInfo {
    parent_user: String,
    account_status: &'static str,
    implied_policy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
    name: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

fn account_info(a: &ServiceAccountRecord, with_key: bool) -> AccountInfo {
    AccountInfo {
        parent_user: a.parent.clone(),
        account_status: on_off(a.status),
        implied_policy: a.policy.is_none(),
        access_key: with_key.then(|| a.access_key.clone()),
        policy: if with_key { None } else { a.policy.clone() },
        name: a.name.clone().unwrap_or_default(),
        description: a.description.clone().unwrap_or_default(),
        expiration: a.expires_ms.map(rfc3339),
    }
}

pub async fn info(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let a = own_account(ctx, call.required("accessKey")?).await?;
    call.sealed_reply(&account_info(&a, false)).await
}

#[derive(Serialize)]
struct ListReply {
    accounts: Vec<AccountInfo>,
}

pub async fn list(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let user = call
        .param("user")
        .filter(|u| !u.is_empty())
        .unwrap_or(ctx.own_name())
        .to_string();
    ctx.may_manage(&user)?;
    let accounts = ctx.identities.iam().list_service_accounts(&user).await?;
    let accounts = accounts
        .iter()
        .filter(|a| !a.user_key)
        .map(|a| account_info(a, true))
        .collect();
    call.sealed_reply(&ListReply { accounts }).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateRequest {
    #[serde(default)]
    new_policy: Option<Value>,
    #[serde(default, deserialize_with = "null_is_empty")]
    new_secret_key: String,
    #[serde(default, deserialize_with = "null_is_empty")]
    new_status: String,
    #[serde(default, deserialize_with = "null_is_empty")]
    new_name: String,
    #[serde(default, deserialize_with = "null_is_empty")]
    new_description: String,
    #[serde(default)]
    new_expiration: Option<String>,
}

pub async fn update(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let ak = call.required("accessKey")?.to_string();
    own_account(ctx, &ak).await?;
    let req: UpdateRequest = call.sealed_json().await?;
    let status = match req.new_status.as_str() {
        "" => None,
        "on" | "enabled" => Some(Status::Enabled),
        "off" | "disabled" => Some(Status::Disabled),
        other => {
            return Err(AdminError::InvalidArgument(format!(
                "unknown status {other}"
            )));
        }
    };
    let policy = match &req.new_policy {
        None => None,
        // An empty object (or null) removes the narrowing policy, as madmin means it.
        Some(Value::Object(m)) if m.is_empty() => Some(None),
        Some(v) => Some(policy_of(v)?),
    };
    let update = ServiceAccountUpdate {
        secret_key: non_empty(req.new_secret_key),
        status,
        policy,
        name: non_empty(req.new_name),
        description: non_empty(req.new_description),
        expires_ms: match req.new_expiration.as_deref() {
            None => None,
            e => Some(expiry_of(e)?),
        },
    };
    ctx.identities
        .iam()
        .update_service_account(&ak, &update)
        .await?;
    ctx.changed().await?;
    Ok(empty_reply())
}

pub async fn delete(ctx: &Ctx<'_>, call: &mut Call) -> Result<S3Response<Body>, AdminError> {
    let ak = call.required("accessKey")?.to_string();
    own_account(ctx, &ak).await?;
    ctx.identities.iam().delete_service_account(&ak).await?;
    ctx.changed().await?;
    Ok(empty_reply())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_and_expiry_fields_are_read_as_madmin_sends_them() {
        assert_eq!(policy_of(&Value::Null).unwrap(), None);
        let doc = serde_json::json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]});
        assert!(policy_of(&doc).unwrap().is_some());
        assert!(
            policy_of(&Value::String(doc.to_string()))
                .unwrap()
                .is_some()
        );
        assert!(policy_of(&serde_json::json!({"Statement": 3})).is_err());
        assert_eq!(expiry_of(Some("0001-01-01T00:00:00Z")).unwrap(), None);
        assert_eq!(expiry_of(Some("1970-01-01T00:00:01Z")).unwrap(), Some(1000));
        assert!(expiry_of(Some("tomorrow")).is_err());
    }
}
