//! NIEM 6 validation, data-driven: every document of `tests/fixtures/niem` (made by
//! `scripts/niem-corpus.py`, which checks its XML verdicts against xmllint) and the
//! example of `../shared/standards/niem6.0`. A valid document has no errors; an
//! invalid one, named `<rule>__<what>.<ext>`, has an error of exactly that rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::path::{Path, PathBuf};

use airlock_host::validate::{Report, niem};
use airlock_tests::corpus;

fn check(path: &Path) -> Report {
    corpus::check(niem::validate_bytes, path)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

#[test]
fn every_valid_fixture_has_no_errors() {
    corpus::valid_fixtures_pass("niem", niem::validate_bytes, 10);
}

#[test]
fn every_invalid_fixture_breaks_the_rule_its_name_gives() {
    corpus::invalid_fixtures_break_their_rule("niem", niem::validate_bytes, 25);
}

#[test]
fn the_shared_example_is_valid() {
    let r = check(&root().join("../../shared/standards/niem6.0/examples/minimal-person.xml"));
    assert!(r.valid, "{:#?}", r.errors);
}

#[test]
fn the_embedded_schemas_are_the_shared_standards_byte_for_byte() {
    // The validators embed these copies; the shared tree is their provenance.
    let pairs = [
        ("cap1.2/CAP-v1.2.xsd", "cap1.2/schema/CAP-v1.2.xsd"),
        ("niem6.0/xsd/niem-core.xsd", "niem6.0/xsd/niem-core.xsd"),
        (
            "niem6.0/xsd/external/xml.xsd",
            "niem6.0/xsd/external/xml.xsd",
        ),
        (
            "niem6.0/xsd/adapters/niem-xs.xsd",
            "niem6.0/xsd/adapters/niem-xs.xsd",
        ),
        (
            "niem6.0/xsd/utility/structures.xsd",
            "niem6.0/xsd/utility/structures.xsd",
        ),
        (
            "niem6.0/xsd/utility/code-lists-instance.xsd",
            "niem6.0/xsd/utility/code-lists-instance.xsd",
        ),
        (
            "niem6.0/json-ld/context.json",
            "niem6.0/json-ld/context.json",
        ),
    ];
    for (ours, shared) in pairs {
        let a = std::fs::read(root().join("../host/standards").join(ours)).unwrap();
        let b = std::fs::read(root().join("../../shared/standards").join(shared)).unwrap();
        assert!(a == b, "{ours} differs from shared/standards/{shared}");
    }
}

#[test]
fn schema_errors_name_elements_by_prefix_and_path() {
    let r = check(&root().join("fixtures/niem/invalid/schema__children-out-of-order.xml"));
    let e = &r.errors[0];
    assert_eq!(e.path, "/Person/PersonBirthDate", "{e:?}");
    assert!(
        e.message.starts_with("Element 'nc:PersonBirthDate'"),
        "{e:?}"
    );
}
