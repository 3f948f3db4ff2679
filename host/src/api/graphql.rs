//! The typed GraphQL API: `POST /graphql` (JSON, or a multipart upload per the
//! GraphQL multipart request spec), `GET /graphql` (GraphiQL for a person, or
//! GraphQL over WebSocket for subscriptions), over the same registry, auth and bus
//! code as REST — no rule is implemented twice here.
//!
//! Invariants:
//! - A document is judged before anything runs: its size, its aliases, and its
//!   fields with every fragment spread expanded (`limits`) — so a document of
//!   nested fragments cannot cost exponential work — then async-graphql's depth
//!   and complexity limits, with list fields costing `first × their selection`.
//!   A refused document costs no database work: the token is checked by its
//!   signature first, and the database (whether the client was revoked) is only
//!   asked by the first field's guard, after validation.
//! - Every root field needs a scope, checked by its guard before its resolver
//!   reads or writes anything (`Needs`); nested fields are reached only
//!   through a root field, inside the caller's tenant.
//! - Errors carry `extensions.code` (the REST code), `extensions.status` (the
//!   status REST would answer) and REST's details; a foreign id is `not_found`.
//! - A subscription ends when the token it was opened with expires.

mod limits;
mod mutation;
mod query;
mod subscription;

use std::time::Duration;

use async_graphql::http::MultipartOptions;
use async_graphql::{Context, Guard, Schema};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Router;
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, AppState};
use crate::auth::{Principal, Scope};
use crate::runtime::MAX_COMPONENT_BYTES;

pub use limits::{DocumentLimits, check_document};
pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;

/// The schema: queries, mutations and subscriptions over the registry.
pub type AirlockSchema = Schema<Query, Mutation, Subscription>;

/// Selection depth at most (the deepest useful query, a connector's deployment's
/// last poll inside a page of the catalogue, is 7).
pub const MAX_DEPTH: usize = 12;
/// Complexity at most: each field costs 1, a list field `first ×` its selection.
pub const MAX_COMPLEXITY: usize = 5_000;
/// Subscription sockets open at once on a node, at most.
pub const MAX_SOCKETS: usize = 256;
static SOCKETS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_SOCKETS);

/// A list field's `first` at most.
pub const MAX_FIRST: i32 = 200;
/// A JSON request body at most (a multipart upload may carry a component).
const MAX_JSON_REQUEST: usize = super::MAX_JSON_BODY;

/// The schema (stateless: each request carries the [`AppState`] and its caller),
/// built once.
pub fn schema() -> AirlockSchema {
    static SCHEMA: std::sync::OnceLock<AirlockSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(build).clone()
}

fn build() -> AirlockSchema {
    Schema::build(Query, Mutation, Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        // The parser's own bound: the depth limit is the one a query meets.
        .limit_recursive_depth(64)
        .limit_directives(8)
        .extension(limits::DocumentCheck)
        .finish()
}

/// The schema's SDL, as checked in at `host/schema.graphql`.
pub fn sdl() -> String {
    schema().sdl()
}

/// Who a request speaks for, in every resolver's context.
#[derive(Debug)]
pub(crate) struct Caller {
    principal: Principal,
    /// Whether the client is still active and when that was asked: by the first
    /// guard of a request (not before validation), and again on a socket once
    /// the answer is older than [`RECHECK`].
    active: tokio::sync::Mutex<Option<(std::time::Instant, bool)>>,
    /// Subscriptions this caller may still open on its socket.
    pub(crate) streams: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Subscriptions one socket may run at once.
pub const MAX_SUBSCRIPTIONS_PER_SOCKET: usize = 16;

/// How long a socket trusts its client's last "still active" answer.
const RECHECK: Duration = Duration::from_secs(5);

impl Caller {
    fn new(principal: Principal) -> Caller {
        Caller {
            principal,
            active: tokio::sync::Mutex::new(None),
            streams: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_SUBSCRIPTIONS_PER_SOCKET)),
        }
    }

    async fn is_active(&self, state: &AppState) -> async_graphql::Result<bool> {
        let mut known = self.active.lock().await;
        if let Some((at, active)) = *known
            && at.elapsed() < RECHECK
        {
            return Ok(active);
        }
        let active = state
            .clients
            .is_active(&self.principal.client_id)
            .await
            .map_err(|e| ApiError::internal(&e).into_graphql())?;
        *known = Some((std::time::Instant::now(), active));
        Ok(active)
    }
}

