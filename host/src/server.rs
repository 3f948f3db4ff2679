//! `airlock serve`: opens the store, creates the bootstrap tenant on first start,
//! preloads example connectors, and serves the API until shut down.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::api::{AppParts, AppState, router};
use crate::auth::{Scope, Tokens, create_client, create_tenant};
use crate::bus::{Bus, EmbeddedBus};
use crate::health::{HealthPolicy, Recorder};
use crate::ingest::{Ingest, Pipeline};
use crate::keys::{Keys, write_private};
use crate::registry::{OutputCommitter, Registry};
use crate::runtime::Runtime;
use crate::scheduler::{Scheduler, SchedulerOptions};
use crate::store::{SqliteSync, Store};

/// The name of the tenant the first start creates (and `--preload` loads into).
pub const BOOTSTRAP_TENANT: &str = "default";

/// The issuer tokens carry unless `--issuer` says otherwise.
pub const DEFAULT_ISSUER: &str = "urn:airlock";

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Keys, the SQLite file and `bootstrap.json` live here.
    pub data_dir: PathBuf,
    /// A database URL; SQLite in the data dir when `None`.
    pub database: Option<String>,
    /// PostgreSQL: the URL of the role that owns the schema, when `database`'s role
    /// does not (migrations and grants run through it; see [`Store::open_as`]).
    pub database_owner: Option<String>,
    /// A directory of `.wasm` connectors to load into the bootstrap tenant.
    pub preload: Option<PathBuf>,
    /// Health thresholds.
    pub policy: HealthPolicy,
    /// The tokens' issuer.
    pub issuer: String,
    /// How long a push connector's previous credential stays valid after a rotation.
    pub rotation_grace: std::time::Duration,
    /// The bus's topics (`<prefix>.<tenant_id>.<event_type>`, prefix `airlock`).
    pub topics: crate::bus::Topics,
    /// `nats://HOST:PORT`: relay the outbox to NATS JetStream ([`crate::bus::NatsBus`]);
    /// `None`: the embedded bus alone.
    pub nats: Option<String>,
    /// How long a poll's lease outlasts its call's wall clock: how long another
    /// node waits before taking over a dead node's deployments. Default 30 s.
    pub poll_lease: std::time::Duration,
    /// The scheduler's settings (polls at once).
    pub scheduler: SchedulerOptions,
    /// Extra roots and address overrides for connectors' outbound HTTP.
    pub outbound: crate::runtime::Transport,
    /// Header and body timeouts, and the connection cap.
    pub front: crate::api::FrontLimits,
    /// How SQLite makes commits durable (default: fsync every commit).
    pub sqlite_sync: SqliteSync,
    /// The URL clients reach Airlock at, when it is not `http://<listen address>`
    /// (behind a proxy, or listening on all interfaces): what token URLs,
    /// `bootstrap.json` and the OAuth metadata name.
    pub public_url: Option<String>,
    /// Where to serve `/metrics` without a token (an address only the scraper
    /// reaches); on the API's address it needs `connectors:read`.
    pub metrics_listen: Option<SocketAddr>,
}

impl ServeOptions {
    /// Defaults: `127.0.0.1:8080`, `./airlock-data`, SQLite, no preload.
    pub fn new(data_dir: impl Into<PathBuf>) -> ServeOptions {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: data_dir.into(),
            database: None,
            database_owner: None,
            preload: None,
            policy: HealthPolicy::default(),
            issuer: DEFAULT_ISSUER.into(),
            rotation_grace: std::time::Duration::from_secs(60),
            topics: crate::bus::Topics::default(),
            nats: None,
            poll_lease: std::time::Duration::from_secs(30),
            scheduler: SchedulerOptions::default(),
            outbound: crate::runtime::Transport::default(),
            front: crate::api::FrontLimits::default(),
            sqlite_sync: SqliteSync::default(),
            public_url: None,
            metrics_listen: None,
        }
    }
}

/// The node's opened parts: what the CLI's operator commands also use.
#[derive(Debug, Clone)]
pub struct Node {
    /// The store.
    pub store: Store,
    /// The data directory's keys.
    pub keys: Keys,
}

impl Node {
    /// Opens the data directory's keys and the database.
    pub async fn open(data_dir: &Path, database: Option<&str>) -> anyhow::Result<Node> {
        Node::open_with(data_dir, database, None, SqliteSync::default()).await
    }

