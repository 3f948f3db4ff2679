//! Validators for the standards connectors declare: pure functions from a document
//! to a [`Report`].
//!
//! **Invariants:** no I/O (schemas are embedded and compiled once), no panics, and
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

/// A standard Airlock validates, by the names DESIGN.md and the CLI use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standard {
    /// STIX 2.1 (JSON).
    Stix21,
    /// CAP 1.2 (XML).
    Cap12,
    /// AIS (NMEA sentences or the AIS connector's JSON reports).
    Ais,
    /// NIEM 6 (XML or JSON-LD).
    Niem,
    /// STANAG 4607 (binary GMTI packets).
    Stanag4607,
}

impl Standard {
    /// Parses `stix-2.1`, `cap-1.2`, `ais`, `niem` or `stanag-4607`.
    pub fn parse(name: &str) -> Option<Standard> {
        Some(match name {
            "stix-2.1" => Standard::Stix21,
            "cap-1.2" => Standard::Cap12,
            "ais" => Standard::Ais,
            "niem" => Standard::Niem,
            "stanag-4607" => Standard::Stanag4607,
            _ => return None,
        })
    }

    /// The name, as parsed.
    pub fn name(self) -> &'static str {
        match self {
            Standard::Stix21 => "stix-2.1",
            Standard::Cap12 => "cap-1.2",
            Standard::Ais => "ais",
            Standard::Niem => "niem",
            Standard::Stanag4607 => "stanag-4607",
        }
    }
}

/// Validates `bytes` as a document of `standard`.
pub fn validate(standard: Standard, bytes: &[u8]) -> Report {
    match standard {
        Standard::Stix21 => stix::validate_bytes(bytes),
        Standard::Cap12 => cap::validate_bytes(bytes),
        Standard::Ais => ais::validate_bytes(bytes),
        Standard::Niem => niem::validate_bytes(bytes),
        Standard::Stanag4607 => stanag::validate_bytes(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_every_standard_answers() {
        for name in ["stix-2.1", "cap-1.2", "ais", "niem", "stanag-4607"] {
            let s = Standard::parse(name).unwrap();
            assert_eq!(s.name(), name);
            assert!(
                !validate(s, b"").valid,
                "{name}: an empty document is never valid"
            );
        }
        assert!(Standard::parse("stix-2.0").is_none());
    }
}
