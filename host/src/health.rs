//! Heartbeats and the status derived from them.
//!
//! Every guest call and every external heartbeat becomes a [`HeartbeatRow`] handed
//! to the [`Recorder`]: a bounded channel, so the call path never waits on the
//! database. One writer task drains the channel in batches, inserts them in one
//! transaction, and re-derives the status of each connector the batch touched.
//!
//! When the writer is behind (the channel is full), a heartbeat is not dropped: it
//! is held in memory per connector. The newest [`KEPT_WHEN_BEHIND`] of each
//! connector are kept as they are — the status reads the newest `window` and the
//! heartbeat statistics at most the newest 1 000, so both stay exact — and older
//! ones are folded into a summary (counts per outcome, a latency histogram) that
//! the writer stores as a `heartbeat_rollups` row. The writer takes what is held
//! with each batch, after the channel's (older) heartbeats.
//!
//! Status rules ([`HealthPolicy`] holds the thresholds):
//! - no heartbeat (since the connector was last enabled) → `registered`;
//! - `error_after_failures` consecutive failures → `error`;
//! - the last call failed, or the failure rate over the window reaches
//!   `degraded_error_rate`, or the window's p95 latency reaches
//!   `degraded_latency_ms` → `degraded`;
//! - otherwise `active`;
//! - hysteresis: leaving `error` or `degraded` for a better status takes
//!   `recover_after` consecutive successes;
//! - silence counts only for connectors whose heartbeats come from an external
//!   system: none for `late_after` → `degraded`, none for `silent_after` → `error`
//!   (on-demand connectors are idle between calls, which is not a fault);
//! - an admin's disable → `disabled`, which only an admin's enable leaves.
//!
//! The writer starts a round at most every [`WRITE_GAP`]: heartbeats are on no
//! answer's path, and every round takes SQLite's one writer for a transaction of
//! inserts and one per connector it touched (the re-derivation), which the
//! invokes waiting on their outputs' commit would otherwise queue behind
//! (a round per few hundred microseconds under load, before). A reader that must
//! see them ([`Recorder::flush`]) cuts the wait short.
//!
//! Invariant: recording never blocks and never touches the database; what is held
//! in memory is bounded ([`MAX_HELD`] heartbeats, plus a fixed-size summary per
//! connector); a heartbeat is lost only if the writer task is gone.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::store::{HealthRow, HeartbeatRollup, HeartbeatRow, Store};

/// Thresholds of the status rules. Defaults in [`HealthPolicy::default`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthPolicy {
    /// How many recent heartbeats the rates and percentiles look at. Default 20.
    pub window: usize,
    /// Consecutive failures that make a connector `error`. Default 3.
    pub error_after_failures: usize,
    /// Failure rate over the window that makes it `degraded`. Default 0.2.
    pub degraded_error_rate: f64,
    /// p95 latency over the window that makes it `degraded`, ms. Default 2000.
    pub degraded_latency_ms: f64,
    /// Consecutive successes needed to leave `degraded` or `error`. Default 3.
    pub recover_after: usize,
    /// Silence after which an externally reporting connector is `degraded`. 5 min.
    pub late_after: Duration,
    /// Silence after which it is `error`. Default 30 min.
    pub silent_after: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            window: 20,
            error_after_failures: 3,
            degraded_error_rate: 0.2,
            degraded_latency_ms: 2000.0,
            recover_after: 3,
            late_after: Duration::from_secs(300),
            silent_after: Duration::from_secs(1800),
        }
    }
}

/// The five statuses.
pub const STATUSES: [&str; 5] = ["registered", "active", "degraded", "error", "disabled"];

fn rank(status: &str) -> u8 {
    match status {
        "active" => 0,
        "degraded" => 1,
        "error" => 2,
        _ => 0,
    }
}

/// The value at quantile `q` (0..=1) of `sorted` (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    // Nearest-rank: the smallest value with at least q·n values at or below it.
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted.get(rank - 1).copied()
}

