//! Airlock's host: loads connector components, runs them in a wasmtime sandbox, and
//! serves the registry's REST API.
//!
//! See ARCHITECTURE.md at the repository root for the module map and each module's
//! invariant. Flows stay one-directional, floor by floor: `api` → `server` (the
//! composition root, which builds and connects the parts) → {`registry`, `auth`,
//! `ingest`} → {`runtime`, `validate`, `bus`, `health`, `audit`, `store`, `keys`,
//! `sender`} → {`vocab`, `time`}. The one sideways call: the ingest pipeline asks the
//! registry to transform a batch of events.

pub mod api;
pub mod audit;
pub mod auth;
pub mod bus;
pub mod health;
pub mod ingest;
pub mod keys;
pub mod metrics;
pub mod registry;
pub mod runtime;
pub mod scheduler;
pub mod sender;
pub mod server;
pub mod store;
pub mod text;
pub mod time;
pub mod validate;
pub mod vocab;
