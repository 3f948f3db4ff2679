//! `/api/connectors/…`, `/api/registry/summary`, `/api/sdk/manifest`, `/api/audit`.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::{
    ApiError, AppState, Approve, AuditRead, Authed, EventsRead, Heartbeat, JsonBody, Manage,
    QueryArgs, Read,
};
use crate::registry::{
    AuditPage, ConnectorDetail, ConnectorPage, ConnectorView, Deployment, DeploymentView,
    EventStatusView, Heartbeats, Invocation, Items, ListQuery, PollRecord, QuarantinePage,
    Registered, Registration, Rotated, SdkManifest, Summary, Uploaded,
};
use crate::runtime::MAX_COMPONENT_BYTES;

type ApiResult<T> = Result<T, ApiError>;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/registry/summary", get(summary))
        .route("/api/sdk/manifest", get(sdk_manifest))
        .route("/api/audit", get(audit))
        .route("/api/connectors/register", post(register))
        .route("/api/connectors", get(list))
        .route(
            "/api/connectors/{id}",
            get(get_one).delete(delete_connector),
        )
        .route(
            "/api/connectors/{id}/versions",
            // One byte over the cap reaches the loader, which answers 413 with the cap.
            post(upload).layer(DefaultBodyLimit::max(MAX_COMPONENT_BYTES + 1)),
        )
        .route(
            "/api/connectors/{id}/versions/{version}",
            delete(delete_version),
        )
        .route(
            "/api/connectors/{id}/deployments",
            get(deployments).post(deploy),
        )
        .route(
            "/api/connectors/{id}/deployments/{target}",
            delete(undeploy),
        )
        .route(
            "/api/connectors/{id}/deployments/{target}/poll",
            post(poll_now),
        )
        .route(
            "/api/connectors/{id}/deployments/{target}/approve",
            post(approve),
        )
        .route(
            "/api/connectors/{id}/deployments/{target}/polls",
            get(polls),
        )
        .route("/api/connectors/{id}/invoke/{action}", post(invoke))
        .route("/api/connectors/{id}/heartbeat", post(heartbeat))
        .route("/api/connectors/{id}/heartbeats", get(heartbeats))
        .route("/api/connectors/{id}/quarantine", get(quarantine))
        .route("/api/connectors/{id}/events/{event_id}", get(event_status))
        .route(
            "/api/connectors/{id}/credentials/rotate",
            post(rotate_credentials),
        )
        .route("/api/connectors/{id}/disable", post(disable))
        .route("/api/connectors/{id}/enable", post(enable))
}

#[utoipa::path(post, path = "/api/connectors/register", tag = "connectors", operation_id = "registerConnector", security(("oauth2" = ["connectors:manage"])),
    request_body = crate::registry::Registration,
    responses((status = 201, description = "Registered; a push connector's credential is shown this once", body = Registered),
              (status = 409, description = "The name is taken in this tenant", body = super::openapi::ErrorBody),
              (status = 422, description = "A field is not acceptable (`details` names it)", body = super::openapi::ErrorBody)))]
async fn register(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    JsonBody(r): JsonBody<Registration>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    let p = &auth.principal;
    let registered = s.registry.register(&p.tenant_id, &p.client_id, r).await?;
    Ok((StatusCode::CREATED, Json(registered)))
}

/// The optional body of a rotation: an `rsa` connector's new public key.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Rotation {
    public_key: Option<String>,
}

#[utoipa::path(post, path = "/api/connectors/{id}/credentials/rotate", tag = "connectors", operation_id = "rotateCredentials", security(("oauth2" = ["connectors:manage"])),
    params(("id" = String, Path, description = "The connector's id")), request_body(content = Option<Rotation>, description = "Empty, or an `rsa` connector's new public key", content_type = "application/json"),
    responses((status = 200, description = "The new credential, shown this once", body = Rotated),
              (status = 400, description = "A malformed body or key", body = super::openapi::ErrorBody),
              (status = 409, description = "Not a push connector", body = super::openapi::ErrorBody),
              (status = 422, description = "The key is not acceptable", body = super::openapi::ErrorBody)))]
