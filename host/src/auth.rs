//! Tenants, OAuth 2.0 clients and the access tokens they get.
//!
//! Access tokens are JWTs shaped as RFC 9068 (`typ: at+jwt`; `iss`, `aud`, `sub`,
//! `client_id`, `exp`, `iat`, `nbf`, `jti`, `scope`, plus `tenant_id`), signed with
//! EdDSA (Ed25519) by the key in the data directory and valid for
//! [`TOKEN_TTL_SECS`].
//!
//! Invariants:
//! - Only EdDSA tokens with `typ: at+jwt`, our issuer and audience, unexpired and
//!   already valid (`nbf`), are accepted; `alg: none`, other algorithms and other
//!   keys are refused.
//! - Client secrets are 32 random bytes, stored as their SHA-256 and compared in
//!   constant time; a secret is shown once, when created.
//! - Creating a tenant or a client appends an audit row in the same transaction.

pub mod clients;
pub mod httpsig;
pub mod limiter;
pub mod push;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::keys::{Keys, random_token};
use crate::store::{AuditEntry, ClientRow, Rows, Store, StoreError, TenantRow};
use crate::time::hex;

/// How long an access token lives.
pub const TOKEN_TTL_SECS: u64 = 900;

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 5;

/// How long after its rotation a retired token-signing key may still have signed:
/// a running node takes up the new key within
/// [`crate::keys::TOKEN_KEY_RELOAD_SECS`], and other nodes once the files are
/// copied to them. Five minutes covers both; a copy later than that makes tokens
/// signed meanwhile fail early.
pub const RETIRED_KEY_MARGIN_SECS: u64 = 300;

/// How long a retired token-signing key verifies after its rotation: the margin,
/// then a token's lifetime and leeway.
pub const RETIRED_KEY_LIFETIME_SECS: u64 = RETIRED_KEY_MARGIN_SECS + TOKEN_TTL_SECS + LEEWAY_SECS;

/// The `aud` of every access token.
pub const AUDIENCE: &str = "airlock-api";

/// A permission a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Register, upload, deploy, configure, invoke, disable and enable connectors.
    ConnectorsManage,
    /// Read the catalogue, health and the SDK manifest.
    ConnectorsRead,
    /// Send heartbeats for connectors.
    ConnectorHeartbeat,
    /// Push events.
    EventsIngest,
    /// Read and subscribe to events.
    EventsRead,
    /// Read the audit trail.
    AuditRead,
    /// Approve a version that asks for more (outbound hosts, capabilities,
    /// secrets, credential bindings) than its connector is approved for: a held
    /// upgrade, or by deploying it.
    ConnectorsApprove,
    /// Read the node's metrics (`GET /metrics`): node-wide, every tenant's series —
    /// for the operator's scraper only.
    MetricsRead,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 8] = [
        Scope::ConnectorsManage,
        Scope::ConnectorsRead,
        Scope::ConnectorHeartbeat,
        Scope::EventsIngest,
        Scope::EventsRead,
        Scope::AuditRead,
        Scope::ConnectorsApprove,
        Scope::MetricsRead,
    ];

    /// The scope's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ConnectorsManage => "connectors:manage",
            Scope::ConnectorsRead => "connectors:read",
            Scope::ConnectorHeartbeat => "connector:heartbeat",
            Scope::EventsIngest => "events:ingest",
            Scope::EventsRead => "events:read",
            Scope::AuditRead => "audit:read",
            Scope::ConnectorsApprove => "connectors:approve",
            Scope::MetricsRead => "metrics:read",
        }
    }

    /// Parses a scope name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject: the client id.
    pub sub: String,
    /// The client id (RFC 9068).
    pub client_id: String,
    /// The tenant the client belongs to.
    pub tenant_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issue time.
    pub iat: u64,
    /// Not valid before.
    pub nbf: u64,
    /// Unique token id.
    pub jti: String,
}

