//! Recurses without end: small frames, so the engine's stack runs out.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-recurse",
    "Recurses without end: small frames, so the engine's stack runs out.",
    |input| {
        let _ = &input;
        fn recurse(n: u64) -> u64 {
            if std::hint::black_box(n) == u64::MAX {
                return 0;
            }
            recurse(std::hint::black_box(n + 1)).wrapping_add(std::hint::black_box(n))
        }
        Ok(vec![Output::json(&recurse(0))?])
    }
);
