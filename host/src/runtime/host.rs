//! The host side of the contract's imports, per call.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::airlock::connector::{clock, emit, http, kv, log, types};
use super::egress::Egress;
use super::limits::{LOG_LINE_OVERHEAD, OUTPUT_OVERHEAD};
use super::outbound::{self, RequestCaps};
use crate::text::Printable;
use types::{HostError, Output};

/// A log line a guest wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The message.
    pub message: String,
    /// Structured fields.
    pub fields: Vec<(String, String)>,
}

/// Effects a call produced, for the caller to inspect.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// Log lines.
    pub logs: Vec<LogLine>,
    /// Progress reports: (done, total, note).
    pub progress: Vec<(u64, Option<u64>, Option<String>)>,
    /// Outputs emitted during the call (`Component::invoke` moves them into its
    /// outputs, so there this is empty).
    pub emitted: Vec<Output>,
    /// Log lines and progress reports dropped because they did not fit the call's
    /// log budget (bytes or lines).
    pub logs_dropped: u64,
    /// The largest linear memory the guest grew to, bytes.
    pub peak_memory: usize,
    /// Fuel the call consumed, in fuel mode.
    pub fuel_consumed: Option<u64>,
}

/// Per-call store state.
pub struct StoreData {
    /// Built on the guest's first WASI call ([`WasiView::ctx`]): a call that makes
    /// none — most of a pure connector's — skips building it (its random
    /// generators are seeded from the OS on construction).
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    /// The call's captured effects.
    pub captured: Captured,
    /// The kv state the call sees (loaded by the caller or on first use, saved
    /// after); a guest kv call loads it first when it is lazy.
    pub kv: BTreeMap<String, Vec<u8>>,
    /// The state as loaded (`None` until it is).
    kv_before: Option<BTreeMap<String, Vec<u8>>>,
    /// Loads the state on the guest's first kv call ([`super::KvState::Lazy`]).
    kv_loader: Option<super::KvLoader>,
    /// Why loading failed (every kv call then fails with it).
    kv_failed: Option<String>,
    egress: Egress,
    tags: CallTags,
    clock: CallClock,
    http_requests_left: u32,
    max_http_request_bytes: usize,
    max_http_response_bytes: usize,
    memory_limit: usize,
    stdout: super::stdio::CapturedOutput,
    stderr: super::stdio::CapturedOutput,
    log_budget: usize,
    log_lines_left: usize,
    /// Bytes of the output budget left (bodies plus [`OUTPUT_OVERHEAD`] each).
    pub(crate) output_budget: usize,
    /// Outputs the call may still produce.
    pub(crate) outputs_left: usize,
    kv_budget: usize,
    /// Bytes the kv state holds now (keys and values).
    kv_used: usize,
    /// Set when a returned list of outputs did not fit what was left of the output
    /// budgets: the call then ends in an error, and this is what it reports.
    pub(crate) output_overrun: Option<OutputOverrun>,
    /// Set when the guest asked for more memory than its limit: a failed allocation
    /// surfaces as a generic trap, and this is how it is reported truthfully.
    pub(crate) memory_exceeded: bool,
}

/// Which output budget a returned list overran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputOverrun {
    /// A returned list longer than the outputs the call had left: its length.
    Count(usize),
    /// A returned output that cost more than the budget had `left`.
    Bytes {
        /// Bytes of the budget left before it.
        left: usize,
        /// What it cost: its body plus the per-output overhead.
        cost: usize,
    },
}

/// What a call's log lines are tagged with in the host's own logs.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallTags {
    pub(crate) tenant: String,
    pub(crate) connector: String,
    pub(crate) version: String,
    pub(crate) call_id: String,
}

/// Which budget a call overran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overrun {
    /// Guest execution time (wall time minus time blocked in the host).
    Cpu,
    /// Total wall-clock time.
    Wall,
}

/// A call's two time budgets. Guest execution counts against the CPU deadline;
/// time the guest spends blocked in the host (an HTTP exchange, a sleep) counts
/// only against the wall-clock timeout, so a connector waiting on a slow upstream is
/// not mistaken for a spinning one, and neither can run past the wall clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallClock {
    started: Instant,
    blocked: Duration,
    cpu_deadline: Duration,
    wall_clock: Duration,
    /// Set when a budget ran out, for the trap classifier.
    pub(crate) overrun: Option<Overrun>,
}

impl CallClock {
    fn new(limits: &super::Limits) -> Self {
        CallClock {
            started: Instant::now(),
            blocked: Duration::ZERO,
            cpu_deadline: limits.cpu_deadline,
            wall_clock: limits.wall_clock,
            overrun: None,
        }
    }

