//! Polls the NWS-style fixture in `tests/fixtures/` through the SDK's harness (the
//! same entry points the component exports) and checks every emitted alert against
//! the official CAP 1.2 XSD with xmllint, plus the field mapping, the cursor,
//! conditional requests, retries and the config checks.
//!
//! These tests live in the library (not in `tests/`) because the crate is a
//! `cdylib` only: see the comment in `Cargo.toml`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{CapAlerts, DEFAULT_FEED_URL, state::MAX_REMEMBERED};
use airlock_sdk::log::Level;
use airlock_sdk::prelude::*;
use airlock_sdk::testing::{Harness, MockResponse};

const XSD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/standards/cap1.2/schema/CAP-v1.2.xsd"
);
const FIXTURE: &str = include_str!("../tests/fixtures/nws-active.json");
const UA: &str = "(airlock-tests.example.org, ops@example.org)";

const SVR: &str = "urn:oid:2.49.0.1.840.0.7c1f3a9e52d04b6f8e21a0b9c3d4e5f60718293a.001.1";
const SVR_UPDATE: &str = "urn:oid:2.49.0.1.840.0.7c1f3a9e52d04b6f8e21a0b9c3d4e5f60718293a.002.1";
const FLOOD: &str = "urn:oid:2.49.0.1.840.0.19a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4.001.1";
const CANCEL: &str = "urn:oid:2.49.0.1.840.0.e0d1c2b3a495867768594a3b2c1d0e0f1a2b3c4d.003.1";
const HEAT: &str = "urn:oid:2.49.0.1.840.0.5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b.001.1";
const BROKEN: &str = "urn:oid:2.49.0.1.840.0.badbadbadbadbadbadbadbadbadbadbadbadbad0.001.1";

