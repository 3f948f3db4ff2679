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

pub mod inspect;
pub mod operator;
pub mod push;
pub mod run;
pub mod serve;
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
