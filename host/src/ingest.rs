//! The inbound pipeline of push connectors, first half: route → method check →
//! verify → durable insert → acknowledge. (Transform, validate and publish follow
//! with the bus; see the issues.)
//!
//! **Invariants:**
//! - The method a request uses is read from its headers and compared with the
//!   connector's **before the body is read**: a mismatch is 401 even for a body over
//!   the size limit. So are the checks that need no body (headers present, the
//!   timestamp within tolerance, an API key in Airlock's format and known).
//! - An event is acknowledged (202) only after its row is committed; a redelivery
//!   (same connector, same idempotency key) is acknowledged with the first one's id
//!   and stored once.
//! - Failures say which check failed, never which secret was expected; an unknown
//!   connector and a wrong credential look alike (401).
//!
//! Methods today: `hmac-sha256` (Standard Webhooks) and `api-key` (`X-API-Key`).
//! Connectors registered with `oauth2` or `rsa` are refused with a sentence saying
//! so until those verifiers land.

use axum::http::HeaderMap;
use base64::Engine as _;

use crate::auth::push::{self, PushAuthError, WebhookHeaders};
use crate::keys::Keys;
use crate::store::{ConnectorRow, NewEvent, Store, StoreError, now_ms};

/// Largest event body accepted.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Why a push was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The request does not say which connector it is for.
    #[error("{0}")]
    BadRequest(String),
    /// Authentication failed: `code` and a sentence for the sender.
    #[error("{message}")]
    Unauthorized {
        /// A stable snake_case code.
        code: &'static str,
        /// What failed.
        message: String,
    },
    /// The body is over [`MAX_EVENT_BYTES`].
    #[error("the event body is larger than {MAX_EVENT_BYTES} bytes")]
    TooLarge,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn unauthorized(code: &'static str, message: impl Into<String>) -> IngestError {
    IngestError::Unauthorized {
        code,
        message: message.into(),
    }
}

impl From<PushAuthError> for IngestError {
    fn from(e: PushAuthError) -> Self {
        let code = match e {
            PushAuthError::MissingHeader(_) | PushAuthError::BadHeader(_) => "bad_credential",
            PushAuthError::TooOld | PushAuthError::TooNew => "stale_timestamp",
            PushAuthError::BadSignature => "bad_signature",
            PushAuthError::MalformedKey => "bad_credential",
        };
        unauthorized(code, e.to_string())
    }
}

/// Which connector a request names.
#[derive(Debug, Clone, Copy)]
pub enum Route<'a> {
    /// `POST /api/events/ingest` with `X-Connector-Id`.
    Header,
    /// `POST /api/events/ingest/{tenant_id}/{connector_id}`.
    Path {
        /// From the path.
        tenant_id: &'a str,
        /// From the path.
        connector_id: &'a str,
    },
}

/// A request that passed every check its headers allow; its body comes next.
#[derive(Debug)]
pub struct Pending {
    connector: ConnectorRow,
    /// HMAC keys valid now (empty for API keys, already checked).
    keys: Vec<Vec<u8>>,
}

/// An acknowledged event.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Accepted {
    /// The event's id (the first delivery's, for a redelivery).
    pub id: String,
    /// True when this delivery was a redelivery and nothing was stored.
    pub duplicate: bool,
}

/// The ingest service.
#[derive(Debug, Clone)]
pub struct Ingest {
    store: Store,
    keys: Keys,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The method a request's headers use, if any.
fn method_of(headers: &HeaderMap) -> Option<&'static str> {
    if headers.contains_key("webhook-signature") {
        Some("hmac-sha256")
    } else if headers.contains_key("x-api-key") {
        Some("api-key")
    } else if headers.contains_key("signature-input") {
        Some("rsa")
    } else if header(headers, "authorization").is_some_and(|a| a.starts_with("Bearer ")) {
        Some("oauth2")
    } else {
        None
    }
}

impl Ingest {
    /// The service over `store`, opening HMAC secrets with `keys`.
    pub fn new(store: Store, keys: Keys) -> Ingest {
        Ingest { store, keys }
    }

