//! Server-side encryption in the object layer: objects are sealed before the erasure coder,
//! so the data layer (and the metadata store, for inline bodies) only ever holds ciphertext.
//! The package format is in [`package`], the key hierarchy in [`keys`]; the model, guarantees
//! and settings are in `docs/encryption.md`.

pub mod keys;
pub mod package;

use rustfs_meta::{Body, BucketEncryption, ObjectEncryption, Segment, SseMode};

pub use keys::{DataKey, Key32};

use crate::{ObjectError, ObjectStore, Result};

/// The built-in KMS: named 32-byte master keys (the first is the default), and the SSE-S3
/// master key.
pub struct Kms {
    keys: Vec<(String, Key32)>,
    s3_master: Key32,
}

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.keys.iter().map(|(n, _)| n.as_str()).collect();
        write!(f, "Kms({names:?})")
    }
}

impl Kms {
    /// The KMS over `keys`; SSE-S3 uses the first key, or without keys one derived from the
    /// root secret with HKDF-SHA256 (salt `rustfs-sse`, info `sse-s3 master v1`).
    pub fn new(keys: Vec<(String, Key32)>, root_secret: &[u8]) -> Self {
        let s3_master = match keys.first() {
            Some((_, k)) => *k,
            None => {
                let mut k = [0u8; 32];
                let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"rustfs-sse");
                // 32 bytes is HKDF-SHA256's own output length: expand and fill cannot fail.
                if let Ok(okm) = salt
                    .extract(root_secret)
                    .expand(&[b"sse-s3 master v1"], ring::hkdf::HKDF_SHA256)
                {
                    let _ = okm.fill(&mut k);
                }
                k
            }
        };
        Self { keys, s3_master }
    }

    /// Parses `NAME:BASE64[,NAME:BASE64...]` (each key 32 bytes; MinIO's
    /// `MINIO_KMS_SECRET_KEY` is the one-key form).
    pub fn parse_keys(spec: &str) -> std::result::Result<Vec<(String, Key32)>, String> {
        let mut out: Vec<(String, Key32)> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, b64) = entry
                .split_once(':')
                .ok_or_else(|| format!("KMS key `{entry}` is not NAME:BASE64"))?;
            let name = name.trim();
            if name.is_empty() || out.iter().any(|(n, _)| n == name) {
                return Err(format!("KMS key name `{name}` is empty or repeated"));
            }
            let raw = base64_simd::STANDARD
                .decode_to_vec(b64.trim())
                .map_err(|_| format!("KMS key `{name}` is not base64"))?;
            let key = Key32::try_from(raw.as_slice())
                .map_err(|_| format!("KMS key `{name}` is not 32 bytes"))?;
            out.push((name.to_string(), key));
        }
        Ok(out)
    }

    /// The default KMS key's name (the first configured).
    pub fn default_key_id(&self) -> Option<&str> {
        self.keys.first().map(|(n, _)| n.as_str())
    }

    /// Whether a KMS key of that name exists.
    pub fn has_key(&self, id: &str) -> bool {
        self.key(id).is_some()
    }

    fn key(&self, id: &str) -> Option<&Key32> {
        let id = id.strip_prefix("arn:aws:kms:").map_or(id, |arn| {
            arn.rsplit_once("key/").map_or(arn, |(_, name)| name)
        });
        self.keys.iter().find(|(n, _)| n == id).map(|(_, k)| k)
    }
}

/// A customer-provided key (SSE-C), checked against its MD5 by the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerKey {
    pub key: Key32,
    /// Base64 MD5 of the key, echoed in answers.
    pub key_md5: String,
}

impl std::fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CustomerKey(md5 {})", self.key_md5)
    }
}

/// The encryption a write asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseRequest {
    /// SSE-S3 (`AES256`).
    S3,
    /// SSE-KMS: a key id (`None`: the default key) and an encryption context (JSON).
    Kms {
        key_id: Option<String>,
        context: Option<String>,
    },
    /// SSE-C.
    Customer(CustomerKey),
}

impl SseRequest {
    /// A bucket's default encryption as a request.
    pub fn from_default(d: &BucketEncryption) -> Self {
        match d.mode {
            SseMode::Kms => SseRequest::Kms {
                key_id: d.kms_key_id.clone(),
                context: None,
            },
            _ => SseRequest::S3,
        }
    }
}

/// The id that keys a segment's sealing (unique per write).
pub(crate) fn body_id(seg: &Segment) -> &str {
    match &seg.body {
        Body::Inline(id) => id,
        Body::Stored(r) => &r.id,
    }
}

fn no_kms() -> ObjectError {
    ObjectError::InvalidRequest("server-side encryption is not configured on this server".into())
}

impl ObjectStore {
    /// Sets the KMS (once; later calls are ignored). Without it every SSE request fails.
    pub fn set_kms(&self, kms: Kms) {
        let _ = self.kms.set(kms);
    }

    /// The KMS, if set.
    pub fn kms(&self) -> Option<&Kms> {
        self.kms.get()
    }

