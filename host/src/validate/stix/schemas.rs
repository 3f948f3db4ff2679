//! The official STIX 2.1 JSON schemas, compiled into Rust when Airlock is built.
//!
//! jsonschema's `validator` macro reads the schemas (each mapped from its `$id` to
//! the copy under `host/standards/stix2.1/`) at compile time and generates their
//! checks as code: nothing is parsed, resolved or compiled at run time, and a schema
//! that does not compile is a build error, not a finding. A short `airlock validate`
//! used to spend more than half its time compiling the schemas its files needed.
//!
//! One validator holds every schema: `objects.schema.json` (ours, beside this file)
//! has a property per object type (`"indicator": {"$ref": "sdos/indicator.json"}`,
//! …, `bundle`, and the bases `core` and `cyber-observable-core` custom types are
//! checked against), and [`check`] lends it an object wrapped as
//! `{"indicator": object}`: the schemas every type shares (identifiers,
//! timestamps, markings) and their `pattern`s are generated and built once, and the
//! type picks its schema by one property lookup. With a validator per type, each
//! built its own copy of every shared pattern the first time an object of that
//! type came, which cost as much as the compiling it replaced; with `if`/`then` on
//! `type` in one validator, every object paid 45 lookups of its `type` (~6 % of a
//! run over the corpus, by `perf`).
//!
//! Where an official schema file contradicts the specification's text, the text
//! wins: the schema read is a corrected copy under `host/standards/stix2.1/corrected/`
//! (each correction is listed in `CONFORMANCE.md`, and a unit test checks each copy
//! is the official file with exactly that change):
//! - `common/granular-marking.json` requires `marking_ref`, but §7.2.3 makes a
//!   granular marking either a `lang` or a `marking_ref` — a language marking has
//!   no `marking_ref`. The copy requires only `selectors`; exactly one of the two is
//!   the semantic rule `granular-marking-lang-or-ref`.
//! - `common/bundle.json` loses `objects.items`, an `anyOf` over every object type:
//!   a bundle is checked against it with its `objects` emptied, and each object
//!   against the schema of its own type, so errors point at that object (the
//!   official `items` would report the misses of every type). This one changes no
//!   verdict.
//!
//! Invariant: every object type with an official schema file is in `stix.rs`'s
//! type lists and `objects.schema.json` (a unit test walks the folder), and [`check`] finds what
//! jsonschema's run-time validator finds for the type's own schema (a unit test
//! compares both over the corpus).

use serde_json::{Map, Value};

