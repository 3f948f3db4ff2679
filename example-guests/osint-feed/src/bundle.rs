//! Turning feed rows into one STIX 2.1 bundle.
//!
//! For every row: the observable, an indicator whose pattern detects it, a `based-on`
//! relationship from the indicator to the observable and, when the row names a malware
//! family, a malware object (`is_family: true`) and an `indicates` relationship to it.
//! The bundle also holds the feed's identity (credited through `created_by_ref`) and
//! the TLP marking definition every object refers to.
//!
//! Every id is deterministic, so polling the same rows again yields the same objects:
//! the identity's id derives from the source name; indicators' from their pattern,
//! malware's from the lower-cased family name and relationships' from their ends,
//! each scoped to the source name; observables' ids are content-derived by STIX
//! itself. `created` is as stable: the row's `first_seen` for indicators and
//! relationships, and [`STABLE_CREATED`] for the identity and malware families,
//! which are not tied to any one row.

use airlock_sdk::stix::{
    Bundle, ExternalReference, Identifier, Identity, Indicator, Malware, Relationship, Tlp,
};
use airlock_sdk::time::Timestamp;

use crate::feed::FeedRow;

/// The `created` time of the identity and malware objects: 2024-01-01T00:00:00.000Z.
pub const STABLE_CREATED: Timestamp = Timestamp::from_unix_seconds(1_704_067_200);

/// Scopes this connector's deterministic ids.
const ID_SEED: &str = "airlock-example/osint-feed";

/// The seed of the ids of one source's objects.
pub fn source_seed(source_name: &str) -> String {
    format!("{ID_SEED}/{source_name}")
}

/// The feed's identity; its id depends only on `source_name`.
pub fn source_identity(source_name: &str) -> Identity {
    Identity::new(STABLE_CREATED, source_name)
        .with_identity_class("organization")
        .with_description("The open-source indicator feed these indicators come from.")
        .with_deterministic_id(ID_SEED)
}

/// The id of the malware family `name` as published by `source_name`.
pub fn malware_id(source_name: &str, name: &str) -> Identifier {
    Identifier::deterministic(
        "malware",
        &source_seed(source_name),
        &name.trim().to_lowercase(),
    )
}

/// The bundle for `rows`, credited to `source_name` and marked `tlp`.
pub fn build(rows: &[FeedRow], source_name: &str, tlp: Tlp) -> Bundle {
    let seed = source_seed(source_name);
    let identity = source_identity(source_name);
    let me = identity.id().clone();
    let mut bundle = Bundle::new();
    bundle.add(identity).add(tlp.marking_definition());
    for row in rows {
        let observable = row.ioc.observable.clone().with_tlp(tlp);
        let mut indicator = Indicator::new(row.first_seen, row.ioc.pattern.clone(), row.first_seen)
            .with_name(row.ioc.name.clone())
            .with_indicator_type("malicious-activity")
            .with_created_by(&me)
            .with_tlp(tlp);
        if let Some(port) = row.ioc.port {
            indicator = indicator.with_description(format!(
                "Network traffic to {} on port {port}, listed by {source_name}.",
                row.ioc.observable.value().unwrap_or_default()
            ));
        }
        if let Some(confidence) = row.confidence {
            indicator = indicator.with_confidence(confidence);
        }
        if let Some(reference) = external_reference(row, source_name) {
            indicator = indicator.with_external_reference(reference);
        }
        let indicator = indicator.with_deterministic_id(&seed);
        let based_on =
            Relationship::new(row.first_seen, "based-on", indicator.id(), observable.id())
                .with_created_by(&me)
                .with_tlp(tlp)
                .with_deterministic_id(&seed);
        let family = row.malware.as_deref().map(|name| {
            Malware::new(STABLE_CREATED, name, true)
                .with_created_by(&me)
                .with_tlp(tlp)
                .with_id(malware_id(source_name, name))
        });
        let indicates = family.as_ref().map(|malware| {
            Relationship::new(row.first_seen, "indicates", indicator.id(), malware.id())
                .with_created_by(&me)
                .with_tlp(tlp)
                .with_deterministic_id(&seed)
        });
        bundle.add(observable).add(indicator).add(based_on);
        if let (Some(malware), Some(indicates)) = (family, indicates) {
            // A family seen before keeps its first spelling of the name.
            if bundle.get(malware.id()).is_none() {
                bundle.add(malware);
            }
            bundle.add(indicates);
        }
    }
    bundle
}

/// The row's reference URL and id, credited to the source; `None` when it has neither.
fn external_reference(row: &FeedRow, source_name: &str) -> Option<ExternalReference> {
    if row.reference.is_none() && row.id.is_none() {
        return None;
    }
    let mut reference = ExternalReference::new(source_name);
    if let Some(url) = &row.reference {
        reference = reference.with_url(url.clone());
    }
    if let Some(id) = &row.id {
        reference = reference.with_external_id(id.clone());
    }
    Some(reference)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Format;
    use crate::feed;

    const ROWS: &str = "id,first_seen_utc,ioc_value,malware,confidence,reference\n\
        1,2024-03-01 00:00:00,198.51.100.4:8080,Emotet,90,https://feeds.example.org/ioc/1\n\
        2,2024-03-01 00:00:01,evil.example,emotet,,\n\
        3,2024-03-01 00:00:02,d41d8cd98f00b204e9800998ecf8427e,,,\n";

    #[test]
    fn rows_become_linked_objects_with_stable_ids() {
        let page = feed::parse(ROWS, Format::Csv, None).unwrap();
        let make = || {
            build(&page.rows, "Test Feed", Tlp::Amber)
                .to_value()
                .unwrap()
        };
        let v = make();
        let objects = v["objects"].as_array().unwrap();
        let count = |t: &str| objects.iter().filter(|o| o["type"] == t).count();
        assert_eq!(count("indicator"), 3);
        assert_eq!(count("malware"), 1, "Emotet and emotet are one family");
        assert_eq!(count("relationship"), 5);
        assert_eq!(count("identity"), 1);
        assert_eq!(count("marking-definition"), 1);
        let malware = objects.iter().find(|o| o["type"] == "malware").unwrap();
        assert_eq!(malware["name"], "Emotet");
        assert_eq!(malware["is_family"], true);
        let first = objects
            .iter()
            .find(|o| o["name"] == "198.51.100.4:8080")
            .unwrap();
        assert_eq!(first["confidence"], 90);
        assert_eq!(first["valid_from"], "2024-03-01T00:00:00.000Z");
        assert_eq!(first["external_references"][0]["external_id"], "1");
        assert_eq!(first["object_marking_refs"][0], Tlp::Amber.id().as_str());
        assert!(first["description"].as_str().unwrap().contains("port 8080"));
        let again = make();
        let ids = |v: &serde_json::Value| -> Vec<String> {
            v["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].to_string())
                .collect()
        };
        assert_eq!(ids(&v), ids(&again));
        assert_ne!(v["id"], again["id"], "bundles themselves are distinct");
        assert_ne!(
            source_identity("Test Feed").id(),
            source_identity("Other Feed").id()
        );
    }
}
