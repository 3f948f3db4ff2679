//! The shape of every route's answer, pinned: the key names and JSON types of each
//! answer (recursively) after a fixed scenario, compared with
//! `tests/fixtures/api-shapes.json`. A refactor that renames, drops or retypes a
//! field fails here; values (ids, times) are free to differ.
//!
//! `AIRLOCK_BLESS_SHAPES=1 cargo test -p airlock-tests --test api shapes` rewrites
//! the file after an intended change (review its diff like code).

use std::collections::BTreeMap;

use airlock_tests::guests;
use serde_json::{Value, json};

use crate::harness::{Db, Env, answer};

/// A value's shape: objects keep their keys (sorted) with their shapes, arrays the
/// distinct shapes of their items, scalars their JSON type.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => {
            let mut distinct: Vec<Value> = Vec::new();
            for s in items.iter().map(shape) {
                if !distinct.contains(&s) {
                    distinct.push(s);
                }
            }
            distinct.sort_by_key(|s| s.to_string());
            Value::Array(distinct)
        }
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// Records `status` and the answer's shape under `name`.
fn record(out: &mut BTreeMap<String, Value>, name: &str, status: u16, body: &Value) {
    out.insert(
        name.to_string(),
        json!({"status": status, "shape": shape(body)}),
    );
}

