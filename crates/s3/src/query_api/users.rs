//! Users, their access keys and their policies: CreateUser, GetUser, ListUsers (paged),
//! DeleteUser, CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
//! ListGroupsForUser, and a user's policies ([`entity_policies`]).

use rustfs_iam::{ServiceAccountSpec, ServiceAccountUpdate, Status, UserRecord};
use sha2::{Digest, Sha256};

use super::entity_policies::{self, PolicyOp};
use super::xml::Xml;
use super::{Call, QueryError, date};
use crate::identity::user_arn;

type Answer = Result<Option<Xml>, QueryError>;

/// A user's stable id, as IAM shows it (`AIDA` and 16 characters).
pub fn user_id(name: &str) -> String {
    let d = Sha256::digest(format!("rustfs-iam-user:{name}").as_bytes());
    let hex: String = d.iter().take(8).map(|b| format!("{b:02X}")).collect();
    format!("AIDA{hex}")
}

pub fn write_user(x: &mut Xml, u: &UserRecord) {
    x.leaf("Path", &u.path)
        .leaf("UserName", &u.access_key)
        .leaf("UserId", &user_id(&u.access_key))
        .leaf("Arn", &user_arn(&u.path, &u.access_key))
        .leaf("CreateDate", &date(u.created_ms));
}

/// The user a call names (`UserName`), or the caller's own user.
fn target(call: &Call<'_>) -> Result<String, QueryError> {
    if let Some(n) = call.form.get("UserName").filter(|n| !n.is_empty()) {
        return Ok(n.to_string());
    }
    Ok(match &call.caller.member {
        Some(m) if !m.owner => m.name.clone(),
        Some(m) => m.name.clone(),
        None => call.caller.access_key.clone(),
    })
}

async fn existing(call: &Call<'_>, name: &str) -> Result<UserRecord, QueryError> {
    call.ids.iam().user(name).await?.ok_or_else(|| {
        QueryError::NoSuchEntity(format!("The user with name {name} cannot be found."))
    })
}

pub async fn serve(call: &Call<'_>, action: &str) -> Option<Answer> {
    Some(match action {
        "CreateUser" => create_user(call).await,
        "GetUser" => get_user(call).await,
        "ListUsers" => list_users(call).await,
        "DeleteUser" => delete_user(call).await,
        "CreateAccessKey" => create_access_key(call).await,
        "ListAccessKeys" => list_access_keys(call).await,
        "UpdateAccessKey" => update_access_key(call).await,
        "DeleteAccessKey" => delete_access_key(call).await,
        "ListGroupsForUser" => groups_for_user(call).await,
        _ => {
            let op = PolicyOp::of(action, "User")?;
            match named_user(call).await {
                Ok(u) => entity_policies::serve(call, op, u.into()).await,
                Err(e) => Err(e),
            }
        }
    })
}

async fn create_user(call: &Call<'_>) -> Answer {
    let name = call.form.need("UserName")?;
    let path = call.form.get("Path").unwrap_or("/");
    call.authorize(&user_arn(path, name))?;
    let u = call.ids.iam().create_keyless_user(name, path).await?;
    call.changed().await?;
    let mut x = Xml::default();
    x.open("User");
    write_user(&mut x, &u);
    x.close("User");
    Ok(Some(x))
}

async fn get_user(call: &Call<'_>) -> Answer {
    let mut x = Xml::default();
    let named = call.form.get("UserName").filter(|n| !n.is_empty());
    if named.is_none() && call.caller.member.is_none() {
        // The root user (or an account) asking about itself.
        let root = call.ids.keys().root_access_key() == call.caller.access_key;
        if root {
            x.open("User")
                .leaf("UserId", &call.caller.id)
                .leaf("Arn", &super::caller_arn(&call.caller))
                .leaf("CreateDate", &date(0))
                .close("User");
            return Ok(Some(x));
        }
    }
    let name = target(call)?;
    let u = existing(call, &name).await?;
    if named.is_some() {
        call.authorize(&user_arn(&u.path, &name))?;
    }
    x.open("User");
    write_user(&mut x, &u);
    x.close("User");
    Ok(Some(x))
}