    /// Wall-clock time left.
    pub(crate) fn wall_left(&self) -> Duration {
        self.wall_clock.saturating_sub(self.started.elapsed())
    }

    /// Guest execution time left before the next check is due: the smaller of
    /// the CPU and wall budgets' remainders, or the budget that ran out.
    pub(crate) fn next_check(&mut self) -> Result<Duration, Overrun> {
        let elapsed = self.started.elapsed();
        let wall_left = self.wall_clock.saturating_sub(elapsed);
        let cpu_left = self
            .cpu_deadline
            .saturating_sub(elapsed.saturating_sub(self.blocked));
        let overrun = if wall_left.is_zero() {
            Some(Overrun::Wall)
        } else if cpu_left.is_zero() {
            Some(Overrun::Cpu)
        } else {
            None
        };
        match overrun {
            Some(o) => {
                self.overrun = Some(o);
                Err(o)
            }
            None => Ok(cpu_left.min(wall_left)),
        }
    }

    /// Runs `f`, a wait in the host, and counts its time as blocked.
    /// The thread's owner hears of the wait (`waits.rs`).
    fn blocked_in<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let r = super::waits::waiting(f);
        self.blocked += start.elapsed();
        r
    }
}

impl StoreData {
    /// State with an empty WASI context (built when first used): no files, env,
    /// args or network.
    pub fn new(egress: Egress, kv: super::KvState, limits: &super::Limits) -> Self {
        let (kv, kv_before, kv_loader) = match kv {
            super::KvState::Loaded(map) => (map.clone(), Some(map), None),
            super::KvState::Lazy(loader) => (BTreeMap::new(), None, Some(loader)),
        };
        let kv_used = StoreData::kv_bytes(&kv);
        let stdout = super::stdio::CapturedOutput::default();
        let stderr = super::stdio::CapturedOutput::default();
        StoreData {
            wasi: None,
            stdout,
            stderr,
            table: ResourceTable::new(),
            captured: Captured::default(),
            kv,
            kv_before,
            kv_loader,
            kv_failed: None,
            egress,
            tags: CallTags::default(),
            clock: CallClock::new(limits),
            http_requests_left: limits.max_http_requests,
            max_http_request_bytes: limits.max_http_request_bytes,
            max_http_response_bytes: limits.max_http_response_bytes,
            memory_limit: limits.memory_bytes,
            log_budget: limits.max_log_bytes,
            log_lines_left: limits.max_log_lines,
            output_budget: limits.max_output_bytes,
            outputs_left: limits.max_outputs,
            kv_budget: limits.max_kv_bytes,
            kv_used,
            output_overrun: None,
            memory_exceeded: false,
        }
    }
}

impl StoreData {
    /// The call's time budgets.
    pub(crate) fn clock(&mut self) -> &mut CallClock {
        &mut self.clock
    }

    /// Tags the call's log lines with who and what is running.
    pub(crate) fn set_tags(&mut self, tags: CallTags) {
        self.tags = tags;
    }

    /// Which budget ran out, if one did.
    pub(crate) fn clock_overrun(&self) -> Option<Overrun> {
        self.clock.overrun
    }

    /// Moves what the guest printed into the captured logs: stdout lines as `info`,
    /// stderr lines as `warn`, each with a `stream` field; a note when bytes were
    /// discarded.
    pub(crate) fn collect_stdio(&mut self) {
        for (stream, level, out) in [
            ("stdout", "info", self.stdout.clone()),
            ("stderr", "warn", self.stderr.clone()),
        ] {
            let (kept, dropped) = out.take();
            let text = String::from_utf8_lossy(&kept);
            for line in text.lines().filter(|l| !l.is_empty()) {
                if !self.admit_log(line.len()) {
                    continue;
                }
                self.captured.logs.push(LogLine {
                    level: level.into(),
                    message: line.to_string(),
                    fields: vec![("stream".into(), stream.into())],
                });
            }
            if dropped > 0 {
                self.captured.logs.push(LogLine {
                    level: "warn".into(),
                    message: format!("{dropped} more bytes of {stream} were discarded"),
                    fields: vec![("stream".into(), stream.into())],
                });
            }
        }
    }
}

impl StoreData {
    /// Whether a log line or progress report of `size` bytes fits what is left of
    /// the call's log budgets; if so, it is charged. One that does not fit is counted
    /// as dropped, and smaller ones after it may still fit.
    fn admit_log(&mut self, size: usize) -> bool {
        let cost = size.saturating_add(LOG_LINE_OVERHEAD);
        if self.log_lines_left == 0 || cost > self.log_budget {
            self.captured.logs_dropped += 1;
            return false;
        }
        self.log_lines_left -= 1;
        self.log_budget -= cost;
        true
    }

