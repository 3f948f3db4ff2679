//! Text that no name, reason or detail has a use for: a NUL (`\u0000` in JSON,
//! `%00` in a path or query) is refused with 400 at the door — PostgreSQL cannot
//! store it, and before it was a 500, or worse a heartbeat accepted and then lost
//! with every other tenant's in its batch. And the data directory is private.

use serde_json::json;

use crate::both;
use crate::harness::{Db, Env, error_code};

async fn nul_is_refused_at_the_door_and_costs_no_one_their_heartbeats(db: Db) {
    let env = Env::start(db).await;
    let (s, c) = env
        .admin(
            "POST",
            "/api/connectors/register",
            Some(&json!({"name": "sensor", "category": "telemetry"})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    for (method, path, body) in [
        (
            "POST",
            "/api/connectors/register".to_string(),
            json!({"name": "n", "category": "custom", "description": "a\u{0}b"}),
        ),
        (
            "POST",
            "/api/connectors/register".to_string(),
            json!({"name": "n", "category": "custom", "webhook_url": "https://x.example/\u{0}"}),
        ),
        (
            "POST",
            format!("/api/connectors/{id}/disable"),
            json!({"reason": "\u{0}"}),
        ),
        (
            "POST",
            format!("/api/connectors/{id}/heartbeat"),
            json!({"detail": "\u{0}"}),
        ),
    ] {
        let (s, e) = env.admin(method, &path, Some(&body)).await;
        assert_eq!(error_code(s, &e, 400, &path), "invalid_text", "{body}");
    }
    for path in [
        "/api/connectors/%00".to_string(),
        format!("/api/connectors/{id}/deployments/a%00b/polls"),
        "/api/connectors?category=%00".to_string(),
    ] {
        let (s, e) = env.admin("GET", &path, None).await;
        assert_eq!(error_code(s, &e, 400, &path), "invalid_text");
    }
    // The token endpoint (a form, not JSON; no authentication yet): refused as an
    // unknown client, never a database error.
    for form in [
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "a\0b"),
            ("client_secret", "x"),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "a"),
            ("client_secret", "\0"),
        ],
    ] {
        let r = env
            .http
            .post(env.url("/oauth/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let (s, e) = crate::harness::answer(r).await;
        assert_eq!(s, 401, "{e}");
    }
    // An escaped backslash before `u0000` is text, not a NUL.
    let (s, v) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/heartbeat"),
            Some(&json!({"detail": "C:\\u0000 is a path"})),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    // Another tenant's heartbeats, sent alongside, all count.
    let other = env.other_tenant_token().await;
    let (s, oc) = env
        .call(
            "POST",
            "/api/connectors/register",
            Some(&other),
            Some(&json!({"name": "other", "category": "telemetry"})),
        )
        .await;
    assert_eq!(s, 201);
    let oid = oc["id"].as_str().unwrap().to_string();
    for _ in 0..50 {
        let (s, _) = env
            .call(
                "POST",
                &format!("/api/connectors/{oid}/heartbeat"),
                Some(&other),
                Some(&json!({"latency_ms": 1.0})),
            )
            .await;
        assert_eq!(s, 202);
        let (s, _) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/heartbeat"),
                Some(&json!({"detail": "\u{0}"})),
            )
            .await;
        assert_eq!(s, 400);
    }
    let (_, beats) = env
        .call(
            "GET",
            &format!("/api/connectors/{oid}/heartbeats?limit=1000"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(beats["stats"]["count"], 50, "{beats}");
    if db == Db::Sqlite {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&env.data_dir), 0o700);
        for f in [
            "airlock.db",
            "airlock.db-wal",
            "airlock.db-shm",
            "secrets.key",
        ] {
            let p = env.data_dir.join(f);
            if p.exists() {
                assert_eq!(mode(&p), 0o600, "{f}");
            }
        }
    }
    env.stop().await;
}
both!(nul_is_refused_at_the_door_and_costs_no_one_their_heartbeats);