fn failure_text(h: &HeartbeatRow) -> String {
    match (&h.error_kind, &h.detail) {
        (Some(k), Some(d)) => format!("{k}: {d}"),
        (Some(k), None) => k.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => "failed".into(),
    }
}

/// Derives (status, reason) from the window (newest first) and the previous status.
pub fn derive(
    previous: Option<&str>,
    window: &[HeartbeatRow],
    policy: &HealthPolicy,
) -> (&'static str, String) {
    let Some(newest) = window.first() else {
        return ("registered", "no heartbeat yet".into());
    };
    let failures_in_a_row = window.iter().take_while(|h| !h.ok).count();
    let successes_in_a_row = window.iter().take_while(|h| h.ok).count();
    if failures_in_a_row >= policy.error_after_failures {
        return (
            "error",
            format!(
                "{failures_in_a_row} consecutive failed calls; the last: {}",
                failure_text(newest)
            ),
        );
    }
    let failed = window.iter().filter(|h| !h.ok).count();
    let rate = failed as f64 / window.len() as f64;
    let mut latencies: Vec<f64> = window.iter().filter_map(|h| h.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let p95 = percentile(&latencies, 0.95);
    let (candidate, reason) = if failures_in_a_row > 0 {
        (
            "degraded",
            format!("the last call failed ({})", failure_text(newest)),
        )
    } else if rate >= policy.degraded_error_rate {
        (
            "degraded",
            format!(
                "{failed} of the last {} calls failed ({:.0} %, threshold {:.0} %)",
                window.len(),
                rate * 100.0,
                policy.degraded_error_rate * 100.0
            ),
        )
    } else if let Some(p95) = p95.filter(|p| *p >= policy.degraded_latency_ms) {
        (
            "degraded",
            format!(
                "p95 latency {p95:.0} ms over the last {} calls is at or above {:.0} ms",
                window.len(),
                policy.degraded_latency_ms
            ),
        )
    } else {
        (
            "active",
            format!(
                "{} of the last {} calls succeeded",
                window.len() - failed,
                window.len()
            ),
        )
    };
    if let Some(prev) = previous
        && rank(prev) > rank(candidate)
        && successes_in_a_row < policy.recover_after
    {
        let prev: &'static str = if prev == "error" { "error" } else { "degraded" };
        return (
            prev,
            format!(
                "recovering: {successes_in_a_row} of {} successful calls needed",
                policy.recover_after
            ),
        );
    }
    (candidate, reason)
}

/// The status shown for a connector now: its stored health adjusted for silence
/// (only for externally reporting connectors), or `registered` without any.
pub fn effective(
    disabled_reason: Option<&str>,
    health: Option<&HealthRow>,
    now_ms: i64,
    policy: &HealthPolicy,
) -> (String, String) {
    if let Some(reason) = disabled_reason {
        return ("disabled".into(), format!("disabled by an admin: {reason}"));
    }
    let Some(h) = health else {
        return ("registered".into(), "no heartbeat yet".into());
    };
    if h.external {
        let silent_ms = now_ms.saturating_sub(h.last_at_ms);
        let silent = Duration::from_millis(u64::try_from(silent_ms).unwrap_or(0));
        if silent >= policy.silent_after {
            return (
                "error".into(),
                format!("no heartbeat for {} s", silent.as_secs()),
            );
        }
        if silent >= policy.late_after && h.status == "active" {
            return (
                "degraded".into(),
                format!("heartbeat late: none for {} s", silent.as_secs()),
            );
        }
    }
    (h.status.clone(), h.reason.clone())
}

enum Msg {
    Beat(HeartbeatRow),
    Flush(oneshot::Sender<()>),
}

/// The handle the call path records heartbeats through. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    /// Wakes the writer from its [`WRITE_GAP`] wait: a flush waits for it.
    urgent: Arc<Notify>,
    dropped: Arc<AtomicU64>,
    held: Arc<Mutex<Held>>,
    summarised: Arc<AtomicU64>,
}

/// The least time from the start of one write round to the start of the next.
pub const WRITE_GAP: Duration = Duration::from_millis(20);