    /// Bytes the kv state holds: keys and values.
    fn kv_bytes(kv: &BTreeMap<String, Vec<u8>>) -> usize {
        kv.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

impl wasmtime::ResourceLimiter for StoreData {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.memory_exceeded = true;
            return Ok(false);
        }
        self.captured.peak_memory = self.captured.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; 100k entries is far beyond any connector.
        Ok(desired <= 100_000)
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let (stdout, stderr) = (&self.stdout, &self.stderr);
        let ctx = self.wasi.get_or_insert_with(|| {
            WasiCtx::builder()
                .stdout(stdout.clone())
                .stderr(stderr.clone())
                .build()
        });
        WasiCtxView {
            ctx,
            table: &mut self.table,
        }
    }
}

/// Caps that keep a guest from exhausting the host through kv.
const MAX_KV_KEY: usize = 256;
const MAX_KV_VALUE: usize = 64 * 1024;
const MAX_KV_ENTRIES: usize = 1024;

impl types::Host for StoreData {}

/// A guest's log fields as `key="value" …`, formatted lazily, escaped.
struct GuestFields<'a>(&'a [(String, String)]);

impl std::fmt::Display for GuestFields<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}={:?}", Printable(k), Printable(v))?;
        }
        Ok(())
    }
}

impl log::Host for StoreData {
    fn log(&mut self, level: log::Level, message: String, fields: Vec<(String, String)>) {
        let size = message.len() + fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        // A flood of logs must not grow the host: keep what fits, count the rest.
        if !self.admit_log(size) {
            return;
        }
        // Through the host's own logs too, tagged, so an operator can follow a
        // connector without the API. The guest's text is data: a field of its own,
        // escaped, so it cannot forge a line or reach a terminal. The fields are
        // formatted only if the event is actually written (a guest's log call must
        // not allocate for a filtered level).
        let t = &self.tags;
        let shown = GuestFields(&fields);
        let text = Printable(&message);
        macro_rules! event {
            ($lvl:expr) => {
                tracing::event!(target: "airlock::guest", $lvl, tenant = %t.tenant,
                    connector = %t.connector, version = %t.version, call_id = %t.call_id,
                    guest_message = %text, fields = %shown, "guest log")
            };
        }
        match level {
            log::Level::Trace => event!(tracing::Level::TRACE),
            log::Level::Debug => event!(tracing::Level::DEBUG),
            log::Level::Info => event!(tracing::Level::INFO),
            log::Level::Warn => event!(tracing::Level::WARN),
            log::Level::Error => event!(tracing::Level::ERROR),
        }
        let level = match level {
            log::Level::Trace => "trace",
            log::Level::Debug => "debug",
            log::Level::Info => "info",
            log::Level::Warn => "warn",
            log::Level::Error => "error",
        };
        self.captured.logs.push(LogLine {
            level: level.into(),
            message,
            fields,
        });
    }

    fn progress(&mut self, done: u64, total: Option<u64>, note: Option<String>) {
        // Progress shares the log budget: a note is text a guest chose.
        if self.admit_log(note.as_ref().map_or(0, String::len)) {
            self.captured.progress.push((done, total, note));
        }
    }
}

impl http::Host for StoreData {
    fn send(&mut self, request: http::Request) -> Result<http::Response, HostError> {
        if self.http_requests_left == 0 {
            return Err(HostError::LimitExceeded(
                "this call has sent as many HTTP requests as its limit allows".into(),
            ));
        }
        let left = self.clock.wall_left();
        let timeout = match request.timeout_ms {
            Some(ms) => left.min(Duration::from_millis(u64::from(ms))),
            None => left,
        };
        if timeout.is_zero() {
            return Err(HostError::Timeout(
                "the call's time budget is spent; no request was sent".into(),
            ));
        }
        self.http_requests_left -= 1;
        let caps = RequestCaps {
            timeout,
            max_request_bytes: self.max_http_request_bytes,
            max_response_bytes: self.max_http_response_bytes,
        };
        let egress = &self.egress;
        self.clock
            .blocked_in(|| outbound::send(egress, request, caps))
    }
}

