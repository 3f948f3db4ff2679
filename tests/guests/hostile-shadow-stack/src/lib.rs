//! Recurses with 64 KiB frames: its shadow stack in linear memory runs out first.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-shadow-stack",
    "Recurses with 64 KiB frames: its shadow stack in linear memory runs out first.",
    |input| {
        let _ = &input;
        fn deep(n: u32) -> u8 {
            let mut frame = [0u8; 64 * 1024];
            frame[(n as usize) % frame.len()] = n as u8;
            std::hint::black_box(&mut frame);
            if std::hint::black_box(n) == u32::MAX {
                return frame[0];
            }
            deep(n + 1).wrapping_add(frame[n as usize % 7])
        }
        Ok(vec![Output::json(&deep(0))?])
    }
);
