//! Every route: its happy path, then for each one no token → 401, a token without
//! the scope → 403, another tenant's id → 404, malformed JSON → 400, an oversized
//! body → 413; a config violating the schema → 422 naming the field.

use airlock_host::auth::Scope;
use airlock_tests::guests;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env, error_code};

/// (method, path template with `{id}`, the scope it needs, a valid body).
fn routes() -> Vec<(&'static str, &'static str, Scope, Option<Value>)> {
    vec![
        (
            "POST",
            "/api/connectors/register",
            Scope::ConnectorsManage,
            Some(json!({"name": "x", "category": "custom"})),
        ),
        ("GET", "/api/connectors", Scope::ConnectorsRead, None),
        ("GET", "/api/connectors/{id}", Scope::ConnectorsRead, None),
        (
            "GET",
            "/api/connectors/{id}/deployments",
            Scope::ConnectorsRead,
            None,
        ),
        (
            "POST",
            "/api/connectors/{id}/deployments",
            Scope::ConnectorsManage,
            Some(json!({"version": "0.1.0"})),
        ),
        (
            "DELETE",
            "/api/connectors/{id}/deployments/default",
            Scope::ConnectorsManage,
            None,
        ),
        (
            "POST",
            "/api/connectors/{id}/invoke/work",
            Scope::ConnectorsManage,
            Some(json!({})),
        ),
        (
            "POST",
            "/api/connectors/{id}/heartbeat",
            Scope::ConnectorHeartbeat,
            Some(json!({"latency_ms": 3})),
        ),
        (
            "GET",
            "/api/connectors/{id}/heartbeats",
            Scope::ConnectorsRead,
            None,
        ),
        (
            "POST",
            "/api/connectors/{id}/disable",
            Scope::ConnectorsManage,
            Some(json!({"reason": "test"})),
        ),
        (
            "POST",
            "/api/connectors/{id}/enable",
            Scope::ConnectorsManage,
            None,
        ),
        (
            "POST",
            "/api/connectors/{id}/credentials/rotate",
            Scope::ConnectorsManage,
            None,
        ),
        (
            "POST",
            "/api/connectors/{id}/versions",
            Scope::ConnectorsManage,
            None,
        ),
        (
            "DELETE",
            "/api/connectors/{id}/versions/9.9.9",
            Scope::ConnectorsManage,
            None,
        ),
        (
            "DELETE",
            "/api/connectors/{id}?force=true",
            Scope::ConnectorsManage,
            None,
        ),
        ("GET", "/api/registry/summary", Scope::ConnectorsRead, None),
        ("GET", "/api/sdk/manifest", Scope::ConnectorsRead, None),
        ("GET", "/api/audit", Scope::AuditRead, None),
        (
            "GET",
            "/api/connectors/{id}/quarantine",
            Scope::ConnectorsRead,
            None,
        ),
        (
            "GET",
            "/api/connectors/{id}/events/evt-1",
            Scope::EventsRead,
            None,
        ),
        ("GET", "/api/events?connector={id}", Scope::EventsRead, None),
        (
            "GET",
            "/api/events/stream?connector={id}",
            Scope::EventsRead,
            None,
        ),
    ]
}

