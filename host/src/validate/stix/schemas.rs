//! The official STIX 2.1 JSON schemas, embedded and compiled once per object type,
//! on first use (a short `airlock validate` compiles only the types its files
//! hold, on the threads that meet them).
//!
//! Every schema's `$id` is under [`SCHEMA_ID_PREFIX`] and refs are relative, so one
//! registry of the embedded files, parsed once, resolves every `$ref` without the
//! network (a retriever over the same files stands behind it); each validator is a
//! small root that refers into it. The common bases (`core.json`,
//! `cyber-observable-core.json`) are compiled once and checked apart from the rest
//! of each type's schema ([`Schemas`]). A bundle is checked against `bundle.json` with
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

struct Files;

impl Retrieve for Files {
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

/// The compiled validators, each compiled the first time it is needed: the
/// bundle envelope, the two common bases, and one per object type.
///
/// Every object type's schema but `marking-definition`'s starts from a common
/// base (`allOf[0]` is a `$ref` to `core.json` or `cyber-observable-core.json`),
/// and jsonschema compiles a `$ref` target once per place that reaches it: the
/// bases, with the identifier, timestamp, marking and external-reference schemas
/// they refer to, were most of what compiling every type cost (half the time and
/// memory). So a type's validator is compiled from the rest of its schema (a
/// derived registry entry, `<type>.rest.json`, without that first `$ref`) and the
/// base is compiled once and checked first. An object is valid against
/// `allOf[base, rest…]` exactly when it is valid against both, with the same
/// errors (the base's now come first). Nothing but this split reaches the rest entries:
/// `observed-data`'s deprecated `objects` still refers to the whole observable
/// schemas.
pub(super) struct Schemas {
    per_type: HashMap<&'static str, TypeSchema>,
    bundle: OnceLock<Compiled>,
    core: OnceLock<Compiled>,
    observable_core: OnceLock<Compiled>,
}

/// An object type's validator, and the base checked before it.
struct TypeSchema {
    base: Option<Base>,
    /// The registry path it compiles: the rest entry, or the whole schema.
    path: &'static str,
    compiled: OnceLock<Compiled>,
    deferred: Option<Deferred>,
}

/// A property whose schema is compiled apart, the first time an object holds it
/// ([`DEFERRED`]).
struct Deferred {
    property: &'static str,
    /// Where its errors point, below the object: `/<property>`.
    pointer: String,
    path: &'static str,
    compiled: OnceLock<Compiled>,
}

/// Properties taken out of their type's rest entry and compiled only when an
/// object holds them: `observed-data`'s `objects`, deprecated since 2.1 and rare,
/// refers to every observable's whole schema, which made `observed-data` cost as
/// much to compile as all the other types together.
const DEFERRED: &[(&str, &str)] = &[("observed-data", "objects")];

/// The registry path of a deferred property's schema, beside its type's schema
/// (so its relative refs resolve the same).
fn deferred_path(path: &str, property: &str) -> String {
    format!(
        "{}.{property}.json",
        path.strip_suffix(".json").unwrap_or(path)
    )
}

/// The common schema an object type's schema starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Base {
    Core,
    ObservableCore,
}

impl Base {
    fn of(schema: &Value) -> Option<Base> {
        match schema.pointer("/allOf/0/$ref")?.as_str()? {
            "../common/core.json" => Some(Base::Core),
            "../common/cyber-observable-core.json" => Some(Base::ObservableCore),
            _ => None,
        }
    }
}

/// What an object is checked against, in order: its type's base (when the type
/// has one), then the rest of its type's schema.
pub(super) struct Checks<'a> {
    base: Option<&'a Validator>,
    /// The rest of the type's schema; for a custom type, its base whole.
    rest: &'a Validator,
    deferred: Option<&'a Deferred>,
}

/// One check of an object: a validator, the value it checks (the object, or one
/// of its properties), and the pointer of that value below the object.
pub(super) struct Check<'a, 'v> {
    pub(super) validator: &'a Validator,
    pub(super) value: &'v Value,
    pub(super) pointer: &'a str,
}

