//! Loading a component: size cap, digest, contract check, instantiation, describe.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component as WasmComponent, Linker};
use wasmtime::{Config, Engine, Store, StoreLimitsBuilder};

use super::bindings::airlock::connector::types::{self, CallContext, ConnectorError};
use super::bindings::{Connector, ConnectorPre};
use super::host::{Captured, Grants, StoreData};

/// The largest component accepted, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 32 * 1024 * 1024;

/// The contract versions this host implements.
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.1.0"];

/// Memory a guest may grow to in one call (the runtime issue makes it configurable).
const DEFAULT_MEMORY_BYTES: usize = 128 * 1024 * 1024;

/// Why a component could not be loaded. Messages name what to fix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is larger than [`MAX_COMPONENT_BYTES`].
    #[error("the component is {size} bytes; at most {MAX_COMPONENT_BYTES} are accepted")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// Not a WebAssembly component (a core module, truncated, or not wasm at all).
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    /// It imports something the host does not provide.
    #[error("the component imports `{0}`, which Airlock does not provide (supported contract versions: {versions})", versions = SUPPORTED_CONTRACTS.join(", "))]
    UnsupportedImport(String),
    /// It does not export the connector world.
    #[error("the component does not implement the airlock:connector world: {0}")]
    ContractViolation(String),
    /// Its `describe` failed.
    #[error("describe failed: {0}")]
    Describe(#[from] CallError),
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The guest trapped (panic, unreachable, out-of-bounds access, failed allocation…).
    #[error("the connector trapped: {0}")]
    Trapped(String),
    /// The connector returned a typed error.
    #[error("the connector failed: {0:?}")]
    Connector(ConnectorError),
}

/// The manifest as Airlock's APIs show it (standard and category names as in DESIGN.md).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ManifestJson {
    pub id: String,
    pub name: String,
    pub version: String,
    pub vendor: String,
    pub description: String,
    pub category: String,
    pub capabilities: Vec<String>,
    pub output_standards: Vec<String>,
    pub config_schema: serde_json::Value,
    pub secrets_schema: serde_json::Value,
    pub actions: Vec<serde_json::Value>,
    pub outbound_hosts: Vec<serde_json::Value>,
    pub sample_output: Option<serde_json::Value>,
    pub contract_version: String,
}

fn category_name(c: types::Category) -> &'static str {
    use types::Category::*;
    match c {
        Osint => "osint",
        Financial => "financial",
        Social => "social",
        DarkWeb => "dark-web",
        Telemetry => "telemetry",
        Custom => "custom",
    }
}

fn standard_name(s: types::OutputStandard) -> &'static str {
    use types::OutputStandard::*;
    match s {
        Stix21 => "stix-2.1",
        Cap12 => "cap-1.2",
        Ais => "ais",
        Niem => "niem",
        Stanag4607 => "stanag-4607",
        Json => "json",
    }
}

