//! The threads guest calls run on: a pool that keeps two running per core, fed
//! from one queue, with tokio's elastic blocking pool as the overflow.
//!
//! Why not tokio's blocking pool alone: with many calls in flight it keeps a
//! thread per call and wakes an idle one for each; on the 2-core machine that
//! hand-off cost ~40 µs of a ~130 µs invoke (the load bench, `invoke:cpu`). Here a
//! thread that finishes a call takes the next one from the queue without
//! sleeping, and a call wakes (or starts) a thread only when fewer than the pool's
//! size are running.
//!
//! A thread whose call waits in the host (outbound HTTP, the kv load, a sleep:
//! `runtime::WaitListener`) does not count as running: its place goes to another
//! thread at once, woken or started, so I/O-bound calls (polls of slow upstreams)
//! never keep CPU-bound ones queued. Threads beyond the size end after
//! [`IDLE_KEEP`] without work; at most [`MAX_THREADS`] (or four times the size)
//! exist. Only the host's own imports report their waits: a guest blocking in
//! WASI's `poll` (a wasip2 `std::thread::sleep`) counts as running, like a
//! spinning one.
//!
//! What a thread cannot hand over is a guest spinning on the CPU until its
//! deadline. So a call that waited [`QUEUE_WAIT`] in a queue that did not move
//! (every thread holding a call, or no thread able to come: the pool full of
//! waiting threads, or a thread that could not be started) is taken back by its
//! caller and run on the blocking pool (counted:
//! `airlock_guest_call_overflows_total`); one that waited because the machine
//! was slow to schedule the thread woken for it, or behind a long queue that
//! moves, waits on. A caller that
//! goes away (its HTTP client hung up) takes its call out of the queue: a call
//! nobody waits for is not run.
//!
//! **Invariants:** a call runs at most once, on whichever side takes it first,
//! and exactly once while its caller waits; a call queued behind threads that
//! all hold their calls, with nothing taken from the queue meanwhile, is sent to
//! the blocking pool within two `QUEUE_WAIT` windows; the counts of threads running, idle and waiting change
//! under one lock.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a call may wait in the queue before it runs on the blocking pool.
pub(super) const QUEUE_WAIT: Duration = Duration::from_millis(20);
/// How long a thread beyond the pool's size waits for work before it ends.
const IDLE_KEEP: Duration = Duration::from_secs(10);
/// The fewest threads the pool may keep, waiting ones included (four times its
/// size when that is more); past it, calls that find no thread go to the
/// blocking pool after `QUEUE_WAIT`.
const MAX_THREADS: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

/// A call in the queue: whichever side takes the job out first runs it.
type Slot = Arc<Mutex<Option<Job>>>;

/// The pool's counts, all under one lock.
#[derive(Default)]
struct State {
    queue: VecDeque<Slot>,
    /// Threads alive.
    threads: usize,
    /// Threads parked for work and not yet woken.
    idle: usize,
    /// Wake-ups sent that no parked thread has taken yet.
    wakes: usize,
    /// Threads whose call waits in the host.
    waiting: usize,
    /// Threads running a call (guest or host code, not waiting in the host).
    busy: usize,
    /// Calls taken from the queue by a thread, ever: whether the queue moves.
    taken: u64,
    closed: bool,
    /// The server's runtime, entered by every thread (the kv load and WASI's
    /// stdio use it); set at the first call.
    handle: Option<tokio::runtime::Handle>,
}

impl State {
    /// Threads running a call or about to look at the queue.
    fn running(&self) -> usize {
        self.threads - self.idle - self.waiting
    }
}

/// What [`Shared::add_runner`] did.
#[derive(Debug, PartialEq, Eq)]
enum Added {
    /// No thread was needed, or none could be had.
    Nothing,
    /// An idle thread was woken.
    Woke,
    /// A thread is counted and the caller must start it ([`start_thread`]).
    MustStart,
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
    /// How many threads should be running while there is work.
    size: usize,
    /// The most threads alive at once, waiting ones included.
    max_threads: usize,
    idle_keep: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic never happens under this lock (calls run outside it), so a
        // poisoned lock's counts are still whole.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// With work queued and fewer than `size` threads running, one more runs: an
    /// idle one woken, or a new one.
    fn add_runner(&self, state: &mut State) -> Added {
        if state.closed || state.queue.is_empty() || state.running() >= self.size {
            return Added::Nothing;
        }
        if state.idle > 0 {
            state.idle -= 1;
            state.wakes += 1;
            self.ready.notify_one();
            Added::Woke
        } else if state.threads < self.max_threads && state.handle.is_some() {
            state.threads += 1;
            Added::MustStart
        } else {
            Added::Nothing
        }
    }
}

/// The guest-call threads of one registry; they end when it is dropped.
pub(super) struct GuestThreads {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GuestThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestThreads")
            .field("size", &self.shared.size)
            .finish_non_exhaustive()
    }
}

