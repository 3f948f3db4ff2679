//! Outputs that failed validation, kept with their report and never published.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Rows, Store, StoreError};

/// One quarantined output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRow {
    /// Its id (a UUID).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The connector that produced it.
    pub connector_id: String,
    /// The call that produced it.
    pub call_id: String,
    /// The standard it claimed, e.g. `stix-2.1`.
    pub standard: String,
    /// Its media type.
    pub media_type: String,
    /// Its body, as produced.
    pub body: Vec<u8>,
    /// The validator's report, JSON text.
    pub report: String,
    /// When, ms since the epoch.
    pub created_ms: i64,
}

const COLUMNS: &str =
    "id, tenant_id, connector_id, call_id, standard, media_type, body, report, created_ms";

fn row(r: &AnyRow) -> Result<QuarantineRow, sqlx::Error> {
    Ok(QuarantineRow {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        connector_id: r.try_get(2)?,
        call_id: r.try_get(3)?,
        standard: r.try_get(4)?,
        media_type: r.try_get(5)?,
        body: r.try_get(6)?,
        report: r.try_get(7)?,
        created_ms: r.try_get(8)?,
    })
}

impl Store {
    /// Stores quarantined outputs inside the caller's transaction (the one that
    /// publishes their valid siblings: see `store::bus`).
    pub(super) async fn insert_quarantine(
        tx: &mut sqlx::AnyConnection,
        rows: &[&QuarantineRow],
    ) -> Result<(), StoreError> {
        for q in rows {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO quarantine ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            )))
            .bind(&q.id)
            .bind(&q.tenant_id)
            .bind(&q.connector_id)
            .bind(&q.call_id)
            .bind(&q.standard)
            .bind(&q.media_type)
            .bind(q.body.as_slice())
            .bind(&q.report)
            .bind(q.created_ms)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// A connector's quarantined outputs, newest first, and how many there are.
    pub async fn quarantined(
        &self,
        tenant_id: &str,
        connector_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<QuarantineRow>, i64), StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM quarantine WHERE tenant_id = $1 AND connector_id = $2 \
             ORDER BY created_ms DESC, id LIMIT $3 OFFSET $4"
        )))
        .bind(tenant_id)
        .bind(connector_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        let total: i64 = sqlx::query(
            "SELECT COUNT(*) FROM quarantine WHERE tenant_id = $1 AND connector_id = $2",
        )
        .bind(tenant_id)
        .bind(connector_id)
        .fetch_one(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?
        .try_get(0)?;
        Ok((rows.iter().map(row).collect::<Result<_, _>>()?, total))
    }

    /// What one call or event had quarantined, oldest first, at most `limit`.
    pub async fn quarantined_by_call(
        &self,
        tenant_id: &str,
        connector_id: &str,
        call_id: &str,
        limit: i64,
    ) -> Result<Vec<QuarantineRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM quarantine \
             WHERE tenant_id = $1 AND connector_id = $2 AND call_id = $3 \
             ORDER BY created_ms, id LIMIT $4"
        )))
        .bind(tenant_id)
        .bind(connector_id)
        .bind(call_id)
        .bind(limit)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }
}
