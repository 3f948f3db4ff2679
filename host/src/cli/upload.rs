//! `airlock upload FILE.wasm --connector ID [--deploy TARGET --config FILE --secrets
//! FILE]`: uploads a component to the server `airlock login` signed in to, and
//! optionally deploys it.
//!
//! Invariants:
//! - Progress (a bar for the bytes, a spinner while the server compiles and checks
//!   the component) only when stderr is a terminal; plain lines otherwise.
//! - stdout carries one JSON document: the connector, version, digest, what the
//!   version asks for beyond each deployed one, and the deployment (whose
//!   `held_upgrade` says when it waits for approval).
//! - Exit 0 when the upload (and deploy) went through, held or not; 1 when the
//!   server refused it (the findings of the quality gate listed by rule); 2 on a
//!   usage, I/O or network error.
//! - Uploading a version already stored with the same digest is not an error (a
//!   retry after a lost answer); with another digest it is (bump the version).

use std::io::{IsTerminal as _, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};

use super::login::{Answer, Refused, Session};
use super::read;

/// The arguments of `airlock upload` (its help text is `Command::Upload`'s doc).
#[derive(clap::Args)]
pub struct UploadArgs {
    /// The component (.wasm), e.g. what `airlock build` printed.
    file: PathBuf,
    /// The connector: its id, or its registered name.
    #[arg(long)]
    connector: String,
    /// Deploy the uploaded version to this target.
    #[arg(long, value_name = "TARGET")]
    deploy: Option<String>,
    /// The deployment's config: a JSON file (`{}` when absent).
    #[arg(long, value_name = "FILE", requires = "deploy")]
    config: Option<PathBuf>,
    /// The deployment's secrets: a JSON file, stored sealed on the server.
    #[arg(long, value_name = "FILE", requires = "deploy")]
    secrets: Option<PathBuf>,
    /// Grant an outbound host the manifest declares (repeatable).
    #[arg(long, value_name = "PATTERN", requires = "deploy")]
    allow_host: Vec<String>,
    /// Grant a non-public network, CIDR (repeatable).
    #[arg(long, value_name = "CIDR", requires = "deploy")]
    allow_network: Vec<String>,
    /// Poll on a schedule: `every N{s|m|h}`.
    #[arg(long, requires = "deploy")]
    schedule: Option<String>,
}

/// Uploads, then deploys if asked.
pub fn upload(args: &UploadArgs) -> anyhow::Result<ExitCode> {
    let bytes = read(&args.file)?;
    let config = args.config.as_ref().map(json_file).transpose()?;
    let secrets = args.secrets.as_ref().map(json_file).transpose()?;
    let mut session = Session::load()?;
    let id = connector_id(&mut session, &args.connector)?;
    let digest = airlock_host::runtime::component_digest(&bytes);
    // The deploy request first: what would refuse it must refuse before the upload.
    let deploy = match &args.deploy {
        Some(target) => Some((
            target,
            deployment_body(&mut session, &id, target, args, config, secrets)?,
        )),
        None => None,
    };
    let answer = send_component(&mut session, &id, &bytes)?;
    let uploaded = match answer.status {
        201 => answer.body,
        409 if answer.body["error"]["code"] == "version_exists" => {
            // The same bytes stored already (a retry): carry on with that version.
            let detail = session.get(&format!("/api/connectors/{id}"))?.ok()?;
            let same = detail["versions"]
                .as_array()
                .and_then(|vs| vs.iter().find(|v| v["digest"] == digest.as_str()));
            match same {
                Some(v) => {
                    eprintln!("version {} is uploaded already (same digest)", v["version"]);
                    // What it asks for is known only to the first answer.
                    json!({"version": v["version"], "digest": digest,
                        "upgrade_needs_approval": null})
                }
                None => return refused(&answer),
            }
        }
        _ => return refused(&answer),
    };
    let version = uploaded["version"].as_str().unwrap_or_default().to_string();
    eprintln!("uploaded version {version} (sha256 {})", &digest[..16]);
    for u in uploaded["upgrade_needs_approval"]
        .as_array()
        .into_iter()
        .flatten()
    {
        eprintln!(
            "note: moving target `{}` from {} to {version} will wait for an admin's approval; \
             it asks for {}",
            u["target"].as_str().unwrap_or(""),
            u["deployed_version"].as_str().unwrap_or(""),
            asks_for_text(&u["asks_for"])
        );
    }
    let mut deployment = Value::Null;
    if let Some((target, mut body)) = deploy {
        body["version"] = json!(version);
        let answer = session.post_json(&format!("/api/connectors/{id}/deployments"), &body)?;
        match answer.status {
            201 => eprintln!("deployed {version} to `{target}`"),
            202 => eprintln!(
                "the upgrade of `{target}` to {version} is held for an admin's approval (it asks \
                 for {}); `{target}` keeps running {} until then. An admin approves with POST \
                 /api/connectors/{id}/deployments/{target}/approve",
                asks_for_text(&answer.body["held_upgrade"]["asks_for"]),
                answer.body["version"].as_str().unwrap_or("its version")
            ),
            _ => return refused(&answer),
        }
        deployment = answer.body;
    }
    println!(
        "{}",
        json!({"connector": id, "version": version, "digest": digest,
            "upgrade_needs_approval": uploaded["upgrade_needs_approval"],
            "deployment": deployment})
    );
    Ok(ExitCode::SUCCESS)
}

