//! Listing as range scans over byte-ordered keys. With a delimiter, each common prefix is
//! reported once and the scan seeks past everything under it instead of reading it.

use rustfs_meta::{ObjectRecord, ScanStep, Table, Txn, UploadRecord, decode, keys};

use crate::{ObjectError, ObjectStore, Result};

/// `NoSuchBucket` unless the bucket exists (read in `t`).
async fn bucket_exists(t: &mut (dyn Txn + '_), bucket: &str) -> Result<()> {
    match t.get(Table::Buckets, bucket.as_bytes()).await? {
        Some(_) => Ok(()),
        None => Err(ObjectError::NoSuchBucket),
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Return only entries after this key (exclusive): StartAfter, Marker or a continuation.
    pub start_after: Option<String>,
    pub max_keys: usize,
}

#[derive(Debug, Clone)]
pub enum ListEntry {
    Object(String, Box<ObjectRecord>),
    Prefix(String),
}

impl ListEntry {
    pub fn name(&self) -> &str {
        match self {
            ListEntry::Object(k, _) | ListEntry::Prefix(k) => k,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// Objects and common prefixes, in key order.
    pub entries: Vec<ListEntry>,
    pub is_truncated: bool,
}

impl ListPage {
    /// Where the next page starts (the last entry's name) when truncated.
    pub fn next_marker(&self) -> Option<&str> {
        if self.is_truncated {
            self.entries.last().map(ListEntry::name)
        } else {
            None
        }
    }
}

fn delimiter(d: &Option<String>) -> Option<&str> {
    d.as_deref().filter(|d| !d.is_empty())
}

/// The common prefix `name` rolls up into, if any.
fn common_prefix<'a>(name: &'a str, prefix: &str, delim: Option<&str>) -> Option<&'a str> {
    let d = delim?;
    let rest = name.get(prefix.len()..)?;
    rest.find(d)
        .map(|pos| &name[..prefix.len() + pos + d.len()])
}

/// First scan key strictly after `after` in the listing's order: after a common prefix, that is
/// past everything under it.
fn start_key(bucket: &str, prefix: &str, delim: Option<&str>, after: &str) -> Vec<u8> {
    let k = keys::object_key(bucket, after);
    if common_prefix(after, prefix, delim) == Some(after) {
        keys::prefix_successor(&k)
    } else {
        let mut k = k;
        k.push(0);
        k
    }
}

impl ObjectStore {
    /// ListObjects: one read-only transaction (the bucket and one scan that seeks past each
    /// common prefix).
    pub async fn list_objects(&self, bucket: &str, q: &ListQuery) -> Result<ListPage> {
        self.transact(|t| Box::pin(list_objects_in(t, bucket, q)))
            .await
    }

    /// ListObjectVersions: every version and delete marker, by key then newest first; common
    /// prefixes count towards `max_keys` as in ListObjects. Keys are walked in the objects
    /// table (each key with versions has a current record there), each key's noncurrent
    /// versions read from the versions table; all in one read-only transaction.
    pub async fn list_object_versions(
        &self,
        bucket: &str,
        q: &VersionListQuery,
    ) -> Result<VersionListPage> {
        self.transact(|t| Box::pin(list_versions_in(t, bucket, q)))
            .await
    }

    /// ListMultipartUploads, in one read-only transaction.
    pub async fn list_uploads(&self, bucket: &str, q: &UploadListQuery) -> Result<UploadListPage> {
        self.transact(|t| Box::pin(list_uploads_in(t, bucket, q)))
            .await
    }
}

async fn list_objects_in(t: &mut (dyn Txn + '_), bucket: &str, q: &ListQuery) -> Result<ListPage> {
    bucket_exists(t, bucket).await?;
    let mut page = ListPage::default();
    if q.max_keys == 0 {
        return Ok(page);
    }
    let delim = delimiter(&q.delimiter);
    let (mut start, end) = keys::object_prefix_range(bucket, &q.prefix);
    if let Some(after) = &q.start_after {
        start = start.max(start_key(bucket, &q.prefix, delim, after));
    }
    let mut failed: Option<ObjectError> = None;
    t.scan(Table::Objects, &start, &end, &mut |k, v| {
        let Some(name) = keys::object_name(k) else {
            return ScanStep::Next;
        };
        let rec: ObjectRecord = match decode(v) {
            Ok(rec) => rec,
            Err(e) => {
                failed = Some(e.into());
                return ScanStep::Stop;
            }
        };
        // A key whose current version is a delete marker is not listed, and neither is
        // a common prefix holding nothing else.
        if rec.delete_marker {
            return ScanStep::Next;
        }
        if page.entries.len() == q.max_keys {
            page.is_truncated = true;
            return ScanStep::Stop;
        }
        if let Some(cp) = common_prefix(name, &q.prefix, delim) {
            page.entries.push(ListEntry::Prefix(cp.to_string()));
            return ScanStep::Seek(keys::prefix_successor(&keys::object_key(bucket, cp)));
        }
        page.entries
            .push(ListEntry::Object(name.to_string(), Box::new(rec)));
        ScanStep::Next
    })
    .await?;
    match failed {
        Some(e) => Err(e),
        None => Ok(page),
    }
}

async fn list_versions_in(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    q: &VersionListQuery,
) -> Result<VersionListPage> {
    bucket_exists(t, bucket).await?;
    let mut page = VersionListPage::default();
    if q.max_keys == 0 {
        return Ok(page);
    }
    let delim = delimiter(&q.delimiter);
    let (mut start, end) = keys::object_prefix_range(bucket, &q.prefix);
    if let Some(km) = q.key_marker.as_deref().filter(|k| !k.is_empty()) {
        if let Some(vm) = q.version_id_marker.as_deref().filter(|v| !v.is_empty())
            && km.starts_with(q.prefix.as_str())
        {
            versions_after_marker(t, bucket, km, vm, q.max_keys, &mut page).await?;
            if page.is_truncated {
                return Ok(page);
            }
        }
        start = start.max(start_key(bucket, &q.prefix, delim, km));
    }
    // Keys (with their current record) and prefixes: one more than the room left tells
    // whether the listing goes on.
    let room = q.max_keys - page.entries.len();
    let mut items: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    t.scan(Table::Objects, &start, &end, &mut |k, v| {
        let Some(name) = keys::object_name(k) else {
            return ScanStep::Next;
        };
        if items.len() > room {
            return ScanStep::Stop;
        }
        if let Some(cp) = common_prefix(name, &q.prefix, delim) {
            items.push((cp.to_string(), None));
            return ScanStep::Seek(keys::prefix_successor(&keys::object_key(bucket, cp)));
        }
        items.push((name.to_string(), Some(v.to_vec())));
        ScanStep::Next
    })
    .await?;
    for (name, current) in items {
        if page.entries.len() == q.max_keys {
            page.is_truncated = true;
            break;
        }
        let Some(current) = current else {
            page.entries.push(VersionEntry::Prefix(name));
            continue;
        };
        let record: ObjectRecord = decode(&current)?;
        page.entries.push(VersionEntry::Version {
            key: name.clone(),
            record: Box::new(record),
            is_latest: true,
        });
        let (from, _) = keys::versions_range(bucket, &name);
        push_noncurrent(t, bucket, &name, &from, None, q.max_keys, &mut page).await?;
        if page.is_truncated {
            break;
        }
    }
    Ok(page)
}

/// The versions of `key` listed after version `marker` (a continuation).
async fn versions_after_marker(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    key: &str,
    marker: &str,
    max: usize,
    page: &mut VersionListPage,
) -> Result<()> {
    let Some(cur) = t
        .get(Table::Objects, &keys::object_key(bucket, key))
        .await?
    else {
        return Ok(());
    };
    let cur: ObjectRecord = decode(&cur)?;
    let (range_start, _) = keys::versions_range(bucket, key);
    if cur.is_version(marker) {
        return push_noncurrent(t, bucket, key, &range_start, None, max, page).await;
    }
    let from = if crate::versions::valid_version_id(marker) && marker != "null" {
        keys::version_key(bucket, key, marker)
    } else {
        range_start
    };
    push_noncurrent(t, bucket, key, &from, Some(marker), max, page).await
}

/// Appends the noncurrent versions of `key` from `from` (after version `skip_until`, when
/// given) until the page holds `max` entries; marks it truncated if more remain.
async fn push_noncurrent(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    key: &str,
    from: &[u8],
    skip_until: Option<&str>,
    max: usize,
    page: &mut VersionListPage,
) -> Result<()> {
    let (_, end) = keys::versions_range(bucket, key);
    let mut skipping = skip_until;
    let mut failed = None;
    t.scan(Table::Versions, from, &end, &mut |_, v| {
        let record: ObjectRecord = match decode(v) {
            Ok(r) => r,
            Err(e) => {
                failed = Some(e);
                return ScanStep::Stop;
            }
        };
        if let Some(m) = skipping {
            if record.is_version(m) {
                skipping = None;
            }
            return ScanStep::Next;
        }
        if page.entries.len() == max {
            page.is_truncated = true;
            return ScanStep::Stop;
        }
        page.entries.push(VersionEntry::Version {
            key: key.to_string(),
            record: Box::new(record),
            is_latest: false,
        });
        ScanStep::Next
    })
    .await?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

async fn list_uploads_in(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    q: &UploadListQuery,
) -> Result<UploadListPage> {
    bucket_exists(t, bucket).await?;
    let mut page = UploadListPage::default();
    if q.max_uploads == 0 {
        return Ok(page);
    }
    let delim = delimiter(&q.delimiter);
    let (mut start, end) = keys::object_prefix_range(bucket, &q.prefix);
    if let Some(km) = q.key_marker.as_deref().filter(|k| !k.is_empty()) {
        let from = match q.upload_id_marker.as_deref().filter(|u| !u.is_empty()) {
            Some(uid) => {
                let mut k = keys::upload_key(bucket, km, uid);
                k.push(0);
                k
            }
            None => {
                let mut k = keys::object_key(bucket, km);
                k.push(1);
                k
            }
        };
        start = start.max(from);
    }
    let mut failed: Option<ObjectError> = None;
    t.scan(Table::Uploads, &start, &end, &mut |k, v| {
        let Some(name) = keys::object_name(k) else {
            return ScanStep::Next;
        };
        let key = name.split('\0').next().unwrap_or(name);
        if page.uploads.len() + page.prefixes.len() == q.max_uploads {
            page.is_truncated = true;
            return ScanStep::Stop;
        }
        if let Some(cp) = common_prefix(key, &q.prefix, delim) {
            page.prefixes.push(cp.to_string());
            return ScanStep::Seek(keys::prefix_successor(&keys::object_key(bucket, cp)));
        }
        match decode::<UploadRecord>(v) {
            Ok(rec) => page.uploads.push(rec),
            Err(e) => {
                failed = Some(e.into());
                return ScanStep::Stop;
            }
        }
        ScanStep::Next
    })
    .await?;
    match failed {
        Some(e) => Err(e),
        None => Ok(page),
    }
}

#[derive(Debug, Clone, Default)]
pub struct VersionListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub version_id_marker: Option<String>,
    pub max_keys: usize,
}

#[derive(Debug, Clone)]
pub enum VersionEntry {
    /// A version or delete marker of `key`; `is_latest` for the current one.
    Version {
        key: String,
        record: Box<ObjectRecord>,
        is_latest: bool,
    },
    Prefix(String),
}

#[derive(Debug, Clone, Default)]
pub struct VersionListPage {
    /// Versions (each key's newest first) and common prefixes, in key order.
    pub entries: Vec<VersionEntry>,
    pub is_truncated: bool,
}

impl VersionListPage {
    /// NextKeyMarker and NextVersionIdMarker when truncated: the last entry's key and version
    /// id (none after a common prefix).
    pub fn next_markers(&self) -> Option<(&str, Option<&str>)> {
        if !self.is_truncated {
            return None;
        }
        match self.entries.last()? {
            VersionEntry::Version { key, record, .. } => Some((key, Some(record.version_label()))),
            VersionEntry::Prefix(p) => Some((p, None)),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct UploadListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub max_uploads: usize,
}

#[derive(Debug, Clone, Default)]
pub struct UploadListPage {
    pub uploads: Vec<UploadRecord>,
    pub prefixes: Vec<String>,
    pub is_truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes() {
        assert_eq!(common_prefix("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/", Some("/")), None);
        assert_eq!(common_prefix("a::b::c", "a", Some("::")), Some("a::"));
        assert_eq!(common_prefix("abc", "", None), None);
    }

    #[test]
    fn start_after_a_common_prefix_skips_it() {
        let k = start_key("b", "", Some("/"), "dir/");
        assert!(k > keys::object_key("b", "dir/zzz"));
        let k = start_key("b", "", Some("/"), "dir/x");
        assert!(k > keys::object_key("b", "dir/x") && k < keys::object_key("b", "dir/x0"));
    }
}
