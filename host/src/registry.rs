//! The catalogue and lifecycle of connectors: registration, versions, deployments,
//! invocation, disable/enable, status and summary.
//!
//! Invariants:
//! - Every operation takes the caller's tenant and sees only that tenant's rows; a
//!   foreign id is [`RegistryError::NotFound`], like a missing one.
//! - Every mutation appends its audit row in the transaction that makes it.
//! - A config is stored only if it satisfies the version's config schema; secrets
//!   only encrypted, and they never appear in a view.
//! - Guest calls run on the blocking pool, never on an async worker, and record a
//!   heartbeat without waiting for the database.

mod calls;
mod outputs;
mod sdk;
mod transform;
mod views;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;

use crate::audit;
use crate::bus::{Bus, EmbeddedBus, Topics};
use crate::health::{self, HealthPolicy, Recorder};
use crate::keys::Keys;
use crate::runtime::{CallError, Component, Grants, LoadError, ManifestJson, Runtime, output_json};
use crate::store::{
    AuditEntry, ConnectorRow, DeploymentRow, HeartbeatRow, NewConnector, Store, StoreError,
    VersionRow, now_ms,
};

pub use sdk::sdk_manifest;
pub use views::{ConnectorView, ListQuery};

/// The categories of the contract.
pub const CATEGORIES: [&str; 6] = [
    "osint",
    "financial",
    "social",
    "dark-web",
    "telemetry",
    "custom",
];

/// The output standards of the contract.
pub const STANDARDS: [&str; 6] = ["stix-2.1", "cap-1.2", "ais", "niem", "stanag-4607", "json"];

/// The push authentication methods.
pub const AUTH_METHODS: [&str; 4] = ["hmac-sha256", "oauth2", "api-key", "rsa"];

/// A field-level problem, for 422 answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// JSON Pointer into the document (`/label`), empty for the whole document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Why a registry operation failed. Each maps to one HTTP status in `api`.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No such thing in the caller's tenant.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed (a bad name, an unknown category…).
    #[error("{message}")]
    BadRequest {
        /// snake_case code.
        code: &'static str,
        /// A sentence.
        message: String,
    },
    /// A document failed validation against a schema or a rule.
    #[error("{message}")]
    Unprocessable {
        /// snake_case code.
        code: &'static str,
        /// A sentence naming the failing fields.
        message: String,
        /// Each failing field.
        details: Vec<FieldError>,
    },
    /// It exists already, or the connector's state forbids it now.
    #[error("{message}")]
    Conflict {
        /// snake_case code.
        code: &'static str,
        /// A sentence.
        message: String,
    },
    /// The component could not be loaded.
    #[error("{0}")]
    Load(#[from] LoadError),
    /// The guest call failed.
    #[error("{error}")]
    Call {
        /// The typed failure.
        error: CallError,
        /// The call's id.
        call_id: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not fail did.
    #[error("internal error: {0}")]
    Internal(String),
}

fn internal(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Internal(e.to_string())
}

/// Registration input (`POST /api/connectors/register`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Unique within the tenant.
    pub name: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the external system lives.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// One of [`AUTH_METHODS`].
    #[serde(default)]
    pub auth_method: Option<String>,
    /// One of [`STANDARDS`].
    #[serde(default)]
    pub output_standard: Option<String>,
    /// `rsa` only: the sender's RSA public key, PEM, 2048 to 8192 bits.
    #[serde(default)]
    pub public_key: Option<String>,
}

/// A checked RSA public key in PEM, for an `rsa` credential; `None` for other
/// methods (which must not bring one).
fn rsa_key(
    method: Option<&str>,
    public_key: Option<&str>,
) -> Result<Option<String>, RegistryError> {
    let bad = |message: String| RegistryError::BadRequest {
        code: "invalid_public_key",
        message,
    };
    match (method, public_key) {
        (Some("rsa"), Some(pem)) => {
            crate::auth::httpsig::parse_public_key(pem).map_err(bad)?;
            Ok(Some(pem.trim().to_string()))
        }
        (Some("rsa"), None) => Err(RegistryError::BadRequest {
            code: "public_key_required",
            message: "an `rsa` connector brings its RSA public key: send `public_key` (PEM, 2048 \
                      to 8192 bits)"
                .into(),
        }),
        (_, Some(_)) => Err(bad(
            "`public_key` is only for `rsa` connectors; the other methods are issued a credential"
                .into(),
        )),
        (_, None) => Ok(None),
    }
}

/// Deployment input (`POST /api/connectors/{id}/deployments`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// The version to deploy.
    pub version: String,
    /// The target's name; `default` when absent.
    #[serde(default)]
    pub target: Option<String>,
    /// The config; `{}` when absent.
    #[serde(default)]
    pub config: Option<Value>,
    /// Secrets, validated against the secrets schema, stored encrypted.
    #[serde(default)]
    pub secrets: Option<Value>,
    /// Outbound host patterns granted: each must be a pattern the manifest declares,
    /// or one concrete origin (no `*`) that a declared pattern covers.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// Non-public networks (CIDR, e.g. `10.20.0.0/16`) the deployment may reach. By
    /// default loopback, private, link-local and metadata addresses are refused even
    /// for a granted host.
    #[serde(default)]
    pub allowed_networks: Option<Vec<String>>,
    /// Changes to the default call limits (see `runtime::LimitOverrides`).
    #[serde(default)]
    pub limits: Option<crate::runtime::LimitOverrides>,
    /// `every N{s|m|h}`.
    #[serde(default)]
    pub schedule: Option<String>,
}

/// What registration answers: the connector, and for a push connector its
/// credential (shown this once) and webhook path. `Debug` leaves the credential out.
#[derive(Clone)]
pub struct Registered {
    /// The connector as `GET /api/connectors/{id}` shows it.
    pub view: ConnectorView,
    /// `{"type": …, "secret"|"key": …}`, never stored in the clear.
    pub credential: Option<Value>,
    /// `/api/events/ingest/{tenant_id}/{connector_id}`.
    pub webhook_path: Option<String>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("view", &self.view)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "<redacted>"),
            )
            .field("webhook_path", &self.webhook_path)
            .finish()
    }
}

/// The result of an invoke.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Invocation {
    /// The call's id.
    pub call_id: String,
    /// The deployment target that served it.
    pub target: String,
    /// The version that ran.
    pub version: String,
    /// Outputs, in order.
    pub outputs: Vec<Value>,
    /// Outputs that failed validation against their declared standard: quarantined
    /// (see `GET /api/connectors/{id}/quarantine`), not in `outputs`.
    pub quarantined: Vec<Value>,
    /// Log lines the guest wrote.
    pub logs: Vec<Value>,
    /// Wall time of the guest call, ms.
    pub latency_ms: f64,
}

