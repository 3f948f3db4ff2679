//! The mutation root: the registry's lifecycle operations, each the same registry
//! call its REST route makes, under the same scope.

use async_graphql::{Context, ID, InputObject, Object, Upload};
use serde_json::{Map, Value};

use super::query::Connector;
use super::{Needs, OrGraphql as _, who};
use crate::api::ApiError;
use crate::auth::Scope;
use crate::registry::{
    Deployment, DeploymentView, Invocation, PollRecord, Registered, Registration, Rotated, Uploaded,
};

/// The mutation root.
#[derive(Debug, Default)]
pub struct Mutation;

/// What to deploy where (the body of `POST /api/connectors/{id}/deployments`).
#[derive(Debug, InputObject)]
pub struct DeployInput {
    /// The version to deploy.
    pub version: String,
    /// The target's name; `default` when absent.
    pub target: Option<String>,
    /// The config, validated against the version's config schema; `{}` when absent.
    pub config: Option<Value>,
    /// Secrets, validated against the secrets schema, stored sealed, never shown.
    /// Absent, an existing target keeps its secrets; `null` removes them.
    pub secrets: async_graphql::MaybeUndefined<Value>,
    /// Outbound host patterns granted (each declared by the manifest, or a concrete
    /// origin a declared pattern covers).
    pub allowed_hosts: Option<Vec<String>>,
    /// Non-public networks (CIDR) the deployment may reach.
    pub allowed_networks: Option<Vec<String>>,
    /// Changes to the default call limits (`{"timeout_ms": …, …}` as in REST).
    pub limits: Option<Value>,
    /// `every N{s|m|h}`: the server polls the deployment on that schedule.
    pub schedule: Option<String>,
    /// `N{s|m|h}`: how long the upstream may be silent before the status says so.
    pub stale_after: Option<String>,
}

impl DeployInput {
    /// The REST body this input stands for, read by the same rules.
    fn into_deployment(self) -> Result<Deployment, ApiError> {
        let mut body = Map::new();
        body.insert("version".into(), self.version.into());
        let mut put = |key: &str, v: Option<Value>| {
            if let Some(v) = v {
                body.insert(key.into(), v);
            }
        };
        put("target", self.target.map(Value::from));
        put("config", self.config);
        match self.secrets {
            async_graphql::MaybeUndefined::Undefined => {}
            async_graphql::MaybeUndefined::Null => put("secrets", Some(Value::Null)),
            async_graphql::MaybeUndefined::Value(v) => put("secrets", Some(v)),
        }
        put("allowed_hosts", self.allowed_hosts.map(Value::from));
        put("allowed_networks", self.allowed_networks.map(Value::from));
        put("limits", self.limits);
        put("schedule", self.schedule.map(Value::from));
        put("stale_after", self.stale_after.map(Value::from));
        serde_json::from_value(Value::Object(body))
            .map_err(|e| ApiError::bad_request("invalid_json", &format!("the deployment: {e}")))
    }
}

#[Object]
impl Mutation {
    /// Registers a connector. A push connector's credential is in the answer, this
    /// once only.
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn register_connector(
        &self,
        ctx: &Context<'_>,
        input: Registration,
    ) -> async_graphql::Result<Registered> {
        let (p, s) = who(ctx)?;
        s.registry
            .register(&p.tenant_id, &p.client_id, input)
            .await
            .gql()
    }

    /// Uploads a version: `component` is the `.wasm` file, sent as a multipart
    /// request (the GraphQL multipart request spec).
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn upload_version(
        &self,
        ctx: &Context<'_>,
        connector: ID,
        component: Upload,
    ) -> async_graphql::Result<Uploaded> {
        let (p, s) = who(ctx)?;
        // A foreign or unknown id answers not_found whatever the file.
        s.registry.connector(&p.tenant_id, &connector).await.gql()?;
        let file = component.value(ctx).map_err(|e| {
            ApiError::bad_request("invalid_graphql_request", &format!("the upload: {e}"))
                .into_graphql()
        })?;
        s.registry
            .upload(
                &p.tenant_id,
                &p.client_id,
                &connector,
                file.content.to_vec(),
            )
            .await
            .gql()
    }

    /// Deploys a version to a target (or changes the target's deployment).
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn deploy(
        &self,
        ctx: &Context<'_>,
        connector: ID,
        input: DeployInput,
    ) -> async_graphql::Result<DeploymentView> {
        let (p, s) = who(ctx)?;
        s.registry.connector(&p.tenant_id, &connector).await.gql()?;
        let deployment = input.into_deployment().map_err(ApiError::into_graphql)?;
        s.registry
            .deploy(
                &p.tenant_id,
                &p.client_id,
                &connector,
                deployment,
                p.has(Scope::ConnectorsApprove),
            )
            .await
            .gql()
    }

