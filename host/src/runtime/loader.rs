//! Loading a component: size cap, digest, contract check, instantiation, describe.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component as WasmComponent, ComponentExportIndex, Instance, Linker};

/// `invoke`'s parameters and results as the contract types them.
type InvokeParams<'a> = (&'a str, &'a str, &'a CallContext);
type OutputsResult = (Result<Vec<types::Output>, ConnectorError>,);
type PollParams<'a> = (Option<&'a str>, &'a CallContext);
type PollResults = (Result<types::PollResult, ConnectorError>,);
type IngestParams<'a> = (&'a types::InboundEvent, &'a CallContext);
use wasmtime::{Config, Engine, Store, Trap};

use super::bindings::airlock::connector::types::{self, CallContext, ConnectorError};
use super::bindings::{Connector, ConnectorPre};
use super::cache::CompileCache;
use super::egress::{Declared, Egress, Grants, declared_hosts};
use super::host::{CallTags, Captured, Overrun, StoreData};

/// The largest component accepted, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 32 * 1024 * 1024;

/// The contract versions this host implements.
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.1.0"];

/// How often the epoch ticker advances the engine's epoch. A spinning guest is
/// stopped at most one tick after its deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-call limits. The defaults suit a connector call; deployments may override them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory a guest may grow to, per call. Default 128 MiB. A guest past it
    /// fails with [`CallError::MemoryExceeded`].
    pub memory_bytes: usize,
    /// Guest execution budget of a call: its wall time minus the time it spent
    /// blocked in host imports (HTTP, sleep), enforced by epoch interruption to
    /// within one [`EPOCH_TICK`]. Default 1 s. A guest past it fails with
    /// [`CallError::Timeout`].
    pub cpu_deadline: Duration,
    /// Wall-clock budget of a call, everything included: guest execution and time
    /// blocked in host imports. Default 30 s. HTTP timeouts are capped at what is
    /// left of it; a sleep that would outlast it fails at once; a guest past it fails
    /// with [`CallError::WallClockTimeout`].
    pub wall_clock: Duration,
    /// HTTP requests a call may send. Default 64; the next gets
    /// `host-error::limit-exceeded`.
    pub max_http_requests: u32,
    /// Largest HTTP request body a guest may send. Default 4 MiB.
    pub max_http_request_bytes: usize,
    /// Largest HTTP response body a guest may receive; a larger response is refused
    /// with `host-error::limit-exceeded`, never truncated. Default 16 MiB.
    pub max_http_response_bytes: usize,
    /// Bytes of output (emitted and returned bodies together) a call may produce.
    /// Default 8 MiB. An `emit` past it gets `host-error::limit-exceeded`; returned
    /// outputs past it fail the call with [`CallError::OutputTooLarge`].
    pub max_output_bytes: usize,
    /// Bytes of log messages and fields kept per call. Default 256 KiB. Lines past it
    /// are dropped and counted ([`Captured::logs_dropped`]), never an error.
    pub max_log_bytes: usize,
    /// Fuel mode: when set, a call may execute this much fuel (about one unit per
    /// WebAssembly instruction) and fails with [`CallError::OutOfFuel`] past it — a
    /// deterministic budget for reproducible runs, at a cost in speed. Default off:
    /// the CPU deadline bounds calls. The runtime's engine counts fuel only if its
    /// limits set it.
    pub fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 * 1024 * 1024,
            cpu_deadline: Duration::from_secs(1),
            wall_clock: Duration::from_secs(30),
            max_http_requests: 64,
            max_http_request_bytes: 4 * 1024 * 1024,
            max_http_response_bytes: 16 * 1024 * 1024,
            max_output_bytes: 8 * 1024 * 1024,
            max_log_bytes: 256 * 1024,
            fuel: None,
        }
    }
}

/// A deployment's changes to the default [`Limits`], as the API and the database
/// hold them. Absent fields keep the runtime's value. Each is bounded: memory can
/// only be lowered (the pooling allocator's slots are sized for the runtime's
/// limit), the rest may be raised within the maxima below.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// Guest execution budget, ms (1 ..= 60 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
    /// Wall-clock budget, ms (1 ..= 600 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<u64>,
    /// Memory, MiB (1 ..= the runtime's limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<usize>,
    /// HTTP requests per call (0 ..= 10 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_http_requests: Option<u32>,
    /// Output bytes per call, MiB (1 ..= 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_mb: Option<usize>,
}

