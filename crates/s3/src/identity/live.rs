//! The identity store and the keyring kept in step: the root user and the users file seed the
//! store at start; the keyring's snapshot is rebuilt when the store's change counter moves
//! (the server polls [`Identities::refresh`] every half second, and every change made through
//! this server reloads at once), so a change is in force on every node within a second.

use std::sync::Arc;

use rustfs_iam::{AccountInfo, Iam, IamError};

use crate::auth::{Keyring, User};

#[derive(Clone)]
pub struct Identities {
    iam: Arc<Iam>,
    keys: Keyring,
    root: Arc<User>,
}

impl Identities {
    /// `keys` is the keyring the server serves (its first snapshot: the root user and the
    /// users file), `root` the root user.
    pub fn new(iam: Iam, keys: Keyring, root: User) -> Self {
        Self {
            iam: Arc::new(iam),
            keys,
            root: Arc::new(root),
        }
    }

    pub fn iam(&self) -> &Iam {
        &self.iam
    }

    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    pub fn root(&self) -> &User {
        &self.root
    }

    /// Makes the store hold the root user and `accounts` (the users file's) as accounts.
    pub async fn seed(&self, accounts: &[User]) -> Result<(), IamError> {
        let root = std::iter::once((&*self.root, true));
        for (u, is_root) in root.chain(accounts.iter().map(|u| (u, false))) {
            let info = AccountInfo {
                id: u.id.clone(),
                display_name: u.display_name.clone(),
                email: u.email.clone(),
                root: is_root,
                iam_account: u.iam_account,
            };
            self.iam
                .seed_account(&u.access_key, &u.secret_key, &info)
                .await?;
        }
        Ok(())
    }

    /// Rebuilds the keyring if the store changed since its snapshot; whether it did.
    pub async fn refresh(&self) -> Result<bool, IamError> {
        if self.iam.version().await? == self.keys.version() && self.keys.loaded() {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }

    /// Rebuilds the keyring from the store now (after a change made through this server).
    pub async fn reload(&self) -> Result<(), IamError> {
        let stored = self.iam.snapshot().await?;
        self.keys
            .install(super::build::snapshot(&stored, &self.root));
        Ok(())
    }
}
