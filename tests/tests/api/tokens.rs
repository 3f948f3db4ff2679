//! Access tokens: the grant, and a negative suite where nothing forged is accepted.

use airlock_host::auth::{AUDIENCE, Claims, Scope, Tokens};
use airlock_host::keys::Keys;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::both;
use crate::harness::{Db, Env, answer, error_code};

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims as the server would sign them for the bootstrap client (a real,
/// active client: a token naming a client that does not exist is refused).
fn claims(env: &Env) -> Claims {
    let bootstrap: Value =
        serde_json::from_slice(&std::fs::read(env.data_dir.join("bootstrap.json")).unwrap())
            .unwrap();
    let client = bootstrap["client_id"].as_str().unwrap().to_string();
    Claims {
        iss: "urn:airlock".into(),
        aud: AUDIENCE.into(),
        sub: client.clone(),
        client_id: client,
        tenant_id: env.tenant.clone(),
        scope: Scope::ALL.map(|s| s.as_str()).join(" "),
        exp: now() + 600,
        iat: now(),
        nbf: now(),
        jti: "j".into(),
    }
}

async fn the_grant_issues_rfc9068_tokens_and_checks_the_client(db: Db) {
    let env = Env::start(db).await;
    let bootstrap: Value =
        serde_json::from_slice(&std::fs::read(env.data_dir.join("bootstrap.json")).unwrap())
            .unwrap();
    let id = bootstrap["client_id"].as_str().unwrap();
    let secret = bootstrap["client_secret"].as_str().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(env.data_dir.join("bootstrap.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "bootstrap.json is private");
    }
    assert!(
        bootstrap["token_url"]
            .as_str()
            .unwrap()
            .ends_with("/oauth/token")
    );

    // HTTP Basic client authentication, a narrowed scope.
    let r = env
        .http
        .post(env.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "connectors:read"),
        ])
        .send()
        .await
        .unwrap();
    let (s, t) = answer(r).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "connectors:read");
    assert!(t["expires_in"].as_u64().unwrap() <= 3600);
    let token = t["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    for claim in [
        "iss",
        "aud",
        "sub",
        "client_id",
        "exp",
        "iat",
        "jti",
        "scope",
    ] {
        assert!(
            payload.get(claim).is_some(),
            "RFC 9068 claim {claim} in {payload}"
        );
    }
    // The narrowed token reads but cannot manage.
    let (s, _) = env.call("GET", "/api/connectors", Some(token), None).await;
    assert_eq!(s, 200);
    let (s, e) = env
        .call(
            "POST",
            "/api/connectors/register",
            Some(token),
            Some(&json!({"name": "x", "category": "custom"})),
        )
        .await;
    error_code(s, &e, 403, "a read-only token registering");

    for (form, status, code, what) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", "acs_wrong"),
            ],
            401,
            "invalid_client",
            "a wrong secret",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "cli_nobody"),
                ("client_secret", secret),
            ],
            401,
            "invalid_client",
            "an unknown client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            400,
            "unsupported_grant_type",
            "another grant",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", "root"),
            ],
            400,
            "invalid_scope",
            "an unknown scope",
        ),
    ] {
        let r = env
            .http
            .post(env.url("/oauth/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store", "{what}");
        let (s, e) = answer(r).await;
        assert_eq!(oauth_error(s, &e, status, what), code);
    }
    // A client may not ask for a scope it does not hold.
    let node = env.node().await;
    let (c, cs) = airlock_host::auth::create_client(
        &node.store,
        &node.keys,
        &env.tenant,
        &[Scope::ConnectorsRead],
        "ro",
        "test",
    )
    .await
    .unwrap();
    let r = env
        .http
        .post(env.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.id.as_str()),
            ("client_secret", cs.as_str()),
            ("scope", "connectors:manage"),
        ])
        .send()
        .await
        .unwrap();
    let (s, e) = answer(r).await;
    assert_eq!(oauth_error(s, &e, 400, "an unheld scope"), "invalid_scope");
    env.stop().await;
}
both!(the_grant_issues_rfc9068_tokens_and_checks_the_client);

