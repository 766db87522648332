//! Secret keys at rest: AES-256-GCM with a random 96-bit nonce, the access key as associated
//! data (a sealed secret moved to another user's record does not open), under a key derived
//! from the server secret with HKDF-SHA256 (salt `rustfs-iam`, info `secret-keys v1`).
//! The server secret is the root user's secret key (`RUSTFS_SECRET_KEY`), which every node of
//! a cluster shares; changing it makes stored secrets unreadable (`IamError::Sealed`) until
//! they are set again.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::IamError;

/// Seals and opens secret keys.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    pub fn new(server_secret: &[u8]) -> Self {
        Self::for_purpose(server_secret, b"secret-keys v1")
    }

    /// A sealer for another purpose (its own key, HKDF info `purpose`): e.g. STS session
    /// tokens (`sts-tokens v1`), so no sealed value of one purpose opens as another.
    pub fn for_purpose(server_secret: &[u8], purpose: &[u8]) -> Self {
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit (255 * 32): expand cannot fail.
        let _ = Hkdf::<Sha256>::new(Some(b"rustfs-iam"), server_secret).expand(purpose, &mut key);
        Self {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// `nonce || ciphertext+tag`, hex.
    pub fn seal(&self, access_key: &str, secret: &str) -> Result<String, IamError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| IamError::Random(e.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: secret.as_bytes(),
                    aad: access_key.as_bytes(),
                },
            )
            .map_err(|_| IamError::Sealed(access_key.to_string()))?;
        Ok(hex_simd::encode_to_string(
            [&nonce[..], &sealed].concat(),
            hex_simd::AsciiCase::Lower,
        ))
    }

    pub fn open(&self, access_key: &str, sealed: &str) -> Result<String, IamError> {
        let bad = || IamError::Sealed(access_key.to_string());
        let bytes = hex_simd::decode_to_vec(sealed).map_err(|_| bad())?;
        if bytes.len() < 12 + 16 {
            return Err(bad());
        }
        let (nonce, body) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| bad())?;
        let plain = self
            .cipher
            .decrypt(
                (&nonce).into(),
                Payload {
                    msg: body,
                    aad: access_key.as_bytes(),
                },
            )
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_server_secret_and_access_key() {
        let s = Sealer::new(b"root-secret");
        let sealed = s.seal("AK1", "the secret").unwrap();
        assert!(!sealed.contains(&hex_simd::encode_to_string(
            b"the secret",
            hex_simd::AsciiCase::Lower
        )));
        assert_ne!(sealed, s.seal("AK1", "the secret").unwrap(), "fresh nonce");
        assert_eq!(s.open("AK1", &sealed).unwrap(), "the secret");
        assert!(matches!(s.open("AK2", &sealed), Err(IamError::Sealed(_))));
        assert!(matches!(
            Sealer::new(b"other").open("AK1", &sealed),
            Err(IamError::Sealed(_))
        ));
        assert!(matches!(s.open("AK1", "zz"), Err(IamError::Sealed(_))));
        assert!(matches!(
            s.open("AK1", &sealed[..20]),
            Err(IamError::Sealed(_))
        ));
    }
}
