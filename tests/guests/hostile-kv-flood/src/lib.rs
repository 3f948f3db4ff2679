//! Fills kv with 1 024 values of 64 KiB and counts the refusals.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-kv-flood",
    "Fills kv with 1 024 values of 64 KiB and counts the refusals.",
    |input| {
        let _ = &input;
        let value = vec![7u8; 64 * 1024];
        let refused = (0..1024)
            .filter(|i| sdk::kv::set(&format!("k{i}"), &value).is_err())
            .count();
        Ok(vec![Output::json(&json!({"refused": refused}))?])
    }
);
