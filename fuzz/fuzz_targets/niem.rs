//! Any bytes through the NIEM validator (XML through the DOCTYPE check, libxml2 and
//! the NIEM core XSD; JSON-LD through the context and name checks): it must answer
//! with a report, never panic or hang, and a report without errors is valid.
#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../host/src"]
mod host {
    pub mod validate;
    pub mod vocab;
}

// `crate::text` of the validators' source (bounded quotes of input).
#[allow(dead_code, unreachable_pub)]
#[path = "../../host/src/text.rs"]
mod text;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let report = host::validate::niem::validate_bytes(data);
    assert_eq!(report.valid, report.errors.is_empty());
    for finding in report.errors.iter().chain(&report.warnings) {
        assert!(finding.path.starts_with('/'), "{finding:?}");
    }
});
