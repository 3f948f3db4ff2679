//! Nothing acknowledged is lost and nothing is published twice, however the server
//! dies: 10 000 signed events are pushed by eight senders while a real `airlock
//! serve` process is killed with SIGKILL four times and restarted on the same data
//! directory (and database: SQLite, then a fresh PostgreSQL database). Senders retry what got no answer with the same `webhook-id`, as
//! Standard Webhooks senders do. At the end every event that got a 202 is in the
//! bus's history exactly once, under the id its 202 gave, with its body.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use airlock_host::auth::push::{sign_webhook, webhook_key};
use serde_json::{Value, json};

const EVENTS: usize = 10_000;
const SENDERS: usize = 8;
/// Kill the server when this many events have been acknowledged.
const KILL_AT: [usize; 4] = [1_500, 3_500, 5_500, 7_500];

fn serve(dir: &std::path::Path, port: u16, database: Option<&str>) -> Child {
    airlock_tests::serve_process(dir, port, database, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill_and_are_published_exactly_once_on_sqlite() {
    survive_sigkill(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill_and_are_published_exactly_once_on_postgres() {
    survive_sigkill(Some(airlock_tests::postgres::fresh_url().await)).await;
}

async fn survive_sigkill(database: Option<String>) {
    let database = database.as_deref();
    let dir = std::env::temp_dir().join(format!("airlock-crash-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = airlock_tests::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut child = serve(&dir, port, database);
    airlock_tests::wait_healthy(&http, &base).await;

    let boot: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bootstrap.json")).unwrap()).unwrap();
    let admin = airlock_tests::bootstrap_token(&http, &base, &boot).await;
    let c: Value = http
        .post(format!("{base}/api/connectors/register"))
        .bearer_auth(&admin)
        .json(&json!({"name": "crash-feed", "category": "telemetry", "auth_method": "hmac-sha256"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{base}{}", c["webhook_path"].as_str().unwrap());
    let key = Arc::new(webhook_key(c["credential"]["secret"].as_str().unwrap()).unwrap());

    // Senders: each pushes its share, retrying an event until it gets a 202.
    let acked = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (http, url, key, acked) = (http.clone(), url.clone(), key.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            let mut ids = HashMap::new();
            let mut retries = 0usize;
            for n in (s..EVENTS).step_by(SENDERS) {
                let webhook_id = format!("evt-{n}");
                let body = format!(r#"{{"n": {n}}}"#);
                loop {
                    let ts = airlock_tests::unix_now();
                    let sent = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("webhook-id", &webhook_id)
                        .header("webhook-timestamp", ts.to_string())
                        .header(
                            "webhook-signature",
                            sign_webhook(&key, &webhook_id, ts, body.as_bytes()),
                        )
                        .body(body.clone())
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 202 => {
                            let a: Value = r.json().await.unwrap();
                            ids.insert(n, a["id"].as_str().unwrap().to_string());
                            acked.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Ok(r) if r.status().is_client_error() => {
                            panic!("event {n}: {} {}", r.status(), r.text().await.unwrap())
                        }
                        // No answer, or a 5xx while the server went down: again.
                        _ => {
                            retries += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
            (ids, retries)
        }));
    }

    // The killer: SIGKILL at each mark, restart at once on the same directory.
    let mut kills = 0;
    for mark in KILL_AT {
        while acked.load(Ordering::SeqCst) < mark {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        child = serve(&dir, port, database);
        airlock_tests::wait_healthy(&http, &base).await;
    }

    let mut acknowledged: HashMap<usize, String> = HashMap::new();
    let mut retries = 0;
    for s in senders {
        let (ids, r) = s.await.unwrap();
        acknowledged.extend(ids);
        retries += r;
    }
    assert_eq!(kills, KILL_AT.len());
    assert_eq!(acknowledged.len(), EVENTS);
    assert!(
        retries > 0,
        "the kills interrupted no sender: the test proved nothing"
    );

    // Every acknowledged event published once: page through the whole history.
    let admin = airlock_tests::bootstrap_token(&http, &base, &boot).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let published = loop {
        let mut by_event: HashMap<String, Vec<Value>> = HashMap::new();
        let mut after = 0;
        let mut total = 0;
        loop {
            let page: Value = http
                .get(format!("{base}/api/events?limit=1000&after={after}"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let items = page["items"].as_array().unwrap();
            if items.is_empty() {
                break;
            }
            total += items.len();
            for m in items {
                by_event
                    .entry(m["source"]["id"].as_str().unwrap().to_string())
                    .or_default()
                    .push(m["body"].clone());
            }
            after = page["next_after"].as_i64().unwrap();
        }
        if total >= EVENTS || Instant::now() > deadline {
            assert_eq!(
                total, EVENTS,
                "messages published (each event exactly once)"
            );
            break by_event;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for (n, id) in &acknowledged {
        let bodies = published
            .get(id)
            .unwrap_or_else(|| panic!("event {n} (id {id}) was acknowledged but never published"));
        assert_eq!(
            bodies,
            &vec![json!({"n": n})],
            "event {n} published once, as sent"
        );
    }
    eprintln!(
        "{EVENTS} events, {kills} SIGKILLs, {retries} retried sends, {} published",
        published.len()
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
