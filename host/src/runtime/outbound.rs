//! Sending a guest's HTTP request under the call's [`Egress`] policy and caps.
//!
//! The policy's address rule is applied inside the DNS resolution step of the
//! client: the resolver returns only addresses that passed, so the connection goes
//! to exactly an address that was checked (no second lookup a rebinding DNS server
//! could answer differently). Redirects are not followed: a 3xx goes back to the
//! guest, whose next request is checked like any other. No proxy from the
//! environment is used. Timeouts cover the whole exchange (resolution, connect,
//! TLS, headers and body); a slow DNS server can overrun them, because the system
//! resolver cannot be interrupted.

use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::bindings::airlock::connector::http;
use super::bindings::airlock::connector::types::{Credential, HostError};
use super::egress::{Egress, Refusal, Route, origin_text};

/// Request headers a guest may not set: the transport owns them, and `Host` would
/// let a guest reach another virtual host on a granted address.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-connection",
];

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// How this node reaches upstreams, beyond the egress policy: extra TLS roots
/// (`--outbound-ca`) and address overrides (`--outbound-resolve`). Operator
/// settings, the same for every call; the policy still judges every address.
#[derive(Clone, Default)]
pub struct Transport {
    /// TLS with the system's (webpki) roots plus the extra ones; `None`: ureq's
    /// default (webpki roots only).
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Connect here instead of resolving the host (and port, if given).
    resolve: Vec<ResolveRule>,
    /// What was configured, for the start-up log.
    described: Vec<String>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.described).finish()
    }
}

/// `HOST[:PORT]=IP:PORT`: connections to that host (on that port) go to `addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResolveRule {
    host: String,
    port: Option<u16>,
    addr: SocketAddr,
}

impl Transport {
    /// Trusts the PEM certificates of `pem` for outbound HTTPS besides the system's
    /// roots; `origin` names the file in errors and the log.
    pub fn with_extra_roots(mut self, pem: &[u8], origin: &str) -> Result<Transport, String> {
        use rustls_pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut added = 0;
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("{origin}: not a PEM certificate: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("{origin}: a certificate cannot be a root: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("{origin}: no PEM certificate in the file"));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("{origin}: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        self.tls = Some(Arc::new(config));
        self.described
            .push(format!("extra TLS roots: {added} from {origin}"));
        Ok(self)
    }

    /// Adds `HOST[:PORT]=IP:PORT` (as curl's `--connect-to`): connections to that host
    /// go to that address, which must still pass the deployment's address policy.
    pub fn with_resolve(mut self, rule: &str) -> Result<Transport, String> {
        let bad = || {
            format!("`{rule}` is not HOST[:PORT]=IP:PORT (e.g. feeds.example.org=127.0.0.1:8443)")
        };
        let (from, to) = rule.split_once('=').ok_or_else(bad)?;
        let addr: SocketAddr = to.trim().parse().map_err(|_| bad())?;
        let from = from.trim().to_ascii_lowercase();
        // `host`, `host:port`, `[v6]` or `[v6]:port`.
        let (host, port) = if let Some(v6) = from.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse().map_err(|_| bad())?),
                None if after.is_empty() => None,
                None => return Err(bad()),
            };
            (h.to_string(), port)
        } else {
            match from.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.parse().map_err(|_| bad())?)),
                None => (from.clone(), None),
            }
        };
        let host = host.trim_end_matches('.').to_string();
        if host.is_empty() || host.contains(['/', '@', ' ', '[', ']']) {
            return Err(bad());
        }
        self.resolve.push(ResolveRule { host, port, addr });
        self.described.push(format!("resolve {from} to {addr}"));
        Ok(self)
    }

    /// What is configured, one line each (logged at start).
    pub fn describe(&self) -> &[String] {
        &self.described
    }

    /// The address a rule gives `host:port`, if one does.
    fn resolved(&self, netloc: &str) -> Option<SocketAddr> {
        let (host, port) = netloc.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        self.resolve
            .iter()
            .find(|r| r.host == host && r.port.is_none_or(|p| p == port))
            .map(|r| r.addr)
    }
}

/// Caps for one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestCaps {
    /// The whole exchange must finish within this.
    pub timeout: Duration,
    /// Largest request body accepted from the guest.
    pub max_request_bytes: usize,
    /// Largest response body handed back; a larger one is refused, not truncated.
    pub max_response_bytes: usize,
}

