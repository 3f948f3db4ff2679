//! The operator's commands on a node's data directory: `airlock tenant create`,
//! `airlock client create` and `airlock audit verify`.
//!
//! Invariants:
//! - They open the node as the server does (`Node::open`: its keys and database) and
//!   create through the library's `create_tenant` and `create_client`, the functions
//!   the server's bootstrap uses, so what they create is audited like the rest, with
//!   `operator` as the actor.
//! - A client secret is printed once, on creation: it is not stored, so it cannot be
//!   shown again.
//! - `audit verify` only reads: it prints every finding (one JSON line each) and
//!   exits 1 when the chain was tampered with.

use std::process::ExitCode;

use airlock_host::auth::{Scope, create_client, create_tenant};
use airlock_host::server::Node;
use clap::Subcommand;

use super::{DataArgs, tokio};

/// `airlock tenant`'s subcommands.
#[derive(Subcommand)]
pub enum TenantCommand {
    /// Creates a tenant and prints its id.
    Create {
        /// A unique name.
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `airlock client`'s subcommands.
#[derive(Subcommand)]
pub enum ClientCommand {
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

/// `airlock token-key`'s subcommands.
#[derive(Subcommand)]
pub enum TokenKeyCommand {
    /// Replaces the key that signs access tokens. The old key keeps verifying the
    /// tokens it signed (and stays in the JWKS) until they have expired; a running
    /// server takes up the new key within seconds.
    Rotate {
        /// The data directory holding the keys.
        #[arg(long, default_value = "./airlock-data")]
        data_dir: std::path::PathBuf,
    },
}

/// `airlock token-key rotate`: prints the new and the retired key ids as JSON.
pub fn token_key(command: TokenKeyCommand) -> anyhow::Result<ExitCode> {
    let TokenKeyCommand::Rotate { data_dir } = command;
    let kid = |keys: &airlock_host::keys::Keys| {
        airlock_host::auth::Tokens::new(keys, "urn:airlock")?.signing_kid()
    };
    let before = airlock_host::keys::Keys::load_or_create(&data_dir)?;
    let now = airlock_host::time::now_ms() / 1000;
    let now = u64::try_from(now).unwrap_or(0);
    // A retired key is listed for as long as a token it signed may live.
    let keep = airlock_host::auth::RETIRED_KEY_LIFETIME_SECS;
    airlock_host::keys::rotate_token_key(&data_dir, now, keep)?;
    let after = airlock_host::keys::Keys::load_or_create(&data_dir)?;
    println!(
        "{}",
        serde_json::json!({
            "kid": kid(&after)?,
            "retired_kid": kid(&before)?,
            "retired_key_verifies_until": airlock_host::time::rfc3339(
                i64::try_from((now + keep) * 1000).unwrap_or(i64::MAX)
            ),
        })
    );
    Ok(ExitCode::SUCCESS)
}

/// `airlock audit`'s subcommands.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verifies the hash chain; names every edited, inserted or deleted row.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `airlock tenant …`: prints the new tenant's id and name as JSON.
pub fn tenant(command: TenantCommand) -> anyhow::Result<ExitCode> {
    let TenantCommand::Create { name, data } = command;
    tokio()?.block_on(async move {
        let node = Node::open(&data.data_dir, data.database.as_deref()).await?;
        let t = create_tenant(&node.store, &node.keys, &name, "operator").await?;
        println!("{}", serde_json::json!({"tenant_id": t.id, "name": t.name}));
        Ok(ExitCode::SUCCESS)
    })
}

/// `airlock client …`: prints the new client's id, secret, tenant and scopes as JSON.
pub fn client(command: ClientCommand) -> anyhow::Result<ExitCode> {
    let ClientCommand::Create {
        tenant,
        scopes,
        label,
        data,
    } = command;
    tokio()?.block_on(async move {
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
            create_client(&node.store, &node.keys, &t.id, &parsed, &label, "operator").await?;
        println!(
            "{}",
            serde_json::json!({"client_id": client.id, "client_secret": secret,
                "tenant_id": t.id, "scopes": client.scopes})
        );
        eprintln!("the client secret is shown only this once");
        Ok(ExitCode::SUCCESS)
    })
}

/// `airlock audit …`: exit 0 when the chain is intact, 1 when it was tampered with.
pub fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify { data } = command;
    tokio()?.block_on(async move {
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
    })
}
