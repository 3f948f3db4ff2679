//! Load benchmark (not a test) with the server and the load in separate processes.
//!
//! `cargo bench -p airlock-tests --bench load` builds the release `airlock` binary,
//! starts `airlock serve` on SQLite in a temp dir as its own process, sets up a probe
//! connector (deployed, its `work` action emits one output), an HMAC push connector
//! and an RSA push connector (6144-bit key), and then runs this same executable again
//! as the load generator (`AIRLOCK_LOAD_ROLE`): a raw HTTP/1.1 client on one thread,
//! one request in flight per keep-alive connection, requests built and signed ahead
//! where the protocol allows — so the generator costs little of the 2 cores the
//! server needs. It prints one table:
//!
//! - the floor: `GET /healthz`/s, closed loop (`INVOKE_CONNECTIONS` connections) — the
//!   whole HTTP stack and its middleware answering from no state, with the same
//!   generator: what this machine's two cores allow before any of Airlock's work;
//! - invokes/s, closed loop (`INVOKE_CONNECTIONS` connections);
//! - signed HMAC events/s acknowledged after commit, closed loop;
//! - legitimate ingest at a paced `PACED_RATE`/s: its latency quiet, during a forged
//!   flood (wrong secret, `FLOOD_RATE`/s) and during the RSA-header attack (a label
//!   naming the connector's key id, no `alg`, garbage signature — the most RSA work
//!   one request can cause — as fast as 32 connections go). Both attacks rotate
//!   their source address (127.1.x.y) every few hundred requests, as an attacker with
//!   many addresses would, so the per-address failure limit never engages: this is
//!   the cost of the verification path itself. Paced latencies are measured from
//!   each request's scheduled time, so a stall is not hidden by the pacing.
//!
//! `AIRLOCK_BENCH_SECONDS` (default 5) sets each run's length.
//!
//! Diagnosis: `AIRLOCK_LOAD_PROFILE=<invoke|refused|ingest|heartbeat|healthz>:cpu` runs one
//! closed-loop run and prints its rate with the server's CPU time and context
//! switches per request (`refused` is the invoke without an output, so without a
//! commit). `AIRLOCK_LOAD_CONNECTIONS` sets that run's connections (default 64), to
//! see whether more in flight would fill idle CPU. Without `:cpu`
//! (`AIRLOCK_LOAD_PROFILE=invoke`) it records the run with `perf` instead, into
//! `target/perf-<name>.data`, over the default 64 connections.
//! `AIRLOCK_LOAD_SERVER_ARGS` adds `serve` options; `AIRLOCK_LOAD_SERVER_LOG` (a
//! `RUST_LOG` filter) keeps the server's log.
//!
//! `AIRLOCK_LOAD_SCENARIO=cluster` measures scale-out instead, on PostgreSQL (a
//! throwaway one from `scripts/postgres`) and a real `nats-server -js`: signed
//! HMAC events/s with one node and with two (the load split between them), and
//! the latency from a push's send to its arrival at a plain NATS subscriber on
//! the JetStream subject (paced at `CLUSTER_PACED_RATE`/s).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark fails loudly

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use airlock_host::auth::httpsig::{self, Alg};
use airlock_host::auth::push::{sign_webhook, webhook_key};
use airlock_tests::bench::{pct, seconds};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

const INVOKE_CONNECTIONS: usize = 64;
const INGEST_CONNECTIONS: usize = 64;
const PACED_RATE: u64 = 1_000;
const PACED_CONNECTIONS: usize = 16;
const FLOOD_RATE: u64 = 5_000;
const FLOOD_CONNECTIONS: usize = 32;
const ATTACK_CONNECTIONS: usize = 32;
/// Requests an attacking connection sends before it moves to a new source address
/// (under the per-address limit of 1 000 failures in 10 s).
const REQUESTS_PER_ADDRESS: u64 = 400;

