//! A SERIALIZABLE transaction on one pooled connection.
//!
//! `BEGIN` is sent with the first read (one round trip). Reads go to the database and are
//! merged with the transaction's buffered writes (read-your-writes without holding row locks
//! before commit). The database's serializable isolation puts every row and range read into
//! the conflict set. At commit, `BEGIN` (if no read came first), the writes (per table: range
//! deletes, one `DELETE ... = ANY` for deleted keys, one `INSERT ... ON CONFLICT` from
//! `unnest` for written keys) and `COMMIT` are pipelined in one round trip.

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::Poll;

use async_trait::async_trait;
use deadpool_postgres::Object;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use super::schema::relation;
use super::{error, is_conflict, is_unavailable};
use crate::MetaError;
use crate::store::Table;
use crate::txn::{CommitError, Local, Overlay, Pages, Txn, Visit, merged_scan};

const BEGIN: &str = "BEGIN ISOLATION LEVEL SERIALIZABLE";
const COMMIT: &str = "COMMIT";

/// The statements of one table.
struct Sql {
    get: String,
    page: String,
    page_open: String,
    upsert: String,
    delete_keys: String,
    delete_range: String,
    delete_range_open: String,
}

impl Sql {
    fn new(t: Table) -> Self {
        let r = relation(t);
        Self {
            get: format!("SELECT v FROM {r} WHERE k = $1"),
            page: format!(
                "SELECT k, v FROM {r} WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3::BIGINT"
            ),
            page_open: format!("SELECT k, v FROM {r} WHERE k >= $1 ORDER BY k LIMIT $2::BIGINT"),
            upsert: format!(
                "INSERT INTO {r} (k, v) SELECT * FROM unnest($1::BYTEA[], $2::BYTEA[]) \
                 ON CONFLICT (k) DO UPDATE SET v = excluded.v"
            ),
            delete_keys: format!("DELETE FROM {r} WHERE k = ANY($1::BYTEA[])"),
            delete_range: format!("DELETE FROM {r} WHERE k >= $1 AND k < $2"),
            delete_range_open: format!("DELETE FROM {r} WHERE k >= $1"),
        }
    }
}

/// Indexed by `Table as usize` (the order of [`Table::EVERY`]).
static SQL: LazyLock<Vec<Sql>> =
    LazyLock::new(|| Table::EVERY.iter().map(|t| Sql::new(*t)).collect());

fn sql(t: Table) -> &'static Sql {
    &SQL[t as usize]
}

/// The point read of `t` (`$1`: the key).
pub(crate) fn get_sql(t: Table) -> &'static str {
    &sql(t).get
}

type Query<'a> = Pin<Box<dyn Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send + 'a>>;

/// Runs queries pipelined, in order: each is first polled (and so sent) in the order given,
/// and the server answers them in that order.
async fn in_order(mut queries: Vec<Query<'_>>) -> Vec<Result<Vec<Row>, tokio_postgres::Error>> {
    let mut out: Vec<Option<Result<Vec<Row>, tokio_postgres::Error>>> =
        queries.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (q, o) in queries.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match q.as_mut().poll(cx) {
                    Poll::Ready(r) => *o = Some(r),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// Why the SQL transaction can no longer commit.
#[derive(Debug, Clone)]
enum Poison {
    Conflict,
    Failed(String),
    Lost(String),
}

impl Poison {
    fn of(e: &tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) if is_conflict(db.code()) => Poison::Conflict,
            Some(db) if is_unavailable(db.code()) => Poison::Lost(e.to_string()),
            Some(_) => Poison::Failed(e.to_string()),
            None => Poison::Lost(e.to_string()),
        }
    }

    fn error(&self) -> MetaError {
        match self {
            Poison::Conflict => MetaError::TxnConflict,
            Poison::Failed(m) => MetaError::Storage(m.clone()),
            Poison::Lost(m) => MetaError::Unavailable(m.clone()),
        }
    }
}

/// The connection and the state of the SQL transaction on it.
struct Conn {
    /// `None` only once handed back.
    client: Option<Object>,
    /// `BEGIN` was sent and no `COMMIT`/`ROLLBACK` yet.
    open: bool,
    poisoned: Option<Poison>,
}

impl Conn {
    fn client(&self) -> Result<&Object, MetaError> {
        self.client.as_ref().ok_or(MetaError::Closed)
    }

