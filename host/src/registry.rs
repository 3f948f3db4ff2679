//! The catalogue and lifecycle of connectors: registration and credentials,
//! versions, deployments, invocation, disable/enable, status and summary.
//!
//! One file per reason to change: `connectors.rs` (registration, enablement),
//! `credentials.rs` (push credentials: issue, rotate), `versions.rs` (upload,
//! manifest checks, preload, loaded components), `deployments.rs` (deploy,
//! undeploy, grants), `invoke.rs` (actions), `catalogue.rs` (reads: list, get,
//! summary, heartbeats, quarantine, audit, SDK manifest examples), with
//! `calls.rs` (one guest call for a deployment, shared by invoke, polls and the
//! ingest pipeline), `polls.rs` (one poll: call, screen, commit with its cursor),
//! `transform.rs` (the pipeline's per-event decisions), `outputs.rs`
//! (screening outputs), `checks.rs` (input checks: names, vocabularies, schemas), `sdk.rs` and `views.rs`
//! (every answer's type).
//!
//! Invariants:
//! - Every operation takes the caller's tenant and sees only that tenant's rows; a
//!   foreign id is [`RegistryError::NotFound`], like a missing one.
//! - Every mutation appends its audit row in the transaction that makes it
//!   (`Registry::commit_audited` is the only way a mutation commits).
//! - A config is stored only if it satisfies the version's config schema; secrets
//!   only sealed, and they never appear in a view.
//! - Guest calls run on guest threads (`guest_threads.rs`, tokio's blocking pool
//!   as the overflow), never on an async worker, and record a
//!   heartbeat without waiting for the database.
//! - Mutations that change what another part caches about a connector (its
//!   credentials, its enablement) tell every [`ConnectorCache`] once committed.
//! - Public methods answer view structs ([`views`]), never untyped JSON.

mod calls;
mod catalogue;
mod checks;
mod committer;
mod connectors;
mod credentials;
mod deployments;
pub mod gate;
mod guest_threads;
mod invoke;
mod outputs;
mod polls;
mod sdk;
mod transform;
mod versions;
pub mod views;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use crate::audit;
use crate::bus::{Bus, Topics};
use crate::health::{HealthPolicy, Recorder};
use crate::keys::Keys;
use crate::runtime::{CallError, Component, LoadError, Runtime};
use crate::store::{AuditEntry, ConnectorRow, Store, StoreError};

pub use catalogue::PageDetails;
pub use committer::OutputCommitter;
pub use connectors::Registration;
pub use deployments::Deployment;
pub use outputs::count_quarantine_rows;
pub use polls::{BACKOFF_CAP_MS, MAX_PAGES_PER_RUN, MAX_RETRY_AFTER_MS, Trigger};
pub use sdk::{SdkManifest, sdk_manifest};
pub use views::*;

/// A field-level problem, for 422 answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The rule it breaks, where one has a name (the upload quality gate's, see
    /// `registry::gate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
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

/// Something that keeps facts about connectors (their credentials, whether they
/// are enabled) and must drop them when a registry mutation changes them — the
/// ingest endpoint's credential cache is one.
pub trait ConnectorCache: Send + Sync {
    /// Drops what is kept about `connector_id`.
    fn forget(&self, connector_id: &str);
}

