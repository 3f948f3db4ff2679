//! Returns one output of 100 MiB (or the input's `mib`).

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-huge-output",
    "Returns one output of 100 MiB (or the input's `mib`).",
    |input| {
        let _ = &input;
        let mib = input["mib"].as_u64().unwrap_or(100) as usize;
        Ok(vec![Output::new(
            OutputStandard::Json,
            "application/json",
            vec![b' '; mib * 1024 * 1024],
        )])
    }
);
