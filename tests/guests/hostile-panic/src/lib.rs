//! Panics.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!("hostile-panic", "Panics.", |input| {
    let _ = &input;
    #[allow(clippy::panic)]
    {
        panic!("the guest panicked on purpose")
    }
});
