//! NIEM 6 (NIEMOpen), structurally, against the core subset Airlock embeds
//! (`host/standards/niem6.0`): an XML instance, or its JSON-LD form — whichever a
//! document is (JSON starts with `{` or `[`).
//!
//! **XML**: decoded and DOCTYPE-refused as CAP is (`encoding`, `xml-dtd`, `xml`),
//! then:
//! - `niem-version`: a root in a NIEM 3–5 namespace (`http://release.niem.gov/…`);
//! - `niem-namespace`: a root outside NIEM core — a domain or another vocabulary,
//!   whose schemas are not in the subset;
//! - `schema`: libxml2 applies `niem-core.xsd` with its imports (structures,
//!   adapters, xml, code lists), served from the embedded copies: content models,
//!   simple types, `structures:id` (`xs:ID`, unique) and `structures:ref`;
//! - `structures-ref`: every `structures:ref` names a `structures:id` of the
//!   document (the XSD types it `xs:IDREF`, but libxml2 — like xmllint — does not
//!   resolve IDREFs).
//!
//! **JSON-LD** (NIEM's JSON form: compact IRIs under prefixes from a context):
//! - `json`, `json-ld-shape` (the document is an object, `@graph` a list of them);
//! - `context`: an `@context` is present, and a NIEM prefix it binds is bound to
//!   the namespace NIEM 6's own context gives it (a remote context URL is taken to
//!   be NIEM's: a warning, `context-remote`, says it was not fetched);
//! - `unknown-prefix`: a property `p:Name` whose prefix the context does not bind;
//! - `unknown-property`: an `nc:` property NIEM core does not declare;
//!   `unknown-type`: an `nc:` `@type` NIEM core does not declare.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::Report;
use super::xml::{self, Schema, Tree};

/// The NIEM 6 core namespace.
pub const CORE: &str = "https://docs.oasis-open.org/niemopen/ns/model/niem-core/6.0/";
/// Every NIEM 6 namespace starts so.
const NIEM6_BASE: &str = "https://docs.oasis-open.org/niemopen/ns/";
/// NIEM 3.0–5.x namespaces start so.
const OLDER_BASE: &str = "http://release.niem.gov/niem/";

/// NIEM 6's JSON-LD context: prefix → namespace.
const CONTEXT: &str = include_str!("../../standards/niem6.0/json-ld/context.json");

/// Validates one NIEM document (XML or JSON-LD).
pub fn validate_bytes(bytes: &[u8]) -> Report {
    let mut report = Report::default();
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{' | b'[') => check_json_ld(bytes, &mut report),
        _ => check_xml(bytes, &mut report),
    }
    report.finish()
}

fn check_xml(bytes: &[u8], report: &mut Report) {
    let core = |_: &str, ns: Option<&str>| (ns == Some(CORE)).then_some(Schema::Niem6);
    xml::check(bytes, report, core, |tree, in_core, report| {
        if in_core {
            check_refs(tree, report);
        } else {
            wrong_root(tree, report);
        }
    });
}

/// The NIEM 6 structures namespace (`structures:id`, `structures:ref`).
const STRUCTURES: &str = "https://docs.oasis-open.org/niemopen/ns/model/structures/6.0/";

/// Every `structures:ref` must name a `structures:id` of the document.
fn check_refs(tree: &Tree, report: &mut Report) {
    let attr = |name: &'static str| {
        tree.elements.iter().enumerate().flat_map(move |(i, e)| {
            e.attributes
                .iter()
                .filter(move |a| a.name == name && a.namespace == Some(STRUCTURES))
                .map(move |a| (i, a.value.trim()))
        })
    };
    let ids: HashSet<&str> = attr("id").map(|(_, v)| v).collect();
    for (element, target) in attr("ref") {
        if !ids.contains(target) {
            report.error(
                format!("{}/@ref", tree.path(element)),
                "structures-ref",
                format!("structures:ref {target:?} names no structures:id in the document."),
            );
        }
    }
}

