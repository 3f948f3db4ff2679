//! Errors that point at the field: every JSON-Schema failure of a config, secrets
//! or input names the offending property's path (a missing required one, an
//! unexpected one, a wrong type), a connector's own refusal names its field, and
//! secrets are named, never quoted. Data that cannot be decoded says why in the
//! answer (invoke) or in the event's status (push).

use airlock_tests::guests;
use serde_json::{Value, json};

use crate::both;
use crate::bus::push;
use crate::harness::{Db, Env, error_code};
use crate::ingest::register_push;

/// `(path, message)` of each detail of a 422 answer.
fn details(e: &Value) -> Vec<(String, String)> {
    e["error"]["details"]
        .as_array()
        .unwrap_or_else(|| panic!("no details: {e}"))
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn paths(e: &Value) -> Vec<String> {
    details(e).into_iter().map(|(p, _)| p).collect()
}

async fn deploy(env: &Env, id: &str, body: Value) -> (u16, Value) {
    env.admin(
        "POST",
        &format!("/api/connectors/{id}/deployments"),
        Some(&body),
    )
    .await
}

async fn schema_failures_name_the_field_and_never_a_secret(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_upload("feed", "osint", guests::OSINT_FEED)
        .await;
    let feed = "https://feeds.example.org/v1/indicators.csv";

    // A missing required property: its own path, not the object's.
    let (s, e) = deploy(&env, &id, json!({"version": "0.1.0", "config": {}})).await;
    assert_eq!(error_code(s, &e, 422, "no feed_url"), "invalid_config");
    assert_eq!(paths(&e), ["/feed_url"], "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/feed_url: is required"),
        "{e}"
    );

    // Unexpected properties: one finding per key, escaped as JSON Pointer tokens.
    let (s, e) = deploy(
        &env,
        &id,
        json!({"version": "0.1.0",
               "config": {"feed_url": feed, "user_agent": "x", "a/b~c": 1}}),
    )
    .await;
    assert_eq!(error_code(s, &e, 422, "unexpected keys"), "invalid_config");
    let mut got = paths(&e);
    got.sort();
    assert_eq!(got, ["/a~1b~0c", "/user_agent"], "{e}");

    // A wrong type, as before: the field.
    let (s, e) = deploy(
        &env,
        &id,
        json!({"version": "0.1.0", "config": {"feed_url": feed, "page_size": "ten"}}),
    )
    .await;
    assert_eq!(
        error_code(s, &e, 422, "a string page size"),
        "invalid_config"
    );
    assert_eq!(paths(&e), ["/page_size"], "{e}");

    // The connector's own rule (the feed's host must be one it declares): its field.
    let (s, e) = deploy(
        &env,
        &id,
        json!({"version": "0.1.0",
               "config": {"feed_url": "https://elsewhere.example/feed.csv"}}),
    )
    .await;
    assert_eq!(
        error_code(s, &e, 422, "an undeclared feed host"),
        "invalid_config"
    );
    let found = details(&e);
    assert_eq!(found.len(), 1, "{e}");
    assert_eq!(found[0].0, "/feed_url", "{e}");
    assert!(found[0].1.contains("elsewhere.example"), "{e}");

    // Secrets: the field and the rule, never the value.
    let secret = "sk-20261204-do-not-echo";
    let (s, e) = deploy(
        &env,
        &id,
        json!({"version": "0.1.0", "config": {"feed_url": feed},
               "secrets": {"api_key": 20261204, "extra": secret}}),
    )
    .await;
    assert_eq!(error_code(s, &e, 422, "bad secrets"), "invalid_secrets");
    let mut got = paths(&e);
    got.sort();
    assert_eq!(got, ["/api_key", "/extra"], "{e}");
    let text = e.to_string();
    assert!(
        !text.contains("20261204") && !text.contains(secret),
        "{text}"
    );

    // A grant the manifest does not declare: the grant.
    let (s, e) = deploy(
        &env,
        &id,
        json!({"version": "0.1.0", "config": {"feed_url": feed},
               "allowed_hosts": ["https://feeds.example.org", "https://evil.example"]}),
    )
    .await;
    assert_eq!(
        error_code(s, &e, 422, "an undeclared grant"),
        "invalid_allowed_hosts"
    );
    assert_eq!(paths(&e), ["/allowed_hosts/1"], "{e}");

    // What was refused was never stored.
    let (_, list) = env
        .admin("GET", &format!("/api/connectors/{id}/deployments"), None)
        .await;
    assert_eq!(list["items"], json!([]), "{list}");
    env.stop().await;
}
both!(schema_failures_name_the_field_and_never_a_secret);

/// A sentence whose checksum is wrong (the right one is 5C).
const BAD_CHECKSUM: &str = "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5D";

async fn undecodable_data_says_why_in_the_answer_or_the_event_status(db: Db) {
    let env = Env::start(db).await;
    // Invoked: the answer says which line failed and why.
    let id = env
        .register_and_deploy("ais", "telemetry", guests::AIS_DECODER)
        .await;
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/decode"),
            Some(&json!({ "sentences": BAD_CHECKSUM })),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 422, "a bad checksum"),
        "connector_rejected_input"
    );
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("line 1") && message.contains("XOR to 5C but it carries 5D"),
        "{message}"
    );

    // Pushed: acknowledged, then the event's status tells the sender what failed.
    let c = register_push(&env, &env.token, "ais-receiver", "hmac-sha256", Some("ais")).await;
    let cid = c["id"].as_str().unwrap().to_string();
    let (s, v) = env
        .upload(&cid, std::fs::read(guests::AIS_DECODER).unwrap())
        .await;
    assert_eq!(s, 201, "{v}");
    env.deploy(&cid, v["version"].as_str().unwrap()).await;
    let event = push(&env, &c, "nmea-bad", BAD_CHECKSUM.as_bytes()).await;
    let status = loop_until_done(&env, &cid, &event).await;
    assert_eq!(status["state"], "failed", "{status}");
    assert_eq!(status["size"], BAD_CHECKSUM.len(), "{status}");
    let why = status["outcome"]["error"].as_str().unwrap_or_default();
    assert!(why.contains("XOR to 5C but it carries 5D"), "{status}");
    env.stop().await;
}
both!(undecodable_data_says_why_in_the_answer_or_the_event_status);

/// The event's status once the pipeline has finished with it.
async fn loop_until_done(env: &Env, cid: &str, event: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (s, status) = env
            .admin(
                "GET",
                &format!("/api/connectors/{cid}/events/{event}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{status}");
        if status["state"] != "pending" {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never finished: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
