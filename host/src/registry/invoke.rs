//! Invoking a connector's action: the deployment chosen, the input checked against
//! the action's schema, one guest call, the outputs screened, published and
//! quarantined in one transaction before the answer.

use std::sync::Arc;

use serde_json::Value;

use super::calls::Call;
use super::checks::{compile_schema, schema_errors, unprocessable};
use super::outputs::{self, Screened};
use super::views::{Invocation, LogView, OutputView, QuarantinedOutput};
use super::{Registry, RegistryError, internal};
use crate::time::now_ms;

impl Registry {
    /// Invokes `action` on the connector's deployment to `target` (or its only one).
    pub async fn invoke(
        &self,
        tenant: &str,
        connector_id: &str,
        action: &str,
        target: Option<&str>,
        input: Value,
    ) -> Result<Invocation, RegistryError> {
        let found = self.connector_and_deployments(tenant, connector_id).await?;
        let (connector, deployments) = (&found.0, found.1.iter());
        if let Some(reason) = &connector.disabled_reason {
            return Err(RegistryError::Conflict {
                code: "connector_disabled",
                message: format!("the connector is disabled: {reason}"),
            });
        }
        let deployment = match target {
            Some(t) => deployments
                .clone()
                .find(|d| d.target == t)
                .ok_or_else(|| RegistryError::NotFound(format!("no deployment to target `{t}`")))?,
            None => {
                let mut it = deployments.clone();
                match (it.next(), it.next()) {
                    (Some(d), None) => d,
                    (None, _) => {
                        return Err(RegistryError::Conflict {
                            code: "not_deployed",
                            message: "the connector has no deployment; deploy a version first"
                                .into(),
                        });
                    }
                    (Some(_), Some(_)) => {
                        return Err(RegistryError::BadRequest {
                            code: "target_required",
                            message:
                                "the connector has several deployments; name one with ?target="
                                    .into(),
                        });
                    }
                }
            }
        };
        let digest = self
            .digest(tenant, connector_id, &deployment.version)
            .await?;
        let component = self.component(&digest).await?;
        let Some(declared) = component.manifest.actions.iter().find(|a| a.name == action) else {
            return Err(RegistryError::NotFound(format!(
                "the connector has no action `{action}` (it has: {})",
                component
                    .manifest
                    .actions
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let validator = self.input_validator(&digest, action, &declared.input_schema)?;
        let errors = schema_errors(&validator, &input);
        if !errors.is_empty() {
            return Err(unprocessable("invalid_input", "the input", errors));
        }
        let call_id = crate::store::row_id();
        let call = Call::Invoke {
            action: action.to_string(),
            input: input.to_string(),
        };
        let ran = self
            .run(tenant, connector_id, deployment, component, call, &call_id)
            .await?;
        match ran.result {
            Ok((done, screened)) => {
                let source = outputs::Source {
                    kind: "call",
                    id: &call_id,
                    tenant,
                    connector: connector_id,
                };
                let quarantined = self.record_outputs(source, &screened).await?;
                Ok(Invocation {
                    call_id,
                    target: deployment.target.clone(),
                    version: deployment.version.clone(),
                    outputs: screened
                        .passed
                        .iter()
                        .map(|(_, o)| OutputView::of(o))
                        .collect(),
                    quarantined,
                    logs: done.captured.logs.iter().map(LogView::of).collect(),
                    latency_ms: ran.latency_ms,
                })
            }
            Err(error) => Err(RegistryError::Call { error, call_id }),
        }
    }

    /// Publishes a call's valid outputs and quarantines its invalid ones in one
    /// transaction; returns what the invoke answer shows of the quarantined.
    async fn record_outputs(
        &self,
        source: outputs::Source<'_>,
        screened: &Screened,
    ) -> Result<Vec<QuarantinedOutput>, RegistryError> {
        let rows = outputs::rows(&self.topics, source, screened, now_ms());
        let published = rows.messages.len() as u64;
        self.committer
            .commit(rows.messages, rows.quarantine)
            .await
            .map_err(RegistryError::Internal)?;
        self.metrics.published(published);
        outputs::count_quarantined(&self.metrics, &rows.shown);
        Ok(rows.shown)
    }

    /// The compiled input schema of `action` of the component `digest`.
    fn input_validator(
        &self,
        digest: &str,
        action: &str,
        schema: &str,
    ) -> Result<Arc<jsonschema::Validator>, RegistryError> {
        let key = (digest.to_string(), action.to_string());
        let mut cache = self.inputs.lock().map_err(internal)?;
        if let Some(v) = cache.get(&key) {
            return Ok(v.clone());
        }
        let schema: Value = serde_json::from_str(schema).map_err(internal)?;
        let v = Arc::new(compile_schema(&schema).map_err(internal)?);
        cache.insert(key, v.clone());
        Ok(v)
    }
}