/// The deploy request: the target's current deployment carried over (config,
/// grants, limits, schedule, staleness) with what the flags change. Its secrets are
/// never read back; without `--secrets` the server keeps the ones it has.
fn deployment_body(
    session: &mut Session,
    id: &str,
    target: &str,
    args: &UploadArgs,
    config: Option<Value>,
    secrets: Option<Value>,
) -> anyhow::Result<Value> {
    let current = session
        .get(&format!("/api/connectors/{id}/deployments"))?
        .ok()?["items"]
        .as_array()
        .and_then(|items| items.iter().find(|d| d["target"] == target).cloned());
    let mut body = json!({ "target": target });
    if let Some(d) = &current {
        for key in [
            "config",
            "allowed_hosts",
            "allowed_networks",
            "limits",
            "schedule",
            "stale_after",
        ] {
            if !d[key].is_null() {
                body[key] = d[key].clone();
            }
        }
    }
    if let Some(c) = config {
        body["config"] = c;
    }
    if let Some(s) = secrets {
        body["secrets"] = s;
    }
    if !args.allow_host.is_empty() {
        body["allowed_hosts"] = json!(args.allow_host);
    }
    if !args.allow_network.is_empty() {
        body["allowed_networks"] = json!(args.allow_network);
    }
    if let Some(s) = &args.schedule {
        body["schedule"] = json!(s);
    }
    Ok(body)
}

fn json_file(path: &PathBuf) -> anyhow::Result<Value> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))
}

/// The id of the connector named by `given`: an id as is, else the connector
/// registered under that name.
pub fn connector_id(session: &mut Session, given: &str) -> anyhow::Result<String> {
    if uuid::Uuid::parse_str(given).is_ok() {
        return Ok(given.to_string());
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("search", given)
        .append_pair("limit", "200")
        .finish();
    let page = session.get(&format!("/api/connectors?{query}"))?.ok()?;
    let found: Vec<&Value> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["name"] == given)
        .collect();
    match found.as_slice() {
        [one] => Ok(one["id"].as_str().unwrap_or_default().to_string()),
        [] => Err(Refused(format!(
            "no connector named `{given}` on {}: register it first (POST \
             /api/connectors/register) or pass its id",
            session.server()
        ))
        .into()),
        _ => Err(Refused(format!(
            "several connectors are named `{given}`: pass the id"
        ))
        .into()),
    }
}

/// POSTs the component with a progress bar, then a spinner while the server
/// compiles and checks it.
fn send_component(session: &mut Session, id: &str, bytes: &[u8]) -> anyhow::Result<Answer> {
    let terminal = std::io::stderr().is_terminal();
    let total = bytes.len() as u64;
    let uploading = indicatif::ProgressStyle::with_template(
        "uploading {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    let bar = if terminal {
        Some(indicatif::ProgressBar::new(total))
    } else {
        eprintln!("uploading {} KiB", total.div_ceil(1024));
        None
    };
    let started = Instant::now();
    let path = format!("/api/connectors/{id}/versions");
    let answer = session.call("POST", &path, &mut |req| {
        if let Some(bar) = &bar {
            // A retry (the token renewed) starts the bar again.
            bar.disable_steady_tick();
            bar.set_style(uploading.clone());
            bar.set_position(0);
        }
        let reader = Progress {
            inner: bytes,
            bar: bar.clone(),
        };
        req.set("content-type", "application/wasm")
            .set("content-length", &total.to_string())
            .send(reader)
            .map_err(Box::new)
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if !terminal {
        eprintln!(
            "the server answered in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    answer
}

/// The request body: the component's bytes, moving the bar as they are read, and
/// the bar turning into a spinner once the last byte is sent (the server then
/// compiles and checks the component before it answers).
struct Progress<'a> {
    inner: &'a [u8],
    bar: Option<indicatif::ProgressBar>,
}

impl Read for Progress<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
            if self.inner.is_empty() && n > 0 {
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} the server compiles and checks the component ({elapsed})",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(100));
            }
        }
        Ok(n)
    }
}

/// What a capability diff asks for, in words.
fn asks_for_text(diff: &Value) -> String {
    let mut parts = Vec::new();
    for (key, what) in [
        ("outbound_hosts", "outbound host"),
        ("capabilities", "capability"),
        ("secrets", "secret"),
    ] {
        for item in diff[key].as_array().into_iter().flatten() {
            parts.push(format!("{what} {}", item.as_str().unwrap_or("?")));
        }
    }
    if parts.is_empty() {
        "nothing more".into()
    } else {
        parts.join(", ")
    }
}

/// Prints the server's refusal (each finding with its rule) and exits 1.
fn refused(answer: &Answer) -> anyhow::Result<ExitCode> {
    eprintln!("refused: {}", answer.error_text());
    for d in answer.body["error"]["details"]
        .as_array()
        .into_iter()
        .flatten()
    {
        eprintln!(
            "  {}  {}: {}",
            d["rule"].as_str().unwrap_or("-"),
            d["path"]
                .as_str()
                .filter(|p| !p.is_empty())
                .unwrap_or("(document)"),
            d["message"].as_str().unwrap_or("")
        );
    }
    println!("{}", answer.body);
    Ok(ExitCode::from(1))
}
