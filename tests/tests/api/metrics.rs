//! `/metrics`: after a known sequence of calls, pushes and heartbeats, every
//! counter says exactly what happened.

use std::time::{Duration, Instant};

use airlock_tests::guests;
use serde_json::{Value, json};

use crate::harness::{Db, Env};
use crate::ingest::{register, register_push, signed};

/// The value of the sample of `name` whose labels include every `labels` pair
/// (0 when there is none).
pub(crate) fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            (metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

pub(crate) async fn scrape(env: &Env, url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut req = env.http.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_match_a_known_sequence_exactly() {
    let env = Env::start_configured(Db::Sqlite, |o| {
        o.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let open = format!(
        "http://{}/metrics",
        env.server.as_ref().unwrap().metrics_addr.unwrap()
    );
    let id = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    let invoke = |action: &'static str, input: Value| {
        let env = &env;
        let id = id.clone();
        async move {
            env.admin(
                "POST",
                &format!("/api/connectors/{id}/invoke/{action}"),
                Some(&input),
            )
            .await
            .0
        }
    };
    for _ in 0..3 {
        assert_eq!(invoke("work", json!({})).await, 200);
    }
    assert_eq!(invoke("work", json!({"fail": "upstream"})).await, 502);
    // One plain JSON output published, one STIX bundle quarantined.
    assert_eq!(invoke("stix", json!({"broken": true})).await, 200);
    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/heartbeat"),
            Some(&json!({"status": "ok"})),
        )
        .await;
    assert_eq!(s, 202);

    // Pushed events: one accepted, the same again (a duplicate), one forged.
    let hub = register(&env, "sensor-hub", "hmac-sha256").await;
    let secret = hub["credential"]["secret"].as_str().unwrap();
    let path = hub["webhook_path"].as_str().unwrap();
    let body = br#"{"reading": 21.5}"#;
    let ts = airlock_tests::unix_now();
    let push = |headers: Vec<(&'static str, String)>| {
        let mut req = env
            .http
            .post(env.url(path))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(push(signed(secret, "evt_1", ts, body)).await, 202);
    assert_eq!(push(signed(secret, "evt_1", ts, body)).await, 202);
    let mut forged = signed(secret, "evt_2", ts, body);
    forged[2].1 = "v1,AAAA".into();
    assert_eq!(push(forged).await, 401);
    // A sender declared to push STIX that pushes something else: quarantined by
    // the pipeline, after its commit.
    let strict = register_push(
        &env,
        &env.token,
        "stix-sender",
        "hmac-sha256",
        Some("stix-2.1"),
    )
    .await;
    let not_stix = br#"{"type": "not-a-bundle"}"#;
    let mut req = env
        .http
        .post(env.url(strict["webhook_path"].as_str().unwrap()))
        .header("content-type", "application/json")
        .body(not_stix.to_vec());
    for (k, v) in signed(
        strict["credential"]["secret"].as_str().unwrap(),
        "evt_3",
        ts,
        not_stix,
    ) {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.unwrap().status(), 202);
    // The pipeline publishes the event.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let (s, kind, text) = scrape(&env, &open, None).await;
        assert_eq!(s, 200);
        assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
        if (sample(&text, "airlock_bus_messages_published_total", &[]) >= 5.0
            && sample(&text, "airlock_quarantined_outputs_total", &[]) >= 2.0)
            || Instant::now() > deadline
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let calls = |outcome: &str| {
        sample(
            &text,
            "airlock_guest_calls_total",
            &[
                ("connector", &id),
                ("entry", "invoke"),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(calls("ok"), 3.0, "{text}");
    assert_eq!(calls("upstream"), 1.0);
    assert_eq!(calls("invalid_output"), 1.0);
    assert_eq!(
        sample(
            &text,
            "airlock_guest_call_duration_seconds_count",
            &[("entry", "invoke")]
        ),
        5.0
    );
    let beats = |source: &str, ok: &str| {
        sample(
            &text,
            "airlock_heartbeats_total",
            &[("source", source), ("ok", ok)],
        )
    };
    assert_eq!(beats("call", "true"), 3.0);
    assert_eq!(beats("call", "false"), 2.0);
    assert_eq!(beats("external", "true"), 1.0);
    let ingest = |outcome: &str| {
        sample(
            &text,
            "airlock_ingest_events_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!(ingest("accepted"), 2.0);
    assert_eq!(ingest("duplicate"), 1.0);
    assert_eq!(
        ingest("bad_signature") + ingest("bad_credential"),
        1.0,
        "{text}"
    );
    assert_eq!(sample(&text, "airlock_ingest_events_total", &[]), 4.0);
    // The invoke's broken bundle and the pushed non-bundle.
    assert_eq!(
        sample(
            &text,
            "airlock_quarantined_outputs_total",
            &[("standard", "stix-2.1")]
        ),
        2.0
    );
    assert_eq!(sample(&text, "airlock_quarantined_outputs_total", &[]), 2.0);
    // 3 work outputs, the STIX call's JSON note, the pushed event.
    assert_eq!(
        sample(&text, "airlock_bus_messages_published_total", &[]),
        5.0
    );
    assert_eq!(sample(&text, "airlock_connectors", &[]), 3.0);
    assert_eq!(sample(&text, "airlock_pipeline_backlog_events", &[]), 0.0);
    let http = |status: &str| {
        sample(
            &text,
            "http_server_request_duration_seconds_count",
            &[
                ("http_request_method", "POST"),
                ("http_route", "/api/connectors/{id}/invoke/{action}"),
                ("http_response_status_code", status),
            ],
        )
    };
    assert_eq!(http("200"), 4.0);
    assert_eq!(http("502"), 1.0);
    // No label carries what a tenant named: the connectors' names are absent.
    assert!(!text.contains("sensor-hub") && !text.contains("\"probe\""));

    // On the API's address, /metrics needs the operator's metrics:read: the series
    // are every tenant's, which no tenant's own scopes may read.
    let (s, _, _) = scrape(&env, &env.url("/metrics"), None).await;
    assert_eq!(s, 401);
    let reader = env
        .token_with(&[airlock_host::auth::Scope::ConnectorsRead])
        .await;
    let (s, _, _) = scrape(&env, &env.url("/metrics"), Some(&reader)).await;
    assert_eq!(s, 403);
    let (s, _, again) = scrape(&env, &env.url("/metrics"), Some(&env.token)).await;
    assert_eq!(s, 200);
    assert_eq!(
        calls("ok"),
        sample(
            &again,
            "airlock_guest_calls_total",
            &[("connector", &id), ("outcome", "ok")]
        )
    );

    // A deleted connector's series go with it.
    let (s, _) = env
        .admin("DELETE", &format!("/api/connectors/{id}?force=true"), None)
        .await;
    assert_eq!(s, 204);
    let (_, _, after) = scrape(&env, &open, None).await;
    assert!(!after.contains(&id), "{after}");
    env.stop().await;
}
