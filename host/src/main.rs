//! `airlock`: the command-line entry point.
//!
//! - `airlock inspect FILE.wasm` prints the connector's manifest as JSON.
//! - `airlock run FILE.wasm --action NAME --input JSON [--config JSON] [--memory-mb N]
//!   [--cpu-ms N] [--fuel N]` runs an action in the sandbox, prints its outputs as JSON
//!   on stdout and a summary (time, peak memory, fuel, logs) on stderr.
//! - `airlock serve [--listen ADDR] [--data-dir DIR] [--database URL] [--preload DIR]`
//!   runs the registry server.
//! - `airlock tenant create NAME`, `airlock client create --tenant T --scope S…` and
//!   `airlock audit verify` are the operator's commands on the same data directory.
//! - `airlock validate` checks documents against a standard; `airlock push` sends
//!   events to a push connector as an external system would.
//! - The vendor's path: `airlock new` scaffolds a connector crate, `airlock build`
//!   makes its component, `airlock check` runs the upload quality gate offline,
//!   `airlock login` signs in to a server, `airlock upload` uploads (and deploys),
//!   `airlock connectors` looks at the catalogue.
//!
//! This file is the dispatcher: the command line's top level (each command's help
//! text is its variant's doc below) and one call per command. Each command's
//! arguments and code live in `cli/<command>.rs`; nothing here but the logging setup
//! and the last word on errors: one a command returns is printed as `error: …` with
//! its causes, and exits 2.

mod cli;

/// mimalloc instead of the system allocator: glibc's grows each thread's heap a
/// few pages at a time (an `mprotect` and page faults per step), which was a fifth
/// of a short `airlock validate`; the server's request path allocates on every hop.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "airlock",
    version,
    about = "A host for sandboxed WebAssembly connectors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validates documents against a standard. Exit 0 when all are valid, 1 when any
    /// is invalid, 2 on a usage or I/O error.
    Validate(cli::validate::ValidateArgs),
    /// Pushes events to a push connector, signed with its method: one event per file,
    /// one JSON line per event ({"file", "status", "id", "duplicate"} or the error).
    /// Exit 0 when all were accepted, 1 when any was refused, 2 on a usage, I/O or
    /// network error. Secrets are best given through the environment variables.
    Push(cli::push::PushArgs),
    /// Prints a connector component's manifest, contract version, digest and imports.
    Inspect(cli::inspect::InspectArgs),
    /// Runs one action, poll or ingest of a connector locally, in the sandbox, and
    /// prints its outputs.
    Run(cli::run::RunArgs),
    /// Runs the registry server.
    Serve(cli::serve::ServeArgs),
    /// Scaffolds a connector crate (kind action, poll or ingest) that builds for
    /// wasm32-wasip2 and passes its own tests at once.
    New(cli::new::NewArgs),
    /// Builds a connector crate into a component (installing the wasm32-wasip2
    /// target if missing) and prints its path, size and digest as JSON.
    Build(cli::build::BuildArgs),
    /// Runs the upload quality gate on a component offline. Exit 0 when it passes,
    /// 1 when it does not, 2 on a usage or I/O error.
    Check(cli::check::CheckArgs),
    /// Signs in to a server with an OAuth client (AIRLOCK_CLIENT_ID and
    /// AIRLOCK_CLIENT_SECRET, or a prompt) and keeps the credentials (mode 0600).
    Login(cli::login::LoginArgs),
    /// Uploads a component to the server you logged in to, and deploys it if asked.
    /// Exit 0 when it went through (a held upgrade included), 1 when the server
    /// refused it, 2 on a usage, I/O or network error.
    Upload(cli::upload::UploadArgs),
    /// Lists connectors, shows one, or the fleet's status, from the server you
    /// logged in to.
    Connectors {
        #[command(subcommand)]
        command: Option<cli::connectors::ConnectorsCommand>,
    },
    /// Manages tenants.
    Tenant {
        #[command(subcommand)]
        command: cli::operator::TenantCommand,
    },
    /// Manages OAuth clients.
    Client {
        #[command(subcommand)]
        command: cli::operator::ClientCommand,
    },
    /// Checks the audit trail.
    Audit {
        #[command(subcommand)]
        command: cli::operator::AuditCommand,
    },
    /// Rotates the key that signs access tokens.
    TokenKey {
        #[command(subcommand)]
        command: cli::operator::TokenKeyCommand,
    },
}

fn main() -> ExitCode {
    use std::io::IsTerminal as _;
    let cli = Cli::parse();
    // `airlock run` prints the guest's lines itself, escaped; the host's log would
    // repeat them. Colour only on a terminal, and never with NO_COLOR set.
    let default_filter = match cli.command {
        Command::Run(_) => "info,airlock::guest=off",
        _ => "info",
    };
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let json = matches!(&cli.command, Command::Serve(args) if args.json_logs());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        // Each line: the event, the current span's fields and the spans it is in.
        logs.json()
            .with_current_span(true)
            .with_span_list(true)
            .init();
    } else {
        logs.with_ansi(colour).init();
    }
    let outcome = match cli.command {
        // These two report their own errors, file by file.
        Command::Validate(args) => Ok(cli::validate::validate(&args)),
        Command::Push(args) => Ok(cli::push::push(args)),
        Command::Inspect(args) => cli::inspect::inspect(&args),
        Command::Run(args) => cli::run::run(args),
        Command::Serve(args) => cli::serve::serve(args),
        Command::New(args) => cli::new::new(&args),
        Command::Build(args) => cli::build::build(&args),
        Command::Check(args) => cli::check::check(&args),
        Command::Login(args) => cli::login::login(&args),
        Command::Upload(args) => cli::upload::upload(&args),
        Command::Connectors { command } => cli::connectors::connectors(command),
        Command::Tenant { command } => cli::operator::tenant(command),
        Command::Client { command } => cli::operator::client(command),
        Command::Audit { command } => cli::operator::audit(command),
        Command::TokenKey { command } => cli::operator::token_key(command),
    };
    match outcome {
        Ok(code) => code,
        // The server said no: the command ran, and the answer is "no".
        Err(e) if e.downcast_ref::<cli::login::Refused>().is_some() => {
            eprintln!("refused: {e:#}");
            ExitCode::from(1)
        }
        // One JSON object per line, even for the last word.
        Err(e) if json => {
            tracing::error!("{e:#}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
