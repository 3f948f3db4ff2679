//! Several nodes, one PostgreSQL, one NATS JetStream: two real `airlock serve`
//! processes with `--bus nats://…` sharing a database (and their key files, as
//! the operations guide says). Any node serves any request: a token from one
//! works on the other; an event pushed to node A reaches a live subscriber on
//! node B and lands in the JetStream stream exactly once, even when redelivered;
//! a disable on A refuses ingest on B within a second; audited changes made on
//! both at once form one valid chain; heartbeats sent to both make one history
//! and one status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use airlock_host::auth::push::{sign_webhook, webhook_key};
use airlock_tests::nats::NatsServer;
use futures_util::StreamExt as _;
use serde_json::{Value, json};

/// A node: its process, data directory and base URL.
struct Node {
    child: std::process::Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_node(dir: &Path, database: &str, nats: &str, http: &reqwest::Client) -> Node {
    std::fs::create_dir_all(dir).unwrap();
    let port = airlock_tests::free_port();
    let child = airlock_tests::serve_process(
        dir,
        port,
        Some(database),
        &["--bus".to_string(), nats.to_string()],
    );
    let base = format!("http://127.0.0.1:{port}");
    airlock_tests::wait_healthy(http, &base).await;
    Node { child, base }
}

/// Two nodes on one fresh PostgreSQL database and one NATS server, B holding A's
/// keys, and a token of the bootstrap client (issued by A).
struct TwoNodes {
    nats: NatsServer,
    database: String,
    http: reqwest::Client,
    root: std::path::PathBuf,
    a: Node,
    b: Node,
    token: String,
    tenant: String,
}

impl TwoNodes {
    async fn start(label: &str, timeout: Duration) -> TwoNodes {
        let nats = NatsServer::start();
        let database = airlock_tests::postgres::fresh_url().await;
        let http = reqwest::Client::builder().timeout(timeout).build().unwrap();
        let root =
            std::env::temp_dir().join(format!("airlock-nats-{label}-{}", uuid::Uuid::new_v4()));
        let a = start_node(&root.join("a"), &database, &nats.url(), &http).await;
        share_keys(&root.join("a"), &root.join("b"));
        let b = start_node(&root.join("b"), &database, &nats.url(), &http).await;
        let boot: Value =
            serde_json::from_slice(&std::fs::read(root.join("a").join("bootstrap.json")).unwrap())
                .unwrap();
        let token = airlock_tests::bootstrap_token(&http, &a.base, &boot).await;
        let tenant = boot["tenant_id"].as_str().unwrap().to_string();
        TwoNodes {
            nats,
            database,
            http,
            root,
            a,
            b,
            token,
            tenant,
        }
    }

    /// Node A's data directory.
    fn dir_a(&self) -> std::path::PathBuf {
        self.root.join("a")
    }

