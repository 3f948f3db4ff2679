//! Validation benchmark (not a test): prints a table.
//!
//! `cargo bench -p airlock-tests --bench validate` measures STIX 2.1 validation, in
//! process on one thread: indicator-sized objects per second (each validated as a document on its
//! own), a 10 000-object bundle, the whole fixture corpus, and the release
//! `airlock validate` over the fixtures and the official examples as one process
//! (built if needed). The ratio to stix2-validator over the same files is
//! `scripts/stix-agreement.py --bench`.
//!
//! CAP 1.2 is measured side by side with `xmllint --noout --nonet --schema
//! CAP-v1.2.xsd` (libxml2's own command-line validator) on the same files: the CAP
//! fixture corpus plus the alerts of `shared/standards/cap1.2/examples`. xmllint gets
//! every file ten times in one invocation, so its start-up and schema compilation are
//! spread over all of them, as Airlock's are by running in-process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::path::{Path, PathBuf};
use std::time::Instant;

use airlock_host::validate::{ais, cap, niem, stanag, stix};
use airlock_tests::corpus::files;
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
    // `cargo bench --bench validate -- cap` (or `stix`) runs one standard only.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wanted("stix") {
        bench_stix();
    }
    if wanted("cap") {
        bench_cap();
    }
    if wanted("ais") {
        bench_ais();
    }
    if wanted("niem") || wanted("stanag") {
        bench_corpus("NIEM 6", "niem", niem::validate_bytes);
        bench_corpus("STANAG 4607", "stanag", stanag::validate_bytes);
    }
}

/// A standard's fixture corpus, validated file after file, 200 times.
fn bench_corpus(name: &str, dir: &str, validate: fn(&[u8]) -> airlock_host::validate::Report) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir);
    let mut docs = Vec::new();
    for sub in ["valid", "invalid"] {
        for f in files(&root.join(sub)) {
            docs.push(std::fs::read(f).unwrap());
        }
    }
    validate(&docs[0]); // compile schemas before timing
    let rounds = 200;
    let t = Instant::now();
    for _ in 0..rounds {
        for d in &docs {
            std::hint::black_box(validate(d));
        }
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / (rounds * docs.len()) as f64;
    println!(
        "| {name}: the fixture corpus ({} documents), one at a time | {per:.1} µs/document | report |",
        docs.len()
    );
}

/// AIS: real traffic as sentences (pyais's AISHub sample, gpsd's every-type sample)
/// and the decoder's JSON reports, one document per message.
fn bench_ais() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/standards/ais");
    let gpsd = std::fs::read_to_string(shared.join("gpsd/sample.aivdm")).unwrap();
    let lines: Vec<&str> = gpsd.lines().filter(|l| l.starts_with('!')).collect();
    let doc = lines.join("\n");
    let rounds = 200;
    let t = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(ais::validate_bytes(doc.as_bytes()));
    }
    let rate = (rounds * lines.len()) as f64 / t.elapsed().as_secs_f64();
    println!(
        "| AIS: gpsd's sample ({} sentences, every type) as one document, decoded and range-checked | {rate:.0} sentences/s | report |",
        lines.len()
    );
    let reports: Vec<String> = airlock_host_ais_reports(&doc);
    let t = Instant::now();
    for _ in 0..rounds {
        for r in &reports {
            std::hint::black_box(ais::validate_bytes(r.as_bytes()));
        }
    }
    let rate = (rounds * reports.len()) as f64 / t.elapsed().as_secs_f64();
    println!(
        "| AIS: the decoder's JSON reports of that sample, one document each | {rate:.0} reports/s | report |"
    );
}

/// The sample's messages as the `ais-decoder` example reports them.
fn airlock_host_ais_reports(sentences: &str) -> Vec<String> {
    airlock_sdk::ais::decode_lines(sentences)
        .into_iter()
        .filter_map(Result::ok)
        .map(|r| serde_json::to_string(&r).unwrap())
        .collect()
}