async fn rotate_credentials(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Rotated>> {
    let p = &auth.principal;
    let rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation { public_key: None }
    } else {
        serde_json::from_slice::<Rotation>(&body).map_err(|e| {
            ApiError::bad_request("invalid_json", &format!("the rotation body: {e}"))
        })?
    };
    let rotated = s
        .registry
        .rotate_credential(
            &p.tenant_id,
            &p.client_id,
            &id,
            rotation.public_key.as_deref(),
        )
        .await?;
    Ok(Json(rotated))
}

#[utoipa::path(get, path = "/api/connectors", tag = "connectors", operation_id = "listConnectors", security(("oauth2" = ["connectors:read"])),
    params(("category" = Option<String>, Query, description = "Only this category"),
           ("status" = Option<String>, Query, description = "Only this status"),
           ("capability" = Option<String>, Query, description = "Only connectors declaring this capability"),
           ("output_standard" = Option<String>, Query, description = "Only connectors declaring this standard"),
           ("search" = Option<String>, Query, description = "Name or description holds this text (any case)"),
           ("limit" = Option<usize>, Query, description = "Page size, 1–200 (default 50)"),
           ("offset" = Option<usize>, Query, description = "Items to skip")),
    responses((status = 200, description = "A page of the catalogue", body = ConnectorPage),
              (status = 400, description = "A bad query parameter", body = super::openapi::ErrorBody)))]
async fn list(
    auth: Authed<Read>,
    State(s): State<AppState>,
    QueryArgs(q): QueryArgs<ListQuery>,
) -> ApiResult<Json<ConnectorPage>> {
    Ok(Json(s.registry.list(&auth.principal.tenant_id, &q).await?))
}

#[utoipa::path(get, path = "/api/connectors/{id}", tag = "connectors", operation_id = "getConnector", security(("oauth2" = ["connectors:read"])), params(("id" = String, Path, description = "The connector's id")),
    responses((status = 200, description = "The connector with its versions, deployments and recent heartbeats", body = ConnectorDetail)))]
async fn get_one(
    auth: Authed<Read>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ConnectorDetail>> {
    Ok(Json(s.registry.get(&auth.principal.tenant_id, &id).await?))
}

#[utoipa::path(post, path = "/api/connectors/{id}/versions", tag = "connectors", operation_id = "uploadVersion", security(("oauth2" = ["connectors:manage"])), params(("id" = String, Path, description = "The connector's id")),
    request_body(content = Vec<u8>, content_type = "application/wasm", description = "The component"),
    responses((status = 201, description = "The version and its manifest", body = Uploaded),
              (status = 409, description = "That version exists already", body = super::openapi::ErrorBody),
              (status = 413, description = "Over the component size limit", body = super::openapi::ErrorBody),
              (status = 415, description = "Not `application/wasm`", body = super::openapi::ErrorBody),
              (status = 422, description = "Not a component of a supported contract, or its manifest is refused", body = super::openapi::ErrorBody)))]
async fn upload(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Uploaded>)> {
    let p = &auth.principal;
    // A foreign or unknown id answers 404 whatever the body.
    s.registry.connector(&p.tenant_id, &id).await?;
    let content_type = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != "application/wasm" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "upload the component as the body with `Content-Type: application/wasm`",
        ));
    }
    super::reject_declared_oversize(req.headers(), MAX_COMPONENT_BYTES)?;
    let bytes = Bytes::from_request(req, &s)
        .await
        .map_err(super::body_rejection)?;
    let out = s
        .registry
        .upload(&p.tenant_id, &p.client_id, &id, bytes.to_vec())
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[utoipa::path(get, path = "/api/connectors/{id}/deployments", tag = "connectors", operation_id = "listDeployments", security(("oauth2" = ["connectors:read"])), params(("id" = String, Path, description = "The connector's id")),
    responses((status = 200, description = "Its deployments", body = Items<DeploymentView>)))]
