//! Scheduled polls end to end: the real example components in a real server,
//! polling a local HTTPS upstream (a test CA trusted with `--outbound-ca`'s
//! equivalent, the hosts sent to loopback with `--outbound-resolve`'s).

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use airlock_host::runtime::Transport;
use airlock_tests::feed::FeedServer;
use airlock_tests::guests;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env};

/// A server whose connectors reach `feed` as `feeds.example.org` and
/// `api.weather.gov`.
async fn env_for(db: Db, feed: &FeedServer) -> Env {
    let mut transport = Transport::default()
        .with_extra_roots(feed.ca_pem.as_bytes(), "test CA")
        .unwrap();
    for rule in feed.resolve_rules() {
        transport = transport.with_resolve(&rule).unwrap();
    }
    Env::start_configured(db, move |opts| opts.outbound = transport).await
}

/// Every published STIX message's indicators: id → how many times published.
async fn published_indicators(env: &Env) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    let mut after = 0;
    loop {
        let (s, page) = env
            .admin(
                "GET",
                &format!(
                    "/api/events?topic=airlock.{}.stix&after={after}&limit=1000",
                    env.tenant
                ),
                None,
            )
            .await;
        assert_eq!(s, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            return seen;
        }
        for m in items {
            assert_eq!(m["source"]["kind"], "poll", "{m}");
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

/// Waits until `n` distinct indicators were published (at most `secs`).
async fn wait_for_indicators(env: &Env, n: usize, secs: u64) -> BTreeMap<String, usize> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let seen = published_indicators(env).await;
        if seen.len() >= n || Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn polls(env: &Env, id: &str) -> Vec<Value> {
    let (s, p) = env
        .admin(
            "GET",
            &format!("/api/connectors/{id}/deployments/default/polls?limit=1000"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    p["items"].as_array().unwrap().clone()
}

/// Waits until a poll with `outcome` was recorded after `after` polls.
async fn wait_for_outcome(env: &Env, id: &str, outcome: &str, after: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = polls(env, id).await;
        let newer = all.len().saturating_sub(after);
        if all[..newer].iter().any(|p| p["outcome"] == outcome) || Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `osint-feed` 0.1.0 against the local feed, 100 rows a page, its host and the
/// loopback network granted.
fn osint_deployment() -> Value {
    json!({
        "version": "0.1.0",
        "config": {"feed_url": "https://feeds.example.org/v1/indicators.csv", "page_size": 100},
        "allowed_hosts": ["https://feeds.example.org"],
        "allowed_networks": ["127.0.0.1/32"],
    })
}

async fn deploy_osint(env: &Env, schedule: &str) -> String {
    let id = env
        .register_and_upload("osint-feed", "osint", guests::OSINT_FEED)
        .await;
    let (s, d) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&{
                let mut d = osint_deployment();
                d["limits"] = json!({"wall_ms": 2000});
                d["schedule"] = json!(schedule);
                d["stale_after"] = json!("1h");
                d
            }),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["schedule"], schedule);
    assert!(d["next_poll_at"].is_string(), "{d}");
    id
}

async fn osint_feed_on_a_schedule_publishes_every_indicator_once(db: Db) {
    let feed = FeedServer::start();
    feed.append(0, 1000);
    let env = env_for(db, &feed).await;
    let id = deploy_osint(&env, "every 2s").await;

    // The first run pages through the whole feed, 100 rows a page.
    let seen = wait_for_indicators(&env, 1000, 60).await;
    assert_eq!(seen.len(), 1000, "distinct indicators published");
    assert!(seen.values().all(|&n| n == 1), "each published once");
    let history = polls(&env, &id).await;
    assert!(history.len() >= 10, "{history:?}");
    let pages: Vec<&Value> = history.iter().filter(|p| p["outcome"] == "ok").collect();
    assert_eq!(pages.len(), 10, "{history:?}");
    for p in &pages {
        assert_eq!(p["published"], 1, "{p}");
        assert_ne!(p["cursor_before"], p["cursor_after"], "{p}");
        assert_eq!(p["started_by"], "schedule");
        assert_eq!(p["deployment"], "default");
    }
    // Newest first.
    let starts: Vec<&str> = history
        .iter()
        .map(|p| p["started_at"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, sorted);

    // Rows appended later are published by the next polls, once.
    feed.append(1000, 1020);
    let seen = wait_for_indicators(&env, 1020, 30).await;
    assert_eq!(seen.len(), 1020);
    assert!(seen.values().all(|&n| n == 1));

    // The deployment shows its schedule's state.
    let (_, c) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    let d = &c["deployments"][0];
    assert!(d["next_poll_at"].is_string(), "{d}");
    assert_eq!(d["consecutive_failures"], 0, "{d}");
    assert!(d["last_poll"]["outcome"].is_string(), "{d}");
    assert!(d["last_data_at"].is_string(), "{d}");
    assert_eq!(d["stale_after"], "1h");

    // A 429 with Retry-After: 3 (too long for the call's 2 s budget, so the
    // connector hands it back as rate-limited) delays the next poll by 3 s.
    let before = polls(&env, &id).await.len();
    feed.fail_next(429, &["Retry-After: 3"]);
    let all = wait_for_outcome(&env, &id, "rate_limited", before).await;
    let limited = all.iter().find(|p| p["outcome"] == "rate_limited").unwrap();
    assert_eq!(
        limited["cursor_before"], limited["cursor_after"],
        "{limited}"
    );
    let requests = feed.requests();
    let at = requests.iter().position(|r| r.2 == 429).unwrap();
    // Wait for the poll after it.
    let deadline = Instant::now() + Duration::from_secs(15);
    while feed.requests().len() <= at + 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let requests = feed.requests();
    let gap = requests[at + 1].0 - requests[at].0;
    assert!(
        gap >= Duration::from_millis(2900),
        "next request after {gap:?}"
    );

    // 500s (retried by the connector's client until its 2 s budget cannot cover
    // the next backoff, then handed back as a wait) fail the poll without moving
    // the cursor; the next poll goes on from the same cursor.
    let before = polls(&env, &id).await.len();
    for _ in 0..4 {
        feed.fail_next(500, &[]);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let failed = loop {
        let all = polls(&env, &id).await;
        let newer = &all[..all.len() - before];
        if let Some(p) = newer
            .iter()
            .find(|p| ["failed", "rate_limited"].contains(&p["outcome"].as_str().unwrap()))
        {
            break p.clone();
        }
        assert!(Instant::now() < deadline, "no failed poll: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed["cursor_before"], failed["cursor_after"], "{failed}");
    assert_eq!(failed["published"], 0, "{failed}");
    // And it backed off: the next poll started no sooner than 1.5 s after the
    // failed one finished (the period is 2 s), not at once.
    let deadline = Instant::now() + Duration::from_secs(15);
    let next = loop {
        let all = polls(&env, &id).await;
        let at = all.iter().position(|p| p["id"] == failed["id"]).unwrap();
        if at > 0 {
            break all[at - 1].clone();
        }
        assert!(Instant::now() < deadline, "no poll after the failed one");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ms = |v: &Value| {
        airlock_sdk::time::Timestamp::parse(v.as_str().unwrap())
            .unwrap()
            .unix_millis()
    };
    let gap = ms(&next["started_at"]) - ms(&failed["finished_at"]);
    assert!(gap >= 1500, "the next poll came {gap} ms after the failure");
    feed.append(1020, 1030);
    let seen = wait_for_indicators(&env, 1030, 30).await;
    assert_eq!(seen.len(), 1030);
    assert!(seen.values().all(|&n| n == 1));
    env.stop().await;
}
both!(osint_feed_on_a_schedule_publishes_every_indicator_once);

async fn cap_alerts_on_a_schedule_publish_valid_cap(db: Db) {
    let feed = FeedServer::start();
    feed.set_alerts(include_str!(
        "../../../example-guests/cap-alerts/tests/fixtures/nws-active.json"
    ));
    let env = env_for(db, &feed).await;
    let id = env
        .register_and_upload("cap-alerts", "telemetry", guests::CAP_ALERTS)
        .await;
    let (s, d) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&json!({
                "version": "0.1.0",
                "config": {"feed_url": "https://api.weather.gov/alerts/active",
                    "user_agent": "Airlock tests (ops@example.org)"},
                "allowed_hosts": ["https://api.weather.gov"],
                "allowed_networks": ["127.0.0.1/32"],
                "schedule": "every 1s",
            })),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let messages = loop {
        let (_, page) = env
            .admin(
                "GET",
                &format!("/api/events?topic=airlock.{}.cap", env.tenant),
                None,
            )
            .await;
        let items = page["items"].as_array().unwrap().clone();
        if !items.is_empty() || Instant::now() > deadline {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!messages.is_empty(), "no CAP alert was published");
    let mut ids = HashSet::new();
    for m in &messages {
        assert_eq!(m["standard"], "cap-1.2");
        let xml = m["body"].as_str().unwrap();
        let report =
            airlock_host::validate::validate(airlock_host::vocab::Standard::Cap12, xml.as_bytes());
        assert!(report.valid, "{report:?}");
        assert!(ids.insert(m["id"].as_str().unwrap().to_string()));
    }
    // Polled again and again, the same alerts are not published twice.
    let deadline = Instant::now() + Duration::from_secs(20);
    while polls(&env, &id).await.len() < 3 {
        assert!(Instant::now() < deadline, "fewer than 3 polls in 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, page) = env
        .admin(
            "GET",
            &format!("/api/events?topic=airlock.{}.cap", env.tenant),
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), messages.len());
    env.stop().await;
}
both!(cap_alerts_on_a_schedule_publish_valid_cap);

async fn poll_now_runs_one_page_and_disabled_connectors_pause(db: Db) {
    let feed = FeedServer::start();
    feed.append(0, 150);
    let env = env_for(db, &feed).await;
    // A long period: only "poll now" and the first scheduled run poll.
    let id = deploy_osint(&env, "every 1h").await;
    wait_for_indicators(&env, 150, 30).await;
    feed.append(150, 160);
    let (s, r) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments/default/poll"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    for key in [
        "id",
        "deployment",
        "started_at",
        "finished_at",
        "outcome",
        "outputs",
        "published",
        "quarantined",
        "cursor_before",
        "cursor_after",
        "error",
    ] {
        assert!(r.get(key).is_some(), "{key} missing in {r}");
    }
    assert_eq!(r["outcome"], "ok", "{r}");
    assert_eq!(r["published"], 1);
    assert_ne!(r["started_by"], "schedule");
    assert_eq!(published_indicators(&env).await.len(), 160);

    // Removed and made again to the same target: another deployment, whose pages
    // are published (not taken for the old one's), and whose history starts afresh.
    let (s, _) = env
        .admin(
            "DELETE",
            &format!("/api/connectors/{id}/deployments/default"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = env
        .admin(
            "GET",
            &format!("/api/connectors/{id}/deployments/default/polls"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (_, before) = env
        .admin(
            "GET",
            &format!("/api/events?topic=airlock.{}.stix&limit=1000", env.tenant),
            None,
        )
        .await;
    let (s, d) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments"),
            Some(&osint_deployment()),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let (s, r) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments/default/poll"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert!(r["cursor_before"].is_null(), "{r}");
    assert_eq!(r["published"], 1, "{r}");
    let (_, after) = env
        .admin(
            "GET",
            &format!("/api/events?topic=airlock.{}.stix&limit=1000", env.tenant),
            None,
        )
        .await;
    assert_eq!(
        after["items"].as_array().unwrap().len(),
        before["items"].as_array().unwrap().len() + 1,
        "the new deployment's page was published"
    );

    // Disabled: poll now is refused, the schedule pauses.
    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/disable"),
            Some(&json!({"reason": "maintenance"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments/default/poll"),
            None,
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "connector_disabled");
    // Unknown target, foreign tenant: 404.
    let (s, _) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/deployments/nope/poll"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let foreign = env.other_tenant_token().await;
    let (s, _) = env
        .call(
            "GET",
            &format!("/api/connectors/{id}/deployments/default/polls"),
            Some(&foreign),
            None,
        )
        .await;
    assert_eq!(s, 404);
    env.stop().await;
}
both!(poll_now_runs_one_page_and_disabled_connectors_pause);

async fn a_refused_config_pauses_the_schedule_and_a_silent_upstream_is_told_apart(db: Db) {
    let feed = FeedServer::start();
    let env = env_for(db, &feed).await;
    let id = env
        .register_and_upload("osint-feed", "osint", guests::OSINT_FEED)
        .await;
    let deploy = |grant: bool| {
        let env = &env;
        let id = id.clone();
        async move {
            let mut d = json!({
                "version": "0.1.0",
                "config": {"feed_url": "https://feeds.example.org/v1/indicators.csv"},
                "schedule": "every 1s",
                "stale_after": "1s",
            });
            if grant {
                d["allowed_hosts"] = json!(["https://feeds.example.org"]);
                d["allowed_networks"] = json!(["127.0.0.1/32"]);
            }
            let (s, v) = env
                .admin(
                    "POST",
                    &format!("/api/connectors/{id}/deployments"),
                    Some(&d),
                )
                .await;
            assert_eq!(s, 201, "{v}");
        }
    };
    // Not granted its host: the connector refuses its config, the schedule stops.
    deploy(false).await;
    let all = wait_for_outcome(&env, &id, "failed", 0).await;
    let failed = all.iter().find(|p| p["outcome"] == "failed").unwrap();
    assert!(
        failed["error"].as_str().unwrap().contains("grant"),
        "{failed}"
    );
    let (_, c) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    let d = &c["deployments"][0];
    assert!(
        d["paused_reason"].as_str().unwrap().contains("grant"),
        "{d}"
    );
    assert!(d["next_poll_at"].is_null(), "{d}");
    assert_ne!(c["status"], "active", "{c}");
    assert!(
        c["status_reason"].as_str().unwrap().contains("grant"),
        "{c}"
    );
    let paused = polls(&env, &id).await.len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        polls(&env, &id).await.len(),
        paused,
        "a paused schedule polls no more"
    );

    // Deployed again with the grant: it resumes; the feed is empty, so the polls
    // succeed with nothing new, and once healthy the reason says the upstream is
    // silent (not that the connector is broken).
    deploy(true).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, c) = env
            .admin("GET", &format!("/api/connectors/{id}"), None)
            .await;
        let reason = c["status_reason"].as_str().unwrap().to_string();
        if c["status"] == "active" && reason.contains("upstream is silent") {
            assert!(reason.contains("`default`"), "{reason}");
            assert!(c["deployments"][0]["paused_reason"].is_null());
            break;
        }
        assert!(Instant::now() < deadline, "{c}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, list) = env.admin("GET", "/api/connectors", None).await;
    assert!(
        list["items"][0]["status_reason"]
            .as_str()
            .unwrap()
            .contains("silent"),
        "{list}"
    );
    assert!(polls(&env, &id).await[0]["outcome"] == "empty");
    env.stop().await;
}
both!(a_refused_config_pauses_the_schedule_and_a_silent_upstream_is_told_apart);
