//! `ApiError`: every failure as `{"error": {"code", "message"}}` with its status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::{AuthError, Scope};
use crate::registry::RegistryError;
use crate::runtime::{CallError, LoadError};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: serde_json::Map<String, Value>,
    retry_after_secs: Option<u64>,
}

/// The longest error message sent, bytes: a message built from a client's or a
/// guest's input must never echo a large input back.
const MAX_MESSAGE: usize = 1024;

impl ApiError {
    /// An error with `status`, `code` and a sentence.
    pub fn new(status: StatusCode, code: &'static str, message: &str) -> ApiError {
        ApiError {
            status,
            code,
            message: crate::text::bounded(message, MAX_MESSAGE),
            extra: serde_json::Map::new(),
            retry_after_secs: None,
        }
    }

    /// This error with a `Retry-After` of `secs`.
    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after_secs = Some(secs);
        self
    }

    fn with(mut self, key: &str, value: Value) -> ApiError {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// 401.
    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 for a missing scope.
    pub fn forbidden(scope: Scope) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            &format!("the access token lacks the scope `{}`", scope.as_str()),
        )
        .with("required_scope", scope.as_str().into())
    }

    /// 404.
    pub fn not_found(message: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400.
    pub fn bad_request(code: &'static str, message: &str) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 500, with the details logged and not returned.
    pub fn internal(detail: &dyn std::fmt::Display) -> ApiError {
        // With the request's id at any log level, so a user's report finds it.
        match super::trace::current_id() {
            Some(id) => tracing::error!(error = %detail, request_id = %id, "internal error"),
            None => tracing::error!(error = %detail, "internal error"),
        }
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; it has been logged",
        )
    }

    /// The answer to a rejected JSON body.
    pub fn from_json_rejection(r: &axum::extract::rejection::JsonRejection) -> ApiError {
        use axum::extract::rejection::JsonRejection::*;
        match r {
            MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON with `Content-Type: application/json`",
            ),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            JsonSyntaxError(_) | JsonDataError(_) => {
                ApiError::bad_request("invalid_json", &r.body_text())
            }
            _ => ApiError::bad_request("invalid_body", &r.body_text()),
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// 408: the body did not arrive in time.
pub fn body_timeout() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request body did not arrive in time (see --body-timeout-ms)",
    )
}

/// 413.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is larger than this route accepts",
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::Map::new();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.into());
        error.extend(self.extra);
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after_secs
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

fn call_error(error: &CallError, call_id: &str) -> ApiError {
    use crate::runtime::bindings::airlock::connector::types::ConnectorError;
    let message = error.to_string();
    let (status, code) = match error {
        CallError::Timeout { .. }
        | CallError::WallClockTimeout { .. }
        | CallError::OutOfFuel { .. } => (StatusCode::GATEWAY_TIMEOUT, "connector_timeout"),
        CallError::MemoryExceeded { .. } | CallError::StackOverflow | CallError::Trapped(_) => {
            (StatusCode::BAD_GATEWAY, "connector_crashed")
        }
        CallError::OutputTooLarge { .. }
        | CallError::TooManyOutputs { .. }
        | CallError::TransferTooLarge { .. } => {
            (StatusCode::BAD_GATEWAY, "connector_output_too_large")
        }
        CallError::ContractViolation(_) => (StatusCode::BAD_GATEWAY, "connector_broke_contract"),
        CallError::HostUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        CallError::Connector(e) => match e {
            ConnectorError::InvalidInput(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "connector_rejected_input")
            }
            ConnectorError::InvalidConfig(_) => (StatusCode::CONFLICT, "connector_rejected_config"),
            ConnectorError::Upstream(_) => (StatusCode::BAD_GATEWAY, "upstream_failed"),
            ConnectorError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ConnectorError::Unsupported(_) => (StatusCode::BAD_REQUEST, "unsupported"),
            ConnectorError::Internal(_) => (StatusCode::BAD_GATEWAY, "connector_failed"),
        },
    };
    let mut e = ApiError::new(status, code, &message)
        .with("call_id", call_id.into())
        .with("kind", error.kind().into());
    if let CallError::Connector(c) = error
        && let Some((path, rest)) = crate::runtime::connector_error_field(c)
    {
        e = e.with(
            "details",
            json!([{ "path": crate::text::bounded(path, 256), "message": crate::text::bounded(rest, 300) }]),
        );
    }
    if error.is_hosts_fault() {
        e.retry_after_secs = Some(1);
    }
    if let CallError::Connector(ConnectorError::RateLimited(r)) = error {
        e.retry_after_secs = Some(r.retry_after_ms.div_ceil(1000));
    }
    e
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> ApiError {
        match e {
            RegistryError::NotFound(m) => ApiError::not_found(&m),
            RegistryError::BadRequest { code, message } => ApiError::bad_request(code, &message),
            RegistryError::Unprocessable {
                code,
                message,
                details,
            } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, &message).with(
                "details",
                serde_json::to_value(details).unwrap_or(Value::Null),
            ),
            RegistryError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, &message)
            }
            RegistryError::Load(LoadError::TooLarge { size }) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &LoadError::TooLarge { size }.to_string(),
            ),
            RegistryError::Load(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_component",
                &e.to_string(),
            ),
            RegistryError::Call { error, call_id } => call_error(&error, &call_id),
            RegistryError::Store(e) => ApiError::internal(&e),
            RegistryError::Internal(e) => ApiError::internal(&e),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::InvalidToken(_) => ApiError::unauthorized(&e.to_string()),
            AuthError::InvalidClient => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_client", &e.to_string())
            }
            AuthError::InvalidScope(_) => ApiError::bad_request("invalid_scope", &e.to_string()),
            AuthError::Store(e) => ApiError::internal(&e),
            AuthError::Internal(e) => ApiError::internal(&e),
        }
    }
}

impl ApiError {
    /// This error as a GraphQL error: the same sentence, and in `extensions` the
    /// REST `code`, the HTTP `status` REST would have answered, any details the REST
    /// body carries, and `retryAfter` (seconds) where REST sends `Retry-After`.
    pub fn into_graphql(self) -> async_graphql::Error {
        let ApiError {
            status,
            code,
            message,
            extra,
            retry_after_secs,
        } = self;
        use async_graphql::ErrorExtensions as _;
        async_graphql::Error::new(message).extend_with(|_, e| {
            e.set("code", code);
            e.set("status", status.as_u16());
            for (k, v) in extra {
                if let Ok(v) = async_graphql::Value::from_json(v) {
                    e.set(k, v);
                }
            }
            if let Some(secs) = retry_after_secs {
                e.set("retryAfter", secs);
            }
        })
    }
}
