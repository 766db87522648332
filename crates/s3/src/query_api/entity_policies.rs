//! The policies of a user, group or role, alike for all three: inline policies
//! (Put/Get/List/Delete{User,Group,Role}Policy) and attached managed ones
//! (Attach/Detach/ListAttached{User,Group,Role}Policies).

use std::collections::BTreeMap;

use rustfs_iam::store::Principal;
use rustfs_iam::{GroupRecord, RoleRecord, UserRecord};

use super::xml::Xml;
use super::{Call, QueryError, identity_policy, policy_name};
use crate::identity::policy_arn;

type Answer = Result<Option<Xml>, QueryError>;

/// A user, group or role as its policies are seen.
pub struct Holder {
    principal: Principal,
    /// `user`, `group`, `role` (for messages).
    noun: &'static str,
    /// `UserName`, `GroupName`, `RoleName` (the answer's field).
    field: &'static str,
    name: String,
    inline: BTreeMap<String, String>,
    attached: Vec<String>,
}

impl From<UserRecord> for Holder {
    fn from(u: UserRecord) -> Self {
        Self {
            principal: Principal::User(u.access_key.clone()),
            noun: "user",
            field: "UserName",
            name: u.access_key,
            inline: u.inline,
            attached: u.policies,
        }
    }
}

impl From<GroupRecord> for Holder {
    fn from(g: GroupRecord) -> Self {
        Self {
            principal: Principal::Group(g.name.clone()),
            noun: "group",
            field: "GroupName",
            name: g.name,
            inline: g.inline,
            attached: g.policies,
        }
    }
}

impl From<RoleRecord> for Holder {
    fn from(r: RoleRecord) -> Self {
        Self {
            principal: Principal::Role(r.name.clone()),
            noun: "role",
            field: "RoleName",
            name: r.name,
            inline: r.inline,
            attached: r.policies,
        }
    }
}

/// The policy action `action` names, for `holder` (`None`: not a policy action).
pub async fn serve(call: &Call<'_>, op: PolicyOp, holder: Holder) -> Answer {
    match op {
        PolicyOp::Put => put(call, holder).await,
        PolicyOp::Get => get(call, holder),
        PolicyOp::List => list(holder),
        PolicyOp::Delete => delete(call, holder).await,
        PolicyOp::Attach => attach(call, holder, true).await,
        PolicyOp::Detach => attach(call, holder, false).await,
        PolicyOp::ListAttached => list_attached(holder),
    }
}

/// What is done with a holder's policies.
#[derive(Debug, Clone, Copy)]
pub enum PolicyOp {
    Put,
    Get,
    List,
    Delete,
    Attach,
    Detach,
    ListAttached,
}

impl PolicyOp {
    /// The operation of `action` on an entity called `noun` (`User`, `Group`, `Role`).
    pub fn of(action: &str, noun: &str) -> Option<Self> {
        let verb = action
            .strip_suffix("Policy")
            .or_else(|| action.strip_suffix("Policies"))?;
        let (verb, rest) = [
            "ListAttached",
            "Attach",
            "Detach",
            "Put",
            "Get",
            "List",
            "Delete",
        ]
        .into_iter()
        .find_map(|v| verb.strip_prefix(v).map(|r| (v, r)))?;
        if rest != noun {
            return None;
        }
        let plural = action.ends_with("Policies");
        Some(match (verb, plural) {
            ("Put", false) => Self::Put,
            ("Get", false) => Self::Get,
            ("List", true) => Self::List,
            ("Delete", false) => Self::Delete,
            ("Attach", false) => Self::Attach,
            ("Detach", false) => Self::Detach,
            ("ListAttached", true) => Self::ListAttached,
            _ => return None,
        })
    }
}

/// IAM's longest policy name.
const MAX_POLICY_NAME: usize = 128;

