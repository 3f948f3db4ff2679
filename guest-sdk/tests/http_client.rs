//! The retrying HTTP client against the mock host.

use airlock_sdk::HostError;
use airlock_sdk::http::{Client, Request, RetryPolicy};
use airlock_sdk::testing::{MockHost, MockResponse};
use airlock_sdk::{Error, Manifest};

const URL: &str = "https://api.example.test/items";

#[test]
fn idempotent_requests_retry_5xx_and_transport_failures_with_doubling_backoff() {
    let host = MockHost::new();
    host.respond("GET", URL, MockResponse::status(500))
        .respond(
            "GET",
            URL,
            MockResponse::error(HostError::Failed("connection reset".into())),
        )
        .respond("GET", URL, MockResponse::status(502))
        .respond("GET", URL, MockResponse::ok("done"));
    let resp = host.run(|| Client::new().send(&Request::get(URL))).unwrap();
    assert_eq!(resp.text(), "done");
    assert_eq!(host.sleeps(), vec![500, 1000, 2000]);
}

#[test]
fn policy_refusals_are_not_retried() {
    let host = MockHost::new();
    host.declare(
        &Manifest::builder("x", "x", "0.1.0")
            .outbound_host("https://other.test")
            .build(),
    );
    let err = host
        .run(|| Client::new().send(&Request::get(URL)))
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig(m) if m.contains("not among the outbound hosts")),
        "{err:?}"
    );
    assert!(host.sleeps().is_empty());
}

#[test]
fn http_date_retry_after_is_measured_against_the_host_clock() {
    let host = MockHost::new(); // the clock starts at 2025-01-01T00:00:00Z
    host.respond(
        "GET",
        URL,
        MockResponse::status(429).header("Retry-After", "Wed, 01 Jan 2025 00:00:07 GMT"),
    )
    .respond("GET", URL, MockResponse::ok("ok"));
    host.run(|| Client::new().send(&Request::get(URL))).unwrap();
    assert_eq!(host.sleeps(), vec![7000]);
}

#[test]
fn a_wait_the_call_budget_cannot_cover_is_handed_back_as_rate_limited() {
    let host = MockHost::new();
    host.set_budget_ms(1_000);
    host.respond(
        "GET",
        URL,
        MockResponse::status(503).header("retry-after", "5"),
    );
    let err = host
        .run(|| Client::new().send(&Request::get(URL)))
        .unwrap_err();
    assert!(
        matches!(&err, Error::RateLimited(r) if r.retry_after_ms == 5_000),
        "{err:?}"
    );
}

#[test]
fn no_retry_policy_returns_the_first_failure() {
    let host = MockHost::new();
    host.respond("GET", URL, MockResponse::status(503));
    let err = host
        .run(|| Client::with_policy(RetryPolicy::none()).send(&Request::get(URL)))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Upstream(u) if u.status == Some(503)),
        "{err:?}"
    );
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn non_retryable_statuses_come_back_as_responses() {
    let host = MockHost::new();
    host.respond("GET", URL, MockResponse::status(404).body("missing"));
    let resp = host.run(|| Client::new().send(&Request::get(URL))).unwrap();
    assert_eq!(resp.status, 404);
    let err = resp.error_for_status().unwrap_err();
    assert!(err.message().contains("HTTP 404: missing"), "{err:?}");
}
