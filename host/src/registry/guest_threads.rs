//! The threads guest calls run on: a few of them (two per core) fed from one
//! queue, with tokio's elastic blocking pool as the overflow.
//!
//! Why not tokio's blocking pool alone: with many calls in flight it keeps a
//! thread per call and wakes an idle one for each, and on the 2-core machine that
//! hand-off cost ~40 µs of a ~130 µs invoke (the load bench, `invoke:cpu`). A few
//! threads that take the next call from the queue while they are busy do not
//! sleep between calls.
//!
//! Why not these threads alone: a guest spinning to its CPU deadline, or waiting
//! on its upstream for its wall clock, holds its thread; calls queued behind such
//! threads would wait for them. So no call waits in the queue longer than
//! [`QUEUE_WAIT`]: if no thread has taken it by then, the caller takes it back
//! and runs it on the blocking pool, as every call ran before. **Invariant:** a
//! call runs exactly once, on whichever side takes it first, and a queued call
//! waits at most `QUEUE_WAIT` longer than it would have on the blocking pool.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// How long a call may wait in the queue before it runs on the blocking pool.
pub(super) const QUEUE_WAIT: Duration = Duration::from_millis(20);

type Job = Box<dyn FnOnce() + Send>;

/// A call in the queue: whichever side takes the job out first runs it.
type Slot = Arc<Mutex<Option<Job>>>;

#[derive(Default)]
struct Queue {
    slots: VecDeque<Slot>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// The guest-call threads of one registry; they stop when it is dropped.
pub(super) struct GuestThreads {
    shared: Arc<Shared>,
    started: OnceLock<()>,
    threads: usize,
}

impl std::fmt::Debug for GuestThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestThreads")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl GuestThreads {
    /// Two threads per core, started at the first call.
    pub(super) fn new() -> GuestThreads {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        GuestThreads::with_threads(2 * cores)
    }

    pub(super) fn with_threads(threads: usize) -> GuestThreads {
        GuestThreads {
            shared: Arc::default(),
            started: OnceLock::new(),
            threads: threads.max(1),
        }
    }

    /// Runs `f` on a guest thread (or on the blocking pool, see the module docs)
    /// and returns its result; `Err` if it panicked.
    pub(super) async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, String> {
        self.start();
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        });
        let slot: Slot = Arc::new(Mutex::new(Some(job)));
        {
            let mut queue = self.shared.queue.lock().map_err(|e| e.to_string())?;
            queue.slots.push_back(slot.clone());
        }
        self.shared.ready.notify_one();
        let answer = tokio::select! {
            answer = &mut rx => answer,
            () = tokio::time::sleep(QUEUE_WAIT) => {
                let taken = slot.lock().ok().and_then(|mut s| s.take());
                if let Some(job) = taken {
                    tokio::task::spawn_blocking(job)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                rx.await
            }
        };
        match answer {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err("the guest call's thread panicked".into()),
            Err(_) => Err("the guest call's thread stopped".into()),
        }
    }

    fn start(&self) {
        self.started.get_or_init(|| {
            // The threads run inside the server's runtime context, as the blocking
            // pool's do: the kv load and WASI's stdio block on it.
            let handle = tokio::runtime::Handle::current();
            for i in 0..self.threads {
                let (shared, handle) = (self.shared.clone(), handle.clone());
                let spawned = std::thread::Builder::new()
                    .name(format!("airlock-guest-{i}"))
                    .spawn(move || {
                        let _runtime = handle.enter();
                        work(&shared);
                    });
                if let Err(e) = spawned {
                    // Calls then wait QUEUE_WAIT and run on the blocking pool.
                    tracing::warn!(error = %e, "a guest-call thread could not be started");
                }
            }
        });
    }
}

impl Drop for GuestThreads {
    fn drop(&mut self) {
        if let Ok(mut queue) = self.shared.queue.lock() {
            queue.closed = true;
        }
        self.shared.ready.notify_all();
    }
}

/// One thread's loop: the next queued call not yet taken back, until closed.
fn work(shared: &Shared) {
    loop {
        let slot = {
            let Ok(mut queue) = shared.queue.lock() else {
                return;
            };
            loop {
                if let Some(slot) = queue.slots.pop_front() {
                    break slot;
                }
                if queue.closed {
                    return;
                }
                queue = match shared.ready.wait(queue) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        };
        let job = slot.lock().ok().and_then(|mut s| s.take());
        if let Some(job) = job {
            job();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_run_on_the_guest_threads_and_return_their_results() {
        let threads = GuestThreads::with_threads(2);
        for i in 0..100u32 {
            let name = threads
                .run(move || (i * 2, std::thread::current().name().map(str::to_owned)))
                .await
                .unwrap();
            assert_eq!(name.0, i * 2);
            assert!(name.1.unwrap().starts_with("airlock-guest-"));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_queued_behind_a_stuck_thread_runs_on_the_blocking_pool() {
        let threads = Arc::new(GuestThreads::with_threads(1));
        let stuck = {
            let threads = threads.clone();
            tokio::spawn(async move {
                threads
                    .run(|| std::thread::sleep(Duration::from_secs(3)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let name = threads
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        // Taken back after QUEUE_WAIT, not after the stuck call's 3 s.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(!name.unwrap_or_default().starts_with("airlock-guest-"));
        stuck.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_call_is_an_error_and_the_thread_goes_on() {
        let threads = GuestThreads::with_threads(1);
        let panicked = threads.run(|| -> u8 { panic!("boom") }).await;
        assert!(panicked.is_err());
        assert_eq!(threads.run(|| 7).await.unwrap(), 7);
    }
}
