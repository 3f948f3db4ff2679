//! Events in and out.
//!
//! In: `POST /api/events/ingest` (connector named by `X-Connector-Id`) and the
//! tenant-scoped webhook path `POST /api/events/ingest/{tenant_id}/{connector_id}`.
//! No OAuth token: the push credential is the authentication (see [`crate::ingest`]).
//!
//! Out (scope `events:read`, always inside the caller's tenant): `GET /api/events`
//! pages through the published messages (`topic`, `connector`, `after`, `limit`),
//! and `GET /api/events/stream` follows them as server-sent events, each with its
//! `seq` as the SSE id, so a client that reconnects with `Last-Event-ID` (or
//! `?after=`) misses nothing.

use std::convert::Infallible;

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{Stream, StreamExt as _};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::too_large;
use super::{ApiError, AppState, Authed, EventsRead, QueryArgs};
use crate::bus::{BusError, MessagePage, MessageView, Selection, TopicError};
use crate::ingest::{IngestError, MAX_EVENT_BYTES, Route};

pub(super) fn router() -> Router<AppState> {
    let inbound = Router::new()
        .route("/api/events/ingest", post(ingest_by_header))
        .route(
            "/api/events/ingest/{tenant_id}/{connector_id}",
            post(ingest_by_path),
        )
        // The body is read by the handler, after the headers have been judged.
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/api/events", get(history))
        .route("/api/events/stream", get(stream))
        .merge(inbound)
}

impl From<TopicError> for ApiError {
    fn from(e: TopicError) -> Self {
        match e {
            TopicError::Foreign => ApiError::not_found(&e.to_string()),
            TopicError::Malformed(_) | TopicError::TenantWildcard { .. } => {
                ApiError::bad_request("bad_topic", &e.to_string())
            }
        }
    }
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        ApiError::internal(&e)
    }
}

/// Messages at most per page of history.
const MAX_PAGE: i64 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reading {
    /// `<prefix>.<tenant>.<event type>` or `<prefix>.<tenant>.*`; all when absent.
    topic: Option<String>,
    /// One connector's messages only.
    connector: Option<String>,
    /// After this `seq` (history: the previous page's `next_after`).
    after: Option<i64>,
    /// Page size (history), 1 to 1000, default 100.
    limit: Option<i64>,
}

/// The caller's selection: the topic judged against their tenant, the connector
/// checked to be theirs.
pub(crate) async fn selection(
    s: &AppState,
    tenant: &str,
    topic: Option<&str>,
    connector: Option<&str>,
) -> Result<Selection, ApiError> {
    let event_type = match topic {
        Some(t) => s.topics.filter(t, tenant)?,
        None => None,
    };
    if let Some(c) = connector {
        s.registry.exists(tenant, c).await?;
    }
    Ok(Selection {
        tenant_id: tenant.to_string(),
        event_type,
        connector_id: connector.map(str::to_owned),
    })
}

#[utoipa::path(get, path = "/api/events", tag = "events", operation_id = "eventHistory", security(("oauth2" = ["events:read"])),
    params(("topic" = Option<String>, Query, description = "`<prefix>.<tenant>.<event type>` or `<prefix>.<tenant>.*`"),
           ("connector" = Option<String>, Query, description = "One connector's messages"),
           ("after" = Option<i64>, Query, description = "After this `seq`"),
           ("limit" = Option<i64>, Query, description = "Page size, 1–1000 (default 100)")),
    responses((status = 200, description = "Published messages, oldest first", body = MessagePage),
              (status = 400, description = "A bad topic or parameter", body = super::openapi::ErrorBody),
              (status = 404, description = "Another tenant's topic or connector", body = super::openapi::ErrorBody)))]
