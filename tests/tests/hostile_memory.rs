//! What the worst hostile calls cost the host in memory: each misbehaving guest is
//! called once in this process (its own test binary, one test, so nothing else
//! allocates meanwhile), with the process's peak resident set reset before each call
//! (`/proc/self/clear_refs`), and its growth must stay under a documented bound: the
//! guest's own linear memory (which is the host's memory too), what the host copies
//! out of a guest at once ([`transfer_limit`]), and 48 MiB for the rest. The table
//! it prints is the figure quoted in the hardening notes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::time::Duration;

use airlock_host::runtime::{Grants, Limits, transfer_limit};
use airlock_tests::guests;

fn status_kib(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn hostile_calls_stay_under_the_memory_bound_and_the_host_still_serves() {
    let limits = Limits {
        cpu_deadline: Duration::from_secs(20),
        wall_clock: Duration::from_secs(60),
        ..Limits::default()
    };
    let bound = limits.memory_bytes + transfer_limit(&limits) + (48 << 20);
    let mut table = vec![format!("{:<28} {:>12}  outcome", "guest", "peak growth")];
    for (path, input) in [
        (guests::HOSTILE_ALLOC, "{}"),
        (guests::HOSTILE_HUGE_OUTPUT, "{}"),
        (guests::HOSTILE_HUGE_OUTPUT, r#"{"mib": 9}"#),
        (guests::HOSTILE_RETURN_FLOOD, "{}"),
        (guests::HOSTILE_RETURN_FLOOD, r#"{"count": 10000}"#),
        (guests::HOSTILE_EMIT_FLOOD, "{}"),
        (guests::HOSTILE_EMPTY_LOG_FLOOD, "{}"),
        (guests::HOSTILE_PROGRESS_FLOOD, "{}"),
        (guests::HOSTILE_KV_FLOOD, "{}"),
        (guests::HOSTILE_PRINT_FLOOD, "{}"),
        (guests::HOSTILE_SHADOW_STACK, "{}"),
    ] {
        let (_runtime, component) = airlock_tests::load_guest(path, limits);
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let before = status_kib("VmRSS:") * 1024;
        let outcome = component
            .invoke("run", input, "{}", Grants::default())
            .map(|(outputs, captured)| {
                format!(
                    "ok: {} outputs, {} logs",
                    outputs.len(),
                    captured.logs.len()
                )
            })
            .unwrap_or_else(|e| e.kind().to_string());
        let growth = (status_kib("VmHWM:") * 1024).saturating_sub(before);
        let name = std::path::Path::new(path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        table.push(format!(
            "{:<28} {:>9} KiB  {outcome} ({input})",
            name,
            growth / 1024
        ));
        assert!(
            growth <= bound,
            "{name} {input}: grew {growth} bytes, bound {bound}"
        );
        // The same component serves a normal call after it.
        let (outputs, _) = component
            .invoke("ok", "{}", "{}", Grants::default())
            .unwrap();
        assert_eq!(outputs.len(), 1);
    }
    println!("{}\nbound: {} KiB", table.join("\n"), bound / 1024);
}
