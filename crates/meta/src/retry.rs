//! The one retry rule for transactions: run the body in a new transaction, commit, and on a
//! conflict (at commit, or a read that lost a serialization conflict) run it again after a
//! short jittered backoff, a bounded number of times.

use std::pin::Pin;
use std::time::Duration;

use crate::MetaError;
use crate::txn::{CommitError, Txn, TxnStore};

/// An error a transaction body returns; a conflict makes [`transact`] run the body again.
pub trait Retryable {
    fn is_conflict(&self) -> bool;
}

impl Retryable for MetaError {
    fn is_conflict(&self) -> bool {
        matches!(self, MetaError::TxnConflict)
    }
}

/// How [`transact`] ended without a result.
#[derive(Debug, thiserror::Error)]
pub enum TxnError<E> {
    /// The body returned this error; nothing was committed.
    #[error("{0}")]
    Aborted(E),
    /// Every attempt conflicted; nothing was applied.
    #[error("the transaction conflicted {0} times in a row; nothing was applied")]
    Conflict(u32),
    /// Starting or committing failed; nothing was applied.
    #[error("transaction failed, nothing was applied: {0}")]
    Failed(MetaError),
    /// The commit may or may not have applied.
    #[error("transaction outcome unknown: {0}")]
    Unknown(MetaError),
}

/// Attempts and backoff of [`transact_with`].
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Most runs of the body.
    pub attempts: u32,
    /// Backoff ceiling after the first conflict; doubles per attempt up to `max_backoff`.
    /// Each wait is a random duration below the ceiling.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 64,
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(50),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .first_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        let nanos = ceiling.as_nanos().max(1) as u64;
        Duration::from_nanos(crate::order::random_u64() % nanos)
    }
}

/// What a transaction body returns: a boxed `Send` future that may borrow the transaction
/// (`'t`) and whatever the body captured. A body is written `|t| Box::pin(async move { ... })`.
///
/// Why not an async closure: rustc cannot prove the future of an async closure that captures
/// references `Send` for every lifetime of its argument ("implementation of `Send` is not
/// general enough"), and the object layer's bodies capture references to the request and run
/// inside s3s' spawned tasks. A boxed `dyn Future + Send` states it once, and tying the
/// transaction's lifetime to the store's borrow (`'s`) lets the body borrow anything that
/// outlives that borrow.
pub type TxnFuture<'t, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

/// Runs `body` in a transaction of `store` and commits it, retrying on conflicts with the
/// default [`RetryPolicy`]. The body may run several times: it must not have effects outside
/// the transaction that a rerun would repeat wrongly.
pub async fn transact<'s, S, T, E, F>(store: &'s S, body: F) -> Result<T, TxnError<E>>
where
    F: for<'t> FnMut(&'t mut (dyn Txn + 's)) -> TxnFuture<'t, T, E>,
    E: Retryable,
    S: TxnStore + ?Sized,
{
    transact_with(store, RetryPolicy::default(), body).await
}

/// [`transact`] with an explicit policy.
pub async fn transact_with<'s, S, T, E, F>(
    store: &'s S,
    policy: RetryPolicy,
    mut body: F,
) -> Result<T, TxnError<E>>
where
    F: for<'t> FnMut(&'t mut (dyn Txn + 's)) -> TxnFuture<'t, T, E>,
    E: Retryable,
    S: TxnStore + ?Sized,
{
    for attempt in 1..=policy.attempts.max(1) {
        let mut txn = match store.begin().await {
            Ok(t) => t,
            Err(e) if e.is_conflict() => {
                tokio::time::sleep(policy.backoff(attempt)).await;
                continue;
            }
            Err(e) => return Err(TxnError::Failed(e)),
        };
        match body(&mut *txn).await {
            Ok(v) => match txn.commit().await {
                Ok(()) => return Ok(v),
                Err(CommitError::Conflict) => {}
                Err(CommitError::Failed(e)) => return Err(TxnError::Failed(e)),
                Err(CommitError::Unknown(e)) => return Err(TxnError::Unknown(e)),
            },
            Err(e) if e.is_conflict() => drop(txn),
            // The body decided to fail on what it read: hand its error back only if those
            // reads were one consistent state (a backend may have served them from two, see
            // `Txn::check_reads`); else run it again. A check that cannot tell leaves the
            // body's error.
            Err(e) => match txn.check_reads().await {
                Err(CommitError::Conflict) => {}
                _ => return Err(TxnError::Aborted(e)),
            },
        }
        tokio::time::sleep(policy.backoff(attempt)).await;
    }
    Err(TxnError::Conflict(policy.attempts.max(1)))
}
