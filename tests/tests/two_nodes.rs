//! Two real `airlock serve` processes on one PostgreSQL share a scheduled
//! deployment: it is polled once per period in all (never by both at once), and
//! when the node that polled last is killed the other carries on within the lease.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The deployment's polls, oldest first.
async fn polls(http: &reqwest::Client, base: &str, token: &str, id: &str) -> Vec<Value> {
    let page: Value = http
        .get(format!(
            "{base}/api/connectors/{id}/deployments/default/polls?limit=1000"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut items = page["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

fn ms(t: &Value) -> i64 {
    airlock_sdk::time::Timestamp::parse(t.as_str().unwrap())
        .unwrap()
        .unix_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_is_polled_once_per_period_across_two_nodes() {
    let database = airlock_tests::postgres::fresh_url().await;
    let root = std::env::temp_dir().join(format!("airlock-two-nodes-{}", uuid::Uuid::new_v4()));
    let (dir_a, dir_b) = (root.join("a"), root.join("b"));
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let args = vec!["--poll-lease".to_string(), "2".to_string()];
    let (port_a, port_b) = (airlock_tests::free_port(), airlock_tests::free_port());
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    let http = reqwest::Client::new();
    let mut a = airlock_tests::serve_process(&dir_a, port_a, Some(&database), &args);
    airlock_tests::wait_healthy(&http, &base_a).await;
    // Nodes of one deployment share its keys (DESIGN.md); each has its own node id.
    for key in [
        "jwt-ed25519.key",
        "secrets.key",
        "audit.key",
        "compile-cache.key",
    ] {
        std::fs::copy(dir_a.join(key), dir_b.join(key)).unwrap();
    }
    let mut b = airlock_tests::serve_process(&dir_b, port_b, Some(&database), &args);
    airlock_tests::wait_healthy(&http, &base_b).await;
    let boot: Value =
        serde_json::from_slice(&std::fs::read(dir_a.join("bootstrap.json")).unwrap()).unwrap();
    let token = airlock_tests::bootstrap_token(&http, &base_a, &boot).await;

    let id = airlock_tests::register_and_upload(
        &http,
        &base_a,
        &token,
        "probe",
        "telemetry",
        airlock_tests::guests::PROBE,
    )
    .await;
    // Its first run pages (cursor none → 1 → 2 → 3); every later run is one page.
    let r = http
        .post(format!("{base_b}/api/connectors/{id}/deployments"))
        .bearer_auth(&token)
        .json(&json!({"version": "0.1.0", "schedule": "every 1s", "limits": {"wall_ms": 1000}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    // Let the first run finish, then count 20 s of polls.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = polls(&http, &base_a, &token, &id).await.len();
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let all = polls(&http, &base_b, &token, &id).await;
    let window = &all[before..];
    eprintln!(
        "{} polls in {:?}, by {:?}",
        window.len(),
        start.elapsed(),
        window
            .iter()
            .map(|p| p["node"].as_str().unwrap())
            .collect::<std::collections::BTreeSet<_>>()
    );
    assert!(
        (18..=22).contains(&window.len()),
        "{} polls in 20 s of `every 1s`",
        window.len()
    );
    // Never two at once: each poll finished before the next started.
    for pair in all.windows(2) {
        assert!(
            ms(&pair[0]["finished_at"]) <= ms(&pair[1]["started_at"]),
            "overlapping polls: {} and {}",
            pair[0],
            pair[1]
        );
    }
    assert!(all.iter().all(|p| p["outcome"] == "ok"), "{all:?}");

    // Kill the node that polled last; the other carries on within the lease
    // (wall clock 1 s + `--poll-lease 2`) plus a period.
    let last_node = all.last().unwrap()["node"].as_str().unwrap().to_string();
    let node_a = std::fs::read_to_string(dir_a.join("node-id")).unwrap();
    let (dead_base, live_base) = if last_node == node_a.trim() {
        a.kill().unwrap();
        a.wait().unwrap();
        (base_a.clone(), base_b.clone())
    } else {
        b.kill().unwrap();
        b.wait().unwrap();
        (base_b.clone(), base_a.clone())
    };
    let killed = Instant::now();
    let count = all.len();
    let deadline = killed + Duration::from_secs(10);
    let taken = loop {
        let now = polls(&http, &live_base, &token, &id).await;
        if let Some(p) = now[count..]
            .iter()
            .find(|p| p["node"] != last_node.as_str())
        {
            break p.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no poll by the surviving node 10 s after {dead_base} died"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "the surviving node polled {:?} after the kill",
        killed.elapsed()
    );
    assert_eq!(taken["outcome"], "ok");
    let _ = a.kill();
    let _ = b.kill();
    let _ = a.wait();
    let _ = b.wait();
    let _ = std::fs::remove_dir_all(&root);
}
