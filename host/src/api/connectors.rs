//! `/api/connectors/…`, `/api/registry/summary`, `/api/sdk/manifest`, `/api/audit`.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::{
    ApiError, AppState, AuditRead, Authed, EventsRead, Heartbeat, JsonBody, Manage, QueryArgs, Read,
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
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotation {
    public_key: Option<String>,
}

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

async fn list(
    auth: Authed<Read>,
    State(s): State<AppState>,
    QueryArgs(q): QueryArgs<ListQuery>,
) -> ApiResult<Json<ConnectorPage>> {
    Ok(Json(s.registry.list(&auth.principal.tenant_id, &q).await?))
}

async fn get_one(
    auth: Authed<Read>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ConnectorDetail>> {
    Ok(Json(s.registry.get(&auth.principal.tenant_id, &id).await?))
}

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

async fn deploy(
    auth: Authed<Manage>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(d): JsonBody<Deployment>,
) -> ApiResult<(StatusCode, Json<DeploymentView>)> {
    let p = &auth.principal;
    let out = s
        .registry
        .deploy(&p.tenant_id, &p.client_id, &id, d)
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Force {
    force: Option<bool>,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatBody {
    latency_ms: Option<f64>,
    status: Option<String>,
    detail: Option<String>,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisableBody {
    reason: String,
}

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

async fn summary(auth: Authed<Read>, State(s): State<AppState>) -> ApiResult<Json<Summary>> {
    Ok(Json(s.registry.summary(&auth.principal.tenant_id).await?))
}

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
}

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
        )
        .await?;
    Ok(Json(out))
}
