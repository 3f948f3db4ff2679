//! Every request in a span of its own, and an id to find it by.
//!
//! The id is the client's `X-Request-Id` when it sent a usable one (1 to 128
//! visible ASCII characters), else a fresh one; it is echoed on every answer the
//! router makes, errors included. The request's span (`request_id`, `method`,
//! `route`, `tenant`, `client`) is at `debug`, as tower-http's `TraceLayer` does:
//! it costs nothing unless enabled (`RUST_LOG=info,airlock_host=debug`). A server
//! error's log line carries the id whatever the level ([`current_id`]), so a
//! user's report that quotes it leads to the log of its cause.
//!
//! Invariant: the id is never taken from a header that could break a log line or
//! a header (control characters, spaces, over 128 bytes): such an id is replaced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request the current task serves.
    static CURRENT: Arc<str>;
}

/// The id of the request being served, if any (for log lines that must carry it
/// at any level: server errors).
pub(crate) fn current_id() -> Option<Arc<str>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// The client's id when usable.
fn usable(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic())).then_some(s)
}

/// A fresh id: 64 random bits drawn once per process, then a counter — unique,
/// and no system call per request.
fn fresh_id() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let mut b = [0u8; 8];
        let _ = getrandom::fill(&mut b);
        u64::from_le_bytes(b)
    });
    format!("{prefix:016x}{:016x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Runs the request in its span and with its id, and puts the id on the answer.
pub(super) async fn request_span(req: Request, next: Next) -> Response {
    let id: Arc<str> = match req.headers().get(&REQUEST_ID).and_then(usable) {
        Some(s) => Arc::from(s),
        None => Arc::from(fresh_id()),
    };
    let span = tracing::debug_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = tracing::field::Empty,
        tenant = tracing::field::Empty,
        client = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = CURRENT
        .scope(id.clone(), next.run(req).instrument(span.clone()))
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    if !span.is_disabled() {
        span.in_scope(|| {
            tracing::debug!(
                status = response.status().as_u16(),
                duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                "answered"
            );
        });
    }
    response
}

/// Names the caller in the current request's span.
pub(super) fn record_caller(tenant: &str, client: &str) {
    let span = tracing::Span::current();
    if !span.is_disabled() {
        span.record("tenant", tenant);
        span.record("client", client);
    }
}

/// Names the route template in the current request's span.
pub(super) fn record_route(route: &str) {
    let span = tracing::Span::current();
    if !span.is_disabled() {
        span.record("route", route);
    }
}
