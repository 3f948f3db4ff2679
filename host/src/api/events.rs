//! `POST /api/events/ingest` (connector named by `X-Connector-Id`) and the
//! tenant-scoped webhook path `POST /api/events/ingest/{tenant_id}/{connector_id}`.
//! No OAuth token: the push credential is the authentication (see [`crate::ingest`]).

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use super::error::too_large;
use super::{ApiError, AppState};
use crate::ingest::{IngestError, MAX_EVENT_BYTES, Route};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/events/ingest", post(ingest_by_header))
        .route(
            "/api/events/ingest/{tenant_id}/{connector_id}",
            post(ingest_by_path),
        )
        // The body is read by the handler, after the headers have been judged.
        .layer(DefaultBodyLimit::disable())
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::BadRequest { code, message } => ApiError::bad_request(code, &message),
            e @ IngestError::KeyReused(_) => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                &e.to_string(),
            ),
            IngestError::Unauthorized { code, message } => {
                ApiError::new(StatusCode::UNAUTHORIZED, code, &message)
            }
            IngestError::TooLarge => too_large(),
            IngestError::Disabled(reason) => ApiError::new(
                StatusCode::CONFLICT,
                "connector_disabled",
                &format!("the connector is disabled: {reason}"),
            ),
            IngestError::Store(e) => ApiError::internal(&e),
            IngestError::Commit(e) => ApiError::internal(&e),
        }
    }
}

async fn ingest_by_header(
    State(s): State<AppState>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    ingest(&s, Route::Header, req).await
}

async fn ingest_by_path(
    State(s): State<AppState>,
    Path((tenant_id, connector_id)): Path<(String, String)>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let route = Route::Path {
        tenant_id: &tenant_id,
        connector_id: &connector_id,
    };
    ingest(&s, route, req).await
}

async fn ingest(
    s: &AppState,
    route: Route<'_>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (parts, body) = req.into_parts();
    // Everything the headers can decide, before one byte of the body is read.
    let pending = s.ingest.check_headers(route, &parts.headers).await?;
    let body = axum::body::to_bytes(body, MAX_EVENT_BYTES)
        .await
        .map_err(|_| ApiError::from(IngestError::TooLarge))?;
    let accepted = s.ingest.accept(pending, &parts.headers, &body).await?;
    let value = serde_json::to_value(accepted).map_err(|e| ApiError::internal(&e))?;
    Ok((StatusCode::ACCEPTED, Json(value)))
}
