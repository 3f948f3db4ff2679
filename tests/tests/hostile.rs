//! Hostile guests, one misbehaviour each (`tests/guests/hostile-*`, `foreign*`):
//! each ends in its typed error or its budget, within its limit, and the same host
//! then serves normal calls. Every such guest has a test module of its name here;
//! the build fails when one has none (`assert_tested!` below).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::time::{Duration, Instant};

use airlock_host::runtime::{CallError, Component, Grants, Limits, LoadError, Runtime};
use airlock_tests::guests;
use serde_json::Value;

const DEADLINE: Duration = Duration::from_millis(200);

/// Every single-misbehaviour guest has a module here of its crate's name.
macro_rules! assert_tested {
    ($module:ident) => {
        #[allow(unused_imports)]
        use self::$module as _;
    };
}
airlock_tests::for_each_misbehaviour!(assert_tested);

fn load(path: &str) -> (Runtime, Component) {
    load_with(
        path,
        Limits {
            memory_bytes: 32 * 1024 * 1024,
            cpu_deadline: DEADLINE,
            ..Limits::default()
        },
    )
}

fn load_with(path: &str, limits: Limits) -> (Runtime, Component) {
    airlock_tests::load_guest(path, limits)
}

/// Calls the guest's `run` action; the first output as JSON.
fn run(component: &Component) -> Result<Value, CallError> {
    component
        .invoke("run", "{}", "{}", Grants::default())
        .map(|(outputs, _)| serde_json::from_slice(&outputs[0].body).unwrap())
}

/// After any misbehaviour, the same component and an example connector still work.
fn host_still_serves(runtime: &Runtime, component: &Component) {
    let (outputs, _) = component
        .invoke("ok", "{}", "{}", Grants::default())
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&outputs[0].body).unwrap(),
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

mod hostile_spin {
    use super::*;

    #[test]
    fn an_infinite_loop_is_stopped_at_the_deadline() {
        let (runtime, component) = load(guests::HOSTILE_SPIN);
        let started = Instant::now();
        let err = run(&component).unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            matches!(err, CallError::Timeout { limit } if limit == DEADLINE),
            "{err:?}"
        );
        // A correctness bound, not a benchmark: the deadline plus a tick, with slack
        // for a loaded CI machine. The stop latency itself is measured by the runtime
        // benchmark.
        assert!(
            elapsed < DEADLINE + Duration::from_millis(500),
            "stopped after {elapsed:?}"
        );
        assert!(err.to_string().contains("CPU deadline of 200 ms"), "{err}");
        host_still_serves(&runtime, &component);
    }

    #[test]
    fn in_fuel_mode_an_infinite_loop_runs_out_of_fuel() {
        let (runtime, component) = load_with(
            guests::HOSTILE_SPIN,
            Limits {
                fuel: Some(5_000_000),
                ..Limits::default()
            },
        );
        let err = run(&component).unwrap_err();
        assert!(
            matches!(err, CallError::OutOfFuel { limit: 5_000_000 }),
            "{err:?}"
        );
        assert_eq!(err.kind(), "out_of_fuel");
        host_still_serves(&runtime, &component);
    }
}

mod hostile_spin_on_host {
    use super::*;

    #[test]
    fn a_loop_calling_the_host_forever_is_stopped_too() {
        let (runtime, component) = load(guests::HOSTILE_SPIN_ON_HOST);
        let err = run(&component).unwrap_err();
        assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
        host_still_serves(&runtime, &component);
    }
}

mod hostile_alloc {
    use super::*;

    #[test]
    fn unbounded_allocation_is_reported_as_memory_exceeded() {
        let (runtime, component) = load(guests::HOSTILE_ALLOC);
        let err = run(&component).unwrap_err();
        assert!(
            matches!(err, CallError::MemoryExceeded { limit } if limit == 32 * 1024 * 1024),
            "{err:?}"
        );
        host_still_serves(&runtime, &component);
    }
}