/// Runs xmllint against the CAP 1.2 XSD: `None` when `xml` is valid, else its
/// complaint. A missing xmllint fails the test: the check must never be skipped.
fn xsd_errors(xml: &str) -> Option<String> {
    assert!(
        std::path::Path::new(XSD).is_file(),
        "the CAP 1.2 XSD is missing at {XSD}"
    );
    let mut child = match Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", XSD, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "xmllint is not installed, so CAP output cannot be checked against the XSD: \
             apt-get install libxml2-utils"
        ),
        Err(e) => panic!("cannot run xmllint: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        None
    } else {
        Some(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The text of the first element `name` of `xml`, read back by libxml2 (so
/// escapes are undone as any CAP consumer would).
fn xpath_text(xml: &str, name: &str) -> String {
    let mut child = Command::new("xmllint")
        .args([
            "--nonet",
            "--xpath",
            &format!("string(//*[local-name()='{name}'])"),
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("xmllint is needed: apt-get install libxml2-utils");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "xmllint --xpath failed");
    let text = String::from_utf8(out.stdout).unwrap();
    // xmllint ends what it prints with a newline of its own.
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

/// Every `<name>…</name>` text of `xml`, as written (escaped).
fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let end = after.find(&close).unwrap();
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

fn config() -> Value {
    json!({"user_agent": UA})
}

fn harness(config: Value) -> Harness<CapAlerts> {
    Harness::new(CapAlerts).config(config)
}

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap()
}

fn respond_json(h: &Harness<CapAlerts>, url: &str, body: &Value) {
    h.host()
        .respond("GET", url, MockResponse::ok(body.to_string()));
}

/// Polls the fixture once and returns the emitted XML documents by identifier.
fn poll_fixture(h: &Harness<CapAlerts>) -> (PollResult, Vec<(String, String)>) {
    h.host()
        .respond("GET", DEFAULT_FEED_URL, fixture_response());
    let result = h.poll(None).unwrap();
    (result, emitted_docs(h))
}

/// The fixture as the NWS API serves it, with its validators.
fn fixture_response() -> MockResponse {
    MockResponse::ok(FIXTURE)
        .header("content-type", "application/geo+json")
        .header("last-modified", "Tue, 06 May 2025 23:05:00 GMT")
        .header("etag", "\"nws-7f3a\"")
}

fn emitted_docs(h: &Harness<CapAlerts>) -> Vec<(String, String)> {
    h.host()
        .emitted()
        .iter()
        .map(|o| {
            assert_eq!(o.standard, OutputStandard::Cap12);
            assert_eq!(o.media_type, "application/cap+xml");
            let xml = o.body_str().unwrap().to_string();
            let id = elements(&xml, "identifier")[0].to_string();
            (id, xml)
        })
        .collect()
}

fn doc<'a>(docs: &'a [(String, String)], id: &str) -> &'a str {
    &docs
        .iter()
        .find(|(i, _)| i == id)
        .unwrap_or_else(|| panic!("{id} was not emitted"))
        .1
}

#[test]
fn every_emitted_alert_validates_against_the_cap_xsd() {
    let h = harness(config());
    let (result, docs) = poll_fixture(&h);
    assert!(
        result.outputs.is_empty(),
        "alerts are emitted, not returned"
    );
    assert!(!result.more);
    let ids: Vec<&str> = docs.iter().map(|(id, _)| id.as_str()).collect();
    // Oldest `sent` first; the malformed feature is left out.
    assert_eq!(ids, [HEAT, CANCEL, FLOOD, SVR, SVR_UPDATE]);
    for (id, xml) in &docs {
        assert_eq!(xsd_errors(xml), None, "{id} is not valid CAP 1.2:\n{xml}");
    }
}

#[test]
fn the_xsd_check_fails_on_broken_documents() {
    let h = harness(config());
    let (_, docs) = poll_fixture(&h);
    let good = doc(&docs, SVR);
    for (what, broken) in [
        (
            "an unknown msgType",
            good.replace("<msgType>Alert</msgType>", "<msgType>Bulletin</msgType>"),
        ),
        (
            "a `Z` timestamp",
            good.replace("2025-05-06T22:42:00+00:00", "2025-05-06T22:42:00Z"),
        ),
        (
            "elements out of order",
            good.replace(
                "<status>Actual</status><msgType>Alert</msgType>",
                "<msgType>Alert</msgType><status>Actual</status>",
            ),
        ),
        (
            "a missing sender",
            good.replace("<sender>w-nws.webmaster@noaa.gov</sender>", ""),
        ),
        ("text that is not XML", good.replace("</alert>", "")),
    ] {
        assert_ne!(broken, good, "{what}: the fixture changed");
        assert!(
            xsd_errors(&broken).is_some(),
            "xmllint accepted {what}:\n{broken}"
        );
    }
}

#[test]
fn geojson_positions_become_lat_lon_polygons() {
    let h = harness(config());
    let (_, docs) = poll_fixture(&h);
    assert_eq!(
        elements(doc(&docs, SVR), "polygon"),
        ["35.41,-97.62 35.41,-97.35 35.62,-97.3 35.66,-97.58 35.41,-97.62"]
    );
    // The update carries its own, smaller polygon.
    assert_eq!(
        elements(doc(&docs, SVR_UPDATE), "polygon"),
        ["35.47,-97.48 35.47,-97.31 35.61,-97.29 35.63,-97.46 35.47,-97.48"]
    );
    for (_, xml) in &docs {
        for polygon in elements(xml, "polygon") {
            for point in polygon.split(' ') {
                let (lat, lon) = point.split_once(',').unwrap();
                let (lat, lon): (f64, f64) = (lat.parse().unwrap(), lon.parse().unwrap());
                // The fixture is all in the contiguous US: north, west.
                assert!((24.0..50.0).contains(&lat), "latitude {lat} in {polygon}");
                assert!(
                    (-125.0..-66.0).contains(&lon),
                    "longitude {lon} in {polygon}"
                );
            }
        }
    }
    assert!(elements(doc(&docs, FLOOD), "polygon").is_empty());
}

#[test]
fn msg_types_and_references_follow_the_feed() {
    let h = harness(config());
    let (_, docs) = poll_fixture(&h);
    let svr = doc(&docs, SVR);
    assert_eq!(elements(svr, "msgType"), ["Alert"]);
    assert!(elements(svr, "references").is_empty());
    let update = doc(&docs, SVR_UPDATE);
    assert_eq!(elements(update, "msgType"), ["Update"]);
    assert_eq!(
        elements(update, "references"),
        [format!(
            "w-nws.webmaster@noaa.gov,{SVR},2025-05-06T22:42:00+00:00"
        )]
    );
    let cancel = doc(&docs, CANCEL);
    assert_eq!(elements(cancel, "msgType"), ["Cancel"]);
    assert_eq!(
        elements(cancel, "references"),
        [
            "w-nws.webmaster@noaa.gov,urn:oid:2.49.0.1.840.0.e0d1c2b3a495867768594a3b2c1d0e0f1a2b3c4d.001.1,2025-05-06T08:12:00+00:00 \
          w-nws.webmaster@noaa.gov,urn:oid:2.49.0.1.840.0.e0d1c2b3a495867768594a3b2c1d0e0f1a2b3c4d.002.1,2025-05-06T14:40:00+00:00"
        ]
    );
    assert_eq!(elements(cancel, "responseType"), ["AllClear"]);
    for (_, xml) in &docs {
        assert_eq!(elements(xml, "status"), ["Actual"]);
        assert_eq!(elements(xml, "scope"), ["Public"]);
        assert_eq!(elements(xml, "sender"), ["w-nws.webmaster@noaa.gov"]);
        assert_eq!(elements(xml, "category"), ["Met"]);
        assert_eq!(elements(xml, "language"), ["en-US"]);
    }
}

#[test]
fn geocodes_event_codes_and_parameters_are_carried() {
    let h = harness(config());
    let (_, docs) = poll_fixture(&h);
    let flood = doc(&docs, FLOOD);
    assert_eq!(elements(flood, "areaDesc"), ["Bowie; Cass; Red River"]);
    assert_eq!(
        elements(flood, "geocode"),
        [
            "<valueName>SAME</valueName><value>048037</value>",
            "<valueName>SAME</valueName><value>048067</value>",
            "<valueName>SAME</valueName><value>048387</value>",
            "<valueName>UGC</valueName><value>TXZ096</value>",
            "<valueName>UGC</valueName><value>TXZ097</value>",
            "<valueName>UGC</valueName><value>TXZ098</value>",
        ]
    );
    // The flood watch has its event codes under `parameters.eventCode`.
    assert_eq!(
        elements(flood, "eventCode"),
        [
            "<valueName>NationalWeatherService</valueName><value>FAA</value>",
            "<valueName>SAME</valueName><value>FFA</value>",
        ]
    );
    let params = elements(flood, "parameter");
    assert!(params.contains(&"<valueName>VTEC</valueName><value>/O.NEW.KSHV.FA.A.0007.250507T1200Z-250508T1200Z/</value>"), "{params:?}");
    assert!(params.contains(&"<valueName>NWSheadline</valueName><value>FLOOD WATCH IN EFFECT FROM WEDNESDAY MORNING THROUGH THURSDAY MORNING</value>"), "{params:?}");
    assert!(
        params.contains(
            &"<valueName>eventEndingTime</valueName><value>2025-05-08T12:00:00+00:00</value>"
        ),
        "{params:?}"
    );
    assert!(
        !params.iter().any(|p| p.contains("eventCode")),
        "{params:?}"
    );
    assert_eq!(elements(flood, "responseType"), ["Prepare"]);

    let svr = doc(&docs, SVR);
    assert_eq!(
        elements(svr, "eventCode"),
        [
            "<valueName>NationalWeatherService</valueName><value>SVW</value>",
            "<valueName>SAME</valueName><value>SVR</value>",
        ]
    );
    assert_eq!(elements(svr, "geocode").len(), 4);
    assert_eq!(
        elements(svr, "web"),
        [format!("https://api.weather.gov/alerts/{SVR}")]
    );
    let svr_params = elements(svr, "parameter");
    assert!(
        svr_params.contains(&"<valueName>BLOCKCHANNEL</valueName><value>CMAS</value>"),
        "{svr_params:?}"
    );
    // The feed's own eventEndingTime wins over `ends`.
    assert_eq!(
        svr_params
            .iter()
            .filter(|p| p.contains("eventEndingTime"))
            .count(),
        1
    );
}

#[test]
fn timestamps_are_utc_with_plus_00_00() {
    let h = harness(config());
    let (_, docs) = poll_fixture(&h);
    let svr = doc(&docs, SVR);
    assert_eq!(elements(svr, "sent"), ["2025-05-06T22:42:00+00:00"]);
    assert_eq!(elements(svr, "effective"), ["2025-05-06T22:42:00+00:00"]);
    assert_eq!(elements(svr, "onset"), ["2025-05-06T22:42:00+00:00"]);
    assert_eq!(elements(svr, "expires"), ["2025-05-06T23:30:00+00:00"]);
    let heat = doc(&docs, HEAT);
    assert_eq!(elements(heat, "sent"), ["2025-05-06T17:20:00+00:00"]);
    assert_eq!(elements(heat, "onset"), ["2025-05-07T16:00:00+00:00"]);
    // The cancel has `onset: null`: no element rather than an empty one.
    assert!(elements(doc(&docs, CANCEL), "onset").is_empty());
    for (_, xml) in &docs {
        for name in ["sent", "effective", "onset", "expires"] {
            for t in elements(xml, name) {
                assert!(t.ends_with("+00:00") && t.len() == 25, "{name} {t}");
            }
        }
    }
}

#[test]
fn special_characters_and_non_ascii_survive_escaping() {
    let h = harness(config());
    let (_, docs) = poll_fixture(&h);
    let heat = doc(&docs, HEAT);
    let feed = fixture();
    let original = feed["features"][4]["properties"]["description"]
        .as_str()
        .unwrap();
    assert!(original.contains('&') && original.contains('<') && original.contains('í'));
    let written = elements(heat, "description")[0];
    assert!(
        written.contains("Temperatures &gt; 105°F &amp; heat index values &lt; 112°F"),
        "{written}"
    );
    assert!(
        written.contains("&lt;No se exponga al sol&gt;"),
        "{written}"
    );
    // Read back by a real XML parser, the text is exactly the feed's.
    assert_eq!(xpath_text(heat, "description"), original);
    assert_eq!(
        xpath_text(heat, "areaDesc"),
        "El Paso; Ciudad Juárez & Río Grande Valley"
    );
    assert_eq!(
        xpath_text(heat, "instruction"),
        "Drink plenty of fluids, stay in an air-conditioned room & out of the sun."
    );
}

#[test]
fn unknown_spellings_map_to_unknown() {
    let h = harness(config());
    let (_, docs) = poll_fixture(&h);
    let heat = doc(&docs, HEAT);
    // "Probable" is no CAP certainty; "expected" is Expected spelt in lowercase.
    assert_eq!(elements(heat, "certainty"), ["Unknown"]);
    assert_eq!(elements(heat, "urgency"), ["Expected"]);
    assert_eq!(elements(heat, "severity"), ["Moderate"]);
    assert_eq!(elements(heat, "responseType"), ["Execute"]);
}

#[test]
fn a_malformed_feature_is_skipped_with_a_warning_naming_it() {
    let h = harness(config());
    let (first, docs) = poll_fixture(&h);
    assert!(docs.iter().all(|(id, _)| id != BROKEN));
    let warnings: Vec<_> = h
        .host()
        .logs()
        .into_iter()
        .filter(|l| l.level == Level::Warn)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains(BROKEN), "{warnings:?}");
    assert!(warnings[0].message.contains("`sent`"), "{warnings:?}");
    assert!(
        warnings[0]
            .fields
            .contains(&("id".to_string(), BROKEN.to_string()))
    );
    // Remembered: the next poll of the same feed does not warn again.
    h.poll(first.next_cursor.as_deref()).unwrap();
    let warnings = h
        .host()
        .logs()
        .iter()
        .filter(|l| l.level == Level::Warn)
        .count();
    assert_eq!(warnings, 1);
}

#[test]
fn updates_and_cancels_without_references_are_skipped_with_a_warning() {
    let mut feed = fixture();
    feed["features"][2]["properties"]["references"] = json!([]);
    feed["features"][3]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("references");
    let h = harness(config());
    respond_json(&h, DEFAULT_FEED_URL, &feed);
    h.poll(None).unwrap();
    let ids: Vec<String> = emitted_docs(&h).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [HEAT, FLOOD, SVR]);
    let warnings: Vec<String> = h
        .host()
        .logs()
        .into_iter()
        .filter(|l| l.level == Level::Warn)
        .map(|l| l.message)
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    for id in [SVR_UPDATE, CANCEL] {
        let line = warnings.iter().find(|w| w.contains(id)).unwrap();
        assert!(line.contains("without `references`"), "{line}");
    }
}

