//! Workspace-level integration tests. The build script compiles the example
//! connectors to components; [`guests`] holds their paths.

/// Paths of the example connectors' `.wasm` components, built by `build.rs`.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

use airlock_host::runtime::{Component, Limits, Runtime};

/// The AIS decoder's `decode` input for one position report (MMSI 366053209).
pub const AIS_DECODE_INPUT: &str =
    r#"{"sentences": "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"}"#;

/// Loads the guest at `path` on a runtime of its own under `limits`; panics with the
/// path when it does not load (a test fixture).
#[allow(clippy::panic)]
pub fn load_guest(path: &str, limits: Limits) -> (Runtime, Component) {
    let runtime = Runtime::with_limits(limits).unwrap_or_else(|e| panic!("runtime: {e:#}"));
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let component = runtime
        .load(&bytes)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    (runtime, component)
}

/// Runs an async test once per database: `on_both_databases!(name)` expects
/// `async fn name(postgres: bool)` and makes the tests `name::sqlite` and
/// `name::postgres` (the latter on a database of the throwaway PostgreSQL).
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(false).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(true).await
            }
        }
    };
}

/// A store of its own for a test that drives `Store` directly: a fresh SQLite
/// file in a new temp dir named after `label`, or (`postgres`) a fresh
/// PostgreSQL database; migrated, with one tenant created. Answers the store,
/// the tenant's id, and the dir (the test removes it when done).
#[allow(clippy::unwrap_used)] // a test fixture: fail loudly
pub async fn store_with_tenant(
    postgres: bool,
    label: &str,
) -> (airlock_host::store::Store, String, std::path::PathBuf) {
    use airlock_host::store::Store;
    let dir = std::env::temp_dir().join(format!("airlock-{label}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = if postgres {
        postgres::fresh_url().await
    } else {
        Store::sqlite_url(&dir)
    };
    let store = Store::open(&url).await.unwrap();
    let keys = airlock_host::keys::Keys::load_or_create(&dir).unwrap();
    let tenant = airlock_host::auth::create_tenant(&store, &keys, "t", "test")
        .await
        .unwrap();
    (store, tenant.id, dir)
}

/// The `airlock` binary beside the running test or bench (cargo builds it with
/// the workspace's tests), as a command to add arguments to.
#[allow(clippy::panic, clippy::unwrap_used)] // a test fixture: fail loudly
pub fn airlock_bin() -> std::process::Command {
    let bin = airlock_bin_dir().join("airlock");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p airlock-host` first",
        bin.display()
    );
    std::process::Command::new(bin)
}

/// The directory holding this build's `airlock` binary (`target/<profile>`).
#[allow(clippy::unwrap_used)] // a test fixture: fail loudly
pub fn airlock_bin_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf()
}

/// A real `airlock serve` process on `127.0.0.1:port` with `dir` as its data
/// directory (and `database`, SQLite when `None`), extra flags `args`; its log
/// goes to `dir/server.log`.
#[allow(clippy::unwrap_used)] // a test fixture: fail loudly
pub fn serve_process(
    dir: &std::path::Path,
    port: u16,
    database: Option<&str>,
    args: &[String],
) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    let mut cmd = airlock_bin();
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(dir)
    .args(args);
    if let Some(url) = database {
        cmd.args(["--database", url]);
    }
    cmd.stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits until `base`'s `/healthz` answers 200 (at most 60 s).
#[allow(clippy::panic)] // a test fixture: fail loudly
pub async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server at {base} did not come up within 60 s");
}

/// Registers a connector `name` of `category` on the server at `base` and uploads
/// the component at `wasm` to it; returns its id.
#[allow(clippy::unwrap_used)] // a test fixture: fail loudly
pub async fn register_and_upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    category: &str,
    wasm: &str,
) -> String {
    let c: serde_json::Value = http
        .post(format!("{base}/api/connectors/register"))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": name, "category": category}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = c["id"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{base}/api/connectors/{id}/versions"))
        .bearer_auth(token)
        .header("content-type", "application/wasm")
        .body(std::fs::read(wasm).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    id
}

/// A free loopback port (bound and released).
#[allow(clippy::unwrap_used)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Unix seconds now (what a sender puts in a timestamp).
#[allow(clippy::unwrap_used)]
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Copies every example connector's component into `dir` (created), as
/// `./scripts/run` leaves them in `target/preload`, for `airlock serve --preload`.
#[allow(clippy::unwrap_used)] // a test fixture: fail loudly
pub fn preload_examples(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (_, wasm) in guests::ALL {
        let name = std::path::Path::new(wasm).file_name().unwrap();
        std::fs::copy(wasm, dir.join(name)).unwrap();
    }
}

/// An access token (every scope) for the client in a server's `bootstrap.json`.
#[allow(clippy::unwrap_used)]
pub async fn bootstrap_token(
    http: &reqwest::Client,
    base: &str,
    bootstrap: &serde_json::Value,
) -> String {
    let answer: serde_json::Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", bootstrap["client_id"].as_str().unwrap()),
            (
                "client_secret",
                bootstrap["client_secret"].as_str().unwrap(),
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_string()
}

/// The throwaway PostgreSQL that `scripts/test` starts (`AIRLOCK_TEST_POSTGRES`, a
/// superuser URL). Tests act as ordinary roles, as a real deployment does, so that
/// row-level security binds them: `airlock_owner` owns each fresh database (its
/// policies are FORCEd, so they bind the owner too) and `airlock_app` owns nothing.
pub mod postgres {
    /// The role that owns each fresh database and its schema.
    pub const OWNER_ROLE: &str = "airlock_owner";
    /// A role that owns nothing: what the server connects as in the two-role setup.
    pub const APP_ROLE: &str = "airlock_app";

    /// The superuser URL `scripts/test` exported.
    #[allow(clippy::panic)] // a test fixture: fail loudly
    pub fn superuser_url() -> String {
        std::env::var("AIRLOCK_TEST_POSTGRES").unwrap_or_else(|_| {
            panic!(
                "AIRLOCK_TEST_POSTGRES is not set: run the suite with ./scripts/test, which starts \
                 a throwaway PostgreSQL (scripts/postgres start DIR) and sets it"
            )
        })
    }

    /// `url` with its user replaced by `role` (and no password: the test server
    /// trusts loopback).
    pub fn as_role(url: &str, role: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
        let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        format!("{scheme}://{role}@{host}")
    }

    /// A new, empty database owned by [`OWNER_ROLE`], as that role's URL.
    pub async fn fresh_url() -> String {
        fresh_urls().await.0
    }

    /// A new, empty database owned by [`OWNER_ROLE`]: (the owner's URL, the URL
    /// of [`APP_ROLE`], which owns nothing there).
    #[allow(clippy::unwrap_used)] // a test fixture: fail loudly
    pub async fn fresh_urls() -> (String, String) {
        fresh_urls_on(&superuser_url()).await
    }

    /// [`fresh_urls`] on the server whose superuser URL is `base`.
    #[allow(clippy::unwrap_used)] // a test fixture: fail loudly
    pub async fn fresh_urls_on(base: &str) -> (String, String) {
        sqlx::any::install_default_drivers();
        let name = format!("airlock_{}", uuid::Uuid::new_v4().simple());
        let mut admin =
            <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("{base}/postgres"))
                .await
                .unwrap();
        for role in [OWNER_ROLE, APP_ROLE] {
            // Tests run in parallel: a role another test just created is fine.
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"
            )))
            .execute(&mut admin)
            .await;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} OWNER {OWNER_ROLE}"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
        (
            format!("{}/{name}", as_role(base, OWNER_ROLE)),
            format!("{}/{name}", as_role(base, APP_ROLE)),
        )
    }
}

pub mod feed;
pub mod webdriver;

/// A real `nats-server -js` (Debian's package, which `scripts/system-deps`
/// installs) on a free loopback port, its JetStream store in a temp dir; killed
/// when dropped.
#[allow(clippy::unwrap_used, clippy::panic)] // a test fixture: fail loudly
pub mod nats {
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// A running nats-server.
    pub struct NatsServer {
        child: Child,
        port: u16,
        dir: PathBuf,
    }

    impl NatsServer {
        /// Starts one and waits until it accepts connections.
        pub fn start() -> NatsServer {
            NatsServer::start_on(super::free_port())
        }

        /// Starts one on `port`.
        pub fn start_on(port: u16) -> NatsServer {
            let dir = std::env::temp_dir().join(format!("airlock-nats-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            let child = spawn(port, &dir);
            let server = NatsServer { child, port, dir };
            server.wait_ready();
            server
        }

        /// `nats://127.0.0.1:PORT`.
        pub fn url(&self) -> String {
            format!("nats://127.0.0.1:{}", self.port)
        }

        /// Kills it (SIGKILL) and starts it again on the same port and store.
        pub fn restart(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.child = spawn(self.port, &self.dir);
            self.wait_ready();
        }

        fn wait_ready(&self) {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("nats-server did not come up on port {}", self.port);
        }
    }

    fn spawn(port: u16, dir: &std::path::Path) -> Child {
        Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start nats-server ({e}): scripts/system-deps installs it")
            })
    }

    impl Drop for NatsServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// An upstream for outbound-HTTP tests: a real HTTP/1.1 server on a loopback port.