/// The guard of a field that needs `Scope`: 401 if the token has expired (a
/// WebSocket outlives its token) or its client was revoked, 403
/// (`insufficient_scope`) without the scope — before the resolver runs.
pub(crate) struct Needs(pub Scope);

impl Guard for Needs {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let caller = ctx.data::<Caller>()?;
        let state = ctx.data::<AppState>()?;
        // A socket outlives its token: each operation on it is judged anew (with
        // the clock leeway REST's token check allows).
        let now = crate::time::now_ms().div_euclid(1000) as u64;
        if caller.principal.expires_at + crate::auth::LEEWAY_SECS < now {
            return Err(ApiError::unauthorized(
                "the access token has expired; open a new connection with a fresh one",
            )
            .into_graphql());
        }
        if !caller.is_active(state).await? {
            return Err(
                ApiError::unauthorized("the client this token was issued to was revoked")
                    .into_graphql(),
            );
        }
        if !caller.principal.has(self.0) {
            return Err(ApiError::forbidden(self.0).into_graphql());
        }
        Ok(())
    }
}

/// A place for one more subscription on the caller's socket, held by its stream.
pub(crate) fn stream_slot(
    ctx: &Context<'_>,
) -> async_graphql::Result<tokio::sync::OwnedSemaphorePermit> {
    ctx.data::<Caller>()?
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_subscriptions",
                &format!(
                    "a socket runs at most {MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions; end one or open another socket"
                ),
            )
            .into_graphql()
        })
}

/// The caller (after the field's guard) and the app.
pub(crate) fn who<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a Principal, &'a AppState)> {
    Ok((&ctx.data::<Caller>()?.principal, ctx.data::<AppState>()?))
}

/// Maps a module's error to a GraphQL error through its REST answer.
pub(crate) trait OrGraphql<T> {
    /// The error as REST would answer it, as a GraphQL error.
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<ApiError>> OrGraphql<T> for Result<T, E> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.into().into_graphql())
    }
}

/// `first`, checked against [`MAX_FIRST`].
pub(crate) fn first(first: Option<i32>, default: i32) -> async_graphql::Result<usize> {
    let n = first.unwrap_or(default);
    if !(1..=MAX_FIRST).contains(&n) {
        return Err(ApiError::bad_request(
            "invalid_query",
            &format!("`first` must be between 1 and {MAX_FIRST}"),
        )
        .into_graphql());
    }
    Ok(n as usize)
}

/// The error of a cursor this server did not give.
pub(crate) fn bad_cursor() -> async_graphql::Error {
    ApiError::bad_request(
        "invalid_query",
        "`after` must be a cursor from this list's pageInfo or edges",
    )
    .into_graphql()
}

/// The `seq` after cursor `after` (0 without one).
pub(crate) fn seq_after(after: Option<&str>) -> async_graphql::Result<i64> {
    use async_graphql::connection::CursorType as _;
    match after {
        None => Ok(0),
        Some(c) => i64::decode_cursor(c)
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(bad_cursor),
    }
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/graphql",
        get(graphql_get)
            .post(graphql_post)
            // The handler reads the body under its own limits.
            .layer(axum::extract::DefaultBodyLimit::disable()),
    )
}

/// A GraphQL error answer (`{"errors": [...]}`) with `status`.
fn refusal(error: ApiError) -> Response {
    let status = error.status();
    let mut response = async_graphql::Response::from_errors(vec![
        error
            .into_graphql()
            .into_server_error(async_graphql::Pos::default()),
    ]);
    response.errors.iter_mut().for_each(|e| e.locations.clear());
    let mut answer = (status, axum::Json(response)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        answer.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    answer
}

#[utoipa::path(post, path = "/graphql", tag = "meta", operation_id = "graphql",
    security(("oauth2" = [])),
    request_body(content = Object, description = "`{\"query\", \"variables\", \"operationName\"}`, or a multipart upload (GraphQL multipart request spec); the schema is `host/schema.graphql`", content_type = "application/json"),
    responses((status = 200, description = "`{\"data\", \"errors\"}`: each error's `extensions.code` is the REST code", body = Object),
              (status = 400, description = "Not a GraphQL request, or NUL in its text", body = super::openapi::ErrorBody),
              (status = 408, description = "The body did not arrive in time", body = super::openapi::ErrorBody),
              (status = 413, description = "Over 1 MiB (a multipart upload: over the component limit)", body = super::openapi::ErrorBody),
              (status = 415, description = "Neither JSON nor multipart/form-data", body = super::openapi::ErrorBody)))]
