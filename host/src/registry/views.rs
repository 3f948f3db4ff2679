//! What the registry answers: one view struct per answer, in the shape a user reads
//! it (REST bodies today; the OpenAPI document and the GraphQL schema are generated
//! from these types). Never secrets; times as RFC 3339 UTC with milliseconds.
//!
//! Each `from_row`-style constructor is the only place a row becomes a view, so a
//! field is named and typed once.

use std::collections::BTreeMap;

use async_graphql::{ComplexObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::gate::CapabilityDiff;
use crate::health::{self, HealthPolicy};
use crate::runtime::bindings::airlock::connector::types::Output;
use crate::runtime::{LimitOverrides, LogLine, ManifestJson};
use crate::store::{
    AuditRow, ConnectorRow, DeploymentRow, HealthRow, HeartbeatRow, PollRow, QuarantineRow,
    VersionRow,
};
use crate::time::rfc3339;
use crate::validate::Finding;
use crate::vocab::{Category, Standard};

/// A connector in the catalogue.
#[derive(Debug, Clone, Serialize, PartialEq, SimpleObject, utoipa::ToSchema)]
#[graphql(name = "CatalogueEntry")]
pub struct ConnectorView {
    /// Its id (a UUID).
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// Its name, unique within the tenant.
    pub name: String,
    /// Its category (`osint`, `financial`, `social`, `dark-web`, `telemetry`, `custom`).
    pub category: String,
    /// Free text from registration.
    pub description: String,
    /// One of `registered`, `active`, `degraded`, `error`, `disabled`.
    pub status: String,
    /// Why it has that status, in a sentence.
    pub status_reason: String,
    /// The newest uploaded version, if any.
    pub latest_version: Option<String>,
    /// Capabilities its newest manifest declares.
    pub capabilities: Vec<String>,
    /// Standards it declared (at registration, then those of its newest manifest).
    pub output_standards: Vec<String>,
    /// When it was registered.
    pub created_at: String,
}

impl ConnectorView {
    /// The catalogue view of `row` given its health and newest manifest.
    pub fn of(
        row: &ConnectorRow,
        health: Option<&HealthRow>,
        manifest: Option<&ManifestJson>,
        policy: &HealthPolicy,
    ) -> ConnectorView {
        let (status, status_reason) = health::effective(
            row.disabled_reason.as_deref(),
            health,
            crate::time::now_ms(),
            policy,
        );
        let mut standards: Vec<String> = row.output_standard.iter().cloned().collect();
        for s in manifest
            .map(|m| m.output_standards.as_slice())
            .unwrap_or(&[])
        {
            if !standards.contains(s) {
                standards.push(s.clone());
            }
        }
        ConnectorView {
            id: row.id.clone(),
            tenant_id: row.tenant_id.clone(),
            name: row.name.clone(),
            category: row.category.clone(),
            description: row.description.clone(),
            status,
            status_reason,
            latest_version: manifest.map(|m| m.version.clone()),
            capabilities: manifest.map(|m| m.capabilities.clone()).unwrap_or_default(),
            output_standards: standards,
            created_at: rfc3339(row.created_ms),
        }
    }
}

impl ConnectorView {
    /// Says in the status reason when a healthy connector's scheduled upstream has
    /// been silent longer than its deployment expects (`stale_after`): its polls
    /// succeed but bring nothing new, which is not the connector's fault — unlike
    /// failing polls, which the heartbeat rules make `degraded` or `error`.
    pub fn note_freshness<'a>(
        &mut self,
        deployments: impl IntoIterator<Item = &'a DeploymentRow>,
        now_ms: i64,
    ) {
        if self.status != "active" {
            return;
        }
        let silent: Vec<String> = deployments
            .into_iter()
            .filter(|d| d.schedule.is_some())
            .filter_map(|d| {
                let limit = d.polling.stale_after_ms?;
                let since = d.polling.last_data_ms.unwrap_or(d.created_ms);
                let quiet = now_ms - since;
                (quiet > limit).then(|| {
                    format!(
                        "`{}` has brought nothing new for {} (expected within {})",
                        d.target,
                        duration_text(quiet - quiet % 1000),
                        duration_text(limit)
                    )
                })
            })
            .collect();
        if !silent.is_empty() {
            self.status_reason = format!(
                "its polls succeed but the upstream is silent: {}",
                silent.join("; ")
            );
        }
    }
}