    /// One read inside the transaction (with `BEGIN` ahead of it when not begun).
    async fn read(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, MetaError> {
        if let Some(p) = &self.poisoned {
            return Err(p.error());
        }
        let result = {
            let client = self.client.as_ref().ok_or(MetaError::Closed)?;
            let stmt = client.prepare_cached(sql).await;
            match stmt {
                Err(e) => Err(e),
                Ok(stmt) if self.open => client.query(&stmt, params).await,
                Ok(stmt) => {
                    let begin = client.prepare_cached(BEGIN).await.map_err(error)?;
                    self.open = true;
                    let mut r = in_order(vec![
                        Box::pin(client.query(&begin, &[])),
                        Box::pin(client.query(&stmt, params)),
                    ])
                    .await
                    .into_iter();
                    match (r.next(), r.next()) {
                        (Some(Ok(_)), Some(read)) => read,
                        (Some(Err(e)), _) => Err(e),
                        _ => return Err(MetaError::Closed),
                    }
                }
            }
        };
        result.map_err(|e| {
            let p = Poison::of(&e);
            self.poisoned = Some(p.clone());
            p.error()
        })
    }
}

#[async_trait]
impl Pages for Conn {
    async fn page(
        &mut self,
        table: Table,
        from: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, MetaError> {
        let limit = limit as i64;
        let rows = if end.is_empty() {
            self.read(&sql(table).page_open, &[&from, &limit]).await?
        } else {
            self.read(&sql(table).page, &[&from, &end, &limit]).await?
        };
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(error)
    }
}

pub(crate) struct PgTxn {
    conn: Conn,
    overlay: Overlay,
}

impl PgTxn {
    /// Sends the buffered writes and `COMMIT` (with `BEGIN` ahead when no read came first),
    /// pipelined.
    async fn write_and_commit(&mut self) -> Result<(), CommitError> {
        if let Some(p) = self.conn.poisoned.clone() {
            // Drop rolls the aborted transaction back.
            return Err(match p {
                Poison::Conflict => CommitError::Conflict,
                p => CommitError::Failed(p.error()),
            });
        }
        if self.overlay.is_empty() && !self.conn.open {
            return Ok(());
        }
        let overlay = std::mem::take(&mut self.overlay);
        let writes: Vec<TableWrites<'_>> = overlay
            .tables
            .iter()
            .map(|(t, w)| {
                let mut tw = TableWrites {
                    sql: sql(*t),
                    ranges: &w.ranges,
                    deleted: Vec::new(),
                    keys: Vec::new(),
                    values: Vec::new(),
                };
                for (k, v) in &w.entries {
                    match v {
                        Some(v) => {
                            tw.keys.push(k);
                            tw.values.push(v);
                        }
                        None => tw.deleted.push(k),
                    }
                }
                tw
            })
            .collect();
        let client = self.conn.client().map_err(CommitError::Failed)?;
        if client.is_closed() {
            return Err(CommitError::Failed(MetaError::Unavailable(
                "connection to the metadata database closed".into(),
            )));
        }
        // Statements first (cached per connection after their first use).
        let prepare = async |s: &str| client.prepare_cached(s).await.map_err(error);
        let begin = if self.conn.open {
            None
        } else {
            Some(prepare(BEGIN).await.map_err(CommitError::Failed)?)
        };
        let commit = prepare(COMMIT).await.map_err(CommitError::Failed)?;
        struct Prepared<'a> {
            w: &'a TableWrites<'a>,
            range: Option<Statement>,
            range_open: Option<Statement>,
            delete: Option<Statement>,
            upsert: Option<Statement>,
        }
        let mut prepared = Vec::with_capacity(writes.len());
        for w in &writes {
            let has_bounded = w.ranges.iter().any(|(_, e)| !e.is_empty());
            let has_open = w.ranges.iter().any(|(_, e)| e.is_empty());
            let p = async |yes: bool, s: &str| -> Result<Option<Statement>, CommitError> {
                if yes {
                    Ok(Some(prepare(s).await.map_err(CommitError::Failed)?))
                } else {
                    Ok(None)
                }
            };
            prepared.push(Prepared {
                w,
                range: p(has_bounded, &w.sql.delete_range).await?,
                range_open: p(has_open, &w.sql.delete_range_open).await?,
                delete: p(!w.deleted.is_empty(), &w.sql.delete_keys).await?,
                upsert: p(!w.keys.is_empty(), &w.sql.upsert).await?,
            });
        }
        let mut queries: Vec<Query<'_>> = Vec::new();
        if let Some(b) = &begin {
            queries.push(Box::pin(client.query(b, &[])));
        }
        for p in &prepared {
            for (s, e) in p.w.ranges {
                match (&p.range, &p.range_open, e.is_empty()) {
                    (_, Some(st), true) => {
                        queries.push(Box::pin(async move { client.query(st, &[s]).await }))
                    }
                    (Some(st), _, false) => {
                        queries.push(Box::pin(async move { client.query(st, &[s, e]).await }))
                    }
                    _ => {}
                }
            }
            if let Some(st) = &p.delete {
                let deleted = &p.w.deleted;
                queries.push(Box::pin(async move { client.query(st, &[deleted]).await }));
            }
            if let Some(st) = &p.upsert {
                let (keys, values) = (&p.w.keys, &p.w.values);
                queries.push(Box::pin(
                    async move { client.query(st, &[keys, values]).await },
                ));
            }
        }
        queries.push(Box::pin(client.query(&commit, &[])));
        let results = in_order(queries).await;
        let result = outcome(results);
        // COMMIT ended the transaction (or the connection is gone and the pool drops it).
        self.conn.open = false;
        result
    }