impl Limits {
    /// These limits with `o` applied; the error names the field out of bounds.
    pub fn with_overrides(&self, o: &LimitOverrides) -> Result<Limits, String> {
        fn bounded<T: PartialOrd + std::fmt::Display + Copy>(
            name: &str,
            v: Option<T>,
            lo: T,
            hi: T,
        ) -> Result<Option<T>, String> {
            match v {
                Some(x) if x < lo || x > hi => {
                    Err(format!("`{name}` must be between {lo} and {hi}, not {x}"))
                }
                other => Ok(other),
            }
        }
        let mut l = *self;
        let mib = 1024 * 1024;
        if let Some(ms) = bounded("cpu_ms", o.cpu_ms, 1, 60_000)? {
            l.cpu_deadline = Duration::from_millis(ms);
        }
        if let Some(ms) = bounded("wall_ms", o.wall_ms, 1, 600_000)? {
            l.wall_clock = Duration::from_millis(ms);
        }
        if let Some(mb) = bounded("memory_mb", o.memory_mb, 1, self.memory_bytes / mib)? {
            l.memory_bytes = mb * mib;
        }
        if let Some(n) = bounded("max_http_requests", o.max_http_requests, 0, 10_000)? {
            l.max_http_requests = n;
        }
        if let Some(mb) = bounded("max_output_mb", o.max_output_mb, 1, 64)? {
            l.max_output_bytes = mb * mib;
        }
        Ok(l)
    }
}

/// Instances (and memories, tables) the pooling allocator holds: the most calls
/// that can run at once on one runtime.
pub const POOL_INSTANCES: u32 = 1000;

/// The WebAssembly stack a guest may use, engine-wide: deep recursion ends in
/// [`CallError::StackOverflow`] instead of exhausting the host thread's stack.
pub const MAX_WASM_STACK: usize = 512 * 1024;

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

/// Why a call failed. Guest misbehaviour is classified once, here, from wasmtime's
/// trap codes and the limiter's record; nothing downstream compares messages.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call used up its CPU deadline (an endless loop, say).
    #[error("the connector exceeded its CPU deadline of {} ms", .limit.as_millis())]
    Timeout {
        /// The deadline.
        limit: Duration,
    },
    /// The call used up its wall-clock budget (e.g. waiting on slow upstreams).
    #[error("the connector exceeded its wall-clock timeout of {} ms", .limit.as_millis())]
    WallClockTimeout {
        /// The timeout.
        limit: Duration,
    },
    /// The guest broke the contract in a way the types cannot express (e.g. an
    /// output whose media type says JSON but whose body is not JSON).
    #[error("the connector broke the contract: {0}")]
    ContractViolation(String),
    /// The guest tried to grow its memory past the limit.
    #[error("the connector exceeded its memory limit of {limit} bytes")]
    MemoryExceeded {
        /// The limit.
        limit: usize,
    },
    /// The call used up its fuel (fuel mode).
    #[error("the connector ran out of fuel ({limit} units)")]
    OutOfFuel {
        /// The fuel it had.
        limit: u64,
    },
    /// The call's outputs were larger than the limit.
    #[error("the connector produced {size} bytes of output; at most {limit} are accepted")]
    OutputTooLarge {
        /// What it produced.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The guest overflowed its WebAssembly stack (runaway recursion).
    #[error("the connector overflowed its stack ({MAX_WASM_STACK} bytes)")]
    StackOverflow,
    /// The guest trapped otherwise (panic, unreachable, out-of-bounds access…).
    #[error("the connector trapped: {0}")]
    Trapped(String),
    /// The connector returned a typed error.
    #[error("the connector failed: {}", connector_error_text(.0))]
    Connector(ConnectorError),
}

