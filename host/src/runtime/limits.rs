//! The budgets a call runs under: [`Limits`] (per call, with their defaults), a
//! deployment's bounded [`LimitOverrides`], and the engine-wide constants the runtime
//! is built with.
//!
//! Invariants:
//! - This is plain data: nothing here enforces a limit. The store's limiter and clock
//!   (`host.rs`), the call path (`call.rs`) and the engine settings (`loader.rs`) do;
//!   each field says what passing it becomes: a [`CallError`] variant, or a
//!   `host-error` the guest handles.
//! - [`Limits::with_overrides`] never raises memory above the runtime's own limit (the
//!   pooling allocator's slots are sized for it) and refuses, naming the field, any
//!   override out of its documented bounds.

use std::time::Duration;

use serde::Serialize;

// Only named in the docs: the error each budget ends in, where dropped logs are counted.
#[cfg(doc)]
use super::{error::CallError, host::Captured};

/// How often the epoch ticker advances the engine's epoch. A spinning guest is
/// stopped at most one tick after its deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-call limits. The defaults suit a connector call; deployments may override them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory a guest may grow to, per call. Default 128 MiB. A guest past it
    /// fails with [`CallError::MemoryExceeded`].
    pub memory_bytes: usize,
    /// Guest execution budget of a call: its wall time minus the time it spent
    /// blocked in host imports (HTTP, sleep), enforced by epoch interruption to
    /// within one [`EPOCH_TICK`]. Default 1 s. A guest past it fails with
    /// [`CallError::Timeout`].
    pub cpu_deadline: Duration,
    /// Wall-clock budget of a call, everything included: guest execution and time
    /// blocked in host imports. Default 30 s. HTTP timeouts are capped at what is
    /// left of it; a sleep that would outlast it fails at once; a guest past it fails
    /// with [`CallError::WallClockTimeout`].
    pub wall_clock: Duration,
    /// HTTP requests a call may send. Default 64; the next gets
    /// `host-error::limit-exceeded`.
    pub max_http_requests: u32,
    /// Largest HTTP request body a guest may send. Default 4 MiB.
    pub max_http_request_bytes: usize,
    /// Largest HTTP response body a guest may receive; a larger response is refused
    /// with `host-error::limit-exceeded`, never truncated. Default 16 MiB.
    pub max_http_response_bytes: usize,
    /// Bytes of output (emitted and returned bodies together) a call may produce.
    /// Default 8 MiB. An `emit` past it gets `host-error::limit-exceeded`; returned
    /// outputs past it fail the call with [`CallError::OutputTooLarge`].
    pub max_output_bytes: usize,
    /// Outputs (emitted and returned together) a call may produce. Default 10 000.
    /// Threat: a million empty outputs cost no bytes but a host record, a validation
    /// and a bus message each (one such call grew a host to 1.9 GB). An `emit` past
    /// it gets `host-error::limit-exceeded`; a returned list longer than what is left
    /// fails the call with [`CallError::TooManyOutputs`] (what is copied out of the
    /// guest to count it is bounded by the transfer limit, `call::transfer_limit`). Each output also costs [`OUTPUT_OVERHEAD`] bytes of
    /// `max_output_bytes`.
    pub max_outputs: usize,
    /// Bytes of log messages and fields kept per call. Default 256 KiB. Each line
    /// (and each progress report) also costs [`LOG_LINE_OVERHEAD`] bytes. A line that
    /// does not fit what is left is dropped and counted ([`Captured::logs_dropped`]),
    /// never an error; smaller lines after it are still kept.
    pub max_log_bytes: usize,
    /// Log lines and progress reports kept per call. Default 1 000. Threat: a flood of
    /// empty lines passes a byte budget (a million empty lines once wrote 95 MiB of
    /// host log). Past it, lines are dropped and counted.
    pub max_log_lines: usize,
    /// Bytes of kv state (keys and values together) one tenant × connector may hold.
    /// Default 1 MiB. Threat: 1 024 entries × 64 KiB values would be 64 MiB loaded
    /// and saved on every call. A `set` that would pass it gets
    /// `host-error::limit-exceeded`.
    pub max_kv_bytes: usize,
    /// Fuel mode: when set, a call may execute this much fuel (about one unit per
    /// WebAssembly instruction) and fails with [`CallError::OutOfFuel`] past it — a
    /// deterministic budget for reproducible runs, at a cost in speed. Default off:
    /// the CPU deadline bounds calls. The runtime's engine counts fuel only if its
    /// limits set it.
    pub fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 * 1024 * 1024,
            cpu_deadline: Duration::from_secs(1),
            wall_clock: Duration::from_secs(30),
            max_http_requests: 64,
            max_http_request_bytes: 4 * 1024 * 1024,
            max_http_response_bytes: 16 * 1024 * 1024,
            max_output_bytes: 8 * 1024 * 1024,
            max_outputs: 10_000,
            max_log_bytes: 256 * 1024,
            max_log_lines: 1_000,
            max_kv_bytes: 1024 * 1024,
            fuel: None,
        }
    }
}

