//! The background worker framework (after Garage's `background::worker`): every piece of
//! background work (lifecycle, the maintenance ticks that start heal passes, the orphan sweep)
//! is a [`Worker`] whose [`Worker::step`] does a bounded amount of work and says whether more
//! is waiting. [`Workers::spawn`] drives a worker on its own task: busy steps back to back,
//! paced so no more than the worker's rate of items per second go through, idle steps after
//! the worker's idle delay, until it is done or the process stops. Each worker's status (state,
//! progress, counters, last error) is kept here for the admin status.
//!
//! Progress that must survive a restart is kept in the metadata store through the `TxnStore`
//! ([`load_progress`], [`save_progress`]), in the `system` table under
//! `worker/<worker>/<scope>`, so it is shared by every node of a cluster.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use rustfs_meta::{Table, TxnStore};
use serde::Serialize;

use crate::{ObjectError, Result, now_ms};

/// What one step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Did work on this many items and has more waiting: step again (paced by the rate).
    Busy(u64),
    /// Nothing to do now: step again after the idle delay.
    Idle,
    /// Finished for good.
    Done,
}

/// A worker's state as the admin status reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    Busy,
    Idle,
    Done,
}

/// What a worker reports of itself besides its state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerInfo {
    /// Where it is, in words (e.g. the bucket and key it reached).
    pub progress: String,
    /// Totals since the process started (e.g. `expired`, `aborted`).
    pub counters: BTreeMap<&'static str, u64>,
}

/// One worker's status.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerStatus {
    pub name: String,
    pub state: WorkerState,
    pub progress: String,
    pub counters: BTreeMap<&'static str, u64>,
    /// Steps run.
    pub steps: u64,
    /// Items per second the runner lets through (`None`: not paced).
    pub rate: Option<u64>,
    pub last_error: Option<String>,
    /// When the last error happened, milliseconds since the Unix epoch.
    pub last_error_ms: Option<i64>,
    /// When the last step ended.
    pub last_step_ms: Option<i64>,
}

/// A piece of background work, run one step at a time.
pub trait Worker: Send + 'static {
    fn name(&self) -> String;
    /// Does a bounded amount of work.
    fn step(&mut self) -> BoxFuture<'_, Result<Step>>;
    /// How long to wait after an idle step (or a failed one).
    fn idle_delay(&self) -> Duration;
    /// Progress and counters, for the status.
    fn info(&self) -> WorkerInfo;
}

/// The registry of running workers.
#[derive(Default, Clone)]
pub struct Workers {
    all: Arc<Mutex<Vec<Arc<Mutex<WorkerStatus>>>>>,
}

impl Workers {
    /// Every worker's status, in the order they were started.
    pub fn status(&self) -> Vec<WorkerStatus> {
        let Ok(all) = self.all.lock() else {
            return Vec::new();
        };
        all.iter()
            .filter_map(|s| s.lock().ok().map(|s| s.clone()))
            .collect()
    }

    /// Runs `worker` on its own task, letting at most `rate` items per second through (`None`:
    /// unpaced), until it is done. A finished worker of the same name leaves the list.
    pub fn spawn<W: Worker>(&self, worker: W, rate: Option<u64>) -> tokio::task::JoinHandle<()> {
        let info = worker.info();
        let status = Arc::new(Mutex::new(WorkerStatus {
            name: worker.name(),
            state: WorkerState::Idle,
            progress: info.progress,
            counters: info.counters,
            steps: 0,
            rate,
            last_error: None,
            last_error_ms: None,
            last_step_ms: None,
        }));
        if let Ok(mut all) = self.all.lock() {
            // A worker started again and again (a heal pass) keeps one entry: the last one
            // done gives way to the new one.
            let name = worker.name();
            all.retain(|s| {
                s.lock()
                    .map(|s| !(s.name == name && s.state == WorkerState::Done))
                    .unwrap_or(true)
            });
            all.push(status.clone());
        }
        tokio::spawn(run(worker, rate, status))
    }
}

