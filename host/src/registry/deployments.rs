//! Deployments: a version of a connector deployed to a named target with a config,
//! sealed secrets, outbound grants, limits and an optional schedule. Upgrade and
//! roll back are a change of version; what a call may use beyond its manifest
//! (the [`Grants`]) is built here, opening the secrets only then.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::Value;

use super::checks::{
    compile_schema, duration_ms, grant_is_declared, name_ok, schedule_ok, schema_errors,
    secret_schema_errors, unprocessable,
};
use super::gate::CapabilityDiff;
use super::views::{DeploymentView, HeldUpgradeView, Items};
use super::{FieldError, Registry, RegistryError, audit_entry, internal};
use crate::runtime::{CallError, Grants, LimitOverrides};
use crate::store::{DeploymentRow, Polling, Rows, Store};
use crate::time::now_ms;
use crate::time::rfc3339;

/// Deployment input (`POST /api/connectors/{id}/deployments`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// The version to deploy.
    pub version: String,
    /// The target's name; `default` when absent.
    #[serde(default)]
    pub target: Option<String>,
    /// The config; `{}` when absent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    /// Secrets, validated against the secrets schema, stored encrypted. Absent, an
    /// existing target keeps the secrets it has (checked against this version's
    /// secrets schema); `null` removes them.
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = Option<Object>)]
    pub secrets: Option<Value>,
    /// Outbound host patterns granted: each must be a pattern the manifest declares,
    /// or one concrete origin (no `*`) that a declared pattern covers.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// Non-public networks (CIDR, e.g. `10.20.0.0/16`) the deployment may reach. By
    /// default loopback, private, link-local and metadata addresses are refused even
    /// for a granted host.
    #[serde(default)]
    pub allowed_networks: Option<Vec<String>>,
    /// Changes to the default call limits (see `runtime::LimitOverrides`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub limits: Option<LimitOverrides>,
    /// `every N{s|m|h}`: the server polls the deployment on that schedule.
    #[serde(default)]
    pub schedule: Option<String>,
    /// `N{s|m|h}`: how long the upstream may publish nothing new before the
    /// connector's status reason says it is silent (scheduled deployments).
    #[serde(default)]
    pub stale_after: Option<String>,
}

/// Refuses secrets that do not fit `schema`: 422 `invalid_secrets`, its findings
/// naming fields and rules, never a value (a validator's message quotes it).
fn secrets_fit(schema: &Value, secrets: &Value) -> Result<(), RegistryError> {
    let validator = compile_schema(schema).map_err(internal)?;
    let errors = secret_schema_errors(&validator, secrets);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(unprocessable("invalid_secrets", "the secrets", errors))
    }
}

/// A field that was given, `null` included (`Some(Value::Null)`): unlike a plain
/// `Option<Value>`, absent (`None`, by `#[serde(default)]`) and `null` differ.
fn given<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}

impl Deployment {
    /// `version` to `default`, with nothing else given.
    pub fn of(version: &str) -> Deployment {
        Deployment {
            version: version.to_string(),
            target: None,
            config: None,
            secrets: None,
            allowed_hosts: None,
            allowed_networks: None,
            limits: None,
            schedule: None,
            stale_after: None,
        }
    }
}