async fn history(
    auth: Authed<EventsRead>,
    State(s): State<AppState>,
    QueryArgs(q): QueryArgs<Reading>,
) -> Result<Json<MessagePage>, ApiError> {
    let selection = selection(
        &s,
        &auth.principal.tenant_id,
        q.topic.as_deref(),
        q.connector.as_deref(),
    )
    .await?;
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            &format!("`limit` must be between 1 and {MAX_PAGE}"),
        ));
    }
    let rows = s.bus.history(&selection, after, limit).await?;
    Ok(Json(MessagePage {
        next_after: rows.last().map_or(after, |m| m.seq),
        items: rows.iter().map(MessageView::of).collect(),
    }))
}

#[utoipa::path(get, path = "/api/events/stream", tag = "events", operation_id = "eventStream", security(("oauth2" = ["events:read"])),
    params(("topic" = Option<String>, Query, description = "`<prefix>.<tenant>.<event type>` or `<prefix>.<tenant>.*`"),
           ("connector" = Option<String>, Query, description = "One connector's messages"),
           ("after" = Option<i64>, Query, description = "Resume after this `seq` (or send `Last-Event-ID`)"),
           ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this `seq` (what an SSE client sends when it reconnects)")),
    responses((status = 200, description = "Server-sent events: each `data` a message, its `id` the `seq`", content_type = "text/event-stream", body = String),
              (status = 400, description = "A bad topic, parameter or `Last-Event-ID`", body = super::openapi::ErrorBody),
              (status = 404, description = "Another tenant's topic or connector", body = super::openapi::ErrorBody)))]
