//! Running one guest call for a deployment: its limits, grants, config and kv
//! state, on a guest thread (`guest_threads.rs`), with the outputs screened there
//! too; then the kv
//! difference saved and the heartbeat recorded. Invoke, polls and the ingest
//! pipeline's transform share it.

use std::sync::Arc;
use std::time::Instant;

use super::outputs::{self, Screened};
use super::{Registry, RegistryError, internal};
use crate::runtime::{
    CallDone, CallError, CallRequest, Component, Entry, InboundEvent, KvError, KvState, KvStore,
};
use crate::store::{DeploymentRow, HeartbeatRow};
use crate::time::now_ms;

/// How long a call waits for its kv state before it fails (`host_unavailable`):
/// the read happens on the call's thread, outside the guest's deadlines.
const KV_LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Which export to enter, with owned arguments (the call runs on another thread).
#[derive(Debug)]
pub(super) enum Call {
    /// `invoke(action, input)`, input as JSON text.
    Invoke { action: String, input: String },
    /// `ingest(event)`.
    Ingest { event: InboundEvent },
    /// `poll(cursor)`; the caller saves its kv changes (`CallDone::kv`).
    Poll { cursor: Option<String> },
}

/// A call's result and how long it took.
#[derive(Debug)]
pub(super) struct Ran {
    pub(super) result: Result<(CallDone, Screened), CallError>,
    pub(super) latency_ms: f64,
}

impl Registry {
    /// Runs `call` on `deployment` of `component`. The heartbeat says how it went:
    /// invalid output and guest failures count against the connector's health, a
    /// connector refusing its input does not (that is the caller's fault). The kv
    /// state is saved only after a successful call.
    pub(super) async fn run(
        &self,
        tenant: &str,
        connector_id: &str,
        deployment: &DeploymentRow,
        component: Arc<Component>,
        call: Call,
        call_id: &str,
    ) -> Result<Ran, RegistryError> {
        // A poll's kv changes commit with its cursor (`Store::finish_poll`); the
        // other calls' right away. The state is read only if the guest touches kv:
        // on the call's thread, at its first kv call.
        let caller_saves_kv = matches!(call, Call::Poll { .. });
        let entry_name = match &call {
            Call::Invoke { .. } => "invoke",
            Call::Ingest { .. } => "ingest",
            Call::Poll { .. } => "poll",
        };
        let kv = {
            let (store, handle) = (self.store.clone(), tokio::runtime::Handle::current());
            let (tenant, connector) = (tenant.to_string(), connector_id.to_string());
            KvState::Lazy(Box::new(move || {
                handle.block_on(async {
                    tokio::time::timeout(
                        KV_LOAD_TIMEOUT,
                        KvStore::load(&store, &tenant, &connector),
                    )
                    .await
                    .unwrap_or_else(|_| {
                        Err(KvError(format!(
                            "the database gave no answer within {} s",
                            KV_LOAD_TIMEOUT.as_secs()
                        )))
                    })
                })
            }))
        };
        let grants = self.grants(deployment)?;
        // Stored overrides were checked at deploy; a bad row falls back to defaults.
        let limits = serde_json::from_str::<crate::runtime::LimitOverrides>(&deployment.limits)
            .ok()
            .and_then(|o| component.limits().with_overrides(&o).ok());
        let started = Instant::now();
        // The guest's own log lines and the host's about this call carry it.
        let span = tracing::debug_span!(
            "guest_call",
            tenant = %tenant,
            connector = %connector_id,
            version = %deployment.version,
            target = %deployment.target,
            call_id = %call_id,
            entry = entry_name,
        );
        let result = {
            let (tenant, call_id) = (tenant.to_string(), call_id.to_string());
            let config = deployment.config.clone();
            let span = span.clone();
            self.guest_threads
                .run(
                    move || {
                        let _in_call = span.enter();
                        let entry = match &call {
                            Call::Invoke { action, input } => Entry::Invoke { action, input },
                            Call::Ingest { event } => Entry::Ingest {
                                event: event.clone(),
                            },
                            Call::Poll { cursor } => Entry::Poll {
                                cursor: cursor.as_deref(),
                            },
                        };
                        component
                            .call(CallRequest {
                                entry,
                                config: &config,
                                grants,
                                tenant_id: &tenant,
                                call_id: &call_id,
                                kv,
                                limits,
                            })
                            .map(|mut done| {
                                // Validation is CPU work: here, on the call's thread, too.
                                let screened = outputs::screen(std::mem::take(&mut done.outputs));
                                (done, screened)
                            })
                    },
                    // Counted when sent, not when done: a spinning call takes long.
                    || self.metrics.guest_call_overflow(),
                )
                .await
                .map_err(internal)?
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (ok, kind, detail) = match &result {
            Ok((_, screened)) if screened.failed.is_empty() => (true, None, None),
            Ok((_, screened)) => {
                let total = screened.failed.len() + screened.passed.len();
                (
                    false,
                    Some("invalid_output"),
                    Some(format!(
                        "{} of {total} outputs failed validation and were quarantined",
                        screened.failed.len()
                    )),
                )
            }
            Err(error) => (
                error.is_callers_fault() || error.is_hosts_fault(),
                Some(error.kind()),
                Some(error.to_string()),
            ),
        };
        let outcome = match (&result, kind) {
            (Ok(_), None) => "ok",
            (Ok(_), Some(_)) => "invalid_output",
            (Err(e), _) => e.kind(),
        };
        self.metrics
            .guest_call(connector_id, entry_name, outcome, latency_ms / 1000.0);
        span.in_scope(|| tracing::debug!(outcome, latency_ms, "guest call finished"));
        self.metrics.heartbeat("call", ok);
        self.recorder.record(HeartbeatRow {
            tenant_id: tenant.to_string(),
            connector_id: connector_id.to_string(),
            at_ms: now_ms(),
            latency_ms: Some(latency_ms),
            ok,
            error_kind: kind.map(str::to_string),
            detail,
            source: "call".into(),
        });
        if !caller_saves_kv
            && let Ok((done, _)) = &result
            && let Some(kv) = &done.kv
        {
            KvStore::save(&self.store, tenant, connector_id, &kv.before, &kv.after)
                .await
                .map_err(internal)?;
        }
        Ok(Ran { result, latency_ms })
    }
}
