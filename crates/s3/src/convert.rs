//! Conversions between s3s DTOs and object-layer types.

use crate::api_error::ApiError;
use http::HeaderMap;
use rustfs_object::{
    ByteRange, ChecksumAlgorithm, ChecksumRequest, ChecksumType, ChecksumValue, EtagMatch,
    ExpectedChecksum, ObjectMeta, ReadConditions,
};
use s3s::dto::{self, ETag, ETagCondition, Metadata, Timestamp, TimestampFormat};
use s3s::{S3Error, S3Result};

pub(crate) fn timestamp(ms: i64) -> Timestamp {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Timestamp::from(t)
}

fn unix_secs(t: &Timestamp) -> i64 {
    time::OffsetDateTime::from(t.clone()).unix_timestamp()
}

pub(crate) fn etag(s: &str) -> ETag {
    ETag::Strong(s.to_string())
}

fn etag_match(c: &ETagCondition) -> EtagMatch {
    match c {
        ETagCondition::Any => EtagMatch::Any,
        ETagCondition::ETag(e) => EtagMatch::Tags(vec![e.value().to_string()]),
    }
}

pub(crate) fn etag_match_opt(c: Option<&ETagCondition>) -> Option<EtagMatch> {
    c.map(etag_match)
}

pub(crate) fn read_conditions(
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> ReadConditions {
    ReadConditions {
        if_match: etag_match_opt(if_match),
        if_none_match: etag_match_opt(if_none_match),
        if_modified_since: if_modified_since.map(unix_secs),
        if_unmodified_since: if_unmodified_since.map(unix_secs),
    }
}

pub(crate) fn http_date(t: &Timestamp) -> Option<String> {
    let mut buf = Vec::new();
    t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    String::from_utf8(buf).ok()
}

pub(crate) fn parse_http_date(s: &str) -> Option<Timestamp> {
    Timestamp::parse(TimestampFormat::HttpDate, s).ok()
}

/// The standard and user metadata a write carries.
pub(crate) struct MetaInput {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<Timestamp>,
    pub metadata: Option<Metadata>,
}

impl MetaInput {
    pub(crate) fn into_meta(self) -> ObjectMeta {
        let mut user: Vec<(String, String)> = self
            .metadata
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        user.sort();
        ObjectMeta {
            content_type: self.content_type,
            // aws-chunked is a transfer coding of the request, not of the object.
            content_encoding: self.content_encoding.and_then(|e| {
                let kept: Vec<&str> = e
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("aws-chunked"))
                    .collect();
                (!kept.is_empty()).then(|| kept.join(", "))
            }),
            content_disposition: self.content_disposition,
            content_language: self.content_language,
            cache_control: self.cache_control,
            expires: self.expires.as_ref().and_then(http_date),
            user,
        }
    }
}

pub(crate) fn user_metadata(meta: &ObjectMeta) -> Option<Metadata> {
    (!meta.user.is_empty()).then(|| meta.user.iter().cloned().collect())
}

pub(crate) fn algorithm(a: &dto::ChecksumAlgorithm) -> S3Result<ChecksumAlgorithm> {
    ChecksumAlgorithm::parse(a.as_str())
        .ok_or_else(|| ApiError::ChecksumAlgorithmUnsupported(a.as_str().to_owned()).into())
}

pub(crate) fn checksum_type(t: &dto::ChecksumType) -> S3Result<ChecksumType> {
    match t.as_str() {
        dto::ChecksumType::COMPOSITE => Ok(ChecksumType::Composite),
        dto::ChecksumType::FULL_OBJECT => Ok(ChecksumType::FullObject),
        other => Err(ApiError::ChecksumTypeUnsupported(other.to_owned()).into()),
    }
}

/// The five `x-amz-checksum-*` values a request or part can carry.
pub(crate) struct ChecksumFields<'a> {
    pub crc32: Option<&'a String>,
    pub crc32c: Option<&'a String>,
    pub crc64nvme: Option<&'a String>,
    pub sha1: Option<&'a String>,
    pub sha256: Option<&'a String>,
}

