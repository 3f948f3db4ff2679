//! A hostile guest's misbehaviours each end in their typed error, within their limit,
//! and the same host then serves normal calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::time::{Duration, Instant};

use airlock_host::runtime::{CallError, Component, Grants, Limits, Runtime};
use airlock_tests::guests;
use serde_json::Value;

const DEADLINE: Duration = Duration::from_millis(200);

fn hostile() -> (Runtime, Component) {
    let runtime = Runtime::with_limits(Limits {
        memory_bytes: 32 * 1024 * 1024,
        cpu_deadline: DEADLINE,
    })
    .unwrap();
    let component = runtime
        .load(&std::fs::read(guests::HOSTILE).unwrap())
        .unwrap();
    (runtime, component)
}

fn call(component: &Component, action: &str) -> Result<Value, CallError> {
    component
        .invoke(action, "{}", "{}", Grants::default())
        .map(|(outputs, _)| serde_json::from_slice(&outputs[0].body).unwrap())
}

/// After any misbehaviour, the same component and an example connector still work.
fn host_still_serves(runtime: &Runtime, component: &Component) {
    assert_eq!(
        call(component, "ok").unwrap(),
        serde_json::json!({"ok": true})
    );
    let ais = runtime
        .load(&std::fs::read(guests::AIS_DECODER).unwrap())
        .unwrap();
    let input = r#"{"sentences":"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"}"#;
    let (outputs, _) = ais
        .invoke("decode", input, "{}", Grants::default())
        .unwrap();
    assert_eq!(outputs.len(), 1);
}

#[test]
fn an_infinite_loop_is_stopped_at_the_deadline() {
    let (runtime, component) = hostile();
    let started = Instant::now();
    let err = call(&component, "spin").unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(err, CallError::Timeout { limit } if limit == DEADLINE),
        "{err:?}"
    );
    // A correctness bound, not a benchmark: the deadline plus a tick, with slack for a
    // loaded CI machine. The stop latency itself is measured by the runtime benchmark.
    assert!(
        elapsed < DEADLINE + Duration::from_millis(500),
        "stopped after {elapsed:?}"
    );
    assert!(err.to_string().contains("CPU deadline of 200 ms"), "{err}");
    host_still_serves(&runtime, &component);
}

#[test]
fn a_loop_calling_the_host_forever_is_stopped_too() {
    let (runtime, component) = hostile();
    let err = call(&component, "spin-on-host").unwrap_err();
    assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
    host_still_serves(&runtime, &component);
}

#[test]
fn unbounded_allocation_is_reported_as_memory_exceeded() {
    let (runtime, component) = hostile();
    let err = call(&component, "alloc").unwrap_err();
    assert!(
        matches!(err, CallError::MemoryExceeded { limit } if limit == 32 * 1024 * 1024),
        "{err:?}"
    );
    host_still_serves(&runtime, &component);
}

#[test]
fn runaway_recursion_is_a_stack_overflow() {
    let (runtime, component) = hostile();
    let err = call(&component, "recurse").unwrap_err();
    assert!(matches!(err, CallError::StackOverflow), "{err:?}");
    host_still_serves(&runtime, &component);
}

#[test]
fn a_guest_panic_is_a_trap_not_a_host_panic() {
    let (runtime, component) = hostile();
    let err = call(&component, "panic").unwrap_err();
    assert!(matches!(err, CallError::Trapped(_)), "{err:?}");
    host_still_serves(&runtime, &component);
}

#[test]
fn the_guest_sees_no_files() {
    let (runtime, component) = hostile();
    let results = call(&component, "read-files").unwrap();
    let results: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(results.len(), 4);
    assert!(results.iter().all(|r| !r.contains("READ")), "{results:?}");
    host_still_serves(&runtime, &component);
}

#[test]
fn the_guest_sees_no_environment_and_no_arguments() {
    let (runtime, component) = hostile();
    let seen = call(&component, "read-env").unwrap();
    assert_eq!(seen["vars"], serde_json::json!([]));
    assert_eq!(seen["args"], serde_json::json!([]));
    host_still_serves(&runtime, &component);
}
