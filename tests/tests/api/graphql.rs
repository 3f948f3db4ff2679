//! The GraphQL API against the REST API: the same registry reached both ways (what
//! one writes the other reads), the same scopes, tenant rules and error codes; its
//! abuse limits refuse before any database work; subscriptions over WebSocket stay
//! in the tenant and end when their token expires.

use std::time::Duration;

use airlock_host::auth::{Scope, Tokens};
use airlock_tests::guests;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::both;
use crate::harness::{Db, Env, answer};
use crate::ingest::register_push;

/// Posts a GraphQL request; returns the status and the answer.
pub async fn gql(env: &Env, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
    let mut req = env
        .http
        .post(env.url("/graphql"))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    answer(req.send().await.unwrap()).await
}

/// The `data` of a request that must succeed without errors.
pub async fn gql_ok(env: &Env, token: &str, query: &str, variables: Value) -> Value {
    let (s, v) = gql(env, Some(token), query, variables).await;
    assert_eq!(s, 200, "{query}: {v}");
    assert!(v.get("errors").is_none(), "{query}: {v}");
    v["data"].clone()
}

/// The first error's `(code, status)`.
fn gql_error(v: &Value) -> (String, u64) {
    let e = &v["errors"][0]["extensions"];
    (
        e["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no code: {v}"))
            .to_string(),
        e["status"].as_u64().unwrap_or(0),
    )
}

