//! Validation benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench validate` measures STIX 2.1 validation on one
//! thread: indicator-sized objects per second (each validated as a document on its
//! own), a 10 000-object bundle, and the whole fixture corpus. The comparison with
//! stix2-validator over the same files is `scripts/stix-agreement.py --bench`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::time::Instant;

use airlock_host::validate::stix;
use serde_json::{Value, json};

fn indicator(i: usize) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{:08x}-17d4-4cbf-938f-98ee46b3cd3f", i),
        "created": "2016-04-06T20:03:48.000Z",
        "modified": "2016-04-06T20:03:48.000Z",
        "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
        "name": format!("C2 address {i}"),
        "indicator_types": ["malicious-activity"],
        "pattern": format!("[ipv4-addr:value = '198.51.{}.{}']", i / 256 % 256, i % 256),
        "pattern_type": "stix",
        "valid_from": "2016-01-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]
    })
}

fn main() {
    println!("| measure | result | goal |");
    println!("| --- | --- | --- |");
    // Compile the schemas before timing.
    assert!(stix::validate(&indicator(0)).valid);

    let docs: Vec<Vec<u8>> = (0..20_000)
        .map(|i| serde_json::to_vec(&indicator(i)).unwrap())
        .collect();
    let t = Instant::now();
    for d in &docs {
        assert!(stix::validate_bytes(d).valid);
    }
    let rate = docs.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "| indicator-sized objects, each parsed and validated on its own | {rate:.0}/s | ≥ 50 000/s |"
    );

    let bundle = json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": (0..10_000).map(indicator).collect::<Vec<_>>()
    });
    let bytes = serde_json::to_vec(&bundle).unwrap();
    let mut samples = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let r = stix::validate_bytes(&bytes);
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(r.valid);
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "| a 10 000-indicator bundle ({} KB), parse + validate, median of 5 | {:.0} ms | ≤ 200 ms |",
        bytes.len() / 1000,
        samples[2]
    );

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stix");
    let mut corpus = Vec::new();
    for sub in ["valid", "invalid"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            corpus.push(std::fs::read(e.unwrap().path()).unwrap());
        }
    }
    let rounds = 20;
    let t = Instant::now();
    for _ in 0..rounds {
        for d in &corpus {
            std::hint::black_box(stix::validate_bytes(d));
        }
    }
    let per_file = t.elapsed().as_secs_f64() * 1000.0 / (rounds * corpus.len()) as f64;
    println!(
        "| the fixture corpus ({} files, most are ~20-object bundles) | {per_file:.3} ms/file | report |",
        corpus.len()
    );
}
