//! Versions: uploading a component (load → manifest checks → store), loading stored
//! ones back (compiled once per node, by digest), and preloading a directory at
//! start-up.

use std::sync::Arc;

use serde_json::Value;

use super::checks::{backticked, unprocessable};
use super::deployments::Deployment;
use super::gate::{self, CapabilityDiff};
use super::views::{UpgradeNeedsApproval, Uploaded};
use super::{FieldError, Registration, Registry, RegistryError, audit_entry, internal};
use crate::runtime::{Component, LoadError, ManifestJson};
use crate::store::{ConnectorRow, Rows, Store, StoreError, VersionRow};
use crate::time::now_ms;

impl Registry {
    /// Compiles and describes `bytes` on the blocking pool; hands the bytes back.
    async fn load_blocking(&self, bytes: Vec<u8>) -> Result<(Component, Vec<u8>), RegistryError> {
        self.load_blocking_as(bytes, false).await
    }

    /// [`Registry::load_blocking`]; `stored` skips the manifest's bounds (see
    /// `Runtime::load_stored`).
    async fn load_blocking_as(
        &self,
        bytes: Vec<u8>,
        stored: bool,
    ) -> Result<(Component, Vec<u8>), RegistryError> {
        let runtime = self.runtime.clone();
        let (component, bytes) = tokio::task::spawn_blocking(move || {
            let loaded = if stored {
                runtime.load_stored(&bytes)
            } else {
                runtime.load(&bytes)
            };
            (loaded, bytes)
        })
        .await
        .map_err(internal)?;
        match component {
            Ok(c) => Ok((c, bytes)),
            Err(LoadError::InvalidManifest(problems)) => {
                Err(refused(gate::load_findings(&problems)))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn remember(&self, component: Component) -> Result<Arc<Component>, RegistryError> {
        let component = Arc::new(component);
        self.components
            .lock()
            .map_err(internal)?
            .insert(component.digest.clone(), component.clone());
        Ok(component)
    }

    /// The loaded component of `digest`, compiled from the stored bytes on first use.
    pub(super) async fn component(&self, digest: &str) -> Result<Arc<Component>, RegistryError> {
        if let Some(c) = self.components.lock().map_err(internal)?.get(digest) {
            return Ok(c.clone());
        }
        let bytes = self
            .store
            .component_bytes(digest)
            .await?
            .ok_or_else(|| RegistryError::Internal(format!("component {digest} is missing")))?;
        let (component, _) = self.load_blocking_as(bytes, true).await?;
        self.remember(component)
    }

    /// The digest of a stored version of a connector of `tenant`.
    pub(super) async fn digest(
        &self,
        tenant: &str,
        connector_id: &str,
        version: &str,
    ) -> Result<String, RegistryError> {
        let key = (connector_id.to_string(), version.to_string());
        if let Some(d) = self.digests.lock().map_err(internal)?.get(&key) {
            return Ok(d.clone());
        }
        let digest = self
            .store
            .versions(tenant, connector_id)
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .map(|v| v.digest)
            .ok_or_else(|| {
                RegistryError::Internal("a deployment names a missing version".into())
            })?;
        self.digests
            .lock()
            .map_err(internal)?
            .insert(key, digest.clone());
        Ok(digest)
    }

    /// A stored version and its manifest, if it was uploaded.
    pub(super) async fn version(
        &self,
        tenant: &str,
        connector_id: &str,
        version: &str,
    ) -> Result<Option<(VersionRow, ManifestJson)>, RegistryError> {
        let v = self
            .store
            .versions(tenant, connector_id)
            .await?
            .into_iter()
            .find(|v| v.version == version);
        match v {
            Some(v) => {
                let m: ManifestJson = serde_json::from_str(&v.manifest).map_err(internal)?;
                Ok(Some((v, m)))
            }
            None => Ok(None),
        }
    }

    /// Loads, checks and stores a new version of a connector.
    pub async fn upload(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        bytes: Vec<u8>,
    ) -> Result<Uploaded, RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        let (component, bytes) = self.load_blocking(bytes).await?;
        self.store_version(tenant, actor, &connector, component, &bytes)
            .await
    }

    async fn store_version(
        &self,
        tenant: &str,
        actor: &str,
        connector: &ConnectorRow,
        component: Component,
        bytes: &[u8],
    ) -> Result<Uploaded, RegistryError> {
        check_manifest(&component, connector)?;
        let manifest = component.manifest_json();
        let version = VersionRow {
            connector_id: connector.id.clone(),
            version: manifest.version.clone(),
            digest: component.digest.clone(),
            manifest: serde_json::to_string(&manifest).map_err(internal)?,
            created_ms: now_ms(),
        };
        let mut tx = self.store.begin(Rows::Tenant(tenant)).await?;
        if !self
            .store
            .lock_connector(&mut tx, tenant, &connector.id)
            .await?
        {
            return Err(RegistryError::NotFound(format!(
                "no connector `{}`",
                connector.id
            )));
        }
        // A deleted version's number stays bound to what it was: the same
        // component may come back, another may not (a node's memory of
        // (connector, version) → digest is then never wrong).
        if let Some(was) =
            Store::retired_version_digest(&mut tx, &connector.id, &version.version).await?
            && was != version.digest
        {
            return Err(RegistryError::Conflict {
                code: "version_retired",
                message: format!(
                    "version {} of this connector was deleted, and a version number is never \
                     reused for another component; bump the manifest's version",
                    version.version
                ),
            });
        }
        Store::put_component(&mut tx, &component.digest, bytes).await?;
        Store::insert_version(&mut tx, &version)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(what) => RegistryError::Conflict {
                    code: "version_exists",
                    message: format!(
                        "{what} of this connector was already uploaded; bump the manifest's version"
                    ),
                },
                e => e.into(),
            })?;
        let detail = serde_json::json!({"version": version.version, "digest": version.digest,
            "size": bytes.len()});
        self.commit_audited(
            tx,
            audit_entry(tenant, actor, "connector.upload", &connector.id, detail),
        )
        .await?;
        self.remember(component)?;
        let upgrade_needs_approval = self
            .upgrades_needing_approval(tenant, &connector.id, &manifest)
            .await?;
        Ok(Uploaded {
            version: version.version,
            digest: version.digest,
            manifest,
            upgrade_needs_approval,
        })
    }

