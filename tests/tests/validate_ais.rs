//! AIS validation, data-driven: every document of `tests/fixtures/ais` (made by
//! `scripts/ais-corpus.py`), every sentence file of `../shared/standards/ais`, and the
//! `ais-decoder` example's outputs. A valid document has no errors; an invalid one,
//! named `<rule>__<what>.<ext>`, has an error of exactly that rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::collections::BTreeSet;
use std::path::PathBuf;

use airlock_host::validate::{Report, ais};
use airlock_tests::corpus;

fn shared(file: &str) -> PathBuf {
    corpus::shared("ais").join(file)
}

fn check(bytes: &[u8], what: &str) -> Report {
    let r = ais::validate_bytes(bytes);
    for f in r.errors.iter().chain(&r.warnings) {
        assert!(
            !f.message.is_empty() && f.path.starts_with('/'),
            "{what}: {f:?}"
        );
    }
    r
}

fn rules(r: &Report) -> BTreeSet<&str> {
    r.errors.iter().map(|e| e.rule.as_str()).collect()
}

#[test]
fn every_valid_fixture_has_no_errors() {
    corpus::valid_fixtures_pass("ais", ais::validate_bytes, 30);
}

#[test]
fn every_invalid_fixture_breaks_the_rule_its_name_gives() {
    corpus::invalid_fixtures_break_their_rule("ais", ais::validate_bytes, 50);
}

#[test]
fn gpsds_sample_is_valid_but_for_its_invalid_packet_and_corner_case_sections() {
    let r = check(
        &std::fs::read(shared("gpsd/sample.aivdm")).unwrap(),
        "sample.aivdm",
    );
    // Line 978 is "That fragment misses part 1" without its `!`; line 1026 is "Type 4
    // with year set to 10196", whose position is off the globe too.
    let found: Vec<(&str, &str)> = r
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.rule.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("/line/978", "nmea-syntax"),
            ("/line/1026/lat", "field-range"),
            ("/line/1026/lon", "field-range"),
            ("/line/1026/year", "field-range"),
        ],
        "{:#?}",
        r.errors
    );
    // Each paired message alone: valid, except that corner case.
    let paired = std::fs::read_to_string(shared("gpsd/sample.aivdm.paired.jsonl")).unwrap();
    let mut checked = 0;
    for line in paired.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        let sentences: Vec<&str> = entry["sentences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let r = check(sentences.join("\n").as_bytes(), line);
        let corner = sentences.contains(&"!AIVDM,1,1,,B,4>O7m7Iu@<9qUfbtm`vSnwvH20S8,0*46");
        assert_eq!(r.valid, !corner, "{line}: {:#?}", r.errors);
        checked += 1;
    }
    assert_eq!(checked, 102);
}

#[test]
fn pyais_real_world_traffic_is_judged_line_by_line() {
    let r = check(
        &std::fs::read(shared("pyais/ais_test_messages")).unwrap(),
        "ais_test_messages",
    );
    assert!(r.valid, "{:#?}", r.errors);
    // AISHub traffic with empty payloads, orphan fragments and one reserved
    // manoeuvre value.
    let r = check(
        &std::fs::read(shared("pyais/nmea_data_sample.txt")).unwrap(),
        "sample",
    );
    assert_eq!(
        rules(&r),
        BTreeSet::from(["field-range", "fragment", "payload-length"])
    );
    // AIS mixed with GPS sentences, garbage lines and broken tag blocks.
    let r = check(&std::fs::read(shared("pyais/mixed.txt")).unwrap(), "mixed");
    assert_eq!(
        rules(&r),
        BTreeSet::from(["nmea-syntax", "not-ais", "tag-block"])
    );
    assert!(r.errors.iter().all(|e| e.path.starts_with("/line/")));
}

#[test]
fn the_ais_example_connectors_reports_pass_the_validator() {
    use airlock_host::runtime::Grants;
    let (_runtime, component) =
        airlock_tests::load_guest(airlock_tests::guests::AIS_DECODER, Default::default());
    // gpsd's sample, every message type: all reports valid but the corner case
    // with a year of 10196 and a position off the globe.
    let text = std::fs::read_to_string(shared("gpsd/sample.aivdm")).unwrap();
    let input = serde_json::json!({ "sentences": text }).to_string();
    let (outputs, _) = component
        .invoke("decode", &input, "{}", Grants::default())
        .unwrap();
    assert!(outputs.len() >= 95, "{} reports", outputs.len());
    let mut invalid = Vec::new();
    for o in &outputs {
        let r = check(&o.body, "output");
        assert!(r.warnings.is_empty(), "{:#?}", r.warnings);
        if !r.valid {
            invalid.push(serde_json::from_slice::<serde_json::Value>(&o.body).unwrap());
        }
    }
    assert_eq!(invalid.len(), 1, "{invalid:#?}");
    assert_eq!(invalid[0]["year"], 10196);
}
