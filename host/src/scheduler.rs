//! The scheduler: runs every enabled deployment that has a schedule, on time, on
//! whichever node takes its lease first.
//!
//! One task per node loops: it takes the lease of the deployments that are due
//! (`Store::claim_due`, one conditional `UPDATE`, so of several nodes exactly one
//! gets each deployment for each period), hands each to the registry
//! (`Registry::poll_claimed`: one page, more pages at once while the connector says
//! `more`, each committed with its cursor) on a task of its own, at most
//! `concurrency` at a time, then sleeps until the next deployment is due (at most
//! [`MAX_SLEEP`], so deployments made or enabled on any node are seen promptly).
//!
//! **Invariants:**
//! - A poll runs only under its deployment's lease; the lease outlasts the call's
//!   wall clock, and a node that dies holding it loses it when it expires (or at
//!   once when the same node restarts: its id is kept in the data directory).
//! - A disabled connector's deployments are not claimed (they resume on enable); a
//!   paused schedule (the connector refused its config) is not claimed until the
//!   deployment changes.
//! - The loop never waits on a poll: polls run beside it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use crate::registry::Registry;
use crate::store::Store;
use crate::time::now_ms;

/// The longest the loop sleeps without looking for due deployments.
pub const MAX_SLEEP: Duration = Duration::from_millis(250);
/// Scheduling lags kept for [`Scheduler::lags_ms`].
const LAG_SAMPLES: usize = 100_000;

/// How the scheduler runs.
#[derive(Debug, Clone, Copy)]
pub struct SchedulerOptions {
    /// Polls running at once on this node. Default 32.
    pub concurrency: usize,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions { concurrency: 32 }
    }
}

/// A running scheduler.
#[derive(Debug, Clone)]
pub struct Scheduler {
    task: Arc<tokio::task::JoinHandle<()>>,
    lags: Arc<Mutex<VecDeque<i64>>>,
}

impl Scheduler {
    /// Starts the loop on the current runtime.
    pub fn start(registry: Arc<Registry>, store: Store, options: SchedulerOptions) -> Scheduler {
        let wake = Arc::new(Notify::new());
        let lags = Arc::new(Mutex::new(VecDeque::new()));
        let task = tokio::spawn(run(registry, store, options, wake.clone(), lags.clone()));
        Scheduler {
            task: Arc::new(task),
            lags,
        }
    }

    /// Stops claiming (running polls finish or lose their lease).
    pub fn stop(&self) {
        self.task.abort();
    }

    /// The newest scheduling lags (poll start minus due time), ms, oldest first.
    pub fn lags_ms(&self) -> Vec<i64> {
        self.lags
            .lock()
            .map(|l| l.iter().copied().collect())
            .unwrap_or_default()
    }
}

async fn run(
    registry: Arc<Registry>,
    store: Store,
    options: SchedulerOptions,
    wake: Arc<Notify>,
    lags: Arc<Mutex<VecDeque<i64>>>,
) {
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let lease = i64::try_from(registry.default_lease().as_millis()).unwrap_or(i64::MAX);
    loop {
        let free = slots.available_permits();
        if free > 0 {
            let now = now_ms();
            let limit = i64::try_from(free).unwrap_or(i64::MAX);
            match store
                .claim_due(registry.node(), now, now.saturating_add(lease), limit)
                .await
            {
                Ok(claims) => {
                    for claim in claims {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        if let Ok(mut l) = lags.lock() {
                            if l.len() >= LAG_SAMPLES {
                                l.pop_front();
                            }
                            l.push_back(now_ms() - claim.due_ms);
                        }
                        registry
                            .metrics()
                            .scheduler_lag((now_ms() - claim.due_ms).max(0) as f64 / 1000.0);
                        let (registry, wake) = (registry.clone(), wake.clone());
                        tokio::spawn(async move {
                            if let Err(e) = registry.poll_claimed(&claim).await {
                                tracing::warn!(connector = %claim.connector_id,
                                    target = %claim.target, error = %e, "scheduled poll failed");
                            }
                            drop(permit);
                            // A slot is free, and the deployment has its next time.
                            wake.notify_one();
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler: cannot claim due deployments");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let sleep = match store.next_due_ms(now_ms()).await {
            Ok(Some(due)) => Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0)),
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::warn!(error = %e, "scheduler: cannot read the next due time");
                MAX_SLEEP
            }
        }
        .min(MAX_SLEEP);
        if sleep.is_zero() && slots.available_permits() > 0 {
            // Due now (claimed by another node meanwhile, or just freed): look again,
            // after letting other tasks run.
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(if sleep.is_zero() { MAX_SLEEP } else { sleep }) => {}
        }
    }
}
