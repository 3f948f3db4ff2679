//! Reading one indicator value (and the feed's `ioc_type`, when it has one) into a
//! STIX observable and the pattern that detects it.
//!
//! Supported values: URLs, domain names, IPv4/IPv6 addresses and CIDR networks,
//! `address:port` endpoints (`198.51.100.7:8080`, `[2001:db8::1]:443`), e-mail
//! addresses and MD5/SHA-1/SHA-256/SHA-512 file hashes. Defanged values
//! (`hxxp://evil[.]example`) are re-fanged first. Domains and hashes are lower-cased
//! and IPv6 addresses written in their canonical form, so the same indicator always
//! gets the same id.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use airlock_sdk::stix::{Comparison, Observable, ObservableKind, Pattern, classify};

/// An indicator value, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ioc {
    /// The cyber-observable the value names (for `address:port`, the address).
    pub observable: Observable,
    /// The STIX pattern that detects it.
    pub pattern: Pattern,
    /// A short name for the indicator: the value, normalised.
    pub name: String,
    /// The port of an `address:port` endpoint.
    pub port: Option<u16>,
}

/// What the feed's `ioc_type` column says a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Any,
    Url,
    Domain,
    Ip,
    IpPort,
    Email,
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Expected {
    /// abuse.ch's type names and the obvious variants; anything else means "detect".
    fn from_type(ioc_type: Option<&str>) -> Expected {
        let Some(t) = ioc_type else {
            return Expected::Any;
        };
        match t
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "url" | "uri" => Expected::Url,
            "domain" | "domain_name" | "hostname" | "fqdn" => Expected::Domain,
            "ip" | "ipv4" | "ipv6" | "ip_addr" | "ip_address" | "ip_dst" | "ip_src" => Expected::Ip,
            "ip:port" | "ip_port" | "ipport" | "endpoint" => Expected::IpPort,
            "email" | "email_addr" | "email_address" => Expected::Email,
            "md5" | "md5_hash" => Expected::Md5,
            "sha1" | "sha1_hash" | "sha_1" => Expected::Sha1,
            "sha256" | "sha256_hash" | "sha_256" => Expected::Sha256,
            "sha512" | "sha512_hash" | "sha_512" => Expected::Sha512,
            _ => Expected::Any,
        }
    }

    fn accepts(self, kind: ObservableKind) -> bool {
        use ObservableKind as K;
        match self {
            Expected::Any => true,
            Expected::Url => kind == K::Url,
            Expected::Domain => kind == K::Domain,
            Expected::Ip => matches!(kind, K::Ipv4 | K::Ipv4Cidr | K::Ipv6 | K::Ipv6Cidr),
            Expected::IpPort => false,
            Expected::Email => kind == K::Email,
            Expected::Md5 => kind == K::Md5,
            Expected::Sha1 => kind == K::Sha1,
            Expected::Sha256 => kind == K::Sha256,
            Expected::Sha512 => kind == K::Sha512,
        }
    }
}

/// Reads `value`, checking it against `ioc_type` when the feed gives a type this
/// module knows. The error is a sentence naming the value.
pub fn interpret(value: &str, ioc_type: Option<&str>) -> Result<Ioc, String> {
    let text = refang(value.trim());
    if text.is_empty() {
        return Err("the indicator value is empty".to_string());
    }
    let expected = Expected::from_type(ioc_type);
    if matches!(expected, Expected::Any | Expected::IpPort) {
        if let Some((ip, port)) = split_endpoint(&text) {
            return endpoint(ip, port);
        }
        if expected == Expected::IpPort {
            return Err(format!("`{text}` is not an address:port endpoint"));
        }
    }
    let kind = classify(&text).ok_or_else(|| {
        format!("`{text}` is not a URL, domain, IP address, address:port, e-mail address or hash")
    })?;
    if !expected.accepts(kind) {
        let t = ioc_type.unwrap_or_default().trim();
        return Err(format!(
            "`{text}` does not fit its ioc_type `{t}` (it looks like a {})",
            kind.stix_type()
        ));
    }
    let (kind, normal) = match kind {
        ObservableKind::Domain
        | ObservableKind::Md5
        | ObservableKind::Sha1
        | ObservableKind::Sha256
        | ObservableKind::Sha512 => (kind, text.to_ascii_lowercase()),
        ObservableKind::Ipv6 | ObservableKind::Ipv6Cidr => ipv6(kind, &text)?,
        _ => (kind, text.clone()),
    };
    let observable = Observable::of_kind(kind, &normal).map_err(|e| e.to_string())?;
    let name = observable.value().unwrap_or(&normal).to_string();
    Ok(Ioc {
        pattern: observable.pattern(),
        observable,
        name,
        port: None,
    })
}