/// Filters and paging of `GET /api/connectors`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this category.
    pub category: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only connectors declaring this capability.
    pub capability: Option<String>,
    /// Only connectors declaring this output standard.
    pub output_standard: Option<String>,
    /// Only connectors whose name or description holds this text (any case).
    pub search: Option<String>,
    /// Page size (1–200, default 50).
    pub limit: Option<usize>,
    /// Items to skip.
    pub offset: Option<usize>,
}

impl ListQuery {
    /// Whether `v` passes every filter.
    pub fn matches(&self, v: &ConnectorView) -> bool {
        self.category.as_ref().is_none_or(|c| *c == v.category)
            && self.status.as_ref().is_none_or(|s| *s == v.status)
            && self
                .capability
                .as_ref()
                .is_none_or(|c| v.capabilities.contains(c))
            && self
                .output_standard
                .as_ref()
                .is_none_or(|s| v.output_standards.contains(s))
            && self.search.as_ref().is_none_or(|text| {
                let text = text.to_lowercase();
                v.name.to_lowercase().contains(&text)
                    || v.description.to_lowercase().contains(&text)
            })
    }
}

/// A page of the catalogue (`GET /api/connectors`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorPage {
    /// The connectors of this page.
    pub items: Vec<ConnectorView>,
    /// How many match the filters in all.
    pub total: usize,
    /// The page size used.
    pub limit: usize,
    /// The items skipped.
    pub offset: usize,
}

/// One connector in full (`GET /api/connectors/{id}`): the catalogue view, what it
/// was registered with, its versions, deployments and recent heartbeats.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorDetail {
    /// The catalogue view.
    #[serde(flatten)]
    pub view: ConnectorView,
    /// Where the external system lives (push connectors), as registered.
    pub webhook_url: Option<String>,
    /// A push connector's authentication method.
    pub auth_method: Option<String>,
    /// The reason it was disabled, while it is.
    pub disabled_reason: Option<String>,
    /// Every uploaded version, oldest first.
    pub versions: Vec<VersionView>,
    /// Its deployments.
    pub deployments: Vec<DeploymentView>,
    /// The newest heartbeats (at most 20), newest first.
    pub recent_heartbeats: Vec<HeartbeatView>,
}

/// A push connector's credential, shown once (at registration or rotation) and
/// never stored in the clear.
#[derive(Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "type")]
pub enum CredentialView {
    /// Sign each event's body (Standard Webhooks) with `secret`.
    #[serde(rename = "hmac-sha256")]
    HmacSha256 {
        /// `whsec_…`.
        secret: String,
    },
    /// Send `key` in `X-API-Key`.
    #[serde(rename = "api-key")]
    ApiKey {
        /// `alk_…`.
        key: String,
    },
    /// Fetch a bearer token with these client credentials (scope `events:ingest`).
    #[serde(rename = "oauth2")]
    Oauth2 {
        /// The OAuth client issued for the connector.
        client_id: String,
        /// Its secret.
        client_secret: String,
        /// Where to fetch tokens.
        token_url: String,
    },
    /// Sign requests (RFC 9421) with the private half of the registered key, naming
    /// `key_id`.
    #[serde(rename = "rsa")]
    Rsa {
        /// The id to put in the signature's `keyid`.
        key_id: String,
    },
}

impl std::fmt::Debug for CredentialView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialView(<redacted>)")
    }
}

/// What registration answers (`POST /api/connectors/register`): the connector and,
/// for a push connector, its credential (shown this once) and webhook path.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(complex)]
pub struct Registered {
    /// The connector as the catalogue shows it.
    #[serde(flatten)]
    #[graphql(flatten)]
    pub view: ConnectorView,
    /// A push connector's credential; `Debug` redacts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    #[graphql(skip)]
    pub credential: Option<CredentialView>,
    /// `/api/events/ingest/{tenant_id}/{connector_id}`, for a push connector.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub webhook_path: Option<String>,
}

