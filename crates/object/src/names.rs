//! Bucket naming rules and object key limits.

use crate::ObjectError;

/// Names no bucket may take: the first segment of the admin API paths (`/rustfs/admin/...`,
/// `/minio/admin/...`), which would hide part of such a bucket's key space. MinIO refuses
/// `minio` the same way.
pub const RESERVED_BUCKETS: [&str; 2] = ["rustfs", "minio"];

/// S3's general-purpose bucket naming rules, and the [`RESERVED_BUCKETS`].
pub fn validate_bucket(name: &str) -> Result<(), ObjectError> {
    let bad = |why: &str| Err(ObjectError::InvalidBucketName(format!("{name:?}: {why}")));
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("only lower-case letters, digits, '.' and '-' are allowed");
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge_ok(name.as_bytes()[0]) || !edge_ok(name.as_bytes()[name.len() - 1]) {
        return bad("must begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("no adjacent periods or period-hyphen pairs");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not be formatted as an IP address");
    }
    for p in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(p) {
            return bad("reserved prefix");
        }
    }
    for s in ["-s3alias", "--ol-s3", "--x-s3", ".mrap"] {
        if name.ends_with(s) {
            return bad("reserved suffix");
        }
    }
    if RESERVED_BUCKETS.contains(&name) {
        return bad("reserved for the server's own use");
    }
    Ok(())
}

/// Object keys: 1 to 1024 bytes of UTF-8, no NUL (it cannot be represented in listing XML, and
/// keeps composite metadata keys unambiguous). Keys are never used as paths.
pub fn validate_key(key: &str) -> Result<(), ObjectError> {
    if key.is_empty() {
        return Err(ObjectError::InvalidKey("the key is empty".into()));
    }
    if key.len() > 1024 {
        return Err(ObjectError::KeyTooLong);
    }
    if key.contains('\0') {
        return Err(ObjectError::InvalidKey(
            "the key contains a NUL character".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rules() {
        for ok in [
            "abc",
            "my-bucket",
            "a.b.c",
            "0bucket9",
            &"a".repeat(63),
            "rustfs-data",
            "minio2",
        ] {
            assert!(validate_bucket(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "AB",
            "-abc",
            "abc-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--abc",
            "a_b",
            &"a".repeat(64),
            "abc-s3alias",
            "rustfs",
            "minio",
        ] {
            assert!(validate_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_rules() {
        assert!(
            validate_key("../../etc/passwd").is_ok(),
            "keys are bytes, not paths"
        );
        assert!(validate_key(&"k".repeat(1024)).is_ok());
        assert!(matches!(
            validate_key(&"k".repeat(1025)),
            Err(ObjectError::KeyTooLong)
        ));
        assert!(validate_key("a\0b").is_err());
        assert!(validate_key("").is_err());
    }
}
