//! Roles: CreateRole, GetRole, ListRoles, DeleteRole, UpdateAssumeRolePolicy, and a role's
//! policies ([`entity_policies`]). Sessions of a role
//! come from STS AssumeRole ([`super::sts`]).

use rustfs_iam::{RoleRecord, RoleSpec};
use rustfs_object::policy::Policy;

use super::entity_policies::{self, PolicyOp};
use super::xml::Xml;
use super::{Call, QueryError, date};
use crate::identity::role_arn;

type Answer = Result<Option<Xml>, QueryError>;

/// A role's longest session unless it says otherwise, and the bounds IAM allows.
const DEFAULT_MAX_SESSION: u64 = 3600;
const MAX_SESSION_BOUNDS: std::ops::RangeInclusive<u64> = 3600..=43_200;

pub async fn serve(call: &Call<'_>, action: &str) -> Option<Answer> {
    Some(match action {
        "CreateRole" => create(call).await,
        "GetRole" => get(call).await,
        "ListRoles" => list(call).await,
        "DeleteRole" => delete(call).await,
        "UpdateRole" => update(call).await,
        "UpdateAssumeRolePolicy" => update_trust(call).await,
        _ => {
            let op = PolicyOp::of(action, "Role")?;
            if let Err(e) = entity_policies::check_params(call, op) {
                return Some(Err(e));
            }
            match named(call).await {
                Ok(r) => entity_policies::serve(call, op, r.into()).await,
                Err(e) => Err(e),
            }
        }
    })
}

fn trust_policy(doc: &str) -> Result<(), QueryError> {
    Policy::parse_trust(doc)
        .map(|_| ())
        .map_err(|e| QueryError::MalformedPolicy(e.to_string()))
}

/// A role's ARN, in its account.
fn arn_of(call: &Call<'_>, r: &RoleRecord) -> String {
    role_arn(&call.arn_account(&r.owner), &r.path, &r.name)
}

fn write_role(x: &mut Xml, r: &RoleRecord, arn: &str) {
    let trust =
        percent_encoding::utf8_percent_encode(&r.trust_policy, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    x.leaf("Path", &r.path)
        .leaf("RoleName", &r.name)
        .leaf("RoleId", &r.id)
        .leaf("Arn", arn)
        .leaf("CreateDate", &date(r.created_ms))
        .leaf("AssumeRolePolicyDocument", &trust)
        .opt("Description", r.description.as_deref())
        .leaf("MaxSessionDuration", &r.max_session_secs.to_string());
}

async fn named(call: &Call<'_>) -> Result<RoleRecord, QueryError> {
    let name = call.form.need("RoleName")?;
    let r = call.ids.iam().find_role(name).await?.ok_or_else(|| {
        QueryError::NoSuchEntity(format!("The role with name {name} cannot be found."))
    })?;
    call.authorize_entity(&r.owner, &arn_of(call, &r))?;
    Ok(r)
}

async fn create(call: &Call<'_>) -> Answer {
    let name = call.form.need("RoleName")?;
    let path = call.form.get("Path").unwrap_or("/");
    let owner = call.account();
    call.authorize_entity(&owner, &role_arn(&call.arn_account(&owner), path, name))?;
    let trust = call.form.need("AssumeRolePolicyDocument")?;
    trust_policy(trust)?;
    let max = call
        .form
        .number("MaxSessionDuration", MAX_SESSION_BOUNDS)?
        .unwrap_or(DEFAULT_MAX_SESSION);
    let r = call
        .ids
        .iam()
        .create_role(&RoleSpec {
            name: name.to_string(),
            path: path.to_string(),
            trust_policy: trust.to_string(),
            description: call.form.get("Description").map(str::to_string),
            max_session_secs: u32::try_from(max).unwrap_or(u32::MAX),
            owner,
        })
        .await?;
    call.changed().await?;
    let mut x = Xml::default();
    x.open("Role");
    write_role(&mut x, &r, &arn_of(call, &r));
    x.close("Role");
    Ok(Some(x))
}

async fn get(call: &Call<'_>) -> Answer {
    let r = named(call).await?;
    let mut x = Xml::default();
    x.open("Role");
    write_role(&mut x, &r, &arn_of(call, &r));
    x.close("Role");
    Ok(Some(x))
}

async fn list(call: &Call<'_>) -> Answer {
    let owner = call.account();
    call.authorize_entity(&owner, &role_arn(&call.arn_account(&owner), "/", "*"))?;
    let prefix = call.form.get("PathPrefix").unwrap_or("/");
    let roles: Vec<RoleRecord> = call
        .ids
        .iam()
        .list_roles()
        .await?
        .into_iter()
        .filter(|r| r.path.starts_with(prefix) && call.sees(&r.owner))
        .collect();
    let (page, truncated) = super::page(call, roles, |r| r.name.clone())?;
    let mut x = Xml::default();
    x.list("Roles", &page, |x, r| write_role(x, r, &arn_of(call, r)));
    x.leaf("IsTruncated", if truncated { "true" } else { "false" });
    if truncated && let Some(last) = page.last() {
        x.leaf("Marker", &last.name);
    }
    Ok(Some(x))
}

async fn update(call: &Call<'_>) -> Answer {
    let r = named(call).await?;
    let max = call.form.number("MaxSessionDuration", MAX_SESSION_BOUNDS)?;
    call.ids
        .iam()
        .update_role(
            &r.name,
            call.form.get("Description"),
            max.map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        )
        .await?;
    call.changed().await?;
    // UpdateRole answers an empty result element.
    Ok(Some(Xml::default()))
}

async fn delete(call: &Call<'_>) -> Answer {
    let r = named(call).await?;
    call.ids.iam().delete_role(&r.name).await?;
    call.changed().await?;
    Ok(None)
}

async fn update_trust(call: &Call<'_>) -> Answer {
    let r = named(call).await?;
    let doc = call.form.need("PolicyDocument")?;
    trust_policy(doc)?;
    call.ids.iam().set_trust_policy(&r.name, doc).await?;
    call.changed().await?;
    Ok(None)
}
