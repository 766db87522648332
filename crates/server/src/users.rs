//! The users the server serves: the root key pair (`--access-key`/`--secret-key`) and the
//! extra users of `--users-file`, each with its own keys and identity.
//!
//! The users file is JSON:
//!
//! ```json
//! {"users": [{"access_key": "AKALT", "secret_key": "secret-alt",
//!             "user_id": "56789abc...", "display_name": "alt", "email": "alt@example.com"}]}
//! ```
//!
//! `user_id` (the canonical id S3 reports as owner and grantee) and `display_name` default
//! to values derived from the access key; `email` is optional (for grants by e-mail);
//! `"iam_account": true` makes the user an IAM account (RGW's account root): the IAM users,
//! groups and roles it makes are its own (docs/iam.md).

use std::path::Path;

use rustfs_s3::auth::{Keyring, User};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    users: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    access_key: String,
    secret_key: String,
    user_id: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    /// An IAM account: it owns the IAM users, groups and roles it makes (see docs/iam.md).
    #[serde(default)]
    iam_account: bool,
}

/// Identity of the root user beyond its key pair.
#[derive(Default)]
pub struct RootIdentity {
    pub user_id: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

fn user(
    access_key: String,
    secret_key: String,
    id: Option<String>,
    name: Option<String>,
    email: Option<String>,
) -> User {
    let mut u = User::derived(access_key, secret_key);
    if let Some(id) = id {
        u.id = id;
    }
    if let Some(name) = name {
        u.display_name = name;
    }
    u.email = email;
    u
}

/// Parses a users file's text.
pub fn parse(text: &str) -> Result<Vec<User>, String> {
    let file: UsersFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(file
        .users
        .into_iter()
        .map(|e| {
            let mut u = user(
                e.access_key,
                e.secret_key,
                e.user_id,
                e.display_name,
                e.email,
            );
            u.iam_account = e.iam_account;
            u
        })
        .collect())
}

/// The keyring of the root user and the users file, if any, and those users (the root user
/// first).
pub fn keyring(
    root: (String, String),
    identity: RootIdentity,
    file: Option<&Path>,
) -> Result<(Keyring, Vec<User>), String> {
    let mut all = vec![user(
        root.0,
        root.1,
        identity.user_id,
        identity.display_name,
        identity.email,
    )];
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the users file {}: {e}", path.display()))?;
        all.extend(
            parse(&text).map_err(|e| format!("invalid users file {}: {e}", path.display()))?,
        );
    }
    let keys = Keyring::new(all.clone()).map_err(|e| format!("invalid users: {e}"))?;
    Ok((keys, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_file_parses_with_defaults() {
        let users = parse(
            r#"{"users": [
                {"access_key": "alt-key", "secret_key": "alt-secret", "user_id": "alt-id",
                 "display_name": "Alt", "email": "alt@example.com"},
                {"access_key": "min-key", "secret_key": "min-secret"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(users[0].id, "alt-id");
        assert_eq!(users[0].display_name, "Alt");
        assert_eq!(users[1].display_name, "min-key");
        assert_eq!(users[1].id.len(), 64);
        assert!(parse(r#"{"users": [{"access_key": "a"}]}"#).is_err());
        assert!(parse(r#"{"users": [], "extra": 1}"#).is_err());
    }

    #[test]
    fn root_identity_and_duplicates() {
        let root = ("root-key".to_string(), "root-secret".to_string());
        let id = RootIdentity {
            user_id: Some("testid".into()),
            display_name: Some("M. Tester".into()),
            email: None,
        };
        let (k, _) = keyring(root.clone(), id, None).unwrap();
        assert_eq!(k.by_access_key("root-key").unwrap().id, "testid");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        std::fs::write(
            &path,
            r#"{"users": [{"access_key": "root-key", "secret_key": "another-secret"}]}"#,
        )
        .unwrap();
        assert!(keyring(root, RootIdentity::default(), Some(&path)).is_err());
    }
}
