//! Reading the registry: the catalogue (list, filter, page), one connector in full,
//! the summary, heartbeats, quarantined outputs, the audit trail, and example
//! configurations for the SDK manifest. Reads that must see recent calls flush the
//! heartbeat recorder first.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

use super::views::{
    AuditPage, AuditView, ConnectorDetail, ConnectorPage, ConnectorView, DeploymentView,
    EventStatusView, ExampleConfig, HeartbeatStats, HeartbeatView, Heartbeats, ListQuery,
    QuarantinePage, QuarantinedFindings, QuarantinedView, StatusCounts, Summary, VersionView,
};
use super::{Registry, RegistryError};
use crate::runtime::ManifestJson;
use crate::store::{ConnectorRow, DeploymentRow, HealthRow, HeartbeatRow, StoreError, VersionRow};
use crate::time::{now_ms, rfc3339};
use crate::vocab::Category;

/// What [`Registry::page_details`] gathers, by connector id.
#[derive(Debug, Clone, Default)]
pub struct PageDetails {
    /// Versions, oldest first.
    pub versions: HashMap<String, Vec<VersionView>>,
    /// Deployments, by target.
    pub deployments: HashMap<String, Vec<DeploymentView>>,
    /// What each was registered with.
    pub rows: HashMap<String, ConnectorRow>,
}

impl Registry {
    /// The catalogue view of a connector (its health and newest manifest read now).
    pub(super) async fn view(&self, row: &ConnectorRow) -> Result<ConnectorView, StoreError> {
        let versions = self.store.versions(&row.tenant_id, &row.id).await?;
        self.view_with(row, &versions).await
    }

    async fn view_with(
        &self,
        row: &ConnectorRow,
        versions: &[VersionRow],
    ) -> Result<ConnectorView, StoreError> {
        let health = self.store.health(&row.tenant_id, &row.id).await?;
        let manifest = versions
            .last()
            .and_then(|v| serde_json::from_str::<ManifestJson>(&v.manifest).ok());
        Ok(ConnectorView::of(
            row,
            health.as_ref(),
            manifest.as_ref(),
            &self.policy,
        ))
    }

    /// Lists the tenant's connectors with filters and paging.
    pub async fn list(&self, tenant: &str, q: &ListQuery) -> Result<ConnectorPage, RegistryError> {
        self.recorder.flush().await;
        let all = self.all_views(tenant).await?;
        let matching: Vec<&ConnectorView> = all.iter().filter(|v| q.matches(v)).collect();
        let limit = q.limit.unwrap_or(50).clamp(1, 200);
        let offset = q.offset.unwrap_or(0);
        Ok(ConnectorPage {
            items: matching
                .iter()
                .skip(offset)
                .take(limit)
                .map(|v| (*v).clone())
                .collect(),
            total: matching.len(),
            limit,
            offset,
        })
    }

    /// Every connector of the tenant as the catalogue shows it, unpaged (what a
    /// watcher of statuses compares between two looks).
    pub async fn catalogue(&self, tenant: &str) -> Result<Vec<ConnectorView>, RegistryError> {
        self.recorder.flush().await;
        self.all_views(tenant).await
    }

    /// The versions, deployments (with their newest poll) and registration rows of
    /// the connectors `ids`, in four queries whatever their number: what a page of
    /// the catalogue shows of each connector without a query per connector.
    pub async fn page_details(
        &self,
        tenant: &str,
        ids: &[&str],
    ) -> Result<PageDetails, RegistryError> {
        let mut details = PageDetails::default();
        for v in self.store.versions_of(tenant, ids).await? {
            details
                .versions
                .entry(v.connector_id.clone())
                .or_default()
                .push(VersionView::of(&v));
        }
        let polls = self.store.last_polls_of(tenant, ids).await?;
        for (c, d) in self.store.tenant_deployments(tenant).await? {
            if !ids.contains(&c.id.as_str()) {
                continue;
            }
            let last = polls
                .iter()
                .find(|p| p.connector_id == c.id && p.target == d.target);
            details
                .deployments
                .entry(c.id.clone())
                .or_default()
                .push(DeploymentView::of(&d, last));
        }
        for row in self.store.connectors(tenant).await? {
            if ids.contains(&row.id.as_str()) {
                details.rows.insert(row.id.clone(), row);
            }
        }
        Ok(details)
    }