impl CallError {
    /// A stable snake_case name for the kind of failure (heartbeats and API bodies
    /// carry it).
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Timeout { .. } => "timeout",
            CallError::WallClockTimeout { .. } => "wall_clock_timeout",
            CallError::ContractViolation(_) => "contract_violation",
            CallError::MemoryExceeded { .. } => "memory_exceeded",
            CallError::StackOverflow => "stack_overflow",
            CallError::OutputTooLarge { .. } => "output_too_large",
            CallError::OutOfFuel { .. } => "out_of_fuel",
            CallError::Trapped(_) => "trapped",
            CallError::Connector(e) => match e {
                ConnectorError::InvalidConfig(_) => "invalid_config",
                ConnectorError::InvalidInput(_) => "invalid_input",
                ConnectorError::Upstream(_) => "upstream",
                ConnectorError::RateLimited(_) => "rate_limited",
                ConnectorError::Unsupported(_) => "unsupported",
                ConnectorError::Internal(_) => "internal",
            },
        }
    }

    /// Whether the guest itself misbehaved (as opposed to returning a typed error).
    pub fn is_sandbox_failure(&self) -> bool {
        !matches!(self, CallError::Connector(_))
    }
}

/// A connector error as a sentence: its kind, then the connector's own message.
pub fn connector_error_text(e: &ConnectorError) -> String {
    match e {
        ConnectorError::InvalidConfig(m) => format!("invalid config: {m}"),
        ConnectorError::InvalidInput(m) => format!("invalid input: {m}"),
        ConnectorError::Upstream(u) => match u.status {
            Some(status) => format!("upstream failure (HTTP {status}): {}", u.message),
            None => format!("upstream failure: {}", u.message),
        },
        ConnectorError::RateLimited(r) => {
            format!(
                "rate limited, retry after {} ms: {}",
                r.retry_after_ms, r.message
            )
        }
        ConnectorError::Unsupported(m) => format!("unsupported: {m}"),
        ConnectorError::Internal(m) => format!("internal error: {m}"),
    }
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

/// The wire name of an output standard (`stix-2.1`, …).
pub fn standard_name(s: types::OutputStandard) -> &'static str {
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

/// A body as the APIs show it: inline (parsed when it is JSON, else as text) when it
/// is UTF-8, else as lowercase hex.
pub fn body_json(body: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text)
            .unwrap_or_else(|_| serde_json::Value::String(text.to_string())),
        Err(_) => serde_json::Value::String(crate::keys::hex(body)),
    }
}

/// An output as JSON: its standard's name, media type and [`body_json`].
pub fn output_json(o: &types::Output) -> serde_json::Value {
    serde_json::json!({"standard": standard_name(o.standard), "media_type": o.media_type,
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
    limits: Limits,
    cache: Option<CompileCache>,
}

/// A loaded, pre-instantiated connector component.
pub struct Component {
    pre: ConnectorPre<StoreData>,
    engine: Engine,
    limits: Limits,
    declared: Declared,
    /// Where `invoke`, `poll` and `ingest` are among the component's exports,
    /// found once at load.
    exports: EntryExports,
    /// SHA-256 of the component bytes, lowercase hex.
    pub digest: String,
    /// The contract version the component targets.
    pub contract_version: String,
    /// Every import the component declares.
    pub imports: Vec<String>,
    /// The manifest its `describe` returned.
    pub manifest: types::Manifest,
}

fn classify(e: &wasmtime::Error, data: &StoreData, limits: &Limits) -> CallError {
    if data.memory_exceeded {
        return CallError::MemoryExceeded {
            limit: limits.memory_bytes,
        };
    }
    match data.clock_overrun() {
        Some(Overrun::Wall) => {
            return CallError::WallClockTimeout {
                limit: limits.wall_clock,
            };
        }
        Some(Overrun::Cpu) => {
            return CallError::Timeout {
                limit: limits.cpu_deadline,
            };
        }
        None => {}
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::Timeout {
            limit: limits.cpu_deadline,
        },
        Some(Trap::StackOverflow) => CallError::StackOverflow,
        Some(Trap::OutOfFuel) => CallError::OutOfFuel {
            limit: limits.fuel.unwrap_or(0),
        },
        Some(trap) => CallError::Trapped(trap.to_string()),
        None => CallError::Trapped(format!("{e:#}")),
    }
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
        })
    }

    /// Keeps compiled components in `dir`, authenticated with `key` (see
    /// [`CompileCache`]); later loads of the same component skip compilation.
    pub fn with_cache(mut self, dir: &std::path::Path, key: [u8; 32]) -> std::io::Result<Self> {
        self.cache = Some(CompileCache::new(dir, key, &self.engine)?);
        Ok(self)
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
        let digest = crate::keys::hex(&Sha256::digest(bytes));
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
        for name in &imports {
            let supported = match name.strip_prefix("airlock:connector/") {
                Some(rest) => rest
                    .split_once('@')
                    .is_some_and(|(_, v)| SUPPORTED_CONTRACTS.contains(&v)),
                None => name.starts_with("wasi:"),
            };
            if !supported {
                return Err(LoadError::UnsupportedImport(name.clone()));
            }
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
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::UnsupportedImport(format!("{e:#}")))?;
        let pre =
            ConnectorPre::new(pre).map_err(|e| LoadError::ContractViolation(format!("{e:#}")))?;
        let manifest = call_guest(&pre, &self.engine, &self.limits, |g, s| {
            g.call_describe(s).map(Ok)
        })?;
        Ok(Component {
            pre,
            engine: self.engine.clone(),
            limits: self.limits,
            declared: declared_hosts(&manifest),
            exports,
            digest,
            contract_version,
            imports,
            manifest,
        })
    }
}