/// The registry's shared state.
pub struct Registry {
    store: Store,
    keys: Keys,
    runtime: Arc<Runtime>,
    recorder: Recorder,
    policy: HealthPolicy,
    /// Loaded components by digest: compiled once per node.
    components: Mutex<HashMap<String, Arc<Component>>>,
    /// Compiled input schemas by (digest, action).
    inputs: Mutex<HashMap<(String, String), Arc<jsonschema::Validator>>>,
    /// (tenant, connector) pairs known to exist. Connectors are never deleted, so a
    /// positive answer never goes stale, on this node or another.
    known: Mutex<std::collections::HashSet<(String, String)>>,
    /// (connector, version) → digest. Versions are immutable once stored.
    digests: Mutex<HashMap<(String, String), String>>,
    /// How long a rotated-out push credential stays valid.
    rotation_grace: std::time::Duration,
    /// `http://host:port` of this node, for the `token_url` of OAuth2 push
    /// credentials (empty: a relative `/oauth/token`).
    public_base: String,
    /// Where valid outputs are announced once committed.
    bus: Arc<dyn Bus>,
    /// The bus's topic scheme.
    topics: Topics,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

fn check_name(name: &str) -> Result<(), RegistryError> {
    let ok = !name.trim().is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::BadRequest {
            code: "invalid_name",
            message: "`name` must be 1 to 100 characters: letters, digits, spaces, `-`, `_` or `.`"
                .into(),
        })
    }
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), RegistryError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(RegistryError::BadRequest {
            code: "invalid_field",
            message: format!(
                "`{field}` must be one of {}; got `{value}`",
                allowed.join(", ")
            ),
        })
    }
}

fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema).map_err(|e| e.to_string())
}

/// Validates `doc` against `schema`; the errors name each failing field.
fn schema_errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<FieldError> {
    validator
        .iter_errors(doc)
        .map(|e| FieldError {
            path: e.instance_path().to_string(),
            message: e.to_string(),
        })
        .collect()
}

fn unprocessable(code: &'static str, what: &str, details: Vec<FieldError>) -> RegistryError {
    let fields: Vec<String> = details
        .iter()
        .map(|d| {
            if d.path.is_empty() {
                format!("(document): {}", d.message)
            } else {
                format!("{}: {}", d.path, d.message)
            }
        })
        .collect();
    RegistryError::Unprocessable {
        code,
        message: format!("{what} is invalid: {}", fields.join("; ")),
        details,
    }
}

/// Checks an outbound host pattern with the same parser the SDK's HTTP client uses,
/// so a pattern the host accepts is one the guest side understands the same way.
fn host_pattern(pattern: &str) -> Result<airlock_sdk::http::OriginPattern, String> {
    airlock_sdk::http::OriginPattern::parse(pattern)
}

/// Whether granting `grant` stays within what the manifest declares: it is one of
/// the declared patterns, or a single origin a declared pattern matches.
fn grant_is_declared(grant: &str, declared: &[&str]) -> bool {
    if host_pattern(grant).is_err() {
        return false;
    }
    if declared.contains(&grant) {
        return true;
    }
    !grant.contains('*')
        && airlock_sdk::http::Origin::of_url(grant).is_some_and(|origin| {
            declared
                .iter()
                .filter_map(|d| host_pattern(d).ok())
                .any(|p| p.matches(&origin))
        })
}

fn schedule_ok(s: &str) -> bool {
    s.strip_prefix("every ").is_some_and(|n| {
        let (digits, unit) = n.split_at(n.len().saturating_sub(1));
        matches!(unit, "s" | "m" | "h") && digits.parse::<u32>().is_ok_and(|v| v > 0)
    })
}

impl Registry {
    /// A registry over `store`, running guests on `runtime`.
    pub fn new(
        store: Store,
        keys: Keys,
        runtime: Arc<Runtime>,
        recorder: Recorder,
        policy: HealthPolicy,
    ) -> Registry {
        Registry {
            keys,
            runtime,
            recorder,
            policy,
            components: Mutex::new(HashMap::new()),
            inputs: Mutex::new(HashMap::new()),
            known: Mutex::new(std::collections::HashSet::new()),
            digests: Mutex::new(HashMap::new()),
            rotation_grace: std::time::Duration::from_secs(60),
            public_base: String::new(),
            bus: Arc::new(EmbeddedBus::new(store.clone())),
            topics: Topics::default(),
            store,
        }
    }

    /// The bus valid outputs are published on.
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// The bus's topic scheme.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// Publishes under `topics` (default prefix `airlock`).
    pub fn with_topics(mut self, topics: Topics) -> Registry {
        self.topics = topics;
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The heartbeat recorder.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    async fn audit(
        &self,
        tx: &mut sqlx::AnyConnection,
        entry: AuditEntry,
    ) -> Result<(), RegistryError> {
        audit::append(&self.store, tx, &self.keys, entry).await?;
        Ok(())
    }

    /// The connector, or NotFound.
    pub async fn connector(&self, tenant: &str, id: &str) -> Result<ConnectorRow, RegistryError> {
        self.store
            .connector(tenant, id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("no connector `{id}`")))
    }

    /// NotFound unless the connector exists in the tenant (remembered once seen).
    pub async fn exists(&self, tenant: &str, id: &str) -> Result<(), RegistryError> {
        let key = (tenant.to_string(), id.to_string());
        if self.known.lock().map_err(internal)?.contains(&key) {
            return Ok(());
        }
        self.connector(tenant, id).await?;
        let mut known = self.known.lock().map_err(internal)?;
        if known.len() >= 100_000 {
            known.clear();
        }
        known.insert(key);
        Ok(())
    }

    /// The digest of a stored version of a connector of `tenant`.
    async fn digest(
        &self,
        tenant: &str,
        connector_id: &str,
        version: &str,
    ) -> Result<String, RegistryError> {
        let key = (connector_id.to_string(), version.to_string());
        if let Some(d) = self.digests.lock().map_err(internal)?.get(&key) {
            return Ok(d.clone());
        }
        let digest = self
            .store
            .versions(tenant, connector_id)
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .map(|v| v.digest)
            .ok_or_else(|| {
                RegistryError::Internal("a deployment names a missing version".into())
            })?;
        self.digests
            .lock()
            .map_err(internal)?
            .insert(key, digest.clone());
        Ok(digest)
    }