#[test]
fn the_second_poll_with_the_cursor_emits_nothing_new() {
    let h = harness(config());
    let (first, docs) = poll_fixture(&h);
    assert_eq!(docs.len(), 5);
    let cursor = first.next_cursor.unwrap();
    // The same feed again, as a 200 (a server that ignores the validators).
    let second = h.poll(Some(&cursor)).unwrap();
    assert_eq!(h.host().emitted().len(), 5, "nothing emitted twice");
    assert!(second.outputs.is_empty());
    let warnings = h
        .host()
        .logs()
        .iter()
        .filter(|l| l.level == Level::Warn)
        .count();
    assert_eq!(warnings, 1, "the malformed feature is reported once");

    // A new alert appears: only it is emitted.
    let mut feed = fixture();
    let mut fresh = feed["features"][1].clone();
    fresh["properties"]["id"] = json!("urn:oid:2.49.0.1.840.0.fresh.001.1");
    fresh["properties"]["sent"] = json!("2025-05-06T23:30:00-05:00");
    feed["features"].as_array_mut().unwrap().push(fresh);
    let h2 = harness(config());
    respond_json(&h2, DEFAULT_FEED_URL, &feed);
    let third = h2.poll(second.next_cursor.as_deref()).unwrap();
    let ids: Vec<String> = emitted_docs(&h2).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["urn:oid:2.49.0.1.840.0.fresh.001.1"]);
    let cursor: Value = serde_json::from_str(third.next_cursor.as_deref().unwrap()).unwrap();
    assert_eq!(cursor["emitted"].as_array().unwrap().len(), 6);
    assert_eq!(cursor["skipped"].as_array().unwrap().len(), 1);
}