async fn graphql_post(State(s): State<AppState>, req: Request) -> Response {
    match run(&s, req).await {
        Ok(response) => response,
        Err(e) => refusal(e),
    }
}

async fn run(s: &AppState, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    // The token first, by its signature alone (no database work).
    let principal = bearer(&parts.headers, s)?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let multipart = content_type.as_deref().is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
    });
    let limit = if multipart {
        // One component and the operations around it.
        MAX_COMPONENT_BYTES + 64 * 1024
    } else {
        if !super::is_json(&parts.headers) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the GraphQL request as JSON (`Content-Type: application/json`) or as \
                 multipart/form-data (a file upload)",
            ));
        }
        MAX_JSON_REQUEST
    };
    super::reject_declared_oversize(&parts.headers, limit)?;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if super::front::missed_deadline(&e) {
            super::error::body_timeout()
        } else {
            super::error::too_large()
        }
    })?;
    if !multipart && super::has_nul_escape(&bytes) {
        return Err(super::nul_refused());
    }
    let options = MultipartOptions::default()
        .max_file_size(MAX_COMPONENT_BYTES)
        .max_num_files(1);
    let request = async_graphql::http::receive_body(
        content_type,
        futures_util::io::Cursor::new(bytes.to_vec()),
        options,
    )
    .await
    .map_err(|e| ApiError::bad_request("invalid_graphql_request", &e.to_string()))?;
    let request = request.data(Caller::new(principal)).data(s.clone());
    let mut response = schema().execute(request).await;
    coded(&mut response.errors);
    Ok(axum::Json(response).into_response())
}

/// Gives every error a code: async-graphql's own (syntax, validation, limits)
/// have none. Over the depth or complexity limit is `query_too_complex`; any
/// other is `invalid_query`.
fn coded(errors: &mut [async_graphql::ServerError]) {
    for e in errors {
        let extensions = e.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_some() {
            continue;
        }
        let m = e.message.as_str();
        let code = if m == "Query is too complex."
            || m == "Query is nested too deep."
            || m.starts_with("The recursion depth of the query")
        {
            "query_too_complex"
        } else {
            "invalid_query"
        };
        extensions.set("code", code);
        extensions.set("status", 400);
    }
}

/// The caller of an `Authorization: Bearer` header, by the token's signature.
fn bearer(headers: &HeaderMap, s: &AppState) -> Result<Principal, ApiError> {
    let token = super::bearer_token(headers, "GraphQL needs a bearer access token")?;
    let principal = s
        .tokens
        .verify(token)
        .map_err(|e| ApiError::unauthorized(&e.to_string()))?;
    super::trace::record_caller(&principal.tenant_id, &principal.client_id);
    Ok(principal)
}

/// `GET /graphql`: the GraphQL-over-WebSocket handshake when the request asks for
/// one, else the GraphiQL page.
#[utoipa::path(get, path = "/graphql", tag = "meta", operation_id = "graphiql",
    responses((status = 200, description = "The GraphiQL page, or with `Upgrade: websocket` (subprotocol `graphql-transport-ws`) a GraphQL subscription socket", content_type = "text/html", body = String),
              (status = 101, description = "Switched to GraphQL over WebSocket; the token in the `Authorization` header or `connection_init`'s payload (within 10 s)"),
              (status = 400, description = "A WebSocket handshake without a GraphQL subprotocol", body = super::openapi::ErrorBody),
              (status = 503, description = "The node serves as many sockets as it may (`Retry-After`)", body = super::openapi::ErrorBody)))]