/// Who is calling, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's tenant.
    pub tenant_id: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// What the token allows.
    pub scopes: Vec<Scope>,
    /// When the token expires, seconds since the epoch (a long-lived answer, such
    /// as a GraphQL subscription, ends then).
    pub expires_at: u64,
}

impl Principal {
    /// Whether the token carries `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Why a token or a client credential was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is malformed, badly signed, expired, not yet valid, or not ours.
    #[error("the access token is invalid: {0}")]
    InvalidToken(String),
    /// Unknown client or wrong secret (deliberately not saying which).
    #[error("unknown client or wrong client secret")]
    InvalidClient,
    /// The client asked for a scope it does not hold.
    #[error("the client may not request scope `{0}`")]
    InvalidScope(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Randomness or signing failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a token was refused, as a sentence a client can act on (never the JWT
/// library's own wording, which names its internals).
fn token_refusal(e: &jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind;
    let why = match e.kind() {
        ErrorKind::ExpiredSignature => "it has expired; request a new one",
        ErrorKind::ImmatureSignature => "it is not valid yet",
        ErrorKind::InvalidSignature => "its signature does not verify",
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
            "it was not issued by this server for this API"
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "it is not signed with EdDSA"
        }
        ErrorKind::MissingRequiredClaim(_) => "it lacks a required claim",
        _ => "it is not a well-formed JWT",
    };
    AuthError::InvalidToken(why.into())
}

/// Issues and verifies access tokens.
#[derive(Clone)]
pub struct Tokens {
    /// The signing key and every key that verifies; replaced whole on a rotation.
    keys: Arc<RwLock<Arc<KeySet>>>,
    issuer: String,
    validation: Validation,
    /// Tokens already verified, with their expiry: a token's validity depends only on
    /// its bytes and the clock, so a hit skips the signature check (the expiry is
    /// still checked). Bounded; cleared when full.
    verified: Arc<Mutex<HashMap<String, (Principal, u64)>>>,
}

/// The keys of [`Tokens`] at one time.
struct KeySet {
    signing: EncodingKey,
    /// The signing key's `kid`.
    kid: String,
    /// The current key first, then retired ones still within their tokens' life.
    verifying: Vec<VerifyingKey>,
}

/// A key that verifies tokens.
struct VerifyingKey {
    kid: String,
    decoding: DecodingKey,
    /// As a JWK (RFC 8037), with its RFC 7638 thumbprint as `kid`.
    jwk: serde_json::Value,
    /// Unix seconds after which no token it signed can be valid (`None`: current).
    until: Option<u64>,
}

/// An Ed25519 key from its seed: the signing key and the verifying key.
fn ed25519(seed: &[u8; 32]) -> Result<(EncodingKey, VerifyingKey), AuthError> {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    let signing = ed25519_dalek::SigningKey::from_bytes(seed);
    let der = signing
        .to_pkcs8_der()
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let x = base64::Engine::encode(&b64, signing.verifying_key().as_bytes());
    // RFC 7638: the thumbprint is over the required members, in this order.
    let thumbprint = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    let kid = base64::Engine::encode(&b64, Sha256::digest(thumbprint.as_bytes()));
    let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid,
        "alg": "EdDSA", "use": "sig"});
    Ok((
        EncodingKey::from_ed_der(der.as_bytes()),
        VerifyingKey {
            kid,
            decoding: DecodingKey::from_ed_der(signing.verifying_key().as_bytes()),
            jwk,
            until: None,
        },
    ))
}

impl KeySet {
    fn of(keys: &Keys) -> Result<KeySet, AuthError> {
        let (signing, current) = ed25519(&keys.jwt_seed)?;
        let kid = current.kid.clone();
        let mut verifying = vec![current];
        // Newest first; a key listed twice (a rotation cut short) is kept once.
        for retired in keys.retired_jwt.iter().rev() {
            let Some(seed) = retired.seed() else { continue };
            let (_, mut key) = ed25519(&seed)?;
            if verifying.iter().any(|k| k.kid == key.kid) {
                continue;
            }
            key.until = Some(retired.retired_at + RETIRED_KEY_LIFETIME_SECS);
            verifying.push(key);
        }
        Ok(KeySet {
            signing,
            kid,
            verifying,
        })
    }