mod hostile_recurse {
    use super::*;

    #[test]
    fn runaway_recursion_is_a_stack_overflow() {
        let (runtime, component) = load(guests::HOSTILE_RECURSE);
        let err = run(&component).unwrap_err();
        assert!(matches!(err, CallError::StackOverflow), "{err:?}");
        host_still_serves(&runtime, &component);
    }
}

mod hostile_shadow_stack {
    use super::*;

    #[test]
    fn a_shadow_stack_overflow_is_a_stack_overflow_not_a_trap() {
        let (runtime, component) = load(guests::HOSTILE_SHADOW_STACK);
        let err = run(&component).unwrap_err();
        assert!(matches!(err, CallError::StackOverflow), "{err:?}");
        assert_eq!(err.kind(), "stack_overflow");
        host_still_serves(&runtime, &component);
    }
}

mod hostile_panic {
    use super::*;

    #[test]
    fn a_guest_panic_is_a_trap_not_a_host_panic() {
        let (runtime, component) = load(guests::HOSTILE_PANIC);
        let err = run(&component).unwrap_err();
        assert!(matches!(err, CallError::Trapped(_)), "{err:?}");
        host_still_serves(&runtime, &component);
    }
}

mod hostile_read_files {
    use super::*;

    #[test]
    fn the_guest_sees_no_files() {
        let (runtime, component) = load(guests::HOSTILE_READ_FILES);
        let results = run(&component).unwrap();
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
}

mod hostile_read_env {
    use super::*;

    #[test]
    fn the_guest_sees_no_environment_and_no_arguments() {
        let (runtime, component) = load(guests::HOSTILE_READ_ENV);
        let seen = run(&component).unwrap();
        assert_eq!(seen["vars"], serde_json::json!([]));
        assert_eq!(seen["args"], serde_json::json!([]));
        host_still_serves(&runtime, &component);
    }
}

mod hostile_huge_output {
    use super::*;

    #[test]
    fn a_100_mib_output_is_refused_as_too_large() {
        // Default limits: 128 MiB of memory lets the guest build the output; the 8 MiB
        // output cap refuses it. (A generous deadline: filling 100 MiB on a loaded
        // 2-core CI machine is slow.)
        let (runtime, component) = load_with(
            guests::HOSTILE_HUGE_OUTPUT,
            Limits {
                cpu_deadline: Duration::from_secs(10),
                ..Limits::default()
            },
        );
        // 100 MiB is more than the host copies out of a guest at once: refused while
        // being copied, before the host holds it.
        let err = run(&component).unwrap_err();
        let limit = airlock_host::runtime::transfer_limit(&Limits::default());
        assert!(
            matches!(err, CallError::TransferTooLarge { limit: l } if l == limit),
            "{err:?}"
        );
        assert_eq!(err.kind(), "transfer_too_large");
        // Under that limit but over the output budget: refused by the budget.
        let input = r#"{"mib": 9}"#;
        let err = component
            .invoke("run", input, "{}", Grants::default())
            .unwrap_err();
        let expected = 9 * 1024 * 1024 + airlock_host::runtime::OUTPUT_OVERHEAD;
        assert!(
            matches!(err, CallError::OutputTooLarge { size, limit } if size == expected && limit == Limits::default().max_output_bytes),
            "{err:?}"
        );
        assert_eq!(err.kind(), "output_too_large");
        host_still_serves(&runtime, &component);
    }
}

mod hostile_log_flood {
    use super::*;

    #[test]
    fn a_log_flood_is_stopped_at_the_deadline() {
        // 10 000 lines of 1 MiB is 10 GB for the host to copy: no machine finishes
        // that inside the deadline, and the epoch check between host calls stops the
        // guest. (What the host keeps of a flood, the log budget, is unit-tested in
        // `runtime::host`, where it is deterministic.)
        let (runtime, component) = load(guests::HOSTILE_LOG_FLOOD);
        let started = Instant::now();
        let err = run(&component).unwrap_err();
        assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
        assert!(
            started.elapsed() < DEADLINE + Duration::from_millis(500),
            "stopped after {:?}",
            started.elapsed()
        );
        host_still_serves(&runtime, &component);
    }
}

mod hostile_print_flood {
    use super::*;