async fn stream(
    auth: Authed<EventsRead>,
    State(s): State<AppState>,
    headers: HeaderMap,
    QueryArgs(q): QueryArgs<Reading>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let selection = selection(
        &s,
        &auth.principal.tenant_id,
        q.topic.as_deref(),
        q.connector.as_deref(),
    )
    .await?;
    let resume = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "bad_last_event_id",
                        "`Last-Event-ID` must be the `seq` of a message (an integer)",
                    )
                })?,
        ),
        None => q.after,
    };
    let messages = s.bus.subscribe(selection, resume).await?;
    let events = messages.map(|m| {
        Ok(match m {
            Ok(m) => Event::default()
                .id(m.seq.to_string())
                .json_data(MessageView::of(&m))
                .unwrap_or_else(|_| Event::default().event("error")),
            // The stream ends after this; the client reconnects with its last id.
            Err(e) => {
                tracing::warn!(error = %e, "event stream failed");
                Event::default()
                    .event("error")
                    .data(json!({"code": "internal", "message": "the event stream failed; reconnect with Last-Event-ID"}).to_string())
            }
        })
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
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
            e @ IngestError::Busy(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", &e.to_string())
                    .retry_after(1)
            }
            e @ IngestError::HeadersTooLarge => ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                &e.to_string(),
            ),
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

#[utoipa::path(post, path = "/api/events/ingest", tag = "events", operation_id = "ingestEvent", security(("webhookSignature" = []), ("apiKey" = []), ("pushBearer" = []), ("httpSignature" = [])),
    params(("X-Connector-Id" = String, Header, description = "The push connector's id")),
    request_body(content = Vec<u8>, description = "The event, as the sender has it (JSON, XML, text…)", content_type = "*/*"),
    responses((status = 202, description = "Stored durably; it will be transformed, validated and published", body = crate::ingest::Accepted),
              (status = 400, description = "A malformed request or signature header", body = super::openapi::ErrorBody),
              (status = 401, description = "The credential is missing, of the wrong method, or does not verify", body = super::openapi::ErrorBody),
              (status = 408, description = "The body did not arrive in time", body = super::openapi::ErrorBody),
              (status = 409, description = "The connector is disabled, or an idempotency key was reused with another body", body = super::openapi::ErrorBody),
              (status = 413, description = "Over the event size limit", body = super::openapi::ErrorBody),
              (status = 429, description = "Too many failed authentications from this address", body = super::openapi::ErrorBody),
              (status = 431, description = "Headers too large", body = super::openapi::ErrorBody),
              (status = 503, description = "Busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
async fn ingest_by_header(
    State(s): State<AppState>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), Response> {
    ingest(&s, Route::Header, req).await
}

#[utoipa::path(post, path = "/api/events/ingest/{tenant_id}/{connector_id}", tag = "events", operation_id = "ingestEventByPath", security(("webhookSignature" = []), ("apiKey" = []), ("pushBearer" = []), ("httpSignature" = [])),
    params(("tenant_id" = String, Path, description = "The tenant"), ("connector_id" = String, Path, description = "The push connector")),
    request_body(content = Vec<u8>, description = "The event, as the sender has it", content_type = "*/*"),
    responses((status = 202, description = "Stored durably; it will be transformed, validated and published", body = crate::ingest::Accepted),
              (status = 400, description = "A malformed request or signature header", body = super::openapi::ErrorBody),
              (status = 401, description = "The credential is missing, of the wrong method, or does not verify", body = super::openapi::ErrorBody),
              (status = 408, description = "The body did not arrive in time", body = super::openapi::ErrorBody),
              (status = 409, description = "The connector is disabled, or an idempotency key was reused with another body", body = super::openapi::ErrorBody),
              (status = 413, description = "Over the event size limit", body = super::openapi::ErrorBody),
              (status = 429, description = "Too many failed authentications from this address", body = super::openapi::ErrorBody),
              (status = 431, description = "Headers too large", body = super::openapi::ErrorBody),
              (status = 503, description = "Busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
async fn ingest_by_path(
    State(s): State<AppState>,
    Path((tenant_id, connector_id)): Path<(String, String)>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), Response> {
    let route = Route::Path {
        tenant_id: &tenant_id,
        connector_id: &connector_id,
    };
    ingest(&s, route, req).await
}

/// An error answered before the request body was read (whole).
/// With its code, for the count.
fn closing(e: ApiError) -> (&'static str, Response) {
    let code = e.code();
    let mut response = e.into_response();
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    (code, response)
}

/// One pushed event, counted by outcome (`airlock_ingest_events_total`).
async fn ingest(
    s: &AppState,
    route: Route<'_>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), Response> {
    match ingest_counted(s, route, req).await {
        Ok(answer) => {
            let duplicate = answer.1.get("duplicate") == Some(&Value::Bool(true));
            s.metrics
                .ingest(if duplicate { "duplicate" } else { "accepted" });
            Ok(answer)
        }
        Err((code, response)) => {
            s.metrics.ingest(code);
            Err(response)
        }
    }
}

async fn ingest_counted(
    s: &AppState,
    route: Route<'_>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), (&'static str, Response)> {
    let (parts, body) = req.into_parts();
    // A sender that keeps failing to authenticate is refused before anything is
    // checked (per address, never per connector: a forger would lock the real
    // sender out).
    let address = super::peer(&parts).map(|ip| ip.to_string());
    let failures = &s.failures.push_address;
    if let Some(a) = &address
        && let Err(wait) = failures.check(a)
    {
        return Err(closing(super::too_many_failures(wait)));
    }
    let failed = |e: ApiError| {
        if e.status() == StatusCode::UNAUTHORIZED
            && let Some(a) = &address
        {
            failures.failed(a);
        }
        e
    };
    // Everything the headers can decide, before one byte of the body is read. A
    // refusal then leaves the body unread on the connection, so the answer says
    // `Connection: close`: a client must not send its next request down it.
    let pending = s
        .ingest
        .check_headers(route, &parts)
        .await
        .map_err(|e| closing(failed(e.into())))?;
    let body = axum::body::to_bytes(body, MAX_EVENT_BYTES)
        .await
        .map_err(|e| {
            if super::front::missed_deadline(&e) {
                closing(super::error::body_timeout())
            } else {
                closing(IngestError::TooLarge.into())
            }
        })?;
    let accepted = s
        .ingest
        .accept(pending, &parts.headers, &body)
        .await
        .map_err(|e| {
            let e = failed(ApiError::from(e));
            (e.code(), e.into_response())
        })?;
    let value = serde_json::to_value(accepted).map_err(|e| {
        let e = ApiError::internal(&e);
        (e.code(), e.into_response())
    })?;
    Ok((StatusCode::ACCEPTED, Json(value)))
}
