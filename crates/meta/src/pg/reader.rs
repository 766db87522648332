//! The batched reader: point reads and order-id draws that arrive together share one round
//! trip and one statement.
//!
//! Every [`PgStore::read_key`](super::PgStore), every point read of a grouped transaction
//! (see [`super::txn`]) and every [`order_ids`](super::PgStore) draw becomes a request to one
//! task. The task takes whatever requests are waiting (whole requests, up to
//! [`MAX_BATCH_KEYS`] keys) and sends them on a connection of its own pool as **one** `SELECT`
//! (one `k = ANY($n)` branch per table, joined by `UNION ALL`), pipelined with one
//! `nextval ... generate_series` for all the ids asked for. At most `in_flight` batches run at
//! once; while all are out, new requests wait in the queue and go together in the next batch,
//! so batches grow with the load and a lone request still goes out at once.
//!
//! **What a read sees.** The `SELECT` runs outside any explicit transaction, so the database
//! takes its snapshot when the statement starts, which is after every request in the batch
//! was made. A read therefore sees every commit acknowledged before it was asked for (strong
//! read-after-write, as a read on its own connection did). All keys of one request are in one
//! statement, so they are read from one snapshot: one consistent state of the database (a
//! request is never split between batches). Two requests of one caller may come from two
//! different snapshots; a transaction that reads through here validates its reads before it
//! reports anything (see [`super::txn`]).
//!
//! **Order ids.** The sequence is drawn by a statement sent after the request was made, so an
//! id drawn after reading a record orders after that record's (whose id was drawn before it
//! was committed), as `docs/format.md` asks; the ids one request gets are increasing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use deadpool_postgres::{Object, Pool};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_postgres::types::ToSql;

use super::schema::{ORDER_SEQUENCE, relation};
use super::statements::{Query, in_order};
use super::{error, error_ref};
use crate::MetaError;
use crate::store::Table;

/// Most keys one batch carries (a request with more goes alone): a bound on one statement's
/// size and on the memory of its answer.
pub(crate) const MAX_BATCH_KEYS: usize = 512;

/// The values a request asked for (in its order) and its order ids (increasing).
struct Answer {
    values: Vec<Option<Vec<u8>>>,
    ids: Vec<u64>,
}

struct Request {
    keys: Vec<(Table, Vec<u8>)>,
    ids: usize,
    done: oneshot::Sender<Result<Answer, MetaError>>,
}

/// The handle reads go through; the task ends when the store is dropped.
pub(crate) struct Reader {
    tx: mpsc::UnboundedSender<Request>,
}

impl Reader {
    /// Starts the reader task on the current runtime; `pool` is its own (`in_flight`
    /// connections).
    pub(crate) fn start(pool: Pool, in_flight: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, rx, in_flight.max(1)));
        Self { tx }
    }

    async fn ask(&self, keys: Vec<(Table, Vec<u8>)>, ids: usize) -> Result<Answer, MetaError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Request { keys, ids, done })
            .map_err(|_| MetaError::Closed)?;
        wait.await.unwrap_or(Err(MetaError::Closed))
    }

    /// The latest committed values of `keys` (absent: `None`), all from one snapshot taken
    /// after this call began.
    pub(crate) async fn read(
        &self,
        keys: Vec<(Table, Vec<u8>)>,
    ) -> Result<Vec<Option<Vec<u8>>>, MetaError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.ask(keys, 0).await?.values)
    }

    /// `n` values of the order sequence, increasing, drawn after this call began.
    pub(crate) async fn order_ids(&self, n: usize) -> Result<Vec<u64>, MetaError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        Ok(self.ask(Vec::new(), n).await?.ids)
    }
}

async fn run(pool: Pool, mut rx: mpsc::UnboundedReceiver<Request>, in_flight: usize) {
    let slots = Arc::new(Semaphore::new(in_flight));
    // A request taken from the queue that did not fit the previous batch.
    let mut held: Option<Request> = None;
    loop {
        // A free slot first: while every batch is out, requests gather in the queue.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = match held.take() {
            Some(r) => r,
            None => match rx.recv().await {
                Some(r) => r,
                None => return,
            },
        };
        let mut keys = first.keys.len();
        let mut batch = vec![first];
        while keys < MAX_BATCH_KEYS {
            match rx.try_recv() {
                Ok(r) if keys + r.keys.len() > MAX_BATCH_KEYS => {
                    held = Some(r);
                    break;
                }
                Ok(r) => {
                    keys += r.keys.len();
                    batch.push(r);
                }
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            serve(&pool, batch).await;
            drop(slot);
        });
    }
}

/// A copy of a batch's failure for each request in it.
fn dup(e: &MetaError) -> MetaError {
    match e {
        MetaError::Unavailable(s) => MetaError::Unavailable(s.clone()),
        MetaError::Closed => MetaError::Closed,
        MetaError::TxnConflict => MetaError::TxnConflict,
        e => MetaError::Storage(e.to_string()),
    }
}

