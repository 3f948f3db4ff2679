//! Logs a million empty lines.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-empty-log-flood",
    "Logs a million empty lines.",
    |input| {
        let _ = &input;
        for _ in 0..1_000_000 {
            sdk::log::info("");
        }
        sdk::log::info("the last line");
        Ok(vec![Output::json(&json!({"flooded": true}))?])
    }
);