    /// Stops both nodes and removes their directories.
    fn stop(self) {
        let root = self.root.clone();
        drop(self);
        let _ = std::fs::remove_dir_all(&root);
    }
}

/// Registers an HMAC push connector `name` on the node at `base`: the answer.
async fn register_hmac(http: &reqwest::Client, base: &str, token: &str, name: &str) -> Value {
    let r = http
        .post(format!("{base}/api/connectors/register"))
        .bearer_auth(token)
        .json(&json!({"name": name, "category": "telemetry", "auth_method": "hmac-sha256"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

/// The key files a second node must share with the first.
fn share_keys(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".key") && name != "compile-cache.key" {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

fn signed(secret: &str, id: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let ts = airlock_tests::unix_now();
    let key = webhook_key(secret).unwrap();
    vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sign_webhook(&key, id, ts, body)),
    ]
}

async fn push(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    id: &str,
    body: &[u8],
) -> (u16, Value) {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in signed(secret, id, body) {
        req = req.header(k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Every message in the stream, read by a plain pull consumer: (Nats-Msg-Id, subject, payload).
async fn jetstream_messages(nats: &str, expect: usize) -> Vec<(String, String, Vec<u8>)> {
    let client = async_nats::connect(nats).await.unwrap();
    let js = async_nats::jetstream::new(client);
    // The relay creates the stream when it first reaches NATS.
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        match js.get_stream("AIRLOCK").await {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no stream: {e}"),
        }
    };
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config::default())
        .await
        .unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let mut batch = consumer
            .fetch()
            .max_messages(1000)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .unwrap();
        let mut got = 0;
        while let Some(m) = batch.next().await {
            let m = m.unwrap();
            let id = m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.as_str().to_string())
                .unwrap_or_default();
            out.push((id, m.subject.to_string(), m.payload.to_vec()));
            m.ack().await.unwrap();
            got += 1;
        }
        if got == 0 && out.len() >= expect {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_tokens_events_and_disables_and_jetstream_gets_each_event_once() {
    let nodes = TwoNodes::start("nodes", Duration::from_secs(20)).await;
    let (http, token, tenant) = (
        nodes.http.clone(),
        nodes.token.clone(),
        nodes.tenant.clone(),
    );
    let (nats, database) = (&nodes.nats, nodes.database.clone());
    let (a, b) = (&nodes.a, &nodes.b);
    let dir_a = nodes.dir_a();

    // A token issued by A works on B.
    let r = http
        .get(format!("{}/api/connectors", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a token from node A on node B");

    // A push connector registered on A.
    let c = register_hmac(&http, &a.base, &token, "sensor").await;
    let cid = c["id"].as_str().unwrap().to_string();
    let secret = c["credential"]["secret"].as_str().unwrap().to_string();
    let hook = c["webhook_path"].as_str().unwrap().to_string();

    // A live subscriber on B; the event pushed to A reaches it.
    let mut stream = http
        .get(format!(
            "{}/api/events/stream?topic=airlock.{tenant}.json",
            b.base
        ))
        .bearer_auth(&token)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let body = br#"{"reading": 1}"#;
    let pushed = Instant::now();
    let (s, first) = push(&http, &format!("{}{hook}", a.base), &secret, "evt-1", body).await;
    assert_eq!(s, 202, "{first}");
    let mut buffer = String::new();
    let data = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(line) = buffer.lines().find(|l| l.starts_with("data:")) {
                return serde_json::from_str::<Value>(line[5..].trim()).unwrap();
            }
            let chunk = stream.chunk().await.unwrap().expect("the stream ended");
            buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await
    .expect("the event never reached the subscriber on node B");
    let latency = pushed.elapsed();
    eprintln!("push to A → SSE on B: {latency:?}");
    assert_eq!(data["body"], json!({"reading": 1}));
    let message_id = data["id"].as_str().unwrap().to_string();

    // A redelivery to B: the same event, not published again.
    let (s, again) = push(&http, &format!("{}{hook}", b.base), &secret, "evt-1", body).await;
    assert_eq!(s, 202, "{again}");
    assert_eq!(again["duplicate"], true, "{again}");

    // JetStream holds it exactly once, with its id, subject and body.
    let messages = jetstream_messages(&nats.url(), 1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].0, message_id);
    assert_eq!(messages[0].1, format!("airlock.{tenant}.json"));
    assert_eq!(messages[0].2, body.to_vec());

    // A disable on A refuses ingest on B at once (not after B's cache expires).
    let r = http
        .post(format!("{}/api/connectors/{cid}/disable", a.base))
        .bearer_auth(&token)
        .json(&json!({"reason": "maintenance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let disabled = Instant::now();
    loop {
        let id = format!("evt-{}", uuid::Uuid::new_v4());
        let (s, e) = push(&http, &format!("{}{hook}", b.base), &secret, &id, body).await;
        if s == 409 {
            assert_eq!(e["error"]["code"], "connector_disabled", "{e}");
            break;
        }
        assert_eq!(s, 202, "{e}");
        assert!(
            disabled.elapsed() < Duration::from_secs(3),
            "node B still accepts events for a connector node A disabled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("disable on A → refused on B: {:?}", disabled.elapsed());

    // Audited mutations on both nodes at once still form one valid chain.
    let registrations = (0..20).map(|i| {
        let (http, token) = (http.clone(), token.clone());
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        async move {
            let r = http
                .post(format!("{base}/api/connectors/register"))
                .bearer_auth(&token)
                .json(&json!({"name": format!("c-{i}"), "category": "custom"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
        }
    });
    futures_util::future::join_all(registrations).await;
    let verify = airlock_tests::airlock_bin()
        .args(["audit", "verify", "--data-dir"])
        .arg(&dir_a)
        .args(["--database", &database])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    nodes.stop();
}

const EVENTS: usize = 10_000;
const SENDERS: usize = 8;
/// SIGKILL node A when this many events have been acknowledged (then restart it).
const KILL_A_AT: [usize; 3] = [2_000, 4_500, 7_500];
/// Restart NATS (SIGKILL, same store) when this many have been acknowledged.
const RESTART_NATS_AT: usize = 6_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_is_in_jetstream_once_through_node_kills_and_a_nats_restart() {
    use std::collections::{HashMap, HashSet};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let TwoNodes {
        mut nats,
        database,
        http,
        root,
        mut a,
        b,
        token,
        ..
    } = TwoNodes::start("crash", Duration::from_secs(10)).await;
    let dir_a = root.join("a");
    let c = register_hmac(&http, &b.base, &token, "crash-feed").await;
    let hook = c["webhook_path"].as_str().unwrap().to_string();
    let secret = c["credential"]["secret"].as_str().unwrap().to_string();
    let bases = [a.base.clone(), b.base.clone()];

    // Senders behind a "load balancer": each event goes to one node, and a retry
    // (same webhook-id) to the other.
    let acked = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (http, hook, secret, acked, bases) = (
            http.clone(),
            hook.clone(),
            secret.clone(),
            acked.clone(),
            bases.clone(),
        );
        senders.push(tokio::spawn(async move {
            let mut retries = 0usize;
            for n in (s..EVENTS).step_by(SENDERS) {
                let id = format!("evt-{n}");
                let body = format!(r#"{{"n": {n}}}"#);
                let mut node = n % 2;
                loop {
                    let url = format!("{}{hook}", bases[node]);
                    let mut req = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone());
                    for (k, v) in signed(&secret, &id, body.as_bytes()) {
                        req = req.header(k, v);
                    }
                    match req.send().await {
                        Ok(r) if r.status() == 202 => {
                            acked.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Ok(r) if r.status().is_client_error() => {
                            panic!("event {n}: {} {}", r.status(), r.text().await.unwrap())
                        }
                        _ => {
                            retries += 1;
                            node = 1 - node;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
            retries
        }));
    }

    let mut kills = 0;
    let mut nats_restarted = false;
    for mark in KILL_A_AT {
        while acked.load(Ordering::SeqCst) < mark {
            if !nats_restarted && acked.load(Ordering::SeqCst) >= RESTART_NATS_AT {
                nats.restart();
                nats_restarted = true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        a.child.kill().unwrap(); // SIGKILL
        a.child.wait().unwrap();
        kills += 1;
        a = start_node(&dir_a, &database, &nats.url(), &http).await;
    }
    let mut retries = 0;
    for s in senders {
        retries += s.await.unwrap();
    }
    assert_eq!(acked.load(Ordering::SeqCst), EVENTS);
    assert!(nats_restarted && kills == KILL_A_AT.len());
    assert!(
        retries > 0,
        "the kills interrupted no sender: the test proved nothing"
    );

    // JetStream catches up: every event exactly once, under a distinct message id.
    let deadline = Instant::now() + Duration::from_secs(180);
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    loop {
        let mut stream = js.get_stream("AIRLOCK").await.unwrap();
        let count = stream.info().await.unwrap().state.messages;
        if count >= EVENTS as u64 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let messages = jetstream_messages(&nats.url(), EVENTS).await;
    let ids: HashSet<&str> = messages.iter().map(|m| m.0.as_str()).collect();
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (_, _, payload) in &messages {
        let v: Value = serde_json::from_slice(payload).unwrap();
        *seen.entry(v["n"].as_u64().unwrap()).or_default() += 1;
    }
    eprintln!(
        "{EVENTS} events over 2 nodes, {kills} SIGKILLs of node A, 1 NATS restart, {retries} \
         retried sends: {} messages in JetStream, {} distinct ids",
        messages.len(),
        ids.len()
    );
    assert_eq!(messages.len(), EVENTS, "messages in the stream");
    assert_eq!(ids.len(), EVENTS, "distinct Nats-Msg-Ids");
    for n in 0..EVENTS as u64 {
        assert_eq!(seen.get(&n), Some(&1), "event {n} in the stream once");
    }
    drop(a);
    drop(b);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_while_nats_is_down_serves_and_relays_once_nats_is_up() {
    let port = airlock_tests::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let database = airlock_tests::postgres::fresh_url().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("airlock-nats-down-{}", uuid::Uuid::new_v4()));
    let node = start_node(&dir, &database, &url, &http).await;
    let boot: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bootstrap.json")).unwrap()).unwrap();
    let token = airlock_tests::bootstrap_token(&http, &node.base, &boot).await;
    let c = register_hmac(&http, &node.base, &token, "sensor").await;
    let secret = c["credential"]["secret"].as_str().unwrap();
    let hook = format!("{}{}", node.base, c["webhook_path"].as_str().unwrap());
    for n in 0..3 {
        let body = format!(r#"{{"n": {n}}}"#);
        let (s, v) = push(&http, &hook, secret, &format!("down-{n}"), body.as_bytes()).await;
        assert_eq!(s, 202, "acknowledged while NATS is down: {v}");
    }
    let nats = NatsServer::start_on(port);
    let messages = jetstream_messages(&nats.url(), 3).await;
    assert_eq!(messages.len(), 3, "{messages:?}");
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Heartbeats of one connector sent to two nodes at once make one history and one
/// status: each node's writer re-derives the status from the shared window under a
/// per-connector lock, so the last derivation has seen every heartbeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_sent_to_two_nodes_make_one_history_and_one_status() {
    let cluster = TwoNodes::start("health", Duration::from_secs(20)).await;
    let (http, token) = (cluster.http.clone(), cluster.token.clone());
    let (a, b) = (&cluster.a, &cluster.b);
    let c = register_hmac(&http, &a.base, &token, "radar").await;
    let id = c["id"].as_str().unwrap().to_string();
    let nodes = [a.base.clone(), b.base.clone()];

    let beat_all = |bodies: Vec<Value>| {
        let (http, token, id, nodes) = (http.clone(), token.clone(), id.clone(), nodes.clone());
        async move {
            let sends = bodies.into_iter().enumerate().map(|(n, body)| {
                let (http, token, id) = (http.clone(), token.clone(), id.clone());
                let base = nodes[n % 2].clone();
                async move {
                    let r = http
                        .post(format!("{base}/api/connectors/{id}/heartbeat"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
                }
            });
            futures_util::future::join_all(sends).await;
        }
    };
    let status_on = |base: String| {
        let (http, token, id) = (http.clone(), token.clone(), id.clone());
        async move {
            let v: Value = http
                .get(format!("{base}/api/connectors/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["status"].as_str().unwrap_or_default().to_string()
        }
    };
    let settle_on = |want: &'static str| {
        let status_on = &status_on;
        let nodes = nodes.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = [
                    status_on(nodes[0].clone()).await,
                    status_on(nodes[1].clone()).await,
                ];
                if got.iter().all(|s| s == want) {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "want {want} on both nodes, got {got:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    beat_all((0..40).map(|_| json!({"latency_ms": 5})).collect()).await;
    settle_on("active").await;
    // Failures split across the nodes, at once, several rounds: three in a row
    // is `error` (the default policy) whichever node derives last.
    for round in 0..5 {
        beat_all(
            (0..3)
                .map(|_| json!({"status": "error", "detail": "offline"}))
                .collect(),
        )
        .await;
        settle_on("error").await;
        // Enough successes to leave the window (20) without a failure.
        beat_all((0..20).map(|_| json!({"latency_ms": 5})).collect()).await;
        settle_on("active").await;
        let _ = round;
    }
    // One history: every heartbeat, on either node.
    for base in &nodes {
        let v: Value = http
            .get(format!("{base}/api/connectors/{id}/heartbeats?limit=1000"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 40 + 5 * 23, "{base}");
    }
    cluster.stop();
}
