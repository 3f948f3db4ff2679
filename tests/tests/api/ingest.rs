//! Push connectors: a credential shown once at registration, then signed events
//! posted to the webhook path (or with `X-Connector-Id`), acknowledged only after
//! they are committed, stored once however often they are redelivered.

use airlock_host::auth::httpsig::{self, Alg};
use airlock_host::auth::push::{sign_webhook, webhook_key};
use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env, answer, error_code};

pub(crate) use airlock_tests::unix_now as now;

pub(crate) async fn register(env: &Env, name: &str, method: &str) -> Value {
    register_push(env, &env.token, name, method, None).await
}

/// Registers a push connector with `token` (its tenant's), declaring `standard`.
pub(crate) async fn register_push(
    env: &Env,
    token: &str,
    name: &str,
    method: &str,
    standard: Option<&str>,
) -> Value {
    let mut body = json!({"name": name, "category": "telemetry", "auth_method": method,
                          "webhook_url": "https://sender.example/hooks"});
    if let Some(s) = standard {
        body["output_standard"] = s.into();
    }
    let (s, c) = env
        .call("POST", "/api/connectors/register", Some(token), Some(&body))
        .await;
    assert_eq!(s, 201, "{c}");
    c
}

pub(crate) fn rsa_fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/fixtures/rsa/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn rsa_private(name: &str) -> rsa::RsaPrivateKey {
    use rsa::pkcs8::DecodePrivateKey as _;
    rsa::RsaPrivateKey::from_pkcs8_pem(&rsa_fixture(name)).unwrap()
}

