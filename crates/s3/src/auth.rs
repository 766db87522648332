//! Users and their credentials: s3s' signature verification asks [`Keyring`] for secrets, and
//! the edge asks it who a request's access key is (canonical id and display name, as S3
//! reports owners and grantees, and for identities of the root account, the policies they act
//! with).
//!
//! The keyring is a snapshot of every identity, swapped whole when the identities change
//! ([`Keyring::install`]; built by `identity::build` from the metadata store), so every lookup
//! is a map read and a request never waits on the database. Temporary credentials (STS) are not
//! in it: their secret is derived from the access key and their standing read from the session
//! token ([`crate::identity::sts`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rustfs_object::policy::Policy;
use s3s::S3Result;
use s3s::auth::{S3Auth, SecretKey};
use sha2::{Digest, Sha256};

use crate::api_error::ApiError;
use crate::identity::sts::StsKeys;

/// One user: a key pair and the identity S3 shows for what it owns.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub access_key: String,
    pub secret_key: String,
    /// Canonical user id of the account it acts in: recorded as the owner of buckets, objects
    /// and uploads it creates.
    pub id: String,
    pub display_name: String,
    /// For ACL grants by e-mail address (`emailAddress=`).
    pub email: Option<String>,
    /// An account that owns the IAM users, groups and roles it makes (the users file's
    /// `iam_account`); otherwise they are the root account's.
    pub iam_account: bool,
    /// `None`: an account (the root user, a users-file user): it may do everything with what
    /// it owns. `Some`: an identity of the root account (a user made through the admin or IAM
    /// API, a service account, an access key, a role session), which may do what its policies
    /// allow.
    pub member: Option<Arc<Member>>,
}

/// What a member of the root account acts with.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The IAM user name (a service account's or access key's: its parent's; a role session's:
    /// the role's).
    pub name: String,
    /// The ARN policies name it by and GetCallerIdentity reports.
    pub arn: String,
    /// IAM's UserId of its user (GetCallerIdentity); empty for sessions and accounts.
    pub user_id: String,
    /// The access key of the account it belongs to when that is not the root account (a
    /// member a users-file account made through IAM).
    pub account: Option<String>,
    /// Identity policies: its own attached and inline ones and those of its enabled groups
    /// (a role session: the role's).
    pub policies: Vec<Arc<Policy>>,
    /// A policy that must allow too: a service account's inline policy, a session policy.
    /// It only narrows: a Deny in it refuses, and what it allows is still only what the
    /// policies above (or a bucket policy) allow.
    pub narrowing: Option<Arc<Policy>>,
    pub kind: MemberKind,
    /// It has its account's own rights (a service account or session of an account, such as
    /// root's): what the account owns it owns, and only `narrowing` restricts it.
    pub owner: bool,
}

/// What kind of member signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    User,
    /// A MinIO service account of user `parent`.
    ServiceAccount {
        parent: String,
    },
    /// An IAM access key of user `user`.
    AccessKey {
        user: String,
    },
    /// A session of role `role` (AssumeRole), or of user `role` (GetSessionToken).
    Session {
        role: Option<String>,
    },
}

impl User {
    /// A user whose canonical id is derived from the access key (64 hex digits, like S3's) and
    /// whose display name is the access key.
    pub fn derived(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        let access_key = access_key.into();
        Self {
            display_name: access_key.clone(),
            id: derived_id(&access_key),
            access_key,
            secret_key: secret_key.into(),
            email: None,
            iam_account: false,
            member: None,
        }
    }

    /// The id ACLs and ownership compare with the caller: an account's canonical id; for a
    /// member, its ARN (which no ACL grant or owner names), so a member never gains an owner's
    /// rights by ACL but only what its policies allow.
    pub fn acl_id(&self) -> &str {
        match &self.member {
            Some(m) if !m.owner => &m.arn,
            _ => &self.id,
        }
    }

    /// Whether it has the rights of the account that owns `owner_id` (a member acting by
    /// policy never has).
    pub fn owns(&self, owner_id: &str) -> bool {
        self.acl_id() == owner_id
    }

    /// Whether it may do everything an account may (an account, or a member with its
    /// account's rights), before any narrowing.
    pub fn is_account(&self) -> bool {
        self.member.as_ref().is_none_or(|m| m.owner)
    }
}

