//! Tries to read files.

#[allow(unused_imports)]
use misbehave::airlock_sdk as sdk;

misbehave::misbehave!("hostile-read-files", "Tries to read files.", |input| {
    let _ = &input;
    let results: Vec<String> = ["/etc/passwd", "../Cargo.toml", "/proc/self/environ", "."]
        .iter()
        .map(|p| match std::fs::read(p) {
            Ok(bytes) => format!("{p}: READ {} bytes", bytes.len()),
            Err(e) => format!("{p}: {e}"),
        })
        .collect();
    Ok(vec![Output::json(&results)?])
});
