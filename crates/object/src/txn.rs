//! How the object layer talks to the metadata store: every read-then-commit runs as one
//! transaction through [`rustfs_meta::transact`] (the one retry rule: what the body reads is its
//! conflict set, a conflict reruns it), single-record reads that commit nothing use
//! [`rustfs_meta::TxnStore::read_key`], and the helpers here read and decode records inside a
//! transaction. A transaction body may run several times, so it has no effect outside the
//! transaction: files are unlinked by the caller after the commit succeeded.

use rustfs_meta::{MetaError, Retryable, ScanStep, Table, Txn, TxnError, TxnFuture, decode};
use serde::de::DeserializeOwned;

use crate::{ObjectError, ObjectStore, Result};

impl Retryable for ObjectError {
    fn is_conflict(&self) -> bool {
        matches!(self, ObjectError::Meta(MetaError::TxnConflict))
    }
}

impl From<TxnError<ObjectError>> for ObjectError {
    fn from(e: TxnError<ObjectError>) -> Self {
        match e {
            TxnError::Aborted(e) => e,
            // Every attempt lost to a concurrent writer of what it read: retry later.
            TxnError::Conflict(_) => ObjectError::Contended,
            TxnError::Failed(e) => ObjectError::Meta(e),
            TxnError::Unknown(e) => ObjectError::CommitUnknown(e),
        }
    }
}

/// The record at `key` of `table`, decoded, read inside `t` (so it joins its conflict set).
pub(crate) async fn get<T: DeserializeOwned>(
    t: &mut (dyn Txn + '_),
    table: Table,
    key: &[u8],
) -> Result<Option<T>> {
    match t.get(table, key).await? {
        Some(v) => Ok(Some(decode(&v)?)),
        None => Ok(None),
    }
}

/// [`get`] with the stored bytes (to move a record to another table unchanged).
pub(crate) async fn get_raw<T: DeserializeOwned>(
    t: &mut (dyn Txn + '_),
    table: Table,
    key: &[u8],
) -> Result<Option<(Vec<u8>, T)>> {
    match t.get(table, key).await? {
        Some(v) => {
            let rec = decode(&v)?;
            Ok(Some((v, rec)))
        }
        None => Ok(None),
    }
}

/// Every record in `[start, end)` of `table` (at most `limit`), decoded with its key and bytes;
/// the first undecodable one fails the read.
pub(crate) async fn scan_records<T: DeserializeOwned + Send>(
    t: &mut (dyn Txn + '_),
    table: Table,
    start: &[u8],
    end: &[u8],
    limit: usize,
) -> Result<Vec<(Vec<u8>, Vec<u8>, T)>> {
    let mut out = Vec::new();
    let mut failed = None;
    if limit == 0 {
        return Ok(out);
    }
    t.scan(table, start, end, &mut |k, v| match decode(v) {
        Ok(r) => {
            out.push((k.to_vec(), v.to_vec(), r));
            if out.len() >= limit {
                ScanStep::Stop
            } else {
                ScanStep::Next
            }
        }
        Err(e) => {
            failed = Some(e);
            ScanStep::Stop
        }
    })
    .await?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(out),
    }
}

/// Whether `[start, end)` of `table` holds any key (the scan stops at the first).
pub(crate) async fn any_key(
    t: &mut (dyn Txn + '_),
    table: Table,
    start: &[u8],
    end: &[u8],
) -> Result<bool> {
    let mut any = false;
    t.scan(table, start, end, &mut |_, _| {
        any = true;
        ScanStep::Stop
    })
    .await?;
    Ok(any)
}

impl ObjectStore {
    /// Runs `body` as one metadata transaction under the one retry rule and commits it. A
    /// body is written `|t| Box::pin(async move { ... })` (see [`rustfs_meta::TxnFuture`]).
    pub(crate) async fn transact<'s, T, F>(&'s self, body: F) -> Result<T>
    where
        F: for<'t> FnMut(&'t mut (dyn Txn + 's)) -> TxnFuture<'t, T, ObjectError>,
    {
        rustfs_meta::transact(&*self.meta, body)
            .await
            .map_err(ObjectError::from)
    }

    /// The latest committed record at `key` of `table`, read on its own (no transaction to
    /// commit: a GET or HEAD of one record, an access check).
    pub(crate) async fn read_record<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &[u8],
    ) -> Result<Option<T>> {
        match self.meta.read_key(table, key).await? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    /// A new version order id, drawn once, when a transaction body first needs it
    /// ([`OrderDraw::get`]). The body passes it through [`order_after`] with the record it
    /// displaces.
    pub(crate) fn order_draw(&self) -> OrderDraw<'_> {
        OrderDraw {
            meta: &*self.meta,
            id: tokio::sync::OnceCell::new(),
        }
    }
}

/// One version order id for a write, drawn on first need and kept across the reruns of its
/// transaction. A body asks for it together with its first reads (`tokio::join!`), so on a
/// backend that batches (PostgreSQL) the draw and the reads share one round trip instead of
/// the draw waiting before the transaction starts. Drawing is not part of the transaction: an
/// id drawn before a concurrent writer committed is raised past that writer's record by
/// [`order_after`], so drawing early or late changes nothing but the wait.
pub(crate) struct OrderDraw<'a> {
    meta: &'a dyn rustfs_meta::TxnStore,
    id: tokio::sync::OnceCell<String>,
}

impl OrderDraw<'_> {
    /// The id, drawn by the first call (a failed draw is tried again by the next call).
    pub(crate) async fn get(&self) -> Result<&str> {
        let id = self
            .id
            .get_or_try_init(|| async {
                let mut ids = self.meta.order_ids(1).await?;
                ids.pop().ok_or_else(|| {
                    ObjectError::Meta(MetaError::Storage("no order id drawn".into()))
                })
            })
            .await?;
        Ok(id.as_str())
    }
}

/// The order id a new current record gets: `drawn`, unless the record it displaces (read in
/// the same transaction) already orders at or after it (drawn before a concurrent writer
/// committed), then one whose ordering part is just past that record's. The random part keeps
/// ids of separate writers distinct; the transaction's read of the displaced record keeps the
/// ids of one key increasing in commit order.
pub(crate) fn order_after(drawn: &str, displaced: Option<&str>) -> String {
    match displaced {
        Some(d) if d >= drawn => {
            let high = d
                .get(..16)
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .unwrap_or(0);
            let id = rustfs_meta::order::order_id(high.saturating_add(1));
            if id.as_str() > d {
                id
            } else {
                // The ordering part cannot grow (all ones): order by the random part alone.
                format!("{}{}", &d[..16.min(d.len())], "f".repeat(16))
            }
        }
        _ => drawn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_id_passes_the_record_it_displaces() {
        let drawn = rustfs_meta::order::order_id(10);
        assert_eq!(order_after(&drawn, None), drawn);
        let older = rustfs_meta::order::order_id(9);
        assert_eq!(order_after(&drawn, Some(&older)), drawn);
        let newer = rustfs_meta::order::order_id(12);
        let id = order_after(&drawn, Some(&newer));
        assert!(id > newer, "{id} > {newer}");
        assert_eq!(&id[..16], &format!("{:016x}", 13));
        // Equal ordering parts: still after.
        let same = rustfs_meta::order::order_id(10);
        assert!(order_after(&drawn, Some(&same)) > same);
    }
}