impl<'a> Checks<'a> {
    /// The checks of `object`, in order: its base, the rest of its type's schema,
    /// then the deferred property it holds (compiled now if this is the first);
    /// `Err` when that property's schema did not compile.
    pub(super) fn of<'v>(
        &self,
        object: &'v Value,
    ) -> impl Iterator<Item = Result<Check<'a, 'v>, &'a str>> + use<'a, 'v> {
        let on_object = |validator| {
            Ok(Check {
                validator,
                value: object,
                pointer: "",
            })
        };
        let deferred = self.deferred.and_then(|d| {
            let value = object.get(d.property)?;
            Some(lazily(&d.compiled, d.path).map(|validator| Check {
                validator,
                value,
                pointer: &d.pointer,
            }))
        });
        self.base
            .map(on_object)
            .into_iter()
            .chain(std::iter::once(on_object(self.rest)))
            .chain(deferred)
    }
}

/// A validator, or why its schema did not compile (never expected: the files are
/// fixed; a document of that type then gets a `schema-unavailable` error).
type Compiled = Result<Validator, String>;

/// Every build shares what does not depend on the schema being compiled:
/// - the embedded schemas, parsed, corrected and indexed once into one registry
///   (otherwise each build retrieves and parses every file its refs reach);
/// - the compiled `pattern`s (the same identifier and timestamp patterns recur in
///   every type's schema, and each compiled regex costs tens of microseconds).
///
/// The patterns run on the `regex` crate, not jsonschema's default `fancy-regex`: no
/// STIX schema uses look-around or back-references (a pattern that did would fail to
/// compile, and the unit tests compile every type's schema), matching is linear in
/// the input, and it skips fancy-regex's wrapper on every match (about 5 % of a
/// whole-process run over the corpus, by `perf`).
///
/// The retriever stays as the fallback for a registry that did not build (never
/// expected: the files are fixed).
fn options() -> jsonschema::ValidationOptions<'static> {
    static PATTERNS: OnceLock<jsonschema::PatternCache> = OnceLock::new();
    let options = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_retriever(Files)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .with_pattern_cache(PATTERNS.get_or_init(jsonschema::PatternCache::new).clone());
    match indexed() {
        Some(indexed) => options.with_registry(&indexed.registry),
        None => options,
    }
}

/// The embedded schemas as one registry, and how each object type whose schema
/// starts from a base was split into entries of it.
struct Indexed {
    registry: Registry<'static>,
    splits: HashMap<&'static str, Split>,
}

/// The registry entries an object type's schema was split into.
struct Split {
    base: Base,
    /// The rest entry's path.
    rest: String,
    /// The deferred property and its entry's path, when one was taken out.
    deferred: Option<(&'static str, String)>,
}

/// The registry path of an object type's schema without its base.
fn rest_path(path: &str) -> String {
    format!("{}.rest.json", path.strip_suffix(".json").unwrap_or(path))
}

/// A registry entry for `schema` at `path`; its `$id` says so, and relative refs
/// resolve against that path.
fn resource(path: &str, mut schema: Value) -> (String, jsonschema::Resource) {
    let uri = format!("{SCHEMA_ID_PREFIX}{path}");
    if let Some(map) = schema.as_object_mut() {
        map.insert("$id".into(), uri.clone().into());
    }
    (uri, Draft::Draft202012.create_resource(schema))
}

/// The embedded schemas, indexed on first use.
fn indexed() -> Option<&'static Indexed> {
    static INDEXED: OnceLock<Option<Indexed>> = OnceLock::new();
    INDEXED
        .get_or_init(|| {
            // Every file, plus the rest entries that do not replace one.
            let mut resources = Vec::with_capacity(SCHEMAS.len() * 2);
            let mut splits = HashMap::new();
            for (path, text) in SCHEMAS {
                let mut schema: Value = serde_json::from_str(text).ok()?;
                correct(path, &mut schema);
                let Some((object_type, base)) =
                    object_type_of(path).and_then(|t| Some((t, Base::of(&schema)?)))
                else {
                    resources.push(resource(path, schema));
                    continue;
                };
                // observed-data's `objects` refers to the whole observable schemas;
                // nothing refers to another type's, so the rest takes its place.
                let mut rest = if path.starts_with("observables/") {
                    let rest = schema.clone();
                    resources.push(resource(path, schema));
                    rest
                } else {
                    schema
                };
                if let Some(all) = rest.get_mut("allOf").and_then(Value::as_array_mut) {
                    all.remove(0);
                }
                let mut deferred = None;
                for (_, property) in DEFERRED.iter().filter(|(t, _)| *t == object_type) {
                    let taken = rest
                        .get_mut("allOf")
                        .and_then(Value::as_array_mut)
                        .into_iter()
                        .flatten()
                        .find_map(|part| {
                            part.get_mut("properties")?
                                .as_object_mut()?
                                .remove(*property)
                        });
                    if let Some(schema) = taken {
                        let entry = deferred_path(path, property);
                        resources.push(resource(&entry, schema));
                        deferred = Some((*property, entry));
                    }
                }
                let split = Split {
                    base,
                    rest: rest_path(path),
                    deferred,
                };
                resources.push(resource(&split.rest, rest));
                splits.insert(object_type, split);
            }
            let registry = Registry::new()
                .draft(Draft::Draft202012)
                .retrieve_known_draft_meta_schemas(false)
                .extend(resources)
                .ok()?
                .prepare()
                .ok()?;
            Some(Indexed { registry, splits })
        })
        .as_ref()
}

