//! The outbound-HTTP policy: which origins a call may reach, at which addresses,
//! and which credential the host adds. Plain data and pure functions, unit-tested
//! here; the transport that applies it lives in `outbound`.
//!
//! A request is sent only when all of these hold, checked in this order:
//! 1. its URL is an absolute `http`/`https` URL without user info;
//! 2. its origin (scheme, host, port) matches a host the connector's manifest
//!    **declares**;
//! 3. it matches a pattern the admin **granted** to the deployment;
//! 4. every address the host name resolves to is checked again, and the request
//!    connects only to an address that passed: loopback, private, link-local
//!    (which holds the cloud metadata endpoints), shared (CGNAT), multicast,
//!    documentation and reserved ranges are refused unless the deployment was
//!    granted a network containing the address ([`Grants::private_networks`]).
//!    A host pattern alone never opens a private address, not even an IP literal:
//!    a DNS name that an attacker points at 127.0.0.1 and a literal `127.0.0.1`
//!    are refused alike until an admin grants that network.
//!
//! Threats this answers: a connector exfiltrating data to a host it never declared;
//! a vendor declaring more than the admin wants to allow; server-side request
//! forgery into the node's own network or its cloud metadata service, including by
//! DNS rebinding (the checked address is the one connected to, there is no second
//! lookup).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use airlock_sdk::http::{Origin, OriginPattern};
use ipnet::IpNet;

mod parse;
pub use parse::{Refusal, origin_text, parse_url};

use super::bindings::airlock::connector::types::{Credential, Manifest};