/// The root is not a NIEM core element: say what it is instead.
fn wrong_root(tree: &Tree, report: &mut Report) {
    let (name, ns) = tree.root();
    let (rule, message) = match ns {
        Some(ns) if ns.starts_with(OLDER_BASE) => (
            "niem-version",
            format!(
                "The root is in {ns}, a NIEM 3–5 namespace; Airlock validates NIEM 6 \
                 ({CORE})."
            ),
        ),
        Some(ns) if ns.starts_with(NIEM6_BASE) => (
            "niem-namespace",
            format!(
                "The root `{name}` is in {ns}; Airlock validates documents rooted in NIEM \
                 core ({CORE}), whose schemas it carries."
            ),
        ),
        _ => (
            "niem-namespace",
            format!(
                "The root `{name}` is in {}; a NIEM document's root is a NIEM core element \
                 ({CORE}).",
                ns.unwrap_or("no namespace")
            ),
        ),
    };
    report.error(format!("/{name}"), rule, message);
}

/// NIEM's prefixes and namespaces, from the embedded context.
fn niem_context() -> &'static HashMap<String, String> {
    static MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    MAP.get_or_init(|| serde_json::from_str(CONTEXT).unwrap_or_default())
}

/// The names NIEM core declares: global elements (properties) and types.
fn core_names() -> &'static (HashSet<&'static str>, HashSet<&'static str>) {
    static NAMES: OnceLock<(HashSet<&'static str>, HashSet<&'static str>)> = OnceLock::new();
    NAMES.get_or_init(|| {
        let xsd = xml::niem_core_xsd();
        let names_after = |marker: &str| -> HashSet<&'static str> {
            xsd.split(marker)
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .collect()
        };
        let elements = names_after("<xs:element name=\"");
        let mut types = names_after("<xs:complexType name=\"");
        types.extend(names_after("<xs:simpleType name=\""));
        (elements, types)
    })
}

const KEYWORDS: &[&str] = &[
    "@context",
    "@id",
    "@type",
    "@graph",
    "@value",
    "@language",
    "@list",
    "@set",
    "@reverse",
    "@base",
    "@vocab",
    "@index",
    "@nest",
    "@included",
    "@direction",
    "@json",
    "@none",
];

fn check_json_ld(bytes: &[u8], r: &mut Report) {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return r.error("/", "json", format!("The document is not JSON: {e}.")),
    };
    let Value::Object(top) = &value else {
        return r.error(
            "/",
            "json-ld-shape",
            "A NIEM JSON-LD document is a JSON object with an @context.",
        );
    };
    let Some(context) = top.get("@context") else {
        return r.error(
            "/",
            "context",
            "The document has no @context, so its NIEM prefixes (nc:, j:, …) mean nothing.",
        );
    };
    let prefixes = read_context(context, r);
    walk(&value, "", &prefixes, r);
}

