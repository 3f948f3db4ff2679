//! `GET /metrics` (a `connectors:read` token) and the HTTP request histogram every
//! route is timed into. The same text is served scope-free on `--metrics-listen`
//! ([`metrics_only`]).
//!
//! Invariant: a route is labelled by its template (`/api/connectors/{id}`), never
//! by the path a client sent, so a label's values are the router's routes.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, AppState, Authed, Read};

type ApiResult<T> = Result<T, ApiError>;
use crate::metrics::State as Gauges;

/// The OpenMetrics text format's content type.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// A router serving only `/metrics`, without a token: for `--metrics-listen`, an
/// address only the scraper reaches.
pub fn metrics_only(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape_open))
        .with_state(state)
}

#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics", security(("oauth2" = ["connectors:read"])),
    responses((status = 200, description = "The node's metrics, OpenMetrics text (see docs/operations.md)", content_type = "application/openmetrics-text", body = String)))]
async fn scrape(_auth: Authed<Read>, State(s): State<AppState>) -> ApiResult<Response> {
    render(&s).await
}

async fn scrape_open(State(s): State<AppState>) -> Response {
    match render(&s).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn render(s: &AppState) -> ApiResult<Response> {
    let mut gauges = Gauges::default();
    let mut per_status = [0i64; 5];
    let tenants = s.store.tenants().await.map_err(internal)?;
    for tenant in tenants {
        let c = s.registry.summary(&tenant.tenant.id).await?.counts;
        for (i, n) in [c.registered, c.active, c.degraded, c.error, c.disabled]
            .into_iter()
            .enumerate()
        {
            per_status[i] += i64::try_from(n).unwrap_or(i64::MAX);
        }
    }
    gauges.connectors = ["registered", "active", "degraded", "error", "disabled"]
        .into_iter()
        .zip(per_status)
        .collect();
    let (waiting, oldest) = s.store.pipeline_backlog().await.map_err(internal)?;
    gauges.backlog = waiting;
    gauges.pipeline_lag_seconds = oldest
        .map(|ms| (crate::time::now_ms() - ms).max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    let text = s.metrics.render(&gauges);
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(response)
}

fn internal(e: crate::store::StoreError) -> ApiError {
    ApiError::internal(&e)
}

/// Times a routed request into `http_server_request_duration_seconds`.
pub(super) async fn record_http(
    State(s): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    super::trace::record_route(&route);
    let response = next.run(req).await;
    s.metrics.http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
