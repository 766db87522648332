//! Deletions of data files on volumes that could not take them (offline, or their node
//! down), kept in [`Table::Deferred`] (`volume id u16 BE ++ file id`) until done, so no
//! garbage stays for good. Recording one is a write in the same store as the records; a drain
//! deletes, and removes a row only after its deletion succeeded.

use rustfs_meta::{ScanStep, Table, TxnStore, transact};

use crate::ClusterError;

fn key(volume: u16, file: &str) -> Vec<u8> {
    [&volume.to_be_bytes()[..], file.as_bytes()].concat()
}

/// Records that `file` on `volume` is to be deleted.
pub async fn defer(store: &dyn TxnStore, volume: u16, file: &str) -> Result<(), ClusterError> {
    let k = key(volume, file);
    let k = &k;
    transact(store, |t| {
        Box::pin(async move {
            t.put(Table::Deferred, k.clone(), Vec::new());
            Ok::<(), ClusterError>(())
        })
    })
    .await?;
    Ok(())
}

/// Records many deletions (`(volume, file)`) in one transaction.
pub async fn defer_many(store: &dyn TxnStore, files: &[(u16, String)]) -> Result<(), ClusterError> {
    if files.is_empty() {
        return Ok(());
    }
    transact(store, |t| {
        Box::pin(async move {
            for (volume, file) in files {
                t.put(Table::Deferred, key(*volume, file), Vec::new());
            }
            Ok::<(), ClusterError>(())
        })
    })
    .await?;
    Ok(())
}

/// Up to `max` files waiting for deletion on `volume`.
pub async fn pending(
    store: &dyn TxnStore,
    volume: u16,
    max: usize,
) -> Result<Vec<String>, ClusterError> {
    let start = volume.to_be_bytes();
    let end = match volume.checked_add(1) {
        Some(next) => next.to_be_bytes().to_vec(),
        None => Vec::new(),
    };
    let (start, end) = (&start, &end);
    let r = transact(store, |t| {
        Box::pin(async move {
            let mut out = Vec::new();
            t.scan(Table::Deferred, start, end, &mut |k, _| {
                out.push(String::from_utf8_lossy(k.get(2..).unwrap_or_default()).into_owned());
                if out.len() >= max {
                    ScanStep::Stop
                } else {
                    ScanStep::Next
                }
            })
            .await?;
            Ok::<_, ClusterError>(out)
        })
    })
    .await?;
    Ok(r)
}

/// Deletes up to `max` waiting files of `volume` with `delete` (true: gone, or was never
/// there) and forgets those it deleted. Returns how many were done.
pub async fn drain(
    store: &dyn TxnStore,
    volume: u16,
    max: usize,
    delete: &(dyn Fn(&str) -> bool + Sync),
) -> Result<usize, ClusterError> {
    let files = pending(store, volume, max).await?;
    let done: Vec<Vec<u8>> = files
        .iter()
        .filter(|f| delete(f))
        .map(|f| key(volume, f))
        .collect();
    let n = done.len();
    if n > 0 {
        let done = &done;
        transact(store, |t| {
            Box::pin(async move {
                for k in done {
                    t.delete(Table::Deferred, k.clone());
                }
                Ok::<(), ClusterError>(())
            })
        })
        .await?;
    }
    Ok(n)
}