async fn every_route_serves_its_happy_path(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;

    let (s, list) = env.admin("GET", "/api/connectors", None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["status"], "registered");
    assert_eq!(list["items"][0]["latest_version"], "0.1.0");

    let (s, d) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0", "config": {"label": "first"}, "secrets": {"token": "s3cr3t-value"}})),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["has_secrets"], true);
    let (s, ds) = env
        .admin("GET", &format!("/api/connectors/{id}/deployments"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(ds["items"][0]["config"]["label"], "first");
    assert!(
        !ds.to_string().contains("s3cr3t-value"),
        "secrets never come back: {ds}"
    );

    let (s, out) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work"),
            Some(&json!({"busy_ms": 1})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(
        out["outputs"][0]["body"]["label"], "first",
        "the deployment's config reached the guest"
    );
    assert_eq!(out["outputs"][0]["body"]["tenant"], env.tenant.as_str());
    assert_eq!(out["outputs"][0]["standard"], "json");

    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/heartbeat"),
            Some(&json!({"latency_ms": 4.5, "status": "ok"})),
        )
        .await;
    assert_eq!(s, 202);
    let (s, hb) = env
        .admin("GET", &format!("/api/connectors/{id}/heartbeats"), None)
        .await;
    assert_eq!(s, 200, "{hb}");
    assert_eq!(hb["stats"]["count"], 2, "{hb}");
    assert!(hb["stats"]["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(hb["stats"]["p99_ms"].as_f64().is_some());

    let (s, one) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(s, 200, "{one}");
    assert_eq!(one["status"], "active", "{one}");
    assert_eq!(one["versions"][0]["version"], "0.1.0");
    assert_eq!(one["versions"][0]["digest"].as_str().unwrap().len(), 64);
    assert_eq!(one["deployments"][0]["target"], "default");
    assert_eq!(one["recent_heartbeats"].as_array().unwrap().len(), 2);
    assert!(!one.to_string().contains("s3cr3t-value"));

    let (s, sum) = env.admin("GET", "/api/registry/summary", None).await;
    assert_eq!(s, 200);
    assert_eq!(sum["total"], 1);
    assert_eq!(sum["active"], 1);
    assert_eq!(sum["by_category"]["telemetry"]["active"], 1, "{sum}");

    let (s, sdk) = env.admin("GET", "/api/sdk/manifest", None).await;
    assert_eq!(s, 200);
    assert!(
        sdk["contract"]["wit"]
            .as_str()
            .unwrap()
            .contains("package airlock:connector@0.1.0")
    );
    assert_eq!(sdk["categories"].as_array().unwrap().len(), 6);
    assert_eq!(sdk["statuses"].as_array().unwrap().len(), 5);
    let validated: Vec<&str> = sdk["output_standards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["validated"] == true)
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        validated,
        ["stix-2.1", "cap-1.2", "ais", "niem", "stanag-4607"]
    );
    assert!(
        sdk["quickstart"]["dark-web"]
            .as_str()
            .unwrap()
            .contains("Category::DarkWeb")
    );
    assert_eq!(
        sdk["example_configs"]["telemetry"][0]["config"]["label"],
        "first"
    );
    assert!(!sdk.to_string().contains("s3cr3t-value"));
    jsonschema::validator_for(&sdk["capability_declaration_schema"]).unwrap();

    let (s, dis) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/disable"),
            Some(&json!({"reason": "upstream maintenance"})),
        )
        .await;
    assert_eq!(s, 200, "{dis}");
    assert_eq!(dis["status"], "disabled");
    let (s, en) = env
        .admin("POST", &format!("/api/connectors/{id}/enable"), None)
        .await;
    assert_eq!(s, 200, "{en}");
    assert_eq!(en["status"], "registered", "enabling starts health afresh");

    let (s, _) = env
        .admin(
            "DELETE",
            &format!("/api/connectors/{id}/deployments/default"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 409, "invoke without a deployment"),
        "not_deployed"
    );

    let (s, audit) = env.admin("GET", "/api/audit", None).await;
    assert_eq!(s, 200);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for a in [
        "connector.register",
        "connector.upload",
        "deployment.create",
        "connector.disable",
        "connector.enable",
        "deployment.remove",
    ] {
        assert!(actions.contains(&a), "{a} is audited: {actions:?}");
    }
    let disable = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "connector.disable")
        .unwrap();
    assert_eq!(disable["reason"], "upstream maintenance");
    assert!(
        disable["actor"].as_str().unwrap().starts_with("cli_"),
        "the actor is the token's subject"
    );
    assert!(disable["at"].as_str().unwrap().ends_with('Z'));
    assert!(
        !audit.to_string().contains("s3cr3t-value"),
        "audit rows never hold secrets"
    );
    env.stop().await;
}
both!(every_route_serves_its_happy_path);

async fn every_route_refuses_missing_tokens_missing_scopes_and_foreign_ids(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    let other_tenant = env.other_tenant_token().await;
    for (method, template, scope, body) in routes() {
        let path = template.replace("{id}", &id);
        let (s, e) = env.call(method, &path, None, body.as_ref()).await;
        error_code(s, &e, 401, &format!("{method} {path} without a token"));

        let without: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != scope).collect();
        let token = env.token_with(&without).await;
        let (s, e) = env.call(method, &path, Some(&token), body.as_ref()).await;
        assert_eq!(
            error_code(
                s,
                &e,
                403,
                &format!("{method} {path} without {}", scope.as_str())
            ),
            "insufficient_scope"
        );

        if template.contains("{id}") {
            let (s, e) = env
                .call(method, &path, Some(&other_tenant), body.as_ref())
                .await;
            assert_eq!(
                error_code(s, &e, 404, &format!("{method} {path} from another tenant")),
                "not_found"
            );
        }
    }
    // The other tenant sees an empty catalogue, not ours.
    let (s, list) = env
        .call("GET", "/api/connectors", Some(&other_tenant), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["total"], 0);
    env.stop().await;
}
both!(every_route_refuses_missing_tokens_missing_scopes_and_foreign_ids);

/// Sends headers declaring a `length`-byte body and none of it, over raw TCP: the
/// server must answer 413 from the declared length alone. (Sending the whole body
/// races the server's early answer against the client's writes.)
async fn declared_oversize(env: &Env, path: &str, length: usize) -> (u16, Value) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = env.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let content_type = if path.ends_with("/versions") {
        "application/wasm"
    } else {
        "application/json"
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
        env.token
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|_| panic!("{text}")),
    )
}

