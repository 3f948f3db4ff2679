//! Emits a million empty outputs, ignoring refusals, and counts the refusals.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-emit-flood",
    "Emits a million empty outputs, ignoring refusals, and counts the refusals.",
    |input| {
        let _ = &input;
        let empty = Output::new(OutputStandard::Json, "application/json", b"0".to_vec());
        let refused = (0..1_000_000)
            .filter(|_| sdk::emit::emit(&empty).is_err())
            .count();
        Ok(vec![Output::json(&json!({"refused": refused}))?])
    }
);
