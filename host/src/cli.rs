//! The commands of the `airlock` binary, one module each: the command's arguments (a
//! clap `Args` struct, or a `Subcommand` enum for the operator's command groups) and
//! the function `main.rs` calls for it. What the commands do lives in the library
//! (`airlock_host`); these modules turn flags into its calls and its answers into
//! output.
//!
//! Invariants:
//! - stdout carries a command's result (JSON, or `validate`'s report for people
//!   without `--json`), so it can be piped; logs, summaries, notes and errors go to
//!   stderr.
//! - Exit codes: 0 when the command did what was asked; 1 when it ran and the answer
//!   is "no" (an invalid document, a refused event, a failed call, a tampered audit
//!   chain); 2 on a usage, I/O or setup error. An error a command returns to `main`
//!   is printed as `error: …` with its causes, and exits 2.

pub mod build;
pub mod check;
pub mod connectors;
pub mod inspect;
pub mod login;
pub mod new;
pub mod operator;
pub mod push;
pub mod run;
pub mod serve;
pub mod upload;
pub mod validate;

use std::path::PathBuf;

use anyhow::Context as _;

/// Where the node's data lives.
#[derive(clap::Args)]
pub struct DataArgs {
    /// Keys, the SQLite database and bootstrap.json live here.
    #[arg(long, default_value = "./airlock-data")]
    pub data_dir: PathBuf,
    /// A database URL (`postgres://…`); SQLite in the data directory by default.
    #[arg(long)]
    pub database: Option<String>,
    /// PostgreSQL: the URL of the role that owns the schema, when `--database`
    /// connects as a role that does not (the recommended setup: see
    /// docs/operations.md). Migrations and grants run through it at start.
    #[arg(long, value_name = "URL")]
    pub database_owner: Option<String>,
}

impl DataArgs {
    /// Opens the node these flags name (keys and database), as the server does.
    pub async fn open_node(&self) -> anyhow::Result<airlock_host::server::Node> {
        airlock_host::server::Node::open_with(
            &self.data_dir,
            self.database.as_deref(),
            self.database_owner.as_deref(),
            airlock_host::store::SqliteSync::default(),
        )
        .await
    }
}

/// How connectors reach upstreams beyond the egress policy (`serve` and `run`).
#[derive(clap::Args)]
pub struct OutboundArgs {
    /// PEM file of extra root certificates trusted for connectors' outbound HTTPS,
    /// besides the system's (a staging upstream, a test CA).
    #[arg(long, value_name = "FILE")]
    pub outbound_ca: Option<PathBuf>,
    /// `HOST[:PORT]=IP:PORT` (repeatable): connect to that address for that host, as
    /// curl's `--connect-to`. The address still passes the deployment's address
    /// policy: a loopback target needs `allowed_networks` (or `--allow-network`).
    #[arg(long, value_name = "HOST[:PORT]=IP:PORT")]
    pub outbound_resolve: Vec<String>,
}

impl OutboundArgs {
    /// The transport these flags describe, each setting logged.
    pub fn transport(&self) -> anyhow::Result<airlock_host::runtime::Transport> {
        let mut t = airlock_host::runtime::Transport::default();
        if let Some(file) = &self.outbound_ca {
            let pem = std::fs::read(file)
                .with_context(|| format!("--outbound-ca {}: cannot read it", file.display()))?;
            t = t
                .with_extra_roots(&pem, &file.display().to_string())
                .map_err(|e| anyhow::anyhow!("--outbound-ca {e}"))?;
        }
        for rule in &self.outbound_resolve {
            t = t
                .with_resolve(rule)
                .map_err(|e| anyhow::anyhow!("--outbound-resolve {e}"))?;
        }
        for line in t.describe() {
            tracing::info!(setting = %line, "outbound");
        }
        Ok(t)
    }
}

/// The multi-threaded runtime the server and the operator's commands run on.
pub fn tokio() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Runs a future to completion on a throwaway single-threaded runtime.
pub fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(f)
}

/// A file's bytes; `-` reads stdin.
pub fn read(file: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .context("cannot read stdin")?;
        return Ok(bytes);
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}