/// A deployment's changes to the default [`Limits`], as the API and the database
/// hold them. Absent fields keep the runtime's value. Each is bounded: memory can
/// only be lowered (the pooling allocator's slots are sized for the runtime's
/// limit), the rest may be raised within the maxima below.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// Guest execution budget, ms (1 ..= 60 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
    /// Wall-clock budget, ms (1 ..= 600 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<u64>,
    /// Memory, MiB (1 ..= the runtime's limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<usize>,
    /// HTTP requests per call (0 ..= 10 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_http_requests: Option<u32>,
    /// Output bytes per call, MiB (1 ..= 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_mb: Option<usize>,
}

impl Limits {
    /// These limits with `o` applied; the error names the field out of bounds.
    pub fn with_overrides(&self, o: &LimitOverrides) -> Result<Limits, String> {
        fn bounded<T: PartialOrd + std::fmt::Display + Copy>(
            name: &str,
            v: Option<T>,
            lo: T,
            hi: T,
        ) -> Result<Option<T>, String> {
            match v {
                Some(x) if x < lo || x > hi => {
                    Err(format!("`{name}` must be between {lo} and {hi}, not {x}"))
                }
                other => Ok(other),
            }
        }
        let mut l = *self;
        let mib = 1024 * 1024;
        if let Some(ms) = bounded("cpu_ms", o.cpu_ms, 1, 60_000)? {
            l.cpu_deadline = Duration::from_millis(ms);
        }
        if let Some(ms) = bounded("wall_ms", o.wall_ms, 1, 600_000)? {
            l.wall_clock = Duration::from_millis(ms);
        }
        if let Some(mb) = bounded("memory_mb", o.memory_mb, 1, self.memory_bytes / mib)? {
            l.memory_bytes = mb * mib;
        }
        if let Some(n) = bounded("max_http_requests", o.max_http_requests, 0, 10_000)? {
            l.max_http_requests = n;
        }
        if let Some(mb) = bounded("max_output_mb", o.max_output_mb, 1, 64)? {
            l.max_output_bytes = mb * mib;
        }
        Ok(l)
    }
}

/// Bytes of the output budget each output costs besides its body: what the host
/// keeps per output (its record, media type, a validation and a bus row), so that
/// empty outputs are not free.
pub const OUTPUT_OVERHEAD: usize = 256;

/// Bytes of the log budget each log line or progress report costs besides its text,
/// so that empty lines are not free.
pub const LOG_LINE_OVERHEAD: usize = 64;

/// Instances (and memories, tables) the pooling allocator holds: the most calls
/// that can run at once on one runtime.
pub const POOL_INSTANCES: u32 = 1000;

/// The WebAssembly stack a guest may use, engine-wide: deep recursion ends in
/// [`CallError::StackOverflow`] instead of exhausting the host thread's stack.
pub const MAX_WASM_STACK: usize = 512 * 1024;
