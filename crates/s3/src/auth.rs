//! Credentials for s3s' signature verification.

use std::collections::HashMap;

use s3s::S3Result;
use s3s::auth::{S3Auth, SecretKey};

/// Access keys and their secrets. Unknown keys are refused with `InvalidAccessKeyId`.
#[derive(Default)]
pub struct Keyring {
    keys: HashMap<String, SecretKey>,
}

impl Keyring {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, access_key: impl Into<String>, secret_key: impl Into<String>) {
        self.keys
            .insert(access_key.into(), SecretKey::from(secret_key.into()));
    }
}

#[async_trait::async_trait]
impl S3Auth for Keyring {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        self.keys.get(access_key).cloned().ok_or_else(|| {
            s3s::s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )
        })
    }
}
