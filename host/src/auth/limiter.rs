//! Failed authentications, counted: a client that keeps failing is answered 429
//! with `Retry-After` instead of being checked again.
//!
//! Threat: a flood of wrong client secrets or forged push signatures costs a
//! lookup and a verification each, goes unnoticed, and lets an attacker guess at
//! leisure. Counting per key (a client id from one address, an address) and
//! refusing past a threshold bounds both, and the first refusal of each window is
//! logged.
//!
//! Invariants: memory is bounded ([`MAX_KEYS`]; past it expired windows are dropped,
//! then everything); a check costs one map lookup under a short lock; only failures
//! count, so a legitimate client is never slowed by its own successes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at most.
pub const MAX_KEYS: usize = 100_000;

/// A fixed-window failure counter per key.
#[derive(Debug)]
pub struct FailureLimiter {
    /// What the keys are, for the log.
    what: &'static str,
    max_failures: u32,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl FailureLimiter {
    /// Refuses a key after `max_failures` failures within `window` of its first,
    /// until that window ends.
    pub fn new(what: &'static str, max_failures: u32, window: Duration) -> Self {
        FailureLimiter {
            what,
            max_failures,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` when `key` failed too often in its current window.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let Ok(windows) = self.windows.lock() else {
            return Ok(());
        };
        match windows.get(key) {
            Some(w) if w.failures >= self.max_failures => {
                let left = self.window.saturating_sub(w.started.elapsed());
                if left.is_zero() { Ok(()) } else { Err(left) }
            }
            _ => Ok(()),
        }
    }

    /// Counts a failure of `key`; logs when it reaches the threshold.
    pub fn failed(&self, key: &str) {
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        if windows.len() >= MAX_KEYS && !windows.contains_key(key) {
            let window = self.window;
            windows.retain(|_, w| w.started.elapsed() < window);
            if windows.len() >= MAX_KEYS {
                windows.clear();
            }
        }
        let now = Instant::now();
        let w = windows.entry(key.to_string()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if w.started.elapsed() >= self.window {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures += 1;
        if w.failures == self.max_failures {
            tracing::warn!(
                target: "airlock::auth",
                what = self.what,
                key = %crate::text::Printable(key),
                failures = w.failures,
                window_secs = self.window.as_secs(),
                "too many failed authentications: refusing with 429 until the window ends"
            );
        }
    }
}

/// The front door's failure counters, shared by the token endpoint and push ingest.
#[derive(Debug)]
pub struct Failures {
    /// Per client id and source address, at `/oauth/token`: 20 a minute.
    pub client: FailureLimiter,
    /// Per source address, at `/oauth/token`: 200 a minute.
    pub token_address: FailureLimiter,
    /// Per source address, at push ingest: 1 000 in 10 s. (Never per connector: a
    /// forger would then lock the real sender out.)
    pub push_address: FailureLimiter,
}

impl Default for Failures {
    fn default() -> Self {
        Failures {
            client: FailureLimiter::new("client id and address", 20, Duration::from_secs(60)),
            token_address: FailureLimiter::new("address", 200, Duration::from_secs(60)),
            push_address: FailureLimiter::new("push sender address", 1000, Duration::from_secs(10)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_after_its_failures_until_the_window_ends() {
        let l = FailureLimiter::new("test", 3, Duration::from_millis(200));
        for _ in 0..2 {
            l.failed("a");
        }
        assert!(l.check("a").is_ok());
        l.failed("a");
        let retry = l.check("a").unwrap_err();
        assert!(retry <= Duration::from_millis(200) && !retry.is_zero());
        assert!(l.check("b").is_ok(), "other keys are not affected");
        std::thread::sleep(Duration::from_millis(220));
        assert!(l.check("a").is_ok(), "the window ended");
        l.failed("a");
        assert!(l.check("a").is_ok(), "a new window counts afresh");
    }
}