/// Heartbeats of each connector kept one by one while the writer is behind: at
/// least the status window and the most the heartbeat statistics read.
pub const KEPT_WHEN_BEHIND: usize = 1000;

/// Heartbeats held one by one at most, across connectors, while the writer is
/// behind; past it each connector's oldest held heartbeat is summarised.
pub const MAX_HELD: usize = 200_000;

/// What the recorder holds while the writer is behind.
#[derive(Debug, Default)]
struct Held {
    connectors: HashMap<String, Behind>,
    count: usize,
}

/// One connector's held heartbeats: the newest as they are, older ones summarised.
#[derive(Debug, Default)]
struct Behind {
    newest: VecDeque<HeartbeatRow>,
    summary: Option<Summary>,
}

/// Upper bounds (ms) of the summary's latency buckets; a last bucket takes the rest.
const LATENCY_BUCKETS_MS: [f64; 16] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0,
    30_000.0, 60_000.0, 300_000.0,
];

/// Heartbeats counted together.
#[derive(Debug, Clone)]
struct Summary {
    tenant_id: String,
    from_ms: i64,
    to_ms: i64,
    count: i64,
    failed: i64,
    buckets: [u64; LATENCY_BUCKETS_MS.len() + 1],
    no_latency: u64,
}

impl Summary {
    fn add(summary: &mut Option<Summary>, b: &HeartbeatRow) {
        let s = summary.get_or_insert_with(|| Summary {
            tenant_id: b.tenant_id.clone(),
            from_ms: b.at_ms,
            to_ms: b.at_ms,
            count: 0,
            failed: 0,
            buckets: [0; LATENCY_BUCKETS_MS.len() + 1],
            no_latency: 0,
        });
        s.from_ms = s.from_ms.min(b.at_ms);
        s.to_ms = s.to_ms.max(b.at_ms);
        s.count += 1;
        s.failed += i64::from(!b.ok);
        match b.latency_ms {
            Some(l) => {
                let i = LATENCY_BUCKETS_MS
                    .iter()
                    .position(|&le| l <= le)
                    .unwrap_or(LATENCY_BUCKETS_MS.len());
                s.buckets[i] += 1;
            }
            None => s.no_latency += 1,
        }
    }

    fn rollup(self, connector_id: String) -> HeartbeatRollup {
        let histogram = serde_json::json!({
            "le_ms": LATENCY_BUCKETS_MS,
            "counts": self.buckets,
            "none": self.no_latency,
        });
        HeartbeatRollup {
            tenant_id: self.tenant_id,
            connector_id,
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            count: self.count,
            failed: self.failed,
            latency_histogram: histogram.to_string(),
        }
    }
}

impl Held {
    /// Nothing held, not even a summary.
    fn is_empty(&self) -> bool {
        self.connectors.is_empty()
    }

    /// Holds `beat`; summarises the connector's oldest held one when it has more
    /// than [`KEPT_WHEN_BEHIND`] or all connectors more than [`MAX_HELD`].
    fn hold(&mut self, beat: HeartbeatRow) -> bool {
        let behind = self
            .connectors
            .entry(beat.connector_id.clone())
            .or_default();
        behind.newest.push_back(beat);
        self.count += 1;
        if (behind.newest.len() > KEPT_WHEN_BEHIND || self.count > MAX_HELD)
            && let Some(oldest) = behind.newest.pop_front()
        {
            Summary::add(&mut behind.summary, &oldest);
            self.count -= 1;
            return true;
        }
        false
    }

