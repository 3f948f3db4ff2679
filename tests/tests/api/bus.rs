//! The bus: pushed events are validated, then published once (or quarantined);
//! invoke outputs too. Readers page through history and follow the live stream
//! (SSE, resumable with `Last-Event-ID`), always inside their own tenant.

use airlock_tests::guests;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env, error_code};
use crate::ingest::{now, post, register_push, signed};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A live `GET /api/events/stream`.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(env: &Env, token: &str, query: &str, last_id: Option<i64>) -> Stream {
        let mut req = env
            .http
            .get(env.url(&format!("/api/events/stream{query}")))
            .bearer_auth(token);
        if let Some(id) = last_id {
            req = req.header("last-event-id", id.to_string());
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "{query}"
        );
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next message: its SSE id and data.
    async fn next(&mut self) -> (i64, Value) {
        tokio::time::timeout(std::time::Duration::from_secs(15), async {
            loop {
                while let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let field = |name: &str| {
                        block
                            .lines()
                            .find_map(|l| l.strip_prefix(name).map(str::trim).map(str::to_string))
                    };
                    if let (Some(id), Some(data)) = (field("id:"), field("data:")) {
                        return (id.parse().unwrap(), serde_json::from_str(&data).unwrap());
                    }
                }
                let chunk = self.response.chunk().await.unwrap().expect("stream ended");
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("no message within 15 s")
    }

    /// Nothing arrives within `ms` (keep-alive comments aside).
    async fn quiet_for(&mut self, ms: u64) {
        let got = tokio::time::timeout(std::time::Duration::from_millis(ms), self.next()).await;
        assert!(got.is_err(), "unexpected message: {:?}", got.ok());
    }
}

/// The history of `query` once it holds `n` messages (the pipeline is
/// asynchronous), waiting up to 15 s.
pub(crate) async fn history(env: &Env, token: &str, query: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (s, page) = env
            .call("GET", &format!("/api/events{query}"), Some(token), None)
            .await;
        assert_eq!(s, 200, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        if items.len() >= n || std::time::Instant::now() > deadline {
            assert_eq!(items.len(), n, "{query}: {page}");
            return items;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Pushes `body` signed with `secret` under `id`; asserts 202; returns the event id.
pub(crate) async fn push(env: &Env, c: &Value, id: &str, body: &[u8]) -> String {
    let secret = c["credential"]["secret"].as_str().unwrap();
    let (s, a) = post(
        env,
        c["webhook_path"].as_str().unwrap(),
        &signed(secret, id, now(), body),
        body.to_vec(),
    )
    .await;
    assert_eq!(s, 202, "{a}");
    a["id"].as_str().unwrap().to_string()
}

async fn pushed_events_are_validated_then_published_once_or_quarantined(db: Db) {
    let env = Env::start(db).await;
    let t = env.tenant.clone();
    let c = register_push(
        &env,
        &env.token,
        "intel-hub",
        "hmac-sha256",
        Some("stix-2.1"),
    )
    .await;
    let cid = c["id"].as_str().unwrap().to_string();
    let mut live = Stream::open(&env, &env.token, &format!("?topic=airlock.{t}.stix"), None).await;

    let valid = fixture("stix/valid/confidence-in-range.json");
    let invalid = fixture("stix/invalid/timestamp-order__modified-before-created.json");
    let first = push(&env, &c, "evt-1", &valid).await;
    let bad = push(&env, &c, "evt-2", &invalid).await;
    // A redelivery is acknowledged with the first id and not published again.
    assert_eq!(push(&env, &c, "evt-1", &valid).await, first);

    let items = history(&env, &env.token, "", 1).await;
    let m = &items[0];
    assert_eq!(m["topic"], format!("airlock.{t}.stix"));
    assert_eq!(m["event_type"], "stix");
    assert_eq!(m["standard"], "stix-2.1");
    assert_eq!(m["connector_id"], cid.as_str());
    assert_eq!(
        m["source"],
        json!({"kind": "event", "id": first, "index": 0})
    );
    assert_eq!(m["body"], serde_json::from_slice::<Value>(&valid).unwrap());
    assert!(m["published_at"].as_str().unwrap().ends_with('Z'));

    // The live subscriber got it, with its seq as the SSE id.
    let (seq, got) = live.next().await;
    assert_eq!(seq, m["seq"].as_i64().unwrap());
    assert_eq!(got, *m);

    // The invalid event is quarantined under its event id, with the report.
    let (s, q) = env
        .admin("GET", &format!("/api/connectors/{cid}/quarantine"), None)
        .await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["total"], 1, "{q}");
    assert_eq!(q["items"][0]["call_id"], bad.as_str());
    assert_eq!(
        q["items"][0]["report"]["errors"][0]["rule"],
        "timestamp-order"
    );
    // The sender's event, looked up by the id its push was answered with, shows
    // the same findings (without the body).
    let (s, status) = env
        .admin("GET", &format!("/api/connectors/{cid}/events/{bad}"), None)
        .await;
    assert_eq!(s, 200, "{status}");
    assert_eq!(status["state"], "processed", "{status}");
    assert_eq!(status["outcome"], json!({"published": 0, "quarantined": 1}));
    assert_eq!(
        status["quarantined"][0]["errors"][0]["rule"], "timestamp-order",
        "{status}"
    );
    assert!(status["quarantined"][0].get("body").is_none(), "{status}");
    let (s, status) = env
        .admin(
            "GET",
            &format!("/api/connectors/{cid}/events/{first}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{status}");
    assert_eq!(status["outcome"], json!({"published": 1, "quarantined": 0}));
    assert_eq!(status["quarantined"], json!([]));
    // Another tenant's reader, or an id that is not this connector's: not found.
    let other = env.other_tenant_token().await;
    let (s, e) = env
        .call(
            "GET",
            &format!("/api/connectors/{cid}/events/{bad}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(error_code(s, &e, 404, "a foreign event"), "not_found");
    let (s, e) = env
        .admin(
            "GET",
            &format!("/api/connectors/{cid}/events/evt-nope"),
            None,
        )
        .await;
    assert_eq!(error_code(s, &e, 404, "an unknown event"), "not_found");

    // ...and counts against the connector's health.
    let (_, beats) = env
        .admin("GET", &format!("/api/connectors/{cid}/heartbeats"), None)
        .await;
    assert!(
        beats["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["error_kind"] == "invalid_output" && b["source"] == "ingest"),
        "{beats}"
    );

    // Filters: by event type, by connector, paging with `after`.
    history(&env, &env.token, &format!("?topic=airlock.{t}.cap"), 0).await;
    history(&env, &env.token, &format!("?topic=airlock.{t}.*"), 1).await;
    history(&env, &env.token, &format!("?connector={cid}"), 1).await;
    history(&env, &env.token, &format!("?after={seq}"), 0).await;
    let (s, e) = env.admin("GET", "/api/events?limit=0", None).await;
    assert_eq!(error_code(s, &e, 400, "limit 0"), "invalid_query");

    // A reconnecting subscriber resumes after its last id and misses nothing.
    let mut resumed = Stream::open(&env, &env.token, "", Some(seq - 1)).await;
    assert_eq!(resumed.next().await.0, seq);
    let mut by_query = Stream::open(&env, &env.token, &format!("?after={}", seq - 1), None).await;
    assert_eq!(by_query.next().await.0, seq);
    // Nothing more was published: the redelivery and the invalid event are not.
    live.quiet_for(500).await;

    // The events themselves are finished, once each.
    let node = env.node().await;
    assert_eq!(
        node.store.event_states(&t, &cid).await.unwrap(),
        vec![("processed".to_string(), 2)]
    );
    env.stop().await;
}
both!(pushed_events_are_validated_then_published_once_or_quarantined);

async fn an_ingest_component_transforms_pushed_events(db: Db) {
    let env = Env::start(db).await;
    let t = env.tenant.clone();
    let c = register_push(&env, &env.token, "ais-receiver", "hmac-sha256", Some("ais")).await;
    let cid = c["id"].as_str().unwrap().to_string();
    let (s, v) = env
        .upload(&cid, std::fs::read(guests::AIS_DECODER).unwrap())
        .await;
    assert_eq!(s, 201, "{v}");
    env.deploy(&cid, v["version"].as_str().unwrap()).await;

    // Two sentences pushed as text: the component decodes each into a report.
    let body = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n\
                 !AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C\n";
    let event = push(&env, &c, "nmea-1", body).await;
    let items = history(&env, &env.token, &format!("?topic=airlock.{t}.ais"), 2).await;
    for (i, m) in items.iter().enumerate() {
        assert_eq!(
            m["source"],
            json!({"kind": "event", "id": event, "index": i})
        );
        assert_eq!(m["standard"], "ais");
    }
    assert_eq!(items[0]["body"]["mmsi"], 371798000, "{}", items[0]);
    assert_eq!(items[1]["body"]["mmsi"], 366053209, "{}", items[1]);
    // The transform was a guest call: it left a heartbeat.
    let (_, beats) = env
        .admin("GET", &format!("/api/connectors/{cid}/heartbeats"), None)
        .await;
    assert_eq!(beats["items"][0]["source"], "call", "{beats}");
    assert_eq!(beats["items"][0]["ok"], true, "{beats}");
    env.stop().await;
}
both!(an_ingest_component_transforms_pushed_events);

async fn invoke_outputs_are_published_on_the_bus(db: Db) {
    let env = Env::start(db).await;
    let id = env
        .register_and_deploy("probe", "telemetry", guests::PROBE)
        .await;
    let (s, out) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/invoke/stix"),
            Some(&json!({"broken": true})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    // A call's id is time-ordered (UUIDv7): the outbox's unique index on it grows
    // at its right edge (`store::row_id`).
    let call_id = uuid::Uuid::parse_str(out["call_id"].as_str().unwrap()).unwrap();
    assert_eq!(call_id.get_version_num(), 7, "{out}");
    // The valid JSON output is published; the quarantined bundle is not.
    let items = history(&env, &env.token, "", 1).await;
    assert_eq!(items[0]["event_type"], "json");
    assert_eq!(
        items[0]["source"],
        json!({"kind": "call", "id": out["call_id"], "index": 0})
    );
    env.stop().await;
}
both!(invoke_outputs_are_published_on_the_bus);

/// Two tenants push, read and subscribe side by side: neither sees the other's
/// connectors, messages or topics at any endpoint.
async fn tenants_never_see_each_others_events(db: Db) {
    let env = Env::start(db).await;
    let a = env.tenant.clone();
    let b_token = env.other_tenant_token().await;
    let ca = register_push(&env, &env.token, "a-feed", "hmac-sha256", None).await;
    let cb = register_push(&env, &b_token, "b-feed", "hmac-sha256", None).await;
    let b = cb["webhook_path"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(4)
        .unwrap()
        .to_string();
    assert_ne!(a, b);
    let (ida, idb) = (ca["id"].as_str().unwrap(), cb["id"].as_str().unwrap());

    let mut a_live = Stream::open(&env, &env.token, &format!("?topic=airlock.{a}.*"), None).await;
    let mut b_live = Stream::open(&env, &b_token, &format!("?topic=airlock.{b}.>"), None).await;
    let mut b_all = Stream::open(&env, &b_token, "", None).await;
    push(&env, &ca, "a-1", br#"{"tenant": "a"}"#).await;
    push(&env, &cb, "b-1", br#"{"tenant": "b"}"#).await;

    assert_eq!(a_live.next().await.1["body"]["tenant"], "a");
    assert_eq!(b_live.next().await.1["body"]["tenant"], "b");
    assert_eq!(b_all.next().await.1["body"]["tenant"], "b");
    for s in [&mut a_live, &mut b_live, &mut b_all] {
        s.quiet_for(300).await;
    }
    let mine = history(&env, &b_token, "", 1).await;
    assert_eq!(mine[0]["body"]["tenant"], "b");
    assert_eq!(mine[0]["topic"], format!("airlock.{b}.json"));
    history(&env, &env.token, "", 1).await;

    // Another tenant's topic, connector or wildcard: refused before anything is read.
    for query in [
        format!("?topic=airlock.{a}.json"),
        format!("?topic=airlock.{a}.*"),
        format!("?connector={ida}"),
    ] {
        for path in ["/api/events", "/api/events/stream"] {
            let (s, e) = env
                .call("GET", &format!("{path}{query}"), Some(&b_token), None)
                .await;
            assert_eq!(
                error_code(s, &e, 404, &format!("{path}{query}")),
                "not_found"
            );
        }
    }
    for query in [
        "?topic=airlock.*.json",
        "?topic=airlock.>",
        "?topic=other.x.json",
    ] {
        for path in ["/api/events", "/api/events/stream"] {
            let (s, e) = env
                .call("GET", &format!("{path}{query}"), Some(&b_token), None)
                .await;
            assert_eq!(
                error_code(s, &e, 400, &format!("{path}{query}")),
                "bad_topic"
            );
        }
    }
    // B's own connector filter works for B and is foreign to A.
    history(&env, &b_token, &format!("?connector={idb}"), 1).await;
    let (s, e) = env
        .admin("GET", &format!("/api/events?connector={idb}"), None)
        .await;
    assert_eq!(
        error_code(s, &e, 404, "A reading B's connector"),
        "not_found"
    );

    // Pushing to A's connector under B's tenant path is refused and stores nothing.
    let secret = ca["credential"]["secret"].as_str().unwrap();
    let body = br#"{"tenant": "b?"}"#;
    let (s, _) = post(
        &env,
        &format!("/api/events/ingest/{b}/{ida}"),
        &signed(secret, "x-1", now(), body),
        body.to_vec(),
    )
    .await;
    assert_eq!(s, 401);
    // Every connector route answers 404 to the other tenant.
    for (method, path) in [
        ("GET", format!("/api/connectors/{ida}")),
        ("GET", format!("/api/connectors/{ida}/quarantine")),
        ("GET", format!("/api/connectors/{ida}/heartbeats")),
        ("GET", format!("/api/connectors/{ida}/deployments")),
        ("POST", format!("/api/connectors/{ida}/credentials/rotate")),
        ("POST", format!("/api/connectors/{ida}/enable")),
    ] {
        let (s, e) = env.call(method, &path, Some(&b_token), None).await;
        assert_eq!(error_code(s, &e, 404, &path), "not_found");
    }
    let node = env.node().await;
    assert_eq!(node.store.count_events(ida).await.unwrap(), 1);
    env.stop().await;
}
both!(tenants_never_see_each_others_events);

/// A connector without a declared standard publishes plain JSON: a pushed body
/// that is not JSON is quarantined (rule `json`), not published as text.
async fn plain_json_pushes_are_checked_to_be_json(db: Db) {
    let env = Env::start(db).await;
    let t = env.tenant.clone();
    let c = register_push(&env, &env.token, "plain-hub", "hmac-sha256", None).await;
    let cid = c["id"].as_str().unwrap().to_string();
    push(&env, &c, "evt-json", br#"{"ok": true}"#).await;
    push(&env, &c, "evt-text", b"not json \x00\xff").await;
    let published = history(&env, &env.token, &format!("?topic=airlock.{t}.json"), 1).await;
    assert_eq!(published[0]["body"], json!({"ok": true}));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let q = loop {
        let (s, q) = env
            .admin("GET", &format!("/api/connectors/{cid}/quarantine"), None)
            .await;
        assert_eq!(s, 200, "{q}");
        if q["total"] == 1 || std::time::Instant::now() > deadline {
            break q;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(q["total"], 1, "{q}");
    assert_eq!(q["items"][0]["report"]["errors"][0]["rule"], "json", "{q}");
    // Still only the JSON event on the bus.
    history(&env, &env.token, &format!("?topic=airlock.{t}.json"), 1).await;
    env.stop().await;
}
both!(plain_json_pushes_are_checked_to_be_json);