#[allow(clippy::unwrap_used)] // a test fixture: a broken socket should fail the test loudly
pub mod upstream {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// A request the test server received.
    #[derive(Debug, Clone)]
    pub struct Seen {
        /// The method.
        pub method: String,
        /// The path and query.
        pub path: String,
        /// The headers, in order.
        pub headers: Vec<(String, String)>,
        /// The body.
        pub body: Vec<u8>,
    }

    impl Seen {
        /// Every value of the header `name`.
        pub fn header(&self, name: &str) -> Vec<&str> {
            self.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect()
        }
    }

    /// A small HTTP/1.1 server on a loopback port, one thread per connection, stopped
    /// when dropped. Paths: `/big` answers 2000 bytes, `/slow` waits 3 s, `/redirect`
    /// answers 302 to the metadata address; anything else answers `pong`.
    pub struct TestServer {
        /// Where it listens.
        pub addr: SocketAddr,
        seen: Arc<Mutex<Vec<Seen>>>,
        stop: Arc<AtomicBool>,
    }

    impl TestServer {
        /// Starts a server on `bind`, e.g. `127.0.0.1:0`.
        pub fn start(bind: &str) -> TestServer {
            let listener = TcpListener::bind(bind).unwrap();
            let addr = listener.local_addr().unwrap();
            let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
            let stop = Arc::new(AtomicBool::new(false));
            let (s, st) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let s = s.clone();
                    std::thread::spawn(move || handle(conn, &s));
                }
            });
            TestServer { addr, seen, stop }
        }

        /// `http://<its address><path>`.
        pub fn url(&self, path: &str) -> String {
            match self.addr {
                SocketAddr::V4(a) => format!("http://127.0.0.1:{}{path}", a.port()),
                SocketAddr::V6(a) => format!("http://[::1]:{}{path}", a.port()),
            }
        }

        /// The requests received so far.
        pub fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the accept loop so it sees the flag.
            let _ = TcpStream::connect(self.addr);
        }
    }

    fn handle(conn: TcpStream, seen: &Mutex<Vec<Seen>>) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (n, v) = h.split_once(':').unwrap();
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        seen.lock().unwrap().push(Seen {
            method,
            path: path.clone(),
            headers,
            body,
        });
        let (status, extra, body): (&str, &str, Vec<u8>) = match path.as_str() {
            "/big" => ("200 OK", "", vec![b'x'; 2000]),
            "/slow" => {
                std::thread::sleep(Duration::from_secs(3));
                ("200 OK", "", b"late".to_vec())
            }
            "/redirect" => (
                "302 Found",
                "Location: http://169.254.169.254/latest/meta-data/\r\n",
                Vec::new(),
            ),
            _ => ("200 OK", "X-Upstream: yes\r\n", b"pong".to_vec()),
        };
        let mut conn = conn;
        let head = format!(
            "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(&body);
    }
}

