//! Reading a guest's URL: parsed once, by the parser the HTTP client uses, and
//! judged as that parse — rule 1 of the egress policy (`egress.rs`).
//!
//! Invariant: what [`parse_url`] returns is what the client connects to. The origin
//! it reports (scheme, host, port) is the one the client reads from the URL text it
//! returns, by construction (one parse, serialised again) and by test: the unit
//! tests' combinatorial corpus and the `egress_url` fuzz target (`scripts/fuzz`),
//! which re-parses every accepted URL as the client does. This file depends on
//! nothing but `url` and the SDK's `Origin`, so the fuzz crate compiles it from
//! source.

use airlock_sdk::http::Origin;

/// Why the policy refused a request; becomes the guest's `host-error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed: the guest passed something that is not a usable URL.
    Invalid(String),
    /// Well-formed but not allowed.
    Denied(String),
}

/// The longest URL a guest may send.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// Parses `raw` once, with the WHATWG parser the HTTP client itself uses (the
/// `url` crate), and returns the origin it reads and the URL serialised again.
/// Anything the policy and the client could read differently is settled by the
/// parser or refused: backslashes are path separators, percent-encoded and
/// Unicode host names are decoded and IDNA-mapped, IPv4 in odd notations
/// (`0x7f.1`, `2130706433`) becomes dotted decimal; user info, a trailing dot in
/// the host, and schemes other than http and https are refused.
pub fn parse_url(raw: &str) -> Result<(Origin, String), Refusal> {
    let shown: String = raw.chars().take(200).collect();
    let invalid = |why: &str| {
        Refusal::Invalid(format!(
            "`{}` is not a usable http or https URL: {why}",
            shown.escape_debug()
        ))
    };
    if raw.len() > MAX_URL_BYTES {
        return Err(invalid(&format!("it is longer than {MAX_URL_BYTES} bytes")));
    }
    let url = url::Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(invalid("only http and https are supported"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("user info (`user@host`) is not allowed"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => {
            if d.ends_with('.') {
                return Err(invalid("a host name may not end with a dot"));
            }
            d.to_ascii_lowercase()
        }
        Some(url::Host::Ipv4(v4)) => v4.to_string(),
        Some(url::Host::Ipv6(v6)) => v6.to_string(),
        None => return Err(invalid("it has no host")),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| invalid("it has no port"))?;
    let origin = Origin {
        scheme: scheme.to_string(),
        host,
        port,
    };
    Ok((origin, url.into()))
}

/// `scheme://host:port`, as messages show an origin.
pub fn origin_text(origin: &Origin) -> String {
    if origin.host.contains(':') {
        format!("{}://[{}]:{}", origin.scheme, origin.host, origin.port)
    } else {
        format!("{}://{}:{}", origin.scheme, origin.host, origin.port)
    }
}
