//! What the registry shows of its rows: never secrets, times as RFC 3339 UTC.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::audit::rfc3339;
use crate::health::{self, HealthPolicy};
use crate::runtime::ManifestJson;
use crate::store::{AuditRow, ConnectorRow, DeploymentRow, HealthRow, HeartbeatRow, VersionRow};

/// A connector in the catalogue.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConnectorView {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Its category.
    pub category: String,
    /// Free text.
    pub description: String,
    /// One of the five statuses.
    pub status: String,
    /// Why it has that status.
    pub status_reason: String,
    /// The newest uploaded version, if any.
    pub latest_version: Option<String>,
    /// Capabilities its newest manifest declares.
    pub capabilities: Vec<String>,
    /// Standards it declared (at registration and in its newest manifest).
    pub output_standards: Vec<String>,
    /// Registration time.
    pub created_at: String,
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
    }
}

/// The catalogue view of a connector.
pub fn connector(
    row: &ConnectorRow,
    health: Option<&HealthRow>,
    manifest: Option<&ManifestJson>,
    policy: &HealthPolicy,
) -> ConnectorView {
    let (status, status_reason) = health::effective(
        row.disabled_reason.as_deref(),
        health,
        crate::store::now_ms(),
        policy,
    );
    let mut standards: Vec<String> = row.output_standard.iter().cloned().collect();
    for s in manifest
        .map(|m| m.output_standards.clone())
        .unwrap_or_default()
    {
        if !standards.contains(&s) {
            standards.push(s);
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

/// A deployment, without its secrets (only whether it has any).
pub fn deployment(d: &DeploymentRow) -> Value {
    let config: Value = serde_json::from_str(&d.config).unwrap_or(Value::Null);
    let hosts: Value = serde_json::from_str(&d.allowed_hosts).unwrap_or(json!([]));
    json!({
        "target": d.target,
        "version": d.version,
        "config": config,
        "has_secrets": d.secrets.is_some(),
        "allowed_hosts": hosts,
        "allowed_networks": serde_json::from_str::<Value>(&d.allowed_networks).unwrap_or(json!([])),
        "limits": serde_json::from_str::<Value>(&d.limits).unwrap_or(json!({})),
        "schedule": d.schedule,
        "created_at": rfc3339(d.created_ms),
        "updated_at": rfc3339(d.updated_ms),
    })
}

/// A version with its manifest.
pub fn version(v: &VersionRow) -> Value {
    let manifest: Value = serde_json::from_str(&v.manifest).unwrap_or(Value::Null);
    json!({
        "version": v.version,
        "digest": v.digest,
        "manifest": manifest,
        "created_at": rfc3339(v.created_ms),
    })
}

/// A heartbeat.
pub fn heartbeat(h: &HeartbeatRow) -> Value {
    json!({
        "at": rfc3339(h.at_ms),
        "latency_ms": h.latency_ms,
        "ok": h.ok,
        "error_kind": h.error_kind,
        "detail": h.detail,
        "source": h.source,
    })
}

/// An audit row.
pub fn audit(a: &AuditRow) -> Value {
    let detail: Value = serde_json::from_str(&a.detail).unwrap_or(Value::Null);
    json!({
        "seq": a.seq,
        "tenant_id": a.tenant_id,
        "actor": a.actor,
        "action": a.action,
        "target": a.target,
        "reason": a.reason,
        "detail": detail,
        "at": a.at,
        "hash": a.hash,
    })
}

/// A quarantined output: its body shown as `output_json` shows bodies, its report
/// as the validator wrote it.
pub(super) fn quarantined(q: &crate::store::QuarantineRow) -> Value {
    json!({
        "id": q.id,
        "call_id": q.call_id,
        "standard": q.standard,
        "media_type": q.media_type,
        "body": crate::runtime::body_json(&q.body),
        "report": serde_json::from_str::<Value>(&q.report).unwrap_or(Value::Null),
        "at": crate::audit::rfc3339(q.created_ms),
    })
}