/// What a rotation answers (`POST /api/connectors/{id}/credentials/rotate`).
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(complex)]
pub struct Rotated {
    /// The new credential, shown this once.
    #[graphql(skip)]
    pub credential: Option<CredentialView>,
    /// Until when the previous credential is still accepted.
    pub previous_valid_until: String,
}

/// An uploaded version (`POST /api/connectors/{id}/versions`).
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(complex)]
pub struct Uploaded {
    /// The manifest's version.
    pub version: String,
    /// SHA-256 of the component, lowercase hex.
    pub digest: String,
    /// What the component declared.
    #[graphql(skip)]
    #[schema(value_type = Object)]
    pub manifest: ManifestJson,
    /// Deployments whose move to this version would be held for approval, and
    /// what it asks for beyond the version each runs; empty when none.
    pub upgrade_needs_approval: Vec<UpgradeNeedsApproval>,
}

/// A stored version with its manifest.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(name = "Version")]
pub struct VersionView {
    /// The manifest's version.
    pub version: String,
    /// SHA-256 of the component, lowercase hex.
    pub digest: String,
    /// What the component declared (`null` if the stored manifest is unreadable).
    pub manifest: Option<Value>,
    /// When it was uploaded.
    pub created_at: String,
}

impl VersionView {
    /// The view of a version row.
    pub fn of(v: &VersionRow) -> VersionView {
        VersionView {
            version: v.version.clone(),
            digest: v.digest.clone(),
            manifest: serde_json::from_str(&v.manifest).ok(),
            created_at: rfc3339(v.created_ms),
        }
    }
}

/// A deployment, without its secrets (only whether it has any).
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(complex, name = "Deployment")]
pub struct DeploymentView {
    /// The target's name (`default` unless named).
    pub target: String,
    /// The deployed version.
    pub version: String,
    /// Its config, as validated against the version's config schema.
    pub config: Value,
    /// Whether secrets were given (they are stored sealed and never shown).
    pub has_secrets: bool,
    /// Outbound host patterns granted.
    pub allowed_hosts: Vec<String>,
    /// Non-public networks (CIDR) granted.
    pub allowed_networks: Vec<String>,
    /// Changes to the default call limits.
    #[graphql(skip)]
    #[schema(value_type = Object)]
    pub limits: LimitOverrides,
    /// `every N{s|m|h}`, if scheduled: the server polls it.
    pub schedule: Option<String>,
    /// When the next scheduled poll is due (`null` without a schedule, or while
    /// the schedule is paused).
    pub next_poll_at: Option<String>,
    /// The newest poll, scheduled or run now.
    pub last_poll: Option<PollRecord>,
    /// Polls that failed in a row (rate limiting aside).
    pub consecutive_failures: i64,
    /// Why the schedule stopped (the connector refused its config); deploying
    /// again resumes it.
    pub paused_reason: Option<String>,
    /// How long the upstream may publish nothing new before the status reason
    /// calls it silent (`N{s|m|h}`), if set.
    pub stale_after: Option<String>,
    /// When a poll last produced outputs.
    pub last_data_at: Option<String>,
    /// When it was first deployed.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// A version that asks for more than the connector is approved for (new
    /// outbound hosts, capabilities, secrets or credential bindings), waiting for
    /// an admin's approval (`POST …/deployments/{target}/approve`); `null` when
    /// none waits.
    pub held_upgrade: Option<HeldUpgradeView>,
}

