//! Listing as range scans over byte-ordered keys. With a delimiter, each common prefix is
//! reported once and the scan seeks past everything under it instead of reading it.

use rustfs_meta::{ObjectRecord, ScanStep, Table, UploadRecord, decode, keys};

use crate::{ObjectError, ObjectStore, Result};

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
    pub fn list_objects(&self, bucket: &str, q: &ListQuery) -> Result<ListPage> {
        self.bucket(bucket)?;
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
        self.meta.scan(Table::Objects, &start, &end, &mut |k, v| {
            let Some(name) = keys::object_name(k) else {
                return ScanStep::Next;
            };
            if page.entries.len() == q.max_keys {
                page.is_truncated = true;
                return ScanStep::Stop;
            }
            if let Some(cp) = common_prefix(name, &q.prefix, delim) {
                page.entries.push(ListEntry::Prefix(cp.to_string()));
                return ScanStep::Seek(keys::prefix_successor(&keys::object_key(bucket, cp)));
            }
            match decode(v) {
                Ok(rec) => page
                    .entries
                    .push(ListEntry::Object(name.to_string(), Box::new(rec))),
                Err(e) => {
                    failed = Some(e.into());
                    return ScanStep::Stop;
                }
            }
            ScanStep::Next
        })?;
        match failed {
            Some(e) => Err(e),
            None => Ok(page),
        }
    }

    pub fn list_uploads(&self, bucket: &str, q: &UploadListQuery) -> Result<UploadListPage> {
        self.bucket(bucket)?;
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
        self.meta.scan(Table::Uploads, &start, &end, &mut |k, v| {
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
        })?;
        match failed {
            Some(e) => Err(e),
            None => Ok(page),
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