    /// [`Node::open`] with the schema's owner (PostgreSQL, see [`Store::open_as`])
    /// and SQLite's commits made durable as `sync` says.
    pub async fn open_with(
        data_dir: &Path,
        database: Option<&str>,
        owner: Option<&str>,
        sync: SqliteSync,
    ) -> anyhow::Result<Node> {
        let keys = Keys::load_or_create(data_dir)?;
        let url = match database {
            Some(u) => u.to_string(),
            None => {
                crate::keys::private_file(&data_dir.join("airlock.db"))?;
                Store::sqlite_url(data_dir)
            }
        };
        let store = Store::open_as(&url, owner, sync).await?;
        Ok(Node { store, keys })
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Where it serves `/metrics` without a token (`--metrics-listen`).
    pub metrics_addr: Option<SocketAddr>,
    /// The bootstrap tenant, if this start created it.
    pub bootstrap: Option<serde_json::Value>,
    /// The registry it serves.
    pub registry: Arc<Registry>,
    /// Its database.
    pub store: Store,
    /// Its heartbeat recorder.
    pub recorder: Recorder,
    /// Its bus.
    pub bus: Arc<dyn Bus>,
    /// Its scheduler.
    pub scheduler: Scheduler,
    pipeline: crate::ingest::Pipeline,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    key_watch: tokio::task::JoinHandle<()>,
    notifications: Option<tokio::task::JoinHandle<()>>,
    metrics_stop: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

impl Server {
    /// Stops accepting, finishes in-flight requests, flushes heartbeats.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        self.bus.stop().await;
        self.scheduler.stop();
        self.key_watch.abort();
        if let Some(n) = &self.notifications {
            n.abort();
        }
        (&mut self.task).await??;
        if let Some((stop, task)) = self.metrics_stop.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
        self.pipeline.stop();
        self.recorder.flush().await;
        self.store.close().await;
        Ok(())
    }

    /// Waits until the server ends (after `stop` from elsewhere or an I/O failure).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        Ok(())
    }
}

