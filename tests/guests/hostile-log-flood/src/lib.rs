//! Logs 10 000 lines of 1 MiB.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-log-flood",
    "Logs 10 000 lines of 1 MiB.",
    |input| {
        let _ = &input;
        let line = "x".repeat(1024 * 1024);
        for _ in 0..10_000 {
            sdk::log::info(&line);
        }
        Ok(vec![Output::json(&json!({"flooded": true}))?])
    }
);
