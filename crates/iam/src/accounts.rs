//! The users that exist before any API call (the root user, the users file's), users made by
//! IAM's CreateUser (no key pair of their own), and changes to service accounts and access keys.

use rustfs_meta::transact;

use crate::records::{
    self, AccountInfo, GROUP, GroupRecord, SVCACCT, ServiceAccountRecord, Status, USER, UserRecord,
};
use crate::store::{ALL, check_keys, invalid, no_such, now_ms, random_key};
use crate::{Iam, IamError};

/// IAM's user names: 1 to 64 of letters, digits and `+=,.@_-`.
fn check_user_name(name: &str) -> Result<(), IamError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        return Err(invalid(
            "user name",
            "1 to 64 letters, digits and characters of +=,.@_-",
        ));
    }
    Ok(())
}

/// Changes to a service account or access key; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountUpdate {
    pub secret_key: Option<String>,
    pub status: Option<Status>,
    /// `Some(None)` removes the inline policy.
    pub policy: Option<Option<String>>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` removes the expiry.
    pub expires_ms: Option<Option<i64>>,
}

impl Iam {
    /// Makes the store hold account `access_key` with this secret and identity (the root user
    /// at start, each user of the users file): created, or its secret and identity set again.
    /// Its policies, groups and service accounts are kept.
    pub async fn seed_account(
        &self,
        access_key: &str,
        secret: &str,
        info: &AccountInfo,
    ) -> Result<(), IamError> {
        // The command line's and the users file's keys are taken as given (S3 servers such as
        // RGW use longer secrets than MinIO's 40 characters); only an empty one is refused.
        if access_key.is_empty() || secret.is_empty() {
            return Err(invalid("account", "an empty access or secret key"));
        }
        // Unchanged: no write (every node seeds at start; a cluster's nodes share the record).
        if let Some(u) = self.user(access_key).await? {
            let same_secret = self
                .sealer
                .open(access_key, &u.sealed_secret)
                .is_ok_and(|s| s == secret);
            if same_secret && u.account.as_ref() == Some(info) && u.status == Status::Enabled {
                return Ok(());
            }
        }
        let sealed = self.sealer.seal(access_key, secret)?;
        let sealed = &sealed;
        transact(&*self.store, |t| {
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
                let mut rec = records::get::<UserRecord>(t, USER, access_key)
                    .await?
                    .unwrap_or_else(|| UserRecord {
                        access_key: access_key.to_string(),
                        sealed_secret: String::new(),
                        status: Status::Enabled,
                        policies: Vec::new(),
                        groups: Vec::new(),
                        created_ms: now,
                        updated_ms: now,
                        inline: Default::default(),
                        account: None,
                        path: "/".into(),
                        id: String::new(),
                        owner: None,
                    });
                rec.sealed_secret = sealed.clone();
                rec.account = Some(info.clone());
                rec.status = Status::Enabled;
                rec.updated_ms = now;
                records::put(t, USER, access_key, &rec);
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    /// IAM's CreateUser: a user without a key pair of its own (it signs with access keys).
    /// Names are unique ignoring case, as IAM's are.
    pub async fn create_keyless_user(
        &self,
        name: &str,
        path: &str,
        owner: Option<&str>,
    ) -> Result<UserRecord, IamError> {
        check_user_name(name)?;
        let id = format!(
            "AIDA{}",
            random_key(17, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")?
        );
        let id = &id;
        let r = transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let users: Vec<UserRecord> = records::list(t, USER, "", ALL).await?;
                if users
                    .iter()
                    .any(|u| u.access_key.eq_ignore_ascii_case(name))
                    || records::get::<ServiceAccountRecord>(t, SVCACCT, name)
                        .await?
                        .is_some()
                {
                    return Err(IamError::EntityExists {
                        kind: "user",
                        name: name.to_string(),
                    });
                }
                let now = now_ms();
                let rec = UserRecord {
                    access_key: name.to_string(),
                    sealed_secret: String::new(),
                    status: Status::Enabled,
                    policies: Vec::new(),
                    groups: Vec::new(),
                    created_ms: now,
                    updated_ms: now,
                    inline: Default::default(),
                    account: None,
                    path: path.to_string(),
                    id: id.clone(),
                    owner: owner.map(str::to_string),
                };
                records::put(t, USER, name, &rec);
                Ok(rec)
            })
        })
        .await?;
        Ok(r)
    }

    /// Changes a service account or access key.
    pub async fn update_service_account(
        &self,
        access_key: &str,
        update: &ServiceAccountUpdate,
    ) -> Result<(), IamError> {
        let sealed = match &update.secret_key {
            Some(sk) => {
                check_keys(access_key, sk)?;
                Some(self.sealer.seal(access_key, sk)?)
            }
            None => None,
        };
        let sealed = &sealed;
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let mut rec = records::get::<ServiceAccountRecord>(t, SVCACCT, access_key)
                    .await?
                    .ok_or_else(|| no_such("service account", access_key))?;
                if let Some(s) = sealed {
                    rec.sealed_secret = s.clone();
                }
                if let Some(s) = update.status {
                    rec.status = s;
                }
                if let Some(p) = &update.policy {
                    rec.policy = p.clone();
                }
                if let Some(n) = &update.name {
                    rec.name = Some(n.clone());
                }
                if let Some(d) = &update.description {
                    rec.description = Some(d.clone());
                }
                if let Some(e) = update.expires_ms {
                    rec.expires_ms = e;
                }
                records::put(t, SVCACCT, access_key, &rec);
                Ok(())
            })
        })
        .await?;
        Ok(())
    }
}

impl Iam {
    /// A user by name, ignoring case when no user has exactly that name (IAM's names are
    /// case-insensitive).
    pub async fn find_user(&self, name: &str) -> Result<Option<UserRecord>, IamError> {
        if let Some(u) = self.user(name).await? {
            return Ok(Some(u));
        }
        let all = self.list_users("", ALL).await?;
        Ok(all
            .into_iter()
            .find(|u| u.account.is_none() && u.access_key.eq_ignore_ascii_case(name)))
    }

    /// IAM's UpdateUser: a new name (only for a user without a key pair of its own: a MinIO
    /// user is named by its access key) and/or path, carried into its groups and keys in the
    /// same transaction.
    pub async fn update_user(
        &self,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), IamError> {
        if let Some(n) = new_name {
            check_user_name(n)?;
        }
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let mut u = records::get::<UserRecord>(t, USER, name)
                    .await?
                    .ok_or_else(|| no_such("user", name))?;
                if let Some(p) = new_path {
                    u.path = p.to_string();
                }
                u.updated_ms = now_ms();
                let Some(new) = new_name.filter(|n| *n != name) else {
                    records::put(t, USER, name, &u);
                    return Ok(());
                };
                if u.has_key() || u.account.is_some() {
                    return Err(invalid(
                        "user",
                        "a user with its own key pair is named by its access key",
                    ));
                }
                let users: Vec<UserRecord> = records::list(t, USER, "", ALL).await?;
                if users
                    .iter()
                    .any(|x| x.access_key != name && x.access_key.eq_ignore_ascii_case(new))
                {
                    return Err(IamError::EntityExists {
                        kind: "user",
                        name: new.to_string(),
                    });
                }
                for g in &u.groups {
                    if let Some(mut group) = records::get::<GroupRecord>(t, GROUP, g).await? {
                        group.members.retain(|m| m != name);
                        crate::store::insert_sorted(&mut group.members, new);
                        records::put(t, GROUP, g, &group);
                    }
                }
                let keys: Vec<ServiceAccountRecord> = records::list(t, SVCACCT, "", ALL).await?;
                for mut k in keys.into_iter().filter(|k| k.parent == name) {
                    k.parent = new.to_string();
                    let ak = k.access_key.clone();
                    records::put(t, SVCACCT, &ak, &k);
                }
                t.delete(records::TABLE, records::key(USER, name));
                u.access_key = new.to_string();
                records::put(t, USER, new, &u);
                Ok(())
            })
        })
        .await?;
        Ok(())
    }
}
