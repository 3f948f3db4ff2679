//! `airlock check FILE.wasm [--json] [--against OLD.wasm]`: the upload quality gate,
//! offline. The same loading as the server's upload (`Runtime::load`) and the same
//! rules (`registry::gate`), so a component that passes here is refused at upload
//! only for what needs the server (its registered category, a version number
//! taken).
//!
//! Invariants:
//! - stdout carries the report: one line per finding for people, or one JSON
//!   document with `--json`; exit 0 when the component passes, 1 when it does not,
//!   2 when a file cannot be read or `--against`'s component does not load.
//! - `--against` never fails the check: an upgrade that asks for more is allowed,
//!   its deployment just waits for approval; the report says what it asks for.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_host::registry::gate::{self, CapabilityDiff, GateFinding};
use airlock_host::runtime::{LoadError, Runtime};

use super::read;

/// The arguments of `airlock check` (its help text is `Command::Check`'s doc).
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The component (.wasm).
    file: PathBuf,
    /// One JSON document instead of lines for people.
    #[arg(long)]
    json: bool,
    /// The version deployed now: report what this one asks for beyond it.
    #[arg(long, value_name = "OLD.wasm")]
    against: Option<PathBuf>,
}

/// Runs the gate and prints the report.
pub fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new()?;
    let bytes = read(&args.file)?;
    let (component, findings) = match runtime.load(&bytes) {
        Ok(c) => {
            let f = gate::check(&c.manifest_json(), c.sample_output());
            (Some(c), f)
        }
        Err(LoadError::InvalidManifest(problems)) => (None, gate::load_findings(&problems)),
        Err(e) => (
            None,
            vec![GateFinding {
                rule: "component",
                path: String::new(),
                message: e.to_string(),
            }],
        ),
    };
    let manifest = component.as_ref().map(|c| c.manifest_json());
    let against = match &args.against {
        Some(old) => {
            let old_component = runtime
                .load_stored(&read(old)?)
                .map_err(|e| anyhow::anyhow!("--against {}: {e}", old.display()))?;
            let old_manifest = old_component.manifest_json();
            let diff = manifest
                .as_ref()
                .map(|m| CapabilityDiff::between(&old_manifest, m));
            Some((old_manifest.version, diff))
        }
        None => None,
    };
    let valid = findings.is_empty();
    if args.json {
        let out = serde_json::json!({
            "file": args.file.display().to_string(),
            "valid": valid,
            "digest": component.as_ref().map(|c| c.digest.clone()),
            "id": manifest.as_ref().map(|m| m.id.clone()),
            "version": manifest.as_ref().map(|m| m.version.clone()),
            "findings": findings,
            "rules": gate::RULES.iter().map(|r| r.name).collect::<Vec<_>>(),
            "against": against.as_ref().map(|(version, diff)| serde_json::json!({
                "version": version,
                "asks_for": diff,
                "needs_approval": diff.as_ref().is_some_and(|d| !d.is_empty()),
            })),
        });
        println!("{out}");
    } else {
        match (&component, &manifest) {
            (Some(c), Some(m)) => println!(
                "{} {} (sha256 {}, contract {})",
                m.id,
                m.version,
                &c.digest[..c.digest.len().min(16)],
                c.contract_version
            ),
            _ => println!("{}", args.file.display()),
        }
        if valid {
            println!(
                "PASS  the upload quality gate ({} rules; `{}` is checked at upload)",
                gate::RULES.len() - 1,
                gate::CATEGORY_MATCHES
            );
        }
        for f in &findings {
            let path = if f.path.is_empty() {
                "(component)"
            } else {
                &f.path
            };
            println!("FAIL  {}  {path}: {}", f.rule, f.message);
        }
        if let Some((version, diff)) = &against {
            match diff {
                Some(d) if !d.is_empty() => {
                    println!(
                        "UPGRADE from {version} asks for more; a deployment's move to it waits \
                         for an admin's approval:"
                    );
                    for line in d.lines() {
                        println!("  {line}");
                    }
                }
                Some(_) => println!("UPGRADE from {version} asks for nothing more"),
                None => {}
            }
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
