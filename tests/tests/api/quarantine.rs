//! Outputs are validated against their declared standard before anyone sees them:
//! an invalid one is quarantined with its report, listed per connector, and counts
//! against the connector's health.

use airlock_tests::guests;
use serde_json::json;

use crate::both;
use crate::harness::{Db, Env};

async fn invalid_output_is_quarantined_not_returned(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    let invoke = |broken: bool| {
        let env = &env;
        let id = id.clone();
        async move {
            env.admin(
                "POST",
                &format!("/api/connectors/{id}/invoke/stix"),
                Some(&json!({ "broken": broken })),
            )
            .await
        }
    };

    // Valid: both outputs returned, nothing quarantined.
    let (s, out) = invoke(false).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["outputs"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(out["quarantined"], json!([]));

    // Invalid STIX: the JSON output still comes back; the bundle does not.
    let (s, out) = invoke(true).await;
    assert_eq!(s, 200, "{out}");
    let outputs = out["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1, "{out}");
    assert_eq!(outputs[0]["standard"], "json");
    let q = &out["quarantined"][0];
    assert_eq!(q["index"], 1, "{out}");
    assert_eq!(q["standard"], "stix-2.1");
    assert_eq!(q["errors"][0]["rule"], "timestamp-order", "{q}");
    assert_eq!(q["errors"][0]["path"], "/objects/0/modified");

    // Listed, with the body as produced and the report.
    let (s, list) = env
        .admin("GET", &format!("/api/connectors/{id}/quarantine"), None)
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["total"], 1);
    let item = &list["items"][0];
    assert_eq!(item["id"], q["id"]);
    assert_eq!(item["call_id"], out["call_id"]);
    assert_eq!(
        item["body"]["objects"][0]["modified"],
        "2015-01-01T00:00:00.000Z"
    );
    assert_eq!(item["report"]["valid"], false);
    assert!(item["at"].as_str().unwrap().ends_with('Z'));

    // Counted against health: the last call failed, so the connector is degraded.
    let (_, beats) = env
        .admin("GET", &format!("/api/connectors/{id}/heartbeats"), None)
        .await;
    let last = beats["items"].as_array().unwrap().first().unwrap().clone();
    assert_eq!(last["ok"], false, "{beats}");
    assert_eq!(last["error_kind"], "invalid_output", "{last}");
    let (_, c) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(c["status"], "degraded", "{c}");

    // Scope and tenancy: no token 401, another tenant 404, paging.
    let (s, _) = env
        .call(
            "GET",
            &format!("/api/connectors/{id}/quarantine"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 401);
    let other = env.other_tenant_token().await;
    let (s, _) = env
        .call(
            "GET",
            &format!("/api/connectors/{id}/quarantine"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, page) = env
        .admin(
            "GET",
            &format!("/api/connectors/{id}/quarantine?limit=1&offset=1"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["total"], 1);
    env.stop().await;
}
both!(invalid_output_is_quarantined_not_returned);

async fn invalid_cap_is_quarantined_with_the_rule_it_breaks(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    let invoke = |broken: bool| {
        let env = &env;
        let id = id.clone();
        async move {
            env.admin(
                "POST",
                &format!("/api/connectors/{id}/invoke/cap"),
                Some(&json!({ "broken": broken })),
            )
            .await
        }
    };
    let (s, out) = invoke(false).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["outputs"][0]["standard"], "cap-1.2", "{out}");
    assert!(
        out["outputs"][0]["body"]
            .as_str()
            .unwrap()
            .starts_with("<alert")
    );
    assert_eq!(out["quarantined"], json!([]));

    let (s, out) = invoke(true).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["outputs"], json!([]), "{out}");
    let q = &out["quarantined"][0];
    assert_eq!(q["standard"], "cap-1.2");
    assert_eq!(q["errors"][0]["rule"], "references-required", "{q}");
    assert_eq!(q["errors"][0]["path"], "/alert");

    let (s, list) = env
        .admin("GET", &format!("/api/connectors/{id}/quarantine"), None)
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["total"], 1);
    let body = list["items"][0]["body"].as_str().unwrap();
    assert!(body.contains("<msgType>Update</msgType>"), "{body}");
    env.stop().await;
}
both!(invalid_cap_is_quarantined_with_the_rule_it_breaks);
