//! S3 versioning. The `objects` table holds each key's current version (possibly a delete
//! marker), where listing finds it; the `versions` table holds the noncurrent ones under
//! `bucket NUL key NUL inverted-order-id`, newest first (see `docs/format.md`). Invariant: a
//! key with noncurrent versions has a current record, so everything that walks keys starts
//! from `objects`.
//!
//! Every record gets an order id when it is committed (drawn from the metadata store, unique
//! across every process sharing it, and past the id of the record it replaces, so the ids of
//! one key increase in commit order); in a bucket with versioning enabled that id is its S3
//! version id, else the record is the `null` version.

use std::collections::HashMap;

use rustfs_meta::{BucketRecord, ObjectRecord, ScanStep, Segment, Table, Txn, Versioning, keys};

use crate::objects::delete_blobs;
use crate::retention::may_remove_version;
use crate::txn::{get, get_raw};
use crate::{ObjectError, ObjectStore, Result, WriteConditions, names, new_id, now_ms};

/// DeleteObjects entries of a versioned bucket deleted at once.
const DELETE_CONCURRENCY: usize = 32;

/// A version id a client may name: `null` or one of ours (32 lower-case hex digits).
pub(crate) fn valid_version_id(v: &str) -> bool {
    v == "null"
        || (v.len() == 32
            && v.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// One stored version and where it is: the current record (`objects`) or a noncurrent one
/// (`versions`), with the bytes read, for a compare-and-swap.
pub(crate) struct Located {
    pub table: Table,
    pub key: Vec<u8>,
    pub bytes: Vec<u8>,
    pub record: ObjectRecord,
}

/// What a DELETE did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// The version id to report (`x-amz-version-id`): the delete marker made, or the version
    /// removed; `None` in a bucket never versioned.
    pub version_id: Option<String>,
    /// A delete marker was made, or the version removed was one.
    pub delete_marker: bool,
}

impl ObjectStore {
    /// PutBucketVersioning.
    /// A bucket with object lock cannot have its versioning suspended (`InvalidBucketState`).
    pub async fn set_bucket_versioning(&self, bucket: &str, state: Versioning) -> Result<()> {
        self.update_bucket(bucket, |r| {
            if r.object_lock.is_some() && state != Versioning::Enabled {
                return Err(ObjectError::InvalidBucketState(
                    "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.",
                ));
            }
            r.versioning = Some(state);
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// GetBucketVersioning: `None` for a bucket never versioned.
    pub async fn bucket_versioning(&self, bucket: &str) -> Result<Option<Versioning>> {
        Ok(self.bucket(bucket).await?.versioning)
    }

    /// The record of one version (`None`: the current one); delete markers are errors. The
    /// current record is one read; a version named by id is looked up in one read-only
    /// transaction (the current record, then the noncurrent ones, as one state).
    pub async fn head_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<ObjectRecord> {
        names::validate_key(key)?;
        let loc = match version {
            None => match self
                .read_record::<ObjectRecord>(Table::Objects, &keys::object_key(bucket, key))
                .await?
            {
                Some(record) => record,
                None => {
                    self.bucket(bucket).await?;
                    return Err(ObjectError::NoSuchKey);
                }
            },
            Some(_) => {
                self.transact(|t| {
                    Box::pin(async move { Ok(locate_any(t, bucket, key, version).await?.record) })
                })
                .await?
            }
        };
        refuse_marker(loc, version.is_some())
    }

    /// The bucket's record and the current record of `key` as [`Self::head_version`] without a
    /// version id gives it (or its error), read together from one state: for an access check
    /// that needs both (one round trip where the backend batches reads). A missing bucket is
    /// `NoSuchBucket`.
    pub async fn bucket_and_current(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(BucketRecord, Result<ObjectRecord>)> {
        let okey = keys::object_key(bucket, key);
        let mut got = self
            .meta
            .read_keys(&[(Table::Buckets, bucket.as_bytes()), (Table::Objects, &okey)])
            .await?
            .into_iter();
        let brec: BucketRecord = match got.next().flatten() {
            Some(v) => rustfs_meta::decode(&v)?,
            None => return Err(ObjectError::NoSuchBucket),
        };
        let current = names::validate_key(key).and_then(|()| match got.next().flatten() {
            Some(v) => refuse_marker(rustfs_meta::decode(&v)?, false),
            None => Err(ObjectError::NoSuchKey),
        });
        Ok((brec, current))
    }

    /// Changes one version's record (tags, ACL) in one transaction that also reads the bucket
    /// record (`change` sees it); delete markers are refused. Returns the record as written.
    pub(crate) async fn update_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        change: impl Fn(&BucketRecord, &mut ObjectRecord) -> Result<()> + Sync,
    ) -> Result<ObjectRecord> {
        names::validate_key(key)?;
        let change = &change;
        self.transact(|t| {
            Box::pin(async move {
                let Some(brec) = get::<BucketRecord>(t, Table::Buckets, bucket.as_bytes()).await?
                else {
                    return Err(ObjectError::NoSuchBucket);
                };
                let loc = locate_any(t, bucket, key, version).await?;
                let mut rec = refuse_marker(loc.record, version.is_some())?;
                change(&brec, &mut rec)?;
                t.put(loc.table, loc.key, rustfs_meta::encode(&rec));
                Ok(rec)
            })
        })
        .await
    }

    /// DELETE of a key (`version` `None`) or of one version. Without a version id, a bucket
    /// never versioned loses the object; otherwise a delete marker becomes current (`null`
    /// when versioning is suspended). With one, that version is removed for good, and when it
    /// was current the newest noncurrent version takes its place. A version that does not
    /// exist is no error, as in S3.
    pub async fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        owner: &str,
    ) -> Result<DeleteOutcome> {
        self.delete_version_with(bucket, key, version, owner, false)
            .await
    }

    /// [`Self::delete_version`]; a version under object lock is removed only as
    /// [`crate::retention::may_remove_version`] decides, with `bypass_governance` (the caller
    /// asked to bypass GOVERNANCE retention and is allowed to), in the transaction that
    /// removes it.
    pub async fn delete_version_with(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        owner: &str,
        bypass_governance: bool,
    ) -> Result<DeleteOutcome> {
        names::validate_key(key)?;
        if let Some(v) = version {
            return self.delete_exact(bucket, key, v, bypass_governance).await;
        }
        // A bucket never versioned loses the key, if it is still unversioned at the commit.
        let one = [key.to_string()];
        if let Some(mut done) = self.delete_unversioned(bucket, &one).await? {
            done.pop().unwrap_or(Ok(()))?;
            return Ok(DeleteOutcome::default());
        }
        let marker = ObjectRecord {
            version_id: new_id(),
            size: 0,
            etag: String::new(),
            last_modified_ms: now_ms(),
            owner: owner.to_string(),
            meta: Default::default(),
            checksum: None,
            multipart: false,
            segments: Vec::new(),
            tags: Vec::new(),
            acl: None,
            version: None,
            versioned: false,
            delete_marker: true,
            retention: None,
            legal_hold: false,
            legal_hold_set: false,
            encryption: None,
        };
        let rec = self
            .commit_object(bucket, key, marker, Vec::new(), &WriteConditions::default())
            .await?;
        Ok(DeleteOutcome {
            version_id: Some(rec.version_label().to_string()),
            delete_marker: true,
        })
    }

    async fn delete_exact(
        &self,
        bucket: &str,
        key: &str,
        v: &str,
        bypass_governance: bool,
    ) -> Result<DeleteOutcome> {
        let removed = self
            .transact(|t| {
                Box::pin(async move {
                    let loc = match locate_any(t, bucket, key, Some(v)).await {
                        Ok(l) => l,
                        Err(ObjectError::NoSuchVersion) => return Ok(None),
                        Err(e) => return Err(e),
                    };
                    // Decided on the record this transaction read: a lock committed before
                    // this commit is seen (or the transaction reruns).
                    may_remove_version(&loc.record, bypass_governance, now_ms())?;
                    let next = match loc.table {
                        Table::Objects => first_noncurrent(t, bucket, key, |_| true).await?,
                        _ => None,
                    };
                    match next {
                        // The newest noncurrent version becomes current.
                        Some(next) => {
                            t.delete(Table::Versions, next.key);
                            t.put(Table::Objects, loc.key.clone(), next.bytes);
                        }
                        None => t.delete(loc.table, loc.key.clone()),
                    }
                    delete_blobs(t, &loc.record.segments);
                    Ok(Some(loc.record))
                })
            })
            .await?;
        let mut outcome = DeleteOutcome {
            version_id: Some(v.to_string()),
            delete_marker: false,
        };
        if let Some(record) = removed {
            self.discard_files(&record.segments);
            outcome.delete_marker = record.delete_marker;
        }
        Ok(outcome)
    }

    /// DeleteObjects with version ids: each entry deleted as [`Self::delete_version`] does,
    /// reported on its own.
    pub async fn delete_versions(
        &self,
        bucket: &str,
        list: &[(String, Option<String>)],
        owner: &str,
    ) -> Result<Vec<Result<DeleteOutcome>>> {
        let no_bypass = vec![false; list.len()];
        self.delete_versions_with(bucket, list, owner, &no_bypass)
            .await
    }

    /// [`Self::delete_versions`], entry `i` bypassing GOVERNANCE retention when
    /// `bypass_governance[i]` (see [`Self::delete_version_with`]).
    pub async fn delete_versions_with(
        &self,
        bucket: &str,
        list: &[(String, Option<String>)],
        owner: &str,
        bypass_governance: &[bool],
    ) -> Result<Vec<Result<DeleteOutcome>>> {
        let bypass = |i: usize| bypass_governance.get(i).copied().unwrap_or(false);
        if list.iter().all(|(_, v)| v.is_none()) {
            let keys: Vec<String> = list.iter().map(|(k, _)| k.clone()).collect();
            // `None`: the bucket is versioned: entry by entry.
            if let Some(done) = self.delete_unversioned(bucket, &keys).await? {
                return Ok(done
                    .into_iter()
                    .map(|r| r.map(|()| DeleteOutcome::default()))
                    .collect());
            }
        }
        // Distinct entries run concurrently, so their commits share group commits; an entry
        // listed again reports the first one's outcome.
        let mut first: HashMap<&(String, Option<String>), usize> = HashMap::new();
        let unique: Vec<usize> = (0..list.len())
            .filter(|&i| *first.entry(&list[i]).or_insert(i) == i)
            .collect();
        let mut done: Vec<Result<DeleteOutcome>> = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(DELETE_CONCURRENCY) {
            let mut batch = Vec::with_capacity(chunk.len());
            for &i in chunk {
                let (key, version) = &list[i];
                batch.push(self.delete_version_with(
                    bucket,
                    key,
                    version.as_deref(),
                    owner,
                    bypass(i),
                ));
            }
            done.extend(futures::future::join_all(batch).await);
        }
        let mut by_index: HashMap<usize, Result<DeleteOutcome>> =
            unique.into_iter().zip(done).collect();
        let mut out = Vec::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            let r = match by_index.remove(&i) {
                Some(r) => r,
                None => match &out[first[entry]] {
                    Ok(o) => Ok(DeleteOutcome::clone(o)),
                    Err(_) => {
                        self.delete_version_with(
                            bucket,
                            &entry.0,
                            entry.1.as_deref(),
                            owner,
                            bypass(i),
                        )
                        .await
                    }
                },
            };
            out.push(r);
        }
        Ok(out)
    }
}

/// A delete marker read as the current version (`addressed` false: the key reads as absent) or
/// named by its id (`addressed` true: not readable) is an error; any other record passes.
fn refuse_marker(record: ObjectRecord, addressed: bool) -> Result<ObjectRecord> {
    if record.delete_marker {
        return Err(ObjectError::DeleteMarker {
            version_id: record.version_label().to_string(),
            addressed,
            last_modified_ms: record.last_modified_ms,
        });
    }
    Ok(record)
}

/// The version `version` names (`None`: the current one), delete markers included, read in
/// `t`: the current record, then (for a version it is not) the noncurrent ones. One
/// transaction sees one state, so a version moving between the tables meanwhile is found in
/// one of them or the transaction reruns.
pub(crate) async fn locate_any(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Result<Located> {
    names::validate_key(key)?;
    if version.is_some_and(|v| !valid_version_id(v)) {
        return Err(ObjectError::InvalidVersionId);
    }
    let okey = keys::object_key(bucket, key);
    let Some((bytes, record)) = get_raw::<ObjectRecord>(t, Table::Objects, &okey).await? else {
        if t.get(Table::Buckets, bucket.as_bytes()).await?.is_none() {
            return Err(ObjectError::NoSuchBucket);
        }
        return Err(match version {
            Some(_) => ObjectError::NoSuchVersion,
            None => ObjectError::NoSuchKey,
        });
    };
    match version {
        Some(v) if !record.is_version(v) => noncurrent(t, bucket, key, v)
            .await?
            .ok_or(ObjectError::NoSuchVersion),
        _ => Ok(Located {
            table: Table::Objects,
            key: okey,
            bytes,
            record,
        }),
    }
}

/// The noncurrent version `v` names, if any.
async fn noncurrent(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    key: &str,
    v: &str,
) -> Result<Option<Located>> {
    if v == "null" {
        return first_noncurrent(t, bucket, key, |r| !r.versioned).await;
    }
    let vkey = keys::version_key(bucket, key, v);
    let Some((bytes, record)) = get_raw::<ObjectRecord>(t, Table::Versions, &vkey).await? else {
        return Ok(None);
    };
    Ok(record.is_version(v).then_some(Located {
        table: Table::Versions,
        key: vkey,
        bytes,
        record,
    }))
}

/// The newest noncurrent version of a key that `pred` accepts (the scan stops there, so only
/// the versions walked join the transaction's conflict set).
pub(crate) async fn first_noncurrent(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    key: &str,
    pred: impl Fn(&ObjectRecord) -> bool + Send + Sync,
) -> Result<Option<Located>> {
    let (start, end) = keys::versions_range(bucket, key);
    let mut found = None;
    let mut failed = None;
    t.scan(
        Table::Versions,
        &start,
        &end,
        &mut |k, v| match rustfs_meta::decode::<ObjectRecord>(v) {
            Ok(r) if pred(&r) => {
                found = Some(Located {
                    table: Table::Versions,
                    key: k.to_vec(),
                    bytes: v.to_vec(),
                    record: r,
                });
                ScanStep::Stop
            }
            Ok(_) => ScanStep::Next,
            Err(e) => {
                failed = Some(e);
                ScanStep::Stop
            }
        },
    )
    .await?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(found),
    }
}

/// Adds to `t` what making a new current record does to the one it replaces (`cur`, read in
/// `t`) and to the key's `null` version: with versioning enabled, or when `cur` has a version
/// id, `cur` becomes noncurrent; a new `null` version replaces the old one (its bytes freed).
/// Returns the freed segments (to unlink after the commit).
pub(crate) async fn displace(
    t: &mut (dyn Txn + '_),
    bucket: &str,
    key: &str,
    cur: Option<(Vec<u8>, ObjectRecord)>,
    state: Option<Versioning>,
) -> Result<Vec<Segment>> {
    let new_is_null = state != Some(Versioning::Enabled);
    let mut freed = Vec::new();
    let cur_is_null = cur.as_ref().is_some_and(|(_, r)| !r.versioned);
    if let Some((bytes, rec)) = cur {
        if rec.versioned || !new_is_null {
            let vkey = keys::version_key(bucket, key, &rec.order_id());
            t.put(Table::Versions, vkey, bytes);
        } else {
            // The `null` version replaced: object lock decides as for any removal.
            may_remove_version(&rec, false, now_ms())?;
            delete_blobs(t, &rec.segments);
            freed.extend(rec.segments);
        }
    }
    if new_is_null
        && state.is_some()
        && !cur_is_null
        && let Some(old) = first_noncurrent(t, bucket, key, |r| !r.versioned).await?
    {
        may_remove_version(&old.record, false, now_ms())?;
        t.delete(Table::Versions, old.key);
        delete_blobs(t, &old.record.segments);
        freed.extend(old.record.segments);
    }
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_validate() {
        let a = rustfs_meta::order::local_order_id();
        assert!(valid_version_id(&a) && valid_version_id("null"));
        assert!(!valid_version_id("NULL") && !valid_version_id(&a.to_uppercase()));
        assert!(!valid_version_id("abc"));
    }
}