/// Data-driven validator tests: the corpora in `tests/fixtures/<standard>/`, where
/// every file of `valid/` has no errors and every file of `invalid/`, named
/// `<rule>__<what>.<ext>`, has an error of that rule.
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly
pub mod corpus {
    use std::path::{Path, PathBuf};

    use airlock_host::validate::Report;

    /// A validator: bytes in, report out.
    pub type Validate = fn(&[u8]) -> Report;

    /// The files of `dir`, sorted.
    pub fn files(dir: &Path) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        out.sort();
        out
    }

    /// `tests/fixtures/<standard>`.
    pub fn fixtures(standard: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(standard)
    }

    /// A conformance table (a markdown file of the repository, `| § | Statement |
    /// Rule | Fixtures |` rows, up to a `## Disagreements` section) cannot drift
    /// from the code and the corpus: every fixture it names exists (`valid/NAME` or
    /// `RULE__NAME`, with extension `ext`), every rule it names is reported by one of
    /// the `sources` (its quoted name is in them), and every invalid fixture's rule
    /// has a row.
    pub fn conformance_table_matches(table: &str, sources: &[&str], standard: &str, ext: &str) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text = std::fs::read_to_string(root.join(table)).unwrap();
        let source: String = sources
            .iter()
            .map(|s| std::fs::read_to_string(root.join(s)).unwrap())
            .collect();
        let dir = fixtures(standard);
        let mut rules = std::collections::BTreeSet::new();
        let mut named = 0;
        let statements = text.split("## Disagreements").next().unwrap();
        for line in statements.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = line.split(" | ").collect();
            if cells.len() < 4 || cells[0] == "| §" || cells[0].starts_with("| ---") {
                continue;
            }
            // The rule column: `schema`, `lang-tag`, `vocab (warning)`, `a, b`…
            for rule in cells[2]
                .split([',', ';'])
                .map(|r| r.trim().split(' ').next().unwrap_or(""))
                .filter(|r| !r.is_empty() && !["—", "not", "(the"].contains(r))
            {
                assert!(
                    ["schema", "json"].contains(&rule) || source.contains(&format!("\"{rule}\"")),
                    "{table} names the rule `{rule}`, which the validator never reports"
                );
                rules.insert(rule.to_string());
            }
            // The fixtures column: names and `valid/NAME`.
            for name in cells[3]
                .trim_end_matches(" |")
                .split([',', ' '])
                .map(str::trim)
                .filter(|n| n.contains("__") || n.starts_with("valid/"))
            {
                let path = match name.strip_prefix("valid/") {
                    Some(n) => dir.join("valid").join(format!("{n}.{ext}")),
                    None => dir.join("invalid").join(format!("{name}.{ext}")),
                };
                assert!(
                    path.exists(),
                    "{table} names {name}, which is not a fixture"
                );
                named += 1;
            }
        }
        assert!(
            named > 30,
            "only {named} fixtures named in {table}: the parse broke"
        );
        for f in files(&dir.join("invalid")) {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let rule = name.split("__").next().unwrap();
            assert!(
                rules.contains(rule),
                "the fixture {name} tests `{rule}`, which has no row in {table}"
            );
        }
    }

    /// `shared/standards/<relative>`, beside the repository.
    pub fn shared(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/standards")
            .join(relative)
    }

    /// Validates the file at `path` and checks every finding is well-formed: a
    /// rule, a sentence, and a path (a JSON Pointer, `""` for the whole document,
    /// or an XPath-like or `/`-rooted path).
    pub fn check(validate: Validate, path: &Path) -> Report {
        let r = validate(&std::fs::read(path).unwrap());
        for f in r.errors.iter().chain(&r.warnings) {
            assert!(
                !f.message.is_empty()
                    && !f.rule.is_empty()
                    && (f.path.is_empty() || f.path.starts_with('/')),
                "{}: {f:?}",
                path.display()
            );
        }
        assert_eq!(r.valid, r.errors.is_empty(), "{}", path.display());
        r
    }

    /// Every file of `fixtures/<standard>/valid` (at least `min`) has no errors.
    pub fn valid_fixtures_pass(standard: &str, validate: Validate, min: usize) {
        let valid = files(&fixtures(standard).join("valid"));
        assert!(
            valid.len() >= min,
            "{standard}: {} valid fixtures",
            valid.len()
        );
        for f in valid {
            let r = check(validate, &f);
            assert!(r.valid, "{}: {:#?}", f.display(), r.errors);
        }
    }

    /// Every file of `fixtures/<standard>/invalid` (at least `min`) has an error
    /// of the rule its name starts with.
    pub fn invalid_fixtures_break_their_rule(standard: &str, validate: Validate, min: usize) {
        let invalid = files(&fixtures(standard).join("invalid"));
        assert!(
            invalid.len() >= min,
            "{standard}: {} invalid fixtures",
            invalid.len()
        );
        for f in invalid {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let (rule, _) = name
                .split_once("__")
                .expect("invalid fixtures are named <rule>__<what>.<ext>");
            let r = check(validate, &f);
            assert!(
                r.errors.iter().any(|e| e.rule == rule),
                "{name}: expected rule `{rule}`, got {:#?}",
                r.errors
            );
        }
    }
}

