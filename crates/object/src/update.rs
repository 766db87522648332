//! Read-modify-write of one stored record (a bucket's settings, an object's tags or ACL) as one
//! transaction: the record read is in its conflict set, so concurrent changes to different
//! fields never undo each other (a conflict reruns the change on the newer record).

use rustfs_meta::{Table, encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::txn::get;
use crate::{ObjectError, ObjectStore, Result};

impl ObjectStore {
    /// Applies `change` to the record at `key` of `table` and commits it; `missing` is the
    /// error when there is no record. Returns the record as written.
    pub(crate) async fn update_record<T: Serialize + DeserializeOwned + Send>(
        &self,
        table: Table,
        key: &[u8],
        missing: impl Fn() -> ObjectError + Sync,
        change: impl Fn(&mut T) -> Result<()> + Sync,
    ) -> Result<T> {
        let (missing, change) = (&missing, &change);
        self.transact(|t| {
            Box::pin(async move {
                let Some(mut rec) = get::<T>(t, table, key).await? else {
                    return Err(missing());
                };
                change(&mut rec)?;
                t.put(table, key.to_vec(), encode(&rec));
                Ok(rec)
            })
        })
        .await
    }
}

#[cfg(test)]
mod send_check {
    use super::*;

    /// The futures the S3 edge awaits must be `Send` (s3s spawns them).
    #[allow(dead_code)]
    fn update_record_is_send(s: &ObjectStore) {
        fn is_send<T: Send>(_: T) {}
        is_send(s.update_record::<rustfs_meta::BucketRecord>(
            Table::Buckets,
            b"x",
            || ObjectError::NoSuchBucket,
            |_| Ok(()),
        ));
    }
}