impl Registry {
    /// Creates or changes a deployment (upgrade and roll back are a change of version).
    ///
    /// A version that asks for more than the connector is approved for (see
    /// [`Registry::approve`]) is held on an existing target, and refused (409
    /// `approval_required`) for a new one — unless `may_approve` (the caller holds
    /// `connectors:approve`), when deploying it is the approval.
    pub async fn deploy(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        d: Deployment,
        may_approve: bool,
    ) -> Result<DeploymentView, RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        let target = d.target.clone().unwrap_or_else(|| "default".into());
        if !name_ok(&target) {
            return Err(RegistryError::BadRequest {
                code: "invalid_field",
                message:
                    "`target` must be 1 to 100 characters: letters, digits, spaces, `-`, `_` or `.`"
                        .into(),
            });
        }
        let Some((version, manifest)) = self.version(tenant, connector_id, &d.version).await?
        else {
            return Err(RegistryError::Unprocessable {
                code: "unknown_version",
                message: format!(
                    "version `{}` of this connector was never uploaded",
                    d.version
                ),
                details: vec![FieldError {
                    rule: None,
                    path: "/version".into(),
                    message: "no such version".into(),
                }],
            });
        };
        let config = d.config.clone().unwrap_or_else(|| serde_json::json!({}));
        let validator = compile_schema(&manifest.config_schema).map_err(internal)?;
        let errors = schema_errors(&validator, &config);
        if !errors.is_empty() {
            return Err(unprocessable("invalid_config", "the config", errors));
        }
        // Then the connector's own rules, which a schema cannot express.
        let component = self.component(&version.digest).await?;
        let config_text = config.to_string();
        let verdict = tokio::task::spawn_blocking(move || component.validate_config(&config_text))
            .await
            .map_err(internal)?;
        match verdict {
            Ok(()) => {}
            Err(CallError::Connector(e)) => {
                let why = crate::runtime::connector_error_text(&e);
                let (path, message) = match crate::runtime::connector_error_field(&e) {
                    Some((path, rest)) => (path.to_string(), rest.to_string()),
                    None => (String::new(), why.clone()),
                };
                return Err(RegistryError::Unprocessable {
                    code: "invalid_config",
                    message: format!("the connector refused the config: {why}"),
                    details: vec![FieldError {
                        rule: None,
                        path,
                        message,
                    }],
                });
            }
            Err(error) => {
                return Err(RegistryError::Call {
                    error,
                    call_id: "validate-config".into(),
                });
            }
        }
        let deployed = self.store.deployments(tenant, connector_id).await?;
        let previous = deployed.iter().find(|p| p.target == target).cloned();
        let secrets = match &d.secrets {
            Some(Value::Null) => None,
            Some(s) => {
                secrets_fit(&manifest.secrets_schema, s)?;
                Some(self.keys.seal(s.to_string().as_bytes()).map_err(internal)?)
            }
            // Kept from the target: read and checked under the connector's lock, in
            // `write` (a read here could bring back secrets changed meanwhile).
            None => None,
        };
        let allowed = d.allowed_hosts.clone().unwrap_or_default();
        let declared: Vec<&str> = manifest
            .outbound_hosts
            .iter()
            .filter_map(|h| h.get("pattern").and_then(Value::as_str))
            .collect();
        for (i, h) in allowed.iter().enumerate() {
            if !grant_is_declared(h, &declared) {
                return Err(RegistryError::Unprocessable {
                    code: "invalid_allowed_hosts",
                    message: format!(
                        "allowed host `{h}` is not one the connector's manifest declares ({})",
                        if declared.is_empty() {
                            "it declares none".to_string()
                        } else {
                            declared.join(", ")
                        }
                    ),
                    details: vec![FieldError {
                        rule: None,
                        path: format!("/allowed_hosts/{i}"),
                        message: "not declared by the manifest".into(),
                    }],
                });
            }
        }
        let networks = d.allowed_networks.clone().unwrap_or_default();
        for (i, n) in networks.iter().enumerate() {
            if let Err(e) = n.parse::<ipnet::IpNet>() {
                return Err(RegistryError::Unprocessable {
                    code: "invalid_allowed_networks",
                    message: format!(
                        "allowed network `{n}` is not a CIDR network such as `10.0.0.0/8` or `fd00::/8` ({e})"
                    ),
                    details: vec![FieldError {
                        rule: None,
                        path: format!("/allowed_networks/{i}"),
                        message: "expected a CIDR network".into(),
                    }],
                });
            }
        }
        let overrides = d.limits.unwrap_or_default();
        if let Err(why) = self.runtime.limits().with_overrides(&overrides) {
            return Err(RegistryError::Unprocessable {
                code: "invalid_limits",
                message: format!("the limits are out of bounds: {why}"),
                details: vec![FieldError {
                    rule: None,
                    path: "/limits".into(),
                    message: why,
                }],
            });
        }
        if let Some(s) = &d.schedule
            && !schedule_ok(s)
        {
            return Err(RegistryError::Unprocessable {
                code: "invalid_schedule",
                message: format!(
                    "schedule `{s}` is not of the form `every N` followed by s, m or h"
                ),
                details: vec![FieldError {
                    rule: None,
                    path: "/schedule".into(),
                    message: "expected e.g. `every 5m`".into(),
                }],
            });
        }
        let stale_after_ms = match &d.stale_after {
            Some(s) => Some(duration_ms(s).ok_or_else(|| RegistryError::Unprocessable {
                code: "invalid_stale_after",
                message: format!("stale_after `{s}` is not a duration such as `30m` or `2h`"),
                details: vec![FieldError {
                    rule: None,
                    path: "/stale_after".into(),
                    message: "expected N followed by s, m or h".into(),
                }],
            })?),
            None => None,
        };
        let now = now_ms();
        let row = DeploymentRow {
            connector_id: connector.id.clone(),
            target: target.clone(),
            version: version.version.clone(),
            config: config.to_string(),
            secrets,
            allowed_hosts: serde_json::to_string(&allowed).map_err(internal)?,
            allowed_networks: serde_json::to_string(&networks).map_err(internal)?,
            limits: serde_json::to_string(&overrides).map_err(internal)?,
            schedule: d.schedule.clone(),
            created_ms: previous.as_ref().map_or(now, |p| p.created_ms),
            updated_ms: now,
            // A new or changed schedule is due at once; the cursor, the poll count
            // and the data's freshness carry over (the store keeps them).
            polling: Polling {
                next_poll_ms: d.schedule.as_ref().map(|_| now),
                stale_after_ms,
                ..Polling::default()
            },
            held: None,
        };
        let detail = serde_json::json!({
            "target": target,
            "version": row.version,
            "previous_version": previous.as_ref().map(|p| p.version.clone()),
            "config": config,
            "secrets_changed": d.secrets.is_some(),
            "allowed_hosts": allowed,
            "allowed_networks": networks,
            "limits": overrides,
            "schedule": row.schedule,
            "stale_after": d.stale_after,
        });
        let action = match &previous {
            None => "deployment.create",
            Some(p) if p.version != row.version => "deployment.change_version",
            Some(_) => "deployment.change_config",
        };
        let asks = CapabilityDiff::of(&manifest);
        self.write(
            tenant,
            actor,
            row,
            action,
            detail,
            Write::Deploy {
                asks: &asks,
                running: previous.as_ref().map(|p| p.version.as_str()),
                may_approve,
                stale_after_ms,
                keep_secrets: d.secrets.is_none().then_some(&manifest.secrets_schema),
            },
        )
        .await
    }

    /// What the connector is approved to ask for (`None` before its first
    /// deployment), read outside any lock: for answers, not decisions.
    pub(super) async fn approved_asks(
        &self,
        tenant: &str,
        connector_id: &str,
    ) -> Result<Option<CapabilityDiff>, RegistryError> {
        // Read only (the stand-in is stored by writes): rolled back, and ended
        // here rather than dropped (see `WriteTx`).
        let mut tx = self.store.begin(Rows::Tenant(tenant)).await?;
        let asks = Self::baseline_in(&mut tx, connector_id).await;
        tx.rollback()
            .await
            .map_err(crate::store::StoreError::from)?;
        asks
    }

    /// What the connector is approved to ask for, read in `tx` (under its lock
    /// when a decision depends on it): the stored baseline, else what its
    /// deployments run (a connector deployed before baselines were kept; stored
    /// then in `tx`), else `None` before its first deployment.
    async fn baseline_in(
        tx: &mut sqlx::AnyConnection,
        connector_id: &str,
    ) -> Result<Option<CapabilityDiff>, RegistryError> {
        if let Some(text) = Store::approved_asks_in(tx, connector_id).await? {
            return Ok(Some(serde_json::from_str(&text).map_err(internal)?));
        }
        let deployed = Store::deployed_manifests_in(tx, connector_id).await?;
        if deployed.is_empty() {
            return Ok(None);
        }
        // A connector deployed before baselines were kept: what it runs stands in,
        // kept from now on, so undeploying everything cannot turn the next deploy
        // into a first one.
        let mut asks = CapabilityDiff::default();
        for text in deployed {
            let m: crate::runtime::ManifestJson = serde_json::from_str(&text).map_err(internal)?;
            asks = asks.union(&CapabilityDiff::of(&m));
        }
        let text = serde_json::to_string(&asks).map_err(internal)?;
        Store::set_approved_asks(tx, connector_id, &text).await?;
        Ok(Some(asks))
    }

    /// Writes a deploy or an approval under the connector's lock, where every
    /// decision is taken again on what is committed: the version must still exist,
    /// the target must run what the request was based on (or the held upgrade
    /// must be the one approved), and what the version asks for is compared with
    /// the connector's approved baseline. Then the deployment is written (clearing
    /// a held upgrade it supersedes), the baseline grows by what was approved, the
    /// change is audited, and the view answered — or the upgrade is held instead.
    async fn write(
        &self,
        tenant: &str,
        actor: &str,
        mut row: DeploymentRow,
        action: &str,
        mut detail: Value,
        how: Write<'_>,
    ) -> Result<DeploymentView, RegistryError> {
        let mut tx = self.store.begin(Rows::Tenant(tenant)).await?;
        if !self
            .store
            .lock_connector(&mut tx, tenant, &row.connector_id)
            .await?
        {
            return Err(RegistryError::NotFound(format!(
                "no connector `{}`",
                row.connector_id
            )));
        }
        if !Store::version_exists(&mut tx, &row.connector_id, &row.version).await? {
            return Err(RegistryError::Conflict {
                code: "version_deleted",
                message: format!(
                    "version {} was deleted while this deployment was being made",
                    row.version
                ),
            });
        }
        let current = Store::deployment_state_in(&mut tx, &row.connector_id, &row.target).await?;
        // The secrets a request without `secrets` keeps: the target's, as committed
        // now, checked against the schema of the version being deployed.
        let keep = match &how {
            Write::Deploy { keep_secrets, .. } | Write::Approve { keep_secrets, .. } => {
                *keep_secrets
            }
        };
        let kept = match (keep, current.as_ref().and_then(|c| c.secrets.clone())) {
            (Some(schema), Some(sealed)) => {
                self.check_kept_secrets(&sealed, schema, &row.version)?;
                Some(sealed)
            }
            _ => None,
        };
        if keep.is_some() {
            row.secrets = kept.clone();
        }
        let changed = || RegistryError::Conflict {
            code: "deployment_changed",
            message: format!(
                "the deployment to `{}` changed while this request was being made; read it \
                 again and send the request again",
                row.target
            ),
        };
        let (asks, supersedes) = match &how {
            Write::Deploy { asks, running, .. } => {
                if current.as_ref().map(|c| c.version.as_str()) != *running {
                    return Err(changed());
                }
                // A change of version supersedes a held upgrade; a change of config
                // alone leaves it waiting.
                (*asks, running.is_none_or(|r| r != row.version))
            }
            Write::Approve { asks, held, .. } => {
                if current.as_ref().and_then(|c| c.held.as_deref()) != Some(*held) {
                    return Err(RegistryError::Conflict {
                        code: "held_upgrade_changed",
                        message: "the held upgrade changed while it was being approved; read \
                                  the deployment again and approve what it shows"
                            .into(),
                    });
                }
                (*asks, true)
            }
        };
        let baseline = Self::baseline_in(&mut tx, &row.connector_id).await?;
        let beyond = baseline
            .as_ref()
            .map(|b| asks.minus(b))
            .filter(|d| !d.is_empty());
        if let (
            Some(asks_for),
            Write::Deploy {
                may_approve: false,
                running,
                stale_after_ms,
                ..
            },
        ) = (&beyond, &how)
        {
            let Some(running) = running else {
                return Err(RegistryError::Conflict {
                    code: "approval_required",
                    message: format!(
                        "version {} asks for more than this connector is approved for ({}); \
                         deploy it over an existing target, where it waits for an admin's \
                         approval, or deploy it with a client holding connectors:approve",
                        row.version,
                        asks_for.lines().join(", ")
                    ),
                });
            };
            let held = HeldUpgrade {
                version: row.version.clone(),
                from_version: running.to_string(),
                config: row.config.clone(),
                // Kept secrets are not copied: approving keeps those of that time.
                secrets: if keep.is_some() {
                    None
                } else {
                    row.secrets.as_deref().map(|s| B64.encode(s))
                },
                keep_secrets: keep.is_some() && kept.is_some(),
                allowed_hosts: row.allowed_hosts.clone(),
                allowed_networks: row.allowed_networks.clone(),
                limits: row.limits.clone(),
                schedule: row.schedule.clone(),
                stale_after_ms: *stale_after_ms,
                asks_for: asks_for.clone(),
                requested_by: actor.to_string(),
                requested_ms: row.updated_ms,
                detail,
            };
            let text = serde_json::to_string(&held).map_err(internal)?;
            if !Store::set_held_upgrade(&mut tx, &row.connector_id, &row.target, Some(&text))
                .await?
            {
                return Err(changed());
            }
            let detail = serde_json::json!({
                "target": row.target,
                "version": held.version,
                "running_version": held.from_version,
                "asks_for": held.asks_for,
            });
            self.commit_audited(
                tx,
                audit_entry(
                    tenant,
                    actor,
                    "deployment.upgrade_held",
                    &row.connector_id,
                    detail,
                ),
            )
            .await?;
        } else {
            Store::upsert_deployment(&mut tx, &row).await?;
            if supersedes {
                Store::set_held_upgrade(&mut tx, &row.connector_id, &row.target, None).await?;
            }
            let grown = baseline
                .as_ref()
                .map_or_else(|| asks.clone(), |b| b.union(asks));
            if baseline.as_ref() != Some(&grown) {
                let text = serde_json::to_string(&grown).map_err(internal)?;
                Store::set_approved_asks(&mut tx, &row.connector_id, &text).await?;
            }
            // What this write approves: beyond the baseline, or all of it for the
            // first deployment (which sets the baseline).
            let approved = match (&baseline, &beyond) {
                (None, _) => Some(asks),
                (_, Some(asks_for)) => Some(asks_for),
                _ => None,
            };
            if let (Some(o), Some(approved)) = (detail.as_object_mut(), approved) {
                o.insert(
                    "approved".into(),
                    serde_json::to_value(approved).map_err(internal)?,
                );
            }
            self.commit_audited(
                tx,
                audit_entry(tenant, actor, action, &row.connector_id, detail),
            )
            .await?;
        }
        self.deployment_view(tenant, &row.connector_id, &row.target)
            .await?
            .ok_or_else(|| {
                RegistryError::NotFound(format!("no deployment to target `{}`", row.target))
            })
    }

    /// Refuses kept secrets (a deploy without `secrets`) that do not fit the secrets
    /// schema of `version`: 422 `invalid_secrets`, naming fields, never values.
    fn check_kept_secrets(
        &self,
        sealed: &[u8],
        schema: &Value,
        version: &str,
    ) -> Result<(), RegistryError> {
        let plain = self.keys.open(sealed).map_err(internal)?;
        let kept: Value = serde_json::from_slice(&plain).map_err(internal)?;
        secrets_fit(schema, &kept).map_err(|mut refusal| {
            if let RegistryError::Unprocessable { message, .. } = &mut refusal {
                *message = format!(
                    "the target's stored secrets, kept because `secrets` was not given, do not fit version {version}'s secrets schema: send them again"
                );
            }
            refusal
        })
    }

    /// Applies the upgrade held on a target (`POST …/deployments/{target}/approve`),
    /// exactly as it was requested, and adds what it asks for to the connector's
    /// approved baseline; audited `deployment.approve` with who asked and what it
    /// asks for. With `requested_at`, only the held upgrade requested then (409
    /// `held_upgrade_changed` when another replaced it). 404 without such a
    /// deployment, 409 `nothing_held` when no upgrade waits there.
    pub async fn approve(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        target: &str,
        requested_at: Option<&str>,
    ) -> Result<DeploymentView, RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        let deployed = self.store.deployments(tenant, &connector.id).await?;
        let Some(current) = deployed.iter().find(|p| p.target == target).cloned() else {
            return Err(RegistryError::NotFound(format!(
                "no deployment to target `{}`",
                crate::text::bounded(target, 100)
            )));
        };
        let Some(text) = current.held.clone() else {
            return Err(RegistryError::Conflict {
                code: "nothing_held",
                message: format!("no upgrade of target `{target}` waits for approval"),
            });
        };
        let held: HeldUpgrade = serde_json::from_str(&text).map_err(internal)?;
        if let Some(at) = requested_at
            && at != rfc3339(held.requested_ms)
        {
            return Err(RegistryError::Conflict {
                code: "held_upgrade_changed",
                message: format!(
                    "the upgrade held on `{target}` was requested at {}, not {}; read the \
                     deployment again and approve what it shows",
                    rfc3339(held.requested_ms),
                    crate::text::bounded(at, 40)
                ),
            });
        }
        let Some((_, manifest)) = self.version(tenant, &connector.id, &held.version).await? else {
            return Err(RegistryError::Conflict {
                code: "version_deleted",
                message: format!(
                    "version {} was deleted since its upgrade was held; deploy another version \
                     to `{target}`",
                    held.version
                ),
            });
        };
        let secrets = match &held.secrets {
            Some(b) => Some(B64.decode(b).map_err(internal)?),
            None => None,
        };
        let now = now_ms();
        let row = DeploymentRow {
            connector_id: connector.id.clone(),
            target: target.to_string(),
            version: held.version.clone(),
            config: held.config.clone(),
            secrets,
            allowed_hosts: held.allowed_hosts.clone(),
            allowed_networks: held.allowed_networks.clone(),
            limits: held.limits.clone(),
            schedule: held.schedule.clone(),
            created_ms: current.created_ms,
            updated_ms: now,
            polling: Polling {
                next_poll_ms: held.schedule.as_ref().map(|_| now),
                stale_after_ms: held.stale_after_ms,
                ..Polling::default()
            },
            held: None,
        };
        let mut detail = held.detail.clone();
        if let Some(o) = detail.as_object_mut() {
            o.insert("previous_version".into(), current.version.clone().into());
            o.insert("requested_by".into(), held.requested_by.clone().into());
            o.insert(
                "asks_for".into(),
                serde_json::to_value(&held.asks_for).map_err(internal)?,
            );
        }
        let asks = CapabilityDiff::of(&manifest);
        self.write(
            tenant,
            actor,
            row,
            "deployment.approve",
            detail,
            Write::Approve {
                asks: &asks,
                held: &text,
                keep_secrets: held.keep_secrets.then_some(&manifest.secrets_schema),
            },
        )
        .await
    }

    /// A target's deployment as the APIs show it, with its newest poll and any
    /// upgrade held there.
    async fn deployment_view(
        &self,
        tenant: &str,
        connector_id: &str,
        target: &str,
    ) -> Result<Option<DeploymentView>, RegistryError> {
        Ok(self
            .deployments(tenant, connector_id)
            .await?
            .items
            .into_iter()
            .find(|d| d.target == target))
    }

    /// Removes a deployment.
    pub async fn undeploy(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        target: &str,
    ) -> Result<(), RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        let mut tx = self.store.begin(Rows::Tenant(tenant)).await?;
        if !self
            .store
            .lock_connector(&mut tx, tenant, &connector.id)
            .await?
        {
            return Err(RegistryError::NotFound(format!(
                "no connector `{connector_id}`"
            )));
        }
        // A connector deployed before baselines were kept gets its baseline now,
        // before what stands in for it goes.
        Self::baseline_in(&mut tx, &connector.id).await?;
        if !Store::delete_deployment(&mut tx, &connector.id, target).await? {
            return Err(RegistryError::NotFound(format!(
                "no deployment to target `{target}`"
            )));
        }
        self.commit_audited(
            tx,
            audit_entry(
                tenant,
                actor,
                "deployment.remove",
                &connector.id,
                serde_json::json!({ "target": target }),
            ),
        )
        .await
    }

    /// The deployments of a connector.
    pub async fn deployments(
        &self,
        tenant: &str,
        connector_id: &str,
    ) -> Result<Items<DeploymentView>, RegistryError> {
        self.connector(tenant, connector_id).await?;
        let rows = self.store.deployments(tenant, connector_id).await?;
        let last = self.store.last_polls(tenant, connector_id).await?;
        Ok(Items {
            items: rows
                .iter()
                .map(|d| DeploymentView::of(d, last.iter().find(|p| p.target == d.target)))
                .collect(),
        })
    }

    /// What a call of `deployment` may use beyond its manifest: the granted hosts and
    /// networks, and its secrets, decrypted only now, for the runtime to inject.
    pub(super) fn grants(&self, deployment: &DeploymentRow) -> Result<Grants, RegistryError> {
        let secrets = match &deployment.secrets {
            Some(sealed) => {
                let plain = self.keys.open(sealed).map_err(internal)?;
                let value: serde_json::Map<String, Value> =
                    serde_json::from_slice(&plain).map_err(internal)?;
                value
                    .into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => (k, s),
                        other => (k, other.to_string()),
                    })
                    .collect()
            }
            None => Default::default(),
        };
        Ok(Grants {
            outbound_hosts: serde_json::from_str(&deployment.allowed_hosts).unwrap_or_default(),
            private_networks: serde_json::from_str::<Vec<String>>(&deployment.allowed_networks)
                .unwrap_or_default()
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
            secrets,
        })
    }
}

