//! Loading a component: the engine and linker every component shares ([`Runtime`]),
//! and turning bytes into a pre-instantiated, described [`Component`].
//!
//! Invariants:
//! - Checks run in order and each failure names what to fix ([`LoadError`]): the
//!   size cap and the wasm preamble before anything is compiled (a core module gets
//!   its own message), then every import by its exact name (the contract's
//!   [`CONTRACT_INTERFACES`] at a supported version, the [`WASI_INTERFACES`] at 0.2.x),
//!   then the exported `guest` interface and its entry points, then `describe`, then
//!   the manifest it returned (`manifest.rs`: bounds and formats).
//! - With a [`CompileCache`], a component this node compiled before is not compiled
//!   again; a cached artifact is deserialized only after its HMAC verified.
//! - The engine carries what cannot be set per call: epoch interruption (a ticker
//!   thread that ends with the last engine clone), [`MAX_WASM_STACK`], fuel mode, and
//!   a pooling allocator whose slots are sized for the runtime's memory limit.
//! - `describe` runs once, at load, under the runtime's limits and with no grants,
//!   through the same call path as every other call (`call.rs`).
//! - [`ManifestJson`] is the manifest as the APIs show it: credential kinds and
//!   secret names, never values.

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component as WasmComponent, Linker};
use wasmtime::{Config, Engine};

use super::bindings::airlock::connector::types;
use super::bindings::{Connector, ConnectorPre};
use super::cache::CompileCache;
use super::call::{EntryExports, call_guest};
use super::egress::{Declared, declared_hosts};
use super::error::CallError;
use super::host::StoreData;
use super::limits::{EPOCH_TICK, Limits, MAX_WASM_STACK, POOL_INSTANCES};
use super::manifest::ManifestProblem;
use super::outbound::Transport;
use crate::vocab::{Category, Standard};

/// The largest component accepted, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 32 * 1024 * 1024;

/// The contract versions this host implements.
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.1.0"];

/// The contract's interfaces a connector may import (`airlock:connector/<name>@<a
/// supported version>`): exactly these, not anything under the package's name.
pub const CONTRACT_INTERFACES: &[&str] = &["types", "log", "http", "kv", "clock", "emit"];

/// The WASI 0.2 interfaces the host links (`wasi:<package>/<name>@0.2.x`), all
/// behind an empty context: no files, environment, arguments or network. A guest's
/// standard library imports some of them; anything else WASI is refused by name.
pub const WASI_INTERFACES: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
];

/// Whether the host provides the import `name` (`ns:pkg/interface@version`).
fn provided(name: &str) -> bool {
    let Some((interface, version)) = name.split_once('@') else {
        return false;
    };
    match interface.strip_prefix("airlock:connector/") {
        Some(i) => CONTRACT_INTERFACES.contains(&i) && SUPPORTED_CONTRACTS.contains(&version),
        None => {
            WASI_INTERFACES.contains(&interface)
                && version
                    .strip_prefix("0.2.")
                    .is_some_and(|patch| patch.parse::<u32>().is_ok())
        }
    }
}

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
    /// It imports something the host does not provide (the import's name).
    #[error("the component imports `{}`, which Airlock does not provide; a connector may import the contract's interfaces (airlock:connector/{{{}}}@{}) and WASI 0.2", crate::text::Printable(.0), CONTRACT_INTERFACES.join(","), SUPPORTED_CONTRACTS.join("|"))]
    UnsupportedImport(String),
    /// It does not export the connector world.
    #[error("the component does not implement the airlock:connector world: {0}")]
    ContractViolation(String),
    /// Its `describe` failed.
    #[error("describe failed: {0}")]
    Describe(#[from] CallError),
    /// Its manifest breaks a bound or a format ([`super::manifest::check`]); every
    /// finding, each with its path.
    #[error("the manifest is invalid: {}", problems_text(.0))]
    InvalidManifest(Vec<ManifestProblem>),
}

/// Findings as one sentence: the first few, then how many more.
fn problems_text(problems: &[ManifestProblem]) -> String {
    const SHOWN: usize = 5;
    let mut text: Vec<String> = problems
        .iter()
        .take(SHOWN)
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    if problems.len() > SHOWN {
        text.push(format!("and {} more", problems.len() - SHOWN));
    }
    text.join("; ")
}

/// The manifest as Airlock's APIs show it (standard and category names as in DESIGN.md).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[allow(missing_docs)]
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

