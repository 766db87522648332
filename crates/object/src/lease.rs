//! Leases: which node runs a piece of background work (a bucket's lifecycle pass) when several
//! share one metadata store. A lease is a row in the `system` table under `lease/<name>`
//! holding the holder's id and an expiry; it is taken or renewed in one transaction of the
//! `TxnStore` (serializable on every backend), so of two contenders exactly one wins. The
//! holder renews it while it works; when a holder dies its lease simply expires and another
//! node takes the work over. A single server holds every lease itself.

use std::time::Duration;

use rustfs_meta::{Table, TxnStore, decode, encode};
use serde::{Deserialize, Serialize};

use crate::{ObjectError, Result, now_ms};

/// A lease row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// The id of the node holding it.
    pub holder: String,
    /// Until when, milliseconds since the Unix epoch.
    pub expires_ms: i64,
}

fn lease_key(name: &str) -> Vec<u8> {
    format!("lease/{name}").into_bytes()
}

/// Takes the lease `name` for `holder` for `ttl` (or renews it when `holder` has it already).
/// `true` when `holder` holds it now; `false` when another holder's lease has not expired.
pub async fn acquire(meta: &dyn TxnStore, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
    acquire_at(meta, name, holder, ttl, now_ms()).await
}

/// [`acquire`] at the time `now` (milliseconds since the Unix epoch).
pub async fn acquire_at(
    meta: &dyn TxnStore,
    name: &str,
    holder: &str,
    ttl: Duration,
    now: i64,
) -> Result<bool> {
    let key = lease_key(name);
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let key = &key;
    rustfs_meta::transact(meta, |t| {
        Box::pin(async move {
            if let Some(bytes) = t.get(Table::System, key).await? {
                let cur: LeaseRecord = decode(&bytes)?;
                if cur.holder != holder && cur.expires_ms > now {
                    return Ok(false);
                }
            }
            let rec = LeaseRecord {
                holder: holder.to_string(),
                expires_ms: now.saturating_add(ttl_ms),
            };
            t.put(Table::System, key.clone(), encode(&rec));
            Ok::<_, ObjectError>(true)
        })
    })
    .await
    .map_err(ObjectError::from)
}

/// Gives the lease up, if `holder` has it, so another node need not wait for it to expire.
pub async fn release(meta: &dyn TxnStore, name: &str, holder: &str) -> Result<()> {
    let key = lease_key(name);
    let key = &key;
    rustfs_meta::transact(meta, |t| {
        Box::pin(async move {
            if let Some(bytes) = t.get(Table::System, key).await? {
                let cur: LeaseRecord = decode(&bytes)?;
                if cur.holder == holder {
                    t.delete(Table::System, key.clone());
                }
            }
            Ok::<_, ObjectError>(())
        })
    })
    .await
    .map_err(ObjectError::from)
}

/// The lease's current row, if any (expired or not).
pub async fn current(meta: &dyn TxnStore, name: &str) -> Result<Option<LeaseRecord>> {
    match meta.read_key(Table::System, &lease_key(name)).await? {
        Some(b) => Ok(Some(decode(&b)?)),
        None => Ok(None),
    }
}