impl GuestThreads {
    /// Two running threads per core.
    pub(super) fn new() -> GuestThreads {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        GuestThreads::with_size(2 * cores, IDLE_KEEP)
    }

    fn with_size(size: usize, idle_keep: Duration) -> GuestThreads {
        let size = size.max(1);
        GuestThreads {
            shared: Arc::new(Shared {
                state: Mutex::default(),
                ready: Condvar::new(),
                size,
                max_threads: MAX_THREADS.max(4 * size),
                idle_keep,
            }),
        }
    }

    /// Runs `f` on a guest thread (or on the blocking pool, see the module docs;
    /// `overflow` is called when it is sent there) and returns its result; `Err`
    /// if it panicked.
    pub(super) async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
        overflow: impl FnOnce(),
    ) -> Result<R, String> {
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        });
        let slot: Slot = Arc::new(Mutex::new(Some(job)));
        // Whatever ends this future (an answer, or the caller going away) takes
        // the job out of its slot: a call still queued is then not run.
        let _unqueue = Unqueue(slot.clone());
        let (added, mut seen) = {
            let mut state = self.shared.lock();
            if state.handle.is_none() {
                state.handle = tokio::runtime::Handle::try_current().ok();
            }
            state.queue.push_back(slot.clone());
            (self.shared.add_runner(&mut state), state.taken)
        };
        if added == Added::MustStart {
            start_thread(&self.shared);
        }
        let answer = loop {
            tokio::select! {
                answer = &mut rx => break answer,
                () = tokio::time::sleep(QUEUE_WAIT) => {
                    // A thread has the call: only its answer is left to wait for.
                    // (The slot is locked twice, not across `queue_moves`: that
                    // takes the pool's lock, which `work` holds when it locks a slot.)
                    let queued = slot.lock().is_ok_and(|s| s.is_some());
                    if queued && self.queue_moves(&mut seen) {
                        continue;
                    }
                    let taken = slot.lock().ok().and_then(|mut s| s.take());
                    if let Some(job) = taken {
                        overflow();
                        tokio::task::spawn_blocking(job)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    break rx.await;
                }
            }
        };
        match answer {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err("the guest call's thread panicked".into()),
            Err(_) => Err("the guest call's thread stopped".into()),
        }
    }

    /// Whether a call that waited `QUEUE_WAIT` should wait on: the queue moved
    /// since `seen` (threads are taking calls; this one's turn comes), or fewer
    /// than `size` threads hold a call and one is on its way to the queue (woken
    /// or started, maybe only now). What held the call up was then the machine's
    /// scheduling, not guests holding every thread.
    fn queue_moves(&self, seen: &mut u64) -> bool {
        let (moves, added) = {
            let mut state = self.shared.lock();
            let moved = state.taken != *seen;
            *seen = state.taken;
            if moved {
                (true, Added::Nothing)
            } else if state.busy >= self.shared.size {
                (false, Added::Nothing)
            } else if state.running() > state.busy {
                (true, Added::Nothing)
            } else {
                let added = self.shared.add_runner(&mut state);
                (added != Added::Nothing, added)
            }
        };
        // A thread that could not be started is not on its way.
        moves && (added != Added::MustStart || start_thread(&self.shared))
    }

    #[cfg(test)]
    fn threads(&self) -> usize {
        self.shared.lock().threads
    }
}

impl Drop for GuestThreads {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

/// Takes a call out of its slot when its caller's future ends.
struct Unqueue(Slot);

impl Drop for Unqueue {
    fn drop(&mut self) {
        let job = self.0.lock().ok().and_then(|mut s| s.take());
        drop(job);
    }
}

/// Starts a thread already counted in `threads`; whether it could be.
fn start_thread(shared: &Arc<Shared>) -> bool {
    let handle = shared.lock().handle.clone();
    let thread_shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("airlock-guest".into())
        .spawn(move || {
            let _runtime = handle.as_ref().map(tokio::runtime::Handle::enter);
            crate::runtime::listen_on_this_thread(Arc::new(Listener(thread_shared.clone())));
            work(&thread_shared);
        });
    match spawned {
        Ok(_) => true,
        Err(e) => {
            // The calls it was for run on the blocking pool after QUEUE_WAIT.
            tracing::warn!(error = %e, "a guest-call thread could not be started");
            shared.lock().threads -= 1;
            false
        }
    }
}

/// One thread's loop: the next queued call not yet taken back; parked when there
/// is none; ended when closed, or after `idle_keep` without work while more than
/// `size` threads are alive.
fn work(shared: &Arc<Shared>) {
    let mut state = shared.lock();
    loop {
        if state.closed {
            state.threads -= 1;
            return;
        }
        if let Some(slot) = state.queue.pop_front() {
            // Taken under the pool's lock, so `busy` and `taken` change with it.
            let Some(job) = slot.lock().ok().and_then(|mut s| s.take()) else {
                continue;
            };
            state.busy += 1;
            state.taken += 1;
            drop(state);
            // The job catches the call's panics; this catches one in dropping an
            // answer nobody waits for, so the counts stay whole.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            state = shared.lock();
            state.busy -= 1;
            continue;
        }
        state.idle += 1;
        loop {
            let (next, wait) = match shared.ready.wait_timeout(state, shared.idle_keep) {
                Ok(r) => r,
                Err(poisoned) => poisoned.into_inner(),
            };
            state = next;
            if state.wakes > 0 {
                // The waker took this thread out of `idle`.
                state.wakes -= 1;
                break;
            }
            if state.closed {
                state.idle -= 1;
                break;
            }
            if wait.timed_out() && state.threads > shared.size {
                state.idle -= 1;
                state.threads -= 1;
                return;
            }
        }
    }
}

/// Hands the place of a thread whose call waits in the host to another thread.
struct Listener(Arc<Shared>);

impl crate::runtime::WaitListener for Listener {
    fn started(&self) {
        let added = {
            let mut state = self.0.lock();
            state.busy -= 1;
            state.waiting += 1;
            self.0.add_runner(&mut state)
        };
        if added == Added::MustStart {
            start_thread(&self.0);
        }
    }

