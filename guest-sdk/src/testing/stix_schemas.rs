//! STIX 2.1 output checked against the official OASIS JSON schemas, for connector tests.
//!
//! Enabled by the `stix-schemas` feature (it pulls the `jsonschema` crate into native
//! test builds only). Point [`StixSchemas::new`] at a directory holding the official
//! `schemas/` tree (`cti-stix2-json-schemas`, the STIX 2.1 line; Airlock's repository
//! keeps a copy in `shared/standards/stix2.1`). Every `$ref` resolves from that
//! directory: nothing is fetched from the network.
//!
//! The schemas are non-normative and miss some MUSTs (`modified` ≥ `created`, ref
//! target types…); [`crate::stix::Bundle::to_json`] checks those, and Airlock's host
//! validates everything again before publishing.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::Value;

/// Every official schema's `$id` starts with this; the rest is its path in the tree.
const SCHEMA_ID_PREFIX: &str =
    "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/";

struct LocalSchemas {
    dir: PathBuf,
}

impl Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let relative = uri
            .as_str()
            .strip_prefix(SCHEMA_ID_PREFIX)
            .ok_or_else(|| format!("not a local STIX schema: {}", uri.as_str()))?;
        let text = std::fs::read_to_string(self.dir.join(relative))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Compiled STIX 2.1 schemas, one per object type, compiled on first use.
pub struct StixSchemas {
    dir: PathBuf,
    validators: HashMap<String, Result<Validator, String>>,
}

impl std::fmt::Debug for StixSchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StixSchemas")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl StixSchemas {
    /// Schemas read from `stix21_dir`, the directory that holds `schemas/`.
    pub fn new(stix21_dir: impl Into<PathBuf>) -> Self {
        StixSchemas {
            dir: stix21_dir.into(),
            validators: HashMap::new(),
        }
    }

    fn schema_path(&self, object_type: &str) -> Option<PathBuf> {
        let dirs: &[&str] = match object_type {
            "bundle" | "marking-definition" => &["common"],
            _ => &["sdos", "sros", "observables"],
        };
        dirs.iter()
            .map(|d| {
                self.dir
                    .join("schemas")
                    .join(d)
                    .join(format!("{object_type}.json"))
            })
            .find(|p| p.is_file())
    }

    fn compile(&self, path: &Path) -> Result<Validator, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let schema: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .with_retriever(LocalSchemas {
                dir: self.dir.clone(),
            })
            .build(&schema)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The schema errors of one object (or a bundle as a whole) against the schema of
    /// its `type`; empty when it is valid. A missing `type`, an unknown type or an
    /// unreadable schema is reported as an error too.
    pub fn errors(&mut self, object: &Value) -> Vec<String> {
        let Some(object_type) = object.get("type").and_then(Value::as_str) else {
            return vec!["the object has no `type`".into()];
        };
        if !self.validators.contains_key(object_type) {
            let compiled = match self.schema_path(object_type) {
                Some(path) => self.compile(&path),
                None => Err(format!(
                    "no STIX 2.1 schema for type `{object_type}` in {}",
                    self.dir.display()
                )),
            };
            self.validators.insert(object_type.to_string(), compiled);
        }
        match self.validators.get(object_type) {
            Some(Ok(v)) => v
                .iter_errors(object)
                .map(|e| format!("{e} at `{}`", e.instance_path()))
                .collect(),
            Some(Err(e)) => vec![e.clone()],
            None => vec![format!("no validator for `{object_type}`")],
        }
    }

    /// The errors of a bundle: the bundle schema, every object's schema, duplicate ids,
    /// and `*_ref`/`*_refs` that point at no object of the bundle.
    pub fn bundle_errors(&mut self, bundle: &Value) -> Vec<String> {
        let mut errors = self.errors(bundle);
        let objects = bundle
            .get("objects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut ids = BTreeSet::new();
        for object in &objects {
            let id = object
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("(no id)");
            errors.extend(
                self.errors(object)
                    .into_iter()
                    .map(|e| format!("{id}: {e}")),
            );
            if !ids.insert(id.to_string()) {
                errors.push(format!("{id} appears twice"));
            }
        }
        for object in &objects {
            let id = object
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("(no id)");
            for (key, value) in object.as_object().into_iter().flatten() {
                let refs: Vec<&Value> = if key.ends_with("_refs") {
                    value
                        .as_array()
                        .map(|a| a.iter().collect())
                        .unwrap_or_default()
                } else if key.ends_with("_ref") {
                    vec![value]
                } else {
                    continue;
                };
                for r in refs.into_iter().filter_map(Value::as_str) {
                    if !ids.contains(r) {
                        errors.push(format!("{id}: {key} {r} is not in the bundle"));
                    }
                }
            }
        }
        errors
    }

    /// Panics, listing the errors, unless `object` is valid. For tests.
    #[allow(clippy::panic)] // a test assertion
    pub fn assert_valid(&mut self, object: &Value) {
        let errors = self.errors(object);
        if !errors.is_empty() {
            panic!("{object:#}\nis not valid STIX 2.1:\n{}", errors.join("\n"));
        }
    }

    /// Panics, listing the errors, unless `bundle` passes [`StixSchemas::bundle_errors`].
    #[allow(clippy::panic)] // a test assertion
    pub fn assert_valid_bundle(&mut self, bundle: &Value) {
        let errors = self.bundle_errors(bundle);
        if !errors.is_empty() {
            panic!("the bundle is not valid STIX 2.1:\n{}", errors.join("\n"));
        }
    }
}
