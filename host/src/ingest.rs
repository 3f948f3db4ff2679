//! The inbound pipeline of push connectors. First half, here: route → method
//! check → verify → durable insert → acknowledge. Second half, asynchronous, in
//! [`pipeline`]: transform → validate → publish or quarantine.
//!
//! **Invariants:**
//! - The method a request uses is read from its headers and compared with the
//!   connector's **before the body is read**: a mismatch is 401 even for a body over
//!   the size limit. So are the checks that need no body (headers present, the
//!   timestamp within tolerance, an API key in Airlock's format and known).
//! - An event is acknowledged (202) only after its row is committed; a redelivery
//!   (same connector, same idempotency key) is acknowledged with the first one's id
//!   and stored once. Commits are grouped: one writer task commits whatever events
//!   are waiting in one transaction (no lock contention between requests, one
//!   commit for many), then answers each.
//! - Failures say which check failed, never which secret was expected; an unknown
//!   connector and a wrong credential look alike (401). A disabled connector's
//!   events are refused (409) once the request has authenticated, and not stored.
//!
//! Methods: `hmac-sha256` (Standard Webhooks), `api-key` (`X-API-Key`),
//! `oauth2` (`Authorization: Bearer` with an access token from `/oauth/token`:
//! signature, issuer, audience and expiry as every token, then the connector's
//! tenant, the `events:ingest` scope and the connector's own client) and `rsa`
//! (RFC 9421 signatures over `@method`, `@path` and `content-digest`, verified from
//! the headers; the body is then checked against its RFC 9530 `Content-Digest`; see
//! [`crate::auth::httpsig`]).

pub mod pipeline;
pub mod rsa_pool;

use axum::http::HeaderMap;
use base64::Engine as _;
use tokio::sync::{mpsc, oneshot};

pub use pipeline::Pipeline;
pub use rsa_pool::RsaPool;

use crate::auth::httpsig::{self, HttpSigError};
use crate::auth::push::{self, PushAuthError, WebhookHeaders};
use crate::auth::{Scope, Tokens};
use crate::keys::Keys;
use crate::store::{ConnectorRow, EventOutcome, NewEvent, Store, StoreError};
use crate::time::now_ms;
use crate::vocab::AuthMethod;

/// Largest event body accepted.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Largest total size of a push's headers (names, values and separators): far
/// above what any of the four methods needs, and far below what would let an
/// unauthenticated request carry work by the kilobyte.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Why a push was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The request is malformed: a stable code and what is wrong.
    #[error("{message}")]
    BadRequest {
        /// A stable snake_case code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The event's id was already used for an event with another body.
    #[error("event id {0:?} was already accepted with a different body; nothing was stored")]
    KeyReused(String),
    /// Too many RSA verifications are waiting ([`rsa_pool::Busy`]): retry shortly.
    #[error(transparent)]
    Busy(#[from] rsa_pool::Busy),
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
    /// The headers are over [`MAX_HEADER_BYTES`] in all.
    #[error("the request's headers are larger than {MAX_HEADER_BYTES} bytes in all")]
    HeadersTooLarge,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The connector is disabled (after an authenticated request only, so the
    /// state does not leak): the admin's reason.
    #[error("the connector is disabled: {0}")]
    Disabled(String),
    /// The commit of the event failed (the database's reason).
    #[error("the event could not be committed: {0}")]
    Commit(String),
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
            // The secret is the connector's: a mismatch answers as any other.
            PushAuthError::BadSignature => return unauthorized("bad_credential", NO_SUCH_SENDER),
            PushAuthError::MalformedKey => "bad_credential",
        };
        unauthorized(code, e.to_string())
    }
}

impl From<HttpSigError> for IngestError {
    fn from(e: HttpSigError) -> Self {
        let code = match e {
            HttpSigError::Stale => "stale_timestamp",
            // Both need the connector's keys: they answer as any other mismatch.
            HttpSigError::BadSignature | HttpSigError::UnknownKey => {
                return unauthorized("bad_credential", NO_SUCH_SENDER);
            }
            // Only after the signature verified: the sender is authenticated.
            HttpSigError::DigestMismatch => "digest_mismatch",
            HttpSigError::Missing(_)
            | HttpSigError::Malformed(..)
            | HttpSigError::NotCovered(_)
            | HttpSigError::UnsupportedAlg(_)
            | HttpSigError::Component(_) => "bad_credential",
        };
        unauthorized(code, e.to_string())
    }
}

