//! The operations whose AWS IAM form differs from MinIO's: creating refuses what exists
//! (MinIO's calls replace), and deleting refuses what is still in use (MinIO's calls remove
//! what hangs off it). Each is one transaction that reads what it decides from.

use rustfs_meta::transact;

use crate::records::{
    self, GROUP, GroupRecord, POLICY, PolicyRecord, SVCACCT, ServiceAccountRecord, Status, USER,
    UserRecord,
};
use crate::store::{ALL, check_name, invalid, no_such, now_ms};
use crate::{Iam, IamError, canned};

impl Iam {
    /// IAM's CreateGroup: refused if the group exists.
    pub async fn create_group(
        &self,
        name: &str,
        path: &str,
        owner: Option<&str>,
    ) -> Result<GroupRecord, IamError> {
        check_name("group name", name)?;
        let id = format!(
            "AGPA{}",
            crate::store::random_key(17, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")?
        );
        let id = &id;
        let r = transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let groups: Vec<GroupRecord> = records::list(t, GROUP, "", ALL).await?;
                if groups.iter().any(|g| g.name.eq_ignore_ascii_case(name)) {
                    return Err(IamError::EntityExists {
                        kind: "group",
                        name: name.to_string(),
                    });
                }
                let rec = GroupRecord {
                    name: name.to_string(),
                    members: Vec::new(),
                    status: Status::Enabled,
                    policies: Vec::new(),
                    updated_ms: now_ms(),
                    inline: Default::default(),
                    path: path.to_string(),
                    id: id.clone(),
                    owner: owner.map(str::to_string),
                };
                records::put(t, GROUP, name, &rec);
                Ok(rec)
            })
        })
        .await?;
        Ok(r)
    }

    /// IAM's DeleteGroup: refused while it has members or policies.
    pub async fn delete_group(&self, name: &str) -> Result<(), IamError> {
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let g = records::get::<GroupRecord>(t, GROUP, name)
                    .await?
                    .ok_or_else(|| no_such("group", name))?;
                if !g.members.is_empty() || !g.policies.is_empty() || !g.inline.is_empty() {
                    return Err(IamError::DeleteConflict(format!(
                        "group {name} still has members or policies"
                    )));
                }
                t.delete(records::TABLE, records::key(GROUP, name));
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    /// IAM's CreatePolicy: refused if a policy of that name exists (canned included).
    pub async fn create_policy(
        &self,
        name: &str,
        document: &str,
    ) -> Result<PolicyRecord, IamError> {
        check_name("policy name", name)?;
        if canned::is_canned(name) {
            return Err(IamError::EntityExists {
                kind: "policy",
                name: name.to_string(),
            });
        }
        let r = transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                if records::get::<PolicyRecord>(t, POLICY, name)
                    .await?
                    .is_some()
                {
                    return Err(IamError::EntityExists {
                        kind: "policy",
                        name: name.to_string(),
                    });
                }
                let now = now_ms();
                let rec = PolicyRecord {
                    name: name.to_string(),
                    document: document.to_string(),
                    created_ms: now,
                    updated_ms: now,
                };
                records::put(t, POLICY, name, &rec);
                Ok(rec)
            })
        })
        .await?;
        Ok(r)
    }

    /// IAM's DeleteUser: refused while the user has access keys, service accounts, policies
    /// or groups (the root user and accounts of the users file are never deleted this way).
    pub async fn delete_unused_user(&self, name: &str) -> Result<(), IamError> {
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let u = records::get::<UserRecord>(t, USER, name)
                    .await?
                    .ok_or_else(|| no_such("user", name))?;
                if u.account.is_some() {
                    return Err(invalid(
                        "user",
                        "the root user and the users file's users cannot be deleted",
                    ));
                }
                let keys: Vec<ServiceAccountRecord> = records::list(t, SVCACCT, "", ALL).await?;
                if keys.iter().any(|k| k.parent == name)
                    || !u.policies.is_empty()
                    || !u.inline.is_empty()
                    || !u.groups.is_empty()
                {
                    return Err(IamError::DeleteConflict(format!(
                        "user {name} still has access keys, policies or groups"
                    )));
                }
                t.delete(records::TABLE, records::key(USER, name));
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    /// Every service account and access key (for listings across users).
    pub async fn all_service_accounts(&self) -> Result<Vec<ServiceAccountRecord>, IamError> {
        let r = transact(&*self.store, |t| {
            Box::pin(
                async move { records::list::<ServiceAccountRecord>(t, SVCACCT, "", ALL).await },
            )
        })
        .await?;
        Ok(r)
    }
}

impl Iam {
    /// A group by name, ignoring case when none has exactly that name.
    pub async fn find_group(&self, name: &str) -> Result<Option<GroupRecord>, IamError> {
        if let Some(g) = self.group(name).await? {
            return Ok(Some(g));
        }
        Ok(self
            .list_groups()
            .await?
            .into_iter()
            .find(|g| g.name.eq_ignore_ascii_case(name)))
    }

    /// IAM's UpdateGroup: a new name and/or path, carried into its members' records in the
    /// same transaction.
    pub async fn update_group(
        &self,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), IamError> {
        if let Some(n) = new_name {
            check_name("group name", n)?;
        }
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let mut g = records::get::<GroupRecord>(t, GROUP, name)
                    .await?
                    .ok_or_else(|| no_such("group", name))?;
                if let Some(p) = new_path {
                    g.path = p.to_string();
                }
                g.updated_ms = now_ms();
                let Some(new) = new_name.filter(|n| *n != name) else {
                    records::put(t, GROUP, name, &g);
                    return Ok(());
                };
                let groups: Vec<GroupRecord> = records::list(t, GROUP, "", ALL).await?;
                if groups
                    .iter()
                    .any(|x| x.name != name && x.name.eq_ignore_ascii_case(new))
                {
                    return Err(IamError::EntityExists {
                        kind: "group",
                        name: new.to_string(),
                    });
                }
                for m in &g.members {
                    if let Some(mut u) = records::get::<UserRecord>(t, USER, m).await? {
                        u.groups.retain(|x| x != name);
                        crate::store::insert_sorted(&mut u.groups, new);
                        records::put(t, USER, m, &u);
                    }
                }
                t.delete(records::TABLE, records::key(GROUP, name));
                g.name = new.to_string();
                records::put(t, GROUP, new, &g);
                Ok(())
            })
        })
        .await?;
        Ok(())
    }
}