#[test]
fn not_modified_emits_nothing_and_the_validators_are_sent() {
    let h = harness(config());
    // Queued before the first poll: the mock keeps serving a response that was the
    // last in its queue, so one queued after it would never be reached.
    h.host()
        .respond("GET", DEFAULT_FEED_URL, fixture_response())
        .respond("GET", DEFAULT_FEED_URL, MockResponse::status(304));
    let first = h.poll(None).unwrap();
    assert_eq!(h.host().emitted().len(), 5);
    let cursor = first.next_cursor.unwrap();
    let second = h.poll(Some(&cursor)).unwrap();
    assert!(second.outputs.is_empty());
    assert_eq!(second.next_cursor, None, "a 304 keeps the cursor");
    assert!(!second.more);
    assert_eq!(h.host().emitted().len(), 5, "nothing new after the 304");
    let requests = h.host().requests();
    assert_eq!(requests.len(), 2);
    let header = |i: usize, name: &str| {
        requests[i]
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header(0, "if-modified-since"), None);
    assert_eq!(header(0, "if-none-match"), None);
    assert_eq!(
        header(1, "if-modified-since").as_deref(),
        Some("Tue, 06 May 2025 23:05:00 GMT")
    );
    assert_eq!(header(1, "if-none-match").as_deref(), Some("\"nws-7f3a\""));
}