/// The validator of `objects.schema.json`, generated with every STIX schema it
/// refers to by `$id` (paths relative to `host/`).
#[jsonschema::validator(
    path = "src/validate/stix/objects.schema.json",
    draft = Draft202012,
    validate_formats = true,
    pattern_options = { engine = regex },
    resources = {
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/binary.json" => { path = "standards/stix2.1/schemas/common/binary.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/bundle.json" => { path = "standards/stix2.1/corrected/common/bundle.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/core.json" => { path = "standards/stix2.1/schemas/common/core.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/cyber-observable-core.json" => { path = "standards/stix2.1/schemas/common/cyber-observable-core.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/dictionary.json" => { path = "standards/stix2.1/schemas/common/dictionary.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/extension-definition.json" => { path = "standards/stix2.1/schemas/common/extension-definition.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/extension.json" => { path = "standards/stix2.1/schemas/common/extension.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/external-reference.json" => { path = "standards/stix2.1/schemas/common/external-reference.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/granular-marking.json" => { path = "standards/stix2.1/corrected/common/granular-marking.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/hashes-type.json" => { path = "standards/stix2.1/schemas/common/hashes-type.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/hex.json" => { path = "standards/stix2.1/schemas/common/hex.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/identifier.json" => { path = "standards/stix2.1/schemas/common/identifier.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/kill-chain-phase.json" => { path = "standards/stix2.1/schemas/common/kill-chain-phase.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/language-content.json" => { path = "standards/stix2.1/schemas/common/language-content.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/marking-definition.json" => { path = "standards/stix2.1/schemas/common/marking-definition.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/properties.json" => { path = "standards/stix2.1/schemas/common/properties.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/timestamp.json" => { path = "standards/stix2.1/schemas/common/timestamp.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/url-regex.json" => { path = "standards/stix2.1/schemas/common/url-regex.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/artifact.json" => { path = "standards/stix2.1/schemas/observables/artifact.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/autonomous-system.json" => { path = "standards/stix2.1/schemas/observables/autonomous-system.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/directory.json" => { path = "standards/stix2.1/schemas/observables/directory.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/domain-name.json" => { path = "standards/stix2.1/schemas/observables/domain-name.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/email-addr.json" => { path = "standards/stix2.1/schemas/observables/email-addr.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/email-message.json" => { path = "standards/stix2.1/schemas/observables/email-message.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/file.json" => { path = "standards/stix2.1/schemas/observables/file.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/ipv4-addr.json" => { path = "standards/stix2.1/schemas/observables/ipv4-addr.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/ipv6-addr.json" => { path = "standards/stix2.1/schemas/observables/ipv6-addr.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/mac-addr.json" => { path = "standards/stix2.1/schemas/observables/mac-addr.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/mutex.json" => { path = "standards/stix2.1/schemas/observables/mutex.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/network-traffic.json" => { path = "standards/stix2.1/schemas/observables/network-traffic.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/process.json" => { path = "standards/stix2.1/schemas/observables/process.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/software.json" => { path = "standards/stix2.1/schemas/observables/software.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/url.json" => { path = "standards/stix2.1/schemas/observables/url.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/user-account.json" => { path = "standards/stix2.1/schemas/observables/user-account.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/windows-registry-key.json" => { path = "standards/stix2.1/schemas/observables/windows-registry-key.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/observables/x509-certificate.json" => { path = "standards/stix2.1/schemas/observables/x509-certificate.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/attack-pattern.json" => { path = "standards/stix2.1/schemas/sdos/attack-pattern.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/campaign.json" => { path = "standards/stix2.1/schemas/sdos/campaign.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/course-of-action.json" => { path = "standards/stix2.1/schemas/sdos/course-of-action.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/grouping.json" => { path = "standards/stix2.1/schemas/sdos/grouping.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/identity.json" => { path = "standards/stix2.1/schemas/sdos/identity.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/incident.json" => { path = "standards/stix2.1/schemas/sdos/incident.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/indicator.json" => { path = "standards/stix2.1/schemas/sdos/indicator.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/infrastructure.json" => { path = "standards/stix2.1/schemas/sdos/infrastructure.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/intrusion-set.json" => { path = "standards/stix2.1/schemas/sdos/intrusion-set.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/location.json" => { path = "standards/stix2.1/schemas/sdos/location.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/malware-analysis.json" => { path = "standards/stix2.1/schemas/sdos/malware-analysis.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/malware.json" => { path = "standards/stix2.1/schemas/sdos/malware.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/note.json" => { path = "standards/stix2.1/schemas/sdos/note.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/observed-data.json" => { path = "standards/stix2.1/schemas/sdos/observed-data.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/opinion.json" => { path = "standards/stix2.1/schemas/sdos/opinion.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/report.json" => { path = "standards/stix2.1/schemas/sdos/report.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/threat-actor.json" => { path = "standards/stix2.1/schemas/sdos/threat-actor.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/tool.json" => { path = "standards/stix2.1/schemas/sdos/tool.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sdos/vulnerability.json" => { path = "standards/stix2.1/schemas/sdos/vulnerability.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sros/relationship.json" => { path = "standards/stix2.1/schemas/sros/relationship.json" },
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/sros/sighting.json" => { path = "standards/stix2.1/schemas/sros/sighting.json" },
    }
)]
struct Objects;

