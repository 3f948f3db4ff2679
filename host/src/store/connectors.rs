//! Connectors, their versions (component bytes stored once per digest) and their
//! deployments.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Rows, Store, StoreError, conflict};
use crate::time::now_ms;

/// A registered connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorRow {
    /// Its id (a UUID).
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Unique within the tenant.
    pub name: String,
    /// One of the contract's categories.
    pub category: String,
    /// Free text.
    pub description: String,
    /// Where the external system lives, for push connectors.
    pub webhook_url: Option<String>,
    /// How a push connector authenticates.
    pub auth_method: Option<String>,
    /// The standard it declared at registration.
    pub output_standard: Option<String>,
    /// Set while an admin has it disabled: the reason they gave.
    pub disabled_reason: Option<String>,
    /// Creation time, ms.
    pub created_ms: i64,
}

/// What registration stores.
#[derive(Debug, Clone)]
pub struct NewConnector<'a> {
    /// See [`ConnectorRow`].
    pub id: &'a str,
    /// See [`ConnectorRow`].
    pub tenant_id: &'a str,
    /// See [`ConnectorRow`].
    pub name: &'a str,
    /// See [`ConnectorRow`].
    pub category: &'a str,
    /// See [`ConnectorRow`].
    pub description: &'a str,
    /// See [`ConnectorRow`].
    pub webhook_url: Option<&'a str>,
    /// See [`ConnectorRow`].
    pub auth_method: Option<&'a str>,
    /// See [`ConnectorRow`].
    pub output_standard: Option<&'a str>,
}

/// An uploaded version of a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// The connector.
    pub connector_id: String,
    /// The manifest's semver version.
    pub version: String,
    /// SHA-256 of the component, hex.
    pub digest: String,
    /// The manifest, JSON text.
    pub manifest: String,
    /// Upload time, ms.
    pub created_ms: i64,
}

/// What a write to a deployment checks under its connector's lock.
#[derive(Debug, Clone)]
pub struct DeploymentState {
    /// The version it runs.
    pub version: String,
    /// The upgrade held for approval (JSON text), if any.
    pub held: Option<String>,
    /// Its secrets, sealed.
    pub secrets: Option<Vec<u8>>,
}

/// A version deployed to a named target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRow {
    /// The connector.
    pub connector_id: String,
    /// The target's name.
    pub target: String,
    /// The deployed version.
    pub version: String,
    /// The config, JSON text (validated against the version's config schema).
    pub config: String,
    /// The secrets, encrypted (see `secrets`); never returned by an API.
    pub secrets: Option<Vec<u8>>,
    /// Granted outbound host patterns, JSON array text.
    pub allowed_hosts: String,
    /// Granted non-public networks (CIDR), JSON array text.
    pub allowed_networks: String,
    /// Limit overrides, JSON object text.
    pub limits: String,
    /// A poll schedule, if any.
    pub schedule: Option<String>,
    /// Creation time, ms.
    pub created_ms: i64,
    /// Last change, ms.
    pub updated_ms: i64,
    /// The scheduled polls' state (all empty without a schedule).
    pub polling: Polling,
    /// An upgrade held for approval here, JSON text (`registry::deployments`);
    /// written by `set_held_upgrade`, never by `upsert_deployment`.
    pub held: Option<String>,
}

/// A deployment's scheduled-poll state: written by the poll that commits, read by
/// views and the scheduler.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Polling {
    /// The cursor the next poll starts from (`None` before the first).
    pub cursor: Option<String>,
    /// When the next scheduled poll is due, ms (`None`: not scheduled).
    pub next_poll_ms: Option<i64>,
    /// Polls that failed in a row (rate limiting aside).
    pub consecutive_failures: i64,
    /// Why the schedule stopped (the connector refused its config) until the
    /// deployment changes.
    pub paused_reason: Option<String>,
    /// How long a silent upstream may go without new data before the connector's
    /// status reason says so, ms.
    pub stale_after_ms: Option<i64>,
    /// When a poll last produced outputs, ms.
    pub last_data_ms: Option<i64>,
    /// Polls committed so far.
    pub seq: i64,
}

