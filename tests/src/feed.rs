//! A local HTTPS upstream for pull connectors: a test CA made here (rcgen), a
//! certificate for `feeds.example.org` and `api.weather.gov` signed by it, and a
//! small HTTP/1.1 server on a loopback port (rustls, one thread per connection).
//!
//! `GET /v1/indicators.csv?offset=N&limit=M` serves an indicator feed in the
//! `osint-feed` example's CSV format, rows `N..N+M` of what the test appended;
//! `GET /alerts/active` serves `alerts` (NWS GeoJSON). Answers queued with
//! [`FeedServer::fail_next`] (a 429 with `Retry-After`, a 500…) go first.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The hosts the test certificate names.
pub const HOSTS: [&str; 2] = ["feeds.example.org", "api.weather.gov"];

/// The CSV feed's header row.
pub const HEADER: &str = "id,first_seen_utc,ioc_type,ioc_value,malware,confidence,reference";

/// A canned answer for the next request.
#[derive(Debug, Clone)]
pub struct Canned {
    /// The status code.
    pub status: u16,
    /// Extra header lines (`Name: value`).
    pub headers: Vec<String>,
}

#[derive(Default)]
struct State {
    rows: Vec<String>,
    alerts: String,
    canned: VecDeque<Canned>,
    requests: Vec<(Instant, String, u16)>,
    delay: std::time::Duration,
}

/// The running upstream; stops accepting when dropped.
pub struct FeedServer {
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    /// The test CA's certificate, PEM (for `--outbound-ca`).
    pub ca_pem: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

/// The indicator row `i` of a generated feed: a unique URL first seen `i` seconds
/// after 2024-03-01T00:00:00Z, so every row is its own indicator.
pub fn row(i: usize) -> String {
    let (h, m, s) = (i / 3600, i / 60 % 60, i % 60);
    let day = 1 + h / 24;
    format!(
        "{},2024-03-{day:02} {:02}:{m:02}:{s:02},url,http://198.51.100.7/payload/{i}.bin,Mozi,90,",
        10_000 + i,
        h % 24
    )
}

#[allow(clippy::unwrap_used, clippy::expect_used)] // a test fixture: fail loudly
impl FeedServer {
    /// Starts the upstream with a fresh CA.
    pub fn start() -> FeedServer {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Airlock test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(HOSTS.iter().map(|h| h.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state: Arc<Mutex<State>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, stopping) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (st, config) = (st.clone(), config.clone());
                std::thread::spawn(move || serve(conn, config, &st));
            }
        });
        FeedServer {
            addr,
            ca_pem: ca.pem(),
            state,
            stop,
        }
    }

    /// `HOST=127.0.0.1:PORT` for `--outbound-resolve`, for each host.
    pub fn resolve_rules(&self) -> Vec<String> {
        HOSTS.iter().map(|h| format!("{h}={}", self.addr)).collect()
    }

    /// Appends rows `from..to` (see [`row`]) to the feed.
    pub fn append(&self, from: usize, to: usize) {
        let mut s = self.state.lock().unwrap();
        s.rows.extend((from..to).map(row));
    }

    /// Serves `json` at `/alerts/active`.
    pub fn set_alerts(&self, json: &str) {
        self.state.lock().unwrap().alerts = json.to_string();
    }

    /// Answers the next feed request with `status` and `headers`.
    pub fn fail_next(&self, status: u16, headers: &[&str]) {
        self.state.lock().unwrap().canned.push_back(Canned {
            status,
            headers: headers.iter().map(|h| h.to_string()).collect(),
        });
    }

    /// Waits `ms` before answering each request (polls then are often in flight).
    pub fn set_delay_ms(&self, ms: u64) {
        self.state.lock().unwrap().delay = std::time::Duration::from_millis(ms);
    }

    /// Every request so far: when, its path, the status answered.
    pub fn requests(&self) -> Vec<(Instant, String, u16)> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn query(path: &str, name: &str) -> Option<usize> {
    let q = path.split_once('?')?.1;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

fn serve(conn: TcpStream, config: Arc<rustls::ServerConfig>, state: &Mutex<State>) {
    let Ok(tls) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut stream = rustls::StreamOwned::new(tls, conn);
    let mut reader = BufReader::new(&mut stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim_end().is_empty() {
            break;
        }
    }
    let delay = state.lock().map(|s| s.delay).unwrap_or_default();
    std::thread::sleep(delay);
    let (status, headers, content_type, body) = {
        let Ok(mut s) = state.lock() else { return };
        let answer = if let Some(c) = s.canned.pop_front() {
            (
                c.status,
                c.headers,
                "text/plain",
                b"refused by the test".to_vec(),
            )
        } else if path.starts_with("/alerts/active") {
            (
                200,
                Vec::new(),
                "application/geo+json",
                s.alerts.clone().into_bytes(),
            )
        } else if path.starts_with("/v1/indicators.csv") {
            let offset = query(&path, "offset").unwrap_or(0);
            let limit = query(&path, "limit").unwrap_or(500);
            let mut page = String::from(HEADER);
            page.push('\n');
            for r in s.rows.iter().skip(offset).take(limit) {
                page.push_str(r);
                page.push('\n');
            }
            (200, Vec::new(), "text/csv", page.into_bytes())
        } else {
            (404, Vec::new(), "text/plain", b"no such feed".to_vec())
        };
        s.requests.push((Instant::now(), path.clone(), answer.0));
        answer
    };
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(&h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
    stream.conn.send_close_notify();
    let _ = stream.flush();
}
