//! The REST API: axum routers over the registry and auth, and one error type.
//!
//! Invariants:
//! - Authentication and the scope check happen in the [`Authed`] extractor, which
//!   every protected handler takes as its first argument, so a request without the
//!   scope is refused before its body is read or anything is looked up.
//! - Every error leaves as `{"error": {"code", "message"}}` with the status DESIGN.md
//!   gives; 5xx bodies say nothing of internals (the details go to the log).
//! - Handlers translate HTTP to registry calls and back; rules live in `registry`.

mod connectors;
mod console;
mod error;
mod events;
mod front;
pub mod graphql;
pub mod metrics;
mod oauth;
pub mod openapi;
pub(crate) mod trace;

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use crate::auth::{Principal, Scope, Tokens};
use crate::bus::{Bus, Topics};
use crate::registry::Registry;
use crate::store::Store;

pub use error::ApiError;
pub use front::{FrontLimits, serve};

/// What every handler can reach. Built once, by `server.rs`. Axum clones the state
/// for each request's handler and again for each `State` extractor, so a clone is
/// one reference count: the parts are behind one `Arc` (as separate fields a clone
/// cost eleven counts and a string copy, 1.6 % of an invoke's server CPU by `perf`).
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    /// The state over `parts`.
    pub fn new(parts: AppParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The parts of [`AppState`].
#[derive(Debug)]
pub struct AppParts {
    /// Connectors, versions, deployments, health.
    pub registry: Arc<Registry>,
    /// Token issuing and verification.
    pub tokens: Arc<Tokens>,
    /// Push connectors' inbound events.
    pub ingest: Arc<crate::ingest::Ingest>,
    /// The database (the token grant reads clients from it).
    pub store: Store,
    /// Where published messages are read and followed.
    pub bus: Arc<dyn Bus>,
    /// The bus's topic scheme (readers' filters are judged against it).
    pub topics: Topics,
    /// Failed authentications, counted per client and address.
    pub failures: Arc<crate::auth::limiter::Failures>,
    /// Whether a token's client was revoked.
    pub clients: Arc<crate::auth::clients::ClientStatus>,
    /// What the node counts (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The client's address, as the connection loop (`front.rs`) records it; `None` for
/// a request that did not come over a socket (a test calling the router).
pub(crate) fn peer(parts: &axum::http::request::Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// 429 with `Retry-After` (whole seconds, at least 1).
pub(crate) fn too_many_failures(retry_after: std::time::Duration) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "too_many_failures",
        "too many failed authentications from this client; wait before trying again",
    )
    .retry_after(retry_after.as_secs_f64().ceil().max(1.0) as u64)
}

/// JSON bodies are at most this large (components have their own limit).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A scope a route requires, as a type.
pub trait RequiredScope {
    /// The scope.
    const SCOPE: Scope;
}

macro_rules! scopes {
    ($($name:ident => $scope:ident),* $(,)?) => {$(
        /// Marker for the scope of the same name.
        #[derive(Debug)]
        pub struct $name;
        impl RequiredScope for $name {
            const SCOPE: Scope = Scope::$scope;
        }
    )*};
}

scopes! {
    Manage => ConnectorsManage,
    Approve => ConnectorsApprove,
    MetricsRead => MetricsRead,
    Read => ConnectorsRead,
    Heartbeat => ConnectorHeartbeat,
    AuditRead => AuditRead,
    EventsRead => EventsRead,
}

/// A caller whose bearer token is valid and carries the scope `S`.
#[derive(Debug)]
pub struct Authed<S> {
    /// Who is calling.
    pub principal: Principal,
    _scope: PhantomData<S>,
}

impl<S: RequiredScope + Send> FromRequestParts<AppState> for Authed<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = authenticate(&parts.headers, state).await?;
        trace::record_caller(&principal.tenant_id, &principal.client_id);
        if !principal.has(S::SCOPE) {
            return Err(ApiError::forbidden(S::SCOPE));
        }
        Ok(Authed {
            principal,
            _scope: PhantomData,
        })
    }
}

/// The caller a request's `Authorization: Bearer` token speaks for: 401 without a
/// token, with a bad or expired one, or when its client was revoked. Scopes are the
/// caller's to check ([`Authed`] per route, the GraphQL guards per field).
pub(crate) async fn authenticate(
    headers: &axum::http::HeaderMap,
    state: &AppState,
) -> Result<Principal, ApiError> {
    verify_token(
        bearer_token(headers, "this route needs a bearer access token")?,
        state,
    )
    .await
}

/// The token of an `Authorization: Bearer` header (401 saying `missing` without
/// one).
pub(crate) fn bearer_token<'h>(
    headers: &'h axum::http::HeaderMap,
    missing: &str,
) -> Result<&'h str, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized(missing))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    Ok(token.trim())
}

