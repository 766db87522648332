//! ListObjects (v1) and ListObjectsV2.

use rustfs_object::{ListEntry, ListPage, ListQuery, ObjectRecord, VersionEntry, VersionListQuery};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::RustFsS3;
use crate::acl::owner;
use crate::api_error::ApiError;
use crate::auth::Keyring;
use crate::convert::{self, non_negative, url_encode};
use crate::errors::to_s3;

const MAX_KEYS: usize = 1000;

fn wants_url(e: Option<&EncodingType>) -> S3Result<bool> {
    match e.map(EncodingType::as_str) {
        None => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("url") => Ok(true),
        Some(_) => Err(ApiError::EncodingTypeInvalid.into()),
    }
}

fn enc(url: bool, s: String) -> String {
    if url { url_encode(&s) } else { s }
}

/// The checksum algorithm a listing reports for an object (S3 lists it as a one-element list).
fn listed_algorithm(rec: &ObjectRecord) -> Option<Vec<ChecksumAlgorithm>> {
    rec.checksum
        .as_ref()
        .map(|c| vec![convert::dto_algorithm(c.algorithm)])
}

fn listed_checksum_type(rec: &ObjectRecord) -> Option<ChecksumType> {
    rec.checksum
        .as_ref()
        .map(|c| convert::dto_checksum_type(c.kind))
}

fn object(key: String, rec: &ObjectRecord, url: bool, with_owner: Option<&Keyring>) -> Object {
    Object {
        key: Some(enc(url, key)),
        last_modified: Some(convert::timestamp(rec.last_modified_ms)),
        e_tag: Some(convert::etag(&rec.etag)),
        size: Some(rec.size as i64),
        storage_class: Some(ObjectStorageClass::from_static(
            ObjectStorageClass::STANDARD,
        )),
        owner: with_owner.map(|users| owner(users, &rec.owner)),
        checksum_algorithm: listed_algorithm(rec),
        checksum_type: listed_checksum_type(rec),
        ..Default::default()
    }
}

fn split(
    page: ListPage,
    url: bool,
    with_owner: Option<&Keyring>,
) -> (Vec<Object>, Vec<CommonPrefix>) {
    let mut contents = Vec::new();
    let mut prefixes = Vec::new();
    for e in page.entries {
        match e {
            ListEntry::Object(k, rec) => contents.push(object(k, &rec, url, with_owner)),
            ListEntry::Prefix(p) => prefixes.push(CommonPrefix {
                prefix: Some(enc(url, p)),
            }),
        }
    }
    (contents, prefixes)
}

fn encode_token(marker: &str) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(marker.as_bytes())
}

fn decode_token(token: &str) -> S3Result<String> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::ContinuationTokenInvalid.into())
}

