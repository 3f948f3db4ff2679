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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airlock_host::server::ServeOptions;
use serde_json::{Value, json};

use airlock_host::auth::push::{
    WebhookHeaders, check_api_key_format, new_api_key, new_webhook_secret, sign_webhook,
    verify_webhook, webhook_key,
};

const CONNECTIONS: usize = 32;

fn seconds() -> u64 {
    std::env::var("AIRLOCK_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

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
    let data_dir = std::env::temp_dir().join(format!("airlock-bench-{}", uuid::Uuid::new_v4()));
    let mut opts = ServeOptions::new(&data_dir);
    opts.listen = "127.0.0.1:0".parse().unwrap();
    let server = airlock_host::server::start(opts).await.unwrap();
    let base = format!("http://{}", server.addr);
    let b: Value =
        serde_json::from_slice(&std::fs::read(data_dir.join("bootstrap.json")).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", b["client_id"].as_str().unwrap()),
            ("client_secret", b["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c: Value = http
        .post(format!("{base}/api/connectors/register"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({"name": "bench-hub", "category": "telemetry", "auth_method": "hmac-sha256"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{base}{}", c["webhook_path"].as_str().unwrap());
    let key = Arc::new(webhook_key(c["credential"]["secret"].as_str().unwrap()).unwrap());
    let body = Arc::new(json!({"reading": 21.5, "unit": "C", "sensor": "bench-0001"}).to_string());

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for conn in 0..CONNECTIONS {
        let (http, url, key, body, stop, done) = (
            http.clone(),
            url.clone(),
            key.clone(),
            body.clone(),
            stop.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let id = format!("evt_{conn}_{n}");
                let ts = unix_now();
                let sig = sign_webhook(&key, &id, ts, body.as_bytes());
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", sig)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 202);
                r.bytes().await.unwrap();
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                done.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds())).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "| signed events acknowledged after commit, SQLite, {CONNECTIONS} connections on loopback | {rate:.0} events/s | ≥ 5 000/s |"
    );
    println!(
        "| their ack latency | p50 {:.1} ms, p99 {:.1} ms | p99 ≤ 50 ms |",
        pct(0.5),
        pct(0.99)
    );
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
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