/// What [`Registry::write`] writes.
enum Write<'a> {
    /// A deploy of a version asking for `asks`, based on the target running
    /// `running` (`None`: a new target).
    Deploy {
        asks: &'a CapabilityDiff,
        running: Option<&'a str>,
        may_approve: bool,
        stale_after_ms: Option<i64>,
        /// `secrets` was not given: the target keeps the secrets it has when the
        /// write commits, if they fit this secrets schema.
        keep_secrets: Option<&'a Value>,
    },
    /// The approval of the held upgrade `held` (its JSON text, as read).
    Approve {
        asks: &'a CapabilityDiff,
        held: &'a str,
        /// As for a deploy: the upgrade was requested without `secrets`.
        keep_secrets: Option<&'a Value>,
    },
}

/// An upgrade held for approval, as stored with its deployment: the whole
/// requested change, so approving applies exactly what was asked.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub(super) struct HeldUpgrade {
    version: String,
    from_version: String,
    config: String,
    /// The sealed secrets, base64.
    secrets: Option<String>,
    /// Requested without `secrets`: approving keeps the secrets the target has
    /// then (never a copy taken when the upgrade was held).
    #[serde(default)]
    keep_secrets: bool,
    allowed_hosts: String,
    allowed_networks: String,
    limits: String,
    schedule: Option<String>,
    stale_after_ms: Option<i64>,
    asks_for: CapabilityDiff,
    requested_by: String,
    requested_ms: i64,
    /// The audit detail of the requested change.
    detail: Value,
}

impl HeldUpgrade {
    /// The held upgrade stored as `text`, as the APIs show it (`None` if the text
    /// is unreadable).
    pub(super) fn view_of(text: &str) -> Option<HeldUpgradeView> {
        serde_json::from_str::<HeldUpgrade>(text)
            .ok()
            .map(|h| h.view())
    }

    fn view(&self) -> HeldUpgradeView {
        HeldUpgradeView {
            version: self.version.clone(),
            running_version: self.from_version.clone(),
            asks_for: self.asks_for.clone(),
            config: serde_json::from_str(&self.config).unwrap_or(Value::Null),
            has_secrets: self.secrets.is_some() || self.keep_secrets,
            allowed_hosts: serde_json::from_str(&self.allowed_hosts).unwrap_or_default(),
            allowed_networks: serde_json::from_str(&self.allowed_networks).unwrap_or_default(),
            limits: serde_json::from_str(&self.limits).unwrap_or_default(),
            schedule: self.schedule.clone(),
            stale_after: self.stale_after_ms.map(super::views::duration_text),
            requested_by: self.requested_by.clone(),
            requested_at: rfc3339(self.requested_ms),
        }
    }
}
