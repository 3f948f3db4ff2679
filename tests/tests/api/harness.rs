//! A real `airlock serve` on a loopback port (in this process), on SQLite in a temp
//! dir or on a fresh database of the throwaway PostgreSQL that `scripts/test`
//! starts (`AIRLOCK_TEST_POSTGRES`), and an HTTP client for it.

use std::path::PathBuf;

use airlock_host::auth::{Scope, create_client, create_tenant};
use airlock_host::health::HealthPolicy;
use airlock_host::server::{Node, ServeOptions, Server};
use serde_json::{Value, json};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `both!(name)` expects `async fn name(db: Db)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::harness::Db::Postgres).await
            }
        }
    };
}

/// A new, empty database on the test PostgreSQL.
pub async fn fresh_postgres_url() -> String {
    airlock_tests::postgres::fresh_url().await
}

/// A running server and what a test needs to talk to it.
pub struct Env {
    pub server: Option<Server>,
    pub base: String,
    pub http: reqwest::Client,
    /// The bootstrap client's token (every scope).
    pub token: String,
    pub tenant: String,
    pub data_dir: PathBuf,
    pub database: Option<String>,
}

impl Env {
    pub async fn start(db: Db) -> Env {
        Env::start_with(db, HealthPolicy::default()).await
    }

    pub async fn start_with(db: Db, policy: HealthPolicy) -> Env {
        Env::start_configured(db, |opts| opts.policy = policy).await
    }

    /// A server whose options `configure` adjusts (listen address, data dir and
    /// database are the harness's).
    pub async fn start_configured(db: Db, configure: impl FnOnce(&mut ServeOptions)) -> Env {
        let data_dir = std::env::temp_dir().join(format!("airlock-api-{}", uuid::Uuid::new_v4()));
        let database = match db {
            Db::Sqlite => None,
            Db::Postgres => Some(fresh_postgres_url().await),
        };
        let mut opts = ServeOptions::new(&data_dir);
        opts.listen = "127.0.0.1:0".parse().unwrap();
        opts.database = database;
        configure(&mut opts);
        let database = opts.database.clone();
        let server = airlock_host::server::start(opts).await.unwrap();
        let bootstrap: Value =
            serde_json::from_slice(&std::fs::read(data_dir.join("bootstrap.json")).unwrap())
                .unwrap();
        assert_eq!(
            bootstrap,
            server.bootstrap.clone().unwrap(),
            "bootstrap.json holds what the first start created"
        );
        let base = format!("http://{}", server.addr);
        let http = reqwest::Client::new();
        let token = token_for(
            &http,
            &base,
            bootstrap["client_id"].as_str().unwrap(),
            bootstrap["client_secret"].as_str().unwrap(),
            None,
        )
        .await;
        Env {
            server: Some(server),
            base,
            http,
            token,
            tenant: bootstrap["tenant_id"].as_str().unwrap().to_string(),
            data_dir,
            database,
        }
    }

    /// The node's store and keys, as the operator's CLI would open them.
    pub async fn node(&self) -> Node {
        Node::open(&self.data_dir, self.database.as_deref())
            .await
            .unwrap()
    }

    /// A token of a new client of the bootstrap tenant holding only `scopes`.
    pub async fn token_with(&self, scopes: &[Scope]) -> String {
        let node = self.node().await;
        let (client, secret) = create_client(
            &node.store,
            &node.keys,
            &self.tenant,
            scopes,
            "test",
            "test",
        )
        .await
        .unwrap();
        token_for(&self.http, &self.base, &client.id, &secret, None).await
    }

    /// A token (every scope) of a client of a new tenant.
    pub async fn other_tenant_token(&self) -> String {
        let node = self.node().await;
        let name = format!("other-{}", uuid::Uuid::new_v4().simple());
        let t = create_tenant(&node.store, &node.keys, &name, "test")
            .await
            .unwrap();
        let (client, secret) =
            create_client(&node.store, &node.keys, &t.id, &Scope::ALL, "x", "test")
                .await
                .unwrap();
        token_for(&self.http, &self.base, &client.id, &secret, None).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with `token` (or none) and a JSON body (or none); returns the
    /// status and the JSON answer (`null` when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method.parse().unwrap(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let (status, answer) = answer(req.send().await.unwrap()).await;
        crate::openapi::check_answer(method, path, status, &answer);
        (status, answer)
    }

    /// The same with the bootstrap token.
    pub async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call(method, path, Some(&self.token.clone()), body)
            .await
    }

    /// Registers a connector (asserting 201); returns its id.
    pub async fn register(&self, name: &str, category: &str) -> String {
        let (status, c) = self
            .admin(
                "POST",
                "/api/connectors/register",
                Some(&json!({"name": name, "category": category})),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        c["id"].as_str().unwrap().to_string()
    }

    /// Registers a connector and uploads `wasm` to it; returns its id.
    pub async fn register_and_upload(&self, name: &str, category: &str, wasm: &str) -> String {
        let id = self.register(name, category).await;
        let (status, v) = self.upload(&id, std::fs::read(wasm).unwrap()).await;
        assert_eq!(status, 201, "{v}");
        id
    }

    /// Registers a connector, uploads `wasm` and deploys its 0.1.0 to `default`;
    /// returns its id.
    pub async fn register_and_deploy(&self, name: &str, category: &str, wasm: &str) -> String {
        let id = self.register_and_upload(name, category, wasm).await;
        self.deploy(&id, "0.1.0").await;
        id
    }

    /// Deploys `version` of connector `id` to `default` (asserting 201).
    pub async fn deploy(&self, id: &str, version: &str) {
        let (s, d) = self
            .admin(
                "POST",
                &format!("/api/connectors/{id}/deployments"),
                Some(&json!({ "version": version })),
            )
            .await;
        assert_eq!(s, 201, "{d}");
    }

    pub async fn upload(&self, id: &str, bytes: Vec<u8>) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(&format!("/api/connectors/{id}/versions")))
            .bearer_auth(&self.token)
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.unwrap();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub async fn answer(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "a non-JSON answer ({status}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

pub async fn token_for(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> String {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let r = http
        .post(format!("{base}/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = answer(r).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// Asserts the DESIGN.md error body and returns its code.
pub fn error_code(status: u16, body: &Value, expected_status: u16, context: &str) -> String {
    assert_eq!(status, expected_status, "{context}: {body}");
    let e = &body["error"];
    let code = e["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{context}: no error.code in {body}"));
    assert!(
        code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "{context}: `{code}` is not snake_case"
    );
    let message = e["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{context}: no error.message in {body}"));
    assert!(
        message.len() > 10,
        "{context}: the message is not a sentence: {message}"
    );
    code.to_string()
}
