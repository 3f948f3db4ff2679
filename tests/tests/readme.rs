//! The documentation runs as written: every shell block marked runnable (a fence
//! opened with ```` ```sh tour ````) in the README and then in `docs/`, in order,
//! in one shell, against a real `airlock serve` (this build's binary) holding the
//! examples as `./scripts/run` does. A block fails the test when a command in it
//! fails or when what it prints no longer matches its `# =>` lines (`…` stands for
//! any text within a line).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may fail loudly

use std::path::{Path, PathBuf};

/// The documents whose runnable blocks run: the README first (its tour sets up
/// the session the others use), then every page of `docs/`, by name.
fn documents(root: &Path) -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    docs.insert(0, "README.md".to_string());
    docs
}

/// A runnable block: where it is, its commands, and the output it shows.
#[derive(Debug)]
struct Block {
    at: String,
    script: String,
    expected: Vec<String>,
}

fn blocks_of(path: &str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (n, line) in text.lines().enumerate() {
        match current.as_mut() {
            None if line.trim_end() == "```sh tour" => {
                current = Some(Block {
                    at: format!("{path}:{}", n + 1),
                    script: String::new(),
                    expected: Vec::new(),
                });
            }
            None => {}
            Some(_) if line.trim_end() == "```" => out.extend(current.take()),
            Some(b) => match line.strip_prefix("# =>") {
                Some(shown) => b.expected.push(shown.trim_start().to_string()),
                None => {
                    b.script.push_str(line);
                    b.script.push('\n');
                }
            },
        }
    }
    assert!(current.is_none(), "{path}: a runnable block is not closed");
    out
}

/// Whether `actual` is what `shown` shows, `…` standing for any text.
fn matches(shown: &str, actual: &str) -> bool {
    let parts: Vec<&str> = shown.split('…').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return shown == actual;
    }
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[test]
fn every_runnable_block_of_the_docs_runs_as_shown() {
    for tool in ["bash", "curl", "jq", "openssl", "xxd"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap()
            .status
            .success();
        assert!(
            found,
            "`{tool}` is missing: scripts/system-deps installs it"
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut blocks = Vec::new();
    for doc in documents(root) {
        let text = std::fs::read_to_string(root.join(&doc)).unwrap();
        blocks.extend(blocks_of(&doc, &text));
    }
    assert!(
        blocks.len() >= 8,
        "only {} runnable blocks found",
        blocks.len()
    );

    // The working directory stands for the repository as `./scripts/run` leaves it:
    // `airlock-data/` and the examples in `target/preload/`.
    let dir = std::env::temp_dir().join(format!("airlock-readme-{}", uuid::Uuid::new_v4()));
    let preload = dir.join("target/preload");
    airlock_tests::preload_examples(&preload);
    let data = dir.join("airlock-data");
    std::fs::create_dir_all(&data).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = airlock_tests::serve_process(
        &data,
        port,
        None,
        &["--preload".to_string(), preload.display().to_string()],
    );
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(airlock_tests::wait_healthy(&reqwest::Client::new(), &base));

    // One shell for all blocks (the session carries over), a marker before each.
    let mut script = String::from("set -e\n");
    for (i, b) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '@@block {i}@@'\n{}", b.script));
    }
    let bin_dir: PathBuf = airlock_tests::airlock_bin_dir();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // A bound on the whole session, so a wait that never ends fails instead.
    let out = std::process::Command::new("timeout")
        .args(["300", "bash", "-c", &script])
        .current_dir(&dir)
        .env("PATH", path)
        .env("BASE", &base)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = std::fs::read_to_string(data.join("server.log")).unwrap_or_default();

    // Each block's output, by its marker.
    let mut printed: Vec<Vec<String>> = Vec::new();
    for line in stdout.lines() {
        if line.starts_with("@@block ") {
            printed.push(Vec::new());
        } else if let Some(current) = printed.last_mut() {
            current.push(line.to_string());
        }
    }
    for (i, b) in blocks.iter().enumerate() {
        let got = printed.get(i).cloned();
        let ran_through = i + 1 < printed.len() || out.status.success();
        let Some(got) = got.filter(|_| ran_through) else {
            panic!(
                "the block at {} failed (exit {:?}).\nIt printed:\n{}\nstderr:\n{stderr}\nserver log:\n{log}",
                b.at,
                out.status.code(),
                printed.get(i).map(|p| p.join("\n")).unwrap_or_default(),
            );
        };
        let same = got.len() == b.expected.len()
            && b.expected.iter().zip(&got).all(|(e, a)| matches(e, a));
        assert!(
            same,
            "the block at {} printed what it no longer shows.\nshown:\n{}\nprinted:\n{}\nstderr:\n{stderr}",
            b.at,
            b.expected.join("\n"),
            got.join("\n"),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shown_output_matches_with_ellipses() {
    assert!(matches("abc", "abc"));
    assert!(!matches("abc", "abcd"));
    assert!(matches(
        r#"{"id":"…","status":202}"#,
        r#"{"id":"x-1","status":202}"#
    ));
    assert!(matches("a…b…c", "a-x-b-y-c"));
    assert!(!matches("a…b…c", "a-x-c"));
    assert!(matches("…", ""));
    assert!(!matches("ab…ba", "aba"));
}
