//! Upgrades, roll-backs, kv state across calls, bootstrap, preload and restarts.

use airlock_tests::guests;
use serde_json::json;

use crate::both;
use crate::harness::{Db, Env};

async fn a_deployment_upgrades_and_rolls_back(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    let (s, v2) = env
        .upload(&id, std::fs::read(guests::PROBE_V2).unwrap())
        .await;
    assert_eq!(s, 201, "{v2}");
    assert_eq!(v2["version"], "0.2.0");
    let version_served = || async {
        let (s, out) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/invoke/work"),
                Some(&json!({})),
            )
            .await;
        assert_eq!(s, 200, "{out}");
        assert_eq!(out["version"], out["outputs"][0]["body"]["version"]);
        out["version"].as_str().unwrap().to_string()
    };
    for (version, action) in [
        ("0.1.0", "deployment.create"),
        ("0.2.0", "deployment.change_version"),
        ("0.1.0", "deployment.change_version"),
    ] {
        let (s, d) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/deployments"),
                Some(&json!({"version": version, "config": {"label": version}})),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        assert_eq!(version_served().await, version);
        let (_, audit) = env.admin("GET", "/api/audit?limit=1000", None).await;
        let last = audit["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["action"], action, "{last}");
        assert_eq!(last["detail"]["version"], version);
    }
    // Two targets: invoke must name one.
    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({"version": "0.2.0", "target": "canary"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, out) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/work?target=canary"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(out["version"], "0.2.0");
    env.stop().await;
}
both!(a_deployment_upgrades_and_rolls_back);

async fn kv_state_persists_between_calls_and_restarts(db: Db) {
    let mut env = Env::start(db).await;
    let id = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    env.admin(
        "POST",
        &format!("/api/connectors/{id}/deployments"),
        Some(&json!({"version": "0.1.0"})),
    )
    .await;
    for n in 1..=3 {
        let (s, out) = env
            .admin("POST", &format!("/api/connectors/{id}/invoke/count"), None)
            .await;
        assert_eq!(s, 200, "{out}");
        assert_eq!(out["outputs"][0]["body"]["count"], n);
    }
    // Restart on the same data: no second bootstrap, the state and catalogue remain.
    env.server.take().unwrap().stop().await.unwrap();
    let mut opts = airlock_host::server::ServeOptions::new(&env.data_dir);
    opts.listen = "127.0.0.1:0".parse().unwrap();
    opts.database = env.database.clone();
    let server = airlock_host::server::start(opts).await.unwrap();
    assert!(
        server.bootstrap.is_none(),
        "the second start creates no tenant"
    );
    env.base = format!("http://{}", server.addr);
    env.server = Some(server);
    let (s, out) = env
        .admin("POST", &format!("/api/connectors/{id}/invoke/count"), None)
        .await;
    assert_eq!(s, 200, "tokens survive a restart: {out}");
    assert_eq!(out["outputs"][0]["body"]["count"], 4);
    env.stop().await;
}
both!(kv_state_persists_between_calls_and_restarts);

async fn preload_loads_the_examples_once_into_the_bootstrap_tenant(db: Db) {
    let preload = std::env::temp_dir().join(format!("airlock-preload-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&preload).unwrap();
    for (name, path) in guests::ALL {
        std::fs::copy(path, preload.join(format!("{name}.wasm"))).unwrap();
    }
    std::fs::write(preload.join("broken.wasm"), b"not wasm").unwrap();
    let data_dir = std::env::temp_dir().join(format!("airlock-api-{}", uuid::Uuid::new_v4()));
    let database = match db {
        Db::Sqlite => None,
        Db::Postgres => Some(crate::harness::fresh_postgres_url().await),
    };
    let mut bootstrap: Option<serde_json::Value> = None;
    for round in 0..2 {
        if round == 1 {
            // An operator deletes bootstrap.json after copying its secret; preloading
            // must not depend on it.
            std::fs::remove_file(data_dir.join("bootstrap.json")).unwrap();
        }
        let mut opts = airlock_host::server::ServeOptions::new(&data_dir);
        opts.listen = "127.0.0.1:0".parse().unwrap();
        opts.database = database.clone();
        opts.preload = Some(preload.clone());
        let server = airlock_host::server::start(opts).await.unwrap();
        if round == 0 {
            bootstrap = Some(
                serde_json::from_slice(&std::fs::read(data_dir.join("bootstrap.json")).unwrap())
                    .unwrap(),
            );
        }
        let b: &serde_json::Value = bootstrap.as_ref().unwrap();
        let http = reqwest::Client::new();
        let base = format!("http://{}", server.addr);
        let token = crate::harness::token_for(
            &http,
            &base,
            b["client_id"].as_str().unwrap(),
            b["client_secret"].as_str().unwrap(),
            None,
        )
        .await;
        let list: serde_json::Value = http
            .get(format!("{base}/api/connectors"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            list["total"],
            guests::ALL.len(),
            "round {round}: one connector per example, none twice: {list}"
        );
        let ais = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "ais-decoder")
            .unwrap();
        let out: serde_json::Value = http
            .post(format!(
                "{base}/api/connectors/{}/invoke/decode",
                ais["id"].as_str().unwrap()
            ))
            .bearer_auth(&token)
            .json(&json!({"sentences": "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            out["outputs"][0]["body"]["mmsi"], 366053209,
            "the preloaded AIS decoder is deployed: {out}"
        );
        server.stop().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    let _ = std::fs::remove_dir_all(&preload);
}
both!(preload_loads_the_examples_once_into_the_bootstrap_tenant);

/// A redeploy that does not mention `secrets` keeps the target's (changing only its
/// config or version does not lose them); `"secrets": null` removes them; the same
/// through GraphQL. The audit says whether they changed.
async fn a_redeploy_without_secrets_keeps_them(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_upload("probe", "telemetry", guests::PROBE)
        .await;
    let deploy = |body: serde_json::Value| {
        let env = &env;
        let id = id.clone();
        async move {
            let (s, d) = env
                .admin(
                    "POST",
                    &format!("/api/connectors/{id}/deployments"),
                    Some(&body),
                )
                .await;
            assert!(s == 200 || s == 201, "{s} {d}");
            d
        }
    };
    let last_audit = || async {
        let (_, audit) = env.admin("GET", "/api/audit?limit=1000", None).await;
        audit["items"].as_array().unwrap().last().unwrap().clone()
    };
    let d =
        deploy(json!({"version": "0.1.0", "config": {"label": "a"}, "secrets": {"token": "t-1"}}))
            .await;
    assert_eq!(d["has_secrets"], true);
    assert_eq!(last_audit().await["detail"]["secrets_changed"], true);
    // Only the config changes: the secrets stay.
    let d = deploy(json!({"version": "0.1.0", "config": {"label": "b"}})).await;
    assert_eq!(
        (d["has_secrets"].clone(), d["config"]["label"].clone()),
        (json!(true), json!("b"))
    );
    assert_eq!(last_audit().await["detail"]["secrets_changed"], false);
    // An upgrade without them keeps them too.
    let (s, _) = env
        .upload(&id, std::fs::read(guests::PROBE_V2).unwrap())
        .await;
    assert_eq!(s, 201);
    let d = deploy(json!({"version": "0.2.0", "config": {"label": "c"}})).await;
    assert_eq!(d["has_secrets"], true, "{d}");
    // `null` removes them.
    let d = deploy(json!({"version": "0.2.0", "config": {"label": "c"}, "secrets": null})).await;
    assert_eq!(d["has_secrets"], false, "{d}");
    assert_eq!(last_audit().await["detail"]["secrets_changed"], true);
    // GraphQL: absent keeps, null removes.
    deploy(json!({"version": "0.2.0", "secrets": {"token": "t-2"}})).await;
    let gql = |input: &str| {
        let env = &env;
        let q =
            format!("mutation {{ deploy(connector: \"{id}\", input: {input}) {{ hasSecrets }} }}");
        async move {
            let (s, v) = env
                .admin("POST", "/graphql", Some(&json!({ "query": q })))
                .await;
            assert_eq!(s, 200, "{v}");
            v["data"]["deploy"]["hasSecrets"].clone()
        }
    };
    assert_eq!(
        gql("{version: \"0.2.0\", config: {label: \"d\"}}").await,
        true
    );
    assert_eq!(gql("{version: \"0.2.0\", secrets: null}").await, false);
    env.stop().await;
}
both!(a_redeploy_without_secrets_keeps_them);
