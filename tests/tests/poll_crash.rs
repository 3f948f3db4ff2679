//! Scheduled polls survive SIGKILL: `osint-feed` pages through a 5 000-row feed on
//! a real HTTPS upstream (test CA, `--outbound-ca`, `--outbound-resolve`) while the
//! real `airlock serve` process is killed several times mid-run and restarted on
//! the same data (SQLite, then a fresh PostgreSQL database). Afterwards every
//! row's indicator is on the bus exactly once: a poll's outputs and its cursor
//! commit together, and a poll repeated after a crash publishes nothing twice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use airlock_tests::feed::FeedServer;
use serde_json::{Value, json};

const ROWS: usize = 5_000;
const PAGE: usize = 100;
/// Kill the server when this many pages were published.
const KILL_AT: [usize; 4] = [5, 15, 25, 35];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_indicators_survive_sigkill_and_are_published_once_on_sqlite() {
    survive_sigkill(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_indicators_survive_sigkill_and_are_published_once_on_postgres() {
    survive_sigkill(Some(airlock_tests::postgres::fresh_url().await)).await;
}

/// Indicator id → times published, and the number of messages.
async fn published(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> (HashMap<String, usize>, usize) {
    let mut seen = HashMap::new();
    let (mut after, mut messages) = (0, 0);
    loop {
        let Ok(r) = http
            .get(format!("{base}/api/events?limit=1000&after={after}"))
            .bearer_auth(token)
            .send()
            .await
        else {
            return (seen, messages);
        };
        let Ok(page) = r.json::<Value>().await else {
            return (seen, messages);
        };
        let Some(items) = page["items"].as_array() else {
            return (seen, messages);
        };
        if items.is_empty() {
            return (seen, messages);
        }
        for m in items {
            messages += 1;
            for o in m["body"]["objects"].as_array().unwrap() {
                if o["type"] == "indicator" {
                    *seen
                        .entry(o["id"].as_str().unwrap().to_string())
                        .or_insert(0) += 1;
                }
            }
        }
        after = page["next_after"].as_i64().unwrap();
    }
}

async fn survive_sigkill(database: Option<String>) {
    let database = database.as_deref();
    let dir = std::env::temp_dir().join(format!("airlock-poll-crash-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = FeedServer::start();
    feed.append(0, ROWS);
    // Polls are in flight most of the time: kills land mid-poll.
    feed.set_delay_ms(40);
    std::fs::write(dir.join("ca.pem"), &feed.ca_pem).unwrap();
    let mut args = vec![
        "--outbound-ca".to_string(),
        dir.join("ca.pem").display().to_string(),
        // A restarted node releases its own leases at once; this bounds the rest.
        "--poll-lease".to_string(),
        "2".to_string(),
    ];
    for rule in feed.resolve_rules() {
        args.push("--outbound-resolve".into());
        args.push(rule);
    }
    let port = airlock_tests::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut child = airlock_tests::serve_process(&dir, port, database, &args);
    airlock_tests::wait_healthy(&http, &base).await;
    let boot: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bootstrap.json")).unwrap()).unwrap();
    let token = airlock_tests::bootstrap_token(&http, &base, &boot).await;
    let id = airlock_tests::register_and_upload(
        &http,
        &base,
        &token,
        "osint-feed",
        "osint",
        airlock_tests::guests::OSINT_FEED,
    )
    .await;
    let r = http
        .post(format!("{base}/api/connectors/{id}/deployments"))
        .bearer_auth(&token)
        .json(&json!({
            "version": "0.1.0",
            "config": {"feed_url": "https://feeds.example.org/v1/indicators.csv", "page_size": PAGE},
            "allowed_hosts": ["https://feeds.example.org"],
            "allowed_networks": ["127.0.0.1/32"],
            "schedule": "every 1s",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let mut kills = 0;
    for mark in KILL_AT {
        let deadline = Instant::now() + Duration::from_secs(120);
        while published(&http, &base, &token).await.1 < mark {
            assert!(Instant::now() < deadline, "stuck before {mark} pages");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        child = airlock_tests::serve_process(&dir, port, database, &args);
        airlock_tests::wait_healthy(&http, &base).await;
    }

    let deadline = Instant::now() + Duration::from_secs(180);
    let (seen, messages) = loop {
        let (seen, messages) = published(&http, &base, &token).await;
        if seen.len() >= ROWS || Instant::now() > deadline {
            break (seen, messages);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(kills, KILL_AT.len());
    assert_eq!(seen.len(), ROWS, "every row's indicator published");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    assert_eq!(messages, ROWS / PAGE, "one bundle per page");
    // The kills interrupted polls: some feed pages were requested more than once.
    let requests = feed.requests();
    eprintln!(
        "{ROWS} rows, {kills} SIGKILLs, {} feed requests for {} pages",
        requests.len(),
        ROWS / PAGE
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