impl RustFsS3 {
    pub(super) async fn op_list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let i = req.input;
        let url = wants_url(i.encoding_type.as_ref())?;
        let max_keys = non_negative(i.max_keys, MAX_KEYS, "max-keys")?;
        let start_after = match i.continuation_token.as_deref() {
            Some(t) => Some(decode_token(t)?),
            None => i.start_after.clone().filter(|s| !s.is_empty()),
        };
        let q = ListQuery {
            prefix: i.prefix.clone().unwrap_or_default(),
            delimiter: i.delimiter.clone(),
            start_after,
            max_keys,
        };
        let page = self
            .store
            .list_objects(&i.bucket, &q)
            .await
            .map_err(to_s3)?;
        let is_truncated = page.is_truncated;
        let next = page.next_marker().map(encode_token);
        let (contents, prefixes) = split(
            page,
            url,
            i.fetch_owner.unwrap_or(false).then_some(&self.users),
        );
        let key_count = (contents.len() + prefixes.len()) as i32;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(i.bucket),
            prefix: Some(enc(url, q.prefix)),
            delimiter: i.delimiter.filter(|d| !d.is_empty()).map(|d| enc(url, d)),
            max_keys: Some(i.max_keys.unwrap_or(MAX_KEYS as i32)),
            key_count: Some(key_count),
            continuation_token: i.continuation_token,
            next_continuation_token: next,
            start_after: i.start_after.map(|s| enc(url, s)),
            is_truncated: Some(is_truncated),
            encoding_type: i.encoding_type,
            contents: Some(contents),
            common_prefixes: Some(prefixes),
            ..Default::default()
        }))
    }

    pub(super) async fn op_list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let i = req.input;
        let url = wants_url(i.encoding_type.as_ref())?;
        let max_keys = non_negative(i.max_keys, MAX_KEYS, "max-keys")?;
        let q = ListQuery {
            prefix: i.prefix.clone().unwrap_or_default(),
            delimiter: i.delimiter.clone(),
            start_after: i.marker.clone().filter(|m| !m.is_empty()),
            max_keys,
        };
        let page = self
            .store
            .list_objects(&i.bucket, &q)
            .await
            .map_err(to_s3)?;
        let is_truncated = page.is_truncated;
        let next_marker = page.next_marker().map(|m| enc(url, m.to_string()));
        let (contents, prefixes) = split(page, url, Some(&self.users));
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(i.bucket),
            // v1 echoes the prefix as given: clients decode only Delimiter, Marker, NextMarker
            // and keys of a URL-encoded v1 listing.
            prefix: Some(q.prefix),
            delimiter: i.delimiter.filter(|d| !d.is_empty()).map(|d| enc(url, d)),
            marker: Some(i.marker.map(|m| enc(url, m)).unwrap_or_default()),
            next_marker,
            max_keys: Some(i.max_keys.unwrap_or(MAX_KEYS as i32)),
            is_truncated: Some(is_truncated),
            encoding_type: i.encoding_type,
            contents: Some(contents),
            common_prefixes: Some(prefixes),
            ..Default::default()
        }))
    }

    /// ListObjectVersions: versions and delete markers, by key then newest first.
    pub(super) async fn op_list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let i = req.input;
        let url = wants_url(i.encoding_type.as_ref())?;
        let key_marker = i.key_marker.clone().filter(|m| !m.is_empty());
        let version_marker = i.version_id_marker.clone().filter(|v| !v.is_empty());
        if version_marker.is_some() && key_marker.is_none() {
            return Err(ApiError::VersionMarkerWithoutKeyMarker.into());
        }
        let q = VersionListQuery {
            prefix: i.prefix.clone().unwrap_or_default(),
            delimiter: i.delimiter.clone(),
            key_marker,
            version_id_marker: version_marker,
            max_keys: non_negative(i.max_keys, MAX_KEYS, "max-keys")?,
        };
        let page = self
            .store
            .list_object_versions(&i.bucket, &q)
            .await
            .map_err(to_s3)?;
        let is_truncated = page.is_truncated;
        let (next_key, next_version) = match page.next_markers() {
            Some((k, v)) => (Some(enc(url, k.to_string())), v.map(str::to_string)),
            None => (None, None),
        };
        let mut versions = Vec::new();
        let mut markers = Vec::new();
        let mut prefixes = Vec::new();
        for e in page.entries {
            match e {
                VersionEntry::Version {
                    key,
                    record,
                    is_latest,
                } if record.delete_marker => markers.push(DeleteMarkerEntry {
                    key: Some(enc(url, key)),
                    version_id: Some(record.version_label().to_string()),
                    is_latest: Some(is_latest),
                    last_modified: Some(convert::timestamp(record.last_modified_ms)),
                    owner: Some(owner(&self.users, &record.owner)),
                }),
                VersionEntry::Version {
                    key,
                    record,
                    is_latest,
                } => versions.push(ObjectVersion {
                    key: Some(enc(url, key)),
                    version_id: Some(record.version_label().to_string()),
                    is_latest: Some(is_latest),
                    last_modified: Some(convert::timestamp(record.last_modified_ms)),
                    e_tag: Some(convert::etag(&record.etag)),
                    size: Some(record.size as i64),
                    owner: Some(owner(&self.users, &record.owner)),
                    storage_class: Some(ObjectVersionStorageClass::from_static(
                        ObjectVersionStorageClass::STANDARD,
                    )),
                    checksum_algorithm: listed_algorithm(&record),
                    checksum_type: listed_checksum_type(&record),
                    ..Default::default()
                }),
                VersionEntry::Prefix(p) => prefixes.push(CommonPrefix {
                    prefix: Some(enc(url, p)),
                }),
            }
        }
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(i.bucket),
            prefix: Some(enc(url, q.prefix)),
            delimiter: i.delimiter.map(|d| enc(url, d)),
            key_marker: Some(i.key_marker.map(|m| enc(url, m)).unwrap_or_default()),
            version_id_marker: Some(i.version_id_marker.unwrap_or_default()),
            next_key_marker: next_key,
            next_version_id_marker: next_version,
            max_keys: Some(i.max_keys.unwrap_or(MAX_KEYS as i32)),
            is_truncated: Some(is_truncated),
            encoding_type: i.encoding_type,
            versions: Some(versions),
            delete_markers: Some(markers),
            common_prefixes: Some(prefixes),
            ..Default::default()
        }))
    }
}