fn refusal(r: Refusal) -> HostError {
    match r {
        Refusal::Invalid(m) => HostError::Invalid(m),
        Refusal::Denied(m) => HostError::Denied(m),
    }
}

/// Checks, authenticates and sends `request`; the answer is what the guest sees.
pub fn send(
    egress: &Egress,
    request: http::Request,
    caps: RequestCaps,
) -> Result<http::Response, HostError> {
    let route = egress.route(&request.url).map_err(refusal)?;
    let method = request.method.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(HostError::Invalid(format!(
            "`{}` is not a supported HTTP method ({})",
            request.method,
            METHODS.join(", ")
        )));
    }
    let body = request.body.unwrap_or_default();
    if body.len() > caps.max_request_bytes {
        return Err(HostError::LimitExceeded(format!(
            "the request body is {} bytes; at most {} may be sent",
            body.len(),
            caps.max_request_bytes
        )));
    }
    let mut headers = Vec::with_capacity(request.headers.len() + 1);
    for (name, value) in request.headers {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(HostError::Invalid(format!(
                "the header `{}` is not a valid HTTP header",
                name.escape_debug()
            )));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(HostError::Invalid(format!(
                "the header `{name}` is set by the host, not by the connector"
            )));
        }
        headers.push((name, value));
    }
    authenticate(egress, &route, &mut headers, &body)?;
    transmit(egress, &route, &method, headers, &body, caps)
}

/// Adds the declared credential, replacing any header of the same name the guest set.
fn authenticate(
    egress: &Egress,
    route: &Route,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
) -> Result<(), HostError> {
    let Some(credential) = &route.credential else {
        return Ok(());
    };
    let (name, value) = match credential {
        Credential::Bearer(secret) => (
            "Authorization".to_string(),
            format!("Bearer {}", egress.secret(secret).map_err(refusal)?),
        ),
        Credential::Basic(b) => {
            let user = egress.secret(&b.username_secret).map_err(refusal)?;
            let password = egress.secret(&b.password_secret).map_err(refusal)?;
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            ("Authorization".to_string(), format!("Basic {encoded}"))
        }
        Credential::Header(h) => (
            h.header.clone(),
            egress.secret(&h.secret).map_err(refusal)?.to_string(),
        ),
        Credential::HmacSha256(h) => {
            let key = egress.secret(&h.secret).map_err(refusal)?;
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
                .map_err(|e| HostError::Failed(format!("cannot key the HMAC: {e}")))?;
            mac.update(body);
            (
                h.header.clone(),
                crate::time::hex(&mac.finalize().into_bytes()),
            )
        }
    };
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(HostError::Denied(
            "the secret for this host's credential contains a line break".into(),
        ));
    }
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
    headers.push((name, value));
    Ok(())
}

