//! The upload quality gate: each `tests/guests/gate-<rule>` component breaks exactly
//! one rule, and is refused by `airlock check` (offline) and by the server's upload
//! with that rule named; `gate-clean` passes both; `gate-upgrade` asks for more than
//! `gate-clean`, so deploying it is held until an admin approves it.

use std::process::Output;

use airlock_host::auth::Scope;
use airlock_tests::guests;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env};

/// Fails the build when a gate guest has no test module of its name.
macro_rules! assert_tested {
    ($module:ident) => {
        #[allow(unused_imports)]
        use self::$module as _;
    };
}
airlock_tests::for_each_gate_guest!(assert_tested);

fn check(args: &[&str]) -> (Output, Value) {
    let out = airlock_tests::airlock_bin()
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, report)
}

fn rules(findings: &Value, key: &str) -> Vec<String> {
    let mut r: Vec<String> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[key].as_str().unwrap().to_string())
        .collect();
    r.dedup();
    r
}

/// `wasm` is refused by `airlock check` and by an upload, naming `rule` and no other.
async fn refused_for(wasm: &str, rule: &str, path: &str) {
    let (out, report) = check(&["--json", wasm]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(report["valid"], false);
    assert_eq!(rules(&report["findings"], "rule"), [rule], "{report}");
    assert!(
        report["findings"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with(path),
        "{report}"
    );
    // For people: one FAIL line naming the rule.
    let (out, _) = check(&[wasm]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("FAIL  {rule}  {path}")), "{text}");

    let env = Env::start(Db::Sqlite).await;
    let id = env.register("gate-feed", "osint").await;
    let (status, answer) = env.upload(&id, std::fs::read(wasm).unwrap()).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_manifest");
    assert_eq!(
        rules(&answer["error"]["details"], "rule"),
        [rule],
        "{answer}"
    );
    assert!(
        answer["error"]["message"].as_str().unwrap().contains(path),
        "{answer}"
    );
    // Nothing was stored.
    let (_, detail) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(detail["versions"], json!([]), "{detail}");
    env.stop().await;
}

/// A module named after a gate guest whose test checks it is refused, offline
/// and at upload, for `rule` at `path` and nothing else.
macro_rules! refused {
    ($module:ident, $guest:ident, $test:ident, $rule:literal, $path:literal) => {
        mod $module {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::refused_for(super::guests::$guest, $rule, $path).await;
            }
        }
    };
}

refused!(
    gate_id_format,
    GATE_ID_FORMAT,
    an_id_not_in_kebab_case_is_refused,
    "id-format",
    "/id"
);
refused!(
    gate_manifest_bounds,
    GATE_MANIFEST_BOUNDS,
    a_name_over_its_bound_is_refused,
    "manifest-bounds",
    "/name"
);
refused!(
    gate_semantic_version,
    GATE_SEMANTIC_VERSION,
    a_version_that_is_not_semver_is_refused,
    "semantic-version",
    "/version"
);
refused!(
    gate_schema_compiles,
    GATE_SCHEMA_COMPILES,
    a_config_schema_that_does_not_compile_is_refused,
    "schema-compiles",
    "/config_schema"
);
refused!(
    gate_host_pattern,
    GATE_HOST_PATTERN,
    a_bare_wildcard_host_is_refused,
    "host-pattern",
    "/outbound_hosts/0/pattern"
);
refused!(
    gate_sample_output_valid,
    GATE_SAMPLE_OUTPUT_VALID,
    a_sample_output_invalid_in_its_standard_is_refused,
    "sample-output-valid",
    "/sample_output/body"
);
refused!(
    gate_threat_intel_stix,
    GATE_THREAT_INTEL_STIX,
    an_osint_connector_without_stix_first_is_refused,
    "threat-intel-stix",
    "/output_standards"
);

