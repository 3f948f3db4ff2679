//! Real client libraries against a live Airlock, on both databases: Authlib fetches
//! a token through the RFC 8414 metadata, PyJWT verifies it from the JWKS, and the
//! `standardwebhooks` and Svix signers are accepted at a webhook
//! (`tests/interop/clients.py`). `scripts/test` installs the pinned libraries
//! (`tests/interop/requirements.txt`) into a venv and names its Python in
//! `AIRLOCK_TEST_PYTHON`.

use serde_json::Value;

use crate::both;
use crate::harness::{Db, Env};
use crate::ingest::register_push;

fn python() -> String {
    std::env::var("AIRLOCK_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "AIRLOCK_TEST_PYTHON is not set: run the suite with scripts/test, which installs \
             tests/interop/requirements.txt into a venv and sets it"
        )
    })
}

async fn off_the_shelf_clients_interoperate(db: Db) {
    let env = Env::start(db).await;
    let node = env.node().await;
    let (client, secret) = airlock_host::auth::create_client(
        &node.store,
        &node.keys,
        &env.tenant,
        &[airlock_host::auth::Scope::ConnectorsRead],
        "interop",
        "test",
    )
    .await
    .unwrap();
    let hook = register_push(&env, &env.token, "interop-hook", "hmac-sha256", None).await;
    let webhook_url = env.url(hook["webhook_path"].as_str().unwrap());
    let webhook_secret = hook["credential"]["secret"].as_str().unwrap().to_string();
    let script = format!("{}/interop/clients.py", env!("CARGO_MANIFEST_DIR"));
    let args = [
        script,
        env.base.clone(),
        client.id.clone(),
        secret,
        webhook_url,
        webhook_secret,
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python()).args(args).output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["issuer"], "urn:airlock");
    assert_eq!(seen["scope"], "connectors:read");
    assert_eq!(seen["webhooks"]["standardwebhooks"], 202, "{seen}");
    assert_eq!(seen["webhooks"]["svix"], 202, "{seen}");
    env.stop().await;
}
both!(off_the_shelf_clients_interoperate);
