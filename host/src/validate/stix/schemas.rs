//! The official STIX 2.1 JSON schemas, embedded and compiled once per object type.
//!
//! Every schema's `$id` is under [`SCHEMA_ID_PREFIX`] and refs are relative, so a
//! retriever that maps that prefix to the embedded files resolves every `$ref`
//! without the network. A bundle is checked against `bundle.json` with its
//! `objects` emptied (the bundle schema would otherwise try every object against
//! every type's schema and report the misses of all of them); each object is then
//! checked against the schema of its own type, so errors point at that object.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::Value;

use super::schema_files::SCHEMAS;

const SCHEMA_ID_PREFIX: &str =
    "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";

struct Embedded;

impl Retrieve for Embedded {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let path = uri
            .as_str()
            .strip_prefix(SCHEMA_ID_PREFIX)
            .ok_or_else(|| format!("not an embedded STIX schema: {}", uri.as_str()))?;
        let text = SCHEMAS
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, text)| *text)
            .ok_or_else(|| format!("no embedded STIX schema {path}"))?;
        let mut schema: Value = serde_json::from_str(text)?;
        correct(path, &mut schema);
        Ok(schema)
    }
}

/// Where an official schema file contradicts the specification's text, the text
/// wins (each correction is listed in `CONFORMANCE.md`):
/// - `common/granular-marking.json` requires `marking_ref`, but §7.2.3 makes a
///   granular marking either a `lang` or a `marking_ref` — a language marking has
///   no `marking_ref`. The schema keeps requiring `selectors`; exactly one of the
///   two is the semantic rule `granular-marking-lang-or-ref`.
fn correct(path: &str, schema: &mut Value) {
    if path == "common/granular-marking.json"
        && let Some(required) = schema.get_mut("required")
    {
        *required = serde_json::json!(["selectors"]);
    }
}

/// The compiled validators: one per object type with a schema, plus the bundle
/// envelope and the common core (for custom object types).
pub(super) struct Schemas {
    by_type: HashMap<&'static str, Validator>,
    /// Why a schema failed to compile (never expected: the files are fixed).
    pub(super) broken: Vec<String>,
}

fn compile(path: &str, text: &str) -> Result<Validator, String> {
    let schema: Value = serde_json::from_str(text).map_err(|e| format!("{path}: {e}"))?;
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_retriever(Embedded)
        .build(&schema)
        .map_err(|e| format!("{path}: {e}"))
}

impl Schemas {
    fn build() -> Schemas {
        let mut by_type = HashMap::new();
        let mut broken = Vec::new();
        for (path, text) in SCHEMAS {
            let name = path
                .rsplit('/')
                .next()
                .and_then(|f| f.strip_suffix(".json"))
                .unwrap_or(path);
            let wanted = path.starts_with("sdos/")
                || path.starts_with("sros/")
                || path.starts_with("observables/")
                || matches!(
                    name,
                    "bundle"
                        | "marking-definition"
                        | "language-content"
                        | "extension-definition"
                        | "core"
                        | "cyber-observable-core"
                );
            if !wanted {
                continue;
            }
            match compile(path, text) {
                Ok(v) => {
                    by_type.insert(name, v);
                }
                Err(e) => broken.push(e),
            }
        }
        Schemas { by_type, broken }
    }

    /// The validators, compiled on first use.
    pub(super) fn get() -> &'static Schemas {
        static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
        SCHEMAS.get_or_init(Schemas::build)
    }

    /// The validator for an object type (`bundle`, `indicator`, … or `core` and
    /// `cyber-observable-core` for custom types).
    pub(super) fn for_type(&self, object_type: &str) -> Option<&Validator> {
        self.by_type.get(object_type)
    }
}