/// The registry's shared state.
pub struct Registry {
    store: Store,
    keys: Keys,
    runtime: Arc<Runtime>,
    recorder: Recorder,
    policy: HealthPolicy,
    /// Where valid outputs are announced once committed.
    bus: Arc<dyn Bus>,
    /// Where invoke outputs are committed, together with other calls' waiting.
    committer: OutputCommitter,
    /// The threads guest calls run on.
    guest_threads: guest_threads::GuestThreads,
    /// The bus's topic scheme.
    topics: Topics,
    /// How long a rotated-out push credential stays valid.
    rotation_grace: std::time::Duration,
    /// `http://host:port` of this node, for the `token_url` of OAuth2 push
    /// credentials (empty: a relative `/oauth/token`).
    public_base: String,
    /// This node's id in poll leases.
    node: String,
    /// What the node counts (guest calls, heartbeats, quarantine, messages).
    metrics: Arc<crate::metrics::Metrics>,
    /// How long a poll's lease outlasts its call's wall clock.
    poll_lease: std::time::Duration,
    /// Told when a connector's credentials or enablement change.
    caches: RwLock<Vec<Arc<dyn ConnectorCache>>>,
    /// Loaded components by digest: compiled once per node.
    components: Mutex<HashMap<String, Arc<Component>>>,
    /// Compiled input schemas by (digest, action).
    inputs: Mutex<HashMap<(String, String), Arc<jsonschema::Validator>>>,
    /// (tenant, connector) pairs known to exist. A deletion on this node removes
    /// its pair; on another node a stale pair only turns a 404 into an empty list
    /// (heartbeats, events of a connector that is gone).
    known: Mutex<HashSet<(String, String)>>,
    /// (connector, version) → digest. Versions are immutable once stored, and a
    /// deleted version's number is never reused for another component.
    digests: Mutex<HashMap<(String, String), String>>,
    /// (tenant, connector) → the connector and its deployments as an invoke last
    /// read them, and when: reused for [`LOOKUP_TTL`], dropped at once by any
    /// mutation on this node.
    lookups: Mutex<HashMap<(String, String), Lookup>>,
    /// Bumped by every mutation on this node, after its commit: a lookup whose
    /// query began before a mutation committed is not kept (it may hold the
    /// rows from before).
    generation: std::sync::atomic::AtomicU64,
}

/// A connector with its deployments, read at a time.
type Lookup = (
    std::time::Instant,
    Arc<(ConnectorRow, Vec<crate::store::DeploymentRow>)>,
);

