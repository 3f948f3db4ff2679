//! Airlock's host: loads connector components, runs them in a wasmtime sandbox, and
//! serves the registry's REST API.
//!
//! See ARCHITECTURE.md at the repository root for the module map and each module's
//! invariant. Flows stay one-directional: `api` → {`registry`, `auth`} →
//! {`runtime`, `health`, `audit`, `store`}.

pub mod api;
pub mod audit;
pub mod auth;
pub mod bus;
pub mod health;
pub mod ingest;
pub mod keys;
pub mod registry;
pub mod runtime;
pub mod sender;
pub mod server;
pub mod store;
pub mod time;
pub mod validate;
pub mod vocab;
