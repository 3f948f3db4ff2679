//! The sandbox: loading connector components and calling them.
//!
//! Invariants:
//! - A component is instantiated with an empty WASI context: no preopened
//!   directories, no environment, no arguments, no sockets, stdin empty; stdout and
//!   stderr are captured into the call's logs up to [`MAX_STDIO_BYTES`] each, the
//!   rest discarded and counted (never an error). A guest that reads `/etc/passwd` gets "not found".
//! - Outbound HTTP reaches only origins the manifest declares **and** the
//!   deployment's [`Grants`] allow, at addresses re-checked after DNS resolution
//!   (loopback, private, link-local and metadata ranges refused unless a network was
//!   granted), with the declared credential added by the host from the deployment's
//!   secrets, under the request-count, body-size and time caps of [`Limits`]. A
//!   refusal is a `host-error` value the guest handles, never a trap. The rules and
//!   their threats are in `egress.rs`; the transport in `outbound.rs`.
//! - Two time budgets: guest execution ([`Limits::cpu_deadline`]) and wall clock
//!   ([`Limits::wall_clock`]); time blocked in the host counts only against the
//!   second.
//! - Every call gets a fresh `Store` and instance (from the pooling allocator's
//!   slots): nothing survives between calls but what the host keeps for the guest
//!   (kv, handed in and out through `CallRequest`/`CallDone`).
//! - Every call runs under [`Limits`]: a memory cap (a `ResourceLimiter` that records
//!   denials, so a failed allocation is reported as `MemoryExceeded`, not a generic
//!   trap), a CPU deadline by epoch interruption (a ticker thread advances the epoch
//!   every [`EPOCH_TICK`]), an engine-wide [`MAX_WASM_STACK`], and a budget for every
//!   collection a guest feeds: outputs (count and bytes, each output charged an
//!   overhead), log lines and progress (count and bytes, likewise), kv (entries and
//!   total bytes). A returned list is copied out of the guest under wasmtime's
//!   hostcall fuel (bounded before the host allocates it), then counted.
//!   Passing a budget is a `host-error` the guest sees, a typed failure of the call,
//!   or a dropped-and-counted log line — never host memory growth.
//! - Guest failures come back as a typed [`CallError`] (`Timeout`,
//!   `WallClockTimeout`, `MemoryExceeded`, `OutOfFuel`, `StackOverflow`,
//!   `OutputTooLarge`, `TooManyOutputs`, `ContractViolation`, `Trapped`, `Connector`), classified once
//!   from the store's records and trap codes; never as a host panic.
//!
//! - A compiled artifact from the compile cache is deserialized only after its
//!   HMAC under this node's key verified (see [`CompileCache`]).
//!
//! The module knows nothing of HTTP APIs or SQL.
//!
//! Files: `loader.rs` builds the engine and loads components (`manifest.rs` bounds
//! what their `describe` may say), `call.rs` calls them,
//! `limits.rs` holds the budgets and `error.rs` the failures; `host.rs` implements the
//! imports a call sees (with `egress.rs`, `outbound.rs` and `stdio.rs`); `kv.rs` keeps
//! a connector's kv between calls and `cache.rs` its compiled form between loads;
//! `waits.rs` tells a thread's owner when a call on it waits in the host.

mod cache;
mod call;
mod egress;
mod error;
mod host;
mod kv;
mod limits;
mod loader;
pub mod manifest;
mod outbound;
mod stdio;
mod waits;

pub use bindings::airlock::connector::types::InboundEvent;
pub use cache::{CacheStats, CompileCache};
pub use call::{CallDone, CallRequest, Entry, PollState, transfer_limit};
pub use egress::Grants;
/// A URL read as the egress policy reads a guest's (one WHATWG parse: scheme http or
/// https, a host, no user info, no trailing dot): its origin and the URL as sent.
pub use egress::parse_url as read_outbound_url;
/// The kind of non-public range an address is in (`loopback`, `private`,
/// `link-local`, …), or `None` for a public one: the egress policy's own judgement.
pub use egress::special_range as address_kind;
pub use error::{CallError, connector_error_field, connector_error_text};
pub use host::{Captured, LogLine, StoreData};
pub use kv::{FileKv, KvChange, KvError, KvLoader, KvMap, KvState, KvStore};
pub use limits::{
    EPOCH_TICK, LOG_LINE_OVERHEAD, LimitOverrides, Limits, MAX_WASM_STACK, OUTPUT_OVERHEAD,
};
pub use loader::{
    CONTRACT_INTERFACES, Component, LoadError, MAX_COMPONENT_BYTES, ManifestJson, Runtime,
    SUPPORTED_CONTRACTS, WASI_INTERFACES, body_json, component_digest, output_json,
};
pub use outbound::Transport;
pub use stdio::MAX_STDIO_BYTES;
#[cfg(test)]
pub(crate) use waits::waiting as waiting_in_host;
pub(crate) use waits::{WaitListener, listen_on_this_thread};

/// The generated host bindings of the contract.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/0.1.0",
        world: "connector",
    });
}

/// The contract's output standard as the host's vocabulary, and back: one enum
/// each side of the WIT boundary, converted only here.
impl From<bindings::airlock::connector::types::OutputStandard> for crate::vocab::Standard {
    fn from(s: bindings::airlock::connector::types::OutputStandard) -> Self {
        use crate::vocab::Standard as V;
        use bindings::airlock::connector::types::OutputStandard as W;
        match s {
            W::Stix21 => V::Stix21,
            W::Cap12 => V::Cap12,
            W::Ais => V::Ais,
            W::Niem => V::Niem,
            W::Stanag4607 => V::Stanag4607,
            W::Json => V::Json,
        }
    }
}

impl From<crate::vocab::Standard> for bindings::airlock::connector::types::OutputStandard {
    fn from(s: crate::vocab::Standard) -> Self {
        use crate::vocab::Standard as V;
        use bindings::airlock::connector::types::OutputStandard as W;
        match s {
            V::Stix21 => W::Stix21,
            V::Cap12 => W::Cap12,
            V::Ais => W::Ais,
            V::Niem => W::Niem,
            V::Stanag4607 => W::Stanag4607,
            V::Json => W::Json,
        }
    }
}

impl From<bindings::airlock::connector::types::Category> for crate::vocab::Category {
    fn from(c: bindings::airlock::connector::types::Category) -> Self {
        use crate::vocab::Category as V;
        use bindings::airlock::connector::types::Category as W;
        match c {
            W::Osint => V::Osint,
            W::Financial => V::Financial,
            W::Social => V::Social,
            W::DarkWeb => V::DarkWeb,
            W::Telemetry => V::Telemetry,
            W::Custom => V::Custom,
        }
    }
}