/// Runs `f` on a fresh instance in a fresh store under `limits`; returns its result
/// and the call's effects. Every guest call goes through here, so misbehaviour is
/// classified in exactly one place.
fn call_in_fresh_store<R>(
    pre: &ConnectorPre<StoreData>,
    engine: &Engine,
    limits: &Limits,
    egress: Egress,
    tags: Option<CallTags>,
    kv: BTreeMap<String, Vec<u8>>,
    f: impl FnOnce(&Instance, &mut Store<StoreData>) -> wasmtime::Result<Result<R, ConnectorError>>,
) -> Result<(R, Captured), CallError> {
    let mut store = Store::new(engine, StoreData::new(egress, kv, limits));
    if let Some(tags) = tags {
        store.data_mut().set_tags(tags);
    }
    store.limiter(|s| s);
    // The first deadline is the smaller budget; when it passes, the callback checks
    // the budgets against the clock (time blocked in the host does not count against
    // the CPU deadline) and either extends the deadline by what is left or stops the
    // guest, recording which budget ran out.
    store.set_epoch_deadline(ticks(limits.cpu_deadline.min(limits.wall_clock)));
    store.epoch_deadline_callback(|mut ctx| match ctx.data_mut().clock().next_check() {
        Ok(left) => Ok(wasmtime::UpdateDeadline::Continue(ticks(left))),
        Err(_) => Err(Trap::Interrupt.into()),
    });
    // Instantiation consumes fuel too, so the budget is set before it.
    if let Some(fuel) = limits.fuel
        && let Err(e) = store.set_fuel(fuel)
    {
        return Err(CallError::Trapped(format!("cannot set fuel: {e:#}")));
    }
    // A bare instance: the generated `Connector` would look up and type-check every
    // export on each call; a call needs one (see `Component::call`).
    let outcome = pre
        .instance_pre()
        .instantiate(&mut store)
        .and_then(|instance| f(&instance, &mut store));
    let result = outcome.map_err(|e| classify(&e, store.data(), limits))?;
    store.data_mut().collect_stdio();
    let mut captured = std::mem::take(&mut store.data_mut().captured);
    if let Some(fuel) = limits.fuel {
        captured.fuel_consumed = store.get_fuel().ok().map(|left| fuel.saturating_sub(left));
    }
    result.map(|r| (r, captured)).map_err(CallError::Connector)
}

/// Calls one of the rare exports (`describe`, `validate-config`) through bindgen's
/// `Connector`, with no grants, tags or kv; hot calls go through `Component::call`.
fn call_guest<R>(
    pre: &ConnectorPre<StoreData>,
    engine: &Engine,
    limits: &Limits,
    f: impl FnOnce(
        &super::bindings::exports::airlock::connector::guest::Guest,
        &mut Store<StoreData>,
    ) -> wasmtime::Result<Result<R, ConnectorError>>,
) -> Result<R, CallError> {
    call_in_fresh_store(
        pre,
        engine,
        limits,
        Egress::none(),
        None,
        BTreeMap::new(),
        |i, s| f(Connector::new(&mut *s, i)?.airlock_connector_guest(), s),
    )
    .map(|(r, _)| r)
}

