//! The vendor's path, end to end, as a vendor outside this repository walks it:
//! `airlock new` (each kind) in a temp dir, `cargo test` of the scaffold, `airlock
//! build` for wasm32-wasip2, `airlock check`, `airlock login` to a real `airlock
//! serve`, `airlock upload --deploy`, and then the deployed connector answers: the
//! action an invoke, the poll connector a poll of a local HTTPS upstream, the push
//! connector a signed event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: fail loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Runs `cmd`, asserting it succeeds; its stdout as JSON (`Null` if it is not).
fn run_ok(cmd: &mut Command, what: &str) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// A cargo (or `airlock build`) command for a scaffold outside the workspace, with
/// the outer build's settings removed and the scaffolds' shared target directory.
fn scaffold_env(cmd: &mut Command, target: &Path) {
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "RUSTUP_TOOLCHAIN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CARGO_TARGET_DIR", target);
}

fn airlock(config: &Path) -> Command {
    let mut cmd = airlock_tests::airlock_bin();
    cmd.env("AIRLOCK_CONFIG_DIR", config);
    cmd
}

/// Scaffolds, tests, builds and checks one connector; returns its component.
fn scaffold(work: &Path, target: &Path, name: &str, args: &[&str]) -> PathBuf {
    let made = run_ok(
        airlock(work)
            .current_dir(work)
            .args(["new", name])
            .args(args),
        "airlock new",
    );
    let dir = work.join(made["path"].as_str().unwrap());
    for file in [
        "Cargo.toml",
        "README.md",
        ".gitignore",
        "src/lib.rs",
        "tests/fixtures/records.json",
    ] {
        assert!(dir.join(file).is_file(), "{name}: no {file}");
    }
    let mut test = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    test.arg("test").current_dir(&dir);
    scaffold_env(&mut test, target);
    let out = test.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("test result: ok. 3 passed"),
        "{name}: cargo test failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut build = airlock(work);
    build.arg("build").arg(&dir);
    scaffold_env(&mut build, target);
    let built = run_ok(&mut build, "airlock build");
    let wasm = PathBuf::from(built["path"].as_str().unwrap());
    assert_eq!(
        built["size"].as_u64().unwrap(),
        std::fs::metadata(&wasm).unwrap().len()
    );
    let report = run_ok(
        airlock(work).args(["check", "--json"]).arg(&wasm),
        "airlock check",
    );
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["id"], name);
    assert_eq!(report["digest"], built["digest"]);
    wasm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_scaffolds_builds_checks_and_uploads_each_kind() {
    let work =
        std::env::temp_dir().join(format!("airlock-vendor-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    // Shared by runs and kinds: the SDK and its dependencies build once.
    let target = airlock_tests::airlock_bin_dir()
        .parent()
        .unwrap()
        .join("scaffolds");
    let action = scaffold(&work, &target, "ticket-bot", &["--category", "custom"]);
    let poll = scaffold(
        &work,
        &target,
        "my-feed",
        &["--category", "osint", "--kind", "poll"],
    );
    let ingest = scaffold(
        &work,
        &target,
        "alert-relay",
        &[
            "--category",
            "telemetry",
            "--kind",
            "ingest",
            "--standard",
            "cap-1.2",
        ],
    );

    // A real server, with a local HTTPS upstream for the poll connector.
    let feed = airlock_tests::feed::FeedServer::start();
    feed.set_alerts(
        &json!([
            {"id": "r-0001", "value": "198.51.100.7", "description": "scanner"},
            {"id": "r-0002", "value": "evil.example.net"}
        ])
        .to_string(),
    );
    let data = work.join("server");
    std::fs::create_dir_all(&data).unwrap();
    let ca = work.join("ca.pem");
    std::fs::write(&ca, &feed.ca_pem).unwrap();
    let mut args = vec!["--outbound-ca".to_string(), ca.display().to_string()];
    for rule in feed.resolve_rules() {
        args.extend(["--outbound-resolve".to_string(), rule]);
    }
    let port = airlock_tests::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = airlock_tests::serve_process(&data, port, None, &args);
    let http = reqwest::Client::new();
    airlock_tests::wait_healthy(&http, &base).await;
    let boot: Value =
        serde_json::from_slice(&std::fs::read(data.join("bootstrap.json")).unwrap()).unwrap();
    let token = airlock_tests::bootstrap_token(&http, &base, &boot).await;
    let admin = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // The admin registers the three connectors; the vendor uploads to them.
    let mut ids = std::collections::BTreeMap::new();
    let mut push_secret = String::new();
    for (name, category, auth) in [
        ("ticket-bot", "custom", None),
        ("my-feed", "osint", None),
        ("alert-relay", "telemetry", Some("hmac-sha256")),
    ] {
        let mut body = json!({"name": name, "category": category});
        if let Some(a) = auth {
            body["auth_method"] = json!(a);
        }
        let (s, c) = admin(
            reqwest::Method::POST,
            "/api/connectors/register",
            Some(body),
        )
        .await;
        assert_eq!(s, 201, "{c}");
        if auth.is_some() {
            push_secret = c["credential"]["secret"].as_str().unwrap().to_string();
        }
        ids.insert(name, c["id"].as_str().unwrap().to_string());
    }

    // Login: credentials from the environment, kept 0600.
    let config = work.join("config");
    let login = run_ok(
        airlock(&config)
            .args(["login", "--server", &base])
            .env("AIRLOCK_CLIENT_ID", boot["client_id"].as_str().unwrap())
            .env(
                "AIRLOCK_CLIENT_SECRET",
                boot["client_secret"].as_str().unwrap(),
            ),
        "airlock login",
    );
    assert_eq!(login["server"], base.as_str());
    let kept = config.join("login.json");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A wrong secret stores nothing.
    let refused = airlock(&work.join("config-bad"))
        .args(["login", "--server", &base])
        .env("AIRLOCK_CLIENT_ID", boot["client_id"].as_str().unwrap())
        .env("AIRLOCK_CLIENT_SECRET", "wrong")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(!work.join("config-bad/login.json").exists());

    // The action connector: upload by name, deploy, invoke.
    let up = run_ok(
        airlock(&config).arg("upload").arg(&action).args([
            "--connector",
            "ticket-bot",
            "--deploy",
            "default",
        ]),
        "airlock upload ticket-bot",
    );
    assert_eq!(up["connector"], ids["ticket-bot"].as_str());
    assert_eq!(up["version"], "0.1.0");
    assert_eq!(up["deployment"]["version"], "0.1.0");
    let (s, out) = admin(
        reqwest::Method::POST,
        &format!("/api/connectors/{}/invoke/lookup", ids["ticket-bot"]),
        Some(json!({"id": "r-9", "value": "a ticket"})),
    )
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["outputs"][0]["body"]["value"], "a ticket", "{out}");
    // Uploading the same bytes again is a retry, not an error.
    let again = run_ok(
        airlock(&config)
            .arg("upload")
            .arg(&action)
            .args(["--connector", "ticket-bot"]),
        "airlock upload (again)",
    );
    assert_eq!(again["version"], "0.1.0");
    assert_eq!(again["digest"], up["digest"]);
    // An unknown connector is a "no" (exit 1), not a usage error.
    let out = airlock(&config)
        .arg("upload")
        .arg(&action)
        .args(["--connector", "nobody"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    // The poll connector: deployed with its config and grants, then polled.
    let cfg = work.join("feed-config.json");
    std::fs::write(
        &cfg,
        json!({"feed_url": "https://feeds.example.org/alerts/active"}).to_string(),
    )
    .unwrap();
    let up = run_ok(
        airlock(&config).arg("upload").arg(&poll).args([
            "--connector",
            "my-feed",
            "--deploy",
            "default",
            "--config",
            cfg.to_str().unwrap(),
            "--allow-host",
            "https://feeds.example.org",
            "--allow-network",
            "127.0.0.0/8",
        ]),
        "airlock upload my-feed",
    );
    assert_eq!(
        up["deployment"]["config"]["feed_url"],
        "https://feeds.example.org/alerts/active"
    );
    let (s, record) = admin(
        reqwest::Method::POST,
        &format!(
            "/api/connectors/{}/deployments/default/poll",
            ids["my-feed"]
        ),
        None,
    )
    .await;
    assert_eq!(s, 200, "{record}");
    assert_eq!(record["outcome"], "ok", "{record}");
    assert_eq!(record["published"], 2, "{record}");
    assert_eq!(record["cursor_after"], "r-0002", "{record}");
    // Deploying again without flags keeps the target's config and grants.
    let again = run_ok(
        airlock(&config).arg("upload").arg(&poll).args([
            "--connector",
            "my-feed",
            "--deploy",
            "default",
        ]),
        "airlock upload my-feed (again)",
    );
    assert_eq!(
        again["deployment"]["config"]["feed_url"],
        "https://feeds.example.org/alerts/active"
    );
    assert_eq!(
        again["deployment"]["allowed_networks"],
        json!(["127.0.0.0/8"])
    );

    // The push connector: deployed, then an event pushed and published as CAP.
    run_ok(
        airlock(&config).arg("upload").arg(&ingest).args([
            "--connector",
            ids["alert-relay"].as_str(),
            "--deploy",
            "default",
        ]),
        "airlock upload alert-relay",
    );
    let event = work.join("event.json");
    std::fs::write(
        &event,
        json!({"id": "a-1", "value": "Flood warning"}).to_string(),
    )
    .unwrap();
    let tenant = boot["tenant_id"].as_str().unwrap();
    run_ok(
        airlock(&config)
            .args([
                "push",
                "--to",
                &format!("{base}/api/events/ingest/{tenant}/{}", ids["alert-relay"]),
                "--auth",
                "hmac-sha256",
            ])
            .arg(&event)
            .env("AIRLOCK_PUSH_SECRET", &push_secret),
        "airlock push",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let published = loop {
        let (_, page) = admin(
            reqwest::Method::GET,
            &format!("/api/events?connector={}", ids["alert-relay"]),
            None,
        )
        .await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if !items.is_empty() || Instant::now() > deadline {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(published.len(), 1, "{published:?}");
    assert!(
        published[0].to_string().contains("Flood warning"),
        "{published:?}"
    );

    // A quick look from the terminal.
    let out = airlock(&config)
        .args(["connectors", "list"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    for name in ["ticket-bot", "my-feed", "alert-relay"] {
        assert!(table.contains(name), "{table}");
    }
    let detail = run_ok(
        airlock(&config).args(["connectors", "show", "my-feed"]),
        "airlock connectors show",
    );
    assert_eq!(detail["name"], "my-feed");
    let status = run_ok(
        airlock(&config).args(["connectors", "status", "--json"]),
        "airlock connectors status",
    );
    assert_eq!(status["summary"]["total"], 3);

    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn new_refuses_a_bad_name_a_wrong_standard_and_a_full_directory() {
    let work = std::env::temp_dir().join(format!("airlock-new-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(work.join("taken")).unwrap();
    std::fs::write(work.join("taken/x"), "x").unwrap();
    for (args, says) in [
        (
            vec!["new", "Bad_Name", "--category", "custom"],
            "lower kebab case",
        ),
        (
            vec!["new", "feed", "--category", "news"],
            "--category must be one of",
        ),
        (
            vec!["new", "feed", "--category", "osint", "--standard", "json"],
            "threat-intel-stix",
        ),
        (
            vec!["new", "feed", "--category", "custom", "--kind", "stream"],
            "--kind must be",
        ),
        (vec!["new", "taken", "--category", "custom"], "is not empty"),
        (
            vec!["new", "0day", "--category", "custom"],
            "cannot name a Rust crate",
        ),
        (
            vec!["new", "fn", "--category", "custom"],
            "cannot name a Rust crate",
        ),
        (
            vec![
                "new",
                "feed",
                "--category",
                "custom",
                "--vendor",
                "Evil\" {{name}}",
            ],
            "--vendor must be",
        ),
    ] {
        let out: Output = airlock(&work)
            .current_dir(&work)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(!work.join("feed").exists());
    let _ = std::fs::remove_dir_all(&work);
}
