//! `airlock`: the command-line entry point.
//!
//! - `airlock inspect FILE.wasm` prints the connector's manifest as JSON.
//! - `airlock run FILE.wasm --action NAME --input JSON [--config JSON]` runs an action
//!   in the sandbox and prints its outputs as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_host::runtime::{Grants, Runtime};
use anyhow::Context as _;
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
    /// Prints a connector component's manifest, contract version, digest and imports.
    Inspect {
        /// The component (.wasm).
        file: PathBuf,
    },
    /// Runs one action of a connector locally, in the sandbox, and prints its outputs.
    Run {
        /// The component (.wasm).
        file: PathBuf,
        /// The action to invoke.
        #[arg(long)]
        action: String,
        /// The action's input, JSON.
        #[arg(long, default_value = "{}")]
        input: String,
        /// The deployment config, JSON.
        #[arg(long, default_value = "{}")]
        config: String,
    },
}

fn read(file: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new()?;
    match cli.command {
        Command::Inspect { file } => {
            let component = runtime.load(&read(&file)?)?;
            let out = serde_json::json!({
                "digest": component.digest,
                "contract_version": component.contract_version,
                "imports": component.imports,
                "manifest": component.manifest_json(),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            file,
            action,
            input,
            config,
        } => {
            serde_json::from_str::<serde_json::Value>(&input).context("--input is not JSON")?;
            serde_json::from_str::<serde_json::Value>(&config).context("--config is not JSON")?;
            let component = runtime.load(&read(&file)?)?;
            let started = std::time::Instant::now();
            match component.invoke(&action, &input, &config, Grants::default()) {
                Ok((outputs, captured)) => {
                    let outputs: Vec<_> = outputs
                        .iter()
                        .map(airlock_host::runtime::output_json)
                        .collect();
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({ "outputs": outputs }))?
                    );
                    eprintln!(
                        "ok in {:.1} ms, {} log line(s)",
                        started.elapsed().as_secs_f64() * 1000.0,
                        captured.logs.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