/// Registers an `rsa` push connector with `public_key`.
async fn register_rsa(env: &Env, name: &str, public_key: &str) -> Value {
    let (s, c) = env
        .admin(
            "POST",
            "/api/connectors/register",
            Some(
                &json!({"name": name, "category": "telemetry", "auth_method": "rsa",
                         "public_key": public_key}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    c
}

/// Posts `body` to `path` with extra headers; returns status and answer.
pub(crate) async fn post(
    env: &Env,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = env
        .http
        .post(env.url(path))
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    answer(req.body(body).send().await.unwrap()).await
}

/// Sends headers declaring a `length`-byte body and none of it, over raw TCP, and
/// reads the answer: a refusal decided from the headers comes without the body
/// (sending it would race the server's early answer against the client's writes).
async fn declared_only(
    env: &Env,
    path: &str,
    headers: &[(&str, String)],
    length: usize,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = env.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    (status, text)
}

pub(crate) fn signed(secret: &str, id: &str, ts: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let key = webhook_key(secret).unwrap();
    vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sign_webhook(&key, id, ts, body)),
    ]
}

async fn hmac_events_are_verified_acknowledged_after_commit_and_stored_once(db: Db) {
    let env = Env::start(db).await;
    let c = register(&env, "sensor-hub", "hmac-sha256").await;
    let id = c["id"].as_str().unwrap().to_string();
    let secret = c["credential"]["secret"].as_str().unwrap().to_string();
    assert_eq!(c["credential"]["type"], "hmac-sha256");
    assert!(secret.starts_with("whsec_"), "{c}");
    let path = c["webhook_path"].as_str().unwrap().to_string();
    assert_eq!(path, format!("/api/events/ingest/{}/{id}", env.tenant));
    // Shown once: never again, anywhere.
    let (_, again) = env
        .admin("GET", &format!("/api/connectors/{id}"), None)
        .await;
    let (_, audit) = env.admin("GET", "/api/audit?limit=100", None).await;
    for v in [&again, &audit] {
        assert!(!v.to_string().contains(&secret[6..]), "{v}");
    }

    let body = br#"{"reading": 21.5}"#.to_vec();
    let ok = signed(&secret, "evt_1", now(), &body);
    let (s, first) = post(&env, &path, &ok, body.clone()).await;
    assert_eq!(s, 202, "{first}");
    assert_eq!(first["duplicate"], false);
    // A stored event's id is time-ordered (UUIDv7, `store::row_id`).
    let event_id = uuid::Uuid::parse_str(first["id"].as_str().unwrap()).unwrap();
    assert_eq!(event_id.get_version_num(), 7, "{first}");
    // A redelivery is acknowledged with the same id and not stored again.
    let (s, second) = post(&env, &path, &ok, body.clone()).await;
    assert_eq!(s, 202, "{second}");
    assert_eq!(
        (second["id"].clone(), second["duplicate"].clone()),
        (first["id"].clone(), json!(true))
    );
    // The header route reaches the same connector.
    let mut by_header = signed(&secret, "evt_2", now(), &body);
    by_header.push(("x-connector-id", id.clone()));
    let (s, v) = post(&env, "/api/events/ingest", &by_header, body.clone()).await;
    assert_eq!(s, 202, "{v}");
    let node = env.node().await;
    assert_eq!(node.store.count_events(&id).await.unwrap(), 2);

    let refused = |headers: Vec<(&'static str, String)>, body: Vec<u8>, code: &'static str| {
        let env = &env;
        let path = path.clone();
        async move {
            let (s, v) = post(env, &path, &headers, body).await;
            assert_eq!(
                (s, v["error"]["code"].as_str().unwrap_or_default()),
                (401, code),
                "{v}"
            );
        }
    };
    let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    // A wrong secret or an altered body answers as an unknown connector would.
    refused(
        signed(other, "evt_3", now(), &body),
        body.clone(),
        "bad_credential",
    )
    .await;
    refused(
        signed(&secret, "evt_3", now(), &body),
        br#"{"reading": 99}"#.to_vec(),
        "bad_credential",
    )
    .await;
    refused(
        signed(&secret, "evt_3", now() - 400, &body),
        body.clone(),
        "stale_timestamp",
    )
    .await;
    refused(
        signed(&secret, "evt_3", now() + 400, &body),
        body.clone(),
        "stale_timestamp",
    )
    .await;
    // No credential, another method, another tenant, no such connector: alike.
    refused(vec![], body.clone(), "bad_credential").await;
    // The wrong method is refused before the body is read: 401, not 413, for a
    // body over the limit.
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let (s, answer) = declared_only(
        &env,
        &path,
        &[("x-api-key", "alk_whatever".into())],
        huge.len(),
    )
    .await;
    assert_eq!(s, 401, "{answer}");
    assert!(answer.contains("bad_credential"), "{answer}");
    assert!(!answer.contains("hmac"), "the method is not told: {answer}");
    // The body is left unread on the connection: the answer closes it.
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let (s, v) = post(&env, &path, &signed(&secret, "evt_4", now(), &huge), huge).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(node.store.count_events(&id).await.unwrap(), 2);

    // Another (real) tenant's path, or an unknown one, looks like a bad credential.
    let other = airlock_host::auth::create_tenant(&node.store, &node.keys, "elsewhere", "test")
        .await
        .unwrap();
    for tenant in [other.id.as_str(), "not-a-tenant"] {
        let signed_again = signed(&secret, "evt_5", now(), &body);
        let route = format!("/api/events/ingest/{tenant}/{id}");
        let (s, v) = post(&env, &route, &signed_again, body.clone()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str().unwrap()),
            (401, "bad_credential"),
            "{route}: {v}"
        );
    }
    // The same event id with another body is not a redelivery: refused, not stored.
    let (s, v) = post(
        &env,
        &path,
        &signed(&secret, "evt_1", now(), b"{}"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (409, "idempotency_key_reused"),
        "{v}"
    );
    assert_eq!(node.store.count_events(&id).await.unwrap(), 2);
    let (s, _) = post(&env, "/api/events/ingest", &ok, body).await;
    assert_eq!(s, 400, "X-Connector-Id is required on the header route");
    env.stop().await;
}
both!(hmac_events_are_verified_acknowledged_after_commit_and_stored_once);

async fn api_key_events_need_the_exact_key(db: Db) {
    let env = Env::start(db).await;
    let c = register(&env, "ticket-bridge", "api-key").await;
    let id = c["id"].as_str().unwrap().to_string();
    let key = c["credential"]["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("alk_"), "{c}");
    let path = c["webhook_path"].as_str().unwrap().to_string();
    let other = register(&env, "other-bridge", "api-key").await;
    let other_key = other["credential"]["key"].as_str().unwrap().to_string();

    let body = br#"{"ticket": 7}"#.to_vec();
    let with = |k: &str, idem: &str| {
        vec![
            ("x-api-key", k.to_string()),
            ("idempotency-key", idem.to_string()),
        ]
    };
    let (s, v) = post(&env, &path, &with(&key, "t-7"), body.clone()).await;
    assert_eq!(s, 202, "{v}");
    // Another tenant cannot see, rotate or disable the connector: 404, as if absent.
    let foreign = env.other_tenant_token().await;
    for (method, route) in [
        ("GET", format!("/api/connectors/{id}")),
        ("POST", format!("/api/connectors/{id}/credentials/rotate")),
    ] {
        let (s, _) = env.call(method, &route, Some(&foreign), None).await;
        assert_eq!(s, 404, "{method} {route}");
    }
    let (s, again) = post(&env, &path, &with(&key, "t-7"), body.clone()).await;
    assert_eq!(
        (s, again["duplicate"].clone(), again["id"].clone()),
        (202, json!(true), v["id"].clone())
    );

    // One character changed: refused by the checksum, before any lookup.
    let mut typo = key.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    for (k, code) in [
        (typo.as_str(), "bad_credential"),
        (other_key.as_str(), "bad_credential"),
    ] {
        let (s, v) = post(&env, &path, &with(k, "t-8"), body.clone()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str().unwrap()),
            (401, code),
            "{v}"
        );
    }
    let node = env.node().await;
    assert_eq!(node.store.count_events(&id).await.unwrap(), 1);

    // An Idempotency-Key that cannot be kept is refused, not silently replaced.
    let long = "k".repeat(300);
    let (s, v) = post(&env, &path, &with(&key, &long), body.clone()).await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (400, "bad_idempotency_key"),
        "{v}"
    );
    assert_eq!(node.store.count_events(&id).await.unwrap(), 1);

    // Disabled by an admin (effective at once: the disable drops the ingest cache's
    // entry): an authenticated push learns why (409) and nothing is stored; an
    // unauthenticated one still only gets 401.
    let (s, v) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/disable"),
            Some(&json!({"reason": "sender compromised"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(&env, &path, &with(&key, "t-9"), body.clone()).await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (409, "connector_disabled"),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sender compromised")
    );
    let (s, _) = post(&env, &path, &with(&typo, "t-9"), body.clone()).await;
    assert_eq!(s, 401);
    assert_eq!(node.store.count_events(&id).await.unwrap(), 1);
    env.stop().await;
}
both!(api_key_events_need_the_exact_key);

async fn a_rotated_credential_is_accepted_only_inside_the_grace_window(db: Db) {
    let grace = std::time::Duration::from_millis(1500);
    let env = Env::start_configured(db, |o| o.rotation_grace = grace).await;
    let c = register(&env, "rotating-hub", "hmac-sha256").await;
    let id = c["id"].as_str().unwrap().to_string();
    let old = c["credential"]["secret"].as_str().unwrap().to_string();
    let path = c["webhook_path"].as_str().unwrap().to_string();
    let body = b"{}".to_vec();
    let send = |secret: String, event: &'static str| {
        let env = &env;
        let path = path.clone();
        let body = body.clone();
        async move {
            post(env, &path, &signed(&secret, event, now(), &body), body)
                .await
                .0
        }
    };
    assert_eq!(send(old.clone(), "a").await, 202);

    let (s, r) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/credentials/rotate"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let new = r["credential"]["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(
        r["previous_valid_until"].as_str().unwrap().ends_with('Z'),
        "{r}"
    );
    // Inside the grace window both are accepted.
    assert_eq!(send(old.clone(), "b").await, 202);
    assert_eq!(send(new.clone(), "c").await, 202);
    // After it, only the new one.
    tokio::time::sleep(grace + std::time::Duration::from_millis(200)).await;
    assert_eq!(send(old, "d").await, 401);
    assert_eq!(send(new, "e").await, 202);

    // Audited with the actor and a UTC time; the secret is not in the trail.
    let (_, audit) = env.admin("GET", "/api/audit?limit=100", None).await;
    let rows = audit["items"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["action"] == "connector.credentials.rotate")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(row["target"], id.as_str());
    assert!(row["actor"].as_str().is_some_and(|a| !a.is_empty()));
    assert!(row["at"].as_str().unwrap().ends_with('Z'));
    assert!(
        !audit
            .to_string()
            .contains(&r["credential"]["secret"].as_str().unwrap()[6..])
    );

    // A connector that is not a push connector has nothing to rotate.
    let plain = env
        .admin(
            "POST",
            "/api/connectors/register",
            Some(&json!({"name": "plain", "category": "osint"})),
        )
        .await
        .1;
    let (s, v) = env
        .admin(
            "POST",
            &format!(
                "/api/connectors/{}/credentials/rotate",
                plain["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str().unwrap()),
        (409, "no_rotatable_credential"),
        "{v}"
    );
    env.stop().await;
}
both!(a_rotated_credential_is_accepted_only_inside_the_grace_window);

async fn oauth2_events_need_a_token_of_the_connectors_own_client(db: Db) {
    use airlock_host::auth::{AUDIENCE, Claims, Scope, Tokens};
    use airlock_host::keys::Keys;

    let env = Env::start(db).await;
    let c = register(&env, "partner-feed", "oauth2").await;
    let cred = &c["credential"];
    assert_eq!(cred["type"], "oauth2");
    let client_id = cred["client_id"].as_str().unwrap().to_string();
    let token_url = cred["token_url"].as_str().unwrap().to_string();
    assert_eq!(token_url, env.url("/oauth/token"));
    let path = c["webhook_path"].as_str().unwrap().to_string();

    // The sender gets a token the standard way, with scope events:ingest.
    let r = env
        .http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", cred["client_secret"].as_str().unwrap()),
            ("scope", "events:ingest"),
        ])
        .send()
        .await
        .unwrap();
    let (s, t) = answer(r).await;
    assert_eq!(s, 200, "{t}");
    let token = t["access_token"].as_str().unwrap().to_string();
    let bearer = |t: &str| {
        vec![
            ("authorization", format!("Bearer {t}")),
            ("idempotency-key", "o-1".to_string()),
        ]
    };
    let body = br#"{"feed": "partner"}"#.to_vec();
    let (s, v) = post(&env, &path, &bearer(&token), body.clone()).await;
    assert_eq!(s, 202, "{v}");

    let refused = |headers: Vec<(&'static str, String)>, code: &'static str| {
        let (env, path, body) = (&env, path.clone(), body.clone());
        async move {
            let (s, v) = post(env, &path, &headers, body).await;
            assert_eq!(
                (s, v["error"]["code"].as_str().unwrap_or_default()),
                (401, code),
                "{v}"
            );
        }
    };
    // The tenant's admin token is valid, but not this connector's client.
    refused(bearer(&env.token), "wrong_client").await;
    // Another tenant's token.
    refused(bearer(&env.other_tenant_token().await), "bad_credential").await;
    // An expired token of the right client, signed with this node's key.
    let keys = Keys::load_or_create(&env.data_dir).unwrap();
    let tokens = Tokens::new(&keys, "urn:airlock").unwrap();
    let claims = |iat: u64| Claims {
        iss: "urn:airlock".into(),
        aud: AUDIENCE.into(),
        sub: client_id.clone(),
        client_id: client_id.clone(),
        tenant_id: env.tenant.clone(),
        scope: Scope::EventsIngest.as_str().into(),
        exp: iat + 900,
        iat,
        nbf: iat,
        jti: format!("j{iat}"),
    };
    // Control: the same claims signed now are accepted, so the refusal below is
    // the expiry's doing.
    let fresh = tokens.sign(&claims(now() as u64)).unwrap();
    let (s, v) = post(&env, &path, &bearer(&fresh), body.clone()).await;
    assert_eq!((s, v["duplicate"].clone()), (202, json!(true)), "{v}");
    let expired = tokens.sign(&claims(now() as u64 - 3600)).unwrap();
    refused(bearer(&expired), "bad_token").await;
    refused(bearer("not-a-jwt"), "bad_token").await;
    let node = env.node().await;
    assert_eq!(
        node.store
            .count_events(c["id"].as_str().unwrap())
            .await
            .unwrap(),
        1
    );
    env.stop().await;
}
both!(oauth2_events_need_a_token_of_the_connectors_own_client);

async fn airlock_push_signs_with_each_method(db: Db) {
    let env = Env::start(db).await;
    let dir = env.data_dir.join("events");
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    std::fs::write(&a, br#"{"n": 1}"#).unwrap();
    std::fs::write(&b, br#"{"n": 2}"#).unwrap();
    let sender_key = format!("{}/fixtures/rsa/sender.pem", env!("CARGO_MANIFEST_DIR"));
    for method in ["hmac-sha256", "api-key", "oauth2", "rsa"] {
        let c = if method == "rsa" {
            register_rsa(&env, "cli-rsa", &rsa_fixture("sender.pub.pem")).await
        } else {
            register(&env, &format!("cli-{method}"), method).await
        };
        let sender_key = sender_key.clone();
        let cred = c["credential"].clone();
        let url = env.url(c["webhook_path"].as_str().unwrap());
        let (url, a, b) = (url.clone(), a.clone(), b.clone());
        let out = tokio::task::spawn_blocking(move || {
            let mut cmd = airlock_tests::airlock_bin();
            cmd.args(["push", "--to", &url, "--auth", method]);
            match method {
                "hmac-sha256" => {
                    cmd.env("AIRLOCK_PUSH_SECRET", cred["secret"].as_str().unwrap());
                }
                "api-key" => {
                    cmd.env("AIRLOCK_PUSH_KEY", cred["key"].as_str().unwrap());
                }
                "rsa" => {
                    cmd.args(["--key-id", cred["key_id"].as_str().unwrap()])
                        .env("AIRLOCK_PUSH_PRIVATE_KEY_FILE", &sender_key);
                }
                _ => {
                    cmd.args(["--client-id", cred["client_id"].as_str().unwrap()])
                        .args(["--token-url", cred["token_url"].as_str().unwrap()])
                        .env(
                            "AIRLOCK_PUSH_CLIENT_SECRET",
                            cred["client_secret"].as_str().unwrap(),
                        );
                }
            }
            cmd.arg(&a).arg(&b).output().unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{method}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{stdout}");
        for l in &lines {
            assert_eq!(
                (l["status"].clone(), l["duplicate"].clone()),
                (json!(202), json!(false)),
                "{l}"
            );
        }
        let node = env.node().await;
        assert_eq!(
            node.store
                .count_events(c["id"].as_str().unwrap())
                .await
                .unwrap(),
            2,
            "{method}"
        );
    }
    // A wrong secret: refused, exit 1, the server's error on the line.
    let c = register(&env, "cli-wrong", "hmac-sha256").await;
    let url = env.url(c["webhook_path"].as_str().unwrap());
    let out = tokio::task::spawn_blocking(move || {
        airlock_tests::airlock_bin()
            .args([
                "push",
                "--to",
                &url,
                "--auth",
                "hmac-sha256",
                "--event-id",
                "e1",
            ])
            .env(
                "AIRLOCK_PUSH_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            )
            .arg(&a)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["status"], 401);
    assert_eq!(line["error"]["code"], "bad_credential");
    env.stop().await;
}
both!(airlock_push_signs_with_each_method);

/// RFC 9421 signing for a test: `alg`, `key_id`, the path signed and `created`.
fn rsa_signed(
    key: &rsa::RsaPrivateKey,
    key_id: &str,
    alg: Alg,
    path: &str,
    body: &[u8],
    created: i64,
) -> Vec<(&'static str, String)> {
    httpsig::sign(key, key_id, alg, "POST", path, body, created, None).unwrap()
}

/// The same, covering an `Idempotency-Key`.
fn rsa_signed_with_key(
    key: &rsa::RsaPrivateKey,
    key_id: &str,
    alg: Alg,
    path: &str,
    body: &[u8],
    idempotency_key: &str,
) -> Vec<(&'static str, String)> {
    httpsig::sign(
        key,
        key_id,
        alg,
        "POST",
        path,
        body,
        now(),
        Some(idempotency_key),
    )
    .unwrap()
}

async fn rsa_events_are_verified_per_rfc_9421(db: Db) {
    let env = Env::start(db).await;
    // Registration: a key under 2048 bits, or none, is refused.
    for (body, code) in [
        (
            json!({"name": "w", "category": "custom", "auth_method": "rsa",
                "public_key": rsa_fixture("weak.pub.pem")}),
            "invalid_public_key",
        ),
        (
            json!({"name": "w", "category": "custom", "auth_method": "rsa"}),
            "public_key_required",
        ),
        (
            json!({"name": "w", "category": "custom", "auth_method": "rsa", "public_key": "not pem"}),
            "invalid_public_key",
        ),
        (
            json!({"name": "w", "category": "custom", "auth_method": "api-key",
                "public_key": rsa_fixture("sender.pub.pem")}),
            "invalid_public_key",
        ),
    ] {
        let (s, e) = env
            .admin("POST", "/api/connectors/register", Some(&body))
            .await;
        assert_eq!(error_code(s, &e, 400, &body.to_string()), code);
    }
    let c = register_rsa(&env, "rsa-sender", &rsa_fixture("sender.pub.pem")).await;
    assert_eq!(c["credential"]["type"], "rsa");
    let key_id = c["credential"]["key_id"].as_str().unwrap().to_string();
    assert!(key_id.starts_with("key_"), "{c}");
    let path = c["webhook_path"].as_str().unwrap().to_string();
    let id = c["id"].as_str().unwrap().to_string();
    let (key, other) = (rsa_private("sender.pem"), rsa_private("rotated.pem"));
    let body = br#"{"reading": 7}"#.to_vec();

    // Both algorithms accepted; a redelivery (same Idempotency-Key) is stored once.
    for (alg, event) in [
        (Alg::RsaPssSha512, "r-1"),
        (Alg::RsaV15Sha256, "r-2"),
        (Alg::RsaPssSha512, "r-1"),
    ] {
        let h = rsa_signed_with_key(&key, &key_id, alg, &path, &body, event);
        let (s, a) = post(&env, &path, &h, body.clone()).await;
        assert_eq!(s, 202, "{alg:?}: {a}");
    }
    let node = env.node().await;
    assert_eq!(node.store.count_events(&id).await.unwrap(), 2);
    // A captured request replayed: without a key, its signature is its key, so
    // the replay is a redelivery; with an uncovered key added, it is refused.
    let captured = rsa_signed(&key, &key_id, Alg::RsaV15Sha256, &path, &body, now());
    let (s, first) = post(&env, &path, &captured, body.clone()).await;
    assert_eq!(
        (s, first["duplicate"].clone()),
        (202, json!(false)),
        "{first}"
    );
    let (s, again) = post(&env, &path, &captured, body.clone()).await;
    assert_eq!(
        (s, again["duplicate"].clone()),
        (202, json!(true)),
        "{again}"
    );
    assert_eq!(again["id"], first["id"]);
    let mut forged = captured.clone();
    forged.push(("idempotency-key", "fresh-key".into()));
    let (s, e) = post(&env, &path, &forged, body.clone()).await;
    assert_eq!(
        error_code(s, &e, 401, "uncovered Idempotency-Key"),
        "bad_credential"
    );
    assert_eq!(node.store.count_events(&id).await.unwrap(), 3);

    let refused =
        |h: Vec<(&'static str, String)>, body: Vec<u8>, code: &'static str, what: &'static str| {
            let (env, path) = (&env, path.clone());
            async move {
                let (s, e) = post(env, &path, &h, body).await;
                assert_eq!(error_code(s, &e, 401, what), code, "{what}");
            }
        };
    let signed = || rsa_signed(&key, &key_id, Alg::RsaPssSha512, &path, &body, now());
    // A tampered body no longer matches the signed Content-Digest (told: the
    // signature verified, so the sender is authenticated).
    refused(
        signed(),
        br#"{"reading": 8}"#.to_vec(),
        "digest_mismatch",
        "tampered body",
    )
    .await;
    // Signed with another key under this key id.
    refused(
        rsa_signed(&other, &key_id, Alg::RsaPssSha512, &path, &body, now()),
        body.clone(),
        "bad_credential",
        "wrong key",
    )
    .await;
    // A key id the connector does not have.
    refused(
        rsa_signed(&key, "key_unknown", Alg::RsaPssSha512, &path, &body, now()),
        body.clone(),
        "bad_credential",
        "unknown key id",
    )
    .await;
    // Stale and future `created`.
    for created in [now() - 310, now() + 310] {
        refused(
            rsa_signed(&key, &key_id, Alg::RsaPssSha512, &path, &body, created),
            body.clone(),
            "stale_timestamp",
            "created out of tolerance",
        )
        .await;
    }
    // Signed for another path (replayed to this connector's webhook).
    refused(
        rsa_signed(
            &key,
            &key_id,
            Alg::RsaPssSha512,
            "/api/events/ingest",
            &body,
            now(),
        ),
        body.clone(),
        "bad_credential",
        "other path",
    )
    .await;
    // A signature that leaves out content-digest.
    let mut h = signed();
    for (k, v) in h.iter_mut() {
        if *k == "signature-input" {
            *v = v.replace(r#" "content-digest""#, "");
        }
    }
    refused(
        h,
        body.clone(),
        "bad_credential",
        "content-digest not covered",
    )
    .await;
    // Another connector's method, with a body over the limit: 401 before reading it.
    let big = vec![b' '; 2 * 1024 * 1024];
    let (s, answer) = declared_only(&env, &path, &signed_hmac_headers(&big), big.len()).await;
    assert_eq!(s, 401, "{answer}");
    assert!(answer.contains("bad_credential"), "{answer}");
    // And an RSA-signed body over the limit to it: 413 after the headers passed.
    let h = rsa_signed(&key, &key_id, Alg::RsaPssSha512, &path, &big, now());
    let (s, _) = post(&env, &path, &h, big).await;
    assert_eq!(s, 413);

    // Rotation brings the new public key; both keys work inside the grace window.
    let (s, r) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/credentials/rotate"),
            Some(&json!({"public_key": rsa_fixture("rotated.pub.pem")})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let new_id = r["credential"]["key_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, key_id);
    for (k, kid, event) in [(&other, &new_id, "r-3"), (&key, &key_id, "r-4")] {
        let h = rsa_signed_with_key(k, kid, Alg::RsaV15Sha256, &path, &body, event);
        let (s, a) = post(&env, &path, &h, body.clone()).await;
        assert_eq!(s, 202, "{kid}: {a}");
    }
    // An rsa rotation without a key is refused, nothing changes.
    let (s, e) = env
        .admin(
            "POST",
            &format!("/api/connectors/{id}/credentials/rotate"),
            None,
        )
        .await;
    assert_eq!(
        error_code(s, &e, 400, "rotation without a key"),
        "public_key_required"
    );
    env.stop().await;
}
both!(rsa_events_are_verified_per_rfc_9421);

/// Standard Webhooks headers with a made-up secret.
fn signed_hmac_headers(body: &[u8]) -> Vec<(&'static str, String)> {
    signed("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "h-1", now(), body)
}

/// Hostile RFC 9421 headers cost no RSA work: a request with many signature labels
/// naming the connector's (public) key id is refused unread, whether its headers
/// are over the ingest cap (431) or just over the label cap (401); a good request
/// still passes afterwards.
async fn many_signature_labels_are_refused_before_any_rsa_work(db: Db) {
    let env = Env::start(db).await;
    let c = register_rsa(&env, "rsa-flood", &rsa_fixture("sender.pub.pem")).await;
    let key_id = c["credential"]["key_id"].as_str().unwrap().to_string();
    let path = c["webhook_path"].as_str().unwrap().to_string();
    let key = rsa_private("sender.pem");
    let body = br#"{"reading": 1}"#.to_vec();
    let good = rsa_signed(&key, &key_id, Alg::RsaPssSha512, &path, &body, now());
    let input = good
        .iter()
        .find(|(n, _)| *n == "signature-input")
        .unwrap()
        .1
        .clone();
    let params = input.strip_prefix("sig1=").unwrap().to_string();
    let with_labels = |n: usize| {
        let mut h: Vec<(&str, String)> = good
            .iter()
            .filter(|(name, _)| *name != "signature-input" && *name != "signature")
            .cloned()
            .collect();
        h.push((
            "signature-input",
            (0..n)
                .map(|i| format!("s{i}={params}"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
        h.push((
            "signature",
            (0..n)
                .map(|i| format!("s{i}=:AAAA:"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
        h
    };
    let (s, e) = declared_only(&env, &path, &with_labels(1700), body.len()).await;
    assert_eq!(s, 431, "{e}");
    assert!(e.contains("headers_too_large"), "{e}");
    let (s, e) = post(&env, &path, &with_labels(5), body.clone()).await;
    assert_eq!(error_code(s, &e, 401, "five labels"), "bad_credential");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 4"),
        "{e}"
    );
    let (s, a) = post(&env, &path, &good, body.clone()).await;
    assert_eq!(s, 202, "{a}");
    env.stop().await;
}
both!(many_signature_labels_are_refused_before_any_rsa_work);

/// Senders using Svix's libraries sign with the same scheme under `svix-*` header
/// names: accepted as aliases, and a redelivery under either name is the same event.
async fn svix_header_names_are_accepted_as_standard_webhooks(db: Db) {
    let env = Env::start(db).await;
    let c = register(&env, "svix-sender", "hmac-sha256").await;
    let secret = c["credential"]["secret"].as_str().unwrap().to_string();
    let path = c["webhook_path"].as_str().unwrap().to_string();
    let body = br#"{"svix": true}"#.to_vec();
    let svix: Vec<(&str, String)> = signed(&secret, "msg_svix_1", now(), &body)
        .into_iter()
        .map(|(n, v)| {
            let alias = match n {
                "webhook-id" => "svix-id",
                "webhook-timestamp" => "svix-timestamp",
                _ => "svix-signature",
            };
            (alias, v)
        })
        .collect();
    let (s, first) = post(&env, &path, &svix, body.clone()).await;
    assert_eq!(s, 202, "{first}");
    assert_eq!(first["duplicate"], false);
    let (s, again) = post(
        &env,
        &path,
        &signed(&secret, "msg_svix_1", now(), &body),
        body.clone(),
    )
    .await;
    assert_eq!(s, 202, "{again}");
    assert_eq!(
        (again["duplicate"].clone(), again["id"].clone()),
        (json!(true), first["id"].clone())
    );
    // A bad signature under the alias is refused like any other.
    let mut bad = svix.clone();
    bad[2].1 = "v1,AAAA".into();
    let (s, e) = post(&env, &path, &bad, body.clone()).await;
    assert_eq!(
        error_code(s, &e, 401, "bad svix signature"),
        "bad_credential"
    );
    env.stop().await;
}
both!(svix_header_names_are_accepted_as_standard_webhooks);

/// On the header route, an unauthenticated caller cannot tell another tenant's
/// connector, or its method, from an id that does not exist: same status, same
/// body — whether it sends no credential, another method's, or a well-formed and
/// fresh credential of the right method that is not the connector's (a guess of
/// the method tells nothing either).
async fn the_header_route_does_not_tell_existence_or_method(db: Db) {
    let env = Env::start(db).await;
    let c = register(&env, "quiet-sender", "hmac-sha256").await;
    let id = c["id"].as_str().unwrap().to_string();
    let keyed = register(&env, "keyed-sender", "api-key").await;
    let api_key = keyed["credential"]["key"].as_str().unwrap().to_string();
    let rsa = register_rsa(&env, "signing-sender", &rsa_fixture("sender.pub.pem")).await;
    let rsa_id = rsa["id"].as_str().unwrap().to_string();
    let key_id = rsa["credential"]["key_id"].as_str().unwrap().to_string();
    let body = br#"{"n": 1}"#.to_vec();
    // RSA headers signed with a key that is not the connector's, under its key id.
    let forged_rsa = rsa_signed(
        &rsa_private("rotated.pem"),
        &key_id,
        Alg::RsaPssSha512,
        "/api/events/ingest",
        &body,
        now(),
    );
    let wrong_secret = signed_hmac_headers(&body);
    let random = uuid::Uuid::new_v4().to_string();
    for (connector, extra) in [
        (&rsa_id, forged_rsa.clone()),
        (&id, forged_rsa),
        (&id, wrong_secret.clone()),
        (&rsa_id, wrong_secret),
        // Another connector's valid key, on a connector of another method.
        (&id, vec![("x-api-key", api_key.clone())]),
    ] {
        let real = probe_header_route(&env, connector, extra.clone(), &body).await;
        let none = probe_header_route(&env, &random, extra.clone(), &body).await;
        assert_eq!(real.0, 401, "{:?}", real.1);
        assert_eq!(real, none, "existence or method told apart with {extra:?}");
    }
    for extra in [
        vec![],
        vec![("x-api-key", "alk_whatever".to_string())],
        vec![(
            "authorization",
            format!("Bearer {}", env.other_tenant_token().await),
        )],
    ] {
        let real = probe_header_route(&env, &id, extra.clone(), &body).await;
        let none = probe_header_route(&env, &random, extra.clone(), &body).await;
        assert_eq!(real.0, 401, "{:?}", real.1);
        assert_eq!(real, none, "existence or method told apart with {extra:?}");
        assert!(!real.1.to_string().contains("hmac"), "{}", real.1);
    }
    env.stop().await;
}
both!(the_header_route_does_not_tell_existence_or_method);

/// One push to the header route naming `connector`, with `extra` headers.
async fn probe_header_route(
    env: &Env,
    connector: &str,
    extra: Vec<(&'static str, String)>,
    body: &[u8],
) -> (u16, Value) {
    let mut h = vec![("x-connector-id", connector.to_string())];
    h.extend(extra);
    post(env, "/api/events/ingest", &h, body.to_vec()).await
}
