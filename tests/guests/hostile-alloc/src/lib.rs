//! Allocates a mebibyte at a time until it fails.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-alloc",
    "Allocates a mebibyte at a time until it fails.",
    |input| {
        let _ = &input;
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1u8; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
);
