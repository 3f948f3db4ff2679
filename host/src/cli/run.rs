//! `airlock run`: one action, poll or ingest of a connector, run locally in the
//! sandbox, with its outputs on stdout and a summary (time, peak memory, fuel, logs)
//! on stderr.
//!
//! Invariants:
//! - The call goes through the same runtime and call path as on the server
//!   (`Component::call`), under the limits the flags set, as tenant `local` with call
//!   id `cli`.
//! - Nothing outbound is reachable but what the flags grant (`--allow-host`,
//!   `--allow-network`), with the credentials `--secrets` holds.
//! - The `--kv` file is written only after a successful call, so a failed one leaves
//!   it as it was.
//! - Exit 0 when the call succeeded; 1 when the connector or the sandbox failed it
//!   (its kind and message on stderr); 2 on a usage, I/O or load error.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_host::runtime::{
    CallDone, CallRequest, Captured, Entry, FileKv, Grants, InboundEvent, KvStore, Limits, Runtime,
};
use airlock_host::text::Printable;
use anyhow::Context as _;

use super::{OutboundArgs, block_on, read};

/// The tenant local runs (`airlock run`) act as, in kv files and log tags.
const LOCAL_TENANT: &str = "local";

/// The arguments of `airlock run` (its help text is `Command::Run`'s doc).
#[derive(clap::Args)]
pub struct RunArgs {
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
    #[command(flatten)]
    outbound: OutboundArgs,
}

/// `airlock run`: loads the component, makes the one call and prints what it did.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let RunArgs {
        file,
        action,
        // Implied by the absence of `--action` and `--ingest` (clap enforces that).
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
        memory_mb,
        cpu_ms,
        wall_ms,
        max_requests,
        fuel,
        outbound,
    } = args;
    let runtime = Runtime::with_limits(Limits {
        memory_bytes: memory_mb.saturating_mul(1024 * 1024),
        cpu_deadline: std::time::Duration::from_millis(cpu_ms),
        wall_clock: std::time::Duration::from_millis(wall_ms),
        max_http_requests: max_requests,
        fuel,
        ..Limits::default()
    })?
    .with_transport(outbound.transport()?);
    serde_json::from_str::<serde_json::Value>(&input).context("--input is not JSON")?;
    serde_json::from_str::<serde_json::Value>(&config).context("--config is not JSON")?;
    let secrets: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&secrets).context("--secrets is not a JSON object of strings")?;
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
                    received_at_ms: u64::try_from(airlock_host::time::now_ms()).unwrap_or(0),
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
        kv: before.clone().into(),
        limits: None,
    });
    match outcome {
        Ok(CallDone {
            outputs,
            captured,
            kv: after,
            poll: polled,
        }) => {
            if let (Some(s), Some(after)) = (&store, after) {
                block_on(async {
                    Ok(
                        s.save(LOCAL_TENANT, &connector, &after.before, &after.after)
                            .await?,
                    )
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
            // Guest text is data: escaped, so it can neither forge a line of
            // Airlock's own nor send escape sequences to the terminal.
            for l in &captured.logs {
                eprint!("[{}] guest: {}", l.level, Printable(&l.message));
                for (k, v) in &l.fields {
                    eprint!(" {}={:?}", Printable(k), Printable(v));
                }
                eprintln!();
            }
            eprintln!("{}", summary(started.elapsed(), Some(&captured)));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error ({}): {}", e.kind(), Printable(&e.to_string()));
            eprintln!("{}", summary(started.elapsed(), None));
            Ok(ExitCode::from(1))
        }
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
