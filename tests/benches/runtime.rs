//! Runtime benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench runtime` measures, single-threaded:
//! - a cold compile (load + describe) of each example connector;
//! - from the compile cache to a connector's first result (load from the cache,
//!   describe, first `decode` of the AIS decoder), engine creation excluded;
//! - fresh instance + trivial invoke (the probe's `work` with no delay): p50, p99
//!   and calls/s;
//! - the floor under it: a fresh instance of a bare core module (one 17-page memory
//!   with a data segment, one export that writes a word and returns) and its call,
//!   on the same engine and pool (its engine-wide settings; the store has no limiter,
//!   hostcall fuel or epoch callback) — what wasmtime itself costs on this machine,
//!   so the difference is what the component and the host's per-call setup add;
//! - the floor of a component of the shape every `wasm32-wasip2` guest has
//!   ([`THREE_MODULE_COMPONENT`]: the guest's module, a shim module holding a table
//!   of its imports, a fixup module filling that table, one imported host function
//!   lowered with the guest's memory, one lifted export) and no WASI, on the same
//!   engine: what the component model itself costs a fresh instance and one call
//!   through an import (a string lowered from the guest's memory), so the rest of
//!   the probe's time is its WASI imports, the host's per-call setup and the guest's
//!   own work;
//! - a guest → host import round trip (the probe calling the clock 200 000 times,
//!   minus a call that makes none);
//! - the OSINT feed's parse-and-map of a 10 000-row page (`map-page`), the same crate
//!   compiled natively (opt-level 3) and run in the sandbox (the shipped component,
//!   opt-level "s" + LTO), input decoding and output encoding included on both sides;
//!   and the same sandboxed run without epoch interruption, for its cost.
//!
//! `AIRLOCK_BENCH_ONLY=instance` runs only the fresh-instance rows, the probe's and
//! the two floors' (for profiling).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::Instant;

