//! Size limits S3 enforces on a request's headers (the body's limit is the object layer's,
//! `rustfs_object::ingest::MAX_BODY_SIZE`).

use crate::api_error::ApiError;
use s3s::S3Result;
use s3s::dto::Metadata;

/// Most bytes of user-defined metadata an object may carry: the sum of the UTF-8 lengths of
/// every key (the name after `x-amz-meta-`) and value, as S3 measures it.
pub const MAX_USER_METADATA: usize = 2048;

/// `400 MetadataTooLarge` when the user metadata is larger than [`MAX_USER_METADATA`].
pub(crate) fn user_metadata(meta: Option<&Metadata>) -> S3Result<()> {
    let size = meta.map_or(0, |m| {
        m.iter()
            .map(|(k, v)| k.len().saturating_add(v.len()))
            .fold(0usize, usize::saturating_add)
    });
    if size > MAX_USER_METADATA {
        return Err(ApiError::MetadataTooLarge {
            size,
            max: MAX_USER_METADATA,
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_measured_as_keys_plus_values() {
        let mut m = Metadata::new();
        assert!(user_metadata(None).is_ok());
        m.insert("k".into(), "v".repeat(MAX_USER_METADATA - 1));
        assert!(user_metadata(Some(&m)).is_ok(), "exactly 2 KB");
        m.insert("x".into(), String::new());
        let err = user_metadata(Some(&m)).unwrap_err();
        assert_eq!(err.code().as_str(), "MetadataTooLarge");
        assert_eq!(err.status_code().map(|s| s.as_u16()), Some(400));
    }
}
