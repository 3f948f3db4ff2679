//! GraphQL benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench graphql` loads 50 connectors (each with a
//! version and a deployment) on SQLite, then measures, over `CONNECTIONS`
//! keep-alive connections for `AIRLOCK_BENCH_SECONDS` (default 5) each:
//! - the REST listing `GET /api/connectors?limit=50` (catalogue views only);
//! - the same page through GraphQL, views only;
//! - the same page through GraphQL with each connector's versions and deployments
//!   (with their last poll) — what REST needs 1 + 50 requests for;
//! - REST's way to the same answer: the listing, then `GET /api/connectors/{id}`
//!   for each, counted as pages/s.
//!
//! And the database sessions each request opens, with 10 and with 50 connectors:
//! a constant number means no query per connector (N+1).
//!
//! The load generator runs in this process, sharing the two cores with the server;
//! the figures compare the routes under the same conditions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::{Duration, Instant};

use airlock_tests::bench::{LocalServer, load, pct};
use airlock_tests::guests;
use serde_json::{Value, json};

const CONNECTIONS: usize = 16;

const VIEWS: &str = "{ connectors(first: 50) { totalCount edges { node { id name status statusReason latestVersion } } } }";
const FULL: &str = "{ connectors(first: 50) { totalCount edges { node { id name status statusReason latestVersion \
    versions { version digest createdAt } deployments { target version config lastPoll { outcome } } } } } }";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let local = LocalServer::start(CONNECTIONS).await;
    let (base, http, token) = (local.base.clone(), local.http.clone(), local.token.clone());
    let store = local.server.store.clone();
    let mut ids = Vec::new();
    let mut sessions = Vec::new();
    for i in 0..50 {
        let id = airlock_tests::register_and_upload(
            &http,
            &base,
            &token,
            &format!("probe-{i:02}"),
            "telemetry",
            guests::PROBE,
        )
        .await;
        let r = http
            .post(format!("{base}/api/connectors/{id}/deployments"))
            .bearer_auth(&token)
            .json(&json!({"version": "0.1.0", "config": {"label": format!("p{i}")}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        ids.push(id);
        if i == 9 || i == 49 {
            sessions.push((i + 1, count_sessions(&local, &store).await));
        }
    }

    let get = |url: String| {
        let (http, token) = (http.clone(), token.clone());
        move |_: usize, _: u64| http.get(&url).bearer_auth(&token)
    };
    let graphql = |query: &'static str| {
        let (http, token) = (http.clone(), token.clone());
        let url = format!("{base}/graphql");
        let body = json!({ "query": query }).to_string();
        move |_: usize, _: u64| {
            http.post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.clone())
        }
    };
    let (rest_rate, rest_lat) = load(
        CONNECTIONS,
        get(format!("{base}/api/connectors?limit=50")),
        200,
    )
    .await;
    let (views_rate, views_lat) = load(CONNECTIONS, graphql(VIEWS), 200).await;
    let (full_rate, full_lat) = load(CONNECTIONS, graphql(FULL), 200).await;
    let (pages_rate, pages_lat) = rest_pages(&local, &ids).await;
    local.stop().await;

    println!("| measure | result |");
    println!("| --- | --- |");
    let row = |what: &str, rate: f64, lat: &[f64], unit: &str| {
        println!(
            "| {what} | {rate:.0} {unit} (p50 {:.2} ms, p99 {:.2} ms) |",
            pct(lat, 0.5),
            pct(lat, 0.99)
        );
    };
    row(
        "REST GET /api/connectors?limit=50 (views)",
        rest_rate,
        &rest_lat,
        "req/s",
    );
    row(
        "GraphQL connectors(first: 50) (views)",
        views_rate,
        &views_lat,
        "req/s",
    );
    row(
        "GraphQL connectors(first: 50) with versions, deployments",
        full_rate,
        &full_lat,
        "req/s",
    );
    row(
        "REST listing + 50 × GET /api/connectors/{id} (the same data)",
        pages_rate,
        &pages_lat,
        "pages/s",
    );
    for (n, (rest, views, full)) in sessions {
        println!(
            "| database sessions per request, {n} connectors | REST list {rest}, GraphQL views {views}, GraphQL with versions and deployments {full} |"
        );
    }
}

/// The database sessions (acting for the tenant) one request of each kind opens.
async fn count_sessions(
    local: &LocalServer,
    store: &airlock_host::store::Store,
) -> (u64, u64, u64) {
    let one = |req: reqwest::RequestBuilder| async move {
        local.server.recorder.flush().await;
        let before = store.sessions_opened().0;
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().await.unwrap();
        assert!(v.get("errors").is_none(), "{v}");
        store.sessions_opened().0 - before
    };
    let gql = |q: &str| {
        local
            .http
            .post(format!("{}/graphql", local.base))
            .bearer_auth(&local.token)
            .json(&json!({ "query": q }))
    };
    let rest = one(local
        .http
        .get(format!("{}/api/connectors?limit=50", local.base))
        .bearer_auth(&local.token))
    .await;
    (rest, one(gql(VIEWS)).await, one(gql(FULL)).await)
}

/// REST's way to a page with versions and deployments: the listing, then each
/// connector in full, 8 connections at a time; pages/s and each page's latency.
async fn rest_pages(local: &LocalServer, ids: &[String]) -> (f64, Vec<f64>) {
    let deadline = Instant::now() + Duration::from_secs(airlock_tests::bench::seconds());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, base, token, ids) = (
            local.http.clone(),
            local.base.clone(),
            local.token.clone(),
            ids.to_vec(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = http
                    .get(format!("{base}/api/connectors?limit=50"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                r.bytes().await.unwrap();
                for id in &ids {
                    let r = http
                        .get(format!("{base}/api/connectors/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                    r.bytes().await.unwrap();
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    (rate, all)
}
