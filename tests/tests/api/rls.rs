//! PostgreSQL row-level security (migration 0013): the server acts as a role that
//! owns nothing, every tenant table is bound by a policy, and a statement that
//! forgets its tenant filter still sees no foreign row.

use std::collections::BTreeSet;

use airlock_host::store::{Rows, Store};
use airlock_tests::guests;
use serde_json::json;
use sqlx::Row as _;

use crate::bus::{history, push};
use crate::harness::{Db, Env};
use crate::ingest::register_push;

/// Every table of the schema (the migrations' own bookkeeping aside) as
/// (name, RLS enabled, RLS forced, its policies' conditions).
async fn tables(store: &Store) -> Vec<(String, bool, bool, Vec<String>)> {
    let rows = sqlx::query(
        "SELECT CAST(c.relname AS TEXT), c.relrowsecurity, c.relforcerowsecurity, \
         COALESCE((SELECT string_agg(COALESCE(p.qual, '') || ' ' || COALESCE(p.with_check, ''), ' | ') \
                   FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname), '') \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations' \
         ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let quals: String = r.try_get(3).unwrap();
            (
                r.try_get(0).unwrap(),
                r.try_get(1).unwrap(),
                r.try_get(2).unwrap(),
                quals
                    .split(" | ")
                    .filter(|q| !q.trim().is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        })
        .collect()
}

/// Tables with a column named `column`.
async fn tables_with(store: &Store, column: &str) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name = $1",
    )
    .bind(column)
    .fetch_all(store.pool())
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// How many connectors a session acting for `rows` sees, unfiltered.
async fn connectors_seen(store: &Store, rows: Rows<'_>) -> i64 {
    let mut s = store.session(rows).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM connectors")
        .fetch_one(&mut *s)
        .await
        .unwrap()
}

/// The meta-test: a new table without a forced policy fails here, and a table of
/// tenant rows (a `tenant_id` or `connector_id` column) needs a policy keyed on
/// the tenant setting (or on its connector, whose policy is).
#[tokio::test]
async fn every_table_has_forced_row_level_security_and_a_tenant_policy() {
    let store = Store::open(&airlock_tests::postgres::fresh_url().await)
        .await
        .unwrap();
    let all = tables(&store).await;
    assert!(all.len() >= 17, "{all:?}");
    let with_tenant = tables_with(&store, "tenant_id").await;
    let with_connector = tables_with(&store, "connector_id").await;
    // What a tenant table's every policy must compare (as PostgreSQL prints it).
    let keyed_on = |table: &str| -> Option<String> {
        if with_tenant.contains(table) {
            Some("(tenant_id = current_setting('airlock.tenant_id'::text, true))".into())
        } else if table == "tenants" {
            Some("(id = current_setting('airlock.tenant_id'::text, true))".into())
        } else if with_connector.contains(table) {
            Some(format!("WHERE (c.id = {table}.connector_id)"))
        } else {
            None
        }
    };
    for (table, enabled, forced, quals) in &all {
        assert!(enabled, "{table}: row-level security is not enabled");
        assert!(
            forced,
            "{table}: row-level security is not forced (the owner would escape it)"
        );
        assert!(!quals.is_empty(), "{table}: no policy");
        if let Some(key) = keyed_on(table) {
            assert!(
                quals.iter().all(|q| q.contains(&key)),
                "{table}: a policy not keyed on the tenant ({key}): {quals:?}"
            );
        }
    }
    store.close().await;
}