fn main() {
    // A generator first: it inherits the scenario variable from the orchestrator
    // (checked first, a cluster run's generators would each start a cluster).
    if let Ok(role) = std::env::var("AIRLOCK_LOAD_ROLE") {
        let plan: Plan = serde_json::from_str(&role).unwrap();
        let out = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(generate(plan));
        println!("{out}");
        return;
    }
    if std::env::var("AIRLOCK_LOAD_SCENARIO").as_deref() == Ok("cluster") {
        return cluster();
    }
    orchestrate();
}

/// What one generator process does.
#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Plan {
    addr: SocketAddr,
    kind: Kind,
    connections: usize,
    /// Requests/s over all connections; `None`: closed loop.
    rate: Option<u64>,
    /// Rotate the source address (attackers).
    rotate: bool,
    seconds: u64,
}

#[derive(serde::Serialize, serde::Deserialize, Clone)]
enum Kind {
    /// A JSON POST with a bearer token (an invoke, a heartbeat).
    Invoke {
        path: String,
        token: String,
        body: String,
    },
    Hmac {
        path: String,
        secret: String,
    },
    Rsa {
        path: String,
        headers: Vec<(String, String)>,
    },
    /// A bare GET (the HTTP floor: `/healthz` answers from no state).
    Get {
        path: String,
    },
}

/// The bytes of request number `n` of connection `conn`.
fn request(kind: &Kind, host: &str, conn: usize, n: u64, now: i64) -> Vec<u8> {
    let (path, headers, body): (&str, Vec<(String, String)>, Vec<u8>) = match kind {
        Kind::Invoke { path, token, body } => (
            path,
            vec![("authorization".into(), format!("Bearer {token}"))],
            body.clone().into_bytes(),
        ),
        Kind::Hmac { path, secret } => {
            let body = format!(r#"{{"reading": {n}, "from": {conn}}}"#).into_bytes();
            let id = format!("{}-{conn}-{n}", std::process::id());
            let key = webhook_key(secret).unwrap();
            let signature = sign_webhook(&key, &id, now, &body);
            (
                path,
                vec![
                    ("webhook-id".into(), id),
                    ("webhook-timestamp".into(), now.to_string()),
                    ("webhook-signature".into(), signature),
                ],
                body,
            )
        }
        Kind::Rsa { path, headers } => (path, headers.clone(), br#"{"reading": 1}"#.to_vec()),
        Kind::Get { path } => {
            return format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n").into_bytes();
        }
    };
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

/// Sends `req` and reads one response: its status, and whether the server closes
/// the connection after it (it does after refusing a request whose body it did not
/// read).
async fn exchange(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    req: &[u8],
) -> std::io::Result<(u16, bool)> {
    stream.write_all(req).await?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let status: u16 = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((status, head.contains("\r\nconnection: close")))
}

/// A connection from `source` (any loopback address) to `addr`.
async fn connect(addr: SocketAddr, source: Option<Ipv4Addr>) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip.into(), 0)).unwrap();
    }
    let stream = socket.connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Source address number `i` in 127.1.0.0/16.
fn attacker_address(i: u64) -> Ipv4Addr {
    let i = 1 + (i % 65_000);
    Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8)
}

fn unix_now() -> i64 {
    airlock_tests::unix_now()
}

