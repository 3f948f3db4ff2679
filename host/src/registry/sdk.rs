//! `GET /api/sdk/manifest`: what a connector developer needs to know to build one.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::views::ExampleConfig;
use super::{Registry, RegistryError};
use crate::health::STATUSES;
use crate::runtime::SUPPORTED_CONTRACTS;
use crate::vocab::{Category, Standard};

/// The contract's WIT text (the newest supported version).
pub const WIT: &str = include_str!("../../../wit/0.1.0/connector.wit");

fn standard_reference(s: Standard) -> Value {
    match s {
        Standard::Stix21 => json!({
            "specification": "https://docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html",
            "schemas": "https://github.com/oasis-open/cti-stix2-json-schemas (bundle.json and the per-object schemas)",
            "media_type": "application/stix+json;version=2.1"
        }),
        Standard::Cap12 => json!({
            "specification": "https://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2-os.html",
            "schemas": "http://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2.xsd",
            "namespace": "urn:oasis:names:tc:emergency:cap:1.2",
            "media_type": "application/cap+xml"
        }),
        Standard::Ais => json!({
            "specification": "ITU-R M.1371-5 (AIS messages 1–27), NMEA 0183 !AIVDM/!AIVDO sentences",
            "media_type": "application/json"
        }),
        Standard::Niem => json!({
            "specification": "NIEM 6.0 core (XML Schema and JSON-LD context)",
            "media_type": "application/xml"
        }),
        Standard::Stanag4607 => json!({
            "specification": "NATO STANAG 4607 / AEDP-7 GMTI format (binary packets)",
            "media_type": "application/octet-stream"
        }),
        Standard::Json => {
            json!({ "specification": "any JSON document", "media_type": "application/json" })
        }
    }
}

