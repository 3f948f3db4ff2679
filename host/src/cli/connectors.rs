//! `airlock connectors [list|show ID|status]`: a quick look at the catalogue from a
//! terminal, through the server `airlock login` signed in to.
//!
//! Invariants: a table for people by default, JSON with `--json`; `show` always
//! prints JSON (a connector's detail does not fit a table). Exit 0, or 1 when the
//! server refuses (an unknown id or name), 2 on a usage or network error.

use std::process::ExitCode;

use serde_json::Value;

use super::login::Session;
use super::upload::connector_id;

/// The subcommands of `airlock connectors`.
#[derive(clap::Subcommand)]
pub enum ConnectorsCommand {
    /// One line per connector: name, category, status, id.
    List {
        /// The server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One connector's detail (versions, deployments, health), as JSON.
    Show {
        /// Its id or registered name.
        connector: String,
    },
    /// The fleet: counts per status, then every connector that is not active.
    Status {
        /// The server's JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one subcommand (`list` when none is given).
pub fn connectors(command: Option<ConnectorsCommand>) -> anyhow::Result<ExitCode> {
    let mut session = Session::load()?;
    match command.unwrap_or(ConnectorsCommand::List { json: false }) {
        ConnectorsCommand::List { json } => {
            let items = all_connectors(&mut session)?;
            if json {
                println!("{}", serde_json::json!({ "items": items }));
            } else {
                print_table(&items);
            }
        }
        ConnectorsCommand::Show { connector } => {
            let id = connector_id(&mut session, &connector)?;
            let detail = session.get(&format!("/api/connectors/{id}"))?.ok()?;
            println!("{}", serde_json::to_string_pretty(&detail)?);
        }
        ConnectorsCommand::Status { json } => {
            let summary = session.get("/api/registry/summary")?.ok()?;
            let items = all_connectors(&mut session)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"summary": summary, "connectors": items})
                );
            } else {
                let count = |k: &str| summary[k].as_i64().unwrap_or(0);
                println!(
                    "{} connectors: {} active, {} degraded, {} error, {} disabled, {} registered",
                    count("total"),
                    count("active"),
                    count("degraded"),
                    count("error"),
                    count("disabled"),
                    count("registered")
                );
                for c in items.as_array().into_iter().flatten() {
                    if c["status"] != "active" {
                        println!(
                            "  {:<10} {}  {}",
                            c["status"].as_str().unwrap_or("?"),
                            c["name"].as_str().unwrap_or("?"),
                            c["status_reason"].as_str().unwrap_or("")
                        );
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every connector, page by page.
fn all_connectors(session: &mut Session) -> anyhow::Result<Value> {
    const PAGE: usize = 200;
    let mut all = Vec::new();
    loop {
        let page = session
            .get(&format!(
                "/api/connectors?limit={PAGE}&offset={}",
                all.len()
            ))?
            .ok()?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let done = items.len() < PAGE;
        all.extend(items);
        if done {
            return Ok(Value::Array(all));
        }
    }
}

fn print_table(items: &Value) {
    let rows: Vec<[String; 4]> = items
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let text = |v: &Value| v.as_str().unwrap_or("").to_string();
            [
                text(&c["name"]),
                text(&c["category"]),
                text(&c["status"]),
                text(&c["id"]),
            ]
        })
        .collect();
    let header = [
        "NAME".to_string(),
        "CATEGORY".into(),
        "STATUS".into(),
        "ID".into(),
    ];
    let width = |i: usize| {
        rows.iter()
            .chain(std::iter::once(&header))
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for r in std::iter::once(&header).chain(rows.iter()) {
        println!("{:<w0$}  {:<w1$}  {:<w2$}  {}", r[0], r[1], r[2], r[3]);
    }
}