    /// The deployments that moving to `new` would hold for approval, with what it
    /// asks for beyond what the connector is approved for.
    async fn upgrades_needing_approval(
        &self,
        tenant: &str,
        connector_id: &str,
        new: &ManifestJson,
    ) -> Result<Vec<UpgradeNeedsApproval>, RegistryError> {
        let deployed = self.store.deployments(tenant, connector_id).await?;
        let Some(baseline) = self.approved_asks(tenant, connector_id).await? else {
            return Ok(Vec::new());
        };
        let asks_for = CapabilityDiff::of(new).minus(&baseline);
        if asks_for.is_empty() {
            return Ok(Vec::new());
        }
        Ok(deployed
            .into_iter()
            .filter(|d| d.version != new.version)
            .map(|d| UpgradeNeedsApproval {
                target: d.target,
                deployed_version: d.version,
                asks_for: asks_for.clone(),
            })
            .collect())
    }

    /// Deletes a version no deployment runs (409 `version_deployed` otherwise);
    /// audited. Its number stays bound to its component (see
    /// [`Store::delete_version`]).
    pub async fn delete_version(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        version: &str,
    ) -> Result<(), RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        let mut tx = self.store.begin(Rows::Tenant(tenant)).await?;
        // Checked under the connector's lock: no deploy can pick it meanwhile.
        if !self
            .store
            .lock_connector(&mut tx, tenant, &connector.id)
            .await?
        {
            return Err(RegistryError::NotFound(format!(
                "no connector `{connector_id}`"
            )));
        }
        let mut targets: Vec<String> = Store::deployment_targets(&mut tx, &connector.id)
            .await?
            .into_iter()
            .filter(|(_, v)| v == version)
            .map(|(t, _)| t)
            .collect();
        // A version an upgrade waits to run is as good as deployed there.
        for (target, held) in Store::held_upgrades_in(&mut tx, &connector.id).await? {
            if serde_json::from_str::<Value>(&held)
                .is_ok_and(|h| h["version"].as_str() == Some(version))
            {
                targets.push(target);
            }
        }
        if !targets.is_empty() {
            return Err(RegistryError::Conflict {
                code: "version_deployed",
                message: format!(
                    "version {} is deployed (or waits for approval) to {}; deploy another \
                     version there or undeploy it first",
                    crate::text::bounded(version, 100),
                    backticked(&targets)
                ),
            });
        }
        if !Store::delete_version(&mut tx, &connector.id, version).await? {
            return Err(RegistryError::NotFound(format!(
                "this connector has no version `{}`",
                crate::text::bounded(version, 100)
            )));
        }
        let detail = serde_json::json!({ "version": version });
        self.commit_audited(
            tx,
            audit_entry(
                tenant,
                actor,
                "connector.version.delete",
                &connector.id,
                detail,
            ),
        )
        .await
    }

    /// Loads a component into `tenant` at start-up: registers a connector named after
    /// the manifest's id if there is none, stores the version unless present, and
    /// deploys it to `default` if nothing is deployed and its config schema accepts
    /// `{}`. Returns what it did, as a sentence.
    pub async fn preload(&self, tenant: &str, bytes: Vec<u8>) -> Result<String, RegistryError> {
        const ACTOR: &str = "preload";
        let (component, bytes) = self.load_blocking(bytes).await?;
        let m = component.manifest_json();
        let mut done = Vec::new();
        let connector = match self.store.connector_by_name(tenant, &m.id).await? {
            Some(c) => c,
            None => {
                let registered = self
                    .register(
                        tenant,
                        ACTOR,
                        Registration {
                            name: m.id.clone(),
                            category: m.category.clone(),
                            description: Some(m.description.clone()),
                            webhook_url: None,
                            auth_method: None,
                            output_standard: m.output_standards.first().cloned(),
                            public_key: None,
                        },
                    )
                    .await?;
                done.push(format!("registered {}", m.id));
                self.connector(tenant, &registered.view.id).await?
            }
        };
        let versions = self.store.versions(tenant, &connector.id).await?;
        match versions.iter().find(|v| v.version == m.version) {
            None => {
                self.store_version(tenant, ACTOR, &connector, component, &bytes)
                    .await?;
                done.push(format!("stored version {}", m.version));
            }
            Some(v) if v.digest != component.digest => done.push(format!(
                "NOT stored: version {} is already stored with other bytes (digest {}); \
                 bump the manifest's version to load this build",
                m.version, v.digest
            )),
            // Already stored: keep the compiled component for the first invoke.
            Some(_) => {
                self.remember(component)?;
            }
        }
        if self
            .store
            .deployments(tenant, &connector.id)
            .await?
            .is_empty()
        {
            let deployed = self
                // The operator's own preload: its deploy is the approval.
                .deploy(
                    tenant,
                    ACTOR,
                    &connector.id,
                    Deployment::of(&m.version),
                    true,
                )
                .await;
            match deployed {
                Ok(_) => done.push("deployed to `default`".into()),
                Err(RegistryError::Unprocessable { .. }) => {
                    done.push("not deployed: its config needs values".into())
                }
                Err(e) => return Err(e),
            }
        }
        Ok(if done.is_empty() {
            format!("{} {} was already loaded", m.id, m.version)
        } else {
            format!("{}: {}", m.id, done.join(", "))
        })
    }
}

/// The upload quality gate ([`gate`]) on a freshly loaded component, plus the one
/// rule only an upload has: its category is the registered connector's.
fn check_manifest(component: &Component, connector: &ConnectorRow) -> Result<(), RegistryError> {
    let m = component.manifest_json();
    let mut found = gate::check(&m, component.sample_output());
    if m.category != connector.category {
        found.push(gate::GateFinding {
            rule: gate::CATEGORY_MATCHES,
            path: "/category".into(),
            message: format!(
                "the manifest's category `{}` differs from the connector's `{}`",
                m.category, connector.category
            ),
        });
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(refused(found))
    }
}

/// 422 `invalid_manifest` listing the gate's findings, each with its rule.
fn refused(found: Vec<gate::GateFinding>) -> RegistryError {
    unprocessable(
        "invalid_manifest",
        "the component's manifest",
        found
            .into_iter()
            .map(|f| FieldError {
                rule: Some(f.rule),
                path: f.path,
                message: f.message,
            })
            .collect(),
    )
}
