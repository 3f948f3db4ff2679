//! The front door's smaller findings, on both databases: paths that are not UTF-8,
//! invoke bodies that are not JSON, webhook headers that are not ASCII, free text
//! with control characters, webhook URLs that could not be sent to, and floods of
//! failed authentications answered 429.

use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env, answer, error_code};
use crate::ingest::{post, register_push, signed};

async fn malformed_input_gets_a_json_error_naming_what_to_fix(db: Db) {
    let env = Env::start(db).await;
    // A path segment that is not UTF-8 once decoded: a JSON error, not plain text.
    let (s, e) = env.admin("GET", "/api/connectors/%FF%FE", None).await;
    assert_eq!(error_code(s, &e, 400, "non-UTF-8 path"), "invalid_text");

    let id = env
        .register_and_deploy("ais", "telemetry", airlock_tests::guests::AIS_DECODER)
        .await;
    let invoke = |content_type: &'static str| {
        let env = &env;
        let id = id.clone();
        async move {
            let r = env
                .http
                .post(env.url(&format!("/api/connectors/{id}/invoke/decode")))
                .bearer_auth(&env.token)
                .header("content-type", content_type)
                .body(r#"{"sentences": "x"}"#)
                .send()
                .await
                .unwrap();
            answer(r).await
        }
    };
    for ct in ["text/plain", "application/json; charset=utf-16"] {
        let (s, e) = invoke(ct).await;
        assert_eq!(error_code(s, &e, 415, ct), "unsupported_media_type");
    }
    let (s, e) = invoke("application/json; charset=UTF-8").await;
    assert_ne!(s, 415, "{e}");

    // Free text: a reason with a newline or a bidirectional override, a description
    // with an escape sequence.
    for reason in ["line\nforged", "abc\u{202e}def"] {
        let (s, e) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/disable"),
                Some(&json!({ "reason": reason })),
            )
            .await;
        assert_eq!(error_code(s, &e, 400, reason), "invalid_text");
    }
    let (s, e) = env
        .admin(
            "POST",
            "/api/connectors/register",
            Some(&json!({"name": "x", "category": "custom", "description": "a\u{1b}[31mred"})),
        )
        .await;
    assert_eq!(error_code(s, &e, 400, "description"), "invalid_text");
    // A multi-line description is fine.
    let (s, e) = env
        .admin(
            "POST",
            "/api/connectors/register",
            Some(&json!({"name": "y", "category": "custom", "description": "one\ntwo"})),
        )
        .await;
    assert_eq!(s, 201, "{e}");

    // webhook_url as an outbound URL: no metadata or loopback address, no user info,
    // not 100 kB, and the answer does not quote it.
    let long = format!("https://sender.example/{}", "a".repeat(100_000));
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/hook",
        "https://user:pw@sender.example/",
        "ftp://sender.example/",
        long.as_str(),
    ] {
        let (s, e) = env
            .admin(
                "POST",
                "/api/connectors/register",
                Some(&json!({"name": "hook", "category": "custom", "webhook_url": url})),
            )
            .await;
        assert_eq!(
            error_code(s, &e, 400, &url[..30.min(url.len())]),
            "invalid_field"
        );
        assert!(e.to_string().len() < 500, "the answer quotes the URL");
    }
    env.stop().await;
}
both!(malformed_input_gets_a_json_error_naming_what_to_fix);

async fn a_non_ascii_webhook_id_is_malformed_not_missing(db: Db) {
    let env = Env::start(db).await;
    let c = register_push(&env, &env.token, "hooks", "hmac-sha256", None).await;
    let path = c["webhook_path"].as_str().unwrap();
    let secret = c["credential"]["secret"].as_str().unwrap();
    let body = br#"{"a": 1}"#.to_vec();
    let now = airlock_tests::unix_now();
    let mut headers = signed(secret, "evt-1", now, &body);
    // reqwest sends a non-ASCII header value as its UTF-8 bytes.
    for h in headers.iter_mut() {
        if h.0 == "webhook-id" {
            h.1 = "évt-1".into();
        }
    }
    let (s, e) = post(&env, path, &headers, body).await;
    assert_eq!(s, 401, "{e}");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("webhook-id"), "{e}");
    assert!(!message.contains("missing"), "{e}");
    env.stop().await;
}
both!(a_non_ascii_webhook_id_is_malformed_not_missing);

async fn failed_authentications_are_answered_429_past_their_threshold(db: Db) {
    let env = Env::start(db).await;
    let bootstrap: Value =
        serde_json::from_slice(&std::fs::read(env.data_dir.join("bootstrap.json")).unwrap())
            .unwrap();
    let id = bootstrap["client_id"].as_str().unwrap();
    let grant = |secret: String| {
        let env = &env;
        async move {
            let r = env
                .http
                .post(env.url("/oauth/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id),
                    ("client_secret", secret.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), retry)
        }
    };
    for i in 0..20 {
        assert_eq!(grant("acs_wrong".into()).await.0, 401, "attempt {i}");
    }
    let (s, retry) = grant("acs_wrong".into()).await;
    assert_eq!(s, 429);
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // From this address, this client is refused even with its secret until the
    // window ends (another address is not affected: the key is client × address).
    let secret = bootstrap["client_secret"].as_str().unwrap();
    assert_eq!(grant(secret.to_string()).await.0, 429);

    // Push: forged signatures from one address are refused 429 past 1 000 in 10 s.
    let c = register_push(&env, &env.token, "hooks", "hmac-sha256", None).await;
    let path = c["webhook_path"].as_str().unwrap().to_string();
    let secret = c["credential"]["secret"].as_str().unwrap();
    let body = br#"{"a": 1}"#.to_vec();
    // Signed over another body: a bad signature.
    let forged = signed(secret, "evt", airlock_tests::unix_now(), br#"{"a": 2}"#);
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..1010 {
        let (s, _) = post(&env, &path, &forged, body.clone()).await;
        *statuses.entry(s).or_insert(0) += 1;
    }
    // 1 000 refusals, then 429 (a slow machine may cross into a new 10 s window,
    // which counts afresh: at least one 429 either way).
    let refused = statuses.get(&401).copied().unwrap_or(0);
    let limited = statuses.get(&429).copied().unwrap_or(0);
    assert!(refused >= 1000 && limited >= 1, "{statuses:?}");
    assert_eq!(refused + limited, 1010, "{statuses:?}");
    env.stop().await;
}
both!(failed_authentications_are_answered_429_past_their_threshold);
