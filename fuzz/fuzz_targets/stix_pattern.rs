//! Any text through the STIX pattern parser: an answer, never a panic, a hang or a
//! stack overflow, and an error position inside the text.
#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../host/src/validate/stix/pattern.rs"]
mod pattern;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(e) = pattern::parse(text)
    {
        assert!(e.at <= text.chars().count(), "{e:?}");
    }
});
