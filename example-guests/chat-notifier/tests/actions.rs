//! The notifier's actions against a mock chat and ticketing API.

use airlock_sdk::prelude::*;
use airlock_sdk::testing::{Harness, MockResponse};
use chat_notifier::ChatNotifier;

const POST: &str = "https://slack.com/api/chat.postMessage";
const ISSUE: &str = "https://acme.atlassian.net/rest/api/2/issue";

fn harness() -> Harness<ChatNotifier> {
    let h = Harness::new(ChatNotifier).config(json!({
        "default_channel": "#soc",
        "ticket_base_url": "https://acme.atlassian.net",
        "ticket_project": "OPS"
    }));
    h.host()
        .secret("chat_token", "xoxb-secret")
        .secret("ticket_user", "bot@acme.test")
        .secret("ticket_api_token", "tok");
    h
}

fn header<'a>(req: &'a airlock_sdk::http::Request, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn post_message_sends_json_with_the_host_injected_bearer() {
    let h = harness();
    h.host().respond(
        "POST",
        POST,
        MockResponse::json(&json!({"ok": true, "ts": "1.5"})),
    );
    let out = h
        .invoke(
            "post-message",
            &json!({"text": "Indicator 198.51.100.3 seen"}),
        )
        .unwrap();
    assert_eq!(
        out[0].body_json().unwrap(),
        json!({"channel": "#soc", "ts": "1.5"})
    );
    let req = &h.host().requests()[0];
    assert_eq!(header(req, "authorization"), Some("Bearer xoxb-secret"));
    let body: Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"channel": "#soc", "text": "Indicator 198.51.100.3 seen"})
    );
    // The secret reaches the request through the host only, never the guest's output or logs.
    assert!(!String::from_utf8_lossy(&out[0].body).contains("xoxb"));
    assert!(h.host().logs().iter().all(|l| !l.message.contains("xoxb")));
}

#[test]
fn a_429_is_retried_after_its_retry_after() {
    let h = harness();
    h.host()
        .respond(
            "POST",
            POST,
            MockResponse::status(429).header("Retry-After", "3"),
        )
        .respond(
            "POST",
            POST,
            MockResponse::json(&json!({"ok": true, "ts": "2.0"})),
        );
    h.invoke("post-message", &json!({"text": "hi", "channel": "#x"}))
        .unwrap();
    assert_eq!(h.host().sleeps(), vec![3000]);
    assert_eq!(h.host().requests().len(), 2);
}

#[test]
fn a_long_retry_after_is_handed_back_to_the_host() {
    let h = harness();
    h.host().respond(
        "POST",
        POST,
        MockResponse::status(429).header("retry-after", "120"),
    );
    let err = h
        .invoke("post-message", &json!({"text": "hi"}))
        .unwrap_err();
    match err {
        Error::RateLimited(r) => assert_eq!(r.retry_after_ms, 120_000),
        other => panic!("expected rate-limited, got {other:?}"),
    }
    assert!(h.host().sleeps().is_empty());
    assert_eq!(h.host().requests().len(), 1);
}

#[test]
fn retries_that_run_out_are_rate_limited_errors() {
    let h = harness();
    h.host().respond(
        "POST",
        POST,
        MockResponse::status(429).header("retry-after", "1"),
    );
    let err = h
        .invoke("post-message", &json!({"text": "hi"}))
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(h.host().requests().len(), 4);
    assert_eq!(h.host().sleeps(), vec![1000, 1000, 1000]);
}

#[test]
fn a_503_is_retried_with_backoff_but_a_500_on_post_is_not() {
    let h = harness();
    h.host()
        .respond("POST", POST, MockResponse::status(503))
        .respond("POST", POST, MockResponse::status(503))
        .respond("POST", POST, MockResponse::json(&json!({"ok": true})));
    h.invoke("post-message", &json!({"text": "hi"})).unwrap();
    assert_eq!(h.host().sleeps(), vec![500, 1000]);

    let h = harness();
    h.host()
        .respond("POST", ISSUE, MockResponse::status(500).body("boom"));
    let err = h
        .invoke("create-ticket", &json!({"summary": "Block 198.51.100.3"}))
        .unwrap_err();
    assert_eq!(h.host().requests().len(), 1);
    assert!(
        err.message().contains("may already have taken effect"),
        "{err:?}"
    );
}

#[test]
fn a_chat_api_refusal_names_its_error_code() {
    let h = harness();
    h.host().respond(
        "POST",
        POST,
        MockResponse::json(&json!({"ok": false, "error": "channel_not_found"})),
    );
    let err = h
        .invoke("post-message", &json!({"text": "hi"}))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Upstream(u) if u.message.contains("channel_not_found")),
        "{err:?}"
    );
}

#[test]
fn create_ticket_posts_the_fields_with_basic_auth() {
    let h = harness();
    h.host().respond(
        "POST",
        ISSUE,
        MockResponse::status(201).body(r#"{"id":"10001","key":"OPS-7"}"#),
    );
    let out = h
        .invoke(
            "create-ticket",
            &json!({"summary": "Block it", "priority": "High", "labels": ["ioc"]}),
        )
        .unwrap();
    assert_eq!(
        out[0].body_json().unwrap(),
        json!({"key": "OPS-7", "id": "10001", "url": "https://acme.atlassian.net/browse/OPS-7"})
    );
    let req = &h.host().requests()[0];
    // base64("bot@acme.test:tok")
    assert_eq!(
        header(req, "authorization"),
        Some("Basic Ym90QGFjbWUudGVzdDp0b2s=")
    );
    let body: Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
    assert_eq!(body["fields"]["project"]["key"], "OPS");
    assert_eq!(body["fields"]["priority"]["name"], "High");
    assert_eq!(body["fields"]["issuetype"]["name"], "Task");
}

#[test]
fn bad_input_and_config_get_clear_errors() {
    let h = Harness::new(ChatNotifier);
    let err = h
        .invoke("post-message", &json!({"text": "hi"}))
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("default_channel")),
        "{err:?}"
    );
    let err = h
        .invoke("create-ticket", &json!({"summary": "x"}))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)));
    assert!(matches!(
        h.invoke("post-message", &json!({"txt": 1})),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        h.invoke("delete-everything", &json!({})),
        Err(Error::Unsupported(_))
    ));
    assert!(
        h.validate_config(&json!({"ticket_project": "OPS"}))
            .is_err()
    );
    assert!(h.validate_config(&json!({"surprise": 1})).is_err());
    assert!(
        h.validate_config(&json!({"default_channel": "#soc"}))
            .is_ok()
    );
}

#[test]
fn requests_outside_the_declared_hosts_are_denied_by_the_host() {
    let h = Harness::new(ChatNotifier)
        .config(json!({"chat_api_base": "https://chat.evil.test/api", "default_channel": "#x"}));
    let err = h
        .invoke("post-message", &json!({"text": "hi"}))
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig(m) if m.contains("not among the outbound hosts")),
        "{err:?}"
    );
}

#[test]
fn a_missing_secret_is_reported_not_sent_empty() {
    let h = Harness::new(ChatNotifier).config(json!({"default_channel": "#x"}));
    h.host()
        .respond("POST", POST, MockResponse::json(&json!({"ok": true})));
    let err = h
        .invoke("post-message", &json!({"text": "hi"}))
        .unwrap_err();
    assert!(err.message().contains("chat_token"), "{err:?}");
}
