//! Registering connectors, and disabling or enabling them.

use serde::Deserialize;

use super::checks::{backticked, check_name, check_text, check_webhook_url, one_of};
use super::credentials::rsa_key;
use super::views::{ConnectorView, Registered};
use super::{FieldError, Registry, RegistryError, audit_entry};
use crate::store::{NewConnector, Rows, Store, StoreError};
use crate::vocab::{AuthMethod, Category, Standard};

/// Registration input (`POST /api/connectors/register`, GraphQL `registerConnector`).
#[derive(Debug, Clone, Deserialize, async_graphql::InputObject, utoipa::ToSchema)]
#[graphql(name = "RegisterInput")]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Unique within the tenant.
    pub name: String,
    /// One of the [`Category`] names.
    pub category: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the external system lives.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// One of the [`AuthMethod`] names: makes it a push connector.
    #[serde(default)]
    pub auth_method: Option<String>,
    /// One of the [`Standard`] names.
    #[serde(default)]
    pub output_standard: Option<String>,
    /// `rsa` only: the sender's RSA public key, PEM, 2048 to 8192 bits.
    #[serde(default)]
    pub public_key: Option<String>,
}

impl Registry {
    /// Registers a connector. A push connector (`auth_method` set) gets its
    /// credential, returned here once — only a sealed or hashed form is stored —
    /// with the webhook path it posts to.
    pub async fn register(
        &self,
        tenant: &str,
        actor: &str,
        r: Registration,
    ) -> Result<Registered, RegistryError> {
        check_name(&r.name)?;
        one_of::<Category>("category", &r.category)?;
        let method = match &r.auth_method {
            Some(m) => Some(one_of::<AuthMethod>("auth_method", m)?),
            None => None,
        };
        if let Some(s) = &r.output_standard {
            one_of::<Standard>("output_standard", s)?;
        }
        let public_key = rsa_key(method, r.public_key.as_deref())?;
        if let Some(u) = &r.webhook_url {
            check_webhook_url(u)?;
        }
        let description = r.description.clone().unwrap_or_default();
        if description.len() > 2000 {
            return Err(RegistryError::BadRequest {
                code: "invalid_field",
                message: "`description` is at most 2000 characters".into(),
            });
        }
        check_text("description", &description, true)?;
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.store.begin(Rows::Tenant(tenant)).await?;
        let row = Store::insert_connector(
            &mut tx,
            &NewConnector {
                id: &id,
                tenant_id: tenant,
                name: &r.name,
                category: &r.category,
                description: &description,
                webhook_url: r.webhook_url.as_deref(),
                auth_method: r.auth_method.as_deref(),
                output_standard: r.output_standard.as_deref(),
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(what) => RegistryError::Conflict {
                code: "already_exists",
                message: format!("{what} is already registered in this tenant"),
            },
            e => e.into(),
        })?;
        let credential = match method {
            Some(method) => Some(
                self.issue_credential(&mut tx, tenant, &id, method, public_key.as_deref())
                    .await?,
            ),
            None => None,
        };
        let detail = serde_json::json!({"name": r.name, "category": r.category,
            "auth_method": r.auth_method, "output_standard": r.output_standard});
        self.commit_audited(
            tx,
            audit_entry(tenant, actor, "connector.register", &id, detail),
        )
        .await?;
        let webhook_path = method
            .is_some()
            .then(|| format!("/api/events/ingest/{tenant}/{id}"));
        Ok(Registered {
            view: self.view(&row).await?,
            credential,
            webhook_path,
        })
    }

    /// Deletes a connector and what only it needs ([`Store::delete_connector`]):
    /// refused (409 `connector_deployed`) while it is deployed, unless `force`.
    /// Audited; its name is free again; its events and audit rows stay.
    pub async fn delete_connector(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        force: bool,
    ) -> Result<(), RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        let versions: Vec<String> = self
            .store
            .versions(tenant, &connector.id)
            .await?
            .into_iter()
            .map(|v| v.version)
            .collect();
        let mut tx = self.store.begin(Rows::Tenant(tenant)).await?;
        // Checked under the connector's lock: no deployment can appear meanwhile.
        if !self
            .store
            .lock_connector(&mut tx, tenant, &connector.id)
            .await?
        {
            return Err(RegistryError::NotFound(format!(
                "no connector `{connector_id}`"
            )));
        }
        let targets: Vec<String> = Store::deployment_targets(&mut tx, &connector.id)
            .await?
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        if !targets.is_empty() && !force {
            return Err(RegistryError::Conflict {
                code: "connector_deployed",
                message: format!(
                    "connector `{}` is deployed to {}; undeploy it first, or delete with \
                     `?force=true` to remove the deployments too",
                    connector.name,
                    backticked(&targets)
                ),
            });
        }
        let revoked = Store::delete_connector(&mut tx, tenant, &connector.id).await?;
        let detail = serde_json::json!({
            "name": connector.name,
            "versions": versions,
            "deployments": targets,
            "forced": force,
            "revoked_clients": revoked,
        });
        self.commit_audited(
            tx,
            audit_entry(tenant, actor, "connector.delete", &connector.id, detail),
        )
        .await?;
        self.forget_connector(&connector.id);
        self.metrics.forget_connector(&connector.id);
        Ok(())
    }

    /// Disables (with a reason) or enables a connector. Enabling one that is not
    /// disabled is a no-op. Watching caches forget the connector.
    pub async fn set_enabled(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        disable_reason: Option<&str>,
    ) -> Result<ConnectorView, RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        if let Some(r) = disable_reason {
            check_text("reason", r, false)?;
        }
        if let Some(r) = disable_reason
            && (r.trim().is_empty() || r.len() > 1000)
        {
            return Err(RegistryError::Unprocessable {
                code: "reason_required",
                message: "disabling needs a `reason` of 1 to 1000 characters".into(),
                details: vec![FieldError {
                    rule: None,
                    path: "/reason".into(),
                    message: "required".into(),
                }],
            });
        }
        if disable_reason.is_none() && connector.disabled_reason.is_none() {
            // Enabling an enabled connector changes nothing: no audit row, and its
            // health is not reset.
            self.changed(&connector.id);
            self.recorder.flush().await;
            return Ok(self.view(&connector).await?);
        }
        let mut tx = self.store.begin(Rows::Tenant(tenant)).await?;
        match disable_reason {
            Some(r) => Store::disable_connector(&mut tx, tenant, &connector.id, r).await?,
            None => {
                self.store.lock_health(&mut tx, &connector.id).await?;
                Store::enable_connector(&mut tx, tenant, &connector.id).await?
            }
        }
        let action = if disable_reason.is_some() {
            "connector.disable"
        } else {
            "connector.enable"
        };
        let mut entry = audit_entry(tenant, actor, action, &connector.id, serde_json::json!({}));
        entry.reason = disable_reason.map(str::to_string);
        self.commit_audited(tx, entry).await?;
        self.changed(&connector.id);
        self.recorder.flush().await;
        let row = self.connector(tenant, connector_id).await?;
        Ok(self.view(&row).await?)
    }
}