async fn list_users(call: &Call<'_>) -> Answer {
    call.authorize(&user_arn("/", "*"))?;
    let prefix = call.form.get("PathPrefix").unwrap_or("/");
    let max = call.form.number("MaxItems", 1..=1000)?.unwrap_or(100) as usize;
    let marker = call.form.get("Marker").unwrap_or_default();
    let mut page: Vec<UserRecord> = Vec::with_capacity(max + 1);
    let mut after = marker.to_string();
    // Read in batches until a page (and one more, to know whether it is truncated) is found.
    loop {
        let batch = call.ids.iam().list_users(&after, 256).await?;
        let done = batch.len() < 256;
        if let Some(last) = batch.last() {
            after = last.access_key.clone();
        }
        page.extend(
            batch.into_iter().filter(|u| {
                !u.account.as_ref().is_some_and(|a| a.root) && u.path.starts_with(prefix)
            }),
        );
        if done || page.len() > max {
            break;
        }
    }
    let truncated = page.len() > max;
    page.truncate(max);
    let mut x = Xml::default();
    x.list("Users", &page, write_user);
    x.leaf("IsTruncated", if truncated { "true" } else { "false" });
    if truncated && let Some(last) = page.last() {
        x.leaf("Marker", &last.access_key);
    }
    Ok(Some(x))
}

async fn delete_user(call: &Call<'_>) -> Answer {
    let name = call.form.need("UserName")?;
    let u = existing(call, name).await?;
    call.authorize(&user_arn(&u.path, name))?;
    call.ids.iam().delete_unused_user(name).await?;
    call.changed().await?;
    Ok(None)
}

fn key_status(s: Status) -> &'static str {
    match s {
        Status::Enabled => "Active",
        Status::Disabled => "Inactive",
    }
}

async fn create_access_key(call: &Call<'_>) -> Answer {
    let name = target(call)?;
    let u = existing(call, &name).await?;
    call.authorize(&user_arn(&u.path, &name))?;
    let (ak, sk) = call
        .ids
        .iam()
        .create_service_account(&ServiceAccountSpec {
            parent: name.clone(),
            user_key: true,
            ..Default::default()
        })
        .await?;
    call.changed().await?;
    let mut x = Xml::default();
    x.open("AccessKey")
        .leaf("UserName", &name)
        .leaf("AccessKeyId", &ak)
        .leaf("Status", "Active")
        .leaf("SecretAccessKey", &sk)
        .leaf("CreateDate", &date(now_ms()))
        .close("AccessKey");
    Ok(Some(x))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn list_access_keys(call: &Call<'_>) -> Answer {
    let name = target(call)?;
    let u = existing(call, &name).await?;
    call.authorize(&user_arn(&u.path, &name))?;
    let keys: Vec<_> = call
        .ids
        .iam()
        .list_service_accounts(&name)
        .await?
        .into_iter()
        .filter(|k| k.user_key)
        .collect();
    let mut x = Xml::default();
    x.list("AccessKeyMetadata", &keys, |x, k| {
        x.leaf("UserName", &name)
            .leaf("AccessKeyId", &k.access_key)
            .leaf("Status", key_status(k.status))
            .leaf("CreateDate", &date(k.created_ms));
    });
    x.leaf("IsTruncated", "false");
    Ok(Some(x))
}

/// The access key a call names, checked to belong to the user it names (or the caller).
async fn own_key(call: &Call<'_>) -> Result<String, QueryError> {
    let ak = call.form.need("AccessKeyId")?;
    let name = target(call)?;
    let k = call.ids.iam().service_account(ak).await?;
    match k {
        Some(k) if k.user_key && k.parent == name => {
            let u = existing(call, &name).await?;
            call.authorize(&user_arn(&u.path, &name))?;
            Ok(ak.to_string())
        }
        _ => Err(QueryError::NoSuchEntity(format!(
            "The Access Key with id {ak} cannot be found."
        ))),
    }
}

async fn update_access_key(call: &Call<'_>) -> Answer {
    let status = match call.form.need("Status")? {
        "Active" => Status::Enabled,
        "Inactive" => Status::Disabled,
        other => return Err(QueryError::Invalid("Status", other.to_string())),
    };
    let ak = own_key(call).await?;
    call.ids
        .iam()
        .update_service_account(
            &ak,
            &ServiceAccountUpdate {
                status: Some(status),
                ..Default::default()
            },
        )
        .await?;
    call.changed().await?;
    Ok(None)
}

async fn delete_access_key(call: &Call<'_>) -> Answer {
    let ak = own_key(call).await?;
    call.ids.iam().delete_service_account(&ak).await?;
    call.changed().await?;
    Ok(None)
}

async fn named_user(call: &Call<'_>) -> Result<UserRecord, QueryError> {
    let name = call.form.need("UserName")?;
    let u = existing(call, name).await?;
    call.authorize(&user_arn(&u.path, name))?;
    Ok(u)
}

async fn groups_for_user(call: &Call<'_>) -> Answer {
    let u = named_user(call).await?;
    let mut groups = Vec::new();
    for g in &u.groups {
        if let Some(rec) = call.ids.iam().group(g).await? {
            groups.push(rec);
        }
    }
    let mut x = Xml::default();
    x.list("Groups", &groups, super::groups::write_group);
    x.leaf("IsTruncated", "false");
    Ok(Some(x))
}