/// What a request presents as its credential, read from its headers alone.
enum Presented {
    /// Standard Webhooks headers, well formed and fresh (the body is signed).
    Hmac,
    /// A well-formed API key, by its hash.
    ApiKey(String),
    /// A valid token with `events:ingest`.
    Token(crate::auth::Principal),
    /// RFC 9421 signatures, well formed and fresh.
    Rsa(Vec<httpsig::Candidate>),
}

/// The one answer to every push credential that fails against the connector
/// (see [`Ingest::check`]).
const NO_SUCH_SENDER: &str = "no push connector with this id accepts this credential: check the \
     connector id, its tenant, and the secret, key or token the request carries";

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
    /// RSA: the idempotency key when the sender gives none (the signature's hash).
    replay_key: Option<String>,
    /// RSA: the signed `Content-Digest` the body must match.
    content_digest: Option<String>,
    /// HMAC keys valid now (empty for API keys, already checked).
    keys: Vec<Vec<u8>>,
    /// Whether `keys` came from the cache (a failed check then looks again).
    from_cache: bool,
}

impl Pending {
    /// A request whose credential is fully verified from its headers: nothing
    /// left to check against the body.
    fn verified(connector: ConnectorRow) -> Pending {
        Pending {
            connector,
            replay_key: None,
            content_digest: None,
            keys: Vec::new(),
            from_cache: false,
        }
    }
}

/// How long a connector's credentials are trusted from memory. This node's
/// rotations, disables and enables drop the entry at once ([`Ingest::forget`]);
/// another node's are seen within this time (a new credential within
/// [`RELOAD_INTERVAL`]: a miss reloads, at most that often).
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// Connectors cached at most (the cache is cleared when full).
const CACHE_ENTRIES: usize = 10_000;
/// The least time between two forced reloads of one connector's credentials, and
/// how long an unknown connector id is remembered as unknown: a flood of forged
/// signatures or random ids costs at most one query per connector id per this
/// long, not one per request. (A connector registered on another node is then
/// seen within this long.)
const RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// A credential as held in memory.
#[derive(Debug, Clone)]
struct Credential {
    /// `None` while current; the end of its rotation grace otherwise.
    valid_until_ms: Option<i64>,
    /// HMAC: the opened signing key.
    hmac_key: Option<Vec<u8>>,
    /// API key: its SHA-256, hex.
    key_hash: Option<String>,
    /// OAuth2: the client whose tokens push for the connector.
    client_id: Option<String>,
    /// RSA: the key id and the public key.
    rsa: Option<(String, std::sync::Arc<rsa::RsaPublicKey>)>,
}

/// A connector and its credentials as loaded.
#[derive(Debug, Clone)]
struct Known {
    connector: ConnectorRow,
    credentials: Vec<Credential>,
    loaded: std::time::Instant,
    from_cache: bool,
}

impl Known {
    fn valid(&self, now_ms: i64) -> impl Iterator<Item = &Credential> {
        self.credentials
            .iter()
            .filter(move |c| c.valid_until_ms.is_none_or(|u| u > now_ms))
    }

    fn hmac_keys(&self, now_ms: i64) -> Vec<Vec<u8>> {
        self.valid(now_ms)
            .filter_map(|c| c.hmac_key.clone())
            .collect()
    }

    fn rsa_keys(&self, now_ms: i64) -> Vec<(String, std::sync::Arc<rsa::RsaPublicKey>)> {
        self.valid(now_ms).filter_map(|c| c.rsa.clone()).collect()
    }

    fn knows_client(&self, client_id: &str, now_ms: i64) -> bool {
        self.valid(now_ms)
            .any(|c| c.client_id.as_deref() == Some(client_id))
    }

    fn knows_key(&self, hash: &str, now_ms: i64) -> bool {
        let mut found = subtle::Choice::from(0u8);
        for h in self.valid(now_ms).filter_map(|c| c.key_hash.as_deref()) {
            found |= subtle::ConstantTimeEq::ct_eq(h.as_bytes(), hash.as_bytes());
        }
        found.into()
    }
}