async fn deployments(
    auth: Authed<Read>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Items<DeploymentView>>> {
    Ok(Json(
        s.registry
            .deployments(&auth.principal.tenant_id, &id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/connectors/{id}/deployments", tag = "connectors", operation_id = "deploy", security(("oauth2" = ["connectors:manage"])), params(("id" = String, Path, description = "The connector's id")),
    request_body = Deployment,
    responses((status = 201, description = "Deployed (or the target's deployment changed)", body = DeploymentView),
              (status = 202, description = "An upgrade asking for more than the connector is approved for: held for approval (`held_upgrade`); the target runs what it ran", body = DeploymentView),
              (status = 409, description = "The connector refused its config", body = super::openapi::ErrorBody),
              (status = 422, description = "Config, secrets, grants, limits or schedule refused (`details` names the field)", body = super::openapi::ErrorBody)))]
async fn deploy(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(d): JsonBody<Deployment>,
) -> ApiResult<(StatusCode, Json<DeploymentView>)> {
    let p = &auth.principal;
    let asked = d.version.clone();
    let out = s
        .registry
        .deploy(
            &p.tenant_id,
            &p.client_id,
            &id,
            d,
            p.has(crate::auth::Scope::ConnectorsApprove),
        )
        .await?;
    // Held: the target runs another version, and the one asked for waits.
    let held = out.version != asked
        && out
            .held_upgrade
            .as_ref()
            .is_some_and(|h| h.version == asked);
    let status = if held {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(out)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Force {
    force: Option<bool>,
}

#[utoipa::path(delete, path = "/api/connectors/{id}", tag = "connectors", operation_id = "deleteConnector", security(("oauth2" = ["connectors:manage"])),
    params(("id" = String, Path, description = "The connector's id"), ("force" = Option<bool>, Query, description = "Also remove its deployments")),
    responses((status = 204, description = "Deleted (its events and audit rows stay)"),
              (status = 400, description = "A bad query parameter", body = super::openapi::ErrorBody),
              (status = 409, description = "It is deployed (pass `force`)", body = super::openapi::ErrorBody)))]
async fn delete_connector(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    QueryArgs(q): QueryArgs<Force>,
) -> ApiResult<StatusCode> {
    let p = &auth.principal;
    s.registry
        .delete_connector(&p.tenant_id, &p.client_id, &id, q.force.unwrap_or(false))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/connectors/{id}/versions/{version}", tag = "connectors", operation_id = "deleteVersion", security(("oauth2" = ["connectors:manage"])),
    params(("id" = String, Path, description = "The connector's id"), ("version" = String, Path, description = "The version")),
    responses((status = 204, description = "Deleted"),
              (status = 409, description = "A deployment uses it", body = super::openapi::ErrorBody)))]
async fn delete_version(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let p = &auth.principal;
    s.registry
        .delete_version(&p.tenant_id, &p.client_id, &id, &version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/connectors/{id}/deployments/{target}", tag = "connectors", operation_id = "undeploy", security(("oauth2" = ["connectors:manage"])),
    params(("id" = String, Path, description = "The connector's id"), ("target" = String, Path, description = "The deployment target")),
    responses((status = 204, description = "Removed")))]
async fn undeploy(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path((id, target)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let p = &auth.principal;
    s.registry
        .undeploy(&p.tenant_id, &p.client_id, &id, &target)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/connectors/{id}/deployments/{target}/approve", tag = "connectors", operation_id = "approveDeployment", security(("oauth2" = ["connectors:approve"])),
    params(("id" = String, Path, description = "The connector's id"), ("target" = String, Path, description = "The deployment target"), ApproveQuery),
    responses((status = 200, description = "The held upgrade applied: the deployment now", body = DeploymentView),
              (status = 409, description = "No upgrade waits there (`nothing_held`), or it changed meanwhile", body = super::openapi::ErrorBody)))]
async fn approve(
    auth: Authed<Approve>,
    State(s): State<AppState>,
    Path((id, target)): Path<(String, String)>,
    QueryArgs(q): QueryArgs<ApproveQuery>,
) -> ApiResult<Json<DeploymentView>> {
    let p = &auth.principal;
    Ok(Json(
        s.registry
            .approve(
                &p.tenant_id,
                &p.client_id,
                &id,
                &target,
                q.requested_at.as_deref(),
            )
            .await?,
    ))
}

/// `POST …/approve`'s query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ApproveQuery {
    /// The held upgrade's `requested_at` as read: approve only that request (409
    /// `held_upgrade_changed` if another replaced it since).
    requested_at: Option<String>,
}

#[utoipa::path(post, path = "/api/connectors/{id}/deployments/{target}/poll", tag = "connectors", operation_id = "pollNow", security(("oauth2" = ["connectors:manage"])),
    params(("id" = String, Path, description = "The connector's id"), ("target" = String, Path, description = "The deployment target")),
    responses((status = 200, description = "The poll's record", body = PollRecord),
              (status = 409, description = "The connector is disabled or cannot poll", body = super::openapi::ErrorBody)))]