/// What the benchmarks share: the release `airlock` binary for those that run it
/// as its own process, and for the in-process HTTP benchmarks a server on a
/// loopback port with a token of the bootstrap client and a closed-loop load
/// generator over keep-alive connections (sharing the cores, as a local client
/// would).
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly
pub mod bench {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use airlock_host::server::{ServeOptions, Server};
    use serde_json::Value;

    /// The release `airlock` binary beside this bench's target dir, built if needed.
    pub fn release_airlock() -> PathBuf {
        // target/release/deps/<bench>-…: the target dir is three levels up.
        let exe = std::env::current_exe().unwrap();
        let target = exe.parent().unwrap().parent().unwrap().parent().unwrap();
        let status =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args([
                    "build",
                    "--quiet",
                    "--release",
                    "-p",
                    "airlock-host",
                    "--bin",
                    "airlock",
                ])
                .arg("--target-dir")
                .arg(target)
                .status()
                .unwrap();
        assert!(status.success(), "the release build of airlock failed");
        target.join("release/airlock")
    }

    /// Seconds each load runs: `AIRLOCK_BENCH_SECONDS`, default 5.
    pub fn seconds() -> u64 {
        std::env::var("AIRLOCK_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5)
    }

    /// The `q` quantile of sorted samples.
    pub fn pct(sorted: &[f64], q: f64) -> f64 {
        sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
    }

    /// `airlock serve` on SQLite in a fresh temp dir.
    pub struct LocalServer {
        /// The running server.
        pub server: Server,
        /// `http://127.0.0.1:port`.
        pub base: String,
        /// A client keeping up to the load's connections alive.
        pub http: reqwest::Client,
        /// The bootstrap client's token (every scope).
        pub token: String,
        data_dir: PathBuf,
    }

    impl LocalServer {
        /// Starts it; `connections` sizes the client's keep-alive pool.
        pub async fn start(connections: usize) -> LocalServer {
            LocalServer::start_with(connections, |_| {}).await
        }

        /// Starts it with its options adjusted by `configure`.
        pub async fn start_with(
            connections: usize,
            configure: impl FnOnce(&mut ServeOptions),
        ) -> LocalServer {
            let data_dir =
                std::env::temp_dir().join(format!("airlock-bench-{}", uuid::Uuid::new_v4()));
            let mut opts = ServeOptions::new(&data_dir);
            opts.listen = "127.0.0.1:0".parse().unwrap();
            configure(&mut opts);
            let server = airlock_host::server::start(opts).await.unwrap();
            let base = format!("http://{}", server.addr);
            let b: Value =
                serde_json::from_slice(&std::fs::read(data_dir.join("bootstrap.json")).unwrap())
                    .unwrap();
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(connections)
                .build()
                .unwrap();
            let token = crate::bootstrap_token(&http, &base, &b).await;
            LocalServer {
                server,
                base,
                http,
                token,
                data_dir,
            }
        }

        /// Stops it and removes its data.
        pub async fn stop(self) {
            self.server.stop().await.unwrap();
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }

    /// Runs `connections` loops for [`seconds`], each sending the request
    /// `request(connection, n)` builds (n counts from 1 per connection) and
    /// requiring status `expect`. Returns requests/s and the sorted latencies (ms).
    pub async fn load<F>(connections: usize, request: F, expect: u16) -> (f64, Vec<f64>)
    where
        F: Fn(usize, u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
    {
        let request = Arc::new(request);
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for conn in 0..connections {
            let (request, stop, done) = (request.clone(), stop.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let req = request(conn, n);
                    let t = Instant::now();
                    let r = req.send().await.unwrap();
                    assert_eq!(r.status().as_u16(), expect);
                    r.bytes().await.unwrap();
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                latencies
            }));
        }
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds())).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
        all.sort_by(f64::total_cmp);
        (rate, all)
    }
}