impl StoreData {
    /// Loads the kv state if it is not yet (its time counts as blocked in the host,
    /// not against the CPU deadline); a failed load fails every kv call after it.
    fn kv_ready(&mut self) -> Result<(), HostError> {
        if let Some(loader) = self.kv_loader.take() {
            match self.clock.blocked_in(loader) {
                Ok(map) => {
                    self.kv_used = StoreData::kv_bytes(&map);
                    self.kv_before = Some(map.clone());
                    self.kv = map;
                }
                Err(e) => self.kv_failed = Some(e.to_string()),
            }
        }
        match &self.kv_failed {
            Some(why) => Err(HostError::Failed(format!(
                "the kv state could not be loaded: {why}"
            ))),
            None => Ok(()),
        }
    }

    /// Why the kv state could not be loaded, if it could not: the call then
    /// fails ([`super::CallError::HostUnavailable`]), whatever the guest made of
    /// its failed kv calls, so nothing it did is committed without its state.
    pub fn kv_failure(&self) -> Option<&str> {
        self.kv_failed.as_deref()
    }

    /// The state before and after the call; `None` when it was never loaded.
    pub fn take_kv(&mut self) -> Option<super::KvChange> {
        let before = self.kv_before.take()?;
        Some(super::KvChange {
            before,
            after: std::mem::take(&mut self.kv),
        })
    }
}

impl kv::Host for StoreData {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, HostError> {
        self.kv_ready()?;
        Ok(self.kv.get(&key).cloned())
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), HostError> {
        self.kv_ready()?;
        if key.len() > MAX_KV_KEY {
            return Err(HostError::LimitExceeded(format!(
                "kv keys are at most {MAX_KV_KEY} bytes"
            )));
        }
        if value.len() > MAX_KV_VALUE {
            return Err(HostError::LimitExceeded(format!(
                "kv values are at most {MAX_KV_VALUE} bytes"
            )));
        }
        if !self.kv.contains_key(&key) && self.kv.len() >= MAX_KV_ENTRIES {
            return Err(HostError::LimitExceeded(format!(
                "at most {MAX_KV_ENTRIES} kv entries"
            )));
        }
        let replaced = self.kv.get(&key).map_or(0, |v| key.len() + v.len());
        let total = self.kv_used - replaced + key.len() + value.len();
        // State saved under a larger budget may only shrink, never grow.
        if total > self.kv_budget && total > self.kv_used {
            return Err(HostError::LimitExceeded(format!(
                "kv state is at most {} bytes (keys and values) per tenant and connector; \
                 this set would make it {total}",
                self.kv_budget
            )));
        }
        self.kv_used = total;
        self.kv.insert(key, value);
        Ok(())
    }

    fn delete(&mut self, key: String) -> Result<(), HostError> {
        self.kv_ready()?;
        if let Some(v) = self.kv.remove(&key) {
            self.kv_used -= key.len() + v.len();
        }
        Ok(())
    }
}