    /// Everything held: the heartbeats in the order they came, per connector, and
    /// the summaries.
    fn take(&mut self) -> (Vec<HeartbeatRow>, Vec<HeartbeatRollup>) {
        let connectors = std::mem::take(&mut self.connectors);
        self.count = 0;
        let mut beats = Vec::new();
        let mut rollups = Vec::new();
        for (connector, behind) in connectors {
            beats.extend(behind.newest);
            if let Some(s) = behind.summary {
                rollups.push(s.rollup(connector));
            }
        }
        (beats, rollups)
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Beat(b) => b.fmt(f),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

/// Heartbeats the channel holds before new ones are dropped.
pub const CHANNEL_CAPACITY: usize = 65_536;

impl Recorder {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(store: Store, policy: HealthPolicy) -> Recorder {
        Recorder::start_with_capacity(store, policy, CHANNEL_CAPACITY)
    }

    /// [`Recorder::start`] with a channel of `capacity` heartbeats (tests make the
    /// writer fall behind with a small one).
    pub fn start_with_capacity(store: Store, policy: HealthPolicy, capacity: usize) -> Recorder {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let held = Arc::new(Mutex::new(Held::default()));
        let urgent = Arc::new(Notify::new());
        tokio::spawn(writer(store, policy, rx, held.clone(), urgent.clone()));
        Recorder {
            tx,
            urgent,
            dropped: Arc::new(AtomicU64::new(0)),
            held,
            summarised: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues a heartbeat. Never waits: when the writer is behind, the heartbeat is
    /// held in memory (and, past [`KEPT_WHEN_BEHIND`] for its connector,
    /// summarised) until the writer takes it with its next batch.
    pub fn record(&self, beat: HeartbeatRow) {
        // Under the held lock, and held again while anything is held: so nothing
        // in the channel is ever newer than a held heartbeat, and the writer
        // (which drains the channel under the same lock before taking the held
        // ones) writes them in the order they came.
        let Ok(mut held) = self.held.lock() else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let beat = if held.is_empty() {
            match self.tx.try_send(Msg::Beat(beat)) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(Msg::Beat(beat))) => beat,
                Err(_) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        } else {
            beat
        };
        if held.hold(beat) {
            self.summarised.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Heartbeats lost: only when the writer task is gone.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Heartbeats counted in a summary instead of written one by one, because the
    /// writer was behind.
    pub fn summarised(&self) -> u64 {
        self.summarised.load(Ordering::Relaxed)
    }

    /// Waits until every heartbeat recorded before this call is written and the
    /// statuses are derived: reads that must see them call it first.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            self.urgent.notify_one();
            let _ = wait.await;
        }
    }
}

async fn writer(
    store: Store,
    policy: HealthPolicy,
    mut rx: mpsc::Receiver<Msg>,
    held: Arc<Mutex<Held>>,
    urgent: Arc<Notify>,
) {
    let mut buf = Vec::with_capacity(2048);
    let mut next_round = tokio::time::Instant::now();
    loop {
        buf.clear();
        if rx.recv_many(&mut buf, 2048).await == 0 {
            return;
        }
        // Whatever comes during the wait joins this round (below, with the
        // channel's rest); a flush among what came, or sent during it, ends it.
        if !buf.iter().any(|m| matches!(m, Msg::Flush(_))) {
            tokio::select! {
                () = tokio::time::sleep_until(next_round) => {}
                () = urgent.notified() => {}
            }
        }
        next_round = tokio::time::Instant::now() + WRITE_GAP;
        let mut beats = Vec::new();
        let mut flushes = Vec::new();
        for m in buf.drain(..) {
            match m {
                Msg::Beat(b) => beats.push(b),
                Msg::Flush(f) => flushes.push(f),
            }
        }
        // What was held while the channel was full came after the channel's
        // heartbeats: the rest of the channel is drained under the held lock
        // (`record` sends under it too), then the held ones follow, so the
        // newest stay newest.
        let (later, rollups) = match held.lock() {
            Ok(mut h) => {
                while let Ok(m) = rx.try_recv() {
                    match m {
                        Msg::Beat(b) => beats.push(b),
                        Msg::Flush(f) => flushes.push(f),
                    }
                }
                h.take()
            }
            Err(_) => Default::default(),
        };
        beats.extend(later);
        if let Err(e) = store.insert_heartbeat_rollups(&rollups).await {
            tracing::error!(error = %e, count = rollups.len(), "writing heartbeat summaries failed");
        }
        let started = std::time::Instant::now();
        let written = write_batch(&store, &policy, &beats).await;
        tracing::debug!(
            heartbeats = beats.len(),
            micros = started.elapsed().as_micros() as u64,
            "heartbeats written"
        );
        if let Err(e) = written {
            tracing::error!(error = %e, count = beats.len(), "writing heartbeats failed");
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}

async fn write_batch(
    store: &Store,
    policy: &HealthPolicy,
    beats: &[HeartbeatRow],
) -> Result<(), crate::store::StoreError> {
    if beats.is_empty() {
        return Ok(());
    }
    if let Err(e) = store.insert_heartbeats(beats).await {
        // One row the database refuses (bad data, not a database that is down) must
        // not cost the others theirs — every tenant's heartbeats share a batch: the
        // rows are inserted one by one, and only those still refused are lost.
        let bad_data = matches!(&e, crate::store::StoreError::Db(sqlx::Error::Database(_)));
        if !bad_data || beats.len() == 1 {
            return Err(e);
        }
        tracing::warn!(error = %e, count = beats.len(), "a heartbeat batch was refused; inserting its rows one by one");
        for beat in beats {
            if let Err(e) = store.insert_heartbeats(std::slice::from_ref(beat)).await {
                tracing::error!(error = %e, tenant = %beat.tenant_id,
                    connector = %beat.connector_id, "a heartbeat could not be written");
            }
        }
    }
    // connector → (tenant, any external heartbeat in this batch)
    let mut touched: BTreeMap<&str, (&str, bool)> = BTreeMap::new();
    for b in beats {
        let e = touched
            .entry(b.connector_id.as_str())
            .or_insert((b.tenant_id.as_str(), false));
        e.1 |= b.source == "external";
    }
    let limit = i64::try_from(policy.window).unwrap_or(20);
    for (connector_id, (tenant_id, external)) in touched {
        store
            .rederive_health(tenant_id, connector_id, limit, |previous, window| {
                let newest = window.first()?;
                let (status, reason) = derive(previous.map(|p| p.status.as_str()), window, policy);
                Some(HealthRow {
                    connector_id: connector_id.to_string(),
                    status: status.to_string(),
                    reason,
                    last_at_ms: newest.at_ms,
                    external: external || previous.is_some_and(|p| p.external),
                })
            })
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(ok: bool, latency: f64) -> HeartbeatRow {
        HeartbeatRow {
            tenant_id: "t".into(),
            connector_id: "c".into(),
            at_ms: 0,
            latency_ms: Some(latency),
            ok,
            error_kind: (!ok).then(|| "upstream".to_string()),
            detail: None,
            source: "call".into(),
        }
    }

    #[test]
    fn status_follows_the_rules_with_hysteresis() {
        let p = HealthPolicy::default();
        assert_eq!(derive(None, &[], &p).0, "registered");
        assert_eq!(derive(None, &[beat(true, 5.0)], &p).0, "active");
        assert_eq!(
            derive(Some("active"), &[beat(false, 5.0), beat(true, 5.0)], &p).0,
            "degraded"
        );
        let three_failures = vec![beat(false, 1.0); 3];
        let (s, reason) = derive(Some("degraded"), &three_failures, &p);
        assert_eq!(s, "error");
        assert!(reason.contains("3 consecutive"), "{reason}");
        // Two successes after an error are not enough to leave it.
        let mut w = vec![beat(true, 1.0); 2];
        w.extend(three_failures.clone());
        assert_eq!(derive(Some("error"), &w, &p).0, "error");
        // Three are; the failure rate still shows, so it is degraded, not active.
        let mut w = vec![beat(true, 1.0); 3];
        w.extend(three_failures);
        assert_eq!(derive(Some("error"), &w, &p).0, "degraded");
        // Slow calls degrade.
        let slow = vec![beat(true, 2500.0); 5];
        assert_eq!(derive(Some("active"), &slow, &p).0, "degraded");
    }

    #[test]
    fn silence_counts_only_for_external_reporters() {
        let p = HealthPolicy::default();
        let h = HealthRow {
            connector_id: "c".into(),
            status: "active".into(),
            reason: "ok".into(),
            last_at_ms: 0,
            external: true,
        };
        let hour = 3_600_000;
        assert_eq!(effective(None, Some(&h), hour, &p).0, "error");
        assert_eq!(effective(None, Some(&h), 400_000, &p).0, "degraded");
        let on_demand = HealthRow {
            external: false,
            ..h.clone()
        };
        assert_eq!(effective(None, Some(&on_demand), hour, &p).0, "active");
        assert_eq!(effective(Some("broken"), Some(&h), 0, &p).0, "disabled");
        assert_eq!(effective(None, None, 0, &p).0, "registered");
    }

    fn numbered(connector: &str, i: i64) -> HeartbeatRow {
        HeartbeatRow {
            connector_id: connector.into(),
            at_ms: i,
            ..beat(i % 3 != 0, i as f64)
        }
    }

    #[test]
    fn held_heartbeats_keep_the_newest_and_summarise_the_rest() {
        let mut held = Held::default();
        let n = KEPT_WHEN_BEHIND as i64 + 500;
        let summarised = (0..n).filter(|&i| held.hold(numbered("c", i))).count();
        assert_eq!(summarised, 500);
        held.hold(numbered("d", 7));
        let (beats, rollups) = held.take();
        let kept: Vec<i64> = beats
            .iter()
            .filter(|b| b.connector_id == "c")
            .map(|b| b.at_ms)
            .collect();
        assert_eq!(kept, (500..n).collect::<Vec<_>>(), "the newest, in order");
        assert_eq!(beats.iter().filter(|b| b.connector_id == "d").count(), 1);
        assert_eq!(rollups.len(), 1);
        let r = &rollups[0];
        assert_eq!(
            (r.connector_id.as_str(), r.count, r.from_ms, r.to_ms),
            ("c", 500, 0, 499)
        );
        assert_eq!(r.failed, (0..500).filter(|i| i % 3 == 0).count() as i64);
        let h: serde_json::Value = serde_json::from_str(&r.latency_histogram).unwrap_or_default();
        let counted: u64 = h["counts"]
            .as_array()
            .map(|c| c.iter().filter_map(serde_json::Value::as_u64).sum())
            .unwrap_or(0);
        assert_eq!(counted, 500);
        assert_eq!(held.count, 0);
        assert!(held.take().0.is_empty(), "taking empties it");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_far_behind_loses_no_heartbeat_and_keeps_the_newest_exact() {
        let dir = std::env::temp_dir().join(format!("airlock-health-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let store = Store::open(&Store::sqlite_url(&dir))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // A channel of 8: the writer cannot keep up with a tight loop.
        let recorder = Recorder::start_with_capacity(store.clone(), HealthPolicy::default(), 8);
        let n: i64 = 20_000;
        for i in 0..n {
            recorder.record(numbered("c", i));
        }
        recorder.flush().await;
        assert_eq!(recorder.dropped(), 0);
        let kept = store
            .recent_heartbeats("t", "c", 1000)
            .await
            .unwrap_or_default();
        let newest: Vec<i64> = kept.iter().map(|b| b.at_ms).collect();
        assert_eq!(
            newest,
            (n - 1000..n).rev().collect::<Vec<_>>(),
            "the newest 1 000, exact"
        );
        let (summarised, failed) = store.summarised_heartbeats("c").await.unwrap_or_default();
        assert!(
            summarised > 0,
            "the writer never fell behind: the test tests nothing"
        );
        assert_eq!(summarised as u64, recorder.summarised());
        let rows = store
            .recent_heartbeats("t", "c", i64::MAX)
            .await
            .unwrap_or_default();
        assert_eq!(
            rows.len() as i64 + summarised,
            n,
            "every heartbeat is a row or counted"
        );
        let all_failed = (0..n).filter(|i| i % 3 == 0).count() as i64;
        assert_eq!(
            rows.iter().filter(|b| !b.ok).count() as i64 + failed,
            all_failed
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.95), Some(95.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
