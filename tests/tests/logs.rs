//! `airlock serve --log-format json`: one JSON object per line, each carrying the
//! span it was written in — a request's id, route, tenant and client; a guest
//! call's connector, version and call id.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: fail loudly

use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_and_the_guest_call() {
    let dir = std::env::temp_dir().join(format!("airlock-logs-{}", uuid::Uuid::new_v4().simple()));
    let preload = dir.join("preload");
    std::fs::create_dir_all(&preload).unwrap();
    std::fs::copy(airlock_tests::guests::PROBE, preload.join("probe.wasm")).unwrap();
    let port = airlock_tests::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = airlock_tests::airlock_bin();
    cmd.env("RUST_LOG", "info,airlock_host=debug")
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(&dir)
        .arg("--preload")
        .arg(&preload)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("server.log")).unwrap());
    let mut server = cmd.spawn().unwrap();
    let http = reqwest::Client::new();
    airlock_tests::wait_healthy(&http, &base).await;
    let boot: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bootstrap.json")).unwrap()).unwrap();
    let token = airlock_tests::bootstrap_token(&http, &base, &boot).await;
    let list: Value = http
        .get(format!("{base}/api/connectors"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{base}/api/connectors/{id}/invoke/work"))
        .bearer_auth(&token)
        .header("x-request-id", "json-log-1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let call_id = r.json::<Value>().await.unwrap()["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    server.kill().unwrap();
    server.wait().unwrap();

    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 3, "{log}");
    // The request's last line, with every field of its span.
    let answered = lines
        .iter()
        .find(|l| l["span"]["request_id"] == "json-log-1" && l["fields"]["message"] == "answered")
        .unwrap_or_else(|| panic!("no line of the request: {log}"));
    let span = &answered["span"];
    assert_eq!(span["route"], "/api/connectors/{id}/invoke/{action}");
    assert_eq!(span["tenant"], boot["tenant_id"]);
    assert_eq!(span["client"], boot["client_id"]);
    assert_eq!(span["method"], "POST");
    assert_eq!(answered["fields"]["status"], 200);
    // The guest call's line: inside the request, with the call's own fields.
    let call = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "guest call finished"
                && l["span"]["call_id"] == call_id.as_str()
        })
        .unwrap_or_else(|| panic!("no line of the guest call {call_id}: {log}"));
    assert_eq!(call["span"]["connector"], id.as_str());
    assert_eq!(call["span"]["version"], "0.1.0");
    assert_eq!(call["span"]["entry"], "invoke");
    assert_eq!(call["fields"]["outcome"], "ok");
    let names: Vec<&str> = call["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["request", "guest_call"], "{call}");
    let _ = std::fs::remove_dir_all(&dir);
}
