//! RSA signature verification for push ingest, on its own threads.
//!
//! Verifying an RFC 9421 signature is up to two modular exponentiations under the
//! connector's key — about a millisecond for a 6 144-bit key — and an
//! unauthenticated sender decides how many it asks for. On the async workers that
//! CPU would stall every other request; on tokio's blocking pool (up to 512
//! threads) a flood of forged signatures took both cores, and legitimate HMAC ingest
//! waited seconds (measured by the `load` bench).
//!
//! **Invariants:** RSA work runs only on this pool's threads: half the machine's
//! cores (at least one), at a lower scheduling priority (nice 10) so the rest of
//! the server — requests, commits, the pipeline — runs first whenever both want a
//! core. At most [`QUEUE`] verifications wait; past that a request is refused at
//! once ([`Busy`], answered 503 with `Retry-After`) instead of queueing without
//! bound. A legitimate RSA sender under attack may be slowed or asked to retry; no
//! other sender is.

use std::sync::{Arc, Mutex, mpsc};

use rsa::RsaPublicKey;
use tokio::sync::oneshot;

use crate::auth::httpsig::{self, Candidate, HttpSigError};

/// Verifications that may wait for a thread.
pub const QUEUE: usize = 64;

/// The nice value of the pool's threads (0 is normal, 19 the lowest priority).
const NICE: i32 = 10;

/// The pool is full: the request should be retried shortly.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("signature verification is busy; retry in a second")]
pub struct Busy;

type Keys = Vec<(String, Arc<RsaPublicKey>)>;
type Job = (
    Vec<Candidate>,
    Keys,
    oneshot::Sender<Result<Candidate, HttpSigError>>,
);

/// A handle on the pool; its threads end when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct RsaPool {
    jobs: mpsc::SyncSender<Job>,
}

impl RsaPool {
    /// Starts the pool's threads (half the cores, at least one).
    pub fn start() -> std::io::Result<RsaPool> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let (jobs, rx) = mpsc::sync_channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..(cores / 2).max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("airlock-rsa-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting for a job.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((candidates, keys, reply)) = job else {
                            return;
                        };
                        if reply.is_closed() {
                            continue; // the request went away while it waited
                        }
                        let keys: Vec<(&str, &RsaPublicKey)> = keys
                            .iter()
                            .map(|(id, k)| (id.as_str(), k.as_ref()))
                            .collect();
                        // A panic in the verifier refuses that request and keeps
                        // the thread: the pool never shrinks.
                        let verdict =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                httpsig::verify_candidates(candidates, &keys)
                            }))
                            .unwrap_or(Err(HttpSigError::BadSignature));
                        let _ = reply.send(verdict);
                    }
                })?;
        }
        Ok(RsaPool { jobs })
    }

    /// Verifies `candidates` against `keys` ([`httpsig::verify_candidates`]) on the
    /// pool; [`Busy`] at once when [`QUEUE`] verifications already wait.
    pub async fn verify(
        &self,
        candidates: Vec<Candidate>,
        keys: Keys,
    ) -> Result<Result<Candidate, HttpSigError>, Busy> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send((candidates, keys, reply))
            .map_err(|_| Busy)?;
        answer.await.map_err(|_| Busy)
    }
}

/// Lowers the calling thread's scheduling priority (Linux: `setpriority` on the
/// calling thread). Best effort: without it the pool still holds at most half the
/// cores.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority takes plain integers and touches no memory of ours;
        // on Linux, `who = 0` with PRIO_PROCESS names the calling thread.
        #[allow(unsafe_code)]
        let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
        if result != 0 {
            tracing::debug!("could not lower the RSA threads' priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the queue's bound a verification is refused at once, not queued.
    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        // A pool whose thread never takes a job: a channel with no consumer.
        let (jobs, _rx) = mpsc::sync_channel::<Job>(QUEUE);
        let pool = RsaPool { jobs };
        let mut waiting = Vec::new();
        for _ in 0..QUEUE {
            let pool = pool.clone();
            waiting.push(tokio::spawn(async move {
                pool.verify(Vec::new(), Vec::new()).await
            }));
        }
        tokio::task::yield_now().await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let started = std::time::Instant::now();
        assert!(pool.verify(Vec::new(), Vec::new()).await.is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        for w in waiting {
            w.abort();
        }
    }

    /// The pool's threads verify: an empty signature list names no key.
    #[tokio::test]
    async fn the_pool_verifies_off_the_async_threads() {
        let pool = RsaPool::start().unwrap();
        let verdict = pool.verify(Vec::new(), Vec::new()).await.unwrap();
        assert_eq!(verdict.unwrap_err(), HttpSigError::UnknownKey);
    }
}
