//! `airlock build [DIR]`: builds a connector crate into a component, the way the
//! examples are built: `cargo build --release --target wasm32-wasip2` (the target
//! installed with rustup first if it is missing), then prints the component's path,
//! size and SHA-256 digest (the digest the server will report).
//!
//! Invariants:
//! - cargo's own output goes to stderr as it comes; stdout carries one JSON line,
//!   `{"path", "size", "digest"}`, so `airlock build | jq -r .path` works.
//! - The component is found from cargo's artifact messages for the crate in DIR,
//!   never guessed from a target directory layout (`CARGO_TARGET_DIR` and
//!   workspaces move it).

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail};

/// The target connectors are built for.
const TARGET: &str = "wasm32-wasip2";

/// The arguments of `airlock build` (its help text is `Command::Build`'s doc).
#[derive(clap::Args)]
pub struct BuildArgs {
    /// The connector crate's directory (holding its Cargo.toml).
    #[arg(default_value = ".")]
    dir: PathBuf,
}

/// Builds and prints what was built.
pub fn build(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let manifest = args.dir.join("Cargo.toml");
    let manifest = std::fs::canonicalize(&manifest)
        .with_context(|| format!("{}: no Cargo.toml there", args.dir.display()))?;
    // Run where the crate is, so its own `rust-toolchain.toml` applies.
    let dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
    ensure_target(&dir)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(&cargo)
        .current_dir(&dir)
        .args([
            "build",
            "--release",
            "--lib",
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {cargo}"))?;
    let mut wasm: Option<PathBuf> = None;
    if let Some(out) = child.stdout.take() {
        for line in std::io::BufReader::new(out).lines() {
            let line = line.context("reading cargo's output")?;
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            match msg["reason"].as_str() {
                Some("compiler-message") => {
                    // Rendered diagnostics, as cargo would print them.
                    if let Some(text) = msg["message"]["rendered"].as_str() {
                        eprint!("{text}");
                    }
                }
                Some("compiler-artifact")
                    if msg["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()) =>
                {
                    if let Some(files) = msg["filenames"].as_array() {
                        for f in files.iter().filter_map(|f| f.as_str()) {
                            if f.ends_with(".wasm") {
                                wasm = Some(PathBuf::from(f));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("cargo build failed ({status}); its messages are above");
    }
    let Some(path) = wasm else {
        bail!(
            "cargo built no .wasm for {}: is the crate's `[lib] crate-type` `[\"cdylib\"]`?",
            manifest.display()
        );
    };
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let digest = airlock_host::runtime::component_digest(&bytes);
    eprintln!(
        "built {} ({} KiB, sha256 {})",
        path.display(),
        bytes.len().div_ceil(1024),
        &digest[..16]
    );
    println!(
        "{}",
        serde_json::json!({"path": path.display().to_string(), "size": bytes.len(),
            "digest": digest})
    );
    Ok(ExitCode::SUCCESS)
}

/// Installs the wasm32-wasip2 target with rustup when the toolchain lacks it.
fn ensure_target(dir: &Path) -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .current_dir(dir)
        .args(["target", "list", "--installed"])
        .stderr(Stdio::inherit())
        .output();
    match installed {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == TARGET) =>
        {
            Ok(())
        }
        Ok(_) => {
            eprintln!("installing the {TARGET} target (rustup target add {TARGET})");
            let status = Command::new("rustup")
                .current_dir(dir)
                .args(["target", "add", TARGET])
                .status()
                .context("cannot run rustup")?;
            if !status.success() {
                bail!("`rustup target add {TARGET}` failed ({status})");
            }
            Ok(())
        }
        // No rustup: a toolchain installed otherwise must carry the target itself;
        // cargo says so clearly if it does not.
        Err(_) => Ok(()),
    }
}
