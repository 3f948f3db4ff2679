//! Ingestion benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench ingest` measures, on one thread, what a
//! signed push costs before its body is trusted: Standard Webhooks HMAC-SHA256
//! verification of a 4 KiB body, and the API-key format check. (The end-to-end
//! events/s over loopback joins this table when the ingest endpoint lands.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::Instant;

use airlock_host::auth::push::{
    WebhookHeaders, check_api_key_format, new_api_key, new_webhook_secret, sign_webhook,
    verify_webhook, webhook_key,
};

fn main() {
    println!("| measure | result | goal |");
    println!("| --- | --- | --- |");
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
