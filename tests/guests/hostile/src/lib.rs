//! A connector that misbehaves on request: each action is one attack on the host.
//! The runtime's tests call each and check it ends in its typed error, after which
//! the same host must serve a normal call.

use airlock_sdk::prelude::*;
use std::hint::black_box;

#[derive(Default)]
struct Hostile;

fn recurse(n: u64) -> u64 {
    if black_box(n) == u64::MAX {
        return 0;
    }
    recurse(black_box(n + 1)).wrapping_add(black_box(n))
}

impl Connector for Hostile {
    fn describe(&self) -> Manifest {
        let mut m = Manifest::builder("hostile", "Hostile", "0.1.0")
            .vendor("Airlock tests")
            .description("Misbehaves on request.")
            .category(Category::Custom);
        for name in [
            "spin",
            "spin-on-host",
            "alloc",
            "recurse",
            "panic",
            "read-files",
            "read-env",
            "huge-output",
            "log-flood",
            "print-flood",
            "ok",
        ] {
            m = m.action(Action::new(name, "A misbehaviour."));
        }
        m.build()
    }

    fn invoke(&self, action: &str, _input: Value, _ctx: &Context) -> Result<Vec<Output>> {
        match action {
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = black_box(x.wrapping_add(1));
                }
            }
            "spin-on-host" => loop {
                black_box(airlock_sdk::clock::now_ms());
            },
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    black_box(&hoard);
                }
            }
            "recurse" => Ok(vec![Output::json(&recurse(0))?]),
            #[allow(clippy::panic)]
            "panic" => panic!("the guest panicked on purpose"),
            "read-files" => {
                let results: Vec<String> =
                    ["/etc/passwd", "../Cargo.toml", "/proc/self/environ", "."]
                        .iter()
                        .map(|p| match std::fs::read(p) {
                            Ok(bytes) => format!("{p}: READ {} bytes", bytes.len()),
                            Err(e) => format!("{p}: {e}"),
                        })
                        .collect();
                Ok(vec![Output::json(&results)?])
            }
            "read-env" => {
                let vars: Vec<(String, String)> = std::env::vars().collect();
                let args: Vec<String> = std::env::args().collect();
                Ok(vec![Output::json(&json!({"vars": vars, "args": args}))?])
            }
            "huge-output" => Ok(vec![Output::new(
                OutputStandard::Json,
                "application/json",
                vec![b' '; 100 * 1024 * 1024],
            )]),
            "log-flood" => {
                let line = "x".repeat(1024 * 1024);
                for _ in 0..10_000 {
                    airlock_sdk::log::info(&line);
                }
                Ok(vec![Output::json(&json!({"flooded": true}))?])
            }
            "print-flood" => {
                // A Rust guest's println! panics if a write fails: the host must
                // discard past its cap rather than refuse.
                let line = "y".repeat(1024);
                for i in 0..2_000 {
                    println!("{i} {line}");
                }
                eprintln!("done printing");
                Ok(vec![Output::json(&json!({"printed": true}))?])
            }
            "ok" => Ok(vec![Output::json(&json!({"ok": true}))?]),
            other => Err(Error::unknown_action(other)),
        }
    }
}

airlock_sdk::export_connector!(Hostile);
