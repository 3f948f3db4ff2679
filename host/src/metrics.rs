//! The node's metrics, in the Prometheus (OpenMetrics) text format: `GET /metrics`
//! (the operator's `metrics:read` scope: the series are node-wide) on the API's
//! address, or scope-free on `--metrics-listen ADDR` for a scraper on an internal
//! network.
//!
//! One [`Metrics`] per server (no process-global recorder), made by the
//! composition root and handed to the parts that count: the registry (guest calls,
//! heartbeats, quarantine, messages published), the ingest route, the scheduler and
//! the HTTP front. Gauges of state (connectors per status, the pipeline's backlog)
//! are read when scraped.
//!
//! Invariants:
//! - A label never carries text a tenant chose: connectors are named by id (made
//!   by the server), and every other label is a closed set — entry points, error
//!   kinds and codes, standards, validator rule names, route templates, methods
//!   and status codes. Only the guest-call counter has a connector label, and a
//!   deleted connector's series go with it ([`Metrics::forget_connector`]).
//! - Counts are of what was committed: messages published and outputs quarantined
//!   are counted after their transaction, never for work another node finished.
//! - Counting never blocks or fails a request: every method is a few atomic
//!   operations (a read lock on a family the first time a label set appears).
//! - Names follow Prometheus conventions, and OpenTelemetry's semantic
//!   conventions where one exists (`http_server_request_duration_seconds` with
//!   `http_request_method`, `http_route`, `http_response_status_code`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;

/// Every outcome a guest call is counted with: `ok`, `invalid_output`, and each
/// kind of `runtime::CallError` (a test keeps the list whole).
pub const CALL_OUTCOMES: &[&str] = &[
    "ok",
    "invalid_output",
    "timeout",
    "wall_clock_timeout",
    "contract_violation",
    "host_unavailable",
    "memory_exceeded",
    "stack_overflow",
    "output_too_large",
    "too_many_outputs",
    "transfer_too_large",
    "out_of_fuel",
    "trapped",
    "invalid_config",
    "invalid_input",
    "upstream",
    "rate_limited",
    "unsupported",
    "internal",
];

