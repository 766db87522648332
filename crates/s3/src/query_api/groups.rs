//! Groups: CreateGroup, GetGroup (with its users), ListGroups, DeleteGroup, AddUserToGroup,
//! RemoveUserFromGroup, and a group's policies ([`entity_policies`]).

use rustfs_iam::GroupRecord;
use sha2::{Digest, Sha256};

use super::entity_policies::{self, PolicyOp};
use super::xml::Xml;
use super::{Call, QueryError, date};
use crate::identity::group_arn;

type Answer = Result<Option<Xml>, QueryError>;

/// A group's ARN, in its account.
pub fn arn_of(call: &Call<'_>, g: &GroupRecord) -> String {
    group_arn(&call.arn_account(&g.owner), &g.path, &g.name)
}

pub fn write_group(x: &mut Xml, g: &GroupRecord, arn: &str) {
    let id = if g.id.is_empty() {
        let d = Sha256::digest(format!("rustfs-iam-group:{}", g.name).as_bytes());
        let hex: String = d.iter().take(8).map(|b| format!("{b:02X}")).collect();
        format!("AGPA{hex}")
    } else {
        g.id.clone()
    };
    x.leaf("Path", &g.path)
        .leaf("GroupName", &g.name)
        .leaf("GroupId", &id)
        .leaf("Arn", arn)
        .leaf("CreateDate", &date(g.updated_ms));
}

pub async fn serve(call: &Call<'_>, action: &str) -> Option<Answer> {
    Some(match action {
        "CreateGroup" => create(call).await,
        "GetGroup" => get(call).await,
        "ListGroups" => list(call).await,
        "DeleteGroup" => delete(call).await,
        "UpdateGroup" => update(call).await,
        "AddUserToGroup" => members(call, false).await,
        "RemoveUserFromGroup" => members(call, true).await,
        _ => {
            let op = PolicyOp::of(action, "Group")?;
            if let Err(e) = entity_policies::check_params(call, op) {
                return Some(Err(e));
            }
            match named(call).await {
                Ok(g) => entity_policies::serve(call, op, g.into()).await,
                Err(e) => Err(e),
            }
        }
    })
}

async fn named(call: &Call<'_>) -> Result<GroupRecord, QueryError> {
    let name = call.form.need("GroupName")?;
    let g = call.ids.iam().find_group(name).await?.ok_or_else(|| {
        QueryError::NoSuchEntity(format!("The group with name {name} cannot be found."))
    })?;
    call.authorize_entity(&g.owner, &arn_of(call, &g))?;
    Ok(g)
}

async fn create(call: &Call<'_>) -> Answer {
    let name = call.form.need("GroupName")?;
    let path = call.form.get("Path").unwrap_or("/");
    let owner = call.account();
    call.authorize_entity(&owner, &group_arn(&call.arn_account(&owner), path, name))?;
    let g = call
        .ids
        .iam()
        .create_group(name, path, owner.as_deref())
        .await?;
    call.changed().await?;
    let mut x = Xml::default();
    x.open("Group");
    write_group(&mut x, &g, &arn_of(call, &g));
    x.close("Group");
    Ok(Some(x))
}

async fn get(call: &Call<'_>) -> Answer {
    let g = named(call).await?;
    let mut users = Vec::new();
    for m in &g.members {
        if let Some(u) = call.ids.iam().user(m).await? {
            users.push(u);
        }
    }
    let mut x = Xml::default();
    x.open("Group");
    write_group(&mut x, &g, &arn_of(call, &g));
    x.close("Group");
    x.list("Users", &users, |x, u| {
        super::users::write_user(x, u, &super::users::arn_of(call, u))
    });
    x.leaf("IsTruncated", "false");
    Ok(Some(x))
}

async fn list(call: &Call<'_>) -> Answer {
    let owner = call.account();
    call.authorize_entity(&owner, &group_arn(&call.arn_account(&owner), "/", "*"))?;
    let prefix = call.form.get("PathPrefix").unwrap_or("/");
    let groups: Vec<GroupRecord> = call
        .ids
        .iam()
        .list_groups()
        .await?
        .into_iter()
        .filter(|g| g.path.starts_with(prefix) && call.sees(&g.owner))
        .collect();
    let (page, truncated) = super::page(call, groups, |g| g.name.clone())?;
    let mut x = Xml::default();
    x.list("Groups", &page, |x, g| write_group(x, g, &arn_of(call, g)));
    x.leaf("IsTruncated", if truncated { "true" } else { "false" });
    if truncated && let Some(last) = page.last() {
        x.leaf("Marker", &last.name);
    }
    Ok(Some(x))
}

async fn update(call: &Call<'_>) -> Answer {
    let g = named(call).await?;
    call.ids
        .iam()
        .update_group(
            &g.name,
            call.form.get("NewGroupName").filter(|n| !n.is_empty()),
            call.form.get("NewPath").filter(|p| !p.is_empty()),
        )
        .await?;
    call.changed().await?;
    Ok(None)
}

async fn delete(call: &Call<'_>) -> Answer {
    let g = named(call).await?;
    call.ids.iam().delete_group(&g.name).await?;
    call.changed().await?;
    Ok(None)
}

async fn members(call: &Call<'_>, remove: bool) -> Answer {
    let g = named(call).await?;
    let user = call.form.need("UserName")?;
    if remove && !g.members.iter().any(|m| m == user) {
        return Err(QueryError::NoSuchEntity(format!(
            "User {user} is not in group {}.",
            g.name
        )));
    }
    call.ids
        .iam()
        .update_group_members(&g.name, &[user.to_string()], remove)
        .await?;
    call.changed().await?;
    Ok(None)
}