async fn poll_now(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path((id, target)): Path<(String, String)>,
) -> ApiResult<Json<PollRecord>> {
    let p = &auth.principal;
    Ok(Json(
        s.registry
            .poll_now(&p.tenant_id, &p.client_id, &id, &target)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/connectors/{id}/deployments/{target}/polls", tag = "connectors", operation_id = "listPolls", security(("oauth2" = ["connectors:read"])),
    params(("id" = String, Path, description = "The connector's id"), ("target" = String, Path, description = "The deployment target"), ("limit" = Option<i64>, Query, description = "At most this many (default 50)")),
    responses((status = 200, description = "Polls, newest first", body = Items<PollRecord>),
              (status = 400, description = "A bad query parameter", body = super::openapi::ErrorBody)))]
async fn polls(
    auth: Authed<Read>,
    State(s): State<AppState>,
    Path((id, target)): Path<(String, String)>,
    QueryArgs(q): QueryArgs<Limit>,
) -> ApiResult<Json<Items<PollRecord>>> {
    Ok(Json(
        s.registry
            .polls(
                &auth.principal.tenant_id,
                &id,
                &target,
                q.limit.unwrap_or(50),
            )
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvokeQuery {
    target: Option<String>,
}

#[utoipa::path(post, path = "/api/connectors/{id}/invoke/{action}", tag = "connectors", operation_id = "invokeAction", security(("oauth2" = ["connectors:manage"])),
    params(("id" = String, Path, description = "The connector's id"), ("action" = String, Path, description = "The action's name"),
           ("target" = Option<String>, Query, description = "The deployment target (the only one when absent)")),
    request_body(content = Object, description = "The action's input (`{}` when empty)", content_type = "application/json"),
    responses((status = 200, description = "The outputs (published) and those quarantined", body = Invocation),
              (status = 400, description = "Malformed input, or an action the connector does not support", body = super::openapi::ErrorBody),
              (status = 409, description = "Not deployed, disabled, or it refused its config", body = super::openapi::ErrorBody),
              (status = 413, description = "The input is over 1 MiB", body = super::openapi::ErrorBody),
              (status = 415, description = "A body that is not JSON", body = super::openapi::ErrorBody),
              (status = 422, description = "The input breaks the action's schema, or the connector refused it", body = super::openapi::ErrorBody),
              (status = 429, description = "The connector's upstream is rate limiting (`Retry-After`)", body = super::openapi::ErrorBody),
              (status = 502, description = "The connector crashed, broke the contract or its upstream failed", body = super::openapi::ErrorBody),
              (status = 503, description = "The host is busy (`Retry-After`)", body = super::openapi::ErrorBody),
              (status = 504, description = "The call ran out of time", body = super::openapi::ErrorBody)))]
async fn invoke(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    QueryArgs(q): QueryArgs<InvokeQuery>,
    req: Request,
) -> ApiResult<Json<Invocation>> {
    super::reject_declared_oversize(req.headers(), super::MAX_JSON_BODY)?;
    let typed = super::json_content_type(req.headers());
    let body = Bytes::from_request(req, &s)
        .await
        .map_err(super::body_rejection)?;
    // The body is the action's input; an empty body means `{}`. A body must be JSON
    // and say so.
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        typed?;
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request("invalid_json", &format!("the body is not valid JSON: {e}"))
        })?
    };
    let out = s
        .registry
        .invoke(
            &auth.principal.tenant_id,
            &id,
            &action,
            q.target.as_deref(),
            input,
        )
        .await?;
    Ok(Json(out))
}

