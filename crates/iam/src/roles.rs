//! Roles (IAM's CreateRole and friends): a trust policy naming who may assume the role, and
//! attached and inline policies for what its sessions may do. Sessions themselves are not
//! stored (see `rustfs-s3`'s STS tokens).

use rustfs_meta::transact;

use crate::records::{self, ROLE, RoleRecord};
use crate::store::{ALL, check_name, no_such, now_ms, random_key};
use crate::{Iam, IamError};

/// A new role.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    pub name: String,
    pub path: String,
    pub trust_policy: String,
    pub description: Option<String>,
    pub max_session_secs: u32,
    /// The account it belongs to (`None`: the root account).
    pub owner: Option<String>,
}

impl Iam {
    /// Creates a role (its trust policy validated by the caller).
    pub async fn create_role(&self, spec: &RoleSpec) -> Result<RoleRecord, IamError> {
        check_name("role name", &spec.name)?;
        let id = format!(
            "AROA{}",
            random_key(17, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")?
        );
        let id = &id;
        let r = transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let roles: Vec<RoleRecord> = records::list(t, ROLE, "", ALL).await?;
                if roles
                    .iter()
                    .any(|r| r.name.eq_ignore_ascii_case(&spec.name))
                {
                    return Err(IamError::EntityExists {
                        kind: "role",
                        name: spec.name.clone(),
                    });
                }
                let rec = RoleRecord {
                    name: spec.name.clone(),
                    path: spec.path.clone(),
                    id: id.clone(),
                    trust_policy: spec.trust_policy.clone(),
                    description: spec.description.clone(),
                    max_session_secs: spec.max_session_secs,
                    policies: Vec::new(),
                    inline: Default::default(),
                    created_ms: now_ms(),
                    owner: spec.owner.clone(),
                };
                records::put(t, ROLE, &spec.name, &rec);
                Ok(rec)
            })
        })
        .await?;
        Ok(r)
    }

    pub async fn role(&self, name: &str) -> Result<Option<RoleRecord>, IamError> {
        let r = transact(&*self.store, |t| {
            Box::pin(async move { records::get::<RoleRecord>(t, ROLE, name).await })
        })
        .await?;
        Ok(r)
    }

    /// A role by name, ignoring case when none has exactly that name.
    pub async fn find_role(&self, name: &str) -> Result<Option<RoleRecord>, IamError> {
        if let Some(r) = self.role(name).await? {
            return Ok(Some(r));
        }
        Ok(self
            .list_roles()
            .await?
            .into_iter()
            .find(|r| r.name.eq_ignore_ascii_case(name)))
    }

    /// IAM's UpdateRole: its description and longest session.
    pub async fn update_role(
        &self,
        name: &str,
        description: Option<&str>,
        max_session_secs: Option<u32>,
    ) -> Result<(), IamError> {
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let mut rec = records::get::<RoleRecord>(t, ROLE, name)
                    .await?
                    .ok_or_else(|| no_such("role", name))?;
                if let Some(d) = description {
                    rec.description = Some(d.to_string());
                }
                if let Some(m) = max_session_secs {
                    rec.max_session_secs = m;
                }
                records::put(t, ROLE, name, &rec);
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    pub async fn list_roles(&self) -> Result<Vec<RoleRecord>, IamError> {
        let r = transact(&*self.store, |t| {
            Box::pin(async move { records::list::<RoleRecord>(t, ROLE, "", ALL).await })
        })
        .await?;
        Ok(r)
    }

    /// Replaces the trust policy of a role.
    pub async fn set_trust_policy(&self, name: &str, document: &str) -> Result<(), IamError> {
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let mut rec = records::get::<RoleRecord>(t, ROLE, name)
                    .await?
                    .ok_or_else(|| no_such("role", name))?;
                rec.trust_policy = document.to_string();
                records::put(t, ROLE, name, &rec);
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    /// Deletes a role; refused (as IAM does) while policies are attached or inline.
    pub async fn delete_role(&self, name: &str) -> Result<(), IamError> {
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let rec = records::get::<RoleRecord>(t, ROLE, name)
                    .await?
                    .ok_or_else(|| no_such("role", name))?;
                if !rec.policies.is_empty() || !rec.inline.is_empty() {
                    return Err(IamError::DeleteConflict(format!(
                        "role {name} still has policies"
                    )));
                }
                t.delete(records::TABLE, records::key(ROLE, name));
                Ok(())
            })
        })
        .await?;
        Ok(())
    }
}
