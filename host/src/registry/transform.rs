//! The ingest pipeline's work on a batch of stored events: transform each through
//! the connector's component when it has one that declares `ingest` (otherwise the
//! body is the output, in the connector's declared standard), screen the outputs,
//! and say how each event finishes. Writing the result is the caller's
//! (`Store::finish_events`, one transaction per batch).
//!
//! Failures: a store failure or a transient guest failure (timeout, upstream,
//! rate limit, trap…) is retried with exponential backoff, [`MAX_ATTEMPTS`] times
//! in all; a connector refusing the event, or an event that cannot be transformed
//! as configured, fails at once. A failed event stays stored with its reason. A
//! disabled connector's events wait (they were acknowledged and must not be lost)
//! until it is enabled.

use std::collections::BTreeMap;

use serde_json::json;

use super::calls::Call;
use super::outputs::{self, Screened};
use super::{Registry, RegistryError};
use crate::runtime::bindings::airlock::connector::types::{Output, OutputStandard};
use crate::runtime::{CallError, InboundEvent};
use crate::store::{ConnectorRow, DeploymentRow, Finish, HeartbeatRow, PendingEvent};
use crate::time::now_ms;
use crate::vocab::Standard;

/// Attempts before an event is given up as failed.
pub const MAX_ATTEMPTS: i64 = 5;

/// How long a disabled connector's events wait before they are looked at again.
const DISABLED_RECHECK_MS: i64 = 30_000;
/// The longest wait a connector's `retry-after` can ask for.
const MAX_RETRY_AFTER_MS: i64 = 3_600_000;

/// The standard a connector without an `ingest` export publishes its events in:
/// the one it registered with, else plain JSON.
fn output_standard(name: Option<&str>) -> Standard {
    name.and_then(|n| n.parse().ok()).unwrap_or(Standard::Json)
}

fn failed(reason: impl Into<String>) -> Finish {
    Finish::Failed {
        outcome: json!({"error": reason.into()}).to_string(),
    }
}

/// Another try later for an event that failed `attempts` times before, or failure
/// when the attempts are spent.
fn retry(attempts: i64, reason: String, after_ms: Option<i64>) -> Finish {
    if attempts + 1 >= MAX_ATTEMPTS {
        return failed(format!("gave up after {MAX_ATTEMPTS} attempts: {reason}"));
    }
    // `after_ms` comes from the guest: bounded, and added without overflow.
    let backoff = after_ms
        .unwrap_or(1000 << attempts.clamp(0, 6))
        .clamp(0, MAX_RETRY_AFTER_MS);
    Finish::Retry {
        not_before_ms: now_ms().saturating_add(backoff),
        outcome: json!({"error": reason, "attempts": attempts + 1}).to_string(),
        counts: true,
    }
}

impl Registry {
    /// Decides how each event of the batch finishes (see the module's docs).
    pub async fn process_events(&self, events: Vec<PendingEvent>) -> Vec<(String, Finish)> {
        let mut groups: BTreeMap<(String, String), Vec<PendingEvent>> = BTreeMap::new();
        for e in events {
            groups
                .entry((e.tenant_id.clone(), e.connector_id.clone()))
                .or_default()
                .push(e);
        }
        let mut done = Vec::new();
        for ((tenant, connector_id), events) in groups {
            let found = self
                .store
                .connector_with_deployments(&tenant, &connector_id)
                .await;
            match found {
                Err(e) => {
                    let reason = format!("the database failed: {e}");
                    done.extend(
                        events
                            .iter()
                            .map(|ev| (ev.id.clone(), retry(ev.attempts, reason.clone(), None))),
                    );
                }
                Ok(None) => done.extend(
                    events
                        .iter()
                        .map(|ev| (ev.id.clone(), failed("the connector no longer exists"))),
                ),
                Ok(Some((connector, _))) if connector.disabled_reason.is_some() => {
                    done.extend(events.iter().map(|ev| {
                        let wait = Finish::Retry {
                            not_before_ms: now_ms() + DISABLED_RECHECK_MS,
                            outcome: json!({"waiting": "the connector is disabled"}).to_string(),
                            counts: false,
                        };
                        (ev.id.clone(), wait)
                    }));
                }
                Ok(Some((connector, deployments))) => {
                    done.extend(self.process_group(&connector, deployments, events).await);
                }
            }
        }
        done
    }

    async fn process_group(
        &self,
        connector: &ConnectorRow,
        deployments: Vec<DeploymentRow>,
        events: Vec<PendingEvent>,
    ) -> Vec<(String, Finish)> {
        // The deployment that transforms: the only one, or the one to `default`.
        let deployment = match deployments.len() {
            0 => None,
            1 => deployments.into_iter().next(),
            _ => match deployments.into_iter().find(|d| d.target == "default") {
                Some(d) => Some(d),
                None => {
                    let reason = "the connector has several deployments and none to `default`: \
                                  deploy the transforming version to target `default`";
                    return events
                        .iter()
                        .map(|e| (e.id.clone(), failed(reason)))
                        .collect();
                }
            },
        };
        let component = match &deployment {
            None => None,
            Some(d) => match self
                .digest(&connector.tenant_id, &connector.id, &d.version)
                .await
            {
                Ok(digest) => match self.component(&digest).await {
                    Ok(c) => Some(c),
                    Err(e) => return self.all_retry(&events, &e),
                },
                Err(e) => return self.all_retry(&events, &e),
            },
        };
        match (deployment, component) {
            (Some(d), Some(c)) if c.manifest.capabilities.iter().any(|x| x == "ingest") => {
                let mut done = Vec::with_capacity(events.len());
                for event in &events {
                    done.push((
                        event.id.clone(),
                        self.transform(connector, &d, c.clone(), event).await,
                    ));
                }
                done
            }
            _ => self.pass_through(connector, events).await,
        }
    }