fn quickstart(category: Category) -> String {
    // The SDK's enum variant of the category.
    let variant = match category {
        Category::Osint => "Osint",
        Category::Financial => "Financial",
        Category::Social => "Social",
        Category::DarkWeb => "DarkWeb",
        Category::Telemetry => "Telemetry",
        Category::Custom => "Custom",
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
            "category": {"enum": Category::NAMES},
            "capabilities": {"type": "array", "items": {"type": "string"},
                "description": "free-form tags used to browse the catalogue, e.g. `ioc-feed`"},
            "output_standards": {"type": "array", "items": {"enum": Standard::NAMES}},
            "config_schema": {"type": "object", "description": "a JSON Schema for the deployment's config"},
            "secrets_schema": {"type": "object", "description": "a JSON Schema naming the secrets the host injects"},
            "actions": {"type": "array", "items": {
                "type": "object",
                "required": ["name", "input_schema", "output_standard"],
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "input_schema": {"type": "object"},
                    "output_standard": {"enum": Standard::NAMES}
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

/// The SDK manifest (`GET /api/sdk/manifest`).
#[derive(Debug, Clone, Serialize, async_graphql::SimpleObject, utoipa::ToSchema)]
#[graphql(complex)]
pub struct SdkManifest {
    /// The contract: package, versions, world and WIT text.
    pub contract: ContractInfo,
    /// The categories a connector may declare.
    #[graphql(skip)]
    #[schema(value_type = Vec<String>)]
    pub categories: &'static [Category],
    /// The statuses a connector may have.
    #[schema(value_type = Vec<String>)]
    pub statuses: [&'static str; 5],
    /// The output standards, each with its reference and whether Airlock validates it.
    pub output_standards: Vec<StandardInfo>,
    /// The JSON Schema of what `describe` returns, as the API shows it.
    pub capability_declaration_schema: Value,
    /// The JSON Schema dialects accepted in config, secrets and input schemas.
    pub json_schema_dialects: Value,
    /// A minimal connector per category, as shell and Rust text.
    #[graphql(skip)]
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub quickstart: BTreeMap<Category, String>,
    /// Category → configs deployed in the caller's tenant.
    #[graphql(skip)]
    pub example_configs: BTreeMap<String, Vec<ExampleConfig>>,
    /// The target guests are built for.
    #[schema(value_type = String)]
    pub build_target: &'static str,
}

/// The contract a connector is built against.
#[derive(Debug, Clone, Serialize, async_graphql::SimpleObject, utoipa::ToSchema)]
#[graphql(complex)]
pub struct ContractInfo {
    /// `airlock:connector@<version>`.
    pub package: String,
    /// The newest supported version.
    #[schema(value_type = String)]
    pub version: &'static str,
    /// Every version this host loads.
    #[graphql(skip)]
    #[schema(value_type = Vec<String>)]
    pub supported_versions: &'static [&'static str],
    /// The world a component implements.
    #[schema(value_type = String)]
    pub world: &'static str,
    /// The WIT text of the newest version.
    #[schema(value_type = String)]
    pub wit: &'static str,
}

/// An output standard in the SDK manifest.
#[derive(Debug, Clone, Serialize, async_graphql::SimpleObject, utoipa::ToSchema)]
#[graphql(complex)]
pub struct StandardInfo {
    /// Its name.
    #[graphql(skip)]
    #[schema(value_type = String)]
    pub name: Standard,
    /// Where it is specified, its schemas and media type.
    pub reference: Value,
    /// Whether outputs in this standard are validated (and quarantined when
    /// invalid); plain `json` is not a standard Airlock can check.
    pub validated: bool,
}

/// The SDK manifest, with `example_configs` (category → configs) from the tenant.
pub fn sdk_manifest(example_configs: BTreeMap<String, Vec<ExampleConfig>>) -> SdkManifest {
    let latest = SUPPORTED_CONTRACTS.last().copied().unwrap_or("0.1.0");
    SdkManifest {
        contract: ContractInfo {
            package: format!("airlock:connector@{latest}"),
            version: latest,
            supported_versions: SUPPORTED_CONTRACTS,
            world: "connector",
            wit: WIT,
        },
        categories: Category::ALL,
        statuses: STATUSES,
        output_standards: Standard::ALL
            .iter()
            .map(|&s| StandardInfo {
                name: s,
                reference: standard_reference(s),
                validated: s.is_validated(),
            })
            .collect(),
        capability_declaration_schema: capability_schema(),
        json_schema_dialects: json!({
            "accepted": [
                "http://json-schema.org/draft-04/schema#",
                "http://json-schema.org/draft-06/schema#",
                "http://json-schema.org/draft-07/schema#",
                "https://json-schema.org/draft/2019-09/schema",
                "https://json-schema.org/draft/2020-12/schema"
            ],
            "default": "https://json-schema.org/draft/2020-12/schema",
            "note": "a schema without $schema is read as draft 2020-12; remote $refs are not fetched"
        }),
        quickstart: Category::ALL.iter().map(|&c| (c, quickstart(c))).collect(),
        example_configs,
        build_target: "wasm32-wasip2",
    }
}

impl Registry {
    /// The SDK manifest as the caller's tenant sees it (examples from its deployments).
    pub async fn sdk_manifest(&self, tenant: &str) -> Result<SdkManifest, RegistryError> {
        Ok(sdk_manifest(self.example_configs(tenant).await?))
    }
}

#[async_graphql::ComplexObject]
impl StandardInfo {
    /// Its name (`stix-2.1`, `cap-1.2`, …).
    async fn name(&self) -> &'static str {
        self.name.as_str()
    }
}

/// The example configurations of one category.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct CategoryExamples {
    /// The category.
    pub category: String,
    /// Configs deployed in the caller's tenant.
    pub configs: Vec<ExampleConfig>,
}

/// A minimal connector of one category.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct Quickstart {
    /// The category.
    pub category: &'static str,
    /// Shell and Rust text.
    pub text: String,
}

#[async_graphql::ComplexObject]
impl SdkManifest {
    /// The categories a connector may declare.
    async fn categories(&self) -> Vec<&'static str> {
        self.categories.iter().map(|c| c.as_str()).collect()
    }
    /// A minimal connector per category.
    async fn quickstart(&self) -> Vec<Quickstart> {
        self.quickstart
            .iter()
            .map(|(c, text)| Quickstart {
                category: c.as_str(),
                text: text.clone(),
            })
            .collect()
    }
    /// Configs deployed in the caller's tenant, per category.
    async fn example_configs(&self) -> Vec<CategoryExamples> {
        self.example_configs
            .iter()
            .map(|(category, configs)| CategoryExamples {
                category: category.clone(),
                configs: configs.clone(),
            })
            .collect()
    }
}

#[async_graphql::ComplexObject]
impl ContractInfo {
    /// Every version this host loads.
    async fn supported_versions(&self) -> Vec<&'static str> {
        self.supported_versions.to_vec()
    }
}