async fn ingest_with_key(env: &Env, path: &str, key: &str, body: &[u8]) -> (u16, Value) {
    let r = env
        .http
        .post(env.url(path))
        .header("x-api-key", key)
        .header("idempotency-key", "shape-1")
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    answer(r).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_in_its_pinned_shape() {
    let env = Env::start(Db::Sqlite).await;
    let mut out = BTreeMap::new();
    let t = env.tenant.clone();

    let (s, v) = env.call("GET", "/healthz", None, None).await;
    record(&mut out, "GET /healthz", s, &v);
    let r = env
        .http
        .post(env.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ])
        .send()
        .await
        .unwrap();
    let (s, v) = answer(r).await;
    record(&mut out, "POST /oauth/token (bad client)", s, &v);
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        let (s, v) = env.call("GET", path, None, None).await;
        record(&mut out, &format!("GET {path}"), s, &v);
    }

    // A pull connector: register, upload, deploy, invoke, heartbeats.
    let (s, c) = env
        .admin(
            "POST",
            "/api/connectors/register",
            Some(&json!({"name": "probe", "category": "telemetry", "description": "d"})),
        )
        .await;
    record(&mut out, "POST /api/connectors/register", s, &c);
    let id = c["id"].as_str().unwrap().to_string();
    let (s, v) = env.upload(&id, std::fs::read(guests::PROBE).unwrap()).await;
    record(&mut out, "POST /api/connectors/{id}/versions", s, &v);
    let (s, v) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0", "config": {"label": "x"}, "stale_after": "2h"})),
        )
        .await;
    record(&mut out, "POST /api/connectors/{id}/deployments", s, &v);
    // Two polls run now (no schedule: nothing else polls), so `last_poll` has a
    // cursor on both sides.
    for _ in 0..2 {
        let (s, v) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/deployments/default/poll"),
                None,
            )
            .await;
        record(
            &mut out,
            "POST /api/connectors/{id}/deployments/{target}/poll",
            s,
            &v,
        );
    }
    let (s, v) = env
        .admin(
            "GET",
            &format!("/api/connectors/{id}/deployments/default/polls"),
            None,
        )
        .await;
    record(
        &mut out,
        "GET /api/connectors/{id}/deployments/{target}/polls",
        s,
        &v,
    );
    let (s, v) = env
        .admin("GET", &format!("/api/connectors/{id}/deployments"), None)
        .await;
    record(&mut out, "GET /api/connectors/{id}/deployments", s, &v);
    let (s, v) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work"),
            Some(&json!({})),
        )
        .await;
    record(&mut out, "POST /api/connectors/{id}/invoke/work", s, &v);
    let (s, v) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/stix"),
            Some(&json!({"broken": true})),
        )
        .await;
    record(
        &mut out,
        "POST /api/connectors/{id}/invoke/stix (quarantined)",
        s,
        &v,
    );
    let (s, v) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/heartbeat"),
            Some(&json!({"latency_ms": 3.5, "status": "ok", "detail": "fine"})),
        )
        .await;
    record(&mut out, "POST /api/connectors/{id}/heartbeat", s, &v);
    let (s, v) = env
        .admin("GET", &format!("/api/connectors/{id}/heartbeats"), None)
        .await;
    record(&mut out, "GET /api/connectors/{id}/heartbeats", s, &v);
    let (s, v) = env
        .admin("GET", &format!("/api/connectors/{id}/quarantine"), None)
        .await;
    record(&mut out, "GET /api/connectors/{id}/quarantine", s, &v);
    let (s, v) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    record(&mut out, "GET /api/connectors/{id}", s, &v);
    let (s, v) = env.admin("GET", "/api/connectors", None).await;
    record(&mut out, "GET /api/connectors", s, &v);
    let (s, v) = env.admin("GET", "/api/registry/summary", None).await;
    record(&mut out, "GET /api/registry/summary", s, &v);
    let (s, v) = env.admin("GET", "/api/sdk/manifest", None).await;
    record(&mut out, "GET /api/sdk/manifest", s, &v);
    let (s, v) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/disable"),
            Some(&json!({"reason": "maintenance"})),
        )
        .await;
    record(&mut out, "POST /api/connectors/{id}/disable", s, &v);
    let (s, v) = env
        .admin("POST", &format!("/api/connectors/{id}/enable"), None)
        .await;
    record(&mut out, "POST /api/connectors/{id}/enable", s, &v);
    let (s, v) = env
        .admin(
            "DELETE",
            &format!("/api/connectors/{id}/deployments/default"),
            None,
        )
        .await;
    record(
        &mut out,
        "DELETE /api/connectors/{id}/deployments/{target}",
        s,
        &v,
    );

    // Push connectors, one per method that is issued a credential.
    for method in ["hmac-sha256", "api-key", "oauth2"] {
        let (s, v) = env
            .admin(
                "POST",
                "/api/connectors/register",
                Some(
                    &json!({"name": format!("push-{method}"), "category": "custom",
                    "auth_method": method, "output_standard": "json",
                    "webhook_url": "https://example.org/hook"}),
                ),
            )
            .await;
        record(
            &mut out,
            &format!("POST /api/connectors/register ({method})"),
            s,
            &v,
        );
        let pid = v["id"].as_str().unwrap().to_string();
        let (s, r) = env
            .admin(
                "POST",
                &format!("/api/connectors/{pid}/credentials/rotate"),
                None,
            )
            .await;
        record(
            &mut out,
            &format!("POST /api/connectors/{{id}}/credentials/rotate ({method})"),
            s,
            &r,
        );
        if method == "api-key" {
            let key = r["credential"]["key"].as_str().unwrap();
            let path = v["webhook_path"].as_str().unwrap();
            let (s, a) = ingest_with_key(&env, path, key, br#"{"n": 1}"#).await;
            record(
                &mut out,
                "POST /api/events/ingest/{tenant}/{connector}",
                s,
                &a,
            );
            let (s, a) = ingest_with_key(&env, path, key, br#"{"n": 1}"#).await;
            record(
                &mut out,
                "POST /api/events/ingest/{tenant}/{connector} (redelivery)",
                s,
                &a,
            );
        }
    }

    // Wait for the pushed event and the invoke's outputs to be published.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let events = loop {
        let (s, v) = env
            .admin("GET", &format!("/api/events?topic=airlock.{t}.*"), None)
            .await;
        assert_eq!(s, 200, "{v}");
        if v["items"].as_array().unwrap().len() >= 3 || std::time::Instant::now() > deadline {
            break (s, v);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    record(&mut out, "GET /api/events", events.0, &events.1);
    let (s, v) = env.admin("GET", "/api/audit", None).await;
    record(&mut out, "GET /api/audit", s, &v);
    let (s, v) = env.admin("GET", "/api/connectors/nope", None).await;
    record(&mut out, "GET /api/connectors/{id} (unknown)", s, &v);

    let actual = serde_json::to_string_pretty(&out).unwrap() + "\n";
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/api-shapes.json");
    if std::env::var_os("AIRLOCK_BLESS_SHAPES").is_some() {
        std::fs::write(file, &actual).unwrap();
    } else {
        let expected = std::fs::read_to_string(file).unwrap_or_default();
        let expected: Value = serde_json::from_str(&expected).unwrap_or(Value::Null);
        let actual: Value = serde_json::from_str(&actual).unwrap();
        if expected != actual {
            let (e, a) = (
                expected.as_object().cloned().unwrap_or_default(),
                actual.as_object().cloned().unwrap_or_default(),
            );
            let differing: Vec<&String> = a
                .keys()
                .chain(e.keys())
                .filter(|k| a.get(*k) != e.get(*k))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            panic!(
                "answer shapes changed for {differing:?}; if intended, rerun with \
                 AIRLOCK_BLESS_SHAPES=1 and review the fixture's diff\n{}",
                differing
                    .iter()
                    .map(|k| format!(
                        "{k}:\n  expected {}\n  actual   {}",
                        e.get(*k).unwrap_or(&Value::Null),
                        a.get(*k).unwrap_or(&Value::Null)
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    env.stop().await;
}