const CONNECTOR_COLUMNS: &str = "id, tenant_id, name, category, description, webhook_url, \
     auth_method, output_standard, disabled_reason, created_ms";

/// [`CONNECTOR_COLUMNS`] qualified by the alias `c`, for joins.
const CONNECTOR_COLUMNS_C: &str = "c.id, c.tenant_id, c.name, c.category, c.description, \
     c.webhook_url, c.auth_method, c.output_standard, c.disabled_reason, c.created_ms";

fn connector(r: &AnyRow) -> Result<ConnectorRow, sqlx::Error> {
    Ok(ConnectorRow {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        name: r.try_get(2)?,
        category: r.try_get(3)?,
        description: r.try_get(4)?,
        webhook_url: r.try_get(5)?,
        auth_method: r.try_get(6)?,
        output_standard: r.try_get(7)?,
        disabled_reason: r.try_get(8)?,
        created_ms: r.try_get(9)?,
    })
}

/// A deployment from the row's columns starting at `at` (`DEPLOYMENT_COLUMNS` order).
fn deployment_at(r: &AnyRow, at: usize) -> Result<DeploymentRow, sqlx::Error> {
    Ok(DeploymentRow {
        connector_id: r.try_get(at)?,
        target: r.try_get(at + 1)?,
        version: r.try_get(at + 2)?,
        config: r.try_get(at + 3)?,
        secrets: r.try_get(at + 4)?,
        allowed_hosts: r.try_get(at + 5)?,
        schedule: r.try_get(at + 6)?,
        created_ms: r.try_get(at + 7)?,
        updated_ms: r.try_get(at + 8)?,
        allowed_networks: r.try_get(at + 9)?,
        limits: r.try_get(at + 10)?,
        polling: Polling {
            cursor: r.try_get(at + 11)?,
            next_poll_ms: r.try_get(at + 12)?,
            consecutive_failures: r.try_get(at + 13)?,
            paused_reason: r.try_get(at + 14)?,
            stale_after_ms: r.try_get(at + 15)?,
            last_data_ms: r.try_get(at + 16)?,
            seq: r.try_get(at + 17)?,
        },
        held: r.try_get(at + 18)?,
    })
}

fn deployment(r: &AnyRow) -> Result<DeploymentRow, sqlx::Error> {
    deployment_at(r, 0)
}

const DEPLOYMENT_COLUMNS: &str = "d.connector_id, d.target, d.version, d.config, d.secrets, \
     d.allowed_hosts, d.schedule, d.created_ms, d.updated_ms, d.allowed_networks, d.limits, \
     d.poll_cursor, d.next_poll_ms, d.consecutive_failures, d.paused_reason, d.stale_after_ms, \
     d.last_data_ms, d.poll_seq, d.held";

