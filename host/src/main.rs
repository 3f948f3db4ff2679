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

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_host::auth::{Scope, create_client, create_tenant};
use airlock_host::health::HealthPolicy;
use airlock_host::runtime::{
    CallDone, CallRequest, Captured, Entry, FileKv, Grants, InboundEvent, KvStore, Limits, Runtime,
};

/// The tenant local runs (`airlock run`) act as, in kv files and log tags.
const LOCAL_TENANT: &str = "local";
use airlock_host::server::{DEFAULT_ISSUER, Node, ServeOptions};
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
    /// Validates documents against a standard. Exit 0 when all are valid, 1 when any
    /// is invalid, 2 on a usage or I/O error.
    Validate {
        /// `stix-2.1`, `cap-1.2`, `ais`, `niem` or `stanag-4607`.
        #[arg(long)]
        standard: String,
        /// One JSON object per line per input: {"file", "valid", "errors", "warnings"}.
        #[arg(long)]
        json: bool,
        /// The documents (`-` reads stdin).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Pushes events to a push connector, signed with its method: one event per file,
    /// one JSON line per event ({"file", "status", "id", "duplicate"} or the error).
    /// Exit 0 when all were accepted, 1 when any was refused, 2 on a usage, I/O or
    /// network error. Secrets are best given through the environment variables.
    Push {
        /// The webhook path's full URL (registration's `webhook_path` on the server),
        /// or `…/api/events/ingest` with `--connector`.
        #[arg(long)]
        to: String,
        /// The connector id, sent as `X-Connector-Id`.
        #[arg(long)]
        connector: Option<String>,
        /// `hmac-sha256`, `api-key`, `oauth2` or `rsa`.
        #[arg(long)]
        auth: String,
        /// HMAC: the `whsec_…` secret.
        #[arg(long, env = "AIRLOCK_PUSH_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// API key: the `alk_…` key.
        #[arg(long, env = "AIRLOCK_PUSH_KEY", hide_env_values = true)]
        key: Option<String>,
        /// OAuth2: the client id.
        #[arg(long)]
        client_id: Option<String>,
        /// OAuth2: the client secret.
        #[arg(long, env = "AIRLOCK_PUSH_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// OAuth2: the token URL registration returned.
        #[arg(long)]
        token_url: Option<String>,
        /// RSA: the key id registration returned.
        #[arg(long)]
        key_id: Option<String>,
        /// RSA: a PEM file holding the private key whose public half was registered.
        #[arg(long, env = "AIRLOCK_PUSH_PRIVATE_KEY_FILE")]
        private_key: Option<PathBuf>,
        /// RSA: `rsa-pss-sha512` or `rsa-v1_5-sha256`.
        #[arg(long, default_value = "rsa-pss-sha512")]
        alg: String,
        /// The event id (idempotency key) when pushing one file; fresh ids otherwise.
        #[arg(long)]
        event_id: Option<String>,
        /// The events' content type.
        #[arg(long, default_value = "application/json")]
        content_type: String,
        /// The events (`-` reads stdin).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Prints a connector component's manifest, contract version, digest and imports.
    Inspect {
        /// The component (.wasm).
        file: PathBuf,
    },
    /// Runs one action, poll or ingest of a connector locally, in the sandbox, and
    /// prints its outputs.
    Run {
        /// The component (.wasm).
        file: PathBuf,
        /// The action to invoke.
        #[arg(long, required_unless_present_any = ["poll", "ingest"], conflicts_with_all = ["poll", "ingest"])]
        action: Option<String>,
        /// Calls `poll` instead of an action (with `--cursor`, the cursor a previous
        /// poll printed); prints `next_cursor` and `more` too.
        #[arg(long, conflicts_with = "ingest")]
        poll: bool,
        /// The cursor for `--poll`.
        #[arg(long, requires = "poll")]
        cursor: Option<String>,
        /// Calls `ingest` with the contents of this file as the pushed event's body
        /// (`-` reads stdin).
        #[arg(long, value_name = "FILE")]
        ingest: Option<PathBuf>,
        /// The content type of the `--ingest` body.
        #[arg(long, default_value = "application/json", requires = "ingest")]
        content_type: String,
        /// The action's input, JSON.
        #[arg(long, default_value = "{}")]
        input: String,
        /// The deployment config, JSON.
        #[arg(long, default_value = "{}")]
        config: String,
        /// The deployment's secrets, a JSON object of strings; the host injects them
        /// into requests to the hosts whose declared credential names them.
        #[arg(long, default_value = "{}")]
        secrets: String,
        /// Grants an outbound host pattern the manifest declares (repeatable), e.g.
        /// `https://api.weather.gov`. Nothing is reachable without one.
        #[arg(long = "allow-host", value_name = "PATTERN")]
        allow_hosts: Vec<String>,
        /// Grants a non-public network (CIDR, repeatable), e.g. `127.0.0.1/32` to
        /// reach a local test server; loopback, private and metadata addresses are
        /// refused otherwise.
        #[arg(long = "allow-network", value_name = "CIDR")]
        allow_networks: Vec<String>,
        /// Keeps the connector's kv state in this JSON file across runs (read before
        /// the call, written after a successful one).
        #[arg(long)]
        kv: Option<PathBuf>,
        /// Memory limit, MiB.
        #[arg(long, default_value_t = 128)]
        memory_mb: usize,
        /// CPU deadline (guest execution), ms.
        #[arg(long, default_value_t = 1000)]
        cpu_ms: u64,
        /// Wall-clock timeout of the call, ms (time waiting on HTTP included).
        #[arg(long, default_value_t = 30_000)]
        wall_ms: u64,
        /// HTTP requests the call may send.
        #[arg(long, default_value_t = Limits::default().max_http_requests)]
        max_requests: u32,
        /// Fuel mode: the call may execute this much fuel (deterministic budget).
        #[arg(long)]
        fuel: Option<u64>,
    },
    /// Runs the registry server.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
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
        /// The bus: `embedded` (the database's outbox, the default). NATS JetStream
        /// (`nats://HOST:PORT`) is not available yet.
        #[arg(long, default_value = "embedded")]
        bus: String,
        /// The first token(s) of every topic: `<prefix>.<tenant_id>.<event_type>`.
        #[arg(long, default_value = "airlock")]
        bus_prefix: String,
    },
    /// Manages tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manages OAuth clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Checks the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

/// Where the node's data lives.
#[derive(clap::Args)]
struct DataArgs {
    /// Keys, the SQLite database and bootstrap.json live here.
    #[arg(long, default_value = "./airlock-data")]
    data_dir: PathBuf,
    /// A database URL (`postgres://…`); SQLite in the data directory by default.
    #[arg(long)]
    database: Option<String>,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Creates a tenant and prints its id.
    Create {
        /// A unique name.
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Creates an OAuth client and prints its id and secret (shown this once).
    Create {
        /// The tenant's id or name.
        #[arg(long)]
        tenant: String,
        /// A scope it may request; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// What it is for.
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verifies the hash chain; names every edited, inserted or deleted row.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
}

fn tokio() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn operator(command: Command) -> anyhow::Result<ExitCode> {
    let rt = tokio()?;
    rt.block_on(async move {
        match command {
            Command::Tenant {
                command: TenantCommand::Create { name, data },
            } => {
                let node = Node::open(&data.data_dir, data.database.as_deref()).await?;
                let t = create_tenant(&node.store, &node.keys, &name, "operator").await?;
                println!("{}", serde_json::json!({"tenant_id": t.id, "name": t.name}));
                Ok(ExitCode::SUCCESS)
            }
            Command::Client {
                command:
                    ClientCommand::Create {
                        tenant,
                        scopes,
                        label,
                        data,
                    },
            } => {
                let parsed = scopes
                    .iter()
                    .map(|s| {
                        Scope::parse(s).ok_or_else(|| {
                            anyhow::anyhow!(
                                "unknown scope `{s}`; the scopes are {}",
                                Scope::ALL.map(|x| x.as_str()).join(", ")
                            )
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let node = Node::open(&data.data_dir, data.database.as_deref()).await?;
                let t = node
                    .store
                    .find_tenant(&tenant)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no tenant with id or name `{tenant}`"))?;
                let (client, secret) =
                    create_client(&node.store, &node.keys, &t.id, &parsed, &label, "operator")
                        .await?;
                println!(
                    "{}",
                    serde_json::json!({"client_id": client.id, "client_secret": secret,
                        "tenant_id": t.id, "scopes": client.scopes})
                );
                eprintln!("the client secret is shown only this once");
                Ok(ExitCode::SUCCESS)
            }
            Command::Audit {
                command: AuditCommand::Verify { data },
            } => {
                let node = Node::open(&data.data_dir, data.database.as_deref()).await?;
                let rows = node.store.all_audit_rows().await?;
                let findings = airlock_host::audit::verify(&rows, &node.keys);
                for f in &findings {
                    println!(
                        "{}",
                        serde_json::json!({"seq": f.seq, "problem": f.problem})
                    );
                }
                match rows.last() {
                    Some(head) => eprintln!(
                        "{} row(s); head: seq {} hash {}",
                        rows.len(),
                        head.seq,
                        head.hash
                    ),
                    None => eprintln!("the audit trail is empty"),
                }
                if findings.is_empty() {
                    eprintln!("the audit chain is intact");
                    Ok(ExitCode::SUCCESS)
                } else {
                    eprintln!(
                        "the audit chain was tampered with: {} finding(s)",
                        findings.len()
                    );
                    Ok(ExitCode::from(1))
                }
            }
            Command::Serve {
                listen,
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
            } => {
                if bus != "embedded" {
                    anyhow::bail!(
                        "--bus {bus}: only the embedded bus is available in this build \
                         (the NATS JetStream backend is not written yet); omit --bus"
                    );
                }
                let mut opts = ServeOptions::new(data.data_dir);
                opts.listen = listen;
                opts.database = data.database;
                opts.preload = preload;
                opts.issuer = issuer;
                opts.rotation_grace = std::time::Duration::from_secs(rotation_grace);
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
                    eprintln!(
                        "first start: wrote the bootstrap client to bootstrap.json (tenant {})",
                        b["tenant_id"]
                    );
                }
                eprintln!("airlock listening on http://{}", server.addr);
                tokio::signal::ctrl_c().await?;
                eprintln!("shutting down");
                server.stop().await?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Inspect { .. }
            | Command::Run { .. }
            | Command::Validate { .. }
            | Command::Push { .. } => Ok(ExitCode::from(2)),
        }
    })
}

/// Runs a future to completion on a throwaway single-threaded runtime.
fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(f)
}

/// A file's bytes; `-` reads stdin.
fn read(file: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .context("cannot read stdin")?;
        return Ok(bytes);
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

/// `airlock validate`: one report per file, as JSON lines or for people.
fn validate(standard: &str, json: bool, files: &[PathBuf]) -> ExitCode {
    use airlock_host::validate::{Standard, validate};
    let Some(std) = Standard::parse(standard) else {
        eprintln!(
            "error: unknown standard `{standard}`: use stix-2.1, cap-1.2, ais, niem or stanag-4607"
        );
        return ExitCode::from(2);
    };
    let mut any_invalid = false;
    for file in files {
        let bytes = match read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        let report = validate(std, &bytes);
        any_invalid |= !report.valid;
        let name = file.display().to_string();
        if json {
            let line = serde_json::json!({"file": name, "valid": report.valid,
                "errors": report.errors, "warnings": report.warnings});
            println!("{line}");
        } else {
            println!("{name}: {}", if report.valid { "valid" } else { "INVALID" });
            for (what, findings) in [("error", &report.errors), ("warning", &report.warnings)] {
                for f in findings {
                    let at = if f.path.is_empty() {
                        "/"
                    } else {
                        f.path.as_str()
                    };
                    println!("  {what} [{}] at {at}: {}", f.rule, f.message);
                }
            }
        }
    }
    ExitCode::from(u8::from(any_invalid))
}

/// `airlock push`: usage errors say which flag is missing; each event's answer is
/// one JSON line.
fn push(command: Command) -> ExitCode {
    use airlock_host::sender::{Sender, SenderAuth};
    let Command::Push {
        to,
        connector,
        auth,
        secret,
        key,
        client_id,
        client_secret,
        token_url,
        key_id,
        private_key,
        alg,
        event_id,
        content_type,
        files,
    } = command
    else {
        return ExitCode::from(2);
    };
    let need =
        |v: Option<String>, flag: &str| v.ok_or_else(|| format!("--auth {auth} needs {flag}"));
    let sender_auth = match auth.as_str() {
        "hmac-sha256" => need(secret, "--secret (or AIRLOCK_PUSH_SECRET)").map(SenderAuth::Hmac),
        "api-key" => need(key, "--key (or AIRLOCK_PUSH_KEY)").map(SenderAuth::ApiKey),
        "oauth2" => (|| {
            Ok(SenderAuth::OAuth2 {
                client_id: need(client_id, "--client-id")?,
                client_secret: need(
                    client_secret,
                    "--client-secret (or AIRLOCK_PUSH_CLIENT_SECRET)",
                )?,
                token_url: need(token_url, "--token-url")?,
            })
        })(),
        "rsa" => (|| {
            let key_id = need(key_id, "--key-id")?;
            let file = need(
                private_key.map(|p| p.display().to_string()),
                "--private-key FILE (or AIRLOCK_PUSH_PRIVATE_KEY_FILE)",
            )?;
            let alg = airlock_host::auth::httpsig::Alg::from_name(&alg)
                .ok_or_else(|| format!("--alg {alg}: use rsa-pss-sha512 or rsa-v1_5-sha256"))?;
            let pem =
                std::fs::read_to_string(&file).map_err(|e| format!("--private-key {file}: {e}"))?;
            SenderAuth::rsa(key_id, &pem, alg).map_err(|e| format!("--private-key {file}: {e}"))
        })(),
        other => Err(format!(
            "unknown --auth `{other}`: use hmac-sha256, api-key, oauth2 or rsa"
        )),
    };
    let sender_auth = match sender_auth {
        Ok(a) => a,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if event_id.is_some() && files.len() > 1 {
        eprintln!("error: --event-id names one event; give one file");
        return ExitCode::from(2);
    }
    let mut sender = Sender::new(to, connector, sender_auth);
    let mut refused = false;
    for file in &files {
        let body = match read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        match sender.send(&body, &content_type, event_id.as_deref()) {
            Ok(sent) => {
                refused |= sent.status != 202;
                let mut line =
                    serde_json::json!({"file": file.display().to_string(), "status": sent.status});
                if let (Some(o), Some(a)) = (line.as_object_mut(), sent.answer.as_object()) {
                    o.extend(a.clone());
                }
                println!("{line}");
            }
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::from(u8::from(refused))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Validate {
        standard,
        json,
        files,
    } = &cli.command
    {
        return Ok(validate(standard, *json, files));
    }
    if matches!(cli.command, Command::Push { .. }) {
        return Ok(push(cli.command));
    }
    if !matches!(cli.command, Command::Inspect { .. } | Command::Run { .. }) {
        return operator(cli.command);
    }
    let limits = match &cli.command {
        Command::Run {
            memory_mb,
            cpu_ms,
            wall_ms,
            max_requests,
            fuel,
            ..
        } => Limits {
            memory_bytes: memory_mb.saturating_mul(1024 * 1024),
            cpu_deadline: std::time::Duration::from_millis(*cpu_ms),
            wall_clock: std::time::Duration::from_millis(*wall_ms),
            max_http_requests: *max_requests,
            fuel: *fuel,
            ..Limits::default()
        },
        _ => Limits::default(),
    };
    let runtime = Runtime::with_limits(limits)?;
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
            poll: _,
            cursor,
            ingest,
            content_type,
            input,
            config,
            secrets,
            allow_hosts,
            allow_networks,
            kv,
            ..
        } => {
            serde_json::from_str::<serde_json::Value>(&input).context("--input is not JSON")?;
            serde_json::from_str::<serde_json::Value>(&config).context("--config is not JSON")?;
            let secrets: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&secrets)
                    .context("--secrets is not a JSON object of strings")?;
            let private_networks = allow_networks
                .iter()
                .map(|n| {
                    n.parse()
                        .with_context(|| format!("--allow-network `{n}` is not a CIDR network"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            for h in &allow_hosts {
                airlock_sdk::http::OriginPattern::parse(h)
                    .map_err(|e| anyhow::anyhow!("--allow-host: {e}"))?;
            }
            let grants = Grants {
                outbound_hosts: allow_hosts,
                private_networks,
                secrets,
            };
            let component = runtime.load(&read(&file)?)?;
            let connector = component.manifest.id.clone();
            let store = kv.map(FileKv::new);
            let before = match &store {
                Some(s) => block_on(async { Ok(s.load(LOCAL_TENANT, &connector).await?) })?,
                None => Default::default(),
            };
            let started = std::time::Instant::now();
            let entry = match (&action, ingest) {
                (Some(action), _) => Entry::Invoke {
                    action,
                    input: &input,
                },
                (None, Some(path)) => {
                    let body = read(&path)?;
                    Entry::Ingest {
                        event: InboundEvent {
                            id: uuid::Uuid::new_v4().to_string(),
                            content_type,
                            body,
                            received_at_ms: u64::try_from(airlock_host::store::now_ms())
                                .unwrap_or(0),
                        },
                    }
                }
                (None, None) => Entry::Poll {
                    cursor: cursor.as_deref(),
                },
            };
            let outcome = component.call(CallRequest {
                entry,
                config: &config,
                grants,
                tenant_id: LOCAL_TENANT,
                call_id: "cli",
                kv: before.clone(),
                limits: None,
            });
            match outcome {
                Ok(CallDone {
                    outputs,
                    captured,
                    kv: after,
                    poll: polled,
                }) => {
                    if let Some(s) = &store {
                        block_on(async {
                            Ok(s.save(LOCAL_TENANT, &connector, &before, &after).await?)
                        })?;
                    }
                    let outputs: Vec<_> = outputs
                        .iter()
                        .map(airlock_host::runtime::output_json)
                        .collect();
                    let mut shown = serde_json::json!({ "outputs": outputs });
                    if let Some(p) = polled {
                        shown["next_cursor"] = serde_json::json!(p.next_cursor);
                        shown["more"] = serde_json::json!(p.more);
                    }
                    println!("{}", serde_json::to_string_pretty(&shown)?);
                    for l in &captured.logs {
                        eprintln!("[{}] {}", l.level, l.message);
                    }
                    eprintln!("{}", summary(started.elapsed(), Some(&captured)));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error ({}): {e}", e.kind());
                    eprintln!("{}", summary(started.elapsed(), None));
                    Ok(ExitCode::from(1))
                }
            }
        }
        other => operator(other),
    }
}

/// The stderr line after `airlock run`: time, memory and fuel.
fn summary(elapsed: std::time::Duration, captured: Option<&Captured>) -> String {
    let mut s = format!("time {:.1} ms", elapsed.as_secs_f64() * 1000.0);
    if let Some(c) = captured {
        s.push_str(&format!(", peak memory {} KiB", c.peak_memory / 1024));
        if let Some(f) = c.fuel_consumed {
            s.push_str(&format!(", fuel {f}"));
        }
        s.push_str(&format!(", {} log line(s)", c.logs.len()));
        if c.logs_dropped > 0 {
            s.push_str(&format!(
                " ({} dropped over the log budget)",
                c.logs_dropped
            ));
        }
    }
    s
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
