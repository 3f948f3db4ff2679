//! Ingestion benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench ingest` measures, on one thread, what a
//! signed push costs before its body is trusted: Standard Webhooks HMAC-SHA256
//! verification of a 4 KiB body, and the API-key format check; then signed events
//! through `POST /api/events/ingest/{tenant}/{connector}` on SQLite: events/s
//! acknowledged (202, after commit) and the ack latency, with `CONNECTIONS`
//! keep-alive connections for `AIRLOCK_BENCH_SECONDS` (default 5) from a load
//! generator in this process on loopback (it signs every event, as a sender would).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::Instant;

use airlock_tests::bench::{LocalServer, load, pct};
use serde_json::{Value, json};

use airlock_host::auth::push::{
    WebhookHeaders, check_api_key_format, new_api_key, new_webhook_secret, sign_webhook,
    verify_webhook, webhook_key,
};

const CONNECTIONS: usize = 32;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("| measure | result | goal |");
    println!("| --- | --- | --- |");
    primitives();
    ingest_over_http().await;
}

async fn ingest_over_http() {
    let local = LocalServer::start(CONNECTIONS).await;
    let c: Value = local
        .http
        .post(format!("{}/api/connectors/register", local.base))
        .bearer_auth(&local.token)
        .json(&json!({"name": "bench-hub", "category": "telemetry", "auth_method": "hmac-sha256"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{}{}", local.base, c["webhook_path"].as_str().unwrap());
    let key = webhook_key(c["credential"]["secret"].as_str().unwrap()).unwrap();
    let body = json!({"reading": 21.5, "unit": "C", "sensor": "bench-0001"}).to_string();
    let http = local.http.clone();
    // Every event signed by the sender, as a real one would (before the clock starts).
    let signed = move |conn: usize, n: u64| {
        let id = format!("evt_{conn}_{n}");
        let ts = unix_now();
        http.post(&url)
            .header("content-type", "application/json")
            .header(
                "webhook-signature",
                sign_webhook(&key, &id, ts, body.as_bytes()),
            )
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .body(body.clone())
    };
    let (rate, latencies) = load(CONNECTIONS, signed, 202).await;
    println!(
        "| signed events acknowledged after commit, SQLite, {CONNECTIONS} connections on loopback | {rate:.0} events/s | ≥ 5 000/s |"
    );
    println!(
        "| their ack latency | p50 {:.1} ms, p99 {:.1} ms | p99 ≤ 50 ms |",
        pct(&latencies, 0.5),
        pct(&latencies, 0.99)
    );
    local.stop().await;
}

fn primitives() {
    let key = webhook_key(&new_webhook_secret().unwrap()).unwrap();
    let body: Vec<u8> = (0..4096).map(|i| b'a' + (i % 26) as u8).collect();
    let now = 1_763_900_000;
    let sig = sign_webhook(&key, "evt_0123456789", now, &body);
    let ts = now.to_string();
    let headers = WebhookHeaders {
        id: Some("evt_0123456789"),
        timestamp: Some(&ts),
        signature: Some(&sig),
    };
    let n = 200_000;
    let mut samples = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(verify_webhook(
                &[&key],
                headers,
                std::hint::black_box(&body),
                now,
            ))
            .unwrap();
        }
        samples.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "| HMAC-SHA256 (Standard Webhooks) verification of a 4 KiB body, median of 7 × {n} | {:.2} µs | ≤ 5 µs |",
        samples[3]
    );

    let api_key = new_api_key().unwrap();
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(check_api_key_format(std::hint::black_box(&api_key))).unwrap();
    }
    println!(
        "| API key format and checksum check (before any lookup) | {:.2} µs | report |",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}