    /// Registers a connector. A push connector (`auth_method` set) gets its
    /// credential, returned here once — only a sealed or hashed form is stored —
    /// with the webhook path it posts to.
    pub async fn register(
        &self,
        tenant: &str,
        actor: &str,
        r: Registration,
    ) -> Result<Registered, RegistryError> {
        check_name(&r.name)?;
        one_of("category", &r.category, &CATEGORIES)?;
        if let Some(m) = &r.auth_method {
            one_of("auth_method", m, &AUTH_METHODS)?;
        }
        if let Some(s) = &r.output_standard {
            one_of("output_standard", s, &STANDARDS)?;
        }
        let public_key = rsa_key(r.auth_method.as_deref(), r.public_key.as_deref())?;
        if let Some(u) = &r.webhook_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(RegistryError::BadRequest {
                code: "invalid_field",
                message: "`webhook_url` must be an http:// or https:// URL".into(),
            });
        }
        let description = r.description.clone().unwrap_or_default();
        if description.len() > 2000 {
            return Err(RegistryError::BadRequest {
                code: "invalid_field",
                message: "`description` is at most 2000 characters".into(),
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.store.begin().await?;
        let row = Store::insert_connector(
            &mut tx,
            &NewConnector {
                id: &id,
                tenant_id: tenant,
                name: &r.name,
                category: &r.category,
                description: &description,
                webhook_url: r.webhook_url.as_deref(),
                auth_method: r.auth_method.as_deref(),
                output_standard: r.output_standard.as_deref(),
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(what) => RegistryError::Conflict {
                code: "already_exists",
                message: format!("{what} is already registered in this tenant"),
            },
            e => e.into(),
        })?;
        let credential = match r.auth_method.as_deref() {
            Some(method) => {
                self.issue_credential(&mut tx, tenant, &id, method, public_key.as_deref())
                    .await?
            }
            None => None,
        };
        self.audit(
            &mut tx,
            AuditEntry {
                tenant_id: tenant.into(),
                actor: actor.into(),
                action: "connector.register".into(),
                target: id.clone(),
                reason: None,
                detail: serde_json::json!({"name": r.name, "category": r.category,
                    "auth_method": r.auth_method, "output_standard": r.output_standard}),
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let webhook_path = r
            .auth_method
            .is_some()
            .then(|| format!("/api/events/ingest/{tenant}/{id}"));
        Ok(Registered {
            view: self.view(&row).await?,
            credential,
            webhook_path,
        })
    }

    /// This registry naming `base` (`http://host:port`) in the `token_url` it
    /// hands OAuth2 push connectors.
    pub fn with_public_base(mut self, base: impl Into<String>) -> Registry {
        self.public_base = base.into();
        self
    }

    /// This registry with another rotation grace (default 60 s).
    pub fn with_rotation_grace(mut self, grace: std::time::Duration) -> Registry {
        self.rotation_grace = grace;
        self
    }

    /// Issues a push connector a new credential (same shape as at registration);
    /// the previous one stays valid for the rotation grace, then lapses. Audited
    /// with the actor; the answer holds the new credential (shown this once) and
    /// when the previous stops being accepted (UTC).
    pub async fn rotate_credential(
        &self,
        tenant: &str,
        actor: &str,
        id: &str,
        public_key: Option<&str>,
    ) -> Result<Value, RegistryError> {
        let connector = self.connector(tenant, id).await?;
        let method = connector.auth_method.clone().unwrap_or_default();
        if method.is_empty() {
            return Err(RegistryError::Conflict {
                code: "no_rotatable_credential",
                message: "this connector is not a push connector: it has no credential to rotate"
                    .into(),
            });
        }
        let public_key = rsa_key(Some(&method), public_key)?;
        let grace_ms = i64::try_from(self.rotation_grace.as_millis()).unwrap_or(i64::MAX);
        let until = crate::store::now_ms().saturating_add(grace_ms);
        let mut tx = self.store.begin().await?;
        let retired = Store::retire_push_credentials(&mut tx, &connector.id, until).await?;
        let credential = self
            .issue_credential(
                &mut tx,
                tenant,
                &connector.id,
                &method,
                public_key.as_deref(),
            )
            .await?
            .unwrap_or(Value::Null);
        let previous_valid_until = crate::audit::rfc3339(until);
        self.audit(
            &mut tx,
            AuditEntry {
                tenant_id: tenant.into(),
                actor: actor.into(),
                action: "connector.credentials.rotate".into(),
                target: connector.id.clone(),
                reason: None,
                detail: serde_json::json!({"method": method, "grace_secs": self.rotation_grace.as_secs(),
                    "previous_valid_until": previous_valid_until, "retired": retired}),
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(serde_json::json!({
            "credential": credential,
            "previous_valid_until": previous_valid_until,
        }))
    }

    /// Creates a push connector's credential inside `tx`; the secret is returned
    /// (to be shown once) and stored sealed (HMAC: the server must recompute
    /// signatures) or hashed (API key); an `oauth2` credential is a new OAuth client
    /// of the tenant holding only `events:ingest`; an `rsa` credential is the
    /// sender's checked `public_key` under a new key id.
    async fn issue_credential(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        tenant: &str,
        connector_id: &str,
        method: &str,
        public_key: Option<&str>,
    ) -> Result<Option<Value>, RegistryError> {
        use base64::Engine as _;
        let mut row = crate::store::PushCredentialRow {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant.into(),
            connector_id: connector_id.into(),
            method: method.into(),
            secret_sealed: None,
            secret_hash: None,
            created_ms: crate::store::now_ms(),
            valid_until_ms: None,
            client_id: None,
            public_key: None,
            key_id: None,
        };
        let shown = match method {
            "oauth2" => {
                let secret = format!("acs_{}", crate::keys::random_token().map_err(internal)?);
                let client = crate::store::ClientRow {
                    id: format!("cli_{}", uuid::Uuid::new_v4().simple()),
                    tenant_id: tenant.into(),
                    secret_hash: crate::auth::hash_secret(&secret),
                    scopes: vec![crate::auth::Scope::EventsIngest.as_str().to_string()],
                    label: format!("push connector {connector_id}"),
                };
                Store::insert_client(tx, &client).await?;
                row.client_id = Some(client.id.clone());
                serde_json::json!({"type": "oauth2", "client_id": client.id, "client_secret": secret,
                    "token_url": format!("{}/oauth/token", self.public_base)})
            }
            "hmac-sha256" => {
                let secret = crate::auth::push::new_webhook_secret().map_err(internal)?;
                let sealed = self.keys.seal(secret.as_bytes()).map_err(internal)?;
                row.secret_sealed = Some(base64::engine::general_purpose::STANDARD.encode(sealed));
                serde_json::json!({"type": "hmac-sha256", "secret": secret})
            }
            "api-key" => {
                let key = crate::auth::push::new_api_key().map_err(internal)?;
                row.secret_hash = Some(crate::auth::hash_secret(&key));
                serde_json::json!({"type": "api-key", "key": key})
            }
            "rsa" => {
                let key_id = format!("key_{}", uuid::Uuid::new_v4().simple());
                row.public_key = public_key.map(str::to_string);
                row.key_id = Some(key_id.clone());
                serde_json::json!({"type": "rsa", "key_id": key_id})
            }
            _ => return Ok(None),
        };
        Store::insert_push_credential(tx, &row).await?;
        Ok(Some(shown))
    }

    /// Compiles and describes `bytes` on the blocking pool; hands the bytes back.
    async fn load_blocking(&self, bytes: Vec<u8>) -> Result<(Component, Vec<u8>), RegistryError> {
        let runtime = self.runtime.clone();
        let (component, bytes) = tokio::task::spawn_blocking(move || (runtime.load(&bytes), bytes))
            .await
            .map_err(internal)?;
        Ok((component?, bytes))
    }

    fn remember(&self, component: Component) -> Result<Arc<Component>, RegistryError> {
        let component = Arc::new(component);
        self.components
            .lock()
            .map_err(internal)?
            .insert(component.digest.clone(), component.clone());
        Ok(component)
    }

    async fn component(&self, digest: &str) -> Result<Arc<Component>, RegistryError> {
        if let Some(c) = self.components.lock().map_err(internal)?.get(digest) {
            return Ok(c.clone());
        }
        let bytes = self
            .store
            .component_bytes(digest)
            .await?
            .ok_or_else(|| RegistryError::Internal(format!("component {digest} is missing")))?;
        let (component, _) = self.load_blocking(bytes).await?;
        self.remember(component)
    }

    /// Loads, checks and stores a new version of a connector.
    pub async fn upload(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        bytes: Vec<u8>,
    ) -> Result<Value, RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        let (component, bytes) = self.load_blocking(bytes).await?;
        self.store_version(tenant, actor, &connector, component, &bytes)
            .await
    }

    async fn store_version(
        &self,
        tenant: &str,
        actor: &str,
        connector: &ConnectorRow,
        component: Component,
        bytes: &[u8],
    ) -> Result<Value, RegistryError> {
        let manifest = component.manifest_json();
        check_manifest(&manifest, connector)?;
        let version = VersionRow {
            connector_id: connector.id.clone(),
            version: manifest.version.clone(),
            digest: component.digest.clone(),
            manifest: serde_json::to_string(&manifest).map_err(internal)?,
            created_ms: now_ms(),
        };
        let mut tx = self.store.begin().await?;
        Store::put_component(&mut tx, &component.digest, bytes).await?;
        Store::insert_version(&mut tx, &version)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(what) => RegistryError::Conflict {
                    code: "version_exists",
                    message: format!(
                        "{what} of this connector was already uploaded; bump the manifest's version"
                    ),
                },
                e => e.into(),
            })?;
        self.audit(
            &mut tx,
            AuditEntry {
                tenant_id: tenant.into(),
                actor: actor.into(),
                action: "connector.upload".into(),
                target: connector.id.clone(),
                reason: None,
                detail: serde_json::json!({"version": version.version, "digest": version.digest,
                    "size": bytes.len()}),
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.remember(component)?;
        Ok(serde_json::json!({
            "version": version.version,
            "digest": version.digest,
            "manifest": manifest,
        }))
    }

    /// Loads a component into `tenant` at start-up: registers a connector named after
    /// the manifest's id if there is none, stores the version unless present, and
    /// deploys it to `default` if nothing is deployed and its config schema accepts
    /// `{}`. Returns what it did, as a sentence.
    pub async fn preload(&self, tenant: &str, bytes: Vec<u8>) -> Result<String, RegistryError> {
        const ACTOR: &str = "preload";
        let (component, bytes) = self.load_blocking(bytes).await?;
        let m = component.manifest_json();
        let mut done = Vec::new();
        let connector = match self.store.connector_by_name(tenant, &m.id).await? {
            Some(c) => c,
            None => {
                let view = self
                    .register(
                        tenant,
                        ACTOR,
                        Registration {
                            name: m.id.clone(),
                            category: m.category.clone(),
                            description: Some(m.description.clone()),
                            webhook_url: None,
                            auth_method: None,
                            output_standard: m.output_standards.first().cloned(),
                            public_key: None,
                        },
                    )
                    .await?;
                done.push(format!("registered {}", m.id));
                self.connector(tenant, &view.view.id).await?
            }
        };
        let versions = self.store.versions(tenant, &connector.id).await?;
        match versions.iter().find(|v| v.version == m.version) {
            None => {
                self.store_version(tenant, ACTOR, &connector, component, &bytes)
                    .await?;
                done.push(format!("stored version {}", m.version));
            }
            Some(v) if v.digest != component.digest => done.push(format!(
                "NOT stored: version {} is already stored with other bytes (digest {}); \
                 bump the manifest's version to load this build",
                m.version, v.digest
            )),
            // Already stored: keep the compiled component for the first invoke.
            Some(_) => {
                self.remember(component)?;
            }
        }
        if self
            .store
            .deployments(tenant, &connector.id)
            .await?
            .is_empty()
        {
            let deployed = self
                .deploy(
                    tenant,
                    ACTOR,
                    &connector.id,
                    Deployment {
                        version: m.version.clone(),
                        target: None,
                        config: None,
                        secrets: None,
                        allowed_hosts: None,
                        allowed_networks: None,
                        limits: None,
                        schedule: None,
                    },
                )
                .await;
            match deployed {
                Ok(_) => done.push("deployed to `default`".into()),
                Err(RegistryError::Unprocessable { .. }) => {
                    done.push("not deployed: its config needs values".into())
                }
                Err(e) => return Err(e),
            }
        }
        Ok(if done.is_empty() {
            format!("{} {} was already loaded", m.id, m.version)
        } else {
            format!("{}: {}", m.id, done.join(", "))
        })
    }

    async fn version(
        &self,
        tenant: &str,
        connector_id: &str,
        version: &str,
    ) -> Result<Option<(VersionRow, ManifestJson)>, RegistryError> {
        let v = self
            .store
            .versions(tenant, connector_id)
            .await?
            .into_iter()
            .find(|v| v.version == version);
        match v {
            Some(v) => {
                let m: ManifestJson = serde_json::from_str(&v.manifest).map_err(internal)?;
                Ok(Some((v, m)))
            }
            None => Ok(None),
        }
    }

    /// Creates or changes a deployment (upgrade and roll back are a change of version).
    pub async fn deploy(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        d: Deployment,
    ) -> Result<Value, RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        let target = d.target.clone().unwrap_or_else(|| "default".into());
        check_name(&target).map_err(|_| RegistryError::BadRequest {
            code: "invalid_field",
            message:
                "`target` must be 1 to 100 characters: letters, digits, spaces, `-`, `_` or `.`"
                    .into(),
        })?;
        let Some((version, manifest)) = self.version(tenant, connector_id, &d.version).await?
        else {
            return Err(RegistryError::Unprocessable {
                code: "unknown_version",
                message: format!(
                    "version `{}` of this connector was never uploaded",
                    d.version
                ),
                details: vec![FieldError {
                    path: "/version".into(),
                    message: "no such version".into(),
                }],
            });
        };
        let config = d.config.clone().unwrap_or_else(|| serde_json::json!({}));
        let validator = compile_schema(&manifest.config_schema).map_err(internal)?;
        let errors = schema_errors(&validator, &config);
        if !errors.is_empty() {
            return Err(unprocessable("invalid_config", "the config", errors));
        }
        // Then the connector's own rules, which a schema cannot express.
        let component = self.component(&version.digest).await?;
        let config_text = config.to_string();
        let verdict = tokio::task::spawn_blocking(move || component.validate_config(&config_text))
            .await
            .map_err(internal)?;
        match verdict {
            Ok(()) => {}
            Err(CallError::Connector(e)) => {
                return Err(RegistryError::Unprocessable {
                    code: "invalid_config",
                    message: format!(
                        "the connector refused the config: {}",
                        crate::runtime::connector_error_text(&e)
                    ),
                    details: vec![FieldError {
                        path: String::new(),
                        message: crate::runtime::connector_error_text(&e),
                    }],
                });
            }
            Err(error) => {
                return Err(RegistryError::Call {
                    error,
                    call_id: "validate-config".into(),
                });
            }
        }
        let secrets = match &d.secrets {
            Some(s) => {
                let validator = compile_schema(&manifest.secrets_schema).map_err(internal)?;
                // The messages quote the instance: name only the fields, never values.
                let errors: Vec<FieldError> = validator
                    .iter_errors(s)
                    .map(|e| FieldError {
                        path: e.instance_path().to_string(),
                        message: format!(
                            "does not satisfy `{}` of the secrets schema",
                            e.kind().keyword()
                        ),
                    })
                    .collect();
                if !errors.is_empty() {
                    return Err(unprocessable("invalid_secrets", "the secrets", errors));
                }
                Some(self.keys.seal(s.to_string().as_bytes()).map_err(internal)?)
            }
            None => None,
        };
        let allowed = d.allowed_hosts.clone().unwrap_or_default();
        let declared: Vec<&str> = manifest
            .outbound_hosts
            .iter()
            .filter_map(|h| h.get("pattern").and_then(Value::as_str))
            .collect();
        for (i, h) in allowed.iter().enumerate() {
            if !grant_is_declared(h, &declared) {
                return Err(RegistryError::Unprocessable {
                    code: "invalid_allowed_hosts",
                    message: format!(
                        "allowed host `{h}` is not one the connector's manifest declares ({})",
                        if declared.is_empty() {
                            "it declares none".to_string()
                        } else {
                            declared.join(", ")
                        }
                    ),
                    details: vec![FieldError {
                        path: format!("/allowed_hosts/{i}"),
                        message: "not declared by the manifest".into(),
                    }],
                });
            }
        }
        let networks = d.allowed_networks.clone().unwrap_or_default();
        for (i, n) in networks.iter().enumerate() {
            if let Err(e) = n.parse::<ipnet::IpNet>() {
                return Err(RegistryError::Unprocessable {
                    code: "invalid_allowed_networks",
                    message: format!(
                        "allowed network `{n}` is not a CIDR network such as `10.0.0.0/8` or `fd00::/8` ({e})"
                    ),
                    details: vec![FieldError {
                        path: format!("/allowed_networks/{i}"),
                        message: "expected a CIDR network".into(),
                    }],
                });
            }
        }
        let overrides = d.limits.unwrap_or_default();
        if let Err(why) = self.runtime.limits().with_overrides(&overrides) {
            return Err(RegistryError::Unprocessable {
                code: "invalid_limits",
                message: format!("the limits are out of bounds: {why}"),
                details: vec![FieldError {
                    path: "/limits".into(),
                    message: why,
                }],
            });
        }
        if let Some(s) = &d.schedule
            && !schedule_ok(s)
        {
            return Err(RegistryError::Unprocessable {
                code: "invalid_schedule",
                message: format!(
                    "schedule `{s}` is not of the form `every N` followed by s, m or h"
                ),
                details: vec![FieldError {
                    path: "/schedule".into(),
                    message: "expected e.g. `every 5m`".into(),
                }],
            });
        }
        let previous = self
            .store
            .deployments(tenant, connector_id)
            .await?
            .into_iter()
            .find(|p| p.target == target);
        let now = now_ms();
        let row = DeploymentRow {
            connector_id: connector.id.clone(),
            target: target.clone(),
            version: version.version.clone(),
            config: config.to_string(),
            secrets,
            allowed_hosts: serde_json::to_string(&allowed).map_err(internal)?,
            allowed_networks: serde_json::to_string(&networks).map_err(internal)?,
            limits: serde_json::to_string(&overrides).map_err(internal)?,
            schedule: d.schedule.clone(),
            created_ms: previous.as_ref().map_or(now, |p| p.created_ms),
            updated_ms: now,
        };
        let mut tx = self.store.begin().await?;
        Store::upsert_deployment(&mut tx, &row).await?;
        let action = match &previous {
            None => "deployment.create",
            Some(p) if p.version != row.version => "deployment.change_version",
            Some(_) => "deployment.change_config",
        };
        self.audit(
            &mut tx,
            AuditEntry {
                tenant_id: tenant.into(),
                actor: actor.into(),
                action: action.into(),
                target: connector.id.clone(),
                reason: None,
                detail: serde_json::json!({
                    "target": target,
                    "version": row.version,
                    "previous_version": previous.as_ref().map(|p| p.version.clone()),
                    "config": config,
                    "secrets_changed": d.secrets.is_some(),
                    "allowed_hosts": allowed,
                    "allowed_networks": networks,
                    "limits": overrides,
                    "schedule": row.schedule,
                }),
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(views::deployment(&row))
    }

    /// Removes a deployment.
    pub async fn undeploy(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        target: &str,
    ) -> Result<(), RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        let mut tx = self.store.begin().await?;
        if !Store::delete_deployment(&mut tx, &connector.id, target).await? {
            return Err(RegistryError::NotFound(format!(
                "no deployment to target `{target}`"
            )));
        }
        self.audit(
            &mut tx,
            AuditEntry {
                tenant_id: tenant.into(),
                actor: actor.into(),
                action: "deployment.remove".into(),
                target: connector.id.clone(),
                reason: None,
                detail: serde_json::json!({ "target": target }),
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The deployments of a connector.
    pub async fn deployments(
        &self,
        tenant: &str,
        connector_id: &str,
    ) -> Result<Value, RegistryError> {
        self.connector(tenant, connector_id).await?;
        let rows = self.store.deployments(tenant, connector_id).await?;
        Ok(serde_json::json!({ "items": rows.iter().map(views::deployment).collect::<Vec<_>>() }))
    }

    /// Disables (with a reason) or enables a connector. Enabling one that is not
    /// disabled is a no-op.
    pub async fn set_enabled(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        disable_reason: Option<&str>,
    ) -> Result<ConnectorView, RegistryError> {
        let connector = self.connector(tenant, connector_id).await?;
        if let Some(r) = disable_reason
            && (r.trim().is_empty() || r.len() > 1000)
        {
            return Err(RegistryError::Unprocessable {
                code: "reason_required",
                message: "disabling needs a `reason` of 1 to 1000 characters".into(),
                details: vec![FieldError {
                    path: "/reason".into(),
                    message: "required".into(),
                }],
            });
        }
        if disable_reason.is_none() && connector.disabled_reason.is_none() {
            // Enabling an enabled connector changes nothing: no audit row, and its
            // health is not reset.
            self.recorder.flush().await;
            return Ok(self.view(&connector).await?);
        }
        let mut tx = self.store.begin().await?;
        match disable_reason {
            Some(r) => Store::disable_connector(&mut tx, tenant, &connector.id, r).await?,
            None => Store::enable_connector(&mut tx, tenant, &connector.id).await?,
        }
        self.audit(
            &mut tx,
            AuditEntry {
                tenant_id: tenant.into(),
                actor: actor.into(),
                action: if disable_reason.is_some() {
                    "connector.disable"
                } else {
                    "connector.enable"
                }
                .into(),
                target: connector.id.clone(),
                reason: disable_reason.map(str::to_string),
                detail: serde_json::json!({}),
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.recorder.flush().await;
        let row = self.connector(tenant, connector_id).await?;
        Ok(self.view(&row).await?)
    }

    /// Invokes `action` on the connector's deployment to `target` (or its only one).
    pub async fn invoke(
        &self,
        tenant: &str,
        connector_id: &str,
        action: &str,
        target: Option<&str>,
        input: Value,
    ) -> Result<Invocation, RegistryError> {
        let (connector, deployments) = self
            .store
            .connector_with_deployments(tenant, connector_id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("no connector `{connector_id}`")))?;
        if let Some(reason) = &connector.disabled_reason {
            return Err(RegistryError::Conflict {
                code: "connector_disabled",
                message: format!("the connector is disabled: {reason}"),
            });
        }
        let deployment = match target {
            Some(t) => deployments
                .into_iter()
                .find(|d| d.target == t)
                .ok_or_else(|| RegistryError::NotFound(format!("no deployment to target `{t}`")))?,
            None => {
                let mut it = deployments.into_iter();
                match (it.next(), it.next()) {
                    (Some(d), None) => d,
                    (None, _) => {
                        return Err(RegistryError::Conflict {
                            code: "not_deployed",
                            message: "the connector has no deployment; deploy a version first"
                                .into(),
                        });
                    }
                    (Some(_), Some(_)) => {
                        return Err(RegistryError::BadRequest {
                            code: "target_required",
                            message:
                                "the connector has several deployments; name one with ?target="
                                    .into(),
                        });
                    }
                }
            }
        };
        let digest = self
            .digest(tenant, connector_id, &deployment.version)
            .await?;
        let component = self.component(&digest).await?;
        let Some(declared) = component.manifest.actions.iter().find(|a| a.name == action) else {
            return Err(RegistryError::NotFound(format!(
                "the connector has no action `{action}` (it has: {})",
                component
                    .manifest
                    .actions
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let validator = self.input_validator(&digest, action, &declared.input_schema)?;
        let errors = schema_errors(&validator, &input);
        if !errors.is_empty() {
            return Err(unprocessable("invalid_input", "the input", errors));
        }
        let call_id = uuid::Uuid::new_v4().to_string();
        let call = calls::Call::Invoke {
            action: action.to_string(),
            input: input.to_string(),
        };
        let ran = self
            .run(tenant, connector_id, &deployment, component, call, &call_id)
            .await?;
        match ran.result {
            Ok((done, screened)) => {
                let source = outputs::Source {
                    kind: "call",
                    id: &call_id,
                    tenant,
                    connector: connector_id,
                };
                let quarantined = self.record_outputs(source, &screened).await?;
                Ok(Invocation {
                    call_id,
                    target: deployment.target,
                    version: deployment.version,
                    outputs: screened.passed.iter().map(|(_, o)| output_json(o)).collect(),
                    quarantined,
                    logs: done
                        .captured
                        .logs
                        .iter()
                        .map(|l| serde_json::json!({"level": l.level, "message": l.message, "fields": l.fields}))
                        .collect(),
                    latency_ms: ran.latency_ms,
                })
            }
            Err(error) => Err(RegistryError::Call { error, call_id }),
        }
    }

    /// Publishes a call's valid outputs and quarantines its invalid ones in one
    /// transaction; returns what the invoke answer shows of the quarantined.
    async fn record_outputs(
        &self,
        source: outputs::Source<'_>,
        screened: &outputs::Screened,
    ) -> Result<Vec<Value>, RegistryError> {
        let rows = outputs::rows(&self.topics, source, screened, now_ms());
        self.store
            .record_outputs(&rows.messages, &rows.quarantine)
            .await?;
        if !rows.messages.is_empty() {
            self.bus.published();
        }
        Ok(rows.shown)
    }

    /// A connector's quarantined outputs, newest first.
    pub async fn quarantined(
        &self,
        tenant: &str,
        connector_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Value, RegistryError> {
        self.connector(tenant, connector_id).await?;
        let (rows, total) = self
            .store
            .quarantined(tenant, connector_id, limit.clamp(1, 1000), offset.max(0))
            .await?;
        Ok(serde_json::json!({
            "items": rows.iter().map(views::quarantined).collect::<Vec<_>>(),
            "total": total,
        }))
    }

    /// What a call of `deployment` may use beyond its manifest: the granted hosts and
    /// networks, and its secrets, decrypted only now, for the runtime to inject.
    fn grants(&self, deployment: &DeploymentRow) -> Result<Grants, RegistryError> {
        let secrets = match &deployment.secrets {
            Some(sealed) => {
                let plain = self.keys.open(sealed).map_err(internal)?;
                let value: serde_json::Map<String, Value> =
                    serde_json::from_slice(&plain).map_err(internal)?;
                value
                    .into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => (k, s),
                        other => (k, other.to_string()),
                    })
                    .collect()
            }
            None => Default::default(),
        };
        Ok(Grants {
            outbound_hosts: serde_json::from_str(&deployment.allowed_hosts).unwrap_or_default(),
            private_networks: serde_json::from_str::<Vec<String>>(&deployment.allowed_networks)
                .unwrap_or_default()
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
            secrets,
        })
    }

    fn input_validator(
        &self,
        digest: &str,
        action: &str,
        schema: &str,
    ) -> Result<Arc<jsonschema::Validator>, RegistryError> {
        let key = (digest.to_string(), action.to_string());
        let mut cache = self.inputs.lock().map_err(internal)?;
        if let Some(v) = cache.get(&key) {
            return Ok(v.clone());
        }
        let schema: Value = serde_json::from_str(schema).map_err(internal)?;
        let v = Arc::new(compile_schema(&schema).map_err(internal)?);
        cache.insert(key, v.clone());
        Ok(v)
    }

    /// Records an external heartbeat.
    pub async fn heartbeat(
        &self,
        tenant: &str,
        connector_id: &str,
        latency_ms: Option<f64>,
        status: Option<&str>,
        detail: Option<String>,
    ) -> Result<(), RegistryError> {
        self.exists(tenant, connector_id).await?;
        let ok = match status.unwrap_or("ok") {
            "ok" => true,
            "error" => false,
            other => {
                return Err(RegistryError::BadRequest {
                    code: "invalid_field",
                    message: format!("`status` must be `ok` or `error`; got `{other}`"),
                });
            }
        };
        if latency_ms.is_some_and(|l| !l.is_finite() || l < 0.0) {
            return Err(RegistryError::BadRequest {
                code: "invalid_field",
                message: "`latency_ms` must be a non-negative number".into(),
            });
        }
        if detail.as_ref().is_some_and(|d| d.len() > 1000) {
            return Err(RegistryError::BadRequest {
                code: "invalid_field",
                message: "`detail` is at most 1000 characters".into(),
            });
        }
        self.recorder.record(HeartbeatRow {
            tenant_id: tenant.into(),
            connector_id: connector_id.to_string(),
            at_ms: now_ms(),
            latency_ms,
            ok,
            error_kind: (!ok).then(|| "reported".to_string()),
            detail,
            source: "external".into(),
        });
        Ok(())
    }

    /// Heartbeat history with latency percentiles.
    pub async fn heartbeats(
        &self,
        tenant: &str,
        connector_id: &str,
        limit: i64,
    ) -> Result<Value, RegistryError> {
        self.connector(tenant, connector_id).await?;
        self.recorder.flush().await;
        let rows = self
            .store
            .recent_heartbeats(tenant, connector_id, limit.clamp(1, 1000))
            .await?;
        let mut latencies: Vec<f64> = rows.iter().filter_map(|h| h.latency_ms).collect();
        latencies.sort_by(f64::total_cmp);
        let failed = rows.iter().filter(|h| !h.ok).count();
        Ok(serde_json::json!({
            "items": rows.iter().map(views::heartbeat).collect::<Vec<_>>(),
            "stats": {
                "count": rows.len(),
                "failed": failed,
                "error_rate": if rows.is_empty() { 0.0 } else { failed as f64 / rows.len() as f64 },
                "p50_ms": health::percentile(&latencies, 0.50),
                "p95_ms": health::percentile(&latencies, 0.95),
                "p99_ms": health::percentile(&latencies, 0.99),
            }
        }))
    }

    /// The catalogue view of a connector (its health and newest manifest read now).
    async fn view(&self, row: &ConnectorRow) -> Result<ConnectorView, StoreError> {
        let versions = self.store.versions(&row.tenant_id, &row.id).await?;
        self.view_with(row, &versions).await
    }

    async fn view_with(
        &self,
        row: &ConnectorRow,
        versions: &[VersionRow],
    ) -> Result<ConnectorView, StoreError> {
        let health = self.store.health(&row.id).await?;
        let manifest = versions
            .last()
            .and_then(|v| serde_json::from_str::<ManifestJson>(&v.manifest).ok());
        Ok(views::connector(
            row,
            health.as_ref(),
            manifest.as_ref(),
            &self.policy,
        ))
    }

    /// Lists the tenant's connectors with filters and paging.
    pub async fn list(&self, tenant: &str, q: &ListQuery) -> Result<Value, RegistryError> {
        self.recorder.flush().await;
        let all = self.all_views(tenant).await?;
        let matching: Vec<&ConnectorView> = all.iter().filter(|v| q.matches(v)).collect();
        let limit = q.limit.unwrap_or(50).clamp(1, 200);
        let offset = q.offset.unwrap_or(0);
        let page: Vec<_> = matching.iter().skip(offset).take(limit).collect();
        Ok(serde_json::json!({
            "items": page,
            "total": matching.len(),
            "limit": limit,
            "offset": offset,
        }))
    }

    async fn all_views(&self, tenant: &str) -> Result<Vec<ConnectorView>, RegistryError> {
        let rows = self.store.connectors(tenant).await?;
        let health: HashMap<String, crate::store::HealthRow> = self
            .store
            .tenant_health(tenant)
            .await?
            .into_iter()
            .map(|h| (h.connector_id.clone(), h))
            .collect();
        let manifests = self.store.latest_manifests(tenant).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let m = manifests
                    .get(&r.id)
                    .and_then(|m| serde_json::from_str::<ManifestJson>(m).ok());
                views::connector(r, health.get(&r.id), m.as_ref(), &self.policy)
            })
            .collect())
    }

    /// One connector with its versions, deployments and recent heartbeats.
    pub async fn get(&self, tenant: &str, connector_id: &str) -> Result<Value, RegistryError> {
        let row = self.connector(tenant, connector_id).await?;
        self.recorder.flush().await;
        let versions = self.store.versions(tenant, connector_id).await?;
        let view = self.view_with(&row, &versions).await?;
        let deployments = self.store.deployments(tenant, connector_id).await?;
        let beats = self
            .store
            .recent_heartbeats(tenant, connector_id, 20)
            .await?;
        let mut out = serde_json::to_value(&view).map_err(internal)?;
        if let Some(o) = out.as_object_mut() {
            o.insert("webhook_url".into(), row.webhook_url.clone().into());
            o.insert("auth_method".into(), row.auth_method.clone().into());
            o.insert("disabled_reason".into(), row.disabled_reason.clone().into());
            o.insert(
                "versions".into(),
                versions
                    .iter()
                    .map(views::version)
                    .collect::<Vec<_>>()
                    .into(),
            );
            o.insert(
                "deployments".into(),
                deployments
                    .iter()
                    .map(views::deployment)
                    .collect::<Vec<_>>()
                    .into(),
            );
            o.insert(
                "recent_heartbeats".into(),
                beats
                    .iter()
                    .map(views::heartbeat)
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        Ok(out)
    }

    /// Counts per status and per category.
    pub async fn summary(&self, tenant: &str) -> Result<Value, RegistryError> {
        self.recorder.flush().await;
        let all = self.all_views(tenant).await?;
        // `{"total", "<status>": n, …}` over some connectors.
        let counts = |of: &[&ConnectorView]| {
            let mut o = serde_json::json!({ "total": of.len() });
            for s in health::STATUSES {
                o[s] = of.iter().filter(|v| v.status == s).count().into();
            }
            o
        };
        let mut out = counts(&all.iter().collect::<Vec<_>>());
        let mut by_category = serde_json::Map::new();
        for c in CATEGORIES {
            let of: Vec<_> = all.iter().filter(|v| v.category == c).collect();
            if !of.is_empty() {
                by_category.insert(c.to_string(), counts(&of));
            }
        }
        out["by_category"] = Value::Object(by_category);
        Ok(out)
    }

    /// Example configurations per category from this tenant's deployments.
    pub async fn example_configs(&self, tenant: &str) -> Result<Value, RegistryError> {
        let mut out = serde_json::Map::new();
        for (c, d) in self.store.tenant_deployments(tenant).await? {
            let config: Value = serde_json::from_str(&d.config).unwrap_or(Value::Null);
            let list = out
                .entry(c.category.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.push(serde_json::json!({
                    "connector": c.name, "version": d.version, "target": d.target, "config": config
                }));
            }
        }
        Ok(Value::Object(out))
    }

    /// The audit trail of the tenant after `after`.
    pub async fn audit_trail(
        &self,
        tenant: &str,
        after: i64,
        limit: i64,
    ) -> Result<Value, RegistryError> {
        let rows = self
            .store
            .audit_rows(tenant, after, limit.clamp(1, 1000))
            .await?;
        let next = rows.last().map(|r| r.seq);
        Ok(serde_json::json!({
            "items": rows.iter().map(views::audit).collect::<Vec<_>>(),
            "next_after": next,
        }))
    }
}

/// Checks a freshly loaded manifest before it is stored.
fn check_manifest(m: &ManifestJson, connector: &ConnectorRow) -> Result<(), RegistryError> {
    let mut details = Vec::new();
    let mut bad = |path: &str, message: String| {
        details.push(FieldError {
            path: path.into(),
            message,
        })
    };
    if m.id.trim().is_empty() {
        bad("/id", "the manifest's id is empty".into());
    }
    let semver = m.version.split(['-', '+']).next().unwrap_or("");
    if semver.split('.').count() != 3 || !semver.split('.').all(|p| p.parse::<u64>().is_ok()) {
        bad(
            "/version",
            format!("`{}` is not a semantic version", m.version),
        );
    }
    if m.category != connector.category {
        bad(
            "/category",
            format!(
                "the manifest's category `{}` differs from the connector's `{}`",
                m.category, connector.category
            ),
        );
    }
    for (path, schema) in [
        ("/config_schema", &m.config_schema),
        ("/secrets_schema", &m.secrets_schema),
    ] {
        if let Err(e) = compile_schema(schema) {
            bad(path, format!("not a valid JSON Schema: {e}"));
        }
    }
    for (i, a) in m.actions.iter().enumerate() {
        if let Some(s) = a.get("input_schema")
            && let Err(e) = compile_schema(s)
        {
            bad(
                &format!("/actions/{i}/input_schema"),
                format!("not a valid JSON Schema: {e}"),
            );
        }
    }
    for (i, h) in m.outbound_hosts.iter().enumerate() {
        let p = h.get("pattern").and_then(Value::as_str).unwrap_or("");
        if let Err(why) = host_pattern(p) {
            bad(&format!("/outbound_hosts/{i}/pattern"), why);
        }
    }
    if details.is_empty() {
        Ok(())
    } else {
        Err(unprocessable(
            "invalid_manifest",
            "the component's manifest",
            details,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns_and_schedules_are_checked() {
        assert!(host_pattern("https://api.example.com").is_ok());
        assert!(host_pattern("https://*.example.com:8443").is_ok());
        assert!(host_pattern("http://127.0.0.1:8080").is_ok());
        for bad in [
            "ftp://example.com",
            "https://example.com/path",
            "https://",
            "https://user@example.com",
            "https://a.*.example.com",
            "example.com",
        ] {
            let why = host_pattern(bad).unwrap_err();
            assert!(why.contains('`'), "{bad}: {why}");
        }
        assert!(schedule_ok("every 5m"));
        assert!(schedule_ok("every 30s"));
        assert!(!schedule_ok("every 0s"));
        assert!(!schedule_ok("hourly"));
        assert!(!schedule_ok("every 5d"));
    }
}