/// A bearer token's caller, checked as [`authenticate`] checks it.
pub(crate) async fn verify_token(token: &str, state: &AppState) -> Result<Principal, ApiError> {
    let principal = state
        .tokens
        .verify(token)
        .map_err(|e| ApiError::unauthorized(&e.to_string()))?;
    let active = state
        .clients
        .is_active(&principal.client_id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if !active {
        return Err(ApiError::unauthorized(
            "the client this token was issued to was revoked",
        ));
    }
    Ok(principal)
}

/// A JSON body whose rejections are [`ApiError`]s (400 malformed, 413 too large,
/// 415 wrong content type).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, St: Send + Sync> FromRequest<St> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &St) -> Result<Self, ApiError> {
        reject_declared_oversize(req.headers(), MAX_JSON_BODY)?;
        json_content_type(req.headers())?;
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if has_nul_escape(&bytes) {
            return Err(nul_refused());
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(ApiError::from_json_rejection(&rejection)),
        }
    }
}

/// `Content-Type: application/json` or `application/*+json`.
/// A JSON body's `Content-Type`: `application/json` or `application/*+json`, in
/// UTF-8 (RFC 8259 allows no other encoding in exchange): else 415.
fn json_content_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let unsupported = |message: &str| {
        ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    };
    if !is_json(headers) {
        return Err(unsupported(
            "the body must be JSON with `Content-Type: application/json`",
        ));
    }
    let charset = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .flat_map(|v| v.split(';').skip(1))
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
    match charset.as_deref() {
        None | Some("utf-8" | "utf8") => Ok(()),
        Some(_) => Err(unsupported(
            "a JSON body must be UTF-8 (`charset=utf-8` or none)",
        )),
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// Whether a JSON text holds a NUL character (`\u0000`, the only way JSON can):
/// no name, reason, description or detail has a use for one, and PostgreSQL
/// cannot store it in text.
pub fn has_nul_escape(json: &[u8]) -> bool {
    json.windows(6).enumerate().any(|(i, w)| {
        w == b"\\u0000" && {
            // An escape only if the backslash is not itself escaped.
            let before = json[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            before % 2 == 0
        }
    })
}

fn nul_refused() -> ApiError {
    ApiError::bad_request(
        "invalid_text",
        "text may not contain NUL characters (\\u0000 or %00)",
    )
}

/// Refuses a path or query holding a NUL (`%00`) before any handler decodes it, and
/// a path whose percent-decoded segments are not UTF-8 (which axum's path extractor
/// would answer in plain text), both as JSON errors.
async fn refuse_nul_in_uri(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    let has_nul = |s: &str| s.to_ascii_lowercase().contains("%00");
    if has_nul(req.uri().path()) || req.uri().query().is_some_and(has_nul) {
        return axum::response::IntoResponse::into_response(nul_refused());
    }
    if percent_encoding::percent_decode_str(req.uri().path())
        .decode_utf8()
        .is_err()
    {
        return axum::response::IntoResponse::into_response(ApiError::bad_request(
            "invalid_text",
            "the path is not UTF-8 once percent-decoded",
        ));
    }
    next.run(req).await
}

/// Refuses a body whose declared `Content-Length` is over `limit` before reading any
/// of it (a body without one is still cut off at the limit while it is read).
pub fn reject_declared_oversize(
    headers: &axum::http::HeaderMap,
    limit: usize,
) -> Result<(), ApiError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => Err(error::too_large()),
        _ => Ok(()),
    }
}

/// A query string whose rejections are [`ApiError`]s.
#[derive(Debug)]
pub struct QueryArgs<T>(pub T);

impl<T: DeserializeOwned, St: Send + Sync> FromRequestParts<St> for QueryArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryArgs(v)),
            Err(e) => Err(ApiError::bad_request("invalid_query", &e.body_text())),
        }
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(oauth::router())
        .merge(connectors::router())
        .merge(events::router())
        .merge(graphql::router())
        .merge(openapi::router())
        .merge(metrics::router())
        .merge(console::router())
        // Routed requests only: the label is the route's template.
        .route_layer(axum::middleware::from_fn({
            let m = state.metrics.clone();
            move |matched, req, next| metrics::record_http(m.clone(), matched, req, next)
        }))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(axum::middleware::from_fn(refuse_nul_in_uri))
        // Outermost: every answer, refusals included, carries the request's id.
        .layer(axum::middleware::from_fn(trace::request_span))
        .with_state(state)
}

/// Why a body could not be read, as an answer: 413 past the route's limit, 408 when
/// it did not arrive in time ([`front::DeadlineBody`]), else 400.
fn body_rejection(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        error::too_large()
    } else if front::missed_deadline(&e) {
        error::body_timeout()
    } else {
        ApiError::bad_request("invalid_body", &e.body_text())
    }
}
