//! A deployment's grants end to end: what the admin grants (hosts, a private
//! network, secrets, limits) is what an invoke through the API may use; what the
//! manifest does not declare cannot be granted; secrets never come back.

use airlock_tests::guests;
use airlock_tests::upstream::TestServer;
use serde_json::json;

use crate::both;
use crate::harness::{Db, Env};

async fn a_deployment_reaches_only_what_it_was_granted(db: Db) {
    let env = Env::start(db).await;
    let server = TestServer::start("127.0.0.1:0");
    let id = env
        .register_and_upload("hostile", "custom", guests::HOSTILE)
        .await;
    let deploy = |body: serde_json::Value| {
        let env = &env;
        let id = id.clone();
        async move {
            env.admin(
                "POST",
                &format!("/api/connectors/{id}/deployments"),
                Some(&body),
            )
            .await
        }
    };
    let invoke_http = || async {
        let (s, out) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/invoke/http"),
                Some(&json!({"url": server.url("/ping")})),
            )
            .await;
        assert_eq!(s, 200, "{out}");
        out["outputs"][0]["body"][0].clone()
    };

    // Granting what the manifest does not declare, a malformed network or limits
    // out of bounds: 422, naming the field.
    for (body, code, path) in [
        (
            json!({"version": "0.1.0", "allowed_hosts": ["https://evil.example"]}),
            "invalid_allowed_hosts",
            "/allowed_hosts/0",
        ),
        (
            json!({"version": "0.1.0", "allowed_networks": ["10.0.0.0/33"]}),
            "invalid_allowed_networks",
            "/allowed_networks/0",
        ),
        (
            json!({"version": "0.1.0", "limits": {"cpu_ms": 0}}),
            "invalid_limits",
            "/limits",
        ),
        (
            json!({"version": "0.1.0", "limits": {"memory_mb": 100000}}),
            "invalid_limits",
            "/limits",
        ),
    ] {
        let (s, e) = deploy(body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        assert_eq!(e["error"]["code"], code, "{e}");
        assert_eq!(e["error"]["details"][0]["path"], path, "{e}");
    }
    let (s, e) = deploy(json!({"version": "0.1.0", "limits": {"cpu_ms": 5, "bogus": 1}})).await;
    assert_eq!(s, 400, "unknown limit fields are refused: {e}");

    // The host granted, but not its (loopback) network: refused after resolution.
    let (s, d) = deploy(json!({"version": "0.1.0",
        "allowed_hosts": ["http://127.0.0.1:*"],
        "secrets": {"token": "s3cret"}}))
    .await;
    assert_eq!(s, 201, "{d}");
    let out = invoke_http().await;
    assert_eq!(out["error"], "denied", "{out}");
    assert!(server.seen().is_empty());

    // Granted the network too (a single concrete origin covered by the declared
    // pattern is a valid grant): reached, with the secret injected by the host.
    let granted = format!("http://127.0.0.1:{}", server.addr.port());
    let (s, d) = deploy(json!({"version": "0.1.0",
        "allowed_hosts": [granted],
        "allowed_networks": ["127.0.0.1/32"],
        "secrets": {"token": "s3cret"},
        "limits": {"cpu_ms": 300, "max_http_requests": 1}}))
    .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["allowed_networks"], json!(["127.0.0.1/32"]), "{d}");
    assert_eq!(d["limits"], json!({"cpu_ms": 300, "max_http_requests": 1}));
    assert!(!d.to_string().contains("s3cret"));
    let out = invoke_http().await;
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(
        server.seen()[0].header("authorization"),
        vec!["Bearer s3cret"]
    );

    // The limits apply: one request per call, and a 300 ms CPU deadline.
    let (s, out) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/http"),
            Some(&json!({"url": server.url("/ping"), "times": 2})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(
        out["outputs"][0]["body"][1]["error"], "limit-exceeded",
        "{out}"
    );
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/spin"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(s, 504, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("300 ms"),
        "{e}"
    );

    // Nothing the API returns or audits carries the secret.
    for path in [
        format!("/api/connectors/{id}"),
        "/api/audit?limit=1000".to_string(),
    ] {
        let (_, body) = env.admin("GET", &path, None).await;
        assert!(!body.to_string().contains("s3cret"), "{path}");
    }
    env.stop().await;
}
both!(a_deployment_reaches_only_what_it_was_granted);
