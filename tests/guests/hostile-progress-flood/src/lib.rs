//! Reports progress 1 000 times with a 1 MiB note each.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-progress-flood",
    "Reports progress 1 000 times with a 1 MiB note each.",
    |input| {
        let _ = &input;
        let note = "p".repeat(1024 * 1024);
        for i in 0..1_000 {
            sdk::progress::report_with_note(i, Some(1_000), &note);
        }
        Ok(vec![Output::json(&json!({"reported": 1000}))?])
    }
);