async fn bad_bodies_get_400_413_and_422_with_the_failing_field(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    let json_routes = [
        "/api/connectors/register".to_string(),
        format!("/api/connectors/{id}/deployments"),
        format!("/api/connectors/{id}/invoke/work"),
        format!("/api/connectors/{id}/heartbeat"),
        format!("/api/connectors/{id}/disable"),
    ];
    for path in &json_routes {
        let r = env
            .http
            .post(env.url(path))
            .bearer_auth(&env.token)
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap();
        let (s, e) = crate::harness::answer(r).await;
        error_code(s, &e, 400, &format!("malformed JSON to {path}"));

        let (s, e) = declared_oversize(&env, path, 2 * 1024 * 1024).await;
        assert_eq!(
            error_code(s, &e, 413, &format!("2 MiB to {path}")),
            "payload_too_large"
        );
    }
    // A component over the 32 MiB cap.
    let (s, e) = declared_oversize(
        &env,
        &format!("/api/connectors/{id}/versions"),
        33 * 1024 * 1024,
    )
    .await;
    assert_eq!(
        error_code(s, &e, 413, "a 33 MiB upload"),
        "payload_too_large"
    );
    // Not a component at all.
    let (s, e) = env.upload(&id, b"\0asm\x01\0\0\0".to_vec()).await;
    assert_eq!(error_code(s, &e, 422, "a core module"), "invalid_component");
    // The same version twice.
    let (s, e) = env.upload(&id, std::fs::read(guests::PROBE).unwrap()).await;
    assert_eq!(
        error_code(s, &e, 409, "a second upload of 0.1.0"),
        "version_exists"
    );
    // A component of another category than the connector's.
    let (s, c) = env
        .admin(
            "POST",
            "/api/connectors/register",
            Some(&json!({"name": "wrong", "category": "osint"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = env
        .upload(
            c["id"].as_str().unwrap(),
            std::fs::read(guests::PROBE).unwrap(),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 422, "a telemetry manifest on an osint connector"),
        "invalid_manifest"
    );
    assert!(e["error"]["message"].as_str().unwrap().contains("category"));

    // Config against the schema: the field is named.
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0", "config": {"label": 42, "threshold": -1}})),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 422, "a config violating the schema"),
        "invalid_config"
    );
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("/label") && message.contains("/threshold"),
        "{message}"
    );
    let paths: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/label") && paths.contains(&"/threshold"),
        "{paths:?}"
    );
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0", "config": {"colour": "red"}})),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 422, "an unknown config field"),
        "invalid_config"
    );
    assert!(e["error"]["message"].as_str().unwrap().contains("colour"));
    // The guest's own validate-config, for what the schema cannot say.
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0", "config": {"label": "reject-me"}})),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 422, "a config the guest refuses"),
        "invalid_config"
    );
    assert!(
        e["error"]["message"].as_str().unwrap().contains("reserved"),
        "{e}"
    );
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "9.9.9"})),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 422, "an unknown version"),
        "unknown_version"
    );
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0", "allowed_hosts": ["https://evil.example"]})),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 422, "a host the manifest does not declare"),
        "invalid_allowed_hosts"
    );
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0", "schedule": "hourly"})),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 422, "a malformed schedule"),
        "invalid_schedule"
    );

    // Input against the action's schema.
    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work"),
            Some(&json!({"busy_ms": "soon"})),
        )
        .await;
    assert_eq!(
        error_code(s, &e, 422, "input violating the action's schema"),
        "invalid_input"
    );
    assert!(e["error"]["message"].as_str().unwrap().contains("/busy_ms"));
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/nope"),
            Some(&json!({})),
        )
        .await;
    error_code(s, &e, 404, "an unknown action");

    // Registration rules.
    for (body, what) in [
        (json!({"name": "", "category": "osint"}), "an empty name"),
        (
            json!({"name": "ok", "category": "weather"}),
            "an unknown category",
        ),
        (
            json!({"name": "ok", "category": "osint", "auth_method": "password"}),
            "an unknown auth method",
        ),
        (
            json!({"name": "ok", "category": "osint", "extra": 1}),
            "an unknown field",
        ),
        (json!({"name": "ok"}), "a missing category"),
    ] {
        let (s, e) = env
            .admin("POST", "/api/connectors/register", Some(&body))
            .await;
        error_code(s, &e, 400, what);
    }
    let (s, e) = env
        .admin(
            "POST",
            "/api/connectors/register",
            Some(&json!({"name": "probe", "category": "telemetry"})),
        )
        .await;
    assert_eq!(error_code(s, &e, 409, "a duplicate name"), "already_exists");
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/disable"),
            Some(&json!({"reason": " "})),
        )
        .await;
    error_code(s, &e, 422, "disable without a reason");
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/disable"),
            Some(&json!({})),
        )
        .await;
    error_code(s, &e, 400, "disable without the reason field");
    let (s, e) = env.admin("GET", "/api/connectors?colour=red", None).await;
    error_code(s, &e, 400, "an unknown filter");
    let (s, e) = env.admin("GET", "/api/nothing-here", None).await;
    error_code(s, &e, 404, "an unknown route");
    env.stop().await;
}
both!(bad_bodies_get_400_413_and_422_with_the_failing_field);

