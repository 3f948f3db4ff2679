//! STIX 2.1 validation, data-driven: every document of `tests/fixtures/stix` (made by
//! `scripts/stix-corpus.py`) and every official example in `../shared/standards`.
//! A valid document has no errors; an invalid one, named `<rule>__<what>.json`, has
//! an error of exactly that rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use airlock_host::validate::stix;
use airlock_tests::corpus::{self, files};

#[test]
fn every_valid_fixture_has_no_errors() {
    corpus::valid_fixtures_pass("stix", stix::validate_bytes, 30);
}

#[test]
fn every_invalid_fixture_breaks_the_rule_its_name_gives() {
    corpus::invalid_fixtures_break_their_rule("stix", stix::validate_bytes, 100);
}

#[test]
fn the_official_examples_are_valid() {
    let dir = corpus::shared("stix2.1/examples");
    let mut all = files(&dir);
    all.extend(files(&dir.join("threat-reports")));
    all.retain(|f| f.extension().is_some_and(|e| e == "json"));
    assert_eq!(all.len(), 8, "{}", dir.display());
    for f in all {
        let r = stix::validate_bytes(&std::fs::read(&f).unwrap());
        assert!(r.valid, "{}: {:#?}", f.display(), r.errors);
    }
}

#[test]
fn the_osint_examples_bundles_pass_the_validator() {
    use airlock_host::runtime::{Grants, Runtime};
    let component = Runtime::new()
        .unwrap()
        .load(&std::fs::read(airlock_tests::guests::OSINT_FEED).unwrap())
        .unwrap();
    let mut page = String::from("id,dateadded,url,url_status,threat,tags,urlhaus_link,reporter\n");
    for i in 0..50 {
        page.push_str(&format!(
            "{i},2026-11-0{} 10:00:00,http://h{i}.bad.example.net/x.exe,online,malware_download,{},https://urlhaus.abuse.ch/url/{i}/,r\n",
            1 + i % 9,
            ["emotet", "", "qakbot"][i % 3]
        ));
    }
    let input = serde_json::json!({ "text": page }).to_string();
    let (outputs, _) = component
        .invoke(
            "map-page",
            &input,
            r#"{"feed_url": "https://feeds.example.org/v1/indicators.csv"}"#,
            Grants::default(),
        )
        .unwrap();
    assert_eq!(outputs.len(), 1);
    let r = stix::validate_bytes(&outputs[0].body);
    assert!(r.valid, "{:#?}", r.errors);
    assert!(r.warnings.is_empty(), "{:#?}", r.warnings);
}

/// `host/src/validate/stix/CONFORMANCE.md` cannot drift from the code and the
/// corpus (see `corpus::conformance_table_matches`).
#[test]
fn the_conformance_table_matches_the_fixtures_and_the_rules() {
    corpus::conformance_table_matches(
        "host/src/validate/stix/CONFORMANCE.md",
        &[
            "host/src/validate/stix.rs",
            "host/src/validate/stix/pattern.rs",
        ],
        "stix",
        "json",
    );
}
