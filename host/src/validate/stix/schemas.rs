//! The official STIX 2.1 JSON schemas, embedded and compiled once per object type.
//!
//! Every schema's `$id` is under [`SCHEMA_ID_PREFIX`] and refs are relative, so one
//! registry of the embedded files, parsed once, resolves every `$ref` without the
//! network (a retriever over the same files stands behind it); each validator is a
//! small root that refers into it. A bundle is checked against `bundle.json` with
//! its `objects` emptied (the bundle schema would otherwise try every object
//! against every type's schema and report the misses of all of them); each object
//! is then checked against the schema of its own type, so errors point at that
//! object.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::{Draft, Registry, Retrieve, Uri, Validator};
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
/// wins (each correction is listed in `CONFORMANCE.md`), plus one saving that
/// changes no verdict (the last below):
/// - `common/granular-marking.json` requires `marking_ref`, but §7.2.3 makes a
///   granular marking either a `lang` or a `marking_ref` — a language marking has
///   no `marking_ref`. The schema keeps requiring `selectors`; exactly one of the
///   two is the semantic rule `granular-marking-lang-or-ref`.
/// - `common/bundle.json` loses `objects.items` (see the comment there).
fn correct(path: &str, schema: &mut Value) {
    if path == "common/granular-marking.json"
        && let Some(required) = schema.get_mut("required")
    {
        *required = serde_json::json!(["selectors"]);
    }
    // Not a correction, a saving: a bundle is checked against this schema with
    // its `objects` emptied (each object is checked against its own type's schema),
    // so the `items` subschema — an `anyOf` over every object type — never applies,
    // yet compiling it compiled every type's schema (most of a short process's time).
    if path == "common/bundle.json"
        && let Some(objects) = schema.pointer_mut("/properties/objects")
        && let Some(objects) = objects.as_object_mut()
    {
        objects.remove("items");
    }
}

/// The compiled validators, two ways, each compiled on first use:
/// - **per type** (the default, for a long-running server): one validator per
///   object type, compiled the first time an object of that type is checked —
///   the fastest to validate with (one type's schema, nothing else);
/// - **shared** (after [`prefer_fast_start`], for a short-lived process such as
///   `airlock validate`): compiling is most of what checking a few documents costs,
///   and a `$ref` target is compiled once per validator that reaches it; so the
///   object types share validators: each of [`HALVES`] validators holds part of
///   the types as `if type = T then $ref T's schema` branches (`core.json` and the
///   other common schemas compiled once in each, not once per type), compiled on
///   two threads at once. Validating through the branches costs about 2 µs more
///   per object.
///
/// The bundle envelope and the cores custom types are checked against are
/// compiled on first use either way. Every build shares one registry of the
/// parsed schemas and one cache of compiled patterns ([`options`]).
pub(super) struct Schemas {
    per_type: HashMap<&'static str, (&'static str, OnceLock<Compiled>)>,
    shared: OnceLock<Shared>,
    bundle: OnceLock<Compiled>,
    core: OnceLock<Compiled>,
    observable_core: OnceLock<Compiled>,
}

/// A validator, or why its schema did not compile (never expected: the files are
/// fixed; a document of that type then gets a `schema-unavailable` error).
type Compiled = Result<Validator, String>;

/// The shared validators and which one validates each type.
struct Shared {
    half_of: HashMap<&'static str, usize>,
    halves: Vec<Validator>,
}