/// Seconds, from 0.5 ms to ~33 s: a guest call or an HTTP request.
fn latency_buckets() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 17,
    ))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    connector: String,
    entry: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallTimeLabels {
    entry: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HeartbeatLabels {
    source: &'static str,
    ok: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IngestLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuarantineLabels {
    standard: &'static str,
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    http_request_method: &'static str,
    http_route: String,
    http_response_status_code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

/// The node's metrics (see the module's docs).
pub struct Metrics {
    /// The `airlock_` metrics.
    airlock: Registry,
    /// Metrics under OpenTelemetry's names (no product prefix).
    plain: Registry,
    guest_calls: Family<CallLabels, Counter>,
    guest_call_duration: Family<CallTimeLabels, Histogram>,
    guest_call_overflows: Counter,
    heartbeats: Family<HeartbeatLabels, Counter>,
    ingest: Family<IngestLabels, Counter>,
    quarantined: Family<QuarantineLabels, Counter>,
    published: Counter,
    http: Family<HttpLabels, Histogram>,
    connectors: Family<StatusLabels, Gauge>,
    backlog: Gauge,
    pipeline_lag: Gauge<f64, AtomicU64>,
    scheduler_lag: Gauge<f64, AtomicU64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric, at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("airlock");
        let m = Metrics {
            guest_calls: Family::default(),
            guest_call_duration: Family::new_with_constructor(latency_buckets),
            guest_call_overflows: Counter::default(),
            heartbeats: Family::default(),
            ingest: Family::default(),
            quarantined: Family::default(),
            published: Counter::default(),
            http: Family::new_with_constructor(latency_buckets),
            connectors: Family::default(),
            backlog: Gauge::default(),
            pipeline_lag: Gauge::default(),
            scheduler_lag: Gauge::default(),
            airlock: Registry::default(),
            plain: Registry::default(),
        };
        registry.register(
            "guest_calls",
            "Guest calls by connector (id), entry point (invoke, poll, ingest) and outcome (ok, invalid_output, or the error's kind)",
            m.guest_calls.clone(),
        );
        registry.register_with_unit(
            "guest_call_duration",
            "Guest call latency by entry point",
            Unit::Seconds,
            m.guest_call_duration.clone(),
        );
        registry.register(
            "guest_call_overflows",
            "Guest calls that waited 20 ms in a guest-thread queue that did not move (every thread held by a long call, or none able to come) and ran on the blocking pool instead",
            m.guest_call_overflows.clone(),
        );
        registry.register(
            "heartbeats",
            "Heartbeats recorded, by source (call, external, ingest) and whether they were healthy",
            m.heartbeats.clone(),
        );
        registry.register(
            "ingest_events",
            "Pushed events by outcome: accepted, duplicate, or the refusal's error code",
            m.ingest.clone(),
        );
        registry.register(
            "quarantined_outputs",
            "Outputs quarantined, by standard and the rule of their first finding",
            m.quarantined.clone(),
        );
        registry.register(
            "bus_messages_published",
            "Messages committed to the outbox (published on the bus)",
            m.published.clone(),
        );
        registry.register(
            "connectors",
            "Connectors per status, all tenants (read when scraped)",
            m.connectors.clone(),
        );
        registry.register(
            "pipeline_backlog_events",
            "Pushed events waiting for the pipeline (read when scraped)",
            m.backlog.clone(),
        );
        registry.register_with_unit(
            "pipeline_lag",
            "Age of the oldest event waiting for the pipeline (read when scraped)",
            Unit::Seconds,
            m.pipeline_lag.clone(),
        );
        registry.register_with_unit(
            "scheduler_lag",
            "How late the last scheduled poll this node claimed started",
            Unit::Seconds,
            m.scheduler_lag.clone(),
        );
        let mut plain = Registry::default();
        plain.register_with_unit(
            "http_server_request_duration",
            "HTTP request duration by method, route template and status code",
            Unit::Seconds,
            m.http.clone(),
        );
        Metrics {
            airlock: registry,
            plain,
            ..m
        }
    }

    /// A guest call found no guest thread free and ran on the overflow pool.
    pub fn guest_call_overflow(&self) {
        self.guest_call_overflows.inc();
    }

    /// A guest call ended: its entry point, outcome and latency.
    pub fn guest_call(
        &self,
        connector: &str,
        entry: &'static str,
        outcome: &'static str,
        seconds: f64,
    ) {
        self.guest_calls
            .get_or_create(&CallLabels {
                connector: connector.to_string(),
                entry,
                outcome,
            })
            .inc();
        self.guest_call_duration
            .get_or_create(&CallTimeLabels { entry })
            .observe(seconds);
    }

    /// Drops a deleted connector's series, so deleting connectors never grows the
    /// scrape. `outcomes` are the outcomes a call can have (see [`CALL_OUTCOMES`]).
    pub fn forget_connector(&self, connector: &str) {
        for entry in ["invoke", "poll", "ingest"] {
            for &outcome in CALL_OUTCOMES {
                self.guest_calls.remove(&CallLabels {
                    connector: connector.to_string(),
                    entry,
                    outcome,
                });
            }
        }
    }

    /// A heartbeat was recorded.
    pub fn heartbeat(&self, source: &'static str, ok: bool) {
        self.heartbeats
            .get_or_create(&HeartbeatLabels { source, ok })
            .inc();
    }

    /// A pushed event was answered: `accepted`, `duplicate` or an error code.
    pub fn ingest(&self, outcome: &'static str) {
        self.ingest.get_or_create(&IngestLabels { outcome }).inc();
    }

    /// An output of `standard` was quarantined for breaking `rule` (its first).
    pub fn quarantined(&self, standard: &'static str, rule: &str) {
        self.quarantined
            .get_or_create(&QuarantineLabels {
                standard,
                // Validators' rule names are a closed set; bound them anyway.
                rule: crate::text::bounded(rule, 64),
            })
            .inc();
    }

    /// `n` messages were committed to the outbox.
    pub fn published(&self, n: u64) {
        if n > 0 {
            self.published.inc_by(n);
        }
    }

    /// An HTTP request was answered.
    pub fn http_request(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        self.http
            .get_or_create(&HttpLabels {
                http_request_method: method,
                http_route: route.to_string(),
                http_response_status_code: status,
            })
            .observe(seconds);
    }

    /// How late the scheduler's last claimed poll started.
    pub fn scheduler_lag(&self, seconds: f64) {
        self.scheduler_lag.set(seconds);
    }

    /// The metrics as text, with the state gauges set first (kept as they were
    /// when `state` could not be read).
    pub fn render(&self, state: Option<&State>) -> String {
        if let Some(state) = state {
            for (status, n) in &state.connectors {
                self.connectors
                    .get_or_create(&StatusLabels { status })
                    .set(*n);
            }
            self.backlog.set(state.backlog);
            self.pipeline_lag.set(state.pipeline_lag_seconds);
        }
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.airlock)
            .and_then(|()| encode_registry(&mut out, &self.plain))
            .and_then(|()| encode_eof(&mut out));
        out
    }
}

/// What the gauges of state read when scraped.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Connectors per status (every status, zeros included).
    pub connectors: Vec<(&'static str, i64)>,
    /// Events waiting for the pipeline.
    pub backlog: i64,
    /// Age of the oldest of them, seconds.
    pub pipeline_lag_seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_call_error_is_an_outcome() {
        let source = include_str!("runtime/error.rs");
        let kinds = source
            .split("pub fn kind(&self)")
            .nth(1)
            .and_then(|rest| rest.split("\n    }\n").next())
            .unwrap_or_default();
        let mut found = 0;
        for piece in kinds.split("=> \"").skip(1) {
            let kind = piece.split('"').next().unwrap_or_default();
            assert!(
                CALL_OUTCOMES.contains(&kind),
                "{kind} is not in CALL_OUTCOMES"
            );
            found += 1;
        }
        assert!(found >= 17, "found only {found} kinds");
    }

    #[test]
    fn a_forgotten_connector_leaves_no_series() {
        let m = Metrics::new();
        m.guest_call("c-1", "invoke", "ok", 0.001);
        m.guest_call("c-1", "poll", "upstream", 0.001);
        m.guest_call("c-2", "invoke", "ok", 0.001);
        m.forget_connector("c-1");
        let text = m.render(None);
        assert!(!text.contains("c-1"), "{text}");
        assert!(text.contains("c-2"), "{text}");
    }
}