    /// The keys that may still verify a token at `now`.
    fn live(&self, now: u64) -> impl Iterator<Item = &VerifyingKey> {
        self.verifying
            .iter()
            .filter(move |k| k.until.is_none_or(|until| now <= until))
    }
}

/// How many verified tokens [`Tokens`] remembers.
const VERIFIED_CACHE: usize = 10_000;

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .finish()
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// SHA-256 of a client secret, hex: what the store keeps.
pub fn hash_secret(secret: &str) -> String {
    hash_secret_bytes(secret.as_bytes())
}

/// SHA-256 of bytes, hex (what [`hash_secret`] stores, for any bytes).
pub fn hash_secret_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

impl Tokens {
    /// Tokens signed with the node's current Ed25519 key (retired keys verify until
    /// their tokens have expired), issued as `issuer`.
    pub fn new(keys: &Keys, issuer: &str) -> Result<Tokens, AuthError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        Ok(Tokens {
            keys: Arc::new(RwLock::new(Arc::new(KeySet::of(keys)?))),
            issuer: issuer.to_string(),
            validation,
            verified: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Takes up `keys` after a rotation: their current key signs from now on, and
    /// the keys it replaced verify until their tokens have expired.
    pub fn install(&self, keys: &Keys) -> Result<(), AuthError> {
        let set = Arc::new(KeySet::of(keys)?);
        let mut slot = self
            .keys
            .write()
            .map_err(|_| AuthError::Internal("token keys poisoned".into()))?;
        *slot = set;
        Ok(())
    }

    fn key_set(&self) -> Result<Arc<KeySet>, AuthError> {
        self.keys
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| AuthError::Internal("token keys poisoned".into()))
    }

    /// The issuer name tokens carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The keys that verify tokens now, as JWKs (`kty` OKP, `crv` Ed25519, `kid`
    /// the RFC 7638 thumbprint): the signing key first, then retired keys until
    /// every token they signed has expired. What `/.well-known/jwks.json` lists.
    pub fn jwks(&self) -> Result<Vec<serde_json::Value>, AuthError> {
        let now = now_secs();
        Ok(self.key_set()?.live(now).map(|k| k.jwk.clone()).collect())
    }

    /// The `kid` of the key that signs now.
    pub fn signing_kid(&self) -> Result<String, AuthError> {
        Ok(self.key_set()?.kid.clone())
    }

    /// Signs `claims` as an RFC 9068 access token.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        let keys = self.key_set()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".into());
        header.kid = Some(keys.kid.clone());
        jsonwebtoken::encode(&header, claims, &keys.signing)
            .map_err(|e| AuthError::Internal(e.to_string()))
    }

