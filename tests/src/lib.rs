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
