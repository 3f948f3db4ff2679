//! Prints 2 MiB to stdout, then a line to stderr.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-print-flood",
    "Prints 2 MiB to stdout, then a line to stderr.",
    |input| {
        let _ = &input;
        // A Rust guest's println! panics if a write fails: the host must discard past
        // its cap rather than refuse.
        let line = "y".repeat(1024);
        for i in 0..2_000 {
            println!("{i} {line}");
        }
        eprintln!("done printing");
        Ok(vec![Output::json(&json!({"printed": true}))?])
    }
);
