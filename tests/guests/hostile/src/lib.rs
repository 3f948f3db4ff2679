//! The egress attacker: sends whatever HTTP request it is told to (bypass URLs,
//! forged headers, floods), sleeps, or spins, so the egress and time-budget tests
//! can aim it. Every other misbehaviour has a guest of its own
//! (`tests/guests/hostile-*`).

use airlock_sdk::prelude::*;
use airlock_sdk::{HeaderCredential, HostError};
use std::hint::black_box;

#[derive(Default)]
struct Hostile;

/// A host error as `{"error": kind, "message"}`.
fn host_error(e: &HostError) -> Value {
    let (kind, message) = match e {
        HostError::Denied(m) => ("denied", m),
        HostError::LimitExceeded(m) => ("limit-exceeded", m),
        HostError::Timeout(m) => ("timeout", m),
        HostError::Failed(m) => ("failed", m),
        HostError::Invalid(m) => ("invalid", m),
    };
    json!({"error": kind, "message": message})
}

impl Connector for Hostile {
    fn describe(&self) -> Manifest {
        let mut m = Manifest::builder("hostile", "Hostile", "0.1.0")
            .vendor("Airlock tests")
            .description("Misbehaves on request.")
            .category(Category::Custom);
        for name in ["spin", "http", "sleep", "ok"] {
            m = m.action(Action::new(name, "A misbehaviour."));
        }
        // Loopback test servers (the tests grant them, or not), a name that resolves
        // to loopback, and the cloud metadata address.
        m.outbound_host_with("http://127.0.0.1:*", Credential::bearer_from("token"))
            .outbound_host_with(
                "http://[::1]:*",
                Credential::HmacSha256(HeaderCredential {
                    header: "X-Signature".into(),
                    secret: "signing_key".into(),
                }),
            )
            .outbound_host("http://localhost:*")
            // A wildcard a parser confusion could escape (`\` ending the host).
            .outbound_host("http://*.allowed.test:*")
            .outbound_host("http://169.254.169.254")
            .outbound_host("https://example.com")
            .build()
    }

    fn invoke(&self, action: &str, input: Value, _ctx: &Context) -> Result<Vec<Output>> {
        match action {
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = black_box(x.wrapping_add(1));
                }
            }
            "http" => {
                // {"url", "method"?, "headers"?, "body"?, "timeout_ms"?, "times"?}: sends
                // the request `times` times and reports each outcome.
                let url = input["url"].as_str().unwrap_or_default().to_string();
                let method = input["method"].as_str().unwrap_or("GET");
                let mut request = airlock_sdk::http::Request::new(method, url);
                if let Some(headers) = input["headers"].as_object() {
                    for (k, v) in headers {
                        request = request.header(k, v.as_str().unwrap_or_default());
                    }
                }
                if let Some(body) = input["body"].as_str() {
                    request = request.body(body.as_bytes().to_vec());
                }
                if let Some(ms) = input["timeout_ms"].as_u64() {
                    request = request.timeout_ms(ms as u32);
                }
                let times = input["times"].as_u64().unwrap_or(1);
                let outcomes: Vec<Value> = (0..times)
                    .map(|_| match airlock_sdk::http::send(&request) {
                        Ok(r) => json!({"status": r.status, "body": r.text(),
                            "headers": r.headers}),
                        Err(e) => host_error(&e),
                    })
                    .collect();
                Ok(vec![Output::json(&outcomes)?])
            }
            "sleep" => {
                let ms = input["ms"].as_u64().unwrap_or(0);
                let outcome = match airlock_sdk::clock::sleep(ms) {
                    Ok(()) => json!({"slept": ms}),
                    Err(e) => host_error(&e),
                };
                if input["then_spin"].as_bool() == Some(true) {
                    let mut x: u64 = 0;
                    loop {
                        x = black_box(x.wrapping_add(1));
                    }
                }
                Ok(vec![Output::json(&outcome)?])
            }
            "ok" => Ok(vec![Output::json(&json!({"ok": true}))?]),
            other => Err(Error::unknown_action(other)),
        }
    }
}

airlock_sdk::export_connector!(Hostile);