    /// Claims for a fresh token of `client` with `scopes`.
    pub fn claims_for(&self, client: &ClientRow, scopes: &[Scope]) -> Result<Claims, AuthError> {
        let now = now_secs();
        Ok(Claims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.into(),
            sub: client.id.clone(),
            client_id: client.id.clone(),
            tenant_id: client.tenant_id.clone(),
            scope: scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            exp: now + TOKEN_TTL_SECS,
            iat: now,
            nbf: now,
            jti: random_token().map_err(|e| AuthError::Internal(e.to_string()))?,
        })
    }

    /// Verifies a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let now = now_secs();
        if let Ok(cache) = self.verified.lock()
            && let Some((principal, exp)) = cache.get(token)
            && now <= exp + LEEWAY_SECS
        {
            return Ok(principal.clone());
        }
        let principal = self.verify_uncached(token)?;
        Ok(principal)
    }

    fn verify_uncached(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| token_refusal(&e))?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err(AuthError::InvalidToken(
                "the token's type must be at+jwt".into(),
            ));
        }
        let keys = self.key_set()?;
        // The key the token names (the current one when it names none).
        let key = match header.kid.as_deref() {
            None => keys.live(now_secs()).next(),
            Some(kid) => keys.live(now_secs()).find(|k| k.kid == kid),
        }
        .ok_or_else(|| {
            AuthError::InvalidToken(
                "the token was signed by a key this server does not accept (unknown, or \
                 retired longer ago than a token lives); get a new token"
                    .into(),
            )
        })?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)
            .map_err(|e| token_refusal(&e))?;
        let c = data.claims;
        let principal = Principal {
            tenant_id: c.tenant_id,
            client_id: c.client_id,
            scopes: c
                .scope
                .split_whitespace()
                .filter_map(Scope::parse)
                .collect(),
            expires_at: c.exp,
        };
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CACHE {
                cache.clear();
            }
            cache.insert(token.to_string(), (principal.clone(), c.exp));
        }
        Ok(principal)
    }

    /// The client-credentials grant: checks the client's secret and the requested
    /// scopes (all the client holds when `requested` is `None`), and issues a token.
    pub async fn grant(
        &self,
        store: &Store,
        client_id: &str,
        secret: &str,
        requested: Option<&str>,
    ) -> Result<(String, Claims), AuthError> {
        let client = store.find_client(client_id).await?;
        // Hash even for an unknown client, so timing does not tell which case it is.
        let presented = hash_secret(secret);
        let client = match client {
            Some(c) if bool::from(presented.as_bytes().ct_eq(c.secret_hash.as_bytes())) => c,
            _ => return Err(AuthError::InvalidClient),
        };
        let held: Vec<Scope> = client
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s))
            .collect();
        let scopes = match requested {
            None => held,
            Some(r) => {
                let mut out = Vec::new();
                for name in r.split_whitespace() {
                    match Scope::parse(name) {
                        Some(s) if held.contains(&s) => out.push(s),
                        _ => return Err(AuthError::InvalidScope(name.to_string())),
                    }
                }
                out
            }
        };
        let claims = self.claims_for(&client, &scopes)?;
        Ok((self.sign(&claims)?, claims))
    }
}