    #[test]
    fn stdout_and_stderr_are_captured_up_to_a_cap_and_never_fail_the_guest() {
        // 2 MiB of printing, far over the cap; a deadline that a debug host on a loaded
        // machine cannot hit.
        let (runtime, component) = load_with(
            guests::HOSTILE_PRINT_FLOOD,
            Limits {
                cpu_deadline: Duration::from_secs(10),
                ..Limits::default()
            },
        );
        let (outputs, captured) = component
            .invoke("run", "{}", "{}", Grants::default())
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
}

mod hostile_malformed_output {
    use super::*;

    #[test]
    fn an_output_labelled_json_whose_body_is_not_json_is_a_contract_violation() {
        let (runtime, component) = load(guests::HOSTILE_MALFORMED_OUTPUT);
        let err = run(&component).unwrap_err();
        assert!(
            matches!(&err, CallError::ContractViolation(m) if m.contains("not JSON")),
            "{err:?}"
        );
        assert_eq!(err.kind(), "contract_violation");
        host_still_serves(&runtime, &component);
    }
}

/// The default limits with a generous CPU deadline (a million host calls on a debug
/// build under a loaded machine), so that what stops a flood is its budget.
fn flood_limits() -> Limits {
    Limits {
        cpu_deadline: Duration::from_secs(20),
        wall_clock: Duration::from_secs(60),
        ..Limits::default()
    }
}

mod hostile_emit_flood {
    use super::*;

    #[test]
    fn a_million_emits_stop_at_the_output_count_and_the_guest_is_told() {
        let (runtime, component) = load_with(guests::HOSTILE_EMIT_FLOOD, flood_limits());
        let max = Limits::default().max_outputs;
        // The emits past the count are refused as values the guest sees; its own
        // answer is then one output too many, which fails the call.
        let err = component
            .invoke("run", "{}", "{}", Grants::default())
            .unwrap_err();
        assert!(
            matches!(err, CallError::TooManyOutputs { count, limit } if count == max + 1 && limit == max),
            "{err:?}"
        );
        assert_eq!(err.kind(), "too_many_outputs");
        host_still_serves(&runtime, &component);
    }
}

mod hostile_return_flood {
    use super::*;

