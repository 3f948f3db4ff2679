//! `airlock serve`: runs the registry server until Ctrl-C or SIGTERM.
//!
//! Invariants:
//! - The server is built and connected by the library's composition root
//!   (`airlock_host::server::start`); this module only turns flags into
//!   `ServeOptions`, refusing a bus it does not know before anything starts.
//! - Ctrl-C or SIGTERM stops the server through `Server::stop`, which stops
//!   accepting, lets in-flight requests finish and flushes heartbeats, rather than
//!   cutting it off. A second signal while it stops ends the process at once
//!   (exit 1), as an operator pressing Ctrl-C twice expects.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_host::api::FrontLimits;
use airlock_host::health::HealthPolicy;
use airlock_host::server::{DEFAULT_ISSUER, ServeOptions};

use airlock_host::scheduler::SchedulerOptions;

use super::{DataArgs, OutboundArgs, tokio};

/// The arguments of `airlock serve` (its help text is `Command::Serve`'s doc).
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The URL clients reach Airlock at (`https://airlock.example.com`), when it is
    /// not `http://<listen address>`: named in token URLs, bootstrap.json and the
    /// OAuth metadata.
    #[arg(long)]
    public_url: Option<String>,
    /// Also serve `/metrics` here, without a token, for a Prometheus scraper
    /// (e.g. `127.0.0.1:9464`; bind an address only the scraper reaches). On
    /// `--listen`, `/metrics` needs a `connectors:read` token.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// `text` for people, `json` (one object per line, with the request's and the
    /// guest call's span fields) for log shippers.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(flatten)]
    data: DataArgs,
    /// A directory of `.wasm` connectors to load into the bootstrap tenant.
    #[arg(long)]
    preload: Option<PathBuf>,
    /// The `iss` of the access tokens this node issues and accepts.
    #[arg(long, default_value = DEFAULT_ISSUER)]
    issuer: String,
    /// Consecutive failed calls that make a connector `error`.
    #[arg(long, default_value_t = HealthPolicy::default().error_after_failures)]
    error_after_failures: usize,
    /// p95 latency (ms) over the window that makes a connector `degraded`.
    #[arg(long, default_value_t = HealthPolicy::default().degraded_latency_ms)]
    degraded_latency_ms: f64,
    /// Failure rate (0–1) over the window that makes a connector `degraded`.
    #[arg(long, default_value_t = HealthPolicy::default().degraded_error_rate)]
    degraded_error_rate: f64,
    /// Consecutive successes needed to leave `degraded` or `error`.
    #[arg(long, default_value_t = HealthPolicy::default().recover_after)]
    recover_after: usize,
    /// Heartbeats the rates and percentiles look at.
    #[arg(long, default_value_t = HealthPolicy::default().window)]
    health_window: usize,
    /// Seconds a push connector's previous credential stays valid after a rotation.
    #[arg(long, default_value_t = 60)]
    rotation_grace: u64,
    /// The bus: `embedded` (the database's outbox, the default), or
    /// `nats://HOST:PORT` to relay the outbox to NATS JetStream as well (a stream
    /// over `<prefix>.>`, created if missing).
    #[arg(long, default_value = "embedded")]
    bus: String,
    /// The first token(s) of every topic: `<prefix>.<tenant_id>.<event_type>`.
    #[arg(long, default_value = "airlock")]
    bus_prefix: String,
    /// Seconds a scheduled poll's lease outlasts its call's wall clock: how long
    /// another node waits before taking over the deployments of a node that died.
    #[arg(long, default_value_t = 30)]
    poll_lease: u64,
    /// Scheduled polls this node runs at once.
    #[arg(long, default_value_t = SchedulerOptions::default().concurrency)]
    poll_concurrency: usize,
    /// Milliseconds a client has to send a request's headers; also how long an idle
    /// keep-alive connection stays open.
    #[arg(long, default_value_t = FrontLimits::default().header_timeout.as_millis() as u64)]
    header_timeout_ms: u64,
    /// Milliseconds a client has to send a request's whole body after its headers
    /// (408 past it).
    #[arg(long, default_value_t = FrontLimits::default().body_timeout.as_millis() as u64)]
    body_timeout_ms: u64,
    /// Connections served at once; more are closed on arrival.
    #[arg(long, default_value_t = FrontLimits::default().max_connections)]
    max_connections: usize,
    /// How SQLite makes a commit durable: `full` (fsync each commit; an
    /// acknowledged event survives a power loss) or `normal` (fsync at checkpoints;
    /// survives a process crash only, faster on slow disks).
    #[arg(long, default_value = "full")]
    sqlite_synchronous: airlock_host::store::SqliteSync,
    #[command(flatten)]
    outbound: OutboundArgs,
}

