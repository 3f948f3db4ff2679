//! `POST /oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4), with
//! the client authenticated by HTTP Basic or by form fields.

use axum::extract::{Form, FromRequest, Request, State};
use axum::http::header;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::auth::TOKEN_TTL_SECS;

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", post(token))
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

async fn token(State(state): State<AppState>, req: Request) -> Result<Json<Value>, ApiError> {
    let basic = basic_credentials(&req);
    let Form(form) = Form::<TokenRequest>::from_request(req, &state)
        .await
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_request",
                &format!(
                    "the body must be application/x-www-form-urlencoded: {}",
                    e.body_text()
                ),
            )
        })?;
    if form.grant_type.as_deref() != Some("client_credentials") {
        return Err(ApiError::bad_request(
            "unsupported_grant_type",
            "only `grant_type=client_credentials` is supported",
        ));
    }
    let (client_id, secret) = match (basic, form.client_id, form.client_secret) {
        (Some(b), _, _) => b,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => {
            return Err(ApiError::unauthorized(
                "authenticate the client with HTTP Basic or client_id and client_secret",
            ));
        }
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
        return Err(ApiError::unauthorized(
            "the client id or secret is not valid",
        ));
    }
    let (token, claims) = state
        .tokens
        .grant(&state.store, &client_id, &secret, form.scope.as_deref())
        .await?;
    Ok(Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_SECS,
        "scope": claims.scope,
    })))
}