/// Epoch ticks covering `d`, at least one.
fn ticks(d: Duration) -> u64 {
    u64::try_from(d.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1)).unwrap_or(u64::MAX)
}

/// Checks what the types cannot: an output whose media type is JSON must carry a
/// JSON body, one that claims text or XML must be UTF-8.
fn check_outputs(outputs: &[types::Output]) -> Result<(), CallError> {
    for (i, o) in outputs.iter().enumerate() {
        let media = o
            .media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let Some((kind, sub)) = media.split_once('/') else {
            return Err(CallError::ContractViolation(format!(
                "output {i} has the media type `{}`, which is not `type/subtype`",
                o.media_type
            )));
        };
        let json = sub == "json" || sub.ends_with("+json");
        let text = kind == "text" || sub == "xml" || sub.ends_with("+xml");
        if json && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&o.body) {
            return Err(CallError::ContractViolation(format!(
                "output {i} is labelled `{}` but its body is not JSON: {e}",
                o.media_type
            )));
        }
        if text && std::str::from_utf8(&o.body).is_err() {
            return Err(CallError::ContractViolation(format!(
                "output {i} is labelled `{}` but its body is not UTF-8 text",
                o.media_type
            )));
        }
    }
    Ok(())
}

impl Component {
    /// The manifest in API form.
    pub fn manifest_json(&self) -> ManifestJson {
        ManifestJson::from_wit(&self.manifest, &self.contract_version)
    }

    /// Calls `invoke(action, input)` with `config`; returns the outputs (emitted ones
    /// first, then the returned ones) and the call's other effects. A convenience
    /// over [`Component::call`] for local runs: tenant `local`, empty kv.
    pub fn invoke(
        &self,
        action: &str,
        input: &str,
        config: &str,
        grants: Grants,
    ) -> Result<(Vec<types::Output>, Captured), CallError> {
        let done = self.call(CallRequest {
            grants,
            ..CallRequest::local(Entry::Invoke { action, input }, config)
        })?;
        Ok((done.outputs, done.captured))
    }

    /// Calls the guest's `validate-config` (what a schema cannot say) in a fresh store.
    pub fn validate_config(&self, config: &str) -> Result<(), CallError> {
        call_guest(&self.pre, &self.engine, &self.limits, |g, s| {
            g.call_validate_config(s, config)
        })
    }

    /// The limits calls run under unless a request overrides them.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Calls `invoke` as described by `request`, in a fresh store.
    pub fn call(&self, request: CallRequest<'_>) -> Result<CallDone, CallError> {
        // Memory cannot exceed the pool's slots, and fuel is an engine-wide mode.
        let limits = match request.limits {
            Some(l) => Limits {
                memory_bytes: l.memory_bytes.min(self.limits.memory_bytes),
                fuel: self.limits.fuel,
                ..l
            },
            None => self.limits,
        };
        let ctx = CallContext {
            call_id: request.call_id.to_string(),
            tenant_id: request.tenant_id.to_string(),
            config: request.config.to_string(),
        };
        let mut kv_after = BTreeMap::new();
        let mut poll = None;
        let entry = request.entry;
        let (mut outputs, mut captured) = call_in_fresh_store(
            &self.pre,
            &self.engine,
            &limits,
            Egress::new(self.declared.clone(), request.grants),
            Some(CallTags {
                tenant: request.tenant_id.to_string(),
                connector: self.manifest.id.clone(),
                version: self.manifest.version.clone(),
                call_id: request.call_id.to_string(),
            }),
            request.kv,
            |i, s| {
                // Only the export called is looked up and type-checked (against the
                // contract's types, so a mismatch is an error, never undefined
                // behaviour).
                let r = match entry {
                    Entry::Invoke { action, input } => {
                        let f = i.get_typed_func::<InvokeParams<'_>, OutputsResult>(
                            &mut *s,
                            &self.exports.invoke,
                        )?;
                        f.call(&mut *s, (action, input, &ctx))?.0
                    }
                    Entry::Poll { cursor } => {
                        let f = i.get_typed_func::<PollParams<'_>, PollResults>(
                            &mut *s,
                            &self.exports.poll,
                        )?;
                        f.call(&mut *s, (cursor, &ctx))?.0.map(|p| {
                            poll = Some(PollState {
                                next_cursor: p.next_cursor,
                                more: p.more,
                            });
                            p.outputs
                        })
                    }
                    Entry::Ingest { event } => {
                        let f = i.get_typed_func::<IngestParams<'_>, OutputsResult>(
                            &mut *s,
                            &self.exports.ingest,
                        )?;
                        f.call(&mut *s, (&event, &ctx))?.0
                    }
                };
                kv_after = std::mem::take(&mut s.data_mut().kv);
                Ok(r)
            },
        )?;
        // Emitted outputs come first, in emission order; they move, not copy.
        let mut all = std::mem::take(&mut captured.emitted);
        all.append(&mut outputs);
        let size: usize = all.iter().map(|o| o.body.len()).sum();
        if size > limits.max_output_bytes {
            return Err(CallError::OutputTooLarge {
                size,
                limit: limits.max_output_bytes,
            });
        }
        check_outputs(&all)?;
        Ok(CallDone {
            outputs: all,
            captured,
            kv: kv_after,
            poll,
        })
    }
}

