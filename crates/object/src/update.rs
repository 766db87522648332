//! Read-modify-write of one stored record (a bucket's settings, an object's tags or ACL) as a
//! compare-and-swap: the commit applies only if the record is still the one read, so
//! concurrent changes to different fields never undo each other; otherwise it re-reads and
//! retries.

use rustfs_meta::{Batch, Check, MetaError, Table, decode, encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::objects::CAS_ATTEMPTS;
use crate::{ObjectError, ObjectStore, Result};

impl ObjectStore {
    /// Applies `change` to the record at `key` of `table` and commits it; `missing` is the
    /// error when there is no record. Returns the record as written.
    pub(crate) async fn update_record<T: Serialize + DeserializeOwned>(
        &self,
        table: Table,
        key: &[u8],
        missing: impl Fn() -> ObjectError,
        change: impl Fn(&mut T) -> Result<()>,
    ) -> Result<T> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(cur) = self.meta.get(table, key)? else {
                return Err(missing());
            };
            let mut rec: T = decode(&cur)?;
            change(&mut rec)?;
            let mut b = Batch::new();
            b.check(Check::Equals(table, key.to_vec(), cur));
            b.put(table, key.to_vec(), encode(&rec));
            match self.meta.commit(b).await {
                Ok(()) => return Ok(rec),
                Err(MetaError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ObjectError::Contended)
    }
}