/// An upgrade held for approval on a deployment: the whole request (its secrets
/// aside), which approving applies as it is.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(name = "HeldUpgrade")]
pub struct HeldUpgradeView {
    /// The version asked for.
    pub version: String,
    /// The version the target runs meanwhile.
    pub running_version: String,
    /// What the asked-for version declares beyond what the connector is approved
    /// for.
    pub asks_for: CapabilityDiff,
    /// The config it would run with.
    pub config: Value,
    /// Whether the request carries secrets (stored sealed, never shown).
    pub has_secrets: bool,
    /// Outbound host patterns it would be granted.
    pub allowed_hosts: Vec<String>,
    /// Non-public networks (CIDR) it would be granted.
    pub allowed_networks: Vec<String>,
    /// Changes to the default call limits it would run under.
    #[graphql(skip)]
    #[schema(value_type = Object)]
    pub limits: LimitOverrides,
    /// Its schedule, if any.
    pub schedule: Option<String>,
    /// How long its upstream may stay silent (`N{s|m|h}`), if set.
    pub stale_after: Option<String>,
    /// The client that asked.
    pub requested_by: String,
    /// When.
    pub requested_at: String,
}

/// What an uploaded version asks for beyond what the connector is approved for:
/// moving a deployed target to it will wait for an admin's approval.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
pub struct UpgradeNeedsApproval {
    /// The deployment's target.
    pub target: String,
    /// The version it runs.
    pub deployed_version: String,
    /// What the new version declares beyond what the connector is approved for.
    pub asks_for: CapabilityDiff,
}

impl DeploymentView {
    /// The view of a deployment row with its newest poll.
    pub fn of(d: &DeploymentRow, last_poll: Option<&PollRow>) -> DeploymentView {
        let scheduled = d.schedule.is_some() && d.polling.paused_reason.is_none();
        DeploymentView {
            target: d.target.clone(),
            version: d.version.clone(),
            config: serde_json::from_str(&d.config).unwrap_or(Value::Null),
            has_secrets: d.secrets.is_some(),
            allowed_hosts: serde_json::from_str(&d.allowed_hosts).unwrap_or_default(),
            allowed_networks: serde_json::from_str(&d.allowed_networks).unwrap_or_default(),
            limits: serde_json::from_str(&d.limits).unwrap_or_default(),
            schedule: d.schedule.clone(),
            next_poll_at: d.polling.next_poll_ms.filter(|_| scheduled).map(rfc3339),
            last_poll: last_poll.map(PollRecord::of),
            consecutive_failures: d.polling.consecutive_failures,
            paused_reason: d.polling.paused_reason.clone(),
            stale_after: d.polling.stale_after_ms.map(duration_text),
            last_data_at: d.polling.last_data_ms.map(rfc3339),
            created_at: rfc3339(d.created_ms),
            updated_at: rfc3339(d.updated_ms),
            held_upgrade: d
                .held
                .as_deref()
                .and_then(super::deployments::HeldUpgrade::view_of),
        }
    }
}

/// `ms` as the shortest exact `N{s|m|h}` (whole seconds).
pub(super) fn duration_text(ms: i64) -> String {
    if ms >= 3_600_000 && ms % 3_600_000 == 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms >= 60_000 && ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// One poll of a deployment, scheduled or run now
/// (`GET /api/connectors/{id}/deployments/{target}/polls`).
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
pub struct PollRecord {
    /// Its id.
    pub id: String,
    /// The deployment's target.
    pub deployment: String,
    /// When it started.
    pub started_at: String,
    /// When it finished.
    pub finished_at: String,
    /// `ok` (outputs), `empty` (none), `failed`, `rate_limited` or `skipped`
    /// (another poll held the deployment, or the connector is disabled).
    pub outcome: String,
    /// Outputs the connector produced.
    pub outputs: i64,
    /// Of which published on the bus.
    pub published: i64,
    /// Of which quarantined (failed validation).
    pub quarantined: i64,
    /// The cursor it started from.
    pub cursor_before: Option<String>,
    /// The cursor committed after it (unchanged when it failed).
    pub cursor_after: Option<String>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// `schedule`, or the client that ran it now.
    pub started_by: String,
    /// The node that ran it (`DIR/node-id` of its data directory).
    pub node: String,
}

impl PollRecord {
    /// The view of a poll row.
    pub fn of(p: &PollRow) -> PollRecord {
        PollRecord {
            id: p.id.clone(),
            deployment: p.target.clone(),
            started_at: rfc3339(p.started_ms),
            finished_at: rfc3339(p.finished_ms),
            outcome: p.outcome.clone(),
            outputs: p.outputs,
            published: p.published,
            quarantined: p.quarantined,
            cursor_before: p.cursor_before.clone(),
            cursor_after: p.cursor_after.clone(),
            error: p.error.clone(),
            started_by: p.started_by.clone(),
            node: p.node.clone(),
        }
    }
}

/// A list without paging (`{"items": [...]}`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    /// The items.
    pub items: Vec<T>,
}