/// The statement reading the keys of `tables` (in this order), parameter `$i` holding the
/// keys of the i-th: each row is the table's index in [`Table::EVERY`], the key and the value.
fn read_sql(tables: &[Table]) -> String {
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "SELECT {}::INT2, k, v FROM {} WHERE k = ANY(${}::BYTEA[])",
                *t as usize,
                relation(*t),
                i + 1
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

type Values = HashMap<(Table, Vec<u8>), Vec<u8>>;

async fn serve(pool: &Pool, batch: Vec<Request>) {
    let result = match super::take(pool).await {
        Ok(client) => {
            let r = query(&client, &batch).await;
            if matches!(r, Err(MetaError::Unavailable(_))) {
                // Broken: never handed out again. The pool's recycling check only sees a
                // closed socket once the connection task has noticed, so a session the server
                // just ended could otherwise be handed to the next batch.
                drop(Object::take(client));
            }
            r
        }
        Err(e) => Err(e),
    };
    match result {
        Ok((values, ids)) => {
            let mut ids = ids.into_iter();
            for r in batch {
                let answer = Answer {
                    values: r
                        .keys
                        .into_iter()
                        .map(|k| values.get(&k).cloned())
                        .collect(),
                    ids: ids.by_ref().take(r.ids).collect(),
                };
                let _ = r.done.send(Ok(answer));
            }
        }
        Err(e) => {
            for r in batch {
                let _ = r.done.send(Err(dup(&e)));
            }
        }
    }
}

/// Runs a batch's statements, pipelined: the read (when any key is asked for) and the draw
/// (when any id is). Returns the values found and the ids drawn, increasing.
async fn query(client: &Object, batch: &[Request]) -> Result<(Values, Vec<u64>), MetaError> {
    let mut by_table: BTreeMap<Table, BTreeSet<&[u8]>> = BTreeMap::new();
    for r in batch {
        for (t, k) in &r.keys {
            by_table.entry(*t).or_default().insert(k);
        }
    }
    let ids: usize = batch.iter().map(|r| r.ids).sum();
    let tables: Vec<Table> = by_table.keys().copied().collect();
    let params: Vec<Vec<&[u8]>> = by_table
        .values()
        .map(|ks| ks.iter().copied().collect())
        .collect();
    let read = match tables.is_empty() {
        true => None,
        false => Some(
            client
                .prepare_cached(&read_sql(&tables))
                .await
                .map_err(error)?,
        ),
    };
    let draw = match ids {
        0 => None,
        _ => Some(
            client
                .prepare_cached(&format!(
                    "SELECT nextval('{ORDER_SEQUENCE}') FROM generate_series(1, $1::BIGINT)"
                ))
                .await
                .map_err(error)?,
        ),
    };
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let n = ids as i64;
    let n_param: [&(dyn ToSql + Sync); 1] = [&n];
    let mut queries: Vec<Query<'_>> = Vec::new();
    if let Some(st) = &read {
        queries.push(Box::pin(client.query(st, &refs)));
    }
    if let Some(st) = &draw {
        queries.push(Box::pin(client.query(st, &n_param)));
    }
    let mut results = in_order(queries).await.into_iter();
    let mut values = Values::new();
    if read.is_some() {
        let rows = results.next().ok_or(MetaError::Closed)?.map_err(error)?;
        for row in rows {
            let (t, k, v): (i16, Vec<u8>, Vec<u8>) = (
                row.try_get(0).map_err(|e| error_ref(&e))?,
                row.try_get(1).map_err(|e| error_ref(&e))?,
                row.try_get(2).map_err(|e| error_ref(&e))?,
            );
            let t = usize::try_from(t)
                .ok()
                .and_then(|i| Table::EVERY.get(i).copied())
                .ok_or_else(|| MetaError::Storage(format!("read batch: unknown table {t}")))?;
            values.insert((t, k), v);
        }
    }
    let mut drawn = Vec::with_capacity(ids);
    if draw.is_some() {
        let rows = results.next().ok_or(MetaError::Closed)?.map_err(error)?;
        for row in rows {
            drawn.push(row.try_get::<_, i64>(0).map_err(|e| error_ref(&e))? as u64);
        }
        if drawn.len() != ids {
            return Err(MetaError::Storage(format!(
                "drew {} order ids of {ids}",
                drawn.len()
            )));
        }
        drawn.sort_unstable();
    }
    Ok((values, drawn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_reads_every_table_asked_for() {
        assert_eq!(
            read_sql(&[Table::Buckets]),
            "SELECT 0::INT2, k, v FROM rustfs_buckets WHERE k = ANY($1::BYTEA[])"
        );
        assert_eq!(
            read_sql(&[Table::Objects, Table::Blobs]),
            "SELECT 1::INT2, k, v FROM rustfs_objects WHERE k = ANY($1::BYTEA[]) UNION ALL \
             SELECT 5::INT2, k, v FROM rustfs_blobs WHERE k = ANY($2::BYTEA[])"
        );
    }
}
