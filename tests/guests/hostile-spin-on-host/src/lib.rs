//! Calls the host's clock in an endless loop.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-spin-on-host",
    "Calls the host's clock in an endless loop.",
    |input| {
        let _ = &input;
        loop {
            std::hint::black_box(sdk::clock::now_ms());
        }
    }
);