/// A heartbeat: a guest call's or an external system's report.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(name = "Heartbeat")]
pub struct HeartbeatView {
    /// When.
    pub at: String,
    /// How long the call took, ms, if known.
    pub latency_ms: Option<f64>,
    /// Whether it succeeded.
    pub ok: bool,
    /// The kind of failure (`timeout`, `upstream`, `invalid_output`…), if it failed.
    pub error_kind: Option<String>,
    /// A sentence about it.
    pub detail: Option<String>,
    /// `call` (a guest call) or `external` (the heartbeat endpoint).
    pub source: String,
}

impl HeartbeatView {
    /// The view of a heartbeat row.
    pub fn of(h: &HeartbeatRow) -> HeartbeatView {
        HeartbeatView {
            at: rfc3339(h.at_ms),
            latency_ms: h.latency_ms,
            ok: h.ok,
            error_kind: h.error_kind.clone(),
            detail: h.detail.clone(),
            source: h.source.clone(),
        }
    }
}

/// Heartbeat history with latency percentiles
/// (`GET /api/connectors/{id}/heartbeats`).
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
pub struct Heartbeats {
    /// The newest heartbeats, newest first.
    pub items: Vec<HeartbeatView>,
    /// Over those heartbeats.
    pub stats: HeartbeatStats,
}

/// Counts and latency percentiles over a list of heartbeats.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
pub struct HeartbeatStats {
    /// Heartbeats counted.
    pub count: usize,
    /// Of which failed.
    pub failed: usize,
    /// `failed / count` (0 when there are none).
    pub error_rate: f64,
    /// Median latency, ms (`null` without latencies).
    pub p50_ms: Option<f64>,
    /// 95th percentile latency, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile latency, ms.
    pub p99_ms: Option<f64>,
}

impl HeartbeatStats {
    /// The stats of `rows`.
    pub fn of(rows: &[HeartbeatRow]) -> HeartbeatStats {
        let mut latencies: Vec<f64> = rows.iter().filter_map(|h| h.latency_ms).collect();
        latencies.sort_by(f64::total_cmp);
        let failed = rows.iter().filter(|h| !h.ok).count();
        HeartbeatStats {
            count: rows.len(),
            failed,
            error_rate: if rows.is_empty() {
                0.0
            } else {
                failed as f64 / rows.len() as f64
            },
            p50_ms: health::percentile(&latencies, 0.50),
            p95_ms: health::percentile(&latencies, 0.95),
            p99_ms: health::percentile(&latencies, 0.99),
        }
    }
}

/// Connectors counted per status.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, SimpleObject, utoipa::ToSchema)]
pub struct StatusCounts {
    /// All of them.
    pub total: usize,
    /// No heartbeat yet.
    pub registered: usize,
    /// Healthy.
    pub active: usize,
    /// Slow, failing sometimes, or late.
    pub degraded: usize,
    /// Failing.
    pub error: usize,
    /// Disabled by an admin.
    pub disabled: usize,
}

impl StatusCounts {
    /// The counts over `views`.
    pub fn of<'a>(views: impl IntoIterator<Item = &'a ConnectorView>) -> StatusCounts {
        let mut c = StatusCounts::default();
        for v in views {
            c.total += 1;
            match v.status.as_str() {
                "registered" => c.registered += 1,
                "active" => c.active += 1,
                "degraded" => c.degraded += 1,
                "error" => c.error += 1,
                "disabled" => c.disabled += 1,
                _ => {}
            }
        }
        c
    }
}

