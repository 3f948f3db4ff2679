//! `POST /oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4), with
//! the client authenticated by HTTP Basic or by form fields; and what a client or a
//! downstream service discovers about it: the authorization server's metadata
//! (RFC 8414, `/.well-known/oauth-authorization-server`) and the key that signs the
//! access tokens (`/.well-known/jwks.json`), so a service can verify Airlock's
//! RFC 9068 tokens without asking Airlock.
//!
//! Invariant: the token endpoint answers errors in RFC 6749 §5.2's shape
//! (`{"error": "invalid_client", "error_description": "…"}`), which OAuth client
//! libraries read, not the API's `{"error": {"code", "message"}}`; descriptions say
//! what to fix and never quote a library's internals.

use axum::extract::{Form, FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::AppState;
use crate::auth::{AuthError, Scope, TOKEN_TTL_SECS};

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/.well-known/jwks.json", get(jwks))
}

/// An error of the token endpoint, in RFC 6749 §5.2's shape.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: &str) -> OAuthError {
        OAuthError {
            status,
            error,
            description: crate::text::bounded(description, 512),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": self.error, "error_description": self.description}));
        let mut response = (self.status, body).into_response();
        // RFC 6749 §5.2: a 401 names the scheme the client may authenticate with.
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"airlock\""),
            );
        }
        // RFC 6749 §5.1 and §5.2: token answers are never cached.
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        response
    }
}

impl From<AuthError> for OAuthError {
    fn from(e: AuthError) -> OAuthError {
        match e {
            AuthError::InvalidClient => {
                OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", &e.to_string())
            }
            AuthError::InvalidScope(_) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", &e.to_string())
            }
            other => {
                let internal = super::ApiError::from(other);
                OAuthError::new(
                    internal.status(),
                    "server_error",
                    "the server could not issue a token; try again",
                )
            }
        }
    }
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth", operation_id = "authorizationServerMetadata",
    responses((status = 200, description = "RFC 8414 metadata", body = Object)))]
async fn metadata(State(state): State<AppState>) -> Json<Value> {
    let base = state.registry.public_base();
    Json(json!({
        "issuer": state.tokens.issuer(),
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "response_types_supported": [],
        "service_documentation": format!("{base}/"),
    }))
}

/// `GET /.well-known/jwks.json`: the public keys access tokens are verified with —
/// the signing key, and keys retired by a rotation until their tokens expire. A
/// verifier that meets an unknown `kid` fetches this again.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth", operation_id = "jwks",
    responses((status = 200, description = "The keys access tokens are verified with", body = super::openapi::Jwks)))]
async fn jwks(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"keys": state.tokens.jwks()?})))
}

fn basic_credentials(req: &Request) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

#[utoipa::path(post, path = "/oauth/token", tag = "oauth", operation_id = "token",
    request_body(content = super::openapi::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "An access token", body = super::openapi::TokenAnswer)))]
async fn token(State(state): State<AppState>, req: Request) -> Result<Response, Response> {
    let (parts, body) = req.into_parts();
    let address = super::peer(&parts).map_or_else(|| "local".to_string(), |ip| ip.to_string());
    if let Err(wait) = state.failures.token_address.check(&address) {
        return Err(super::too_many_failures(wait).into_response());
    }
    grant(&state, Request::from_parts(parts, body), &address)
        .await
        .map_err(|e| match e {
            Refused::Limited(wait) => super::too_many_failures(wait).into_response(),
            Refused::OAuth(e) => e.into_response(),
        })
}

/// Why a grant was refused: an OAuth error, or too many failures.
enum Refused {
    OAuth(OAuthError),
    Limited(std::time::Duration),
}

impl From<OAuthError> for Refused {
    fn from(e: OAuthError) -> Refused {
        Refused::OAuth(e)
    }
}

/// The grant, for a client at `address`; counts its failed authentications.
async fn grant(state: &AppState, req: Request, address: &str) -> Result<Response, Refused> {
    let basic = basic_credentials(&req);
    let Form(form) = Form::<TokenRequest>::from_request(req, state)
        .await
        .map_err(|_| {
            Refused::OAuth(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body must be `application/x-www-form-urlencoded` with `grant_type`, \
                 and `client_id` and `client_secret` unless HTTP Basic is used",
            ))
        })?;
    if form.grant_type.as_deref() != Some("client_credentials") {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only `grant_type=client_credentials` is supported",
        )
        .into());
    }
    let (client_id, secret) = match (basic, form.client_id, form.client_secret) {
        (Some(b), _, _) => b,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "authenticate the client with HTTP Basic or client_id and client_secret",
            )
            .into());
        }
    };
    let client_key = format!("{}@{address}", crate::text::bounded(&client_id, 128));
    if let Err(wait) = state.failures.client.check(&client_key) {
        return Err(Refused::Limited(wait));
    }
    let failed = || {
        state.failures.client.failed(&client_key);
        state.failures.token_address.failed(address);
    };
    // A NUL is in no client id, secret or scope (and PostgreSQL cannot look one up):
    // refused like any unknown client, before the store is asked.
    if [
        client_id.as_str(),
        secret.as_str(),
        form.scope.as_deref().unwrap_or(""),
    ]
    .iter()
    .any(|t| t.contains('\0'))
    {
        failed();
        return Err(OAuthError::from(AuthError::InvalidClient).into());
    }
    let (token, claims) = match state
        .tokens
        .grant(&state.store, &client_id, &secret, form.scope.as_deref())
        .await
    {
        Ok(granted) => granted,
        Err(e @ AuthError::InvalidClient) => {
            failed();
            return Err(OAuthError::from(e).into());
        }
        Err(e) => return Err(OAuthError::from(e).into()),
    };
    let mut response = Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_SECS,
        "scope": claims.scope,
    }))
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