async fn the_catalogue_filters_and_pages(db: Db) {
    let env = Env::start(db).await;
    let probe = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    env.register_and_upload("ais", "telemetry", guests::AIS_DECODER)
        .await;
    env.register_and_upload("osint", "osint", guests::OSINT_FEED)
        .await;
    for i in 0..4 {
        let (s, _) = env
            .admin("POST", "/api/connectors/register", Some(&json!({"name": format!("push-{i}"), "category": "social", "output_standard": "stix-2.1"})))
            .await;
        assert_eq!(s, 201);
    }
    env.admin(
        "POST",
        &format!("/api/connectors/{probe}/disable"),
        Some(&json!({"reason": "r"})),
    )
    .await;
    let count = |q: &'static str| {
        let env = &env;
        async move {
            let (s, v) = env.admin("GET", &format!("/api/connectors{q}"), None).await;
            assert_eq!(s, 200, "{q}: {v}");
            (
                v["total"].as_u64().unwrap(),
                v["items"].as_array().unwrap().len(),
            )
        }
    };
    assert_eq!(count("").await, (7, 7));
    assert_eq!(count("?category=telemetry").await, (2, 2));
    assert_eq!(count("?status=disabled").await, (1, 1));
    assert_eq!(count("?status=registered").await, (6, 6));
    assert_eq!(count("?capability=health-probe").await, (1, 1));
    // The four push connectors, the OSINT feed, and the probe (its `stix` action).
    assert_eq!(count("?output_standard=stix-2.1").await, (6, 6));
    assert_eq!(count("?category=social&limit=3").await, (4, 3));
    assert_eq!(count("?category=social&limit=3&offset=3").await, (4, 1));
    env.stop().await;
}
both!(the_catalogue_filters_and_pages);