#[test]
fn changing_the_filter_drops_the_validators() {
    let h = harness(config());
    let (first, _) = poll_fixture(&h);
    let h2 = harness(json!({"user_agent": UA, "min_severity": "Extreme"}));
    respond_json(&h2, DEFAULT_FEED_URL, &fixture());
    h2.poll(first.next_cursor.as_deref()).unwrap();
    let sent = &h2.host().requests()[0];
    assert!(
        !sent.headers.iter().any(|(k, _)| k.starts_with("if-")),
        "{:?}",
        sent.headers
    );
}

#[test]
fn a_503_is_retried_then_the_feed_is_read() {
    let h = harness(config());
    h.host().respond(
        "GET",
        DEFAULT_FEED_URL,
        MockResponse::status(503).header("retry-after", "2"),
    );
    h.host()
        .respond("GET", DEFAULT_FEED_URL, MockResponse::ok(FIXTURE));
    let result = h.poll(None).unwrap();
    assert!(result.next_cursor.is_some());
    assert_eq!(h.host().requests().len(), 2);
    assert_eq!(h.host().sleeps(), [2000]);
    assert_eq!(h.host().emitted().len(), 5);
}

#[test]
fn persistent_errors_are_upstream_or_rate_limit_errors() {
    let h = harness(config());
    h.host()
        .respond("GET", DEFAULT_FEED_URL, MockResponse::status(503));
    match h.poll(None).unwrap_err() {
        Error::Upstream(e) => assert_eq!(e.status, Some(503)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.host().requests().len(),
        4,
        "the client's default 4 attempts"
    );
    let h = harness(config());
    h.host().respond(
        "GET",
        DEFAULT_FEED_URL,
        MockResponse::status(429).header("retry-after", "3600"),
    );
    match h.poll(None).unwrap_err() {
        Error::RateLimited(r) => assert_eq!(r.retry_after_ms, 3_600_000),
        other => panic!("{other:?}"),
    }
    let h = harness(config());
    h.host().respond(
        "GET",
        DEFAULT_FEED_URL,
        MockResponse::status(404).body("{\"title\": \"Not Found\"}"),
    );
    match h.poll(None).unwrap_err() {
        Error::Upstream(e) => assert_eq!(e.status, Some(404)),
        other => panic!("{other:?}"),
    }
    assert!(h.host().emitted().is_empty());
}

#[test]
fn the_user_agent_and_accept_headers_are_sent() {
    let h = harness(config());
    poll_fixture(&h);
    let request = &h.host().requests()[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.url, DEFAULT_FEED_URL);
    assert!(
        request
            .headers
            .contains(&("user-agent".to_string(), UA.to_string())),
        "{:?}",
        request.headers
    );
    assert!(
        request
            .headers
            .contains(&("accept".to_string(), "application/geo+json".to_string()))
    );
}

#[test]
fn the_area_filter_is_added_to_the_url() {
    let h = harness(json!({"user_agent": UA, "area": "ok"}));
    let url = "https://api.weather.gov/alerts/active?area=OK";
    respond_json(&h, url, &fixture());
    h.poll(None).unwrap();
    assert_eq!(h.host().requests()[0].url, url);
    let h = harness(json!({
        "user_agent": UA,
        "area": "TX",
        "feed_url": "https://api.weather.gov/alerts/active?status=actual"
    }));
    let url = "https://api.weather.gov/alerts/active?status=actual&area=TX";
    respond_json(&h, url, &fixture());
    h.poll(None).unwrap();
    assert_eq!(h.host().requests()[0].url, url);
}

#[test]
fn min_severity_filters_and_lets_follow_ups_of_emitted_alerts_through() {
    let h = harness(json!({"user_agent": UA, "min_severity": "Severe"}));
    respond_json(&h, DEFAULT_FEED_URL, &fixture());
    let first = h.poll(None).unwrap();
    let ids: Vec<String> = emitted_docs(&h).into_iter().map(|(id, _)| id).collect();
    // The Moderate heat advisory and the Minor cancel (of an alert never emitted) are dropped.
    assert_eq!(ids, [FLOOD, SVR, SVR_UPDATE]);

    let h = harness(json!({"user_agent": UA, "min_severity": "extreme"}));
    respond_json(&h, DEFAULT_FEED_URL, &fixture());
    h.poll(None).unwrap();
    assert!(h.host().emitted().is_empty());

    // The storm is downgraded to Minor: the update still reaches those who got the warning.
    let mut feed = fixture();
    let mut downgrade = feed["features"][2].clone();
    downgrade["properties"]["id"] =
        json!("urn:oid:2.49.0.1.840.0.7c1f3a9e52d04b6f8e21a0b9c3d4e5f60718293a.003.1");
    downgrade["properties"]["severity"] = json!("Minor");
    downgrade["properties"]["sent"] = json!("2025-05-06T18:20:00-05:00");
    downgrade["properties"]["references"][0]["identifier"] = json!(SVR);
    feed["features"].as_array_mut().unwrap().push(downgrade);
    let h = harness(json!({"user_agent": UA, "min_severity": "Severe"}));
    respond_json(&h, DEFAULT_FEED_URL, &feed);
    h.poll(first.next_cursor.as_deref()).unwrap();
    let ids: Vec<String> = emitted_docs(&h).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        ["urn:oid:2.49.0.1.840.0.7c1f3a9e52d04b6f8e21a0b9c3d4e5f60718293a.003.1"]
    );
}

