//! Connectors' kv state (the `kv` table): what a guest keeps between calls, per
//! tenant × connector, loaded before a call and saved as a difference after a
//! successful one (`runtime::KvStore`).

use std::collections::BTreeMap;

use sqlx::Row;

use super::{Rows, Store, StoreError};

impl Store {
    /// The kv state of a connector for a tenant.
    pub async fn kv_load(
        &self,
        tenant_id: &str,
        connector_id: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
        let rows =
            sqlx::query("SELECT key, value FROM kv WHERE tenant_id = $1 AND connector_id = $2")
                .bind(tenant_id)
                .bind(connector_id)
                .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Writes the difference between `before` and `after` in one transaction.
    pub async fn kv_save(
        &self,
        tenant_id: &str,
        connector_id: &str,
        before: &BTreeMap<String, Vec<u8>>,
        after: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(), StoreError> {
        if before == after {
            return Ok(());
        }
        let mut tx = self.begin(Rows::Tenant(tenant_id)).await?;
        Store::kv_save_in(&mut tx, tenant_id, connector_id, before, after).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes the difference between `before` and `after` inside `tx`.
    pub async fn kv_save_in(
        tx: &mut sqlx::AnyConnection,
        tenant_id: &str,
        connector_id: &str,
        before: &BTreeMap<String, Vec<u8>>,
        after: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(), StoreError> {
        for key in before.keys().filter(|k| !after.contains_key(*k)) {
            sqlx::query("DELETE FROM kv WHERE tenant_id = $1 AND connector_id = $2 AND key = $3")
                .bind(tenant_id)
                .bind(connector_id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        for (key, value) in after.iter().filter(|(k, v)| before.get(*k) != Some(*v)) {
            sqlx::query(
                "INSERT INTO kv (tenant_id, connector_id, key, value) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, connector_id, key) DO UPDATE SET value = excluded.value",
            )
            .bind(tenant_id)
            .bind(connector_id)
            .bind(key)
            .bind(value.as_slice())
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

/// The server's kv storage: the `kv` table, one transaction per save.
impl crate::runtime::KvStore for Store {
    async fn load(
        &self,
        tenant: &str,
        connector: &str,
    ) -> Result<crate::runtime::KvMap, crate::runtime::KvError> {
        self.kv_load(tenant, connector)
            .await
            .map_err(|e| crate::runtime::KvError(e.to_string()))
    }

    async fn save(
        &self,
        tenant: &str,
        connector: &str,
        before: &crate::runtime::KvMap,
        after: &crate::runtime::KvMap,
    ) -> Result<(), crate::runtime::KvError> {
        self.kv_save(tenant, connector, before, after)
            .await
            .map_err(|e| crate::runtime::KvError(e.to_string()))
    }
}
