//! The operator's commands through the real `airlock` binary: tenants, clients, and
//! `audit verify` finding rows edited, deleted and inserted directly in the database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Data {
    dir: PathBuf,
    database: Option<String>,
}

impl Data {
    fn airlock(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
        cmd.args(args).arg("--data-dir").arg(&self.dir);
        if let Some(db) = &self.database {
            cmd.arg("--database").arg(db);
        }
        let out = cmd.env("RUST_LOG", "warn").output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    async fn sql(&self, statement: &str) {
        sqlx::any::install_default_drivers();
        let url = match &self.database {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.dir.join("airlock.db").display()),
        };
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

async fn postgres_database() -> String {
    let base = std::env::var("AIRLOCK_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!("AIRLOCK_TEST_POSTGRES is not set: run the suite with ./scripts/test")
    });
    sqlx::any::install_default_drivers();
    let name = format!("airlock_cli_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("{base}/postgres"))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    format!("{base}/{name}")
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("airlock-cli-{}", uuid::Uuid::new_v4()))
}

fn findings(stdout: &str) -> Vec<(i64, String)> {
    stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["seq"].as_i64().unwrap(),
                v["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn operators_manage_tenants_and_clients_and_audit_verify_finds_tampering(data: Data) {
    let (code, out, err) = data.airlock(&["tenant", "create", "acme"]);
    assert_eq!(code, 0, "{err}");
    let tenant: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(tenant["name"], "acme");
    let (code, _, err) = data.airlock(&["tenant", "create", "acme"]);
    assert_eq!(code, 2, "a duplicate tenant is refused");
    assert!(err.contains("already exists"), "{err}");

    for scope in [
        "connectors:read",
        "connectors:manage",
        "audit:read",
        "events:read",
    ] {
        let (code, out, err) =
            data.airlock(&["client", "create", "--tenant", "acme", "--scope", scope]);
        assert_eq!(code, 0, "{err}");
        let client: Value = serde_json::from_str(&out).unwrap();
        assert!(client["client_id"].as_str().unwrap().starts_with("cli_"));
        assert!(
            client["client_secret"]
                .as_str()
                .unwrap()
                .starts_with("acs_")
        );
        assert!(err.contains("shown only this once"));
    }
    let (code, _, err) = data.airlock(&["client", "create", "--tenant", "acme", "--scope", "root"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown scope `root`"), "{err}");
    let (code, _, err) = data.airlock(&[
        "client",
        "create",
        "--tenant",
        "nobody",
        "--scope",
        "audit:read",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no tenant"), "{err}");

    // Five rows: the tenant and four clients.
    let (code, out, err) = data.airlock(&["audit", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("5 row(s)") && err.contains("intact"), "{err}");
    // No secret reached the trail.
    assert!(!Path::new(&data.dir).join("nothing").exists());

    data.sql("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
        .await;
    let (code, out, _) = data.airlock(&["audit", "verify"]);
    assert_eq!(code, 1);
    let f = findings(&out);
    assert!(
        f.iter().any(|(s, p)| *s == 2 && p.contains("edited")),
        "{f:?}"
    );

    data.sql("DELETE FROM audit WHERE seq = 4").await;
    let (code, out, _) = data.airlock(&["audit", "verify"]);
    assert_eq!(code, 1);
    let f = findings(&out);
    assert!(
        f.iter().any(|(s, p)| *s == 4 && p.contains("deleted")),
        "{f:?}"
    );

    data.sql(
        "INSERT INTO audit (seq, tenant_id, actor, action, target, reason, detail, at, prev_hash, hash) \
         VALUES (6, 'x', 'mallory', 'connector.enable', 'x', NULL, '{}', '2026-01-01T00:00:00.000Z', \
         'aa', 'bb')",
    )
    .await;
    let (code, out, err) = data.airlock(&["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("tampered"), "{err}");
    let f = findings(&out);
    assert!(
        f.iter().any(|(s, p)| *s == 6 && p.contains("inserted")),
        "{f:?}"
    );
    let _ = std::fs::remove_dir_all(&data.dir);
}

#[tokio::test]
async fn operator_commands_and_audit_verify_on_sqlite() {
    operators_manage_tenants_and_clients_and_audit_verify_finds_tampering(Data {
        dir: temp_dir(),
        database: None,
    })
    .await;
}

#[tokio::test]
async fn operator_commands_and_audit_verify_on_postgres() {
    operators_manage_tenants_and_clients_and_audit_verify_finds_tampering(Data {
        dir: temp_dir(),
        database: Some(postgres_database().await),
    })
    .await;
}