    /// Every connector of the tenant as the catalogue shows it (three queries).
    async fn all_views(&self, tenant: &str) -> Result<Vec<ConnectorView>, RegistryError> {
        let rows = self.store.connectors(tenant).await?;
        let health: HashMap<String, HealthRow> = self
            .store
            .tenant_health(tenant)
            .await?
            .into_iter()
            .map(|h| (h.connector_id.clone(), h))
            .collect();
        let manifests = self.store.latest_manifests(tenant).await?;
        let deployments = self.store.tenant_deployments(tenant).await?;
        let mut by_connector: HashMap<&str, Vec<&DeploymentRow>> = HashMap::new();
        for (c, d) in &deployments {
            by_connector.entry(c.id.as_str()).or_default().push(d);
        }
        let now = now_ms();
        Ok(rows
            .iter()
            .map(|r| {
                let m = manifests
                    .get(&r.id)
                    .and_then(|m| serde_json::from_str::<ManifestJson>(m).ok());
                let mut view = ConnectorView::of(r, health.get(&r.id), m.as_ref(), &self.policy);
                let mine = by_connector.get(r.id.as_str()).map(Vec::as_slice);
                view.note_freshness(mine.unwrap_or(&[]).iter().copied(), now);
                view
            })
            .collect())
    }

    /// One connector with its versions, deployments and recent heartbeats.
    pub async fn get(
        &self,
        tenant: &str,
        connector_id: &str,
    ) -> Result<ConnectorDetail, RegistryError> {
        let row = self.connector(tenant, connector_id).await?;
        self.recorder.flush().await;
        let versions = self.store.versions(tenant, connector_id).await?;
        let mut view = self.view_with(&row, &versions).await?;
        let deployments = self.store.deployments(tenant, connector_id).await?;
        view.note_freshness(&deployments, now_ms());
        let beats = self
            .store
            .recent_heartbeats(tenant, connector_id, 20)
            .await?;
        let last = self.store.last_polls(tenant, connector_id).await?;
        Ok(ConnectorDetail {
            view,
            webhook_url: row.webhook_url,
            auth_method: row.auth_method,
            disabled_reason: row.disabled_reason,
            versions: versions.iter().map(VersionView::of).collect(),
            deployments: deployments
                .iter()
                .map(|d| DeploymentView::of(d, last.iter().find(|p| p.target == d.target)))
                .collect(),
            recent_heartbeats: beats.iter().map(HeartbeatView::of).collect(),
        })
    }

    /// Counts per status, in all and per category.
    /// Counts per status as last written (no flush of held heartbeats): for a
    /// metrics scrape, which must not make the heartbeat writer work.
    pub async fn status_counts(&self, tenant: &str) -> Result<StatusCounts, RegistryError> {
        Ok(StatusCounts::of(&self.all_views(tenant).await?))
    }

    pub async fn summary(&self, tenant: &str) -> Result<Summary, RegistryError> {
        self.recorder.flush().await;
        let all = self.all_views(tenant).await?;
        let mut by_category = BTreeMap::new();
        for &c in Category::ALL {
            let of: Vec<&ConnectorView> = all.iter().filter(|v| v.category == c.as_str()).collect();
            if !of.is_empty() {
                by_category.insert(c, StatusCounts::of(of));
            }
        }
        Ok(Summary {
            counts: StatusCounts::of(&all),
            by_category,
        })
    }

    /// Records an external system's heartbeat (`status` `ok` or `error`).
    pub async fn heartbeat(
        &self,
        tenant: &str,
        connector_id: &str,
        latency_ms: Option<f64>,
        status: Option<&str>,
        detail: Option<String>,
    ) -> Result<(), RegistryError> {
        self.exists(tenant, connector_id).await?;
        let ok = match status.unwrap_or("ok") {
            "ok" => true,
            "error" => false,
            other => {
                return Err(RegistryError::BadRequest {
                    code: "invalid_field",
                    message: format!("`status` must be `ok` or `error`; got `{other}`"),
                });
            }
        };
        if latency_ms.is_some_and(|l| !l.is_finite() || l < 0.0) {
            return Err(RegistryError::BadRequest {
                code: "invalid_field",
                message: "`latency_ms` must be a non-negative number".into(),
            });
        }
        if detail.as_ref().is_some_and(|d| d.len() > 1000) {
            return Err(RegistryError::BadRequest {
                code: "invalid_field",
                message: "`detail` is at most 1000 characters".into(),
            });
        }
        self.metrics.heartbeat("external", ok);
        self.recorder.record(HeartbeatRow {
            tenant_id: tenant.into(),
            connector_id: connector_id.to_string(),
            at_ms: now_ms(),
            latency_ms,
            ok,
            error_kind: (!ok).then(|| "reported".to_string()),
            detail,
            source: "external".into(),
        });
        Ok(())
    }

