//! Any text as a guest's URL: the egress policy's reading (`parse_url`) never
//! disagrees with the HTTP client's. Every URL it accepts is parsed again as the
//! client (ureq, through the `url` crate) parses the text it is handed, and must give
//! the same scheme, host and port; the text must be stable under another round.
#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../host/src/runtime/egress/parse.rs"]
mod parse;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((origin, sent)) = parse::parse_url(text) else {
        return;
    };
    let client = url::Url::parse(&sent).expect("the URL sent must parse");
    let host = match client.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(v4)) => v4.to_string(),
        Some(url::Host::Ipv6(v6)) => v6.to_string(),
        None => panic!("no host in {sent:?} from {text:?}"),
    };
    assert_eq!(client.scheme(), origin.scheme, "{text:?}");
    assert_eq!(host, origin.host, "{text:?} → {sent:?}");
    assert_eq!(client.port_or_known_default(), Some(origin.port), "{text:?}");
    assert!(client.username().is_empty() && client.password().is_none(), "{text:?}");
    let (again, resent) = parse::parse_url(&sent).expect("the URL sent is accepted again");
    assert_eq!((again, resent.as_str()), (origin, sent.as_str()), "{text:?}");
});