/// An `address:port` endpoint: the address observable, and a pattern on the network
/// traffic to it, as the STIX 2.1 specification writes one
/// (`[network-traffic:dst_ref.type = 'ipv4-addr' AND …]`).
fn endpoint(ip: IpAddr, port: u16) -> Result<Ioc, String> {
    let (observable, object_type, name) = match ip {
        IpAddr::V4(a) => (
            Observable::ipv4(&a.to_string()),
            "ipv4-addr",
            format!("{a}:{port}"),
        ),
        IpAddr::V6(a) => (
            Observable::ipv6(&a.to_string()),
            "ipv6-addr",
            format!("[{a}]:{port}"),
        ),
    };
    let observable = observable.map_err(|e| e.to_string())?;
    let address = ip.to_string();
    if address.contains('.') && object_type == "ipv6-addr" {
        return Err(format!(
            "`{name}` embeds an IPv4 address in IPv6, which STIX 2.1 output cannot carry"
        ));
    }
    let pattern = Pattern::other(
        "stix",
        format!(
            "[{} AND {} AND network-traffic:dst_port = {port}]",
            Comparison::equals("network-traffic", &["dst_ref", "type"], object_type).as_str(),
            Comparison::equals("network-traffic", &["dst_ref", "value"], &address).as_str(),
        ),
    );
    Ok(Ioc {
        observable,
        pattern,
        name,
        port: Some(port),
    })
}

/// An IPv6 address in canonical form. An IPv4-mapped address (`::ffff:198.51.100.1`)
/// becomes the IPv4 address it maps: the official STIX 2.1 schema's IPv6 pattern
/// rejects every dotted-quad form, so such a value would get the whole bundle refused.
fn ipv6(kind: ObservableKind, text: &str) -> Result<(ObservableKind, String), String> {
    if let Ok(addr) = text.parse::<Ipv6Addr>() {
        if let Some(v4) = addr.to_ipv4_mapped() {
            return Ok((ObservableKind::Ipv4, v4.to_string()));
        }
        let canonical = addr.to_string();
        if !canonical.contains('.') {
            return Ok((kind, canonical));
        }
    } else if !text.contains('.') {
        return Ok((kind, text.to_string()));
    }
    Err(format!(
        "`{text}` embeds an IPv4 address in IPv6, which STIX 2.1 output cannot carry"
    ))
}

/// `198.51.100.7:8080` or `[2001:db8::1]:443`; `None` for anything else.
fn split_endpoint(text: &str) -> Option<(IpAddr, u16)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (v6, port) = rest.split_once("]:")?;
        let v6: Ipv6Addr = v6.parse().ok()?;
        match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), port),
            None => (IpAddr::V6(v6), port),
        }
    } else {
        let (v4, port) = text.rsplit_once(':')?;
        (IpAddr::V4(v4.parse::<Ipv4Addr>().ok()?), port)
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Some((host, p)),
        _ => None,
    }
}

