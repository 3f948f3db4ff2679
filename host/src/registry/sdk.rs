//! `GET /api/sdk/manifest`: what a connector developer needs to know to build one.

use serde_json::{Value, json};

use super::{CATEGORIES, STANDARDS};
use crate::health::STATUSES;
use crate::runtime::SUPPORTED_CONTRACTS;

/// The contract's WIT text (the newest supported version).
pub const WIT: &str = include_str!("../../../wit/0.1.0/connector.wit");

fn standard_reference(s: &str) -> Value {
    match s {
        "stix-2.1" => json!({
            "specification": "https://docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html",
            "schemas": "https://github.com/oasis-open/cti-stix2-json-schemas (bundle.json and the per-object schemas)",
            "media_type": "application/stix+json;version=2.1"
        }),
        "cap-1.2" => json!({
            "specification": "https://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2-os.html",
            "schemas": "http://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2.xsd",
            "namespace": "urn:oasis:names:tc:emergency:cap:1.2",
            "media_type": "application/cap+xml"
        }),
        "ais" => json!({
            "specification": "ITU-R M.1371-5 (AIS messages 1–27), NMEA 0183 !AIVDM/!AIVDO sentences",
            "media_type": "application/json"
        }),
        "niem" => json!({
            "specification": "NIEM 6.0 core (XML Schema and JSON-LD context)",
            "media_type": "application/xml"
        }),
        "stanag-4607" => json!({
            "specification": "NATO STANAG 4607 / AEDP-7 GMTI format (binary packets)",
            "media_type": "application/octet-stream"
        }),
        _ => json!({ "specification": "any JSON document", "media_type": "application/json" }),
    }
}

fn quickstart(category: &str) -> String {
    let variant = match category {
        "osint" => "Osint",
        "financial" => "Financial",
        "social" => "Social",
        "dark-web" => "DarkWeb",
        "telemetry" => "Telemetry",
        _ => "Custom",
    };
    format!(
        "cargo new --lib my-connector && cd my-connector\n\
         # Cargo.toml: [lib] crate-type = [\"cdylib\", \"rlib\"]; [dependencies] airlock-sdk = \"0.1\"\n\
         # src/lib.rs:\n\
         use airlock_sdk::prelude::*;\n\
         #[derive(Default)]\n\
         struct Mine;\n\
         impl Connector for Mine {{\n\
         \x20   fn describe(&self) -> Manifest {{\n\
         \x20       Manifest::builder(\"my-connector\", \"My connector\", \"0.1.0\")\n\
         \x20           .category(Category::{variant})\n\
         \x20           .action(Action::new(\"run\", \"Does the work.\"))\n\
         \x20           .build()\n\
         \x20   }}\n\
         \x20   fn invoke(&self, _action: &str, input: Value, _ctx: &Context) -> Result<Vec<Output>> {{\n\
         \x20       Ok(vec![Output::json(&input)?])\n\
         \x20   }}\n\
         }}\n\
         airlock_sdk::export_connector!(Mine);\n\
         # build and try it:\n\
         rustup target add wasm32-wasip2 && cargo build --release --target wasm32-wasip2\n\
         airlock run target/wasm32-wasip2/release/my_connector.wasm --action run --input '{{}}'\n"
    )
}

/// The manifest schema a connector's `describe` must satisfy, as the API shows it.
fn capability_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Connector manifest (as returned by describe)",
        "type": "object",
        "required": ["id", "name", "version", "category", "actions"],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "name": {"type": "string"},
            "version": {"type": "string", "description": "semantic version, e.g. 1.2.0"},
            "vendor": {"type": "string"},
            "description": {"type": "string"},
            "category": {"enum": CATEGORIES},
            "capabilities": {"type": "array", "items": {"type": "string"},
                "description": "free-form tags used to browse the catalogue, e.g. `ioc-feed`"},
            "output_standards": {"type": "array", "items": {"enum": STANDARDS}},
            "config_schema": {"type": "object", "description": "a JSON Schema for the deployment's config"},
            "secrets_schema": {"type": "object", "description": "a JSON Schema naming the secrets the host injects"},
            "actions": {"type": "array", "items": {
                "type": "object",
                "required": ["name", "input_schema", "output_standard"],
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "input_schema": {"type": "object"},
                    "output_standard": {"enum": STANDARDS}
                }
            }},
            "outbound_hosts": {"type": "array", "items": {
                "type": "object",
                "required": ["pattern"],
                "properties": {
                    "pattern": {"type": "string", "pattern": "^https?://(\\*\\.)?[A-Za-z0-9.-]+(:[0-9]+)?$"},
                    "credential": {"type": ["object", "null"], "properties": {
                        "type": {"enum": ["bearer", "basic", "header", "hmac-sha256"]}
                    }}
                }
            }},
            "sample_output": {"type": ["object", "null"]}
        }
    })
}

/// The SDK manifest, with `example_configs` (category → configs) from the tenant.
pub fn sdk_manifest(example_configs: Value) -> Value {
    let latest = SUPPORTED_CONTRACTS.last().copied().unwrap_or("0.1.0");
    json!({
        "contract": {
            "package": format!("airlock:connector@{latest}"),
            "version": latest,
            "supported_versions": SUPPORTED_CONTRACTS,
            "world": "connector",
            "wit": WIT,
        },
        "categories": CATEGORIES,
        "statuses": STATUSES,
        "output_standards": STANDARDS.iter().map(|s| json!({
            "name": s,
            "reference": standard_reference(s),
            // Whether outputs in this standard are validated (and quarantined when
            // invalid); plain `json` is not a standard Airlock can check.
            "validated": crate::validate::Standard::parse(s).is_some(),
        })).collect::<Vec<_>>(),
        "capability_declaration_schema": capability_schema(),
        "json_schema_dialects": {
            "accepted": [
                "http://json-schema.org/draft-04/schema#",
                "http://json-schema.org/draft-06/schema#",
                "http://json-schema.org/draft-07/schema#",
                "https://json-schema.org/draft/2019-09/schema",
                "https://json-schema.org/draft/2020-12/schema"
            ],
            "default": "https://json-schema.org/draft/2020-12/schema",
            "note": "a schema without $schema is read as draft 2020-12; remote $refs are not fetched"
        },
        "quickstart": CATEGORIES.iter().map(|c| (c.to_string(), Value::String(quickstart(c)))).collect::<serde_json::Map<_, _>>(),
        "example_configs": example_configs,
        "build_target": "wasm32-wasip2",
    })
}
