//! The audit trail as tenants read it and as the operator verifies it.

use airlock_host::store::Rows;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env};

/// Every `seq` a tenant's audit pages show, paging by `next_after` two at a time.
async fn audit_seqs(env: &Env, token: &str) -> Vec<i64> {
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let (s, page) = env
            .call(
                "GET",
                &format!("/api/audit?after={after}&limit=2"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(s, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            assert_eq!(page["next_after"], Value::Null);
            return seqs;
        }
        seqs.extend(items.iter().map(|r| r["seq"].as_i64().unwrap()));
        after = page["next_after"].as_i64().unwrap();
    }
}

/// `airlock audit verify` on the env's database: exit code and stdout.
pub(crate) async fn verify(env: &Env) -> (i32, String) {
    let mut cmd = airlock_tests::airlock_bin();
    cmd.args(["audit", "verify", "--data-dir"])
        .arg(&env.data_dir)
        .env("NO_COLOR", "1");
    if let Some(url) = &env.database {
        cmd.args(["--database", url]);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A tenant's audit rows are numbered 1, 2, 3… among its own rows: another
/// tenant's activity in between leaves no gap (a gap would tell how much the other
/// did), and `after` pages by that number. The operator's chain verification
/// still sees one chain, and notices a tenant number that was changed.
async fn each_tenant_numbers_its_own_audit_rows_without_gaps(db: Db) {
    let env = Env::start(db).await;
    let other = env.other_tenant_token().await;
    let before = audit_seqs(&env, &env.token).await;
    assert_eq!(before, (1..=before.len() as i64).collect::<Vec<_>>());
    let theirs_before = audit_seqs(&env, &other).await.len() as i64;
    // Interleaved: three of ours, each followed by two of the other tenant's.
    for i in 0..3 {
        env.register(&format!("ours-{i}"), "custom").await;
        for j in 0..2 {
            let (s, c) = env
                .call(
                    "POST",
                    "/api/connectors/register",
                    Some(&other),
                    Some(&json!({"name": format!("theirs-{i}-{j}"), "category": "custom"})),
                )
                .await;
            assert_eq!(s, 201, "{c}");
        }
    }
    let ours = audit_seqs(&env, &env.token).await;
    assert_eq!(ours, (1..=before.len() as i64 + 3).collect::<Vec<_>>());
    assert_eq!(
        audit_seqs(&env, &other).await,
        (1..=theirs_before + 6).collect::<Vec<_>>()
    );

    let (code, out) = verify(&env).await;
    assert_eq!(code, 0, "{out}");
    // Renumbering one of our rows is noticed, though the MAC does not cover it.
    // (The tamperer acts as the schema's owner, for every tenant: on PostgreSQL
    // the server's own role may not update audit rows at all.)
    let node = env.node().await;
    let mut tx = node.store.begin(Rows::All).await.unwrap();
    sqlx::query("UPDATE audit SET tenant_seq = 99 WHERE tenant_id = $1 AND tenant_seq = 2")
        .bind(&env.tenant)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (code, out) = verify(&env).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("tenant number 99"), "{out}");
    // Changing a row's content breaks its MAC.
    let mut tx = node.store.begin(Rows::All).await.unwrap();
    sqlx::query("UPDATE audit SET reason = 'nothing to see' WHERE seq = 3")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (_, out) = verify(&env).await;
    assert!(out.contains("row 3 was edited"), "{out}");
    env.stop().await;
}
both!(each_tenant_numbers_its_own_audit_rows_without_gaps);

/// `?target=` reads the entries about one connector (the console's connector
/// page), paged like the whole trail; GraphQL's `audit(target:)` is the same.
async fn the_trail_of_one_target(db: Db) {
    let env = Env::start(db).await;
    let a = env.register("feed-a", "osint").await;
    let b = env.register("feed-b", "osint").await;
    for (id, reason) in [(&a, "first"), (&b, "other"), (&a, "second")] {
        let (s, v) = env
            .call(
                "POST",
                &format!("/api/connectors/{id}/disable"),
                Some(&env.token),
                Some(&json!({"reason": reason})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        env.call(
            "POST",
            &format!("/api/connectors/{id}/enable"),
            Some(&env.token),
            None,
        )
        .await;
    }
    let (s, page) = env
        .call(
            "GET",
            &format!("/api/audit?target={a}&limit=1000"),
            Some(&env.token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{page}");
    let rows: Vec<(String, Value)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["target"], json!(a), "{r}");
            (
                r["action"].as_str().unwrap().to_string(),
                r["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("connector.register".to_string(), Value::Null),
            ("connector.disable".into(), json!("first")),
            ("connector.enable".into(), Value::Null),
            ("connector.disable".into(), json!("second")),
            ("connector.enable".into(), Value::Null),
        ]
    );
    // Paged by the whole trail's numbers: after the first disable, the rest.
    let after = page["items"][1]["seq"].as_i64().unwrap();
    let (_, rest) = env
        .call(
            "GET",
            &format!("/api/audit?target={a}&after={after}&limit=2"),
            Some(&env.token),
            None,
        )
        .await;
    let actions: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["connector.enable", "connector.disable"]);
    // Newest first (the console's view), paged toward older entries by `after`.
    let mut newest = Vec::new();
    let mut after = String::new();
    loop {
        let (s, page) = env
            .call(
                "GET",
                &format!("/api/audit?target={a}&order=desc&limit=2{after}"),
                Some(&env.token),
                None,
            )
            .await;
        assert_eq!(s, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        newest.extend(items.iter().map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["reason"].clone(),
            )
        }));
        after = format!("&after={}", page["next_after"]);
    }
    let mut oldest_first = rows.clone();
    oldest_first.reverse();
    assert_eq!(newest, oldest_first, "the same entries, newest first");
    let (s, e) = env
        .call(
            "GET",
            &format!("/api/audit?target={a}&order=sideways"),
            Some(&env.token),
            None,
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].clone()),
        (400, json!("invalid_query")),
        "{e}"
    );
    let (_, gql) = env
        .call(
            "POST",
            "/graphql",
            Some(&env.token),
            Some(&json!({"query": "query($t: String) { audit(target: $t) { nodes { action reason } } }",
                         "variables": {"t": b}})),
        )
        .await;
    assert_eq!(
        gql["data"]["audit"]["nodes"],
        json!([{"action": "connector.register", "reason": null},
               {"action": "connector.disable", "reason": "other"},
               {"action": "connector.enable", "reason": null}]),
        "{gql}"
    );
    // A target that names nothing reads nothing.
    let (_, none) = env
        .call(
            "GET",
            "/api/audit?target=no-such-target",
            Some(&env.token),
            None,
        )
        .await;
    assert_eq!(none["items"], json!([]));
}
both!(the_trail_of_one_target);