/// CPU seconds (user + system) process `pid` has used, from `/proc/PID/stat`
/// (clock ticks of Linux's `USER_HZ`: 100 per second on x86-64 and arm64).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Context switches of the process `pid` so far: every live thread's, voluntary and
/// not. A thread that exited is not counted; tokio's blocking threads live 10 s
/// when idle, longer than a run.
fn context_switches(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .map(|t| std::fs::read_to_string(t.path().join("status")).unwrap_or_default())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// Runs a plan; answers `{"sent", "secs", "statuses", "p50", "p99", "max", "cpu_secs"}`
/// (the generator's own CPU time).
async fn generate(plan: Plan) -> Value {
    let host = plan.addr.to_string();
    let started = Instant::now();
    let end = started + Duration::from_secs(plan.seconds);
    let mut tasks = Vec::new();
    for conn in 0..plan.connections {
        let plan = plan.clone();
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let mut address_no = conn as u64 * 1_000;
            let source = |no: u64| plan.rotate.then(|| attacker_address(no));
            let mut stream = connect(plan.addr, source(address_no)).await;
            let mut buf = Vec::new();
            let mut latencies = Vec::new();
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            let interval = plan
                .rate
                .map(|r| Duration::from_secs_f64(plan.connections as f64 / r as f64));
            // Spread the paced connections over one interval.
            let offset = interval.map(|i| i.mul_f64(conn as f64 / plan.connections as f64));
            let mut n: u64 = 0;
            let mut now_secs = unix_now();
            let mut rsa_req: Option<Vec<u8>> = None;
            loop {
                let scheduled = match (interval, offset) {
                    (Some(i), Some(o)) => {
                        let at = started + o + i.mul_f64(n as f64);
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    _ => Instant::now(),
                };
                if scheduled >= end {
                    break;
                }
                n += 1;
                if n.is_multiple_of(1024) {
                    now_secs = unix_now();
                }
                if plan.rotate && n.is_multiple_of(REQUESTS_PER_ADDRESS) {
                    address_no += 1;
                    stream = connect(plan.addr, source(address_no)).await;
                }
                let req = match &plan.kind {
                    // The attack's headers are built once: a cheap attacker.
                    Kind::Rsa { .. } => rsa_req
                        .get_or_insert_with(|| request(&plan.kind, &host, conn, n, now_secs))
                        .clone(),
                    kind => request(kind, &host, conn, n, now_secs),
                };
                let status = match exchange(&mut stream, &mut buf, &req).await {
                    Ok((s, closed)) => {
                        if closed {
                            stream = connect(plan.addr, source(address_no)).await;
                        }
                        s
                    }
                    Err(_) => {
                        stream = connect(plan.addr, source(address_no)).await;
                        0
                    }
                };
                latencies.push(scheduled.elapsed().as_secs_f64() * 1000.0);
                *statuses.entry(status).or_default() += 1;
            }
            (latencies, statuses)
        }));
    }
    let mut all = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for t in tasks {
        let (l, s) = t.await.unwrap();
        all.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    json!({
        "sent": all.len(),
        "secs": secs,
        "statuses": statuses,
        "p50": pct(&all, 0.5),
        "p99": pct(&all, 0.99),
        "max": all.last().copied().unwrap_or(0.0),
        "cpu_secs": cpu_seconds("self"),
    })
}