/// The prefixes a document's `@context` binds (checked against NIEM's).
fn read_context(context: &Value, r: &mut Report) -> HashMap<String, String> {
    let niem = niem_context();
    let mut bound = HashMap::new();
    let entries: Vec<(usize, &Value)> = match context {
        Value::Array(items) => items.iter().enumerate().collect(),
        other => vec![(0, other)],
    };
    let many = matches!(context, Value::Array(_));
    for (i, entry) in entries {
        let at = if many {
            format!("/@context/{i}")
        } else {
            String::from("/@context")
        };
        match entry {
            Value::String(url) => {
                r.warning(
                    &at,
                    "context-remote",
                    format!(
                        "The context {url:?} is not fetched; prefixes are read as NIEM 6's \
                         own context binds them."
                    ),
                );
                bound.extend(niem.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Value::Object(map) => {
                for (prefix, iri) in map {
                    let iri = match iri {
                        Value::String(s) => s.clone(),
                        Value::Object(def) => def
                            .get("@id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        _ => String::new(),
                    };
                    if let Some(expected) = niem.get(prefix)
                        && !iri.is_empty()
                        && &iri != expected
                    {
                        r.error(
                            format!("{at}/{}", pointer_escape(prefix)),
                            "context",
                            format!("`{prefix}` is bound to {iri}; NIEM 6 binds it to {expected}."),
                        );
                    }
                    bound.insert(prefix.clone(), iri);
                }
            }
            _ => r.error(
                &at,
                "context",
                "An @context entry is an object of prefix bindings or a context URL.",
            ),
        }
    }
    bound
}

/// Checks every property name (and `@type`) of every object.
fn walk(value: &Value, at: &str, prefixes: &HashMap<String, String>, r: &mut Report) {
    match value {
        Value::Object(map) => check_object(map, at, prefixes, r),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{at}/{i}"), prefixes, r);
            }
        }
        _ => {}
    }
}

fn check_object(
    map: &Map<String, Value>,
    at: &str,
    prefixes: &HashMap<String, String>,
    r: &mut Report,
) {
    let (elements, types) = core_names();
    for (key, value) in map {
        let path = format!("{at}/{}", pointer_escape(key));
        if key == "@context" {
            continue;
        }
        if key == "@type" {
            for t in value
                .as_array()
                .map_or_else(|| vec![value], |a| a.iter().collect())
            {
                if let Some((prefix, local)) = t.as_str().and_then(|t| t.split_once(':'))
                    && prefixes.get(prefix).map(String::as_str) == Some(CORE)
                    && !types.contains(local)
                {
                    r.error(
                        &path,
                        "unknown-type",
                        format!("`{prefix}:{local}` is not a type NIEM core declares."),
                    );
                }
            }
            continue;
        }
        if key.starts_with('@') {
            if !KEYWORDS.contains(&key.as_str()) {
                r.warning(
                    &path,
                    "unknown-keyword",
                    format!("`{key}` is not a JSON-LD keyword."),
                );
            }
        } else if let Some((prefix, local)) = key.split_once(':') {
            if local.starts_with("//") {
                // A full IRI, not a compact one.
            } else if let Some(ns) = prefixes.get(prefix) {
                if ns == CORE && !elements.contains(local) {
                    r.error(
                        &path,
                        "unknown-property",
                        format!("`{key}` is not a property NIEM core declares."),
                    );
                }
            } else {
                r.error(
                    &path,
                    "unknown-prefix",
                    format!("The prefix of `{key}` is not bound by the document's @context."),
                );
            }
        } else if !prefixes.contains_key(key) {
            r.warning(
                &path,
                "unknown-term",
                format!(
                    "`{key}` is neither a compact IRI nor a term of the @context; JSON-LD drops it."
                ),
            );
        }
        walk(value, &path, prefixes, r);
    }
}

/// A JSON Pointer reference token (RFC 6901).
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSON: &str = r#"<nc:Person xmlns:nc="https://docs.oasis-open.org/niemopen/ns/model/niem-core/6.0/"><nc:PersonName><nc:PersonGivenName>Jane</nc:PersonGivenName></nc:PersonName></nc:Person>"#;

    #[test]
    fn a_core_person_passes_and_an_unknown_child_is_a_schema_error() {
        let r = validate_bytes(PERSON.as_bytes());
        assert!(r.valid, "{r:#?}");
        let r = validate_bytes(
            PERSON
                .replace("PersonGivenName", "PersonNickName")
                .as_bytes(),
        );
        assert_eq!(r.errors[0].rule, "schema", "{r:#?}");
        assert_eq!(r.errors[0].path, "/Person/PersonName/PersonNickName");
        assert!(r.errors[0].message.contains("nc:PersonNickName"), "{r:#?}");
    }

    #[test]
    fn json_ld_properties_resolve_through_the_context() {
        let doc = format!(
            r#"{{"@context": {{"nc": "{CORE}"}}, "nc:Person": {{"@type": "nc:PersonType", "nc:PersonName": {{"nc:PersonGivenName": "Jane"}}}}}}"#
        );
        let r = validate_bytes(doc.as_bytes());
        assert!(r.valid, "{r:#?}");
        let r = validate_bytes(doc.replace("PersonGivenName", "PersonNickName").as_bytes());
        assert_eq!(r.errors[0].rule, "unknown-property", "{r:#?}");
        assert_eq!(
            r.errors[0].path,
            "/nc:Person/nc:PersonName/nc:PersonNickName"
        );
        let r = validate_bytes(doc.replace("\"nc\":", "\"x\":").as_bytes());
        assert_eq!(r.errors[0].rule, "unknown-prefix", "{r:#?}");
    }

    #[test]
    fn the_embedded_context_and_core_names_load() {
        assert_eq!(niem_context().get("nc").map(String::as_str), Some(CORE));
        let (elements, types) = core_names();
        assert!(elements.contains("Person") && elements.len() > 1500);
        assert!(types.contains("PersonType"));
    }
}
