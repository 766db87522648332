//! The users that exist before any API call (the root user, the users file's), users made by
//! IAM's CreateUser (no key pair of their own), and changes to service accounts and access keys.

use rustfs_meta::transact;

use crate::records::{self, AccountInfo, SVCACCT, ServiceAccountRecord, Status, USER, UserRecord};
use crate::store::{check_keys, invalid, no_such, now_ms};
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
        check_keys(access_key, secret)?;
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
    pub async fn create_keyless_user(
        &self,
        name: &str,
        path: &str,
    ) -> Result<UserRecord, IamError> {
        check_user_name(name)?;
        let r = transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                if records::get::<UserRecord>(t, USER, name).await?.is_some()
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