/// Starts a generator process.
fn spawn_generator(plan: &Plan) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env("AIRLOCK_LOAD_ROLE", serde_json::to_string(plan).unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn result_of(child: Child) -> Value {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "a load generator failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The rate of responses with `status`.
fn rate(r: &Value, status: u16) -> f64 {
    r["statuses"][status.to_string()].as_f64().unwrap_or(0.0) / r["secs"].as_f64().unwrap()
}

fn statuses(r: &Value) -> String {
    r["statuses"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}×{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

struct ServerProcess {
    child: Child,
    dir: PathBuf,
}

impl ServerProcess {
    /// Stops the server with SIGTERM, waits for it, and counts the heartbeats stored
    /// for `connector` (rows, and those summarised while the writer was behind).
    fn stop_and_count_heartbeats(mut self, connector: &str) -> i64 {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        assert!(
            self.child.wait().unwrap().success(),
            "airlock serve failed to stop"
        );
        let dir = self.dir.clone();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let store =
                    airlock_host::store::Store::open(&airlock_host::store::Store::sqlite_url(&dir))
                        .await
                        .unwrap();
                let rows: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM heartbeats WHERE connector_id = $1")
                        .bind(connector)
                        .fetch_one(store.pool())
                        .await
                        .unwrap();
                let (summarised, _) = store.summarised_heartbeats(connector).await.unwrap();
                store.close().await;
                rows + summarised
            })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("AIRLOCK_LOAD_SERVER_LOG").is_some() {
            eprintln!("server log kept: {}", self.dir.join("server.log").display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(bin: &Path) -> (ServerProcess, SocketAddr) {
    let dir = std::env::temp_dir().join(format!("airlock-load-{}", uuid::Uuid::new_v4()));
    start_server_in(bin, dir, &[], true)
}

/// `airlock serve` on a free port with `dir` as its data directory and `args`;
/// waits for it to listen (and, if `bootstrap`, to have written bootstrap.json).
fn start_server_in(
    bin: &Path,
    dir: PathBuf,
    args: &[String],
    bootstrap: bool,
) -> (ServerProcess, SocketAddr) {
    std::fs::create_dir_all(&dir).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let child = Command::new(bin)
        .args(["serve", "--listen", &addr.to_string(), "--data-dir"])
        .arg(&dir)
        .args(args)
        // `AIRLOCK_LOAD_SERVER_ARGS`: more `serve` options, space-separated, for
        // diagnosis (e.g. `--sqlite-synchronous normal` to see what fsync costs).
        .args(
            std::env::var("AIRLOCK_LOAD_SERVER_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        // `AIRLOCK_LOAD_SERVER_LOG` (a RUST_LOG filter) for diagnosis, e.g.
        // `warn,sqlx::query=debug` to see each statement a request runs.
        .env(
            "RUST_LOG",
            std::env::var("AIRLOCK_LOAD_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = ServerProcess { child, dir };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err()
        || (bootstrap && !server.dir.join("bootstrap.json").exists())
    {
        assert!(Instant::now() < deadline, "airlock serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, addr)
}

/// What the runs need from the server.
struct Setup {
    invoke: Kind,
    heartbeat: Kind,
    /// The connector the heartbeats are for (nothing else records any for it).
    beater: String,
    hmac: Kind,
    forged: Kind,
    rsa_path: String,
    rsa_key_id: String,
}

async fn setup(base: &str, dir: &Path) -> Setup {
    let http = reqwest::Client::new();
    let bootstrap: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bootstrap.json")).unwrap()).unwrap();
    let token = airlock_tests::bootstrap_token(&http, base, &bootstrap).await;
    let probe = airlock_tests::register_and_upload(
        &http,
        base,
        &token,
        "probe",
        "telemetry",
        airlock_tests::guests::PROBE,
    )
    .await;
    let r = http
        .post(format!("{base}/api/connectors/{probe}/deployments"))
        .bearer_auth(&token)
        .json(&json!({"version": "0.1.0"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let register = |body: Value| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let r = http
                .post(format!("{base}/api/connectors/register"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
            r.json::<Value>().await.unwrap()
        }
    };
    let hmac = register(json!({"name": "sender", "category": "telemetry",
        "auth_method": "hmac-sha256"}))
    .await;
    let beater = register(json!({"name": "beater", "category": "telemetry"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/fixtures/rsa/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let rsa = register(json!({"name": "signer", "category": "telemetry",
        "auth_method": "rsa", "public_key": fixture("large.pub.pem")}))
    .await;
    let rsa_path = rsa["webhook_path"].as_str().unwrap().to_string();
    let rsa_key_id = rsa["credential"]["key_id"].as_str().unwrap().to_string();
    let hmac_path = hmac["webhook_path"].as_str().unwrap().to_string();
    Setup {
        invoke: Kind::Invoke {
            path: format!("/api/connectors/{probe}/invoke/work"),
            token: token.clone(),
            body: "{}".into(),
        },
        heartbeat: Kind::Invoke {
            path: format!("/api/connectors/{beater}/heartbeat"),
            token,
            body: r#"{"latency_ms": 3, "status": "ok"}"#.into(),
        },
        beater,
        hmac: Kind::Hmac {
            path: hmac_path.clone(),
            secret: hmac["credential"]["secret"].as_str().unwrap().to_string(),
        },
        forged: Kind::Hmac {
            path: hmac_path,
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        },
        rsa_path,
        rsa_key_id,
    }
}

/// The RSA-header attack's request, signed now: built right before the attack,
/// so its `created` is inside the server's tolerance however long the runs
/// before it took (a stale one is refused before any RSA work).
fn rsa_attack(path: &str, key_id: &str) -> Kind {
    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/fixtures/rsa/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    // A label naming the connector's key id, signed by another key, without `alg`:
    // the server tries both algorithms under the connector's 6144-bit key.
    let forger = {
        use rsa::pkcs8::DecodePrivateKey as _;
        rsa::RsaPrivateKey::from_pkcs8_pem(&fixture("rotated.pem")).unwrap()
    };
    let headers = httpsig::sign(
        &forger,
        key_id,
        Alg::RsaPssSha512,
        "POST",
        path,
        br#"{"reading": 1}"#,
        unix_now(),
        None,
    )
    .unwrap()
    .into_iter()
    .map(|(k, v)| {
        let v = match k {
            // As long as the connector's modulus (768 bytes), so the verifier
            // cannot refuse it by its length and must do the arithmetic.
            "signature" => {
                let (label, _) = v.split_once('=').unwrap();
                let garbage =
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [1u8; 768]);
                format!("{label}=:{garbage}:")
            }
            _ => v.replace(r#";alg="rsa-pss-sha512""#, ""),
        };
        (k.to_string(), v)
    })
    .collect();
    Kind::Rsa {
        path: path.to_string(),
        headers,
    }
}

fn orchestrate() {
    let bin = airlock_tests::bench::release_airlock();
    let (server, addr) = start_server(&bin);
    let base = format!("http://{addr}");
    let s = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(setup(&base, &server.dir));
    let secs = seconds();
    let plan = |kind: &Kind, connections, rate, rotate| Plan {
        addr,
        kind: kind.clone(),
        connections,
        rate,
        rotate,
        seconds: secs,
    };
    let legit = plan(&s.hmac, PACED_CONNECTIONS, Some(PACED_RATE), false);
    let healthz = Kind::Get {
        path: "/healthz".into(),
    };

    if let Ok(profile) = std::env::var("AIRLOCK_LOAD_PROFILE") {
        // One closed-loop run of one load, measured by /proc (`NAME:cpu`) or recorded
        // with `perf record -g` (`NAME`) into target/perf-NAME.data. `refused` is
        // the same invoke, which the guest refuses (no output, so no commit): the
        // difference to `invoke` is what publishing costs.
        let (what, cpu) = match profile.strip_suffix(":cpu") {
            Some(what) => (what, true),
            None => (profile.as_str(), false),
        };
        let Kind::Invoke { path, token, .. } = &s.invoke else {
            unreachable!("the invoke load is an invoke")
        };
        let refused = Kind::Invoke {
            path: path.clone(),
            token: token.clone(),
            body: r#"{"fail":"invalid-input"}"#.into(),
        };
        let kind = match what {
            "invoke" => &s.invoke,
            "refused" => &refused,
            "ingest" => &s.hmac,
            "heartbeat" => &s.heartbeat,
            "healthz" => &healthz,
            other => panic!(
                "AIRLOCK_LOAD_PROFILE=`{profile}`: `{other}` is not a load; name invoke, \
                 refused, ingest, heartbeat or healthz (add `:cpu` for CPU per request instead \
                 of perf)"
            ),
        };
        let pid = server.child.id().to_string();
        if cpu {
            let connections = std::env::var("AIRLOCK_LOAD_CONNECTIONS").map_or(
                INVOKE_CONNECTIONS,
                |v| match v.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => panic!(
                        "AIRLOCK_LOAD_CONNECTIONS=`{v}`: give a number of connections, at least 1"
                    ),
                },
            );
            let (before, switches) = (cpu_seconds(&pid), context_switches(&pid));
            let r = result_of(spawn_generator(&plan(kind, connections, None, false)));
            let server_cpu = cpu_seconds(&pid) - before;
            let switches = context_switches(&pid).saturating_sub(switches);
            let sent = r["sent"].as_f64().unwrap().max(1.0);
            println!(
                "{what} ({connections} connections): {:.0}/s, p50 {:.2} ms, p99 {:.2} ms ({}); \
                 CPU per request: server {:.1} µs, generator {:.1} µs; server context switches \
                 per request: {:.2}",
                sent / r["secs"].as_f64().unwrap(),
                r["p50"].as_f64().unwrap(),
                r["p99"].as_f64().unwrap(),
                statuses(&r),
                server_cpu * 1e6 / sent,
                r["cpu_secs"].as_f64().unwrap() * 1e6 / sent,
                switches as f64 / sent,
            );
            return;
        }
        let generator = spawn_generator(&plan(kind, INVOKE_CONNECTIONS, None, false));
        let data = std::env::current_exe()
            .unwrap()
            .ancestors()
            .nth(3)
            .unwrap()
            .join(format!("perf-{what}.data"));
        let perf = Command::new("perf")
            .args(["record", "-g", "-o"])
            .arg(&data)
            .args(["-p", &pid, "--", "sleep"])
            .arg((secs.saturating_sub(1)).max(1).to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        let r = result_of(generator);
        println!("{what}: {r} (perf: {perf}, {})", data.display());
        return;
    }

    let floor = result_of(spawn_generator(&plan(
        &healthz,
        INVOKE_CONNECTIONS,
        None,
        false,
    )));
    let invoke = result_of(spawn_generator(&plan(
        &s.invoke,
        INVOKE_CONNECTIONS,
        None,
        false,
    )));
    let heartbeats = result_of(spawn_generator(&plan(
        &s.heartbeat,
        INVOKE_CONNECTIONS,
        None,
        false,
    )));
    let ingest = result_of(spawn_generator(&plan(
        &s.hmac,
        INGEST_CONNECTIONS,
        None,
        false,
    )));
    let quiet = result_of(spawn_generator(&legit));
    let flood = spawn_generator(&plan(&s.forged, FLOOD_CONNECTIONS, Some(FLOOD_RATE), true));
    let during_flood = result_of(spawn_generator(&legit));
    let flood = result_of(flood);
    let attack = rsa_attack(&s.rsa_path, &s.rsa_key_id);
    let attack = spawn_generator(&plan(&attack, ATTACK_CONNECTIONS, None, true));
    let during_attack = result_of(spawn_generator(&legit));
    let attack = result_of(attack);
    // Every accepted heartbeat is a row or counted in a summary once the server
    // has stopped gracefully (SIGTERM).
    let stored = server.stop_and_count_heartbeats(&s.beater);
    let accepted = heartbeats["statuses"]["202"].as_i64().unwrap_or(0);

    let ms = |r: &Value, q: &str| r[q].as_f64().unwrap();
    println!("| measure | result | goal |");
    println!("| --- | --- | --- |");
    // A closed-loop run's row: its rate of `status` answers, latencies and statuses.
    let closed_loop = |measure: &str, r: &Value, status: u16, goal: &str| {
        println!(
            "| {measure} | {:.0}/s (p50 {:.2} ms, p99 {:.2} ms; {}) | {goal} |",
            rate(r, status),
            ms(r, "p50"),
            ms(r, "p99"),
            statuses(r)
        );
    };
    closed_loop(
        &format!("floor: GET /healthz/s, separate processes ({INVOKE_CONNECTIONS} connections)"),
        &floor,
        200,
        "report",
    );
    closed_loop(
        &format!(
            "invokes/s, server and load in separate processes ({INVOKE_CONNECTIONS} connections)"
        ),
        &invoke,
        200,
        "≥ 20 000/s, p99 ≤ 20 ms",
    );
    closed_loop(
        &format!("signed HMAC events/s, separate processes ({INGEST_CONNECTIONS} connections)"),
        &ingest,
        202,
        "≥ 20 000/s, p99 ≤ 50 ms",
    );
    closed_loop(
        &format!("heartbeats/s, separate processes ({INVOKE_CONNECTIONS} connections)"),
        &heartbeats,
        202,
        "≥ 40 000/s",
    );
    println!(
        "| heartbeats accepted but not stored (rows + summarised) | {} of {accepted} | 0 |",
        accepted - stored
    );
    for (what, r) in [
        ("quiet", &quiet),
        ("during the forged flood", &during_flood),
        ("during the RSA-header attack", &during_attack),
    ] {
        println!(
            "| legit ingest at {PACED_RATE}/s, {what}: latency | p50 {:.2} ms, p99 {:.2} ms (max {:.1} ms; {}) | p99 within 20 % of quiet |",
            ms(r, "p50"),
            ms(r, "p99"),
            ms(r, "max"),
            statuses(r)
        );
    }
    // Statuses first: how fast an attack is answered is not a figure to compare
    // between records (scripts/bench keeps only figures that lead with a rate or a
    // time).
    println!(
        "| forged flood answered (wrong secret, many addresses) | {} ({:.0} a second) | {FLOOD_RATE}/s offered |",
        statuses(&flood),
        r_total(&flood)
    );
    println!(
        "| RSA-header attack answered (6144-bit key, both algorithms) | {} ({:.0} a second) | as fast as {ATTACK_CONNECTIONS} connections go |",
        statuses(&attack),
        r_total(&attack)
    );
}

/// Responses/s of any status.
fn r_total(r: &Value) -> f64 {
    r["sent"].as_f64().unwrap() / r["secs"].as_f64().unwrap()
}

/// Pushes/s of the latency run of the cluster scenario.
const CLUSTER_PACED_RATE: u64 = 200;

/// A throwaway PostgreSQL (`scripts/postgres`), stopped when dropped.
struct Postgres {
    dir: PathBuf,
    url: String,
}

impl Postgres {
    fn start() -> Postgres {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let dir = std::env::temp_dir().join(format!("airlock-bench-pg-{}", uuid::Uuid::new_v4()));
        let out = Command::new(root.join("scripts/postgres"))
            .arg("start")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "scripts/postgres start failed");
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Postgres { dir, url }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let _ = Command::new(root.join("scripts/postgres"))
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// Scale-out figures (see the module's docs).
fn cluster() {
    let bin = airlock_tests::bench::release_airlock();
    let pg = Postgres::start();
    let nats = airlock_tests::nats::NatsServer::start();
    let secs = seconds();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // As a deployment runs: the server acts as a role that owns nothing, under
    // row-level security (docs/operations.md).
    let (owner, app) = rt.block_on(airlock_tests::postgres::fresh_urls_on(&pg.url));
    let args = vec![
        "--database".to_string(),
        app,
        "--database-owner".to_string(),
        owner,
        "--bus".to_string(),
        nats.url(),
    ];
    let root = std::env::temp_dir().join(format!("airlock-cluster-{}", uuid::Uuid::new_v4()));
    let (a, addr_a) = start_server_in(&bin, root.join("a"), &args, true);
    let base_a = format!("http://{addr_a}");
    let s = rt.block_on(setup(&base_a, &a.dir));
    let plan = |addr, connections| Plan {
        addr,
        kind: s.hmac.clone(),
        connections,
        rate: None,
        rotate: false,
        seconds: secs,
    };

    eprintln!("cluster: one node, {secs} s of signed pushes");
    let one = result_of(spawn_generator(&plan(addr_a, INGEST_CONNECTIONS)));
    eprintln!("cluster: waiting for the relay to drain the backlog into JetStream");
    rt.block_on(wait_for_jetstream_to_settle(&nats.url()));
    eprintln!("cluster: push → JetStream latency at {CLUSTER_PACED_RATE}/s");
    let latency = rt.block_on(push_to_jetstream_latency(
        &base_a,
        &s.hmac,
        &nats.url(),
        secs,
    ));

    // A second node on the same database and NATS, holding node A's keys.
    std::fs::create_dir_all(root.join("b")).unwrap();
    for key in ["jwt-ed25519.key", "secrets.key", "audit.key"] {
        std::fs::copy(a.dir.join(key), root.join("b").join(key)).unwrap();
    }
    eprintln!("cluster: starting node B");
    let (_b, addr_b) = start_server_in(&bin, root.join("b"), &args, false);
    eprintln!("cluster: two nodes, {secs} s of signed pushes");
    let half = INGEST_CONNECTIONS / 2;
    let on_a = spawn_generator(&plan(addr_a, half));
    let on_b = spawn_generator(&plan(addr_b, half));
    let (on_a, on_b) = (result_of(on_a), result_of(on_b));

    let ms = |r: &Value, q: &str| r[q].as_f64().unwrap();
    println!("| measure | result | goal |");
    println!("| --- | --- | --- |");
    println!(
        "| signed HMAC events/s, one node on PostgreSQL + NATS ({INGEST_CONNECTIONS} connections) | {:.0}/s (p50 {:.2} ms, p99 {:.2} ms; {}) | — |",
        rate(&one, 202),
        ms(&one, "p50"),
        ms(&one, "p99"),
        statuses(&one)
    );
    println!(
        "| signed HMAC events/s, two nodes on PostgreSQL + NATS ({half} connections each) | {:.0}/s (A {:.0}/s p99 {:.2} ms, B {:.0}/s p99 {:.2} ms) | more than one node |",
        rate(&on_a, 202) + rate(&on_b, 202),
        rate(&on_a, 202),
        ms(&on_a, "p99"),
        rate(&on_b, 202),
        ms(&on_b, "p99"),
    );
    println!(
        "| push → JetStream subscriber latency at {CLUSTER_PACED_RATE}/s | p50 {:.2} ms, p99 {:.2} ms ({} of {} arrived) | — |",
        latency.0, latency.1, latency.2, latency.3
    );
    drop(a);
    let _ = std::fs::remove_dir_all(&root);
}

/// Waits until the stream has stopped growing for a second: the backlog of the
/// throughput run is relayed, and does not count in the latency run.
async fn wait_for_jetstream_to_settle(nats: &str) {
    let js = async_nats::jetstream::new(async_nats::connect(nats).await.unwrap());
    let mut last = u64::MAX;
    loop {
        let mut stream = js.get_stream("AIRLOCK").await.unwrap();
        let now = stream.info().await.unwrap().state.messages;
        if now == last {
            return;
        }
        last = now;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Pushes at `CLUSTER_PACED_RATE`/s for `secs` and times each from its send to its
/// arrival at a core NATS subscription on `airlock.>`: (p50 ms, p99 ms, arrived, sent).
async fn push_to_jetstream_latency(
    base: &str,
    hmac: &Kind,
    nats: &str,
    secs: u64,
) -> (f64, f64, usize, usize) {
    use futures_util::StreamExt as _;
    let Kind::Hmac { path, secret } = hmac else {
        unreachable!()
    };
    let client = async_nats::connect(nats).await.unwrap();
    let mut sub = client.subscribe("airlock.>").await.unwrap();
    let sent: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<u64, Instant>>> =
        Default::default();
    let arrived = {
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
                let v: Value = serde_json::from_slice(&m.payload).unwrap_or(Value::Null);
                let Some(n) = v["probe"].as_u64() else {
                    continue;
                };
                if let Some(at) = sent.lock().unwrap().get(&n) {
                    latencies.push(at.elapsed().as_secs_f64() * 1000.0);
                }
            }
            latencies
        })
    };
    let http = reqwest::Client::new();
    let key = webhook_key(secret).unwrap();
    let total = (CLUSTER_PACED_RATE * secs) as usize;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..total as u64 {
        let due = start + Duration::from_micros(n * 1_000_000 / CLUSTER_PACED_RATE);
        tokio::time::sleep_until(due.into()).await;
        let body = format!(r#"{{"probe": {n}}}"#);
        let id = format!("latency-{n}");
        let ts = unix_now();
        let req = http
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header(
                "webhook-signature",
                sign_webhook(&key, &id, ts, body.as_bytes()),
            )
            .body(body);
        sent.lock().unwrap().insert(n, due);
        tasks.push(tokio::spawn(
            async move { req.send().await.map(|r| r.status()) },
        ));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut latencies = arrived.await.unwrap();
    latencies.sort_by(f64::total_cmp);
    let arrived = latencies.len();
    (pct(&latencies, 0.50), pct(&latencies, 0.99), arrived, total)
}