/// Creates a tenant, audited. `actor` is who asked (e.g. `operator`).
pub async fn create_tenant(
    store: &Store,
    keys: &Keys,
    name: &str,
    actor: &str,
) -> Result<TenantRow, AuthError> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = store.begin(Rows::Tenant(&id)).await?;
    let tenant = Store::insert_tenant(&mut tx, &id, name).await?;
    crate::audit::append(
        store,
        &mut tx,
        keys,
        AuditEntry {
            tenant_id: id.clone(),
            actor: actor.to_string(),
            action: "tenant.create".into(),
            target: id.clone(),
            reason: None,
            detail: serde_json::json!({ "name": name }),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(tenant)
}

/// Creates a client of `tenant_id` holding `scopes`, audited; returns it and its
/// secret, which is not stored and cannot be shown again.
pub async fn create_client(
    store: &Store,
    keys: &Keys,
    tenant_id: &str,
    scopes: &[Scope],
    label: &str,
    actor: &str,
) -> Result<(ClientRow, String), AuthError> {
    let internal = |e: std::io::Error| AuthError::Internal(e.to_string());
    let secret = format!("acs_{}", random_token().map_err(internal)?);
    let client = ClientRow {
        id: format!("cli_{}", uuid::Uuid::new_v4().simple()),
        tenant_id: tenant_id.to_string(),
        secret_hash: hash_secret(&secret),
        scopes: scopes.iter().map(|s| s.as_str().to_string()).collect(),
        label: label.to_string(),
    };
    let mut tx = store.begin(Rows::Tenant(tenant_id)).await?;
    Store::insert_client(&mut tx, &client).await?;
    crate::audit::append(
        store,
        &mut tx,
        keys,
        AuditEntry {
            tenant_id: tenant_id.to_string(),
            actor: actor.to_string(),
            action: "client.create".into(),
            target: client.id.clone(),
            reason: None,
            detail: serde_json::json!({ "scopes": client.scopes, "label": label }),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((client, secret))
}

/// Revokes a client of `tenant_id`, audited (with `reason`): it gets no new token,
/// and the tokens it holds stop working within
/// [`clients::CLIENT_STATUS_TTL`] on every node. False when the tenant has no such
/// client or it was revoked already.
pub async fn revoke_client(
    store: &Store,
    keys: &Keys,
    tenant_id: &str,
    client_id: &str,
    reason: Option<&str>,
    actor: &str,
) -> Result<bool, AuthError> {
    let mut tx = store.begin(Rows::Tenant(tenant_id)).await?;
    if !Store::revoke_client(&mut tx, tenant_id, client_id).await? {
        return Ok(false);
    }
    crate::audit::append(
        store,
        &mut tx,
        keys,
        AuditEntry {
            tenant_id: tenant_id.to_string(),
            actor: actor.to_string(),
            action: "client.revoke".into(),
            target: client_id.to_string(),
            reason: reason.map(str::to_string),
            detail: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: u64) -> Claims {
        Claims {
            iss: "urn:airlock".into(),
            aud: AUDIENCE.into(),
            sub: "cli_a".into(),
            client_id: "cli_a".into(),
            tenant_id: "t".into(),
            scope: "connectors:read".into(),
            exp: now + TOKEN_TTL_SECS,
            iat: now,
            nbf: now,
            jti: "j".into(),
        }
    }

    /// A retired key verifies its tokens while they may live, then is dropped from
    /// the JWKS and refused; rotating twice keeps both older keys listed.
    #[test]
    fn retired_keys_verify_until_their_tokens_have_expired() {
        let dir = std::env::temp_dir().join(format!("airlock-auth-{}", uuid::Uuid::new_v4()));
        let now = now_secs();
        let keep = RETIRED_KEY_LIFETIME_SECS;
        let first = Tokens::new(&Keys::load_or_create(&dir).unwrap(), "urn:airlock").unwrap();
        let token = first.sign(&claims(now)).unwrap();

        // Retired just now: still listed and accepted, behind the new key.
        crate::keys::rotate_token_key(&dir, now, keep).unwrap();
        let second = Tokens::new(&Keys::load_or_create(&dir).unwrap(), "urn:airlock").unwrap();
        let kids = |t: &Tokens| -> Vec<String> {
            t.jwks()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_string())
                .collect()
        };
        let old = first.signing_kid().unwrap();
        let new = second.signing_kid().unwrap();
        assert_eq!(kids(&second), vec![new.clone(), old.clone()]);
        second.verify(&token).unwrap();

        // Installing the same keys into the first server has the same effect.
        first.install(&Keys::load_or_create(&dir).unwrap()).unwrap();
        assert_eq!(kids(&first), kids(&second));

        // A second rotation: both retired keys listed, newest first.
        crate::keys::rotate_token_key(&dir, now, keep).unwrap();
        let third = Tokens::new(&Keys::load_or_create(&dir).unwrap(), "urn:airlock").unwrap();
        assert_eq!(kids(&third)[1..], [new, old.clone()]);

        // Retired longer ago than a token it signed in the margin lives: gone from
        // the JWKS, and refused.
        let later = std::env::temp_dir().join(format!("airlock-auth-{}", uuid::Uuid::new_v4()));
        let before = Keys::load_or_create(&later).unwrap();
        let stale = Tokens::new(&before, "urn:airlock").unwrap();
        let stale_token = stale.sign(&claims(now)).unwrap();
        crate::keys::rotate_token_key(&later, now - keep - 1, keep).unwrap();
        let after = Tokens::new(&Keys::load_or_create(&later).unwrap(), "urn:airlock").unwrap();
        assert_eq!(kids(&after).len(), 1);
        let refused = after.verify(&stale_token).unwrap_err().to_string();
        assert!(refused.contains("does not accept"), "{refused}");
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&later).unwrap();
    }
}
