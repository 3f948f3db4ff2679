//! NIEM 6 validation, data-driven: every document of `tests/fixtures/niem` (made by
//! `scripts/niem-corpus.py`, which checks its XML verdicts against xmllint) and the
//! example of `../shared/standards/niem6.0`. A valid document has no errors; an
//! invalid one, named `<rule>__<what>.<ext>`, has an error of exactly that rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::path::{Path, PathBuf};

use airlock_host::validate::{Report, niem};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn check(path: &Path) -> Report {
    let r = niem::validate_bytes(&std::fs::read(path).unwrap());
    for f in r.errors.iter().chain(&r.warnings) {
        assert!(
            !f.message.is_empty() && !f.rule.is_empty() && f.path.starts_with('/'),
            "{}: {f:?}",
            path.display()
        );
    }
    r
}

#[test]
fn every_valid_fixture_has_no_errors() {
    let valid = files(&root().join("fixtures/niem/valid"));
    assert!(valid.len() >= 10, "{} valid fixtures", valid.len());
    for f in valid {
        let r = check(&f);
        assert!(r.valid, "{}: {:#?}", f.display(), r.errors);
    }
}

#[test]
fn every_invalid_fixture_breaks_the_rule_its_name_gives() {
    let invalid = files(&root().join("fixtures/niem/invalid"));
    assert!(invalid.len() >= 25, "{} invalid fixtures", invalid.len());
    for f in invalid {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let (rule, _) = name
            .split_once("__")
            .expect("invalid fixtures are named <rule>__<what>.<ext>");
        let r = check(&f);
        assert!(!r.valid, "{name} must be invalid");
        assert!(
            r.errors.iter().any(|e| e.rule == rule),
            "{name}: expected rule `{rule}`, got {:#?}",
            r.errors
        );
    }
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