fn schema(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

/// An output as JSON: the body inline when it is UTF-8 text, else base64-free hex.
pub fn output_json(o: &types::Output) -> serde_json::Value {
    let body = match std::str::from_utf8(&o.body) {
        Ok(text) => serde_json::from_str(text)
            .unwrap_or_else(|_| serde_json::Value::String(text.to_string())),
        Err(_) => serde_json::Value::String(o.body.iter().map(|b| format!("{b:02x}")).collect()),
    };
    serde_json::json!({"standard": standard_name(o.standard), "media_type": o.media_type, "body": body})
}

impl ManifestJson {
    fn from_wit(m: &types::Manifest, contract_version: &str) -> Self {
        use types::Credential;
        ManifestJson {
            id: m.id.clone(),
            name: m.name.clone(),
            version: m.version.clone(),
            vendor: m.vendor.clone(),
            description: m.description.clone(),
            category: category_name(m.category).into(),
            capabilities: m.capabilities.clone(),
            output_standards: m.output_standards.iter().map(|s| standard_name(*s).into()).collect(),
            config_schema: schema(&m.config_schema),
            secrets_schema: schema(&m.secrets_schema),
            actions: m
                .actions
                .iter()
                .map(|a| {
                    serde_json::json!({"name": a.name, "description": a.description,
                        "input_schema": schema(&a.input_schema), "output_standard": standard_name(a.output_standard)})
                })
                .collect(),
            outbound_hosts: m
                .outbound_hosts
                .iter()
                .map(|h| {
                    // Only the kind of credential and the secret names: never values.
                    let credential = h.credential.as_ref().map(|c| match c {
                        Credential::Bearer(s) => serde_json::json!({"type": "bearer", "secret": s}),
                        Credential::Basic(b) => serde_json::json!({"type": "basic",
                            "username_secret": b.username_secret, "password_secret": b.password_secret}),
                        Credential::Header(h) => serde_json::json!({"type": "header", "header": h.header, "secret": h.secret}),
                        Credential::HmacSha256(h) => serde_json::json!({"type": "hmac-sha256", "header": h.header, "secret": h.secret}),
                    });
                    serde_json::json!({"pattern": h.pattern, "credential": credential})
                })
                .collect(),
            sample_output: m.sample_output.as_ref().map(output_json),
            contract_version: contract_version.to_string(),
        }
    }
}

/// The engine and linker shared by every component.
pub struct Runtime {
    engine: Engine,
    linker: Linker<StoreData>,
}

/// A loaded, pre-instantiated connector component.
pub struct Component {
    pre: ConnectorPre<StoreData>,
    engine: Engine,
    /// SHA-256 of the component bytes, lowercase hex.
    pub digest: String,
    /// The contract version the component targets.
    pub contract_version: String,
    /// Every import the component declares.
    pub imports: Vec<String>,
    /// The manifest its `describe` returned.
    pub manifest: types::Manifest,
}

fn trap_message(e: wasmtime::Error) -> CallError {
    let trap = e.downcast_ref::<wasmtime::Trap>().map(|t| t.to_string());
    CallError::Trapped(trap.unwrap_or_else(|| format!("{e:#}")))
}

impl Runtime {
    /// A runtime with Airlock's engine settings and every host import linked.
    pub fn new() -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Connector::add_to_linker::<StoreData, wasmtime::component::HasSelf<StoreData>>(
            &mut linker,
            |s| s,
        )?;
        Ok(Runtime { engine, linker })
    }

    /// Checks, compiles and describes a component.
    pub fn load(&self, bytes: &[u8]) -> Result<Component, LoadError> {
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(LoadError::TooLarge { size: bytes.len() });
        }
        // A component's preamble is `\0asm` followed by version 0x0d and layer 1; a core
        // module has layer 0. Checking first gives a precise message.
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', _, _, 1, 0]) => {}
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
                return Err(LoadError::NotAComponent(
                    "this is a core WebAssembly module; build the connector for wasm32-wasip2 so it is a component".into(),
                ));
            }
            _ => {
                return Err(LoadError::NotAComponent(
                    "the file does not start with the WebAssembly preamble".into(),
                ));
            }
        }
        let digest = hex(&Sha256::digest(bytes));
        let component = WasmComponent::new(&self.engine, bytes)
            .map_err(|e| LoadError::NotAComponent(format!("{e:#}")))?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let mut contract_version = None;
        for name in &imports {
            if let Some(rest) = name.strip_prefix("airlock:connector/") {
                let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
                if !SUPPORTED_CONTRACTS.contains(&version) {
                    return Err(LoadError::UnsupportedImport(name.clone()));
                }
                contract_version = Some(version.to_string());
            } else if !name.starts_with("wasi:") {
                return Err(LoadError::UnsupportedImport(name.clone()));
            }
        }
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::UnsupportedImport(format!("{e:#}")))?;
        let pre =
            ConnectorPre::new(pre).map_err(|e| LoadError::ContractViolation(format!("{e:#}")))?;
        let contract_version = contract_version
            .unwrap_or_else(|| SUPPORTED_CONTRACTS[SUPPORTED_CONTRACTS.len() - 1].to_string());
        let mut loaded = Component {
            pre,
            engine: self.engine.clone(),
            digest,
            contract_version,
            imports,
            manifest: placeholder_manifest(),
        };
        let (manifest, _) = loaded.call(Grants::default(), BTreeMap::new(), |c, s| {
            c.airlock_connector_guest().call_describe(s).map(Ok)
        })?;
        loaded.manifest = manifest;
        Ok(loaded)
    }
}

fn placeholder_manifest() -> types::Manifest {
    types::Manifest {
        id: String::new(),
        name: String::new(),
        version: String::new(),
        vendor: String::new(),
        description: String::new(),
        category: types::Category::Custom,
        capabilities: Vec::new(),
        output_standards: Vec::new(),
        config_schema: String::new(),
        secrets_schema: String::new(),
        actions: Vec::new(),
        outbound_hosts: Vec::new(),
        sample_output: None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Component {
    /// The manifest in API form.
    pub fn manifest_json(&self) -> ManifestJson {
        ManifestJson::from_wit(&self.manifest, &self.contract_version)
    }

    /// Runs `f` on a fresh instance in a fresh store; returns its result and effects.
    fn call<R>(
        &self,
        grants: Grants,
        kv: BTreeMap<String, Vec<u8>>,
        f: impl FnOnce(&Connector, &mut Store<StoreData>) -> wasmtime::Result<Result<R, ConnectorError>>,
    ) -> Result<(R, Captured), CallError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(DEFAULT_MEMORY_BYTES)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(&self.engine, StoreData::new(grants, kv, limits));
        store.limiter(|s| &mut s.limits);
        let instance = self.instantiate(&mut store).map_err(trap_message)?;
        let result = f(&instance, &mut store).map_err(trap_message)?;
        let captured = std::mem::take(&mut store.data_mut().captured);
        result.map(|r| (r, captured)).map_err(CallError::Connector)
    }

    fn instantiate(&self, store: &mut Store<StoreData>) -> wasmtime::Result<Connector> {
        self.pre.instantiate(store)
    }

    /// Calls `invoke(action, input)` with `config`; returns the outputs (returned and
    /// emitted) and the call's effects.
    pub fn invoke(
        &self,
        action: &str,
        input: &str,
        config: &str,
        grants: Grants,
    ) -> Result<(Vec<types::Output>, Captured), CallError> {
        let ctx = CallContext {
            call_id: "cli".into(),
            tenant_id: "local".into(),
            config: config.to_string(),
        };
        let (mut outputs, captured) = self.call(grants, BTreeMap::new(), |c, s| {
            c.airlock_connector_guest()
                .call_invoke(s, action, input, &ctx)
        })?;
        let mut all = captured.emitted.clone();
        all.append(&mut outputs);
        Ok((all, captured))
    }
}