/// An external heartbeat.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct HeartbeatBody {
    latency_ms: Option<f64>,
    status: Option<String>,
    detail: Option<String>,
}

#[utoipa::path(post, path = "/api/connectors/{id}/heartbeat", tag = "connectors", operation_id = "recordHeartbeat",
    security(("oauth2" = ["connector:heartbeat"])), params(("id" = String, Path, description = "The connector's id")), request_body = HeartbeatBody,
    responses((status = 202, description = "Recorded", body = super::openapi::HeartbeatAccepted)))]
async fn heartbeat(
    auth: Authed<Heartbeat>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<HeartbeatBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    s.registry
        .heartbeat(
            &auth.principal.tenant_id,
            &id,
            b.latency_ms,
            b.status.as_deref(),
            b.detail,
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"accepted": true})),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limit {
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/connectors/{id}/heartbeats", tag = "connectors", operation_id = "listHeartbeats", security(("oauth2" = ["connectors:read"])),
    params(("id" = String, Path, description = "The connector's id"), ("limit" = Option<i64>, Query, description = "At most this many (default 100)")),
    responses((status = 200, description = "Heartbeats, newest first, with latency percentiles", body = Heartbeats),
              (status = 400, description = "A bad query parameter", body = super::openapi::ErrorBody)))]
async fn heartbeats(
    auth: Authed<Read>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    QueryArgs(q): QueryArgs<Limit>,
) -> ApiResult<Json<Heartbeats>> {
    let out = s
        .registry
        .heartbeats(&auth.principal.tenant_id, &id, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    limit: Option<i64>,
    offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/connectors/{id}/quarantine", tag = "connectors", operation_id = "listQuarantine", security(("oauth2" = ["connectors:read"])),
    params(("id" = String, Path, description = "The connector's id"), ("limit" = Option<i64>, Query, description = "Page size (default 50)"), ("offset" = Option<i64>, Query, description = "Items to skip")),
    responses((status = 200, description = "Quarantined outputs, newest first", body = QuarantinePage),
              (status = 400, description = "A bad query parameter", body = super::openapi::ErrorBody)))]
async fn quarantine(
    auth: Authed<Read>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    QueryArgs(q): QueryArgs<Page>,
) -> ApiResult<Json<QuarantinePage>> {
    let out = s
        .registry
        .quarantined(
            &auth.principal.tenant_id,
            &id,
            q.limit.unwrap_or(50),
            q.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/connectors/{id}/events/{event_id}", tag = "events", operation_id = "getEventStatus",
    security(("oauth2" = ["events:read"])), params(("id" = String, Path, description = "The connector's id"), ("event_id" = String, Path, description = "The ingest answer's `id`")),
    responses((status = 200, description = "The event's state and the findings of what it quarantined", body = EventStatusView)))]