/// The findings of `object` against the schema called `name` (an object type the
/// validator knows — `stix.rs`'s type lists, a test holds them to
/// `objects.schema.json` — `bundle`, `core` or `cyber-observable-core`), each an
/// instance path below the object and a message, sorted
/// (the generated code's own order follows how it fused the keywords); none when
/// it is valid. `object` is lent: it is moved into the wrapper the validator
/// reads and back, whatever the outcome.
pub(super) fn check(name: String, object: &mut Value) -> Vec<(String, String)> {
    let mut wrapper = Map::new();
    wrapper.insert(name, std::mem::take(object));
    let wrapped = Value::Object(wrapper);
    // `is_valid` stops at the first failure and builds no errors: the common case
    // (a valid object) pays only for that.
    let mut findings = if Objects::is_valid(&wrapped) {
        Vec::new()
    } else {
        let name = wrapped.as_object().and_then(|w| w.keys().next());
        let name = name.map_or("", String::as_str);
        Objects::iter_errors(&wrapped)
            .map(|e| {
                let path = e.instance_path().to_string();
                let below = path
                    .strip_prefix('/')
                    .and_then(|p| p.strip_prefix(name))
                    .unwrap_or(&path);
                (below.to_string(), e.to_string())
            })
            .collect()
    };
    // The wrapper's one entry is the object.
    if let Value::Object(wrapper) = wrapped
        && let Some((_, inner)) = wrapper.into_iter().next()
    {
        *object = inner;
    }
    findings.sort();
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    const ID_PREFIX: &str =
        "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";

    fn host() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    fn read_json(path: &Path) -> Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
    }

    /// Every `.json` file under `dir`, its subfolders included.
    fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                json_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }

    /// Every object type's schema file, by type name: `("indicator",
    /// "sdos/indicator.json")`, sorted.
    fn type_files() -> Vec<(String, String)> {
        let root = host().join("standards/stix2.1/schemas");
        let mut files = Vec::new();
        json_files(&root, &mut files);
        let mut types: Vec<(String, String)> = files
            .iter()
            .filter_map(|f| {
                let rel = f.strip_prefix(&root).ok()?.to_str()?.to_string();
                let name = f.file_stem()?.to_str()?.to_string();
                let object_type = rel.starts_with("sdos/")
                    || rel.starts_with("sros/")
                    || rel.starts_with("observables/")
                    || matches!(
                        name.as_str(),
                        "marking-definition" | "language-content" | "extension-definition"
                    );
                object_type.then_some((name, rel))
            })
            .collect();
        types.sort();
        types
    }

    #[test]
    fn every_object_type_with_an_official_schema_has_a_schema() {
        let mut expected = type_files();
        assert!(expected.len() > 40, "{expected:?}");
        expected.push(("bundle".into(), "common/bundle.json".into()));
        expected.push(("core".into(), "common/core.json".into()));
        expected.push((
            "cyber-observable-core".into(),
            "common/cyber-observable-core.json".into(),
        ));
        expected.sort();
        let names: Vec<&str> = expected.iter().map(|(t, _)| t.as_str()).collect();
        // The types stix.rs knows (and checks against their schema), and the three others.
        let mut known: Vec<&str> = [
            super::super::SDOS,
            super::super::SROS,
            super::super::SCOS,
            super::super::META,
        ]
        .concat();
        known.extend(["bundle", "core", "cyber-observable-core"]);
        known.sort();
        assert_eq!(known, names, "stix.rs's type lists are the folder's types");
        let properties: Map<String, Value> = expected
            .iter()
            .map(|(t, rel)| (t.clone(), serde_json::json!({"$ref": rel})))
            .collect();
        let objects = read_json(&host().join("src/validate/stix/objects.schema.json"));
        assert_eq!(
            objects["properties"],
            Value::Object(properties.clone()),
            "objects.schema.json's properties should be:\n{}",
            serde_json::to_string_pretty(&properties).unwrap_or_default()
        );
    }

    #[test]
    fn a_checked_object_is_given_back_whatever_the_outcome() {
        let valid = serde_json::json!({
            "type": "url", "spec_version": "2.1",
            "id": "url--c1477287-23ac-5971-a010-5c287877fa60", "value": "https://example.com/"
        });
        let mut object = valid.clone();
        assert_eq!(check("url".into(), &mut object), Vec::new());
        assert_eq!(object, valid);
        let mut invalid =
            serde_json::json!({"type": "url", "id": "url--c1477287-23ac-5971-a010-5c287877fa60"});
        let before = invalid.clone();
        let found = check("url".into(), &mut invalid);
        assert_eq!(invalid, before);
        // The paths are the object's own, not the wrapper's.
        assert!(
            found
                .iter()
                .any(|(path, message)| path.is_empty() && message.contains("\"value\"")),
            "{found:?}"
        );
    }

    /// The official file with the one change the module docs state.
    fn corrected(path: &str, mut schema: Value) -> Value {
        match path {
            "common/granular-marking.json" => {
                schema["required"] = serde_json::json!(["selectors"]);
            }
            "common/bundle.json" => {
                let objects = schema
                    .pointer_mut("/properties/objects")
                    .and_then(Value::as_object_mut);
                assert!(objects.and_then(|o| o.remove("items")).is_some());
            }
            _ => {}
        }
        schema
    }

    #[test]
    fn each_corrected_copy_is_the_official_file_with_exactly_the_stated_change() {
        let dir = host().join("standards/stix2.1");
        let mut copies = Vec::new();
        json_files(&dir.join("corrected"), &mut copies);
        assert_eq!(copies.len(), 2, "{copies:?}");
        for path in ["common/granular-marking.json", "common/bundle.json"] {
            let official = read_json(&dir.join("schemas").join(path));
            assert_ne!(
                official,
                corrected(path, official.clone()),
                "{path} unchanged"
            );
            assert_eq!(
                read_json(&dir.join("corrected").join(path)),
                corrected(path, official),
                "{path}"
            );
        }
    }

    /// The run-time side of the comparison: the same files, by `$id`.
    struct Files;

    impl jsonschema::Retrieve for Files {
        fn retrieve(
            &self,
            uri: &jsonschema::Uri<String>,
        ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
            let path = uri
                .as_str()
                .strip_prefix(ID_PREFIX)
                .ok_or("not a STIX schema")?;
            let dir = host().join("standards/stix2.1/schemas");
            Ok(corrected(path, read_json(&dir.join(path))))
        }
    }

    /// The generated code finds what jsonschema's run-time validator finds for the
    /// type's own schema (the same paths and messages), over every object of the
    /// fixtures and the official examples, custom types against the bases, and
    /// every bundle's envelope: the run-time compiler is the one this validator was
    /// first checked with, and `objects.schema.json` must change no finding.
    #[test]
    fn the_generated_validators_find_what_the_run_time_validator_finds() {
        let root = host().join("..");
        let mut files = Vec::new();
        json_files(&root.join("tests/fixtures/stix"), &mut files);
        json_files(
            &root.join("../shared/standards/stix2.1/examples"),
            &mut files,
        );
        let runtime = |rel: &str| {
            let mut schema = read_json(&host().join("standards/stix2.1/schemas").join(rel));
            schema = corrected(rel, schema);
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .with_pattern_options(jsonschema::PatternOptions::regex())
                .with_retriever(Files)
                .build(&schema)
                .unwrap_or_else(|e| panic!("{rel}: {e}"))
        };
        let types = type_files();
        let mut compiled = std::collections::HashMap::new();
        let mut compare = |what: &str, rel: &str, name: &str, value: &Value| {
            let v = compiled
                .entry(rel.to_string())
                .or_insert_with(|| runtime(rel));
            let mut expected: Vec<(String, String)> = v
                .iter_errors(value)
                .map(|e| (e.instance_path().to_string(), e.to_string()))
                .collect();
            expected.sort();
            let mut lent = value.clone();
            let found = check(name.to_string(), &mut lent);
            assert_eq!(found, expected, "{what} (sorted, as check promises)");
            assert_eq!(&lent, value, "{what}");
            !expected.is_empty()
        };
        let (mut objects, mut invalid, mut custom, mut bundles) = (0, 0, 0, 0);
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let Ok(doc) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) else {
                continue;
            };
            let list = match doc.get("objects").and_then(Value::as_array) {
                Some(list) if doc.get("type").and_then(Value::as_str) == Some("bundle") => {
                    let mut envelope = doc.clone();
                    envelope["objects"] = Value::Array(Vec::new());
                    let what = format!("{}: the envelope", file.display());
                    compare(&what, "common/bundle.json", "bundle", &envelope);
                    bundles += 1;
                    list.clone()
                }
                Some(list) => list.clone(),
                None => vec![doc],
            };
            for object in &list {
                let Some(object_type) = object.get("type").and_then(Value::as_str) else {
                    continue;
                };
                let what = format!("{}: {object_type}", file.display());
                let (rel, name) = match types.iter().find(|(t, _)| t == object_type) {
                    Some((_, rel)) => (rel.as_str(), object_type),
                    None if object_type == "bundle" => continue,
                    None => {
                        custom += 1;
                        // As stix.rs's schema_findings picks the base.
                        if object.get("created").is_some() || object.get("spec_version").is_some() {
                            ("common/core.json", "core")
                        } else {
                            ("common/cyber-observable-core.json", "cyber-observable-core")
                        }
                    }
                };
                objects += 1;
                invalid += usize::from(compare(&what, rel, name, object));
            }
        }
        assert!(
            objects > 500 && invalid > 50 && custom >= 1 && bundles > 50,
            "{objects} objects, {invalid} invalid, {custom} custom, {bundles} bundles"
        );
    }
}
