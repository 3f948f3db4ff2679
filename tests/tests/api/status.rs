//! A connector driven through every status with real guest calls: the probe's input
//! sets each call's latency and failure.

use std::time::Duration;

use airlock_host::health::HealthPolicy;
use airlock_tests::guests;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env, error_code};

async fn status(env: &Env, id: &str) -> (String, String, Value) {
    let (s, c) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(s, 200, "{c}");
    let (s, sum) = env.admin("GET", "/api/registry/summary", None).await;
    assert_eq!(s, 200, "{sum}");
    (
        c["status"].as_str().unwrap().to_string(),
        c["status_reason"].as_str().unwrap().to_string(),
        sum,
    )
}

async fn work(env: &Env, id: &str, input: Value) -> u16 {
    env.admin(
        "POST",
        &format!("/api/connectors/{id}/invoke/work"),
        Some(&input),
    )
    .await
    .0
}

fn only(sum: &Value, status: &str) {
    assert_eq!(sum["total"], 1, "{sum}");
    for s in ["registered", "active", "degraded", "error", "disabled"] {
        let expected = u64::from(s == status);
        assert_eq!(
            sum[s], expected,
            "summary count of {s} when the connector is {status}: {sum}"
        );
        assert_eq!(sum["by_category"]["telemetry"][s], expected, "{sum}");
    }
}