async fn event_status(
    auth: Authed<EventsRead>,
    State(s): State<AppState>,
    Path((id, event_id)): Path<(String, String)>,
) -> ApiResult<Json<EventStatusView>> {
    let out = s
        .registry
        .event_status(&auth.principal.tenant_id, &id, &event_id)
        .await?;
    Ok(Json(out))
}

/// Why a connector is disabled.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DisableBody {
    reason: String,
}

#[utoipa::path(post, path = "/api/connectors/{id}/disable", tag = "connectors", operation_id = "disableConnector", security(("oauth2" = ["connectors:manage"])),
    params(("id" = String, Path, description = "The connector's id")), request_body = DisableBody,
    responses((status = 200, description = "Disabled", body = ConnectorView)))]
async fn disable(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<DisableBody>,
) -> ApiResult<Json<ConnectorView>> {
    let p = &auth.principal;
    let view = s
        .registry
        .set_enabled(&p.tenant_id, &p.client_id, &id, Some(&b.reason))
        .await?;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/api/connectors/{id}/enable", tag = "connectors", operation_id = "enableConnector", security(("oauth2" = ["connectors:manage"])),
    params(("id" = String, Path, description = "The connector's id")),
    responses((status = 200, description = "Enabled", body = ConnectorView)))]
async fn enable(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ConnectorView>> {
    let p = &auth.principal;
    let view = s
        .registry
        .set_enabled(&p.tenant_id, &p.client_id, &id, None)
        .await?;
    Ok(Json(view))
}

#[utoipa::path(get, path = "/api/registry/summary", tag = "connectors", operation_id = "registrySummary", security(("oauth2" = ["connectors:read"])),
    responses((status = 200, description = "Counts per status, in all and per category", body = Summary)))]
async fn summary(auth: Authed<Read>, State(s): State<AppState>) -> ApiResult<Json<Summary>> {
    Ok(Json(s.registry.summary(&auth.principal.tenant_id).await?))
}

#[utoipa::path(get, path = "/api/sdk/manifest", tag = "connectors", operation_id = "sdkManifest", security(("oauth2" = ["connectors:read"])),
    responses((status = 200, description = "What a connector developer needs", body = SdkManifest)))]
async fn sdk_manifest(
    auth: Authed<Read>,
    State(s): State<AppState>,
) -> ApiResult<Json<SdkManifest>> {
    Ok(Json(
        s.registry.sdk_manifest(&auth.principal.tenant_id).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    after: Option<i64>,
    limit: Option<i64>,
    target: Option<String>,
    order: Option<String>,
}

#[utoipa::path(get, path = "/api/audit", tag = "connectors", operation_id = "auditTrail", security(("oauth2" = ["audit:read"])),
    params(("after" = Option<i64>, Query, description = "After this `seq` (the previous page's `next_after`)"),
           ("limit" = Option<i64>, Query, description = "Page size, 1–1000 (default 100)"),
           ("target" = Option<String>, Query, description = "Only the entries about this target (a connector's id, a client's id…)"),
           ("order" = Option<String>, Query, description = "`asc` (default: oldest first) or `desc` (newest first; `after` then pages toward older entries)")),
    responses((status = 200, description = "The tenant's audit trail, oldest first", body = AuditPage),
              (status = 400, description = "A bad query parameter", body = super::openapi::ErrorBody)))]
async fn audit(
    auth: Authed<AuditRead>,
    State(s): State<AppState>,
    QueryArgs(q): QueryArgs<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let out = s
        .registry
        .audit_trail(
            &auth.principal.tenant_id,
            q.after.unwrap_or(0),
            q.limit.unwrap_or(100),
            q.target.as_deref(),
            match q.order.as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "invalid_query",
                        "`order` is `asc` (oldest first) or `desc` (newest first)",
                    ));
                }
            },
        )
        .await?;
    Ok(Json(out))
}
