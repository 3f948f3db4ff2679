//! Every request in a span of its own, and an id to find it by.
//!
//! The id is the client's `X-Request-Id` when it sent a usable one (1 to 128
//! visible ASCII characters), else a fresh one; it is echoed on every answer,
//! errors included, and every log line written while the request runs carries it
//! (with the route template, the tenant and the client once they are known), so a
//! user's error report leads straight to the server's log of it.
//!
//! Invariant: the id is never taken from a header that could break a log line or
//! a header (control characters, spaces, over 128 bytes): such an id is replaced.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The client's id when usable.
fn usable(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic())).then_some(s)
}

/// Runs the request in a span `request{request_id, method, route, tenant, client}`
/// and puts the id on the answer. The answer is logged at `debug`.
pub(super) async fn request_span(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(usable)
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_string);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = tracing::field::Empty,
        tenant = tracing::field::Empty,
        client = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "answered"
        );
    });
    response
}

/// Names the caller in the current request's span.
pub(super) fn record_caller(tenant: &str, client: &str) {
    let span = tracing::Span::current();
    span.record("tenant", tenant);
    span.record("client", client);
}

/// Names the route template in the current request's span.
pub(super) fn record_route(route: &str) {
    tracing::Span::current().record("route", route);
}
