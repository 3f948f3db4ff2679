//! Server benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench server` measures, on SQLite in a temp dir:
//! - the cost `Recorder::record` adds to a guest call (goal ≤ 1 µs);
//! - heartbeats/s through `POST /api/connectors/{id}/heartbeat` (goal ≥ 10 000);
//! - invokes/s of a trivial action through `POST …/invoke/work` (goal ≥ 5 000).
//!
//! The load generator runs in this process on loopback: `CONNECTIONS` keep-alive
//! connections for `SECONDS` each (env `AIRLOCK_BENCH_SECONDS`, default 5), sharing
//! the machine's cores with the server, as a client on the same host would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::{Duration, Instant};

use airlock_host::health::{HealthPolicy, Recorder};
use airlock_host::store::{HeartbeatRow, Store};
use airlock_tests::bench::{LocalServer, load, pct};
use airlock_tests::guests;
use serde_json::{Value, json};

const CONNECTIONS: usize = 32;

async fn record_cost() -> f64 {
    let dir = std::env::temp_dir().join(format!("airlock-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&Store::sqlite_url(&dir)).await.unwrap();
    let recorder = Recorder::start(store, HealthPolicy::default());
    let beat = HeartbeatRow {
        tenant_id: "t".into(),
        connector_id: "c".into(),
        at_ms: 0,
        latency_ms: Some(1.0),
        ok: true,
        error_kind: None,
        detail: None,
        source: "call".into(),
    };
    // Rounds of 10 000 with a flush between, so the channel never fills and every
    // record takes the path a live call takes.
    let mut total = Duration::ZERO;
    let rounds = 20;
    for _ in 0..rounds {
        let batch: Vec<HeartbeatRow> = (0..10_000).map(|_| beat.clone()).collect();
        let started = Instant::now();
        for b in batch {
            recorder.record(b);
        }
        total += started.elapsed();
        recorder.flush().await;
    }
    assert_eq!(recorder.dropped(), 0);
    let _ = std::fs::remove_dir_all(&dir);
    total.as_secs_f64() * 1e9 / f64::from(rounds * 10_000)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let record_ns = record_cost().await;

    let local = LocalServer::start(CONNECTIONS).await;
    let (base, http, token) = (local.base.clone(), local.http.clone(), local.token.clone());
    let id = airlock_tests::register_and_upload(
        &http,
        &base,
        &token,
        "probe",
        "telemetry",
        guests::PROBE,
    )
    .await;
    let r = http
        .post(format!("{base}/api/connectors/{id}/deployments"))
        .bearer_auth(&token)
        .json(&json!({"version": "0.1.0"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    if let Ok(secs) = std::env::var("AIRLOCK_BENCH_SERVE_FOR") {
        // For an external load generator (wrk): print what it needs, then serve.
        println!("BASE={base}\nID={id}\nTOKEN={token}");
        tokio::time::sleep(Duration::from_secs(secs.parse().unwrap())).await;
        local.stop().await;
        return;
    }
    // A JSON POST with the token, `CONNECTIONS` at a time.
    let post = |url: String, body: Value| {
        let (http, token, body) = (http.clone(), token.clone(), body.to_string());
        move |_: usize, _: u64| {
            http.post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.clone())
        }
    };
    let (hb_rate, hb_lat) = load(
        CONNECTIONS,
        post(
            format!("{base}/api/connectors/{id}/heartbeat"),
            json!({"latency_ms": 3, "status": "ok"}),
        ),
        202,
    )
    .await;
    let (inv_rate, inv_lat) = load(
        CONNECTIONS,
        post(format!("{base}/api/connectors/{id}/invoke/work"), json!({})),
        200,
    )
    .await;
    local.server.recorder.flush().await;
    let dropped = local.server.recorder.dropped();
    local.stop().await;

    println!("| measure | result | goal |");
    println!("| --- | --- | --- |");
    println!("| heartbeat recording on the call path | {record_ns:.0} ns | ≤ 1 µs |");
    println!(
        "| heartbeats/s through the API ({CONNECTIONS} connections) | {hb_rate:.0}/s (p50 {:.2} ms, p99 {:.2} ms) | ≥ 10 000/s |",
        pct(&hb_lat, 0.5),
        pct(&hb_lat, 0.99)
    );
    println!(
        "| invokes/s of a trivial action through the API | {inv_rate:.0}/s (p50 {:.2} ms, p99 {:.2} ms) | ≥ 5 000/s |",
        pct(&inv_lat, 0.5),
        pct(&inv_lat, 0.99)
    );
    println!("| heartbeats dropped (writer behind) | {dropped} | 0 |");
}