#[test]
fn a_body_that_is_not_a_feature_collection_is_an_upstream_error() {
    for body in [
        r#"{"type": "Feature", "properties": {}}"#.to_string(),
        r#"{"type": "FeatureCollection"}"#.to_string(),
        r#"{"features": []}"#.to_string(),
        r#"[1, 2, 3]"#.to_string(),
        "<html><body>Service maintenance</body></html>".to_string(),
    ] {
        let h = harness(config());
        h.host()
            .respond("GET", DEFAULT_FEED_URL, MockResponse::ok(body.clone()));
        match h.poll(None) {
            Err(Error::Upstream(e)) => {
                assert_eq!(e.status, Some(200), "{body}");
                assert!(
                    e.message.contains("not a GeoJSON FeatureCollection"),
                    "{e:?}"
                );
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    // An empty collection is fine: no alerts in effect.
    let h = harness(config());
    respond_json(
        &h,
        DEFAULT_FEED_URL,
        &json!({"type": "FeatureCollection", "features": []}),
    );
    assert!(h.poll(None).unwrap().next_cursor.is_some());
}

#[test]
fn a_foreign_cursor_is_refused() {
    let h = harness(config());
    respond_json(&h, DEFAULT_FEED_URL, &fixture());
    assert!(matches!(
        h.poll(Some("not json")),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        h.poll(Some(r#"{"v": 99, "fingerprint": ""}"#)),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn the_cursor_stays_bounded_on_a_huge_feed() {
    let template = fixture()["features"][1].clone();
    let features: Vec<Value> = (0..MAX_REMEMBERED + 300)
        .map(|i| {
            let mut f = template.clone();
            f["properties"]["id"] = json!(format!("urn:oid:2.49.0.1.840.0.bulk{i}.001.1"));
            f
        })
        .collect();
    let feed = json!({"type": "FeatureCollection", "features": features});
    let h = harness(config());
    respond_json(&h, DEFAULT_FEED_URL, &feed);
    let result = h.poll(None).unwrap();
    assert_eq!(h.host().emitted().len(), MAX_REMEMBERED + 300);
    let cursor = result.next_cursor.unwrap();
    let parsed: Value = serde_json::from_str(&cursor).unwrap();
    assert_eq!(parsed["emitted"].as_array().unwrap().len(), MAX_REMEMBERED);
    assert!(cursor.len() < 50_000, "cursor is {} bytes", cursor.len());
    assert!(
        !h.host().progress().is_empty(),
        "a long poll reports progress"
    );
}

#[test]
fn config_is_checked() {
    let h = harness(config());
    h.validate_config(&config()).unwrap();
    h.validate_config(&json!({
        "user_agent": UA,
        "feed_url": "https://api.weather.gov/alerts/active",
        "area": "TX",
        "language": "es-US",
        "min_severity": "Moderate"
    }))
    .unwrap();
    for bad in [
        json!({}),
        json!({"user_agent": "  "}),
        json!({"user_agent": "a\r\nX-Injected: 1"}),
        json!({"user_agent": UA, "feed_url": "https://example.com/alerts"}),
        json!({"user_agent": UA, "feed_url": "http://api.weather.gov/alerts/active"}),
        json!({"user_agent": UA, "area": "Oklahoma"}),
        json!({"user_agent": UA, "language": "en_US"}),
        json!({"user_agent": UA, "min_severity": "Unknown"}),
        json!({"user_agent": UA, "colour": "blue"}),
    ] {
        assert!(
            matches!(h.validate_config(&bad), Err(Error::InvalidConfig(_))),
            "{bad} was accepted"
        );
    }
    // Polling refuses a bad config before any request.
    let h = harness(json!({"user_agent": UA, "feed_url": "https://evil.example/alerts"}));
    assert!(matches!(h.poll(None), Err(Error::InvalidConfig(_))));
    assert!(h.host().requests().is_empty());
}

#[test]
fn the_language_setting_reaches_every_info() {
    let h = harness(json!({"user_agent": UA, "language": "es-US"}));
    let (_, docs) = poll_fixture(&h);
    for (_, xml) in &docs {
        assert_eq!(elements(xml, "language"), ["es-US"]);
    }
}

#[test]
fn the_manifest_declares_a_cap_poller_with_a_valid_sample() {
    let m = harness(config()).describe();
    assert_eq!(m.id, "cap-alerts");
    assert_eq!(m.category, Category::Telemetry);
    assert_eq!(m.capabilities, ["poll", "weather-alerts"]);
    assert_eq!(m.output_standards, [OutputStandard::Cap12]);
    assert_eq!(m.outbound_hosts.len(), 1);
    assert_eq!(m.outbound_hosts[0].pattern, "https://api.weather.gov");
    assert!(m.outbound_hosts[0].credential.is_none());
    let schema: Value = serde_json::from_str(&m.config_schema).unwrap();
    assert_eq!(schema["required"], json!(["user_agent"]));
    assert_eq!(
        schema["properties"]["feed_url"]["default"],
        DEFAULT_FEED_URL
    );
    assert_eq!(schema["properties"]["language"]["default"], "en-US");
    assert_eq!(
        schema["properties"]["min_severity"]["enum"],
        json!(["Minor", "Moderate", "Severe", "Extreme"])
    );
    let sample = m.sample_output.unwrap();
    assert_eq!(sample.standard, OutputStandard::Cap12);
    assert_eq!(sample.media_type, "application/cap+xml");
    let xml = sample.body_str().unwrap();
    assert_eq!(xsd_errors(xml), None, "{xml}");
    assert_eq!(
        elements(xml, "polygon"),
        ["35.41,-97.62 35.41,-97.35 35.62,-97.3 35.66,-97.58 35.41,-97.62"]
    );
}
