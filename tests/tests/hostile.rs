//! A hostile guest's misbehaviours each end in their typed error, within their limit,
//! and the same host then serves normal calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::time::{Duration, Instant};

use airlock_host::runtime::{CallError, Component, Grants, Limits, LoadError, Runtime};
use airlock_tests::guests;
use serde_json::Value;

const DEADLINE: Duration = Duration::from_millis(200);

fn hostile() -> (Runtime, Component) {
    hostile_with(Limits {
        memory_bytes: 32 * 1024 * 1024,
        cpu_deadline: DEADLINE,
        ..Limits::default()
    })
}

fn hostile_with(limits: Limits) -> (Runtime, Component) {
    airlock_tests::load_guest(guests::HOSTILE, limits)
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

#[test]
fn a_100_mib_output_is_refused_as_too_large() {
    // Default limits: 128 MiB of memory lets the guest build the output; the 8 MiB
    // output cap refuses it.
    // (A generous deadline: filling 100 MiB on a loaded 2-core CI machine is slow.)
    let (runtime, component) = hostile_with(Limits {
        cpu_deadline: Duration::from_secs(10),
        ..Limits::default()
    });
    let err = call(&component, "huge-output").unwrap_err();
    assert!(
        matches!(err, CallError::OutputTooLarge { size, limit } if size == 100 * 1024 * 1024 && limit == Limits::default().max_output_bytes),
        "{err:?}"
    );
    assert_eq!(err.kind(), "output_too_large");
    host_still_serves(&runtime, &component);
}

#[test]
fn a_log_flood_is_stopped_at_the_deadline() {
    // 10 000 lines of 1 MiB is 10 GB for the host to copy: no machine finishes that
    // inside the deadline, and the epoch check between host calls stops the guest.
    // (What the host keeps of a flood, the log budget, is unit-tested in
    // `runtime::host`, where it is deterministic.)
    let (runtime, component) = hostile();
    let started = Instant::now();
    let err = component
        .invoke("log-flood", "{}", "{}", Grants::default())
        .unwrap_err();
    assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < DEADLINE + Duration::from_millis(500),
        "stopped after {:?}",
        started.elapsed()
    );
    host_still_serves(&runtime, &component);
}

fn fuel_runtime(fuel: u64) -> Runtime {
    Runtime::with_limits(Limits {
        fuel: Some(fuel),
        ..Limits::default()
    })
    .unwrap()
}

#[test]
fn in_fuel_mode_an_infinite_loop_runs_out_of_fuel() {
    let (runtime, component) = hostile_with(Limits {
        fuel: Some(5_000_000),
        ..Limits::default()
    });
    let err = call(&component, "spin").unwrap_err();
    assert!(
        matches!(err, CallError::OutOfFuel { limit: 5_000_000 }),
        "{err:?}"
    );
    assert_eq!(err.kind(), "out_of_fuel");
    host_still_serves(&runtime, &component);
}

#[test]
fn in_fuel_mode_the_same_call_consumes_the_same_fuel() {
    let runtime = fuel_runtime(50_000_000);
    let probe = runtime
        .load(&std::fs::read(guests::PROBE).unwrap())
        .unwrap();
    let fuel = || {
        let (_, captured) = probe
            .invoke("count", "{}", r#"{"label":"x"}"#, Grants::default())
            .unwrap();
        captured.fuel_consumed.unwrap()
    };
    let first = fuel();
    assert!(first > 0);
    assert_eq!(fuel(), first, "a deterministic budget");
    // Without fuel mode nothing is counted.
    let plain = Runtime::new()
        .unwrap()
        .load(&std::fs::read(guests::PROBE).unwrap())
        .unwrap();
    let (_, captured) = plain
        .invoke("count", "{}", "{}", Grants::default())
        .unwrap();
    assert_eq!(captured.fuel_consumed, None);
    assert!(captured.peak_memory > 0);
}

#[test]
fn stdout_and_stderr_are_captured_up_to_a_cap_and_never_fail_the_guest() {
    // 2 MiB of printing, far over the cap; a deadline that a debug host on a loaded
    // machine cannot hit.
    let (runtime, component) = hostile_with(Limits {
        cpu_deadline: Duration::from_secs(10),
        ..Limits::default()
    });
    let (outputs, captured) = component
        .invoke("print-flood", "{}", "{}", Grants::default())
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&outputs[0].body).unwrap(),
        serde_json::json!({"printed": true})
    );
    let stdout: Vec<_> = captured
        .logs
        .iter()
        .filter(|l| {
            l.fields
                .contains(&("stream".to_string(), "stdout".to_string()))
        })
        .collect();
    let kept: usize = stdout.iter().map(|l| l.message.len()).sum();
    assert!(
        kept <= airlock_host::runtime::MAX_STDIO_BYTES,
        "kept {kept}"
    );
    assert!(stdout.first().unwrap().message.starts_with("0 yyyy"));
    assert!(
        stdout
            .last()
            .unwrap()
            .message
            .contains("bytes of stdout were discarded"),
        "{:?}",
        stdout.last()
    );
    assert!(
        captured
            .logs
            .iter()
            .any(|l| l.message == "done printing" && l.level == "warn")
    );
    host_still_serves(&runtime, &component);
}

#[test]
fn an_output_labelled_json_whose_body_is_not_json_is_a_contract_violation() {
    let (runtime, component) = hostile();
    let err = call(&component, "malformed-output").unwrap_err();
    assert!(
        matches!(&err, CallError::ContractViolation(m) if m.contains("not JSON")),
        "{err:?}"
    );
    assert_eq!(err.kind(), "contract_violation");
    host_still_serves(&runtime, &component);
}

#[test]
fn a_component_importing_what_the_host_does_not_provide_is_refused_by_name() {
    let (runtime, component) = hostile();
    let err = runtime
        .load(&std::fs::read(guests::FOREIGN).unwrap())
        .err()
        .expect("the foreign component must not load");
    assert!(
        matches!(&err, LoadError::UnsupportedImport(name) if name == "acme:backdoor/shell@0.1.0"),
        "{err:?}"
    );
    assert!(err.to_string().contains("acme:backdoor/shell"), "{err}");
    host_still_serves(&runtime, &component);
}

#[test]
fn truncated_components_and_random_bytes_are_refused_as_not_components() {
    let (runtime, component) = hostile();
    let bytes = std::fs::read(guests::HOSTILE).unwrap();
    // Deterministic pseudo-random bytes (xorshift), behind and without a preamble.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    let mut with_preamble = bytes[..8].to_vec();
    with_preamble.extend(random(4096));
    for (what, input) in [
        ("truncated to half", bytes[..bytes.len() / 2].to_vec()),
        ("random bytes", random(4096)),
        ("a preamble then random bytes", with_preamble),
        ("empty", Vec::new()),
    ] {
        let err = runtime.load(&input).err().expect(what);
        assert!(
            matches!(err, LoadError::NotAComponent(_)),
            "{what}: {err:?}"
        );
    }
    // The preamble alone is a valid, empty component: it implements nothing.
    let err = runtime.load(&bytes[..8]).err().expect("preamble only");
    assert!(matches!(err, LoadError::ContractViolation(_)), "{err:?}");
    host_still_serves(&runtime, &component);
}
