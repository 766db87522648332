//! The operations on identities. Each is one transaction through the one retry rule
//! ([`rustfs_meta::transact`]) that reads everything it decides from.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustfs_meta::{TxnStore, transact};
use serde::{Serialize, de::DeserializeOwned};

use crate::records::{
    self, GROUP, GroupRecord, POLICY, PolicyRecord, ROLE, RoleRecord, SVCACCT,
    ServiceAccountRecord, Status, USER, UserRecord,
};
use crate::{IamError, Sealer, canned};

/// Every user, group or policy list is read whole below this many entries.
pub(crate) const ALL: usize = usize::MAX;

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn no_such(kind: &'static str, name: &str) -> IamError {
    IamError::NoSuchEntity {
        kind,
        name: name.to_string(),
    }
}

pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> IamError {
    IamError::Invalid {
        what,
        reason: reason.into(),
    }
}

/// MinIO's rules: an access key of 3 to 128 characters without `=`, `,` or control
/// characters; a secret key of 8 to 40.
pub(crate) fn check_keys(access_key: &str, secret: &str) -> Result<(), IamError> {
    if !(3..=128).contains(&access_key.chars().count())
        || access_key
            .chars()
            .any(|c| c == '=' || c == ',' || c == '/' || c.is_control() || c.is_whitespace())
    {
        return Err(invalid(
            "access key",
            "3 to 128 characters, without '=', ',', '/', spaces or control characters",
        ));
    }
    if !(8..=40).contains(&secret.chars().count()) {
        return Err(invalid("secret key", "8 to 40 characters"));
    }
    Ok(())
}

pub(crate) fn check_name(what: &'static str, name: &str) -> Result<(), IamError> {
    if name.is_empty()
        || name.len() > 128
        || name
            .chars()
            .any(|c| c == ',' || c == '/' || c.is_control() || c.is_whitespace())
    {
        return Err(invalid(
            what,
            "1 to 128 characters, without ',', '/', spaces or control characters",
        ));
    }
    Ok(())
}

pub(crate) fn insert_sorted(list: &mut Vec<String>, item: &str) {
    if let Err(i) = list.binary_search_by(|x| x.as_str().cmp(item)) {
        list.insert(i, item.to_string());
    }
}

/// A user or a group, as a policy attachment's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User(String),
    Group(String),
    Role(String),
}

/// What an access key signs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialKind {
    User,
    ServiceAccount {
        parent: String,
        policy: Option<String>,
    },
}

/// An access key's secret and standing, for the signature check and the access decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub secret: String,
    pub kind: CredentialKind,
    /// Disabled itself, or (a service account) its parent disabled or gone.
    pub enabled: bool,
    pub expired: bool,
}

/// A new service account.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountSpec {
    pub parent: String,
    /// Made when not given.
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub policy: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub expires_ms: Option<i64>,
    /// An IAM user's access key (CreateAccessKey) rather than a service account.
    pub user_key: bool,
}

pub(crate) fn random_key(len: usize, alphabet: &[u8]) -> Result<String, IamError> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| IamError::Random(e.to_string()))?;
    Ok(bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect())
}

/// Identities in a metadata store.
#[derive(Clone)]
pub struct Iam {
    pub(crate) store: Arc<dyn TxnStore>,
    pub(crate) sealer: Sealer,
}

impl Iam {
    pub fn new(store: Arc<dyn TxnStore>, sealer: Sealer) -> Self {
        Self { store, sealer }
    }

    /// One record, read alone.
    async fn read<T: DeserializeOwned + Send>(
        &self,
        prefix: &'static str,
        name: &str,
    ) -> Result<Option<T>, IamError> {
        let r = transact(&*self.store, |t| {
            Box::pin(async move { records::get::<T>(t, prefix, name).await })
        })
        .await?;
        Ok(r)
    }

