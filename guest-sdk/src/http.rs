//! Outbound HTTP through the host, with a client that retries what is worth retrying.
//!
//! Requests go through the host, which allows only the hosts the manifest declares
//! and the admin granted, and adds the declared [`crate::Credential`] itself: a
//! connector never handles an API token. [`Client::send`] retries:
//!
//! - `429 Too Many Requests` and `503 Service Unavailable`, for every method: the
//!   upstream did not process the request;
//! - other 5xx (500, 502, 504) and transport failures only for idempotent methods
//!   (GET, HEAD, PUT, DELETE, OPTIONS), unless [`RetryPolicy::retry_unsafe_methods`]
//!   is set, because a POST that failed with 500 may already have taken effect.
//!
//! The wait honours `Retry-After` (delta-seconds or an HTTP date) and otherwise
//! doubles from [`RetryPolicy::initial_backoff_ms`]. A wait longer than
//! [`RetryPolicy::max_wait_ms`], or one the call's time budget cannot cover, is not
//! slept: the client returns [`Error::rate_limited`] (or [`Error::upstream`]) so the
//! host reschedules the call instead of holding a sandbox idle.

pub use crate::bindings::airlock::connector::http::{Request, Response};
use crate::time::Timestamp;
use crate::{Error, HostError, Result, clock};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Sends one request through the host, without retries.
pub fn send(request: &Request) -> std::result::Result<Response, HostError> {
    crate::host::backend::http_send(request)
}

impl Request {
    /// A request with `method` to `url`.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request {
            method: method.to_ascii_uppercase(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout_ms: None,
        }
    }
    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Request::new("GET", url)
    }
    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Request::new("POST", url)
    }
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    /// Sets a raw body.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }
    /// Sets a JSON body and its content type.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value)?;
        Ok(self.header("content-type", "application/json").body(body))
    }
    /// Sets a timeout (the host caps it at the call's remaining budget).
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
    fn is_idempotent(&self) -> bool {
        matches!(
            self.method.as_str(),
            "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
        )
    }
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// True for 2xx statuses.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body parsed as JSON into `T`; a mismatch is an upstream error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::upstream(
                Some(self.status),
                format!("the upstream response is not the expected JSON: {e}"),
            )
        })
    }
    /// `Ok(self)` for a 2xx status, else an upstream error quoting the start of the body.
    pub fn error_for_status(self) -> Result<Self> {
        if self.is_success() {
            return Ok(self);
        }
        let text = self.text();
        let excerpt: String = text.chars().take(200).collect();
        Err(Error::upstream(
            Some(self.status),
            format!("the upstream answered HTTP {}: {excerpt}", self.status),
        ))
    }
}

/// How [`Client`] retries. The defaults suit most public APIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. Default 4.
    pub max_attempts: u32,
    /// The first backoff when the upstream gives no `Retry-After`. Default 500 ms.
    pub initial_backoff_ms: u64,
    /// The largest backoff between attempts. Default 8 s.
    pub max_backoff_ms: u64,
    /// The longest wait the client sleeps inside a call; longer ones are returned as
    /// [`Error::rate_limited`] for the host to schedule. Default 30 s.
    pub max_wait_ms: u64,
    /// Also retry POST/PATCH on 500/502/504 and transport errors. Default false.
    pub retry_unsafe_methods: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff_ms: 500,
            max_backoff_ms: 8_000,
            max_wait_ms: 30_000,
            retry_unsafe_methods: false,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// An HTTP client over the host import that retries per its [`RetryPolicy`].
#[derive(Debug, Clone, Default)]
pub struct Client {
    policy: RetryPolicy,
}

impl Client {
    /// A client with the default policy.
    pub fn new() -> Self {
        Client::default()
    }
    /// A client with `policy`.
    pub fn with_policy(policy: RetryPolicy) -> Self {
        Client { policy }
    }
    /// The client's policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Sends `request`, retrying as the module docs describe. Returns the final
    /// response whatever its status (use [`Response::error_for_status`]), except when
    /// retries of a 429/5xx run out, which are errors.
    pub fn send(&self, request: &Request) -> Result<Response> {
        let attempts = self.policy.max_attempts.max(1);
        let mut backoff = self.policy.initial_backoff_ms;
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            let (wait, failure) = match send(request) {
                Ok(resp) => {
                    let retryable = match resp.status {
                        429 | 503 => true,
                        500 | 502 | 504 => {
                            request.is_idempotent() || self.policy.retry_unsafe_methods
                        }
                        _ => false,
                    };
                    if !retryable {
                        return Ok(resp);
                    }
                    let wait = retry_after_ms(&resp).unwrap_or(backoff);
                    let failure = if resp.status == 429 {
                        Error::rate_limited(
                            wait,
                            format!("{} answered 429 Too Many Requests", request.url),
                        )
                    } else {
                        Error::upstream(
                            Some(resp.status),
                            format!(
                                "{} answered HTTP {} after {attempt} attempt(s)",
                                request.url, resp.status
                            ),
                        )
                    };
                    (wait, failure)
                }
                Err(e @ (HostError::Failed(_) | HostError::Timeout(_)))
                    if request.is_idempotent() || self.policy.retry_unsafe_methods =>
                {
                    (backoff, Error::from(e))
                }
                Err(e) => return Err(Error::from(e)),
            };
            if last {
                return Err(failure);
            }
            if wait > self.policy.max_wait_ms {
                return Err(Error::rate_limited(wait, failure.message().to_string()));
            }
            crate::log::log_with(
                crate::log::Level::Debug,
                "retrying upstream request",
                &[
                    ("url", &request.url),
                    ("wait_ms", &wait.to_string()),
                    ("attempt", &attempt.to_string()),
                ],
            );
            if let Err(HostError::Timeout(_)) = clock::sleep(wait) {
                // The call's budget cannot cover the wait: let the host reschedule.
                return Err(Error::rate_limited(wait, failure.message().to_string()));
            }
            backoff = backoff.saturating_mul(2).min(self.policy.max_backoff_ms);
        }
        Err(Error::internal("retry loop ended without a result"))
    }
}