static FAST_START: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Compiles the schemas the shared way: two dispatch validators holding every
/// object type, compiled at once on two threads, instead of one validator per type
/// on first use. Quicker to start, about 2 µs slower per object: for a process
/// that checks a few documents and exits. Call it before the first validation.
pub fn prefer_fast_start() {
    FAST_START.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// How many validators share the object types: two, compiled in parallel on the
/// 2-core machines this is tuned for; the split is by what the schemas reach,
/// not adjustable ([`Shared::build`]).
const HALVES: usize = 2;

/// Every build shares what does not depend on the schema being compiled:
/// - the embedded schemas, parsed, corrected and indexed once into one registry
///   (otherwise each build retrieves and parses every file its refs reach);
/// - the compiled `pattern`s (the same identifier and timestamp patterns recur in
///   every type's schema, and each compiled regex costs tens of microseconds).
///
/// The retriever stays as the fallback for a registry that did not build (never
/// expected: the files are fixed).
fn options() -> jsonschema::ValidationOptions<'static> {
    static PATTERNS: OnceLock<jsonschema::PatternCache> = OnceLock::new();
    let options = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_retriever(Embedded)
        .with_pattern_cache(PATTERNS.get_or_init(jsonschema::PatternCache::new).clone());
    match registry() {
        Some(registry) => options.with_registry(registry),
        None => options,
    }
}

/// The embedded schemas as one registry, built on first use.
fn registry() -> Option<&'static Registry<'static>> {
    static REGISTRY: OnceLock<Option<Registry<'static>>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let mut resources = Vec::with_capacity(SCHEMAS.len());
            for (path, text) in SCHEMAS {
                let mut schema: Value = serde_json::from_str(text).ok()?;
                correct(path, &mut schema);
                resources.push((
                    format!("{SCHEMA_ID_PREFIX}{path}"),
                    Draft::Draft202012.create_resource(schema),
                ));
            }
            Registry::new()
                .draft(Draft::Draft202012)
                .retrieve_known_draft_meta_schemas(false)
                .extend(resources)
                .ok()?
                .prepare()
                .ok()
        })
        .as_ref()
}

/// A validator for the embedded schema at `path`: a root that refers to it, so
/// the schema itself comes from the registry, parsed and corrected once.
fn compile(path: &str) -> Result<Validator, String> {
    build(serde_json::json!({"$ref": path}), path)
}

/// The embedded schema of `name` (`bundle`, `core`…), compiled.
fn compile_named(name: &str) -> Result<Validator, String> {
    let file = format!("{name}.json");
    let (path, _) = SCHEMAS
        .iter()
        .find(|(p, _)| p.rsplit('/').next() == Some(file.as_str()))
        .ok_or_else(|| format!("no embedded STIX schema for {name}"))?;
    compile(path)
}

/// Compiles `root`, whose refs are relative to the embedded schemas; `what` names
/// it in an error.
fn build(mut root: Value, what: &str) -> Result<Validator, String> {
    if let Some(map) = root.as_object_mut() {
        map.insert(
            "$schema".into(),
            "https://json-schema.org/draft/2020-12/schema".into(),
        );
        map.insert(
            "$id".into(),
            format!("{SCHEMA_ID_PREFIX}airlock-root.json").into(),
        );
    }
    options().build(&root).map_err(|e| format!("{what}: {e}"))
}

/// The object type a schema file defines, if it is one an object can have.
fn object_type_of(path: &'static str) -> Option<&'static str> {
    let name = path.rsplit('/').next()?.strip_suffix(".json")?;
    let wanted = path.starts_with("sdos/")
        || path.starts_with("sros/")
        || path.starts_with("observables/")
        || matches!(
            name,
            "marking-definition" | "language-content" | "extension-definition"
        );
    wanted.then_some(name)
}

/// One validator for `types`: `allOf` of `if type = T then $ref T`.
fn dispatch(types: &[(&str, &str)]) -> Result<Validator, String> {
    let branches: Vec<Value> = types
        .iter()
        .map(|(name, path)| {
            serde_json::json!({
                "if": {"required": ["type"], "properties": {"type": {"const": name}}},
                "then": {"$ref": path},
            })
        })
        .collect();
    build(
        serde_json::json!({"allOf": branches}),
        "the object types' schemas",
    )
}

fn lazily<'a>(cell: &'a OnceLock<Compiled>, name: &str) -> Result<&'a Validator, &'a str> {
    cell.get_or_init(|| compile_named(name))
        .as_ref()
        .map_err(String::as_str)
}

