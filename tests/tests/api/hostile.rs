//! Hostile guests through a live server: an abusive manifest is refused at upload
//! with bounded findings, and output floods end in their typed error, publish
//! nothing, and leave the server serving.

use airlock_tests::guests;
use serde_json::json;

use crate::both;
use crate::harness::{Db, Env, error_code};

async fn an_abusive_manifest_is_refused_at_upload_by_field_without_echo(db: Db) {
    let env = Env::start(db).await;
    let id = &env.register("abusive", "custom").await;
    let (s, e) = env
        .upload(id, std::fs::read(guests::HOSTILE_MANIFEST).unwrap())
        .await;
    assert_eq!(error_code(s, &e, 422, "upload"), "invalid_manifest");
    let paths: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/id", "/name", "/config_schema", "/actions"]);
    let text = e.to_string();
    assert!(text.len() < 2048, "{} bytes: {text}", text.len());
    assert!(!text.contains("passwd") && !text.contains("NNNN"), "{text}");
    // Nothing was stored.
    let (s, c) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["versions"].as_array().map(Vec::len), Some(0), "{c}");
    env.stop().await;
}
both!(an_abusive_manifest_is_refused_at_upload_by_field_without_echo);

async fn an_output_flood_publishes_nothing_and_the_server_still_serves(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_deploy("flood", "custom", guests::HOSTILE_RETURN_FLOOD)
        .await;
    let max = airlock_host::runtime::Limits::default().max_outputs;
    // A million outputs (refused while copied), then one too many (refused by count).
    for input in [json!({}), json!({"count": max + 1})] {
        let (s, e) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/invoke/run"),
                Some(&input),
            )
            .await;
        assert_eq!(
            error_code(s, &e, 502, &format!("{input}")),
            "connector_output_too_large"
        );
        assert!(e["error"]["message"].as_str().unwrap().len() < 300, "{e}");
    }
    let (s, events) = env
        .admin("GET", &format!("/api/events?connector={id}"), None)
        .await;
    assert_eq!(s, 200, "{events}");
    assert_eq!(
        events["items"].as_array().map(Vec::len),
        Some(0),
        "{events}"
    );
    let (s, ok) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/ok"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(s, 200, "{ok}");
    env.stop().await;
}
both!(an_output_flood_publishes_nothing_and_the_server_still_serves);