/// How long `items` take at `rate` items per second.
pub fn pace(items: u64, rate: Option<u64>) -> Duration {
    match rate {
        Some(r) if r > 0 => Duration::from_secs_f64(items as f64 / r as f64),
        _ => Duration::ZERO,
    }
}

async fn run<W: Worker>(mut worker: W, rate: Option<u64>, status: Arc<Mutex<WorkerStatus>>) {
    loop {
        let started = tokio::time::Instant::now();
        let outcome = worker.step().await;
        let info = worker.info();
        let state = match &outcome {
            Ok(Step::Busy(_)) => WorkerState::Busy,
            Ok(Step::Idle) | Err(_) => WorkerState::Idle,
            Ok(Step::Done) => WorkerState::Done,
        };
        if let Ok(mut s) = status.lock() {
            s.state = state;
            s.progress = info.progress;
            s.counters = info.counters;
            s.steps += 1;
            s.last_step_ms = Some(now_ms());
            if let Err(e) = &outcome {
                s.last_error = Some(e.to_string());
                s.last_error_ms = s.last_step_ms;
            }
        }
        match outcome {
            Ok(Step::Busy(n)) => {
                let wait = pace(n, rate).saturating_sub(started.elapsed());
                if wait.is_zero() {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(wait).await;
                }
            }
            Ok(Step::Idle) => tokio::time::sleep(worker.idle_delay()).await,
            Ok(Step::Done) => return,
            Err(e) => {
                tracing::warn!(worker = %worker.name(), error = %e, "background worker step failed");
                tokio::time::sleep(worker.idle_delay()).await;
            }
        }
    }
}

fn progress_key(worker: &str, scope: &str) -> Vec<u8> {
    format!("worker/{worker}/{scope}").into_bytes()
}

/// A worker's persisted progress for `scope` (e.g. a bucket), if it saved some.
pub async fn load_progress(
    meta: &dyn TxnStore,
    worker: &str,
    scope: &str,
) -> Result<Option<Vec<u8>>> {
    Ok(meta
        .read_key(Table::System, &progress_key(worker, scope))
        .await?)
}

/// Saves (`Some`) or clears (`None`) a worker's progress for `scope`.
pub async fn save_progress(
    meta: &dyn TxnStore,
    worker: &str,
    scope: &str,
    value: Option<&[u8]>,
) -> Result<()> {
    let key = progress_key(worker, scope);
    let (key, value) = (&key, &value);
    rustfs_meta::transact(meta, |t| {
        Box::pin(async move {
            match value {
                Some(v) => t.put(Table::System, key.clone(), v.to_vec()),
                None => t.delete(Table::System, key.clone()),
            }
            Ok::<_, ObjectError>(())
        })
    })
    .await
    .map_err(ObjectError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count {
        left: u64,
        done: u64,
    }

    impl Worker for Count {
        fn name(&self) -> String {
            "count".into()
        }
        fn step(&mut self) -> BoxFuture<'_, Result<Step>> {
            Box::pin(async move {
                if self.left == 0 {
                    return Ok(Step::Done);
                }
                self.left -= 1;
                self.done += 1;
                Ok(Step::Busy(1))
            })
        }
        fn idle_delay(&self) -> Duration {
            Duration::from_millis(1)
        }
        fn info(&self) -> WorkerInfo {
            WorkerInfo {
                progress: format!("{} left", self.left),
                counters: [("done", self.done)].into_iter().collect(),
            }
        }
    }

    #[tokio::test]
    async fn runs_a_worker_to_done_and_reports_it() {
        let workers = Workers::default();
        workers
            .spawn(Count { left: 5, done: 0 }, None)
            .await
            .unwrap();
        let s = &workers.status()[0];
        assert_eq!(s.name, "count");
        assert_eq!(s.state, WorkerState::Done);
        assert_eq!(s.counters["done"], 5);
        assert_eq!(s.steps, 6);
    }

    #[test]
    fn pace_bounds_the_rate() {
        assert_eq!(pace(10, Some(100)), Duration::from_millis(100));
        assert_eq!(pace(10, None), Duration::ZERO);
    }
}