    /// Every check that needs no body: the connector, its method against the
    /// request's, the headers, the timestamp, the API key.
    pub async fn check_headers(
        &self,
        route: Route<'_>,
        headers: &HeaderMap,
    ) -> Result<Pending, IngestError> {
        let connector = match route {
            Route::Header => {
                let id = header(headers, "x-connector-id").ok_or_else(|| {
                    IngestError::BadRequest(
                        "name the connector in `X-Connector-Id`, or post to the webhook path \
                         registration returned"
                            .into(),
                    )
                })?;
                self.store.connector_by_id(id).await?
            }
            Route::Path {
                tenant_id,
                connector_id,
            } => self.store.connector(tenant_id, connector_id).await?,
        };
        let unknown = || {
            unauthorized(
                "unknown_connector",
                "no push connector with this id accepts this credential",
            )
        };
        let connector = connector.ok_or_else(unknown)?;
        let Some(expected) = connector.auth_method.clone() else {
            return Err(unknown());
        };
        let used = method_of(headers).ok_or_else(|| {
            unauthorized(
                "missing_credential",
                format!("the request carries no credential; this connector uses {expected}"),
            )
        })?;
        if used != expected {
            return Err(unauthorized(
                "wrong_auth_method",
                format!("the request is signed with {used}, but this connector uses {expected}"),
            ));
        }
        let now = now_ms();
        let credentials = self
            .store
            .valid_push_credentials(&connector.id, now)
            .await?;
        match used {
            "hmac-sha256" => {
                push::check_webhook_headers(webhook_headers(headers), now / 1000)?;
                let keys = credentials
                    .iter()
                    .filter_map(|c| c.secret_sealed.as_deref())
                    .filter_map(|sealed| {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(sealed)
                            .ok()?;
                        let secret = self.keys.open(&bytes).ok()?;
                        push::webhook_key(std::str::from_utf8(&secret).ok()?)
                    })
                    .collect();
                Ok(Pending { connector, keys })
            }
            "api-key" => {
                let key = header(headers, "x-api-key").unwrap_or_default();
                push::check_api_key_format(key)?;
                let hash = push::hash_api_key(key);
                let known = credentials.iter().any(|c| {
                    c.secret_hash.as_deref().is_some_and(|h| {
                        subtle::ConstantTimeEq::ct_eq(h.as_bytes(), hash.as_bytes()).into()
                    })
                });
                if !known {
                    return Err(unauthorized(
                        "bad_credential",
                        "the API key is not valid for this connector",
                    ));
                }
                Ok(Pending {
                    connector,
                    keys: Vec::new(),
                })
            }
            other => Err(unauthorized(
                "unsupported_auth_method",
                format!("{other} verification is not available in this version of Airlock yet"),
            )),
        }
    }

    /// Verifies the body (HMAC) and stores the event; answers once it is committed.
    pub async fn accept(
        &self,
        pending: Pending,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Accepted, IngestError> {
        let now = now_ms();
        let hmac = pending.connector.auth_method.as_deref() == Some("hmac-sha256");
        if hmac {
            let keys: Vec<&[u8]> = pending.keys.iter().map(Vec::as_slice).collect();
            push::verify_webhook(&keys, webhook_headers(headers), body, now / 1000)?;
        }
        let given = if hmac {
            header(headers, "webhook-id")
        } else {
            header(headers, "idempotency-key")
        };
        let id = uuid::Uuid::new_v4().to_string();
        let key = given
            .filter(|k| !k.is_empty() && k.len() <= 256)
            .map(str::to_string)
            .unwrap_or_else(|| id.clone());
        let (id, inserted) = self
            .store
            .insert_event(&NewEvent {
                id: &id,
                tenant_id: &pending.connector.tenant_id,
                connector_id: &pending.connector.id,
                idempotency_key: &key,
                content_type: header(headers, "content-type").unwrap_or("application/octet-stream"),
                body,
                received_ms: now,
            })
            .await?;
        Ok(Accepted {
            id,
            duplicate: !inserted,
        })
    }
}

fn webhook_headers(headers: &HeaderMap) -> WebhookHeaders<'_> {
    WebhookHeaders {
        id: header(headers, "webhook-id"),
        timestamp: header(headers, "webhook-timestamp"),
        signature: header(headers, "webhook-signature"),
    }
}
