//! The asynchronous half: stored events → transform → validate → publish or
//! quarantine. One task per node takes the events still `received` (oldest first,
//! up to [`BATCH`]), has the registry decide each one's fate, and writes every
//! result of the batch in one transaction (`Store::finish_events`), then wakes
//! the bus's subscribers.
//!
//! **Invariants:** an event's messages are written in the transaction that moves
//! it out of `received`, and only if it was still `received`; so a crash at any
//! point leaves it either untouched (done again after the restart, which starts by
//! draining the backlog) or finished, never published twice. On a shared
//! PostgreSQL two nodes may transform the same event; only one finishes it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::bus::Bus;
use crate::registry::Registry;
use crate::store::{Finish, Store};
use crate::time::now_ms;

/// Events taken per round.
pub const BATCH: i64 = 256;
/// How often an idle pipeline looks for work it was not woken for (retries that
/// came due, events another node stored).
const IDLE_POLL: Duration = Duration::from_secs(1);
/// How long a woken pipeline lets events gather before it takes them. Under load
/// one transaction then finishes hundreds of events instead of a few, and leaves
/// the single SQLite writer to the acknowledging committer most of the time.
const LINGER: Duration = Duration::from_millis(50);

/// A running pipeline: wake it when events were committed.
#[derive(Debug, Clone)]
pub struct Pipeline {
    wake: Arc<Notify>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Pipeline {
    /// Starts the pipeline on the current runtime; it drains the backlog first.
    /// The registry decides each event's fate; `store` holds the events and
    /// takes the results; `bus` is told after each publishing commit.
    pub fn start(registry: Arc<Registry>, store: Store, bus: Arc<dyn Bus>) -> Pipeline {
        let wake = Arc::new(Notify::new());
        let parts = Parts {
            registry,
            store,
            bus,
        };
        let task = tokio::spawn(run(parts, wake.clone()));
        Pipeline {
            wake,
            task: Arc::new(task),
        }
    }

    /// New events are stored: look now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops the task (what is not finished stays `received` for the next start).
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// What the loop works with.
struct Parts {
    registry: Arc<Registry>,
    store: Store,
    bus: Arc<dyn Bus>,
}

async fn run(parts: Parts, wake: Arc<Notify>) {
    loop {
        let batch = match parts.store.pending_events(now_ms(), BATCH).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "ingest pipeline: cannot read pending events");
                tokio::time::sleep(IDLE_POLL).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = wake.notified() => tokio::time::sleep(LINGER).await,
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
            continue;
        }
        let full = batch.len() as i64 >= BATCH;
        let done = parts.registry.process_events(batch).await;
        match parts.store.finish_events(&done).await {
            Ok(finished) => {
                if parts.counted(&finished) {
                    parts.bus.published();
                }
                // A partial batch: let the next one gather (a full one means a
                // backlog, worked through without pause).
                if !full {
                    tokio::time::sleep(LINGER).await;
                }
            }
            // Nothing of the batch was written. One event whose rows the database
            // refuses must not hold up the others (every tenant's events queue
            // here): each is written alone, and one that still fails is recorded
            // as failed, without its rows.
            Err(e) if done.len() > 1 => {
                tracing::warn!(error = %e, "ingest pipeline: a batch failed; writing its events one by one");
                let mut published = false;
                for one in &done {
                    published |= parts.finish_alone(one).await;
                }
                if published {
                    parts.bus.published();
                }
            }
            Err(_) => {
                if parts.finish_alone(&done[0]).await {
                    parts.bus.published();
                }
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }
}

impl Parts {
    /// Counts what a commit wrote; whether it published anything.
    fn counted(&self, finished: &crate::store::Finished<'_>) -> bool {
        let metrics = self.registry.metrics();
        metrics.published(finished.published as u64);
        crate::registry::count_quarantine_rows(metrics, &finished.quarantined);
        finished.published > 0
    }

    /// Writes one event's result; if the database refuses it, records the event
    /// as failed with the database's reason instead (and if even that fails, the
    /// event stays `received` and is tried again). Whether it published anything.
    async fn finish_alone(&self, one: &(String, Finish)) -> bool {
        match self.store.finish_events(std::slice::from_ref(one)).await {
            Ok(finished) => self.counted(&finished),
            Err(e) => {
                let failed = Finish::Failed {
                    outcome: serde_json::json!({"error": format!("its results could not be stored: {e}")})
                        .to_string(),
                };
                if let Err(e) = self.store.finish_events(&[(one.0.clone(), failed)]).await {
                    tracing::warn!(error = %e, event = %one.0, "ingest pipeline: cannot record a failure; retrying");
                }
                false
            }
        }
    }
}
