//! S3 versioning. The `objects` table holds each key's current version (possibly a delete
//! marker), where listing finds it; the `versions` table holds the noncurrent ones under
//! `bucket NUL key NUL inverted-order-id`, newest first (see `docs/format.md`). Invariant: a
//! key with noncurrent versions has a current record, so everything that walks keys starts
//! from `objects`.
//!
//! Every record gets a time-ordered id when it is committed (so the ids of one key increase
//! in commit order); in a bucket with versioning enabled that id is its S3 version id, else
//! the record is the `null` version.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rustfs_meta::{
    Batch, Check, MetaError, ObjectRecord, ScanStep, Segment, Table, Versioning, decode, encode,
    keys,
};

use crate::objects::{CAS_ATTEMPTS, delete_blobs};
use crate::{ObjectError, ObjectStore, Result, WriteConditions, names, new_id, now_ms};

/// DeleteObjects entries of a versioned bucket deleted at once.
const DELETE_CONCURRENCY: usize = 32;

/// Microseconds of the last version id handed out, so ids of this process strictly increase.
static LAST_VERSION_US: AtomicU64 = AtomicU64::new(0);

/// A new version id: 16 hex digits of microseconds since the epoch (strictly increasing in
/// this process), then 16 random hex digits. Ids compare as strings in time order.
pub(crate) fn new_version_id() -> String {
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).max(0) as u64;
    let prev = LAST_VERSION_US
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or(now);
    let t = now.max(prev + 1);
    let random = uuid::Uuid::new_v4().as_u64_pair().0;
    format!("{t:016x}{random:016x}")
}

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
    pub async fn set_bucket_versioning(&self, bucket: &str, state: Versioning) -> Result<()> {
        self.update_bucket(bucket, |r| {
            r.versioning = Some(state);
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// GetBucketVersioning: `None` for a bucket never versioned.
    pub fn bucket_versioning(&self, bucket: &str) -> Result<Option<Versioning>> {
        Ok(self.bucket(bucket)?.versioning)
    }

    /// The version `version` names (`None`: the current one), delete markers included.
    pub(crate) fn locate_any(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Located> {
        names::validate_key(key)?;
        if version.is_some_and(|v| !valid_version_id(v)) {
            return Err(ObjectError::InvalidVersionId);
        }
        let okey = keys::object_key(bucket, key);
        // The current record and the noncurrent ones are two reads: a version moving between
        // them (promoted by a delete, or made noncurrent by a PUT) changes the current record,
        // so a version found in neither is missing only if the current record held still.
        for _ in 0..CAS_ATTEMPTS {
            let Some(bytes) = self.meta.get(Table::Objects, &okey)? else {
                self.bucket(bucket)?;
                return Err(match version {
                    Some(_) => ObjectError::NoSuchVersion,
                    None => ObjectError::NoSuchKey,
                });
            };
            let record: ObjectRecord = decode(&bytes)?;
            match version {
                Some(v) if !record.is_version(v) => {
                    if let Some(found) = self.noncurrent(bucket, key, v)? {
                        return Ok(found);
                    }
                    if self.meta.get(Table::Objects, &okey)?.as_deref() == Some(&bytes[..]) {
                        return Err(ObjectError::NoSuchVersion);
                    }
                }
                _ => {
                    return Ok(Located {
                        table: Table::Objects,
                        key: okey,
                        bytes,
                        record,
                    });
                }
            }
        }
        Err(ObjectError::Contended)
    }

    /// Like [`Self::locate_any`], but a delete marker reads as absent (current) or is refused
    /// (named by its id).
    pub(crate) fn locate(&self, bucket: &str, key: &str, version: Option<&str>) -> Result<Located> {
        let loc = self.locate_any(bucket, key, version)?;
        if loc.record.delete_marker {
            return Err(ObjectError::DeleteMarker {
                version_id: loc.record.version_label().to_string(),
                addressed: version.is_some(),
                last_modified_ms: loc.record.last_modified_ms,
            });
        }
        Ok(loc)
    }

    /// The record of one version (`None`: the current one); delete markers are errors.
    pub fn head_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<ObjectRecord> {
        Ok(self.locate(bucket, key, version)?.record)
    }

    /// The noncurrent version `v` names, if any.
    fn noncurrent(&self, bucket: &str, key: &str, v: &str) -> Result<Option<Located>> {
        if v == "null" {
            return self.first_noncurrent(bucket, key, |r| !r.versioned);
        }
        let vkey = keys::version_key(bucket, key, v);
        let Some(bytes) = self.meta.get(Table::Versions, &vkey)? else {
            return Ok(None);
        };
        let record: ObjectRecord = decode(&bytes)?;
        Ok(record.is_version(v).then_some(Located {
            table: Table::Versions,
            key: vkey,
            bytes,
            record,
        }))
    }

    /// The newest noncurrent version of a key that `pred` accepts.
    pub(crate) fn first_noncurrent(
        &self,
        bucket: &str,
        key: &str,
        pred: impl Fn(&ObjectRecord) -> bool,
    ) -> Result<Option<Located>> {
        let (start, end) = keys::versions_range(bucket, key);
        let mut found = None;
        let mut failed = None;
        self.meta.scan(
            Table::Versions,
            &start,
            &end,
            &mut |k, v| match decode::<ObjectRecord>(v) {
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
        )?;
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(found),
        }
    }

    /// Adds to `b` what making a new current record does to the one it replaces (`cur`) and
    /// to the key's `null` version: with versioning enabled, or when `cur` has a version id,
    /// `cur` becomes noncurrent; a new `null` version replaces the old one (its bytes freed).
    /// Returns the freed segments (to unlink after the commit) and the number of checks added.
    pub(crate) fn displace(
        &self,
        b: &mut Batch,
        bucket: &str,
        key: &str,
        cur: Option<(&[u8], &ObjectRecord)>,
        state: Option<Versioning>,
    ) -> Result<(Vec<Segment>, usize)> {
        let new_is_null = state != Some(Versioning::Enabled);
        let mut freed = Vec::new();
        let mut checks = 0;
        if let Some((bytes, rec)) = cur {
            if rec.versioned || !new_is_null {
                let vkey = keys::version_key(bucket, key, &rec.order_id());
                b.put(Table::Versions, vkey, bytes.to_vec());
            } else {
                delete_blobs(b, &rec.segments);
                freed.extend(rec.segments.iter().cloned());
            }
        }
        let cur_is_null = cur.is_some_and(|(_, r)| !r.versioned);
        if new_is_null
            && state.is_some()
            && !cur_is_null
            && let Some(old) = self.first_noncurrent(bucket, key, |r| !r.versioned)?
        {
            b.check(Check::Equals(
                Table::Versions,
                old.key.clone(),
                old.bytes.clone(),
            ));
            checks += 1;
            b.delete(Table::Versions, old.key);
            delete_blobs(b, &old.record.segments);
            freed.extend(old.record.segments);
        }
        Ok((freed, checks))
    }

    /// Changes one version's record (tags, ACL) with a compare-and-swap; delete markers are
    /// refused. Returns the record as written.
    pub(crate) async fn update_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        change: impl Fn(&mut ObjectRecord) -> Result<()>,
    ) -> Result<ObjectRecord> {
        for _ in 0..CAS_ATTEMPTS {
            let loc = self.locate(bucket, key, version)?;
            let mut rec = loc.record;
            change(&mut rec)?;
            let mut b = Batch::new();
            b.check(Check::Equals(loc.table, loc.key.clone(), loc.bytes));
            b.put(loc.table, loc.key, encode(&rec));
            match self.meta.commit(b).await {
                Ok(()) => return Ok(rec),
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
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
        names::validate_key(key)?;
        if let Some(v) = version {
            return self.delete_exact(bucket, key, v).await;
        }
        // A bucket never versioned loses the key, if it is still unversioned at the commit.
        let mut attempt = 0;
        loop {
            let (bytes, rec) = self.bucket_entry(bucket)?;
            if rec.versioning.is_some() {
                break;
            }
            let one = [key.to_string()];
            if let Some(mut done) = self.delete_unversioned(bucket, &bytes, &one).await? {
                done.pop().unwrap_or(Ok(()))?;
                return Ok(DeleteOutcome::default());
            }
            attempt += 1;
            if attempt >= CAS_ATTEMPTS {
                return Err(ObjectError::Contended);
            }
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
        };
        let rec = self
            .commit_object(bucket, key, marker, Vec::new(), &WriteConditions::default())
            .await?;
        Ok(DeleteOutcome {
            version_id: Some(rec.version_label().to_string()),
            delete_marker: true,
        })
    }

    async fn delete_exact(&self, bucket: &str, key: &str, v: &str) -> Result<DeleteOutcome> {
        let mut outcome = DeleteOutcome {
            version_id: Some(v.to_string()),
            delete_marker: false,
        };
        for _ in 0..CAS_ATTEMPTS {
            let loc = match self.locate_any(bucket, key, Some(v)) {
                Ok(l) => l,
                Err(ObjectError::NoSuchVersion) => return Ok(outcome),
                Err(e) => return Err(e),
            };
            let mut b = Batch::new();
            b.check(Check::Equals(loc.table, loc.key.clone(), loc.bytes.clone()));
            let next = match loc.table {
                Table::Objects => self.first_noncurrent(bucket, key, |_| true)?,
                _ => None,
            };
            match next {
                // The newest noncurrent version becomes current.
                Some(next) => {
                    b.check(Check::Equals(
                        Table::Versions,
                        next.key.clone(),
                        next.bytes.clone(),
                    ));
                    b.delete(Table::Versions, next.key);
                    b.put(Table::Objects, loc.key.clone(), next.bytes);
                }
                None => {
                    b.delete(loc.table, loc.key.clone());
                }
            }
            delete_blobs(&mut b, &loc.record.segments);
            match self.meta.commit(b).await {
                Ok(()) => {
                    self.discard_files(&loc.record.segments);
                    outcome.delete_marker = loc.record.delete_marker;
                    return Ok(outcome);
                }
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
    }

    /// DeleteObjects with version ids: each entry deleted as [`Self::delete_version`] does,
    /// reported on its own.
    pub async fn delete_versions(
        &self,
        bucket: &str,
        list: &[(String, Option<String>)],
        owner: &str,
    ) -> Result<Vec<Result<DeleteOutcome>>> {
        let (bytes, rec) = self.bucket_entry(bucket)?;
        if rec.versioning.is_none() && list.iter().all(|(_, v)| v.is_none()) {
            let keys: Vec<String> = list.iter().map(|(k, _)| k.clone()).collect();
            // `None`: the bucket changed meanwhile (versioning turned on?): entry by entry.
            if let Some(done) = self.delete_unversioned(bucket, &bytes, &keys).await? {
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
                batch.push(self.delete_version(bucket, key, version.as_deref(), owner));
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
                        self.delete_version(bucket, &entry.0, entry.1.as_deref(), owner)
                            .await
                    }
                },
            };
            out.push(r);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_increase_and_validate() {
        let a = new_version_id();
        let b = new_version_id();
        assert!(b > a, "{b} > {a}");
        assert!(valid_version_id(&a) && valid_version_id("null"));
        assert!(!valid_version_id("NULL") && !valid_version_id(&a.to_uppercase()));
        assert!(!valid_version_id("abc"));
    }
}