/// The registry summary (`GET /api/registry/summary`): counts per status, in all
/// and per category (categories without connectors left out).
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(complex, name = "RegistrySummary")]
pub struct Summary {
    /// Over every connector of the tenant.
    #[serde(flatten)]
    #[graphql(flatten)]
    pub counts: StatusCounts,
    /// Per category.
    #[graphql(skip)]
    #[schema(value_type = std::collections::BTreeMap<String, StatusCounts>)]
    pub by_category: BTreeMap<Category, StatusCounts>,
}

/// A deployment's config as an example for others of its category.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
pub struct ExampleConfig {
    /// The connector's name.
    pub connector: String,
    /// The deployed version.
    pub version: String,
    /// The deployment's target.
    pub target: String,
    /// Its config.
    pub config: Value,
}

/// A quarantined output: its body shown as bodies are shown everywhere
/// ([`crate::runtime::body_json`]), with the validator's report.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(name = "Quarantined")]
pub struct QuarantinedView {
    /// Its id.
    pub id: String,
    /// The call or event that produced it.
    pub call_id: String,
    /// The standard it declared and failed.
    pub standard: String,
    /// Its media type.
    pub media_type: String,
    /// Its body.
    pub body: Value,
    /// The validator's report (`valid`, `errors`, `warnings`).
    pub report: Value,
    /// When it was quarantined.
    pub at: String,
}

impl QuarantinedView {
    /// The view of a quarantine row.
    pub fn of(q: &QuarantineRow) -> QuarantinedView {
        QuarantinedView {
            id: q.id.clone(),
            call_id: q.call_id.clone(),
            standard: q.standard.clone(),
            media_type: q.media_type.clone(),
            body: crate::runtime::body_json(&q.body),
            report: serde_json::from_str(&q.report).unwrap_or(Value::Null),
            at: rfc3339(q.created_ms),
        }
    }
}

/// A pushed event as it stands (`GET /api/connectors/{id}/events/{event_id}`):
/// whether the pipeline has run it and what it gave, with the validator's
/// findings for each output it quarantined, so the sender of a bad event learns
/// why without reading the server's log.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(name = "EventStatus")]
pub struct EventStatusView {
    /// The event's id (the ingest answer's `id`).
    pub id: String,
    /// The connector it was pushed to.
    pub connector: String,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its body's size in bytes.
    pub size: i64,
    /// When it was acknowledged.
    pub received_at: String,
    /// `pending` (not run yet, or waiting for another try), `processed` or `failed`.
    #[schema(value_type = String)]
    pub state: &'static str,
    /// How many times processing it failed so far.
    pub attempts: i64,
    /// When processing last finished or failed.
    pub processed_at: Option<String>,
    /// What processing gave: `{"published","quarantined"}`, `{"error"}` (why it
    /// failed or will be tried again) or `{"waiting"}`; null before it ran.
    pub outcome: Value,
    /// The outputs it had quarantined (at most [`EventStatusView::MAX_QUARANTINED`]),
    /// each with the validator's findings (at most
    /// [`EventStatusView::MAX_FINDINGS`] of each kind).
    pub quarantined: Vec<QuarantinedFindings>,
}

impl EventStatusView {
    /// Quarantined outputs shown at most.
    pub const MAX_QUARANTINED: i64 = 20;
    /// Errors (and warnings) shown per output at most.
    pub const MAX_FINDINGS: usize = 20;
}

/// A quarantined output, as an event's status shows it: the findings, not the body.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
pub struct QuarantinedFindings {
    /// Its quarantine id.
    pub id: String,
    /// The standard it failed.
    pub standard: String,
    /// What made it invalid: `{"path","rule","message"}`.
    pub errors: Vec<Value>,
    /// What the validator warned of.
    pub warnings: Vec<Value>,
}

impl QuarantinedFindings {
    /// The findings of a quarantine row, bounded.
    pub fn of(q: &QuarantineRow) -> QuarantinedFindings {
        let report: Value = serde_json::from_str(&q.report).unwrap_or(Value::Null);
        let list = |key: &str| -> Vec<Value> {
            report
                .get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .take(EventStatusView::MAX_FINDINGS)
                        .map(bounded_finding)
                        .collect()
                })
                .unwrap_or_default()
        };
        QuarantinedFindings {
            id: q.id.clone(),
            standard: q.standard.clone(),
            errors: list("errors"),
            warnings: list("warnings"),
        }
    }
}

