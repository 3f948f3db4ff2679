//! Tenants and their OAuth clients.

use sqlx::Row;

use super::{Rows, Store, StoreError, conflict};
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

/// A client as the operator lists it (never its secret's hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientListing {
    /// The client id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The scopes it may ask for.
    pub scopes: Vec<String>,
    /// What the operator called it.
    pub label: String,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

/// A tenant with what it holds, as the operator lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantListing {
    /// The tenant.
    pub tenant: TenantRow,
    /// Its connectors.
    pub connectors: i64,
    /// Its clients not revoked (push connectors' own clients included).
    pub active_clients: i64,
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
            .fetch_one(&mut *self.session(Rows::All).await?)
            .await?
            .try_get(0)?)
    }

    /// A tenant by id or by name.
    pub async fn find_tenant(&self, id_or_name: &str) -> Result<Option<TenantRow>, StoreError> {
        let row =
            sqlx::query("SELECT id, name, created_ms FROM tenants WHERE id = $1 OR name = $1")
                .bind(id_or_name)
                .fetch_optional(&mut *self.session(Rows::All).await?)
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

    /// Every tenant, oldest first, with its counts.
    pub async fn tenants(&self) -> Result<Vec<TenantListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.name, t.created_ms, \
             (SELECT COUNT(*) FROM connectors c WHERE c.tenant_id = t.id), \
             (SELECT COUNT(*) FROM clients k WHERE k.tenant_id = t.id AND k.revoked_ms IS NULL) \
             FROM tenants t ORDER BY t.created_ms, t.id",
        )
        .fetch_all(&mut *self.session(Rows::All).await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TenantListing {
                    tenant: TenantRow {
                        id: r.try_get(0)?,
                        name: r.try_get(1)?,
                        created_ms: r.try_get(2)?,
                    },
                    connectors: r.try_get(3)?,
                    active_clients: r.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// A tenant's clients, oldest first, revoked ones included.
    pub async fn clients(&self, tenant_id: &str) -> Result<Vec<ClientListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, scopes, label, created_ms, revoked_ms FROM clients \
             WHERE tenant_id = $1 ORDER BY created_ms, id",
        )
        .bind(tenant_id)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        rows.iter()
            .map(|r| {
                let scopes: String = r.try_get(2)?;
                Ok(ClientListing {
                    id: r.try_get(0)?,
                    tenant_id: r.try_get(1)?,
                    scopes: scopes.split_whitespace().map(str::to_string).collect(),
                    label: r.try_get(3)?,
                    created_ms: r.try_get(4)?,
                    revoked_ms: r.try_get(5)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Revokes a client of `tenant_id` inside `tx`; false when it has no such
    /// client, or the client was revoked already.
    pub async fn revoke_client(
        tx: &mut sqlx::AnyConnection,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE clients SET revoked_ms = $1 \
             WHERE tenant_id = $2 AND id = $3 AND revoked_ms IS NULL",
        )
        .bind(now_ms())
        .bind(tenant_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether a client may act now: it exists and was not revoked.
    pub async fn client_is_active(&self, client_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT revoked_ms FROM clients WHERE id = $1")
            .bind(client_id)
            .fetch_optional(&mut *self.session(Rows::All).await?)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<i64>, _>(0)?.is_none(),
            None => false,
        })
    }

    /// A client by id, unless it was revoked.
    pub async fn find_client(&self, id: &str) -> Result<Option<ClientRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, secret_hash, scopes, label FROM clients \
             WHERE id = $1 AND revoked_ms IS NULL",
        )
        .bind(id)
        .fetch_optional(&mut *self.session(Rows::All).await?)
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