/// The canonical id derived from an access key (64 hex digits, like S3's).
pub fn derived_id(access_key: &str) -> String {
    let digest = Sha256::digest(format!("rustfs-user:{access_key}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a set of users cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("access key {0:?} is given twice")]
    DuplicateAccessKey(String),
    #[error("user id {0:?} is given twice")]
    DuplicateId(String),
    #[error("user {0:?}: {1}")]
    Invalid(String, &'static str),
}

/// An access key's standing in a snapshot.
#[derive(Debug, Clone)]
pub enum KeyEntry {
    Active(Arc<User>),
    /// Disabled, or its user disabled: refused with `InvalidAccessKeyId`, as S3 refuses an
    /// inactive key.
    Disabled,
    /// A key with an expiry (a service account's): refused with `ExpiredToken` after it.
    Expiring {
        user: Arc<User>,
        expires_ms: i64,
    },
}

/// One state of every identity.
#[derive(Default)]
pub struct Snapshot {
    pub(crate) by_key: HashMap<String, KeyEntry>,
    /// Accounts by canonical id.
    pub(crate) by_id: HashMap<String, Arc<User>>,
    /// The identity store's change counter this state is at.
    pub(crate) version: u64,
    /// Built from the identity store (not only the command line's accounts).
    pub(crate) loaded: bool,
    /// Roles by name, for sessions (AssumeRole).
    pub(crate) roles: HashMap<String, Arc<crate::identity::RoleGrants>>,
    /// Users by name with their identity policies, for sessions (GetSessionToken).
    pub(crate) members: HashMap<String, Arc<User>>,
}

impl Snapshot {
    /// A snapshot of accounts alone (every access key and every user id unique).
    pub fn of_accounts(users: impl IntoIterator<Item = User>) -> Result<Self, UserError> {
        let mut all = Snapshot::default();
        for u in users {
            if u.access_key.len() < 3 {
                return Err(UserError::Invalid(
                    u.access_key,
                    "the access key must be at least 3 characters long",
                ));
            }
            if u.secret_key.len() < 8 {
                return Err(UserError::Invalid(
                    u.access_key,
                    "the secret key must be at least 8 characters long",
                ));
            }
            if u.id.is_empty() {
                return Err(UserError::Invalid(u.access_key, "the user id is empty"));
            }
            let u = Arc::new(u);
            if all
                .by_key
                .insert(u.access_key.clone(), KeyEntry::Active(u.clone()))
                .is_some()
            {
                return Err(UserError::DuplicateAccessKey(u.access_key.clone()));
            }
            if all.by_id.insert(u.id.clone(), u.clone()).is_some() {
                return Err(UserError::DuplicateId(u.id.clone()));
            }
        }
        Ok(all)
    }
}

/// The users the server knows. Cheap to clone (shared: a new snapshot installed through one
/// clone is seen by all). Unknown keys are refused by s3s with `InvalidAccessKeyId`.
#[derive(Clone)]
pub struct Keyring {
    state: Arc<RwLock<Arc<Snapshot>>>,
    /// The root user's access key: the account members act in.
    root: Arc<str>,
    sts: Arc<StsKeys>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Keyring {
    /// A keyring of accounts alone (the first is the root user); every access key and every
    /// user id must be unique.
    pub fn new(users: impl IntoIterator<Item = User>) -> Result<Self, UserError> {
        let users: Vec<User> = users.into_iter().collect();
        let root = users
            .first()
            .cloned()
            .unwrap_or_else(|| User::derived("", ""));
        let snapshot = Snapshot::of_accounts(users)?;
        Ok(Self {
            state: Arc::new(RwLock::new(Arc::new(snapshot))),
            sts: Arc::new(StsKeys::new(root.secret_key.as_bytes())),
            root: root.access_key.into(),
        })
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.state.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts a snapshot read from the identity store in force for every clone of this keyring,
    /// unless a newer one already is (two reloads racing).
    pub fn install(&self, mut snapshot: Snapshot) {
        snapshot.loaded = true;
        let mut s = match self.state.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !s.loaded || snapshot.version >= s.version {
            *s = Arc::new(snapshot);
        }
    }

    /// Whether the snapshot in force came from the identity store.
    pub fn loaded(&self) -> bool {
        self.snapshot().loaded
    }

    /// The identity store's change counter the snapshot in force is at.
    pub fn version(&self) -> u64 {
        self.snapshot().version
    }

    pub fn root_access_key(&self) -> &str {
        &self.root
    }

    /// The root user.
    pub fn root(&self) -> Option<Arc<User>> {
        self.by_access_key(&self.root)
    }

    pub(crate) fn sts(&self) -> &StsKeys {
        &self.sts
    }

    /// The user of an active access key (not a temporary one: see
    /// [`crate::identity::sts`]).
    pub fn by_access_key(&self, access_key: &str) -> Option<Arc<User>> {
        match self.snapshot().by_key.get(access_key)? {
            KeyEntry::Active(u) => Some(u.clone()),
            KeyEntry::Expiring { user, expires_ms } if *expires_ms > now_ms() => Some(user.clone()),
            _ => None,
        }
    }

    /// The canonical id of the account `access_key` acts in (temporary keys included): what
    /// it records as owner of what it creates.
    pub fn account_of(&self, access_key: &str) -> Option<String> {
        if StsKeys::is_temporary(access_key) {
            return self.root().map(|u| u.id.clone());
        }
        self.by_access_key(access_key).map(|u| u.id.clone())
    }

    /// The account with canonical id `id`.
    pub fn by_id(&self, id: &str) -> Option<Arc<User>> {
        self.snapshot().by_id.get(id).cloned()
    }

    pub fn by_email(&self, email: &str) -> Option<Arc<User>> {
        self.snapshot()
            .by_id
            .values()
            .find(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .cloned()
    }

    /// The canonical id and display name of a recorded owner. Records written before users had
    /// ids hold the owner's access key; those resolve to the key's user.
    pub fn owner_of(&self, recorded: &str) -> (String, String) {
        match self
            .by_id(recorded)
            .or_else(|| self.by_access_key(recorded))
        {
            Some(u) => (u.id.clone(), u.display_name.clone()),
            None => (recorded.to_string(), recorded.to_string()),
        }
    }

    /// The canonical id a recorded owner stands for (see [`Keyring::owner_of`]).
    pub fn owner_id(&self, recorded: &str) -> String {
        self.owner_of(recorded).0
    }

    /// The secret of a usable access key (temporary ones included).
    pub fn secret(&self, access_key: &str) -> Option<String> {
        self.secret_of(access_key).ok()
    }

    /// The secret of `access_key`, or why it is refused.
    fn secret_of(&self, access_key: &str) -> Result<String, ApiError> {
        if StsKeys::is_temporary(access_key) {
            return Ok(self.sts.secret_of(access_key));
        }
        match self.snapshot().by_key.get(access_key) {
            Some(KeyEntry::Active(u)) => Ok(u.secret_key.clone()),
            Some(KeyEntry::Expiring { user, expires_ms }) if *expires_ms > now_ms() => {
                Ok(user.secret_key.clone())
            }
            Some(KeyEntry::Expiring { .. }) => Err(ApiError::ExpiredKey),
            Some(KeyEntry::Disabled) => Err(ApiError::DisabledAccessKey),
            None => Err(ApiError::UnknownAccessKey),
        }
    }
}

/// Whether a SigV4 scope's region is the server's.
pub(crate) fn same_region(got: &str, expected: &str) -> bool {
    got == expected
}

#[async_trait::async_trait]
impl S3Auth for Keyring {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        self.secret_of(access_key)
            .map(SecretKey::from)
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_unique() {
        let a = User::derived("alice", "secret-1");
        assert_eq!(a.id.len(), 64);
        assert_eq!(a.id, User::derived("alice", "other-secret").id);
        assert_ne!(a.id, User::derived("bob", "secret-1").id);
        assert_eq!(a.display_name, "alice");
    }

    #[test]
    fn duplicates_are_refused() {
        let a = User::derived("alice", "secret-1");
        let mut b = User::derived("bob", "secret-2");
        assert!(Keyring::new([a.clone(), b.clone()]).is_ok());
        assert!(matches!(
            Keyring::new([a.clone(), a.clone()]),
            Err(UserError::DuplicateAccessKey(_))
        ));
        b.id = a.id.clone();
        assert!(matches!(
            Keyring::new([a, b]),
            Err(UserError::DuplicateId(_))
        ));
    }

    #[test]
    fn owners_resolve_by_id_or_legacy_key() {
        let mut a = User::derived("alice", "secret-1");
        a.email = Some("a@example.com".into());
        let k = Keyring::new([a.clone()]).unwrap();
        assert_eq!(k.owner_of(&a.id), (a.id.clone(), "alice".into()));
        assert_eq!(k.owner_of("alice"), (a.id.clone(), "alice".into()));
        assert_eq!(k.owner_of("gone"), ("gone".into(), "gone".into()));
        assert_eq!(k.by_email("A@example.com").unwrap().id, a.id);
    }
}
