//! The upload quality gate: what a connector must be before the registry stores
//! it. `POST /api/connectors/{id}/versions` (and GraphQL's `uploadVersion`) refuse
//! a component that fails it with 422 `invalid_manifest`, every finding listed with
//! its rule and path; `airlock check FILE.wasm` runs the same function offline.
//!
//! The rules, each with a stable name a finding carries:
//!
//! | rule | what it asks |
//! | --- | --- |
//! | `id-format` | the id is lower kebab case, at most 64 bytes (`runtime::manifest`, at load) |
//! | `manifest-bounds` | names, descriptions, counts of actions, schemas, hosts and capabilities, and schema size and depth, within their bounds; no control characters (`runtime::manifest`, at load) |
//! | `semantic-version` | the version is `MAJOR.MINOR.PATCH[-pre][+build]` |
//! | `schema-compiles` | the config, secrets and every action's input schema compile as JSON Schema |
//! | `host-pattern` | every outbound host pattern is `scheme://host[:port]`, and a wildcard keeps at least two fixed labels (`*.example.com`, never `*.com`) |
//! | `sample-output-valid` | the sample output passes the validator of its standard, the one live output meets |
//! | `threat-intel-stix` | a connector in `osint` or `dark-web` declares `stix-2.1` as its first (primary) output standard |
//! | `category-matches` | the manifest's category is the registered connector's (upload only: `check` has no connector) |
//!
//! `threat-intel-stix` is seed 000's "each registered connector must declare STIX
//! 2.1 as its primary output contract when producing cyber-threat intelligence
//! objects", read as: the two categories whose output *is* cyber-threat
//! intelligence are `osint` and `dark-web`; "primary" is the first of the declared
//! output standards. Others may follow it (`json` for a side channel).
//!
//! Not a refusal: an upgrade that asks for more than the version deployed (new
//! outbound hosts, capabilities or secrets — [`CapabilityDiff`]) is stored, and a
//! deployment's move to it is held for an admin's approval (`deployments.rs`).
//!
//! Invariants: pure (no I/O, no clock), total, and a finding never echoes an input
//! back beyond a short, bounded excerpt.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::checks::{compile_schema, host_pattern};
use crate::runtime::ManifestJson;
use crate::runtime::manifest::ManifestProblem;
use crate::vocab::Standard;

/// A rule of the gate: its name and what it asks, for reports and docs.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The stable name findings carry.
    pub name: &'static str,
    /// What it asks, in a sentence.
    pub asks: &'static str,
}

/// Every rule, in the order a report lists them.
pub const RULES: &[Rule] = &[
    Rule {
        name: crate::runtime::manifest::RULE_ID,
        asks: "the id is lower kebab case, at most 64 bytes",
    },
    Rule {
        name: crate::runtime::manifest::RULE_BOUNDS,
        asks: "names, descriptions, counts and schemas within their bounds, no control characters",
    },
    Rule {
        name: SEMANTIC_VERSION,
        asks: "the version is MAJOR.MINOR.PATCH",
    },
    Rule {
        name: SCHEMA_COMPILES,
        asks: "the config, secrets and action input schemas compile as JSON Schema",
    },
    Rule {
        name: HOST_PATTERN,
        asks: "outbound host patterns are scheme://host[:port], no bare wildcard",
    },
    Rule {
        name: SAMPLE_OUTPUT_VALID,
        asks: "the sample output is valid in its standard",
    },
    Rule {
        name: THREAT_INTEL_STIX,
        asks: "osint and dark-web connectors declare stix-2.1 as their primary output",
    },
    Rule {
        name: CATEGORY_MATCHES,
        asks: "the manifest's category is the registered connector's (at upload)",
    },
];

/// See the module's table.
pub const SEMANTIC_VERSION: &str = "semantic-version";
/// See the module's table.
pub const SCHEMA_COMPILES: &str = "schema-compiles";
/// See the module's table.
pub const HOST_PATTERN: &str = "host-pattern";
/// See the module's table.
pub const SAMPLE_OUTPUT_VALID: &str = "sample-output-valid";
/// See the module's table.
pub const THREAT_INTEL_STIX: &str = "threat-intel-stix";
/// See the module's table.
pub const CATEGORY_MATCHES: &str = "category-matches";

/// One finding of the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateFinding {
    /// The rule it breaks (see [`RULES`]).
    pub rule: &'static str,
    /// JSON Pointer into the manifest as the APIs show it (`/outbound_hosts/0/pattern`),
    /// continued into the sample output's body for its validator's findings.
    pub path: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// The findings of loading a component (`id-format`, `manifest-bounds`).
pub fn load_findings(problems: &[ManifestProblem]) -> Vec<GateFinding> {
    problems
        .iter()
        .map(|p| GateFinding {
            rule: p.rule,
            path: p.path.clone(),
            message: p.message.clone(),
        })
        .collect()
}