async fn a_connector_moves_through_every_status_with_real_calls(db: Db) {
    let policy = HealthPolicy {
        degraded_latency_ms: 150.0,
        late_after: Duration::from_secs(3600),
        silent_after: Duration::from_secs(7200),
        ..HealthPolicy::default()
    };
    let env = Env::start_with(db, policy).await;
    let id = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0"})),
        )
        .await;
    assert_eq!(s, 201);

    let (st, _, sum) = status(&env, &id).await;
    assert_eq!(st, "registered");
    only(&sum, "registered");

    assert_eq!(work(&env, &id, json!({"busy_ms": 1})).await, 200);
    let (st, reason, sum) = status(&env, &id).await;
    assert_eq!(st, "active", "{reason}");
    only(&sum, "active");

    // One slow call pushes the window's p95 over 150 ms.
    assert_eq!(work(&env, &id, json!({"busy_ms": 250})).await, 200);
    let (st, reason, sum) = status(&env, &id).await;
    assert_eq!(st, "degraded", "{reason}");
    assert!(reason.contains("p95 latency"), "{reason}");
    only(&sum, "degraded");

    // Three failures in a row: an upstream error, a trap, another upstream error.
    assert_eq!(work(&env, &id, json!({"fail": "upstream"})).await, 502);
    let (st, reason, _) = status(&env, &id).await;
    assert_eq!(st, "degraded", "{reason}");
    assert!(reason.contains("the last call failed"), "{reason}");
    assert_eq!(work(&env, &id, json!({"fail": "trap"})).await, 502);
    assert_eq!(work(&env, &id, json!({"fail": "upstream"})).await, 502);
    let (st, reason, sum) = status(&env, &id).await;
    assert_eq!(st, "error", "{reason}");
    assert!(reason.contains("3 consecutive failed calls"), "{reason}");
    only(&sum, "error");

    // Hysteresis: two good calls are not enough to leave `error`.
    for _ in 0..2 {
        assert_eq!(work(&env, &id, json!({})).await, 200);
    }
    let (st, reason, _) = status(&env, &id).await;
    assert_eq!(st, "error", "{reason}");
    assert!(reason.contains("recovering"), "{reason}");

    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/disable"),
            Some(&json!({"reason": "vendor investigating"})),
        )
        .await;
    assert_eq!(s, 200);
    let (st, reason, sum) = status(&env, &id).await;
    assert_eq!(st, "disabled");
    assert!(reason.contains("vendor investigating"), "{reason}");
    only(&sum, "disabled");
    // A disabled connector is not called, and its calls do not move it.
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 409, "invoking a disabled connector"),
        "connector_disabled"
    );
    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/heartbeat"),
            Some(&json!({"status": "ok"})),
        )
        .await;
    assert_eq!(s, 202);
    assert_eq!(
        status(&env, &id).await.0,
        "disabled",
        "only an admin's enable leaves disabled"
    );

    let (s, _) = env
        .admin("POST", &format!("/api/connectors/{id}/enable"), None)
        .await;
    assert_eq!(s, 200);
    let (st, _, sum) = status(&env, &id).await;
    assert_eq!(st, "registered", "enabled: health starts afresh");
    only(&sum, "registered");
    assert_eq!(work(&env, &id, json!({})).await, 200);
    let (st, reason, sum) = status(&env, &id).await;
    assert_eq!(st, "active", "{reason}");
    only(&sum, "active");
    // Enabling an enabled connector changes nothing and audits nothing.
    let (_, before) = env.admin("GET", "/api/audit?limit=1000", None).await;
    let (s, en) = env
        .admin("POST", &format!("/api/connectors/{id}/enable"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(en["status"], "active", "health is not reset");
    let (_, after) = env.admin("GET", "/api/audit?limit=1000", None).await;
    assert_eq!(
        before["items"].as_array().unwrap().len(),
        after["items"].as_array().unwrap().len()
    );

    // The history keeps every call with its outcome and latency.
    let (_, hb) = env
        .admin(
            "GET",
            &format!("/api/connectors/{id}/heartbeats?limit=100"),
            None,
        )
        .await;
    let items = hb["items"].as_array().unwrap();
    // 8 calls and the heartbeat sent while disabled.
    assert_eq!(items.len(), 9, "{hb}");
    let kinds: Vec<&str> = items
        .iter()
        .filter_map(|h| h["error_kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"trapped") && kinds.contains(&"upstream"),
        "{kinds:?}"
    );
    assert!(hb["stats"]["p99_ms"].as_f64().unwrap() >= 250.0, "{hb}");
    env.stop().await;
}
both!(a_connector_moves_through_every_status_with_real_calls);

async fn external_heartbeats_drive_status_too(db: Db) {
    let env = Env::start(db).await;
    let (s, c) = env
        .admin(
            "POST",
            "/api/connectors/register",
            Some(&json!({"name": "radar", "category": "telemetry", "auth_method": "api-key"})),
        )
        .await;
    assert_eq!(s, 201);
    let id = c["id"].as_str().unwrap();
    let token = env
        .token_with(&[airlock_host::auth::Scope::ConnectorHeartbeat])
        .await;
    let beat = |body: Value| {
        let (env, token) = (&env, token.clone());
        async move {
            env.call(
                "POST",
                &format!("/api/connectors/{id}/heartbeat"),
                Some(&token),
                Some(&body),
            )
            .await
            .0
        }
    };
    assert_eq!(beat(json!({"latency_ms": 12})).await, 202);
    assert_eq!(status(&env, id).await.0, "active");
    for _ in 0..3 {
        assert_eq!(
            beat(json!({"status": "error", "detail": "radar offline"})).await,
            202
        );
    }
    let (st, reason, _) = status(&env, id).await;
    assert_eq!(st, "error");
    assert!(reason.contains("radar offline"), "{reason}");
    let (s, e) = env
        .call(
            "POST",
            &format!("/api/connectors/{id}/heartbeat"),
            Some(&token),
            Some(&json!({"status": "fine"})),
        )
        .await;
    error_code(s, &e, 400, "an unknown heartbeat status");
    let (s, e) = env
        .call(
            "POST",
            &format!("/api/connectors/{id}/heartbeat"),
            Some(&token),
            Some(&json!({"latency_ms": -1})),
        )
        .await;
    error_code(s, &e, 400, "a negative latency");
    env.stop().await;
}
both!(external_heartbeats_drive_status_too);