fn transmit(
    egress: &Egress,
    route: &Route,
    method: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
    caps: RequestCaps,
) -> Result<http::Response, HostError> {
    let shown = origin_text(&route.origin);
    // The resolver records why it refused, so the guest gets `denied`, not a DNS error.
    let denial: Arc<Mutex<Option<String>>> = Arc::default();
    let resolver = {
        let egress = egress.clone();
        let denial = denial.clone();
        move |netloc: &str| -> std::io::Result<Vec<SocketAddr>> {
            let mut refused = Vec::new();
            let addresses: Vec<SocketAddr> = match egress.transport().resolved(netloc) {
                Some(addr) => vec![addr],
                None => netloc.to_socket_addrs()?.collect(),
            };
            let allowed: Vec<SocketAddr> = addresses
                .into_iter()
                .filter(|a| match egress.check_address(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused.push(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() && !refused.is_empty() {
                let why = refused.join("; ");
                if let Ok(mut slot) = denial.lock() {
                    *slot = Some(why.clone());
                }
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    why,
                ));
            }
            Ok(allowed)
        }
    };
    let mut agent = ureq::AgentBuilder::new();
    if let Some(tls) = &egress.transport().tls {
        agent = agent.tls_config(tls.clone());
    }
    let agent = agent
        .resolver(resolver)
        .redirects(0)
        .timeout(caps.timeout)
        .max_idle_connections(0)
        .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
        .build();
    // The URL as the policy judged it, never the guest's raw text.
    let mut req = agent.request(method, &route.url);
    for (name, value) in &headers {
        req = req.set(name, value);
    }
    let outcome = if body.is_empty() && matches!(method, "GET" | "HEAD" | "DELETE" | "OPTIONS") {
        req.call()
    } else {
        req.send_bytes(body)
    };
    let response = match outcome {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => {
            if let Some(why) = denial.lock().ok().and_then(|mut d| d.take()) {
                return Err(HostError::Denied(format!(
                    "{shown} resolves only to refused addresses: {why}"
                )));
            }
            let text = t.to_string();
            let timed_out = std::error::Error::source(&t)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .is_some_and(|e| {
                    matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                    )
                });
            if timed_out {
                return Err(HostError::Timeout(format!(
                    "the request to {shown} did not finish within {} ms",
                    caps.timeout.as_millis()
                )));
            }
            return Err(HostError::Failed(format!(
                "the request to {shown} failed: {text}"
            )));
        }
    };
    let status = response.status();
    // Every value of every header, names lowercase, each name once in order.
    let mut names = Vec::new();
    for name in response.headers_names() {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let response_headers: Vec<(String, String)> = names
        .iter()
        .flat_map(|n| {
            response
                .all(n)
                .into_iter()
                .map(|v| (n.clone(), v.to_string()))
        })
        .collect();
    let limit = caps.max_response_bytes;
    let mut body = Vec::new();
    let read = response
        .into_reader()
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut body);
    if let Err(e) = read {
        return Err(
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                HostError::Timeout(format!(
                    "the response from {shown} did not arrive within {} ms",
                    caps.timeout.as_millis()
                ))
            } else {
                HostError::Failed(format!("reading the response from {shown} failed: {e}"))
            },
        );
    }
    if body.len() > limit {
        return Err(HostError::LimitExceeded(format!(
            "the response from {shown} is larger than {limit} bytes, the most a call may receive"
        )));
    }
    Ok(http::Response {
        status,
        headers: response_headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_rules_match_the_host_and_an_optional_port() {
        let t = Transport::default()
            .with_resolve("Feeds.Example.org=127.0.0.1:8443")
            .unwrap()
            .with_resolve("api.example.com:8080=[::1]:9000")
            .unwrap();
        let feeds: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        assert_eq!(t.resolved("feeds.example.org:443"), Some(feeds));
        assert_eq!(t.resolved("feeds.example.org:80"), Some(feeds));
        assert_eq!(
            t.resolved("api.example.com:8080"),
            Some("[::1]:9000".parse().unwrap())
        );
        assert_eq!(t.resolved("api.example.com:443"), None);
        assert_eq!(t.resolved("FEEDS.example.org.:443"), Some(feeds));
        let v6 = Transport::default()
            .with_resolve("[::1]:8080=127.0.0.1:1")
            .unwrap()
            .with_resolve("[fd00::2]=127.0.0.1:2")
            .unwrap();
        assert_eq!(
            v6.resolved("[::1]:8080"),
            Some("127.0.0.1:1".parse().unwrap())
        );
        assert_eq!(v6.resolved("[::1]:80"), None);
        assert_eq!(
            v6.resolved("[fd00::2]:443"),
            Some("127.0.0.1:2".parse().unwrap())
        );
        assert_eq!(t.resolved("other.example.org:443"), None);
        assert_eq!(t.describe().len(), 2);
        for bad in [
            "feeds.example.org",
            "feeds.example.org=localhost:80",
            "=127.0.0.1:1",
            "a/b=127.0.0.1:1",
            "h:x=127.0.0.1:1",
            "[::1=127.0.0.1:1",
            "[::1]x=127.0.0.1:1",
        ] {
            let why = Transport::default().with_resolve(bad).unwrap_err();
            assert!(why.contains("HOST[:PORT]=IP:PORT"), "{bad}: {why}");
        }
    }

    #[test]
    fn extra_roots_must_be_pem_certificates() {
        assert!(
            Transport::default()
                .with_extra_roots(b"not a certificate", "x.pem")
                .unwrap_err()
                .contains("no PEM certificate")
        );
    }
}