fn bench_cap() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    let xsd = tests.join("../host/standards/cap1.2/CAP-v1.2.xsd");
    let shared = tests.join("../../shared/standards/cap1.2/examples");
    let mut all = files(&tests.join("fixtures/cap/valid"));
    all.extend(files(&tests.join("fixtures/cap/invalid")));
    for sub in [
        "oasis-spec",
        "valid",
        "invalid",
        "semantic-errors",
        "cap1.1",
    ] {
        all.extend(files(&shared.join(sub)));
    }
    cap::validate_bytes(b"<alert/>"); // compile the schema before timing
    let (small, large): (Vec<PathBuf>, Vec<PathBuf>) = all
        .iter()
        .cloned()
        .partition(|f| std::fs::metadata(f).unwrap().len() < 100_000);
    cap_side_by_side("every file", &all, &xsd);
    cap_side_by_side("files under 100 KB", &small, &xsd);
    cap_side_by_side("files over 100 KB", &large, &xsd);
}

/// Airlock in-process and xmllint on `files` (each ten times), median of 5 rounds.
fn cap_side_by_side(what: &str, files: &[PathBuf], xsd: &Path) {
    let docs: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let repeat = 10;
    let rounds = 5;
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..repeat {
            for d in &docs {
                std::hint::black_box(cap::validate_bytes(d));
            }
        }
        ours.push(t.elapsed().as_secs_f64());

        let mut cmd = std::process::Command::new("xmllint");
        cmd.args(["--noout", "--nonet", "--schema"]).arg(xsd);
        for _ in 0..repeat {
            cmd.args(files);
        }
        let t = Instant::now();
        let out = cmd
            .stderr(std::process::Stdio::null())
            .status()
            .expect("xmllint (Debian package libxml2-utils) runs");
        theirs.push(t.elapsed().as_secs_f64());
        assert!(out.code().is_some());
    }
    ours.sort_by(f64::total_cmp);
    theirs.sort_by(f64::total_cmp);
    let n = (repeat * docs.len()) as f64;
    let (a, x) = (
        ours[rounds / 2] * 1000.0 / n,
        theirs[rounds / 2] * 1000.0 / n,
    );
    println!(
        "| CAP 1.2, {what}: {} files, {} KB, Airlock in-process (parse, XSD, semantic rules) vs `xmllint --noout --nonet --schema` (XSD only) | Airlock {a:.3} ms/file, xmllint {x:.3} ms/file: Airlock {:.2}× as fast | ≥ 1× |",
        docs.len(),
        bytes / 1000,
        x / a
    );
}

fn bench_stix() {
    // Build the schemas' patterns before timing (the schemas are compiled into the binary).
    assert!(stix::validate(indicator(0)).valid);

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
    whole_process();
}

/// `airlock validate` as a user runs it (the release binary, one process) over the
/// corpus `scripts/stix-agreement.py` compares with stix2-validator: the fixtures
/// and the official examples. The median of 21 runs; the ratio to the reference is
/// that script's `--bench` (it needs the reference from PyPI).
fn whole_process() {
    let bin = airlock_tests::bench::release_airlock();
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    let examples = tests.join("../../shared/standards/stix2.1/examples");
    let mut all = Vec::new();
    for dir in [
        tests.join("fixtures/stix/invalid"),
        tests.join("fixtures/stix/valid"),
        examples.clone(),
        examples.join("threat-reports"),
    ] {
        all.extend(
            files(&dir)
                .into_iter()
                .filter(|f| f.extension() == Some("json".as_ref())),
        );
    }
    let mut samples: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            let out = std::process::Command::new(&bin)
                .args(["validate", "--standard", "stix-2.1", "--json"])
                .args(&all)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "the corpus holds invalid files");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    println!(
        "| whole process: `airlock validate --standard stix-2.1 --json` over {} files (fixtures + official examples), median of 21 | {:.1} ms | ≤ 1/200 of stix2-validator's (`scripts/stix-agreement.py --bench`) |",
        all.len(),
        samples[10]
    );
}