/// How long an invoke may reuse a connector and its deployments as read before.
/// A change made on this node is seen at once (every mutation clears the cache);
/// one made on another node sharing the database, within this time.
pub const LOOKUP_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Lookups remembered at most (the cache is cleared when full).
const LOOKUPS: usize = 10_000;

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry over `store`, running guests on `runtime`, recording their
    /// heartbeats with `recorder`, committing invoke outputs through `committer` and
    /// publishing valid outputs on `bus`.
    pub fn new(
        store: Store,
        keys: Keys,
        runtime: Arc<Runtime>,
        recorder: Recorder,
        policy: HealthPolicy,
        bus: Arc<dyn Bus>,
        committer: OutputCommitter,
    ) -> Registry {
        Registry {
            store,
            keys,
            runtime,
            recorder,
            policy,
            bus,
            committer,
            guest_threads: guest_threads::GuestThreads::new(),
            topics: Topics::default(),
            rotation_grace: std::time::Duration::from_secs(60),
            public_base: String::new(),
            node: format!("node-{}", uuid::Uuid::new_v4().simple()),
            metrics: Arc::default(),
            poll_lease: std::time::Duration::from_secs(30),
            caches: RwLock::new(Vec::new()),
            components: Mutex::new(HashMap::new()),
            inputs: Mutex::new(HashMap::new()),
            known: Mutex::new(HashSet::new()),
            digests: Mutex::new(HashMap::new()),
            lookups: Mutex::new(HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Counts into `metrics` (a registry of its own by default).
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Registry {
        self.metrics = metrics;
        self
    }

    /// What this registry counts into.
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// Publishes under `topics` (default prefix `airlock`).
    pub fn with_topics(mut self, topics: Topics) -> Registry {
        self.topics = topics;
        self
    }

    /// This registry naming `base` (`http://host:port`) in the `token_url` it
    /// hands OAuth2 push connectors.
    pub fn with_public_base(mut self, base: impl Into<String>) -> Registry {
        self.public_base = base.into();
        self
    }

    /// The URL clients reach this deployment of Airlock at (`--public-url`).
    pub fn public_base(&self) -> &str {
        &self.public_base
    }

    /// This registry with another rotation grace (default 60 s).
    pub fn with_rotation_grace(mut self, grace: std::time::Duration) -> Registry {
        self.rotation_grace = grace;
        self
    }

    /// This registry naming itself `node` in poll leases (a node keeps its id across
    /// restarts, so it can release what it held when it died).
    pub fn with_node(mut self, node: impl Into<String>) -> Registry {
        self.node = node.into();
        self
    }

    /// This registry's poll leases outlasting a call's wall clock by `lease`
    /// (default 30 s): how long a dead node's deployments wait for another node.
    pub fn with_poll_lease(mut self, lease: std::time::Duration) -> Registry {
        self.poll_lease = lease;
        self
    }

    /// Tells `cache` of every later change to a connector's credentials or
    /// enablement.
    pub fn watch(&self, cache: Arc<dyn ConnectorCache>) {
        if let Ok(mut caches) = self.caches.write() {
            caches.push(cache);
        }
    }

    /// After a deletion on this node, or any change announced by another
    /// (`changed_elsewhere`): every memory this node keeps of the connector goes —
    /// watching caches, "exists", version digests. (Another node that misses the
    /// announcement keeps at most a stale "exists", which only turns a 404 into
    /// an empty list, and digests that cannot be wrong: a deleted version's
    /// number is never reused.)
    fn forget_connector(&self, connector_id: &str) {
        self.changed(connector_id);
        if let Ok(mut known) = self.known.lock() {
            known.retain(|(_, c)| c != connector_id);
        }
        if let Ok(mut digests) = self.digests.lock() {
            digests.retain(|(c, _), _| c != connector_id);
        }
    }

    /// Another node committed a change to `target` (a connector's id, usually):
    /// this node drops its invoke lookups and what it holds of `target`, so the
    /// change is seen here as soon as the notification arrives.
    pub fn changed_elsewhere(&self, target: &str) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut lookups) = self.lookups.lock() {
            lookups.clear();
        }
        self.forget_connector(target);
    }

    /// Every watching cache forgets `connector_id` (after a committed change).
    fn changed(&self, connector_id: &str) {
        if let Ok(caches) = self.caches.read() {
            for c in caches.iter() {
                c.forget(connector_id);
            }
        }
    }

    /// Appends `entry` to the audit chain inside `tx`, then commits `tx`: the one
    /// way a registry mutation commits, so none lands without its audit row.
    async fn commit_audited(
        &self,
        mut tx: crate::store::WriteTx,
        entry: AuditEntry,
    ) -> Result<(), RegistryError> {
        // The other nodes on a shared database drop what they hold of the target
        // when this commits (`Registry::changed_elsewhere`).
        self.store
            .notify_on_commit(&mut tx, crate::store::CHANGED_CHANNEL, &entry.target)
            .await?;
        audit::append(&self.store, &mut tx, &self.keys, entry).await?;
        tx.commit().await.map_err(StoreError::from)?;
        // Whatever changed, no invoke reuses what it read before, nor keeps what
        // a query still running reads of the rows before.
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.lookups.lock().map_err(internal)?.clear();
        Ok(())
    }

    /// The connector with its deployments, for an invoke: from the cache when read
    /// less than [`LOOKUP_TTL`] ago and nothing changed since on this node.
    pub(crate) async fn connector_and_deployments(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Arc<(ConnectorRow, Vec<crate::store::DeploymentRow>)>, RegistryError> {
        let key = (tenant.to_string(), id.to_string());
        if let Some((at, found)) = self.lookups.lock().map_err(internal)?.get(&key)
            && at.elapsed() < LOOKUP_TTL
        {
            return Ok(found.clone());
        }
        // Stamped before the query, so an entry is never taken for fresher than
        // its rows; kept only if no mutation committed meanwhile.
        let started = std::time::Instant::now();
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let found = Arc::new(
            self.store
                .connector_with_deployments(tenant, id)
                .await?
                .ok_or_else(|| RegistryError::NotFound(format!("no connector `{id}`")))?,
        );
        let mut lookups = self.lookups.lock().map_err(internal)?;
        if self.generation.load(std::sync::atomic::Ordering::SeqCst) != generation {
            return Ok(found);
        }
        if lookups.len() >= LOOKUPS {
            lookups.clear();
        }
        lookups.insert(key, (started, found.clone()));
        Ok(found)
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
}

/// An audit entry of `tenant` by `actor`: `action` on `target`, with `detail`.
fn audit_entry(
    tenant: &str,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        tenant_id: tenant.into(),
        actor: actor.into(),
        action: action.into(),
        target: target.into(),
        reason: None,
        detail,
    }
}