mod gate_clean {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clean_component_passes_check_and_upload_but_not_into_another_category() {
        let (out, report) = check(&["--json", guests::GATE_CLEAN]);
        assert_eq!(out.status.code(), Some(0), "{report}");
        assert_eq!(report["valid"], true);
        assert_eq!(report["findings"], json!([]));
        assert_eq!(report["id"], "gate-feed");
        let env = Env::start(Db::Sqlite).await;
        let id = env.register("gate-feed", "osint").await;
        let (status, answer) = env
            .upload(&id, std::fs::read(guests::GATE_CLEAN).unwrap())
            .await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["upgrade_needs_approval"], json!([]));
        // The one rule only an upload has: the registered connector's category.
        let other = env.register("gate-elsewhere", "telemetry").await;
        let (status, answer) = env
            .upload(&other, std::fs::read(guests::GATE_CLEAN).unwrap())
            .await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(
            rules(&answer["error"]["details"], "rule"),
            ["category-matches"]
        );
        env.stop().await;
    }
}

mod gate_upgrade {
    use super::*;

    #[test]
    fn check_against_the_old_version_shows_what_the_upgrade_asks_for() {
        let (out, report) = check(&[
            "--json",
            guests::GATE_UPGRADE,
            "--against",
            guests::GATE_CLEAN,
        ]);
        assert_eq!(out.status.code(), Some(0), "{report}");
        let against = &report["against"];
        assert_eq!(against["version"], "0.1.0");
        assert_eq!(against["needs_approval"], true);
        assert_eq!(
            against["asks_for"],
            json!({"outbound_hosts": ["https://upload.example.org"],
                "capabilities": ["upload"], "secrets": ["signing_key"], "credentials": []})
        );
        let (out, _) = check(&[guests::GATE_UPGRADE, "--against", guests::GATE_CLEAN]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("UPGRADE from 0.1.0 asks for more"), "{text}");
        assert!(
            text.contains("+ outbound host https://upload.example.org"),
            "{text}"
        );
        // The other way round asks for nothing more.
        let (_, report) = check(&[
            "--json",
            guests::GATE_CLEAN,
            "--against",
            guests::GATE_UPGRADE,
        ]);
        assert_eq!(report["against"]["needs_approval"], false, "{report}");
    }