/// Every finding of the gate's rules on a loaded manifest (the load's own were
/// checked already) and its sample output's bytes; empty when it passes.
pub fn check(m: &ManifestJson, sample: Option<(Standard, &[u8])>) -> Vec<GateFinding> {
    let mut found = Vec::new();
    let mut bad = |rule: &'static str, path: String, message: String| {
        found.push(GateFinding {
            rule,
            path,
            message,
        })
    };
    if !is_semver(&m.version) {
        bad(
            SEMANTIC_VERSION,
            "/version".into(),
            format!(
                "`{}` is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0)",
                crate::text::bounded(&m.version, 40)
            ),
        );
    }
    let mut schemas = vec![
        ("/config_schema".to_string(), &m.config_schema),
        ("/secrets_schema".to_string(), &m.secrets_schema),
    ];
    for (i, a) in m.actions.iter().enumerate() {
        if let Some(s) = a.get("input_schema") {
            schemas.push((format!("/actions/{i}/input_schema"), s));
        }
    }
    for (path, schema) in schemas {
        if let Err(e) = compile_schema(schema) {
            bad(
                SCHEMA_COMPILES,
                path,
                format!("not a valid JSON Schema: {}", crate::text::bounded(&e, 200)),
            );
        }
    }
    for (i, h) in m.outbound_hosts.iter().enumerate() {
        let p = h.get("pattern").and_then(Value::as_str).unwrap_or("");
        if let Err(why) = declared_host(p) {
            bad(HOST_PATTERN, format!("/outbound_hosts/{i}/pattern"), why);
        }
    }
    if let Some((standard, body)) = sample {
        let report = crate::validate::validate(standard, body);
        // A few findings are enough to fix it; the validator's own paths continue
        // the pointer into the body.
        for f in report.errors.iter().take(10) {
            bad(
                SAMPLE_OUTPUT_VALID,
                format!("/sample_output/body{}", crate::text::bounded(&f.path, 200)),
                format!(
                    "not valid {standard} ({}): {}",
                    f.rule,
                    crate::text::bounded(&f.message, 200)
                ),
            );
        }
        if report.errors.len() > 10 {
            bad(
                SAMPLE_OUTPUT_VALID,
                "/sample_output/body".into(),
                format!("and {} more findings", report.errors.len() - 10),
            );
        }
    }
    if matches!(m.category.as_str(), "osint" | "dark-web")
        && m.output_standards.first().map(String::as_str) != Some(Standard::Stix21.as_str())
    {
        bad(
            THREAT_INTEL_STIX,
            "/output_standards".into(),
            format!(
                "a connector in `{}` produces cyber-threat intelligence and must declare \
                 `stix-2.1` as its first (primary) output standard; it declares {}",
                m.category,
                if m.output_standards.is_empty() {
                    "none".to_string()
                } else {
                    m.output_standards.join(", ")
                }
            ),
        );
    }
    found
}

/// `MAJOR.MINOR.PATCH` with an optional `-pre` and `+build` (SemVer 2.0.0's
/// shape; leading zeros aside).
fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 20)
}

/// A declared outbound host pattern: well formed, and a wildcard that leaves at
/// least two labels fixed, so it names one organisation's hosts, not a top-level
/// domain's.
fn declared_host(p: &str) -> Result<(), String> {
    host_pattern(p)?;
    if let Some(fixed) = p
        .split_once("://")
        .and_then(|(_, rest)| rest.strip_prefix("*."))
    {
        let host = fixed.rsplit_once(':').map_or(fixed, |(h, _)| h);
        if host.split('.').filter(|l| !l.is_empty()).count() < 2 {
            return Err(format!(
                "`{}` is a bare wildcard: a wildcard must keep at least two labels fixed, \
                 as in `https://*.example.com`",
                crate::text::bounded(p, 100)
            ));
        }
    }
    Ok(())
}

/// What a new manifest asks for that an old one did not: the grants an upgrade
/// would widen.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Serialize,
    serde::Deserialize,
    async_graphql::SimpleObject,
    utoipa::ToSchema,
)]
pub struct CapabilityDiff {
    /// Outbound host patterns declared now and not before.
    pub outbound_hosts: Vec<String>,
    /// Capabilities declared now and not before.
    pub capabilities: Vec<String>,
    /// Secrets asked for now and not before: properties of the secrets schema and
    /// secrets an outbound credential names.
    pub secrets: Vec<String>,
}

impl CapabilityDiff {
    /// What `new` asks for beyond `old`.
    pub fn between(old: &ManifestJson, new: &ManifestJson) -> CapabilityDiff {
        let added = |old: BTreeSet<String>, new: BTreeSet<String>| -> Vec<String> {
            new.difference(&old).cloned().collect()
        };
        CapabilityDiff {
            outbound_hosts: added(hosts(old), hosts(new)),
            capabilities: added(
                old.capabilities.iter().cloned().collect(),
                new.capabilities.iter().cloned().collect(),
            ),
            secrets: added(secrets(old), secrets(new)),
        }
    }