fn schema(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

/// A body as the APIs show it: inline (parsed when it is JSON, else as text) when it
/// is UTF-8, else as lowercase hex.
pub fn body_json(body: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text)
            .unwrap_or_else(|_| serde_json::Value::String(text.to_string())),
        Err(_) => serde_json::Value::String(crate::time::hex(body)),
    }
}

/// An output as JSON: its standard's name, media type and [`body_json`].
pub fn output_json(o: &types::Output) -> serde_json::Value {
    serde_json::json!({"standard": Standard::from(o.standard), "media_type": o.media_type,
        "body": body_json(&o.body)})
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
            category: Category::from(m.category).as_str().into(),
            capabilities: m.capabilities.clone(),
            output_standards: m.output_standards.iter().map(|&s| Standard::from(s).as_str().into()).collect(),
            config_schema: schema(&m.config_schema),
            secrets_schema: schema(&m.secrets_schema),
            actions: m
                .actions
                .iter()
                .map(|a| {
                    serde_json::json!({"name": a.name, "description": a.description,
                        "input_schema": schema(&a.input_schema), "output_standard": Standard::from(a.output_standard)})
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

/// A component's digest as Airlock names it everywhere (versions, the compile
/// cache, `airlock build`'s and `airlock upload`'s output): SHA-256, lowercase hex.
pub fn component_digest(bytes: &[u8]) -> String {
    crate::time::hex(&Sha256::digest(bytes))
}

/// The engine and linker shared by every component.
pub struct Runtime {
    engine: Engine,
    linker: Linker<StoreData>,
    limits: Limits,
    cache: Option<CompileCache>,
    transport: Arc<Transport>,
}

/// A loaded, pre-instantiated connector component.
pub struct Component {
    // The call path (`call.rs`) reads these; nothing outside the runtime can.
    pub(super) pre: ConnectorPre<StoreData>,
    pub(super) engine: Engine,
    pub(super) limits: Limits,
    pub(super) declared: Declared,
    pub(super) transport: Arc<Transport>,
    /// Where `invoke`, `poll` and `ingest` are among the component's exports,
    /// found once at load.
    pub(super) exports: EntryExports,
    /// SHA-256 of the component bytes, lowercase hex.
    pub digest: String,
    /// The contract version the component targets.
    pub contract_version: String,
    /// Every import the component declares.
    pub imports: Vec<String>,
    /// The manifest its `describe` returned.
    pub manifest: types::Manifest,
}

impl Runtime {
    /// A runtime with Airlock's engine settings and every host import linked.
    pub fn new() -> anyhow::Result<Self> {
        Runtime::with_limits(Limits::default())
    }

    /// A runtime whose calls run under `limits`.
    pub fn with_limits(limits: Limits) -> anyhow::Result<Self> {
        Runtime::build(limits, true)
    }

    /// A runtime whose calls have **no** time budgets: for measuring what epoch
    /// interruption costs (the runtime benchmark), never for running connectors.
    #[doc(hidden)]
    pub fn without_deadlines_for_benchmarks(limits: Limits) -> anyhow::Result<Self> {
        Runtime::build(limits, false)
    }

    fn build(limits: Limits, epochs: bool) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(epochs);
        config.max_wasm_stack(MAX_WASM_STACK);
        config.consume_fuel(limits.fuel.is_some());
        // Pooling: instances reuse pre-reserved memory slots instead of mapping fresh
        // memory per call (a fresh Store per call makes this the hot path). A slot is
        // a little larger than the memory limit so the limiter, which records the
        // denial, is what refuses growth, not the pool.
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES)
            .total_memories(POOL_INSTANCES)
            .total_tables(POOL_INSTANCES)
            .max_memory_size(limits.memory_bytes.saturating_add(1 << 20))
            // Resetting a slot by overwriting its first pages beats returning them to
            // the kernel and faulting them in again on the next call: most calls touch
            // only a megabyte or two.
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(64 << 10)
            // Where the kernel has PAGEMAP_SCAN (Linux ≥ 6.7), resetting a slot rewrites
            // only the pages the call dirtied; in the benchmark this halves the cost of a
            // fresh instance. Elsewhere it falls back to the above.
            .pagemap_scan(wasmtime::Enabled::Auto)
            // madvise calls for freed slots in batches rather than one per call.
            .decommit_batch_size(16);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)?;
        // The ticker holds only a weak reference, so it ends with the last engine clone.
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("airlock-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Connector::add_to_linker::<StoreData, wasmtime::component::HasSelf<StoreData>>(
            &mut linker,
            |s| s,
        )?;
        Ok(Runtime {
            engine,
            linker,
            limits,
            cache: None,
            transport: Arc::default(),
        })
    }

    /// Keeps compiled components in `dir`, authenticated with `key` (see
    /// [`CompileCache`]); later loads of the same component skip compilation.
    pub fn with_cache(mut self, dir: &std::path::Path, key: [u8; 32]) -> std::io::Result<Self> {
        self.cache = Some(CompileCache::new(dir, key, &self.engine)?);
        Ok(self)
    }

    /// This runtime's components sending outbound HTTP through `transport` (extra
    /// TLS roots, address overrides).
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = Arc::new(transport);
        self
    }

    /// The engine, with the pool and settings every component runs under: for the
    /// runtime benchmark's floor (a bare core module under the same settings), never
    /// for running guests around the host's limits.
    #[doc(hidden)]
    pub fn engine_for_benchmarks(&self) -> &Engine {
        &self.engine
    }

    /// The limits calls run under by default.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The compile cache, if any.
    pub fn cache(&self) -> Option<&CompileCache> {
        self.cache.as_ref()
    }

    /// Checks, compiles and describes a component.
    pub fn load(&self, bytes: &[u8]) -> Result<Component, LoadError> {
        self.load_checked(bytes, true)
    }

    /// Loads a component already accepted once (a stored version): every check of
    /// [`Runtime::load`] but the manifest's bounds, which may have been looser when
    /// it was uploaded — a stored version keeps working after an upgrade.
    pub fn load_stored(&self, bytes: &[u8]) -> Result<Component, LoadError> {
        self.load_checked(bytes, false)
    }

    fn load_checked(&self, bytes: &[u8], check_manifest: bool) -> Result<Component, LoadError> {
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
        let digest = component_digest(bytes);
        let component = match &self.cache {
            Some(cache) => cache.load(&self.engine, &digest, bytes),
            None => WasmComponent::new(&self.engine, bytes),
        }
        .map_err(|e| LoadError::NotAComponent(format!("{e:#}")))?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        if let Some(name) = imports.iter().find(|name| !provided(name)) {
            return Err(LoadError::UnsupportedImport(name.clone()));
        }
        // The contract version is the one of the `guest` interface the component exports.
        let contract_version = component
            .component_type()
            .exports(&self.engine)
            .find_map(|(name, _)| {
                name.strip_prefix("airlock:connector/guest@")
                    .map(str::to_string)
            })
            .filter(|v| SUPPORTED_CONTRACTS.contains(&v.as_str()))
            .ok_or_else(|| {
                LoadError::ContractViolation(format!(
                    "it exports no `airlock:connector/guest` interface of a supported version ({})",
                    SUPPORTED_CONTRACTS.join(", ")
                ))
            })?;
        let guest =
            component.get_export_index(None, format!("airlock:connector/guest@{contract_version}"));
        let export = |name: &str| {
            guest
                .as_ref()
                .and_then(|g| component.get_export_index(Some(g), name))
                .ok_or_else(|| {
                    LoadError::ContractViolation(format!("the `guest` interface has no `{name}`"))
                })
        };
        let exports = EntryExports {
            invoke: export("invoke")?,
            poll: export("poll")?,
            ingest: export("ingest")?,
        };
        // Every import is one the host provides, by name; what can still fail here is
        // an import whose types differ from the host's (built against another WIT).
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            LoadError::ContractViolation(format!(
                "an import does not match what Airlock provides under its name: {e}"
            ))
        })?;
        let pre =
            ConnectorPre::new(pre).map_err(|e| LoadError::ContractViolation(format!("{e:#}")))?;
        let manifest = call_guest(&pre, &self.engine, &self.limits, |g, s| {
            g.call_describe(s).map(Ok)
        })?;
        let problems = if check_manifest {
            super::manifest::check(&manifest)
        } else {
            Vec::new()
        };
        if !problems.is_empty() {
            return Err(LoadError::InvalidManifest(problems));
        }
        Ok(Component {
            pre,
            engine: self.engine.clone(),
            limits: self.limits,
            declared: declared_hosts(&manifest),
            transport: self.transport.clone(),
            exports,
            digest,
            contract_version,
            imports,
            manifest,
        })
    }
}

impl Component {
    /// The manifest in API form.
    pub fn manifest_json(&self) -> ManifestJson {
        ManifestJson::from_wit(&self.manifest, &self.contract_version)
    }

    /// The limits calls run under unless a request overrides them.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The manifest's sample output as the guest gave it: its standard and bytes.
    pub fn sample_output(&self) -> Option<(Standard, &[u8])> {
        self.manifest
            .sample_output
            .as_ref()
            .map(|o| (Standard::from(o.standard), o.body.as_slice()))
    }
}
