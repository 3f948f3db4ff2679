//! Reads its environment and arguments.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-read-env",
    "Reads its environment and arguments.",
    |input| {
        let _ = &input;
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let args: Vec<String> = std::env::args().collect();
        Ok(vec![Output::json(&json!({"vars": vars, "args": args}))?])
    }
);
