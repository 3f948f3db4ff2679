//! Scheduler benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench scheduler` deploys the `probe` connector's
//! trivial poll to `DEPLOYMENTS` targets on `every 1s` in one `airlock serve` (in
//! process, SQLite in a temp dir), lets the schedule settle, then measures for
//! `AIRLOCK_BENCH_SECONDS` (default 5, at least 10 here): polls/s sustained,
//! scheduling lag (poll start minus due time) p50/p99 (goal p99 ≤ 100 ms), the mean
//! time of a poll (call, screening, the commit of outputs, record and cursor), and
//! the server process's CPU per poll.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::{Duration, Instant};

use airlock_tests::bench::{LocalServer, pct};
use airlock_tests::guests;
use serde_json::json;

const DEPLOYMENTS: usize = 1000;

/// This process's user + system CPU time.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces) start at `) `.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = airlock_tests::bench::seconds().max(10);
    let local = LocalServer::start(4).await;
    let (base, http, token) = (&local.base, &local.http, &local.token);
    let id =
        airlock_tests::register_and_upload(http, base, token, "probe", "telemetry", guests::PROBE)
            .await;
    let deployed = Instant::now();
    for t in 0..DEPLOYMENTS {
        let r = http
            .post(format!("{base}/api/connectors/{id}/deployments"))
            .bearer_auth(token)
            .json(&json!({"version": "0.1.0", "target": format!("t{t}"), "schedule": "every 1s"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    eprintln!(
        "deployed {DEPLOYMENTS} targets in {:.1} s; settling",
        deployed.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(5)).await;

    let store = &local.server.store;
    let lags_before = local.server.scheduler.lags_ms().len();
    let since = airlock_host::time::now_ms();
    let (cpu0, t0) = (cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu1, elapsed) = (cpu(), t0.elapsed());
    let (polls, mean_ms) = store.poll_totals(since).await.unwrap();
    let lags = local.server.scheduler.lags_ms();
    let mut window: Vec<f64> = lags[lags_before.min(lags.len())..]
        .iter()
        .map(|&l| l as f64)
        .collect();
    window.sort_by(f64::total_cmp);
    let per_s = polls as f64 / elapsed.as_secs_f64();
    let cpu_per_poll_us = (cpu1 - cpu0).as_secs_f64() * 1e6 / polls.max(1) as f64;

    println!(
        "scheduler: {DEPLOYMENTS} deployments of a trivial poll on `every 1s`, SQLite, 2 cores"
    );
    println!("| measure | result | goal |");
    println!("| --- | --- | --- |");
    println!("| polls/s sustained ({seconds} s) | {per_s:.0}/s | {DEPLOYMENTS}/s |");
    if !window.is_empty() {
        println!(
            "| scheduling lag p50 | {:.0} ms | report |",
            pct(&window, 0.50)
        );
        println!(
            "| scheduling lag p99 | {:.0} ms (max {:.0} ms) | ≤ 100 ms |",
            pct(&window, 0.99),
            window[window.len() - 1]
        );
    }
    println!("| mean poll (call + screen + commit) | {mean_ms:.2} ms | report |");
    println!("| server CPU per poll (all of it) | {cpu_per_poll_us:.0} µs | report |");
    local.stop().await;
}
