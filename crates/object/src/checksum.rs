//! Checksums S3 defines (CRC32, CRC32C, CRC64NVME, SHA1, SHA256): streaming hashers, base64
//! encoding as S3 transmits them, and the multipart forms (composite and full-object).

use md5::Digest as _;
use rustfs_meta::{ChecksumAlgorithm, ChecksumType};

use crate::ObjectError;

/// A running checksum in one algorithm.
#[derive(Clone)]
pub enum Hasher {
    Crc(ChecksumAlgorithm, crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

fn crc_algorithm(a: ChecksumAlgorithm) -> Option<crc_fast::CrcAlgorithm> {
    match a {
        ChecksumAlgorithm::Crc32 => Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
        ChecksumAlgorithm::Crc32c => Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
        ChecksumAlgorithm::Crc64Nvme => Some(crc_fast::CrcAlgorithm::Crc64Nvme),
        ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => None,
    }
}

/// Raw digest width in bytes.
fn width(a: ChecksumAlgorithm) -> usize {
    match a {
        ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
        ChecksumAlgorithm::Crc64Nvme => 8,
        ChecksumAlgorithm::Sha1 => 20,
        ChecksumAlgorithm::Sha256 => 32,
    }
}

fn crc_bytes(a: ChecksumAlgorithm, v: u64) -> Vec<u8> {
    if width(a) == 4 {
        (v as u32).to_be_bytes().to_vec()
    } else {
        v.to_be_bytes().to_vec()
    }
}

impl Hasher {
    pub fn new(a: ChecksumAlgorithm) -> Self {
        match (a, crc_algorithm(a)) {
            (_, Some(c)) => Hasher::Crc(a, crc_fast::Digest::new(c)),
            (ChecksumAlgorithm::Sha1, None) => Hasher::Sha1(sha1::Sha1::new()),
            _ => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc(_, d) => d.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// Raw digest bytes (big-endian for CRCs, as S3 encodes them).
    pub fn finalize(self) -> Vec<u8> {
        match self {
            Hasher::Crc(a, d) => crc_bytes(a, d.finalize()),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

pub fn b64(raw: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(raw)
}

/// Decodes a base64 checksum value and checks its width, e.g. from `x-amz-checksum-crc32`.
pub fn decode_value(a: ChecksumAlgorithm, value: &str) -> Result<Vec<u8>, ObjectError> {
    let raw = base64_simd::STANDARD
        .decode_to_vec(value.trim())
        .map_err(|_| {
            ObjectError::InvalidChecksum(format!("value for {} is not valid base64", a.as_str()))
        })?;
    if raw.len() != width(a) {
        return Err(ObjectError::InvalidChecksum(format!(
            "value for {} has the wrong length",
            a.as_str()
        )));
    }
    Ok(raw)
}

/// Checksum of a whole body in one call.
pub fn compute(a: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(a);
    h.update(data);
    h.finalize()
}

/// The multipart checksum from the parts' raw checksums and sizes, as S3 defines it:
/// composite = checksum of the concatenated part checksums; full object = the CRC of the whole
/// body, combined from the part CRCs without reading the data again.
pub fn combine_parts(
    a: ChecksumAlgorithm,
    kind: ChecksumType,
    parts: &[(Vec<u8>, u64)],
) -> Result<Vec<u8>, ObjectError> {
    match kind {
        ChecksumType::Composite => {
            let mut h = Hasher::new(a);
            for (raw, _) in parts {
                h.update(raw);
            }
            Ok(h.finalize())
        }
        ChecksumType::FullObject => {
            let c = crc_algorithm(a).ok_or_else(|| {
                ObjectError::InvalidRequest(format!(
                    "the FULL_OBJECT checksum type is not supported for {}",
                    a.as_str()
                ))
            })?;
            let mut acc: Option<u64> = None;
            for (raw, len) in parts {
                let mut buf = [0u8; 8];
                buf[8 - raw.len()..].copy_from_slice(raw);
                let v = u64::from_be_bytes(buf);
                acc = Some(match acc {
                    None => v,
                    Some(prev) => crc_fast::checksum_combine(c, prev, v, *len),
                });
            }
            Ok(crc_bytes(
                a,
                acc.unwrap_or_else(|| crc_fast::checksum(c, b"")),
            ))
        }
    }
}

/// MD5 of a body, hex, as an ETag.
pub fn md5_hex(raw: &[u8]) -> String {
    hex_simd::encode_to_string(raw, hex_simd::AsciiCase::Lower)
}

/// Multipart ETag: MD5 of the concatenated binary part MD5s, then `-N`.
pub fn multipart_etag(part_md5_hex: &[&str]) -> Result<String, ObjectError> {
    let mut h = md5::Md5::new();
    for e in part_md5_hex {
        let raw = hex_simd::decode_to_vec(e.as_bytes())
            .map_err(|_| ObjectError::InvalidPart(format!("bad stored etag {e}")))?;
        h.update(&raw);
    }
    Ok(format!("{}-{}", md5_hex(&h.finalize()), part_md5_hex.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &[u8] = b"Hello RustFS!";

    #[test]
    fn known_vectors() {
        // The CRC catalogue check values (input "123456789") and hashlib digests.
        let cases = [
            (ChecksumAlgorithm::Crc32, "123456789", "y/Q5Jg=="),
            (ChecksumAlgorithm::Crc32c, "123456789", "4waSgw=="),
            (ChecksumAlgorithm::Crc64Nvme, "123456789", "rosUhgp5mIg="), // check value 0xAE8B14860A799888
            (
                ChecksumAlgorithm::Sha1,
                "abc",
                "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
            ),
            (
                ChecksumAlgorithm::Sha256,
                "abc",
                "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            ),
        ];
        for (a, input, want) in cases {
            assert_eq!(b64(&compute(a, input.as_bytes())), want, "{a:?}");
        }
    }

    #[test]
    fn full_object_combine_equals_whole_body_crc() {
        for a in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            let (x, y) = DATA.split_at(5);
            let parts = [
                (compute(a, x), x.len() as u64),
                (compute(a, y), y.len() as u64),
            ];
            let combined = combine_parts(a, ChecksumType::FullObject, &parts).unwrap();
            assert_eq!(combined, compute(a, DATA), "{a:?}");
        }
        assert!(combine_parts(ChecksumAlgorithm::Sha256, ChecksumType::FullObject, &[]).is_err());
    }

    #[test]
    fn composite_is_checksum_of_checksums() {
        let a = ChecksumAlgorithm::Sha256;
        let p1 = compute(a, b"one");
        let p2 = compute(a, b"two");
        let mut cat = p1.clone();
        cat.extend_from_slice(&p2);
        let got = combine_parts(a, ChecksumType::Composite, &[(p1, 3), (p2, 3)]).unwrap();
        assert_eq!(got, compute(a, &cat));
    }

    #[test]
    fn decode_checks_width_and_base64() {
        assert!(decode_value(ChecksumAlgorithm::Crc32, "y/Q5Jg==").is_ok());
        assert!(decode_value(ChecksumAlgorithm::Crc32, "rosUhgp5mIg=").is_err());
        assert!(decode_value(ChecksumAlgorithm::Crc32, "!!!").is_err());
    }

    #[test]
    fn multipart_etag_matches_s3() {
        // md5("a") and md5("b"); S3's ETag is md5(raw1 || raw2) + "-2".
        let e = multipart_etag(&[
            "0cc175b9c0f1b6a831c399e269772661",
            "92eb5ffee6ae2fec3ad71c777531578f",
        ])
        .unwrap();
        let mut raw = hex_simd::decode_to_vec(b"0cc175b9c0f1b6a831c399e269772661").unwrap();
        raw.extend(hex_simd::decode_to_vec(b"92eb5ffee6ae2fec3ad71c777531578f").unwrap());
        assert_eq!(e, format!("{}-2", md5_hex(&md5::Md5::digest(&raw))));
    }
}