/// Uploads `wasm` to `connector` with a GraphQL multipart request.
async fn gql_upload(env: &Env, token: &str, connector: &str, wasm: &str) -> (u16, Value) {
    let operations = json!({
        "query": "mutation($c: ID!, $f: Upload!) { uploadVersion(connector: $c, component: $f) { version digest manifest } }",
        "variables": {"c": connector, "f": null},
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.f"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(std::fs::read(wasm).unwrap())
                .file_name("connector.wasm")
                .mime_str("application/wasm")
                .unwrap(),
        );
    let r = env
        .http
        .post(env.url("/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    answer(r).await
}

/// Every registry operation done one way is seen the other way.
async fn graphql_and_rest_are_one_registry(db: Db) {
    let env = Env::start(db).await;
    let t = env.token.clone();

    // Register (a push connector: its credential is in the answer, once).
    let d = gql_ok(
        &env,
        &t,
        "mutation($i: RegisterInput!) { registerConnector(input: $i) { id name category status credential webhookPath } }",
        json!({"i": {"name": "sensor-feed", "category": "telemetry", "authMethod": "hmac-sha256",
                     "webhookUrl": "https://sender.example/hooks"}}),
    )
    .await;
    let push_id = d["registerConnector"]["id"].as_str().unwrap().to_string();
    assert_eq!(d["registerConnector"]["status"], "registered");
    assert_eq!(d["registerConnector"]["credential"]["type"], "hmac-sha256");
    assert!(
        d["registerConnector"]["credential"]["secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_")
    );
    let (s, rest) = env
        .admin("GET", &format!("/api/connectors/{push_id}"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(rest["name"], "sensor-feed");
    assert_eq!(rest["auth_method"], "hmac-sha256");

    // Upload (multipart) and deploy through GraphQL; REST sees both.
    let id = env.register("probe", "telemetry").await;
    let (s, up) = gql_upload(&env, &t, &id, guests::PROBE).await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(up["data"]["uploadVersion"]["version"], "0.1.0", "{up}");
    assert_eq!(up["data"]["uploadVersion"]["manifest"]["id"], "probe");
    let d = gql_ok(
        &env,
        &t,
        "mutation($c: ID!, $i: DeployInput!) { deploy(connector: $c, input: $i) { target version config hasSecrets limits } }",
        json!({"c": id, "i": {"version": "0.1.0", "config": {"label": "x"}, "limits": {"wall_ms": 2000}}}),
    )
    .await;
    assert_eq!(d["deploy"]["target"], "default");
    assert_eq!(d["deploy"]["config"], json!({"label": "x"}));
    let (_, deps) = env
        .admin("GET", &format!("/api/connectors/{id}/deployments"), None)
        .await;
    assert_eq!(deps["items"][0]["version"], "0.1.0");
    assert_eq!(deps["items"][0]["limits"], d["deploy"]["limits"]);

    // Invoke: the answer, then the published message in both histories.
    let d = gql_ok(
        &env,
        &t,
        "mutation($c: ID!) { invokeAction(id: $c, action: \"work\", input: {busy_ms: 0}) { callId target version outputs { standard mediaType body } quarantined { id } latencyMs } }",
        json!({"c": id}),
    )
    .await;
    let call = &d["invokeAction"];
    assert_eq!(call["version"], "0.1.0");
    assert_eq!(call["outputs"].as_array().unwrap().len(), 1, "{call}");
    let (_, history) = env
        .admin("GET", &format!("/api/events?connector={id}"), None)
        .await;
    let d = gql_ok(
        &env,
        &t,
        "query($c: ID!) { events(connector: $c, first: 10) { edges { cursor node { seq id source { kind id } body } } pageInfo { hasNextPage } } }",
        json!({"c": id}),
    )
    .await;
    let edges = d["events"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), history["items"].as_array().unwrap().len());
    assert_eq!(edges[0]["node"]["id"], history["items"][0]["id"]);
    assert_eq!(edges[0]["node"]["source"]["id"], call["callId"]);

    // A heartbeat through GraphQL is in REST's history; the status follows.
    let d = gql_ok(
        &env,
        &t,
        "mutation($c: ID!) { recordHeartbeat(id: $c, latencyMs: 12.5, status: \"ok\", detail: \"from graphql\") }",
        json!({"c": id}),
    )
    .await;
    assert_eq!(d["recordHeartbeat"], true);
    let (_, beats) = env
        .admin("GET", &format!("/api/connectors/{id}/heartbeats"), None)
        .await;
    assert!(
        beats["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["detail"] == "from graphql" && b["source"] == "external"),
        "{beats}"
    );
    let d = gql_ok(
        &env,
        &t,
        "query($c: ID!) { connector(id: $c) { status heartbeats(last: 50) { items { detail source } stats { count p50Ms p99Ms } } } }",
        json!({"c": id}),
    )
    .await;
    assert_eq!(
        d["connector"]["heartbeats"]["stats"]["count"],
        beats["stats"]["count"]
    );
    assert_eq!(
        d["connector"]["heartbeats"]["stats"]["p50Ms"],
        beats["stats"]["p50_ms"]
    );

    // Catalogue, filters, one connector, summary, SDK manifest: the same answers.
    for (filter, query) in [
        (json!({}), ""),
        (json!({"category": "telemetry"}), "?category=telemetry"),
        (
            json!({"capability": "health-probe"}),
            "?capability=health-probe",
        ),
        (json!({"search": "PROBE"}), "?search=PROBE"),
        (json!({"status": "disabled"}), "?status=disabled"),
    ] {
        let d = gql_ok(
            &env,
            &t,
            "query($f: ConnectorFilter) { connectors(filter: $f) { totalCount edges { node { id status } } } }",
            json!({"f": filter}),
        )
        .await;
        let (_, page) = env
            .admin("GET", &format!("/api/connectors{query}"), None)
            .await;
        assert_eq!(d["connectors"]["totalCount"], page["total"], "{query}");
        let ids: Vec<&Value> = d["connectors"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"]["id"])
            .collect();
        let rest_ids: Vec<&Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["id"])
            .collect();
        assert_eq!(ids, rest_ids, "{query}");
    }
    let d = gql_ok(
        &env,
        &t,
        "{ registrySummary { total registered active degraded error disabled byCategory { category total } } sdkManifest { contract { version supportedVersions } categories outputStandards { name validated } } }",
        json!({}),
    )
    .await;
    let (_, summary) = env.admin("GET", "/api/registry/summary", None).await;
    for k in [
        "total",
        "registered",
        "active",
        "degraded",
        "error",
        "disabled",
    ] {
        assert_eq!(d["registrySummary"][k], summary[k], "{k}");
    }
    assert_eq!(
        d["registrySummary"]["byCategory"][0]["category"],
        "telemetry"
    );
    let (_, sdk) = env.admin("GET", "/api/sdk/manifest", None).await;
    assert_eq!(
        d["sdkManifest"]["contract"]["version"],
        sdk["contract"]["version"]
    );
    assert_eq!(d["sdkManifest"]["categories"], sdk["categories"]);

    // Disable (reason), enable, rotate: audited, seen by REST.
    let d = gql_ok(
        &env,
        &t,
        "mutation($c: ID!) { disableConnector(id: $c, reason: \"maintenance window\") { status disabledReason } }",
        json!({"c": id}),
    )
    .await;
    assert_eq!(d["disableConnector"]["status"], "disabled");
    assert_eq!(
        d["disableConnector"]["disabledReason"],
        "maintenance window"
    );
    let (_, c) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(c["status"], "disabled");
    let d = gql_ok(
        &env,
        &t,
        "mutation($c: ID!) { enableConnector(id: $c) { status } }",
        json!({"c": id}),
    )
    .await;
    assert_ne!(d["enableConnector"]["status"], "disabled");
    let d = gql_ok(
        &env,
        &t,
        "mutation($c: ID!) { rotateCredentials(id: $c) { credential previousValidUntil } }",
        json!({"c": push_id}),
    )
    .await;
    assert!(
        d["rotateCredentials"]["credential"]["secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_")
    );
    let d = gql_ok(
        &env,
        &t,
        "{ audit(first: 200) { edges { node { seq action target reason actor } } } }",
        json!({}),
    )
    .await;
    let (_, trail) = env.admin("GET", "/api/audit?limit=200", None).await;
    let actions: Vec<&Value> = d["audit"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["action"])
        .collect();
    let rest_actions: Vec<&Value> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["action"])
        .collect();
    assert_eq!(actions, rest_actions);
    assert!(
        d["audit"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["reason"] == "maintenance window")
    );
    // Paging the audit trail by cursor gives the same rows.
    let d1 = gql_ok(
        &env,
        &t,
        "{ audit(first: 2) { edges { cursor node { seq } } pageInfo { hasNextPage endCursor } } }",
        json!({}),
    )
    .await;
    assert_eq!(d1["audit"]["pageInfo"]["hasNextPage"], true);
    let d2 = gql_ok(
        &env,
        &t,
        "query($a: String) { audit(first: 2, after: $a) { edges { node { seq } } } }",
        json!({"a": d1["audit"]["pageInfo"]["endCursor"]}),
    )
    .await;
    assert_eq!(
        d2["audit"]["edges"][0]["node"]["seq"],
        trail["items"][2]["seq"]
    );

    // Poll, undeploy, delete a version and the connector.
    gql_ok(
        &env,
        &t,
        "mutation($c: ID!) { undeploy(connector: $c, target: \"default\") }",
        json!({"c": id}),
    )
    .await;
    let (_, deps) = env
        .admin("GET", &format!("/api/connectors/{id}/deployments"), None)
        .await;
    assert_eq!(deps["items"], json!([]));
    gql_ok(
        &env,
        &t,
        "mutation($c: ID!) { deleteVersion(connector: $c, version: \"0.1.0\") }",
        json!({"c": id}),
    )
    .await;
    gql_ok(
        &env,
        &t,
        "mutation($c: ID!) { deleteConnector(id: $c) }",
        json!({"c": id}),
    )
    .await;
    let (s, _) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(s, 404);
    env.stop().await;
}
both!(graphql_and_rest_are_one_registry);

/// A wrong request both ways: REST's method, path, body and token, then GraphQL's
/// document, variables and token.
type Case<'a> = (
    &'a str,
    String,
    Option<Value>,
    &'a str,
    &'a str,
    Value,
    &'a str,
);

/// The same wrong request both ways gives the same code and status.
async fn graphql_errors_carry_the_rest_codes(db: Db) {
    let env = Env::start(db).await;
    let t = env.token.clone();
    let id = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    let other = env.other_tenant_token().await;
    let read_only = env.token_with(&[Scope::ConnectorsRead]).await;

    // (REST method, path, body, token; GraphQL document, variables, token).
    let cases: Vec<Case> = vec![
        // Another tenant's id is unknown.
        (
            "GET",
            format!("/api/connectors/{id}"),
            None,
            &other,
            "query($c: ID!) { connector(id: $c) { id } }",
            json!({"c": id}),
            &other,
        ),
        (
            "POST",
            format!("/api/connectors/{id}/disable"),
            Some(json!({"reason": "x"})),
            &other,
            "mutation($c: ID!) { disableConnector(id: $c, reason: \"x\") { id } }",
            json!({"c": id}),
            &other,
        ),
        // A missing scope.
        (
            "POST",
            "/api/connectors/register".into(),
            Some(json!({"name": "n", "category": "custom"})),
            &read_only,
            "mutation { registerConnector(input: {name: \"n\", category: \"custom\"}) { id } }",
            json!({}),
            &read_only,
        ),
        (
            "GET",
            "/api/audit".into(),
            None,
            &read_only,
            "{ audit { edges { node { seq } } } }",
            json!({}),
            &read_only,
        ),
        // A config that breaks the version's schema: 422 naming the field.
        (
            "POST",
            format!("/api/connectors/{id}/deployments"),
            Some(json!({"version": "0.1.0", "config": {"label": "x".repeat(30)}})),
            &t,
            "mutation($c: ID!, $i: DeployInput!) { deploy(connector: $c, input: $i) { target } }",
            json!({"c": id, "i": {"version": "0.1.0", "config": {"label": "x".repeat(30)}}}),
            &t,
        ),
        // Limits that are not limits.
        (
            "POST",
            format!("/api/connectors/{id}/deployments"),
            Some(json!({"version": "0.1.0", "limits": {"cpu_ms": "soon"}})),
            &t,
            "mutation($c: ID!, $i: DeployInput!) { deploy(connector: $c, input: $i) { target } }",
            json!({"c": id, "i": {"version": "0.1.0", "limits": {"cpu_ms": "soon"}}}),
            &t,
        ),
        // An unknown version, a bad category, a disable without a reason.
        (
            "POST",
            format!("/api/connectors/{id}/deployments"),
            Some(json!({"version": "9.9.9"})),
            &t,
            "mutation($c: ID!) { deploy(connector: $c, input: {version: \"9.9.9\"}) { target } }",
            json!({"c": id}),
            &t,
        ),
        (
            "POST",
            "/api/connectors/register".into(),
            Some(json!({"name": "n", "category": "weather"})),
            &t,
            "mutation { registerConnector(input: {name: \"n\", category: \"weather\"}) { id } }",
            json!({}),
            &t,
        ),
        (
            "POST",
            format!("/api/connectors/{id}/disable"),
            Some(json!({"reason": "  "})),
            &t,
            "mutation($c: ID!) { disableConnector(id: $c, reason: \"  \") { id } }",
            json!({"c": id}),
            &t,
        ),
        // Invoking a connector with nothing deployed.
        (
            "POST",
            format!("/api/connectors/{id}/invoke/work"),
            Some(json!({})),
            &t,
            "mutation($c: ID!) { invokeAction(id: $c, action: \"work\") { callId } }",
            json!({"c": id}),
            &t,
        ),
    ];
    for (method, path, body, rest_token, doc, vars, gql_token) in cases {
        let (s, e) = env
            .call(method, &path, Some(rest_token), body.as_ref())
            .await;
        assert!(s >= 400, "{method} {path}: {s} {e}");
        let rest_code = e["error"]["code"].as_str().unwrap().to_string();
        let (gs, g) = gql(&env, Some(gql_token), doc, vars).await;
        assert_eq!(gs, 200, "{doc}: {g}");
        assert_eq!(
            gql_error(&g),
            (rest_code.clone(), u64::from(s)),
            "{doc}: {g} vs REST {e}"
        );
        if rest_code == "invalid_config" {
            assert_eq!(
                g["errors"][0]["extensions"]["details"][0]["path"], "/label",
                "{g}"
            );
        }
    }
    // Nothing the refused requests asked for was created.
    let (_, page) = env.admin("GET", "/api/connectors", None).await;
    assert_eq!(page["total"], 1);

    // No token, or a bad one: 401 before anything runs, as REST.
    let (s, g) = gql(&env, None, "{ registrySummary { total } }", json!({})).await;
    assert_eq!(s, 401);
    assert_eq!(gql_error(&g).0, "unauthorized");
    let (s, g) = gql(
        &env,
        Some("not-a-token"),
        "{ registrySummary { total } }",
        json!({}),
    )
    .await;
    assert_eq!(s, 401);
    assert_eq!(gql_error(&g).0, "unauthorized");
    // A field the token may read answers next to one it may not.
    let (_, g) = gql(
        &env,
        Some(&read_only),
        "{ registrySummary { total } audit { edges { node { seq } } } }",
        json!({}),
    )
    .await;
    assert_eq!(g["data"]["registrySummary"]["total"], 1, "{g}");
    assert_eq!(gql_error(&g).0, "insufficient_scope");
    assert_eq!(g["errors"][0]["path"], json!(["audit"]));
    // Introspection for an authenticated caller.
    let d = gql_ok(
        &env,
        &read_only,
        "{ __schema { queryType { name } } }",
        json!({}),
    )
    .await;
    assert_eq!(d["__schema"]["queryType"]["name"], "Query");
    env.stop().await;
}
both!(graphql_errors_carry_the_rest_codes);

/// Tenant B's queries and subscriptions never see tenant A's connectors,
/// heartbeats, audit or events.
async fn tenants_never_see_each_other_through_graphql(db: Db) {
    let env = Env::start(db).await;
    let a = env.token.clone();
    let b = env.other_tenant_token().await;
    let a_probe = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{a_probe}/heartbeat"),
            Some(&json!({"latency_ms": 3})),
        )
        .await;
    assert_eq!(s, 202);
    let a_push = register_push(&env, &a, "a-feed", "hmac-sha256", None).await;
    let b_push = register_push(&env, &b, "b-feed", "hmac-sha256", None).await;
    let b_id = b_push["id"].as_str().unwrap().to_string();
    let a_tenant = env.tenant.clone();

    // B subscribes to every message and every status change it may see.
    let mut b_events = Socket::open(&env, &b).await;
    b_events
        .subscribe("1", "subscription { events { connectorId body } }")
        .await;
    let mut b_status = Socket::open(&env, &b).await;
    b_status
        .subscribe(
            "2",
            "subscription { connectorStatusChanged { connector { id status } previous } }",
        )
        .await;
    // Let the status watcher take its first look.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A's traffic: an invoke (published), a push, a heartbeat that changes status.
    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{a_probe}/invoke/work"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(s, 200);
    crate::bus::push(&env, &a_push, "a-1", br#"{"tenant": "a"}"#).await;
    let (s, _) = env
        .admin(
            "POST",
            &format!(
                "/api/connectors/{}/heartbeat",
                a_push["id"].as_str().unwrap()
            ),
            Some(&json!({"latency_ms": 3})),
        )
        .await;
    assert_eq!(s, 202);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Then B's.
    crate::bus::push(&env, &b_push, "b-1", br#"{"tenant": "b"}"#).await;
    let (s, _) = env
        .call(
            "POST",
            &format!("/api/connectors/{b_id}/heartbeat"),
            Some(&b),
            Some(&json!({"latency_ms": 3})),
        )
        .await;
    assert_eq!(s, 202);

    let first = b_events.next_data("1").await;
    assert_eq!(first["events"]["connectorId"], b_id.as_str(), "{first}");
    assert_eq!(first["events"]["body"]["tenant"], "b");
    let first = b_status.next_data("2").await;
    assert_eq!(
        first["connectorStatusChanged"]["connector"]["id"],
        b_id.as_str(),
        "{first}"
    );
    assert_eq!(first["connectorStatusChanged"]["previous"], "registered");
    b_events.quiet_for(500).await;
    b_status.quiet_for(1500).await;

    // B's queries: none of A's rows.
    let d = gql_ok(
        &env,
        &b,
        "{ connectors { totalCount edges { node { id } } } registrySummary { total } audit(first: 200) { edges { node { target tenantId } } } events(first: 200) { edges { node { connectorId topic } } } }",
        json!({}),
    )
    .await;
    assert_eq!(d["connectors"]["totalCount"], 1);
    assert_eq!(d["connectors"]["edges"][0]["node"]["id"], b_id.as_str());
    assert_eq!(d["registrySummary"]["total"], 1);
    for e in d["audit"]["edges"].as_array().unwrap() {
        assert_ne!(e["node"]["tenantId"], a_tenant.as_str(), "{e}");
        assert_ne!(e["node"]["target"], a_probe.as_str(), "{e}");
    }
    let events = d["events"]["edges"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{d}");
    assert_eq!(events[0]["node"]["connectorId"], b_id.as_str());
    // A's ids and topics are unknown to B, in queries and subscriptions alike.
    for (doc, vars) in [
        (
            "query($c: ID!) { connector(id: $c) { id } }",
            json!({"c": a_probe}),
        ),
        (
            "query($c: ID!) { events(connector: $c) { edges { cursor } } }",
            json!({"c": a_probe}),
        ),
        (
            "query($t: String) { events(topic: $t) { edges { cursor } } }",
            json!({"t": format!("airlock.{a_tenant}.json")}),
        ),
        (
            "mutation($c: ID!) { recordHeartbeat(id: $c) }",
            json!({"c": a_probe}),
        ),
    ] {
        let (_, g) = gql(&env, Some(&b), doc, vars).await;
        assert_eq!(gql_error(&g).0, "not_found", "{doc}: {g}");
    }
    let mut s = Socket::open(&env, &b).await;
    s.subscribe_with(
        "3",
        "subscription($c: ID) { connectorStatusChanged(id: $c) { previous } }",
        json!({"c": a_probe}),
    )
    .await;
    assert_eq!(s.error_code("3").await, "not_found");
    s.subscribe_with(
        "4",
        "subscription($t: String) { events(topic: $t) { seq } }",
        json!({"t": format!("airlock.{a_tenant}.*")}),
    )
    .await;
    assert_eq!(s.error_code("4").await, "not_found");
    env.stop().await;
}
both!(tenants_never_see_each_other_through_graphql);

/// Over the limits: refused with a sentence and `query_too_complex`, before any
/// database work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_over_the_limits_are_refused_before_any_database_work() {
    let env = Env::start(Db::Sqlite).await;
    let t = env.token.clone();
    env.register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    let store = env.server.as_ref().unwrap().store.clone();
    let nested = "{ connectors { edges { node { id } } } }";
    let mut depth_bomb = String::from("{ connectors { edges { node { id");
    for _ in 0..12 {
        depth_bomb.push_str(" quarantine { edges { node { id");
    }
    depth_bomb.push_str(&" } } }".repeat(12));
    depth_bomb.push_str(" } } } }");
    let aliases: String = (0..51)
        .map(|i| format!("a{i}: registrySummary {{ total }} "))
        .collect();
    let mut fragments = String::from("{ ...f0 }\n");
    for i in 0..30 {
        fragments.push_str(&format!(
            "fragment f{i} on Query {{ ...f{} ...f{} }}\n",
            i + 1,
            i + 1
        ));
    }
    fragments.push_str("fragment f30 on Query { registrySummary { total } }\n");
    let cases = [
        ("too deep", depth_bomb),
        (
            "too complex",
            "{ connectors(first: 200) { edges { node { heartbeats(last: 200) { items { at ok } } } } } }".to_string(),
        ),
        ("too many aliases", format!("{{ {aliases} }}")),
        ("fragments doubling per level", fragments),
        ("nested brackets", format!("{}{}", "{a".repeat(3000), "}".repeat(3000))),
    ];
    for (what, doc) in cases {
        let before = store.sessions_opened().0;
        let (s, g) = gql(&env, Some(&t), &doc, json!({})).await;
        let after = store.sessions_opened().0;
        assert_eq!(gql_error(&g).0, "query_too_complex", "{what}: {s} {g}");
        assert!(
            g["errors"][0]["message"].as_str().unwrap().len() < 300,
            "{what}: {g}"
        );
        assert!(g.get("data").is_none_or(Value::is_null), "{what}: {g}");
        assert_eq!(after, before, "{what}: the refused query did database work");
    }
    // A list larger than its cap is refused by the resolver, with a sentence.
    let (_, g) = gql(
        &env,
        Some(&t),
        "{ connectors(first: 500) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(gql_error(&g).0, "invalid_query");
    // The counter does count: an ordinary query reads the database.
    let before = store.sessions_opened().0;
    gql_ok(&env, &t, nested, json!({})).await;
    assert!(store.sessions_opened().0 > before);
    // A request that is not JSON, and GraphiQL for a person.
    let r = env
        .http
        .post(env.url("/graphql"))
        .bearer_auth(&t)
        .body("{}")
        .send()
        .await
        .unwrap();
    let (s, e) = answer(r).await;
    assert_eq!(s, 415, "{e}");
    assert_eq!(gql_error(&e).0, "unsupported_media_type");
    let page = env.http.get(env.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("GraphiQL"));
    env.stop().await;
}

/// A subscription ends when the token it was opened with expires; a socket
/// without a token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_ends_when_its_token_expires() {
    let env = Env::start(Db::Sqlite).await;
    let id = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    let short = short_lived_token(&env, 3).await;
    let mut s = Socket::open(&env, &short).await;
    s.subscribe("1", "subscription { events { seq connectorId } }")
        .await;
    let started = std::time::Instant::now();
    // Messages arrive while the token lives…
    let (st, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(s.next_data("1").await["events"]["connectorId"], id.as_str());
    // …and the stream completes when it expires.
    s.completed("1", Duration::from_secs(10)).await;
    let lived = started.elapsed();
    assert!(
        lived >= Duration::from_secs(1) && lived < Duration::from_secs(8),
        "{lived:?}"
    );
    // The socket outlives the token, but past REST's clock leeway (5 s) nothing
    // more runs on it.
    tokio::time::sleep(Duration::from_secs(6)).await;
    s.subscribe("2", "subscription { events { seq } }").await;
    assert_eq!(s.error_code("2").await, "unauthorized");
    s.subscribe("3", "query { registrySummary { total } }")
        .await;
    assert_eq!(s.error_code("3").await, "unauthorized");

    // No token in the handshake or in connection_init: refused.
    let mut bare = Socket::connect(&env, None).await;
    bare.send(json!({"type": "connection_init", "payload": {}}))
        .await;
    assert!(
        bare.closed_or_error().await,
        "a socket without a token was accepted"
    );
    env.stop().await;
}

/// A token of the bootstrap client (every scope) that expires in `secs`.
async fn short_lived_token(env: &Env, secs: u64) -> String {
    let (_, meta) = env
        .call("GET", "/.well-known/oauth-authorization-server", None, None)
        .await;
    let node = env.node().await;
    let bootstrap: Value =
        serde_json::from_slice(&std::fs::read(env.data_dir.join("bootstrap.json")).unwrap())
            .unwrap();
    let client = node
        .store
        .find_client(bootstrap["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let tokens = Tokens::new(&node.keys, meta["issuer"].as_str().unwrap()).unwrap();
    let mut claims = tokens.claims_for(&client, &Scope::ALL).unwrap();
    claims.exp = claims.iat + secs;
    tokens.sign(&claims).unwrap()
}

/// A `graphql-transport-ws` client.
struct Socket {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Socket {
    async fn connect(env: &Env, header_token: Option<&str>) -> Socket {
        let url = env.url("/graphql").replacen("http://", "ws://", 1);
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        if let Some(t) = header_token {
            req.headers_mut()
                .insert("Authorization", format!("Bearer {t}").parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        Socket { ws }
    }

    /// Connected and acknowledged, the token in `connection_init`.
    async fn open(env: &Env, token: &str) -> Socket {
        let mut s = Socket::connect(env, None).await;
        s.send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}))
            .await;
        let ack = s
            .recv(Duration::from_secs(10))
            .await
            .expect("no connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        s
    }

    async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    async fn subscribe(&mut self, id: &str, query: &str) {
        self.subscribe_with(id, query, json!({})).await;
    }

    async fn subscribe_with(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// The next JSON message within `wait` (pings answered), `None` on timeout or close.
    async fn recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let m = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??
                .ok()?;
            match m {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "ping" {
                        self.send(json!({"type": "pong"})).await;
                        continue;
                    }
                    return Some(v);
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next `next` payload's data for subscription `id`.
    async fn next_data(&mut self, id: &str) -> Value {
        loop {
            let m = self
                .recv(Duration::from_secs(15))
                .await
                .expect("no message");
            if m["id"] == id && m["type"] == "next" {
                assert!(m["payload"].get("errors").is_none(), "{m}");
                return m["payload"]["data"].clone();
            }
        }
    }

    /// The error code subscription `id` ended with.
    async fn error_code(&mut self, id: &str) -> String {
        loop {
            let m = self
                .recv(Duration::from_secs(15))
                .await
                .expect("no message");
            if m["id"] != id {
                continue;
            }
            let errors = match m["type"].as_str() {
                Some("next") => &m["payload"]["errors"],
                Some("error") => &m["payload"],
                _ => panic!("{m}"),
            };
            return errors[0]["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
    }

    /// Waits for subscription `id`'s `complete`.
    async fn completed(&mut self, id: &str, wait: Duration) {
        loop {
            let m = self
                .recv(wait)
                .await
                .expect("the subscription did not complete");
            if m["id"] == id && m["type"] == "complete" {
                return;
            }
        }
    }

    /// Asserts nothing arrives for `ms`.
    async fn quiet_for(&mut self, ms: u64) {
        if let Some(m) = self.recv(Duration::from_millis(ms)).await {
            panic!("unexpected: {m}");
        }
    }

    /// Whether the server closed the socket (or answered with an error) instead of
    /// acknowledging.
    async fn closed_or_error(&mut self) -> bool {
        match self.recv(Duration::from_secs(10)).await {
            None => true,
            Some(m) => m["type"] != "connection_ack",
        }
    }
}

/// A revoked client's socket runs nothing more once the revocation is seen
/// (within the guard's 5-second recheck); a socket that pings before
/// `connection_init` is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_of_a_revoked_client_runs_nothing_more() {
    let env = Env::start(Db::Sqlite).await;
    let token = env.token_with(&[Scope::ConnectorsRead]).await;
    let mut s = Socket::open(&env, &token).await;
    s.subscribe("1", "query { registrySummary { total } }")
        .await;
    assert_eq!(s.next_data("1").await["registrySummary"]["total"], 0);

    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let node = env.node().await;
    let revoked = airlock_host::auth::revoke_client(
        &node.store,
        &node.keys,
        &env.tenant,
        claims["client_id"].as_str().unwrap(),
        Some("test"),
        "test",
    )
    .await
    .unwrap();
    assert!(revoked);
    tokio::time::sleep(Duration::from_secs(7)).await;
    s.subscribe("2", "query { registrySummary { total } }")
        .await;
    assert_eq!(s.error_code("2").await, "unauthorized");

    let mut anonymous = Socket::connect(&env, None).await;
    anonymous.send(json!({"type": "ping"})).await;
    assert!(
        anonymous.closed_or_error().await,
        "an anonymous ping was answered"
    );
    env.stop().await;
}

/// REST's body rules hold however a request comes: NUL in the document or the
/// variables is refused, and so are variables over 1 MiB sent as multipart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_and_oversized_variables_are_refused_however_they_come() {
    let env = Env::start(Db::Sqlite).await;
    let t = env.token.clone();
    let (_, g) = gql(
        &env,
        Some(&t),
        "mutation { registerConnector(input: {name: \"a\\u0000b\", category: \"custom\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(gql_error(&g).0, "invalid_text", "{g}");
    let (_, g) = gql(
        &env,
        Some(&t),
        "mutation($i: RegisterInput!) { registerConnector(input: $i) { id } }",
        json!({"i": {"name": "a\u{0}b", "category": "custom"}}),
    )
    .await;
    assert_eq!(gql_error(&g).0, "invalid_text", "{g}");
    // 2 MiB of variables as a multipart form without a file.
    let operations = json!({
        "query": "mutation($i: RegisterInput!) { registerConnector(input: $i) { id } }",
        "variables": {"i": {"name": "big", "category": "custom", "description": "x".repeat(2 << 20)}},
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", "{}");
    let r = env
        .http
        .post(env.url("/graphql"))
        .bearer_auth(&t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (_, g) = answer(r).await;
    assert_eq!(
        gql_error(&g).0,
        "payload_too_large",
        "{}",
        &g.to_string()[..200.min(g.to_string().len())]
    );
    let (_, page) = env.admin("GET", "/api/connectors", None).await;
    assert_eq!(page["total"], 0, "a refused request created a connector");
    env.stop().await;
}
