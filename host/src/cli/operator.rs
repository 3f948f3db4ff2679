//! The operator's commands on a node's data directory: `airlock tenant
//! create|list`, `airlock client create|list|revoke`, `airlock token-key rotate`
//! and `airlock audit verify`.
//!
//! Invariants:
//! - They open the node as the server does (`Node::open`: its keys and database) and
//!   create through the library's `create_tenant` and `create_client`, the functions
//!   the server's bootstrap uses, so what they create is audited like the rest, with
//!   `operator` as the actor.
//! - A client secret is printed once, on creation: it is not stored, so it cannot be
//!   shown again. Lists print one JSON object per line and never a secret's hash.
//! - A revoked client's tokens stop working on every running node within a second
//!   (`auth::clients`), without a restart.
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
    /// Lists the tenants, one JSON object per line: id, name, creation time, and
    /// how many connectors and active clients each has.
    List {
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
    /// Lists a tenant's clients, one JSON object per line (revoked ones too, with
    /// when); never a secret.
    List {
        /// The tenant's id or name.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Revokes a client: it gets no new token, and the tokens it holds stop
    /// working within a second on every running node.
    Revoke {
        /// The client's id.
        client_id: String,
        /// The tenant's id or name.
        #[arg(long)]
        tenant: String,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: Option<String>,
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

/// `airlock tenant …`: prints the new tenant's id and name, or every tenant, as JSON.
pub fn tenant(command: TenantCommand) -> anyhow::Result<ExitCode> {
    tokio()?.block_on(async move {
        match command {
            TenantCommand::Create { name, data } => {
                let node = data.open_node().await?;
                let t = create_tenant(&node.store, &node.keys, &name, "operator").await?;
                println!("{}", serde_json::json!({"tenant_id": t.id, "name": t.name}));
            }
            TenantCommand::List { data } => {
                let node = data.open_node().await?;
                for t in node.store.tenants().await? {
                    println!(
                        "{}",
                        serde_json::json!({
                            "tenant_id": t.tenant.id,
                            "name": t.tenant.name,
                            "created_at": airlock_host::time::rfc3339(t.tenant.created_ms),
                            "connectors": t.connectors,
                            "active_clients": t.active_clients,
                        })
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The tenant named by id or name, or an error saying there is none.
async fn find_tenant(node: &Node, tenant: &str) -> anyhow::Result<airlock_host::store::TenantRow> {
    node.store.find_tenant(tenant).await?.ok_or_else(|| {
        anyhow::anyhow!("no tenant with id or name `{tenant}` (see `airlock tenant list`)")
    })
}

/// `airlock client …`: creates (printing the id and the secret, once), lists or
/// revokes clients.
pub fn client(command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Create {
            tenant,
            scopes,
            label,
            data,
        } => create(tenant, scopes, label, data),
        ClientCommand::List { tenant, data } => tokio()?.block_on(async move {
            let node = data.open_node().await?;
            let t = find_tenant(&node, &tenant).await?;
            for c in node.store.clients(&t.id).await? {
                println!(
                    "{}",
                    serde_json::json!({
                        "client_id": c.id,
                        "tenant_id": c.tenant_id,
                        "scopes": c.scopes,
                        "label": c.label,
                        "created_at": airlock_host::time::rfc3339(c.created_ms),
                        "revoked_at": c.revoked_ms.map(airlock_host::time::rfc3339),
                    })
                );
            }
            Ok(ExitCode::SUCCESS)
        }),
        ClientCommand::Revoke {
            client_id,
            tenant,
            reason,
            data,
        } => tokio()?.block_on(async move {
            let node = data.open_node().await?;
            let t = find_tenant(&node, &tenant).await?;
            let revoked = airlock_host::auth::revoke_client(
                &node.store,
                &node.keys,
                &t.id,
                &client_id,
                reason.as_deref(),
                "operator",
            )
            .await?;
            if !revoked {
                anyhow::bail!(
                    "tenant `{}` has no active client `{client_id}` (see `airlock client list --tenant {}`)",
                    t.name,
                    t.name
                );
            }
            println!(
                "{}",
                serde_json::json!({"client_id": client_id, "tenant_id": t.id, "revoked": true})
            );
            eprintln!("its tokens stop working within a second on every running node");
            Ok(ExitCode::SUCCESS)
        }),
    }
}

fn create(
    tenant: String,
    scopes: Vec<String>,
    label: String,
    data: DataArgs,
) -> anyhow::Result<ExitCode> {
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
        let node = data.open_node().await?;
        let t = find_tenant(&node, &tenant).await?;
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
        let node = data.open_node().await?;
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