    /// Checks that a KMS key exists (for PutBucketEncryption and SSE-KMS requests).
    pub fn check_kms_key(&self, id: &str) -> Result<()> {
        let kms = self.kms.get().ok_or_else(no_kms)?;
        if kms.has_key(id) {
            Ok(())
        } else {
            Err(ObjectError::KmsKeyNotFound(id.to_string()))
        }
    }

    /// A fresh sealed data key for a new object (or upload) of `bucket`/`key`.
    pub(crate) fn seal_new(
        &self,
        req: &SseRequest,
        bucket: &str,
        key: &str,
    ) -> Result<(ObjectEncryption, DataKey)> {
        let kms = self.kms.get().ok_or_else(no_kms)?;
        let made = match req {
            SseRequest::S3 => {
                keys::new_sealed(&kms.s3_master, SseMode::S3, None, None, bucket, key)
            }
            SseRequest::Kms { key_id, context } => {
                let id = match key_id {
                    Some(id) => id.clone(),
                    None => kms
                        .default_key_id()
                        .ok_or_else(|| ObjectError::KmsKeyNotFound(String::new()))?
                        .to_string(),
                };
                let master = kms
                    .key(&id)
                    .ok_or_else(|| ObjectError::KmsKeyNotFound(id.clone()))?;
                keys::new_sealed(master, SseMode::Kms, Some(id), context.clone(), bucket, key)
            }
            SseRequest::Customer(c) => {
                keys::new_sealed(&c.key, SseMode::Customer, None, None, bucket, key)
            }
        };
        made.map_err(|_| ObjectError::Task("the system random generator failed".into()))
    }

    /// Checks the SSE-C key given with a read of `rec` (needed exactly for SSE-C objects).
    pub fn check_read_key(
        &self,
        rec: &rustfs_meta::ObjectRecord,
        bucket: &str,
        key: &str,
        customer: Option<&CustomerKey>,
    ) -> Result<()> {
        self.open_data_key(rec.encryption.as_ref(), bucket, key, customer)
            .map(|_| ())
    }

    /// Checks the SSE-C key of a read (or part upload) against a record's encryption and
    /// unseals its data key: a customer key must be given exactly for SSE-C objects.
    pub(crate) fn open_data_key(
        &self,
        enc: Option<&ObjectEncryption>,
        bucket: &str,
        key: &str,
        customer: Option<&CustomerKey>,
    ) -> Result<Option<DataKey>> {
        let Some(enc) = enc else {
            if customer.is_some() {
                return Err(ObjectError::InvalidRequest(
                    "The encryption parameters are not applicable to this object.".into(),
                ));
            }
            return Ok(None);
        };
        let master = match (enc.mode, customer) {
            (SseMode::Customer, None) => {
                return Err(ObjectError::InvalidRequest(
                    "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.".into(),
                ));
            }
            (SseMode::Customer, Some(c)) => {
                if !keys::customer_key_matches(enc, &c.key) {
                    return Err(ObjectError::SseCustomerKeyMismatch);
                }
                c.key
            }
            (_, Some(_)) => {
                return Err(ObjectError::InvalidRequest(
                    "The encryption parameters are not applicable to this object.".into(),
                ));
            }
            (SseMode::S3, None) => self.kms.get().ok_or_else(no_kms)?.s3_master,
            (SseMode::Kms, None) => {
                let id = enc.kms_key_id.as_deref().unwrap_or("");
                *self
                    .kms
                    .get()
                    .ok_or_else(no_kms)?
                    .key(id)
                    .ok_or_else(|| ObjectError::KmsKeyNotFound(id.to_string()))?
            }
        };
        keys::unseal(&master, enc, bucket, key)
            .map(Some)
            .ok_or(match enc.mode {
                SseMode::Customer => ObjectError::SseCustomerKeyMismatch,
                // A managed key that no longer opens its object: the master key changed.
                _ => ObjectError::SealedKeyUnreadable,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_keys_parse_and_the_first_is_the_default() {
        let k1 = base64_simd::STANDARD.encode_to_string([1u8; 32]);
        let k2 = base64_simd::STANDARD.encode_to_string([2u8; 32]);
        let keys = Kms::parse_keys(&format!("a:{k1}, b:{k2}")).unwrap();
        assert_eq!(keys.len(), 2);
        let kms = Kms::new(keys, b"root");
        assert_eq!(kms.default_key_id(), Some("a"));
        assert!(kms.has_key("b") && !kms.has_key("c"));
        assert!(kms.has_key("arn:aws:kms:us-east-1:1234:key/b"));
        // SSE-S3 uses the default key when there is one, else one derived from the root.
        assert_eq!(kms.s3_master, [1u8; 32]);
        let derived = Kms::new(Vec::new(), b"root").s3_master;
        assert_ne!(derived, [0u8; 32]);
        assert_eq!(derived, Kms::new(Vec::new(), b"root").s3_master);
        assert_ne!(derived, Kms::new(Vec::new(), b"other").s3_master);
        for bad in [
            "a",
            "a:!!",
            "a:AAAA",
            &format!("a:{k1},a:{k2}"),
            &format!(":{k1}"),
        ] {
            assert!(Kms::parse_keys(bad).is_err(), "{bad}");
        }
        assert!(Kms::parse_keys("").unwrap().is_empty());
    }
}
