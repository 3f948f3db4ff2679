//! STANAG 4607 validation, data-driven: every packet of `tests/fixtures/stanag` (made
//! by `scripts/stanag-corpus.py`) and the synthetic packets of
//! `../shared/standards/stanag4607`. A valid document has no errors; an invalid one,
//! named `<rule>__<what>.gmti`, has an error of exactly that rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::path::{Path, PathBuf};

use airlock_host::validate::{Report, stanag};
use airlock_tests::corpus::{self, files};

fn check(path: &Path) -> Report {
    corpus::check(stanag::validate_bytes, path)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

#[test]
fn every_valid_fixture_has_no_errors() {
    corpus::valid_fixtures_pass("stanag", stanag::validate_bytes, 9);
}

#[test]
fn every_invalid_fixture_breaks_the_rule_its_name_gives() {
    corpus::invalid_fixtures_break_their_rule("stanag", stanag::validate_bytes, 30);
}

#[test]
fn the_shared_synthetic_packets_are_valid_and_their_dwells_add_up() {
    let shared: Vec<PathBuf> = files(&corpus::shared("stanag4607/fixtures"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "gmti"))
        .collect();
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