    /// Heartbeat history with latency percentiles.
    pub async fn heartbeats(
        &self,
        tenant: &str,
        connector_id: &str,
        limit: i64,
    ) -> Result<Heartbeats, RegistryError> {
        self.connector(tenant, connector_id).await?;
        self.recorder.flush().await;
        let rows = self
            .store
            .recent_heartbeats(tenant, connector_id, limit.clamp(1, 1000))
            .await?;
        Ok(Heartbeats {
            items: rows.iter().map(HeartbeatView::of).collect(),
            stats: HeartbeatStats::of(&rows),
        })
    }

    /// A connector's quarantined outputs, newest first.
    pub async fn quarantined(
        &self,
        tenant: &str,
        connector_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<QuarantinePage, RegistryError> {
        self.connector(tenant, connector_id).await?;
        let (rows, total) = self
            .store
            .quarantined(tenant, connector_id, limit.clamp(1, 1000), offset.max(0))
            .await?;
        Ok(QuarantinePage {
            items: rows.iter().map(QuarantinedView::of).collect(),
            total,
        })
    }

    /// One pushed event's state and what processing it gave.
    pub async fn event_status(
        &self,
        tenant: &str,
        connector_id: &str,
        event_id: &str,
    ) -> Result<EventStatusView, RegistryError> {
        self.connector(tenant, connector_id).await?;
        let Some(e) = self
            .store
            .event_status(tenant, connector_id, event_id)
            .await?
        else {
            return Err(RegistryError::NotFound(
                "this connector has no event with that id".into(),
            ));
        };
        let quarantined = self
            .store
            .quarantined_by_call(
                tenant,
                connector_id,
                event_id,
                EventStatusView::MAX_QUARANTINED,
            )
            .await?;
        Ok(EventStatusView {
            id: e.id,
            connector: e.connector_id,
            content_type: e.content_type,
            size: e.size,
            received_at: rfc3339(e.received_ms),
            state: match e.state.as_str() {
                "processed" => "processed",
                "failed" => "failed",
                _ => "pending",
            },
            attempts: e.attempts,
            processed_at: e.processed_ms.map(rfc3339),
            outcome: e
                .outcome
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or(Value::Null),
            quarantined: quarantined.iter().map(QuarantinedFindings::of).collect(),
        })
    }

    /// Example configurations per category from this tenant's deployments.
    pub async fn example_configs(
        &self,
        tenant: &str,
    ) -> Result<BTreeMap<String, Vec<ExampleConfig>>, RegistryError> {
        let mut out: BTreeMap<String, Vec<ExampleConfig>> = BTreeMap::new();
        for (c, d) in self.store.tenant_deployments(tenant).await? {
            out.entry(c.category.clone())
                .or_default()
                .push(ExampleConfig {
                    connector: c.name,
                    version: d.version,
                    target: d.target,
                    config: serde_json::from_str(&d.config).unwrap_or(serde_json::Value::Null),
                });
        }
        Ok(out)
    }

    /// The audit trail of the tenant after `after`.
    pub async fn audit_trail(
        &self,
        tenant: &str,
        after: i64,
        limit: i64,
        target: Option<&str>,
        newest_first: bool,
    ) -> Result<AuditPage, RegistryError> {
        let rows = self
            .store
            .audit_rows(tenant, after, limit.clamp(1, 1000), target, newest_first)
            .await?;
        Ok(AuditPage {
            next_after: rows.last().map(|r| r.tenant_seq),
            items: rows.iter().map(AuditView::of).collect(),
        })
    }
}