    /// Whether the new manifest asks for nothing more.
    pub fn is_empty(&self) -> bool {
        self.outbound_hosts.is_empty() && self.capabilities.is_empty() && self.secrets.is_empty()
    }

    /// The diff as lines for a terminal (`+ outbound host https://…`).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, items) in [
            ("outbound host", &self.outbound_hosts),
            ("capability", &self.capabilities),
            ("secret", &self.secrets),
        ] {
            out.extend(items.iter().map(|i| format!("+ {what} {i}")));
        }
        out
    }
}

fn hosts(m: &ManifestJson) -> BTreeSet<String> {
    m.outbound_hosts
        .iter()
        .filter_map(|h| h.get("pattern").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn secrets(m: &ManifestJson) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = m
        .secrets_schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for h in &m.outbound_hosts {
        if let Some(c) = h.get("credential").and_then(Value::as_object) {
            for key in ["secret", "username_secret", "password_secret"] {
                if let Some(s) = c.get(key).and_then(Value::as_str) {
                    names.insert(s.to_string());
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> ManifestJson {
        ManifestJson {
            id: "feed".into(),
            name: "Feed".into(),
            version: "1.0.0".into(),
            vendor: "V".into(),
            description: String::new(),
            category: "osint".into(),
            capabilities: vec!["poll".into()],
            output_standards: vec!["stix-2.1".into()],
            config_schema: serde_json::json!({"type": "object"}),
            secrets_schema: serde_json::json!({"type": "object",
                "properties": {"token": {"type": "string"}}}),
            actions: vec![],
            outbound_hosts: vec![serde_json::json!({"pattern": "https://*.example.com",
                "credential": {"type": "bearer", "secret": "token"}})],
            sample_output: None,
            contract_version: "0.1.0".into(),
        }
    }

    fn rules(f: &[GateFinding]) -> Vec<&'static str> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_good_manifest_passes_and_each_rule_is_named() {
        assert_eq!(check(&manifest(), None), vec![]);
        let mut m = manifest();
        m.version = "1.0".into();
        assert_eq!(rules(&check(&m, None)), [SEMANTIC_VERSION]);
        let mut m = manifest();
        m.config_schema = serde_json::json!({"type": 12});
        assert_eq!(rules(&check(&m, None)), [SCHEMA_COMPILES]);
        let mut m = manifest();
        m.output_standards = vec!["json".into(), "stix-2.1".into()];
        assert_eq!(rules(&check(&m, None)), [THREAT_INTEL_STIX]);
        m.category = "telemetry".into();
        assert_eq!(check(&m, None), vec![]);
        let f = check(
            &manifest(),
            Some((Standard::Stix21, b"{\"type\": \"bundle\"}")),
        );
        assert!(!f.is_empty());
        assert!(f.iter().all(|f| f.rule == SAMPLE_OUTPUT_VALID), "{f:?}");
        assert!(f[0].path.starts_with("/sample_output/body"), "{f:?}");
    }

    #[test]
    fn wildcards_keep_two_fixed_labels() {
        for good in [
            "https://*.example.com",
            "https://*.example.com:8443",
            "https://*.example.com:*",
            "https://api.example.com",
            "http://127.0.0.1:8080",
        ] {
            assert!(declared_host(good).is_ok(), "{good}");
        }
        for bare in [
            "https://*.com",
            "https://*.com:443",
            "https://*.localhost:*",
        ] {
            let why = declared_host(bare).unwrap_err();
            assert!(why.contains("bare wildcard"), "{bare}: {why}");
        }
        for malformed in ["https://*", "*", "https://*.*.com", "example.com"] {
            assert!(declared_host(malformed).is_err(), "{malformed}");
        }
    }

    #[test]
    fn an_upgrade_that_asks_for_more_is_seen_and_one_that_asks_less_is_not() {
        let old = manifest();
        let mut new = manifest();
        assert!(CapabilityDiff::between(&old, &new).is_empty());
        new.outbound_hosts
            .push(serde_json::json!({"pattern": "https://upload.example.org"}));
        new.capabilities.push("upload".into());
        new.secrets_schema["properties"]["signing_key"] = serde_json::json!({"type": "string"});
        let diff = CapabilityDiff::between(&old, &new);
        assert_eq!(diff.outbound_hosts, ["https://upload.example.org"]);
        assert_eq!(diff.capabilities, ["upload"]);
        assert_eq!(diff.secrets, ["signing_key"]);
        assert_eq!(diff.lines().len(), 3);
        assert!(CapabilityDiff::between(&new, &old).is_empty());
    }
}
