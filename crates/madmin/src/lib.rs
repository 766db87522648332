//! The encrypted bodies of MinIO's admin API (madmin): what `mc admin` and
//! `minio.minioadmin.MinioAdmin` send for secrets (a new user's secret key, a service account's
//! credentials, policy attachments) and expect back for lists of them.
//!
//! ```text
//! body = salt[32] || scheme[1] || nonce_prefix[8] || fragments
//! key  = scheme 0, 1: Argon2id(password, salt, t=1, m=64 MiB, p=4) -> 32 bytes
//!        scheme 2:    PBKDF2-HMAC-SHA256(password, salt, 8,192 rounds) -> 32 bytes
//! AEAD = scheme 0, 2: AES-256-GCM; scheme 1: ChaCha20-Poly1305
//! ```
//!
//! The password is the secret key of whoever signed the request. The plaintext is cut into
//! 16 KiB fragments, each sealed with nonce `nonce_prefix || LE32(seq)` (`seq` from 1) and
//! associated data `flag || tag0`, where `flag` is `0x80` on the final fragment and `0x00`
//! before, and `tag0` is the tag of sealing nothing with nonce `nonce_prefix || LE32(0)`. So a
//! fragment cannot be moved, dropped, or the stream cut or extended, without failing
//! authentication. A final fragment is always written (a bare tag for an empty plaintext); a
//! body with no fragment at all, as minio-py writes for an empty plaintext, reads as empty.
//!
//! Deriving an Argon2id key costs 64 MiB and tens of milliseconds: callers on an async runtime
//! run [`encrypt`] and [`decrypt`] on a blocking thread. Bodies are refused above
//! [`MAX_BODY`], MinIO's cap.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;

/// The largest encrypted body accepted (MinIO's cap).
pub const MAX_BODY: usize = 262_272;

const SALT_LEN: usize = 32;
const PREFIX_LEN: usize = 8;
const HEADER_LEN: usize = SALT_LEN + 1 + PREFIX_LEN;
const FRAGMENT: usize = 16 * 1024;
const TAG_LEN: usize = 16;
const PBKDF2_ROUNDS: u32 = 8192;

/// Key derivation and AEAD of a body, by its one-byte id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// 0: Argon2id, AES-256-GCM (clients on CPUs with AES instructions).
    Argon2idAesGcm,
    /// 1: Argon2id, ChaCha20-Poly1305 (clients without them).
    Argon2idChaCha20Poly1305,
    /// 2: PBKDF2-HMAC-SHA256, AES-256-GCM (FIPS builds).
    Pbkdf2AesGcm,
}

impl Scheme {
    pub fn id(self) -> u8 {
        match self {
            Scheme::Argon2idAesGcm => 0,
            Scheme::Argon2idChaCha20Poly1305 => 1,
            Scheme::Pbkdf2AesGcm => 2,
        }
    }

    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(Scheme::Argon2idAesGcm),
            1 => Some(Scheme::Argon2idChaCha20Poly1305),
            2 => Some(Scheme::Pbkdf2AesGcm),
            _ => None,
        }
    }
}

/// Why a body could not be read (or made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MadminError {
    #[error("encrypted body too short ({0} bytes)")]
    TooShort(usize),
    #[error("encrypted body too large ({0} bytes; at most {MAX_BODY})")]
    TooLarge(usize),
    #[error("unknown encryption scheme {0}")]
    UnknownScheme(u8),
    /// A wrong password, or a body changed, reordered, cut or extended.
    #[error("encrypted body does not authenticate (wrong secret key, or a changed body)")]
    Authentication,
    #[error("key derivation failed: {0}")]
    KeyDerivation(String),
    #[error("no randomness: {0}")]
    Random(String),
}

