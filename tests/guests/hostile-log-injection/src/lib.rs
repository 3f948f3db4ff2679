//! Logs and fails with text that forges log lines and drives a terminal.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!(
    "hostile-log-injection",
    "Logs and fails with text that forges log lines and drives a terminal.",
    |input| {
        let _ = &input;
        sdk::log::info("benign\n[error] FORGED: the host was compromised");
        sdk::log::warn("\u{1b}[2J\u{1b}[31mred\u{1b}]0;title\u{7} \u{202e}gnp.exe");
        sdk::log::log_with(
            sdk::log::Level::Info,
            "fields",
            &[("k\nforged", "v\r\u{1b}[0m")],
        );
        if input["fail"].as_bool() == Some(false) {
            return Ok(vec![Output::json(&json!({"logged": true}))?]);
        }
        Err(Error::Internal(
            "failed\n[info] FORGED: all is well\u{1b}[0m".into(),
        ))
    }
);
