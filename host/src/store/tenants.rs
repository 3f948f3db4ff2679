//! Tenants and their OAuth clients.

use sqlx::Row;

use super::{Store, StoreError, conflict};
use crate::time::now_ms;

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    /// Its id (a UUID).
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
}

/// An OAuth client of a tenant. The secret is kept only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    /// The client id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Lowercase hex SHA-256 of the secret.
    pub secret_hash: String,
    /// The scopes it may ask for.
    pub scopes: Vec<String>,
    /// What the operator called it.
    pub label: String,
}

impl Store {
    /// Inserts a tenant inside `tx`.
    pub async fn insert_tenant(
        tx: &mut sqlx::AnyConnection,
        id: &str,
        name: &str,
    ) -> Result<TenantRow, StoreError> {
        let created_ms = now_ms();
        sqlx::query("INSERT INTO tenants (id, name, created_ms) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(created_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, &format!("a tenant named `{name}`")))?;
        Ok(TenantRow {
            id: id.to_string(),
            name: name.to_string(),
            created_ms,
        })
    }

    /// The number of tenants.
    pub async fn count_tenants(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM tenants")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// A tenant by id or by name.
    pub async fn find_tenant(&self, id_or_name: &str) -> Result<Option<TenantRow>, StoreError> {
        let row =
            sqlx::query("SELECT id, name, created_ms FROM tenants WHERE id = $1 OR name = $1")
                .bind(id_or_name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(TenantRow {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                created_ms: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// Inserts a client inside `tx`.
    pub async fn insert_client(
        tx: &mut sqlx::AnyConnection,
        client: &ClientRow,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO clients (id, tenant_id, secret_hash, scopes, label, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&client.id)
        .bind(&client.tenant_id)
        .bind(&client.secret_hash)
        .bind(client.scopes.join(" "))
        .bind(&client.label)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "a client with this id"))?;
        Ok(())
    }

    /// A client by id.
    pub async fn find_client(&self, id: &str) -> Result<Option<ClientRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, secret_hash, scopes, label FROM clients WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let scopes: String = r.try_get(3)?;
            Ok(ClientRow {
                id: r.try_get(0)?,
                tenant_id: r.try_get(1)?,
                secret_hash: r.try_get(2)?,
                scopes: scopes.split_whitespace().map(str::to_string).collect(),
                label: r.try_get(4)?,
            })
        })
        .transpose()
    }
}
