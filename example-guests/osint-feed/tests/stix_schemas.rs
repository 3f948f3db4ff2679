//! What the connector publishes, validated against the official OASIS STIX 2.1 JSON
//! schemas (draft 2020-12) read from the local standards directory: every object of
//! every bundle against its own type's schema, the bundle against
//! `common/bundle.json`, and every reference resolved inside the bundle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use airlock_sdk::prelude::*;
use airlock_sdk::testing::stix_schemas::StixSchemas;
use airlock_sdk::testing::{Harness, MockResponse};
use jsonschema::Draft;
use osint_feed::OsintFeed;

/// The directory holding `schemas/` of STIX 2.1: the host's embedded copy of the
/// official OASIS schemas, in this repository.
const STANDARDS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../host/standards/stix2.1");

const FEED: &str = "https://feeds.example.org/v1/indicators";

/// The official schemas, compiled on first use.
fn schemas() -> StixSchemas {
    StixSchemas::new(STANDARDS_DIR)
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Polls `fixture` as the first page of a feed and returns the bundle it became.
fn poll_fixture(name: &str, format: &str) -> Value {
    let h = Harness::new(OsintFeed).config(json!({
        "feed_url": FEED, "format": format, "page_size": 20, "tlp": "amber"
    }));
    let url = format!("{FEED}?offset=0&limit=20");
    h.host()
        .respond("GET", &url, MockResponse::ok(fixture(name)));
    let result = h.poll(None).unwrap();
    assert_eq!(result.outputs.len(), 1);
    let output = &result.outputs[0];
    assert_eq!(output.standard, OutputStandard::Stix21);
    assert_eq!(output.media_type, "application/stix+json;version=2.1");
    output.body_json().unwrap()
}

fn by_type(bundle: &Value) -> BTreeMap<String, Vec<Value>> {
    let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for o in bundle["objects"].as_array().unwrap() {
        map.entry(o["type"].as_str().unwrap().to_string())
            .or_default()
            .push(o.clone());
    }
    map
}

fn count(map: &BTreeMap<String, Vec<Value>>, t: &str) -> usize {
    map.get(t).map_or(0, Vec::len)
}

#[test]
fn a_csv_page_becomes_a_schema_valid_bundle() {
    let bundle = poll_fixture("page1.csv", "csv");
    let mut schemas = schemas();
    schemas.assert_valid_bundle(&bundle);
    let objects = by_type(&bundle);

    // The validation really runs: broken copies are refused.
    let mut broken = objects["indicator"][0].clone();
    broken.as_object_mut().unwrap().remove("valid_from");
    assert!(!schemas.errors(&broken).is_empty());
    let mut broken = objects["ipv4-addr"][0].clone();
    broken["value"] = json!("198.51.100.300");
    assert!(!schemas.errors(&broken).is_empty());
    let mut broken = objects["indicator"][0].clone();
    broken["created"] = json!("2024-03-01 00:15:42");
    assert!(!schemas.errors(&broken).is_empty());

    assert_eq!(count(&objects, "indicator"), 20);
    assert_eq!(count(&objects, "identity"), 1);
    assert_eq!(count(&objects, "marking-definition"), 1);
    assert_eq!(count(&objects, "malware"), 10);
    // 192.0.2.15 is listed twice, as an address and as 192.0.2.15:4444.
    let observables: usize = ["url", "domain-name", "ipv4-addr", "ipv6-addr", "file"]
        .iter()
        .map(|t| count(&objects, t))
        .sum();
    assert_eq!(observables, 19);
    assert_eq!(count(&objects, "url"), 5);
    assert_eq!(count(&objects, "domain-name"), 3);
    assert_eq!(count(&objects, "ipv4-addr"), 4);
    assert_eq!(count(&objects, "ipv6-addr"), 2);
    assert_eq!(count(&objects, "file"), 5);
    let relationships = &objects["relationship"];
    let of_type = |t: &str| {
        relationships
            .iter()
            .filter(|r| r["relationship_type"] == t)
            .count()
    };
    assert_eq!(of_type("based-on"), 20);
    assert_eq!(of_type("indicates"), 16);
    assert_eq!(relationships.len(), 36);

    let patterns: BTreeSet<&str> = objects["indicator"]
        .iter()
        .map(|i| i["pattern"].as_str().unwrap())
        .collect();
    for expected in [
        "[file:hashes.'SHA-256' = '17adb2ba2a0741087bd235a0eead0ca8f437dfe796fe41e502bb5ebfdbd2f311']",
        "[file:hashes.'SHA-256' = '85c63cfe133f096280fd3b225541ee052406ffe3bbcefd8eb6be8f512495346e']",
        "[file:hashes.'SHA-1' = '21402cceedaab0b8711d77be7001d793eeb89858']",
        "[file:hashes.MD5 = '8c9aa60b4db30830db8f2976d1c048a2']",
        "[url:value = 'http://198.51.100.23/bins/mozi.m']",
        "[url:value = 'https://login-verify.example.net/account/update.php?id=7,8&lang=en']",
        "[url:value = 'https://files.example.com/share/%22invoice%22.zip']",
        "[url:value = 'http://203.0.113.9/gate.php']",
        "[domain-name:value = 'cdn-update.example.com']",
        "[ipv4-addr:value = '198.51.100.77']",
        "[ipv4-addr:value = '203.0.113.0/24']",
        "[ipv6-addr:value = '2001:db8::dead:beef']",
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.45' AND network-traffic:dst_port = 8080]",
        "[network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value = '2001:db8:85a3::8a2e:370:7334' AND network-traffic:dst_port = 443]",
    ] {
        assert!(
            patterns.contains(expected),
            "missing {expected} in {patterns:#?}"
        );
    }

    let identity = &objects["identity"][0];
    assert_eq!(identity["name"], "Example OSINT Feed");
    let amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
    assert_eq!(objects["marking-definition"][0]["id"], amber);
    for indicator in &objects["indicator"] {
        assert_eq!(indicator["indicator_types"], json!(["malicious-activity"]));
        assert_eq!(indicator["created_by_ref"], identity["id"]);
        assert_eq!(indicator["object_marking_refs"], json!([amber]));
        assert_eq!(indicator["pattern_type"], "stix");
        assert_eq!(indicator["pattern_version"], "2.1");
        assert_eq!(indicator["valid_from"], indicator["created"]);
    }
    let first = objects["indicator"]
        .iter()
        .find(|i| i["name"] == "http://198.51.100.23/bins/mozi.m")
        .unwrap();
    assert_eq!(first["valid_from"], "2024-03-01T00:15:42.000Z");
    assert_eq!(first["confidence"], 100);
    assert_eq!(
        first["external_references"],
        json!([{
            "source_name": "Example OSINT Feed",
            "url": "https://feeds.example.org/ioc/1001",
            "external_id": "1001"
        }])
    );
    // "None" is a placeholder, not a confidence.
    let bumblebee = objects["indicator"]
        .iter()
        .find(|i| i["name"] == "85c63cfe133f096280fd3b225541ee052406ffe3bbcefd8eb6be8f512495346e")
        .unwrap();
    assert!(bumblebee.get("confidence").is_none());

    let families: BTreeSet<&str> = objects["malware"]
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(families.contains("Cobalt Strike") && families.contains("AgentTesla"));
    assert!(objects["malware"].iter().all(|m| m["is_family"] == true));
    // Every indicator that names a family points at it.
    let emotet = objects["malware"]
        .iter()
        .find(|m| m["name"] == "Emotet")
        .unwrap();
    let emotet_sources = relationships
        .iter()
        .filter(|r| r["relationship_type"] == "indicates" && r["target_ref"] == emotet["id"])
        .count();
    assert_eq!(emotet_sources, 3);
}

#[test]
fn a_json_lines_page_becomes_a_schema_valid_bundle() {
    let bundle = poll_fixture("page.jsonl", "jsonl");
    schemas().assert_valid_bundle(&bundle);
    let objects = by_type(&bundle);
    assert_eq!(count(&objects, "indicator"), 6);
    assert_eq!(count(&objects, "malware"), 3);
    assert_eq!(objects["relationship"].len(), 6 + 4);
    let patterns: Vec<&str> = objects["indicator"]
        .iter()
        .map(|i| i["pattern"].as_str().unwrap())
        .collect();
    assert!(
        patterns.contains(&"[ipv6-addr:value = '2001:db8:cafe::17']"),
        "{patterns:?}"
    );
    assert!(
        patterns.contains(&"[url:value = 'https://secure-login.example.net/o365/index.php?u=a,b']")
    );
    let domain = objects["indicator"]
        .iter()
        .find(|i| i["name"] == "secure-login.example.net")
        .unwrap();
    assert_eq!(domain["external_references"][0]["external_id"], "2002");
    assert!(domain["external_references"][0].get("url").is_none());
}

#[test]
fn what_survives_a_malformed_page_is_schema_valid() {
    let bundle = poll_fixture("malformed.csv", "csv");
    schemas().assert_valid_bundle(&bundle);
    assert_eq!(count(&by_type(&bundle), "indicator"), 3);
}

#[test]
fn the_manifest_sample_output_is_schema_valid() {
    let manifest = Harness::new(OsintFeed).describe();
    let sample = manifest.sample_output.expect("a sample output");
    assert_eq!(sample.standard, OutputStandard::Stix21);
    let bundle = sample.body_json().unwrap();
    schemas().assert_valid_bundle(&bundle);
    assert_eq!(count(&by_type(&bundle), "indicator"), 2);
}

#[test]
fn the_config_schema_accepts_its_example_and_rejects_bad_configs() {
    let manifest = Harness::new(OsintFeed).describe();
    let schema: Value = serde_json::from_str(&manifest.config_schema).unwrap();
    let validator = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    for example in schema["examples"].as_array().unwrap() {
        assert!(validator.is_valid(example), "{example}");
    }
    assert!(
        validator.is_valid(&json!({"feed_url": "https://urlhaus-api.abuse.ch/v1/urls/recent/"}))
    );
    for bad in [
        json!({}),
        json!({"feed_url": "http://feeds.example.org/x"}),
        json!({"feed_url": "https://feeds.example.org/x", "page_size": 0}),
        json!({"feed_url": "https://feeds.example.org/x", "page_size": 5001}),
        json!({"feed_url": "https://feeds.example.org/x", "format": "xml"}),
        json!({"feed_url": "https://feeds.example.org/x", "tlp": "clear"}),
        json!({"feed_url": "https://feeds.example.org/x", "unknown": true}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
    for (key, property) in schema["properties"].as_object().unwrap() {
        assert!(
            property["description"].is_string(),
            "{key} has no description"
        );
    }
    let secrets: Value = serde_json::from_str(&manifest.secrets_schema).unwrap();
    let secrets = jsonschema::validator_for(&secrets).unwrap();
    assert!(secrets.is_valid(&json!({"api_key": "k"})));
    assert!(secrets.is_valid(&json!({})));
    assert!(!secrets.is_valid(&json!({"api_key": 5})));
}