    async fn version_answered(env: &Env, id: &str) -> String {
        let (s, out) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/invoke/lookup?target=default"),
                Some(&json!({})),
            )
            .await;
        assert_eq!(s, 200, "{out}");
        out["outputs"][1]["body"]["version"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn an_upgrade_asking_for_more_waits_for_approval(db: Db) {
        let env = Env::start(db).await;
        let id = env
            .register_and_upload("gate-feed", "osint", guests::GATE_CLEAN)
            .await;
        let deployments = format!("/api/connectors/{id}/deployments");
        // The vendor's client may upload and deploy, not approve.
        let vendor = env
            .token_with(&[Scope::ConnectorsManage, Scope::ConnectorsRead])
            .await;
        let (s, d) = env
            .call(
                "POST",
                &deployments,
                Some(&vendor),
                Some(&json!({"version": "0.1.0", "secrets": {"token": "t0"},
                    "allowed_hosts": ["https://feeds.example.org"]})),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        assert_eq!(d["held_upgrade"], Value::Null);
        assert_eq!(version_answered(&env, &id).await, "0.1.0");

        // The upload is stored, and says what moving `default` to it asks for.
        let (s, up) = env
            .upload(&id, std::fs::read(guests::GATE_UPGRADE).unwrap())
            .await;
        assert_eq!(s, 201, "{up}");
        let asks_for = json!({"outbound_hosts": ["https://upload.example.org"],
            "capabilities": ["upload"], "secrets": ["signing_key"], "credentials": []});
        assert_eq!(
            up["upgrade_needs_approval"],
            json!([{"target": "default", "deployed_version": "0.1.0", "asks_for": asks_for}])
        );

        // Deploying it is held: 202, the target runs 0.1.0 still, and the whole
        // request (secrets aside) is there for the admin to read.
        let request = json!({"version": "0.2.0", "secrets": {"token": "t1", "signing_key": "k"},
            "allowed_hosts": ["https://feeds.example.org", "https://upload.example.org"],
            "allowed_networks": ["10.9.0.0/16"]});
        let (s, d) = env
            .call("POST", &deployments, Some(&vendor), Some(&request))
            .await;
        assert_eq!(s, 202, "{d}");
        assert_eq!(d["version"], "0.1.0");
        let held = d["held_upgrade"].clone();
        assert_eq!(held["version"], "0.2.0");
        assert_eq!(held["running_version"], "0.1.0");
        assert_eq!(held["asks_for"], asks_for);
        assert_eq!(held["allowed_networks"], json!(["10.9.0.0/16"]));
        assert_eq!(held["has_secrets"], true);
        assert_eq!(version_answered(&env, &id).await, "0.1.0");

        // No way around it: not on a new target, not by undeploying and deploying
        // again, and the held version cannot be deleted from under it.
        let (s, e) = env
            .call(
                "POST",
                &deployments,
                Some(&vendor),
                Some(&json!({"version": "0.2.0", "target": "prod2"})),
            )
            .await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(e["error"]["code"], "approval_required");
        for (method, body) in [
            ("POST", Some(json!({"version": "0.1.0", "target": "spare"}))),
            ("DELETE", None),
        ] {
            let path = if method == "DELETE" {
                format!("{deployments}/spare")
            } else {
                deployments.clone()
            };
            let (s, e) = env.call(method, &path, Some(&vendor), body.as_ref()).await;
            assert!(s == 201 || s == 204, "{method}: {s} {e}");
        }
        let (s, e) = env
            .call(
                "POST",
                &deployments,
                Some(&vendor),
                Some(&json!({"version": "0.2.0", "target": "spare"})),
            )
            .await;
        assert_eq!(s, 409, "{e}");
        let (s, e) = env
            .admin(
                "DELETE",
                &format!("/api/connectors/{id}/versions/0.2.0"),
                None,
            )
            .await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(e["error"]["code"], "version_deployed");

        // A change of config alone leaves the held upgrade waiting.
        let (s, d) = env
            .call(
                "POST",
                &deployments,
                Some(&vendor),
                Some(&json!({"version": "0.1.0", "secrets": {"token": "t0"},
                    "allowed_hosts": ["https://feeds.example.org"], "limits": {"cpu_ms": 2000}})),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        assert_eq!(d["held_upgrade"], held, "{d}");

        // Approving needs its own scope: connectors:manage is not enough.
        let approve = format!("{deployments}/default/approve");
        let (s, e) = env.call("POST", &approve, Some(&vendor), None).await;
        assert_eq!(s, 403, "{e}");
        let approver = env.token_with(&[Scope::ConnectorsApprove]).await;
        let (s, e) = env
            .call(
                "POST",
                &format!("{deployments}/nowhere/approve"),
                Some(&approver),
                None,
            )
            .await;
        assert_eq!(s, 404, "{e}");
        // Only what the admin read: another request time is refused.
        let (s, e) = env
            .call(
                "POST",
                &format!("{approve}?requested_at=2020-01-01T00:00:00.000Z"),
                Some(&approver),
                None,
            )
            .await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(e["error"]["code"], "held_upgrade_changed");
        // Approved through GraphQL, naming the request read.
        let q = json!({"query": "mutation($c: ID!, $at: String) { approveDeployment(connector: $c, target: \"default\", requestedAt: $at) { version hasSecrets allowedNetworks heldUpgrade { version } } }",
            "variables": {"c": id, "at": held["requested_at"]}});
        let (s, g) = env
            .call("POST", "/graphql", Some(&approver), Some(&q))
            .await;
        assert_eq!(s, 200, "{g}");
        let d = &g["data"]["approveDeployment"];
        assert_eq!(d["version"], "0.2.0", "{g}");
        assert_eq!(d["heldUpgrade"], Value::Null);
        assert_eq!(d["hasSecrets"], true);
        assert_eq!(d["allowedNetworks"], json!(["10.9.0.0/16"]));
        assert_eq!(version_answered(&env, &id).await, "0.2.0");
        // Exactly the held request: the later config change's limits are not in it.
        let (_, list) = env.admin("GET", &deployments, None).await;
        let default = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["target"] == "default")
            .unwrap();
        assert_eq!(default["limits"], json!({}), "{default}");
        assert_eq!(default["allowed_hosts"].as_array().unwrap().len(), 2);
        let (s, e) = env.call("POST", &approve, Some(&approver), None).await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(e["error"]["code"], "nothing_held");

        // Approved once, for the connector: now it may go to another target.
        let (s, d) = env
            .call(
                "POST",
                &deployments,
                Some(&vendor),
                Some(&json!({"version": "0.2.0", "target": "prod2"})),
            )
            .await;
        assert_eq!(s, 201, "{d}");

        // Both steps are in the audit trail, with who asked and who approved.
        let (_, audit) = env.admin("GET", "/api/audit?limit=50", None).await;
        let entries = audit["items"].as_array().unwrap();
        let held_entry = entries
            .iter()
            .find(|e| e["action"] == "deployment.upgrade_held")
            .unwrap();
        assert_eq!(held_entry["detail"]["asks_for"], asks_for, "{held_entry}");
        let approved = entries
            .iter()
            .find(|e| e["action"] == "deployment.approve")
            .unwrap();
        assert_eq!(approved["detail"]["version"], "0.2.0", "{approved}");
        assert_eq!(approved["detail"]["previous_version"], "0.1.0");
        assert_eq!(approved["detail"]["requested_by"], held["requested_by"]);
        assert_ne!(approved["actor"], approved["detail"]["requested_by"]);

        // Rolling back asks for less: no approval needed.
        let (s, d) = env
            .call(
                "POST",
                &deployments,
                Some(&vendor),
                Some(&json!({"version": "0.1.0", "secrets": {"token": "t0"}})),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        assert_eq!(version_answered(&env, &id).await, "0.1.0");
        env.stop().await;
    }

    /// An upgrade held without `secrets` keeps the target's secrets as they are when
    /// it is approved, never a copy from when it was held: secrets removed while it
    /// waited stay removed, and secrets replaced meanwhile are the ones kept.
    async fn a_held_upgrade_keeps_the_secrets_of_its_approval_time(db: Db) {
        let env = Env::start(db).await;
        let vendor = env
            .token_with(&[Scope::ConnectorsManage, Scope::ConnectorsRead])
            .await;
        let approver = env.token_with(&[Scope::ConnectorsApprove]).await;
        // A connector each round: an approval widens its baseline for good.
        for (round, (meanwhile, kept)) in [(json!(null), false), (json!({"token": "t9"}), true)]
            .into_iter()
            .enumerate()
        {
            let id = env
                .register_and_upload(&format!("gate-feed-{round}"), "osint", guests::GATE_CLEAN)
                .await;
            let deployments = format!("/api/connectors/{id}/deployments");
            let approve = format!("{deployments}/default/approve");
            let (s, _) = env
                .upload(&id, std::fs::read(guests::GATE_UPGRADE).unwrap())
                .await;
            assert_eq!(s, 201);
            let (s, d) = env
                .call(
                    "POST",
                    &deployments,
                    Some(&vendor),
                    Some(&json!({"version": "0.1.0", "secrets": {"token": "t0"}})),
                )
                .await;
            assert!(s == 200 || s == 201, "{d}");
            // Held without `secrets`: it will keep the target's.
            let (s, d) = env
                .call(
                    "POST",
                    &deployments,
                    Some(&vendor),
                    Some(&json!({"version": "0.2.0"})),
                )
                .await;
            assert_eq!(s, 202, "{d}");
            assert_eq!(d["held_upgrade"]["has_secrets"], true, "{d}");
            // Meanwhile the running version's secrets are removed, or replaced
            // (a config-only change: the upgrade keeps waiting).
            let (s, d) = env
                .call(
                    "POST",
                    &deployments,
                    Some(&vendor),
                    Some(&json!({"version": "0.1.0", "secrets": meanwhile})),
                )
                .await;
            assert!(s == 200 || s == 201, "{s} {d}");
            assert_eq!(d["held_upgrade"]["version"], "0.2.0", "still held: {d}");
            let (s, d) = env.call("POST", &approve, Some(&approver), None).await;
            assert_eq!(s, 200, "{d}");
            assert_eq!(d["version"], "0.2.0");
            assert_eq!(d["has_secrets"], kept, "after {meanwhile}: {d}");
        }
        env.stop().await;
    }
    both!(a_held_upgrade_keeps_the_secrets_of_its_approval_time);

    /// An admin whose client holds `connectors:approve` approves by deploying.
    async fn an_approvers_own_deploy_is_its_approval(db: Db) {
        let env = Env::start(db).await;
        let id = env
            .register_and_upload("gate-feed", "osint", guests::GATE_CLEAN)
            .await;
        env.deploy(&id, "0.1.0").await;
        let (s, _) = env
            .upload(&id, std::fs::read(guests::GATE_UPGRADE).unwrap())
            .await;
        assert_eq!(s, 201);
        let (s, d) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/deployments"),
                Some(&json!({"version": "0.2.0"})),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        assert_eq!(d["version"], "0.2.0");
        let (_, audit) = env.admin("GET", "/api/audit?limit=50", None).await;
        let change = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "deployment.change_version")
            .unwrap();
        assert_eq!(
            change["detail"]["approved"]["capabilities"],
            json!(["upload"])
        );
        env.stop().await;
    }
    both!(an_approvers_own_deploy_is_its_approval);

    /// A connector deployed before baselines were kept (`approved` is NULL): what
    /// its deployments run stands in, and is stored before undeploying could
    /// make the next deploy a first one.
    async fn a_connector_from_before_baselines_takes_what_it_runs(db: Db) {
        let env = Env::start(db).await;
        let id = env
            .register_and_upload("gate-feed", "osint", guests::GATE_CLEAN)
            .await;
        env.deploy(&id, "0.1.0").await;
        let (s, _) = env
            .upload(&id, std::fs::read(guests::GATE_UPGRADE).unwrap())
            .await;
        assert_eq!(s, 201);
        // As migration 0014 leaves a connector deployed before it.
        let node = env.node().await;
        let mut tx = node
            .store
            .begin(airlock_host::store::Rows::All)
            .await
            .unwrap();
        sqlx::query("UPDATE connectors SET approved = NULL WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let vendor = env
            .token_with(&[Scope::ConnectorsManage, Scope::ConnectorsRead])
            .await;
        let deployments = format!("/api/connectors/{id}/deployments");
        // Undeploying everything keeps what was running as the baseline…
        let (s, e) = env
            .call(
                "DELETE",
                &format!("{deployments}/default"),
                Some(&vendor),
                None,
            )
            .await;
        assert_eq!(s, 204, "{e}");
        // …so the wider version is still not a first deployment.
        let (s, e) = env
            .call(
                "POST",
                &deployments,
                Some(&vendor),
                Some(&json!({"version": "0.2.0"})),
            )
            .await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(e["error"]["code"], "approval_required");
        let (s, d) = env
            .call(
                "POST",
                &deployments,
                Some(&vendor),
                Some(&json!({"version": "0.1.0"})),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        env.stop().await;
    }
    both!(a_connector_from_before_baselines_takes_what_it_runs);
    both!(an_upgrade_asking_for_more_waits_for_approval);
}