    pub(crate) fn new(client: Object) -> Self {
        Self {
            conn: Conn {
                client: Some(client),
                open: false,
                poisoned: None,
            },
            overlay: Overlay::default(),
        }
    }
}

impl Drop for PgTxn {
    /// An abandoned transaction is rolled back before its connection goes back to the pool
    /// (or the connection is dropped when that cannot be done).
    fn drop(&mut self) {
        let Some(client) = self.conn.client.take() else {
            return;
        };
        if matches!(self.conn.poisoned, Some(Poison::Lost(_))) {
            // Broken (the server ended the session, the socket failed): never handed out
            // again. The pool's own check only sees a closed socket once the connection task
            // has noticed, which may be after this connection is back in the pool.
            drop(Object::take(client));
            return;
        }
        if !self.conn.open {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(client));
                    }
                });
            }
            Err(_) => drop(Object::take(client)),
        }
    }
}

/// A table's writes, borrowed for the commit's statements.
struct TableWrites<'a> {
    sql: &'static Sql,
    ranges: &'a [(Vec<u8>, Vec<u8>)],
    deleted: Vec<&'a [u8]>,
    keys: Vec<&'a [u8]>,
    values: Vec<&'a [u8]>,
}

/// The outcome of a commit from its pipelined answers (the last one is `COMMIT`'s).
fn outcome(results: Vec<Result<Vec<Row>, tokio_postgres::Error>>) -> Result<(), CommitError> {
    let Some((commit, before)) = results.split_last() else {
        return Err(CommitError::Unknown(MetaError::Closed));
    };
    for r in before {
        if let Err(e) = r {
            return Err(match e.as_db_error() {
                // The server refused a statement: the transaction is aborted, and the COMMIT
                // after it only rolled back.
                Some(db) if is_conflict(db.code()) => CommitError::Conflict,
                // A refused statement (the server shutting down ends the session with it)
                // aborts the transaction: the COMMIT after it never applies.
                Some(_) => CommitError::Failed(error_ref(e)),
                // The connection broke: COMMIT may have run before it did.
                None => CommitError::Unknown(error_ref(e)),
            });
        }
    }
    match commit {
        Ok(_) => Ok(()),
        Err(e) => Err(match e.as_db_error() {
            Some(db) if is_conflict(db.code()) => CommitError::Conflict,
            Some(db) if *db.code() == SqlState::T_R_STATEMENT_COMPLETION_UNKNOWN => {
                CommitError::Unknown(error_ref(e))
            }
            // The session ended while COMMIT ran (a fast shutdown, a terminated backend): the
            // commit record may already be written.
            Some(db) if is_unavailable(db.code()) => CommitError::Unknown(error_ref(e)),
            Some(_) => CommitError::Failed(error_ref(e)),
            None => CommitError::Unknown(error_ref(e)),
        }),
    }
}

fn error_ref(e: &tokio_postgres::Error) -> MetaError {
    match e.as_db_error() {
        Some(db) if is_unavailable(db.code()) => MetaError::Unavailable(format!(
            "database error {}: {}",
            db.code().code(),
            db.message()
        )),
        Some(db) => MetaError::Storage(format!(
            "database error {}: {}",
            db.code().code(),
            db.message()
        )),
        None => MetaError::Unavailable(e.to_string()),
    }
}

#[async_trait]
impl Txn for PgTxn {
    async fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        match self.overlay.lookup(table, key) {
            Local::Value(v) => return Ok(Some(v.to_vec())),
            Local::Deleted => return Ok(None),
            Local::Unwritten => {}
        }
        let rows = self.conn.read(&sql(table).get, &[&key]).await?;
        match rows.first() {
            Some(r) => Ok(Some(r.try_get::<_, Vec<u8>>(0).map_err(error)?)),
            None => Ok(None),
        }
    }

    async fn scan(
        &mut self,
        table: Table,
        start: &[u8],
        end: &[u8],
        visit: &mut Visit<'_>,
    ) -> Result<(), MetaError> {
        merged_scan(&mut self.conn, &self.overlay, table, start, end, visit).await?;
        Ok(())
    }

    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.overlay.put(table, key, value);
    }

    fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.overlay.delete(table, key);
    }

    fn delete_range(&mut self, table: Table, start: Vec<u8>, end: Vec<u8>) {
        self.overlay.delete_range(table, start, end);
    }

    async fn commit(mut self: Box<Self>) -> Result<(), CommitError> {
        let result = self.write_and_commit().await;
        if let Err(
            CommitError::Unknown(MetaError::Unavailable(m))
            | CommitError::Failed(MetaError::Unavailable(m)),
        ) = &result
        {
            // The connection is broken: dropping the transaction discards it.
            self.conn.poisoned = Some(Poison::Lost(m.clone()));
        }
        result
    }
}
