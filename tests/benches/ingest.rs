//! Ingestion benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench ingest` measures, on one thread, what a
//! signed push costs before its body is trusted: Standard Webhooks HMAC-SHA256
//! verification of a 4 KiB body, and the API-key format check; then signed events
//! through `POST /api/events/ingest/{tenant}/{connector}` on SQLite: events/s
//! acknowledged (202, after commit) and the ack latency, with 32 concurrent senders
//! (keep-alive connections) for `AIRLOCK_BENCH_SECONDS` (default 5), from a load generator in this process on loopback (it signs every event,
//! as a sender would); and how far behind the asynchronous half (validate, publish)
//! was when the load stopped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::Instant;

use airlock_host::store::SqliteSync;
use airlock_tests::bench::{LocalServer, load, pct};
use airlock_tests::unix_now;
use serde_json::{Value, json};

use airlock_host::auth::push::{
    WebhookHeaders, check_api_key_format, new_api_key, new_webhook_secret, sign_webhook,
    verify_webhook, webhook_key,
};

/// Concurrent senders, each a keep-alive connection sending one event after
/// another: the load is closed-loop, so throughput is senders / ack latency. (64
/// senders were measured too: no more events/s, twice the p99.)
const CONNECTIONS: usize = 32;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("| measure | result | goal |");
    println!("| --- | --- | --- |");
    primitives();
    ingest_over_http(CONNECTIONS, SqliteSync::Full).await;
    ingest_over_http(CONNECTIONS, SqliteSync::Normal).await;
}

/// One run on a fresh server and database.
async fn ingest_over_http(connections: usize, sync: SqliteSync) {
    let local = LocalServer::start_with(connections, |o| o.sqlite_sync = sync).await;
    let mode = match sync {
        SqliteSync::Full => "synchronous=FULL",
        SqliteSync::Normal => "synchronous=NORMAL",
    };
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
    let (rate, latencies) = load(connections, signed, 202).await;
    println!(
        "| signed events acknowledged after commit, SQLite {mode}, {connections} senders on loopback | {rate:.0} events/s | ≥ 5 000/s |"
    );
    println!(
        "| their ack latency ({mode}, {connections} senders) | p50 {:.1} ms, p99 {:.1} ms | p99 ≤ 50 ms |",
        pct(&latencies, 0.5),
        pct(&latencies, 0.99)
    );
    // The asynchronous half ran alongside: how far behind was it when the load
    // stopped? (Acknowledging fast by leaving the publishing for later would show
    // here.)
    let store = local.server.store.clone();
    let (tenant, connector) = (
        c["webhook_path"]
            .as_str()
            .unwrap()
            .split('/')
            .nth(4)
            .unwrap()
            .to_string(),
        c["id"].as_str().unwrap().to_string(),
    );
    let stopped = Instant::now();
    loop {
        let states = store.event_states(&tenant, &connector).await.unwrap();
        if !states.iter().any(|(s, _)| s == "received") {
            let processed: i64 = states.iter().map(|(_, n)| n).sum();
            println!(
                "| the same events validated and published on the bus (pipeline, {mode}) | all {processed} within {:.2} s of the last ack | report |",
                stopped.elapsed().as_secs_f64()
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
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

    // RFC 9421 with a 2048-bit key: the signature from the headers, then the body's
    // Content-Digest.
    use airlock_host::auth::httpsig::{self, Alg};
    use rsa::pkcs8::DecodePrivateKey as _;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rsa");
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(
        &std::fs::read_to_string(format!("{fixtures}/sender.pem")).unwrap(),
    )
    .unwrap();
    let public = httpsig::parse_public_key(
        &std::fs::read_to_string(format!("{fixtures}/sender.pub.pem")).unwrap(),
    )
    .unwrap();
    for alg in [Alg::RsaPssSha512, Alg::RsaV15Sha256] {
        let signed = httpsig::sign(&private, "key_b", alg, "POST", "/p", &body, now, None).unwrap();
        let mut headers = axum::http::HeaderMap::new();
        for (k, v) in &signed {
            headers.insert(*k, v.parse().unwrap());
        }
        let req = httpsig::Request {
            method: "POST",
            path: "/p",
            query: None,
            scheme: "http",
            headers: &headers,
        };
        let n = 2_000;
        let t = Instant::now();
        for _ in 0..n {
            httpsig::verify(&req, &[("key_b", &public)], now).unwrap();
            httpsig::check_content_digest(&signed[0].1, std::hint::black_box(&body)).unwrap();
        }
        println!(
            "| RFC 9421 {} verification (2048-bit key) + Content-Digest of a 4 KiB body | {:.1} µs | report |",
            alg.name(),
            t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        );
    }
}