/// The `checksum_*` fields of any DTO that carries them (PutObject, UploadPart, CompletedPart,
/// CompleteMultipartUpload).
macro_rules! checksum_fields {
    ($i:expr) => {
        $crate::convert::ChecksumFields {
            crc32: $i.checksum_crc32.as_ref(),
            crc32c: $i.checksum_crc32c.as_ref(),
            crc64nvme: $i.checksum_crc64nvme.as_ref(),
            sha1: $i.checksum_sha1.as_ref(),
            sha256: $i.checksum_sha256.as_ref(),
        }
    };
}
pub(crate) use checksum_fields;

impl ChecksumFields<'_> {
    /// The single checksum given, if any; more than one is an error, as in S3.
    pub(crate) fn single(&self) -> S3Result<Option<(ChecksumAlgorithm, String)>> {
        let all = [
            (ChecksumAlgorithm::Crc32, self.crc32),
            (ChecksumAlgorithm::Crc32c, self.crc32c),
            (ChecksumAlgorithm::Crc64Nvme, self.crc64nvme),
            (ChecksumAlgorithm::Sha1, self.sha1),
            (ChecksumAlgorithm::Sha256, self.sha256),
        ];
        let mut given = all
            .into_iter()
            .filter_map(|(a, v)| v.map(|v| (a, v.clone())));
        let first = given.next();
        if given.next().is_some() {
            return Err(ApiError::MultipleChecksums.into());
        }
        Ok(first)
    }
}