    fn ended(&self) {
        let mut state = self.0.lock();
        state.waiting -= 1;
        state.busy += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    fn on_guest_thread() -> bool {
        std::thread::current().name() == Some("airlock-guest")
    }

    /// Runs `f` on `threads` from a task of its own (a call that holds a thread
    /// while the test goes on).
    fn in_background<R: Send + 'static>(
        threads: &Arc<GuestThreads>,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> tokio::task::JoinHandle<Result<R, String>> {
        let threads = threads.clone();
        tokio::spawn(async move { threads.run(f, || ()).await })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_run_on_the_guest_threads_and_return_their_results() {
        let threads = GuestThreads::with_size(2, IDLE_KEEP);
        for i in 0..100u32 {
            let placed = threads
                .run(move || (i * 2, on_guest_thread()), || ())
                .await
                .unwrap();
            assert_eq!(placed, (i * 2, true));
        }
        assert!(threads.threads() <= 2, "{}", threads.threads());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_queued_behind_a_spinning_thread_runs_on_the_blocking_pool() {
        let threads = Arc::new(GuestThreads::with_size(1, IDLE_KEEP));
        let stuck = in_background(&threads, || std::thread::sleep(Duration::from_secs(3)));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let placed = threads.run(on_guest_thread, || ()).await.unwrap();
        // Taken back after QUEUE_WAIT, not after the stuck call's 3 s.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(!placed, "ran on a guest thread");
        stuck.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thread_waiting_in_the_host_gives_its_place_to_another() {
        let threads = Arc::new(GuestThreads::with_size(1, Duration::from_millis(200)));
        let waiting = in_background(&threads, || {
            crate::runtime::waiting_in_host(|| std::thread::sleep(Duration::from_secs(2)));
            on_guest_thread()
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Several calls, one after another, all on a guest thread: none waited
        // for the take-back.
        for _ in 0..5 {
            let placed = threads.run(on_guest_thread, || ()).await.unwrap();
            assert!(placed, "overflowed");
        }
        assert_eq!(threads.threads(), 2);
        assert!(waiting.await.unwrap().unwrap(), "overflowed");
        // The thread beyond the size ends once idle for `idle_keep`.
        let deadline = Instant::now() + Duration::from_secs(5);
        while threads.threads() > 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(threads.threads(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_whose_caller_went_away_is_not_run() {
        let threads = Arc::new(GuestThreads::with_size(1, IDLE_KEEP));
        let stuck = in_background(&threads, || std::thread::sleep(Duration::from_millis(500)));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        // The caller gives up after one poll (which queued the call), long before
        // the take-back.
        let gave_up = tokio::time::timeout(
            Duration::ZERO,
            threads.run(move || flag.store(true, Ordering::SeqCst), || ()),
        )
        .await;
        assert!(gave_up.is_err());
        stuck.await.unwrap().unwrap();
        // The thread is free again and has been through the queue.
        assert!(threads.run(|| (), || ()).await.is_ok());
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_call_is_an_error_and_the_thread_goes_on() {
        let threads = GuestThreads::with_size(1, IDLE_KEEP);
        let panicked = threads.run(|| -> u8 { panic!("boom") }, || ()).await;
        assert!(panicked.is_err());
        assert_eq!(threads.run(|| 7, || ()).await.unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_pool_ends_its_threads() {
        let threads = GuestThreads::with_size(2, IDLE_KEEP);
        threads.run(|| (), || ()).await.unwrap();
        let shared = threads.shared.clone();
        drop(threads);
        let deadline = Instant::now() + Duration::from_secs(5);
        while shared.lock().threads > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(shared.lock().threads, 0);
    }
}
