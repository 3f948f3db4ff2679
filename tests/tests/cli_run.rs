//! `airlock run`, the vendor's local sandbox, as a real process: grants from flags,
//! secrets injected by the host, kv kept in a file across runs, typed failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::path::PathBuf;
use std::process::{Command, Output};

use airlock_tests::guests;
use airlock_tests::upstream::TestServer;
use serde_json::{Value, json};

/// The `airlock` binary of this build (cargo builds the workspace's binaries before
/// running its tests).
fn airlock() -> Command {
    airlock_tests::airlock_bin()
}

/// `airlock ARGS` with `input` on its stdin (closed after it), run to its end.
fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = airlock()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input).unwrap();
    child.wait_with_output().unwrap()
}

/// The JSON lines a run printed (`--json`: one report per line).
fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run(args: &[&str]) -> (Output, Value) {
    let out = airlock().arg("run").args(args).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, json)
}

#[test]
fn run_sends_http_only_as_granted_with_the_secret_injected() {
    let server = TestServer::start("127.0.0.1:0");
    let input = json!({"url": server.url("/ping")}).to_string();
    let base = [
        guests::HOSTILE,
        "--action",
        "http",
        "--input",
        &input,
        "--allow-host",
        "http://127.0.0.1:*",
        "--secrets",
        r#"{"token": "s3cret"}"#,
    ];
    let (out, json) = run(&base);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json["outputs"][0]["body"][0]["error"], "denied", "{json}");
    assert!(server.seen().is_empty());

    let mut granted = base.to_vec();
    granted.extend(["--allow-network", "127.0.0.1/32"]);
    let (out, json) = run(&granted);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json["outputs"][0]["body"][0]["status"], 200, "{json}");
    assert_eq!(
        server.seen()[0].header("authorization"),
        vec!["Bearer s3cret"]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("time ") && stderr.contains("peak memory"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret") && !String::from_utf8_lossy(&out.stdout).contains("s3cret"));

    // Bad flags are usage errors with a sentence, exit 2.
    for (flag, value, says) in [
        ("--allow-network", "10.0.0.0/33", "not a CIDR network"),
        ("--allow-host", "127.0.0.1", "has no scheme"),
        ("--secrets", "[1]", "--secrets is not a JSON object"),
    ] {
        let (out, _) = run(&[guests::HOSTILE, "--action", "ok", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{flag}: {stderr}");
    }
}

#[test]
fn run_keeps_kv_state_in_a_file_across_runs() {
    let dir = std::env::temp_dir().join(format!("airlock-cli-kv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file: PathBuf = dir.join("state.json");
    let count = || {
        let (out, json) = run(&[
            guests::PROBE,
            "--action",
            "count",
            "--kv",
            file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json["outputs"][0]["body"]["count"].clone()
    };
    assert_eq!(count(), 1);
    assert_eq!(count(), 2);
    assert_eq!(count(), 3);
    // Without the file, each run starts empty.
    let (_, json) = run(&[guests::PROBE, "--action", "count"]);
    assert_eq!(json["outputs"][0]["body"]["count"], 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_reports_a_sandbox_failure_by_kind_and_exits_1() {
    let (out, _) = run(&[guests::HOSTILE, "--action", "spin", "--cpu-ms", "100"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error (timeout)"), "{stderr}");
    let (out, _) = run(&[
        guests::HOSTILE,
        "--action",
        "spin",
        "--cpu-ms",
        "5000",
        "--wall-ms",
        "100",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error (wall_clock_timeout)"), "{stderr}");
}

#[test]
fn run_polls_with_a_cursor_and_ingests_from_stdin() {
    let (out, json) = run(&[guests::PROBE, "--poll", "--cursor", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json["outputs"][0]["body"], json!({"page": 1}));
    assert_eq!(
        (json["next_cursor"].clone(), json["more"].clone()),
        (json!("2"), json!(true))
    );

    let out = with_stdin(
        &[
            "run",
            guests::AIS_DECODER,
            "--ingest",
            "-",
            "--content-type",
            "text/plain",
        ],
        b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["outputs"][0]["body"]["mmsi"], 371798000, "{json}");

    // Exactly one of --action, --poll, --ingest.
    let (out, _) = run(&[guests::PROBE]);
    assert_eq!(out.status.code(), Some(2));
    let (out, _) = run(&[guests::PROBE, "--poll", "--action", "work"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_polls_a_staging_upstream_through_the_outbound_options() {
    let feed = airlock_tests::feed::FeedServer::start();
    feed.append(0, 3);
    let dir = std::env::temp_dir().join(format!("airlock-run-ca-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &feed.ca_pem).unwrap();
    let resolve = format!("feeds.example.org={}", feed.addr);
    let config = json!({"feed_url": "https://feeds.example.org/v1/indicators.csv"}).to_string();
    let mut args = vec![
        guests::OSINT_FEED,
        "--poll",
        "--config",
        &config,
        "--allow-host",
        "https://feeds.example.org",
        "--allow-network",
        "127.0.0.1/32",
        "--outbound-resolve",
        &resolve,
    ];
    // Without the test CA the TLS handshake fails: the system's roots do not know it.
    let (out, _) = run(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca_arg = ca.display().to_string();
    args.extend(["--outbound-ca", &ca_arg]);
    let (out, json) = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = json["outputs"][0]["body"]["objects"].as_array().unwrap();
    assert_eq!(
        objects.iter().filter(|o| o["type"] == "indicator").count(),
        3,
        "{json}"
    );
    // An unreadable rule is a usage error naming the flag.
    let (out, _) = run(&[
        guests::OSINT_FEED,
        "--poll",
        "--outbound-resolve",
        "nonsense",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--outbound-resolve"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_checks_cap_alerts_from_files_and_stdin() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cap");
    let valid = fixtures.join("valid/rich-alert.xml");
    let invalid = fixtures.join("invalid/polygon-closed__last-point-differs.xml");
    let out = airlock()
        .args(["validate", "--standard", "cap-1.2"])
        .arg(&valid)
        .arg(&invalid)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rich-alert.xml: valid"), "{text}");
    assert!(
        text.contains(
            "last-point-differs.xml: INVALID\n  error [polygon-closed] at /alert/info/area/polygon:"
        ),
        "{text}"
    );

    let out = with_stdin(
        &["validate", "--standard", "cap-1.2", "--json", "-"],
        &std::fs::read(&valid).unwrap(),
    );
    assert_eq!(out.status.code(), Some(0));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["valid"], true, "{line}");
}

#[test]
fn validate_prints_json_lines_and_exits_by_verdict() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stix");
    let valid = fixtures.join("valid/full-bundle.json");
    let invalid = fixtures.join("invalid/timestamp-order__modified-before-created.json");
    let out = airlock()
        .args(["validate", "--standard", "stix-2.1", "--json"])
        .arg(&valid)
        .arg(&invalid)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[0]["file"], valid.display().to_string());
    assert_eq!(lines[1]["valid"], false);
    let e = &lines[1]["errors"][0];
    assert_eq!(e["rule"], "timestamp-order", "{e}");
    assert_eq!(e["path"], "/objects/2/modified", "{e}");
    assert!(e["message"].as_str().unwrap().contains("created"));
    assert!(lines[1]["warnings"].is_array());

    let ok = airlock()
        .args(["validate", "--standard", "stix-2.1", "--json"])
        .arg(&valid)
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    // stdin, an unknown standard, a missing file.
    let out = with_stdin(
        &["validate", "--standard", "stix-2.1", "--json", "-"],
        b"{\"type\": 1}",
    );
    assert_eq!(out.status.code(), Some(1));
    for (args, says) in [
        (
            vec!["validate", "--standard", "stix-9", "x.json"],
            "unknown standard",
        ),
        (
            vec!["validate", "--standard", "stix-2.1", "/nonexistent/x.json"],
            "cannot read /nonexistent/x.json",
        ),
        (vec!["validate", "--standard", "stix-2.1"], "FILES"),
    ] {
        let out = airlock().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // Files are checked on several threads: a file that cannot be read still stops
    // the run where it stands, after the reports of the files before it and none
    // of those after.
    let out = airlock()
        .args(["validate", "--standard", "stix-2.1", "--json"])
        .arg(&valid)
        .arg(&invalid)
        .arg("/nonexistent/x.json")
        .arg(&valid)
        .arg(&invalid)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let files: Vec<Value> = json_lines(&out).iter().map(|l| l["file"].clone()).collect();
    assert_eq!(
        files,
        [valid.display().to_string(), invalid.display().to_string()]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/x.json"));
    // Stdin is read in its turn: after a file that cannot be read it is not read at
    // all (this pipe stays open: a read would hang the run), and given twice, the
    // first `-` gets the input.
    let mut child = airlock()
        .args(["validate", "--standard", "stix-2.1", "--json"])
        .args(["/nonexistent/x.json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let open_stdin = child.stdin.take();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "validate waited for stdin after a file it could not read"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(open_stdin);
    assert_eq!(child.wait().unwrap().code(), Some(2));
    let out = with_stdin(
        &["validate", "--standard", "stix-2.1", "--json", "-", "-"],
        &std::fs::read(&valid).unwrap(),
    );
    let valid: Vec<Value> = json_lines(&out)
        .iter()
        .map(|l| l["valid"].clone())
        .collect();
    assert_eq!(valid, [true, false], "the first `-` reads the input");
}

#[test]
fn push_says_which_flag_a_method_needs() {
    for (args, says) in [
        (vec!["--auth", "hmac-sha256"], "needs --secret"),
        (vec!["--auth", "api-key"], "needs --key"),
        (vec!["--auth", "oauth2"], "needs --client-id"),
        (vec!["--auth", "carrier-pigeon"], "unknown --auth"),
    ] {
        let out = airlock()
            .args(["push", "--to", "http://127.0.0.1:9/api/events/ingest"])
            .args(&args)
            .arg("event.json")
            .env_remove("AIRLOCK_PUSH_SECRET")
            .env_remove("AIRLOCK_PUSH_KEY")
            .env_remove("AIRLOCK_PUSH_CLIENT_SECRET")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// The subcommands `airlock [path] --help` lists.
fn subcommands(path: &[String]) -> Vec<String> {
    let out = airlock().args(path).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn help_never_shows_an_empty_environment_placeholder() {
    // Every command and subcommand's help: `[env: NAME]`, never `[env: NAME=]`
    // (nor a value from the environment, which may be a secret).
    let mut queue: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = queue.pop() {
        let out = airlock()
            .args(&path)
            .arg("--help")
            .env("AIRLOCK_PUSH_SECRET", "whsec_do-not-show")
            .output()
            .unwrap();
        assert!(out.status.success(), "{path:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(!help.contains("=]"), "airlock {path:?} --help: {help}");
        assert!(
            !help.contains("do-not-show"),
            "airlock {path:?} --help: {help}"
        );
        seen += 1;
        for sub in subcommands(&path) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
    }
    assert!(seen > 10, "only {seen} help pages found");
}

#[test]
fn serve_names_the_address_in_use_and_the_flag_to_change_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = std::env::temp_dir().join(format!("airlock-inuse-{}", uuid::Uuid::new_v4()));
    let out = airlock()
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&addr) && stderr.contains("--listen"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in redirected output: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_says_when_it_has_stopped() {
    let dir = std::env::temp_dir().join(format!("airlock-stop-{}", uuid::Uuid::new_v4()));
    let mut child = airlock()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for it to listen, then stop it as systemd would.
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("airlock listening on") {
        use std::io::Read as _;
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "serve ended before listening: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    seen.push_str(&rest);
    assert!(status.success(), "{seen}");
    assert!(
        seen.contains("shutting down") && seen.contains("airlock stopped"),
        "{seen}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `airlock validate` checks files on several threads of a fresh process, the
/// library here on one thread of a process that has compiled other validators
/// first: over the whole corpus both give the same findings, word for word.
#[test]
fn validate_on_the_command_line_agrees_with_the_library_on_every_stix_fixture() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stix");
    let mut all = airlock_tests::corpus::files(&fixtures.join("valid"));
    all.extend(airlock_tests::corpus::files(&fixtures.join("invalid")));
    let out = airlock()
        .args(["validate", "--standard", "stix-2.1", "--json"])
        .args(&all)
        .output()
        .unwrap();
    let lines = json_lines(&out);
    assert_eq!(lines.len(), all.len());
    for (file, line) in all.iter().zip(&lines) {
        // In the order given, though checked on several threads.
        assert_eq!(line["file"], file.display().to_string());
        let here = airlock_host::validate::stix::validate_bytes(&std::fs::read(file).unwrap());
        assert_eq!(
            (
                line["valid"].clone(),
                line["errors"].clone(),
                line["warnings"].clone()
            ),
            (
                Value::Bool(here.valid),
                serde_json::to_value(&here.errors).unwrap(),
                serde_json::to_value(&here.warnings).unwrap()
            ),
            "{}",
            file.display()
        );
    }
}
