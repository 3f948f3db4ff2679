//! Runtime benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench runtime` measures, single-threaded:
//! - a cold compile (load + describe) of each example connector;
//! - from the compile cache to a connector's first result (load from the cache,
//!   describe, first `decode` of the AIS decoder), engine creation excluded;
//! - fresh instance + trivial invoke (the probe's `work` with no delay): p50, p99
//!   and calls/s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::Instant;

use airlock_host::runtime::{Grants, Runtime};
use airlock_tests::guests;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    println!("| measure | result | goal |");
    println!("| --- | --- | --- |");
    let plain = Runtime::new().unwrap();
    // AIRLOCK_BENCH_ONLY=instance skips the compile rows (for profiling the call path).
    let only_instance = std::env::var("AIRLOCK_BENCH_ONLY").is_ok_and(|v| v == "instance");
    for (name, path) in guests::ALL.iter().filter(|_| !only_instance) {
        let bytes = std::fs::read(path).unwrap();
        let t = Instant::now();
        plain.load(&bytes).unwrap();
        println!(
            "| cold compile + describe, {name} ({} KB) | {:.0} ms | report |",
            bytes.len() / 1000,
            ms(t)
        );
    }

    if !only_instance {
        cache_to_first_result();
    }
    instance_rows(&plain);
}

fn cache_to_first_result() {
    let dir = std::env::temp_dir().join(format!("airlock-bench-cache-{}", uuid::Uuid::new_v4()));
    let ais = std::fs::read(guests::AIS_DECODER).unwrap();
    Runtime::new()
        .unwrap()
        .with_cache(&dir, [1; 32])
        .unwrap()
        .load(&ais)
        .unwrap();
    let mut samples = Vec::new();
    for _ in 0..20 {
        let cached = Runtime::new().unwrap().with_cache(&dir, [1; 32]).unwrap();
        let t = Instant::now();
        let c = cached.load(&ais).unwrap();
        let (out, _) = c
            .invoke(
                "decode",
                r#"{"sentences": "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"}"#,
                "{}",
                Grants::default(),
            )
            .unwrap();
        samples.push(ms(t));
        assert!(!out.is_empty());
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "| compile cache → first result (ais-decoder, median of 20) | {:.2} ms | ≤ 5 ms |",
        samples[10]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn instance_rows(plain: &Runtime) {
    let probe = plain.load(&std::fs::read(guests::PROBE).unwrap()).unwrap();
    for _ in 0..1000 {
        probe.invoke("work", "{}", "{}", Grants::default()).unwrap();
    }
    let n = 20_000;
    let mut lat = Vec::with_capacity(n);
    let all = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        probe.invoke("work", "{}", "{}", Grants::default()).unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let rate = n as f64 / all.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    println!(
        "| fresh instance + trivial invoke (probe `work`), one thread | p50 {:.1} µs, p99 {:.1} µs, {rate:.0}/s | p50 ≤ 20 µs, p99 ≤ 100 µs, ≥ 20 000/s |",
        lat[n / 2],
        lat[n * 99 / 100]
    );
}