    #[test]
    fn a_million_returned_outputs_are_refused_while_they_are_copied() {
        let (runtime, component) = load_with(guests::HOSTILE_RETURN_FLOOD, flood_limits());
        let max = Limits::default().max_outputs;
        // A million outputs are more than the host copies out at once: refused while
        // being copied, before the host allocates a record for each.
        let err = component
            .invoke("run", "{}", "{}", Grants::default())
            .unwrap_err();
        assert!(matches!(err, CallError::TransferTooLarge { .. }), "{err:?}");
        // One over the count: copied (it fits the transfer limit), then refused.
        let input = format!(r#"{{"count": {}}}"#, max + 1);
        let err = component
            .invoke("run", &input, "{}", Grants::default())
            .unwrap_err();
        assert!(
            matches!(err, CallError::TooManyOutputs { count, limit } if count == max + 1 && limit == max),
            "{err:?}"
        );
        // Exactly the limit passes; every output is charged its overhead.
        let input = format!(r#"{{"count": {max}}}"#);
        let (outputs, _) = component
            .invoke("run", &input, "{}", Grants::default())
            .unwrap();
        assert_eq!(outputs.len(), max);
        host_still_serves(&runtime, &component);
    }
}

mod hostile_empty_log_flood {
    use super::*;

    #[test]
    fn a_million_empty_log_lines_stop_at_the_line_budget() {
        let (runtime, component) = load_with(guests::HOSTILE_EMPTY_LOG_FLOOD, flood_limits());
        let (_, captured) = component
            .invoke("run", "{}", "{}", Grants::default())
            .unwrap();
        let max = Limits::default().max_log_lines;
        assert_eq!(captured.logs.len(), max);
        assert_eq!(captured.logs_dropped, 1_000_001 - max as u64);
        host_still_serves(&runtime, &component);
    }
}

mod hostile_progress_flood {
    use super::*;

    #[test]
    fn progress_notes_share_the_log_budget() {
        let (runtime, component) = load_with(guests::HOSTILE_PROGRESS_FLOOD, flood_limits());
        let (_, captured) = component
            .invoke("run", "{}", "{}", Grants::default())
            .unwrap();
        // Every note is 1 MiB, over the whole 256 KiB log budget: none is kept, each
        // is counted.
        assert!(captured.progress.is_empty(), "{}", captured.progress.len());
        assert_eq!(captured.logs_dropped, 1_000);
        host_still_serves(&runtime, &component);
    }
}

mod hostile_kv_flood {
    use super::*;

    #[test]
    fn kv_stops_at_its_byte_budget_and_the_guest_is_told() {
        let (runtime, component) = load_with(guests::HOSTILE_KV_FLOOD, flood_limits());
        let done = component
            .call(airlock_host::runtime::CallRequest::local(
                airlock_host::runtime::Entry::Invoke {
                    action: "run",
                    input: "{}",
                },
                "{}",
            ))
            .unwrap();
        let answer: Value = serde_json::from_slice(&done.outputs[0].body).unwrap();
        let max = Limits::default().max_kv_bytes;
        let value = 64 * 1024 + 2; // a value and a key of ~2 bytes
        let kv = done.kv.unwrap().after;
        let kept = kv.len();
        assert!(kept > 0 && kept * value <= max + 1024 * 6, "kept {kept}");
        assert_eq!(answer["refused"], 1024 - kept, "{answer}");
        let bytes: usize = kv.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(bytes <= max, "{bytes}");
        host_still_serves(&runtime, &component);
    }
}

mod hostile_log_injection {
    use super::*;

    #[test]
    fn guest_text_reaches_the_terminal_escaped() {
        // `airlock run` prints the guest's lines and error as data: no raw escape
        // sequence, no newline that starts a line of Airlock's own.
        let mut stderr = String::new();
        for (input, code) in [(r#"{"fail": false}"#, 0), ("{}", 1)] {
            let out = airlock_tests::airlock_bin()
                .args(["run", guests::HOSTILE_LOG_INJECTION, "--action", "run"])
                .args(["--input", input])
                .output()
                .unwrap();
            let text = String::from_utf8(out.stderr).unwrap();
            assert_eq!(out.status.code(), Some(code), "{text}");
            stderr.push_str(&text);
        }
        assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
        assert!(!stderr.contains('\u{202e}'), "{stderr:?}");
        assert!(!stderr.contains('\r'), "{stderr:?}");
        for line in stderr.lines() {
            assert!(
                !line.starts_with("[error] FORGED") && !line.starts_with("[info] FORGED"),
                "{stderr}"
            );
        }
        assert!(
            stderr.contains(r"[info] guest: benign\n[error] FORGED"),
            "{stderr}"
        );
        assert!(stderr.contains(r"k\nforged="), "{stderr}");
        assert!(stderr.contains(r"failed\n[info] FORGED"), "{stderr}");
    }

    #[test]
    fn guest_log_levels_are_their_names_and_the_text_is_kept_as_it_came() {
        let (runtime, component) = load(guests::HOSTILE_LOG_INJECTION);
        let err = run(&component).unwrap_err();
        assert_eq!(err.kind(), "internal");
        let (_, captured) = component
            .invoke("run", r#"{"fail": false}"#, "{}", Grants::default())
            .unwrap();
        let levels: Vec<&str> = captured.logs.iter().map(|l| l.level.as_str()).collect();
        assert_eq!(levels, ["info", "warn", "info"]);
        // Captured as data, unchanged: escaping is for printing.
        assert!(captured.logs[0].message.contains('\n'));
        host_still_serves(&runtime, &component);
    }
}

mod hostile_manifest {
    use super::*;

    #[test]
    fn an_abusive_manifest_is_refused_at_load_by_field_without_echo() {
        let runtime = Runtime::new().unwrap();
        let err = runtime
            .load(&std::fs::read(guests::HOSTILE_MANIFEST).unwrap())
            .err()
            .expect("the abusive manifest must not load");
        let LoadError::InvalidManifest(problems) = &err else {
            panic!("{err:?}");
        };
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["/id", "/name", "/config_schema", "/actions"]);
        let text = err.to_string();
        assert!(text.len() < 1000, "{} bytes", text.len());
        assert!(!text.contains("passwd") && !text.contains("NNNN"), "{text}");
        // `airlock inspect` refuses it the same way.
        let out = airlock_tests::airlock_bin()
            .args(["inspect", guests::HOSTILE_MANIFEST])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("/id: the id must be"), "{stderr}");
        assert!(stderr.len() < 2000, "{} bytes", stderr.len());
    }
}

mod hostile_describe_panic {
    use super::*;

    #[test]
    fn a_describe_that_panics_is_one_clear_sentence() {
        let runtime = Runtime::new().unwrap();
        let err = runtime
            .load(&std::fs::read(guests::HOSTILE_DESCRIBE_PANIC).unwrap())
            .err()
            .expect("must not load");
        assert!(
            matches!(&err, LoadError::Describe(CallError::Trapped(_))),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with("describe failed: the connector trapped"),
            "{text}"
        );
        // No cause twice ("X: X").
        let parts: Vec<&str> = text.split(": ").collect();
        for (i, p) in parts.iter().enumerate() {
            assert!(!parts[i + 1..].contains(p), "{p} repeated in {text}");
        }
    }
}

/// A foreign import is refused by its exact name, in one sentence.
fn refused_import(path: &str, name: &str) {
    let runtime = Runtime::new().unwrap();
    let err = runtime
        .load(&std::fs::read(path).unwrap())
        .err()
        .expect("a foreign component must not load");
    assert!(
        matches!(&err, LoadError::UnsupportedImport(n) if n == name),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "the component imports `{name}`, which Airlock does not provide"
        )),
        "{text}"
    );
    assert!(!text.contains("linker"), "{text}");
}

mod foreign {
    use super::*;

    #[test]
    fn an_import_from_another_namespace_is_refused_by_name() {
        refused_import(guests::FOREIGN, "acme:backdoor/shell@0.1.0");
    }
}

mod foreign_airlock {
    use super::*;

    #[test]
    fn an_interface_under_the_contracts_package_that_it_does_not_define_is_refused() {
        refused_import(guests::FOREIGN_AIRLOCK, "airlock:connector/shell@0.1.0");
    }
}

mod foreign_wasi {
    use super::*;

    #[test]
    fn a_wasi_interface_the_host_does_not_link_is_refused_by_name() {
        refused_import(guests::FOREIGN_WASI, "wasi:backdoor/shell@0.2.0");
    }
}

#[test]
fn in_fuel_mode_the_same_call_consumes_the_same_fuel() {
    let runtime = Runtime::with_limits(Limits {
        fuel: Some(50_000_000),
        ..Limits::default()
    })
    .unwrap();
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
fn truncated_components_and_random_bytes_are_refused_as_not_components() {
    let (runtime, component) = load(guests::HOSTILE_SPIN);
    let bytes = std::fs::read(guests::HOSTILE_SPIN).unwrap();
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