use airlock_host::runtime::{CallRequest, Component, Entry, Grants, Limits, Runtime};
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
    core_module_floor(&plain);
    component_floor(&plain);
    if !only_instance {
        import_round_trip(&plain);
        native_versus_sandbox();
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn import_round_trip(plain: &Runtime) {
    let probe = plain.load(&std::fs::read(guests::PROBE).unwrap()).unwrap();
    let n = 200_000u64;
    let time = |calls: u64| {
        median(
            (0..7)
                .map(|_| {
                    let t = Instant::now();
                    probe
                        .invoke(
                            "imports",
                            &format!(r#"{{"n": {calls}}}"#),
                            "{}",
                            Grants::default(),
                        )
                        .unwrap();
                    t.elapsed().as_secs_f64() * 1e9
                })
                .collect(),
        )
    };
    let per_call = (time(n) - time(0)) / n as f64;
    println!(
        "| guest → host import round trip (clock.now-ms, median of 7 × {n}) | {per_call:.0} ns | ≤ 1 µs |"
    );
}

/// A URLhaus-style CSV page of `rows` rows.
fn feed_page(rows: usize) -> String {
    let mut text = String::from("id,dateadded,url,url_status,threat,tags,urlhaus_link,reporter\n");
    for i in 0..rows {
        let family = ["emotet", "qakbot", "", "mozi"][i % 4];
        text.push_str(&format!(
            "{i},2026-11-{:02} {:02}:{:02}:00,http://host-{i}.bad.example.net/p/{i}.exe,online,malware_download,{family},https://urlhaus.abuse.ch/url/{i}/,reporter{}\n",
            1 + i % 28,
            i % 24,
            i % 60,
            i % 7
        ));
    }
    text
}

fn sandbox_map(component: &Component, input: &str, config: &str) -> f64 {
    let t = Instant::now();
    let done = component
        .call(CallRequest::local(
            Entry::Invoke {
                action: "map-page",
                input,
            },
            config,
        ))
        .unwrap();
    let elapsed = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(done.outputs.len(), 1);
    elapsed
}

fn native_versus_sandbox() {
    let rows = 10_000;
    let input = serde_json::json!({ "text": feed_page(rows) }).to_string();
    let config_json = r#"{"feed_url": "https://feeds.example.org/v1/indicators.csv"}"#;
    let config =
        osint_feed::config::Config::from_value(&serde_json::from_str(config_json).unwrap())
            .unwrap();
    let native_once = || {
        let t = Instant::now();
        let value: serde_json::Value = serde_json::from_str(&input).unwrap();
        let out = osint_feed::map_page(&value, &config).unwrap();
        let elapsed = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(out.len(), 1);
        elapsed
    };
    let limits = Limits {
        cpu_deadline: std::time::Duration::from_secs(30),
        max_output_bytes: 64 * 1024 * 1024,
        ..Limits::default()
    };
    let bytes = std::fs::read(guests::OSINT_FEED).unwrap();
    let with_epochs = Runtime::with_limits(limits).unwrap().load(&bytes).unwrap();
    let without = Runtime::without_deadlines_for_benchmarks(limits)
        .unwrap()
        .load(&bytes)
        .unwrap();
    native_once();
    sandbox_map(&with_epochs, &input, config_json);
    sandbox_map(&without, &input, config_json);
    // Interleaved rounds, ratios taken within a round: this VM's speed drifts by tens
    // of percent between seconds, which would swamp ratios of separate medians.
    let (mut native_ms, mut epoch_ms, mut plain_ms) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ratios, mut costs) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let n = native_once();
        let e = sandbox_map(&with_epochs, &input, config_json);
        let p = sandbox_map(&without, &input, config_json);
        ratios.push(e / n);
        costs.push(e / p - 1.0);
        native_ms.push(n);
        epoch_ms.push(e);
        plain_ms.push(p);
    }
    let native = median(native_ms);
    let (sandbox, no_epochs) = (median(epoch_ms), median(plain_ms));
    println!("| osint-feed map-page, {rows} rows: native (median of 15) | {native:.1} ms | — |");
    println!(
        "| osint-feed map-page, {rows} rows: sandbox, epochs on | {sandbox:.1} ms, ratio {:.2} (median of 15 paired rounds) | ratio ≤ 1.5, aim 1.3 |",
        median(ratios)
    );
    println!(
        "| epoch interruption's cost on that workload (sandbox without epochs: {no_epochs:.1} ms) | {:+.1} % (median of paired rounds) | ≤ 10 % |",
        median(costs) * 100.0
    );
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
                airlock_tests::AIS_DECODE_INPUT,
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

/// Times `call` 20 000 times after 1 000 warm-up calls: sorted latencies in µs,
/// and calls/s over the whole run.
fn timed(mut call: impl FnMut()) -> (Vec<f64>, f64) {
    for _ in 0..1000 {
        call();
    }
    let n = 20_000;
    let mut lat = Vec::with_capacity(n);
    let all = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        call();
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let rate = n as f64 / all.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    (lat, rate)
}

/// The 50th and 99th percentiles of sorted latencies.
fn p50_p99(lat: &[f64]) -> (f64, f64) {
    (lat[lat.len() / 2], lat[lat.len() * 99 / 100])
}

fn instance_rows(plain: &Runtime) {
    let probe = plain.load(&std::fs::read(guests::PROBE).unwrap()).unwrap();
    let (lat, rate) = timed(|| {
        probe.invoke("work", "{}", "{}", Grants::default()).unwrap();
    });
    let (p50, p99) = p50_p99(&lat);
    println!(
        "| fresh instance + trivial invoke (probe `work`), one thread | p50 {p50:.1} µs, p99 {p99:.1} µs, {rate:.0}/s | p50 ≤ 20 µs, p99 ≤ 100 µs, ≥ 20 000/s |"
    );
}

/// The smallest component with the layout `wit-component` (and so `cargo build
/// --target wasm32-wasip2`) gives a guest whose imports take its memory: the
/// lowered import needs the guest's memory, which exists only once the guest is
/// instantiated, and the guest needs the import to be instantiated, so the guest
/// imports a shim's function that calls through a table, and a third module fills
/// the table with the lowered import afterwards. Three core instances per fresh
/// instance, whatever the guest does.
const THREE_MODULE_COMPONENT: &str = r#"
(component
  (import "log" (func $log (param "message" string)))
  (core module $guest
    (import "host" "log" (func $log (param i32 i32)))
    (memory (export "memory") 17)
    (func (export "work") (result i32)
      i32.const 1048000 i32.const 42 i32.store
      i32.const 1048576 i32.const 5 call $log
      i32.const 1)
    (data (i32.const 1048576) "hello"))
  (core module $shim
    (table (export "$imports") 1 1 funcref)
    (func (export "0") (param i32 i32)
      local.get 0 local.get 1 i32.const 0 call_indirect (param i32 i32)))
  (core module $fixups
    (import "" "$imports" (table 1 1 funcref))
    (import "" "0" (func $lowered (param i32 i32)))
    (elem (i32.const 0) func $lowered))
  (core instance $shim (instantiate $shim))
  (core instance $guest (instantiate $guest
    (with "host" (instance (export "log" (func $shim "0"))))))
  (core func $log_lowered (canon lower (func $log) (memory $guest "memory")))
  (core instance (instantiate $fixups
    (with "" (instance
      (export "$imports" (table $shim "$imports"))
      (export "0" (func $log_lowered))))))
  (func (export "work") (result u32) (canon lift (core func $guest "work"))))
"#;

/// The floor of the component model: a fresh instance and call of
/// [`THREE_MODULE_COMPONENT`] (its import answered by a host function that only
/// looks at the string), on the runtime's own engine, with a flat deadline and
/// no limiter or callback, as [`core_module_floor`].
fn component_floor(plain: &Runtime) {
    use wasmtime::component::{Component, Linker};
    let engine = plain.engine_for_benchmarks();
    let bytes = wat::parse_str(THREE_MODULE_COMPONENT).unwrap();
    let component = Component::new(engine, bytes).unwrap();
    let mut linker = Linker::<()>::new(engine);
    linker
        .root()
        .func_wrap("log", |_, (message,): (String,)| {
            assert_eq!(message, "hello");
            Ok(())
        })
        .unwrap();
    let pre = linker.instantiate_pre(&component).unwrap();
    let (lat, _) = timed(|| {
        let mut store = wasmtime::Store::new(engine, ());
        store.set_epoch_deadline(1_000);
        let instance = pre.instantiate(&mut store).unwrap();
        let work = instance
            .get_typed_func::<(), (u32,)>(&mut store, "work")
            .unwrap();
        assert_eq!(work.call(&mut store, ()).unwrap(), (1,));
    });
    let (p50, p99) = p50_p99(&lat);
    println!(
        "| floor: fresh instance + call of a three-module component (a wasip2 guest's layout, one import, no WASI), one thread | p50 {p50:.1} µs, p99 {p99:.1} µs | report |"
    );
}

/// A bare core module: a 17-page memory (a Rust guest's 1 MiB stack and a little
/// data), a data segment (so the pool keeps a copy-on-write image, as for a real
/// guest), and `work`, which stores one word near the top of the stack and returns 1.
fn bare_core_module() -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection,
        MemArg, MemorySection, MemoryType, Module, TypeSection, ValType,
    };
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 17,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("work", ExportKind::Func, 0);
    let mut work = Function::new([]);
    let store = MemArg {
        offset: 0,
        align: 2,
        memory_index: 0,
    };
    work.instructions()
        .i32_const(1_048_000)
        .i32_const(42)
        .i32_store(store)
        .i32_const(1)
        .end();
    let mut code = CodeSection::new();
    code.function(&work);
    let mut data = DataSection::new();
    data.active(0, &ConstExpr::i32_const(1 << 20), b"hello".iter().copied());
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code)
        .section(&data);
    module.finish()
}

/// The floor: wasmtime's fresh instance and call of [`bare_core_module`], on the
/// runtime's own engine (same pool, epochs on; a flat deadline, no limiter or
/// callback).
fn core_module_floor(plain: &Runtime) {
    let engine = plain.engine_for_benchmarks();
    let module = wasmtime::Module::new(engine, bare_core_module()).unwrap();
    let pre = wasmtime::Linker::<()>::new(engine)
        .instantiate_pre(&module)
        .unwrap();
    let (lat, _) = timed(|| {
        let mut store = wasmtime::Store::new(engine, ());
        store.set_epoch_deadline(1_000);
        let instance = pre.instantiate(&mut store).unwrap();
        let work = instance
            .get_typed_func::<(), i32>(&mut store, "work")
            .unwrap();
        assert_eq!(work.call(&mut store, ()).unwrap(), 1);
    });
    let (p50, p99) = p50_p99(&lat);
    println!(
        "| floor: fresh instance + call of a bare core module (same engine and pool), one thread | p50 {p50:.1} µs, p99 {p99:.1} µs | report |"
    );
}