/// What the admin granted a deployment beyond its manifest. The default grants
/// nothing: no host is reachable, no private network, no secrets.
#[derive(Clone, Default)]
pub struct Grants {
    /// Granted outbound host patterns, `scheme://host[:port]` with an optional `*.`
    /// host prefix and `:*` for any port. Each must also be declared by the
    /// manifest; an empty list means no host may be reached.
    pub outbound_hosts: Vec<String>,
    /// Non-public networks the deployment may connect to (e.g. `10.20.0.0/16` for an
    /// internal ticketing system, `127.0.0.1/32` for a local test server). Empty:
    /// every loopback, private, link-local and otherwise special address is refused.
    pub private_networks: Vec<IpNet>,
    /// The deployment's secrets, by name: the values the declared credentials draw on.
    /// The host adds them to requests; the guest never sees them.
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secret values never reach a log line, not even through Debug.
        f.debug_struct("Grants")
            .field("outbound_hosts", &self.outbound_hosts)
            .field("private_networks", &self.private_networks)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A host the manifest declares, parsed once when the component loads.
#[derive(Debug, Clone)]
pub struct DeclaredHost {
    pattern: OriginPattern,
    credential: Option<Credential>,
}

/// The manifest's declared hosts, shared by every call of one component.
pub type Declared = Arc<[DeclaredHost]>;

/// Parses the manifest's outbound hosts; a malformed pattern is left out (it can
/// never match, and the registry refuses such a manifest at upload).
pub fn declared_hosts(manifest: &Manifest) -> Declared {
    manifest
        .outbound_hosts
        .iter()
        .filter_map(|h| {
            OriginPattern::parse(&h.pattern)
                .ok()
                .map(|pattern| DeclaredHost {
                    pattern,
                    credential: h.credential.clone(),
                })
        })
        .collect()
}

/// Where a request may go: its origin, the URL to send, and the credential the
/// host adds.
#[derive(Debug, Clone)]
pub struct Route {
    /// The request's origin, as the HTTP client's own URL parser reads it.
    pub origin: Origin,
    /// The URL to send: the guest's URL as that parser read it, serialised again.
    /// The client parses this text to the same host, so what was judged is what is
    /// connected to — never the guest's raw text, which another parser could read
    /// differently (a `\` ends the host for one and not for another).
    pub url: String,
    /// The credential the declaration attaches, if any.
    pub credential: Option<Credential>,
}

/// One call's egress policy.
#[derive(Clone)]
pub struct Egress {
    transport: Arc<super::outbound::Transport>,
    declared: Declared,
    granted: Vec<OriginPattern>,
    private_networks: Vec<IpNet>,
    secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for Egress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As for `Grants`: secret names, never values.
        f.debug_struct("Egress")
            .field("declared", &self.declared)
            .field("granted", &self.granted)
            .field("private_networks", &self.private_networks)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Egress {
    /// The policy for a call of a component declaring `declared`, under `grants`.
    /// Granted patterns that do not parse are ignored (they can match nothing).
    pub fn new(declared: Declared, grants: Grants) -> Self {
        Egress {
            transport: Arc::default(),
            declared,
            granted: grants
                .outbound_hosts
                .iter()
                .filter_map(|p| OriginPattern::parse(p).ok())
                .collect(),
            private_networks: grants.private_networks,
            secrets: grants.secrets,
        }
    }

    /// This policy sending through `transport` (extra roots, address overrides).
    pub fn with_transport(mut self, transport: Arc<super::outbound::Transport>) -> Self {
        self.transport = transport;
        self
    }

    /// How requests are sent.
    pub fn transport(&self) -> &super::outbound::Transport {
        &self.transport
    }

    /// A policy that allows nothing.
    pub fn none() -> Self {
        Egress::new(Arc::from(Vec::new()), Grants::default())
    }

    /// Checks a URL against the declarations and the grants (rules 1–3).
    pub fn route(&self, url: &str) -> Result<Route, Refusal> {
        let (origin, url) = parse_url(url)?;
        let shown = origin_text(&origin);
        let Some(declared) = self.declared.iter().find(|d| d.pattern.matches(&origin)) else {
            return Err(Refusal::Denied(format!(
                "{shown} is not among the outbound hosts this connector declares"
            )));
        };
        if !self.granted.iter().any(|g| g.matches(&origin)) {
            return Err(Refusal::Denied(format!(
                "{shown} is declared but was not granted to this deployment by an admin"
            )));
        }
        Ok(Route {
            origin,
            url,
            credential: declared.credential.clone(),
        })
    }

    /// Checks one resolved address (rule 4).
    pub fn check_address(&self, ip: IpAddr) -> Result<(), String> {
        match special_range(ip) {
            None => Ok(()),
            Some(_) if self.private_networks.iter().any(|n| n.contains(&ip)) => Ok(()),
            Some(kind) => Err(format!(
                "{ip} is a {kind} address, which this deployment was not granted"
            )),
        }
    }

    /// The value of a secret the credential names.
    pub fn secret(&self, name: &str) -> Result<&str, Refusal> {
        self.secrets.get(name).map(String::as_str).ok_or_else(|| {
            Refusal::Denied(format!(
                "the credential needs the secret `{name}`, which this deployment does not have"
            ))
        })
    }
}

/// The kind of non-public range `ip` is in, or `None` for a public address.
pub fn special_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata (link-local)",
        (0, _, _) => "\"this network\" (0.0.0.0/8)",
        (127, _, _) => "loopback",
        (10, _, _) | (192, 168, _) => "private",
        (172, 16..=31, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // Addresses that embed an IPv4 address reach that address: judge it instead.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return special_v4(Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7])));
    }
    if s[0] == 0x2002 {
        return special_v4(Ipv4Addr::from((u32::from(s[1]) << 16) | u32::from(s[2])));
    }
    Some(match s[0] {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        // ::/96 (IPv4-compatible, deprecated) and the rest of ::/8.
        0 if s[1..6] == [0; 5] => "reserved (IPv4-compatible)",
        0x0000..=0x00ff => "reserved",
        0x0100 if s[1..4] == [0; 3] => "discard-only",
        0xfc00..=0xfdff => "private (unique local)",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local (deprecated)",
        0xff00..=0xffff => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x2001 if s[1] < 0x0200 => "IETF protocol assignment",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::airlock::connector::types::HeaderCredential;

    fn declared(patterns: &[(&str, Option<Credential>)]) -> Declared {
        patterns
            .iter()
            .map(|(p, c)| DeclaredHost {
                pattern: OriginPattern::parse(p).unwrap(),
                credential: c.clone(),
            })
            .collect()
    }

    fn grants(hosts: &[&str], networks: &[&str]) -> Grants {
        Grants {
            outbound_hosts: hosts.iter().map(|s| s.to_string()).collect(),
            private_networks: networks.iter().map(|n| n.parse().unwrap()).collect(),
            secrets: BTreeMap::from([("token".to_string(), "s3cret".to_string())]),
        }
    }

    /// The origin the HTTP client connects to for `url` (what ureq does with it).
    fn connected(url: &str) -> (String, u16) {
        let u = url::Url::parse(url).unwrap();
        let host = match u.host().unwrap() {
            url::Host::Domain(d) => d.to_string(),
            url::Host::Ipv4(v4) => v4.to_string(),
            url::Host::Ipv6(v6) => v6.to_string(),
        };
        (host, u.port_or_known_default().unwrap())
    }

    #[test]
    fn a_url_is_judged_as_the_client_reads_it() {
        let egress = Egress::new(
            declared(&[
                ("http://*.allowed.test:48127", None),
                ("https://*.abuse.ch", None),
            ]),
            grants(&["http://*.allowed.test:48127", "https://*.abuse.ch"], &[]),
        );
        // The finding: a backslash ends the host for the client, not for a
        // hand-written split at `/ ? #`. Judged as the client reads it, the host is
        // 127.0.0.1 or attacker.example, neither declared.
        for attack in [
            "http://127.0.0.1:48127\\.allowed.test:48127/",
            "https://attacker.example\\.abuse.ch/",
            "https://attacker.example\\@x.abuse.ch/",
            "https://x.abuse.ch@attacker.example/",
            "https://attacker.example%2F.abuse.ch/",
            "https://attacker.example#.abuse.ch/",
            "https://attacker.example?.abuse.ch/",
            "https://attacker.example/.abuse.ch/",
            "https://urlhaus.abuse.ch./",
            "https://user:pw@urlhaus.abuse.ch/",
            "ftp://urlhaus.abuse.ch/",
        ] {
            let r = egress.route(attack);
            assert!(r.is_err(), "{attack} was allowed: {r:?}");
        }
        // Case, IDNA and percent-encoding are normalised before matching.
        let r = egress.route("HTTPS://URLhaus.Abuse.CH/api?x=1").unwrap();
        assert_eq!(r.origin.host, "urlhaus.abuse.ch");
        assert_eq!(r.url, "https://urlhaus.abuse.ch/api?x=1");
        let r = egress.route("https://urlhaus%2Eabuse.ch/").unwrap();
        assert_eq!(r.origin.host, "urlhaus.abuse.ch");
        // Sloppy forms the WHATWG parser completes are judged as completed (and sent
        // as judged).
        let r = egress.route("https:urlhaus.abuse.ch").unwrap();
        assert_eq!(r.url, "https://urlhaus.abuse.ch/");
    }

    #[test]
    fn no_url_is_judged_one_host_and_connected_to_another() {
        // Pieces a hostile guest combines; every URL the policy lets through must be
        // connected to exactly the origin it judged.
        let hosts = [
            "x.allowed.test",
            "127.0.0.1",
            "0x7f.1",
            "2130706433",
            "[::1]",
            "XN--BCHER-KVA.allowed.test",
            "bücher.allowed.test",
            "a%2Eallowed.test",
        ];
        let seps = [
            "", "\\", "/", "@", "#", "?", "%5C", "\t", " ", ";", ":48127",
        ];
        let tails = [
            "",
            ".allowed.test",
            ".allowed.test:48127",
            "/p",
            "\\.allowed.test/",
        ];
        let egress = Egress::new(
            declared(&[("http://*.allowed.test:*", None)]),
            grants(&["http://*.allowed.test:*"], &[]),
        );
        let mut allowed = 0;
        for h in hosts {
            for s in seps {
                for t in tails {
                    for scheme in ["http://", "HTTP://", "http:/", "http:\\\\"] {
                        let url = format!("{scheme}{h}{s}{t}");
                        if let Ok(route) = egress.route(&url) {
                            allowed += 1;
                            let (host, port) = connected(&route.url);
                            assert_eq!(
                                (host.trim_matches(['[', ']']).to_string(), port),
                                (route.origin.host.clone(), route.origin.port),
                                "{url}"
                            );
                            assert!(route.origin.host.ends_with(".allowed.test"), "{url}");
                        }
                    }
                }
            }
        }
        assert!(allowed > 0, "the corpus allowed nothing: it tests nothing");
    }

    #[test]
    fn a_request_needs_a_declaration_and_a_grant() {
        let key = Credential::Header(HeaderCredential {
            header: "X-Api-Key".into(),
            secret: "token".into(),
        });
        let egress = Egress::new(
            declared(&[
                ("https://*.abuse.ch", Some(key)),
                ("https://api.example.com", None),
            ]),
            grants(&["https://urlhaus.abuse.ch"], &[]),
        );
        let route = egress.route("https://urlhaus.abuse.ch/v1/urls").unwrap();
        assert!(matches!(route.credential, Some(Credential::Header(_))));
        for (url, says) in [
            ("https://threatfox.abuse.ch/", "not granted"),
            ("https://api.example.com/", "not granted"),
            ("https://evil.example.net/", "not among"),
            ("http://urlhaus.abuse.ch/", "not among"),
            ("https://urlhaus.abuse.ch:8443/", "not among"),
        ] {
            match egress.route(url) {
                Err(Refusal::Denied(m)) => assert!(m.contains(says), "{url}: {m}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        for bad in ["/relative", "ftp://x/", "https://user:pw@urlhaus.abuse.ch/"] {
            assert!(
                matches!(egress.route(bad), Err(Refusal::Invalid(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Egress::none().route("https://urlhaus.abuse.ch/"),
            Err(Refusal::Denied(_))
        ));
    }

    #[test]
    fn special_addresses_are_refused_unless_their_network_is_granted() {
        let egress = Egress::new(declared(&[]), grants(&[], &[]));
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::127.0.0.1",
            "ff02::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(egress.check_address(ip).is_err(), "{ip} must be refused");
        }
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(egress.check_address(ip).is_ok(), "{ip} is public");
        }
        let msg = egress
            .check_address("169.254.169.254".parse().unwrap())
            .unwrap_err();
        assert!(msg.contains("cloud metadata"), "{msg}");

        let egress = Egress::new(
            declared(&[]),
            grants(&[], &["127.0.0.1/32", "10.20.0.0/16"]),
        );
        assert!(egress.check_address("127.0.0.1".parse().unwrap()).is_ok());
        assert!(egress.check_address("10.20.3.4".parse().unwrap()).is_ok());
        assert!(egress.check_address("127.0.0.2".parse().unwrap()).is_err());
        assert!(egress.check_address("10.21.0.1".parse().unwrap()).is_err());
        assert!(
            egress
                .check_address("169.254.169.254".parse().unwrap())
                .is_err()
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let text = format!("{:?}", grants(&[], &[]));
        assert!(text.contains("token") && !text.contains("s3cret"), "{text}");
        let text = format!("{:?}", Egress::new(declared(&[]), grants(&[], &[])));
        assert!(text.contains("token") && !text.contains("s3cret"), "{text}");
    }
}