/// The wait a `Retry-After` header asks for, in milliseconds: delta-seconds or an
/// HTTP date (measured against the host clock). `None` when absent or unreadable.
pub fn retry_after_ms(response: &Response) -> Option<u64> {
    let value = response.header("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let when = parse_http_date(value)?;
    let now = clock::now();
    Some(u64::try_from(when.unix_millis() - now.unix_millis()).unwrap_or(0))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 requires.
pub fn parse_http_date(text: &str) -> Option<Timestamp> {
    let rest = text.trim().split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let (h, m, s) = (
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
    );
    if parts.next()? != "GMT" {
        return None;
    }
    Timestamp::from_utc(year, month, day, h, m, s, 0)
}

/// The scheme, host and port of a URL, as the host's allow-list compares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// The host name, lowercase (IPv6 literals without brackets).
    pub host: String,
    /// The port, explicit or the scheme's default.
    pub port: u16,
}

impl Origin {
    /// The origin of an absolute `http`/`https` URL; `None` for anything else,
    /// including URLs with credentials (`user@host`), which the host never sends.
    pub fn of_url(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        if authority.contains('@') || authority.is_empty() {
            return None;
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok()?,
                None if after.is_empty() => default_port,
                None => return None,
            };
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().ok()?),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return None;
        }
        Some(Origin {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// A declared outbound host: `scheme://host[:port]`, where the host may start with
/// `*.` to match any subdomain (not the bare domain). Without a port, the scheme's
/// default port is meant; `:*` means any port (for services on changing ports,
/// such as a test server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    host: String,
    wildcard: bool,
    /// `None`: any port.
    port: Option<u16>,
}

impl OriginPattern {
    /// Parses a pattern; the error says what is wrong with it.
    pub fn parse(pattern: &str) -> std::result::Result<Self, String> {
        let (scheme, rest) = pattern
            .split_once("://")
            .ok_or_else(|| format!("`{pattern}` has no scheme: write `https://{pattern}`"))?;
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "`{pattern}` must be `scheme://host[:port]`, without a path or credentials"
            ));
        }
        let (rest, any_port) = match rest.strip_suffix(":*") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let (wildcard, host_part) = match rest.strip_prefix("*.") {
            Some(h) => (true, h),
            None => (false, rest),
        };
        if host_part.contains('*') {
            return Err(format!(
                "`{pattern}`: `*` may only be the first label, as in `*.example.com`"
            ));
        }
        let probe = format!("{scheme}://{host_part}");
        let origin = Origin::of_url(&probe)
            .ok_or_else(|| format!("`{pattern}` is not an http or https origin"))?;
        Ok(OriginPattern {
            scheme: origin.scheme,
            host: origin.host,
            wildcard,
            port: (!any_port).then_some(origin.port),
        })
    }

    /// True when `origin` is allowed by this pattern.
    pub fn matches(&self, origin: &Origin) -> bool {
        if origin.scheme != self.scheme || self.port.is_some_and(|p| p != origin.port) {
            return false;
        }
        if self.wildcard {
            origin
                .host
                .strip_suffix(self.host.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
        } else {
            origin.host == self.host
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_take_default_ports_and_refuse_credentials() {
        let o = Origin::of_url("https://API.Example.com/v1?x=1").unwrap();
        assert_eq!(
            (o.scheme.as_str(), o.host.as_str(), o.port),
            ("https", "api.example.com", 443)
        );
        assert_eq!(Origin::of_url("http://[::1]:8080/").unwrap().host, "::1");
        assert!(Origin::of_url("https://user:pw@example.com/").is_none());
        assert!(Origin::of_url("ftp://example.com/").is_none());
        assert!(Origin::of_url("https://example.com:99999/").is_none());
    }

    #[test]
    fn patterns_match_scheme_host_and_port() {
        let p = OriginPattern::parse("https://*.abuse.ch").unwrap();
        assert!(p.matches(&Origin::of_url("https://urlhaus.abuse.ch/feed").unwrap()));
        assert!(!p.matches(&Origin::of_url("https://abuse.ch/").unwrap()));
        assert!(!p.matches(&Origin::of_url("https://evilabuse.ch/").unwrap()));
        assert!(!p.matches(&Origin::of_url("http://urlhaus.abuse.ch/").unwrap()));
        assert!(!p.matches(&Origin::of_url("https://urlhaus.abuse.ch:8443/").unwrap()));
        let p = OriginPattern::parse("http://127.0.0.1:*").unwrap();
        assert!(p.matches(&Origin::of_url("http://127.0.0.1:38211/x").unwrap()));
        assert!(p.matches(&Origin::of_url("http://127.0.0.1/").unwrap()));
        assert!(!p.matches(&Origin::of_url("https://127.0.0.1:38211/").unwrap()));
        let p = OriginPattern::parse("https://api.example.com:8443").unwrap();
        assert!(p.matches(&Origin::of_url("https://api.example.com:8443/x").unwrap()));
        for bad in [
            "api.example.com",
            "https://a.*.com",
            "https://x.com/path",
            "gopher://x",
            "https://x.com:*:*",
            "https://*:*",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn http_dates_parse() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(t.to_rfc3339_seconds(), "1994-11-06T08:49:37Z");
        assert!(parse_http_date("yesterday").is_none());
    }
}
