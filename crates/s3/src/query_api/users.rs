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

/// A user's ARN, in its account. An account (a users-file user) is named by its canonical id,
/// as RGW names a user by its uid.
pub fn arn_of(call: &Call<'_>, u: &UserRecord) -> String {
    let name = u.account.as_ref().map_or(&u.access_key, |a| &a.id);
    user_arn(&call.arn_account(&u.owner), &u.path, name)
}

fn authorize_user(call: &Call<'_>, u: &UserRecord) -> Result<(), QueryError> {
    call.authorize_entity(&u.owner, &arn_of(call, u))
}

pub fn write_user(x: &mut Xml, u: &UserRecord, arn: &str) {
    let id = if u.id.is_empty() {
        user_id(&u.access_key)
    } else {
        u.id.clone()
    };
    x.leaf("Path", &u.path)
        .leaf("UserName", &u.access_key)
        .leaf("UserId", &id)
        .leaf("Arn", arn)
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

/// The user named `name`: a user of that name, or an account whose canonical id it is (RGW
/// names its users by their uid, which is what S3 shows as the canonical id).
async fn existing(call: &Call<'_>, name: &str) -> Result<UserRecord, QueryError> {
    if let Some(u) = call.ids.iam().find_user(name).await? {
        return Ok(u);
    }
    if let Some(account) = call.ids.keys().by_id(name)
        && let Some(u) = call.ids.iam().user(&account.access_key).await?
    {
        return Ok(u);
    }
    Err(QueryError::NoSuchEntity(format!(
        "The user with name {name} cannot be found."
    )))
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
        "UpdateUser" => update_user(call).await,
        "GetAccountSummary" => account_summary(call).await,
        _ => {
            let op = PolicyOp::of(action, "User")?;
            if let Err(e) = entity_policies::check_params(call, op) {
                return Some(Err(e));
            }
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
    let owner = call.account();
    call.authorize_entity(&owner, &user_arn(&call.arn_account(&owner), path, name))?;
    let u = call
        .ids
        .iam()
        .create_keyless_user(name, path, owner.as_deref())
        .await?;
    call.changed().await?;
    let mut x = Xml::default();
    x.open("User");
    write_user(&mut x, &u, &arn_of(call, &u));
    x.close("User");
    Ok(Some(x))
}

async fn get_user(call: &Call<'_>) -> Answer {
    let mut x = Xml::default();
    let named = call.form.get("UserName").filter(|n| !n.is_empty());
    if named.is_none() && call.caller.is_account() {
        // An account (the root user, a users-file account) asking about itself: its root.
        x.open("User")
            .leaf("UserId", &call.caller.id)
            .leaf("Arn", &super::caller_arn(&call.caller))
            .leaf("CreateDate", &date(0))
            .close("User");
        return Ok(Some(x));
    }
    let name = target(call)?;
    let u = existing(call, &name).await?;
    if named.is_some() {
        authorize_user(call, &u)?;
    }
    x.open("User");
    write_user(&mut x, &u, &arn_of(call, &u));
    x.close("User");
    Ok(Some(x))
}

async fn list_users(call: &Call<'_>) -> Answer {
    let owner = call.account();
    call.authorize_entity(&owner, &user_arn(&call.arn_account(&owner), "/", "*"))?;
    let prefix = call.form.get("PathPrefix").unwrap_or("/");
    let users: Vec<UserRecord> = call
        .ids
        .iam()
        .list_users("", usize::MAX)
        .await?
        .into_iter()
        .filter(|u| {
            !u.account.as_ref().is_some_and(|a| a.root)
                && u.path.starts_with(prefix)
                && call.sees(&u.owner)
        })
        .collect();
    let (page, truncated) = super::page(call, users, |u| u.access_key.clone())?;
    let mut x = Xml::default();
    x.list("Users", &page, |x, u| write_user(x, u, &arn_of(call, u)));
    x.leaf("IsTruncated", if truncated { "true" } else { "false" });
    if truncated && let Some(last) = page.last() {
        x.leaf("Marker", &last.access_key);
    }
    Ok(Some(x))
}

async fn update_user(call: &Call<'_>) -> Answer {
    let name = call.form.need("UserName")?;
    let u = existing(call, name).await?;
    authorize_user(call, &u)?;
    call.ids
        .iam()
        .update_user(
            &u.access_key,
            call.form.get("NewUserName").filter(|n| !n.is_empty()),
            call.form.get("NewPath").filter(|p| !p.is_empty()),
        )
        .await?;
    call.changed().await?;
    Ok(None)
}

/// IAM's GetAccountSummary: counts and quotas.
async fn account_summary(call: &Call<'_>) -> Answer {
    call.authorize_entity(&call.account(), "*")?;
    let iam = call.ids.iam();
    let users = iam.list_users("", usize::MAX).await?.len();
    let groups = iam.list_groups().await?.len();
    let roles = iam.list_roles().await?.len();
    let policies = iam.list_policies().await?.len();
    let entries: Vec<(&str, String)> = vec![
        ("Users", users.to_string()),
        ("UsersQuota", "5000".into()),
        ("Groups", groups.to_string()),
        ("GroupsQuota", "300".into()),
        ("Roles", roles.to_string()),
        ("RolesQuota", "1000".into()),
        ("Policies", policies.to_string()),
        ("PoliciesQuota", "1500".into()),
        ("AccessKeysPerUserQuota", "2".into()),
        ("GroupsPerUserQuota", "10".into()),
        ("AttachedPoliciesPerUserQuota", "10".into()),
        ("AttachedPoliciesPerGroupQuota", "10".into()),
        ("AttachedPoliciesPerRoleQuota", "10".into()),
    ];
    let mut x = Xml::default();
    x.open("SummaryMap");
    for (k, v) in &entries {
        x.open("entry")
            .leaf("key", k)
            .leaf("value", v)
            .close("entry");
    }
    x.close("SummaryMap");
    Ok(Some(x))
}

async fn delete_user(call: &Call<'_>) -> Answer {
    let name = call.form.need("UserName")?;
    let u = existing(call, name).await?;
    authorize_user(call, &u)?;
    call.ids.iam().delete_unused_user(&u.access_key).await?;
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
    authorize_user(call, &u)?;
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
    let created = call
        .ids
        .iam()
        .service_account(&ak)
        .await?
        .map_or(0, |k| k.created_ms);
    let mut x = Xml::default();
    x.open("AccessKey")
        .leaf("UserName", &name)
        .leaf("AccessKeyId", &ak)
        .leaf("Status", "Active")
        .leaf("SecretAccessKey", &sk)
        .leaf("CreateDate", &date(created))
        .close("AccessKey");
    Ok(Some(x))
}

async fn list_access_keys(call: &Call<'_>) -> Answer {
    let name = target(call)?;
    let u = existing(call, &name).await?;
    authorize_user(call, &u)?;
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
            authorize_user(call, &u)?;
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
    authorize_user(call, &u)?;
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
    x.list("Groups", &groups, |x, g| {
        super::groups::write_group(x, g, &super::groups::arn_of(call, g))
    });
    x.leaf("IsTruncated", "false");
    Ok(Some(x))
}