/// Undoes the usual defanging: `hxxp://` and `hxxps://`, `[.]`, `(.)`, `[:]`.
pub fn refang(text: &str) -> String {
    let mut out = text
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[:]", ":");
    let lower = out
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if lower.starts_with("hxxps://") {
        out.replace_range(..5, "https");
    } else if lower.starts_with("hxxp://") {
        out.replace_range(..4, "http");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(value: &str, ioc_type: Option<&str>) -> String {
        interpret(value, ioc_type)
            .unwrap()
            .pattern
            .as_str()
            .to_string()
    }

    #[test]
    fn every_kind_becomes_its_pattern() {
        let sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let cases = [
            (
                "http://198.51.100.23/bins/mozi.m",
                "[url:value = 'http://198.51.100.23/bins/mozi.m']",
            ),
            (
                "Login-Verify.Example.NET",
                "[domain-name:value = 'login-verify.example.net']",
            ),
            ("198.51.100.77", "[ipv4-addr:value = '198.51.100.77']"),
            ("203.0.113.0/24", "[ipv4-addr:value = '203.0.113.0/24']"),
            (
                "2001:DB8:0:0:0:0:dead:beef",
                "[ipv6-addr:value = '2001:db8::dead:beef']",
            ),
            (
                "d41d8cd98f00b204e9800998ecf8427e",
                "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
            ),
            (
                sha256,
                "[file:hashes.'SHA-256' = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08']",
            ),
            (
                "jdoe@example.com",
                "[email-addr:value = 'jdoe@example.com']",
            ),
        ];
        for (value, want) in cases {
            assert_eq!(pattern(value, None), want, "{value}");
        }
    }

    #[test]
    fn endpoints_become_network_traffic_patterns() {
        let ioc = interpret("203.0.113.45:8080", Some("ip:port")).unwrap();
        assert_eq!(
            ioc.pattern.as_str(),
            "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.45' AND network-traffic:dst_port = 8080]"
        );
        assert_eq!(ioc.pattern.pattern_type(), "stix");
        assert_eq!(ioc.observable.value(), Some("203.0.113.45"));
        assert_eq!(
            (ioc.name.as_str(), ioc.port),
            ("203.0.113.45:8080", Some(8080))
        );
        let v6 = interpret("[2001:db8:85a3::8a2e:370:7334]:443", None).unwrap();
        assert_eq!(v6.observable.object_type(), "ipv6-addr");
        assert!(v6.pattern.as_str().contains("dst_ref.type = 'ipv6-addr'"));
        assert!(
            v6.pattern
                .as_str()
                .ends_with("network-traffic:dst_port = 443]")
        );
        for bad in [
            "203.0.113.45:0",
            "203.0.113.45:70000",
            "203.0.113.45:",
            "evil.example:80",
        ] {
            assert!(interpret(bad, Some("ip:port")).is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_with_a_dotted_quad_is_mapped_or_refused() {
        assert_eq!(
            pattern("::ffff:198.51.100.1", Some("ipv6")),
            "[ipv4-addr:value = '198.51.100.1']"
        );
        // Other dotted forms are written in hex; networks cannot be rewritten.
        assert_eq!(
            pattern("64:ff9b::198.51.100.1", None),
            "[ipv6-addr:value = '64:ff9b::c633:6401']"
        );
        assert!(interpret("::ffff:198.51.100.0/120", None).is_err());
        assert_eq!(
            pattern("2001:db8::/32", None),
            "[ipv6-addr:value = '2001:db8::/32']"
        );
    }

    #[test]
    fn the_declared_type_must_fit() {
        assert!(interpret("evil.example", Some("md5_hash")).is_err());
        assert!(interpret("198.51.100.1", Some("domain")).is_err());
        assert!(interpret("198.51.100.1", Some("ip")).is_ok());
        assert!(interpret("198.51.100.1", Some("botnet_cc")).is_ok());
        let err = interpret("not an indicator", None).unwrap_err();
        assert!(err.contains("`not an indicator`"), "{err}");
        assert!(interpret("  ", None).is_err());
    }

    #[test]
    fn defanged_values_are_refanged() {
        assert_eq!(refang("hxxps://evil[.]example/a"), "https://evil.example/a");
        assert_eq!(refang("HXXP://evil(.)example"), "http://evil.example");
        assert_eq!(refang("198[.]51[.]100[.]1"), "198.51.100.1");
        assert_eq!(
            pattern("hxxp://evil[.]example/x", Some("url")),
            "[url:value = 'http://evil.example/x']"
        );
    }
}