impl Store {
    /// Inserts a connector inside `tx`.
    pub async fn insert_connector(
        tx: &mut AnyConnection,
        c: &NewConnector<'_>,
    ) -> Result<ConnectorRow, StoreError> {
        let created_ms = now_ms();
        sqlx::query(
            "INSERT INTO connectors (id, tenant_id, name, category, description, webhook_url, \
             auth_method, output_standard, disabled_reason, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9)",
        )
        .persistent(false)
        .bind(c.id)
        .bind(c.tenant_id)
        .bind(c.name)
        .bind(c.category)
        .bind(c.description)
        .bind(c.webhook_url)
        .bind(c.auth_method)
        .bind(c.output_standard)
        .bind(created_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, &format!("a connector named `{}`", c.name)))?;
        Ok(ConnectorRow {
            id: c.id.to_string(),
            tenant_id: c.tenant_id.to_string(),
            name: c.name.to_string(),
            category: c.category.to_string(),
            description: c.description.to_string(),
            webhook_url: c.webhook_url.map(str::to_string),
            auth_method: c.auth_method.map(str::to_string),
            output_standard: c.output_standard.map(str::to_string),
            disabled_reason: None,
            created_ms,
        })
    }

    /// A connector of `tenant_id`.
    pub async fn connector(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ConnectorRow>, StoreError> {
        let sql =
            format!("SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        Ok(row.as_ref().map(connector).transpose()?)
    }

    /// A connector by id alone, whatever its tenant: for the ingest route that names
    /// the connector in a header. The caller authenticates before it reveals anything.
    pub async fn connector_by_id(&self, id: &str) -> Result<Option<ConnectorRow>, StoreError> {
        let sql = format!("SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *self.session(Rows::All).await?)
            .await?;
        Ok(row.as_ref().map(connector).transpose()?)
    }

    /// A connector of `tenant_id` by name.
    pub async fn connector_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<ConnectorRow>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE tenant_id = $1 AND name = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        Ok(row.as_ref().map(connector).transpose()?)
    }

    /// Every connector of `tenant_id`, oldest first. Filtering and paging happen in
    /// the registry, because status is derived and not a column.
    pub async fn connectors(&self, tenant_id: &str) -> Result<Vec<ConnectorRow>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE tenant_id = $1 ORDER BY created_ms, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        Ok(rows.iter().map(connector).collect::<Result<_, _>>()?)
    }

    /// Disables a connector with `reason` inside `tx`.
    pub async fn disable_connector(
        tx: &mut AnyConnection,
        tenant_id: &str,
        id: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE connectors SET disabled_reason = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(reason)
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Enables a connector inside `tx`. Its health starts afresh: heartbeats from
    /// before now no longer count, so it reads `registered` until the next one.
    pub async fn enable_connector(
        tx: &mut AnyConnection,
        tenant_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE connectors SET disabled_reason = NULL, health_since_ms = $1 \
             WHERE tenant_id = $2 AND id = $3",
        )
        .bind(now_ms())
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM health WHERE tenant_id = $1 AND connector_id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Stores component bytes under their digest (once) inside `tx`.
    pub async fn put_component(
        tx: &mut AnyConnection,
        digest: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO components (digest, bytes, size, created_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest)
        .bind(bytes)
        .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// The bytes of a stored component.
    pub async fn component_bytes(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT bytes FROM components WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&mut *self.session(Rows::All).await?)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Inserts a version inside `tx`; a second upload of the same version conflicts.
    pub async fn insert_version(tx: &mut AnyConnection, v: &VersionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO versions (connector_id, version, digest, manifest, created_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&v.connector_id)
        .bind(&v.version)
        .bind(&v.digest)
        .bind(&v.manifest)
        .bind(v.created_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, &format!("version {}", v.version)))?;
        Ok(())
    }

    /// Locks a connector of `tenant_id` inside `tx` until it ends (PostgreSQL:
    /// `FOR UPDATE`; SQLite's write transactions are serial already), so checks
    /// made inside `tx` hold until it commits; false when there is no such
    /// connector. Upload, deploy and the deletions take it first.
    pub async fn lock_connector(
        &self,
        tx: &mut AnyConnection,
        tenant_id: &str,
        connector_id: &str,
    ) -> Result<bool, StoreError> {
        let sql = match self.backend {
            super::Backend::Postgres => {
                "SELECT 1 FROM connectors WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
            }
            super::Backend::Sqlite => "SELECT 1 FROM connectors WHERE tenant_id = $1 AND id = $2",
        };
        Ok(sqlx::query(sql)
            .bind(tenant_id)
            .bind(connector_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some())
    }

    /// A connector's deployments as (target, version), read inside `tx`.
    pub async fn deployment_targets(
        tx: &mut AnyConnection,
        connector_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT target, version FROM deployments WHERE connector_id = $1 ORDER BY target",
        )
        .bind(connector_id)
        .fetch_all(&mut *tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Sets (or with `None` clears) the upgrade held for approval on a deployment
    /// inside `tx`; false when there is no such deployment.
    pub async fn set_held_upgrade(
        tx: &mut AnyConnection,
        connector_id: &str,
        target: &str,
        held: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE deployments SET held = $3 WHERE connector_id = $1 AND target = $2")
                .persistent(false)
                .bind(connector_id)
                .bind(target)
                .bind(held)
                .execute(&mut *tx)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A deployment's version, held upgrade and sealed secrets inside `tx`; `None`
    /// when there is no deployment to `target`.
    pub async fn deployment_state_in(
        tx: &mut AnyConnection,
        connector_id: &str,
        target: &str,
    ) -> Result<Option<DeploymentState>, StoreError> {
        let row = sqlx::query(
            "SELECT version, held, secrets FROM deployments WHERE connector_id = $1 AND target = $2",
        )
        .bind(connector_id)
        .bind(target)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(match row {
            Some(r) => Some(DeploymentState {
                version: r.try_get(0)?,
                held: r.try_get(1)?,
                secrets: r.try_get(2)?,
            }),
            None => None,
        })
    }

    /// The manifests (JSON text) of the versions a connector's deployments run,
    /// inside `tx`.
    pub async fn deployed_manifests_in(
        tx: &mut AnyConnection,
        connector_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT v.manifest FROM versions v JOIN deployments d \
             ON d.connector_id = v.connector_id AND d.version = v.version \
             WHERE v.connector_id = $1",
        )
        .bind(connector_id)
        .fetch_all(&mut *tx)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The upgrades held on a connector's deployments inside `tx`: (target, held
    /// JSON text).
    pub async fn held_upgrades_in(
        tx: &mut AnyConnection,
        connector_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT target, held FROM deployments WHERE connector_id = $1 AND held IS NOT NULL",
        )
        .bind(connector_id)
        .fetch_all(&mut *tx)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// What a connector is approved to ask for (JSON text, `registry::gate`'s
    /// `CapabilityDiff`), inside `tx`; `None` before its first deployment.
    pub async fn approved_asks_in(
        tx: &mut AnyConnection,
        connector_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT approved FROM connectors WHERE id = $1")
            .bind(connector_id)
            .fetch_optional(&mut *tx)
            .await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => None,
        })
    }

    /// Stores what a connector is approved to ask for, inside `tx`.
    pub async fn set_approved_asks(
        tx: &mut AnyConnection,
        connector_id: &str,
        approved: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE connectors SET approved = $2 WHERE id = $1")
            .bind(connector_id)
            .bind(approved)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Deletes a connector inside `tx` (locked first, [`Store::lock_connector`]),
    /// with what only it needs: its versions (and their tombstones), deployments,
    /// poll history, health, heartbeats, kv state and push credentials; the
    /// clients of its `oauth2` credentials are revoked, and their ids returned.
    /// Its events, published messages, quarantine and audit rows stay (they name
    /// the connector by id, which is never reused); component bytes stay too
    /// (shared by digest).
    pub async fn delete_connector(
        tx: &mut AnyConnection,
        tenant_id: &str,
        connector_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let revoked = sqlx::query(
            "UPDATE clients SET revoked_ms = $1 WHERE revoked_ms IS NULL AND id IN \
             (SELECT client_id FROM push_credentials WHERE connector_id = $2) RETURNING id",
        )
        .bind(now_ms())
        .bind(connector_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
        // Children first: SQLite enforces the foreign keys.
        for table in [
            "deployments",
            "polls",
            "versions",
            "deleted_versions",
            "health",
            "heartbeats",
            "heartbeat_rollups",
            "push_credentials",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE connector_id = $1"
            )))
            .bind(connector_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM kv WHERE tenant_id = $1 AND connector_id = $2")
            .bind(tenant_id)
            .bind(connector_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM connectors WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(connector_id)
            .execute(&mut *tx)
            .await?;
        Ok(revoked)
    }

    /// Deletes a version inside `tx`, leaving a tombstone that keeps its number
    /// bound to its digest ([`Store::retired_version_digest`]). False when there
    /// was no such version.
    pub async fn delete_version(
        tx: &mut AnyConnection,
        connector_id: &str,
        version: &str,
    ) -> Result<bool, StoreError> {
        let digest: Option<String> = sqlx::query(
            "DELETE FROM versions WHERE connector_id = $1 AND version = $2 RETURNING digest",
        )
        .bind(connector_id)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        let Some(digest) = digest else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO deleted_versions (connector_id, version, digest, deleted_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (connector_id, version) DO NOTHING",
        )
        .bind(connector_id)
        .bind(version)
        .bind(&digest)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        Ok(true)
    }

    /// Whether a version of a connector is stored, read inside `tx`.
    pub async fn version_exists(
        tx: &mut AnyConnection,
        connector_id: &str,
        version: &str,
    ) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("SELECT 1 FROM versions WHERE connector_id = $1 AND version = $2")
                .bind(connector_id)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?
                .is_some(),
        )
    }

    /// The digest a deleted version was uploaded with, if the number was used;
    /// read inside `tx`.
    pub async fn retired_version_digest(
        tx: &mut AnyConnection,
        connector_id: &str,
        version: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT digest FROM deleted_versions WHERE connector_id = $1 AND version = $2",
        )
        .bind(connector_id)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }
    /// Every version of the connectors `ids` (tenant-scoped), oldest first per
    /// connector, in one query.
    pub async fn versions_of(
        &self,
        tenant_id: &str,
        ids: &[&str],
    ) -> Result<Vec<VersionRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT v.connector_id, v.version, v.digest, v.manifest, v.created_ms FROM versions v \
             JOIN connectors c ON c.id = v.connector_id \
             WHERE c.tenant_id = $1 AND v.connector_id IN ({}) \
             ORDER BY v.connector_id, v.created_ms, v.version",
            super::placeholders(2, ids.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id);
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query
            .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        Ok(rows.iter().map(version_row).collect::<Result<_, _>>()?)
    }

    /// The versions of a connector of `tenant_id`, oldest first.
    pub async fn versions(
        &self,
        tenant_id: &str,
        connector_id: &str,
    ) -> Result<Vec<VersionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.connector_id, v.version, v.digest, v.manifest, v.created_ms FROM versions v \
             JOIN connectors c ON c.id = v.connector_id \
             WHERE c.tenant_id = $1 AND v.connector_id = $2 ORDER BY v.created_ms, v.version",
        )
        .bind(tenant_id)
        .bind(connector_id)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        Ok(rows.iter().map(version_row).collect::<Result<_, _>>()?)
    }

    /// Every (tenant, connector, latest version manifest) pair: for the SDK manifest's
    /// example configurations and the catalogue filters.
    pub async fn latest_manifests(
        &self,
        tenant_id: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.connector_id, v.manifest FROM versions v \
             JOIN connectors c ON c.id = v.connector_id WHERE c.tenant_id = $1 \
             ORDER BY v.created_ms, v.version",
        )
        .bind(tenant_id)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        let mut out = BTreeMap::new();
        for r in rows {
            // Later rows overwrite earlier ones: the newest upload wins.
            out.insert(r.try_get(0)?, r.try_get(1)?);
        }
        Ok(out)
    }

    /// Creates or replaces the deployment of a connector to a target inside `tx`.
    pub async fn upsert_deployment(
        tx: &mut AnyConnection,
        d: &DeploymentRow,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deployments (connector_id, target, version, config, secrets, \
             allowed_hosts, schedule, created_ms, updated_ms, allowed_networks, limits, \
             next_poll_ms, stale_after_ms, consecutive_failures) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, 0) \
             ON CONFLICT (connector_id, target) DO UPDATE SET version = excluded.version, \
             config = excluded.config, secrets = excluded.secrets, \
             allowed_hosts = excluded.allowed_hosts, schedule = excluded.schedule, \
             updated_ms = excluded.updated_ms, allowed_networks = excluded.allowed_networks, \
             limits = excluded.limits, next_poll_ms = excluded.next_poll_ms, \
             stale_after_ms = excluded.stale_after_ms, consecutive_failures = 0, \
             paused_reason = NULL, poll_seq = deployments.poll_seq + 1, \
             lease_owner = NULL, lease_until_ms = NULL",
        )
        // Nullable binary and text parameters: see `insert_heartbeats` on why these
        // statements are not cached.
        .persistent(false)
        .bind(&d.connector_id)
        .bind(&d.target)
        .bind(&d.version)
        .bind(&d.config)
        .bind(d.secrets.as_deref())
        .bind(&d.allowed_hosts)
        .bind(d.schedule.as_deref())
        .bind(d.updated_ms)
        .bind(&d.allowed_networks)
        .bind(&d.limits)
        .bind(d.polling.next_poll_ms)
        .bind(d.polling.stale_after_ms)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Removes a deployment inside `tx`; false when there was none.
    pub async fn delete_deployment(
        tx: &mut AnyConnection,
        connector_id: &str,
        target: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM deployments WHERE connector_id = $1 AND target = $2")
            .bind(connector_id)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        // Its poll history goes with it (a deployment made later to the same target
        // starts afresh).
        sqlx::query("DELETE FROM polls WHERE connector_id = $1 AND target = $2")
            .bind(connector_id)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The deployments of a connector of `tenant_id`.
    pub async fn deployments(
        &self,
        tenant_id: &str,
        connector_id: &str,
    ) -> Result<Vec<DeploymentRow>, StoreError> {
        let sql = format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d JOIN connectors c ON c.id = d.connector_id \
             WHERE c.tenant_id = $1 AND d.connector_id = $2 ORDER BY d.target"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(connector_id)
            .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        Ok(rows.iter().map(deployment).collect::<Result<_, _>>()?)
    }

    /// A connector of `tenant_id` with its deployments, in one query (the invoke path).
    pub async fn connector_with_deployments(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<(ConnectorRow, Vec<DeploymentRow>)>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTOR_COLUMNS_C}, {DEPLOYMENT_COLUMNS} \
             FROM connectors c LEFT JOIN deployments d ON d.connector_id = c.id \
             WHERE c.tenant_id = $1 AND c.id = $2 ORDER BY d.target"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let c = connector(first)?;
        let mut deployments = Vec::new();
        for r in &rows {
            // Without a deployment the LEFT JOIN's columns are NULL.
            let target: Option<String> = r.try_get(11)?;
            if target.is_some() {
                deployments.push(deployment_at(r, 10)?);
            }
        }
        Ok(Some((c, deployments)))
    }

    /// A connector of `tenant_id` with its deployment to `target`, in one query (the
    /// poll path: a connector may have many deployments).
    pub async fn connector_with_deployment(
        &self,
        tenant_id: &str,
        id: &str,
        target: &str,
    ) -> Result<Option<(ConnectorRow, DeploymentRow)>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTOR_COLUMNS_C}, {DEPLOYMENT_COLUMNS} \
             FROM connectors c JOIN deployments d ON d.connector_id = c.id \
             WHERE c.tenant_id = $1 AND c.id = $2 AND d.target = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .bind(target)
            .fetch_optional(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        Ok(row
            .map(|r| Ok::<_, sqlx::Error>((connector(&r)?, deployment_at(&r, 10)?)))
            .transpose()?)
    }

    /// Every deployment of the tenant with its connector, in one query.
    pub async fn tenant_deployments(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<(ConnectorRow, DeploymentRow)>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTOR_COLUMNS_C}, {DEPLOYMENT_COLUMNS} \
             FROM connectors c JOIN deployments d ON d.connector_id = c.id \
             WHERE c.tenant_id = $1 ORDER BY c.created_ms, c.id, d.target"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((connector(r)?, deployment_at(r, 10)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }
}

/// A version row of `SELECT v.connector_id, v.version, v.digest, v.manifest,
/// v.created_ms`.
fn version_row(r: &sqlx::any::AnyRow) -> Result<VersionRow, sqlx::Error> {
    Ok(VersionRow {
        connector_id: r.try_get(0)?,
        version: r.try_get(1)?,
        digest: r.try_get(2)?,
        manifest: r.try_get(3)?,
        created_ms: r.try_get(4)?,
    })
}
