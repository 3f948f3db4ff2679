//! Any bytes through the STIX 2.1 validator: it must answer with a report, never
//! panic or hang, and a report without errors must say it is valid.
#![no_main]

// The validator's own source files (an inline module with a path makes the nested
// `mod` declarations resolve as they do inside airlock-host).
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
    let report = host::validate::stix::validate_bytes(data);
    assert_eq!(report.valid, report.errors.is_empty());
});