/// Which export a call enters the connector through.
#[derive(Debug)]
pub enum Entry<'a> {
    /// `invoke(action, input)`: an action, input as JSON text.
    Invoke {
        /// The action's name.
        action: &'a str,
        /// The action's input, JSON text.
        input: &'a str,
    },
    /// `poll(cursor)`: a scheduled pull, from the cursor the previous poll returned.
    Poll {
        /// The cursor, `None` on the first poll.
        cursor: Option<&'a str>,
    },
    /// `ingest(event)`: transform an event an external system pushed.
    Ingest {
        /// The event.
        event: types::InboundEvent,
    },
}

/// The export indices of a component's entry points.
#[derive(Debug, Clone, Copy)]
struct EntryExports {
    invoke: ComponentExportIndex,
    poll: ComponentExportIndex,
    ingest: ComponentExportIndex,
}

/// What a poll returned besides its outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollState {
    /// The cursor for the next poll; `None` keeps the current one.
    pub next_cursor: Option<String>,
    /// More data is ready now: poll again at once.
    pub more: bool,
}

/// One call of a connector.
#[derive(Debug)]
pub struct CallRequest<'a> {
    /// The export to call and its arguments.
    pub entry: Entry<'a>,
    /// The deployment's config, JSON text.
    pub config: &'a str,
    /// What the deployment was granted.
    pub grants: Grants,
    /// The tenant the call runs for.
    pub tenant_id: &'a str,
    /// An id for logs and heartbeats.
    pub call_id: &'a str,
    /// The connector's kv state for this tenant before the call.
    pub kv: BTreeMap<String, Vec<u8>>,
    /// Limits for this call instead of the component's (a deployment's overrides,
    /// see [`Limits::with_overrides`]); memory is capped at the runtime's.
    pub limits: Option<Limits>,
}

impl<'a> CallRequest<'a> {
    /// A call as a local run makes it: tenant `local`, call id `local`, no grants,
    /// empty kv, the component's limits. Override fields with struct update syntax.
    pub fn local(entry: Entry<'a>, config: &'a str) -> Self {
        CallRequest {
            entry,
            config,
            grants: Grants::default(),
            tenant_id: "local",
            call_id: "local",
            kv: BTreeMap::new(),
            limits: None,
        }
    }
}

/// What a successful call produced.
#[derive(Debug)]
pub struct CallDone {
    /// Outputs: emitted ones first, then the returned ones.
    pub outputs: Vec<types::Output>,
    /// Logs and progress.
    pub captured: Captured,
    /// The kv state after the call (the caller saves what changed).
    pub kv: BTreeMap<String, Vec<u8>>,
    /// For a poll: the next cursor and whether more is ready.
    pub poll: Option<PollState>,
}