/// The two-role setup end to end: the server (and the operator's commands) act
/// as `airlock_app`, which owns nothing; `airlock_owner` migrates and grants.
/// Two tenants fill every kind of row; then statements without a tenant filter,
/// run as the server's role in one tenant's session, see only that tenant's rows.
#[tokio::test]
async fn a_statement_that_forgets_its_tenant_filter_sees_no_foreign_row() {
    let (owner, app) = airlock_tests::postgres::fresh_urls().await;
    let env = Env::start_configured(Db::Postgres, |o| {
        o.database = Some(app.clone());
        o.database_owner = Some(owner.clone());
    })
    .await;
    assert_eq!(env.database.as_deref(), Some(app.as_str()));

    // Tenant A: a push connector with a published event, and a deployed component
    // invoked once (versions, deployments, heartbeats, health, quarantine, kv).
    let a = env.tenant.clone();
    let ca = register_push(&env, &env.token, "a-feed", "hmac-sha256", None).await;
    push(&env, &ca, "a-1", br#"{"tenant": "a"}"#).await;
    let probe = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    let (s, out) = env
        .admin(
            "POST",
            &format!("/api/connectors/{probe}/invoke/stix"),
            Some(&json!({"broken": true})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let (s, out) = env
        .admin(
            "POST",
            &format!("/api/connectors/{probe}/disable"),
            Some(&json!({"reason": "maintenance"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    // Tenant B (created by the operator's command path, as the server's role).
    let b_token = env.other_tenant_token().await;
    let cb = register_push(&env, &b_token, "b-feed", "hmac-sha256", None).await;
    push(&env, &cb, "b-1", br#"{"tenant": "b"}"#).await;
    let b_events = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let (_, page) = env.call("GET", "/api/events", Some(&b_token), None).await;
            if page["items"].as_array().is_some_and(|i| !i.is_empty())
                || std::time::Instant::now() > deadline
            {
                break page;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let b = b_events["items"][0]["topic"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_string();
    assert_ne!(a, b);
    history(&env, &env.token, "", 2).await;
    let (code, out) = crate::audit::verify(&env).await;
    assert_eq!(code, 0, "the audit chain is one valid chain: {out}");

    let node = env.node().await;
    let store = &node.store;
    let mut ours = BTreeSet::new();
    ours.insert(a.clone());
    let our_connectors: BTreeSet<String> = [ca["id"].as_str().unwrap(), probe.as_str()]
        .into_iter()
        .map(str::to_string)
        .collect();
    let owned = tables_with(store, "tenant_id").await;
    assert!(owned.len() >= 12, "{owned:?}");
    let mut seen_some = BTreeSet::new();
    for table in &owned {
        let sql = format!("SELECT DISTINCT tenant_id FROM {table}");
        // Tenant A's session, no filter: A's rows only.
        let mut s = store.session(Rows::Tenant(&a)).await.unwrap();
        let seen: BTreeSet<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(&mut *s)
            .await
            .unwrap()
            .into_iter()
            .collect();
        drop(s);
        assert!(
            seen.is_subset(&ours),
            "{table}: tenant A's session saw {seen:?}"
        );
        if !seen.is_empty() {
            seen_some.insert(table.clone());
        }
        // No setting at all: nothing.
        let bare: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert!(
            bare.is_empty(),
            "{table}: a session without a tenant saw {bare:?}"
        );
    }
    for table in [
        "connectors",
        "clients",
        "audit",
        "events",
        "bus_messages",
        "push_credentials",
        "heartbeats",
        "health",
        "quarantine",
    ] {
        assert!(
            seen_some.contains(table),
            "{table}: tenant A has rows there: {seen_some:?}"
        );
    }
    // A tenant sees its own tenant row only.
    let mut s = store.session(Rows::Tenant(&a)).await.unwrap();
    let seen: Vec<String> = sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_all(&mut *s)
        .await
        .unwrap();
    drop(s);
    assert_eq!(seen, std::slice::from_ref(&a));
    // The tables of a connector's rows follow their connector.
    for table in ["versions", "deployments"] {
        let mut s = store.session(Rows::Tenant(&a)).await.unwrap();
        let seen: BTreeSet<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT connector_id FROM {table}"
        )))
        .fetch_all(&mut *s)
        .await
        .unwrap()
        .into_iter()
        .collect();
        assert!(
            !seen.is_empty() && seen.is_subset(&our_connectors),
            "{table}: {seen:?}"
        );
        let mut s = store.session(Rows::Tenant(&b)).await.unwrap();
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *s)
                .await
                .unwrap();
        assert_eq!(n, 0, "{table}: tenant B has no component");
    }
    assert_eq!(connectors_seen(store, Rows::Tenant(&a)).await, 2);
    assert_eq!(connectors_seen(store, Rows::Tenant(&b)).await, 1);
    assert_eq!(connectors_seen(store, Rows::All).await, 3);

    // Writing a foreign tenant's row from A's session is refused.
    let mut tx = store.begin(Rows::Tenant(&a)).await.unwrap();
    let e = sqlx::query(
        "INSERT INTO kv (tenant_id, connector_id, key, value) VALUES ($1, $2, 'k', $3)",
    )
    .bind(&b)
    .bind(cb["id"].as_str().unwrap())
    .bind(b"v".to_vec())
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(e.to_string().contains("row-level security"), "{e}");
    drop(tx);
    // The server's role may not rewrite the audit trail, nor lift the policies.
    let mut tx = store.begin(Rows::All).await.unwrap();
    let e = sqlx::query("UPDATE audit SET reason = 'nothing to see'")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("permission denied"), "{e}");
    drop(tx);
    let e = sqlx::query("ALTER TABLE connectors DISABLE ROW LEVEL SECURITY")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("must be owner"), "{e}");
    store.close().await;
    env.stop().await;
}

/// Mistakes in the two-role setup answer with a sentence that names the flag.
#[tokio::test]
async fn a_misnamed_owner_or_a_role_that_cannot_migrate_is_told_what_to_pass() {
    use airlock_host::store::SqliteSync;
    let (owner, app) = airlock_tests::postgres::fresh_urls().await;
    // The server's role alone cannot create the schema.
    let e = Store::open_as(&app, None, SqliteSync::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("--database-owner"), "{e}");
    assert!(e.contains("permission denied"), "{e}");
    // An owner URL of another database is refused before anything is migrated.
    let (other_owner, _) = airlock_tests::postgres::fresh_urls().await;
    let e = Store::open_as(&app, Some(&other_owner), SqliteSync::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--database-owner") && e.contains("another database"),
        "{e}"
    );
    // Named right, it migrates and grants; then the server's role alone opens the
    // up-to-date schema without migrating.
    Store::open_as(&app, Some(&owner), SqliteSync::default())
        .await
        .unwrap()
        .close()
        .await;
    Store::open_as(&app, None, SqliteSync::default())
        .await
        .unwrap()
        .close()
        .await;
}
