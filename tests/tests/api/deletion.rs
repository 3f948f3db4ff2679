//! The everyday verbs that end things: deleting a connector (refused while
//! deployed unless forced; its name free again; its events and audit rows kept),
//! deleting a version (not a deployed one; its number never reused for another
//! component), and revoking an OAuth client from the command line (its tokens stop
//! working on the running server, without a restart).

use airlock_tests::guests;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env, error_code, token_for};

/// Runs `airlock ARGS --data-dir … [--database …]`: exit code, stdout, stderr.
async fn airlock(env: &Env, args: &[&str]) -> (i32, String, String) {
    let mut cmd = airlock_tests::airlock_bin();
    cmd.args(args)
        .arg("--data-dir")
        .arg(&env.data_dir)
        .env("NO_COLOR", "1");
    if let Some(url) = &env.database {
        cmd.args(["--database", url]);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A client-credentials token request: the raw answer.
async fn token_request(env: &Env, client: &str, secret: &str) -> reqwest::Response {
    env.http
        .post(env.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn a_connector_is_deleted_when_undeployed_or_forced_and_its_name_is_free_again(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    // Something it published, which outlives it.
    let (s, v) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    let (s, e) = env
        .admin("DELETE", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(error_code(s, &e, 409, "deployed"), "connector_deployed");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`default`") && message.contains("force"),
        "{message}"
    );
    let (s, e) = env
        .admin("DELETE", &format!("/api/connectors/{id}?force=maybe"), None)
        .await;
    assert_eq!(error_code(s, &e, 400, "force=maybe"), "invalid_query");
    // Refused means untouched.
    let (s, v) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["deployments"].as_array().unwrap().len(), 1, "{v}");

    let (s, v) = env
        .admin("DELETE", &format!("/api/connectors/{id}?force=true"), None)
        .await;
    assert_eq!(s, 204, "{v}");
    let (s, e) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(error_code(s, &e, 404, "deleted"), "not_found");
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(error_code(s, &e, 404, "invoke after delete"), "not_found");
    let (s, e) = env
        .admin("DELETE", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(error_code(s, &e, 404, "deleted twice"), "not_found");
    let (_, list) = env.admin("GET", "/api/connectors", None).await;
    assert_eq!(list["total"], 0, "{list}");

    // Its events and its audit rows stay (its events on their topics; the
    // connector filter, like every route naming it, now answers 404).
    let (s, events) = env
        .admin(
            "GET",
            &format!("/api/events?topic=airlock.{}.*", env.tenant),
            None,
        )
        .await;
    assert_eq!(s, 200, "{events}");
    let kept = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["connector_id"] == id.as_str())
        .count();
    assert_eq!(kept, 1, "{events}");
    let (_, audit) = env.admin("GET", "/api/audit?limit=100", None).await;
    let deleted = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "connector.delete")
        .unwrap_or_else(|| panic!("no connector.delete in {audit}"));
    assert_eq!(deleted["target"], id.as_str());
    assert_eq!(deleted["detail"]["forced"], true, "{deleted}");
    assert_eq!(
        deleted["detail"]["deployments"],
        json!(["default"]),
        "{deleted}"
    );

    // The name is free again, under a new id.
    let again = env.register("probe", "telemetry").await;
    assert_ne!(again, id);
    // An undeployed connector goes without force.
    let (s, v) = env
        .admin("DELETE", &format!("/api/connectors/{again}"), None)
        .await;
    assert_eq!(s, 204, "{v}");
    // Another tenant's connector is not found, and stays.
    let other = env.other_tenant_token().await;
    let mine = env.register("mine", "telemetry").await;
    let (s, e) = env
        .call(
            "DELETE",
            &format!("/api/connectors/{mine}?force=true"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(error_code(s, &e, 404, "foreign"), "not_found");
    let (s, _) = env
        .admin("GET", &format!("/api/connectors/{mine}"), None)
        .await;
    assert_eq!(s, 200);
    // A push connector's OAuth client goes with it: no token any more.
    let push = crate::ingest::register(&env, "pusher", "oauth2").await;
    let (client, secret) = (
        push["credential"]["client_id"]
            .as_str()
            .unwrap()
            .to_string(),
        push["credential"]["client_secret"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let pid = push["id"].as_str().unwrap();
    let (s, v) = env
        .admin("DELETE", &format!("/api/connectors/{pid}"), None)
        .await;
    assert_eq!(s, 204, "{v}");
    let r = token_request(&env, &client, &secret).await;
    assert_eq!(
        r.status(),
        401,
        "a deleted push connector's client got a token"
    );
    // A heartbeat that was waiting when its connector went is dropped quietly
    // (it never fails the batch it came in).
    let node = env.node().await;
    node.store
        .rederive_health(&env.tenant, &id, 20, |_, _| {
            Some(airlock_host::store::HealthRow {
                connector_id: id.clone(),
                status: "active".into(),
                reason: String::new(),
                last_at_ms: 1,
                external: false,
            })
        })
        .await
        .unwrap();
    assert!(node.store.health(&env.tenant, &id).await.unwrap().is_none());
    // The chain still verifies with the deletions in it.
    let (code, out, err) = airlock(&env, &["audit", "verify"]).await;
    assert_eq!(code, 0, "{out}{err}");
    env.stop().await;
}
both!(a_connector_is_deleted_when_undeployed_or_forced_and_its_name_is_free_again);

async fn a_version_is_deleted_unless_deployed_and_its_number_never_names_another_component(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    let (s, v) = env
        .upload(&id, std::fs::read(guests::PROBE_V2).unwrap())
        .await;
    assert_eq!(s, 201, "{v}");
    env.deploy(&id, "0.2.0").await;

    let (s, e) = env
        .admin(
            "DELETE",
            &format!("/api/connectors/{id}/versions/0.2.0"),
            None,
        )
        .await;
    assert_eq!(
        error_code(s, &e, 409, "deployed version"),
        "version_deployed"
    );
    let (s, v) = env
        .admin(
            "DELETE",
            &format!("/api/connectors/{id}/versions/0.1.0"),
            None,
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (_, c) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    let versions: Vec<&str> = c["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["0.2.0"], "{c}");
    let (s, e) = env
        .admin(
            "DELETE",
            &format!("/api/connectors/{id}/versions/0.1.0"),
            None,
        )
        .await;
    assert_eq!(error_code(s, &e, 404, "deleted twice"), "not_found");
    // Deploying the deleted version: it was never uploaded, as far as deploy knows.
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.1.0", "target": "old"})),
        )
        .await;
    assert_eq!(error_code(s, &e, 422, "deleted version"), "unknown_version");

    // Another component under the deleted number: refused. The same one: back.
    let (s, e) = env
        .upload(&id, std::fs::read(guests::AIS_DECODER).unwrap())
        .await;
    assert_eq!(error_code(s, &e, 409, "a reused number"), "version_retired");
    let (s, v) = env.upload(&id, std::fs::read(guests::PROBE).unwrap()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["version"], "0.1.0");
    env.stop().await;
}
both!(a_version_is_deleted_unless_deployed_and_its_number_never_names_another_component);

async fn tenants_and_clients_are_listed_and_a_revoked_clients_tokens_stop_at_once(db: Db) {
    let env = Env::start(db).await;
    let (code, out, err) = airlock(&env, &["tenant", "list"]).await;
    assert_eq!(code, 0, "{err}");
    let tenants = lines(&out);
    assert_eq!(tenants.len(), 1, "{out}");
    assert_eq!(tenants[0]["tenant_id"], env.tenant.as_str());
    assert_eq!(tenants[0]["active_clients"], 1, "{out}");

    let (code, out, err) = airlock(
        &env,
        &[
            "client",
            "create",
            "--tenant",
            &env.tenant,
            "--scope",
            "connectors:read",
            "--label",
            "dashboards",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let client = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    let token = token_for(&env.http, &env.base, &client, &secret, None).await;
    let (s, _) = env.call("GET", "/api/connectors", Some(&token), None).await;
    assert_eq!(s, 200);

    let (code, out, err) = airlock(&env, &["client", "list", "--tenant", &env.tenant]).await;
    assert_eq!(code, 0, "{err}");
    let clients = lines(&out);
    assert_eq!(clients.len(), 2, "{out}");
    let listed = clients
        .iter()
        .find(|c| c["client_id"] == client.as_str())
        .unwrap();
    assert_eq!(listed["label"], "dashboards");
    assert_eq!(listed["scopes"], json!(["connectors:read"]));
    assert_eq!(listed["revoked_at"], Value::Null);
    assert!(!out.contains(&secret[4..]), "a secret in the list: {out}");

    let (code, out, err) = airlock(
        &env,
        &[
            "client",
            "revoke",
            &client,
            "--tenant",
            &env.tenant,
            "--reason",
            "left the team",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    // The token it holds stops working within a second; it gets no new one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (s, e) = env.call("GET", "/api/connectors", Some(&token), None).await;
        if s == 401 {
            assert!(
                e["error"]["message"].as_str().unwrap().contains("revoked"),
                "{e}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still accepted: {s} {e}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = token_request(&env, &client, &secret).await;
    assert_eq!(r.status(), 401);
    // Listed as revoked; revoking again, or a client of no such tenant, fails.
    let (_, out, _) = airlock(&env, &["client", "list", "--tenant", &env.tenant]).await;
    let listed = lines(&out)
        .into_iter()
        .find(|c| c["client_id"] == client.as_str())
        .unwrap();
    assert!(
        listed["revoked_at"].as_str().unwrap().ends_with('Z'),
        "{listed}"
    );
    let (code, _, err) = airlock(
        &env,
        &["client", "revoke", &client, "--tenant", &env.tenant],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("no active client"), "{err}");
    // A push connector's OAuth client, revoked: its token stops pushing too.
    let push = crate::ingest::register(&env, "pusher", "oauth2").await;
    let (pusher, pusher_secret) = (
        push["credential"]["client_id"]
            .as_str()
            .unwrap()
            .to_string(),
        push["credential"]["client_secret"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let push_token = token_for(&env.http, &env.base, &pusher, &pusher_secret, None).await;
    let hook = push["webhook_path"].as_str().unwrap().to_string();
    let send = |key: &str| {
        let (env, hook, push_token) = (&env, hook.clone(), push_token.clone());
        let key = key.to_string();
        async move {
            crate::ingest::post(
                env,
                &hook,
                &[
                    ("authorization", format!("Bearer {push_token}")),
                    ("idempotency-key", key),
                ],
                br#"{"n": 1}"#.to_vec(),
            )
            .await
        }
    };
    let (s, v) = send("p-1").await;
    assert_eq!(s, 202, "{v}");
    let (code, out, err) = airlock(
        &env,
        &["client", "revoke", &pusher, "--tenant", &env.tenant],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    for n in 2.. {
        let (s, e) = send(&format!("p-{n}")).await;
        if s == 401 {
            assert!(
                e["error"]["message"].as_str().unwrap().contains("revoked"),
                "{e}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still pushing: {s} {e}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The revocation is audited, with its reason; the bootstrap client still works.
    let (s, audit) = env.admin("GET", "/api/audit?limit=100", None).await;
    assert_eq!(s, 200, "{audit}");
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "client.revoke"
                && r["target"] == client.as_str()
                && r["reason"] == "left the team"),
        "{audit}"
    );
    env.stop().await;
}
both!(tenants_and_clients_are_listed_and_a_revoked_clients_tokens_stop_at_once);