/// A validator finding with each of its strings bounded (a path can quote the
/// input as much as a message can).
fn bounded_finding(f: &Value) -> Value {
    match f {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(t) => Value::String(crate::text::bounded(t, 300)),
                        other => other.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A page of quarantined outputs, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuarantinePage {
    /// This page.
    pub items: Vec<QuarantinedView>,
    /// How many there are in all.
    pub total: i64,
}

/// An audit row as its tenant sees it.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(name = "AuditEntry")]
pub struct AuditView {
    /// Its position among the tenant's own rows, from 1 without gaps (the chain's
    /// cross-tenant position is the operator's, shown by `airlock audit verify`).
    pub seq: i64,
    /// The tenant.
    pub tenant_id: String,
    /// Who (a client id, `preload`, `bootstrap`…).
    pub actor: String,
    /// What (`connector.register`, `deployment.create`…).
    pub action: String,
    /// On what (usually a connector id).
    pub target: String,
    /// Why, when a reason is required (disable).
    pub reason: Option<String>,
    /// The operation's details.
    pub detail: Value,
    /// When (UTC).
    pub at: String,
    /// The chain's hash after this row.
    pub hash: String,
}

impl AuditView {
    /// The view of an audit row.
    pub fn of(a: &AuditRow) -> AuditView {
        AuditView {
            seq: a.tenant_seq,
            tenant_id: a.tenant_id.clone(),
            actor: a.actor.clone(),
            action: a.action.clone(),
            target: a.target.clone(),
            reason: a.reason.clone(),
            detail: serde_json::from_str(&a.detail).unwrap_or(Value::Null),
            at: a.at.clone(),
            hash: a.hash.clone(),
        }
    }
}

/// A page of the audit trail (`GET /api/audit`), oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// This page.
    pub items: Vec<AuditView>,
    /// The `seq` to pass as `after` for the next page (`null` when this one is empty).
    pub next_after: Option<i64>,
}

/// An output as answers show it.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(complex, name = "Output")]
pub struct OutputView {
    /// The standard it declared.
    #[graphql(skip)]
    #[schema(value_type = String)]
    pub standard: Standard,
    /// Its media type.
    pub media_type: String,
    /// Its body ([`crate::runtime::body_json`]).
    pub body: Value,
}

/// An output that failed validation, as the invoke answer names it.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(complex)]
pub struct QuarantinedOutput {
    /// Its quarantine id (see `GET /api/connectors/{id}/quarantine`).
    pub id: String,
    /// Its position among the call's outputs.
    pub index: usize,
    /// The standard it failed.
    #[graphql(skip)]
    #[schema(value_type = String)]
    pub standard: Standard,
    /// What made it invalid.
    #[graphql(skip)]
    #[schema(value_type = Vec<FindingView>)]
    pub errors: Vec<Finding>,
    /// What the validator warned of.
    #[graphql(skip)]
    #[schema(value_type = Vec<FindingView>)]
    pub warnings: Vec<Finding>,
}

/// A line the guest logged.
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
#[graphql(complex, name = "LogLine")]
pub struct LogView {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The message.
    pub message: String,
    /// Structured fields, as `[name, value]` pairs.
    #[graphql(skip)]
    #[schema(value_type = Vec<Vec<String>>)]
    pub fields: Vec<(String, String)>,
}

impl LogView {
    /// The view of a captured log line.
    pub fn of(l: &LogLine) -> LogView {
        LogView {
            level: l.level.clone(),
            message: l.message.clone(),
            fields: l.fields.clone(),
        }
    }
}

/// The result of an invoke (`POST /api/connectors/{id}/invoke/{action}`).
#[derive(Debug, Clone, Serialize, SimpleObject, utoipa::ToSchema)]
pub struct Invocation {
    /// The call's id.
    pub call_id: String,
    /// The deployment target that served it.
    pub target: String,
    /// The version that ran.
    pub version: String,
    /// Valid outputs, in order (also published on the bus).
    pub outputs: Vec<OutputView>,
    /// Outputs that failed validation against their declared standard: quarantined,
    /// not in `outputs`.
    pub quarantined: Vec<QuarantinedOutput>,
    /// Log lines the guest wrote.
    pub logs: Vec<LogView>,
    /// Wall time of the guest call, ms.
    pub latency_ms: f64,
}

impl OutputView {
    /// The view of a guest's output.
    pub fn of(o: &Output) -> OutputView {
        OutputView {
            standard: o.standard.into(),
            media_type: o.media_type.clone(),
            body: crate::runtime::body_json(&o.body),
        }
    }
}

// What GraphQL shows of the fields its types cannot carry as they are: a vocabulary
// as its wire name (GraphQL enum values cannot hold `-` or `.`), a map as a list, a
// nested document (a manifest, limits, a credential) as JSON, shaped as REST shows it.

#[ComplexObject]
impl Registered {
    /// A push connector's credential, shown this once: `{"type", …}` as REST shows it.
    async fn credential(&self) -> Option<Value> {
        self.credential
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok())
    }
}