/// Opens everything and starts serving in the background. The composition root:
/// the one place that builds the parts (store, runtime, recorder, bus, registry,
/// tokens, pipeline, ingest) and connects them.
pub async fn start(opts: ServeOptions) -> anyhow::Result<Server> {
    let node = Node::open_with(
        &opts.data_dir,
        opts.database.as_deref(),
        opts.database_owner.as_deref(),
        opts.sqlite_sync,
    )
    .await?;
    let listener = TcpListener::bind(opts.listen).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                " — another process (perhaps another airlock) listens there; stop it, or \
                 choose another address with --listen, e.g. --listen 127.0.0.1:8081"
            }
            std::io::ErrorKind::PermissionDenied => {
                " — ports below 1024 need privileges; choose another with --listen"
            }
            _ => "",
        };
        anyhow::anyhow!("cannot listen on {}: {e}{hint}", opts.listen)
    })?;
    let addr = listener.local_addr()?;
    // Bound before anything starts, so a busy address stops the start cleanly.
    let metrics_listener = match opts.metrics_listen {
        Some(at) => Some(
            TcpListener::bind(at)
                .await
                .with_context(|| format!("--metrics-listen {at}: cannot listen there"))?,
        ),
        None => None,
    };
    let public_base = public_base(opts.public_url.as_deref(), addr);
    let runtime = Arc::new(
        Runtime::new()?
            .with_cache(
                &opts.data_dir.join("compile-cache"),
                node.keys.compile_cache,
            )?
            .with_transport(opts.outbound.clone()),
    );
    let recorder = Recorder::start(node.store.clone(), opts.policy);
    let node_id = node_id(&opts.data_dir)?;
    let bus: Arc<dyn Bus> = match &opts.nats {
        None => Arc::new(EmbeddedBus::new(node.store.clone())),
        Some(url) => Arc::new(
            crate::bus::NatsBus::start(
                node.store.clone(),
                url,
                opts.topics.prefix(),
                node_id.clone(),
            )
            .await?,
        ),
    };
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let registry = Arc::new(
        Registry::new(
            node.store.clone(),
            node.keys.clone(),
            runtime,
            recorder.clone(),
            opts.policy,
            bus.clone(),
            OutputCommitter::start(node.store.clone(), bus.clone()),
        )
        .with_rotation_grace(opts.rotation_grace)
        .with_topics(opts.topics.clone())
        .with_public_base(public_base.clone())
        .with_node(node_id)
        .with_poll_lease(opts.poll_lease)
        .with_metrics(metrics.clone()),
    );
    // Leases this node held when it last stopped: none of those polls runs now.
    let released = registry.release_stale_leases().await?;
    if released > 0 {
        tracing::info!(
            released,
            "released the poll leases of this node's previous run"
        );
    }
    // Other nodes on a shared PostgreSQL: their bus commits wake this node's
    // subscribers, their registry changes empty this node's caches, at once.
    let notifications = node.store.listen(
        &[crate::store::BUS_CHANNEL, crate::store::CHANGED_CHANNEL],
        {
            let (bus, registry) = (bus.clone(), registry.clone());
            move |channel, payload| {
                if channel == crate::store::BUS_CHANNEL {
                    bus.published();
                } else {
                    registry.changed_elsewhere(payload);
                }
            }
        },
    );
    let tokens = Arc::new(Tokens::new(&node.keys, &opts.issuer)?);
    let key_watch = watch_token_keys(opts.data_dir.clone(), node.keys.clone(), tokens.clone());

    let bootstrap = if node.store.count_tenants().await? == 0 {
        Some(write_bootstrap(&node, &opts.data_dir, &public_base).await?)
    } else {
        None
    };
    if let Some(dir) = &opts.preload {
        preload(&registry, &node, dir).await?;
    }

    // Drains what an earlier run left `received`, then follows new commits.
    let pipeline = Pipeline::start(registry.clone(), node.store.clone(), bus.clone());
    let clients = Arc::new(crate::auth::clients::ClientStatus::new(node.store.clone()));
    let ingest = Arc::new(Ingest::new(
        node.store.clone(),
        node.keys.clone(),
        tokens.clone(),
        clients.clone(),
        pipeline.clone(),
        crate::ingest::RsaPool::start()?,
    ));
    // Rotations, disables and enables take effect at ingest at once.
    registry.watch(ingest.clone());
    let scheduler = Scheduler::start(registry.clone(), node.store.clone(), opts.scheduler);
    let state = AppState::new(AppParts {
        registry: registry.clone(),
        tokens,
        ingest,
        store: node.store.clone(),
        bus: bus.clone(),
        topics: opts.topics.clone(),
        failures: Arc::default(),
        clients,
        metrics,
    });
    // `--metrics-listen`: `/metrics` alone, without a token, on its own address,
    // behind the same front door (timeouts, connection cap, graceful stop).
    let (metrics_addr, metrics_stop) = match metrics_listener {
        Some(listener) => {
            let bound = listener.local_addr()?;
            let app = crate::api::metrics::metrics_only(state.clone());
            let (stop, stopped) = oneshot::channel::<()>();
            let front = opts.front;
            let task = tokio::spawn(async move {
                let serving = crate::api::serve(listener, app, front, async move {
                    let _ = stopped.await;
                });
                if let Err(e) = serving.await {
                    tracing::warn!(error = %e, "the metrics listener stopped");
                }
            });
            tracing::info!(addr = %bound, "serving /metrics");
            (Some(bound), Some((stop, task)))
        }
        None => (None, None),
    };
    let app = router(state);
    let (tx, rx) = oneshot::channel::<()>();
    let front = opts.front;
    let task = tokio::spawn(async move {
        crate::api::serve(listener, app, front, async move {
            let _ = rx.await;
        })
        .await
    });
    tracing::info!(%addr, "airlock is serving");
    Ok(Server {
        addr,
        metrics_addr,
        bootstrap,
        registry,
        store: node.store,
        recorder,
        bus,
        scheduler,
        pipeline,
        shutdown: Some(tx),
        task,
        key_watch,
        notifications,
        metrics_stop,
    })
}

