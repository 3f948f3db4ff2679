//! `airlock inspect`: loads a connector component as the server would and prints what
//! it is: its digest, contract version, imports and manifest, as one JSON document.
//!
//! Invariant: loading is the runtime's own `Runtime::load` under the default limits:
//! the checks the server runs on an upload (size cap, preamble, imports, exports,
//! `describe`), with the same messages.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_host::runtime::Runtime;

use super::read;

/// The arguments of `airlock inspect` (its help text is `Command::Inspect`'s doc).
#[derive(clap::Args)]
pub struct InspectArgs {
    /// The component (.wasm).
    file: PathBuf,
}

/// `airlock inspect`: exit 0 with the JSON on stdout; a component that does not load
/// is an error (exit 2) whose message names what to fix.
pub fn inspect(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new()?;
    let component = runtime.load(&read(&args.file)?)?;
    let out = serde_json::json!({
        "digest": component.digest,
        "contract_version": component.contract_version,
        "imports": component.imports,
        "manifest": component.manifest_json(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