impl Shared {
    /// Splits the types by what their schemas reach: `observed-data` (whose
    /// deprecated `objects` dictionary refers to every observable's schema) with
    /// the observables, which it therefore compiles anyway; everything else (the
    /// SDOs, SROs and meta objects, which share `core.json`) in the other part.
    /// The two cost about the same to compile; one compiles on a second thread
    /// while this one compiles the other.
    fn build() -> Shared {
        let mut parts: [Vec<(&'static str, &'static str)>; HALVES] = Default::default();
        let mut half_of = HashMap::new();
        for (name, path) in SCHEMAS
            .iter()
            .filter_map(|(path, _)| object_type_of(path).map(|t| (t, *path)))
        {
            let i = usize::from(path.starts_with("observables/") || name == "observed-data");
            parts[i].push((name, path));
            half_of.insert(name, i);
        }
        let [first, second] = &parts;
        let compiled = std::thread::scope(|s| {
            let other = s.spawn(|| dispatch(second).ok());
            let here = dispatch(first).ok();
            [here, other.join().ok().flatten()]
        });
        let halves: Vec<Validator> = compiled.into_iter().flatten().collect();
        if halves.len() != HALVES {
            half_of.clear(); // the per-type validators stand in
        }
        Shared { half_of, halves }
    }
}

impl Schemas {
    fn build() -> Schemas {
        let per_type = SCHEMAS
            .iter()
            .filter_map(|(path, _)| object_type_of(path).map(|t| (t, (*path, OnceLock::new()))))
            .collect();
        Schemas {
            per_type,
            shared: OnceLock::new(),
            bundle: OnceLock::new(),
            core: OnceLock::new(),
            observable_core: OnceLock::new(),
        }
    }

    /// The validators, compiled on first use.
    pub(super) fn get() -> &'static Schemas {
        static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
        SCHEMAS.get_or_init(Schemas::build)
    }

    /// The validator for an object type (`bundle`, `indicator`, … or `core` and
    /// `cyber-observable-core` for custom types): `Ok(None)` for a type without a
    /// schema, `Err` when its schema did not compile.
    pub(super) fn for_type(&self, object_type: &str) -> Result<Option<&Validator>, &str> {
        match object_type {
            "bundle" => return lazily(&self.bundle, "bundle").map(Some),
            "core" => return lazily(&self.core, "core").map(Some),
            "cyber-observable-core" => {
                return lazily(&self.observable_core, "cyber-observable-core").map(Some);
            }
            _ => {}
        }
        if FAST_START.load(std::sync::atomic::Ordering::Relaxed) {
            let shared = self.shared.get_or_init(Shared::build);
            if let Some(v) = shared
                .half_of
                .get(object_type)
                .and_then(|i| shared.halves.get(*i))
            {
                return Ok(Some(v));
            }
        }
        let Some((path, cell)) = self.per_type.get(object_type) else {
            return Ok(None);
        };
        cell.get_or_init(|| compile(path))
            .as_ref()
            .map(Some)
            .map_err(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_schemas_build_one_registry_and_every_type_compiles_from_it() {
        // Without the registry every build would fall back to the retriever: still
        // correct, but it parses every file again, which this saving exists to avoid.
        assert!(registry().is_some(), "the embedded schemas did not index");
        let schemas = Schemas::build();
        let cores = ["bundle", "core", "cyber-observable-core"];
        for name in schemas.per_type.keys().chain(&cores) {
            let v = schemas.for_type(name);
            assert!(matches!(v, Ok(Some(_))), "{name}: {:?}", v.err());
        }
    }

    #[test]
    fn the_bundle_schema_loses_only_its_unused_items() {
        let mut bundle: Value = serde_json::from_str(
            SCHEMAS
                .iter()
                .find(|(p, _)| *p == "common/bundle.json")
                .map(|(_, t)| *t)
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        assert!(bundle.pointer("/properties/objects/items").is_some());
        correct("common/bundle.json", &mut bundle);
        assert!(bundle.pointer("/properties/objects/items").is_none());
        assert!(bundle.pointer("/properties/objects/type").is_some());
    }
}
