//! The SQL statements of each table, pipelined execution, and the write half of a commit
//! (shared by a transaction committing on its own connection and by the group committer).

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::Poll;

use deadpool_postgres::Object;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Row, Statement};

use super::schema::relation;
use super::{error, error_ref, is_conflict, is_unavailable};
use crate::MetaError;
use crate::store::Table;
use crate::txn::{CommitError, Overlay};

pub(super) const BEGIN: &str = "BEGIN ISOLATION LEVEL SERIALIZABLE";
pub(super) const COMMIT: &str = "COMMIT";

/// The statements of one table.
pub(super) struct Sql {
    pub get: String,
    /// Every pair whose key is in `$1` (an array): the group committer's point-read checks.
    pub get_many: String,
    pub page: String,
    pub page_open: String,
    pub upsert: String,
    pub delete_keys: String,
    pub delete_range: String,
    pub delete_range_open: String,
}

impl Sql {
    fn new(t: Table) -> Self {
        let r = relation(t);
        Self {
            get: format!("SELECT v FROM {r} WHERE k = $1"),
            get_many: format!("SELECT k, v FROM {r} WHERE k = ANY($1::BYTEA[])"),
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

pub(super) fn sql(t: Table) -> &'static Sql {
    &SQL[t as usize]
}

pub(super) type Query<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send + 'a>>;

/// Runs queries pipelined, in order: each is first polled (and so sent) in the order given,
/// and the server answers them in that order.
pub(super) async fn in_order(
    mut queries: Vec<Query<'_>>,
) -> Vec<Result<Vec<Row>, tokio_postgres::Error>> {
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

/// A table's writes, borrowed for the commit's statements.
struct TableWrites<'a> {
    sql: &'static Sql,
    ranges: &'a [(Vec<u8>, Vec<u8>)],
    deleted: Vec<&'a [u8]>,
    keys: Vec<&'a [u8]>,
    values: Vec<&'a [u8]>,
}

/// Sends `overlay`'s writes and `COMMIT` in one pipelined round trip (after `BEGIN` when
/// `begin`, i.e. no transaction is open on `client` yet): per table the range deletes, one
/// `DELETE ... = ANY` for deleted keys and one `INSERT ... ON CONFLICT` from `unnest` for
/// written keys.
pub(super) async fn write_and_commit(
    client: &Object,
    begin: bool,
    overlay: &Overlay,
) -> Result<(), CommitError> {
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
    if client.is_closed() {
        return Err(CommitError::Failed(MetaError::Unavailable(
            "connection to the metadata database closed".into(),
        )));
    }
    // Statements first (cached per connection after their first use).
    let prepare = async |s: &str| client.prepare_cached(s).await.map_err(error);
    let begin = if begin {
        Some(prepare(BEGIN).await.map_err(CommitError::Failed)?)
    } else {
        None
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
    outcome(in_order(queries).await)
}