async fn graphql_get(State(s): State<AppState>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let wants_socket = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_socket {
        return graphiql();
    }
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &s).await {
        Ok(p) => p,
        Err(_) => {
            return refusal(ApiError::bad_request(
                "bad_websocket_protocol",
                "ask for the `graphql-transport-ws` (or `graphql-ws`) subprotocol",
            ));
        }
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &s).await {
        Ok(u) => u,
        Err(e) => return refusal(ApiError::bad_request("bad_websocket", &e.body_text())),
    };
    // An upgraded connection leaves the front door's count when it switches
    // protocols, so sockets have their own bound.
    let Ok(slot) = SOCKETS.try_acquire() else {
        return refusal(
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                &format!("this node serves {MAX_SOCKETS} subscription sockets already"),
            )
            .retry_after(5),
        );
    };
    // A token in the handshake's header, else in `connection_init`'s payload.
    let from_header = bearer(&parts.headers, &s).ok();
    let schema = schema();
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        // A message is a GraphQL request: REST's JSON body limit.
        .max_message_size(MAX_JSON_REQUEST)
        .max_frame_size(MAX_JSON_REQUEST)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            let state = s.clone();
            let (authenticated, mut told) = tokio::sync::watch::channel(false);
            let serving = GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let principal = match from_header {
                        Some(p) => p,
                        None => socket_token(&payload, &state)?,
                    };
                    let _ = authenticated.send(true);
                    let mut data = async_graphql::Data::default();
                    data.insert(Caller::new(principal));
                    data.insert(state);
                    Ok(data)
                })
                // Nothing but `connection_init` is answered before it (a ping
                // would keep an anonymous socket alive).
                .on_ping(|data, _| {
                    let initialised = data.is_some();
                    async move {
                        if initialised {
                            Ok(None)
                        } else {
                            Err(async_graphql::Error::new("send connection_init first"))
                        }
                    }
                })
                // Quiet subscriptions stay open: standard clients do not ping.
                .keepalive_timeout(None)
                .serve();
            // A socket that has not authenticated within INIT_WITHIN is closed.
            let deadline = async move {
                let inited = tokio::time::timeout(INIT_WITHIN, async {
                    loop {
                        let now = *told.borrow_and_update();
                        if now {
                            return true;
                        }
                        if told.changed().await.is_err() {
                            return false;
                        }
                    }
                })
                .await;
                if inited == Ok(true) {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = serving => {}
                () = deadline => {}
            }
        })
}

/// How long a new socket has to send `connection_init` with a valid token.
const INIT_WITHIN: Duration = Duration::from_secs(10);

/// The caller named by a `connection_init` payload: `{"Authorization": "Bearer …"}`
/// (any case) or `{"token": "…"}`.
fn socket_token(payload: &serde_json::Value, s: &AppState) -> async_graphql::Result<Principal> {
    let object = payload.as_object();
    let value = object.and_then(|o| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.as_str())
            .map(|v| {
                v.trim_start_matches("Bearer ")
                    .trim_start_matches("bearer ")
            })
            .or_else(|| o.get("token").and_then(|v| v.as_str()))
    });
    let token = value.ok_or_else(|| {
        ApiError::unauthorized(
            "send the access token in connection_init's payload: {\"Authorization\": \"Bearer …\"}",
        )
        .into_graphql()
    })?;
    s.tokens
        .verify(token.trim())
        .map_err(|e| ApiError::unauthorized(&e.to_string()).into_graphql())
}

/// The GraphiQL page: a person tries queries with their token in the headers
/// pane. Its scripts come from a CDN (see `docs/api.md`).
fn graphiql() -> Response {
    let mut response = Html(include_str!("graphql/graphiql.html")).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// The stream `inner`, ended when the token that opened it expires.
pub(crate) fn until_expiry<S>(
    inner: S,
    expires_at: u64,
) -> impl futures_util::Stream<Item = S::Item> + Send
where
    S: futures_util::Stream + Send,
{
    use futures_util::StreamExt as _;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let left = Duration::from_secs(expires_at.saturating_sub(now));
    inner.take_until(tokio::time::sleep(left))
}

#[cfg(test)]
mod tests {
    /// The checked-in SDL (`host/schema.graphql`) is the schema the code serves:
    /// integrators generate clients from the file. `AIRLOCK_BLESS=1 cargo test -p
    /// airlock-host sdl` rewrites it after a deliberate change.
    #[test]
    fn the_checked_in_sdl_is_the_schema_served() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
        let served = super::sdl();
        if std::env::var_os("AIRLOCK_BLESS").is_some() {
            std::fs::write(&path, &served).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == served,
            "host/schema.graphql differs from the schema the code serves; if the change is \
             deliberate, run `AIRLOCK_BLESS=1 cargo test -p airlock-host sdl` and commit the file"
        );
    }
}