/// What checksum a body-carrying request asks for: a header value, an aws-chunked trailer
/// (`x-amz-trailer: x-amz-checksum-…`), or just an algorithm to compute.
pub(crate) fn checksum_request(
    fields: ChecksumFields<'_>,
    sdk_algorithm: Option<&dto::ChecksumAlgorithm>,
    headers: &HeaderMap,
    trailers: Option<s3s::TrailingHeaders>,
) -> S3Result<Option<ChecksumRequest>> {
    let sdk = sdk_algorithm.map(algorithm).transpose()?;
    if let Some((a, v)) = fields.single()? {
        if sdk.is_some_and(|s| s != a) {
            return Err(ApiError::SdkChecksumAlgorithmMismatch.into());
        }
        return Ok(Some(ChecksumRequest {
            algorithm: a,
            expected: ExpectedChecksum::Given(v),
        }));
    }
    let declared = headers
        .get("x-amz-trailer")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase());
    if let Some(name) = declared
        .as_deref()
        .and_then(|d| d.strip_prefix("x-amz-checksum-"))
    {
        let a = ChecksumAlgorithm::parse(name)
            .ok_or_else(|| ApiError::TrailerChecksumUnsupported(name.to_owned()))?;
        let header = format!("x-amz-checksum-{name}");
        let read = move || {
            trailers.and_then(|t| t.take()).and_then(|h| {
                h.get(header.as_str())
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
        };
        return Ok(Some(ChecksumRequest {
            algorithm: a,
            expected: ExpectedChecksum::Trailer(Box::new(read)),
        }));
    }
    Ok(sdk.map(|a| ChecksumRequest {
        algorithm: a,
        expected: ExpectedChecksum::Compute,
    }))
}

/// Output value of a stored checksum: composite ones carry `-N`.
pub(crate) fn checksum_out(
    c: &ChecksumValue,
    parts: usize,
) -> (ChecksumAlgorithm, String, dto::ChecksumType) {
    match c.kind {
        ChecksumType::Composite => (
            c.algorithm,
            format!("{}-{parts}", c.value),
            dto::ChecksumType::from_static(dto::ChecksumType::COMPOSITE),
        ),
        ChecksumType::FullObject => (
            c.algorithm,
            c.value.clone(),
            dto::ChecksumType::from_static(dto::ChecksumType::FULL_OBJECT),
        ),
    }
}

/// Sets the `checksum_*` field of an output DTO that matches the algorithm.
macro_rules! set_checksum {
    ($out:expr, $alg:expr, $val:expr) => {{
        let v = Some($val);
        match $alg {
            rustfs_object::ChecksumAlgorithm::Crc32 => $out.checksum_crc32 = v,
            rustfs_object::ChecksumAlgorithm::Crc32c => $out.checksum_crc32c = v,
            rustfs_object::ChecksumAlgorithm::Crc64Nvme => $out.checksum_crc64nvme = v,
            rustfs_object::ChecksumAlgorithm::Sha1 => $out.checksum_sha1 = v,
            rustfs_object::ChecksumAlgorithm::Sha256 => $out.checksum_sha256 = v,
        }
    }};
}
pub(crate) use set_checksum;

/// Sets the checksum fields of an output DTO from a record's stored checksum, if any.
macro_rules! set_object_checksum {
    ($out:expr, $rec:expr) => {
        if let Some(c) = &$rec.checksum {
            let (a, v, t) = $crate::convert::checksum_out(c, $rec.segments.len());
            $crate::convert::set_checksum!($out, a, v);
            $out.checksum_type = Some(t);
        }
    };
}
pub(crate) use set_object_checksum;

/// The stored metadata of a write DTO (PutObject, CopyObject, CreateMultipartUpload all carry
/// the same standard headers and `x-amz-meta-*`).
macro_rules! meta_of {
    ($i:expr) => {
        $crate::convert::MetaInput {
            content_type: $i.content_type,
            content_encoding: $i.content_encoding,
            content_disposition: $i.content_disposition,
            content_language: $i.content_language,
            cache_control: $i.cache_control,
            expires: $i.expires,
            metadata: $i.metadata,
        }
        .into_meta()
    };
}
pub(crate) use meta_of;

pub(crate) fn dto_algorithm(a: ChecksumAlgorithm) -> dto::ChecksumAlgorithm {
    dto::ChecksumAlgorithm::from(a.as_str().to_string())
}

pub(crate) fn dto_checksum_type(t: ChecksumType) -> dto::ChecksumType {
    dto::ChecksumType::from(t.as_str().to_string())
}

pub(crate) fn range(r: &dto::Range) -> ByteRange {
    match *r {
        dto::Range::Int { first, last } => ByteRange::From { first, last },
        dto::Range::Suffix { length } => ByteRange::Suffix(length),
    }
}

/// `x-amz-copy-source-range: bytes=first-last` (both required, as S3 demands).
pub(crate) fn copy_source_range(s: &str) -> S3Result<ByteRange> {
    let bad = || S3Error::from(ApiError::CopySourceRangeInvalid);
    let spec = s.trim().strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let first: u64 = a.trim().parse().map_err(|_| bad())?;
    let last: u64 = b.trim().parse().map_err(|_| bad())?;
    if last < first {
        return Err(bad());
    }
    Ok(ByteRange::From {
        first,
        last: Some(last),
    })
}

/// `encoding-type=url`: percent-encode everything but unreserved characters and `/`, as S3 does.
pub(crate) fn url_encode(s: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const SET: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(s, SET).to_string()
}

pub(crate) fn non_negative(v: Option<i32>, default: usize, name: &str) -> S3Result<usize> {
    match v {
        None => Ok(default),
        Some(n) if n < 0 => Err(ApiError::NegativeCount(name.to_owned()).into()),
        Some(n) => Ok((n as usize).min(default)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_matches_s3() {
        assert_eq!(url_encode("a b+c/d%é"), "a%20b%2Bc/d%25%C3%A9");
        assert_eq!(url_encode("safe-_.~/"), "safe-_.~/");
    }

    #[test]
    fn copy_source_ranges() {
        assert_eq!(
            copy_source_range("bytes=0-9").unwrap(),
            ByteRange::From {
                first: 0,
                last: Some(9)
            }
        );
        for bad in ["0-9", "bytes=5-1", "bytes=-5", "bytes=1-", "bytes=a-b"] {
            assert!(copy_source_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn aws_chunked_is_not_stored_as_content_encoding() {
        let m = MetaInput {
            content_type: None,
            content_encoding: Some("aws-chunked".into()),
            content_disposition: None,
            content_language: None,
            cache_control: None,
            expires: None,
            metadata: None,
        };
        assert_eq!(m.into_meta().content_encoding, None);
        let m = MetaInput {
            content_type: None,
            content_encoding: Some("gzip, aws-chunked".into()),
            content_disposition: None,
            content_language: None,
            cache_control: None,
            expires: None,
            metadata: None,
        };
        assert_eq!(m.into_meta().content_encoding.as_deref(), Some("gzip"));
        let m = MetaInput {
            content_type: None,
            content_encoding: Some("deflate,  gzip".into()),
            content_disposition: None,
            content_language: None,
            cache_control: None,
            expires: None,
            metadata: None,
        };
        assert_eq!(
            m.into_meta().content_encoding.as_deref(),
            Some("deflate, gzip"),
            "codings are listed as HTTP writes them"
        );
    }
}
