//! The key hierarchy (see `docs/encryption.md`):
//!
//! - master keys: the built-in KMS's named 32-byte keys (`RUSTFS_KMS_SECRET_KEYS`), the SSE-S3
//!   master key (the KMS's default key when one is configured, else HKDF-SHA256 of the root
//!   secret), or an SSE-C customer's key;
//! - a sealing key per object (or multipart upload): HMAC-SHA256 of the master key over the
//!   mode, a random 32-byte salt, the bucket, the key and (SSE-KMS) the encryption context;
//! - the object's random 32-byte data key, stored only sealed (AES-256-GCM) under it;
//! - a segment key per segment (the body of a PUT, or a part): HMAC-SHA256 of the data key over
//!   the segment's body id (unique per write), so no two segments share a key and nonce.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use rustfs_meta::{ObjectEncryption, SseMode};

use super::package::SegmentKey;

/// A 32-byte key.
pub type Key32 = [u8; 32];

/// An object's data key, in memory only.
#[derive(Clone)]
pub struct DataKey(Key32);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    /// The key of the segment whose body has id `body_id`.
    pub fn segment_key(&self, body_id: &str) -> SegmentKey {
        let k = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut c = hmac::Context::with_key(&k);
        c.update(b"rustfs-sse-segment-v1\0");
        c.update(body_id.as_bytes());
        SegmentKey::new(&to32(c.sign().as_ref()))
    }
}

fn to32(b: &[u8]) -> Key32 {
    let mut k = [0u8; 32];
    k.copy_from_slice(&b[..32]);
    k
}

pub(crate) fn random32() -> Result<Key32, ring::error::Unspecified> {
    let mut k = [0u8; 32];
    SystemRandom::new().fill(&mut k)?;
    Ok(k)
}

fn mode_tag(m: SseMode) -> &'static [u8] {
    match m {
        SseMode::S3 => b"SSE-S3",
        SseMode::Kms => b"SSE-KMS",
        SseMode::Customer => b"SSE-C",
    }
}

/// The key that seals (or unseals) one object's data key.
fn sealing_key(master: &Key32, enc: &ObjectEncryption, bucket: &str, key: &str) -> LessSafeKey {
    let m = hmac::Key::new(hmac::HMAC_SHA256, master);
    let mut c = hmac::Context::with_key(&m);
    c.update(b"rustfs-sse-kek-v1\0");
    for part in [
        mode_tag(enc.mode),
        &enc.iv,
        bucket.as_bytes(),
        key.as_bytes(),
        enc.context.as_deref().unwrap_or("").as_bytes(),
    ] {
        c.update(&(part.len() as u64).to_be_bytes());
        c.update(part);
    }
    let kek = to32(c.sign().as_ref());
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &kek).expect("32-byte AES-256 key"))
}

const SEAL_AAD: &[u8] = b"rustfs-sse-data-key-v1";

/// The check value of an SSE-C key: HMAC-SHA256 keyed by the customer key over the salt.
fn key_check(customer: &Key32, iv: &[u8]) -> hmac::Tag {
    let k = hmac::Key::new(hmac::HMAC_SHA256, customer);
    let mut c = hmac::Context::with_key(&k);
    c.update(b"rustfs-sse-c-check-v1\0");
    c.update(iv);
    c.sign()
}

/// A fresh data key, sealed under `master` for `bucket`/`key`: the record to keep and the key.
pub(crate) fn new_sealed(
    master: &Key32,
    mode: SseMode,
    kms_key_id: Option<String>,
    context: Option<String>,
    bucket: &str,
    key: &str,
) -> Result<(ObjectEncryption, DataKey), ring::error::Unspecified> {
    let data_key = random32()?;
    let mut enc = ObjectEncryption {
        mode,
        kms_key_id,
        context,
        iv: random32()?.to_vec(),
        sealed_key: Vec::new(),
        key_check: Vec::new(),
    };
    if mode == SseMode::Customer {
        enc.key_check = key_check(master, &enc.iv).as_ref().to_vec();
    }
    let mut sealed = data_key.to_vec();
    // Each sealing key seals one data key once: the all-zero nonce is unique for it.
    let tag = sealing_key(master, &enc, bucket, key).seal_in_place_separate_tag(
        Nonce::assume_unique_for_key([0; 12]),
        Aad::from(SEAL_AAD),
        &mut sealed,
    )?;
    sealed.extend_from_slice(tag.as_ref());
    enc.sealed_key = sealed;
    Ok((enc, DataKey(data_key)))
}

/// Whether `customer` is the SSE-C key `enc` was sealed with (constant time).
pub(crate) fn customer_key_matches(enc: &ObjectEncryption, customer: &Key32) -> bool {
    let k = hmac::Key::new(hmac::HMAC_SHA256, customer);
    let mut msg = b"rustfs-sse-c-check-v1\0".to_vec();
    msg.extend_from_slice(&enc.iv);
    hmac::verify(&k, &msg, &enc.key_check).is_ok()
}

/// Unseals an object's data key; `None` when `master` is not the key it was sealed with or the
/// record was changed or moved.
pub(crate) fn unseal(
    master: &Key32,
    enc: &ObjectEncryption,
    bucket: &str,
    key: &str,
) -> Option<DataKey> {
    let mut buf = enc.sealed_key.clone();
    let plain = sealing_key(master, enc, bucket, key)
        .open_in_place(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::from(SEAL_AAD),
            &mut buf,
        )
        .ok()?;
    (plain.len() == 32).then(|| DataKey(to32(plain)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_unseal_only_with_their_master_bucket_key_and_context() {
        let m = [7u8; 32];
        let (enc, dk) = new_sealed(
            &m,
            SseMode::Kms,
            Some("k1".into()),
            Some("{\"a\":\"b\"}".into()),
            "b",
            "k",
        )
        .unwrap();
        assert_eq!(enc.sealed_key.len(), 48);
        assert_ne!(&enc.sealed_key[..32], &dk.0[..]);
        assert_eq!(unseal(&m, &enc, "b", "k").unwrap().0, dk.0);
        assert!(unseal(&[8u8; 32], &enc, "b", "k").is_none());
        assert!(unseal(&m, &enc, "b", "k2").is_none());
        assert!(unseal(&m, &enc, "b2", "k").is_none());
        let mut other_ctx = enc.clone();
        other_ctx.context = Some("{}".into());
        assert!(unseal(&m, &other_ctx, "b", "k").is_none());
        let mut as_s3 = enc.clone();
        as_s3.mode = SseMode::S3;
        assert!(unseal(&m, &as_s3, "b", "k").is_none());
    }

    #[test]
    fn customer_keys_are_checked_without_being_stored() {
        let c = [3u8; 32];
        let (enc, _) = new_sealed(&c, SseMode::Customer, None, None, "b", "k").unwrap();
        assert!(customer_key_matches(&enc, &c));
        assert!(!customer_key_matches(&enc, &[4u8; 32]));
        let rec = rustfs_meta::encode(&enc);
        assert!(!rec.windows(32).any(|w| w == c));
    }
}
