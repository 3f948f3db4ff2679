//! Validators for the standards connectors declare: pure functions from a document
//! to a [`Report`].
//!
//! **Invariants:** no I/O (schemas are compiled into the binary or embedded and compiled once), no panics, and
//! no `Err` for an invalid document: whatever the input, the answer is a report.
//! Errors are findings that make a document invalid (a MUST of the standard);
//! warnings are findings that do not (a SHOULD, an unresolved reference a bundle
//! may legitimately leave open). Each finding names where (a JSON Pointer into the
//! document), which rule, and a sentence a person understands.
//!
//! Implemented: STIX 2.1 ([`stix`]), CAP 1.2 ([`cap`]), AIS ([`ais`]), NIEM 6
//! ([`niem`]) and STANAG 4607 ([`stanag`]).

pub mod ais;
pub mod cap;
pub mod lang;
pub mod niem;
pub mod stanag;
pub mod stix;
mod xml;

use serde::Serialize;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Where: a JSON Pointer into a JSON document (`""` is the whole document), an
    /// XPath-like path into an XML one (`/alert/info[2]/area/polygon`).
    pub path: String,
    /// Which rule, a stable kebab-case name (`schema`, `id-type-mismatch`, …).
    pub rule: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// The outcome of validating one document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// True when there are no errors (warnings allowed).
    pub valid: bool,
    /// MUST-level findings.
    pub errors: Vec<Finding>,
    /// SHOULD-level findings.
    pub warnings: Vec<Finding>,
}

impl Report {
    pub(crate) fn error(
        &mut self,
        path: impl Into<String>,
        rule: &str,
        message: impl Into<String>,
    ) {
        self.errors.push(Finding {
            path: path.into(),
            rule: rule.into(),
            message: message.into(),
        });
    }

    pub(crate) fn warning(
        &mut self,
        path: impl Into<String>,
        rule: &str,
        message: impl Into<String>,
    ) {
        self.warnings.push(Finding {
            path: path.into(),
            rule: rule.into(),
            message: message.into(),
        });
    }

    pub(crate) fn finish(mut self) -> Report {
        self.valid = self.errors.is_empty();
        self
    }
}

/// The standards, as the contract names them (the vocabulary lives in
/// `vocab.rs`; `super::vocab` so the fuzz targets, which compile these files
/// on their own, find it too).
pub use super::vocab::Standard;

/// Validates `bytes` as a document of `standard`. Plain `json` declares no
/// standard: its only rule is that the bytes are JSON.
pub fn validate(standard: Standard, bytes: &[u8]) -> Report {
    match standard {
        Standard::Json => json_only(bytes),
        Standard::Stix21 => stix::validate_bytes(bytes),
        Standard::Cap12 => cap::validate_bytes(bytes),
        Standard::Ais => ais::validate_bytes(bytes),
        Standard::Niem => niem::validate_bytes(bytes),
        Standard::Stanag4607 => stanag::validate_bytes(bytes),
    }
}

fn json_only(bytes: &[u8]) -> Report {
    let mut report = Report::default();
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        report.error("", "json", format!("not JSON: {e}"));
    }
    report.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_every_standard_answers() {
        for &s in Standard::ALL {
            assert!(
                !validate(s, b"").valid,
                "{s}: an empty document is never valid"
            );
        }
        assert!(validate(Standard::Json, b"{}").valid);
    }
}