enum Cipher {
    Gcm(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Cipher {
    fn new(scheme: Scheme, key: &[u8; 32]) -> Self {
        match scheme {
            Scheme::Argon2idAesGcm | Scheme::Pbkdf2AesGcm => {
                Cipher::Gcm(Box::new(Aes256Gcm::new(key.into())))
            }
            Scheme::Argon2idChaCha20Poly1305 => {
                Cipher::ChaCha(Box::new(ChaCha20Poly1305::new(key.into())))
            }
        }
    }

    fn seal(&self, nonce: &[u8; 12], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, MadminError> {
        let p = Payload { msg, aad };
        match self {
            Cipher::Gcm(c) => c.encrypt(nonce.into(), p),
            Cipher::ChaCha(c) => c.encrypt(nonce.into(), p),
        }
        .map_err(|_| MadminError::Authentication)
    }

    fn open(&self, nonce: &[u8; 12], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, MadminError> {
        let p = Payload { msg: sealed, aad };
        match self {
            Cipher::Gcm(c) => c.decrypt(nonce.into(), p),
            Cipher::ChaCha(c) => c.decrypt(nonce.into(), p),
        }
        .map_err(|_| MadminError::Authentication)
    }
}

fn derive_key(scheme: Scheme, password: &[u8], salt: &[u8]) -> Result<[u8; 32], MadminError> {
    let mut key = [0u8; 32];
    match scheme {
        Scheme::Argon2idAesGcm | Scheme::Argon2idChaCha20Poly1305 => {
            let params = argon2::Params::new(64 * 1024, 1, 4, Some(32))
                .map_err(|e| MadminError::KeyDerivation(e.to_string()))?;
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(password, salt, &mut key)
                .map_err(|e| MadminError::KeyDerivation(e.to_string()))?;
        }
        Scheme::Pbkdf2AesGcm => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, PBKDF2_ROUNDS, &mut key);
        }
    }
    Ok(key)
}

fn nonce(prefix: &[u8; PREFIX_LEN], seq: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..PREFIX_LEN].copy_from_slice(prefix);
    n[PREFIX_LEN..].copy_from_slice(&seq.to_le_bytes());
    n
}

/// `flag || tag0` for the final (`0x80`) or an earlier (`0x00`) fragment.
fn associated_data(cipher: &Cipher, prefix: &[u8; PREFIX_LEN]) -> Result<[u8; 17], MadminError> {
    let tag0 = cipher.seal(&nonce(prefix, 0), &[], &[])?;
    let mut ad = [0u8; 17];
    ad[1..].copy_from_slice(&tag0);
    Ok(ad)
}

/// Seals `plaintext` with a fresh random salt and nonce prefix.
pub fn encrypt(password: &[u8], plaintext: &[u8], scheme: Scheme) -> Result<Vec<u8>, MadminError> {
    let mut salt = [0u8; SALT_LEN];
    let mut prefix = [0u8; PREFIX_LEN];
    getrandom::fill(&mut salt).map_err(|e| MadminError::Random(e.to_string()))?;
    getrandom::fill(&mut prefix).map_err(|e| MadminError::Random(e.to_string()))?;
    encrypt_with(password, plaintext, scheme, &salt, &prefix)
}

/// [`encrypt`] with a given salt and nonce prefix (for test vectors: never reuse them).
pub fn encrypt_with(
    password: &[u8],
    plaintext: &[u8],
    scheme: Scheme,
    salt: &[u8; SALT_LEN],
    prefix: &[u8; PREFIX_LEN],
) -> Result<Vec<u8>, MadminError> {
    let key = derive_key(scheme, password, salt)?;
    let cipher = Cipher::new(scheme, &key);
    let mut ad = associated_data(&cipher, prefix)?;
    let fragments = plaintext.len().div_ceil(FRAGMENT).max(1);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + fragments * TAG_LEN);
    out.extend_from_slice(salt);
    out.push(scheme.id());
    out.extend_from_slice(prefix);
    for i in 0..fragments {
        let part = &plaintext[i * FRAGMENT..plaintext.len().min((i + 1) * FRAGMENT)];
        if i + 1 == fragments {
            ad[0] = 0x80;
        }
        out.extend(cipher.seal(&nonce(prefix, i as u32 + 1), &ad, part)?);
    }
    Ok(out)
}

/// Opens a body: the plaintext and the scheme it used (answer in the same one).
pub fn decrypt(password: &[u8], body: &[u8]) -> Result<(Vec<u8>, Scheme), MadminError> {
    if body.len() > MAX_BODY {
        return Err(MadminError::TooLarge(body.len()));
    }
    if body.len() < HEADER_LEN {
        return Err(MadminError::TooShort(body.len()));
    }
    let (salt, rest) = body.split_at(SALT_LEN);
    let scheme = Scheme::from_id(rest[0]).ok_or(MadminError::UnknownScheme(rest[0]))?;
    let mut prefix = [0u8; PREFIX_LEN];
    prefix.copy_from_slice(&rest[1..1 + PREFIX_LEN]);
    let mut stream = &rest[1 + PREFIX_LEN..];
    if stream.is_empty() {
        // minio-py seals an empty plaintext as no fragment at all.
        return Ok((Vec::new(), scheme));
    }
    if stream.len() < TAG_LEN {
        return Err(MadminError::TooShort(body.len()));
    }
    let key = derive_key(scheme, password, salt)?;
    let cipher = Cipher::new(scheme, &key);
    let mut ad = associated_data(&cipher, &prefix)?;
    let mut out = Vec::with_capacity(stream.len());
    let mut seq: u32 = 1;
    while !stream.is_empty() {
        let take = if stream.len() > FRAGMENT + TAG_LEN {
            FRAGMENT + TAG_LEN
        } else {
            ad[0] = 0x80;
            stream.len()
        };
        let (sealed, next) = stream.split_at(take);
        out.extend(cipher.open(&nonce(&prefix, seq), &ad, sealed)?);
        stream = next;
        seq += 1;
    }
    Ok((out, scheme))
}