/// How the server's log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line.
    Json,
}

impl ServeArgs {
    /// Whether the log is JSON lines (`main.rs` sets the subscriber up before
    /// the command runs).
    pub fn json_logs(&self) -> bool {
        self.log_format == LogFormat::Json
    }
}

/// `airlock serve`: exit 0 after a clean shutdown, 2 when the server cannot start.
pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let ServeArgs {
        listen,
        public_url,
        metrics_listen,
        log_format: _,
        data,
        preload,
        issuer,
        error_after_failures,
        degraded_latency_ms,
        degraded_error_rate,
        recover_after,
        health_window,
        rotation_grace,
        bus,
        bus_prefix,
        poll_lease,
        poll_concurrency,
        header_timeout_ms,
        body_timeout_ms,
        max_connections,
        sqlite_synchronous,
        outbound,
    } = args;
    tokio()?.block_on(async move {
        let nats = match bus.as_str() {
            "embedded" => None,
            url if url.starts_with("nats://") => Some(url.to_string()),
            other => {
                anyhow::bail!("--bus {other}: use `embedded` (the default) or `nats://HOST:PORT`")
            }
        };
        let mut opts = ServeOptions::new(data.data_dir);
        opts.nats = nats;
        opts.listen = listen;
        opts.database = data.database;
        opts.database_owner = data.database_owner;
        opts.preload = preload;
        opts.issuer = issuer;
        opts.rotation_grace = std::time::Duration::from_secs(rotation_grace);
        opts.poll_lease = std::time::Duration::from_secs(poll_lease);
        opts.scheduler = SchedulerOptions {
            concurrency: poll_concurrency.max(1),
        };
        opts.outbound = outbound.transport()?;
        opts.sqlite_sync = sqlite_synchronous;
        if let Some(url) = &public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!("--public-url {url}: give an http:// or https:// URL");
        }
        opts.public_url = public_url;
        opts.metrics_listen = metrics_listen;
        opts.front = FrontLimits {
            header_timeout: std::time::Duration::from_millis(header_timeout_ms.max(1)),
            body_timeout: std::time::Duration::from_millis(body_timeout_ms.max(1)),
            max_connections: max_connections.max(1),
        };
        opts.topics = airlock_host::bus::Topics::new(&bus_prefix)
            .map_err(|e| anyhow::anyhow!("--bus-prefix: {e}"))?;
        opts.policy = HealthPolicy {
            error_after_failures,
            degraded_latency_ms,
            degraded_error_rate,
            recover_after,
            window: health_window,
            ..HealthPolicy::default()
        };
        let server = airlock_host::server::start(opts).await?;
        if let Some(b) = &server.bootstrap {
            tracing::info!(
                tenant = b["tenant_id"].as_str().unwrap_or_default(),
                "first start: wrote the bootstrap client to bootstrap.json"
            );
        }
        // SIGINT (Ctrl-C) or SIGTERM (what systemd, Docker and Kubernetes send):
        // both stop gracefully, flushing held heartbeats and in-flight commits.
        // The handlers go in before the line below says the server is up: a
        // supervisor that stops it as soon as it reads that line must not meet
        // the default action (an abrupt exit) instead.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        // Through the log, so `--log-format json` stays one object per line.
        tracing::info!("airlock listening on http://{}", server.addr);
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down (a second Ctrl-C or SIGTERM stops at once)");
        // A second signal means one sent after this line: SIGINT and SIGTERM sent
        // together (a wrapper forwarding Ctrl-C as SIGTERM) are one request to stop.
        {
            use futures_util::FutureExt as _;
            // `Some(Some(()))` only: a stream that has ended answers `None` at
            // once, every time, and must not keep this loop going.
            while let Some(Some(())) = int.recv().now_or_never() {}
            while let Some(Some(())) = term.recv().now_or_never() {}
        }
        tokio::select! {
            r = server.stop() => r?,
            // Exit here: returning would drop the runtime, which waits for every
            // blocking task (guest calls of up to their wall clock).
            _ = int.recv() => {
                tracing::warn!("stopped before the shutdown finished");
                std::process::exit(1);
            }
            _ = term.recv() => {
                tracing::warn!("stopped before the shutdown finished");
                std::process::exit(1);
            }
        }
        tracing::info!("airlock stopped");
        Ok(ExitCode::SUCCESS)
    })
}
