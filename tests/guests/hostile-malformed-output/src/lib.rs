//! Returns an output labelled JSON that is not JSON.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-malformed-output",
    "Returns an output labelled JSON that is not JSON.",
    |input| {
        let _ = &input;
        Ok(vec![Output::new(
            OutputStandard::Json,
            "application/json",
            b"{\"truncated\": ".to_vec(),
        )])
    }
);
