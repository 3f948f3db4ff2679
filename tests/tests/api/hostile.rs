//! Hostile guests through a live server: an abusive manifest is refused at upload
//! with bounded findings, and output floods end in their typed error, publish
//! nothing, and leave the server serving.

use airlock_tests::guests;
use serde_json::json;

use crate::both;
use crate::harness::{Db, Env, error_code};

async fn an_abusive_manifest_is_refused_at_upload_by_field_without_echo(db: Db) {
    let env = Env::start(db).await;
    let id = &env.register("abusive", "custom").await;
    let (s, e) = env
        .upload(id, std::fs::read(guests::HOSTILE_MANIFEST).unwrap())
        .await;
    assert_eq!(error_code(s, &e, 422, "upload"), "invalid_manifest");
    let paths: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/id", "/name", "/config_schema", "/actions"]);
    let text = e.to_string();
    assert!(text.len() < 2048, "{} bytes: {text}", text.len());
    assert!(!text.contains("passwd") && !text.contains("NNNN"), "{text}");
    // Nothing was stored.
    let (s, c) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["versions"].as_array().map(Vec::len), Some(0), "{c}");
    env.stop().await;
}
both!(an_abusive_manifest_is_refused_at_upload_by_field_without_echo);

async fn an_output_flood_publishes_nothing_and_the_server_still_serves(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_deploy("flood", "custom", guests::HOSTILE_RETURN_FLOOD)
        .await;
    let max = airlock_host::runtime::Limits::default().max_outputs;
    // A million outputs (refused while copied), then one too many (refused by count).
    for input in [json!({}), json!({"count": max + 1})] {
        let (s, e) = env
            .admin(
                "POST",
                &format!("/api/connectors/{id}/invoke/run"),
                Some(&input),
            )
            .await;
        assert_eq!(
            error_code(s, &e, 502, &format!("{input}")),
            "connector_output_too_large"
        );
        assert!(e["error"]["message"].as_str().unwrap().len() < 300, "{e}");
    }
    let (s, events) = env
        .admin("GET", &format!("/api/events?connector={id}"), None)
        .await;
    assert_eq!(s, 200, "{events}");
    assert_eq!(
        events["items"].as_array().map(Vec::len),
        Some(0),
        "{events}"
    );
    let (s, ok) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/ok"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(s, 200, "{ok}");
    env.stop().await;
}
both!(an_output_flood_publishes_nothing_and_the_server_still_serves);

/// How many guest calls found every guest thread held and ran on the overflow
/// pool (`airlock_guest_call_overflows_total`).
async fn overflows(env: &Env) -> u64 {
    let name = "airlock_guest_call_overflows_total";
    let (s, _, text) = crate::metrics::scrape(env, &env.url("/metrics"), Some(&env.token)).await;
    assert_eq!(s, 200);
    assert!(text.contains(name), "no overflow counter in:\n{text}");
    crate::metrics::sample(&text, name, &[]) as u64
}

/// Invokes the probe's `work`; its status, answer and how long it took.
async fn probe_work(env: &Env, probe: &str) -> (u16, serde_json::Value, std::time::Duration) {
    let started = std::time::Instant::now();
    let (s, out) = env
        .admin(
            "POST",
            &format!("/api/connectors/{probe}/invoke/work"),
            Some(&json!({})),
        )
        .await;
    (s, out, started.elapsed())
}

/// Calls spinning to their deadline, more of them than the server has guest
/// threads, do not hold up another connector's call: a call that finds every
/// guest thread held runs on the overflow pool instead
/// (`registry/guest_threads.rs`), and is counted.
async fn spinning_calls_do_not_hold_up_another_connectors_call(db: Db) {
    use std::time::{Duration, Instant};
    let env = Env::start(db).await;
    let spin = env
        .register_and_upload("spin", "custom", guests::HOSTILE_SPIN)
        .await;
    let (s, d) = env
        .admin(
            "POST",
            &format!("/api/connectors/{spin}/deployments"),
            Some(&json!({"version": "0.1.0", "limits": {"cpu_ms": 10000}})),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let probe = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (path, empty) = (format!("/api/connectors/{spin}/invoke/run"), json!({}));
    let spinning = futures_util::future::join_all(
        (0..2 * cores + 2).map(|_| env.admin("POST", &path, Some(&empty))),
    );
    let other = async {
        // Two spinning calls overflowed: every guest thread holds a spinning one.
        // (Well inside the spinners' 10 s, so none has ended when the probe goes.)
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut before = overflows(&env).await;
        while before < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            before = overflows(&env).await;
        }
        assert!(before >= 2, "{before} overflows");
        let probed = probe_work(&env, &probe).await;
        (probed, before, overflows(&env).await)
    };
    let (spun, ((s, out, took), before, after)) = tokio::join!(spinning, other);
    assert_eq!(s, 200, "{out}");
    assert!(
        took < Duration::from_secs(3),
        "answered after {took:?}, behind the spinning calls (10 s each)"
    );
    assert_eq!(
        after,
        before + 1,
        "the probe's call did not overflow exactly once"
    );
    for (s, e) in spun {
        assert_eq!(s, 504, "{e}");
    }
    env.stop().await;
}
both!(spinning_calls_do_not_hold_up_another_connectors_call);

/// Calls waiting in the host (here a sleep; outbound HTTP and the kv load alike),
/// more of them than the server has guest threads, give their threads' places to
/// other calls: another connector's call is answered meanwhile on a guest thread,
/// not sent to the overflow pool.
async fn calls_waiting_in_the_host_give_their_threads_to_other_calls(db: Db) {
    use std::time::Duration;
    let env = Env::start(db).await;
    let sleeper = env
        .register_and_deploy("sleeper", "custom", guests::HOSTILE)
        .await;
    let probe = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (path, input) = (
        format!("/api/connectors/{sleeper}/invoke/sleep"),
        json!({"ms": 4000}),
    );
    let sleeping = futures_util::future::join_all(
        (0..2 * cores + 2).map(|_| env.admin("POST", &path, Some(&input))),
    );
    let other = async {
        // Once the sleeping calls are all waiting in the host.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let before = overflows(&env).await;
        let probed = probe_work(&env, &probe).await;
        (probed, before, overflows(&env).await)
    };
    let (slept, ((s, out, took), before, after)) = tokio::join!(sleeping, other);
    assert_eq!(s, 200, "{out}");
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    assert_eq!(after, before, "the probe's call overflowed");
    for (s, o) in slept {
        assert_eq!(s, 200, "{o}");
        assert!(o.to_string().contains("slept"), "{o}");
    }
    env.stop().await;
}
both!(calls_waiting_in_the_host_give_their_threads_to_other_calls);