    fn all_retry(&self, events: &[PendingEvent], e: &RegistryError) -> Vec<(String, Finish)> {
        events
            .iter()
            .map(|ev| (ev.id.clone(), retry(ev.attempts, e.to_string(), None)))
            .collect()
    }

    /// One event through the component's `ingest`.
    async fn transform(
        &self,
        connector: &ConnectorRow,
        deployment: &DeploymentRow,
        component: std::sync::Arc<crate::runtime::Component>,
        event: &PendingEvent,
    ) -> Finish {
        let call = Call::Ingest {
            event: InboundEvent {
                id: event.id.clone(),
                content_type: event.content_type.clone(),
                body: event.body.clone(),
                received_at_ms: u64::try_from(event.received_ms).unwrap_or(0),
            },
        };
        let ran = self
            .run(
                &connector.tenant_id,
                &connector.id,
                deployment,
                component,
                call,
                &event.id,
            )
            .await;
        match ran {
            Err(e) => retry(event.attempts, e.to_string(), None),
            Ok(ran) => match ran.result {
                Ok((_, screened)) => self.processed(connector, &event.id, &screened),
                Err(error) if error.is_transient() => {
                    let after = match &error {
                        CallError::Connector(
                            crate::runtime::bindings::airlock::connector::types::ConnectorError::RateLimited(r),
                        ) => i64::try_from(r.retry_after_ms).ok(),
                        _ => None,
                    };
                    retry(event.attempts, error.to_string(), after)
                }
                Err(error) => failed(format!("the connector's ingest failed: {error}")),
            },
        }
    }

    /// Events of a connector without a transforming component: each body is the
    /// output, in the connector's declared standard (plain JSON when none).
    /// Validation is CPU work: on the blocking pool, for the whole group at once.
    /// One heartbeat for the group says whether every event was valid.
    async fn pass_through(
        &self,
        connector: &ConnectorRow,
        events: Vec<PendingEvent>,
    ) -> Vec<(String, Finish)> {
        let standard = OutputStandard::from(output_standard(connector.output_standard.as_deref()));
        // Kept to account for every event should the validation task fail.
        let ids: Vec<(String, i64)> = events.iter().map(|e| (e.id.clone(), e.attempts)).collect();
        let screened = tokio::task::spawn_blocking(move || {
            events
                .into_iter()
                .map(|e| {
                    // The body moves into the output: no copy per event.
                    let output = Output {
                        standard,
                        media_type: e.content_type,
                        body: e.body,
                    };
                    (e.id, outputs::screen(vec![output]))
                })
                .collect::<Vec<_>>()
        })
        .await;
        let screened = match screened {
            Ok(s) => s,
            // A validator panicked (a bug): every event of the group is retried,
            // spending an attempt, rather than silently left out of the results.
            Err(e) => {
                let reason = format!("validation failed unexpectedly: {e}");
                return ids
                    .into_iter()
                    .map(|(id, attempts)| (id, retry(attempts, reason.clone(), None)))
                    .collect();
            }
        };
        let invalid = screened
            .iter()
            .filter(|(_, s)| !s.failed.is_empty())
            .count();
        if !screened.is_empty() {
            self.metrics.heartbeat("ingest", invalid == 0);
            self.recorder.record(HeartbeatRow {
                tenant_id: connector.tenant_id.clone(),
                connector_id: connector.id.clone(),
                at_ms: now_ms(),
                latency_ms: None,
                ok: invalid == 0,
                error_kind: (invalid > 0).then(|| "invalid_output".to_string()),
                detail: (invalid > 0).then(|| {
                    format!(
                        "{invalid} of {} pushed events failed validation and were quarantined",
                        screened.len()
                    )
                }),
                source: "ingest".into(),
            });
        }
        screened
            .iter()
            .map(|(id, s)| (id.clone(), self.processed(connector, id, s)))
            .collect()
    }

    fn processed(&self, connector: &ConnectorRow, event_id: &str, screened: &Screened) -> Finish {
        let source = outputs::Source {
            kind: "event",
            id: event_id,
            tenant: &connector.tenant_id,
            connector: &connector.id,
        };
        // Counted by the pipeline once committed (`Store::finish_events`).
        let rows = outputs::rows(&self.topics, source, screened, now_ms());
        let outcome =
            json!({"published": rows.messages.len(), "quarantined": rows.quarantine.len()});
        Finish::Processed {
            messages: rows.messages,
            quarantine: rows.quarantine,
            outcome: outcome.to_string(),
        }
    }
}
