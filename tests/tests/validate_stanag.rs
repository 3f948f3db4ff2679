//! STANAG 4607 validation, data-driven: every packet of `tests/fixtures/stanag` (made
//! by `scripts/stanag-corpus.py`) and the synthetic packets of
//! `../shared/standards/stanag4607`. A valid document has no errors; an invalid one,
//! named `<rule>__<what>.gmti`, has an error of exactly that rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::path::{Path, PathBuf};

use airlock_host::validate::{Report, stanag};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gmti"))
        .collect();
    out.sort();
    out
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn check(path: &Path) -> Report {
    let r = stanag::validate_bytes(&std::fs::read(path).unwrap());
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
    let valid = files(&root().join("fixtures/stanag/valid"));
    assert!(valid.len() >= 9, "{} valid fixtures", valid.len());
    for f in valid {
        let r = check(&f);
        assert!(r.valid, "{}: {:#?}", f.display(), r.errors);
    }
}

#[test]
fn every_invalid_fixture_breaks_the_rule_its_name_gives() {
    let invalid = files(&root().join("fixtures/stanag/invalid"));
    assert!(invalid.len() >= 30, "{} invalid fixtures", invalid.len());
    for f in invalid {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let (rule, _) = name
            .split_once("__")
            .expect("invalid fixtures are named <rule>__<what>.gmti");
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
fn the_shared_synthetic_packets_are_valid_and_their_dwells_add_up() {
    let shared = files(&root().join("../../shared/standards/stanag4607/fixtures"));
    assert_eq!(shared.len(), 8);
    for f in shared {
        let r = check(&f);
        assert!(r.valid, "{}: {:#?}", f.display(), r.errors);
        // Only what the standard leaves open: platform type 200 and extension segments.
        for w in &r.warnings {
            assert!(
                w.rule == "reserved-value" || w.rule == "reserved-segment",
                "{}: {w:?}",
                f.display()
            );
        }
    }
}

#[test]
fn findings_say_where_in_the_stream() {
    let r =
        check(&root().join("fixtures/stanag/invalid/packet-size__trailing-partial-packet.gmti"));
    assert_eq!(r.errors[0].path, "/packets/1/size");
    assert!(r.errors[0].message.starts_with("At byte 254:"), "{r:#?}");
}