    /// Changes an existing record (`kind` names it in the error when missing).
    async fn update<T: DeserializeOwned + Serialize + Send>(
        &self,
        prefix: &'static str,
        kind: &'static str,
        name: &str,
        change: impl Fn(&mut T) + Sync,
    ) -> Result<(), IamError> {
        let change = &change;
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let mut rec = records::get::<T>(t, prefix, name)
                    .await?
                    .ok_or_else(|| no_such(kind, name))?;
                change(&mut rec);
                records::put(t, prefix, name, &rec);
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    /// The change counter: raised by every change to users, groups, policies, attachments or
    /// service accounts. A node polls it (one small read) and reloads what it caches when it
    /// moved, so a change made on one node is in force on every node within a poll.
    pub async fn version(&self) -> Result<u64, IamError> {
        let r = transact(&*self.store, |t| {
            Box::pin(async move { records::version(t).await })
        })
        .await?;
        Ok(r)
    }

    // -- users ---------------------------------------------------------------

    /// Creates user `access_key` (`create_only`: refused if it exists, as IAM's CreateUser),
    /// or sets the secret and status of an existing one (MinIO's add-user).
    pub async fn put_user(
        &self,
        access_key: &str,
        secret: &str,
        status: Status,
        create_only: bool,
    ) -> Result<UserRecord, IamError> {
        check_keys(access_key, secret)?;
        let sealed = self.sealer.seal(access_key, secret)?;
        let sealed = &sealed;
        let r = transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                if records::get::<ServiceAccountRecord>(t, SVCACCT, access_key)
                    .await?
                    .is_some()
                {
                    return Err(IamError::EntityExists {
                        kind: "service account",
                        name: access_key.to_string(),
                    });
                }
                let now = now_ms();
                let rec = match records::get::<UserRecord>(t, USER, access_key).await? {
                    Some(_) if create_only => {
                        return Err(IamError::EntityExists {
                            kind: "user",
                            name: access_key.to_string(),
                        });
                    }
                    Some(mut u) => {
                        u.sealed_secret = sealed.clone();
                        u.status = status;
                        u.updated_ms = now;
                        u
                    }
                    None => UserRecord {
                        access_key: access_key.to_string(),
                        sealed_secret: sealed.clone(),
                        status,
                        policies: Vec::new(),
                        groups: Vec::new(),
                        created_ms: now,
                        updated_ms: now,
                        inline: Default::default(),
                        account: None,
                        path: "/".into(),
                        id: String::new(),
                        owner: None,
                    },
                };
                records::put(t, USER, access_key, &rec);
                Ok(rec)
            })
        })
        .await?;
        Ok(r)
    }

    pub async fn user(&self, access_key: &str) -> Result<Option<UserRecord>, IamError> {
        self.read(USER, access_key).await
    }

    pub async fn set_user_status(&self, access_key: &str, status: Status) -> Result<(), IamError> {
        self.update(USER, "user", access_key, |u: &mut UserRecord| {
            u.status = status;
            u.updated_ms = now_ms();
        })
        .await
    }

    /// Deletes a user, its group memberships and its service accounts, in one transaction.
    pub async fn delete_user(&self, access_key: &str) -> Result<(), IamError> {
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let u = records::get::<UserRecord>(t, USER, access_key)
                    .await?
                    .ok_or_else(|| no_such("user", access_key))?;
                if u.account.as_ref().is_some_and(|a| a.root) {
                    return Err(invalid("user", "the root user cannot be deleted"));
                }
                for g in &u.groups {
                    if let Some(mut group) = records::get::<GroupRecord>(t, GROUP, g).await? {
                        group.members.retain(|m| m != access_key);
                        group.updated_ms = now_ms();
                        records::put(t, GROUP, g, &group);
                    }
                }
                let accounts: Vec<ServiceAccountRecord> =
                    records::list(t, SVCACCT, "", ALL).await?;
                for a in accounts.iter().filter(|a| a.parent == access_key) {
                    t.delete(records::TABLE, records::key(SVCACCT, &a.access_key));
                }
                t.delete(records::TABLE, records::key(USER, access_key));
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    /// Up to `max` users after `after` (paging, in access key order).
    pub async fn list_users(&self, after: &str, max: usize) -> Result<Vec<UserRecord>, IamError> {
        let r = transact(&*self.store, |t| {
            Box::pin(async move { records::list::<UserRecord>(t, USER, after, max).await })
        })
        .await?;
        Ok(r)
    }

    // -- policies --------------------------------------------------------------

    /// Stores managed policy `name` (a canned name is refused). The caller validates the
    /// document with the policy engine first.
    pub async fn put_policy(&self, name: &str, document: &str) -> Result<(), IamError> {
        check_name("policy name", name)?;
        if canned::is_canned(name) {
            return Err(invalid(
                "policy name",
                format!("{name} is a built-in policy"),
            ));
        }
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let now = now_ms();
                let created = records::get::<PolicyRecord>(t, POLICY, name)
                    .await?
                    .map_or(now, |p| p.created_ms);
                records::put(
                    t,
                    POLICY,
                    name,
                    &PolicyRecord {
                        name: name.to_string(),
                        document: document.to_string(),
                        created_ms: created,
                        updated_ms: now,
                    },
                );
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    /// A managed or canned policy.
    pub async fn policy(&self, name: &str) -> Result<Option<PolicyRecord>, IamError> {
        if let Some(doc) = canned::document(name) {
            return Ok(Some(canned_record(name, doc)));
        }
        self.read(POLICY, name).await
    }

    /// Every policy: the canned ones, then the managed ones, by name.
    pub async fn list_policies(&self) -> Result<Vec<PolicyRecord>, IamError> {
        let stored = transact(&*self.store, |t| {
            Box::pin(async move { records::list::<PolicyRecord>(t, POLICY, "", ALL).await })
        })
        .await?;
        let mut all: Vec<PolicyRecord> = canned::NAMES
            .iter()
            .filter_map(|n| canned::document(n).map(|d| canned_record(n, d)))
            .collect();
        all.extend(stored);
        Ok(all)
    }

    /// Deletes a managed policy; refused while attached to a user or group.
    pub async fn delete_policy(&self, name: &str) -> Result<(), IamError> {
        if canned::is_canned(name) {
            return Err(invalid(
                "policy name",
                format!("{name} is a built-in policy"),
            ));
        }
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                if records::get::<PolicyRecord>(t, POLICY, name)
                    .await?
                    .is_none()
                {
                    return Err(no_such("policy", name));
                }
                let users: Vec<UserRecord> = records::list(t, USER, "", ALL).await?;
                let groups: Vec<GroupRecord> = records::list(t, GROUP, "", ALL).await?;
                let roles: Vec<RoleRecord> = records::list(t, ROLE, "", ALL).await?;
                let named = |p: &Vec<String>| p.iter().any(|x| x == name);
                if users.iter().any(|u| named(&u.policies))
                    || groups.iter().any(|g| named(&g.policies))
                    || roles.iter().any(|r| named(&r.policies))
                {
                    return Err(IamError::DeleteConflict(format!(
                        "policy {name} is attached to a user, group or role"
                    )));
                }
                t.delete(records::TABLE, records::key(POLICY, name));
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    /// Attaches (`attach`) or detaches policies to a user or group; returns its policies.
    /// Attaching a policy that does not exist is refused, in the same transaction that reads
    /// it, so a concurrent delete cannot leave it dangling.
    pub async fn set_attachment(
        &self,
        to: &Principal,
        policies: &[String],
        attach: bool,
    ) -> Result<Vec<String>, IamError> {
        let r = transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                if attach {
                    for p in policies {
                        if !canned::is_canned(p)
                            && records::get::<PolicyRecord>(t, POLICY, p).await?.is_none()
                        {
                            return Err(no_such("policy", p));
                        }
                    }
                }
                let change = |list: &mut Vec<String>| {
                    for p in policies {
                        if attach {
                            insert_sorted(list, p);
                        } else {
                            list.retain(|x| x != p);
                        }
                    }
                    list.clone()
                };
                match to {
                    Principal::User(ak) => {
                        let mut u = records::get::<UserRecord>(t, USER, ak)
                            .await?
                            .ok_or_else(|| no_such("user", ak))?;
                        let out = change(&mut u.policies);
                        u.updated_ms = now_ms();
                        records::put(t, USER, ak, &u);
                        Ok(out)
                    }
                    Principal::Group(g) => {
                        let mut group = records::get::<GroupRecord>(t, GROUP, g)
                            .await?
                            .ok_or_else(|| no_such("group", g))?;
                        let out = change(&mut group.policies);
                        group.updated_ms = now_ms();
                        records::put(t, GROUP, g, &group);
                        Ok(out)
                    }
                    Principal::Role(r) => {
                        let mut role = records::get::<RoleRecord>(t, ROLE, r)
                            .await?
                            .ok_or_else(|| no_such("role", r))?;
                        let out = change(&mut role.policies);
                        records::put(t, ROLE, r, &role);
                        Ok(out)
                    }
                }
            })
        })
        .await?;
        Ok(r)
    }

    // -- groups ------------------------------------------------------------------

    /// Adds `members` to `group` (made if new; every member must be a user), or removes them
    /// (`remove`). Removing with no members deletes the group, refused unless it is empty.
    pub async fn update_group_members(
        &self,
        group: &str,
        members: &[String],
        remove: bool,
    ) -> Result<(), IamError> {
        check_name("group name", group)?;
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let now = now_ms();
                let existing = records::get::<GroupRecord>(t, GROUP, group).await?;
                if remove && members.is_empty() {
                    let g = existing.ok_or_else(|| no_such("group", group))?;
                    if !g.members.is_empty() {
                        return Err(IamError::DeleteConflict(format!(
                            "group {group} is not empty"
                        )));
                    }
                    t.delete(records::TABLE, records::key(GROUP, group));
                    return Ok(());
                }
                let mut g = match existing {
                    Some(g) => g,
                    None if remove => return Err(no_such("group", group)),
                    None => GroupRecord {
                        name: group.to_string(),
                        members: Vec::new(),
                        status: Status::Enabled,
                        policies: Vec::new(),
                        updated_ms: now,
                        inline: Default::default(),
                        path: "/".into(),
                        id: String::new(),
                        owner: None,
                    },
                };
                for m in members {
                    let mut u = records::get::<UserRecord>(t, USER, m)
                        .await?
                        .ok_or_else(|| no_such("user", m))?;
                    if remove {
                        g.members.retain(|x| x != m);
                        u.groups.retain(|x| x != group);
                    } else {
                        insert_sorted(&mut g.members, m);
                        insert_sorted(&mut u.groups, group);
                    }
                    u.updated_ms = now;
                    records::put(t, USER, m, &u);
                }
                g.updated_ms = now;
                records::put(t, GROUP, group, &g);
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    pub async fn set_group_status(&self, group: &str, status: Status) -> Result<(), IamError> {
        self.update(GROUP, "group", group, |g: &mut GroupRecord| {
            g.status = status;
            g.updated_ms = now_ms();
        })
        .await
    }

    pub async fn group(&self, name: &str) -> Result<Option<GroupRecord>, IamError> {
        self.read(GROUP, name).await
    }

    pub async fn list_groups(&self) -> Result<Vec<GroupRecord>, IamError> {
        let r = transact(&*self.store, |t| {
            Box::pin(async move { records::list::<GroupRecord>(t, GROUP, "", ALL).await })
        })
        .await?;
        Ok(r)
    }

    // -- service accounts ----------------------------------------------------------

    /// Creates a service account under an existing user; returns its access and secret key.
    pub async fn create_service_account(
        &self,
        spec: &ServiceAccountSpec,
    ) -> Result<(String, String), IamError> {
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        const ANY: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let ak = match &spec.access_key {
            Some(k) => k.clone(),
            None => random_key(20, UPPER)?,
        };
        let sk = match &spec.secret_key {
            Some(k) => k.clone(),
            None => random_key(40, ANY)?,
        };
        check_keys(&ak, &sk)?;
        let sealed = self.sealer.seal(&ak, &sk)?;
        let (ak_ref, sealed) = (&ak, &sealed);
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                if records::get::<UserRecord>(t, USER, &spec.parent)
                    .await?
                    .is_none()
                {
                    return Err(no_such("user", &spec.parent));
                }
                if records::get::<UserRecord>(t, USER, ak_ref).await?.is_some()
                    || records::get::<ServiceAccountRecord>(t, SVCACCT, ak_ref)
                        .await?
                        .is_some()
                {
                    return Err(IamError::EntityExists {
                        kind: "access key",
                        name: ak_ref.clone(),
                    });
                }
                records::put(
                    t,
                    SVCACCT,
                    ak_ref,
                    &ServiceAccountRecord {
                        access_key: ak_ref.clone(),
                        sealed_secret: sealed.clone(),
                        parent: spec.parent.clone(),
                        policy: spec.policy.clone(),
                        name: spec.name.clone(),
                        description: spec.description.clone(),
                        expires_ms: spec.expires_ms,
                        status: Status::Enabled,
                        created_ms: now_ms(),
                        user_key: spec.user_key,
                    },
                );
                Ok(())
            })
        })
        .await?;
        Ok((ak, sk))
    }

    pub async fn service_account(
        &self,
        access_key: &str,
    ) -> Result<Option<ServiceAccountRecord>, IamError> {
        self.read(SVCACCT, access_key).await
    }

    /// The service accounts of `parent`.
    pub async fn list_service_accounts(
        &self,
        parent: &str,
    ) -> Result<Vec<ServiceAccountRecord>, IamError> {
        let all = transact(&*self.store, |t| {
            Box::pin(
                async move { records::list::<ServiceAccountRecord>(t, SVCACCT, "", ALL).await },
            )
        })
        .await?;
        Ok(all.into_iter().filter(|a| a.parent == parent).collect())
    }

    pub async fn delete_service_account(&self, access_key: &str) -> Result<(), IamError> {
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                if records::get::<ServiceAccountRecord>(t, SVCACCT, access_key)
                    .await?
                    .is_none()
                {
                    return Err(no_such("service account", access_key));
                }
                t.delete(records::TABLE, records::key(SVCACCT, access_key));
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    // -- signing -------------------------------------------------------------------

    /// The secret and standing of `access_key` (a user or a service account) at `now_ms`:
    /// what the signature check and the access decision need, read in one state.
    pub async fn credential(
        &self,
        access_key: &str,
        now_ms: i64,
    ) -> Result<Option<Credential>, IamError> {
        let found = transact(&*self.store, |t| {
            Box::pin(async move {
                if let Some(u) = records::get::<UserRecord>(t, USER, access_key).await? {
                    if !u.has_key() {
                        return Ok(None);
                    }
                    return Ok(Some((u.sealed_secret, u.status == Status::Enabled, None)));
                }
                let Some(a) = records::get::<ServiceAccountRecord>(t, SVCACCT, access_key).await?
                else {
                    return Ok(None);
                };
                let parent = records::get::<UserRecord>(t, USER, &a.parent).await?;
                let enabled = a.status == Status::Enabled
                    && parent.is_some_and(|p| p.status == Status::Enabled);
                Ok(Some((a.sealed_secret.clone(), enabled, Some(a))))
            })
        })
        .await?;
        let Some((sealed, enabled, account)) = found else {
            return Ok(None);
        };
        let secret = self.sealer.open(access_key, &sealed)?;
        Ok(Some(match account {
            None => Credential {
                access_key: access_key.to_string(),
                secret,
                kind: CredentialKind::User,
                enabled,
                expired: false,
            },
            Some(a) => Credential {
                access_key: access_key.to_string(),
                secret,
                enabled,
                expired: a.expires_ms.is_some_and(|e| e <= now_ms),
                kind: CredentialKind::ServiceAccount {
                    parent: a.parent,
                    policy: a.policy,
                },
            },
        }))
    }
}

fn canned_record(name: &str, document: &str) -> PolicyRecord {
    PolicyRecord {
        name: name.to_string(),
        document: document.to_string(),
        created_ms: 0,
        updated_ms: 0,
    }
}