    /// Applies the upgrade held for approval on a target (`heldUpgrade` on the
    /// deployment says what it asks for); needs `connectors:approve`.
    #[graphql(guard = "Needs(Scope::ConnectorsApprove)")]
    async fn approve_deployment(
        &self,
        ctx: &Context<'_>,
        connector: ID,
        target: String,
        #[graphql(desc = "The held upgrade's `requestedAt` as read: approve only that request")]
        requested_at: Option<String>,
    ) -> async_graphql::Result<DeploymentView> {
        let (p, s) = who(ctx)?;
        s.registry
            .approve(
                &p.tenant_id,
                &p.client_id,
                &connector,
                &target,
                requested_at.as_deref(),
            )
            .await
            .gql()
    }

    /// Removes a target's deployment; `true` once it is gone.
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn undeploy(
        &self,
        ctx: &Context<'_>,
        connector: ID,
        target: String,
    ) -> async_graphql::Result<bool> {
        let (p, s) = who(ctx)?;
        s.registry
            .undeploy(&p.tenant_id, &p.client_id, &connector, &target)
            .await
            .gql()?;
        Ok(true)
    }

    /// Runs one poll of a deployment now.
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn poll_now(
        &self,
        ctx: &Context<'_>,
        connector: ID,
        target: String,
    ) -> async_graphql::Result<PollRecord> {
        let (p, s) = who(ctx)?;
        s.registry
            .poll_now(&p.tenant_id, &p.client_id, &connector, &target)
            .await
            .gql()
    }

    /// Disables a connector (a reason is required); only an enable undoes it.
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn disable_connector(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<Connector> {
        let (p, s) = who(ctx)?;
        let view = s
            .registry
            .set_enabled(&p.tenant_id, &p.client_id, &id, Some(&reason))
            .await
            .gql()?;
        Ok(Connector::lazy(view))
    }

    /// Enables a disabled connector.
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn enable_connector(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Connector> {
        let (p, s) = who(ctx)?;
        let view = s
            .registry
            .set_enabled(&p.tenant_id, &p.client_id, &id, None)
            .await
            .gql()?;
        Ok(Connector::lazy(view))
    }

    /// Issues a push connector a new credential, shown this once; the previous one
    /// stays valid for the grace window. An `rsa` connector passes its new public
    /// key.
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn rotate_credentials(
        &self,
        ctx: &Context<'_>,
        id: ID,
        public_key: Option<String>,
    ) -> async_graphql::Result<Rotated> {
        let (p, s) = who(ctx)?;
        s.registry
            .rotate_credential(&p.tenant_id, &p.client_id, &id, public_key.as_deref())
            .await
            .gql()
    }

    /// Records an external heartbeat (`status`: `ok` or `error`); `true` once
    /// accepted.
    #[graphql(guard = "Needs(Scope::ConnectorHeartbeat)")]
    async fn record_heartbeat(
        &self,
        ctx: &Context<'_>,
        id: ID,
        latency_ms: Option<f64>,
        status: Option<String>,
        detail: Option<String>,
    ) -> async_graphql::Result<bool> {
        let (p, s) = who(ctx)?;
        s.registry
            .heartbeat(&p.tenant_id, &id, latency_ms, status.as_deref(), detail)
            .await
            .gql()?;
        Ok(true)
    }

    /// Invokes an action of a deployed connector with `input` (`{}` when absent);
    /// answers after its outputs are durable.
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn invoke_action(
        &self,
        ctx: &Context<'_>,
        id: ID,
        action: String,
        input: Option<Value>,
        target: Option<String>,
    ) -> async_graphql::Result<Invocation> {
        let (p, s) = who(ctx)?;
        let input = input.unwrap_or_else(|| Value::Object(Map::new()));
        s.registry
            .invoke(&p.tenant_id, &id, &action, target.as_deref(), input)
            .await
            .gql()
    }

    /// Deletes a connector; one that is deployed only with `force`. Its events and
    /// audit rows stay. `true` once it is gone.
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn delete_connector(
        &self,
        ctx: &Context<'_>,
        id: ID,
        force: Option<bool>,
    ) -> async_graphql::Result<bool> {
        let (p, s) = who(ctx)?;
        s.registry
            .delete_connector(&p.tenant_id, &p.client_id, &id, force.unwrap_or(false))
            .await
            .gql()?;
        Ok(true)
    }

    /// Deletes a version no deployment uses; `true` once it is gone.
    #[graphql(guard = "Needs(Scope::ConnectorsManage)")]
    async fn delete_version(
        &self,
        ctx: &Context<'_>,
        connector: ID,
        version: String,
    ) -> async_graphql::Result<bool> {
        let (p, s) = who(ctx)?;
        s.registry
            .delete_version(&p.tenant_id, &p.client_id, &connector, &version)
            .await
            .gql()?;
        Ok(true)
    }
}