/// An acknowledged event.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
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
    tokens: std::sync::Arc<Tokens>,
    /// Whether a token's client was revoked (the `oauth2` method).
    clients: std::sync::Arc<crate::auth::clients::ClientStatus>,
    committer: mpsc::Sender<Commit>,
    cache: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Known>>>,
    /// Connector ids recently looked up and not found, and when.
    absent: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
    /// Where RSA signatures are verified (never on an async worker).
    rsa: RsaPool,
}

/// Events committed in one transaction at most (group commit).
const MAX_BATCH: usize = 256;

/// One event waiting for the committer, and where its answer goes.
type Commit = (NewEvent, oneshot::Sender<Result<EventOutcome, String>>);

/// The group committer: takes whatever events are waiting (up to [`MAX_BATCH`]),
/// commits them in one transaction, then answers each. Under load many pushes share
/// a commit; alone, an event is committed at once. No answer before the commit.
async fn commit_loop(store: Store, mut rx: mpsc::Receiver<Commit>, pipeline: Pipeline) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (events, replies): (Vec<NewEvent>, Vec<_>) = batch.into_iter().unzip();
        match store.insert_events(&events).await {
            Ok(answers) => {
                pipeline.wake();
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(Ok(answer));
                }
            }
            // One bad event must not fail its batch-mates: commit each alone, so
            // only the event that fails gets the error.
            Err(_) if events.len() > 1 => {
                pipeline.wake();
                for (event, reply) in events.iter().zip(replies) {
                    let answer = store.insert_events(std::slice::from_ref(event)).await;
                    let _ = reply.send(match answer {
                        Ok(mut one) => one.pop().ok_or_else(|| "no answer".to_string()),
                        Err(e) => Err(e.to_string()),
                    });
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The method a request's headers use, if any.
fn method_of(headers: &HeaderMap) -> Option<AuthMethod> {
    if headers.contains_key("webhook-signature") || headers.contains_key("svix-signature") {
        Some(AuthMethod::HmacSha256)
    } else if headers.contains_key("x-api-key") {
        Some(AuthMethod::ApiKey)
    } else if headers.contains_key("signature-input") {
        Some(AuthMethod::Rsa)
    } else if header(headers, "authorization").is_some_and(|a| a.starts_with("Bearer ")) {
        Some(AuthMethod::Oauth2)
    } else {
        None
    }
}

impl Ingest {
    /// The service over `store`, opening HMAC secrets with `keys` and verifying RSA
    /// signatures on `rsa`; starts its group
    /// committer on the current tokio runtime, which wakes `pipeline` after each
    /// commit.
    pub fn new(
        store: Store,
        keys: Keys,
        tokens: std::sync::Arc<Tokens>,
        clients: std::sync::Arc<crate::auth::clients::ClientStatus>,
        pipeline: Pipeline,
        rsa: RsaPool,
    ) -> Ingest {
        let (committer, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(commit_loop(store.clone(), rx, pipeline));
        Ingest {
            store,
            keys,
            tokens,
            clients,
            committer,
            cache: Default::default(),
            absent: Default::default(),
            rsa,
        }
    }

    /// Every check that needs no body: the connector, its method against the
    /// request's, the headers, the timestamp, the API key.
    pub async fn check_headers(
        &self,
        route: Route<'_>,
        parts: &axum::http::request::Parts,
    ) -> Result<Pending, IngestError> {
        let headers = &parts.headers;
        let header_bytes: usize = headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum();
        if header_bytes > MAX_HEADER_BYTES {
            return Err(IngestError::HeadersTooLarge);
        }
        let (connector_id, tenant) = match route {
            Route::Header => {
                let id =
                    header(headers, "x-connector-id").ok_or_else(|| IngestError::BadRequest {
                        code: "missing_connector",
                        message: "name the connector in `X-Connector-Id`, or post to the webhook \
                              path registration returned"
                            .into(),
                    })?;
                (id, None)
            }
            Route::Path {
                tenant_id,
                connector_id,
            } => (connector_id, Some(tenant_id)),
        };
        // What the request alone shows is checked first — its credential's form,
        // its timestamps, its token — so those answers are the same whatever the
        // id names. Everything that needs the connector comes after, and every
        // failure there answers alike (`unknown`): an unknown connector, another
        // tenant's, another method's, a wrong secret, key or signature. No
        // answer tells an unauthenticated caller whether the id exists or which method
        // it uses. (Still 401, still before the body where the method allows;
        // an HMAC signature is judged after the body, so *when* the refusal
        // comes tells an HMAC connector apart — the price of refusing a
        // mismatched method before its body, which the product requires.)
        let unknown = || unauthorized("bad_credential", NO_SUCH_SENDER);
        let used = method_of(headers).ok_or_else(unknown)?;
        let now = now_ms();
        let presented = match used {
            AuthMethod::HmacSha256 => {
                push::check_webhook_headers(webhook_headers(headers), now / 1000)?;
                Presented::Hmac
            }
            AuthMethod::ApiKey => {
                let key = header(headers, "x-api-key").unwrap_or_default();
                push::check_api_key_format(key)?;
                Presented::ApiKey(crate::auth::hash_secret(key))
            }
            AuthMethod::Oauth2 => {
                let token = header(headers, "authorization")
                    .and_then(|a| a.strip_prefix("Bearer "))
                    .unwrap_or_default();
                let principal = self
                    .tokens
                    .verify(token)
                    .map_err(|e| unauthorized("bad_token", e.to_string()))?;
                if !principal.has(Scope::EventsIngest) {
                    return Err(unauthorized(
                        "insufficient_scope",
                        "the token lacks the `events:ingest` scope",
                    ));
                }
                let active = self
                    .clients
                    .is_active(&principal.client_id)
                    .await
                    .map_err(|e| IngestError::Commit(e.to_string()))?;
                if !active {
                    return Err(unauthorized(
                        "bad_token",
                        "the client this token was issued to was revoked",
                    ));
                }
                Presented::Token(principal)
            }
            AuthMethod::Rsa => Presented::Rsa(httpsig::candidates(
                &httpsig::Request {
                    method: parts.method.as_str(),
                    path: parts.uri.path(),
                    query: parts.uri.query(),
                    scheme: parts.uri.scheme_str().unwrap_or("http"),
                    headers,
                },
                now / 1000,
            )?),
        };
        let found = self.known(connector_id, false).await?.filter(|k| {
            let method = k.connector.auth_method.as_deref();
            tenant.is_none_or(|t| t == k.connector.tenant_id)
                && method.and_then(|m| m.parse::<AuthMethod>().ok()) == Some(used)
        });
        let Some(mut known) = found else {
            // RSA headers go through the pool all the same (which then verifies
            // nothing): a full pool answers `busy` whatever the id names, so a
            // 503 does not single out the real RSA connectors.
            if let Presented::Rsa(candidates) = presented {
                self.rsa.verify(candidates, Vec::new()).await??;
            }
            return Err(unknown());
        };
        match presented {
            Presented::Hmac => Ok(Pending {
                keys: known.hmac_keys(now),
                from_cache: known.from_cache,
                ..Pending::verified(known.connector)
            }),
            Presented::ApiKey(hash) => {
                if !known.knows_key(&hash, now) && known.from_cache {
                    // Perhaps issued since the cache was filled: look again.
                    known = self.known(connector_id, true).await?.ok_or_else(unknown)?;
                }
                if !known.knows_key(&hash, now) {
                    return Err(unknown());
                }
                Ok(Pending::verified(known.connector))
            }
            Presented::Token(principal) => {
                if principal.tenant_id != known.connector.tenant_id {
                    return Err(unknown());
                }
                if !known.knows_client(&principal.client_id, now) && known.from_cache {
                    known = self.known(connector_id, true).await?.ok_or_else(unknown)?;
                }
                if !known.knows_client(&principal.client_id, now) {
                    // The caller is authenticated in this tenant: it may learn
                    // that its client is not this connector's sender.
                    return Err(unauthorized(
                        "wrong_client",
                        "the token was issued to a client that does not push for this connector",
                    ));
                }
                Ok(Pending::verified(known.connector))
            }
            Presented::Rsa(candidates) => {
                let mut verdict = self
                    .rsa
                    .verify(candidates.clone(), known.rsa_keys(now))
                    .await?;
                if matches!(verdict, Err(HttpSigError::UnknownKey)) && known.from_cache {
                    // Perhaps a key registered since the cache was filled (a new key
                    // has a new key id): look again. A bad signature under a known
                    // key id is not retried — that would let a forger double the RSA
                    // work and force a reload with every request.
                    known = self.known(connector_id, true).await?.ok_or_else(unknown)?;
                    verdict = self.rsa.verify(candidates, known.rsa_keys(now)).await?;
                }
                let accepted = verdict?;
                if headers.contains_key("idempotency-key") && !accepted.covers("idempotency-key") {
                    return Err(unauthorized(
                        "bad_credential",
                        "the signature must cover `idempotency-key` when the request sends one \
                         (a replay could otherwise change it)",
                    ));
                }
                // Exactly what the signature covered, every field line of it.
                let digest: Vec<&str> = headers
                    .get_all("content-digest")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .map(str::trim)
                    .collect();
                Ok(Pending {
                    replay_key: Some(format!(
                        "sig:{}",
                        crate::auth::hash_secret_bytes(&accepted.signature)
                    )),
                    content_digest: Some(digest.join(", ")),
                    ..Pending::verified(known.connector)
                })
            }
        }
    }

    /// Drops what the cache holds of a connector: its credentials or status changed
    /// (a rotation, a disable or enable), so the next push reads them afresh.
    fn forget(&self, connector_id: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(connector_id);
        }
        if let Ok(mut absent) = self.absent.lock() {
            absent.remove(connector_id);
        }
    }

    /// A connector and its credentials, from the cache when fresh (or `reload`
    /// forced), else from the store. HMAC secrets are opened once per load.
    async fn known(&self, connector_id: &str, reload: bool) -> Result<Option<Known>, IngestError> {
        {
            let cache = self
                .cache
                .lock()
                .map_err(|_| IngestError::Commit("cache poisoned".into()))?;
            // A forced reload within RELOAD_INTERVAL of the last load answers from
            // memory: it would read the same rows.
            let fresh = if reload { RELOAD_INTERVAL } else { CACHE_TTL };
            if let Some(k) = cache
                .get(connector_id)
                .filter(|k| k.loaded.elapsed() < fresh)
            {
                return Ok(Some(Known {
                    from_cache: !reload,
                    ..k.clone()
                }));
            }
        }
        if let Ok(absent) = self.absent.lock()
            && absent
                .get(connector_id)
                .is_some_and(|at| at.elapsed() < RELOAD_INTERVAL)
        {
            return Ok(None);
        }
        // Stamped before the query: an entry is never taken for fresher than the
        // rows it holds (a rotation committed while it loaded makes it stale).
        let started = std::time::Instant::now();
        let Some(connector) = self.store.connector_by_id(connector_id).await? else {
            if let Ok(mut absent) = self.absent.lock() {
                if absent.len() >= CACHE_ENTRIES {
                    absent.clear();
                }
                absent.insert(connector_id.to_string(), std::time::Instant::now());
            }
            return Ok(None);
        };
        let rows = self
            .store
            .valid_push_credentials(&connector.id, now_ms())
            .await?;
        let credentials = rows
            .into_iter()
            .map(|c| Credential {
                hmac_key: c.secret_sealed.as_deref().and_then(|sealed| {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(sealed)
                        .ok()?;
                    let secret = self.keys.open(&bytes).ok()?;
                    push::webhook_key(std::str::from_utf8(&secret).ok()?)
                }),
                valid_until_ms: c.valid_until_ms,
                key_hash: c.secret_hash,
                client_id: c.client_id,
                rsa: match (c.key_id, c.public_key.as_deref()) {
                    (Some(id), Some(pem)) => httpsig::parse_public_key(pem)
                        .ok()
                        .map(|k| (id, std::sync::Arc::new(k))),
                    _ => None,
                },
            })
            .collect();
        let known = Known {
            connector,
            credentials,
            loaded: started,
            from_cache: false,
        };
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| IngestError::Commit("cache poisoned".into()))?;
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(connector_id.to_string(), known.clone());
        Ok(Some(known))
    }

    /// Verifies the body (HMAC) and stores the event; answers once it is committed.
    pub async fn accept(
        &self,
        pending: Pending,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Accepted, IngestError> {
        let now = now_ms();
        let hmac =
            pending.connector.auth_method.as_deref() == Some(AuthMethod::HmacSha256.as_str());
        if hmac {
            let keys: Vec<&[u8]> = pending.keys.iter().map(Vec::as_slice).collect();
            let verdict = push::verify_webhook(&keys, webhook_headers(headers), body, now / 1000);
            match verdict {
                Err(PushAuthError::BadSignature) if pending.from_cache => {
                    // Perhaps signed with a credential issued since the cache was
                    // filled (a rotation): look again before refusing.
                    let fresh = self
                        .known(&pending.connector.id, true)
                        .await?
                        .map(|k| k.hmac_keys(now))
                        .unwrap_or_default();
                    let keys: Vec<&[u8]> = fresh.iter().map(Vec::as_slice).collect();
                    push::verify_webhook(&keys, webhook_headers(headers), body, now / 1000)?;
                }
                other => other?,
            }
        }
        if let Some(digest) = &pending.content_digest {
            httpsig::check_content_digest(digest, body)?;
        }
        // Only an authenticated sender learns that the connector is disabled. (The
        // connector row may be up to the cache's 5 s old.)
        if let Some(reason) = &pending.connector.disabled_reason {
            return Err(IngestError::Disabled(reason.clone()));
        }
        let given = if hmac {
            webhook_header(headers, "id")
        } else {
            header(headers, "idempotency-key")
        };
        let id = crate::store::row_id();
        // A key that cannot be kept is refused, not replaced: replacing it would
        // silently turn off deduplication for the sender's retries.
        if given.is_some_and(|k| k.is_empty() || k.len() > 256 || k.chars().any(char::is_control)) {
            return Err(IngestError::BadRequest {
                code: "bad_idempotency_key",
                message: "`Idempotency-Key` must be 1 to 256 characters without control characters"
                    .into(),
            });
        }
        let key = given
            .map(str::to_string)
            .or(pending.replay_key)
            .unwrap_or_else(|| id.clone());
        let body_sha256 = crate::auth::hash_secret_bytes(body);
        let event = NewEvent {
            id,
            tenant_id: pending.connector.tenant_id.clone(),
            connector_id: pending.connector.id.clone(),
            idempotency_key: key,
            content_type: header(headers, "content-type")
                .unwrap_or("application/octet-stream")
                .to_string(),
            body: body.to_vec(),
            body_sha256,
            received_ms: now,
        };
        let (reply, answer) = oneshot::channel();
        let gone = || IngestError::Commit("the event committer stopped".into());
        self.committer
            .send((event, reply))
            .await
            .map_err(|_| gone())?;
        let outcome = answer
            .await
            .map_err(|_| gone())?
            .map_err(IngestError::Commit)?;
        if !outcome.same_body {
            return Err(IngestError::KeyReused(key_of(headers, hmac)));
        }
        Ok(Accepted {
            id: outcome.id,
            duplicate: !outcome.stored,
        })
    }
}

/// The sender's event id, for messages.
fn key_of(headers: &HeaderMap, hmac: bool) -> String {
    let key = if hmac {
        webhook_header(headers, "id")
    } else {
        header(headers, "idempotency-key")
    };
    key.unwrap_or_default().to_string()
}

fn webhook_headers(headers: &HeaderMap) -> WebhookHeaders<'_> {
    WebhookHeaders {
        id: webhook_header(headers, "id"),
        timestamp: webhook_header(headers, "timestamp"),
        signature: webhook_header(headers, "signature"),
    }
}

/// A Standard Webhooks header, `webhook-<part>`, or Svix's name for the same
/// scheme, `svix-<part>` (senders using Svix's libraries send those). A header that
/// is present but not visible ASCII reads as empty, so it is refused as malformed
/// rather than reported missing.
fn webhook_header<'h>(headers: &'h HeaderMap, part: &str) -> Option<&'h str> {
    [format!("webhook-{part}"), format!("svix-{part}")]
        .iter()
        .find_map(|name| headers.get(name.as_str()))
        .map(|v| v.to_str().unwrap_or(""))
}

/// The registry tells the cache when a connector's credentials or enablement
/// change (rotate, disable, enable), so the change is effective at once.
impl crate::registry::ConnectorCache for Ingest {
    fn forget(&self, connector_id: &str) {
        Ingest::forget(self, connector_id);
    }
}