#[ComplexObject]
impl Rotated {
    /// The new credential, shown this once: `{"type", …}` as REST shows it.
    async fn credential(&self) -> Option<Value> {
        self.credential
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok())
    }
}

#[ComplexObject]
impl Uploaded {
    /// What the component declared.
    async fn manifest(&self) -> Value {
        serde_json::to_value(&self.manifest).unwrap_or(Value::Null)
    }
}

#[ComplexObject]
impl DeploymentView {
    /// Changes to the default call limits.
    async fn limits(&self) -> Value {
        serde_json::to_value(self.limits).unwrap_or(Value::Null)
    }
}

/// Connectors of one category counted per status.
#[derive(Debug, Clone, SimpleObject)]
pub struct CategoryCounts {
    /// The category.
    pub category: &'static str,
    /// Its counts.
    #[graphql(flatten)]
    pub counts: StatusCounts,
}

#[ComplexObject]
impl Summary {
    /// Per category (categories without connectors left out).
    async fn by_category(&self) -> Vec<CategoryCounts> {
        self.by_category
            .iter()
            .map(|(c, counts)| CategoryCounts {
                category: c.as_str(),
                counts: counts.clone(),
            })
            .collect()
    }
}

#[ComplexObject]
impl OutputView {
    /// The standard it declared.
    async fn standard(&self) -> &'static str {
        self.standard.as_str()
    }
}

/// A validator's finding.
#[derive(Debug, Clone, SimpleObject, utoipa::ToSchema)]
#[graphql(name = "Finding")]
pub struct FindingView {
    /// Where (a JSON Pointer, or an XPath-like path into XML).
    pub path: String,
    /// Which rule.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

impl FindingView {
    fn all(findings: &[Finding]) -> Vec<FindingView> {
        findings
            .iter()
            .map(|f| FindingView {
                path: f.path.clone(),
                rule: f.rule.clone(),
                message: f.message.clone(),
            })
            .collect()
    }
}

#[ComplexObject]
impl QuarantinedOutput {
    /// The standard it failed.
    async fn standard(&self) -> &'static str {
        self.standard.as_str()
    }
    /// What made it invalid.
    async fn errors(&self) -> Vec<FindingView> {
        FindingView::all(&self.errors)
    }
    /// What the validator warned of.
    async fn warnings(&self) -> Vec<FindingView> {
        FindingView::all(&self.warnings)
    }
}

/// A structured field of a log line.
#[derive(Debug, Clone, SimpleObject)]
pub struct LogField {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

#[ComplexObject]
impl LogView {
    /// Structured fields.
    async fn fields(&self) -> Vec<LogField> {
        self.fields
            .iter()
            .map(|(name, value)| LogField {
                name: name.clone(),
                value: value.clone(),
            })
            .collect()
    }
}