impl clock::Host for StoreData {
    fn now_ms(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    fn sleep(&mut self, duration_ms: u64) -> Result<(), HostError> {
        let wait = Duration::from_millis(duration_ms);
        let left = self.clock.wall_left();
        if wait >= left {
            // Waiting would outlast the call: answer at once so the guest hands the
            // wait back to the host (a rate-limited error with its retry-after).
            return Err(HostError::Timeout(format!(
                "sleeping {duration_ms} ms would outlast the call's remaining {} ms",
                left.as_millis()
            )));
        }
        self.clock.blocked_in(|| std::thread::sleep(wait));
        Ok(())
    }
}

impl emit::Host for StoreData {
    fn emit(&mut self, output: Output) -> Result<(), HostError> {
        if self.outputs_left == 0 {
            return Err(HostError::LimitExceeded(
                "this call has produced as many outputs as its limit allows".into(),
            ));
        }
        let cost = output.body.len().saturating_add(OUTPUT_OVERHEAD);
        if cost > self.output_budget {
            return Err(HostError::LimitExceeded(format!(
                "this output of {} bytes (+{OUTPUT_OVERHEAD} per output) exceeds what is left of the call's output budget ({} bytes)",
                output.body.len(),
                self.output_budget
            )));
        }
        self.output_budget -= cost;
        self.outputs_left -= 1;
        self.captured.emitted.push(output);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> StoreData {
        StoreData::new(
            Egress::none(),
            BTreeMap::new().into(),
            &super::super::Limits::default(),
        )
    }

    #[test]
    fn a_log_flood_keeps_at_most_the_budget_and_counts_the_rest() {
        let mut d = data();
        let limits = super::super::Limits::default();
        let per_line = 1000 + LOG_LINE_OVERHEAD;
        let line = "x".repeat(1000);
        for _ in 0..1000 {
            log::Host::log(&mut d, log::Level::Info, line.clone(), vec![]);
        }
        let fits = limits.max_log_bytes / per_line;
        assert_eq!(d.captured.logs.len(), fits);
        assert_eq!(d.captured.logs_dropped, 1000 - fits as u64);
        // A single line over the whole budget is dropped, and does not spend what is
        // left: a smaller line after it is kept.
        let mut d = data();
        log::Host::log(
            &mut d,
            log::Level::Info,
            "y".repeat(limits.max_log_bytes + 1),
            vec![],
        );
        assert!(d.captured.logs.is_empty());
        assert_eq!(d.captured.logs_dropped, 1);
        log::Host::log(&mut d, log::Level::Info, "small".into(), vec![]);
        assert_eq!(d.captured.logs.len(), 1);
    }

    #[test]
    fn the_host_log_keeps_guest_text_escaped_in_a_field_of_its_own() {
        #[derive(Clone, Default)]
        struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if let Ok(mut v) = self.0.lock() {
                    v.extend_from_slice(b);
                }
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let mut d = data();
            log::Host::log(
                &mut d,
                log::Level::Info,
                "benign\n2026-01-01T00:00:00Z ERROR forged \u{1b}[31m".into(),
                vec![("k\n".into(), "v\u{202e}".into())],
            );
        });
        let text = String::from_utf8(sink.0.lock().map(|v| v.clone()).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert!(
            text.contains(r"guest_message=benign\n2026-01-01T00:00:00Z ERROR forged \u{1b}[31m"),
            "{text}"
        );
        assert!(text.contains(r#"k\n="v\u{202e}""#), "{text}");
    }

    #[test]
    fn empty_lines_and_progress_count_against_the_line_budget() {
        let mut d = data();
        let max = super::super::Limits::default().max_log_lines;
        for i in 0..(max as u64 + 10) {
            if i % 2 == 0 {
                log::Host::log(&mut d, log::Level::Info, String::new(), vec![]);
            } else {
                log::Host::progress(&mut d, i, None, None);
            }
        }
        assert_eq!(d.captured.logs.len() + d.captured.progress.len(), max);
        assert_eq!(d.captured.logs_dropped, 10);
    }

    #[test]
    fn emit_refuses_what_exceeds_the_output_budget_as_a_value() {
        let mut d = data();
        let budget = super::super::Limits::default().max_output_bytes;
        let out = |n: usize| Output {
            standard: types::OutputStandard::Json,
            media_type: "application/json".into(),
            body: vec![b' '; n],
        };
        // Each output costs its body plus the overhead.
        let first = budget - 10 - 2 * OUTPUT_OVERHEAD;
        assert!(emit::Host::emit(&mut d, out(first)).is_ok());
        let refused = emit::Host::emit(&mut d, out(11));
        assert!(
            matches!(refused, Err(HostError::LimitExceeded(_))),
            "{refused:?}"
        );
        assert!(
            emit::Host::emit(&mut d, out(10)).is_ok(),
            "exactly the rest fits"
        );
        assert_eq!(d.captured.emitted.len(), 2);
    }

    #[test]
    fn emit_refuses_past_the_output_count() {
        let mut d = StoreData::new(
            Egress::none(),
            BTreeMap::new().into(),
            &super::super::Limits {
                max_outputs: 3,
                ..Default::default()
            },
        );
        let empty = || Output {
            standard: types::OutputStandard::Json,
            media_type: "application/json".into(),
            body: b"0".to_vec(),
        };
        for _ in 0..3 {
            assert!(emit::Host::emit(&mut d, empty()).is_ok());
        }
        assert!(matches!(
            emit::Host::emit(&mut d, empty()),
            Err(HostError::LimitExceeded(_))
        ));
        assert_eq!(d.captured.emitted.len(), 3);
    }

    #[test]
    fn kv_refuses_what_would_pass_its_byte_budget() {
        let limits = super::super::Limits {
            max_kv_bytes: 100,
            ..Default::default()
        };
        let mut d = StoreData::new(Egress::none(), BTreeMap::new().into(), &limits);
        assert!(kv::Host::set(&mut d, "a".into(), vec![0; 59]).is_ok()); // 60
        assert!(kv::Host::set(&mut d, "b".into(), vec![0; 40]).is_err()); // 101
        assert!(kv::Host::set(&mut d, "b".into(), vec![0; 39]).is_ok()); // 100
        // Replacing counts the new value only; deleting frees.
        assert!(kv::Host::set(&mut d, "a".into(), vec![0; 10]).is_ok()); // 51
        assert!(kv::Host::delete(&mut d, "b".into()).is_ok()); // 11
        assert!(kv::Host::set(&mut d, "c".into(), vec![0; 88]).is_ok()); // 100
        assert_eq!(d.kv.len(), 2);
    }
}