/// Checks the parameters before the entity is looked up, as IAM validates a request before
/// acting on it: a policy name of at most 128 characters, a well-formed document.
pub fn check_params(call: &Call<'_>, op: PolicyOp) -> Result<(), QueryError> {
    if matches!(op, PolicyOp::Put | PolicyOp::Get | PolicyOp::Delete) {
        let name = call.form.need("PolicyName")?;
        if name.chars().count() > MAX_POLICY_NAME {
            return Err(QueryError::Invalid(
                "PolicyName",
                "longer than 128 characters".into(),
            ));
        }
    }
    if let PolicyOp::Put = op {
        identity_policy(call.form.need("PolicyDocument")?)?;
    }
    Ok(())
}

async fn put(call: &Call<'_>, h: Holder) -> Answer {
    let policy = call.form.need("PolicyName")?;
    let doc = call.form.need("PolicyDocument")?;
    identity_policy(doc)?;
    call.ids
        .iam()
        .set_inline_policy(&h.principal, policy, Some(doc))
        .await?;
    call.changed().await?;
    Ok(None)
}

fn get(call: &Call<'_>, h: Holder) -> Answer {
    let policy = call.form.need("PolicyName")?;
    let doc = h.inline.get(policy).ok_or_else(|| {
        QueryError::NoSuchEntity(format!(
            "The {} policy with name {policy} cannot be found.",
            h.noun
        ))
    })?;
    let mut x = Xml::default();
    x.leaf(h.field, &h.name)
        .leaf("PolicyName", policy)
        .leaf("PolicyDocument", doc);
    Ok(Some(x))
}

fn list(h: Holder) -> Answer {
    let names: Vec<&String> = h.inline.keys().collect();
    let mut x = Xml::default();
    x.list("PolicyNames", &names, |x, n| {
        x.leaf_text(n);
    });
    x.leaf("IsTruncated", "false");
    Ok(Some(x))
}

async fn delete(call: &Call<'_>, h: Holder) -> Answer {
    let policy = call.form.need("PolicyName")?;
    call.ids
        .iam()
        .set_inline_policy(&h.principal, policy, None)
        .await?;
    call.changed().await?;
    Ok(None)
}

async fn attach(call: &Call<'_>, h: Holder, attach: bool) -> Answer {
    let name = policy_name(call.form.need("PolicyArn")?)?;
    if !attach && !h.attached.contains(&name) {
        return Err(QueryError::NoSuchEntity(format!(
            "Policy {name} is not attached to {} {}.",
            h.noun, h.name
        )));
    }
    call.ids
        .iam()
        .set_attachment(&h.principal, &[name], attach)
        .await?;
    call.changed().await?;
    Ok(None)
}

fn list_attached(h: Holder) -> Answer {
    let mut x = Xml::default();
    x.list("AttachedPolicies", &h.attached, |x, p| {
        x.leaf("PolicyName", p).leaf("PolicyArn", &policy_arn(p));
    });
    x.leaf("IsTruncated", "false");
    Ok(Some(x))
}

#[cfg(test)]
mod tests {
    use super::PolicyOp;

    #[test]
    fn policy_actions_are_recognised_per_entity() {
        assert!(matches!(
            PolicyOp::of("PutUserPolicy", "User"),
            Some(PolicyOp::Put)
        ));
        assert!(matches!(
            PolicyOp::of("ListGroupPolicies", "Group"),
            Some(PolicyOp::List)
        ));
        assert!(matches!(
            PolicyOp::of("ListAttachedRolePolicies", "Role"),
            Some(PolicyOp::ListAttached)
        ));
        assert!(matches!(
            PolicyOp::of("DetachRolePolicy", "Role"),
            Some(PolicyOp::Detach)
        ));
        assert!(PolicyOp::of("PutUserPolicy", "Group").is_none());
        assert!(PolicyOp::of("ListUserPolicy", "User").is_none());
        assert!(PolicyOp::of("CreatePolicy", "User").is_none());
        assert!(PolicyOp::of("GetUser", "User").is_none());
    }
}
