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
//! | `semantic-version` | the version is SemVer 2.0.0: `MAJOR.MINOR.PATCH[-pre][+build]`, no leading zeros |
//! | `schema-compiles` | the config, secrets and every action's input schema compile as JSON Schema |
//! | `host-pattern` | every outbound host pattern is `scheme://host[:port]`, and a wildcard stands for names and keeps at least two fixed labels (`*.example.com`, never `*.com` or `*.0.0.1`) |
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
//! Not a refusal: a version that asks for more than the connector is approved for
//! (outbound hosts, capabilities, secrets, which secret goes to which host —
//! [`CapabilityDiff`]) is stored, and deploying it waits for an admin's approval
//! (`deployments.rs`).
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

/// SemVer 2.0.0: `MAJOR.MINOR.PATCH` (no leading zeros), then an optional `-pre`
/// and `+build`, each dot-separated identifiers of `[0-9A-Za-z-]`.
fn is_semver(v: &str) -> bool {
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let idents_ok = |s: &str| {
        s.split('.')
            .all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 20
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
        && pre.is_none_or(idents_ok)
        && build.is_none_or(idents_ok)
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
        // `*.0.0.1` would stand for addresses, not names.
        let numeric = host
            .rsplit('.')
            .next()
            .is_some_and(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()));
        if numeric {
            return Err(format!(
                "`{}`: a wildcard stands for host names; it cannot cover IP addresses",
                crate::text::bounded(p, 100)
            ));
        }
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

/// What a manifest asks for that matters to an admin — the outbound hosts, the
/// capabilities, the secrets, and which secret goes to which host — and, as the
/// difference of two, what a new version asks for beyond what was approved.
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
    /// Outbound host patterns.
    pub outbound_hosts: Vec<String>,
    /// Capabilities.
    pub capabilities: Vec<String>,
    /// Secrets: properties of the secrets schema and secrets an outbound
    /// credential names.
    pub secrets: Vec<String>,
    /// Which secret the host adds to requests to which host, and how
    /// (`https://api.example.com: bearer token`): moving a secret to another host
    /// sends it somewhere new.
    #[serde(default)]
    pub credentials: Vec<String>,
}

impl CapabilityDiff {
    /// Everything `m` asks for.
    pub fn of(m: &ManifestJson) -> CapabilityDiff {
        CapabilityDiff {
            outbound_hosts: hosts(m).into_iter().collect(),
            capabilities: m
                .capabilities
                .iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            secrets: secrets(m).into_iter().collect(),
            credentials: credentials(m).into_iter().collect(),
        }
    }

    /// What `new` asks for beyond `old`.
    pub fn between(old: &ManifestJson, new: &ManifestJson) -> CapabilityDiff {
        CapabilityDiff::of(new).minus(&CapabilityDiff::of(old))
    }

    /// What `self` holds that `other` does not.
    pub fn minus(&self, other: &CapabilityDiff) -> CapabilityDiff {
        let less = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|x| !b.contains(x)).cloned().collect()
        };
        CapabilityDiff {
            outbound_hosts: less(&self.outbound_hosts, &other.outbound_hosts),
            capabilities: less(&self.capabilities, &other.capabilities),
            secrets: less(&self.secrets, &other.secrets),
            credentials: less(&self.credentials, &other.credentials),
        }
    }

    /// Everything either holds.
    pub fn union(&self, other: &CapabilityDiff) -> CapabilityDiff {
        let both = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter()
                .chain(b)
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        CapabilityDiff {
            outbound_hosts: both(&self.outbound_hosts, &other.outbound_hosts),
            capabilities: both(&self.capabilities, &other.capabilities),
            secrets: both(&self.secrets, &other.secrets),
            credentials: both(&self.credentials, &other.credentials),
        }
    }

    /// Whether it asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.outbound_hosts.is_empty()
            && self.capabilities.is_empty()
            && self.secrets.is_empty()
            && self.credentials.is_empty()
    }

    /// The diff as lines for a terminal (`+ outbound host https://…`).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, items) in [
            ("outbound host", &self.outbound_hosts),
            ("capability", &self.capabilities),
            ("secret", &self.secrets),
            ("credential", &self.credentials),
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

/// `pattern: type secret…[ in header]` for each declared credential.
fn credentials(m: &ManifestJson) -> BTreeSet<String> {
    m.outbound_hosts
        .iter()
        .filter_map(|h| {
            let pattern = h.get("pattern").and_then(Value::as_str)?;
            let c = h.get("credential").and_then(Value::as_object)?;
            let field = |k: &str| c.get(k).and_then(Value::as_str);
            let mut text = format!("{pattern}: {}", field("type").unwrap_or("?"));
            for key in ["secret", "username_secret", "password_secret"] {
                if let Some(s) = field(key) {
                    text.push(' ');
                    text.push_str(s);
                }
            }
            if let Some(header) = field("header") {
                text.push_str(" in ");
                text.push_str(header);
            }
            Some(text)
        })
        .collect()
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
        for bad in ["1.0", "01.2.3", "1.2.3-", "1.2.3+", "1.2.3-a..b", "1.2.3-ä"] {
            let mut m = manifest();
            m.version = bad.into();
            assert_eq!(rules(&check(&m, None)), [SEMANTIC_VERSION], "{bad}");
        }
        for good in ["0.1.0", "1.2.3-rc.1", "1.2.3+build.5", "10.20.30-alpha-2+x"] {
            assert!(is_semver(good), "{good}");
        }
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
        for malformed in [
            "https://*",
            "*",
            "https://*.*.com",
            "example.com",
            "https://*.0.0.1",
            "https://*.168.1.1:*",
        ] {
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
        // The same hosts and secrets, but the secret now goes to another host.
        let mut moved = manifest();
        moved.outbound_hosts = vec![
            serde_json::json!({"pattern": "https://*.example.com"}),
            serde_json::json!({"pattern": "https://upload.example.org",
                "credential": {"type": "bearer", "secret": "token"}}),
        ];
        let mut before = manifest();
        before
            .outbound_hosts
            .push(serde_json::json!({"pattern": "https://upload.example.org"}));
        let diff = CapabilityDiff::between(&before, &moved);
        assert_eq!(
            diff.credentials,
            ["https://upload.example.org: bearer token"]
        );
        assert!(diff.outbound_hosts.is_empty() && diff.secrets.is_empty());
        // A baseline grows by union, and what it holds is never asked for again.
        let base = CapabilityDiff::of(&old).union(&CapabilityDiff::of(&new));
        assert!(CapabilityDiff::of(&new).minus(&base).is_empty());
    }
}