/// The token endpoint's error, in RFC 6749 §5.2's shape: its `error` code.
fn oauth_error(status: u16, body: &Value, expected: u16, context: &str) -> String {
    assert_eq!(status, expected, "{context}: {body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(!description.is_empty(), "{context}: {body}");
    assert!(
        !description.contains("variant") && !description.contains("HS256"),
        "{context}: a library's internals in {body}"
    );
    body["error"].as_str().unwrap_or_default().to_string()
}

async fn the_metadata_and_the_jwks_let_a_service_verify_tokens_alone(db: Db) {
    let env = Env::start(db).await;
    let (s, m) = env
        .call("GET", "/.well-known/oauth-authorization-server", None, None)
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["issuer"], "urn:airlock");
    assert_eq!(m["token_endpoint"], env.url("/oauth/token"));
    assert_eq!(m["jwks_uri"], env.url("/.well-known/jwks.json"));
    assert_eq!(m["grant_types_supported"], json!(["client_credentials"]));
    let (s, jwks) = env.call("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(s, 200, "{jwks}");
    let jwk = &jwks["keys"][0];
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    // The token names the key it was signed with, and that key verifies it.
    let header = jsonwebtoken::decode_header(&env.token).unwrap();
    assert_eq!(header.kid.as_deref(), jwk["kid"].as_str());
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.set_issuer(&["urn:airlock"]);
    v.set_audience(&["airlock-api"]);
    jsonwebtoken::decode::<Value>(&env.token, &key, &v).unwrap();
    env.stop().await;
}
both!(the_metadata_and_the_jwks_let_a_service_verify_tokens_alone);

/// The `kid` values the JWKS lists.
async fn jwks_kids(env: &Env) -> Vec<String> {
    let (s, jwks) = env.call("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(s, 200, "{jwks}");
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// `airlock token-key rotate` on a running server's data directory: the server
/// signs with the new key within seconds, the JWKS lists both (new first), and a
/// token signed with the old key keeps working until it expires.
async fn a_rotated_signing_key_keeps_its_tokens_valid_until_they_expire(db: Db) {
    let env = Env::start(db).await;
    let old_kid = jsonwebtoken::decode_header(&env.token)
        .unwrap()
        .kid
        .unwrap();
    assert_eq!(jwks_kids(&env).await, vec![old_kid.clone()]);
    let dir = env.data_dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        airlock_tests::airlock_bin()
            .args(["token-key", "rotate", "--data-dir"])
            .arg(&dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated["retired_kid"], old_kid.as_str());
    let new_kid = rotated["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    // Taken up without a restart.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while jwks_kids(&env).await != vec![new_kid.clone(), old_kid.clone()] {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not take up the new key: {:?}",
            jwks_kids(&env).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let bootstrap: Value =
        serde_json::from_slice(&std::fs::read(env.data_dir.join("bootstrap.json")).unwrap())
            .unwrap();
    let fresh = crate::harness::token_for(
        &env.http,
        &env.base,
        bootstrap["client_id"].as_str().unwrap(),
        bootstrap["client_secret"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(
        jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    for token in [&env.token, &fresh] {
        let (s, v) = env.call("GET", "/api/connectors", Some(token), None).await;
        assert_eq!(s, 200, "{v}");
    }
    env.stop().await;
}
both!(a_rotated_signing_key_keeps_its_tokens_valid_until_they_expire);

async fn forged_expired_and_foreign_tokens_are_refused(db: Db) {
    let env = Env::start(db).await;
    let keys = Keys::load_or_create(&env.data_dir).unwrap();
    let ours = Tokens::new(&keys, "urn:airlock").unwrap();
    // Sanity: a token we sign the same way is accepted, so each refusal below is due
    // to the one thing changed.
    let good = ours.sign(&claims(&env)).unwrap();
    let (s, _) = env.call("GET", "/api/connectors", Some(&good), None).await;
    assert_eq!(s, 200);

    let other_dir = env.data_dir.join("other-keys");
    let other_key = Tokens::new(&Keys::load_or_create(&other_dir).unwrap(), "urn:airlock").unwrap();
    let other_issuer = Tokens::new(&keys, "urn:someone-else").unwrap();
    let signing = ed25519_dalek::SigningKey::from_bytes(&keys.jwt_seed);
    let der = {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        signing.to_pkcs8_der().unwrap()
    };
    let enc = jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes());

    let mut cases: Vec<(String, &str)> = Vec::new();
    let c = claims(&env);
    cases.push((
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "at+jwt"})),
            b64(&serde_json::to_value(&c).unwrap())
        ),
        "alg none",
    ));
    // Change one character in the middle of the signature: still canonical base64url
    // (the last character's spare bits would make it a decoding error instead), so
    // the refusal comes from the signature check itself.
    let (head, sig) = good.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = sig.chars().collect();
    sig[20] = if sig[20] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{head}.{}", sig.into_iter().collect::<String>());
    assert!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(tampered.rsplit_once('.').unwrap().1)
            .is_ok()
    );
    cases.push((tampered, "a changed signature"));
    cases.push((other_key.sign(&c).unwrap(), "another key's signature"));
    cases.push((
        other_issuer
            .sign(&Claims {
                iss: other_issuer.issuer().into(),
                ..c.clone()
            })
            .unwrap(),
        "a wrong issuer",
    ));
    cases.push((
        ours.sign(&Claims {
            aud: "someone-else".into(),
            ..c.clone()
        })
        .unwrap(),
        "a wrong audience",
    ));
    cases.push((
        ours.sign(&Claims {
            exp: now() - 60,
            iat: now() - 1000,
            nbf: now() - 1000,
            ..c.clone()
        })
        .unwrap(),
        "an expired token",
    ));
    cases.push((
        ours.sign(&Claims {
            nbf: now() + 600,
            ..c.clone()
        })
        .unwrap(),
        "a token not yet valid",
    ));
    // typ JWT instead of at+jwt.
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    h.typ = Some("JWT".into());
    cases.push((jsonwebtoken::encode(&h, &c, &enc).unwrap(), "typ JWT"));
    // No scope claim at all.
    let mut no_scope = serde_json::to_value(&c).unwrap();
    no_scope.as_object_mut().unwrap().remove("scope");
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    h.typ = Some("at+jwt".into());
    cases.push((
        jsonwebtoken::encode(&h, &no_scope, &enc).unwrap(),
        "a missing scope claim",
    ));
    // Algorithm confusion: HS256 keyed with the public key.
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.typ = Some("at+jwt".into());
    let public = signing.verifying_key().to_bytes();
    cases.push((
        jsonwebtoken::encode(&h, &c, &jsonwebtoken::EncodingKey::from_secret(&public)).unwrap(),
        "HS256 keyed with the public key",
    ));
    cases.push(("not-a-jwt".into(), "garbage"));

    for (token, what) in &cases {
        let (s, e) = env.call("GET", "/api/connectors", Some(token), None).await;
        assert_eq!(error_code(s, &e, 401, what), "unauthorized", "{what}");
    }
    // Not a bearer scheme.
    let r = env
        .http
        .get(env.url("/api/connectors"))
        .header("authorization", format!("Basic {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("www-authenticate").unwrap(), "Bearer");
    let (s, e) = answer(r).await;
    error_code(s, &e, 401, "a Basic header");
    env.stop().await;
}
both!(forged_expired_and_foreign_tokens_are_refused);