/// A validator for the registry entry at `path`: a root that refers to it, so
/// the schema itself comes from the registry, parsed and corrected once.
fn compile(path: &str) -> Result<Validator, String> {
    let mut root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{SCHEMA_ID_PREFIX}airlock-root.json"),
    });
    root["$ref"] = path.into();
    options().build(&root).map_err(|e| format!("{path}: {e}"))
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

fn lazily<'a>(cell: &'a OnceLock<Compiled>, path: &str) -> Result<&'a Validator, &'a str> {
    cell.get_or_init(|| compile(path))
        .as_ref()
        .map_err(String::as_str)
}

impl Schemas {
    fn build() -> Schemas {
        let indexed = indexed();
        let per_type = SCHEMAS
            .iter()
            .filter_map(|(path, _)| {
                let object_type = object_type_of(path)?;
                // Without the registry (never expected) the whole schemas stand in.
                let split = indexed.and_then(|i| i.splits.get(object_type));
                let deferred = split
                    .and_then(|s| s.deferred.as_ref())
                    .map(|(property, path)| Deferred {
                        property,
                        pointer: format!("/{property}"),
                        path,
                        compiled: OnceLock::new(),
                    });
                let (base, path) = match split {
                    Some(split) => (Some(split.base), split.rest.as_str()),
                    None => (None, *path),
                };
                let schema = TypeSchema {
                    base,
                    path,
                    compiled: OnceLock::new(),
                    deferred,
                };
                Some((object_type, schema))
            })
            .collect();
        Schemas {
            per_type,
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

    /// The bundle envelope's validator (`common/bundle.json`).
    pub(super) fn bundle(&self) -> Result<&Validator, &str> {
        lazily(&self.bundle, "common/bundle.json")
    }

    fn base(&self, base: Base) -> Result<&Validator, &str> {
        match base {
            Base::Core => lazily(&self.core, "common/core.json"),
            Base::ObservableCore => {
                lazily(&self.observable_core, "common/cyber-observable-core.json")
            }
        }
    }

    /// What an object of `object_type` is checked against (`indicator`, … or
    /// `core` and `cyber-observable-core` for custom types): `Ok(None)` for a type
    /// without a schema, `Err` when a schema it needs did not compile.
    pub(super) fn for_type(&self, object_type: &str) -> Result<Option<Checks<'_>>, &str> {
        let base_only = |base| {
            self.base(base).map(|rest| {
                Some(Checks {
                    base: None,
                    rest,
                    deferred: None,
                })
            })
        };
        match object_type {
            "core" => return base_only(Base::Core),
            "cyber-observable-core" => return base_only(Base::ObservableCore),
            _ => {}
        }
        let Some(schema) = self.per_type.get(object_type) else {
            return Ok(None);
        };
        let base = schema.base.map(|b| self.base(b)).transpose()?;
        let rest = lazily(&schema.compiled, schema.path)?;
        Ok(Some(Checks {
            base,
            rest,
            deferred: schema.deferred.as_ref(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_schemas_build_one_registry_and_every_type_compiles_from_it() {
        // Without the registry every build would fall back to the retriever: still
        // correct, but it parses every file again, which this saving exists to avoid.
        let indexed = indexed().expect("the embedded schemas did not index");
        // Every object type but marking-definition starts from a base.
        let base = |t| indexed.splits.get(t).map(|s| s.base);
        assert_eq!(base("indicator"), Some(Base::Core));
        assert_eq!(base("file"), Some(Base::ObservableCore));
        assert_eq!(base("marking-definition"), None);
        // observed-data's objects was taken out of its rest entry.
        let observed = indexed
            .splits
            .get("observed-data")
            .and_then(|s| s.deferred.as_ref());
        assert_eq!(observed.map(|(p, _)| *p), Some("objects"));
        let schemas = Schemas::build();
        assert!(schemas.bundle().is_ok());
        for name in schemas
            .per_type
            .keys()
            .chain(&["core", "cyber-observable-core"])
        {
            let checks = schemas.for_type(name);
            assert!(matches!(checks, Ok(Some(_))), "{name}: {:?}", checks.err());
        }
        assert_eq!(indexed.splits.len() + 1, schemas.per_type.len());
    }

    /// Every `.json` file under `dir`, its subfolders included.
    fn json_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                json_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }

    /// The split changes no finding: every object of the fixtures and the official
    /// examples gets, from its base, the rest and its deferred property, the errors
    /// (paths and messages) the whole schema of its type gives. Not in the same
    /// order: jsonschema reports a schema's `required` before its `allOf`, so the
    /// whole schema listed a type's missing properties before its base's errors.
    #[test]
    fn checking_the_base_then_the_rest_finds_what_the_whole_schema_finds() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        json_files(&root.join("tests/fixtures/stix"), &mut files);
        json_files(
            &root.join("../shared/standards/stix2.1/examples"),
            &mut files,
        );
        let schemas = Schemas::build();
        let mut whole: HashMap<&str, Validator> = HashMap::new();
        let (mut objects, mut invalid, mut with_deferred) = (0, 0, 0);
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let Ok(doc) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) else {
                continue;
            };
            let list = match doc.get("objects").and_then(Value::as_array) {
                Some(list) => list.clone(),
                None => vec![doc],
            };
            for object in &list {
                let object_type = object.get("type").and_then(Value::as_str);
                let Some((path, name)) = SCHEMAS.iter().find_map(|(p, _)| {
                    object_type_of(p)
                        .filter(|t| Some(*t) == object_type)
                        .map(|t| (*p, t))
                }) else {
                    continue;
                };
                let v = whole
                    .entry(name)
                    .or_insert_with(|| compile(path).expect("compiles"));
                let mut expected: Vec<(String, String)> = v
                    .iter_errors(object)
                    .map(|e| (e.instance_path().to_string(), e.to_string()))
                    .collect();
                let checks = schemas.for_type(name).ok().flatten().expect("compiles");
                let mut found: Vec<(String, String)> = Vec::new();
                for check in checks.of(object) {
                    let check = check.expect("compiles");
                    found.extend(check.validator.iter_errors(check.value).map(|e| {
                        (
                            format!("{}{}", check.pointer, e.instance_path()),
                            e.to_string(),
                        )
                    }));
                }
                found.sort();
                expected.sort();
                assert_eq!(found, expected, "{}: {name}", file.display());
                objects += 1;
                invalid += usize::from(!expected.is_empty());
                with_deferred += usize::from(
                    DEFERRED
                        .iter()
                        .any(|(t, p)| *t == name && object.get(*p).is_some()),
                );
            }
        }
        // It saw the corpus: valid and invalid objects, and deferred properties.
        assert!(
            objects > 500 && invalid > 50 && with_deferred >= 2,
            "{objects} objects, {invalid} invalid, {with_deferred} with a deferred property"
        );
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
