//! Temporary credentials (STS AssumeRole, GetSessionToken), kept by nobody: every node derives
//! them from the root secret, which a cluster's nodes share.
//!
//! - The access key is `ASIA` and 16 random characters (AWS's form for temporary keys).
//! - Its secret is HMAC-SHA256 of the access key under a key derived from the root secret,
//!   so the signature check needs nothing but the access key.
//! - The session token is the session's claims (who, until when, the session policy) sealed
//!   with AES-256-GCM under another derived key, bound to the access key
//!   ([`rustfs_iam::Sealer::for_purpose`]). It is checked on every request signed with the
//!   key: missing, altered or moved to another key it is `InvalidToken`, past its expiry
//!   `ExpiredToken`.
//!
//! The session's rights are read when it is used: a deleted role or user ends its sessions at
//! once.

use hmac::{Hmac, KeyInit, Mac};
use rustfs_iam::Sealer;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "ASIA";
const KEY_LEN: usize = 20;

/// Who a session acts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    /// AssumeRole: role `role`, session name `session`, assumed by `by` (an access key).
    Role {
        role: String,
        session: String,
        by: String,
    },
    /// GetSessionToken: the user itself (the access key it called with: a user or an access
    /// key of one).
    User { access_key: String },
}

/// What a session token holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub subject: Subject,
    /// Milliseconds since the epoch.
    pub expires_ms: i64,
    /// A session policy: narrows what the session may do.
    pub policy: Option<String>,
}

/// Why a session token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the security token is missing")]
    Missing,
    #[error("the security token is malformed or does not belong to this access key")]
    Invalid,
    #[error("the security token has expired")]
    Expired,
}

/// The keys temporary credentials are derived with.
pub struct StsKeys {
    mac_key: Vec<u8>,
    tokens: Sealer,
}

impl StsKeys {
    pub fn new(root_secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(root_secret)
            .expect("HMAC takes any key length");
        mac.update(b"rustfs sts secret keys v1");
        Self {
            mac_key: mac.finalize().into_bytes().to_vec(),
            tokens: Sealer::for_purpose(root_secret, b"sts-tokens v1"),
        }
    }

    /// Whether `access_key` has the form of a temporary key.
    pub fn is_temporary(access_key: &str) -> bool {
        access_key.len() == KEY_LEN
            && access_key.starts_with(PREFIX)
            && access_key.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    /// The secret of temporary key `access_key`.
    pub fn secret_of(&self, access_key: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.mac_key)
            .expect("HMAC takes any key length");
        mac.update(access_key.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut s = base64_simd::STANDARD.encode_to_string(digest);
        s.truncate(40);
        s
    }

    /// New temporary credentials: access key, secret key, session token.
    pub fn mint(&self, claims: &Claims) -> Result<(String, String, String), rustfs_iam::IamError> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut bytes = [0u8; KEY_LEN - PREFIX.len()];
        getrandom::fill(&mut bytes).map_err(|e| rustfs_iam::IamError::Random(e.to_string()))?;
        let ak: String = PREFIX
            .chars()
            .chain(
                bytes
                    .iter()
                    .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char),
            )
            .collect();
        let sk = self.secret_of(&ak);
        let json = serde_json::to_string(claims).unwrap_or_default();
        let token = self.tokens.seal(&ak, &json)?;
        Ok((ak, sk, token))
    }

    /// The claims of `token` presented with `access_key`, at `now_ms`.
    pub fn open(
        &self,
        access_key: &str,
        token: Option<&str>,
        now_ms: i64,
    ) -> Result<Claims, TokenError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(TokenError::Missing)?;
        let json = self
            .tokens
            .open(access_key, token)
            .map_err(|_| TokenError::Invalid)?;
        let claims: Claims = serde_json::from_str(&json).map_err(|_| TokenError::Invalid)?;
        if claims.expires_ms <= now_ms {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires_ms: i64) -> Claims {
        Claims {
            subject: Subject::Role {
                role: "r".into(),
                session: "s".into(),
                by: "AK".into(),
            },
            expires_ms,
            policy: None,
        }
    }

    #[test]
    fn tokens_open_only_with_their_key_and_before_expiry() {
        let keys = StsKeys::new(b"root-secret");
        let (ak, sk, token) = keys.mint(&claims(10_000)).unwrap();
        assert!(StsKeys::is_temporary(&ak));
        assert_eq!(sk, keys.secret_of(&ak));
        assert_eq!(sk.len(), 40);
        assert_eq!(keys.open(&ak, Some(&token), 5_000).unwrap(), claims(10_000));
        assert_eq!(
            keys.open(&ak, Some(&token), 10_000),
            Err(TokenError::Expired)
        );
        assert_eq!(keys.open(&ak, None, 5_000), Err(TokenError::Missing));
        let (other, _, _) = keys.mint(&claims(10_000)).unwrap();
        assert_eq!(
            keys.open(&other, Some(&token), 5_000),
            Err(TokenError::Invalid)
        );
        let mut bad = token.clone();
        bad.replace_range(30..31, if &token[30..31] == "0" { "1" } else { "0" });
        assert_eq!(keys.open(&ak, Some(&bad), 5_000), Err(TokenError::Invalid));
        // Another server secret derives other secrets and opens no token.
        let other_keys = StsKeys::new(b"other-secret");
        assert_ne!(other_keys.secret_of(&ak), sk);
        assert_eq!(
            other_keys.open(&ak, Some(&token), 5_000),
            Err(TokenError::Invalid)
        );
        assert!(!StsKeys::is_temporary("AKIAIOSFODNN7EXAMPLE"));
    }
}
