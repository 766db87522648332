//! Users and their credentials: s3s' signature verification asks [`Keyring`] for secrets, and
//! the edge asks it who a request's access key is (canonical id and display name, as S3
//! reports owners and grantees).

use std::collections::HashMap;
use std::sync::Arc;

use s3s::S3Result;
use s3s::auth::{S3Auth, SecretKey};
use sha2::{Digest, Sha256};

/// One user: a key pair and the identity S3 shows for what it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub access_key: String,
    pub secret_key: String,
    /// Canonical user id: recorded as the owner of buckets, objects and uploads.
    pub id: String,
    pub display_name: String,
    /// For ACL grants by e-mail address (`emailAddress=`).
    pub email: Option<String>,
}

impl User {
    /// A user whose canonical id is derived from the access key (64 hex digits, like S3's) and
    /// whose display name is the access key.
    pub fn derived(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        let access_key = access_key.into();
        let digest = Sha256::digest(format!("rustfs-user:{access_key}").as_bytes());
        let id = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            display_name: access_key.clone(),
            access_key,
            secret_key: secret_key.into(),
            id,
            email: None,
        }
    }
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

#[derive(Default)]
struct Users {
    by_key: HashMap<String, Arc<User>>,
    by_id: HashMap<String, Arc<User>>,
}

/// The users the server knows. Cheap to clone (shared). Unknown keys are refused by s3s with
/// `InvalidAccessKeyId`.
#[derive(Clone, Default)]
pub struct Keyring {
    users: Arc<Users>,
}

impl Keyring {
    /// Builds the keyring; every access key and every user id must be unique.
    pub fn new(users: impl IntoIterator<Item = User>) -> Result<Self, UserError> {
        let mut all = Users::default();
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
            if all.by_key.insert(u.access_key.clone(), u.clone()).is_some() {
                return Err(UserError::DuplicateAccessKey(u.access_key.clone()));
            }
            if all.by_id.insert(u.id.clone(), u.clone()).is_some() {
                return Err(UserError::DuplicateId(u.id.clone()));
            }
        }
        Ok(Self {
            users: Arc::new(all),
        })
    }

    pub fn by_access_key(&self, access_key: &str) -> Option<&Arc<User>> {
        self.users.by_key.get(access_key)
    }

    pub fn by_id(&self, id: &str) -> Option<&Arc<User>> {
        self.users.by_id.get(id)
    }

    pub fn by_email(&self, email: &str) -> Option<&Arc<User>> {
        self.users.by_id.values().find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
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
    pub fn owner_id<'a>(&'a self, recorded: &'a str) -> &'a str {
        match self
            .by_id(recorded)
            .or_else(|| self.by_access_key(recorded))
        {
            Some(u) => &u.id,
            None => recorded,
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
        self.by_access_key(access_key)
            .map(|u| SecretKey::from(u.secret_key.clone()))
            .ok_or_else(|| crate::api_error::ApiError::UnknownAccessKey.into())
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
