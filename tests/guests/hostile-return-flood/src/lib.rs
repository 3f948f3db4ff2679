//! Returns a million empty outputs.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-return-flood",
    "Returns a million empty outputs.",
    |input| {
        let _ = &input;
        let n = input["count"].as_u64().unwrap_or(1_000_000) as usize;
        Ok((0..n)
            .map(|_| Output::new(OutputStandard::Json, "application/json", b"0".to_vec()))
            .collect())
    }
);