/// Takes up a rotated token-signing key (`airlock token-key rotate`) within
/// [`crate::keys::TOKEN_KEY_RELOAD_SECS`], without a restart.
fn watch_token_keys(
    data_dir: PathBuf,
    keys: Keys,
    tokens: Arc<Tokens>,
) -> tokio::task::JoinHandle<()> {
    let key_file = data_dir.join(crate::keys::TOKEN_KEY_FILE);
    let retired_file = data_dir.join(crate::keys::RETIRED_TOKEN_KEYS_FILE);
    // Both files, as bytes (an absent retired list reads as empty): a change to
    // either is taken up, so a retired list copied after its key still counts.
    let read = move || {
        let (key_file, retired_file) = (key_file.clone(), retired_file.clone());
        async move {
            let key = tokio::fs::read(&key_file).await.ok()?;
            let retired = match tokio::fs::read(&retired_file).await {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(_) => return None,
            };
            Some((key, retired))
        }
    };
    tokio::spawn(async move {
        let mut seen = read().await;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(
            crate::keys::TOKEN_KEY_RELOAD_SECS,
        ));
        loop {
            tick.tick().await;
            // A file missing or unreadable (being copied): look again next time;
            // nothing is ever created here.
            let Some(now) = read().await else { continue };
            if seen.as_ref() == Some(&now) {
                continue;
            }
            let loaded = keys
                .with_token_keys(&data_dir, &now.0, &now.1)
                .map_err(|e| e.to_string())
                .and_then(|keys| tokens.install(&keys).map_err(|e| e.to_string()));
            match loaded {
                Ok(()) => {
                    tracing::info!(kid = ?tokens.signing_kid().ok(), "took up the token-signing keys as changed on disk");
                    seen = Some(now);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "changed token-signing keys could not be loaded")
                }
            }
        }
    })
}

/// The URL clients reach this node at: `--public-url` when given, else
/// `http://<listen address>` — with a loopback address in place of an unspecified
/// one (`0.0.0.0`, `::`), which no client can connect to, and a warning that says
/// to set `--public-url`.
fn public_base(public_url: Option<&str>, addr: SocketAddr) -> String {
    if let Some(url) = public_url {
        return url.trim_end_matches('/').to_string();
    }
    if addr.ip().is_unspecified() {
        let local = SocketAddr::new(
            match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            },
            addr.port(),
        );
        tracing::warn!(
            %addr,
            "listening on all interfaces: token URLs will name http://{local}; \
             pass --public-url with the address clients use"
        );
        return format!("http://{local}");
    }
    format!("http://{addr}")
}

async fn write_bootstrap(
    node: &Node,
    data_dir: &Path,
    public_base: &str,
) -> anyhow::Result<serde_json::Value> {
    let tenant = create_tenant(&node.store, &node.keys, BOOTSTRAP_TENANT, "bootstrap").await?;
    let (client, secret) = create_client(
        &node.store,
        &node.keys,
        &tenant.id,
        &Scope::ALL,
        "bootstrap",
        "bootstrap",
    )
    .await?;
    let doc = json!({
        "tenant_id": tenant.id,
        "client_id": client.id,
        "client_secret": secret,
        "token_url": format!("{public_base}/oauth/token"),
    });
    write_private(
        &data_dir.join("bootstrap.json"),
        serde_json::to_string_pretty(&doc)?.as_bytes(),
    )?;
    tracing::info!(path = %data_dir.join("bootstrap.json").display(), "wrote the bootstrap credentials");
    Ok(doc)
}

/// Loads every `.wasm` in `dir` into the bootstrap tenant (skipping versions already
/// there) and deploys it to `default` when its config schema accepts `{}`.
async fn preload(registry: &Registry, node: &Node, dir: &Path) -> anyhow::Result<()> {
    // The tenant, not bootstrap.json: an operator should delete that file (it holds
    // a secret) once the credentials are copied somewhere safe.
    let Some(tenant) = node.store.find_tenant(BOOTSTRAP_TENANT).await? else {
        anyhow::bail!(
            "--preload: this database has no `{BOOTSTRAP_TENANT}` tenant to load the connectors into"
        );
    };
    let tenant = tenant.id.as_str();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("--preload {}: cannot read the directory", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    files.sort();
    for file in files {
        let bytes = std::fs::read(&file)?;
        match registry.preload(tenant, bytes).await {
            Ok(summary) => tracing::info!(file = %file.display(), %summary, "preloaded"),
            Err(e) => tracing::warn!(file = %file.display(), error = %e, "not preloaded"),
        }
    }
    Ok(())
}

/// This node's id in poll leases, kept in `DIR/node-id` (created on first start) so
/// a restarted node recognises the leases it held.
fn node_id(data_dir: &Path) -> anyhow::Result<String> {
    let file = data_dir.join("node-id");
    match std::fs::read_to_string(&file) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => {
            let id = format!("node-{}", uuid::Uuid::new_v4().simple());
            write_private(&file, id.as_bytes())?;
            Ok(id)
        }
    }
}
