//! `GET /metrics` and the HTTP request histogram every route is timed into. The
//! metrics are node-wide — every tenant's series — so on the API's address they
//! need the operator's scope `metrics:read` (no tenant's own scopes reach them);
//! `--metrics-listen` serves them without a token on an address only the scraper
//! reaches ([`metrics_only`]).
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

use super::{ApiError, AppState, Authed, MetricsRead};

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

#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics", security(("oauth2" = ["metrics:read"])),
    responses((status = 200, description = "The node's metrics, OpenMetrics text (see docs/operations.md)", content_type = "application/openmetrics-text", body = String)))]
async fn scrape(_auth: Authed<MetricsRead>, State(s): State<AppState>) -> Response {
    render(&s).await
}

async fn scrape_open(State(s): State<AppState>) -> Response {
    render(&s).await
}

/// The text, its counters always: gauges that cannot be read keep their last
/// values (and the failure is logged).
async fn render(s: &AppState) -> Response {
    let gauges = match gauges(s).await {
        Ok(g) => Some(g),
        Err(e) => {
            tracing::warn!(error = %e.code(), "metrics: the gauges of state could not be read");
            None
        }
    };
    let text = s.metrics.render(gauges.as_ref());
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// Connectors per status (every tenant; the recorder is not flushed for it) and
/// the pipeline's backlog.
async fn gauges(s: &AppState) -> ApiResult<Gauges> {
    let mut gauges = Gauges::default();
    let mut per_status = [0i64; 5];
    let tenants = s.store.tenants().await.map_err(internal)?;
    for tenant in tenants {
        let c = s.registry.status_counts(&tenant.tenant.id).await?;
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
    Ok(gauges)
}

fn internal(e: crate::store::StoreError) -> ApiError {
    ApiError::internal(&e)
}

/// The method as a label: the ones routes declare, else OpenTelemetry's
/// `_OTHER` (a client's own method string never becomes a series).
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "_OTHER",
    }
}

/// Times a routed request into `http_server_request_duration_seconds`.
pub(super) async fn record_http(
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    super::trace::record_route(&route);
    let response = next.run(req).await;
    metrics.http_request(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
